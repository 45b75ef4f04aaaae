"""Who gets which e-mail, and that no e-mail says anything about a request.

Every notification is written to the outbox in the transaction of the change
that caused it and delivered after commit; here with Django's locmem backend
(`mail.outbox`)."""

import pytest
from django.core import mail
from django.urls import reverse

from requests_app import roles, services
from requests_app.exceptions import NotAllowed
from requests_app.models import Category, OutboxMessage, PrayerRequest, Status, Visibility
from requests_app.rules import Requester
from tests.conftest import make_user

FOR_WHOM, TITLE, DETAILS, NAME = "Zebulon-Whom-7f3", "Title-Marker-9a1", "Details-Marker-c44", "Name-Marker-e20"
NOTE = "Note-Marker-b55"
REQUESTER = "asker@example.org"
LEADERS = ["lydia@example.org", "priscilla@example.org"]


@pytest.fixture
def team(db, leader, assigned_intercessor, other_intercessor, settings):
    settings.INTERCESSION_SITE_URL = "https://pray.example.org"
    leader.email = LEADERS[0]
    leader.save()
    make_user("priscilla", roles.LEADERS, email=LEADERS[1])
    make_user("nomail", roles.LEADERS)  # a leader without an address
    make_user("gone", roles.LEADERS, email="gone@example.org", is_active=False)
    make_user("member", email="member@example.org")  # not on the team
    assigned_intercessor.email = "anna@example.org"
    assigned_intercessor.save()
    other_intercessor.email = "simeon@example.org"
    other_intercessor.save()
    return {"leader": leader, "anna": assigned_intercessor, "simeon": other_intercessor}


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """`sent(action)`: run it, its commit callbacks too, and return the
    e-mails it sent as sorted (recipient, subject) pairs."""

    def run(action):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            action()
        return sorted((message.to[0], message.subject) for message in mail.outbox)

    return run


def _submit(*, urgent=False, wants_updates=True, email=REQUESTER, confidential=True):
    return services.submit_request(
        for_whom=FOR_WHOM,
        title=TITLE,
        category=Category.HEALTH,
        details=DETAILS,
        is_urgent=urgent,
        is_confidential=confidential,
        requester_name=NAME,
        requester_email=email,
        wants_updates=wants_updates,
    )[0]


def _to(*addresses, subject):
    return sorted((address, subject) for address in addresses)


NEW = "[Intercession] A new prayer request is waiting"
ASSIGNED = "[Intercession] A prayer request has been assigned to you"
RELEASED = "[Intercession] You have been released from a prayer request"
LEADER_RELEASE = "[Intercession] An intercessor released an assignment"
REQUESTER_UPDATE = "[Intercession] A requester has posted an update"
NEWS = "[Intercession] News of your prayer request"
NOTE_FOR_YOU = "[Intercession] The team has written to you"


def test_it_tells_the_active_leaders_with_an_address_of_a_new_request(team, sent):
    assert sent(_submit) == _to(*LEADERS, subject=NEW)


def test_it_marks_an_urgent_request_in_the_subject(team, sent):
    assert sent(lambda: _submit(urgent=True)) == _to(
        *LEADERS, subject="[Intercession] Urgent: a new prayer request is waiting"
    )


def test_it_sends_the_requester_their_link_and_the_leaders_the_news_from_the_form(team, client, sent):
    data = {
        "for_whom": FOR_WHOM,
        "consent": "knows",
        "title": TITLE,
        "category": "health",
        "details": DETAILS,
        "requester_name": NAME,
        "requester_email": REQUESTER,
        "wants_updates": "on",
        "is_confidential": "on",
    }
    emails = sent(lambda: client.post(reverse("ask"), data))
    assert emails == sorted([(REQUESTER, "Your prayer request"), *_to(*LEADERS, subject=NEW)])
    link = client.get(reverse("ask_sent")).context["link"]
    (followup,) = [message for message in mail.outbox if message.to == [REQUESTER]]
    assert link in followup.body
    assert link in followup.alternatives[0][0]


def test_it_tells_only_the_intercessors_who_were_assigned(team, sent):
    prayer_request = _submit()
    assert sent(lambda: services.assign(prayer_request, [team["anna"], team["simeon"]], by=team["leader"])) == _to(
        "anna@example.org", "simeon@example.org", subject=ASSIGNED
    )


def test_it_tells_the_intercessor_released_by_a_leader_and_nobody_else(team, sent):
    prayer_request = _submit()
    (assignment,) = services.assign(prayer_request, [team["anna"]], by=team["leader"])
    assert sent(lambda: services.release(assignment, by=team["leader"])) == _to("anna@example.org", subject=RELEASED)


def test_it_tells_the_leaders_when_an_intercessor_releases_themselves(team, sent):
    prayer_request = _submit()
    (assignment,) = services.assign(prayer_request, [team["anna"]], by=team["leader"])
    emails = sent(lambda: services.release(assignment, by=team["anna"], note=NOTE))
    assert emails == sorted([("anna@example.org", RELEASED), *_to(*LEADERS, subject=LEADER_RELEASE)])


def test_it_tells_both_intercessors_of_a_reassignment(team, sent):
    prayer_request = _submit()
    (assignment,) = services.assign(prayer_request, [team["anna"]], by=team["leader"])
    emails = sent(lambda: services.reassign(assignment, team["simeon"], by=team["leader"]))
    assert emails == sorted([("anna@example.org", RELEASED), ("simeon@example.org", ASSIGNED)])


