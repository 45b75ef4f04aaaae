"""
Delivery of the e-mails waiting in `OutboxMessage`.

`notifications` writes messages in the transaction of the change that caused
them and asks, once it commits, for `deliver_now(ids)`; whatever that could
not send, `python manage.py send_outbox` (cron) sends later with back-off:
after attempt n the next one waits BACKOFF_MINUTES[n-1] minutes; after
`INTERCESSION_OUTBOX_MAX_ATTEMPTS` attempts a message is undeliverable and
shown to the leaders.

Each message is sent once even with two senders running: a message is locked
(`select_for_update(skip_locked=True)` on PostgreSQL; SQLite serialises
writers) and marked sent in the same transaction that sends it. Log lines
carry ids and counts, never addresses or content.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.utils import timezone

from requests_app import notifications
from requests_app.models import OutboxMessage

logger = logging.getLogger(__name__)

BACKOFF_MINUTES = (1, 5, 15, 60, 240)


def max_attempts() -> int:
    return settings.INTERCESSION_OUTBOX_MAX_ATTEMPTS


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure."""
    return timedelta(minutes=BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1])


def _locked(queryset):
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset.select_for_update()


def _send_one(message: OutboxMessage, mail_connection) -> bool:
    email = EmailMultiAlternatives(message.subject, message.body_text, None, [message.to], connection=mail_connection)
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    now = timezone.now()
    try:
        email.send()
    except Exception as exc:
        message.attempts += 1
        message.last_error = type(exc).__name__[:200]
        message.next_attempt_at = now + backoff(message.attempts)
        message.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        notifications.log_failure(message, message.last_error)
        if message.attempts >= max_attempts():
            logger.error("outbox message %s undeliverable after %s attempts", message.pk, message.attempts)
        else:
            logger.warning(
                "outbox message %s not sent (%s), attempt %s", message.pk, message.last_error, message.attempts
            )
        return False
    message.attempts += 1
    message.sent_at = now
    message.last_error = ""
    fields = ["attempts", "sent_at", "last_error"]
    if message.kind == "followup_link":
        # The body holds the requester's private link: not kept once delivered.
        message.body_text = message.body_html = ""
        fields += ["body_text", "body_html"]
    message.save(update_fields=fields)
    return True


def deliver_due(*, limit: int = 100, ids: Iterable[int] | None = None) -> tuple[int, int]:
    """Send up to `limit` due messages (only those of `ids` if given), one
    transaction each. Returns (sent, failed)."""
    sent = failed = 0
    mail_connection = get_connection(fail_silently=False)
    id_list = None if ids is None else list(ids)
    for _ in range(limit):
        with transaction.atomic():
            due = OutboxMessage.objects.due(timezone.now(), max_attempts())
            if id_list is not None:
                due = due.filter(pk__in=id_list)
            message = _locked(due.order_by("next_attempt_at", "pk")).first()
            if message is None:
                break
            if _send_one(message, mail_connection):
                sent += 1
            else:
                # Now due later: the loop does not pick it up again.
                failed += 1
    if sent or failed:
        logger.info("outbox: %s sent, %s failed", sent, failed)
    return sent, failed


def deliver_now(ids: list[int]) -> None:
    """After commit: try the messages just written. Never raises: the change
    that caused them is already saved, and cron will retry."""
    try:
        deliver_due(limit=len(ids), ids=ids)
    except Exception as exc:
        logger.error("outbox: immediate delivery failed (%s)", type(exc).__name__)


def undeliverable():
    """The messages given up on, newest first, for the leaders."""
    return OutboxMessage.objects.undeliverable(max_attempts()).order_by("-created_at")
