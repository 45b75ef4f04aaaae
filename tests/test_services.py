"""
The service functions other than `move` (see test_transitions.py): who may
call each one, what it writes, and that a refusal writes nothing.
"""

import hashlib
import re
from datetime import timedelta

import pytest
from conftest import make_user, submit
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from requests_app import roles, services
from requests_app.exceptions import AssignmentRefused, IntercessionError, NotAllowed
from requests_app.models import (
    Assignment,
    Category,
    IntercessorProfile,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    UpdateKind,
    Visibility,
    hash_token,
)
from requests_app.rules import Requester

EVERYONE_BUT_THE_LEADER = [
    "assigned_intercessor",
    "other_intercessor",
    "released_intercessor",
    "superuser",
    "anonymous",
    "requester",
    "requester_of_another_request",
]


def _actor(request, persona: str, prayer_request: PrayerRequest):
    if persona == "requester":
        return Requester(prayer_request.pk)
    if persona == "requester_of_another_request":
        return Requester(submit(title="Another request").pk)
    return request.getfixturevalue(persona)


def _written() -> dict:
    """How many rows each service may write: a refusal leaves all of them alone."""
    return {
        "requests": PrayerRequest.objects.count(),
        "assignments": Assignment.objects.count(),
        "active assignments": Assignment.objects.active().count(),
        "updates": StatusUpdate.objects.count(),
        "prayer logs": PrayerLog.objects.count(),
    }


def _fresh(prayer_request: PrayerRequest) -> PrayerRequest:
    return PrayerRequest.objects.get(pk=prayer_request.pk)


# --- assign ------------------------------------------------------------------


@pytest.mark.parametrize("persona", EVERYONE_BUT_THE_LEADER)
@pytest.mark.parametrize("status", ["new", "interceding"])
def test_it_lets_only_a_leader_assign(request, request_in, other_intercessor, persona, status):
    prayer_request = request_in(status)
    actor = _actor(request, persona, prayer_request)
    before = _written()

    with pytest.raises(NotAllowed):
        services.assign(prayer_request, [other_intercessor], by=actor)

    assert _written() == before
    assert _fresh(prayer_request).status == status


def test_it_assigns_and_begins_intercession(request_in, leader, assigned_intercessor, other_intercessor):
    prayer_request = request_in("new")
    before = _written()

    assignments = services.assign(prayer_request, [assigned_intercessor, other_intercessor], by=leader)

    assert {assignment.intercessor for assignment in assignments} == {assigned_intercessor, other_intercessor}
    assert all(assignment.is_active and assignment.assigned_by == leader for assignment in assignments)
    assert _fresh(prayer_request).status == Status.INTERCEDING
    assert prayer_request.status == Status.INTERCEDING
    assert StatusUpdate.objects.count() == before["updates"] + 3
    assigned = prayer_request.updates.filter(kind=UpdateKind.ASSIGNED)
    assert {update.intercessor for update in assigned} == {assigned_intercessor, other_intercessor}
    assert all(update.author == leader for update in assigned)
    assert all(update.from_status == update.to_status == Status.NEW for update in assigned)
    move = prayer_request.updates.get(kind=UpdateKind.MOVE)
    assert (move.from_status, move.to_status, move.author) == (Status.NEW, Status.INTERCEDING, leader)


def test_it_leaves_the_callers_intercessor_able_to_save_their_profile(request_in, leader):
    """Assigning creates a default profile for whoever has none; the
    caller's user object must still reach the saved profile afterwards."""
    make_user("newcomer", roles.INTERCESSORS)
    IntercessorProfile.objects.filter(user__username="newcomer").delete()
    newcomer = User.objects.get(username="newcomer")

    services.assign(request_in("new"), [newcomer], by=leader)
    newcomer.intercessor_profile.max_active_assignments = 7
    newcomer.intercessor_profile.save()

    assert IntercessorProfile.objects.get(user=newcomer).max_active_assignments == 7


