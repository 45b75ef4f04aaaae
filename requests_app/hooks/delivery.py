"""
Sending webhook events (`WebhookDelivery`), by the outbox worker
(`python manage.py send_outbox`), with the outbox's back-off
(`requests_app.mail.outbox.backoff`) and the same number of attempts
(`INTERCESSION_OUTBOX_MAX_ATTEMPTS`) before an event is given up and shown to
the leaders on the Webhooks page (which can send the given-up ones again).

Each event is sent once: a batch of due deliveries is claimed in one short
transaction (locked, `skip_locked` on PostgreSQL, and leased for `LEASE`, so
a second worker takes others), then posted with no transaction open, then
recorded. A worker that dies between posting and recording leaves the lease
to run out, and the event goes again with the same `id`: receivers that
must never act twice keep the ids they have seen (the README says so).

A post is `POST <url>` with the JSON body, `Content-Type: application/json`,
`Intercession-Event`, `Intercession-Delivery` (the event's id) and
`Intercession-Signature` (`requests_app.hooks.signing`). Any 2xx answer is
delivered; anything else, a redirect included (none is followed), a timeout
or a refused address, is a failure, recorded on the hook as an HTTP status
or an error's class, never a response's body. Once a hook fails, its other
events in the batch wait for its next attempt instead of timing out one by
one. Log lines carry ids and counts only.
"""

import http.client
import json
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from requests_app import quiet_cache
from requests_app.hooks import signing, targets
from requests_app.mail import outbox
from requests_app.models import Status, Webhook, WebhookDelivery, WebhookEvent

logger = logging.getLogger(__name__)

BATCH_SIZE = 20
TIMEOUT_SECONDS = 5
# A claimed batch is someone's for this long: more than a batch can take.
LEASE = timedelta(minutes=10)
READ_AT_MOST = 64 * 1024
USER_AGENT = "Intercession-Webhooks/1"


def max_attempts() -> int:
    return settings.INTERCESSION_OUTBOX_MAX_ATTEMPTS


def due(now):
    return WebhookDelivery.objects.due(now, max_attempts())


def given_up():
    return WebhookDelivery.objects.given_up(max_attempts())


class _PinnedHTTP(http.client.HTTPConnection):
    """A connection to the address `targets.resolve` checked, not to
    whatever the name resolves to a moment later."""

    def __init__(self, target: targets.Target):
        super().__init__(target.host, target.port, timeout=TIMEOUT_SECONDS)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: targets.Target):
        super().__init__(target.host, target.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def headers_for(delivery: WebhookDelivery, body: bytes, *, now: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Intercession-Event": delivery.event,
        "Intercession-Delivery": str(delivery.event_id),
        signing.HEADER: signing.header(delivery.webhook.secret, now, body),
    }


@dataclass
class Result:
    status: int | None = None
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.error


def post(delivery: WebhookDelivery) -> Result:
    """Post one event; never raises."""
    try:
        target = targets.resolve(delivery.webhook.url)
    except targets.Refused as exc:
        return Result(error=str(exc))
    body = body_of(delivery)
    connection_class = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    http_connection = connection_class(target)
    try:
        http_connection.request(
            "POST", target.path, body=body, headers=headers_for(delivery, body, now=int(time.time()))
        )
        response = http_connection.getresponse()
        response.read(READ_AT_MOST)
    except Exception as exc:  # the receiver's fault, whatever it is: recorded, retried
        return Result(error=type(exc).__name__[:200])
    finally:
        http_connection.close()
    if 200 <= response.status < 300:
        return Result(status=response.status)
    return Result(status=response.status, error=f"HTTP {response.status}")


def _locked_ids(queryset, size: int) -> list[int]:
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True)
    else:
        queryset = queryset.select_for_update()
    return list(queryset.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:size])


def _claim(size: int, ids: list[int] | None) -> list[WebhookDelivery]:
    """Up to `size` due deliveries, leased to this worker, with their hooks."""
    now = timezone.now()
    with transaction.atomic():
        queryset = due(now)
        if ids is not None:
            queryset = queryset.filter(pk__in=ids)
        claimed = _locked_ids(queryset, size)
        if not claimed:
            return []
        WebhookDelivery.objects.filter(pk__in=claimed).update(next_attempt_at=now + LEASE)
    return list(WebhookDelivery.objects.filter(pk__in=claimed).select_related("webhook").order_by("created_at", "pk"))


