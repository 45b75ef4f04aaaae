"""What the writes cost, and the request's last prayer kept with the log.

Every write view's query count is pinned here, with what it depends on
varied where it could grow (the number of leaders told of a new request).
Transaction statements count as queries (SAVEPOINT / RELEASE, as the test's
own transaction turns BEGIN / COMMIT into them)."""

import importlib
import io
import threading
from datetime import timedelta

import pytest
from conftest import make_user, submit
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from requests_app import roles, services
from requests_app.exceptions import InvalidTransition, NotAllowed
from requests_app.models import OutboxMessage, PrayerLog, PrayerRequest, Status, UpdateKind

ASK = {
    "for_whom": "M. K.",
    "consent": "knows",
    "title": "Strength after surgery",
    "category": "health",
    "details": "Recovering slowly.",
    "is_confidential": "on",
    "requester_name": "Martha",
    "requester_email": "martha@example.org",
    "wants_updates": "on",
}


def _leaders(how_many: int) -> None:
    for number in range(how_many):
        make_user(f"leader{number}", roles.LEADERS, email=f"leader{number}@example.org")


def _last_prayer_in_the_log(prayer_request: PrayerRequest):
    return PrayerLog.objects.filter(prayer_request=prayer_request).aggregate(latest=Max("prayed_at"))["latest"]


# --- The request's last prayer ------------------------------------------------------


def test_it_starts_without_a_last_prayer(db):
    assert submit().last_prayed_at is None


def test_it_follows_the_log_forward_and_never_back(request_in, assigned_intercessor, leader):
    prayer_request = request_in(Status.INTERCEDING)
    now = timezone.now()

    services.log_prayer(prayer_request, intercessor=assigned_intercessor, prayed_at=now - timedelta(days=2))
    prayer_request.refresh_from_db()
    assert prayer_request.last_prayed_at == now - timedelta(days=2)

    # Logged late, for an earlier day: the later prayer stays the last one.
    services.log_prayer(prayer_request, intercessor=leader, prayed_at=now - timedelta(days=5))
    prayer_request.refresh_from_db()
    assert prayer_request.last_prayed_at == now - timedelta(days=2)

    logged_now = services.log_prayer(prayer_request, intercessor=leader)
    prayer_request.refresh_from_db()
    assert prayer_request.last_prayed_at == logged_now.prayed_at
    assert prayer_request.last_prayed_at == _last_prayer_in_the_log(prayer_request)


def test_the_caller_s_instance_learns_the_last_prayer(request_in, assigned_intercessor):
    prayer_request = request_in(Status.BREAKTHROUGH)
    entry = services.log_prayer(prayer_request, intercessor=assigned_intercessor)
    assert prayer_request.last_prayed_at == entry.prayed_at


def test_a_resubmitted_form_leaves_the_last_prayer_alone(request_in, assigned_intercessor):
    prayer_request = request_in(Status.INTERCEDING)
    first = services.log_prayer(prayer_request, intercessor=assigned_intercessor, submission_key="k1")
    again = services.log_prayer(
        prayer_request, intercessor=assigned_intercessor, submission_key="k1", prayed_at=timezone.now()
    )
    prayer_request.refresh_from_db()
    assert again.pk == first.pk
    assert prayer_request.last_prayed_at == first.prayed_at


def test_a_refused_prayer_leaves_the_last_prayer_alone(request_in, other_intercessor):
    prayer_request = request_in(Status.INTERCEDING, confidential=True)
    with pytest.raises(NotAllowed):
        services.log_prayer(prayer_request, intercessor=other_intercessor)
    prayer_request.refresh_from_db()
    assert prayer_request.last_prayed_at is None
    assert not PrayerLog.objects.exists()


