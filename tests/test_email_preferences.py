"""
Each team member chooses which e-mails they receive and when
(`NotificationPreferences`): every switch removes exactly its own e-mails;
"once a day" holds them for one digest, folded by `send_reminders`, once a
day, without losing a line if it stops half-way; and the settings page where
leaders and intercessors make those choices.
"""

import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from requests_app import church, roles, services
from requests_app.mail import compose, digest
from requests_app.models import (
    Category,
    Delivery,
    HeldNotification,
    IntercessorProfile,
    NotificationPreferences,
    OutboxMessage,
    Visibility,
)
from requests_app.rules import Requester
from tests.conftest import make_user

FOR_WHOM, TITLE, DETAILS, NAME, NOTE = (
    "Whom-Marker-41a",
    "Title-Marker-42b",
    "Details-Marker-43c",
    "Name-Marker-44d",
    "Note-Marker-45e",
)
REQUESTER = "asker@example.org"
NEW = "[Intercession] A new prayer request is waiting"
ASSIGNED = "[Intercession] A prayer request has been assigned to you"
RELEASED = "[Intercession] You have been released from a prayer request"
LEADER_RELEASE = "[Intercession] An intercessor released an assignment"
REQUESTER_UPDATE = "[Intercession] A requester has posted an update"
NEWS = "[Intercession] News of your prayer request"
DIGEST = "[Intercession] Your daily digest"
SETTINGS_URL = reverse("my_settings")


@pytest.fixture
def team(db, leader, assigned_intercessor, other_intercessor, settings):
    settings.INTERCESSION_SITE_URL = "https://pray.example.org"
    leader.email = "lydia@example.org"
    leader.save()
    assigned_intercessor.email = "anna@example.org"
    assigned_intercessor.save()
    other_intercessor.email = "simeon@example.org"
    other_intercessor.save()
    return {
        "lydia": leader,
        "priscilla": make_user("priscilla", roles.LEADERS, email="priscilla@example.org"),
        "anna": assigned_intercessor,
        "simeon": other_intercessor,
    }


def _submit():
    return services.submit_request(
        for_whom=FOR_WHOM,
        title=TITLE,
        category=Category.HEALTH,
        details=DETAILS,
        is_urgent=False,
        is_confidential=True,
        requester_name=NAME,
        requester_email=REQUESTER,
        wants_updates=True,
    )[0]


def _every_event(team) -> None:
    """One of each team e-mail, and one to the requester."""
    prayer_request = _submit()
    services.assign(prayer_request, [team["anna"], team["simeon"]], by=team["lydia"])
    services.post_update(prayer_request, actor=Requester(prayer_request.pk), note=NOTE, visibility=Visibility.TEAM)
    services.release(prayer_request.assignments.get(intercessor=team["simeon"]), by=team["simeon"], note=NOTE)
    services.release(prayer_request.assignments.get(intercessor=team["anna"], released_at=None), by=team["lydia"])
    services.assign(prayer_request, [team["anna"]], by=team["lydia"])
    services.move(prayer_request, "breakthrough", actor=team["anna"], note=NOTE)


@pytest.fixture
def events(django_capture_on_commit_callbacks):
    """`events(team)`: every event; the (recipient, subject) of the e-mails sent."""

    def run(team):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            _every_event(team)
        return sorted((message.to[0], message.subject) for message in mail.outbox)

    return run


def _prefer(user, **choices) -> None:
    NotificationPreferences.objects.update_or_create(user=user, defaults=choices)


EVERYTHING = sorted(
    [
        ("lydia@example.org", NEW),
        ("priscilla@example.org", NEW),
        ("anna@example.org", ASSIGNED),
        ("simeon@example.org", ASSIGNED),
        ("lydia@example.org", REQUESTER_UPDATE),
        ("priscilla@example.org", REQUESTER_UPDATE),
        ("simeon@example.org", RELEASED),
        ("lydia@example.org", LEADER_RELEASE),
        ("priscilla@example.org", LEADER_RELEASE),
        ("anna@example.org", RELEASED),
        ("anna@example.org", ASSIGNED),
        (REQUESTER, NEWS),
    ]
)