@pytest.mark.parametrize("status", ["interceding", "breakthrough"])
def test_it_adds_an_intercessor_without_moving_the_request(request_in, leader, other_intercessor, status):
    prayer_request = request_in(status)
    before = _written()

    services.assign(prayer_request, [other_intercessor], by=leader)

    assert _fresh(prayer_request).status == status
    assert StatusUpdate.objects.count() == before["updates"] + 1
    update = prayer_request.updates.latest("pk")
    assert update.kind == UpdateKind.ASSIGNED
    assert (update.intercessor, update.author) == (other_intercessor, leader)
    assert update.from_status == update.to_status == status
    assert Assignment.objects.active().filter(prayer_request=prayer_request, intercessor=other_intercessor).exists()


def test_it_refuses_an_unavailable_intercessor(request_in, leader):
    resting = make_user("rhoda", roles.INTERCESSORS, available=False)
    prayer_request = request_in("new")
    before = _written()

    with pytest.raises(AssignmentRefused) as refusal:
        services.assign(prayer_request, [resting], by=leader)

    assert refusal.value.code == "unavailable"
    assert _written() == before


def test_it_counts_only_active_assignments_on_open_requests_against_capacity(leader):
    dorcas = make_user("dorcas", roles.INTERCESSORS, capacity=2)
    answered, closed, released, breakthrough = (submit(title=title) for title in ("A", "B", "C", "D"))
    services.assign(answered, [dorcas], by=leader)
    services.move(answered, Status.ANSWERED, actor=leader)
    services.assign(closed, [dorcas], by=leader)
    services.move(closed, Status.CLOSED, actor=leader)
    services.assign(released, [dorcas], by=leader)
    services.release(released.assignments.get(intercessor=dorcas), by=leader)
    services.assign(breakthrough, [dorcas], by=leader)
    services.move(breakthrough, Status.BREAKTHROUGH, actor=leader)

    # Carrying one (the breakthrough) of two: one more fits, the next does not.
    services.assign(submit(title="E"), [dorcas], by=leader)
    one_too_many = submit(title="F")
    before = _written()
    with pytest.raises(AssignmentRefused) as refusal:
        services.assign(one_too_many, [dorcas], by=leader)

    assert refusal.value.code == "over_capacity"
    assert _written() == before
    assert _fresh(one_too_many).status == Status.NEW


def test_it_refuses_an_intercessor_already_assigned(request_in, leader, assigned_intercessor):
    prayer_request = request_in("interceding")
    before = _written()

    with pytest.raises(AssignmentRefused) as refusal:
        services.assign(prayer_request, [assigned_intercessor], by=leader)

    assert refusal.value.code == "already_assigned"
    assert _written() == before


def test_it_assigns_again_an_intercessor_who_was_released(request_in, leader, released_intercessor):
    prayer_request = request_in("interceding")

    services.assign(prayer_request, [released_intercessor], by=leader)

    assert prayer_request.assignments.filter(intercessor=released_intercessor).count() == 2
    assert prayer_request.assignments.active().filter(intercessor=released_intercessor).count() == 1


@pytest.mark.parametrize("persona", ["leader", "superuser", "inactive intercessor"])
def test_it_refuses_someone_not_on_the_team(request, request_in, leader, persona):
    if persona == "inactive intercessor":
        chosen = make_user("demas", roles.INTERCESSORS, is_active=False)
    else:
        chosen = request.getfixturevalue(persona)
    prayer_request = request_in("new")
    before = _written()

    with pytest.raises(AssignmentRefused) as refusal:
        services.assign(prayer_request, [chosen], by=leader)

    assert refusal.value.code == "not_intercessor"
    assert _written() == before


@pytest.mark.parametrize("status", ["answered", "closed"])
def test_it_refuses_to_assign_to_a_request_no_longer_open(request_in, leader, other_intercessor, status):
    prayer_request = request_in(status)
    before = _written()

    with pytest.raises(AssignmentRefused) as refusal:
        services.assign(prayer_request, [other_intercessor], by=leader)

    assert refusal.value.code == "request_not_open"
    assert _written() == before
    assert _fresh(prayer_request).status == status


def test_it_refuses_to_assign_nobody(request_in, leader):
    prayer_request = request_in("new")
    before = _written()

    with pytest.raises(AssignmentRefused) as refusal:
        services.assign(prayer_request, [], by=leader)

    assert refusal.value.code == "nobody_chosen"
    assert _written() == before


