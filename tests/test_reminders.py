"""
`send_reminders`: on a fixture with known dates, exactly the expected gaps,
to exactly the right people, once a (local) day, as each person chose, and
never a word of a request.

The fixture's clock is NOW; every timestamp that matters is set relative to
it. Settings: an intercessor is reminded after 3 days without prayer, a
coverage gap is 5 days (different on purpose), waiting is 24 hours,
awaiting manifestation 30 days.
"""

import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection

from requests_app import roles, services
from requests_app.mail import reminders
from requests_app.models import (
    Assignment,
    Category,
    Delivery,
    HeldNotification,
    IntercessorProfile,
    NotificationPreferences,
    OutboxMessage,
    PrayerRequest,
    Status,
    StatusUpdate,
)
from tests.conftest import make_user

NOW = datetime(2030, 5, 4, 1, 0, tzinfo=UTC)
FOR_WHOM, TITLE, DETAILS, NAME, NOTE = (
    "Whom-Marker-3c1",
    "Title-Marker-8d2",
    "Details-Marker-5e3",
    "Name-Marker-1f4",
    "Note-Marker-7a5",
)
LEADERS = ["lydia@example.org", "priscilla@example.org"]
PRAYER = "[Intercession] Prayer reminder"
SUMMARY = "[Intercession] The team's daily summary"
DIGEST = "[Intercession] Your daily digest"


def ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


@pytest.fixture(autouse=True)
def _thresholds(settings):
    settings.INTERCESSION_REMINDER_PRAYER_GAP_DAYS = 3
    settings.INTERCESSION_COVERAGE_DAYS = 5
    settings.INTERCESSION_REMINDER_WAITING_HOURS = 24
    settings.INTERCESSION_REMINDER_BREAKTHROUGH_DAYS = 30
    settings.INTERCESSION_SITE_URL = "https://pray.example.org"


@pytest.fixture
def people(db, leader):
    leader.email = LEADERS[0]
    leader.save()
    people = {
        "lydia": leader,
        "priscilla": make_user("priscilla", roles.LEADERS, email=LEADERS[1]),
        "anna": make_user("anna", roles.INTERCESSORS, email="anna@example.org"),
        "simeon": make_user("simeon", roles.INTERCESSORS, email="simeon@example.org"),
        "barnabas": make_user("barnabas", roles.INTERCESSORS, email="barnabas@example.org"),
        "tabitha": make_user("tabitha", roles.INTERCESSORS, email="tabitha@example.org"),
        "dorcas": make_user("dorcas", roles.INTERCESSORS, email="dorcas@example.org"),
        "rhoda": make_user("rhoda", roles.INTERCESSORS, email="rhoda@example.org"),
    }
    make_user("nomail", roles.LEADERS)
    make_user("gone", roles.LEADERS, email="gone@example.org", is_active=False)
    make_user("member", email="member@example.org")  # not on the team
    return people


def _request(people, *, status, submitted, intercessors=(), released=(), entered=None, breakthrough=None, prayed=None):
    prayer_request, _token = services.submit_request(
        for_whom=FOR_WHOM,
        title=TITLE,
        category=Category.HEALTH,
        details=DETAILS,
        is_urgent=False,
        is_confidential=True,
        requester_name=NAME,
        requester_email="asker@example.org",
        # The requesters' weekly prayer news: tests/test_requester_prayer_news.py.
        wants_updates=False,
    )
    leader = people["lydia"]
    chosen = [people[name] for name in (*intercessors, *released)]
    if chosen:
        services.assign(prayer_request, chosen, by=leader)
    for name in released:
        services.release(prayer_request.assignments.get(intercessor=people[name], released_at=None), by=leader)
    if prayed is not None:
        services.log_prayer(prayer_request, intercessor=leader, note=NOTE, prayed_at=prayed)
    if status not in (Status.NEW, Status.INTERCEDING):
        services.move(prayer_request, status, actor=leader, note=NOTE)
    PrayerRequest.objects.filter(pk=prayer_request.pk).update(
        created_at=submitted, breakthrough_at=breakthrough if status == Status.BREAKTHROUGH else None
    )
    StatusUpdate.objects.filter(prayer_request=prayer_request).update(created_at=entered or submitted)
    PrayerRequest.objects.filter(pk=prayer_request.pk, entered_intercession_at__isnull=False).update(
        entered_intercession_at=entered or submitted
    )
    return prayer_request


