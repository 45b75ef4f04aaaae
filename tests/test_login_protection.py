"""Log-in protection: lockout after repeated failures (django-axes), no
user-name enumeration, and a client address no header can forge."""

import re
from datetime import timedelta
from importlib import import_module
from unittest import mock

import pytest
from axes.models import AccessAttempt
from conftest import PASSWORD, make_user, without_csrf_token
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_login_failed
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from requests_app import roles
from requests_app.web.middleware import client_ip

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
LOCKED = "Too many attempts to log in"
CSRF_INPUT = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">')


@pytest.fixture
def hannah(db):
    return make_user("hannah", roles.INTERCESSORS)


def log_in(client, username: str, password: str, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def fail(client, username: str, times: int, **extra) -> list:
    return [log_in(client, username, "wrong-password", **extra) for _ in range(times)]


def without_csrf(response) -> str:
    return CSRF_INPUT.sub("", response.content.decode())


def test_it_locks_a_user_name_out_after_five_failures(client, hannah):
    answers = fail(client, "hannah", 5)

    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 429]
    locked = answers[-1].content.decode()
    assert LOCKED in locked
    # Even the right password is refused now, and nobody is logged in.
    right = log_in(client, "hannah", PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("my_assignments")).status_code == 302


def test_it_shows_a_friendly_page_that_does_not_repeat_the_name(client, hannah):
    response = fail(client, "hannah", 5)[-1]

    content = response.content.decode()
    assert response.status_code == 429
    assert "<title>Too many attempts · Intercession</title>" in content
    assert "Please try again in 1 hour." in content
    assert reverse("password_reset") in content
    assert "hannah" not in content
    assert "no-store" in response["Cache-Control"]
    assert "Content-Security-Policy" in response


def test_it_answers_a_lockout_the_same_whether_the_user_exists(client, hannah):
    known = fail(client, "hannah", 6)
    unknown = fail(client, "nobody", 6)

    assert [answer.status_code for answer in known] == [answer.status_code for answer in unknown]
    assert without_csrf_token(known[-1].content) == without_csrf_token(unknown[-1].content)
    assert without_csrf_token(known[-2].content) == without_csrf_token(unknown[-2].content)
    assert dict(known[-1].headers) == dict(unknown[-1].headers)


def test_it_says_the_same_for_a_wrong_password_and_an_unknown_user(client, hannah):
    wrong_password = log_in(client, "hannah", "nope")
    unknown_user = log_in(client, "nobody", "nope")

    assert wrong_password.status_code == unknown_user.status_code == 200
    assert wrong_password.context["form"].errors == unknown_user.context["form"].errors
    # The whole page, but for the typed name and the per-response CSRF mask.
    assert without_csrf(wrong_password).replace("hannah", "NAME") == without_csrf(unknown_user).replace(
        "nobody", "NAME"
    )


def test_it_locks_only_that_name_from_that_address(client, hannah):
    fail(client, "hannah", 5)

    other_address = log_in(client, "hannah", PASSWORD, REMOTE_ADDR="203.0.113.9")
    assert other_address.status_code == 302

    simeon = make_user("simeon", roles.INTERCESSORS)
    client.logout()
    same_address_other_name = log_in(client, simeon.username, PASSWORD)
    assert same_address_other_name.status_code == 302


def test_it_forgets_failures_after_a_successful_log_in(client, hannah):
    fail(client, "hannah", 4)
    assert log_in(client, "hannah", PASSWORD).status_code == 302
    client.logout()

    assert [answer.status_code for answer in fail(client, "hannah", 4)] == [200] * 4
    assert log_in(client, "hannah", PASSWORD).status_code == 302


def test_it_lets_the_user_in_again_after_the_cool_off(client, hannah):
    fail(client, "hannah", 5)
    assert log_in(client, "hannah", PASSWORD).status_code == 429

    # An hour and a bit later (the attempt is moved back, nobody sleeps).
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=61))

    assert log_in(client, "hannah", PASSWORD).status_code == 302


def test_it_reads_the_limit_from_settings(client, hannah, settings):
    settings.AXES_FAILURE_LIMIT = 2

    assert [answer.status_code for answer in fail(client, "hannah", 2)] == [200, 429]


def test_it_locks_out_the_admin_log_in_too(client, superuser):
    admin_login = reverse("admin:login")
    answers = [client.post(admin_login, {"username": "root", "password": "wrong"}) for _ in range(5)]

    assert answers[-1].status_code == 429
    assert client.post(admin_login, {"username": "root", "password": PASSWORD}).status_code == 429


def test_it_cannot_be_dodged_with_a_forged_forwarded_header(client, hannah):
    answers = [
        log_in(client, "hannah", "wrong-password", HTTP_X_FORWARDED_FOR=f"198.51.100.{number}")
        for number in range(1, 7)
    ]

    assert answers[4].status_code == answers[5].status_code == 429
    assert AccessAttempt.objects.get().ip_address == "127.0.0.1"


def test_it_leaves_force_login_alone(client, hannah):
    fail(client, "hannah", 5)

    client.force_login(hannah)

    assert client.get(reverse("my_assignments")).status_code == 200


def test_it_works_with_the_test_client_login_given_a_request(client, hannah):
    # django-axes needs the request to know the address; tests pass one.
    assert client.login(request=HttpRequest(), username="hannah", password=PASSWORD)
    assert client.get(reverse("my_assignments")).status_code == 200
    assert not client.login(request=HttpRequest(), username="hannah", password="wrong")


# --- The client's address -------------------------------------------------