def test_the_migration_fills_both_from_the_log_and_the_story(request_in, leader):
    """The backfill of migration 0008, run again on rows emptied by hand."""
    backfill = importlib.import_module("requests_app.migrations.0008_last_prayed_at").BACKFILL
    prayed_for = request_in(Status.INTERCEDING)
    never_prayed_for = request_in(Status.BREAKTHROUGH)
    waiting = request_in(Status.NEW)
    now = timezone.now()
    for days in (3, 1, 7):
        services.log_prayer(prayed_for, intercessor=leader, prayed_at=now - timedelta(days=days))
    services.move(prayed_for, Status.BREAKTHROUGH, actor=leader)
    services.move(prayed_for, Status.INTERCEDING, actor=leader)
    kept = {row.pk: (row.last_prayed_at, row.entered_intercession_at) for row in PrayerRequest.objects.all()}
    PrayerRequest.objects.update(last_prayed_at=None, entered_intercession_at=None)

    with connection.cursor() as cursor:
        cursor.execute(backfill)

    def story_entry(prayer_request):
        return prayer_request.updates.filter(kind=UpdateKind.MOVE, to_status=Status.INTERCEDING).latest("created_at")

    filled = {row.pk: (row.last_prayed_at, row.entered_intercession_at) for row in PrayerRequest.objects.all()}
    assert filled[prayed_for.pk] == (now - timedelta(days=1), story_entry(prayed_for).created_at)
    assert filled[never_prayed_for.pk] == (None, story_entry(never_prayed_for).created_at)
    assert filled[waiting.pk] == (None, None)
    # What the services kept, within the instant between the move and its entry.
    for pk, (last_prayed_at, entered) in kept.items():
        assert filled[pk][0] == last_prayed_at
        assert (filled[pk][1] is None) == (entered is None)
        assert entered is None or abs(filled[pk][1] - entered) < timedelta(seconds=1)


# --- Where a coverage gap starts while nobody prays ------------------------------------


def test_entering_intercession_is_kept_through_every_way_in(request_in, leader):
    prayer_request = request_in(Status.NEW)
    assert prayer_request.entered_intercession_at is None

    services.assign(prayer_request, [make_user("ruth", roles.INTERCESSORS)], by=leader)
    first = PrayerRequest.objects.get(pk=prayer_request.pk).entered_intercession_at
    assert first is not None
    assert prayer_request.entered_intercession_at == first

    services.move(prayer_request, Status.BREAKTHROUGH, actor=leader)
    assert PrayerRequest.objects.get(pk=prayer_request.pk).entered_intercession_at == first

    services.move(prayer_request, Status.INTERCEDING, actor=leader)  # more is still needed
    again = PrayerRequest.objects.get(pk=prayer_request.pk).entered_intercession_at
    assert again > first

    services.move(prayer_request, Status.ANSWERED, actor=leader)
    assert PrayerRequest.objects.get(pk=prayer_request.pk).entered_intercession_at == again
    services.move(prayer_request, Status.INTERCEDING, actor=leader)  # reopened
    assert PrayerRequest.objects.get(pk=prayer_request.pk).entered_intercession_at > again


def test_a_refused_move_leaves_it_alone(request_in, leader):
    prayer_request = request_in(Status.INTERCEDING)
    before = prayer_request.entered_intercession_at
    with pytest.raises(InvalidTransition):
        services.move(prayer_request, Status.NEW, actor=leader)
    assert PrayerRequest.objects.get(pk=prayer_request.pk).entered_intercession_at == before


