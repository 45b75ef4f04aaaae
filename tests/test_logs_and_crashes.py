"""
Logs and crash reports tell no secret: no request text, no name, no e-mail
address, no follow-up token.

- Every handler of settings.LOGGING redacts `/followup/<token>/` (and
  password-reset links, and query-string values) in what it writes.
- Every view that receives request text hides its POST and its variables
  from crash reports: the error e-mail to the admins and the debug page show
  stars where the text was.
- The app's own log lines carry ids and events, never text.
"""

import ast
import io
import logging
import re
from pathlib import Path

import pytest
from conftest import submit
from django.conf import settings as django_settings
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.mail.backends.base import BaseEmailBackend
from django.core.servers.basehttp import WSGIRequestHandler
from django.test import Client, RequestFactory
from django.urls import reverse

import requests_app
from requests_app import services
from requests_app.models import Assignment, OutboxMessage, PrayerRequest, Status, TeamRole
from requests_app.team import invitations
from requests_app.web.log_filters import ConfidentialExceptionReporterFilter, RedactSecrets, redact

STARS = "********************"
ADMIN = "admin-Ux4Qe@example.org"

MARKERS = {
    "for_whom": "Whom-Crash-Qz9Xv",
    "title": "Title-Crash-Lp2Bn",
    "details": "Details-Crash-Hs6Tm",
    "requester_name": "Name-Crash-Jd3Wk",
    "requester_email": "email-crash-Fv8Rc@example.org",
}
NOTE = "Note-Crash-Ye5Gz"


class FailingEmailBackend(BaseEmailBackend):
    """A mail server that is down and says who the mail was for."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError(f"cannot deliver to {email_messages[0].to}")


def redacting_handlers() -> list[logging.Handler]:
    seen = []
    for name in ["", "django", "django.request", "django.server", "django.security", "django.security.DisallowedHost"]:
        for handler in logging.getLogger(name or None).handlers:
            if any(isinstance(f, RedactSecrets) for f in handler.filters) and handler not in seen:
                seen.append(handler)
    return seen


@pytest.fixture
def log_output():
    """What the configured stream handlers (console, runserver's) write."""
    stream = io.StringIO()
    handlers = [handler for handler in redacting_handlers() if isinstance(handler, logging.StreamHandler)]
    assert handlers
    previous = [handler.setStream(stream) for handler in handlers]
    yield stream
    for handler, old in zip(handlers, previous, strict=True):
        handler.setStream(old)


def new_token(prayer_request: PrayerRequest) -> str:
    token = prayer_request.issue_followup_token()
    prayer_request.save(update_fields=["followup_token_hash"])
    return token


# --- The configuration -------------------------------------------------------------


@pytest.mark.parametrize(
    "logger_name",
    [
        "django.request",
        "django.server",
        "django.security.csrf",
        "django.security.DisallowedHost",
        "django.db.backends",
        "django.template",
        "requests_app.mail.notifications",
        "requests_app.views.public",
        "somewhere.else",
    ],
)
def test_it_redacts_in_every_handler_a_record_can_reach(logger_name):
    logger = logging.getLogger(logger_name)
    handlers = []
    while logger:
        handlers += logger.handlers
        logger = logger.parent if logger.propagate else None
    # pytest's own capture handlers aside.
    ours = [handler for handler in handlers if not type(handler).__module__.startswith("_pytest")]

    assert ours
    for handler in ours:
        assert any(isinstance(f, RedactSecrets) for f in handler.filters), handler


def test_it_never_logs_sql_with_its_parameters():
    assert logging.getLogger("django.db.backends").getEffectiveLevel() >= logging.INFO
    assert django_settings.LOGGING["loggers"]["django.db.backends"]["level"] == "INFO"


def test_it_e_mails_server_errors_but_not_bad_host_headers():
    loggers = django_settings.LOGGING["loggers"]
    assert "mail_admins" in loggers["django.request"]["handlers"]
    assert "mail_admins" not in loggers["django.security.DisallowedHost"]["handlers"]
    assert loggers["django.security.DisallowedHost"]["propagate"] is False


def test_it_uses_the_confidential_crash_report_filter():
    assert django_settings.DEFAULT_EXCEPTION_REPORTER_FILTER == (
        "requests_app.web.log_filters.ConfidentialExceptionReporterFilter"
    )


# --- Redaction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Not Found: /followup/abc-DEF_123/", "Not Found: /followup/[token]/"),
        ("/followup/abc/update/", "/followup/[token]/update/"),
        ('"POST /followup/abc/praise/ HTTP/1.1" 302 0', '"POST /followup/[token]/praise/ HTTP/1.1" 302 0'),
        ("https://church.example/followup/abc", "https://church.example/followup/[token]"),
        ("/accounts/password/reset/MQ/c3v-abc123/", "/accounts/password/reset/[uid]/[token]/"),
        ("/accounts/password/reset/sent/", "/accounts/password/reset/sent/"),
        ("Not Found: /accounts/welcome/Tk-abc_123/", "Not Found: /accounts/welcome/[token]/"),
        ('"POST /accounts/welcome/Tk-abc_123/ HTTP/1.1" 302 0', '"POST /accounts/welcome/[token]/ HTTP/1.1" 302 0'),
        ('"GET /requests/?q=Martha&page=2 HTTP/1.1"', '"GET /requests/?q=[redacted]&page=[redacted] HTTP/1.1"'),
        # A quote mark inside a value ends nothing: no "Brien" is left behind.
        ('"GET /requests/?q=O\'Brien HTTP/1.1"', '"GET /requests/?q=[redacted] HTTP/1.1"'),
        ("Not Found: '/requests/?q=Martha'", "Not Found: '/requests/?q=[redacted]"),
        ("Not Found: /requests/5/", "Not Found: /requests/5/"),
        ("Not Found: /followup/", "Not Found: /followup/"),
        # "Lost your link?" is a page, not a token; a token that starts with "lost" is a token.
        ('"POST /followup/lost/ HTTP/1.1" 302 0', '"POST /followup/lost/ HTTP/1.1" 302 0'),
        ("/followup/lost/sent/", "/followup/lost/sent/"),
        ("/followup/lostAbc-123/", "/followup/[token]/"),
        ("/followup/lost-x/update/", "/followup/[token]/update/"),
        (
            "follow-up e-mail for request 7 failed (SMTPException)",
            "follow-up e-mail for request 7 failed (SMTPException)",
        ),
    ],
)
def test_it_redacts_secret_paths_and_query_values(text, expected):
    assert redact(text) == expected


