"""
"Lost your link?" (/followup/lost/) and the page on following a request
(/followup/): a requester who gave an e-mail address gets a fresh link to
each of their requests, in one e-mail, and the old links stop working.

The page answers the same for an address it knows and one it does not,
and it looks nothing up before answering: the lookup, the new tokens and the
e-mail run once the response has been sent (`requests_app.web.after_response`).
No timing is measured here: the tests show where the work runs instead,
in-process (no query before the response) and with the app served for real
by gunicorn and by runserver (the answer arrives while the mail server is
still holding the e-mail back).
"""

import re
import socketserver
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest
from conftest import make_user
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from fault_helpers import GUNICORN, ROOT, START_SECONDS, Browser, app_env, collected_static, free_port, manage
from test_outbox import _free_port, _make_due, _SMTPHandler

from requests_app import roles, services
from requests_app.models import Category, OutboxMessage, PrayerRequest, Status, Visibility, hash_token
from requests_app.views import public
from requests_app.web import ratelimit
from requests_app.web.after_response import after_response

HELP, LOST, SENT = reverse("followup_help"), reverse("followup_lost"), reverse("followup_lost_sent")
SITE = "https://pray.example.org"
ADDRESS = "martha@example.org"
UNKNOWN = "nobody-here@example.org"
OTHER = "jo@example.org"
FOR_WHOM, TITLE, DETAILS, NAME = "Whom-Marker-q7t", "Title-Marker-k2w", "Details-Marker-p9d", "Name-Marker-h4s"
NOT_RECOVERABLE = "Requests sent without an e-mail address cannot be recovered"
# A moment well inside one rate-limit window, whatever the window.
FROZEN_NOW = 1_800_000_000.0
FOLLOWUP_LINK = re.compile(r"https://pray\.example\.org(/followup/[A-Za-z0-9_-]{20,}/)")


@pytest.fixture(autouse=True)
def _site(settings, monkeypatch):
    settings.INTERCESSION_SITE_URL = SITE
    settings.INTERCESSION_LOST_LINK_LIMIT = 3
    # The limiter's clock stands still, so no test straddles the end of a window.
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: FROZEN_NOW))


def ask(email: str = ADDRESS, **fields) -> tuple[PrayerRequest, str]:
    return services.submit_request(
        for_whom=FOR_WHOM,
        title=TITLE,
        category=Category.HEALTH,
        details=DETAILS,
        requester_name=NAME,
        requester_email=email,
        **fields,
    )


def lose(client: Client, email: str, *, ip: str = "203.0.113.7", **extra):
    """Ask for new links as a client at `ip`."""
    return client.post(LOST, {"email": email, **extra}, REMOTE_ADDR=ip)


@pytest.fixture
def asked(db, django_capture_on_commit_callbacks):
    """`asked(client, email)`: ask for new links, with the e-mail delivered;
    returns (response, e-mails sent)."""

    def run(client: Client, email: str, **kwargs):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = lose(client, email, **kwargs)
        return response, list(mail.outbox)

    return run


def hashes() -> dict[int, str]:
    return dict(PrayerRequest.objects.values_list("pk", "followup_token_hash"))


def links_in(message) -> list[str]:
    return FOLLOWUP_LINK.findall(message.body)


def close(response) -> None:
    """What the server does once it has sent the response, as the test
    client does it: without closing the test's database connection."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def _headers(response) -> dict[str, str]:
    """Every header, but the clock's (`Expires` is "now")."""
    return {name: value for name, value in response.items() if name != "Expires"}


def _page(response) -> str:
    text = response.content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', text)


# --- The same answer for every address ----------------------------------------------


def test_it_answers_a_known_and_an_unknown_address_exactly_alike(asked):
    ask(ADDRESS)

    known, known_mail = asked(Client(), ADDRESS, ip="203.0.113.1")
    unknown, unknown_mail = asked(Client(), UNKNOWN, ip="203.0.113.2")
    known_page, unknown_page = Client().get(known["Location"]), Client().get(unknown["Location"])

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == SENT
    assert known.content == unknown.content == b""
    assert _headers(known) == _headers(unknown)
    assert known.cookies.keys() == unknown.cookies.keys() == set()
    assert known_page.status_code == unknown_page.status_code == 200
    assert _page(known_page) == _page(unknown_page)
    assert "If we know this address, we have sent it a new private link" in _page(known_page)
    assert (len(known_mail), len(unknown_mail)) == (1, 0)


