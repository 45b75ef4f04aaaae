"""
Delivery of the e-mails waiting in `OutboxMessage`.

`compose` writes messages in the transaction of the change that caused
them and asks, once it commits, for `deliver_now(ids)`; whatever that could
not send, `python manage.py send_outbox` (cron) sends later with back-off:
after attempt n the next one waits BACKOFF_MINUTES[n-1] minutes; after
`INTERCESSION_OUTBOX_MAX_ATTEMPTS` attempts a message is undeliverable and
shown to the leaders.

Each message is sent once even with two senders running: a batch of due
messages is locked in one query (`select_for_update(skip_locked=True)` on
PostgreSQL, so a second sender takes the next ones; SQLite serialises
writers), sent through one connection to the mail server, and marked in the
same transaction: the sent ones in one UPDATE, the failed ones in another.
Delivering a batch costs the same handful of queries however many messages
it holds, so a request that notifies every leader does not grow with them.
Log lines carry ids and counts, never addresses or content.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Case, F, TextField, Value, When
from django.utils import timezone

from requests_app import quiet_cache
from requests_app.models import OutboxMessage
from requests_app.privacy import keys
from requests_app.privacy.fields import stored

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


# Messages locked, sent and marked in one transaction. Holding a batch's
# locks while its e-mails go out is what keeps a second sender off them.
BATCH_SIZE = 100


# Encrypted at rest (OutboxMessage): read sealed, opened one message at a time.
BODIES = ("body_text", "body_html")
SEALED = ("to", *BODIES)


def _locked_batch(due, size: int) -> list[OutboxMessage]:
    """Up to `size` due messages, locked, with their address and bodies as
    stored (sealed): `_open` decrypts them one by one."""
    sealed = {f"sealed_{name}": stored(name) for name in SEALED}
    return list(_locked(due.order_by("next_attempt_at", "pk").defer(*SEALED).annotate(**sealed))[:size])


def _open(message: OutboxMessage) -> None:
    """Decrypt the address and bodies of a message of `_locked_batch`. A
    value no configured key opens (the key was removed too early, or the row was
    altered) fails this message alone, logged with the key's id: the others
    of the batch are still sent."""
    for name in SEALED:
        sealed = getattr(message, f"sealed_{name}")
        setattr(message, name, keys.decrypt(sealed) if sealed else sealed)


def _send(message: OutboxMessage, mail_connection) -> None:
    _open(message)
    email = EmailMultiAlternatives(message.subject, message.body_text, None, [message.to], connection=mail_connection)
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    email.send()


# The e-mails that carry requesters' private follow-up links.
FOLLOWUP_LINK_KINDS = ("followup_link", "followup_links")
# The e-mails whose bodies hold a secret link: those, and an invitation to
# the team and a password reset (each link chooses the password of an account).
SECRET_LINK_KINDS = (*FOLLOWUP_LINK_KINDS, "invitation", "password_reset")


def _log_followup_failure(message: OutboxMessage) -> None:
    """A follow-up e-mail could not be sent: log the request's id (the
    message's, for new links to several requests) and the error's class
    only. No traceback: SMTP errors quote the recipient's address."""
    if message.kind == "followup_link":
        logger.error("follow-up e-mail for request %s failed (%s)", message.prayer_request_id, message.last_error)
    elif message.kind == "followup_links":
        logger.error("follow-up links e-mail %s failed (%s)", message.pk, message.last_error)


def _record_failures(failures: list[OutboxMessage], now) -> None:
    for message in failures:
        message.attempts += 1
        message.next_attempt_at = now + backoff(message.attempts)
    OutboxMessage.objects.bulk_update(failures, ["attempts", "last_error", "next_attempt_at"])
    for message in failures:
        _log_followup_failure(message)
        if message.attempts >= max_attempts():
            logger.error("outbox message %s undeliverable after %s attempts", message.pk, message.attempts)
            forget_how_many_given_up()
        else:
            logger.warning(
                "outbox message %s not sent (%s), attempt %s", message.pk, message.last_error, message.attempts
            )


def _kept_once_sent(field: str) -> Case:
    # The bodies of the follow-up e-mails and the invitations hold secret
    # links: not kept once delivered.
    return Case(When(kind__in=SECRET_LINK_KINDS, then=Value("")), default=F(field), output_field=TextField())


def _record_sent(sent: list[OutboxMessage], now) -> None:
    OutboxMessage.objects.filter(pk__in=[message.pk for message in sent]).update(
        attempts=F("attempts") + 1,
        sent_at=now,
        last_error="",
        body_text=_kept_once_sent("body_text"),
        body_html=_kept_once_sent("body_html"),
    )


