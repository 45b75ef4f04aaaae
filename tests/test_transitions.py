"""
The state machine of PRODUCT.md, "The life of a request", walked in full:
every allowed move by everyone allowed to make it, and every other
(from, to, persona) refused without changing anything.

The table below is a hand copy of the one in PRODUCT.md, not an import of
`requests_app.rules.TRANSITIONS`: if the rules drift from the spec, these
tests fail.
"""

import itertools

import pytest
from conftest import submit
from django.utils import timezone

from requests_app import services
from requests_app.exceptions import InvalidTransition, NotAllowed
from requests_app.models import PrayerRequest, Status, StatusUpdate, UpdateKind, Visibility
from requests_app.rules import Requester

# PRODUCT.md, "The life of a request".
STATUSES = ["new", "interceding", "breakthrough", "answered", "closed"]

LEADER, ASSIGNED, REQUESTER = "leader", "assigned intercessor", "requester"

SPEC_MOVES = {
    ("new", "interceding"): {LEADER},  # happens on first assignment
    ("new", "closed"): {LEADER, REQUESTER},  # withdraw
    ("interceding", "breakthrough"): {LEADER, ASSIGNED},
    ("breakthrough", "interceding"): {LEADER, ASSIGNED},  # "more is still needed"
    ("interceding", "answered"): {LEADER, ASSIGNED, REQUESTER},  # praise report
    ("breakthrough", "answered"): {LEADER, ASSIGNED, REQUESTER},
    ("interceding", "closed"): {LEADER, REQUESTER},  # withdraw
    ("breakthrough", "closed"): {LEADER, REQUESTER},
    ("answered", "interceding"): {LEADER},  # reopen
    ("closed", "interceding"): {LEADER},
}

# "(happens on first assignment)": made by `services.assign`, never by `move`.
MADE_BY_ASSIGNING = {("new", "interceding")}

STAGE_FIELD = {"breakthrough": "breakthrough_at", "answered": "answered_at", "closed": "closed_at"}
STAGE_FIELDS = list(STAGE_FIELD.values())

# Every persona of conftest.py, and the spec role each one holds towards the
# request under test (`request_in` assigns `assigned_intercessor` to every
# request but a new one, and has released `released_intercessor`).
PERSONA_ROLE = {
    "leader": LEADER,
    "assigned_intercessor": ASSIGNED,
    "other_intercessor": None,
    "released_intercessor": None,
    "superuser": None,
    "anonymous": None,
    "requester": REQUESTER,
    "requester_of_another_request": None,
}


def _may_move(from_status: str, to_status: str, persona: str) -> bool:
    key = (from_status, to_status)
    return key in SPEC_MOVES and key not in MADE_BY_ASSIGNING and PERSONA_ROLE[persona] in SPEC_MOVES[key]


ALLOWED_MOVES = [
    pytest.param(from_status, to_status, persona, id=f"{from_status}->{to_status}-by-{persona}")
    for (from_status, to_status), persona in itertools.product(SPEC_MOVES, PERSONA_ROLE)
    if _may_move(from_status, to_status, persona)
]

REFUSED_MOVES = [
    pytest.param(from_status, to_status, persona, id=f"{from_status}->{to_status}-by-{persona}")
    for from_status, to_status, persona in itertools.product(STATUSES, STATUSES, PERSONA_ROLE)
    if not _may_move(from_status, to_status, persona)
]


def _actor(request, persona: str, prayer_request: PrayerRequest):
    if persona == "requester":
        return Requester(prayer_request.pk)
    if persona == "requester_of_another_request":
        return Requester(submit(title="Another request").pk)
    return request.getfixturevalue(persona)


def _state(prayer_request: PrayerRequest) -> dict:
    """What a refused move must leave exactly as it was, read from the database."""
    fresh = PrayerRequest.objects.get(pk=prayer_request.pk)
    return {
        "status": fresh.status,
        "is_confidential": fresh.is_confidential,
        "updated_at": fresh.updated_at,
        **{field: getattr(fresh, field) for field in STAGE_FIELDS},
        "updates": StatusUpdate.objects.count(),
    }


def test_it_knows_exactly_the_statuses_of_the_spec():
    assert Status.values == STATUSES


