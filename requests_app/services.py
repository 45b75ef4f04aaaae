"""
Every change to a request's life goes through these functions.

Each one runs in a single transaction, locks the rows whose state it checks
(`select_for_update` on PostgreSQL; SQLite serialises writers with
`BEGIN IMMEDIATE`, see settings), checks the rules of `requests_app.rules`
against the locked state, and writes its `StatusUpdate` in the same
transaction. A refusal raises one of `requests_app.exceptions` and changes
nothing.

Entry points: `submit_request`; `assign` (which makes the move
new → interceding on the first assignment); `release`; `move` for every other
status move of the table; `post_update`; `log_prayer`; `set_confidential`;
the team board's gate: `share_with_team`, `keep_off_board` (leaders) and
`flag` (intercessors); `undo_move`, which takes the latest move back;
`set_prayer_news` (the requester's weekly e-mail of prayers);
`reissue_followup_links` ("Lost your link?"); `release_all`, for the team
services (`requests_app.team.members`) when someone leaves the team;
retention and erasure: `erase_text`, `erase_for_requester`, `apply_retention`
(at the end of this module).
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from requests_app import church, roles, rules
from requests_app.exceptions import AssignmentRefused, IntercessionError, InvalidTransition, NotAllowed
from requests_app.hooks import events as hook_events
from requests_app.mail import notifications
from requests_app.models import (
    OPEN_STATUSES,
    Assignment,
    HeldNotification,
    IntercessorProfile,
    OutboxMessage,
    PrayerLog,
    PrayerRequest,
    SearchDigest,
    Status,
    StatusUpdate,
    UpdateKind,
    Visibility,
)
from requests_app.privacy import blind_index
from requests_app.rules import Actor, Requester

# The stage timestamps a status carries. Moving back (to intercession) clears
# the later stages: the fields describe the request's current path, while its
# story keeps every date it ever had.
_STAGE_FIELDS = {
    Status.BREAKTHROUGH: "breakthrough_at",
    Status.ANSWERED: "answered_at",
    Status.CLOSED: "closed_at",
}


def _lock(prayer_request: PrayerRequest) -> PrayerRequest:
    return PrayerRequest.objects.select_for_update().get(pk=prayer_request.pk)


def _author(actor: Actor) -> AbstractBaseUser | None:
    return None if isinstance(actor, Requester) else actor


def _sync(target: PrayerRequest, source: PrayerRequest) -> None:
    """Give the caller's instance the state that was just committed."""
    for field in (
        "status",
        "is_confidential",
        "updated_at",
        "entered_intercession_at",
        "shared_with_team_at",
        "flagged_at",
        *_STAGE_FIELDS.values(),
    ):
        setattr(target, field, getattr(source, field))


def _active_language() -> str:
    """The shipped language the request is asked in, else blank."""
    code = translation.get_language() or ""
    return code if code in dict(settings.LANGUAGES) else ""


def submit_request(
    *,
    for_whom: str,
    title: str,
    category: str,
    details: str = "",
    is_urgent: bool = False,
    is_confidential: bool = True,
    requester_name: str = "",
    requester_email: str = "",
    wants_updates: bool = False,
    consent: str = "",
    language: str | None = None,
) -> tuple[PrayerRequest, str]:
    """Create a request and return it with its follow-up token, which is
    shown to the requester once and never stored."""
    prayer_request = PrayerRequest(
        for_whom=for_whom.strip(),
        title=title.strip(),
        category=category,
        details=details.strip(),
        is_urgent=is_urgent,
        is_confidential=is_confidential,
        requester_name=requester_name.strip(),
        requester_email=requester_email.strip(),
        wants_updates=wants_updates,
        consent=consent,
        language=language if language is not None else _active_language(),
    )
    token = prayer_request.issue_followup_token()
    # Every field in Python (choices, lengths, the e-mail address), which
    # is also what the database's CHECK constraints hold; no query for them,
    # nor for the uniqueness of a fresh 256-bit token's hash.
    prayer_request.full_clean(validate_unique=False, validate_constraints=False)
    # No savepoint when the caller already holds a transaction (the public
    # form writes the follow-up e-mail in it): nothing in here is caught.
    prayer_request.requester_email_digest = blind_index.address_digest(prayer_request.requester_email)
    with transaction.atomic(savepoint=False):
        prayer_request.save()
        SearchDigest.objects.bulk_create(
            SearchDigest(prayer_request=prayer_request, digest=digest) for digest in prayer_request.word_digests()
        )
        StatusUpdate.objects.create(
            prayer_request=prayer_request,
            kind=UpdateKind.SUBMITTED,
            from_status="",
            to_status=Status.NEW,
            visibility=Visibility.REQUESTER,
        )
        notifications.request_submitted(prayer_request)
        hook_events.request_submitted(prayer_request)
    return prayer_request, token