@pytest.mark.parametrize(
    ("refused_fields", "code"),
    [({"available": False}, "unavailable"), ({"capacity": 0}, "over_capacity")],
)
def test_it_assigns_all_or_nobody(request_in, leader, assigned_intercessor, refused_fields, code):
    prayer_request = request_in("new")
    # Created second, so it is refused second whichever order the service walks them in.
    refused = make_user("hymenaeus", roles.INTERCESSORS, **refused_fields)
    before = _written()

    with pytest.raises(AssignmentRefused) as refusal:
        services.assign(prayer_request, [assigned_intercessor, refused], by=leader)

    assert refusal.value.code == code
    assert _written() == before
    assert _fresh(prayer_request).status == Status.NEW
    assert prayer_request.status == Status.NEW


# --- release -----------------------------------------------------------------


@pytest.mark.parametrize("by", ["leader", "assigned_intercessor"])
def test_it_releases_an_assignment(request, request_in, assigned_intercessor, by):
    releaser = request.getfixturevalue(by)
    prayer_request = request_in("interceding")
    assignment = prayer_request.assignments.active().get(intercessor=assigned_intercessor)
    before = _written()
    started = timezone.now()

    services.release(assignment, by=releaser, note="Travelling for a month.")

    assignment.refresh_from_db()
    assert started <= assignment.released_at <= timezone.now()
    assert assignment.released_by == releaser
    assert StatusUpdate.objects.count() == before["updates"] + 1
    update = prayer_request.updates.latest("pk")
    assert update.kind == UpdateKind.RELEASED
    assert (update.intercessor, update.author, update.note) == (
        assigned_intercessor,
        releaser,
        "Travelling for a month.",
    )
    assert update.from_status == update.to_status == Status.INTERCEDING
    assert _fresh(prayer_request).status == Status.INTERCEDING


@pytest.mark.parametrize(
    "persona", [persona for persona in EVERYONE_BUT_THE_LEADER if persona != "assigned_intercessor"]
)
def test_it_lets_only_a_leader_or_the_intercessor_release(request, request_in, assigned_intercessor, persona):
    prayer_request = request_in("interceding")
    assignment = prayer_request.assignments.active().get(intercessor=assigned_intercessor)
    actor = _actor(request, persona, prayer_request)
    before = _written()

    with pytest.raises(NotAllowed):
        services.release(assignment, by=actor)

    assert _written() == before
    assert Assignment.objects.get(pk=assignment.pk).is_active


def test_it_refuses_to_release_twice(request_in, leader, assigned_intercessor):
    prayer_request = request_in("interceding")
    assignment = prayer_request.assignments.active().get(intercessor=assigned_intercessor)
    stale_copy = Assignment.objects.get(pk=assignment.pk)
    services.release(assignment, by=assigned_intercessor)
    before = _written()

    for again in (assignment, stale_copy):
        with pytest.raises(AssignmentRefused) as refusal:
            services.release(again, by=leader)
        assert refusal.value.code == "already_released"

    assert _written() == before


def test_it_ends_the_sight_and_the_say_of_a_released_intercessor(request_in, leader, assigned_intercessor):
    prayer_request = request_in("interceding", confidential=True)
    visible = PrayerRequest.objects.visible_to
    assert visible(assigned_intercessor).filter(pk=prayer_request.pk).exists()

    services.release(prayer_request.assignments.active().get(intercessor=assigned_intercessor), by=leader)

    assert not visible(assigned_intercessor).filter(pk=prayer_request.pk).exists()
    before = _written()
    with pytest.raises(NotAllowed):
        services.move(prayer_request, Status.BREAKTHROUGH, actor=assigned_intercessor)
    with pytest.raises(NotAllowed):
        services.move(prayer_request, Status.ANSWERED, actor=assigned_intercessor)
    with pytest.raises(NotAllowed):
        services.post_update(prayer_request, actor=assigned_intercessor, note="Still praying", visibility="team")
    with pytest.raises(NotAllowed):
        services.log_prayer(prayer_request, intercessor=assigned_intercessor)
    assert _written() == before
    assert _fresh(prayer_request).status == Status.INTERCEDING