@pytest.mark.parametrize(("from_status", "to_status", "persona"), ALLOWED_MOVES)
def test_it_makes_every_move_of_the_table(request, request_in, from_status, to_status, persona):
    prayer_request = request_in(from_status)
    actor = _actor(request, persona, prayer_request)
    before = _state(prayer_request)
    started = timezone.now()

    services.move(prayer_request, to_status, actor=actor, note="Thank you, Lord.", visibility=Visibility.TEAM)

    fresh = PrayerRequest.objects.get(pk=prayer_request.pk)
    assert fresh.status == to_status
    if to_status == "interceding":
        assert all(getattr(fresh, field) is None for field in STAGE_FIELDS)
    else:
        assert started <= getattr(fresh, STAGE_FIELD[to_status]) <= timezone.now()
        # The earlier stages of the current path are kept.
        for field in set(STAGE_FIELDS) - {STAGE_FIELD[to_status]}:
            assert getattr(fresh, field) == before[field]

    assert StatusUpdate.objects.count() == before["updates"] + 1
    update = fresh.updates.latest("pk")
    assert update.kind == UpdateKind.MOVE
    assert (update.from_status, update.to_status) == (from_status, to_status)
    assert update.note == "Thank you, Lord."
    if persona == "requester":
        assert update.author is None
        assert update.visibility == Visibility.REQUESTER
    else:
        assert update.author == actor
        assert update.visibility == Visibility.TEAM


def test_it_begins_intercession_on_the_first_assignment(request_in, leader, assigned_intercessor):
    prayer_request = request_in("new")

    services.assign(prayer_request, [assigned_intercessor], by=leader)

    fresh = PrayerRequest.objects.get(pk=prayer_request.pk)
    assert fresh.status == Status.INTERCEDING
    assert all(getattr(fresh, field) is None for field in STAGE_FIELDS)
    moves = list(fresh.updates.filter(kind=UpdateKind.MOVE))
    assert len(moves) == 1
    assert (moves[0].from_status, moves[0].to_status) == (Status.NEW, Status.INTERCEDING)
    assert moves[0].author == leader


def test_it_clears_every_stage_when_intercession_resumes(request_in, leader):
    prayer_request = request_in("breakthrough")
    services.move(prayer_request, Status.ANSWERED, actor=leader)
    fresh = PrayerRequest.objects.get(pk=prayer_request.pk)
    assert fresh.breakthrough_at is not None
    assert fresh.answered_at is not None

    services.move(prayer_request, Status.INTERCEDING, actor=leader)

    fresh = PrayerRequest.objects.get(pk=prayer_request.pk)
    assert fresh.status == Status.INTERCEDING
    assert all(getattr(fresh, field) is None for field in STAGE_FIELDS)
    # The story keeps every date the fields forgot.
    assert list(fresh.updates.filter(kind=UpdateKind.MOVE).values_list("from_status", "to_status")) == [
        ("new", "interceding"),
        ("interceding", "breakthrough"),
        ("breakthrough", "answered"),
        ("answered", "interceding"),
    ]


@pytest.mark.parametrize(("from_status", "to_status", "persona"), REFUSED_MOVES)
def test_it_refuses_every_move_the_table_does_not_allow(request, request_in, from_status, to_status, persona):
    prayer_request = request_in(from_status)
    actor = _actor(request, persona, prayer_request)
    before = _state(prayer_request)
    key = (from_status, to_status)
    expected = InvalidTransition if key not in SPEC_MOVES or key in MADE_BY_ASSIGNING else NotAllowed

    with pytest.raises(expected) as refusal:
        services.move(prayer_request, to_status, actor=actor, note="Let it be so.")

    if key in MADE_BY_ASSIGNING:
        assert refusal.value.code == "assign_instead"
    assert _state(prayer_request) == before
    assert prayer_request.status == from_status


@pytest.mark.parametrize("unknown_status", ["prayed", "", "NEW", "Answered", "closed "])
def test_it_refuses_a_status_that_does_not_exist(request_in, leader, unknown_status):
    prayer_request = request_in("interceding")
    before = _state(prayer_request)

    with pytest.raises(InvalidTransition):
        services.move(prayer_request, unknown_status, actor=leader)

    assert _state(prayer_request) == before


def test_it_checks_the_move_against_the_current_status_not_a_stale_copy(request_in, leader, assigned_intercessor):
    # Two people look at the same request; the first one's move wins.
    seen_by_leader = request_in("interceding")
    seen_by_intercessor = PrayerRequest.objects.get(pk=seen_by_leader.pk)
    services.move(seen_by_leader, Status.ANSWERED, actor=leader)
    before = _state(seen_by_leader)

    with pytest.raises(InvalidTransition):
        services.move(seen_by_intercessor, Status.BREAKTHROUGH, actor=assigned_intercessor)

    assert _state(seen_by_leader) == before
