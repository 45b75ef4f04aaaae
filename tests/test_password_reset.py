"""Password reset: the same answer, in the same time, whether or not the
address has an account; the e-mail goes through the outbox after the answer;
limited per client and per address."""

import re

import pytest
from conftest import make_user, without_csrf_token
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from requests_app.models import OutboxMessage
from requests_app.views.password_reset import PasswordResetView

pytestmark = pytest.mark.django_db

RESET = "/accounts/password/reset/"
SENT = "/accounts/password/reset/sent/"
KNOWN = "hannah@example.org"
UNKNOWN = "nobody@example.org"
RESET_LINK = re.compile(r"https?://[^/\s]+(/accounts/password/reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture
def hannah():
    return make_user("hannah", "Intercessors", email=KNOWN)


def close(response) -> None:
    """What the server does once it has sent the response (without closing
    the test's database connection)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def test_it_lives_where_the_log_in_page_links(client):
    assert reverse("password_reset") == RESET
    assert f'href="{RESET}"' in client.get(reverse("login")).content.decode()


def test_it_resets_a_password_through_an_e_mailed_link(client, hannah, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RESET, {"email": KNOWN})

    assert (response.status_code, response["Location"]) == (302, SENT)
    (message,) = mail.outbox
    assert message.to == [KNOWN]
    link = RESET_LINK.search(message.body).group(1)
    form_page = client.get(link, follow=True)
    set_password_url = form_page.redirect_chain[-1][0]
    done = client.post(set_password_url, {"new_password1": "a-new-phrase-2026", "new_password2": "a-new-phrase-2026"})
    assert done.status_code == 302
    hannah.refresh_from_db()
    assert hannah.check_password("a-new-phrase-2026")
    # Sent, its body (which held the link) is not kept.
    stored = OutboxMessage.objects.get(kind="password_reset")
    assert stored.sent_at is not None
    assert (stored.body_text, stored.body_html) == ("", "")


def test_it_answers_the_same_for_a_known_and_an_unknown_address(client, hannah, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(RESET, {"email": KNOWN}, follow=True)
    with django_capture_on_commit_callbacks(execute=True):
        unknown = client.post(RESET, {"email": UNKNOWN}, follow=True)

    assert known.status_code == unknown.status_code == 200
    assert known.redirect_chain == unknown.redirect_chain == [(SENT, 302)]
    assert without_csrf_token(known.content) == without_csrf_token(unknown.content)
    assert [message.to for message in mail.outbox] == [[KNOWN]]


def test_it_looks_nothing_up_and_writes_nothing_before_the_answer(hannah, django_capture_on_commit_callbacks):
    """The answer leaves without a query, for either address; the lookup and
    the e-mail come when the server closes the response, after sending it."""
    for address, e_mails in ((UNKNOWN, 0), (KNOWN, 1)):
        request = RequestFactory().post(RESET, {"email": address})
        request.user = AnonymousUser()
        request._dont_enforce_csrf_checks = True
        mail.outbox.clear()

        with CaptureQueriesContext(connection) as until_the_answer:
            response = PasswordResetView.as_view()(request)
        written_by_then = OutboxMessage.objects.count(), len(mail.outbox)
        with CaptureQueriesContext(connection) as afterwards, django_capture_on_commit_callbacks(execute=True):
            close(response)

        assert (response.status_code, response["Location"]) == (302, SENT)
        assert until_the_answer.captured_queries == []
        assert written_by_then == (0, 0)
        assert any("auth_user" in query["sql"] for query in afterwards.captured_queries)
        assert len(mail.outbox) == e_mails
        OutboxMessage.objects.all().delete()


def test_it_keeps_the_e_mail_when_the_mail_server_is_down_and_sends_it_later(
    client, hannah, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "test_logs_and_crashes.FailingEmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RESET, {"email": KNOWN})

    message = OutboxMessage.objects.get(kind="password_reset")
    assert message.sent_at is None
    assert message.attempts == 1


def test_it_limits_resets_per_client(client, hannah, settings, django_capture_on_commit_callbacks):
    settings.INTERCESSION_PASSWORD_RESET_LIMIT = 2
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post(RESET, {"email": f"someone{number}@example.org"}) for number in range(2)]
        refused = client.post(RESET, {"email": KNOWN})

    assert [answer.status_code for answer in answers] == [302, 302]
    assert refused.status_code == 429
    assert "Too many password resets" in refused.content.decode()
    assert mail.outbox == []


def test_it_limits_resets_per_address_whoever_asks(hannah, settings, django_capture_on_commit_callbacks):
    from django.test import Client

    settings.INTERCESSION_PASSWORD_RESET_LIMIT = 2
    clients = [Client(REMOTE_ADDR=f"203.0.113.{number}") for number in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [each.post(RESET, {"email": KNOWN.upper()}).status_code for each in clients]

    assert statuses == [302, 302, 429]
    assert len(mail.outbox) == 2


def test_a_refusal_reads_the_same_for_a_known_and_an_unknown_address(client, hannah, settings):
    settings.INTERCESSION_PASSWORD_RESET_LIMIT = 0

    known = client.post(RESET, {"email": KNOWN})
    unknown = client.post(RESET, {"email": UNKNOWN})

    assert known.status_code == unknown.status_code == 429
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert strip.sub("", known.content.decode()).replace(KNOWN, "@") == strip.sub(
        "", unknown.content.decode()
    ).replace(UNKNOWN, "@")