def test_it_looks_nothing_up_before_the_response_is_sent(db, django_capture_on_commit_callbacks):
    """The view returns its answer without a single query, for a known
    address as for an unknown one; the lookup, the new tokens and the
    e-mail come when the server closes the response, after sending it."""
    ask(ADDRESS)
    before_any = hashes()
    for address, e_mails in ((UNKNOWN, 0), (ADDRESS, 1)):
        request = RequestFactory().post(LOST, {"email": address})
        request.user = AnonymousUser()
        mail.outbox.clear()

        with CaptureQueriesContext(connection) as until_the_response:
            response = public.followup_lost(request)
        nothing_yet = (hashes(), OutboxMessage.objects.count(), len(mail.outbox))
        with CaptureQueriesContext(connection) as once_sent, django_capture_on_commit_callbacks(execute=True):
            close(response)

        assert (response.status_code, response["Location"]) == (302, SENT)
        assert until_the_response.captured_queries == []
        assert nothing_yet == (before_any, 0, 0)
        assert any("requests_app_prayerrequest" in query["sql"] for query in once_sent.captured_queries)
        assert len(mail.outbox) == e_mails
    assert hashes() != before_any


# --- New links ----------------------------------------------------------------------


def test_it_sends_one_e_mail_whose_new_links_all_work_and_the_old_ones_stop(asked):
    first, first_token = ask(ADDRESS)
    second, second_token = ask(ADDRESS, is_confidential=False)
    _other, other_token = ask(OTHER)
    other_hash = PrayerRequest.objects.of_address(OTHER).get().followup_token_hash
    client = Client()

    response, sent = asked(client, ADDRESS)

    assert response.status_code == 302
    (message,) = sent
    assert message.to == [ADDRESS]
    assert message.subject == "[Intercession] Your new follow-up links"
    new_links = links_in(message)
    assert len(new_links) == len(set(new_links)) == 2
    assert [client.get(link).status_code for link in new_links] == [200, 200]
    assert {client.get(link).context["prayer_request"].pk for link in new_links} == {first.pk, second.pk}
    for old in (first_token, second_token):
        assert client.get(reverse("followup", args=[old])).status_code == 404
    # Another requester's request is untouched, its link still works.
    assert PrayerRequest.objects.of_address(OTHER).get().followup_token_hash == other_hash
    assert client.get(reverse("followup", args=[other_token])).status_code == 200
    # The links are stored hashed only.
    assert all(hash_token(link.split("/")[2]) in hashes().values() for link in new_links)


def test_it_numbers_the_requests_by_date_and_says_nothing_of_them(asked):
    first, _ = ask(ADDRESS)
    second, _ = ask(ADDRESS)

    _response, (message,) = asked(Client(), ADDRESS)

    everything = "\n".join([message.subject, message.body, *(content for content, _type in message.alternatives)])
    for text in (FOR_WHOM, TITLE, DETAILS, NAME, "Healing", "health"):
        assert text not in everything
    for number, prayer_request in enumerate([first, second], start=1):
        sent_on = date_format(timezone.localtime(prayer_request.created_at))
        assert f"Request {number} (sent on {sent_on})" in message.body
    assert "the old links no longer work" in message.body


def test_it_matches_the_address_whatever_its_case_and_sends_to_the_address_as_given(asked):
    ask("Martha@Example.org")

    _response, (message,) = asked(Client(), "  MARTHA@example.ORG ")

    assert message.to == ["Martha@Example.org"]
    assert len(links_in(message)) == 1


def test_it_sends_each_spelling_of_an_address_its_own_links(asked):
    """Two requests given as "Martha@…" and "martha@…": both found, and the
    links of one never go to the spelling of the other."""
    ask("Martha@example.org")
    ask("martha@example.org")

    _response, sent = asked(Client(), ADDRESS)

    assert sorted(message.to[0] for message in sent) == ["Martha@example.org", "martha@example.org"]
    assert [len(links_in(message)) for message in sent] == [1, 1]


def test_it_keeps_the_links_out_of_the_outbox_once_sent(asked):
    ask(ADDRESS)

    asked(Client(), ADDRESS)

    (kept,) = OutboxMessage.objects.all()
    assert (kept.kind, kept.to) == ("followup_links", ADDRESS)
    assert kept.sent_at is not None
    assert kept.body_text == kept.body_html == ""
    assert kept.prayer_request is None