def _record(results: list[tuple[WebhookDelivery, Result | None]]) -> tuple[int, int]:
    """Mark what was sent, what failed (with its next attempt) and what
    waited behind a failing hook (None: as it was, due with it); and each
    hook's state from its last answer. Returns (delivered, failed)."""
    now = timezone.now()
    delivered, failed, waited = [], [], []
    last_of_hook: dict[int, Result] = {}
    for delivery, result in results:
        if result is None:
            waited.append(delivery)
            continue
        delivery.attempts += 1
        delivery.last_status = result.status
        delivery.last_error = result.error
        if result.delivered:
            delivery.delivered_at = now
            delivered.append(delivery)
        else:
            delivery.next_attempt_at = now + outbox.backoff(delivery.attempts)
            failed.append(delivery)
        last_of_hook[delivery.webhook_id] = result
    retry_at = {delivery.webhook_id: delivery.next_attempt_at for delivery in failed}
    for delivery in waited:
        delivery.next_attempt_at = retry_at.get(delivery.webhook_id, now)
    with transaction.atomic():
        WebhookDelivery.objects.bulk_update(
            delivered + failed + waited, ["attempts", "last_status", "last_error", "delivered_at", "next_attempt_at"]
        )
        went_through = [pk for pk, result in last_of_hook.items() if result.delivered]
        if went_through:
            Webhook.objects.filter(pk__in=went_through).update(
                last_delivered_at=now, failing_since=None, last_error=""
            )
        for hook_id, result in last_of_hook.items():
            if not result.delivered:
                Webhook.objects.filter(pk=hook_id).update(
                    failing_since=Coalesce(F("failing_since"), now), last_error=result.error
                )
    for delivery in failed:
        if delivery.attempts >= max_attempts():
            logger.error(
                "webhook %s: event %s given up after %s attempts", delivery.webhook_id, delivery.pk, delivery.attempts
            )
        else:
            logger.warning(
                "webhook %s: event %s not delivered (%s), attempt %s",
                delivery.webhook_id,
                delivery.pk,
                delivery.last_error,
                delivery.attempts,
            )
    if failed:
        forget_failing()
    return len(delivered), len(failed)


def _deliver_batch(size: int, ids: list[int] | None) -> tuple[int, int, int]:
    batch = _claim(size, ids)
    results: list[tuple[WebhookDelivery, Result | None]] = []
    failing: set[int] = set()
    for delivery in batch:
        if delivery.webhook_id in failing:
            results.append((delivery, None))
            continue
        try:
            result = post(delivery)
        except Exception as exc:  # a secret no key opens, say: this one fails, the rest go
            result = Result(error=type(exc).__name__[:200])
        if not result.delivered:
            failing.add(delivery.webhook_id)
        results.append((delivery, result))
    if not batch:
        return 0, 0, 0
    delivered, failed = _record(results)
    return delivered, failed, len(batch)


def deliver_due(*, limit: int = 100, ids=None) -> tuple[int, int]:
    """Send up to `limit` due events (only those of `ids` if given), in
    batches of `BATCH_SIZE`. Returns (delivered, failed)."""
    delivered = failed = handled = 0
    id_list = None if ids is None else list(ids)
    while handled < limit:
        size = min(BATCH_SIZE, limit - handled)
        batch_delivered, batch_failed, batch_size = _deliver_batch(size, id_list)
        delivered, failed, handled = delivered + batch_delivered, failed + batch_failed, handled + batch_size
        if batch_size < size:
            break
    if delivered or failed:
        logger.info("webhooks: %s delivered, %s failed", delivered, failed)
    return delivered, failed


def deliver_now(ids: list[int]) -> None:
    """After commit: try the events just written. Never raises: the change
    that caused them is saved, and the worker retries."""
    try:
        deliver_due(limit=len(ids), ids=ids)
    except Exception as exc:
        logger.error("webhooks: immediate delivery failed (%s)", type(exc).__name__)


def send_again(hook: Webhook) -> list[int]:
    """Make `hook`'s given-up events due again, with a fresh count of
    attempts (a leader's button, once the receiver is back). Returns their ids."""
    ids = list(given_up().filter(webhook=hook).values_list("pk", flat=True))
    WebhookDelivery.objects.filter(pk__in=ids).update(attempts=0, next_attempt_at=timezone.now(), last_error="")
    return ids


# How long sent and given-up events are kept for the hook's page.
KEEP_DELIVERED = timedelta(days=30)
KEEP_GIVEN_UP = timedelta(days=90)


def prune(now=None) -> int:
    """Remove events delivered more than `KEEP_DELIVERED` ago and given up
    more than `KEEP_GIVEN_UP` ago (daily, `apply_retention`), but the record
    that a request still waiting for assignment was told of, which keeps it
    told once. Returns how many."""
    now = now or timezone.now()
    keep_told = Q(event=WebhookEvent.NEEDS_ASSIGNMENT, prayer_request__status=Status.NEW)
    delivered = WebhookDelivery.objects.filter(delivered_at__lt=now - KEEP_DELIVERED).exclude(keep_told)
    abandoned = given_up().filter(created_at__lt=now - KEEP_GIVEN_UP).exclude(keep_told)
    return delivered.delete()[0] + abandoned.delete()[0]


# Whether any hook is failing, as last asked: the leaders' triage notice
# asks on every view and the answer is nearly always no. Kept a minute, and
# forgotten at once when a delivery fails.
FAILING_KEY = "webhooks:failing:v1"
FAILING_SECONDS = 60


def failing_known() -> int | None:
    return quiet_cache.get(FAILING_KEY)


def remember_failing(total: int) -> None:
    quiet_cache.put(FAILING_KEY, total, FAILING_SECONDS)


def forget_failing() -> None:
    quiet_cache.forget(FAILING_KEY)