def record(msg, args=(), **extra) -> logging.LogRecord:
    made = logging.LogRecord("django.request", logging.WARNING, __file__, 1, msg, args, None)
    made.__dict__.update(extra)
    return made


def test_it_redacts_the_message_and_its_arguments():
    redacting = RedactSecrets()
    positional = record("%s: %s (%d)", ("Not Found", "/followup/Secret-Tk1/", 404))
    named = record("%(path)s", ({"path": "/followup/Secret-Tk2/"},))

    assert redacting.filter(positional) is True
    assert redacting.filter(named) is True

    assert positional.getMessage() == "Not Found: /followup/[token]/ (404)"
    assert named.getMessage() == "/followup/[token]/"


def test_it_redacts_the_traceback():
    try:
        raise ValueError("could not open /followup/Secret-Tk3/")
    except ValueError:
        import sys

        failing = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    RedactSecrets().filter(failing)

    text = logging.Formatter().format(failing)
    assert "Secret-Tk3" not in text
    assert "/followup/[token]/" in text


def test_it_redacts_a_copy_of_the_request_and_leaves_the_request_alone():
    request = RequestFactory().get(
        "/followup/Secret-Tk4/?q=Martha", HTTP_REFERER="https://church.example/followup/Secret-Tk4/"
    )
    logged = record("%s", ("x",), request=request)

    RedactSecrets().filter(logged)

    copy = logged.request
    assert copy is not request
    assert copy.path == copy.path_info == "/followup/[token]/"
    assert copy.get_full_path() == "/followup/%5Btoken%5D/?q=[redacted]"
    assert copy.META["HTTP_REFERER"] == "https://church.example/followup/[token]/"
    assert copy.GET["q"] == "[redacted]"
    assert request.path == "/followup/Secret-Tk4/"
    assert request.GET["q"] == "Martha"


def test_it_leaves_runserver_s_socket_alone():
    sock = object()
    logged = record('"%s" %s %s', ("GET /followup/Secret-Tk5/ HTTP/1.1", "200", "10"), request=sock)

    RedactSecrets().filter(logged)

    assert logged.request is sock
    assert logged.getMessage() == '"GET /followup/[token]/ HTTP/1.1" 200 10'


# --- Tokens in real log lines ---------------------------------------------------------


def test_it_logs_a_wrong_followup_link_without_its_token(client, db, log_output, caplog):
    with caplog.at_level(logging.WARNING):
        get = client.get("/followup/Wrong-Token-Ah7Kp/")
        post = client.post("/followup/Wrong-Token-Ah7Kp/update/", {"update-note": NOTE})

    assert (get.status_code, post.status_code) == (404, 404)
    written = log_output.getvalue()
    assert "Not Found: /followup/[token]/" in written
    assert "Not Found: /followup/[token]/update/" in written
    for text in (written, caplog.text, *[r.getMessage() for r in caplog.records]):
        assert "Wrong-Token-Ah7Kp" not in text
        assert NOTE not in text