def test_it_keeps_new_links_for_send_outbox_while_the_mail_server_is_down(asked, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 5
    _request, old_token = ask(ADDRESS)

    asked(Client(), ADDRESS)

    (waiting,) = OutboxMessage.objects.all()
    assert (waiting.sent_at, waiting.attempts, waiting.last_error) == (None, 1, "ConnectionRefusedError")
    link = FOLLOWUP_LINK.search(waiting.body_text).group(1)
    assert Client().get(link).status_code == 200
    assert Client().get(reverse("followup", args=[old_token])).status_code == 404
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _make_due()
    call_command("send_outbox")
    (message,) = mail.outbox
    assert links_in(message) == [link]
    waiting.refresh_from_db()
    assert waiting.body_text == ""


# --- Without an address, nothing to recover ---------------------------------------


def test_it_says_a_request_without_an_e_mail_cannot_be_recovered(asked):
    ask("")
    before = hashes()

    lost_page = Client().get(LOST).content.decode()
    help_page = Client().get(HELP).content.decode()
    _response, sent = asked(Client(), ADDRESS)

    assert NOT_RECOVERABLE in lost_page
    assert "A request sent without an e-mail address cannot be recovered" in help_page
    assert sent == []
    assert hashes() == before


# --- Rate limits ------------------------------------------------------------------------


def _too_many(response) -> bool:
    return (
        response.status_code == 429
        and "Too many requests for new links — please wait an hour and try again" in response.content.decode()
    )


@pytest.mark.parametrize("address", [ADDRESS, UNKNOWN])
def test_it_limits_one_client_whatever_the_address(asked, address):
    ask(ADDRESS)
    client = Client()
    for number in range(3):
        assert asked(client, f"someone-{number}@example.org")[0].status_code == 302
    before = hashes()

    response, sent = asked(client, address)

    assert _too_many(response)
    assert sent == []
    assert hashes() == before
    # The form again, with what was typed.
    assert f'value="{address}"' in response.content.decode()


def test_it_limits_one_address_whatever_the_client(asked):
    ask(ADDRESS)
    for number in range(3):
        assert len(asked(Client(), ADDRESS, ip=f"198.51.100.{number}")[1]) == 1
    before = hashes()

    response, sent = asked(Client(), "Martha@Example.ORG", ip="192.0.2.99")

    assert _too_many(response)
    assert sent == []
    assert hashes() == before
    # Another address from that client is still served.
    assert asked(Client(), OTHER, ip="192.0.2.99")[0].status_code == 302


def test_it_refuses_a_known_and_an_unknown_address_alike(asked):
    ask(ADDRESS)
    for address in (ADDRESS, UNKNOWN):
        for number in range(3):
            asked(Client(), address, ip=f"198.51.100.{number}")

    known, _ = asked(Client(), ADDRESS, ip="192.0.2.1")
    unknown, _ = asked(Client(), UNKNOWN, ip="192.0.2.2")

    assert _too_many(known)
    assert _too_many(unknown)
    assert _page(known).replace(ADDRESS, "…") == _page(unknown).replace(UNKNOWN, "…")


def counters() -> list[str]:
    """The rate limit's counters in the suite's local-memory cache (the
    church's settings are cached there too)."""
    return [key for key in cache._cache if ":ratelimit:" in key]


def test_it_keeps_no_address_in_the_cache(asked):
    ask(ADDRESS)

    asked(Client(), ADDRESS)

    stored = repr(list(cache._cache.items())) + repr(list(cache._cache.keys()))
    assert "martha" not in stored.lower()
    assert len(counters()) == 2  # the client's count and the address's


# --- Bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Type the e-mail address you gave when you asked for prayer."),
        ("not an address", "Enter a valid e-mail address, such as name@example.org."),
        ("martha\x00@example.org", "Enter a valid e-mail address, such as name@example.org."),
        ("martha@exa\u202emple.org", "Enter a valid e-mail address, such as name@example.org."),
        ("martha@exa\u200bmple.org", "Enter a valid e-mail address, such as name@example.org."),
        ("x" * 1_000_000 + "@example.org", "Please keep this to 254 characters or fewer (it has 1000012)."),
    ],
    ids=["empty", "not-an-address", "nul", "rtl-override", "zero-width-space", "a-megabyte"],
)
def test_it_refuses_bad_input_with_a_message_and_changes_nothing(asked, typed, message):
    ask(ADDRESS)
    before = hashes()

    response, sent = asked(Client(raise_request_exception=False), typed)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert len(response.content) < 50_000
    assert sent == []
    assert hashes() == before
    assert counters() == []  # not counted either