def _deliver_batch(size: int, id_list: list[int] | None, mail_connection) -> tuple[int, int]:
    """Lock up to `size` due messages, send them, and mark them, in one
    transaction: at most four queries whatever `size`. Returns (sent, failed)."""
    with transaction.atomic():
        due = OutboxMessage.objects.due(timezone.now(), max_attempts())
        if id_list is not None:
            due = due.filter(pk__in=id_list)
        batch = _locked_batch(due, size)
        if not batch:
            return 0, 0
        sent, failures = [], []
        try:
            # One connection for the batch; if it cannot be opened, every
            # message of the batch failed for that reason.
            mail_connection.open()
        except Exception as exc:
            for message in batch:
                message.last_error = type(exc).__name__[:200]
            failures = batch
        else:
            try:
                for message in batch:
                    try:
                        _send(message, mail_connection)
                    except keys.DecryptionError as exc:
                        logger.error("outbox message %s cannot be decrypted (key id %s)", message.pk, exc.key_id)
                        message.last_error = type(exc).__name__
                        failures.append(message)
                    except Exception as exc:
                        message.last_error = type(exc).__name__[:200]
                        failures.append(message)
                    else:
                        sent.append(message)
            finally:
                mail_connection.close()
        now = timezone.now()
        if sent:
            _record_sent(sent, now)
        if failures:
            _record_failures(failures, now)
    return len(sent), len(failures)


def deliver_due(*, limit: int = 100, ids: Iterable[int] | None = None) -> tuple[int, int]:
    """Send up to `limit` due messages (only those of `ids` if given), in
    batches of `BATCH_SIZE`. Returns (sent, failed)."""
    sent = failed = 0
    mail_connection = get_connection(fail_silently=False)
    id_list = None if ids is None else list(ids)
    while sent + failed < limit:
        size = min(BATCH_SIZE, limit - sent - failed)
        batch_sent, batch_failed = _deliver_batch(size, id_list, mail_connection)
        sent, failed = sent + batch_sent, failed + batch_failed
        if batch_sent + batch_failed < size:
            # Nothing more is due: the failed ones are now due later.
            break
    if sent or failed:
        logger.info("outbox: %s sent, %s failed", sent, failed)
    return sent, failed


class _DeliveryAfterCommit:
    """The one delivery asked for by a transaction's changes, gathering the
    ids of every message they wrote at the same level of the transaction
    (the same savepoints)."""

    def __init__(self, savepoints: tuple[str, ...]) -> None:
        self.savepoints = savepoints
        self.ids: list[int] = []
        self.done = False

    def __call__(self) -> None:
        self.done = True
        if settings.INTERCESSION_OUTBOX_WORKER:
            wake_the_worker()
        else:
            deliver_now(self.ids)


# The channel the worker listens on (PostgreSQL LISTEN/NOTIFY).
WAKE_CHANNEL = "intercession_outbox"


def wake_the_worker() -> None:
    """After commit: tell a listening worker there is mail (PostgreSQL; on
    SQLite it finds it at its next look). Never raises: the messages are
    saved, and the worker looks again within its interval anyway."""
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {WAKE_CHANNEL}")
    except Exception as exc:
        logger.warning("outbox: the worker could not be woken (%s)", type(exc).__name__)


def deliver_after_commit(ids: list[int]) -> None:
    """Deliver these messages once the current transaction commits (at once
    outside one); with the outbox worker (INTERCESSION_OUTBOX_WORKER), wake
    it instead, so that a page costs its own transaction and nothing else.
    The messages written at one level of a transaction (by the request and
    its follow-up link, say) go out together, in one batch; a rolled-back
    savepoint takes its delivery with it."""
    connection = transaction.get_connection()
    # None marks a block without a savepoint of its own (atomic(savepoint=False)): the same level.
    savepoints = tuple(sid for sid in connection.savepoint_ids if sid is not None)
    for _savepoint_ids, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _DeliveryAfterCommit) and not callback.done and callback.savepoints == savepoints:
            callback.ids.extend(ids)
            return
    delivery = _DeliveryAfterCommit(savepoints)
    delivery.ids.extend(ids)
    transaction.on_commit(delivery)


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


# How many messages were given up on, as last counted: the leaders' notice
# asks on every triage page and the answer is nearly always none. Kept a
# minute, and forgotten the moment a message is given up, so a new one shows
# at once; never the messages themselves (their addresses stay in the table).
GIVEN_UP_KEY = "outbox:given-up:v1"
GIVEN_UP_SECONDS = 60


def how_many_given_up_known() -> int | None:
    return quiet_cache.get(GIVEN_UP_KEY)


def remember_how_many_given_up(total: int) -> None:
    quiet_cache.put(GIVEN_UP_KEY, total, GIVEN_UP_SECONDS)


def forget_how_many_given_up() -> None:
    quiet_cache.forget(GIVEN_UP_KEY)