def move(
    prayer_request: PrayerRequest,
    to_status: str,
    *,
    actor: Actor,
    note: str = "",
    visibility: str = Visibility.TEAM,
) -> StatusUpdate:
    """Make one move of the transition table, or refuse it.

    Checked against the locked row, so when two people act at once the second
    finds the status already changed and gets `InvalidTransition`.
    """
    try:
        to_status = Status(to_status)
    except ValueError:
        raise InvalidTransition(_("There is no such status.")) from None

    with transaction.atomic():
        locked = _lock(prayer_request)
        key = (Status(locked.status), to_status)
        if key not in rules.TRANSITIONS:
            raise InvalidTransition(
                _("This request is now “%(status)s”; it cannot be moved to “%(target)s”.")
                % {"status": Status(locked.status).label, "target": to_status.label}
            )
        if key in rules.MOVES_MADE_BY_ASSIGNING:
            raise InvalidTransition(
                _("Intercession begins when the first intercessor is assigned: assign someone instead."),
                code="assign_instead",
            )
        if not rules.roles_for(actor, locked) & rules.TRANSITIONS[key]:
            raise NotAllowed(_("You may not move this request to “%(target)s”.") % {"target": to_status.label})

        update = _apply_move(locked, to_status, actor=actor, note=note, visibility=visibility)
        notifications.status_moved(locked, to_status, actor=actor)
    _sync(prayer_request, locked)
    return update


def _request_opened_or_closed(locked: PrayerRequest, from_status: str, to_status: str) -> None:
    """Keep `Assignment.request_open` with the request's status (what
    `carrying()`, an intercessor's load, reads): only a change between open
    and finished touches the assignments, in the caller's transaction."""
    is_open = to_status in OPEN_STATUSES
    if (from_status in OPEN_STATUSES) != is_open:
        Assignment.objects.filter(prayer_request=locked).update(request_open=is_open)


def _apply_move(locked: PrayerRequest, to_status: Status, *, actor: Actor, note: str, visibility: str) -> StatusUpdate:
    """Change the status of an already locked and checked request."""
    if locked.text_erased_at is not None:
        note = ""  # an erased request's story takes no new words
    from_status = locked.status
    now = timezone.now()
    _request_opened_or_closed(locked, from_status, to_status)
    if to_status == Status.INTERCEDING:
        for field in _STAGE_FIELDS.values():
            setattr(locked, field, None)
        # Where a coverage gap starts while nobody has prayed (kept when the
        # request moves on, like the story's entry).
        locked.entered_intercession_at = now
    else:
        setattr(locked, _STAGE_FIELDS[to_status], now)
    locked.status = to_status
    locked.save(
        update_fields=[
            "status",
            "updated_at",
            "entered_intercession_at",
            "shared_with_team_at",
            *_STAGE_FIELDS.values(),
        ]
    )
    if to_status == Status.ANSWERED:
        hook_events.request_manifested(locked)
    return StatusUpdate.objects.create(
        prayer_request=locked,
        author=_author(actor),
        kind=UpdateKind.MOVE,
        from_status=from_status,
        to_status=to_status,
        note=note,
        visibility=Visibility.REQUESTER if isinstance(actor, Requester) else Visibility(visibility),
    )


_UNDO_REFUSALS = {
    rules.UndoRefusal.NOT_UNDOABLE: _("Only a status move can be undone (not an assignment's, nor an undo)."),
    rules.UndoRefusal.NOT_LATEST: _("This is no longer the request's latest move: it has moved since."),
    rules.UndoRefusal.ERASED: _("The text of this request was erased: its moves can no longer be undone."),
    rules.UndoRefusal.SOMEONE_ELSE: _("Only the person who made this move, or a leader, can undo it."),
    rules.UndoRefusal.TOO_LATE: _("Too late to undo: a move can be undone for 10 minutes; ask a leader."),
}