def test_it_refuses_a_filled_honeypot_and_changes_nothing(asked):
    ask(ADDRESS)
    before = hashes()

    response, sent = asked(Client(), ADDRESS, website="https://spam.example")

    assert response.status_code == 400
    assert "a hidden field meant to catch spam robots was filled in" in response.content.decode()
    assert sent == []
    assert hashes() == before


def test_it_hides_the_honeypot_from_people_and_the_tab_key(db):
    content = Client().get(LOST).content.decode()

    wrapper_at = content.index('<div class="visually-hidden" aria-hidden="true">')
    field_at = content.index('name="website"')
    assert wrapper_at < field_at < content.index("</div>", wrapper_at)
    assert 'tabindex="-1"' in content[content.rindex("<input", 0, field_at) : content.index(">", field_at)]


def test_it_takes_no_post_without_the_csrf_token(db):
    ask(ADDRESS)
    before = hashes()

    response = Client(enforce_csrf_checks=True).post(LOST, {"email": ADDRESS})

    assert response.status_code == 403
    assert hashes() == before


# --- The pages --------------------------------------------------------------------------


def test_the_help_page_explains_the_link_and_leads_to_lost_your_link(db):
    response = Client().get(HELP)

    content = response.content.decode()
    assert response.status_code == 200
    assert "<title>Following your prayer request · Intercession</title>" in content
    assert "It was shown once, on the page right after you sent your request." in content
    assert "If you gave an e-mail address, we also e-mailed it to you then" in content
    assert "Whoever holds the link can read your request" in content
    assert f'href="{LOST}"' in content


def test_the_page_after_a_shown_link_leads_to_lost_your_link(db):
    content = Client().get(reverse("ask_sent")).content.decode()

    assert f'href="{LOST}"' in content


def test_it_keeps_lost_your_link_apart_from_the_follow_up_links(db):
    """/followup/lost/ is never taken for a token, and a token is never
    taken for "lost"."""
    assert Client().get(LOST).resolver_match.url_name == "followup_lost"
    assert Client().get(SENT).resolver_match.url_name == "followup_lost_sent"
    assert Client().get("/followup/lostsomething/").status_code == 404


@pytest.mark.parametrize("page", [HELP, LOST, SENT])
def test_the_pages_are_public_and_answer_head_but_no_other_post(db, page):
    leader = make_user("lydia", roles.LEADERS)
    logged_in = Client()
    logged_in.force_login(leader)

    assert Client().get(page).status_code == 200
    assert logged_in.get(page).status_code == 200
    assert Client().head(page).status_code == 200
    if page != LOST:
        assert Client().post(page).status_code == 405


# --- The requester's other e-mails ----------------------------------------------------


@pytest.mark.parametrize("event", ["stage_changed", "note_for_requester"])
def test_the_requester_s_later_e_mails_lead_to_the_help_page_not_the_team_s_log_in(
    db, leader, assigned_intercessor, django_capture_on_commit_callbacks, event
):
    prayer_request, _token = ask(ADDRESS, wants_updates=True)
    services.assign(prayer_request, [assigned_intercessor], by=leader)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        if event == "stage_changed":
            services.move(prayer_request, Status.BREAKTHROUGH, actor=leader)
        else:
            services.post_update(prayer_request, actor=leader, note="With you", visibility=Visibility.REQUESTER)

    (message,) = [message for message in mail.outbox if message.to == [ADDRESS]]
    assert f"{SITE}{HELP}" in message.body
    assert f"{SITE}/\n" not in message.body
    assert reverse("login") not in message.body
    assert "If you have lost it, the page above tells you how to get a new one." in message.body
    assert OutboxMessage.objects.get(kind=event).kind == event


# --- After the response -------------------------------------------------------------------


def test_it_logs_a_failure_after_the_response_without_its_message(db, caplog):
    def fail():
        raise ValueError(f"cannot write to {ADDRESS}")

    close(after_response(HttpResponse(), fail, name="new follow-up links"))

    assert "work after the response failed: new follow-up links (ValueError)" in caplog.text
    assert ADDRESS not in caplog.text


