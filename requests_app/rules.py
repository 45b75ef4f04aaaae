"""
Who may do what to a request: the transition table of PRODUCT.md and the
per-request roles it is written in.

This module only answers questions; `requests_app.services` enforces the
answers when it changes something, and views use the same answers to decide
which controls to show.
"""

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, QuerySet

from requests_app import roles
from requests_app.models import OPEN_STATUSES, Assignment, PrayerRequest, Status, StatusUpdate, UpdateKind


class Role(enum.StrEnum):
    LEADER = "leader"
    ASSIGNED = "assigned intercessor"
    REQUESTER = "requester"


@dataclass(frozen=True)
class Requester:
    """The person who submitted a request, proven by its follow-up token.

    They have no account; holding the token is their identity, and it only
    ever reaches the one request it was issued for.
    """

    prayer_request_id: int


Actor = AbstractBaseUser | AnonymousUser | Requester

S = Status
LEADER, ASSIGNED, REQUESTER = Role.LEADER, Role.ASSIGNED, Role.REQUESTER

# PRODUCT.md, "The life of a request": (from, to) -> who may make the move.
# Anything not in this table is refused.
TRANSITIONS: dict[tuple[Status, Status], frozenset[Role]] = {
    (S.NEW, S.INTERCEDING): frozenset({LEADER}),
    (S.NEW, S.CLOSED): frozenset({LEADER, REQUESTER}),
    (S.INTERCEDING, S.BREAKTHROUGH): frozenset({LEADER, ASSIGNED}),
    (S.BREAKTHROUGH, S.INTERCEDING): frozenset({LEADER, ASSIGNED}),
    (S.INTERCEDING, S.ANSWERED): frozenset({LEADER, ASSIGNED, REQUESTER}),
    (S.BREAKTHROUGH, S.ANSWERED): frozenset({LEADER, ASSIGNED, REQUESTER}),
    (S.INTERCEDING, S.CLOSED): frozenset({LEADER, REQUESTER}),
    (S.BREAKTHROUGH, S.CLOSED): frozenset({LEADER, REQUESTER}),
    (S.ANSWERED, S.INTERCEDING): frozenset({LEADER}),
    (S.CLOSED, S.INTERCEDING): frozenset({LEADER}),
}

# Intercession begins when the first intercessor is assigned, so this move is
# made by `services.assign`, never on its own: a request "in intercession"
# with nobody interceding would be a lie.
MOVES_MADE_BY_ASSIGNING = frozenset({(S.NEW, S.INTERCEDING)})


# Every question below can be given the actor's roles, worked out once by
# `roles_for` (`held=`): a page that asks five questions then asks the
# database "is this person assigned?" once, not five times. Without `held`,
# each question works the roles out itself.
Held = frozenset[Role] | None


def roles_for(
    actor: Actor, prayer_request: PrayerRequest, *, active_intercessor_ids: Collection[int] | None = None
) -> frozenset[Role]:
    """The roles `actor` holds towards this one request.

    A caller that has already loaded the request's active assignments passes
    their intercessors' ids as `active_intercessor_ids`, and no query is made.
    """
    if isinstance(actor, Requester):
        return frozenset({REQUESTER}) if actor.prayer_request_id == prayer_request.pk else frozenset()
    held = set()
    if roles.is_leader(actor):
        held.add(LEADER)
    if is_assigned(actor, prayer_request, active_intercessor_ids=active_intercessor_ids):
        held.add(ASSIGNED)
    return frozenset(held)


def is_assigned(
    user: Actor, prayer_request: PrayerRequest, *, active_intercessor_ids: Collection[int] | None = None
) -> bool:
    """An intercessor with an active assignment to this request."""
    if isinstance(user, Requester) or not roles.is_intercessor(user):
        return False
    if active_intercessor_ids is not None:
        return user.pk in active_intercessor_ids
    return Assignment.objects.active().filter(prayer_request=prayer_request, intercessor=user).exists()


def _held(actor: Actor, prayer_request: PrayerRequest, held: Held) -> frozenset[Role]:
    return roles_for(actor, prayer_request) if held is None else held


def allowed_moves(actor: Actor, prayer_request: PrayerRequest, *, held: Held = None) -> list[Status]:
    """The statuses `actor` may move this request to now, for showing buttons."""
    held = _held(actor, prayer_request, held)
    current = Status(prayer_request.status)
    return [
        to_status
        for (from_status, to_status), allowed in TRANSITIONS.items()
        if from_status == current and (from_status, to_status) not in MOVES_MADE_BY_ASSIGNING and held & allowed
    ]


# How long the person who made a move may take it back: long enough to see
# a wrong tap, short enough that nobody has acted on the move yet. A leader
# may undo the latest move at any time.
UNDO_WINDOW = timedelta(minutes=10)


class UndoRefusal(enum.StrEnum):
    """Why a move cannot be undone (`why_not_undo`); the value is the code of
    the service's refusal."""

    NO_ROLE = "no_role"
    NOT_UNDOABLE = "not_undoable"
    NOT_LATEST = "not_latest"
    ERASED = "erased"
    SOMEONE_ELSE = "someone_else"
    TOO_LATE = "too_late"


def moves() -> QuerySet[StatusUpdate]:
    """Every request's entries that changed its status (moves and undos),
    latest first."""
    return StatusUpdate.objects.exclude(kind=UpdateKind.SUBMITTED).exclude(from_status=F("to_status")).order_by("-pk")


def latest_move(prayer_request: PrayerRequest) -> StatusUpdate | None:
    """The request's latest entry that changed its status: a move, or an undo
    (the last written: every change is written under the request's lock)."""
    return moves().filter(prayer_request=prayer_request).select_related("author").first()


