"""Send the e-mails due in the outbox: `python manage.py send_outbox`, from a
timer or cron every minute, or `--loop` as a long-running worker (the
systemd unit in deploy/). Safe to run twice at once: each message is sent
once.

With `--loop` on PostgreSQL the worker also LISTENs: a page that wrote
e-mails (INTERCESSION_OUTBOX_WORKER) NOTIFYs at commit, and the worker sends
them at once instead of at its next look.

The same runs send the webhooks' events (`requests_app.hooks.delivery`),
with the same back-off, and look, at most once a minute, for requests that
have waited too long for assignment (`request.needs_assignment`)."""

import contextlib
import logging
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections, connection

from requests_app.hooks import delivery as webhooks
from requests_app.hooks import events as webhook_events
from requests_app.mail import outbox

logger = logging.getLogger(__name__)

# How often the worker looks for requests waiting too long for assignment.
WAITING_SCAN_SECONDS = 60


class Command(BaseCommand):
    help = "Send the e-mails waiting in the outbox, retrying failed ones with back-off."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="At most this many messages in one run.")
        parser.add_argument(
            "--loop",
            action="store_true",
            help="Keep running: send what is due every --interval seconds until stopped (SIGTERM or Ctrl-C).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="Seconds between looks with --loop (woken sooner on PostgreSQL).",
        )

    def handle(self, *args, limit: int, loop: bool, interval: float, **options):
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        if not loop:
            self._report(*outbox.deliver_due(limit=limit))
            webhook_events.queue_waiting()
            self._report_webhooks(*webhooks.deliver_due(limit=limit))
            return
        if interval <= 0:
            raise CommandError("--interval must be more than 0 seconds.")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"Sending the outbox every {interval:g} s until stopped.")
        self.run_until(stop, limit=limit, interval=interval)
        self.stdout.write("Stopped.")

    def run_until(self, stop, *, limit: int, interval: float) -> None:
        """Send what is due, then wait `interval` seconds (or until `stop`
        is set), again and again. A database that is away is not the end:
        the worker says so and tries again at the next turn."""
        listener = Listener()
        looked_for_waiting = None
        try:
            while not stop.is_set():
                close_old_connections()
                try:
                    sent, failed = outbox.deliver_due(limit=limit)
                    if sent or failed:
                        self._report(sent, failed)
                    if looked_for_waiting is None or time.monotonic() - looked_for_waiting >= WAITING_SCAN_SECONDS:
                        webhook_events.queue_waiting()
                        looked_for_waiting = time.monotonic()
                    delivered, not_delivered = webhooks.deliver_due(limit=limit)
                    if delivered or not_delivered:
                        self._report_webhooks(delivered, not_delivered)
                except DatabaseError as exc:
                    logger.warning("send_outbox: the database is unavailable (%s); trying again", type(exc).__name__)
                listener.wait(stop, interval)
        finally:
            listener.close()

    def _report(self, sent: int, failed: int) -> None:
        # Counts only: never an address or a subject.
        given_up = outbox.undeliverable().count()
        self.stdout.write(f"{sent} sent, {failed} failed, {given_up} undeliverable")

    def _report_webhooks(self, delivered: int, failed: int) -> None:
        if delivered or failed:
            self.stdout.write(f"webhooks: {delivered} delivered, {failed} failed")


class Listener:
    """The worker's ear on PostgreSQL: a connection of its own that LISTENs
    on the outbox's channel. `wait` returns when a page says there is mail,
    when `seconds` have passed, or when the worker is stopped (it looks at
    least once a second). On SQLite, or while PostgreSQL is away, it only
    waits."""

    def __init__(self):
        self.connection = None

    def _open(self) -> None:
        if self.connection is not None or connection.vendor != "postgresql":
            return
        try:
            self.connection = connection.get_new_connection(connection.get_connection_params())
            self.connection.autocommit = True
            self.connection.execute(f"LISTEN {outbox.WAKE_CHANNEL}")
        except Exception as exc:
            logger.warning("send_outbox: not listening for new mail (%s)", type(exc).__name__)
            self.close()

    def wait(self, stop: threading.Event, seconds: float) -> None:
        self._open()
        if self.connection is None:
            stop.wait(seconds)
            return
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.connection is None:  # it broke: wait out the rest
                stop.wait(remaining)
                return
            try:
                for _notification in self.connection.notifies(timeout=min(remaining, 1.0), stop_after=1):
                    return
            except Exception as exc:
                logger.warning("send_outbox: stopped listening for new mail (%s)", type(exc).__name__)
                self.close()

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):  # closing what is already broken
                self.connection.close()
            self.connection = None