def test_it_tells_the_leaders_when_the_requester_writes(team, sent):
    prayer_request = _submit()
    requester = Requester(prayer_request.pk)
    assert sent(
        lambda: services.post_update(prayer_request, actor=requester, note=NOTE, visibility=Visibility.REQUESTER)
    ) == _to(*LEADERS, subject=REQUESTER_UPDATE)


@pytest.mark.parametrize("stage", [Status.BREAKTHROUGH, Status.ANSWERED, Status.CLOSED])
def test_it_tells_a_requester_who_asked_for_updates_of_each_stage(team, sent, stage):
    prayer_request = _submit()
    services.assign(prayer_request, [team["anna"]], by=team["leader"])
    assert sent(lambda: services.move(prayer_request, stage, actor=team["leader"], note=NOTE)) == [(REQUESTER, NEWS)]


def test_it_does_not_tell_the_requester_of_going_back_to_intercession(team, sent):
    prayer_request = _submit()
    services.assign(prayer_request, [team["anna"]], by=team["leader"])
    services.move(prayer_request, Status.BREAKTHROUGH, actor=team["anna"])
    assert sent(lambda: services.move(prayer_request, Status.INTERCEDING, actor=team["leader"])) == []


@pytest.mark.parametrize(("wants_updates", "email"), [(False, REQUESTER), (True, "")])
def test_it_writes_nothing_to_a_requester_who_did_not_ask_or_left_no_address(team, sent, wants_updates, email):
    prayer_request = _submit(wants_updates=wants_updates, email=email)
    services.assign(prayer_request, [team["anna"]], by=team["leader"])
    assert sent(lambda: services.move(prayer_request, Status.BREAKTHROUGH, actor=team["leader"])) == []
    note = services.post_update
    assert sent(lambda: note(prayer_request, actor=team["leader"], note=NOTE, visibility=Visibility.REQUESTER)) == []


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [(Visibility.REQUESTER, [(REQUESTER, NOTE_FOR_YOU)]), (Visibility.TEAM, []), (Visibility.PRIVATE, [])],
)
def test_it_tells_the_requester_only_of_notes_meant_for_them(team, sent, visibility, expected):
    prayer_request = _submit()
    services.assign(prayer_request, [team["anna"]], by=team["leader"])
    assert sent(
        lambda: services.post_update(prayer_request, actor=team["anna"], note=NOTE, visibility=visibility)
    ) == (expected)


def test_it_writes_nothing_when_the_change_is_refused(team, sent):
    prayer_request = _submit()
    before = OutboxMessage.objects.count()

    def refused():
        with pytest.raises(NotAllowed):
            services.post_update(prayer_request, actor=team["simeon"], note=NOTE, visibility=Visibility.REQUESTER)

    assert sent(refused) == []
    assert OutboxMessage.objects.count() == before


def test_it_keeps_the_e_mail_in_the_outbox_until_the_change_commits(team, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        prayer_request = _submit()
    assert mail.outbox == []
    assert len(callbacks) == 1
    stored = OutboxMessage.objects.filter(prayer_request=prayer_request)
    assert sorted(stored.values_list("to", flat=True)) == LEADERS
    assert all(message.sent_at is None and message.attempts == 0 for message in stored)
    callbacks[0]()
    assert len(mail.outbox) == 2
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


def _every_event(team, prayer_request):
    requester = Requester(prayer_request.pk)
    return [
        lambda: services.assign(prayer_request, [team["anna"], team["simeon"]], by=team["leader"]),
        lambda: services.post_update(prayer_request, actor=requester, note=NOTE, visibility="requester"),
        lambda: services.post_update(prayer_request, actor=team["anna"], note=NOTE, visibility="requester"),
        lambda: services.release(prayer_request.assignments.get(intercessor=team["simeon"]), by=team["simeon"]),
        lambda: services.move(prayer_request, Status.BREAKTHROUGH, actor=team["anna"], note=NOTE),
        lambda: services.move(prayer_request, Status.ANSWERED, actor=requester, note=NOTE),
    ]


def _assert_clean(message):
    (html, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    for part in (message.subject, message.body, html):
        for marker in (FOR_WHOM, TITLE, DETAILS, NAME, NOTE, "Health"):
            assert marker not in part, (message.subject, marker)
    assert "Intercession" in message.subject
    assert "Intercession" in message.body
    assert "https://pray.example.org/" in message.body
    assert 'href="https://pray.example.org/' in html


@pytest.mark.parametrize("confidential", [True, False])
def test_no_e_mail_says_anything_about_the_request(team, sent, confidential):
    """Every event, for a confidential and a non-confidential request: the
    e-mails carry the app's name, a generic sentence and a link, in text and
    HTML, and none of the request's words."""
    emails = sent(lambda: _submit(confidential=confidential, urgent=True))
    for message in mail.outbox:
        _assert_clean(message)
    prayer_request = PrayerRequest.objects.get()
    for step in _every_event(team, prayer_request):
        emails += sent(step)
        for message in mail.outbox:
            _assert_clean(message)
    kinds = set(OutboxMessage.objects.values_list("kind", flat=True))
    assert kinds == {"new_request", "assigned", "released", "requester_update", "note_for_requester", "stage_changed"}
    assert len(emails) == 2 + 2 + 2 + 1 + (1 + 2) + 1 + 2


def test_the_html_part_is_escaped(team, settings, sent):
    settings.INTERCESSION_SITE_URL = 'https://pray.example.org/"><script>'
    sent(_submit)
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_it_saves_the_e_mails_with_the_request(team, db):
    # A sanity check of the transaction: the request and its e-mails go together.
    _submit()
    assert PrayerRequest.objects.count() == 1
    assert OutboxMessage.objects.filter(prayer_request=PrayerRequest.objects.get()).count() == 2
