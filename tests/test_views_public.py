"""
The requester's journey, without an account: asking for prayer, the
follow-up link shown once (and e-mailed, with nothing else), and the
follow-up page with what the requester may do through it.
"""

import logging
import re
import secrets

import pytest
from conftest import submit
from django.contrib.messages import get_messages
from django.core import mail, signing
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse
from django.utils.html import escape

from requests_app import services
from requests_app.models import PrayerRequest, Status, StatusUpdate, UpdateKind, Visibility
from requests_app.rules import Requester

S = Status
ASK = reverse("ask")
ASK_SENT = reverse("ask_sent")

# Marker strings: wherever they must not appear, a plain `in` finds them.
FOR_WHOM = "Person-Zq8Lk"
TITLE = "Title-Wp3Rt"
DETAILS = "Details-Hv6Nm"
NAME = "Name-Jc2Xs"
EMAIL = "martha-Kd7Pq@example.org"

POST_ACTIONS = ["followup_update", "followup_praise", "followup_withdraw", "followup_confidentiality"]

# The token lookup, the story's count and the story's page.
FOLLOWUP_QUERIES = 3


class FailingEmailBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server unreachable")


def ask_data(**overrides) -> dict:
    """A valid submission; an override of None leaves the field out (an
    unticked checkbox)."""
    data = {
        "for_whom": FOR_WHOM,
        "category": "health",
        "title": TITLE,
        "details": DETAILS,
        "is_confidential": "on",
        "requester_name": NAME,
        "requester_email": EMAIL,
        "wants_updates": "on",
        "consent": "knows",
    }
    data.update(overrides)
    return {field: value for field, value in data.items() if value is not None}


def link_to(prayer_request: PrayerRequest) -> str:
    """A fresh follow-up token for a request made by the factories (which do
    not keep theirs): the path of its follow-up page."""
    token = prayer_request.issue_followup_token()
    prayer_request.save(update_fields=["followup_token_hash"])
    return reverse("followup", args=[token])


def token_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def action_url(name: str, path: str) -> str:
    return reverse(name, args=[token_of(path)])


def shown_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def snapshot(prayer_request: PrayerRequest) -> dict:
    """What a refused action must leave alone."""
    row = PrayerRequest.objects.filter(pk=prayer_request.pk).values().get()
    updates = list(StatusUpdate.objects.filter(prayer_request=prayer_request).values_list("pk", flat=True))
    return {"row": row, "updates": updates}


# --- Asking ------------------------------------------------------------------


def test_it_shows_the_form_to_anyone_with_confidential_checked(client, db):
    response = client.get(ASK)

    assert response.status_code == 200
    form = response.context["form"]
    assert form["is_confidential"].value() is True
    assert "checked" in str(form["is_confidential"])
    assert "checked" not in str(form["is_urgent"])
    content = response.content.decode()
    assert "Only the intercession leaders and the intercessors assigned to it will ever see it." in content
    assert "stand in the gap" in content
    assert "until the answer is seen" in content
    assert "private link" in content
    assert response["Cache-Control"].count("no-store") == 1


@pytest.mark.parametrize(
    ("field", "value", "code", "message"),
    [
        (
            "for_whom",
            "x" * 121,
            "max_length",
            "Please keep this to 120 characters or fewer (it has 121).",
        ),
        ("for_whom", "", "required", "Tell us who the prayer is for: a name, initials, or “unspoken”."),
        ("for_whom", "   \t ", "required", "Tell us who the prayer is for: a name, initials, or “unspoken”."),
        ("title", "t" * 151, "max_length", "Please keep this to 150 characters or fewer (it has 151)."),
        ("title", "", "required", "Give your request a short title."),
        ("title", "\n \n", "required", "Give your request a short title."),
        (
            "details",
            "d" * 4001,
            "max_length",
            "Please keep this to 4000 characters or fewer (it has 4001).",
        ),
        ("requester_name", "n" * 101, "max_length", "Please keep this to 100 characters or fewer (it has 101)."),
        (
            "requester_email",
            "not-an-address",
            "invalid",
            "Enter a valid e-mail address, such as name@example.org, or leave it empty.",
        ),
        ("category", "astrology", "invalid_choice", "Choose one of the categories in the list."),
        ("category", "", "required", "Choose a category."),
        ("category", None, "required", "Choose a category."),
        ("for_whom", None, "required", "Tell us who the prayer is for: a name, initials, or “unspoken”."),
    ],
)
def test_it_refuses_a_bad_field_with_a_clear_message(client, db, field, value, code, message):
    response = client.post(ASK, ask_data(**{field: value}))

    assert response.status_code == 200
    assert [error.code for error in response.context["form"].errors.as_data()[field]] == [code]
    assert escape(message) in response.content.decode()
    assert PrayerRequest.objects.count() == 0
    assert StatusUpdate.objects.count() == 0
    assert "followup_token" not in client.session
    assert mail.outbox == []