# --- post_update -------------------------------------------------------------

ALL_VISIBILITIES = {"private", "team", "requester"}

# Who may post a note of which visibility on an interceding request: private
# journal notes by anyone on the team who can see the request, team notes
# and notes for the requester by leaders and assigned intercessors, and the
# requester's own notes (always shown to them).
MAY_POST = {
    "confidential": {
        "leader": ALL_VISIBILITIES,
        "assigned_intercessor": ALL_VISIBILITIES,
        "requester": ALL_VISIBILITIES,
    },
    "on the team board": {
        "leader": ALL_VISIBILITIES,
        "assigned_intercessor": ALL_VISIBILITIES,
        "requester": ALL_VISIBILITIES,
        "other_intercessor": {"private"},
        "released_intercessor": {"private"},
    },
}
PERSONAS = ["leader", *EVERYONE_BUT_THE_LEADER]


@pytest.mark.parametrize("visibility", sorted(ALL_VISIBILITIES))
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("kind_of_request", list(MAY_POST))
def test_it_lets_each_one_post_the_notes_they_may(request, request_in, kind_of_request, persona, visibility):
    prayer_request = request_in("interceding", confidential=kind_of_request == "confidential")
    actor = _actor(request, persona, prayer_request)
    before = _written()
    may_post = visibility in MAY_POST[kind_of_request].get(persona, set())

    if not may_post:
        with pytest.raises(NotAllowed):
            services.post_update(prayer_request, actor=actor, note="Slept well at last.", visibility=visibility)
        assert _written() == before
        return

    update = services.post_update(prayer_request, actor=actor, note="Slept well at last.", visibility=visibility)

    assert StatusUpdate.objects.count() == before["updates"] + 1
    update.refresh_from_db()
    assert update.kind == UpdateKind.NOTE
    assert update.note == "Slept well at last."
    assert update.from_status == update.to_status == Status.INTERCEDING
    assert _fresh(prayer_request).status == Status.INTERCEDING
    if persona == "requester":
        assert update.author is None
        assert update.visibility == Visibility.REQUESTER
    else:
        assert update.author == actor
        assert update.visibility == visibility


@pytest.mark.parametrize("status", ["new", "breakthrough", "answered", "closed"])
def test_it_keeps_the_status_when_posting_a_note(request_in, leader, status):
    prayer_request = request_in(status)

    update = services.post_update(prayer_request, actor=leader, note="Shared at the meeting.", visibility="team")

    assert update.from_status == update.to_status == status
    assert _fresh(prayer_request).status == status


@pytest.mark.parametrize("note", ["", "   ", "\n\t "])
@pytest.mark.parametrize("persona", ["leader", "requester"])
def test_it_refuses_an_empty_note(request, request_in, persona, note):
    prayer_request = request_in("interceding")
    actor = _actor(request, persona, prayer_request)
    before = _written()

    with pytest.raises(ValidationError):
        services.post_update(prayer_request, actor=actor, note=note, visibility="team")

    assert _written() == before


# --- log_prayer --------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status", "confidential"),
    [
        ("leader", "new", True),
        ("leader", "interceding", True),
        ("leader", "breakthrough", True),
        ("assigned_intercessor", "interceding", True),
        ("assigned_intercessor", "breakthrough", True),
        ("other_intercessor", "interceding", False),
        ("other_intercessor", "breakthrough", False),
        ("released_intercessor", "interceding", False),
    ],
)
def test_it_logs_a_prayer(request, request_in, persona, status, confidential):
    prayer_request = request_in(status, confidential=confidential)
    intercessor = request.getfixturevalue(persona)
    prayed_at = timezone.now() - timedelta(hours=2)

    services.log_prayer(
        prayer_request, intercessor=intercessor, minutes=20, fasted=True, note="Psalm 91", prayed_at=prayed_at
    )

    entry = PrayerLog.objects.get()
    assert (entry.prayer_request, entry.intercessor) == (prayer_request, intercessor)
    assert (entry.minutes, entry.fasted, entry.note, entry.prayed_at) == (20, True, "Psalm 91", prayed_at)
    assert _fresh(prayer_request).status == status