def why_not_undo(
    actor: Actor,
    prayer_request: PrayerRequest,
    move: StatusUpdate,
    *,
    latest: StatusUpdate | None,
    now: datetime,
    held: Held = None,
) -> UndoRefusal | None:
    """None if `actor` may undo `move` now, else why not. `latest` is
    `latest_move(prayer_request)`, read by the caller (under the request's
    lock when it is about to change it).

    Only a move of the table can be undone (not the submission, not the move
    an assignment makes, not an undo), only while it is the request's latest
    and the request is still where it put it, and never once the text is
    erased. A leader may undo it at any time, whoever made it (the
    requester's too); an assigned intercessor only their own, for
    `UNDO_WINDOW`. The requester's own moves have their own pages.
    """
    held = frozenset() if isinstance(actor, Requester) else _held(actor, prayer_request, held)
    if not held & {LEADER, ASSIGNED}:
        return UndoRefusal.NO_ROLE
    if move.kind != UpdateKind.MOVE or (move.from_status, move.to_status) in MOVES_MADE_BY_ASSIGNING:
        return UndoRefusal.NOT_UNDOABLE
    if latest is None or latest.pk != move.pk or prayer_request.status != move.to_status:
        return UndoRefusal.NOT_LATEST
    if prayer_request.text_erased_at is not None:
        return UndoRefusal.ERASED
    if LEADER in held:
        return None
    if move.author_id is None or move.author_id != actor.pk:
        return UndoRefusal.SOMEONE_ELSE
    if now - move.created_at > UNDO_WINDOW:
        return UndoRefusal.TOO_LATE
    return None


def can_undo_move(
    actor: Actor,
    prayer_request: PrayerRequest,
    move: StatusUpdate,
    *,
    latest: StatusUpdate | None,
    now: datetime,
    held: Held = None,
) -> bool:
    return why_not_undo(actor, prayer_request, move, latest=latest, now=now, held=held) is None


def undo_time_left(actor: Actor, move: StatusUpdate, *, now: datetime, held: Held = None) -> timedelta | None:
    """How long `actor` has left to undo `move`; None when no clock runs
    for them (a leader)."""
    if LEADER in (held if held is not None else roles_for(actor, move.prayer_request)):
        return None
    return max(move.created_at + UNDO_WINDOW - now, timedelta(0))


def can_assign(user: Actor, prayer_request: PrayerRequest) -> bool:
    return not isinstance(user, Requester) and roles.is_leader(user) and prayer_request.status in OPEN_STATUSES


def can_post_update(actor: Actor, prayer_request: PrayerRequest, *, held: Held = None) -> bool:
    """Team notes and notes for the requester: leaders, assigned intercessors,
    and the requester (whose notes always go to the team and themselves)."""
    return bool(_held(actor, prayer_request, held))


def can_keep_journal(user: Actor, prayer_request: PrayerRequest, *, held: Held = None) -> bool:
    """A private journal note: any team member who may see the request."""
    if isinstance(user, Requester):
        return False
    if held:
        # A leader sees every request, an assigned intercessor theirs.
        return True
    return PrayerRequest.objects.visible_to(user).filter(pk=prayer_request.pk).exists()


def can_log_prayer(user: Actor, prayer_request: PrayerRequest, *, held: Held = None) -> bool:
    """Leaders, and intercessors who can see the request (the team board or
    their own assignments), while it is still being carried."""
    if isinstance(user, Requester) or prayer_request.status not in OPEN_STATUSES:
        return False
    if roles.is_leader(user):
        return True
    if not roles.is_intercessor(user):
        return False
    if prayer_request.is_on_board:
        return True
    return ASSIGNED in held if held is not None else is_assigned(user, prayer_request)


def can_set_confidential(
    actor: Actor, prayer_request: PrayerRequest, confidential: bool, *, held: Held = None
) -> bool:
    """Only the requester may make a request less confidential; a leader (or
    the requester) may make it more confidential."""
    held = _held(actor, prayer_request, held)
    if confidential:
        return bool(held & {LEADER, REQUESTER})
    return REQUESTER in held


def can_set_prayer_news(actor: Actor, prayer_request: PrayerRequest) -> bool:
    """Stopping or starting the weekly e-mail of how often the team prayed:
    the requester's own choice, nobody else's (a leader has no say over
    what lands in their inbox)."""
    return isinstance(actor, Requester) and actor.prayer_request_id == prayer_request.pk


def can_share_with_team(user: Actor, prayer_request: PrayerRequest) -> bool:
    """Putting a request on the team board, returning a flagged one to it,
    or keeping one off it: the leaders' triage, and theirs only."""
    return not isinstance(user, Requester) and roles.is_leader(user)


def can_flag(user: Actor, prayer_request: PrayerRequest) -> bool:
    """Flagging a request as unsuitable for the board: an intercessor (who
    is not a leader: leaders take it off the board themselves) who sees it
    on the board, or sees it there but for a flag already waiting."""
    if isinstance(user, Requester) or roles.is_leader(user) or not roles.is_intercessor(user):
        return False
    return (
        prayer_request.status in OPEN_STATUSES
        and not prayer_request.is_confidential
        and prayer_request.shared_with_team_at is not None
    )


def can_manage_team(user: Actor) -> bool:
    """Inviting, roles, capacity and availability of others, deactivating,
    the church's settings and the audit log: leaders only (a superuser who
    is not a leader, too, may not)."""
    return not isinstance(user, Requester) and roles.is_leader(user)