def test_seed_demo_leaves_every_request_with_its_last_prayer_and_entry_into_intercession(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    entered = dict(
        PrayerRequest.objects.filter(updates__kind=UpdateKind.MOVE, updates__to_status=Status.INTERCEDING)
        .annotate(latest=Max("updates__created_at"))
        .values_list("pk", "latest")
    )
    rows = PrayerRequest.objects.annotate(in_the_log=Max("prayer_logs__prayed_at")).values_list(
        "pk", "last_prayed_at", "in_the_log", "entered_intercession_at"
    )
    assert any(in_the_log for _pk, _column, in_the_log, _entered in rows)
    assert entered
    for pk, last_prayed_at, in_the_log, entered_at in rows:
        assert last_prayed_at == in_the_log, pk
        assert entered_at == entered.get(pk), pk


def test_simultaneous_prayers_leave_the_latest(on_postgres):
    """Real row locks: ten intercessors log at once, each a different time,
    the latest not logged first."""
    leader = make_user("lydia", roles.LEADERS)
    people = [make_user(f"i{number}", roles.INTERCESSORS) for number in range(10)]
    prayer_request = submit(confidential=False)
    services.assign(prayer_request, people[:1], by=leader)
    now = timezone.now()
    barrier = threading.Barrier(len(people), timeout=10)
    errors = []

    def pray(person, hours_ago):
        try:
            barrier.wait()
            services.log_prayer(
                PrayerRequest.objects.get(pk=prayer_request.pk),
                intercessor=person,
                prayed_at=now - timedelta(hours=hours_ago),
            )
        except Exception as exc:  # reported below, with the others
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=pray, args=(person, hours_ago))
        for person, hours_ago in zip(people, [5, 0, 9, 2, 7, 1, 8, 3, 6, 4], strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    prayer_request.refresh_from_db()
    assert PrayerLog.objects.filter(prayer_request=prayer_request).count() == 10
    assert prayer_request.last_prayed_at == now


# --- Query counts of the writes -------------------------------------------------------

# The form's category check (in a savepoint, here inside the test's
# transaction); the request, its words in the blind index, its story, the leaders with their e-mail
# choices, the leaders' e-mails and the requester's link in two inserts;
# then one delivery for all the e-mails (lock the batch, mark it sent). No
# session: the link to show once travels in a cookie.
ASK_QUERIES = 15


@pytest.mark.parametrize("leaders", [1, 6])
def test_asking_costs_the_same_however_many_leaders(
    client, db, leaders, django_assert_num_queries, django_capture_on_commit_callbacks
):
    _leaders(leaders)
    with django_assert_num_queries(ASK_QUERIES), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ask"), ASK)
    assert response.status_code == 302
    # Every leader and the requester were written to, and all delivered.
    assert len(mail.outbox) == leaders + 1
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


def test_asking_with_the_mail_server_down_costs_the_same(
    client, db, settings, django_assert_num_queries, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "test_outbox.RefusingBackend"
    _leaders(6)
    with django_assert_num_queries(ASK_QUERIES), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ask"), ASK)
    assert response.status_code == 302
    assert OutboxMessage.objects.filter(sent_at__isnull=True, attempts=1).count() == 7


def test_a_bad_address_gets_a_form_message_not_an_error(client, db):
    response = client.post(reverse("ask"), {**ASK, "requester_email": "not an address"})
    assert response.status_code == 200
    assert response.context["form"].errors["requester_email"]
    assert not PrayerRequest.objects.exists()


def test_a_too_long_title_is_refused_by_the_service_with_a_message(db):
    with pytest.raises(ValidationError) as refused:
        services.submit_request(for_whom="M. K.", title="x" * 151, category="health")
    assert "title" in refused.value.message_dict
    assert not PrayerRequest.objects.exists()


def test_an_unknown_category_is_refused_by_the_service_with_a_message(db):
    with pytest.raises(ValidationError) as refused:
        services.submit_request(for_whom="M. K.", title="t", category="astrology")
    assert "category" in refused.value.message_dict


def test_minutes_out_of_range_are_refused_by_the_service_with_a_message(request_in, assigned_intercessor):
    prayer_request = request_in(Status.INTERCEDING)
    with pytest.raises(ValidationError) as refused:
        services.log_prayer(prayer_request, intercessor=assigned_intercessor, minutes=24 * 60 + 1)
    assert "minutes" in refused.value.message_dict
    prayer_request.refresh_from_db()
    assert prayer_request.last_prayed_at is None


# Session, the user with their roles, the request (fetch and authorize); lock it, look up
# the form's key, insert the entry, move the last prayer forward. A
# confidential request checks the assignment twice more: when fetched, and
# again under the lock (it may have been released in between).
@pytest.mark.parametrize(("confidential", "queries"), [(False, 9), (True, 11)])
def test_logging_a_prayer_costs_a_fixed_number_of_queries(
    client, request_in, assigned_intercessor, confidential, queries, django_assert_num_queries
):
    prayer_request = request_in(Status.INTERCEDING, confidential=confidential)
    client.force_login(assigned_intercessor)
    url = reverse("request_pray", args=[prayer_request.pk])
    client.post(url, {"minutes": "5", "submission_key": "warm"})
    with django_assert_num_queries(queries):
        response = client.post(url, {"minutes": "5", "submission_key": "counted"})
    assert response.status_code == 302
    assert PrayerLog.objects.filter(prayer_request=prayer_request).count() == 2


# Session, the user with their roles, the request; locked: the move, its story entry, the
# requester's e-mail; then its delivery.
def test_moving_costs_a_fixed_number_of_queries(
    client, request_in, leader, django_assert_num_queries, django_capture_on_commit_callbacks
):
    prayer_request = request_in(Status.INTERCEDING)
    client.force_login(leader)
    url = reverse("request_move", args=[prayer_request.pk])
    with django_assert_num_queries(13), django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"to_status": Status.BREAKTHROUGH, "note": "", "visibility": "team"})
    assert response.status_code == 302
    prayer_request.refresh_from_db()
    assert prayer_request.status == Status.BREAKTHROUGH


