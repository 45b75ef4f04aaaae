"""
The requester sees the prayer (issue 14): how often the team prayed for
their request and when last, on the follow-up page; and, for a requester
who asked for updates, at most one e-mail a week with the week's count,
written by `send_reminders`, which they stop and start again from the
follow-up page. Never who prayed, for how long, fasting or a note; never
the request's words or the link in the e-mail.
"""

import re
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from conftest import make_user, submit
from django.contrib.messages import get_messages
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from test_leaks import mail_leaks, marker
from test_views_public import FOLLOWUP_QUERIES

from requests_app import roles, services
from requests_app.exceptions import NotAllowed
from requests_app.mail import reminders
from requests_app.models import OutboxMessage, PrayerLog, PrayerRequest, Status, Visibility
from requests_app.rules import Requester

S = Status
NOW = datetime(2030, 5, 4, 7, 0, tzinfo=UTC)
ADDRESS = "martha@example.org"  # conftest.submit's requester
SUBJECT = "[Intercession] This week's prayer for your request"
# An intercessor nobody but the team may know of.
FIRST, LAST, USERNAME = "Quillonet", "Marrowfax", "zebulon-k7q"
NOTE = "Prayer-note-Tq4Wz"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.INTERCESSION_SITE_URL = "https://pray.example.org"


@pytest.fixture
def hidden_intercessor(db):
    return make_user(USERNAME, roles.INTERCESSORS, first_name=FIRST, last_name=LAST, email="zq@example.org")


@pytest.fixture
def praying(db, leader, hidden_intercessor):
    """`praying(status=…)`: a request (conftest.submit: updates asked for,
    with an address) in that status, `hidden_intercessor` assigned, and its
    follow-up token."""

    def make(status: str = S.INTERCEDING) -> tuple[PrayerRequest, str]:
        prayer_request = submit()
        services.assign(prayer_request, [hidden_intercessor], by=leader)
        if status != S.INTERCEDING:
            services.move(prayer_request, status, actor=leader)
        token = prayer_request.issue_followup_token()
        prayer_request.save(update_fields=["followup_token_hash"])
        prayer_request.refresh_from_db()
        OutboxMessage.objects.all().delete()
        return prayer_request, token

    return make


def pray(prayer_request: PrayerRequest, intercessor, when: datetime, times: int = 1) -> None:
    for _ in range(times):
        services.log_prayer(
            prayer_request, intercessor=intercessor, prayed_at=when, minutes=47, fasted=True, note=NOTE
        )


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """`run(now)`: `send_reminders` as cron runs it; the prayer news it sent."""

    def go(now: datetime = NOW) -> list:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("send_reminders", now=now.isoformat(), stdout=StringIO())
        return [message for message in mail.outbox if message.subject == SUBJECT]

    return go


# --- The follow-up page ----------------------------------------------------------


def test_it_shows_how_often_and_when_last_the_team_prayed(client, praying, hidden_intercessor):
    prayer_request, token = praying()
    last = timezone.now() - timedelta(days=2, hours=3, microseconds=123456)
    pray(prayer_request, hidden_intercessor, last - timedelta(days=1), times=11)
    pray(prayer_request, hidden_intercessor, last)

    content = client.get(reverse("followup", args=[token])).content.decode()

    iso = timezone.localtime(last).replace(microsecond=0).isoformat()
    # In words, as Django's timesince puts them (a no-break space in "2 days").
    assert (
        f'The team has prayed for your request 12 times, most recently <time datetime="{iso}">2\xa0days ago</time>.'
        in content
    )
    assert "123456" not in content


def test_it_says_so_when_nobody_has_prayed_yet(client, praying):
    _prayer_request, token = praying()

    content = client.get(reverse("followup", args=[token])).content.decode()

    assert "The team has not logged a prayer for your request yet." in content


def test_one_prayer_a_moment_ago_is_one_time_just_now(client, praying, hidden_intercessor):
    prayer_request, token = praying()
    pray(prayer_request, hidden_intercessor, timezone.now())

    content = client.get(reverse("followup", args=[token])).content.decode()

    assert re.search(
        r"prayed for your request 1 time, most recently <time datetime=\"[^\"]+\">just now</time>", content
    )


