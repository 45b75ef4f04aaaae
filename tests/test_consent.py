"""
Shared with consent: on the public form, whoever asks for someone else
confirms that the person knows, or that nothing in the request identifies
them (a church setting turns the question off); and the privacy notice (what
is kept, who sees it, for how long, how to delete it, in the church's words),
linked from the form, the follow-up pages and every e-mail to a requester.
"""

import pytest
from conftest import make_user, submit
from django.core import mail
from django.test import Client
from django.urls import reverse

from requests_app import church, roles, services
from requests_app.models import Consent, PrayerRequest, Status, Visibility
from requests_app.team import church_settings

ASK = reverse("ask")
PRIVACY = reverse("privacy_notice")
NOTICE = "Our-Notice-Kq4Zt: we keep your request for a season, then let it go."


def ask_data(**overrides) -> dict:
    data = {
        "for_whom": "Unspoken",
        "category": "health",
        "title": "Strength",
        "is_confidential": "on",
        "requester_email": "asker@example.org",
        "wants_updates": "on",
        "consent": "unidentified",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


@pytest.fixture
def change_settings(leader, django_capture_on_commit_callbacks):
    def change(**values):
        with django_capture_on_commit_callbacks(execute=True):
            church_settings.save(values, by=leader)

    return change


# --- The question on the form --------------------------------------------------------


def test_it_asks_whom_the_prayer_is_for_with_radio_buttons(client, db):
    page = client.get(ASK).content.decode()

    for value in ("self", "knows", "unidentified", "not_aware"):
        assert f'name="consent" value="{value}"' in page
    assert page.count('type="radio"') == 4
    assert "Is this prayer for you, or for someone else?" in page


def test_it_asks_before_whom_the_prayer_is_for(client, db):
    page = client.get(ASK).content.decode()

    assert page.index('name="consent"') < page.index('name="for_whom"') < page.index('name="title"')


def test_it_requires_an_answer_and_says_why(client, db):
    response = client.post(ASK, ask_data(consent=None))

    assert response.status_code == 200
    assert response.context["form"].has_error("consent", "required")
    assert "Tell us whether this prayer is for you or for someone else." in response.content.decode()
    assert not PrayerRequest.objects.exists()


@pytest.mark.parametrize("answer", ["", "maybe", "SELF"])
def test_it_refuses_an_answer_not_in_the_list(client, db, answer):
    response = client.post(ASK, ask_data(consent=answer))

    assert response.status_code == 200
    assert response.context["form"].errors["consent"]
    assert not PrayerRequest.objects.exists()


def test_it_refuses_a_request_for_someone_who_does_not_know_and_changes_nothing(
    client, db, leader, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ASK, ask_data(for_whom="Anna Smith", consent="not_aware"))

    assert response.status_code == 200
    assert response.context["form"].has_error("consent", "consent_needed")
    page = response.content.decode()
    assert "if they know you are asking, or if nothing in it identifies them" in page
    assert "Please ask them first" in page
    # What was typed comes back, to send again once it can be.
    assert 'value="Anna Smith"' in page
    assert not PrayerRequest.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("answer", [Consent.SELF, Consent.KNOWS, Consent.UNIDENTIFIED])
def test_it_stores_what_was_confirmed(client, db, answer):
    response = client.post(ASK, ask_data(consent=answer))

    assert response.status_code == 302
    assert PrayerRequest.objects.get().consent == answer


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ("self", "For the requester themselves"),
        ("knows", "For someone who knows of the request"),
        ("unidentified", "For someone the request does not identify"),
        ("", "Not asked: the form did not ask about it when this request was sent"),
    ],
)
def test_the_leader_reads_the_answer_on_the_request_page(client, leader, assigned_intercessor, answer, shown):
    prayer_request = submit(consent=answer)
    services.assign(prayer_request, [assigned_intercessor], by=leader)

    client.force_login(leader)
    page = client.get(reverse("request_detail", args=[prayer_request.pk])).content.decode()
    assert '<dt class="col-sm-4">Consent</dt>' in page
    assert shown in page
    # The intercessors pray; whether the person knows is for the leaders.
    client.force_login(assigned_intercessor)
    page = client.get(reverse("request_detail", args=[prayer_request.pk])).content.decode()
    assert ">Consent</dt>" not in page


def test_a_church_can_turn_the_question_off(client, db, change_settings):
    change_settings(asks_consent=False)

    page = client.get(ASK).content.decode()
    response = client.post(ASK, ask_data(consent=None))

    assert 'name="consent"' not in page
    assert response.status_code == 302
    assert PrayerRequest.objects.get().consent == ""


def test_with_the_question_off_an_answer_sent_anyway_is_not_kept(client, db, change_settings):
    change_settings(asks_consent=False)

    response = client.post(ASK, ask_data(consent="not_aware"))

    assert response.status_code == 302
    assert PrayerRequest.objects.get().consent == ""


def test_the_question_is_on_by_default(db):
    assert church.current().asks_consent is True
    assert church.defaults().asks_consent is True


def test_the_church_settings_page_offers_the_switch_and_the_notice(client, leader):
    client.force_login(leader)

    page = client.get(reverse("church_settings")).content.decode()

    assert 'name="asks_consent"' in page
    assert 'name="privacy_notice"' in page
    assert f'href="{PRIVACY}"' in page