def test_by_default_everyone_gets_every_e_mail_at_once(team, events):
    assert events(team) == EVERYTHING
    assert not NotificationPreferences.objects.exists()


@pytest.mark.parametrize(
    ("who", "switch", "removed"),
    [
        ("lydia", "new_requests", [("lydia@example.org", NEW)]),
        ("lydia", "requester_updates", [("lydia@example.org", REQUESTER_UPDATE)]),
        ("priscilla", "releases", [("priscilla@example.org", LEADER_RELEASE)]),
        (
            "anna",
            "my_assignments",
            [("anna@example.org", ASSIGNED), ("anna@example.org", RELEASED), ("anna@example.org", ASSIGNED)],
        ),
        ("simeon", "my_assignments", [("simeon@example.org", ASSIGNED), ("simeon@example.org", RELEASED)]),
        # The reminders' switches leave these e-mails alone (tests/test_reminders.py).
        ("lydia", "leader_summary", []),
        ("anna", "prayer_reminders", []),
    ],
)
def test_each_switch_removes_exactly_its_own_e_mails(team, events, who, switch, removed):
    _prefer(team[who], **{switch: False})

    expected = list(EVERYTHING)
    for email in removed:
        expected.remove(email)
    assert events(team) == expected


def test_a_leader_who_intercedes_has_both_sets_of_switches(team, events):
    lydia = team["lydia"]
    lydia.groups.add(Group.objects.get(name=roles.INTERCESSORS))
    IntercessorProfile.objects.create(user=lydia, max_active_assignments=5)
    _prefer(lydia, my_assignments=False)
    mail.outbox.clear()

    prayer_request = _submit()
    services.assign(prayer_request, [lydia], by=team["priscilla"])

    assert [message.to[0] for message in mail.outbox] == []
    assert [m.to for m in OutboxMessage.objects.filter(kind="assigned")].count("lydia@example.org") == 0
    assert [m.to for m in OutboxMessage.objects.filter(kind="new_request")].count("lydia@example.org") == 1


def test_the_requester_and_the_follow_up_link_are_not_affected(team, client, django_capture_on_commit_callbacks):
    for user in team.values():
        _prefer(user, new_requests=False, requester_updates=False, releases=False, my_assignments=False)
    data = {
        "consent": "knows",
        "for_whom": "J.",
        "title": "T",
        "category": "health",
        "requester_email": REQUESTER,
        "wants_updates": "on",
    }
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("ask"), data)
    assert [(message.to[0], message.subject) for message in mail.outbox] == [(REQUESTER, "Your prayer request")]


def test_a_password_reset_is_sent_whatever_the_choices(team, client, django_capture_on_commit_callbacks):
    _prefer(team["lydia"], new_requests=False, requester_updates=False, releases=False, leader_summary=False)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": "lydia@example.org"})
    assert [message.to for message in mail.outbox] == [["lydia@example.org"]]


def test_the_choices_are_read_in_one_query(team, django_assert_num_queries):
    users = list(team.values())
    _prefer(team["anna"], delivery=Delivery.DAILY)
    church.current()  # the church's default language: cached, like every page's settings
    with django_assert_num_queries(1):
        chosen = compose.choose(users, "my_assignments")
    assert [recipient.user.username for recipient in chosen if recipient.daily] == ["anna"]
    assert sorted(recipient.user.username for recipient in chosen if not recipient.daily) == [
        "lydia",
        "priscilla",
        "simeon",
    ]


# --- The daily digest -----------------------------------------------------------

NOW = datetime(2030, 5, 4, 6, 0, tzinfo=UTC)


@pytest.fixture
def fold(django_capture_on_commit_callbacks):
    """`fold(now)`: send_reminders' digest step; the digests it sent."""

    def run(now=NOW):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            digest.fold(now)
        return sorted((message.to[0], message.subject) for message in mail.outbox)

    return run