def test_it_never_tells_who_prayed_how_long_or_with_what(client, praying, hidden_intercessor):
    prayer_request, token = praying()
    pray(prayer_request, hidden_intercessor, timezone.now() - timedelta(hours=5), times=3)

    content = client.get(reverse("followup", args=[token])).content.decode()

    assert "3 times, most recently" in content
    for hidden in (FIRST, LAST, USERNAME, NOTE, "47 min", "fast"):
        assert hidden.lower() not in content.lower(), hidden


def test_no_page_or_e_mail_tells_who_of_the_team_prayed(client, praying, hidden_intercessor, run):
    """Several people pray (the assigned intercessor, another from the team
    board, a leader, through the request page and a prayer session): the
    follow-up page, its answer to "stop the weekly e-mails" and the weekly
    e-mail give the count, never a name, username or address of one of them."""
    prayer_request, token = praying()
    # Not confidential, so that it is on the team board (assigning shared it).
    PrayerRequest.objects.filter(pk=prayer_request.pk).update(is_confidential=False)
    prayer_request.refresh_from_db()
    assert prayer_request.is_on_board
    board_reader = make_user(
        "hezekiah-w3x", roles.INTERCESSORS, first_name="Thaddeon", last_name="Brixworth", email="tb@example.org"
    )
    # A leader who prays too (the fixture's "Leader" is a word of every page).
    praying_leader = make_user(
        "gideon-p9v", roles.LEADERS, first_name="Ozriel", last_name="Vantrobe", email="ov@example.org"
    )
    team = [hidden_intercessor, board_reader, praying_leader]
    client.force_login(hidden_intercessor)
    data = {"submission_key": "k-1", "next": reverse("request_detail", args=[prayer_request.pk])}
    assert client.post(reverse("request_pray", args=[prayer_request.pk]), data).status_code == 302
    client.force_login(board_reader)
    assert client.post(reverse("prayer_start"), {"include_board": "on", "action": "start"}).status_code == 302
    prayed = client.post(reverse("prayer_session_prayed"), {"request": prayer_request.pk, "submission_key": "k-2"})
    assert prayed.status_code == 302
    services.log_prayer(prayer_request, intercessor=praying_leader)
    assert PrayerLog.objects.filter(prayer_request=prayer_request).count() == 3
    client.logout()

    page = client.get(reverse("followup", args=[token])).content.decode()
    stopped = client.post(reverse("followup_prayer_news", args=[token]), {"send": "0"}, follow=True)
    started = client.post(reverse("followup_prayer_news", args=[token]), {"send": "1"}, follow=True)
    (message,) = run(timezone.now() + timedelta(hours=1))

    assert "3 times" in page
    assert "prayed for your request 3 times." in message.body
    texts = {
        "follow-up page": page,
        "after stopping": stopped.content.decode(),
        "after starting": started.content.decode(),
        "subject": message.subject,
        "body": message.body,
        "html": message.alternatives[0][0],
    }
    for where, text in texts.items():
        for person in team:
            for hidden in (person.first_name, person.last_name, person.username, person.email):
                assert hidden.lower() not in text.lower(), (where, hidden)


@pytest.mark.parametrize("prayers", [1, 20])
def test_the_count_costs_no_query_of_its_own(client, praying, hidden_intercessor, django_assert_num_queries, prayers):
    prayer_request, token = praying()
    pray(prayer_request, hidden_intercessor, timezone.now() - timedelta(hours=1), times=prayers)
    path = reverse("followup", args=[token])

    with django_assert_num_queries(FOLLOWUP_QUERIES):
        response = client.get(path)

    assert f"{prayers} time" in response.content.decode()


# --- Stopping and starting the weekly e-mail ---------------------------------------


def _post(client, token: str, send: str):
    return client.post(reverse("followup_prayer_news", args=[token]), {"send": send})