@pytest.fixture
def known_dates(people):
    """The fixture with known answers:

    - waiting for assignment: one for 30 hours (counts), one for 23 (does not);
    - Anna's gaps: prayed 4 days ago; never prayed for, in intercession 6 days;
    - Simeon's gaps: prayed 7 days ago; awaiting manifestation, prayed exactly 3 days ago;
    - no gap: Anna + Simeon + Tabitha + Dorcas, prayed 50 hours ago;
    - a gap of nobody's: Barnabas was released, prayed 10 days ago;
    - awaiting manifestation 40 days (counts; Anna and Tabitha, prayed yesterday);
    - manifested and closed requests nobody prayed for in months: not gaps;
    - Tabitha carries 2 with a capacity of 1; Dorcas carries 1 and is
      unavailable; Rhoda is unavailable and carries nothing.

    So: Anna 2, Simeon 2; coverage gaps (5 days) 3; waiting 1; awaiting
    manifestation 1; stretched intercessors 2.
    """
    r = lambda **kwargs: _request(people, **kwargs)  # noqa: E731
    r(status=Status.NEW, submitted=ago(hours=30))
    r(status=Status.NEW, submitted=ago(hours=23))
    r(status=Status.INTERCEDING, submitted=ago(days=20), intercessors=["anna"], prayed=ago(days=4))
    r(status=Status.INTERCEDING, submitted=ago(days=9), entered=ago(days=6), intercessors=["anna"])
    r(status=Status.INTERCEDING, submitted=ago(days=20), intercessors=["simeon"], prayed=ago(days=7))
    r(
        status=Status.BREAKTHROUGH,
        submitted=ago(days=20),
        intercessors=["simeon"],
        breakthrough=ago(days=10),
        prayed=ago(days=3),
    )
    r(
        status=Status.INTERCEDING,
        submitted=ago(days=20),
        intercessors=["anna", "simeon", "tabitha", "dorcas"],
        prayed=ago(hours=50),
    )
    r(status=Status.INTERCEDING, submitted=ago(days=20), released=["barnabas"], prayed=ago(days=10))
    r(
        status=Status.BREAKTHROUGH,
        submitted=ago(days=60),
        intercessors=["anna", "tabitha"],
        breakthrough=ago(days=40),
        prayed=ago(days=1),
    )
    r(status=Status.ANSWERED, submitted=ago(days=200), intercessors=["simeon"], prayed=ago(days=100))
    r(status=Status.CLOSED, submitted=ago(days=200), intercessors=["anna"], prayed=ago(days=100))
    IntercessorProfile.objects.filter(user=people["tabitha"]).update(max_active_assignments=1)
    IntercessorProfile.objects.filter(user__in=[people["dorcas"], people["rhoda"]]).update(is_available=False)
    OutboxMessage.objects.all().delete()
    return people


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """`run(now)`: the command as cron runs it; returns the sorted
    (recipient, subject) pairs of the e-mails it sent, and its output."""

    def go(now: datetime = NOW) -> tuple[list, str]:
        mail.outbox.clear()
        out = StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("send_reminders", now=now.isoformat(), stdout=out)
        return sorted((message.to[0], message.subject) for message in mail.outbox), out.getvalue()

    return go


def _body(address: str) -> str:
    (message,) = [message for message in mail.outbox if message.to == [address]]
    return message.body


def _prefer(user, **choices) -> None:
    NotificationPreferences.objects.update_or_create(user=user, defaults=choices)


# --- What it finds -----------------------------------------------------------


def test_it_finds_exactly_the_intercessors_gaps(known_dates):
    people = known_dates
    assert reminders.prayer_gaps(NOW) == {people["anna"].pk: 2, people["simeon"].pk: 2}


def test_it_finds_exactly_the_leaders_figures(known_dates):
    assert reminders.leader_summary(NOW) == reminders.LeaderSummary(
        waiting=1, gaps=3, awaiting_manifestation=1, stretched_intercessors=2
    )


def test_the_figures_follow_the_settings(known_dates, settings):
    settings.INTERCESSION_REMINDER_PRAYER_GAP_DAYS = 5
    settings.INTERCESSION_COVERAGE_DAYS = 3
    settings.INTERCESSION_REMINDER_WAITING_HOURS = 12
    settings.INTERCESSION_REMINDER_BREAKTHROUGH_DAYS = 5
    people = known_dates
    # Anna's 4-day and Simeon's 3-day gaps are no longer gaps for the reminder.
    assert reminders.prayer_gaps(NOW) == {people["anna"].pk: 1, people["simeon"].pk: 1}
    assert reminders.leader_summary(NOW) == reminders.LeaderSummary(
        waiting=2, gaps=5, awaiting_manifestation=2, stretched_intercessors=2
    )


# --- Who gets what -------------------------------------------------------------


def test_it_sends_to_exactly_the_right_people(known_dates, run):
    emails, _output = run()

    assert emails == sorted(
        [
            ("anna@example.org", PRAYER),
            ("simeon@example.org", PRAYER),
            *[(address, SUMMARY) for address in LEADERS],
        ]
    )