def undo_move(
    prayer_request: PrayerRequest, move_id: int, *, actor: Actor, now: datetime | None = None
) -> StatusUpdate:
    """Take back the move `move_id` of this request (`rules.why_not_undo`
    says who may, and when), or refuse it.

    The undo is an entry of its own (kind `undone`), a move from the undone
    move's status back to the one before, seen by whoever saw the move; the
    stage dates become what they were before the move. Nobody is assigned or
    released, and no e-mail is sent: it is a correction, which the requester
    reads on their page. Checked against the locked row, so of two undos (or
    an undo and a move) at once, the second finds the request moved and is
    refused.
    """
    with transaction.atomic():
        locked = _lock(prayer_request)
        undone = StatusUpdate.objects.filter(prayer_request=locked, pk=move_id).first()
        if undone is None:
            raise IntercessionError(_("This request has no such move."), code="no_such_move")
        refusal = rules.why_not_undo(
            actor, locked, undone, latest=rules.latest_move(locked), now=now or timezone.now()
        )
        if refusal == rules.UndoRefusal.NO_ROLE:
            raise NotAllowed(_("You may not undo moves of this request."))
        if refusal is not None:
            raise IntercessionError(_UNDO_REFUSALS[refusal], code=refusal.value)
        if undone.to_status == Status.INTERCEDING:
            # The move cleared every stage date: back as the story has them.
            for field, value in _stage_dates_before(locked, undone).items():
                setattr(locked, field, value)
        else:
            # The move only dated its own stage, which had no date before.
            setattr(locked, _STAGE_FIELDS[Status(undone.to_status)], None)
        _request_opened_or_closed(locked, locked.status, undone.from_status)
        locked.status = undone.from_status
        locked.save(update_fields=["status", "updated_at", *_STAGE_FIELDS.values()])
        update = StatusUpdate.objects.create(
            prayer_request=locked,
            author=_author(actor),
            kind=UpdateKind.UNDONE,
            from_status=undone.to_status,
            to_status=undone.from_status,
            visibility=undone.visibility,
        )
    _sync(prayer_request, locked)
    return update


def _stage_dates_before(locked: PrayerRequest, undone: StatusUpdate) -> dict[str, datetime | None]:
    """The stage dates the request had just before `undone`, its latest
    status change, as its story tells them: the moves replayed as
    `_apply_move` made them (each dated by its entry), each undo taking back
    the change before it."""
    stack: list[dict[str, datetime | None]] = [dict.fromkeys(_STAGE_FIELDS.values())]
    changes = (
        locked.updates.exclude(kind=UpdateKind.SUBMITTED)
        .exclude(from_status=F("to_status"))
        .filter(pk__lt=undone.pk)
        .order_by("pk")
        .values_list("kind", "to_status", "created_at")
    )
    for kind, to_status, at in changes:
        if kind == UpdateKind.UNDONE:
            if len(stack) > 1:
                stack.pop()
            continue
        dates = dict(stack[-1])
        if to_status == Status.INTERCEDING:
            dates = dict.fromkeys(_STAGE_FIELDS.values())
        else:
            dates[_STAGE_FIELDS[Status(to_status)]] = at
        stack.append(dates)
    return stack[-1]


def load_of(intercessor: AbstractBaseUser) -> int:
    """How many open requests the intercessor is carrying now."""
    return Assignment.objects.carrying().filter(intercessor=intercessor).count()


def assign(prayer_request: PrayerRequest, intercessors: Iterable[AbstractBaseUser], *, by: Actor) -> list[Assignment]:
    """Assign one or more intercessors to an open request, all or none.

    Each must be in the Intercessors group, available, not already assigned
    to it, and below capacity. The first assignment of a new request moves it
    to intercession. Profiles are locked (in id order, so two assignments
    never deadlock) before the load is counted, which is what keeps twenty
    simultaneous assignments from exceeding a capacity of three.
    """
    if isinstance(by, Requester) or not roles.is_leader(by):
        raise NotAllowed(_("Only a leader can assign intercessors."))
    chosen = sorted({user.pk: user for user in intercessors}.values(), key=lambda user: user.pk)
    if not chosen:
        raise AssignmentRefused(_("Choose at least one intercessor."), code="nobody_chosen")
    with transaction.atomic():
        # A profile with the defaults for whoever has none yet. By user_id:
        # `user=` would leave the unsaved instance cached on the caller's
        # user object (`user.intercessor_profile`), where saving it later
        # would try to insert a second profile.
        IntercessorProfile.objects.bulk_create(
            [IntercessorProfile(user_id=user.pk) for user in chosen], ignore_conflicts=True
        )
        locked = _lock(prayer_request)
        if locked.status not in OPEN_STATUSES:
            current = Status(locked.status).label
            raise AssignmentRefused(
                _("This request is “%(status)s”; reopen it before assigning.") % {"status": current},
                code="request_not_open",
            )
        profiles = {
            profile.user_id: profile
            for profile in IntercessorProfile.objects.select_for_update().filter(user__in=chosen).order_by("user_id")
        }
        # Each check below is one query for all the chosen, not one per
        # person. This one under the profiles' locks: a deactivation (which
        # locks the profile first) that commits meanwhile is seen here.
        on_team = set(
            get_user_model()
            .objects.filter(pk__in=[user.pk for user in chosen], is_active=True, groups__name=roles.INTERCESSORS)
            .values_list("pk", flat=True)
        )
        for user in chosen:
            if user.pk not in on_team:
                raise AssignmentRefused(
                    _("%(name)s is not on the intercession team.") % {"name": _display_name(user)},
                    code="not_intercessor",
                )
        already_assigned = set(
            Assignment.objects.active()
            .filter(prayer_request=locked, intercessor__in=chosen)
            .values_list("intercessor_id", flat=True)
        )
        loads = dict(
            Assignment.objects.carrying()
            .filter(intercessor__in=chosen)
            .order_by()
            .values("intercessor")
            .annotate(load=Count("pk"))
            .values_list("intercessor", "load")
        )
        for user in chosen:
            _check_can_take(
                user, profiles[user.pk], already_assigned=user.pk in already_assigned, load=loads.get(user.pk, 0)
            )
        assignments = Assignment.objects.bulk_create(
            Assignment(prayer_request=locked, intercessor=user, assigned_by=by) for user in chosen
        )
        StatusUpdate.objects.bulk_create(
            StatusUpdate(
                prayer_request=locked,
                author=by,
                kind=UpdateKind.ASSIGNED,
                intercessor=user,
                from_status=locked.status,
                to_status=locked.status,
                visibility=Visibility.TEAM,
            )
            for user in chosen
        )
        if locked.shared_with_team_at is None:
            # Assigning is a leader's triage: the request goes to the team
            # (to its board, unless confidential or flagged); a new one is
            # saved with its move just below.
            locked.shared_with_team_at = timezone.now()
            if locked.status != Status.NEW:
                locked.save(update_fields=["shared_with_team_at", "updated_at"])
        if locked.status == Status.NEW:
            _apply_move(locked, Status.INTERCEDING, actor=by, note="", visibility=Visibility.REQUESTER)
        notifications.assigned(locked, chosen)
    _sync(prayer_request, locked)
    return assignments


