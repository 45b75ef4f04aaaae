"""
The invariants the database holds by itself, for the day someone writes
around the services: a data migration, a management command, the shell.

Each refusal runs in its own `transaction.atomic()` so that, on PostgreSQL,
the test's transaction survives the error. Each has a twin that succeeds, so
a refusal cannot pass for a reason other than the one it names.
"""

from datetime import timedelta

import pytest
from conftest import make_user, submit
from django.db import IntegrityError, transaction
from django.utils import timezone

from requests_app.models import (
    Assignment,
    IntercessorProfile,
    PrayerLog,
    PrayerRequest,
    StatusUpdate,
    UpdateKind,
    Visibility,
)


@pytest.fixture
def prayer_request(db) -> PrayerRequest:
    return submit()


def _refused(create) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


# --- choices -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "prayed"), ("status", ""), ("status", "NEW"), ("category", "weather"), ("category", "")],
)
def test_it_refuses_a_value_outside_the_choices(prayer_request, field, value):
    _refused(lambda: PrayerRequest.objects.filter(pk=prayer_request.pk).update(**{field: value}))

    fresh = PrayerRequest.objects.get(pk=prayer_request.pk)
    assert (fresh.status, fresh.category) == ("new", "health")


@pytest.mark.parametrize(("field", "value"), [("status", "closed"), ("category", "nation")])
def test_it_accepts_a_value_among_the_choices(prayer_request, field, value):
    PrayerRequest.objects.filter(pk=prayer_request.pk).update(**{field: value})

    assert getattr(PrayerRequest.objects.get(pk=prayer_request.pk), field) == value


def test_it_refuses_two_requests_with_the_same_token_hash(prayer_request):
    twin = submit()

    _refused(
        lambda: PrayerRequest.objects.filter(pk=twin.pk).update(followup_token_hash=prayer_request.followup_token_hash)
    )


# --- status updates ----------------------------------------------------------


def _status_update(prayer_request, author, **fields) -> StatusUpdate:
    """A plain team note, valid as it stands, with `fields` changed."""
    defaults = {"kind": UpdateKind.NOTE, "from_status": "new", "to_status": "new", "visibility": Visibility.TEAM}
    return StatusUpdate.objects.create(prayer_request=prayer_request, author=author, **(defaults | fields))


@pytest.mark.parametrize(
    "fields",
    [
        {"visibility": "everyone"},
        {"visibility": ""},
        {"from_status": "prayed", "to_status": "prayed"},
        {"kind": UpdateKind.MOVE, "from_status": "prayed", "to_status": "new"},
        {"kind": UpdateKind.MOVE, "from_status": "new", "to_status": "prayed"},
    ],
    ids=["unknown_visibility", "no_visibility", "unknown_status", "unknown_from_status", "unknown_to_status"],
)
def test_it_refuses_a_status_update_outside_the_choices(prayer_request, leader, fields):
    updates_before = StatusUpdate.objects.count()

    _refused(lambda: _status_update(prayer_request, leader, **fields))

    assert StatusUpdate.objects.count() == updates_before


@pytest.mark.parametrize(
    ("kind", "from_status", "to_status"),
    [
        ("move", "interceding", "interceding"),
        ("move", "", "interceding"),
        ("note", "new", "interceding"),
        ("note", "", "new"),
        ("assigned", "new", "interceding"),
        ("released", "interceding", "closed"),
        ("confidentiality", "answered", "interceding"),
        ("submitted", "new", "new"),
        ("submitted", "", "interceding"),
        ("submitted", "new", "interceding"),
        ("shouted", "new", "new"),
    ],
)
def test_it_refuses_a_status_update_whose_kind_does_not_match_its_statuses(
    prayer_request, leader, kind, from_status, to_status
):
    _refused(lambda: _status_update(prayer_request, leader, kind=kind, from_status=from_status, to_status=to_status))


@pytest.mark.parametrize(
    ("kind", "from_status", "to_status"),
    [
        ("move", "new", "interceding"),
        ("move", "closed", "interceding"),
        ("note", "breakthrough", "breakthrough"),
        ("assigned", "interceding", "interceding"),
        ("released", "closed", "closed"),
        ("confidentiality", "answered", "answered"),
        ("submitted", "", "new"),
    ],
)
def test_it_accepts_a_status_update_whose_kind_matches_its_statuses(
    prayer_request, leader, kind, from_status, to_status
):
    update = _status_update(prayer_request, leader, kind=kind, from_status=from_status, to_status=to_status)

    assert StatusUpdate.objects.filter(pk=update.pk).exists()


