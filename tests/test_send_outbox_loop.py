"""`send_outbox --loop`: the long-running e-mail worker of deploy/
(intercession-outbox.service). It sends what is due at every turn, survives
a database that is away, and stops cleanly on SIGTERM (what systemd sends).

The loop closes stale connections at each turn, as a worker must; inside a
test's transaction that would close the test's own connection, so these
tests run outside one (`transactional_db`)."""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from fault_helpers import ROOT, app_env, manage

from requests_app.mail import outbox
from requests_app.management.commands.send_outbox import Command, Listener
from requests_app.models import OutboxMessage


class StopAfter:
    """A stop signal that arrives after `turns` waits, and records them."""

    def __init__(self, turns: int):
        self.turns = turns
        self.waits: list[float] = []

    def is_set(self) -> bool:
        return len(self.waits) >= self.turns

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return self.is_set()


@pytest.fixture
def not_listening(monkeypatch):
    """The loop's turns alone: its waits go to the test's stop signal (on
    PostgreSQL the worker would listen instead; see below)."""
    monkeypatch.setattr(Listener, "_open", lambda self: None)


def _due(subject: str) -> OutboxMessage:
    return OutboxMessage.objects.create(
        to="anna@example.org", subject=subject, body_text="b", kind="assigned", next_attempt_at=timezone.now()
    )


def test_it_sends_what_falls_due_at_each_turn(transactional_db, monkeypatch, not_listening):
    _due("first")
    real = outbox.deliver_due
    turns = []

    def deliver_and_queue_another(**kwargs):
        turns.append(real(**kwargs))
        if len(turns) == 1:
            _due("second")  # written between two turns
        return turns[-1]

    monkeypatch.setattr(outbox, "deliver_due", deliver_and_queue_another)
    stop = StopAfter(2)

    Command().run_until(stop, limit=10, interval=7)

    assert turns == [(1, 0), (1, 0)]
    assert [message.subject for message in mail.outbox] == ["first", "second"]
    assert stop.waits == [7, 7]


def test_it_survives_a_database_that_is_away_and_sends_once_it_is_back(
    transactional_db, monkeypatch, caplog, not_listening
):
    _due("waiting")
    real = outbox.deliver_due
    calls = []

    def away_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("connection refused")
        return real(**kwargs)

    monkeypatch.setattr(outbox, "deliver_due", away_once)

    Command().run_until(StopAfter(2), limit=10, interval=1)

    assert len(calls) == 2
    assert [message.subject for message in mail.outbox] == ["waiting"]
    assert "the database is unavailable (OperationalError)" in caplog.text


@pytest.mark.parametrize(("args", "message"), [(["--limit", "0"], "--limit"), (["--interval", "0"], "--interval")])
def test_it_refuses_nonsense_arguments(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("send_outbox", "--loop", *args)


def test_it_stops_cleanly_on_sigterm():
    with tempfile.TemporaryDirectory(prefix="intercession-outbox-loop-") as folder:
        env = app_env(f"sqlite:///{Path(folder) / 'db.sqlite3'}")
        manage(env, "migrate", "--no-input")
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "send_outbox", "--loop", "--interval", "60"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert worker.stdout.readline().startswith("Sending the outbox every 60 s")
            # Waiting out its 60 seconds: SIGTERM must end the wait at once.
            started = time.monotonic()
            os.kill(worker.pid, signal.SIGTERM)
            output, _ = worker.communicate(timeout=20)
        finally:
            worker.kill()
            worker.wait()
        assert worker.returncode == 0, output
        assert "Stopped." in output
        assert time.monotonic() - started < 20


# --- Pages leave sending to the worker (INTERCESSION_OUTBOX_WORKER) ------------------


ASK = {
    "consent": "self",
    "for_whom": "Me",
    "category": "health",
    "title": "Strength",
    "requester_email": "a@example.org",
}


def test_with_the_worker_a_page_writes_its_e_mails_and_sends_none(
    client, db, settings, leader, django_capture_on_commit_callbacks
):
    settings.INTERCESSION_OUTBOX_WORKER = True
    leader.email = "lydia@example.org"
    leader.save()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ask"), ASK)

    assert response.status_code == 302
    assert mail.outbox == []
    due = OutboxMessage.objects.filter(sent_at__isnull=True, next_attempt_at__lte=timezone.now())
    assert sorted(message.kind for message in due) == ["followup_link", "new_request"]
    # The worker's next look sends them, each once.
    assert outbox.deliver_due() == (2, 0)
    assert outbox.deliver_due() == (0, 0)
    assert len(mail.outbox) == 2


def test_without_the_worker_the_page_sends_them_once_it_has_answered(
    client, db, settings, django_capture_on_commit_callbacks
):
    settings.INTERCESSION_OUTBOX_WORKER = False
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("ask"), ASK)
    assert [message.to for message in mail.outbox] == [["a@example.org"]]


def test_a_page_wakes_a_listening_worker_at_commit(on_postgres, settings):
    """Real PostgreSQL: the worker LISTENs and a page NOTIFYs at commit, so
    mail goes out at once, long before the worker's next look (an hour here)."""
    settings.INTERCESSION_OUTBOX_WORKER = True
    stop, woken = threading.Event(), threading.Event()
    listener = Listener()
    real_wait = listener.wait

    def wait(stop_signal, seconds):
        started = time.monotonic()
        real_wait(stop_signal, seconds)
        if time.monotonic() - started < seconds:
            woken.set()

    listener.wait = wait
    turns = []

    def worker():
        try:
            while not stop.is_set():
                turns.append(outbox.deliver_due())
                listener.wait(stop, 3600)
        finally:
            listener.close()
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not turns and time.monotonic() < deadline:
            time.sleep(0.05)  # the worker's first look, then it listens
        time.sleep(0.2)
        with transaction.atomic():
            _due("written by a page")
            outbox.deliver_after_commit([OutboxMessage.objects.get(subject="written by a page").pk])
        assert woken.wait(timeout=30), "the worker was not woken"
        deadline = time.monotonic() + 10
        while len(turns) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert turns[1] == (1, 0)
    assert [message.subject for message in mail.outbox] == ["written by a page"]


def test_a_worker_on_sqlite_only_waits(db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite has no LISTEN: on PostgreSQL the worker listens (above)")
    listener = Listener()
    stop = StopAfter(1)

    listener.wait(stop, 4)

    assert listener.connection is None
    assert stop.waits == [4]