def test_it_logs_a_link_to_choose_a_password_without_its_token(client, db, log_output, caplog):
    with caplog.at_level(logging.WARNING):
        get = client.get("/accounts/welcome/Wrong-Token-Ch4Pw-xxxxxxxxxxxxxxxx/")
        post = client.post(
            "/accounts/welcome/Wrong-Token-Ch4Pw-xxxxxxxxxxxxxxxx/",
            {"new_password1": "Pw-Crash-Rt6Yu", "new_password2": "Pw-Crash-Rt6Yu"},
        )

    assert (get.status_code, post.status_code) == (404, 404)
    written = log_output.getvalue()
    assert "Not Found: /accounts/welcome/[token]/" in written
    for text in (written, caplog.text, *[r.getMessage() for r in caplog.records]):
        assert "Wrong-Token-Ch4Pw" not in text
        assert "Pw-Crash-Rt6Yu" not in text


def test_it_logs_a_spent_invitation_link_without_its_token(client, leader, log_output, caplog):
    invitations.invite(email="phoebe@example.org", name="Phoebe Deacon", role=TeamRole.INTERCESSOR, by=leader)
    path = re.search(r"/accounts/welcome/[A-Za-z0-9_-]+/", OutboxMessage.objects.get().body_text).group(0)
    token = path.split("/")[-2]
    choose = {"new_password1": "Pw-Crash-Rt6Yu", "new_password2": "Pw-Crash-Rt6Yu"}
    assert client.post(path, choose).status_code == 302

    with caplog.at_level(logging.WARNING):
        get = Client().get(path)
        post = Client().post(path, choose)

    assert (get.status_code, post.status_code) == (404, 404)
    written = log_output.getvalue()
    assert "Not Found: /accounts/welcome/[token]/" in written
    for text in (written, caplog.text, *[r.getMessage() for r in caplog.records]):
        assert token not in text
        assert "Pw-Crash-Rt6Yu" not in text


def test_it_logs_a_refused_csrf_check_without_the_token(db, log_output):
    token = new_token(submit())
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(
        reverse("followup_update", args=[token]),
        {"update-note": NOTE},
        HTTP_REFERER=f"http://testserver/followup/{token}/",
    )

    assert response.status_code == 403
    written = log_output.getvalue()
    assert "Forbidden (CSRF cookie not set.): /followup/[token]/update/" in written
    assert token not in written
    assert NOTE not in written


def test_it_logs_a_refused_change_in_one_line_without_a_traceback(
    client, request_in, assigned_intercessor, log_output, caplog
):
    prayer_request = request_in(Status.INTERCEDING)
    client.force_login(assigned_intercessor)  # sees the request, may not assign
    logged_in = len(log_output.getvalue())

    with caplog.at_level(logging.WARNING):
        response = client.get(reverse("request_assign", args=[prayer_request.pk]))

    assert response.status_code == 403
    written = log_output.getvalue()[logged_in:]
    lines = written.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].endswith(
        f"WARNING django.request Forbidden (Permission denied): /requests/{prayer_request.pk}/assign/"
    )
    assert "Traceback" not in written + caplog.text
    (forbidden,) = [record for record in caplog.records if record.name == "django.request"]
    assert forbidden.exc_info is None


def test_it_logs_a_forbidden_secret_path_in_one_redacted_line(log_output):
    try:
        raise PermissionDenied("You may not change this request.")
    except PermissionDenied as refusal:
        logging.getLogger("django.request").warning(
            "Forbidden (Permission denied): %s", "/followup/Secret-Tk7/", exc_info=refusal
        )

    written = log_output.getvalue()
    assert written.splitlines()[-1].endswith(
        "WARNING django.request Forbidden (Permission denied): /followup/[token]/"
    )
    assert "Traceback" not in written
    assert "Secret-Tk7" not in written


def test_it_keeps_the_traceback_of_a_crash(log_output):
    try:
        raise RuntimeError("forced failure")
    except RuntimeError as crash:
        logging.getLogger("django.request").error("Internal Server Error: %s", "/requests/1/", exc_info=crash)

    assert "Traceback" in log_output.getvalue()
    assert "RuntimeError: forced failure" in log_output.getvalue()