def test_the_e_mails_give_the_counts_and_links(known_dates, run):
    run()

    anna = _body("anna@example.org")
    assert "2 of your assignments have had no prayer from anyone for 3 days or more." in anna
    assert "https://pray.example.org/mine/" in anna
    leader = _body(LEADERS[0])
    for line in (
        "1 request has waited for assignment for more than 24 hours.\n  https://pray.example.org/triage/",
        "3 active requests have had no prayer for 5 days or more.\n  https://pray.example.org/coverage/",
        "1 request has awaited manifestation for more than 30 days: time to check in with the requester.\n"
        "  https://pray.example.org/requests/?status=breakthrough",
        "2 intercessors carry more than their capacity, or are unavailable with requests still assigned.\n"
        "  https://pray.example.org/team/",
    ):
        assert line in leader
    (message,) = [message for message in mail.outbox if message.to == [LEADERS[0]]]
    assert 'href="https://pray.example.org/coverage/"' in message.alternatives[0][0]


def test_it_prints_what_it_queued(known_dates, run):
    _emails, output = run()

    assert output.strip() == (
        "prayer reminders: 2 queued, 0 held for digests; "
        "leaders' summary: 2 queued, 0 held for digests; prayer news to requesters: 0 queued; digests: 0 queued"
    )


def test_it_sends_the_leaders_nothing_when_all_is_well(people, run):
    emails, _output = run()

    assert emails == []
    assert not OutboxMessage.objects.exists()


def test_a_leader_hears_only_the_summary_even_when_the_team_is_quiet_elsewhere(known_dates, run):
    # No gaps for anyone: nobody is reminded, the leaders still hear of the rest.
    for prayer_request in PrayerRequest.objects.open():
        services.log_prayer(prayer_request, intercessor=known_dates["lydia"], prayed_at=ago(hours=1))

    emails, _output = run()

    assert emails == [(address, SUMMARY) for address in LEADERS]
    assert "/coverage/" not in _body(LEADERS[0])
    assert "/triage/" in _body(LEADERS[0])


# --- Once a day ------------------------------------------------------------------


def test_a_second_run_the_same_day_sends_nothing_new(known_dates, run):
    first, _ = run()
    stored = OutboxMessage.objects.count()

    second, output = run(NOW + timedelta(hours=10))

    assert len(first) == 4
    assert second == []
    assert OutboxMessage.objects.count() == stored
    assert output.startswith("prayer reminders: 0 queued, 0 held for digests; leaders' summary: 0 queued")


def test_a_gap_that_opens_later_the_same_day_reminds_only_those_not_reminded_yet(known_dates, run):
    run()

    # 22 hours on, the same day, the request last prayed for 50 hours before NOW is a gap too.
    emails, _ = run(NOW + timedelta(hours=22))

    assert emails == [("dorcas@example.org", PRAYER), ("tabitha@example.org", PRAYER)]


def test_the_next_day_it_reminds_again(known_dates, run):
    run()

    emails, _ = run(NOW + timedelta(days=1))

    # A day on, the request last prayed for 50 hours before NOW is a gap too.
    reminded = ["anna", "dorcas", "simeon", "tabitha"]
    assert emails == sorted(
        [*[(f"{name}@example.org", PRAYER) for name in reminded], *[(address, SUMMARY) for address in LEADERS]]
    )


def test_the_day_is_the_local_day(known_dates, run, settings):
    settings.TIME_ZONE = "America/New_York"  # UTC-4 in May
    # 19:00 and 22:00 on 3 May in New York: two UTC days, one local day.
    first, _ = run(datetime(2030, 5, 3, 23, 0, tzinfo=UTC))
    same_day, _ = run(datetime(2030, 5, 4, 2, 0, tzinfo=UTC))
    # 01:00 on 4 May in New York: the same UTC day as the run before.
    next_day, _ = run(datetime(2030, 5, 4, 5, 0, tzinfo=UTC))

    assert len(first) == 4
    assert same_day == []
    assert len(next_day) == 4


def test_two_runs_racing_write_each_reminder_once(known_dates, run, monkeypatch):
    """The check before writing can pass in two runs at once: the unique key decides."""
    _prefer(known_dates["anna"], delivery=Delivery.DAILY)
    monkeypatch.setattr("requests_app.mail.digest.already_sent", lambda key: False)
    run()
    held = list(HeldNotification.objects.values_list("pk", flat=True))

    emails, _ = run()

    assert emails == []
    assert OutboxMessage.objects.filter(kind="prayer_reminder").count() == 1
    assert OutboxMessage.objects.filter(kind="leaders_reminder").count() == 2
    assert OutboxMessage.objects.filter(kind="digest").count() == 1
    assert list(HeldNotification.objects.values_list("pk", flat=True)) == held