def test_the_page_offers_to_stop_them_and_says_the_other_news_goes_on(client, praying):
    _prayer_request, token = praying()

    content = client.get(reverse("followup", args=[token])).content.decode()

    assert reverse("followup_prayer_news", args=[token]) in content
    assert 'name="send" value="0"' in content
    assert "Stop the weekly e-mails" in content
    assert "does not stop the other news of your request" in content


def test_the_requester_stops_them_and_starts_them_again(client, praying):
    prayer_request, token = praying()

    response = _post(client, token, "0")

    assert response.status_code == 302
    assert response["Location"] == reverse("followup", args=[token])
    prayer_request.refresh_from_db()
    assert prayer_request.wants_prayer_news is False
    assert prayer_request.wants_updates is True
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "We will no longer write to you each week. You will still hear when there is news of your request."
    ]
    content = client.get(reverse("followup", args=[token])).content.decode()
    assert "Send me the weekly e-mails again" in content
    assert 'name="send" value="1"' in content

    assert _post(client, token, "1").status_code == 302
    prayer_request.refresh_from_db()
    assert prayer_request.wants_prayer_news is True


def test_stopping_them_leaves_the_other_updates(client, praying, leader, django_capture_on_commit_callbacks):
    prayer_request, token = praying()
    _post(client, token, "0")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(prayer_request, actor=leader, note="For you", visibility=Visibility.REQUESTER)

    assert [message.to for message in mail.outbox] == [[ADDRESS]]


def test_the_same_choice_twice_changes_nothing_and_says_so(client, praying):
    prayer_request, token = praying()
    _post(client, token, "0")
    client.get(reverse("followup", args=[token]))  # where its message is shown

    response = _post(client, token, "0")

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Nothing to change."]
    prayer_request.refresh_from_db()
    assert prayer_request.wants_prayer_news is False


def test_a_wrong_token_is_a_404_and_changes_nothing(client, praying):
    prayer_request, _token = praying()

    response = _post(client, "not-the-right-token-" + "x" * 30, "0")

    assert response.status_code == 404
    prayer_request.refresh_from_db()
    assert prayer_request.wants_prayer_news is True


def test_it_takes_only_post(client, praying):
    _prayer_request, token = praying()

    assert client.get(reverse("followup_prayer_news", args=[token])).status_code == 405


def test_a_bad_choice_is_refused_with_a_message(client, praying):
    prayer_request, token = praying()

    response = _post(client, token, "maybe")

    assert response.status_code == 200
    assert "Choose whether you want the weekly e-mails." in response.content.decode()
    prayer_request.refresh_from_db()
    assert prayer_request.wants_prayer_news is True


def test_only_the_requester_may_choose(praying, leader):
    prayer_request, _token = praying()

    with pytest.raises(NotAllowed):
        services.set_prayer_news(prayer_request, False, actor=leader)
    with pytest.raises(NotAllowed):
        services.set_prayer_news(prayer_request, False, actor=Requester(prayer_request.pk + 1))

    prayer_request.refresh_from_db()
    assert prayer_request.wants_prayer_news is True


def test_an_erased_request_has_nothing_to_stop(client, praying):
    prayer_request, token = praying()
    services.erase_for_requester(prayer_request, requester=Requester(prayer_request.pk))

    assert "followup_prayer_news" not in client.get(reverse("followup", args=[token])).content.decode()
    response = _post(client, token, "0")

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Your request has been erased: we keep no address to write to."
    ]
    prayer_request.refresh_from_db()
    assert prayer_request.wants_prayer_news is True


@pytest.mark.parametrize("without", ["updates", "address", "open"])
def test_the_page_offers_nothing_when_no_weekly_e_mail_would_go(client, praying, without):
    prayer_request, token = praying(S.ANSWERED if without == "open" else S.INTERCEDING)
    if without == "updates":
        PrayerRequest.objects.filter(pk=prayer_request.pk).update(wants_updates=False)
    if without == "address":
        prayer_request.requester_email = ""
        prayer_request.save(update_fields=["requester_email"])

    content = client.get(reverse("followup", args=[token])).content.decode()

    assert reverse("followup_prayer_news", args=[token]) not in content


# --- The weekly e-mail -------------------------------------------------------------


