"""
Two people acting at the same moment, with real threads on PostgreSQL.

SQLite serialises every writer for the whole database, so it cannot show a
race: these tests skip there, visibly (the `on_postgres` fixture). Each thread
has its own connection, waits at a barrier so that the calls really start
together, and closes its connection when it is done. Every wait is bounded, so
a deadlock fails the test instead of hanging the suite.
"""

import threading
import time
from collections.abc import Callable
from functools import partial

import pytest
from conftest import bring_to, make_user, submit
from django.db import DatabaseError, connection

from requests_app import queries, roles, services
from requests_app.exceptions import AssignmentRefused, InvalidTransition, NotAllowed
from requests_app.models import Assignment, AuditLogEntry, PrayerRequest, Status, StatusUpdate, UpdateKind
from requests_app.team import members
from requests_app.team.members import MemberChangeRefused

ROUNDS = 5
BARRIER_SECONDS = 10
LOCK_TIMEOUT = "10s"
JOIN_SECONDS = 30

pytestmark = pytest.mark.usefixtures("on_postgres")


def fresh(instance):
    """A separate copy of a row for one thread: nothing shared between threads
    but the database."""
    return type(instance).objects.get(pk=instance.pk)


def run_at_once(
    calls: list[Callable[[], object]],
    *,
    refusals: tuple[type[Exception], ...] = (InvalidTransition, AssignmentRefused),
) -> list[object]:
    """Run each call in its own thread, all released together by a barrier,
    and return what each one returned or raised, in the order given. Any
    exception but one of `refusals` fails the test."""
    barrier = threading.Barrier(len(calls), timeout=BARRIER_SECONDS)
    outcomes: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            try:
                with connection.cursor() as cursor:
                    # A row lock that is never granted fails the call instead
                    # of keeping the thread (and the test) waiting forever.
                    cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
                barrier.wait()
            except Exception:
                barrier.abort()  # the others do not wait for a thread that will never arrive
                raise
            outcomes[index] = call()
        except Exception as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call), daemon=True) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + JOIN_SECONDS
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "threads still running: a deadlock?"
    unexpected = [
        outcome for outcome in outcomes if isinstance(outcome, Exception) and not isinstance(outcome, refusals)
    ]
    assert not unexpected, unexpected
    return outcomes


def entries_after(prayer_request: PrayerRequest, last_pk: int) -> list[StatusUpdate]:
    return list(StatusUpdate.objects.filter(prayer_request=prayer_request, pk__gt=last_pk).order_by("pk"))


def last_entry_pk(prayer_request: PrayerRequest) -> int:
    return StatusUpdate.objects.filter(prayer_request=prayer_request).latest("pk").pk


@pytest.mark.parametrize(
    ("start", "leader_target", "intercessor_target"),
    [
        pytest.param(Status.INTERCEDING, Status.CLOSED, Status.ANSWERED, id="interceding-closed-vs-answered"),
        pytest.param(Status.INTERCEDING, Status.BREAKTHROUGH, Status.BREAKTHROUGH, id="interceding-both-breakthrough"),
        pytest.param(Status.INTERCEDING, Status.ANSWERED, Status.ANSWERED, id="interceding-both-answered"),
        pytest.param(Status.BREAKTHROUGH, Status.CLOSED, Status.ANSWERED, id="breakthrough-closed-vs-answered"),
        pytest.param(Status.BREAKTHROUGH, Status.INTERCEDING, Status.INTERCEDING, id="breakthrough-both-more-needed"),
    ],
)
def test_it_lets_exactly_one_of_two_simultaneous_moves_through(
    leader, assigned_intercessor, start, leader_target, intercessor_target
):
    # Pairs where either order makes the second move impossible: the one who
    # comes second must be refused, whoever that is.
    for _round in range(ROUNDS):
        prayer_request = bring_to(submit(), start, leader=leader, intercessor=assigned_intercessor)
        last_pk = last_entry_pk(prayer_request)

        outcomes = run_at_once(
            [
                partial(services.move, fresh(prayer_request), leader_target, actor=fresh(leader)),
                partial(services.move, fresh(prayer_request), intercessor_target, actor=fresh(assigned_intercessor)),
            ]
        )

        moved = [outcome for outcome in outcomes if isinstance(outcome, StatusUpdate)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, InvalidTransition)]
        assert len(moved) == 1, outcomes
        assert len(refused) == 1, outcomes
        winner = moved[0]
        winner_author = leader if outcomes[0] is winner else assigned_intercessor
        written = entries_after(prayer_request, last_pk)
        assert [(entry.kind, entry.from_status, entry.to_status) for entry in written] == [
            (UpdateKind.MOVE, start, winner.to_status)
        ]
        assert written[0].author_id == winner_author.pk
        prayer_request.refresh_from_db()
        assert prayer_request.status == winner.to_status
        assert (prayer_request.answered_at is not None) == (winner.to_status == Status.ANSWERED)
        assert (prayer_request.closed_at is not None) == (winner.to_status == Status.CLOSED)