def test_it_sends_the_e_mail_in_the_language_of_the_page(asked, settings):
    """The work after the response speaks the language the request was
    served in (only English ships: the active one is kept, not lost)."""
    ask(ADDRESS)

    _response, (message,) = asked(Client(HTTP_ACCEPT_LANGUAGE="en"), ADDRESS)

    assert "You asked for your follow-up link again." in message.body


# --- Two at once (PostgreSQL) -----------------------------------------------------------


def test_two_asks_at_once_leave_the_links_of_one_e_mail_working(on_postgres):
    """Both run, one after the other (the requests are locked): the links
    of the later e-mail work, those of the earlier one no longer do."""
    ask(ADDRESS)
    ask(ADDRESS)
    barrier = threading.Barrier(2)
    errors = []

    def one():
        try:
            barrier.wait(timeout=10)
            services.reissue_followup_links(ADDRESS)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    first, second = mail.outbox
    working = [[Client().get(link).status_code for link in links_in(message)] for message in (first, second)]
    assert sorted(working) == [[200, 200], [404, 404]]


# --- Served for real ----------------------------------------------------------------------


class _HeldSMTPHandler(_SMTPHandler):
    """SMTP that greets only once the test lets it (`server.release`)."""

    def handle(self):
        self.server.connected.set()
        self.server.release.wait(timeout=30)
        super().handle()
        self.server.done.set()


class _HeldSMTPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _HeldSMTPHandler)
        self.received: list[str] = []
        self.connected, self.release, self.done = threading.Event(), threading.Event(), threading.Event()


# No leader to tell: seeding sends no e-mail.
SEED = """
from requests_app import services
from requests_app.models import Category
services.submit_request(for_whom="F.", title="T.", category=Category.HEALTH, requester_email="{address}")
"""


@pytest.fixture(scope="module")
def served_database(tmp_path_factory):
    """A migrated SQLite file of its own, and the environment to serve it."""
    path = tmp_path_factory.mktemp("lost-link") / "db.sqlite3"
    env = app_env(f"sqlite:///{path}", DJANGO_STATIC_ROOT=str(collected_static()))
    manage(env, "migrate", "--no-input")
    return env


def _answers(browser: Browser) -> bool:
    try:
        return browser.get(LOST, timeout=2).status == 200
    except OSError:
        return False


def _serve_and_ask(command: list[str], env: dict, port: int, log_dir) -> None:
    """Serve the app with `command`, ask for new links for ADDRESS, and
    show that the answer came while the e-mail was still on its way: the
    mail server holds back its greeting until the answer is in."""
    smtp = _HeldSMTPServer()
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    env = {
        **env,
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "DJANGO_EMAIL_HOST": "127.0.0.1",
        "DJANGO_EMAIL_PORT": str(smtp.server_address[1]),
        "DJANGO_EMAIL_TIMEOUT": "30",
    }
    manage(env, "shell", "-c", SEED.format(address=ADDRESS))
    log_path = log_dir / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        browser = Browser(port)
        deadline = time.monotonic() + START_SECONDS
        while not _answers(browser):
            assert server.poll() is None, log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, f"not serving after {START_SECONDS}s: {log_path.read_text()[-2000:]}"
            time.sleep(0.2)

        answer = browser.post(LOST, {"email": ADDRESS}, timeout=10)

        assert (answer.status, answer.location) == (302, SENT)
        # Only now is the e-mail on its way: the app is waiting for the greeting.
        assert smtp.connected.wait(timeout=30), log_path.read_text()[-2000:]
        assert smtp.received == []
        smtp.release.set()
        assert smtp.done.wait(timeout=30)
        (message,) = smtp.received
        links = re.findall(r"/followup/[A-Za-z0-9_-]{20,}/", message)
        assert links
        assert [browser.get(link).status for link in links] == [200] * len(links)
    finally:
        smtp.release.set()
        server.terminate()
        server.wait(timeout=10)
        smtp.shutdown()
        smtp.server_close()


def test_it_answers_before_the_e_mail_under_gunicorn(served_database, tmp_path):
    port = free_port()
    command = [str(GUNICORN), "intercession.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"]

    _serve_and_ask(command, served_database, port, tmp_path)


def test_it_answers_before_the_e_mail_under_runserver(served_database, tmp_path):
    port = free_port()
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]

    _serve_and_ask(command, served_database, port, tmp_path)
