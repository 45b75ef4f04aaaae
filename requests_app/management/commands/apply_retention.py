"""Erase the text of requests past the church's retention period, and
remove the webhooks' old events (`requests_app.hooks.delivery.prune`).

Daily, from intercession-cleanup.service (or cron). Batched and idempotent:
a second run, or two at once, erases nothing twice. Prints counts only,
never anything of a request."""

from django.core.management.base import BaseCommand

from requests_app import church, services
from requests_app.hooks import delivery as webhooks


class Command(BaseCommand):
    help = "Erase the text of requests manifested or closed longer than the church's retention period."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=services.RETENTION_BATCH)

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            batch_size = services.RETENTION_BATCH
        erased = services.apply_retention(batch_size=batch_size)
        days = church.current().retention_days
        self.stdout.write(f"apply_retention: {erased} requests erased (retention {days} days)")
        removed = webhooks.prune()
        if removed:
            self.stdout.write(f"apply_retention: {removed} old webhook events removed")