def test_daily_users_get_nothing_at_once_and_everything_in_one_digest(team, events, fold):
    _prefer(team["lydia"], delivery=Delivery.DAILY)
    _prefer(team["anna"], delivery=Delivery.DAILY)

    sent_now = events(team)

    assert sent_now == [email for email in EVERYTHING if email[0] not in ("lydia@example.org", "anna@example.org")]
    assert HeldNotification.objects.filter(user=team["lydia"]).count() == 3
    assert HeldNotification.objects.filter(user=team["anna"]).count() == 3

    assert fold() == [("anna@example.org", DIGEST), ("lydia@example.org", DIGEST)]
    lydia = next(message for message in mail.outbox if message.to == ["lydia@example.org"])
    assert "Since your last digest, here is what you asked to hear about once a day:" in lydia.body
    assert "A new prayer request is waiting for intercessors." in lydia.body
    assert "The person who asked for prayer has written an update." in lydia.body
    assert "An intercessor can no longer carry one of their assignments" in lydia.body
    assert "https://pray.example.org/triage/" in lydia.body
    anna = next(message for message in mail.outbox if message.to == ["anna@example.org"])
    # Assigned twice to the same request: one line, counted.
    assert "A prayer request has been assigned to you. (2 times)" in anna.body
    assert "You are no longer assigned to a prayer request." in anna.body
    assert not HeldNotification.objects.filter(folded_at__isnull=True).exists()


def test_the_digest_is_sent_once_a_day_and_later_lines_wait_for_the_next(team, fold):
    _prefer(team["lydia"], delivery=Delivery.DAILY)
    _submit()
    assert fold() == [("lydia@example.org", DIGEST)]
    assert fold(NOW + timedelta(hours=1)) == []

    _submit()
    assert fold(NOW + timedelta(hours=2)) == []
    assert HeldNotification.objects.filter(folded_at__isnull=True).count() == 1

    assert fold(NOW + timedelta(days=1)) == [("lydia@example.org", DIGEST)]
    assert mail.outbox[0].body.count("A new prayer request is waiting for intercessors.") == 1
    assert OutboxMessage.objects.filter(kind="digest").count() == 2


def test_switching_back_to_immediately_still_delivers_what_was_held(team, fold):
    _prefer(team["lydia"], delivery=Delivery.DAILY)
    _submit()
    _prefer(team["lydia"], delivery=Delivery.IMMEDIATELY)

    assert fold() == [("lydia@example.org", DIGEST)]


def test_nothing_is_lost_when_folding_stops_half_way(team, fold, monkeypatch):
    _prefer(team["lydia"], delivery=Delivery.DAILY)
    _prefer(team["priscilla"], delivery=Delivery.DAILY)
    _submit()
    real = compose.queue_summary

    def crash_on_priscilla(kind, user, *args):
        if user.username == "priscilla":
            raise ConnectionError("the process died")
        return real(kind, user, *args)

    monkeypatch.setattr(compose, "queue_summary", crash_on_priscilla)
    with pytest.raises(ConnectionError):
        fold()
    assert OutboxMessage.objects.filter(kind="digest").values_list("to", flat=True).get() == "lydia@example.org"
    assert HeldNotification.objects.get(user=team["priscilla"]).folded_at is None
    assert HeldNotification.objects.get(user=team["lydia"]).folded_at is not None

    monkeypatch.setattr(compose, "queue_summary", real)
    assert fold() == [("priscilla@example.org", DIGEST)]
    assert OutboxMessage.objects.filter(kind="digest").count() == 2


def test_held_lines_of_people_who_left_are_dropped_unsent(team, fold):
    _prefer(team["lydia"], delivery=Delivery.DAILY)
    _submit()
    team["lydia"].is_active = False
    team["lydia"].save()

    assert fold() == []
    assert not HeldNotification.objects.filter(folded_at__isnull=True).exists()