@pytest.mark.parametrize(
    ("persona", "status", "confidential"),
    [
        ("other_intercessor", "interceding", True),
        ("released_intercessor", "interceding", True),
        ("other_intercessor", "new", True),
        # New and public, but no leader has shared it with the team yet
        # (once shared, tests/test_board_gate.py).
        ("other_intercessor", "new", False),
        ("leader", "answered", False),
        ("leader", "closed", False),
        ("assigned_intercessor", "answered", True),
        ("assigned_intercessor", "closed", True),
        ("other_intercessor", "answered", False),
        ("other_intercessor", "closed", False),
        ("requester", "interceding", False),
        ("requester", "interceding", True),
        ("requester_of_another_request", "interceding", False),
        ("anonymous", "interceding", False),
        ("superuser", "interceding", False),
        ("superuser", "interceding", True),
    ],
)
def test_it_refuses_a_prayer_log_from_who_may_not_log_it(request, request_in, persona, status, confidential):
    prayer_request = request_in(status, confidential=confidential)
    actor = _actor(request, persona, prayer_request)
    before = _written()

    with pytest.raises(NotAllowed):
        services.log_prayer(prayer_request, intercessor=actor, minutes=10)

    assert _written() == before


def test_it_refuses_a_prayer_log_for_a_request_closed_meanwhile(request_in, leader, assigned_intercessor):
    seen_by_intercessor = request_in("interceding")
    services.move(PrayerRequest.objects.get(pk=seen_by_intercessor.pk), Status.CLOSED, actor=leader)
    before = _written()

    with pytest.raises(NotAllowed):
        services.log_prayer(seen_by_intercessor, intercessor=assigned_intercessor)

    assert _written() == before


def test_it_refuses_a_prayer_log_for_a_request_made_confidential_meanwhile(request_in, other_intercessor):
    seen_on_the_team_board = request_in("interceding", confidential=False)
    fresh = PrayerRequest.objects.get(pk=seen_on_the_team_board.pk)
    services.set_confidential(fresh, True, actor=Requester(fresh.pk))
    before = _written()

    with pytest.raises(NotAllowed):
        services.log_prayer(seen_on_the_team_board, intercessor=other_intercessor)

    assert _written() == before


@pytest.mark.parametrize("minutes", [None, 0, 1, 24 * 60])
def test_it_accepts_minutes_within_a_day(request_in, assigned_intercessor, minutes):
    prayer_request = request_in("interceding")

    services.log_prayer(prayer_request, intercessor=assigned_intercessor, minutes=minutes)

    assert PrayerLog.objects.get().minutes == minutes


@pytest.mark.parametrize("minutes", [-1, 24 * 60 + 1, 10_000])
def test_it_refuses_minutes_beyond_a_day(request_in, assigned_intercessor, minutes):
    prayer_request = request_in("interceding")
    before = _written()

    with pytest.raises(ValidationError):
        services.log_prayer(prayer_request, intercessor=assigned_intercessor, minutes=minutes)

    assert _written() == before


# --- set_confidential --------------------------------------------------------

# "Only the requester may make a request less confidential; a leader may make
# one more confidential" (and so, naturally, may the requester).
MAY_SET_CONFIDENTIAL = {True: {"leader", "requester"}, False: {"requester"}}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("confidential", [True, False], ids=["raise", "lower"])
def test_it_lets_only_the_right_people_change_confidentiality(request, request_in, persona, confidential):
    prayer_request = request_in("interceding", confidential=not confidential)
    actor = _actor(request, persona, prayer_request)
    before = _written()

    if persona not in MAY_SET_CONFIDENTIAL[confidential]:
        with pytest.raises(NotAllowed):
            services.set_confidential(prayer_request, confidential, actor=actor)
        assert _written() == before
        assert _fresh(prayer_request).is_confidential is not confidential
        return

    services.set_confidential(prayer_request, confidential, actor=actor)

    assert _fresh(prayer_request).is_confidential is confidential
    assert StatusUpdate.objects.count() == before["updates"] + 1
    update = prayer_request.updates.latest("pk")
    assert update.kind == UpdateKind.CONFIDENTIALITY
    assert update.from_status == update.to_status == Status.INTERCEDING
    assert update.author == (None if persona == "requester" else actor)