def test_it_accepts_every_field_at_its_limit(client, db):
    response = client.post(
        ASK,
        ask_data(
            for_whom="w" * 120,
            title="t" * 150,
            details="d" * 4000,
            requester_name="n" * 100,
        ),
    )

    assert response.status_code == 302
    assert PrayerRequest.objects.get().details == "d" * 4000


def test_it_needs_an_e_mail_address_to_send_updates(client, db):
    response = client.post(ASK, ask_data(requester_email="", wants_updates="on"))

    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()
    assert [error.code for error in errors["requester_email"]] == ["email_needed_for_updates"]
    assert escape("To receive updates, give us an e-mail address, or untick “Send me updates”.") in (
        response.content.decode()
    )
    assert PrayerRequest.objects.count() == 0


def test_it_does_not_pile_a_second_message_on_an_invalid_address(client, db):
    response = client.post(ASK, ask_data(requester_email="martha@", wants_updates="on"))

    assert [error.code for error in response.context["form"].errors.as_data()["requester_email"]] == ["invalid"]
    assert PrayerRequest.objects.count() == 0


def test_it_needs_no_e_mail_address_without_updates(client, db):
    response = client.post(ASK, ask_data(requester_email="", requester_name="", wants_updates=None))

    assert response.status_code == 302
    prayer_request = PrayerRequest.objects.get()
    assert (prayer_request.requester_email, prayer_request.wants_updates) == ("", False)


def test_it_stores_the_request_and_only_the_hash_of_its_token(client, db):
    response = client.post(ASK, ask_data(is_urgent="on"))

    assert response.status_code == 302
    assert response.url == ASK_SENT
    prayer_request = PrayerRequest.objects.get()
    assert prayer_request.for_whom == FOR_WHOM
    assert prayer_request.title == TITLE
    assert prayer_request.details == DETAILS
    assert prayer_request.category == "health"
    assert prayer_request.is_urgent is True
    assert prayer_request.is_confidential is True
    assert prayer_request.status == S.NEW
    assert (prayer_request.requester_name, prayer_request.requester_email) == (NAME, EMAIL)
    assert prayer_request.wants_updates is True
    token = client.get(ASK_SENT).context["link"].rstrip("/").rsplit("/", 1)[-1]
    columns = PrayerRequest.objects.filter(pk=prayer_request.pk).values().get()
    assert not any(token in str(value) for value in columns.values())
    assert len(prayer_request.followup_token_hash) == 64


def test_it_stores_an_unticked_confidential_box_as_not_confidential(client, db):
    client.post(ASK, ask_data(is_confidential=None))

    assert PrayerRequest.objects.get().is_confidential is False


def test_it_ignores_fields_the_form_does_not_have(client, db):
    response = client.post(
        ASK,
        ask_data(
            status="answered",
            followup_token_hash="0" * 64,
            answered_at="2020-01-01T00:00:00Z",
            closed_at="2020-01-01T00:00:00Z",
            created_at="2000-01-01T00:00:00Z",
        ),
    )

    assert response.status_code == 302
    prayer_request = PrayerRequest.objects.get()
    assert prayer_request.status == S.NEW
    assert prayer_request.followup_token_hash != "0" * 64
    assert prayer_request.answered_at is None
    assert prayer_request.closed_at is None
    assert prayer_request.created_at.year > 2000