def test_it_refuses_a_private_note_without_an_author(prayer_request):
    _refused(lambda: _status_update(prayer_request, None, visibility=Visibility.PRIVATE))


@pytest.mark.parametrize("visibility", [Visibility.TEAM, Visibility.REQUESTER])
def test_it_accepts_a_shared_note_from_the_requester(prayer_request, visibility):
    assert _status_update(prayer_request, None, visibility=visibility).author is None


def test_it_accepts_a_private_note_with_an_author(prayer_request, leader):
    assert _status_update(prayer_request, leader, visibility=Visibility.PRIVATE).pk


# --- assignments -------------------------------------------------------------


def _assignment(prayer_request, intercessor, leader, released: bool = False) -> Assignment:
    return Assignment.objects.create(
        prayer_request=prayer_request,
        intercessor=intercessor,
        assigned_by=leader,
        released_at=timezone.now() + timedelta(seconds=1) if released else None,
    )


def test_it_refuses_a_second_active_assignment(prayer_request, leader, assigned_intercessor):
    _assignment(prayer_request, assigned_intercessor, leader)

    _refused(lambda: _assignment(prayer_request, assigned_intercessor, leader))

    assert prayer_request.assignments.count() == 1


def test_it_accepts_a_new_assignment_after_a_released_one(prayer_request, leader, assigned_intercessor):
    _assignment(prayer_request, assigned_intercessor, leader, released=True)
    _assignment(prayer_request, assigned_intercessor, leader, released=True)

    _assignment(prayer_request, assigned_intercessor, leader)

    assert prayer_request.assignments.count() == 3
    assert prayer_request.assignments.active().count() == 1


def test_it_accepts_active_assignments_of_different_intercessors(
    prayer_request, leader, assigned_intercessor, other_intercessor
):
    _assignment(prayer_request, assigned_intercessor, leader)
    _assignment(prayer_request, other_intercessor, leader)
    _assignment(submit(), assigned_intercessor, leader)

    assert Assignment.objects.active().count() == 3


def test_it_refuses_a_release_before_the_assignment(prayer_request, leader, assigned_intercessor):
    assignment = _assignment(prayer_request, assigned_intercessor, leader)

    _refused(
        lambda: Assignment.objects.filter(pk=assignment.pk).update(
            released_at=assignment.assigned_at - timedelta(days=1)
        )
    )

    assert Assignment.objects.get(pk=assignment.pk).is_active


# --- prayer log --------------------------------------------------------------


def _prayer_log(prayer_request, intercessor, minutes) -> PrayerLog:
    return PrayerLog.objects.create(
        prayer_request=prayer_request, intercessor=intercessor, prayed_at=timezone.now(), minutes=minutes
    )


@pytest.mark.parametrize("minutes", [-1, -600, 24 * 60 + 1, 10_000])
def test_it_refuses_minutes_outside_a_day(prayer_request, assigned_intercessor, minutes):
    _refused(lambda: _prayer_log(prayer_request, assigned_intercessor, minutes))

    assert not PrayerLog.objects.exists()


@pytest.mark.parametrize("minutes", [None, 0, 24 * 60])
def test_it_accepts_minutes_within_a_day(prayer_request, assigned_intercessor, minutes):
    assert _prayer_log(prayer_request, assigned_intercessor, minutes).pk


# --- intercessor profiles ----------------------------------------------------


@pytest.mark.parametrize("capacity", [-1, 51, 1000])
def test_it_refuses_a_capacity_out_of_range(assigned_intercessor, capacity):
    profile = IntercessorProfile.objects.get(user=assigned_intercessor)

    _refused(lambda: IntercessorProfile.objects.filter(pk=profile.pk).update(max_active_assignments=capacity))
    _refused(lambda: IntercessorProfile.objects.create(user=make_user("tychicus"), max_active_assignments=capacity))

    assert IntercessorProfile.objects.get(pk=profile.pk).max_active_assignments == 10


@pytest.mark.parametrize("capacity", [0, 50])
def test_it_accepts_a_capacity_in_range(assigned_intercessor, capacity):
    IntercessorProfile.objects.filter(user=assigned_intercessor).update(max_active_assignments=capacity)

    assert IntercessorProfile.objects.get(user=assigned_intercessor).max_active_assignments == capacity


def test_it_refuses_a_second_profile_for_one_intercessor(assigned_intercessor):
    _refused(lambda: IntercessorProfile.objects.create(user=assigned_intercessor))

    assert IntercessorProfile.objects.filter(user=assigned_intercessor).count() == 1