# Rights are checked before the state, so only those allowed to set a value
# learn that it is already set (a leader may never lower it).
@pytest.mark.parametrize(("persona", "confidential"), [("leader", True), ("requester", True), ("requester", False)])
def test_it_refuses_to_set_confidentiality_to_what_it_is(request, request_in, persona, confidential):
    prayer_request = request_in("interceding", confidential=confidential)
    actor = _actor(request, persona, prayer_request)
    before = _written()

    with pytest.raises(IntercessionError) as refusal:
        services.set_confidential(prayer_request, confidential, actor=actor)

    assert refusal.value.code == "unchanged"
    assert _written() == before


# --- submit_request ----------------------------------------------------------


def _submit(**fields):
    return services.submit_request(
        **{"for_whom": "J. D.", "title": "A new job", "category": Category.WORK, "details": "Interview on Monday."}
        | fields
    )


@pytest.mark.django_db
def test_it_keeps_only_the_hash_of_the_followup_token():
    prayer_request, token = _submit()

    columns = PrayerRequest.objects.filter(pk=prayer_request.pk).values().get()
    assert not any(token in str(value) for value in columns.values())
    for update in StatusUpdate.objects.filter(prayer_request=prayer_request).values():
        assert not any(token in str(value) for value in update.values())
    assert columns["followup_token_hash"] == hashlib.sha256(token.encode()).hexdigest() == hash_token(token)


@pytest.mark.django_db
def test_it_issues_a_long_url_safe_token_each_time():
    tokens = {_submit()[1] for _ in range(3)}

    assert len(tokens) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43,}", token) for token in tokens)


@pytest.mark.django_db
def test_it_tells_the_story_from_the_submission():
    prayer_request, _token = _submit(is_confidential=False, is_urgent=True)

    prayer_request = _fresh(prayer_request)
    assert prayer_request.status == Status.NEW
    assert (prayer_request.is_confidential, prayer_request.is_urgent) == (False, True)
    update = StatusUpdate.objects.get(prayer_request=prayer_request)
    assert update.kind == UpdateKind.SUBMITTED
    assert (update.from_status, update.to_status, update.author) == ("", Status.NEW, None)


@pytest.mark.django_db
def test_it_submits_confidential_by_default():
    prayer_request, _token = _submit()

    assert _fresh(prayer_request).is_confidential


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad_input",
    [
        {"category": "weather"},
        {"category": ""},
        {"title": ""},
        {"for_whom": ""},
        {"title": "x" * 151},
        {"requester_email": "not an address"},
    ],
    ids=["unknown_category", "no_category", "no_title", "no_for_whom", "title_too_long", "bad_email"],
)
def test_it_refuses_a_bad_submission_and_writes_nothing(bad_input):
    before = _written()

    with pytest.raises(ValidationError):
        _submit(**bad_input)

    assert _written() == before


# --- reassign ----------------------------------------------------------------


def test_it_reassigns_in_one_step(request_in, leader, assigned_intercessor, other_intercessor):
    prayer_request = request_in("interceding")
    assignment = prayer_request.assignments.get(intercessor=assigned_intercessor, released_at__isnull=True)

    new_assignment = services.reassign(assignment, other_intercessor, by=leader, note="Anna is travelling")

    assignment.refresh_from_db()
    assert assignment.released_at is not None
    assert new_assignment.intercessor == other_intercessor
    assert new_assignment.is_active
    kinds = list(prayer_request.updates.order_by("-pk").values_list("kind", flat=True)[:2])
    assert kinds == [UpdateKind.ASSIGNED, UpdateKind.RELEASED]


def test_it_keeps_the_old_assignment_when_the_new_intercessor_is_refused(
    request_in, leader, assigned_intercessor, other_intercessor
):
    prayer_request = request_in("interceding")
    assignment = prayer_request.assignments.get(intercessor=assigned_intercessor, released_at__isnull=True)
    other_intercessor.intercessor_profile.is_available = False
    other_intercessor.intercessor_profile.save()
    before = _written()

    with pytest.raises(AssignmentRefused) as refusal:
        services.reassign(assignment, other_intercessor, by=leader)

    assert refusal.value.code == "unavailable"
    assert _written() == before
    assignment.refresh_from_db()
    assert assignment.is_active