def request_from(remote_addr: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_it_takes_the_connection_address_and_ignores_forwarded_for_by_default(settings):
    settings.TRUSTED_PROXY_COUNT = 0

    assert client_ip(request_from("192.0.2.1")) == "192.0.2.1"
    assert client_ip(request_from("192.0.2.1", "198.51.100.7")) == "192.0.2.1"


def test_it_reads_forwarded_for_from_the_right_behind_trusted_proxies(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client wrote the first entry itself; our proxy appended the real one.
    assert client_ip(request_from("10.0.0.2", "6.6.6.6, 198.51.100.7")) == "198.51.100.7"

    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request_from("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.1")) == "198.51.100.7"


def test_it_falls_back_to_the_connection_when_the_header_is_short(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    assert client_ip(request_from("10.0.0.2", "198.51.100.7")) == "10.0.0.2"
    assert client_ip(request_from("10.0.0.2")) == "10.0.0.2"


def test_it_falls_back_to_the_connection_when_the_entry_is_not_an_address(settings):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_ip(request_from("10.0.0.2", "198.51.100.7, <script>")) == "10.0.0.2"
    assert client_ip(request_from("10.0.0.2", "unknown")) == "10.0.0.2"
    assert client_ip(request_from("10.0.0.2", "2001:db8::1")) == "2001:db8::1"


def test_it_stores_no_junk_address_when_a_proxy_is_trusted(client, hannah, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    response = log_in(client, "hannah", "wrong-password", HTTP_X_FORWARDED_FOR="not-an-address")

    assert response.status_code == 200
    assert AccessAttempt.objects.get().ip_address == "127.0.0.1"


def test_it_locks_out_by_the_proxied_address_when_a_proxy_is_trusted(client, hannah, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    fail(client, "hannah", 5, HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert log_in(client, "hannah", PASSWORD, HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7").status_code == 429
    assert log_in(client, "hannah", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 302


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
@pytest.mark.parametrize("length", [151, 256, 10_000])
def test_it_refuses_a_user_name_longer_than_any_account_can_have(client, db, url, length):
    # On PostgreSQL this was a 500: django-axes records a failed attempt's
    # user name in a 255-character column.
    response = client.post(url, {"username": "u" * length, "password": "whatever"})

    assert response.status_code == 200
    assert response.context["form"].has_error("username", "invalid_login")  # the usual message
    assert "Please enter" in response.content.decode()
    assert not AccessAttempt.objects.filter(username__startswith="uuu").exists()


def test_it_still_logs_in_with_a_user_name_of_the_longest_length(client, db):
    longest = make_user("l" * 150, roles.INTERCESSORS)

    response = log_in(client, longest.username, PASSWORD)

    assert response.status_code == 302


# --- Who is signed in, with their roles (requests_app/web/auth.py) ---------------


def test_a_log_in_remembers_the_backend_that_reads_the_roles_with_the_user(client, hannah):
    log_in(client, "hannah", PASSWORD)

    assert client.session["_auth_user_backend"] == "requests_app.web.auth.RolesBackend"


def test_a_session_from_before_the_roles_backend_still_works(client, leader):
    # Signed in by Django's own ModelBackend, as every session was before.
    client.force_login(leader, backend="django.contrib.auth.backends.ModelBackend")

    assert client.get(reverse("triage")).status_code == 200


def test_a_role_taken_away_takes_effect_at_the_next_page(client, leader):
    other = make_user("deborah", roles.LEADERS)
    client.force_login(other)
    assert client.get(reverse("triage")).status_code == 200

    other.groups.remove(Group.objects.get(name=roles.LEADERS))

    assert client.get(reverse("triage")).status_code in (302, 403)


def test_a_deactivated_member_s_session_signs_nobody_in(client, hannah):
    client.force_login(hannah)
    hannah.is_active = False
    hannah.save()

    response = client.get(reverse("my_assignments"))

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


@pytest.mark.parametrize("username", ["hannah", "nobody-by-this-name"])
def test_a_failed_log_in_checks_the_password_once_and_counts_once(client, hannah, username):
    failures = []

    def count(sender, **kwargs):
        failures.append(kwargs)

    user_login_failed.connect(count, dispatch_uid="test-count")
    try:
        with mock.patch.object(
            ModelBackend, "authenticate", autospec=True, side_effect=ModelBackend.authenticate
        ) as spy:
            log_in(client, username, "wrong-password")
    finally:
        user_login_failed.disconnect(dispatch_uid="test-count")

    # RolesBackend's own call: the ModelBackend listed after it (for old
    # sessions) is never asked, so no password is hashed twice.
    assert spy.call_count == 1
    assert len(failures) == 1
    assert AccessAttempt.objects.get().failures_since_start == 1


# --- Sessions read by one statement (requests_app/web/sessions.py) ---------------


def test_a_session_saved_by_django_s_own_store_is_read(client, hannah):
    from django.contrib.sessions.backends.db import SessionStore as DjangosStore

    client.force_login(hannah)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value

    assert DjangosStore(key).load() == import_module(settings.SESSION_ENGINE).SessionStore(key).load()
    assert client.get(reverse("my_assignments")).status_code == 200


def test_an_expired_session_signs_nobody_in(client, hannah):
    client.force_login(hannah)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get(reverse("my_assignments"))

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


@pytest.mark.parametrize("key", ["", "x", "'; DROP TABLE django_session; --", "é" * 40, "a" * 500])
def test_an_odd_session_cookie_signs_nobody_in_and_changes_nothing(client, hannah, key):
    client.force_login(hannah)
    client.cookies[settings.SESSION_COOKIE_NAME] = key

    response = client.get(reverse("my_assignments"))

    assert response.status_code == 302
    assert Session.objects.count() == 1