def test_the_audit_log_records_only_that_the_notice_changed(db, leader, change_settings):
    from requests_app.models import AuditLogEntry

    change_settings(privacy_notice=NOTICE, asks_consent=False)

    entry = AuditLogEntry.objects.get()
    assert NOTICE not in str(entry.details)
    assert entry.details["privacy_notice"] == "changed"
    assert entry.details["asks_consent"] == [True, False]


def test_a_notice_with_control_characters_is_refused_and_changes_nothing(client, leader):
    from requests_app.forms.church import ChurchSettingsForm

    client.force_login(leader)
    form = ChurchSettingsForm(instance=church.current())
    data = {name: field.value() for name, field in ((name, form[name]) for name in form.fields)}
    data = {name: value for name, value in data.items() if value not in (None, False)}
    data["privacy_notice"] = "Kept\u202e for ever"

    response = client.post(reverse("church_settings"), data)

    assert response.status_code == 200
    assert response.context["form"].errors["privacy_notice"]
    assert church.current().privacy_notice == ""


# --- The privacy notice ----------------------------------------------------------------


@pytest.fixture
def personas(db, leader, assigned_intercessor, superuser):
    return {
        "anonymous": None,
        "leader": leader,
        "intercessor": assigned_intercessor,
        "superuser": superuser,
        "staff": make_user("staff-only", is_staff=True),
    }


@pytest.mark.parametrize("persona", ["anonymous", "leader", "intercessor", "superuser", "staff"])
def test_the_privacy_notice_renders_for_everyone_with_the_churchs_text(personas, persona, change_settings):
    change_settings(privacy_notice=NOTICE + "\n\nSecond <b>paragraph</b>.")
    client = Client()
    if personas[persona] is not None:
        client.force_login(personas[persona])

    response = client.get(PRIVACY)

    assert response.status_code == 200
    page = response.content.decode()
    assert NOTICE in page
    assert "<p>Second &lt;b&gt;paragraph&lt;/b&gt;.</p>" in page


def test_the_standard_notice_says_what_is_kept_who_sees_it_how_long_and_how_to_delete_it(client, db):
    page = client.get(PRIVACY).content.decode()

    assert "keeps what you write when you ask for prayer" in page
    assert "seen only by the intercession leaders and the intercessors they assign" in page
    assert "are erased" in page
    assert "download everything we hold about your request, or delete it" in page


def test_the_standard_notice_names_the_retention_period_when_the_church_has_one(db):
    current = church.defaults()
    current.retention_days = 90

    assert "erased 90 days after the request is manifested or closed" in church.privacy_notice(current)


@pytest.mark.parametrize("page", ["ask", "followup_help", "followup_lost", "followup_lost_sent"])
def test_the_public_pages_link_to_the_notice(client, db, page):
    assert f'href="{PRIVACY}"' in client.get(reverse(page)).content.decode()


def test_the_follow_up_page_links_to_the_notice(client, db):
    _prayer_request, token = services.submit_request(for_whom="M.", title="Strength", category="health")

    assert f'href="{PRIVACY}"' in client.get(reverse("followup", args=[token])).content.decode()


# --- Every e-mail to a requester ----------------------------------------------------


def _privacy_link(settings) -> str:
    return settings.INTERCESSION_SITE_URL.rstrip("/") + PRIVACY


def _requester_mail(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def _assert_linked(messages, settings):
    assert messages
    link = _privacy_link(settings)
    for message in messages:
        assert link in message.body, message.subject
        (html, _type) = message.alternatives[0]
        assert f'href="{link}"' in html, message.subject


def test_the_follow_up_link_e_mail_links_to_the_notice(client, db, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ASK, ask_data())

    _assert_linked(_requester_mail("asker@example.org"), settings)


def test_the_new_links_e_mail_links_to_the_notice(db, settings, django_capture_on_commit_callbacks):
    submit()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.reissue_followup_links("martha@example.org")

    _assert_linked(_requester_mail("martha@example.org"), settings)


@pytest.mark.parametrize("status", [Status.BREAKTHROUGH, Status.ANSWERED, Status.CLOSED])
def test_the_news_e_mails_link_to_the_notice(
    request_in, settings, django_capture_on_commit_callbacks, status, leader, assigned_intercessor
):
    prayer_request = request_in(Status.INTERCEDING)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.move(prayer_request, status, actor=leader)

    _assert_linked(_requester_mail("martha@example.org"), settings)


def test_the_team_note_e_mail_links_to_the_notice(request_in, settings, django_capture_on_commit_callbacks, leader):
    prayer_request = request_in(Status.INTERCEDING)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.post_update(prayer_request, actor=leader, note="We are with you.", visibility=Visibility.REQUESTER)

    _assert_linked(_requester_mail("martha@example.org"), settings)


def test_the_teams_e_mails_carry_no_privacy_link(db, settings, django_capture_on_commit_callbacks):
    make_user("lead-mail", roles.LEADERS, email="lead-mail@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        submit()

    team = [message for message in mail.outbox if message.to == ["lead-mail@example.org"]]
    assert team
    assert all(_privacy_link(settings) not in message.body for message in team)