@pytest.mark.parametrize("persona", EVERYONE_BUT_THE_LEADER)
def test_it_lets_only_a_leader_reassign(request, request_in, assigned_intercessor, other_intercessor, persona):
    prayer_request = request_in("interceding")
    assignment = prayer_request.assignments.get(intercessor=assigned_intercessor, released_at__isnull=True)
    actor = _actor(request, persona, prayer_request)
    before = _written()

    with pytest.raises(NotAllowed):
        services.reassign(assignment, other_intercessor, by=actor)

    assert _written() == before


# --- log_prayer: the same form twice logs once --------------------------------


def test_it_logs_a_resubmitted_prayer_form_once(request_in, assigned_intercessor):
    prayer_request = request_in("interceding")

    first = services.log_prayer(prayer_request, intercessor=assigned_intercessor, submission_key="k-123")
    second = services.log_prayer(prayer_request, intercessor=assigned_intercessor, submission_key="k-123")

    assert first.pk == second.pk
    assert PrayerLog.objects.filter(prayer_request=prayer_request).count() == 1


def test_it_logs_two_forms_twice(request_in, assigned_intercessor):
    prayer_request = request_in("interceding")

    services.log_prayer(prayer_request, intercessor=assigned_intercessor, submission_key="k-1")
    services.log_prayer(prayer_request, intercessor=assigned_intercessor, submission_key="k-2")
    services.log_prayer(prayer_request, intercessor=assigned_intercessor)
    services.log_prayer(prayer_request, intercessor=assigned_intercessor)

    assert PrayerLog.objects.filter(prayer_request=prayer_request).count() == 4


# --- What an intercessor carries: Assignment.request_open follows the status --------


def _carrying_by_the_join():
    from requests_app.models import OPEN_STATUSES

    on_open_requests = Assignment.objects.active().filter(prayer_request__status__in=OPEN_STATUSES)
    return set(on_open_requests.values_list("pk", flat=True))


def _carrying():
    return set(Assignment.objects.carrying().values_list("pk", flat=True))


@pytest.mark.django_db
def test_what_is_carried_follows_every_move_and_undo(request_in, leader, assigned_intercessor):
    prayer_request = request_in(Status.INTERCEDING)
    assert _carrying() == _carrying_by_the_join() != set()

    for to_status in (Status.BREAKTHROUGH, Status.ANSWERED, Status.INTERCEDING, Status.CLOSED, Status.INTERCEDING):
        services.move(prayer_request, to_status, actor=leader)
        assert _carrying() == _carrying_by_the_join(), to_status
        if to_status in (Status.ANSWERED, Status.CLOSED):
            assert not Assignment.objects.carrying().filter(prayer_request=prayer_request).exists()
            # Undone: carried again; moved once more, as the table allows.
            services.undo_move(prayer_request, prayer_request.updates.order_by("-pk").first().pk, actor=leader)
            assert _carrying() == _carrying_by_the_join()
            assert Assignment.objects.carrying().filter(prayer_request=prayer_request).exists()
            services.move(prayer_request, to_status, actor=leader)
            assert _carrying() == _carrying_by_the_join()
    # The intercessor's load counts it again once it is reopened.
    carried = Assignment.objects.carrying().filter(intercessor=assigned_intercessor)
    assert carried.filter(prayer_request=prayer_request).exists()


@pytest.mark.django_db
def test_the_migration_marks_the_assignments_of_finished_requests(request_in):
    from importlib import import_module

    from django.apps import apps

    finished = request_in(Status.ANSWERED)
    carried = request_in(Status.INTERCEDING)
    Assignment.objects.update(request_open=True)  # as the new column starts

    import_module("requests_app.migrations.0021_assignment_request_open").fill(apps, None)

    assert not Assignment.objects.filter(prayer_request=finished, request_open=True).exists()
    assert not Assignment.objects.filter(prayer_request=carried, request_open=False).exists()
    assert _carrying() == _carrying_by_the_join()