def test_it_writes_the_weeks_count_and_the_help_link(praying, hidden_intercessor, run):
    prayer_request, token = praying()
    pray(prayer_request, hidden_intercessor, NOW - timedelta(days=8), times=4)  # the week before
    pray(prayer_request, hidden_intercessor, NOW - timedelta(days=3), times=5)

    (message,) = run()

    assert message.to == [ADDRESS]
    body = message.body
    assert "In the past week the intercession team prayed for your request 5 times." in body
    assert "https://pray.example.org/followup/\n" in body
    assert "https://pray.example.org/privacy/" in body
    assert "stop these weekly e-mails" in body
    html = message.alternatives[0][0]
    assert 'href="https://pray.example.org/followup/"' in html
    for part in (message.subject, body, html):
        for hidden in (
            token,
            f"/followup/{token}",
            "M. K.",
            "Healing after surgery",
            "Recovering slowly",
            "Martha",
            ADDRESS,
            FIRST,
            LAST,
            USERNAME,
            NOTE,
            "47",
        ):
            assert hidden not in part, hidden
    stored = OutboxMessage.objects.get(kind="prayer_news")
    assert stored.prayer_request_id == prayer_request.pk


def test_one_prayer_is_one_time(praying, hidden_intercessor, run):
    prayer_request, _token = praying()
    pray(prayer_request, hidden_intercessor, NOW - timedelta(hours=2))

    (message,) = run()

    assert "prayed for your request 1 time." in message.body


def test_it_writes_at_most_once_a_week_and_counts_each_prayer_once(praying, hidden_intercessor, run):
    prayer_request, _token = praying()
    pray(prayer_request, hidden_intercessor, NOW - timedelta(days=1), times=2)
    assert len(run()) == 1

    # More prayer during the week: nothing until a week has passed.
    for day in range(1, 7):
        pray(prayer_request, hidden_intercessor, NOW + timedelta(days=day, hours=-1))
        assert run(NOW + timedelta(days=day)) == [], day

    # A week on, a little earlier in the day than last time: the next one,
    # with the six prayers since.
    (message,) = run(NOW + timedelta(days=7, minutes=-5))
    assert "prayed for your request 6 times." in message.body
    prayer_request.refresh_from_db()
    assert prayer_request.prayer_news_sent_at == NOW + timedelta(days=7, minutes=-5)


def test_running_twice_the_same_day_writes_one(praying, hidden_intercessor, run):
    prayer_request, _token = praying()
    pray(prayer_request, hidden_intercessor, NOW - timedelta(days=1))

    first = run()
    second = run(NOW + timedelta(hours=12))

    assert len(first) == 1
    assert second == []
    assert OutboxMessage.objects.filter(kind="prayer_news").count() == 1


def test_two_runs_racing_write_it_once(praying, hidden_intercessor, run):
    """Should the weekly stamp be missed (two runs at once), the day's key decides."""
    prayer_request, _token = praying()
    pray(prayer_request, hidden_intercessor, NOW - timedelta(days=1))
    run()
    PrayerRequest.objects.update(prayer_news_sent_at=None)

    assert run(NOW + timedelta(hours=1)) == []
    assert OutboxMessage.objects.filter(kind="prayer_news").count() == 1


def test_not_in_a_week_without_prayer(praying, hidden_intercessor, run):
    prayer_request, _token = praying()
    pray(prayer_request, hidden_intercessor, NOW - timedelta(days=7, minutes=1))

    assert run() == []
    prayer_request.refresh_from_db()
    assert prayer_request.prayer_news_sent_at is None


@pytest.mark.parametrize("why", ["no updates asked", "no address", "stopped", "erased"])
def test_not_to_whom_it_should_not_go(praying, hidden_intercessor, run, why):
    prayer_request, _token = praying()
    pray(prayer_request, hidden_intercessor, NOW - timedelta(days=1))
    if why == "no updates asked":
        PrayerRequest.objects.filter(pk=prayer_request.pk).update(wants_updates=False)
    elif why == "no address":
        prayer_request.requester_email = ""
        prayer_request.save(update_fields=["requester_email"])
        prayer_request.index_text()
    elif why == "stopped":
        services.set_prayer_news(prayer_request, False, actor=Requester(prayer_request.pk))
    else:
        services.erase_for_requester(prayer_request, requester=Requester(prayer_request.pk))

    assert run() == []
    assert not OutboxMessage.objects.filter(kind="prayer_news").exists()


