"""Queue the day's reminders and daily digests: `python manage.py send_reminders`,
from cron once a day (the README shows the line). A second run the same day
(TIME_ZONE) writes nothing new; `send_outbox` delivers what it queued."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from requests_app.mail import reminders


class Command(BaseCommand):
    help = (
        "E-mail each intercessor their assignments nobody has prayed for lately, the leaders a summary "
        "of what needs attention, and the daily digests; once a day."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            help="Act as if it were this moment (ISO 8601, e.g. 2026-05-04T07:00; local time if no offset).",
        )

    def handle(self, *args, now: str | None, **options):
        outcome = reminders.send(_parse(now) if now else None)
        # Counts only: never an address or a subject.
        self.stdout.write(str(outcome))


def _parse(value: str) -> datetime:
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"--now: not a date and time: {value!r}")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
