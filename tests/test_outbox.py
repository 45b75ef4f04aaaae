"""The outbox: nothing is lost when the mail server is down, each message is
sent once, failures are retried with back-off and then shown to the leaders."""

import logging
import socket
import socketserver
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from requests_app import quiet_cache
from requests_app.mail import outbox
from requests_app.models import OutboxMessage, PrayerRequest

ADDRESS = "asker@example.org"
TITLE = "Title-Marker-4d2"


class RefusingBackend(LocmemBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError(f"cannot reach the server for {messages[0].to}")


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greeting, EHLO/HELO, MAIL, RCPT, DATA, QUIT."""

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self._reply("220 localhost test SMTP")
        data, in_data = [], False
        while line := self.rfile.readline(65536):
            if in_data:
                if line.rstrip(b"\r\n") == b".":
                    self.server.received.append(b"".join(data).decode())
                    data, in_data = [], False
                    self._reply("250 queued")
                else:
                    data.append(line)
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                self._reply("250-localhost")
                self._reply("250 8BITMIME")
            elif verb == b"DATA":
                in_data = True
                self._reply("354 go ahead")
            elif verb == b"QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 ok")


class _SMTPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int):
        super().__init__(("127.0.0.1", port), _SMTPHandler)
        self.received: list[str] = []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_down(settings):
    """SMTP settings pointing at a port where nothing listens."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _free_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    return settings.EMAIL_PORT


def _ask(client, **extra):
    data = {
        "for_whom": "M. K.",
        "consent": "knows",
        "title": TITLE,
        "category": "health",
        "requester_email": ADDRESS,
        "wants_updates": "on",
        "is_confidential": "on",
        **extra,
    }
    return client.post(reverse("ask"), data)


def _make_due(queryset=None):
    """As if the back-off had passed."""
    (queryset or OutboxMessage.objects.all()).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_it_keeps_a_submission_made_while_smtp_is_down_and_sends_it_once_when_back(
    client, db, smtp_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("ask_sent")
    link = client.get(reverse("ask_sent")).context["link"]
    assert PrayerRequest.objects.count() == 1
    (message,) = OutboxMessage.objects.all()
    assert message.to == ADDRESS
    assert message.sent_at is None
    assert message.attempts == 1
    assert message.last_error == "ConnectionRefusedError"
    assert message.next_attempt_at > timezone.now()

    server = _SMTPServer(smtp_down)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        call_command("send_outbox", stdout=open("/dev/null", "w"))  # noqa: SIM115
        assert server.received == [], "sent before its back-off was over"
        _make_due()
        call_command("send_outbox", stdout=open("/dev/null", "w"))  # noqa: SIM115
        assert len(server.received) == 1
        _make_due()
        call_command("send_outbox", stdout=open("/dev/null", "w"))  # noqa: SIM115
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    (received,) = server.received
    assert f"To: {ADDRESS}" in received
    assert link.split("/followup/")[1].rstrip("/")[:20] in received.replace("=\r\n", "")
    message.refresh_from_db()
    assert message.sent_at is not None
    assert message.attempts == 2
    assert message.body_text == "", "the private link is not kept once delivered"


def test_it_backs_off_and_then_gives_up(db, settings, caplog):
    settings.EMAIL_BACKEND = "test_outbox.RefusingBackend"
    settings.INTERCESSION_OUTBOX_MAX_ATTEMPTS = 4
    message = OutboxMessage.objects.create(
        to=ADDRESS, subject="s", body_text="b", kind="assigned", next_attempt_at=timezone.now()
    )
    waits = []
    with caplog.at_level(logging.INFO):
        for _attempt in range(6):
            before = timezone.now()
            outbox.deliver_due()
            message.refresh_from_db()
            waits.append(round((message.next_attempt_at - before).total_seconds() / 60))
            _make_due()
    assert message.attempts == 4
    assert message.sent_at is None
    assert waits[:4] == [1, 5, 15, 60]
    assert list(outbox.undeliverable()) == [message]
    assert "undeliverable" in caplog.text
    assert ADDRESS not in caplog.text


def test_the_back_off_grows_and_stays_at_its_longest():
    assert [outbox.backoff(n) for n in (1, 2, 3, 4, 5, 6, 9)] == [
        timedelta(minutes=m) for m in (1, 5, 15, 60, 240, 240, 240)
    ]


def test_it_sends_each_message_once_however_often_it_runs(db):
    for number in range(3):
        OutboxMessage.objects.create(
            to=f"p{number}@example.org", subject="s", body_text="b", kind="assigned", next_attempt_at=timezone.now()
        )
    assert outbox.deliver_due() == (3, 0)
    assert outbox.deliver_due() == (0, 0)
    assert sorted(message.to[0] for message in mail.outbox) == ["p0@example.org", "p1@example.org", "p2@example.org"]


def test_it_waits_for_a_message_s_time(db):
    OutboxMessage.objects.create(
        to=ADDRESS, subject="s", body_text="b", kind="assigned", next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert outbox.deliver_due() == (0, 0)
    assert mail.outbox == []


def test_it_keeps_the_request_when_immediate_delivery_blows_up(
    client, db, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "no.such.Backend"
    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        assert _ask(client).status_code == 302
    assert PrayerRequest.objects.count() == 1
    assert OutboxMessage.objects.get().sent_at is None
    assert "immediate delivery failed" in caplog.text
    assert ADDRESS not in caplog.text
    assert TITLE not in caplog.text


def test_the_command_reports_counts_only(db, capsys):
    OutboxMessage.objects.create(
        to=ADDRESS, subject="s", body_text="b", kind="assigned", next_attempt_at=timezone.now()
    )
    call_command("send_outbox")
    out = capsys.readouterr().out
    assert out.strip() == "1 sent, 0 failed, 0 undeliverable"


def test_a_dedupe_key_is_used_once_and_a_blank_one_any_number_of_times(db):
    def make(key):
        OutboxMessage.objects.create(
            to=ADDRESS, subject="s", body_text="b", kind="r", dedupe_key=key, next_attempt_at=timezone.now()
        )

    make("")
    make("")
    make("reminder:1:2026-11-21")
    with pytest.raises(IntegrityError), transaction.atomic():
        make("reminder:1:2026-11-21")


def test_two_senders_at_once_send_each_message_once(on_postgres):
    """Real row locks: two threads drain the same outbox."""
    for number in range(20):
        OutboxMessage.objects.create(
            to=f"p{number}@example.org", subject="s", body_text="b", kind="assigned", next_attempt_at=timezone.now()
        )
    results, barrier = [], threading.Barrier(2, timeout=10)

    def drain():
        try:
            barrier.wait()
            results.append(outbox.deliver_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(sent for sent, _failed in results) == 20
    assert len(mail.outbox) == 20
    assert len({message.to[0] for message in mail.outbox}) == 20


# --- Delivery in batches ------------------------------------------------------------


class CountingBackend(LocmemBackend):
    """Counts the connections opened to the mail server."""

    opened = 0

    def open(self):
        CountingBackend.opened += 1
        return super().open()


class RefusingP1Backend(LocmemBackend):
    def send_messages(self, messages):
        if messages[0].to == ["p1@example.org"]:
            raise ConnectionRefusedError("refused")
        return super().send_messages(messages)


def _pending(how_many: int, prefix: str = "p") -> list[int]:
    return [
        OutboxMessage.objects.create(
            to=f"{prefix}{number}@example.org",
            subject="s",
            body_text="b",
            kind="assigned",
            next_attempt_at=timezone.now(),
        ).pk
        for number in range(how_many)
    ]


def test_a_batch_costs_the_same_queries_and_one_connection_however_many_messages(db, settings):
    settings.EMAIL_BACKEND = "test_outbox.CountingBackend"
    counts = []
    for how_many in (1, 30):
        CountingBackend.opened = 0
        _pending(how_many, prefix=f"b{how_many}-")
        with CaptureQueriesContext(connection) as queries:
            assert outbox.deliver_due(limit=how_many) == (how_many, 0)
        counts.append(len(queries))
        assert CountingBackend.opened == 1
    assert counts[0] == counts[1]
    assert len(mail.outbox) == 31


def test_a_batch_with_some_failures_records_each_as_it_went(db, settings):
    """One address refused: the others are sent, that one waits its back-off."""
    settings.EMAIL_BACKEND = "test_outbox.RefusingP1Backend"
    ids = _pending(3)
    assert outbox.deliver_due() == (2, 1)
    messages = {message.to: message for message in OutboxMessage.objects.filter(pk__in=ids)}
    refused = messages.pop("p1@example.org")
    assert refused.sent_at is None
    assert refused.attempts == 1
    assert refused.last_error == "ConnectionRefusedError"
    assert refused.next_attempt_at > timezone.now()
    assert all(message.sent_at is not None and message.attempts == 1 for message in messages.values())
    assert sorted(message.to[0] for message in mail.outbox) == ["p0@example.org", "p2@example.org"]


def test_the_limit_is_kept_across_batches(db, monkeypatch):
    monkeypatch.setattr(outbox, "BATCH_SIZE", 2)
    _pending(5)
    assert outbox.deliver_due(limit=3) == (3, 0)
    assert outbox.deliver_due() == (2, 0)
    assert outbox.deliver_due() == (0, 0)
    assert len(mail.outbox) == 5


def test_what_one_transaction_writes_goes_out_in_one_delivery(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        outbox.deliver_after_commit(_pending(2, prefix="a"))
        with transaction.atomic(savepoint=False):
            outbox.deliver_after_commit(_pending(1, prefix="b"))
        outbox.deliver_after_commit(_pending(3, prefix="c"))
    assert len(callbacks) == 1
    assert len(mail.outbox) == 6


def _write_and_fail(prefix: str) -> None:
    with transaction.atomic():
        outbox.deliver_after_commit(_pending(1, prefix=prefix))
        raise RuntimeError("rolled back")


def test_a_rolled_back_savepoint_takes_its_delivery_with_it(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        kept = _pending(1, prefix="kept")
        outbox.deliver_after_commit(kept)
        with pytest.raises(RuntimeError):
            _write_and_fail("lost")
        outbox.deliver_after_commit(_pending(1, prefix="later"))
    assert len(callbacks) == 1
    assert sorted(message.to[0] for message in mail.outbox) == ["kept0@example.org", "later0@example.org"]
    assert list(OutboxMessage.objects.filter(sent_at__isnull=True)) == []


def test_each_transaction_gets_its_own_delivery(db, django_capture_on_commit_callbacks):
    for prefix in ("first", "second"):
        with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
            outbox.deliver_after_commit(_pending(1, prefix=prefix))
        assert len(callbacks) == 1
    assert sorted(message.to[0] for message in mail.outbox) == ["first0@example.org", "second0@example.org"]


# --- The leaders' notice ------------------------------------------------------------


def _given_up(to, kind="followup_link"):
    """A message given up on, as the sender leaves it (it forgets the count
    it remembered, `outbox._record_failures`)."""
    message = OutboxMessage.objects.create(
        to=to,
        subject="s",
        body_text="b",
        kind=kind,
        attempts=8,
        last_error="SMTPRecipientsRefused",
        next_attempt_at=timezone.now(),
    )
    outbox.forget_how_many_given_up()
    return message


def test_leaders_see_the_undeliverable_e_mails_on_triage(client, leader):
    _given_up("asker@example.org")
    _given_up("anna@example.org", kind="assigned")
    OutboxMessage.objects.create(
        to="pending@example.org",
        subject="s",
        body_text="b",
        kind="assigned",
        attempts=3,
        next_attempt_at=timezone.now(),
    )
    client.force_login(leader)
    content = client.get(reverse("triage")).content.decode()
    assert "2 e-mails could not be delivered" in content
    assert "asker@example.org" in content
    assert "follow-up link, to a requester" in content
    assert "SMTPRecipientsRefused" in content
    assert "pending@example.org" not in content


def test_the_notice_is_absent_when_all_is_delivered(client, leader):
    client.force_login(leader)
    assert "could not be delivered" not in client.get(reverse("triage")).content.decode()


def test_the_notice_costs_one_query_however_many_messages(client, leader):
    client.force_login(leader)
    client.get(reverse("triage"))
    counts = []
    for how_many in (1, 30):
        for number in range(how_many):
            _given_up(f"p{how_many}-{number}@example.org")
        with CaptureQueriesContext(connection) as queries:
            content = client.get(reverse("triage")).content.decode()
        counts.append(len(queries))
        assert "The 10 most recent are listed." in content or how_many == 1
    assert counts[0] == counts[1]


def test_the_notice_asks_nothing_while_the_outbox_remembers_there_are_none(client, leader):
    client.force_login(leader)
    client.get(reverse("triage"))

    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("triage"))

    assert not [query for query in queries if "requests_app_outboxmessage" in query["sql"]]


def test_a_message_the_sender_gives_up_on_shows_on_the_next_triage_page(client, leader, settings):
    settings.EMAIL_BACKEND = "test_outbox.RefusingBackend"
    settings.INTERCESSION_OUTBOX_MAX_ATTEMPTS = 1
    client.force_login(leader)
    assert "could not be delivered" not in client.get(reverse("triage")).content.decode()
    OutboxMessage.objects.create(
        to=ADDRESS, subject="s", body_text="b", kind="assigned", next_attempt_at=timezone.now()
    )

    outbox.deliver_due()

    assert "1 e-mail could not be delivered" in client.get(reverse("triage")).content.decode()


def test_a_cache_that_does_not_answer_only_costs_the_notice_its_query(client, leader, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    _given_up("asker@example.org")
    monkeypatch.setattr(quiet_cache.cache, "get", broken)
    monkeypatch.setattr(quiet_cache.cache, "set", broken)
    client.force_login(leader)

    assert "asker@example.org" in client.get(reverse("triage")).content.decode()


def test_intercessors_never_see_the_notice(client, assigned_intercessor):
    _given_up("asker@example.org")
    client.force_login(assigned_intercessor)
    for url in (reverse("my_assignments"), reverse("board")):
        assert "asker@example.org" not in client.get(url).content.decode()
    assert client.get(reverse("triage")).status_code == 403
