"""Pray now: which requests a prayer session goes through, in which order,
and which of them may still be shown.

The set is what the user carries (their active assignments) and, if they
choose, the team board, narrowed to the categories they pick: urgent first,
then what they themselves prayed for least lately, then what the team did.
Every read starts from `PrayerRequest.objects.visible_to`, so nothing here
can hand out a request its reader may not see. A session snapshots the ids
at its start (`PrayerSession.request_ids`), so the order does not jump as
prayers are logged; each request is checked against the set again when it
is shown and when it is prayed for, so one made confidential, released or
closed meanwhile is passed over without being shown.
"""

from collections.abc import Iterable

from django.db.models import Exists, F, OuterRef, Subquery
from django.utils import timezone

from requests_app import roles
from requests_app.keyset import capped_count
from requests_app.models import Assignment, PrayerLog, PrayerRequest, PrayerRequestQuerySet, PrayerSession

# One session goes through at most this many requests (and the start page
# counts no further): a bounded snapshot, a bounded row.
SESSION_LIMIT = 200


def requests_to_pray_for(user, *, include_board: bool, categories: Iterable[str]) -> PrayerRequestQuerySet:
    """The open requests `user` may see and carries, and, with
    `include_board`, those on the team board; only `categories` (all of
    them when empty). Unordered."""
    visible = PrayerRequest.objects.visible_to(user).open()
    if roles.is_intercessor(user):
        active = Assignment.objects.active().filter(prayer_request=OuterRef("pk"), intercessor=user)
        chosen = visible.filter(Exists(active))
    else:
        # A leader who does not intercede carries nothing (as on My assignments).
        chosen = visible.none()
    if include_board:
        chosen = chosen | visible.on_board()
    categories = list(categories)
    if categories:
        chosen = chosen.filter(category__in=categories)
    return chosen


def in_praying_order(requests: PrayerRequestQuerySet, user) -> PrayerRequestQuerySet:
    """Urgent first; then what `user` prayed for least lately (never
    first), then what the team did; the oldest, then the id, break ties.
    Annotated with `my_last_prayed_at`."""
    my_last_prayer = (
        PrayerLog.objects.filter(prayer_request=OuterRef("pk"), intercessor=user)
        .order_by("-prayed_at")
        .values("prayed_at")[:1]
    )
    return requests.annotate(my_last_prayed_at=Subquery(my_last_prayer)).order_by(
        "-is_urgent",
        F("my_last_prayed_at").asc(nulls_first=True),
        F("last_prayed_at").asc(nulls_first=True),
        "created_at",
        "pk",
    )


def of_choice(user, session: PrayerSession) -> PrayerRequestQuerySet:
    return requests_to_pray_for(user, include_board=session.include_board, categories=session.categories)


def count(user, session: PrayerSession) -> tuple[int, bool]:
    """How many requests a session of `session`'s choice would go through:
    (count, more than `SESSION_LIMIT`)."""
    return capped_count(of_choice(user, session), SESSION_LIMIT)


def _with_user(session: PrayerSession | None, user) -> PrayerSession | None:
    # The row's user is the one asking: no query to read it back.
    if session is not None:
        session.user = user
    return session


def for_user(user) -> PrayerSession:
    """The user's saved row, or an unsaved one with the defaults."""
    return _with_user(PrayerSession.objects.filter(user=user).first(), user) or PrayerSession(user=user)


def choose(user, *, include_board: bool, categories: Iterable[str]) -> PrayerSession:
    """Keep the user's choice for this and later sessions. A session under
    way was made of the choice before, and ends."""
    session, _created = PrayerSession.objects.update_or_create(
        user=user, defaults={"include_board": include_board, "categories": list(categories), "started_at": None}
    )
    return _with_user(session, user)


def start(session: PrayerSession) -> PrayerSession:
    """Begin a session of the saved choice: the ids of its requests, in
    praying order, as they are now (a choice with none begins nothing).
    One read, one write."""
    session.request_ids = list(
        in_praying_order(of_choice(session.user, session), session.user).values_list("pk", flat=True)[:SESSION_LIMIT]
    )
    session.position = session.prayed_count = session.skipped_count = 0
    session.started_at = timezone.now() if session.request_ids else None
    session.save()
    return session


def locked(user) -> PrayerSession | None:
    """The user's session row, locked until the transaction ends (the
    caller's), so that two taps at once move it on once."""
    return _with_user(PrayerSession.objects.select_for_update().filter(user=user).first(), user)


def current_id(session: PrayerSession) -> int | None:
    """The id of the first request still ahead that is still in the set
    (the user may still see it, it is still open, still theirs or on the
    board, still of a chosen category), or None at the end. One query; the
    ones passed over were never shown, and are not counted as skipped."""
    remaining = session.remaining_ids()
    if not session.is_started or not remaining:
        return None
    still_in = set(of_choice(session.user, session).filter(pk__in=remaining).values_list("pk", flat=True))
    return next((pk for pk in remaining if pk in still_in), None)


def current_request(session: PrayerSession) -> PrayerRequest | None:
    """The request in front of the user now (see `current_id`), read with
    `my_last_prayed_at`; None at the end. Two queries."""
    pk = current_id(session)
    if pk is None:
        return None
    return in_praying_order(PrayerRequest.objects.visible_to(session.user), session.user).filter(pk=pk).first()


def holds(session: PrayerSession, pk: int) -> bool:
    """Whether request `pk` is one of the session's: one it has moved past
    (a second tap on the same button, a form from an earlier page) or one
    out of sight since it was shown."""
    return pk in session.request_ids


def move_past(session: PrayerSession, pk: int, *, prayed: bool = False, skipped: bool = False) -> None:
    """Move the session on past request `pk`, the one in front of the user
    (those before it were passed over unseen), counting it as prayed for or
    skipped, if either."""
    session.position = session.request_ids.index(pk, session.position) + 1
    session.prayed_count += int(prayed)
    session.skipped_count += int(skipped)
    session.save(update_fields=["position", "prayed_count", "skipped_count"])