def test_folded_lines_are_pruned_after_a_week(team, fold):
    _prefer(team["lydia"], delivery=Delivery.DAILY)
    _submit()
    fold()
    fold(NOW + timedelta(days=digest.KEEP_FOLDED_DAYS) - timedelta(minutes=1))
    assert HeldNotification.objects.count() == 1
    fold(NOW + timedelta(days=digest.KEEP_FOLDED_DAYS, minutes=1))
    assert not HeldNotification.objects.exists()


def test_the_digest_says_nothing_about_a_request(team, events, fold):
    for user in team.values():
        _prefer(user, delivery=Delivery.DAILY)
    events(team)
    fold()

    assert len(mail.outbox) == 4
    for message in mail.outbox:
        (html, mimetype) = message.alternatives[0]
        assert mimetype == "text/html"
        for part in (message.subject, message.body, html):
            for marker in (FOR_WHOM, TITLE, DETAILS, NAME, NOTE, "Health", REQUESTER):
                assert marker not in part
        assert "Intercession" in message.body
        assert 'href="https://pray.example.org/' in html
    for line in HeldNotification.objects.all():
        for marker in (FOR_WHOM, TITLE, DETAILS, NAME, NOTE):
            assert marker not in line.sentence + line.link


def test_send_reminders_sends_the_digests(team, django_capture_on_commit_callbacks):
    _prefer(team["anna"], delivery=Delivery.DAILY)
    services.assign(_submit(), [team["anna"]], by=team["lydia"])
    mail.outbox.clear()
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_reminders", stdout=out)
    assert [(message.to[0], message.subject) for message in mail.outbox] == [("anna@example.org", DIGEST)]
    assert out.getvalue().strip().endswith("digests: 1 queued")


# --- The settings page ---------------------------------------------------------------

LEADER_SWITCHES = ["new_requests", "requester_updates", "releases", "leader_summary"]
INTERCESSOR_SWITCHES = ["my_assignments", "prayer_reminders"]
PROFILE = {"is_available": "on", "max_active_assignments": "4", "preferred_categories": ["health"]}


def _choices(user) -> dict:
    return NotificationPreferences.objects.filter(user=user).values(
        *LEADER_SWITCHES, *INTERCESSOR_SWITCHES, "delivery"
    )[0]


def _inputs(content: str) -> set[str]:
    switches = [*LEADER_SWITCHES, *INTERCESSOR_SWITCHES, "delivery", "max_active_assignments"]
    return {name for name in switches if f'name="{name}"' in content}


def test_a_leader_sees_the_leaders_switches_only(client, leader):
    client.force_login(leader)

    response = client.get(SETTINGS_URL)

    assert response.status_code == 200
    content = response.content.decode()
    assert _inputs(content) == {*LEADER_SWITCHES, "delivery"}
    assert "As a leader, e-mail me when:" in content
    assert "As an intercessor" not in content
    assert response.context["form"] is None
    # The defaults, and looking creates nothing.
    assert re.search(r'name="delivery" value="immediately"[^>]*checked', content)
    assert not NotificationPreferences.objects.exists()


def test_an_intercessor_sees_their_switches_and_their_capacity(client, other_intercessor):
    client.force_login(other_intercessor)

    content = client.get(SETTINGS_URL).content.decode()

    assert _inputs(content) == {*INTERCESSOR_SWITCHES, "delivery", "max_active_assignments"}
    assert "As an intercessor, e-mail me when:" in content
    assert "As a leader" not in content


def test_a_leader_who_intercedes_sees_everything(client, leader):
    leader.groups.add(Group.objects.get(name=roles.INTERCESSORS))
    client.force_login(leader)

    content = client.get(SETTINGS_URL).content.decode()

    assert _inputs(content) == {*LEADER_SWITCHES, *INTERCESSOR_SWITCHES, "delivery", "max_active_assignments"}