def test_it_writes_runserver_s_access_log_without_tokens_or_searches(log_output):
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.request = object()

    handler.log_message('"%s" %s %s', "GET /followup/Secret-Tk6/?page=2 HTTP/1.1", "200", "5120")
    handler.log_message('"%s" %s %s', "GET /requests/?q=Martha HTTP/1.1", "200", "4096")

    written = log_output.getvalue()
    assert '"GET /followup/[token]/?page=[redacted] HTTP/1.1" 200 5120' in written
    assert '"GET /requests/?q=[redacted] HTTP/1.1" 200 4096' in written
    assert "Secret-Tk6" not in written
    assert "Martha" not in written


# --- The app's own log lines ------------------------------------------------------------

LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
# What a log call of the app may never mention: request text, people, links.
FORBIDDEN_IN_LOGS = {
    "for_whom",
    "title",
    "details",
    "note",
    "requester_name",
    "requester_email",
    "email",
    "token",
    "link",
    "cleaned_data",
    "POST",
    "body",
    "path",
    "get_full_path",
    "build_absolute_uri",
    "username",
    "get_full_name",
}


def log_calls():
    """Every `logger.<level>(...)` / `logging.<level>(...)` in requests_app,
    with the names its arguments use."""
    root = Path(requests_app.__file__).parent
    for source in sorted(root.rglob("*.py")):
        if "migrations" in source.parts:
            continue
        for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LOG_METHODS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"logger", "logging", "log"}
            ):
                names = set()
                for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
                    for inner in ast.walk(argument):
                        if isinstance(inner, ast.Name):
                            names.add(inner.id)
                        elif isinstance(inner, ast.Attribute):
                            names.add(inner.attr)
                yield f"{source.relative_to(root)}:{node.lineno}", names


def test_it_finds_the_app_s_log_calls():
    assert any(where.startswith("mail/outbox.py") for where, _names in log_calls())


def test_it_never_hands_request_text_people_or_links_to_a_log_call():
    for where, names in log_calls():
        assert not names & FORBIDDEN_IN_LOGS, f"{where} logs {sorted(names & FORBIDDEN_IN_LOGS)}"


def test_it_logs_a_failed_e_mail_with_the_request_id_only(
    client, db, settings, caplog, log_output, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "test_logs_and_crashes.FailingEmailBackend"
    data = {**MARKERS, "consent": "knows", "category": "health", "is_confidential": "on", "wants_updates": "on"}

    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("ask"), data).status_code == 302
    prayer_request = PrayerRequest.objects.get()
    link = client.get(reverse("ask_sent")).context["link"]

    written = log_output.getvalue() + caplog.text
    assert f"follow-up e-mail for request {prayer_request.pk} failed (ConnectionRefusedError)" in written
    for secret in (*MARKERS.values(), link, link.rstrip("/").rsplit("/", 1)[-1]):
        assert secret not in written


def test_it_logs_refused_submissions_without_their_text(client, db, settings, caplog, log_output):
    settings.INTERCESSION_SUBMIT_LIMIT = 1
    data = {**MARKERS, "consent": "knows", "category": "health", "is_confidential": "on"}

    with caplog.at_level(logging.DEBUG):
        client.post(reverse("ask"), {**data, "website": "spam"})
        client.post(reverse("ask"), data)
        client.post(reverse("ask"), data)

    written = log_output.getvalue() + caplog.text
    assert "request refused: the honeypot was filled" in written
    assert "request refused: rate limit" in written
    for secret in MARKERS.values():
        assert secret not in written


# --- Crash reports ----------------------------------------------------------------------


def boom(*args, **kwargs):
    """Stands in for a service that fails: its arguments (the text) are on
    its frame, where a crash report would look."""
    raise RuntimeError("forced failure")