def _check_can_take(user: AbstractBaseUser, profile: IntercessorProfile, *, already_assigned: bool, load: int) -> None:
    name = _display_name(user)
    if not profile.is_available:
        raise AssignmentRefused(
            _("%(name)s is not available for new assignments.") % {"name": name}, code="unavailable"
        )
    if already_assigned:
        raise AssignmentRefused(
            _("%(name)s is already interceding for this request.") % {"name": name}, code="already_assigned"
        )
    if load >= profile.max_active_assignments:
        raise AssignmentRefused(
            _("%(name)s is already carrying %(load)s of %(capacity)s requests.")
            % {"name": name, "load": load, "capacity": profile.max_active_assignments},
            code="over_capacity",
        )


def _display_name(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


def release(assignment: Assignment, *, by: Actor, note: str = "") -> Assignment:
    """End an active assignment: by a leader, or by the intercessor who can
    no longer carry it (with an optional note to the leaders). The
    intercessor's sight of a confidential request ends here."""
    if isinstance(by, Requester):
        raise NotAllowed()
    with transaction.atomic():
        locked_request = PrayerRequest.objects.select_for_update().get(pk=assignment.prayer_request_id)
        locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
        if not (roles.is_leader(by) or locked.intercessor_id == by.pk):
            raise NotAllowed(_("Only a leader or the intercessor themselves can release an assignment."))
        if locked.released_at is not None:
            raise AssignmentRefused(_("This assignment was already released."), code="already_released")
        _end_assignment(locked_request, locked, by=by, note=note, kind=UpdateKind.RELEASED)
    assignment.released_at, assignment.released_by = locked.released_at, locked.released_by
    return assignment


def _end_assignment(
    locked_request: PrayerRequest, locked: Assignment, *, by: AbstractBaseUser, note: str, kind: UpdateKind
) -> None:
    """Release an active assignment whose request and row are locked: its
    story entry, and the intercessor's e-mail (which an account deactivated
    by now does not get: `compose.choose` skips it)."""
    locked.released_at = timezone.now()
    locked.released_by = by
    locked.save(update_fields=["released_at", "released_by"])
    StatusUpdate.objects.create(
        prayer_request=locked_request,
        author=by,
        kind=kind,
        intercessor=locked.intercessor,
        from_status=locked_request.status,
        to_status=locked_request.status,
        note=note,
        visibility=Visibility.TEAM,
    )
    notifications.released(locked_request, locked.intercessor, by=by)


def release_all(intercessor: AbstractBaseUser, *, by: AbstractBaseUser, kind: UpdateKind = UpdateKind.RELEASED) -> int:
    """End every active assignment of `intercessor` at once, all or none,
    each with its story entry of `kind` (`left_team` when they are
    deactivated); returns how many. For `requests_app.team`, whose services
    check who may do this and call it inside their own transaction. The
    requests are locked in id order, then the assignments, as `release`
    locks them, so this never deadlocks with a release or an assignment."""
    with transaction.atomic():
        request_ids = list(
            Assignment.objects.active()
            .filter(intercessor=intercessor)
            .order_by("prayer_request_id")
            .values_list("prayer_request_id", flat=True)
        )
        if not request_ids:
            return 0
        requests = {
            locked.pk: locked
            for locked in PrayerRequest.objects.select_for_update().filter(pk__in=request_ids).order_by("pk")
        }
        assignments = list(
            Assignment.objects.select_for_update()
            .active()
            .filter(intercessor=intercessor, prayer_request_id__in=request_ids)
            .order_by("prayer_request_id", "pk")
        )
        for locked in assignments:
            # The caller's copy: deactivated by now, it gets no e-mail.
            locked.intercessor = intercessor
            _end_assignment(requests[locked.prayer_request_id], locked, by=by, note="", kind=kind)
    return len(assignments)


def reassign(assignment: Assignment, to_intercessor: AbstractBaseUser, *, by: Actor, note: str = "") -> Assignment:
    """Hand an active assignment to another intercessor, both or neither."""
    if isinstance(by, Requester) or not roles.is_leader(by):
        raise NotAllowed(_("Only a leader can reassign."))
    with transaction.atomic():
        release(assignment, by=by, note=note)
        (new_assignment,) = assign(assignment.prayer_request, [to_intercessor], by=by)
    return new_assignment


def post_update(prayer_request: PrayerRequest, *, actor: Actor, note: str, visibility: str) -> StatusUpdate:
    """A note in the story that does not change the status.

    Private journal notes may be kept by anyone on the team who can see the
    request; team notes and notes for the requester by leaders and assigned
    intercessors; the requester's own notes always go to the team and to them.
    """
    note = note.strip()
    if not note:
        raise ValidationError(_("Write something first."), code="empty_note")
    if visibility not in Visibility.values:
        raise ValidationError(_("Choose who may read this update."), code="invalid_visibility")
    visibility = Visibility(visibility)
    if isinstance(actor, Requester):
        visibility = Visibility.REQUESTER
    with transaction.atomic():
        locked = _lock(prayer_request)
        allowed = (
            rules.can_keep_journal(actor, locked)
            if visibility == Visibility.PRIVATE
            else rules.can_post_update(actor, locked)
        )
        if not allowed:
            raise NotAllowed(_("You may not add updates to this request."))
        if locked.text_erased_at is not None:
            # Erased (retention, the requester's wish, a leader): its story
            # takes no new words.
            raise NotAllowed(_("The text of this request was erased: nothing more can be written in its story."))
        update = StatusUpdate.objects.create(
            prayer_request=locked,
            author=_author(actor),
            kind=UpdateKind.NOTE,
            from_status=locked.status,
            to_status=locked.status,
            note=note,
            visibility=visibility,
        )
        notifications.note_posted(locked, visibility, actor=actor)
        return update


def log_prayer(
    prayer_request: PrayerRequest,
    *,
    intercessor: Actor,
    minutes: int | None = None,
    fasted: bool = False,
    note: str = "",
    prayed_at: datetime | None = None,
    submission_key: str = "",
) -> PrayerLog:
    """Record that someone prayed for an open request they can see.

    With a `submission_key` (one per form shown), submitting the same form
    twice returns the first entry instead of logging again.
    """
    with transaction.atomic():
        # Checked against the current row: the request may have been closed
        # or made confidential since the caller loaded it.
        locked = _lock(prayer_request)
        if not rules.can_log_prayer(intercessor, locked):
            raise NotAllowed(_("You cannot log a prayer for this request."))
        if submission_key:
            earlier = PrayerLog.objects.filter(intercessor=intercessor, submission_key=submission_key).first()
            if earlier is not None:
                return earlier
        entry = PrayerLog(
            prayer_request=locked,
            intercessor=intercessor,
            prayed_at=prayed_at or timezone.now(),
            minutes=minutes,
            fasted=fasted,
            note=note.strip(),
            submission_key=submission_key[:64],
        )
        # The fields in Python (minutes in range, the note's length). Not the
        # foreign keys (the request is locked, the intercessor is the caller)
        # nor the constraints: the key was looked up above under the
        # request's lock, and the database holds both constraints anyway.
        entry.full_clean(exclude=["prayer_request", "intercessor"], validate_constraints=False)
        entry.save()
        # The request's last prayer moves forward only: a prayer logged late
        # for an earlier day leaves a later one in place. Safe to compare
        # here, because every logger holds the request's lock.
        if locked.last_prayed_at is None or entry.prayed_at > locked.last_prayed_at:
            locked.last_prayed_at = entry.prayed_at
            PrayerRequest.objects.filter(pk=locked.pk).update(last_prayed_at=entry.prayed_at)
    prayer_request.last_prayed_at = locked.last_prayed_at
    return entry


def set_confidential(prayer_request: PrayerRequest, confidential: bool, *, actor: Actor) -> StatusUpdate:
    """Make a request more or less confidential, within the rules: only the
    requester may lower it, a leader may raise it."""
    with transaction.atomic():
        locked = _lock(prayer_request)
        # Rights first, so a refusal never tells an outsider which way the
        # request is set.
        if not rules.can_set_confidential(actor, locked, confidential):
            if confidential:
                raise NotAllowed(_("Only a leader or the requester can make a request confidential."))
            raise NotAllowed(_("Only the person who asked for prayer can make their request less confidential."))
        if locked.is_confidential == confidential:
            raise IntercessionError(_("Nothing to change."), code="unchanged")
        locked.is_confidential = confidential
        fields = ["is_confidential", "updated_at"]
        if confidential and locked.flagged_at is not None:
            # Off the board for good: a leader's answer to the team's flag.
            locked.flagged_at = None
            fields.append("flagged_at")
        locked.save(update_fields=fields)
        update = StatusUpdate.objects.create(
            prayer_request=locked,
            author=_author(actor),
            kind=UpdateKind.CONFIDENTIALITY,
            from_status=locked.status,
            to_status=locked.status,
            visibility=Visibility.REQUESTER,
        )
    _sync(prayer_request, locked)
    return update


def set_prayer_news(prayer_request: PrayerRequest, wanted: bool, *, actor: Actor) -> PrayerRequest:
    """The requester stops (or starts again) the weekly e-mail of how often
    the team prayed (`mail.reminders`). Only that e-mail: the other updates
    they asked for go on. A choice about their inbox, not a step in the
    request's life, so no story entry. Refused once the text is erased: no
    address is left to write to."""
    if not rules.can_set_prayer_news(actor, prayer_request):
        raise NotAllowed(_("Only the person who asked for prayer can choose which e-mails they get."))
    with transaction.atomic():
        locked = _lock(prayer_request)
        if locked.text_erased_at is not None:
            raise IntercessionError(_("Your request has been erased: we keep no address to write to."), code="erased")
        if locked.wants_prayer_news == wanted:
            raise IntercessionError(_("Nothing to change."), code="unchanged")
        locked.wants_prayer_news = wanted
        locked.save(update_fields=["wants_prayer_news"])
    prayer_request.wants_prayer_news = wanted
    return prayer_request


def _board_entry(locked: PrayerRequest, kind: UpdateKind, *, by: AbstractBaseUser, note: str = "") -> StatusUpdate:
    return StatusUpdate.objects.create(
        prayer_request=locked,
        author=by,
        kind=kind,
        from_status=locked.status,
        to_status=locked.status,
        note=note,
        visibility=Visibility.TEAM,
    )


def share_with_team(prayer_request: PrayerRequest, *, by: Actor) -> StatusUpdate:
    """A leader's "Share with the team": the request goes on the team board
    (PRODUCT.md, "Who sees what"). On a request flagged by the team it is
    the leader's review that returns it to the board."""
    if not rules.can_share_with_team(by, prayer_request):
        raise NotAllowed(_("Only a leader can share a request with the team."))
    with transaction.atomic():
        locked = _lock(prayer_request)
        if locked.is_confidential:
            raise IntercessionError(
                _("A confidential request is never on the team board: only leaders and its intercessors see it."),
                code="confidential",
            )
        if locked.status not in OPEN_STATUSES:
            raise IntercessionError(
                _("This request is “%(status)s”: only open requests are on the team board.")
                % {"status": Status(locked.status).label},
                code="request_not_open",
            )
        if locked.flagged_at is not None:
            kind = UpdateKind.RETURNED_TO_BOARD
        elif locked.shared_with_team_at is not None:
            raise IntercessionError(_("This request is already on the team board."), code="unchanged")
        else:
            kind = UpdateKind.SHARED
        locked.shared_with_team_at = locked.shared_with_team_at or timezone.now()
        locked.flagged_at = None
        locked.save(update_fields=["shared_with_team_at", "flagged_at", "updated_at"])
        update = _board_entry(locked, kind, by=by)
    _sync(prayer_request, locked)
    return update


def keep_off_board(prayer_request: PrayerRequest, *, by: Actor) -> StatusUpdate:
    """A leader takes a request off the team board (a flag's review, or
    their own call): leaders and its assigned intercessors keep it, no one
    else sees it, until a leader shares it again."""
    if not rules.can_share_with_team(by, prayer_request):
        raise NotAllowed(_("Only a leader can take a request off the team board."))
    with transaction.atomic():
        locked = _lock(prayer_request)
        if locked.shared_with_team_at is None and locked.flagged_at is None:
            raise IntercessionError(_("This request is not on the team board."), code="unchanged")
        locked.shared_with_team_at = None
        locked.flagged_at = None
        locked.save(update_fields=["shared_with_team_at", "flagged_at", "updated_at"])
        update = _board_entry(locked, UpdateKind.KEPT_OFF_BOARD, by=by)
    _sync(prayer_request, locked)
    return update


def flag(prayer_request: PrayerRequest, *, by: Actor, reason: str = "") -> StatusUpdate:
    """An intercessor flags a board request as unsuitable: it leaves the
    board at once, for every intercessor not assigned to it, until a leader
    reviews it, and the leaders are told (by e-mail, as they get new
    requests). The reason (optional) is for the leaders only."""
    with transaction.atomic():
        locked = _lock(prayer_request)
        # Against the locked row: it may have been made confidential or
        # taken off the board since the page was shown.
        if not rules.can_flag(by, locked):
            raise NotAllowed(_("Only an intercessor who sees a request on the team board can flag it."))
        if locked.flagged_at is not None:
            raise IntercessionError(
                _("This request is already flagged: a leader will look at it."), code="already_flagged"
            )
        locked.flagged_at = timezone.now()
        locked.save(update_fields=["flagged_at", "updated_at"])
        update = _board_entry(locked, UpdateKind.FLAGGED, by=by, note=reason.strip())
        notifications.flagged(locked)
    _sync(prayer_request, locked)
    return update


def reissue_followup_links(address: str) -> int:
    """ "Lost your link?": give every request sent from `address` (matched
    without regard to case) a fresh follow-up token, so that its old link
    stops working, and e-mail the new links. Returns how many requests got
    one: 0 for an address no request has, and then nothing is written.

    The e-mail goes to the address as the requester gave it, one e-mail per
    address: "Martha@…" and "martha@…" are one mailbox almost everywhere,
    but the links of one never go to what was merely typed as the other.
    The requests are locked in one order (oldest first), so two of these
    running at once for one address wait for each other; the later e-mail
    holds the links that work."""
    address = address.strip()
    if not address:
        return 0
    with transaction.atomic():
        requests = list(PrayerRequest.objects.select_for_update().of_address(address).order_by("created_at", "pk"))
        issued: dict[str, list[tuple[PrayerRequest, str]]] = {}
        for prayer_request in requests:
            issued.setdefault(prayer_request.requester_email, []).append(
                (prayer_request, prayer_request.issue_followup_token())
            )
        PrayerRequest.objects.bulk_update(requests, ["followup_token_hash"])
        for given_address, links in issued.items():
            notifications.followup_links(given_address, links)
    return len(requests)


# --- Retention and erasure ----------------------------------------------------
#
# Erasing a request empties its text, the requester's name and e-mail, every
# note of its story and prayer log, its blind index, and whatever e-mail or
# digest line about it is still waiting; its category, dates, status and
# counts stay for the figures. The story gets one entry of kind `erased`,
# whose (encrypted) note is only a marker saying why (`ERASED_*`), told in
# the reader's language by `StatusUpdate.erased_line`. This is the one place
# where the app edits the story's entries: it empties their notes.

ERASED_BY_RETENTION = "retention"
ERASED_FOR_REQUESTER = "requester"
ERASED_BY_LEADER = "leader"
RETENTION_BATCH = 100


def _erase_locked(locked: PrayerRequest, *, why: str, by: AbstractBaseUser | None = None) -> None:
    """Erase the text of an already locked request that still has it."""
    now = timezone.now()
    for field in ("for_whom", "title", "details", "requester_name", "requester_email", "requester_email_digest"):
        setattr(locked, field, "")
    locked.wants_updates = False
    locked.text_erased_at = now
    locked.keep_text_until = None
    locked.save(
        update_fields=[
            "for_whom",
            "title",
            "details",
            "requester_name",
            "requester_email",
            "requester_email_digest",
            "wants_updates",
            "text_erased_at",
            "keep_text_until",
            "updated_at",
        ]
    )
    StatusUpdate.objects.filter(prayer_request=locked).update(note="")
    PrayerLog.objects.filter(prayer_request=locked).update(note="")
    SearchDigest.objects.filter(prayer_request=locked).delete()
    HeldNotification.objects.filter(prayer_request=locked).delete()
    OutboxMessage.objects.filter(prayer_request=locked, sent_at__isnull=True).delete()
    # What was sent stays a record that it was sent, to nobody now.
    OutboxMessage.objects.filter(prayer_request=locked).update(to="", body_text="", body_html="")
    StatusUpdate.objects.create(
        prayer_request=locked,
        author=by,
        kind=UpdateKind.ERASED,
        from_status=locked.status,
        to_status=locked.status,
        note=why,
        visibility=Visibility.REQUESTER,
    )


def erase_text(prayer_request: PrayerRequest, *, why: str, by: AbstractBaseUser | None = None) -> bool:
    """Erase the request's text now; False if it was erased already (and
    then nothing changes). Who may ask for it is the caller's question
    (`requests_app.team.retention` for leaders, `erase_for_requester`)."""
    with transaction.atomic():
        locked = _lock(prayer_request)
        if locked.text_erased_at is not None:
            return False
        _erase_locked(locked, why=why, by=by)
    prayer_request.refresh_from_db()
    return True


def erase_for_requester(prayer_request: PrayerRequest, *, requester: Requester) -> None:
    """The requester deletes their request through their link: its text is
    erased at once, it is closed (when the table lets the requester close
    it: a manifested request stays manifested), every active assignment is
    released, and its intercessors are told, without content, that it was
    withdrawn. Doing it again changes nothing more."""
    if requester.prayer_request_id != prayer_request.pk:
        raise NotAllowed()
    with transaction.atomic():
        locked = _lock(prayer_request)
        if locked.text_erased_at is None:
            _erase_locked(locked, why=ERASED_FOR_REQUESTER)
        if Status.CLOSED in rules.allowed_moves(requester, locked):
            _apply_move(locked, Status.CLOSED, actor=requester, note="", visibility=Visibility.REQUESTER)
            notifications.status_moved(locked, Status.CLOSED, actor=requester)
        assignments = list(
            Assignment.objects.select_for_update()
            .active()
            .filter(prayer_request=locked)
            .select_related("intercessor")
            .order_by("pk")
        )
        now = timezone.now()
        for assignment in assignments:
            assignment.released_at = now
            assignment.save(update_fields=["released_at"])
        StatusUpdate.objects.bulk_create(
            StatusUpdate(
                prayer_request=locked,
                kind=UpdateKind.RELEASED,
                intercessor=assignment.intercessor,
                from_status=locked.status,
                to_status=locked.status,
                visibility=Visibility.TEAM,
            )
            for assignment in assignments
        )
        if assignments:
            notifications.withdrawn(locked, [assignment.intercessor for assignment in assignments])
    prayer_request.refresh_from_db()


def retention_due(now: datetime | None = None, *, days: int | None = None):
    """The requests whose text the retention period has run out for:
    manifested or closed for `days` (the church's setting), not erased yet,
    and not kept longer by a leader past today."""
    now = now or timezone.now()
    days = church.current().retention_days if days is None else days
    cutoff = now - timedelta(days=days)
    return (
        PrayerRequest.objects.filter(text_erased_at__isnull=True)
        .filter(Q(status=Status.ANSWERED, answered_at__lte=cutoff) | Q(status=Status.CLOSED, closed_at__lte=cutoff))
        .filter(Q(keep_text_until__isnull=True) | Q(keep_text_until__lt=timezone.localdate(now)))
    )


def apply_retention(now: datetime | None = None, *, batch_size: int = RETENTION_BATCH) -> int:
    """Erase the text of every request past the retention period, in
    batches of one transaction each; returns how many were erased. Safe to
    run twice at once: on PostgreSQL each batch skips the rows another run
    holds (`skip_locked`), and a row is erased only while its text is there,
    so each request is erased once (SQLite serialises the writers)."""
    days = church.current().retention_days
    erased = 0
    while True:
        with transaction.atomic():
            batch = list(retention_due(now, days=days).select_for_update(skip_locked=True).order_by("pk")[:batch_size])
            for locked in batch:
                _erase_locked(locked, why=f"{ERASED_BY_RETENTION}:{days}")
        erased += len(batch)
        if len(batch) < batch_size:
            return erased


def text_erased_on(prayer_request: PrayerRequest, *, days: int | None = None):
    """The day retention will erase the request's text, or None while it is
    still carried (or already erased)."""
    if prayer_request.text_erased_at is not None:
        return None
    since = {Status.ANSWERED: prayer_request.answered_at, Status.CLOSED: prayer_request.closed_at}.get(
        prayer_request.status
    )
    if since is None:
        return None
    days = church.current().retention_days if days is None else days
    day = timezone.localdate(since + timedelta(days=days))
    if prayer_request.keep_text_until is not None and prayer_request.keep_text_until >= day:
        day = prayer_request.keep_text_until + timedelta(days=1)
    return day
