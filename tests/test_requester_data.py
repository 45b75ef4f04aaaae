"""The requester's own data through their follow-up link (issue 13):
download what they can see (a page and a JSON file) and delete it."""

import json

import pytest
from conftest import bring_to
from django.urls import reverse

from requests_app import services
from requests_app.models import (
    Assignment,
    Category,
    HeldNotification,
    NotificationPreferences,
    OutboxMessage,
    PrayerLog,
    PrayerRequest,
    SearchDigest,
    Status,
    StatusUpdate,
    UpdateKind,
    Visibility,
)

WRONG = "not-the-right-token-" + "x" * 30
MARKERS = ["QXwhom", "QXtitle", "QXdetails", "QXname", "qxmail@example.org", "QXteamnote", "QXforyou", "QXjournal"]


@pytest.fixture
def world(db, leader, assigned_intercessor):
    NotificationPreferences.objects.create(user=assigned_intercessor, delivery="daily")
    # With addresses, so the e-mails about the request are written (and held).
    for user, address in ((assigned_intercessor, "anna@example.org"), (leader, "lydia@example.org")):
        user.email = address
        user.save(update_fields=["email"])
    prayer_request, token = services.submit_request(
        for_whom="QXwhom",
        title="QXtitle words",
        category=Category.FAMILY,
        details="QXdetails here",
        requester_name="QXname",
        requester_email="qxmail@example.org",
        wants_updates=True,
    )
    bring_to(prayer_request, Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
    services.post_update(prayer_request, actor=leader, note="QXteamnote", visibility=Visibility.TEAM)
    services.post_update(prayer_request, actor=leader, note="QXforyou", visibility=Visibility.REQUESTER)
    services.post_update(prayer_request, actor=assigned_intercessor, note="QXjournal", visibility=Visibility.PRIVATE)
    services.log_prayer(prayer_request, intercessor=assigned_intercessor, note="QXprayed")
    prayer_request.refresh_from_db()
    return prayer_request, token


def _state():
    return {
        "requests": sorted(PrayerRequest.objects.values_list("pk", "status", "text_erased_at", "updated_at")),
        "updates": sorted((u.pk, u.note) for u in StatusUpdate.objects.all()),
        "assignments": sorted(Assignment.objects.values_list("pk", "released_at")),
        "digests": SearchDigest.objects.count(),
        "outbox": OutboxMessage.objects.count(),
        "held": HeldNotification.objects.count(),
    }


def test_the_download_page_holds_what_the_requester_sees_and_nothing_more(client, world):
    _prayer_request, token = world

    response = client.get(reverse("followup_download", args=[token]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    for seen in ["QXwhom", "QXtitle words", "QXdetails here", "QXname", "qxmail@example.org", "QXforyou"]:
        assert seen in page
    for unseen in ["QXteamnote", "QXjournal", "QXprayed", "Anna", "Lydia"]:
        assert unseen not in page


def test_the_json_file_holds_the_same(client, world):
    _prayer_request, token = world

    response = client.get(reverse("followup_download_json", args=[token]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["request"]["title"] == "QXtitle words"
    assert data["request"]["your_email"] == "qxmail@example.org"
    assert "QXforyou" in [entry["note"] for entry in data["story"]]
    body = response.content.decode()
    for unseen in ["QXteamnote", "QXjournal", "QXprayed", "Anna", "Lydia"]:
        assert unseen not in body


def test_delete_asks_first_and_the_confirmation_page_changes_nothing(client, world):
    _prayer_request, token = world
    before = _state()

    response = client.get(reverse("followup_delete", args=[token]))

    assert response.status_code == 200
    assert "Delete my request" in response.content.decode()
    assert _state() == before


def test_delete_erases_closes_releases_and_tells_the_intercessors(client, world, leader, assigned_intercessor):
    prayer_request, token = world

    response = client.post(reverse("followup_delete", args=[token]))

    assert response.status_code == 302
    prayer_request.refresh_from_db()
    assert prayer_request.text_erased_at is not None
    assert prayer_request.status == Status.CLOSED
    assert not Assignment.objects.active().filter(prayer_request=prayer_request).exists()
    (erased,) = prayer_request.updates.filter(kind=UpdateKind.ERASED)
    assert erased.erased_line == "Erased at the requester's request"
    # The intercessor is told, without content (held for their daily digest).
    (line,) = HeldNotification.objects.filter(user=assigned_intercessor, kind="withdrawn")
    assert "withdrawn" in line.sentence

    # After it, the old text is nowhere.
    client.force_login(leader)
    texts = [
        client.get(reverse("followup", args=[token])).content.decode(),
        client.get(reverse("followup_download", args=[token])).content.decode(),
        client.get(reverse("request_detail", args=[prayer_request.pk])).content.decode(),
        client.get(reverse("request_list")).content.decode(),
        b"".join(client.get(reverse("export_requests")).streaming_content).decode(),
        b"".join(client.get(reverse("export_prayer_log")).streaming_content).decode(),
        *(f"{m.to} {m.subject} {m.body_text} {m.body_html}" for m in OutboxMessage.objects.all()),
        *(f"{h.sentence} {h.link}" for h in HeldNotification.objects.all()),
        *(u.note for u in StatusUpdate.objects.all()),
        *(p.note for p in PrayerLog.objects.all()),
    ]
    for text in texts:
        for marker in [*MARKERS, "QXprayed"]:
            assert marker not in text
    for word in ["QXtitle", "QXwhom", "QXdetails"]:
        assert not PrayerRequest.objects.matching(word).exists()
    assert not PrayerRequest.objects.of_address("qxmail@example.org").exists()
    assert "Text erased" in texts[0]


def test_after_delete_the_pages_offer_nothing_more_to_write(client, world, leader):
    prayer_request, token = world
    client.post(reverse("followup_delete", args=[token]))

    followup = client.get(reverse("followup", args=[token])).content.decode()
    download = client.get(reverse("followup_download", args=[token])).content.decode()
    client.force_login(leader)
    team_page = client.get(reverse("request_detail", args=[prayer_request.pk])).content.decode()

    for form in ("followup_update", "followup_praise", "followup_confidentiality"):
        assert reverse(form, args=[token]) not in followup, form
    assert reverse("followup_delete", args=[token]) not in followup
    assert reverse("followup_download", args=[token]) in followup
    assert "every note were erased on" in download
    assert reverse("request_update", args=[prayer_request.pk]) not in team_page


def test_delete_of_a_manifested_request_erases_it_and_keeps_it_manifested(client, world, leader, assigned_intercessor):
    prayer_request, token = world
    services.move(prayer_request, Status.ANSWERED, actor=leader)

    page = client.get(reverse("followup_delete", args=[token])).content.decode()
    assert "It stays counted as manifested" in page
    assert "The request is withdrawn" not in page
    response = client.post(reverse("followup_delete", args=[token]))

    assert response.status_code == 302
    prayer_request.refresh_from_db()
    assert prayer_request.text_erased_at is not None
    # Nobody closes an answer (PRODUCT.md's table): its figures stay true.
    assert (prayer_request.status, prayer_request.closed_at) == (Status.ANSWERED, None)
    assert prayer_request.answered_at is not None
    assert not Assignment.objects.active().filter(prayer_request=prayer_request).exists()
    assert prayer_request.title == prayer_request.for_whom == prayer_request.details == ""


def test_deleting_twice_changes_nothing_more(client, world):
    _prayer_request, token = world
    client.post(reverse("followup_delete", args=[token]))
    before = _state()

    client.post(reverse("followup_delete", args=[token]))

    assert _state() == before


def test_delete_with_a_wrong_token_is_a_404_and_changes_nothing(client, world):
    before = _state()

    for method in (client.get, client.post):
        assert method(reverse("followup_delete", args=[WRONG])).status_code == 404
    assert client.get(reverse("followup_download", args=[WRONG])).status_code == 404
    assert client.get(reverse("followup_download_json", args=[WRONG])).status_code == 404
    assert _state() == before


def test_delete_keeps_to_the_followup_rate_limit(client, world, settings):
    _prayer_request, token = world
    settings.INTERCESSION_FOLLOWUP_LIMIT = 1
    client.post(reverse("followup_update", args=[token]), {"update-note": "one"})
    before = _state()

    response = client.post(reverse("followup_delete", args=[token]))

    assert response.status_code == 429
    assert _state() == before
