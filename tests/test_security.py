"""The deploy check, security headers, cookies, session timeouts, hashing.

Production settings are read in a clean subprocess (the suite itself runs
with test settings); headers are read from real responses of the stack.
"""

import os
import re
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import PASSWORD, make_user
from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from requests_app import roles
from requests_app.models import PrayerLog, Status
from requests_app.web.middleware import LAST_SEEN_AT, LOGGED_IN_AT, NoStoreMiddleware

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"

CSP = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
)
TIMED_OUT = "You were logged out after a time without activity"


def production_env(**extra: str) -> dict[str, str]:
    """What an operator sets: a long random key, an encryption key, the host, DEBUG left off."""
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "INTERCESSION_ENCRYPTION_KEYS": os.environ["INTERCESSION_ENCRYPTION_KEYS"],
        "DJANGO_ALLOWED_HOSTS": "pray.example.org",
        **extra,
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def production_settings(expression: str, **extra: str) -> str:
    result = run(production_env(**extra), "-c", f"import intercession.settings as s; print({expression})")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# --- Deploy check --------------------------------------------------------


def test_it_passes_the_deploy_check_with_production_settings():
    result = run(production_env(), "manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_fails_the_deploy_check_with_debug_on():
    # The test above is not passing by checking nothing.
    result = run(production_env(DJANGO_DEBUG="1"), "manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode != 0
    assert "security.W018" in result.stderr


# --- Cookies, sessions and passwords in production -------------------------


def test_it_sends_cookies_secure_http_only_and_same_site_in_production():
    assert production_settings(
        "s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE,"
        " s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY, s.CSRF_COOKIE_SAMESITE"
    ) == ("True True Lax True True Lax")


def test_it_has_production_security_headers_settings():
    assert production_settings(
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS,"
        " s.SECURE_CONTENT_TYPE_NOSNIFF, s.SECURE_REFERRER_POLICY, s.X_FRAME_OPTIONS,"
        " s.SECURE_CROSS_ORIGIN_OPENER_POLICY, s.TRUSTED_PROXY_COUNT"
    ) == ("True 31536000 True True same-origin DENY same-origin 0")


def test_it_times_sessions_out_after_30_minutes_idle_and_12_hours_by_default():
    assert production_settings("s.SESSION_IDLE_SECONDS, s.SESSION_ABSOLUTE_SECONDS, s.SESSION_COOKIE_AGE") == (
        "1800 43200 43200"
    )


def test_it_reads_the_session_timeouts_from_the_environment():
    assert production_settings(
        "s.SESSION_IDLE_SECONDS, s.SESSION_ABSOLUTE_SECONDS",
        DJANGO_SESSION_IDLE_SECONDS="600",
        DJANGO_SESSION_ABSOLUTE_SECONDS="3600",
    ) == ("600 3600")


def test_it_hashes_with_argon2_first_and_validates_passwords():
    assert production_settings(
        "s.PASSWORD_HASHERS[0], [v['NAME'].rsplit('.', 1)[1] for v in s.AUTH_PASSWORD_VALIDATORS]"
    ) == (
        "django.contrib.auth.hashers.Argon2PasswordHasher ['UserAttributeSimilarityValidator',"
        " 'MinimumLengthValidator', 'CommonPasswordValidator', 'NumericPasswordValidator']"
    )


def test_it_stores_a_new_password_with_argon2(db, settings):
    import intercession.settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    user = make_user("hannah")

    assert user.password.startswith("argon2$")


# --- Security headers ----------------------------------------------------


def assert_security_headers(response) -> None:
    policy = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    assert sorted(policy) == sorted(CSP)
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= directives


@pytest.fixture
def team_page(client, leader):
    client.force_login(leader)
    return client.get(reverse("triage"), secure=True)


def test_it_sends_the_security_headers_on_a_public_page(client, db):
    response = client.get(reverse("ask"), secure=True)

    assert response.status_code == 200
    assert_security_headers(response)


def test_it_sends_the_security_headers_on_a_team_page(team_page):
    assert team_page.status_code == 200
    assert_security_headers(team_page)


def test_it_sends_the_security_headers_on_a_404(client, leader):
    client.force_login(leader)

    response = client.get("/no/such/page/", secure=True)

    assert response.status_code == 404
    assert_security_headers(response)


def test_it_sends_the_security_headers_on_a_redirect(client, db):
    response = client.get(reverse("home"), secure=True)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert_security_headers(response)


def test_it_sends_the_security_headers_on_a_403(client, assigned_intercessor):
    client.force_login(assigned_intercessor)

    response = client.get(reverse("triage"), secure=True)

    assert response.status_code == 403
    assert_security_headers(response)


def test_it_sends_the_security_headers_on_the_admin(client, superuser):
    client.force_login(superuser)

    response = client.get(reverse("admin:index"), secure=True)

    assert response.status_code == 200
    assert_security_headers(response)


def test_it_keeps_what_never_cache_says_on_the_followup_page(client, request_in):
    prayer_request = request_in(Status.INTERCEDING)
    token = prayer_request.issue_followup_token()
    prayer_request.save(update_fields=["followup_token_hash"])

    response = client.get(reverse("followup", args=[token]), secure=True)

    assert response.status_code == 200
    assert_security_headers(response)
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert directives >= {"max-age=0", "no-cache", "no-store", "must-revalidate", "private"}
    assert "Expires" in response


def test_it_marks_every_logged_in_page_no_store(client, leader, request_in):
    prayer_request = request_in(Status.INTERCEDING)
    client.force_login(leader)

    for url in (reverse("home"), reverse("request_list"), reverse("request_detail", args=[prayer_request.pk])):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url


def test_it_leaves_static_files_to_their_own_caching():
    def static_file(request):
        response = HttpResponse(b"body{}", content_type="text/css")
        response["Cache-Control"] = "public, max-age=31536000, immutable"
        return response

    middleware = NoStoreMiddleware(static_file)

    static = middleware(RequestFactory().get("/static/css/intercession.css"))
    page = middleware(RequestFactory().get("/ask/"))

    assert static["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "no-store" in page["Cache-Control"]
    assert "public" not in page["Cache-Control"]


# --- Templates: nothing the policy would block ---------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)


@pytest.mark.parametrize(
    "template",
    sorted(TEMPLATES.rglob("*.html")),
    ids=lambda path: str(path.relative_to(TEMPLATES)),
)
def test_it_has_no_inline_script_or_style_in_templates(template):
    text = template.read_text()

    for pattern in (INLINE_SCRIPT, EVENT_HANDLER, STYLE_ATTRIBUTE, STYLE_ELEMENT, JAVASCRIPT_URL):
        assert not pattern.search(text), f"{template.name}: {pattern.pattern}"


# --- Session timeouts ----------------------------------------------------


def set_clock(client, *, logged_in_ago: int, last_seen_ago: int) -> None:
    now = int(time.time())
    session = client.session
    session[LOGGED_IN_AT] = now - logged_in_ago
    session[LAST_SEEN_AT] = now - last_seen_ago
    session.save()


def shown_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_it_keeps_an_active_session(client, leader):
    client.force_login(leader)
    set_clock(client, logged_in_ago=11 * 3600, last_seen_ago=29 * 60)

    response = client.get(reverse("triage"))

    assert response.status_code == 200
    assert response.context["user"] == leader


def test_it_logs_out_after_30_minutes_without_activity(client, leader):
    client.force_login(leader)
    set_clock(client, logged_in_ago=40 * 60, last_seen_ago=30 * 60 + 1)

    response = client.get(reverse("triage") + "?page=2")

    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/triage/%3Fpage%3D2"
    assert "_auth_user_id" not in client.session
    login_page = client.get(response["Location"])
    assert TIMED_OUT in login_page.content.decode()
    assert client.get(reverse("triage")).status_code == 302


def test_it_logs_out_12_hours_after_logging_in_however_active(client, leader):
    client.force_login(leader)
    set_clock(client, logged_in_ago=12 * 3600 + 1, last_seen_ago=10)

    response = client.get(reverse("home"), follow=True)

    assert response.redirect_chain[0] == (reverse("login") + "?next=/", 302)
    assert response.context["user"].is_anonymous
    assert any(TIMED_OUT in message for message in shown_messages(response))


def test_it_refuses_a_post_after_the_timeout_and_changes_nothing(client, assigned_intercessor, request_in):
    prayer_request = request_in(Status.INTERCEDING)
    client.force_login(assigned_intercessor)
    set_clock(client, logged_in_ago=3600, last_seen_ago=31 * 60)

    response = client.post(
        reverse("request_pray", args=[prayer_request.pk]), {"minutes": "10", "submission_key": "k-1"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert not PrayerLog.objects.filter(prayer_request=prayer_request).exists()
    assert "_auth_user_id" not in client.session
    # The same POST in a live session does log the prayer.
    client.force_login(assigned_intercessor)
    client.post(reverse("request_pray", args=[prayer_request.pk]), {"minutes": "10", "submission_key": "k-1"})
    assert PrayerLog.objects.filter(prayer_request=prayer_request).count() == 1


def test_it_times_out_on_public_pages_too(client, leader):
    client.force_login(leader)
    set_clock(client, logged_in_ago=3600, last_seen_ago=31 * 60)

    response = client.get(reverse("ask"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_it_reads_the_timeouts_from_settings(client, leader, settings):
    settings.SESSION_IDLE_SECONDS = 120
    client.force_login(leader)
    set_clock(client, logged_in_ago=200, last_seen_ago=121)

    assert client.get(reverse("triage")).status_code == 302


def test_it_records_activity_at_most_once_a_minute(client, leader):
    client.force_login(leader)
    set_clock(client, logged_in_ago=600, last_seen_ago=30)
    before = client.session[LAST_SEEN_AT]

    assert client.get(reverse("triage")).status_code == 200
    assert client.session[LAST_SEEN_AT] == before

    set_clock(client, logged_in_ago=600, last_seen_ago=90)
    assert client.get(reverse("triage")).status_code == 200
    assert abs(client.session[LAST_SEEN_AT] - int(time.time())) <= 2
    assert abs(client.session[LOGGED_IN_AT] - (int(time.time()) - 600)) <= 2


def test_it_does_not_write_the_session_on_a_quiet_request(client, leader):
    client.force_login(leader)
    set_clock(client, logged_in_ago=600, last_seen_ago=30)
    client.get(reverse("triage"))
    session_key = client.session.session_key

    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("triage"))

    writes = [q["sql"] for q in captured.captured_queries if "django_session" in q["sql"] and "SELECT" not in q["sql"]]
    assert writes == []
    assert client.session.session_key == session_key


def test_it_starts_the_clocks_when_logging_in_through_the_form(client, db):
    make_user("hannah", roles.INTERCESSORS)

    response = client.post(reverse("login"), {"username": "hannah", "password": PASSWORD})

    assert response.status_code == 302
    now = int(time.time())
    assert abs(client.session[LOGGED_IN_AT] - now) <= 2
    assert abs(client.session[LAST_SEEN_AT] - now) <= 2


def test_it_counts_a_session_without_clocks_from_the_last_login(client, leader):
    # A session from before the timeouts existed: its user's last log-in is
    # taken as its start, so an old one does not live on.
    client.force_login(leader)
    leader.last_login -= timedelta(hours=13)
    leader.save(update_fields=["last_login"])

    response = client.get(reverse("triage"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