# Session, the user with their roles, the request; locked: am I assigned?, the note, the
# requester's e-mail; then its delivery.
def test_posting_an_update_costs_a_fixed_number_of_queries(
    client, request_in, assigned_intercessor, django_assert_num_queries, django_capture_on_commit_callbacks
):
    prayer_request = request_in(Status.INTERCEDING)
    client.force_login(assigned_intercessor)
    url = reverse("request_update", args=[prayer_request.pk])
    with django_assert_num_queries(13), django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"note": "Still standing.", "visibility": "requester"})
    assert response.status_code == 302
    assert "Still standing." in prayer_request.updates.values_list("note", flat=True)


# Session, the user with their roles, the request; the page's candidates and current
# intercessors (the form checks the choice against them); then, locked: who
# is on the team, profiles made and locked, already assigned?, loads, the
# assignments, their story entries, the move to intercession, the e-mails;
# then their delivery.
ASSIGN_QUERIES = 23


@pytest.mark.parametrize("how_many", [1, 3])
def test_assigning_costs_the_same_however_many_are_chosen(
    client, db, leader, how_many, django_assert_num_queries, django_capture_on_commit_callbacks
):
    chosen = [
        make_user(f"i{number}", roles.INTERCESSORS, email=f"i{number}@example.org") for number in range(how_many)
    ]
    prayer_request = submit()
    client.force_login(leader)
    url = reverse("request_assign", args=[prayer_request.pk])
    mail.outbox.clear()
    with django_assert_num_queries(ASSIGN_QUERIES), django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"intercessors": [str(user.pk) for user in chosen]})
    assert response.status_code == 302
    prayer_request.refresh_from_db()
    assert prayer_request.status == Status.INTERCEDING
    assert prayer_request.assignments.count() == how_many
    assert len(mail.outbox) == how_many


def test_the_benchmark_data_keeps_both_on_the_request(on_postgres):
    """bench/generate.py writes the two columns as the services would."""
    from bench import generate

    generate.fill(200, out=io.StringIO())
    entered = dict(
        PrayerRequest.objects.filter(updates__kind=UpdateKind.MOVE, updates__to_status=Status.INTERCEDING)
        .annotate(latest=Max("updates__created_at"))
        .values_list("pk", "latest")
    )
    latest_prayer = dict(
        PrayerLog.objects.values("prayer_request_id")
        .annotate(latest=Max("prayed_at"))
        .values_list("prayer_request_id", "latest")
    )
    assert entered
    assert latest_prayer
    for pk, last_prayed_at, entered_at in PrayerRequest.objects.values_list(
        "pk", "last_prayed_at", "entered_intercession_at"
    ):
        assert (last_prayed_at, entered_at) == (latest_prayer.get(pk), entered.get(pk)), pk
