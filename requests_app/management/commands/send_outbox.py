"""Send the e-mails due in the outbox: `python manage.py send_outbox`, from a
timer or cron every minute, or `--loop` as a long-running worker (the
systemd unit in deploy/). Safe to run twice at once: each message is sent
once."""

import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from requests_app.mail import outbox

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Send the e-mails waiting in the outbox, retrying failed ones with back-off."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="At most this many messages in one run.")
        parser.add_argument(
            "--loop",
            action="store_true",
            help="Keep running: send what is due every --interval seconds until stopped (SIGTERM or Ctrl-C).",
        )
        parser.add_argument("--interval", type=float, default=30.0, help="Seconds between runs with --loop.")

    def handle(self, *args, limit: int, loop: bool, interval: float, **options):
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        if not loop:
            self._report(*outbox.deliver_due(limit=limit))
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
        while not stop.is_set():
            close_old_connections()
            try:
                sent, failed = outbox.deliver_due(limit=limit)
                if sent or failed:
                    self._report(sent, failed)
            except DatabaseError as exc:
                logger.warning("send_outbox: the database is unavailable (%s); trying again", type(exc).__name__)
            stop.wait(interval)

    def _report(self, sent: int, failed: int) -> None:
        # Counts only: never an address or a subject.
        given_up = outbox.undeliverable().count()
        self.stdout.write(f"{sent} sent, {failed} failed, {given_up} undeliverable")
