"""Send the e-mails due in the outbox: `python manage.py send_outbox`, from cron
every minute or so. Safe to run twice at once: each message is sent once."""

from django.core.management.base import BaseCommand

from requests_app.mail import outbox


class Command(BaseCommand):
    help = "Send the e-mails waiting in the outbox, retrying failed ones with back-off."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="At most this many messages in one run.")

    def handle(self, *args, limit: int, **options):
        sent, failed = outbox.deliver_due(limit=limit)
        given_up = outbox.undeliverable().count()
        # Counts only: never an address or a subject.
        self.stdout.write(f"{sent} sent, {failed} failed, {given_up} undeliverable")