def test_a_leader_saves_their_choices(client, leader):
    client.force_login(leader)

    response = client.post(SETTINGS_URL, {"new_requests": "on", "releases": "on", "delivery": "daily"})

    assert response.status_code == 302
    assert response.url == SETTINGS_URL
    assert _choices(leader) == {
        "new_requests": True,
        "requester_updates": False,
        "releases": True,
        "leader_summary": False,
        # Not shown to a leader who does not intercede: left at the default.
        "my_assignments": True,
        "prayer_reminders": True,
        "delivery": "daily",
    }
    assert "Your settings are saved." in client.get(SETTINGS_URL).content.decode()
    assert not IntercessorProfile.objects.filter(user=leader).exists()


def test_a_leader_cannot_set_what_is_not_shown_to_them(client, leader):
    client.force_login(leader)

    client.post(SETTINGS_URL, {"delivery": "immediately", "my_assignments": "", "prayer_reminders": ""})

    assert _choices(leader)["my_assignments"] is True
    assert _choices(leader)["prayer_reminders"] is True


def test_an_intercessor_saves_their_choices_with_their_capacity(client, other_intercessor):
    client.force_login(other_intercessor)

    response = client.post(SETTINGS_URL, {**PROFILE, "prayer_reminders": "on", "delivery": "immediately"})

    assert response.status_code == 302
    choices = _choices(other_intercessor)
    assert (choices["my_assignments"], choices["prayer_reminders"], choices["delivery"]) == (
        False,
        True,
        "immediately",
    )
    assert IntercessorProfile.objects.get(user=other_intercessor).max_active_assignments == 4


def test_the_saved_choices_are_shown(client, leader):
    _prefer(leader, new_requests=False, delivery=Delivery.DAILY)
    client.force_login(leader)

    form = client.get(SETTINGS_URL).context["email_form"]

    assert (form["new_requests"].value(), form["releases"].value(), form["delivery"].value()) == (False, True, "daily")


@pytest.mark.parametrize("delivery", ["weekly", "", "<script>"])
@pytest.mark.parametrize("persona", ["leader", "other_intercessor"])
def test_a_bad_delivery_is_refused_and_changes_nothing(request, client, persona, delivery):
    user = request.getfixturevalue(persona)
    _prefer(user, new_requests=False, prayer_reminders=False)
    before = _choices(user)
    profile_before = list(IntercessorProfile.objects.filter(user=user).values())
    client.force_login(user)

    data = {**PROFILE, "max_active_assignments": "9", **dict.fromkeys(LEADER_SWITCHES + INTERCESSOR_SWITCHES, "on")}
    response = client.post(SETTINGS_URL, {**data, "delivery": delivery})

    assert response.status_code == 200
    assert list(response.context["email_form"].errors) == ["delivery"]
    content = response.content.decode()
    assert "Choose when to receive your e-mails." in content or "Choose immediately or once a day." in content
    assert "<script>" not in content
    assert _choices(user) == before
    assert list(IntercessorProfile.objects.filter(user=user).values()) == profile_before


def test_a_bad_capacity_saves_no_choices_either(client, other_intercessor):
    client.force_login(other_intercessor)

    response = client.post(SETTINGS_URL, {**PROFILE, "max_active_assignments": "-1", "delivery": "daily"})

    assert response.status_code == 200
    assert not NotificationPreferences.objects.exists()


@pytest.mark.parametrize("persona", ["superuser"])
def test_someone_off_the_team_has_nothing_to_set(request, client, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(SETTINGS_URL).status_code == 403
    assert client.post(SETTINGS_URL, {"delivery": "daily"}).status_code == 403
    assert not NotificationPreferences.objects.exists()


@pytest.mark.parametrize(("persona", "queries"), [("leader", 3), ("other_intercessor", 4)])
def test_the_page_s_query_count_is_pinned(db, request, client, persona, queries, django_assert_num_queries):
    user = request.getfixturevalue(persona)
    _prefer(user, delivery=Delivery.DAILY)
    client.force_login(user)
    with django_assert_num_queries(queries):
        assert client.get(SETTINGS_URL).status_code == 200