def test_it_shows_the_link_once(client, db):
    client.post(ASK, ask_data())

    first = client.get(ASK_SENT)

    assert first.status_code == 200
    link = first.context["link"]
    assert re.fullmatch(r"http://testserver/followup/[A-Za-z0-9_-]{43}/", link)
    assert client.get(link).status_code == 200
    content = first.content.decode()
    assert f'value="{link}"' in content
    assert "readonly" in content
    assert "Copy link" in content
    assert "js/copy-link.js" in content
    assert "This link is the only way back to your request." in content
    assert "we cannot show it again" in content
    assert "We are also sending a copy to the e-mail address you gave." in content
    assert "no-store" in first["Cache-Control"]
    assert first.cookies["followup_token"]["max-age"] == 0  # the cookie is spent

    again = client.get(ASK_SENT)

    assert again.status_code == 200
    assert link not in again.content.decode()
    assert "Your link was shown once" in again.content.decode()
    assert f'href="{ASK}"' in again.content.decode()


def test_it_says_nothing_about_e_mail_when_no_address_was_given(client, db):
    client.post(ASK, ask_data(requester_email="", wants_updates=None))

    response = client.get(ASK_SENT)

    assert response.context["link"]
    assert "sending a copy" not in response.content.decode()


def test_it_keeps_the_link_for_a_real_visit_when_asked_for_headers_only(client, db):
    client.post(ASK, ask_data())

    assert client.head(ASK_SENT).status_code == 405
    assert client.get(ASK_SENT).context["link"]


def test_it_shows_the_link_only_in_the_session_that_asked(client, db):
    from django.test import Client

    client.post(ASK, ask_data())
    stranger = Client()

    response = stranger.get(ASK_SENT)

    assert response.context["link"] == ""
    assert client.get(ASK_SENT).context["link"]


def test_it_opens_the_followup_page_from_the_link(client, db):
    client.post(ASK, ask_data())
    link = client.get(ASK_SENT).context["link"]

    response = client.get(link.removeprefix("http://testserver"))

    assert response.status_code == 200
    assert response.context["prayer_request"] == PrayerRequest.objects.get()
    content = response.content.decode()
    assert TITLE in content
    assert DETAILS in content
    assert FOR_WHOM in content


# --- The e-mail ----------------------------------------------------------------


def test_it_e_mails_the_link_and_nothing_else(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ASK, ask_data())
    link = client.get(ASK_SENT).context["link"]

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [EMAIL]
    assert link in message.body
    assert message.subject == "Your prayer request"
    assert "Intercession" in message.body
    for marker in (FOR_WHOM, TITLE, DETAILS, NAME, "Health"):
        assert marker not in message.subject
        assert marker not in message.body


def test_it_e_mails_nothing_a_non_confidential_request_says_either(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ASK, ask_data(is_confidential=None))

    (message,) = mail.outbox
    for marker in (FOR_WHOM, TITLE, DETAILS, NAME):
        assert marker not in message.subject + message.body