def test_started_again_it_goes_again(praying, hidden_intercessor, run):
    prayer_request, _token = praying()
    pray(prayer_request, hidden_intercessor, NOW - timedelta(days=1))
    requester = Requester(prayer_request.pk)
    services.set_prayer_news(prayer_request, False, actor=requester)
    assert run() == []

    services.set_prayer_news(prayer_request, True, actor=requester)

    assert len(run(NOW + timedelta(hours=1))) == 1


@pytest.mark.parametrize("status", [S.ANSWERED, S.CLOSED])
def test_not_for_a_request_no_longer_open(praying, hidden_intercessor, leader, run, status):
    prayer_request, _token = praying()
    pray(prayer_request, hidden_intercessor, NOW - timedelta(days=1))
    services.move(prayer_request, status, actor=leader)

    assert run() == []


def test_awaiting_manifestation_it_still_goes(praying, hidden_intercessor, run):
    prayer_request, _token = praying(S.BREAKTHROUGH)
    pray(prayer_request, hidden_intercessor, NOW - timedelta(days=1))

    assert len(run()) == 1


def test_the_command_says_how_many(praying, hidden_intercessor):
    for _ in range(2):
        prayer_request, _token = praying()
        pray(prayer_request, hidden_intercessor, NOW - timedelta(days=1))
    out = StringIO()

    call_command("send_reminders", now=NOW.isoformat(), stdout=out)

    assert "prayer news to requesters: 2 queued" in out.getvalue()


@pytest.mark.parametrize("requests", [1, 6])
def test_it_writes_them_in_the_same_queries_however_many(
    praying, hidden_intercessor, django_assert_num_queries, requests
):
    for _ in range(requests):
        prayer_request, _token = praying()
        pray(prayer_request, hidden_intercessor, NOW - timedelta(days=1), times=2)
    reminders.send_prayer_news(NOW - timedelta(days=30))  # warms the church's settings; nothing due then

    # The savepoint, the due requests (locked), the e-mails, their ids, the
    # stamp, the savepoint's release.
    with django_assert_num_queries(6):
        written = reminders.send_prayer_news(NOW)

    assert written == requests
    assert OutboxMessage.objects.filter(kind="prayer_news").count() == requests


def test_the_e_mail_holds_no_marker(db, leader, hidden_intercessor, run):
    m = {name: marker("NEWS", name) for name in ["WHOM", "TITL", "DETL", "NAME", "MAIL", "PRAY", "NOWN"]}
    prayer_request, _token = services.submit_request(
        for_whom=m["WHOM"],
        title=m["TITL"],
        category="health",
        details=m["DETL"],
        requester_name=m["NAME"],
        requester_email=m["MAIL"],
        wants_updates=True,
    )
    services.assign(prayer_request, [hidden_intercessor], by=leader)
    services.post_update(prayer_request, actor=Requester(prayer_request.pk), note=m["NOWN"], visibility="requester")
    services.log_prayer(prayer_request, intercessor=hidden_intercessor, note=m["PRAY"], prayed_at=NOW - timedelta(1))

    sent = run()

    assert [message.to for message in sent] == [[m["MAIL"]]]
    assert not mail_leaks()


def test_two_runs_at_once_write_it_once(on_postgres, leader, hidden_intercessor):
    """Real concurrency on PostgreSQL: two cron runs started together."""
    for _ in range(3):
        prayer_request = submit()
        services.assign(prayer_request, [hidden_intercessor], by=leader)
        pray(prayer_request, hidden_intercessor, NOW - timedelta(days=1))
    barrier, errors, written = threading.Barrier(2, timeout=10), [], []

    def run_once():
        try:
            barrier.wait()
            written.append(reminders.send_prayer_news(NOW))
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
    assert sorted(written) == [0, 3]
    assert OutboxMessage.objects.filter(kind="prayer_news").count() == 3