def test_it_chains_two_simultaneous_moves_that_may_follow_each_other(leader, assigned_intercessor):
    # Breakthrough and "manifested" at the same moment: breakthrough then
    # manifested is a valid story, manifested then breakthrough is not. So
    # either both happen in that order, or only "manifested" does; never a
    # story whose moves do not follow from each other.
    for _round in range(ROUNDS):
        prayer_request = bring_to(submit(), Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
        last_pk = last_entry_pk(prayer_request)

        to_breakthrough, to_answered = run_at_once(
            [
                partial(services.move, fresh(prayer_request), Status.BREAKTHROUGH, actor=fresh(leader)),
                partial(services.move, fresh(prayer_request), Status.ANSWERED, actor=fresh(assigned_intercessor)),
            ]
        )

        assert isinstance(to_answered, StatusUpdate), to_answered
        moves = [(entry.from_status, entry.to_status) for entry in entries_after(prayer_request, last_pk)]
        prayer_request.refresh_from_db()
        assert prayer_request.status == Status.ANSWERED
        assert prayer_request.answered_at is not None
        if isinstance(to_breakthrough, StatusUpdate):
            assert moves == [(Status.INTERCEDING, Status.BREAKTHROUGH), (Status.BREAKTHROUGH, Status.ANSWERED)]
            assert prayer_request.breakthrough_at is not None
        else:
            assert isinstance(to_breakthrough, InvalidTransition), to_breakthrough
            assert moves == [(Status.INTERCEDING, Status.ANSWERED)]
            assert prayer_request.breakthrough_at is None


def test_it_never_assigns_beyond_capacity_when_twenty_assignments_race(leader):
    intercessor = make_user("tabitha", roles.INTERCESSORS, capacity=3, first_name="Tabitha")
    prayer_requests = [submit(title=f"Request {number}") for number in range(20)]

    outcomes = run_at_once(
        [
            partial(services.assign, fresh(prayer_request), [fresh(intercessor)], by=fresh(leader))
            for prayer_request in prayer_requests
        ]
    )

    refused = [outcome for outcome in outcomes if isinstance(outcome, AssignmentRefused)]
    assert len([outcome for outcome in outcomes if isinstance(outcome, list)]) == 3, outcomes
    assert len(refused) == 17, outcomes
    assert {refusal.code for refusal in refused} == {"over_capacity"}
    assert Assignment.objects.carrying().filter(intercessor=intercessor).count() == 3
    assert Assignment.objects.count() == 3
    for prayer_request, outcome in zip(prayer_requests, outcomes, strict=True):
        prayer_request.refresh_from_db()
        kinds = list(prayer_request.updates.order_by("pk").values_list("kind", flat=True))
        if isinstance(outcome, AssignmentRefused):
            assert prayer_request.status == Status.NEW
            assert not prayer_request.assignments.exists()
            assert kinds == [UpdateKind.SUBMITTED]
        else:
            assert prayer_request.status == Status.INTERCEDING
            assert kinds == [UpdateKind.SUBMITTED, UpdateKind.ASSIGNED, UpdateKind.MOVE]


@pytest.mark.parametrize("refusal", ["unavailable", "over_capacity"])
def test_it_assigns_nobody_when_one_of_two_intercessors_is_refused(leader, refusal):
    willing = make_user("phoebe", roles.INTERCESSORS, first_name="Phoebe")
    # Created second, so the service (which works in id order) has already
    # written Phoebe's assignment when it refuses Silas.
    refused = make_user(
        "silas", roles.INTERCESSORS, first_name="Silas", available=refusal != "unavailable", capacity=1
    )
    assert willing.pk < refused.pk
    if refusal == "over_capacity":
        services.assign(submit(title="Already carried"), [refused], by=leader)
    prayer_request = submit()

    with pytest.raises(AssignmentRefused) as refused_with:
        services.assign(prayer_request, [willing, refused], by=leader)

    assert refused_with.value.code == refusal
    assert not Assignment.objects.filter(prayer_request=prayer_request).exists()
    assert not Assignment.objects.filter(intercessor=willing).exists()
    prayer_request.refresh_from_db()
    assert prayer_request.status == Status.NEW
    assert list(prayer_request.updates.values_list("kind", flat=True)) == [UpdateKind.SUBMITTED]


def test_it_leaves_the_status_unchanged_when_a_move_fails_half_way(leader, assigned_intercessor, monkeypatch):
    prayer_request = bring_to(submit(), Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
    story_before = list(prayer_request.updates.values_list("pk", flat=True))
    status_when_it_failed = []
    create_entry = StatusUpdate.objects.create

    def write_entry_then_fail(**fields):
        # Fault injection, not a mock: the status is saved and the story entry
        # really written, then the transaction fails before it commits.
        create_entry(**fields)
        status_when_it_failed.append(PrayerRequest.objects.get(pk=prayer_request.pk).status)
        raise DatabaseError("the connection was lost before the commit")

    monkeypatch.setattr(StatusUpdate.objects, "create", write_entry_then_fail)
    with pytest.raises(DatabaseError):
        services.move(prayer_request, Status.BREAKTHROUGH, actor=assigned_intercessor)
    monkeypatch.undo()

    assert status_when_it_failed == [Status.BREAKTHROUGH]
    stored = PrayerRequest.objects.get(pk=prayer_request.pk)
    assert stored.status == Status.INTERCEDING
    assert stored.breakthrough_at is None
    assert list(stored.updates.values_list("pk", flat=True)) == story_before
    assert prayer_request.status == Status.INTERCEDING  # the caller's copy was not told otherwise


# --- never zero leaders (requests_app.team.members) ----------------------------------


@pytest.mark.parametrize(
    ("change", "action"),
    [
        pytest.param(members.remove_leader, "leader_role_removed", id="remove-each-others-leader-role"),
        pytest.param(members.deactivate, "deactivated", id="deactivate-each-other"),
    ],
)
def test_it_keeps_one_leader_when_two_leaders_take_each_other_away_at_once(change, action):
    # Both leaders also intercede, so that removing the leader role leaves
    # each a role. Each round starts from two active leaders: the one the
    # last round left, and a new one.
    survivor = make_user("lead-0", roles.LEADERS, roles.INTERCESSORS)
    for number in range(1, ROUNDS + 1):
        newcomer = make_user(f"lead-{number}", roles.LEADERS, roles.INTERCESSORS)
        assert queries.active_leader_count() == 2
        entries_before = AuditLogEntry.objects.filter(action=action).count()

        outcomes = run_at_once(
            [
                partial(change, fresh(newcomer), by=fresh(survivor)),
                partial(change, fresh(survivor), by=fresh(newcomer)),
            ],
            refusals=(MemberChangeRefused, NotAllowed),
        )

        refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        assert len(refused) == 1, outcomes
        assert queries.active_leader_count() == 1
        assert AuditLogEntry.objects.filter(action=action).count() == entries_before + 1
        survivor = newcomer if outcomes[1] is not refused[0] else survivor
        assert roles.LEADERS in set(fresh(survivor).groups.values_list("name", flat=True))
        assert fresh(survivor).is_active