# --- As each person chose ---------------------------------------------------------


def test_it_respects_the_switches(known_dates, run):
    _prefer(known_dates["anna"], prayer_reminders=False)
    _prefer(known_dates["lydia"], leader_summary=False)
    # Switches for other e-mails change nothing here.
    _prefer(known_dates["simeon"], my_assignments=False)
    _prefer(known_dates["priscilla"], new_requests=False, requester_updates=False, releases=False)

    emails, _ = run()

    assert emails == [("priscilla@example.org", SUMMARY), ("simeon@example.org", PRAYER)]


def test_it_folds_the_reminders_of_daily_users_into_their_digest(known_dates, run):
    _prefer(known_dates["anna"], delivery=Delivery.DAILY)
    _prefer(known_dates["priscilla"], delivery=Delivery.DAILY)

    emails, output = run()

    assert emails == sorted(
        [
            ("anna@example.org", DIGEST),
            ("lydia@example.org", SUMMARY),
            ("priscilla@example.org", DIGEST),
            ("simeon@example.org", PRAYER),
        ]
    )
    assert "2 of your assignments have had no prayer" in _body("anna@example.org")
    assert "3 active requests have had no prayer for 5 days or more." in _body("priscilla@example.org")
    assert output.strip() == (
        "prayer reminders: 1 queued, 1 held for digests; "
        "leaders' summary: 1 queued, 1 held for digests; prayer news to requesters: 0 queued; digests: 2 queued"
    )
    assert not HeldNotification.objects.filter(folded_at__isnull=True).exists()

    assert run(NOW + timedelta(hours=1))[0] == []


def test_switching_to_daily_the_same_day_does_not_send_the_reminder_again(known_dates, run):
    run()
    _prefer(known_dates["anna"], delivery=Delivery.DAILY)

    emails, _ = run(NOW + timedelta(hours=1))

    assert emails == []
    assert not HeldNotification.objects.exists()


def test_inactive_and_address_less_people_get_nothing(known_dates, run):
    known_dates["anna"].email = ""
    known_dates["anna"].save()
    known_dates["simeon"].is_active = False
    known_dates["simeon"].save()

    emails, _ = run()

    assert emails == [(address, SUMMARY) for address in LEADERS]


def test_a_released_assignment_is_not_reminded(known_dates):
    anna = known_dates["anna"]
    for assignment in Assignment.objects.active().filter(intercessor=anna):
        services.release(assignment, by=known_dates["lydia"])

    assert anna.pk not in reminders.prayer_gaps(NOW)


# --- Never a word of a request -----------------------------------------------------


def test_no_reminder_or_digest_says_anything_about_a_request(known_dates, run):
    _prefer(known_dates["priscilla"], delivery=Delivery.DAILY)
    run()

    assert len(mail.outbox) == 4
    for message in mail.outbox:
        (html, mimetype) = message.alternatives[0]
        assert mimetype == "text/html"
        for part in (message.subject, message.body, html):
            for marker in (FOR_WHOM, TITLE, DETAILS, NAME, NOTE, "Health", "asker@example.org"):
                assert marker not in part
        assert "Intercession" in message.body
        assert "https://pray.example.org/settings/" in message.body


# --- The command -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["yesterday", "2030-13-45T07:00"])
def test_it_refuses_a_bad_now(db, value):
    with pytest.raises(CommandError, match="--now"):
        call_command("send_reminders", now=value, stdout=StringIO())


def test_it_runs_without_now(known_dates, django_capture_on_commit_callbacks):
    # The real clock, as cron runs it.
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_reminders", stdout=out)
    assert out.getvalue().startswith("prayer reminders: ")


def test_two_runs_at_once_write_each_e_mail_once(on_postgres, known_dates):
    """Real concurrency on PostgreSQL: two cron runs started together."""
    _prefer(known_dates["anna"], delivery=Delivery.DAILY)
    _prefer(known_dates["priscilla"], delivery=Delivery.DAILY)
    barrier, errors = threading.Barrier(2, timeout=10), []

    def run_once():
        try:
            barrier.wait()
            reminders.send(NOW)
        except Exception as exc:  # reported below, with the thread's error
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    kinds = sorted(OutboxMessage.objects.values_list("to", "kind"))
    assert kinds == [
        ("anna@example.org", "digest"),
        ("lydia@example.org", "leaders_reminder"),
        ("priscilla@example.org", "digest"),
        ("simeon@example.org", "prayer_reminder"),
    ]
    assert HeldNotification.objects.filter(user=known_dates["anna"]).count() == 1
    assert not HeldNotification.objects.filter(folded_at__isnull=True).exists()