@pytest.fixture
def crash_cases(db, leader, assigned_intercessor, other_intercessor, request_in):
    """Every view that receives request text: who posts, where, what, and
    the service that fails. Built lazily, one per test."""

    def ask():
        data = {**MARKERS, "consent": "knows", "category": "health", "is_confidential": "on", "wants_updates": "on"}
        return None, reverse("ask"), data, "submit_request"

    def followup_update():
        token = new_token(submit())
        return None, reverse("followup_update", args=[token]), {"update-note": NOTE}, "post_update"

    def followup_praise():
        token = new_token(request_in(Status.INTERCEDING))
        return None, reverse("followup_praise", args=[token]), {"praise-note": NOTE}, "move"

    def followup_withdraw():
        token = new_token(submit())
        return None, reverse("followup_withdraw", args=[token]), {"withdraw-note": NOTE}, "move"

    def request_move():
        pk = request_in(Status.INTERCEDING).pk
        data = {"to_status": "breakthrough", "note": NOTE, "visibility": "team"}
        return leader, reverse("request_move", args=[pk]), data, "move"

    def request_update():
        pk = request_in(Status.INTERCEDING).pk
        data = {"note": NOTE, "visibility": "team"}
        return assigned_intercessor, reverse("request_update", args=[pk]), data, "post_update"

    def request_pray():
        pk = request_in(Status.INTERCEDING).pk
        data = {"minutes": "10", "note": NOTE, "submission_key": "crash-1"}
        return assigned_intercessor, reverse("request_pray", args=[pk]), data, "log_prayer"

    def assignment_release():
        prayer_request = request_in(Status.INTERCEDING)
        assignment = Assignment.objects.active().get(prayer_request=prayer_request, intercessor=assigned_intercessor)
        return leader, reverse("assignment_release", args=[assignment.pk]), {"note": NOTE}, "release"

    def assignment_reassign():
        prayer_request = request_in(Status.INTERCEDING)
        assignment = Assignment.objects.active().get(prayer_request=prayer_request, intercessor=assigned_intercessor)
        data = {"intercessor": str(other_intercessor.pk), "note": NOTE}
        return leader, reverse("assignment_reassign", args=[assignment.pk]), data, "reassign"

    def request_assign():
        pk = request_in(Status.NEW).pk
        # No text field today; anything posted is hidden all the same.
        data = {"intercessors": [str(assigned_intercessor.pk)], "note": NOTE}
        return leader, reverse("request_assign", args=[pk]), data, "assign"

    return {case.__name__: case for case in locals().values() if callable(case)}


CRASHING_VIEWS = [
    "ask",
    "followup_update",
    "followup_praise",
    "followup_withdraw",
    "request_move",
    "request_update",
    "request_pray",
    "assignment_release",
    "assignment_reassign",
    "request_assign",
]


def crash(crash_cases, name, monkeypatch):
    user, url, data, service = crash_cases[name]()
    monkeypatch.setattr(services, service, boom)
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client.post(url, data), url, data


def secrets_of(url: str, data: dict) -> list[str]:
    texts = [value for value in data.values() if isinstance(value, str) and "crash" in value.lower()]
    if "/followup/" in url:
        texts.append(url.split("/")[2])
    return texts


@pytest.mark.parametrize("name", CRASHING_VIEWS)
def test_it_e_mails_the_admins_a_crash_report_without_the_text(crash_cases, name, monkeypatch, settings, log_output):
    settings.ADMINS = [("Admin", ADMIN)]
    settings.DEBUG = False

    response, url, data = crash(crash_cases, name, monkeypatch)

    assert response.status_code == 500
    (report,) = [message for message in mail.outbox if message.to == [ADMIN]]
    assert "RuntimeError" in report.body
    assert "forced failure" in report.body
    assert STARS in report.body
    secrets = secrets_of(url, data)
    assert secrets
    for secret in secrets:
        assert secret not in report.subject
        assert secret not in report.body
        assert secret not in log_output.getvalue()
    assert "Internal Server Error" in log_output.getvalue()
    if "/followup/" in url:
        assert "/followup/[token]/" in report.subject
        assert "/followup/[token]/" in report.body


@pytest.mark.parametrize("name", CRASHING_VIEWS)
def test_it_shows_no_text_on_the_debug_page(crash_cases, name, monkeypatch, settings):
    settings.DEBUG = True

    response, _url, data = crash(crash_cases, name, monkeypatch)

    assert response.status_code == 500
    page = response.content.decode()
    assert "RuntimeError" in page
    assert "forced failure" in page
    assert STARS in page
    for secret in secrets_of("", data):
        assert secret not in page


def test_it_hides_token_like_variables_and_request_paths_in_crash_frames(rf):
    request = rf.get("/followup/Secret-Tk7/")
    report_filter = ConfidentialExceptionReporterFilter()

    def failing(request, token, callback_kwargs, next_url):
        raise RuntimeError("forced failure")

    try:
        failing(request, "Secret-Tk7", {"token": "Secret-Tk7"}, "/followup/Secret-Tk7/update/")
    except RuntimeError as error:
        frame = error.__traceback__.tb_next.tb_frame

    variables = dict(report_filter.get_traceback_frame_variables(request, frame))

    assert variables["token"] == STARS
    assert variables["callback_kwargs"] == {"token": STARS}
    assert variables["next_url"] == "/followup/[token]/update/"
    assert "Secret-Tk7" not in variables["request"]
    assert report_filter.get_safe_request_meta(request)["PATH_INFO"] == "/followup/[token]/"