def test_it_sends_no_e_mail_without_an_address(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(ASK, ask_data(requester_email="", wants_updates=None))

    assert callbacks == []
    assert mail.outbox == []


def test_it_sends_the_e_mail_only_once_the_request_is_saved(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(ASK, ask_data())

    assert len(callbacks) == 1
    assert mail.outbox == []


def test_it_keeps_the_request_and_the_link_when_the_mail_server_fails(
    client, db, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "test_views_public.FailingEmailBackend"

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = client.post(ASK, ask_data())

    assert response.status_code == 302
    prayer_request = PrayerRequest.objects.get()
    sent = client.get(ASK_SENT)
    assert sent.status_code == 200
    assert sent.context["link"]
    assert sent.context["link"] in sent.content.decode()
    logged = caplog.text
    assert f"follow-up e-mail for request {prayer_request.pk} failed" in logged
    for secret in (EMAIL, FOR_WHOM, TITLE, DETAILS, NAME, token_of(sent.context["link"])):
        assert secret not in logged


# --- The follow-up page ----------------------------------------------------------


@pytest.fixture
def told(request_in, leader, assigned_intercessor, released_intercessor, other_intercessor):
    """A request in intercession whose story holds one entry of each kind,
    each with a marker note."""
    prayer_request = request_in(S.INTERCEDING, confidential=True)
    services.post_update(prayer_request, actor=leader, note="ForRequester-Qm4Zt", visibility=Visibility.REQUESTER)
    services.post_update(prayer_request, actor=assigned_intercessor, note="TeamNote-Vb8Kc", visibility=Visibility.TEAM)
    services.post_update(
        prayer_request, actor=assigned_intercessor, note="Journal-Ry5Hd", visibility=Visibility.PRIVATE
    )
    services.log_prayer(prayer_request, intercessor=assigned_intercessor, minutes=17, note="PrayerLog-Xe2Wq")
    services.post_update(
        prayer_request, actor=Requester(prayer_request.pk), note="FromRequester-Lc9Tb", visibility=Visibility.TEAM
    )
    return prayer_request


def test_it_shows_the_story_meant_for_the_requester(client, told):
    response = client.get(link_to(told))

    assert response.status_code == 200
    content = response.content.decode()
    assert "ForRequester-Qm4Zt" in content
    assert "FromRequester-Lc9Tb" in content
    assert "Status: In intercession" in content
    assert "You sent this request." in content
    assert "The intercession team" in content
    assert content.index("You sent this request.") < content.index("Status: In intercession")
    assert content.index("Status: In intercession") < content.index("ForRequester-Qm4Zt")
    assert content.index("ForRequester-Qm4Zt") < content.index("FromRequester-Lc9Tb")
    assert "<time datetime=" in content


def test_it_never_shows_team_notes_journals_prayers_or_names(client, told):
    response = client.get(link_to(told))

    content = response.content.decode()
    for hidden in ("TeamNote-Vb8Kc", "Journal-Ry5Hd", "PrayerLog-Xe2Wq", "17 min"):
        assert hidden not in content
    # First names and usernames of the leader and of every intercessor.
    assert re.findall(r"\b(?:anna|barnabas|lydia|simeon)\b", content, flags=re.IGNORECASE) == []
    assert all(
        update.visibility == Visibility.REQUESTER or update.kind == UpdateKind.MOVE
        for update in response.context["page"].object_list
    )


def test_it_tells_the_requester_of_every_move_but_not_a_team_note_on_it(client, told, assigned_intercessor):
    services.move(
        told, S.BREAKTHROUGH, actor=assigned_intercessor, note="TeamMoveNote-Hj3Pw", visibility=Visibility.TEAM
    )

    content = client.get(link_to(told)).content.decode()

    assert "Status: Breakthrough in the spirit — awaiting manifestation" in content
    assert "TeamMoveNote-Hj3Pw" not in content


def test_it_keeps_the_request_title_out_of_the_page_title(client, db):
    prayer_request = submit(title=TITLE)

    response = client.get(link_to(prayer_request))

    head = response.content.decode().split("</title>")[0]
    assert "<title>Your prayer request" in head
    assert TITLE not in head
    assert "M. K." not in head
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"


@pytest.mark.parametrize(
    ("status", "sentence"),
    [
        (S.NEW, "Your request is waiting for a leader to give it to intercessors."),
        (S.INTERCEDING, "Intercessors are standing in the gap for your request"),
        (S.BREAKTHROUGH, "Breakthrough in the spirit has been received — we are awaiting its manifestation"),
        (S.ANSWERED, "The answer has manifested. Praise God!"),
        (S.CLOSED, "This request is closed."),
    ],
)
def test_it_says_where_the_request_stands(client, request_in, status, sentence):
    response = client.get(link_to(request_in(status)))

    assert sentence in response.content.decode()


@pytest.mark.parametrize(
    ("status", "offered"),
    [
        (S.NEW, {"followup_update", "followup_withdraw", "followup_confidentiality"}),
        (S.INTERCEDING, {"followup_update", "followup_praise", "followup_withdraw", "followup_confidentiality"}),
        (S.BREAKTHROUGH, {"followup_update", "followup_praise", "followup_withdraw", "followup_confidentiality"}),
        (S.ANSWERED, {"followup_update", "followup_confidentiality"}),
        (S.CLOSED, {"followup_update", "followup_confidentiality"}),
    ],
)
def test_it_offers_only_what_the_requester_may_do_now(client, request_in, status, offered):
    path = link_to(request_in(status))

    content = client.get(path).content.decode()

    shown = {name for name in POST_ACTIONS if f'action="{action_url(name, path)}"' in content}
    assert shown == offered


def test_it_offers_to_lift_or_restore_confidentiality(client, request_in):
    confidential = client.get(link_to(request_in(S.NEW, confidential=True))).content.decode()
    open_to_team = client.get(link_to(request_in(S.NEW, confidential=False))).content.decode()

    assert "Let the whole team see it" in confidential
    assert "the whole intercession team will see it on the team board" in confidential
    assert 'name="confidential" value="0"' in confidential
    assert "Make it confidential" in open_to_team
    assert 'name="confidential" value="1"' in open_to_team


@pytest.mark.parametrize("entries", [5, 50])
def test_it_shows_the_story_in_a_constant_number_of_queries(client, db, django_assert_num_queries, entries):
    prayer_request = submit()
    for number in range(entries):
        services.post_update(
            prayer_request, actor=Requester(prayer_request.pk), note=f"note {number}", visibility=Visibility.REQUESTER
        )
    path = link_to(prayer_request)

    with django_assert_num_queries(FOLLOWUP_QUERIES):
        response = client.get(path)

    assert response.status_code == 200


def test_it_pages_a_long_story_showing_the_latest_first(client, db):
    prayer_request = submit()
    for number in range(30):
        services.post_update(
            prayer_request, actor=Requester(prayer_request.pk), note=f"Entry-{number:02d}", visibility="requester"
        )
    path = link_to(prayer_request)

    latest = client.get(path).content.decode()
    earliest = client.get(f"{path}?page=1").content.decode()
    junk = client.get(f"{path}?page=junk")

    assert "Entry-29" in latest
    assert "Entry-00" not in latest
    assert f'href="{path}?page=1"' in latest
    assert "Entry-00" in earliest
    assert "Entry-29" not in earliest
    assert junk.status_code == 200


# --- What the requester may do ---------------------------------------------------


@pytest.mark.parametrize("status", list(S))
def test_it_posts_an_update_from_every_status(client, request_in, status):
    prayer_request = request_in(status)
    path = link_to(prayer_request)

    response = client.post(action_url("followup_update", path), {"update-note": "  News-Gh5Ja  "})

    assert response.status_code == 302
    assert response.url == path
    update = prayer_request.updates.last()
    assert (update.kind, update.note, update.author, update.visibility) == (
        UpdateKind.NOTE,
        "News-Gh5Ja",
        None,
        Visibility.REQUESTER,
    )
    assert shown_messages(response) == ["Thank you — your update is with the team."]
    prayer_request.refresh_from_db()
    assert prayer_request.status == status


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("", "Write your update first."),
        ("   \n ", "Write your update first."),
        ("u" * 4001, "Please keep this to 4000 characters or fewer (it has 4001)."),
    ],
)
def test_it_refuses_a_bad_update_on_the_page(client, request_in, note, message):
    prayer_request = request_in(S.INTERCEDING)
    path = link_to(prayer_request)
    before = snapshot(prayer_request)

    response = client.post(action_url("followup_update", path), {"update-note": note})

    assert response.status_code == 200
    assert escape(message) in response.content.decode()
    assert snapshot(prayer_request) == before


def test_it_ignores_extra_fields_on_an_update(client, request_in):
    prayer_request = request_in(S.INTERCEDING)
    path = link_to(prayer_request)

    client.post(
        action_url("followup_update", path),
        {"update-note": "Hello", "visibility": "team", "update-visibility": "private", "status": "answered"},
    )

    update = prayer_request.updates.last()
    assert (update.visibility, update.author) == (Visibility.REQUESTER, None)
    prayer_request.refresh_from_db()
    assert prayer_request.status == S.INTERCEDING


@pytest.mark.parametrize("status", [S.INTERCEDING, S.BREAKTHROUGH])
def test_it_takes_a_praise_report_while_intercession_goes_on(client, request_in, status):
    prayer_request = request_in(status)
    path = link_to(prayer_request)

    response = client.post(action_url("followup_praise", path), {"praise-note": "Praise-Nu3Wd"})

    assert response.status_code == 302
    assert response.url == path
    assert shown_messages(response) == ["Thank you — your praise report is with the team."]
    prayer_request.refresh_from_db()
    assert prayer_request.status == S.ANSWERED
    assert prayer_request.answered_at is not None
    update = prayer_request.updates.last()
    assert (update.from_status, update.to_status, update.note, update.author, update.visibility) == (
        status,
        S.ANSWERED,
        "Praise-Nu3Wd",
        None,
        Visibility.REQUESTER,
    )
    assert "Praise-Nu3Wd" in client.get(path).content.decode()


@pytest.mark.parametrize("status", [S.NEW, S.ANSWERED, S.CLOSED])
def test_it_refuses_a_praise_report_from_elsewhere(client, request_in, status):
    prayer_request = request_in(status)
    path = link_to(prayer_request)
    before = snapshot(prayer_request)

    response = client.post(action_url("followup_praise", path), {"praise-note": "Praise-Nu3Wd"})

    assert response.status_code == 302
    assert response.url == path
    assert shown_messages(response) == [f"That cannot be done now: your request is “{S(status).label}”."]
    assert snapshot(prayer_request) == before


@pytest.mark.parametrize("note", ["", "  \n", "p" * 4001])
def test_it_needs_a_praise_report_to_say_what_happened(client, request_in, note):
    prayer_request = request_in(S.BREAKTHROUGH)
    path = link_to(prayer_request)
    before = snapshot(prayer_request)

    response = client.post(action_url("followup_praise", path), {"praise-note": note})

    assert response.status_code == 200
    assert response.context["praise_form"].errors
    assert snapshot(prayer_request) == before


@pytest.mark.parametrize("status", [S.NEW, S.INTERCEDING, S.BREAKTHROUGH])
@pytest.mark.parametrize("note", ["", "Withdraw-Fp2Xs"])
def test_it_withdraws_an_open_request(client, request_in, status, note):
    prayer_request = request_in(status)
    path = link_to(prayer_request)

    response = client.post(action_url("followup_withdraw", path), {"withdraw-note": note})

    assert response.status_code == 302
    assert response.url == path
    assert shown_messages(response) == ["Your request has been withdrawn. Thank you for letting us pray with you."]
    prayer_request.refresh_from_db()
    assert prayer_request.status == S.CLOSED
    assert prayer_request.closed_at is not None
    update = prayer_request.updates.last()
    assert (update.to_status, update.note, update.author) == (S.CLOSED, note, None)


@pytest.mark.parametrize("status", [S.ANSWERED, S.CLOSED])
def test_it_refuses_to_withdraw_a_finished_request(client, request_in, status):
    prayer_request = request_in(status)
    path = link_to(prayer_request)
    before = snapshot(prayer_request)

    response = client.post(action_url("followup_withdraw", path), {"withdraw-note": ""})

    assert response.status_code == 302
    assert shown_messages(response) == [f"That cannot be done now: your request is “{S(status).label}”."]
    assert snapshot(prayer_request) == before


def test_it_refuses_an_over_long_withdrawal_note_on_the_page(client, request_in):
    prayer_request = request_in(S.NEW)
    path = link_to(prayer_request)
    before = snapshot(prayer_request)

    response = client.post(action_url("followup_withdraw", path), {"withdraw-note": "w" * 4001})

    assert response.status_code == 200
    assert escape("Please keep this to 4000 characters or fewer (it has 4001).") in response.content.decode()
    assert snapshot(prayer_request) == before


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize(("confidential", "wanted"), [(True, "0"), (False, "1")])
def test_it_changes_confidentiality_at_the_requesters_word(client, request_in, status, confidential, wanted):
    prayer_request = request_in(status, confidential=confidential)
    path = link_to(prayer_request)

    response = client.post(action_url("followup_confidentiality", path), {"confidential": wanted})

    assert response.status_code == 302
    assert response.url == path
    prayer_request.refresh_from_db()
    assert prayer_request.is_confidential is (wanted == "1")
    assert prayer_request.updates.last().kind == UpdateKind.CONFIDENTIALITY
    assert len(shown_messages(response)) == 1


@pytest.mark.parametrize(("confidential", "wanted"), [(True, "1"), (False, "0")])
def test_it_changes_nothing_when_confidentiality_is_already_as_wanted(client, request_in, confidential, wanted):
    prayer_request = request_in(S.INTERCEDING, confidential=confidential)
    path = link_to(prayer_request)
    before = snapshot(prayer_request)

    response = client.post(action_url("followup_confidentiality", path), {"confidential": wanted})

    assert response.status_code == 302
    assert shown_messages(response) == ["Nothing to change."]
    assert snapshot(prayer_request) == before


@pytest.mark.parametrize("wanted", [None, "", "maybe", "true", "2"])
def test_it_refuses_a_junk_confidentiality_on_the_page(client, request_in, wanted):
    prayer_request = request_in(S.INTERCEDING)
    path = link_to(prayer_request)
    before = snapshot(prayer_request)

    response = client.post(
        action_url("followup_confidentiality", path), {} if wanted is None else {"confidential": wanted}
    )

    assert response.status_code == 200
    assert "Choose whether your request is confidential." in response.content.decode()
    assert snapshot(prayer_request) == before


# --- Wrong links and wrong methods ---------------------------------------------------


def _wrong_tokens(prayer_request: PrayerRequest) -> dict[str, str]:
    old = token_of(link_to(prayer_request))
    current = token_of(link_to(prayer_request))
    gone = submit(title="Deleted")
    gone_token = token_of(link_to(gone))
    gone.delete()
    return {
        "random": secrets.token_urlsafe(32),
        "old": old,
        "the stored hash": PrayerRequest.objects.get(pk=prayer_request.pk).followup_token_hash,
        "almost": current[:-1] + ("A" if current[-1] != "A" else "B"),
        "too long": "x" * 200,
        "deleted request": gone_token,
    }


@pytest.mark.parametrize("kind", ["random", "old", "the stored hash", "almost", "too long", "deleted request"])
def test_it_404s_every_followup_url_for_a_wrong_token(client, request_in, kind):
    prayer_request = request_in(S.INTERCEDING)
    token = _wrong_tokens(prayer_request)[kind]
    before = snapshot(prayer_request)

    assert client.get(reverse("followup", args=[token])).status_code == 404
    for name in POST_ACTIONS:
        response = client.post(
            reverse(name, args=[token]),
            {"update-note": "x", "praise-note": "x", "withdraw-note": "x", "confidential": "0"},
        )
        assert response.status_code == 404, name
    assert snapshot(prayer_request) == before


@pytest.mark.parametrize("name", POST_ACTIONS)
def test_it_answers_405_to_a_get_on_an_action(client, request_in, name):
    prayer_request = request_in(S.INTERCEDING)
    path = link_to(prayer_request)

    assert client.get(action_url(name, path)).status_code == 405


def test_it_answers_405_to_a_post_on_the_link_pages(client, request_in):
    path = link_to(request_in(S.INTERCEDING))

    assert client.post(path, {}).status_code == 405
    assert client.post(ASK_SENT, {}).status_code == 405


def test_it_lets_a_logged_in_team_member_ask_too(client, leader):
    client.force_login(leader)

    response = client.post(ASK, ask_data())

    assert response.status_code == 302
    assert PrayerRequest.objects.count() == 1


def test_it_keeps_the_raw_token_out_of_the_database_until_the_link_is_shown(client, db):
    from django.contrib.sessions.models import Session

    client.post(ASK, ask_data())
    stored = " ".join(
        [f"{session.session_data} {session.get_decoded()}" for session in Session.objects.all()]
        + [str(value) for value in PrayerRequest.objects.values().get().values()]
    )
    cookie = client.cookies["followup_token"]

    token = client.get(ASK_SENT).context["link"].rstrip("/").rsplit("/", 1)[-1]

    assert len(token) == 43
    assert token not in stored
    assert cookie["path"] == ASK_SENT
    assert cookie["httponly"]
    assert cookie["max-age"] == 600


def test_the_link_is_not_shown_once_its_few_minutes_are_over(client, db):
    from unittest import mock

    client.post(ASK, ask_data())

    with mock.patch("django.core.signing.time.time", return_value=signing.time.time() + 11 * 60):
        late = client.get(ASK_SENT)

    assert late.context["link"] == ""
