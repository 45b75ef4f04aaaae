"""
The events webhooks are told of, written as `WebhookDelivery` rows (one per
subscribed hook) in the transaction of the change that caused them, so that
an event exists exactly when its change was saved; sent afterwards by the
outbox worker (`requests_app.hooks.delivery`).

An event's JSON:

    {"id": "<uuid, the same at every attempt>", "type": "request.submitted",
     "created_at": "2026-12-04T19:00:00+00:00",
     "data": {"request": {"id": 42, "category": "health", "urgent": true,
                          "status": "new", "url": "https://…/requests/42/"}}}

Ids, the category, the urgency and the status only: never a request's
words, the name of whom it is for, or anyone else's, so that an event can go
to a chat tool safely. The page at `url` asks the reader to log in and shows
only what they may see.

Which hooks want which events is asked once a minute at most
(`_subscriptions`, cached and forgotten when a hook changes), so a
submission with no hooks costs no query for them.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from requests_app import church, quiet_cache
from requests_app.hooks import delivery
from requests_app.mail import outbox
from requests_app.models import (
    WEBHOOK_PING,
    PrayerRequest,
    Status,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

SUBSCRIPTIONS_KEY = "webhooks:subscriptions:v1"
SUBSCRIPTIONS_SECONDS = 60
# At most this many waiting requests are told of per hook and scan.
WAITING_BATCH = 200


def _subscriptions() -> list[tuple[int, list[str], datetime]]:
    """(id, events, created_at) of every active hook."""
    known = quiet_cache.get(SUBSCRIPTIONS_KEY)
    if known is not None:
        return known
    rows = [
        (pk, list(events), created_at)
        for pk, events, created_at in Webhook.objects.filter(is_active=True).values_list("pk", "events", "created_at")
    ]
    quiet_cache.put(SUBSCRIPTIONS_KEY, rows, SUBSCRIPTIONS_SECONDS)
    return rows


def forget_subscriptions() -> None:
    """After a hook is added, changed or removed (on commit)."""
    quiet_cache.forget(SUBSCRIPTIONS_KEY)


def subscribed(event: str) -> list[int]:
    return [pk for pk, events, _created in _subscriptions() if event in events]


def request_data(prayer_request: PrayerRequest) -> dict:
    """What an event says of a request: nothing a reader could not be told
    in a chat room."""
    return {
        "id": prayer_request.pk,
        "category": prayer_request.category,
        "urgent": bool(prayer_request.is_urgent),
        "status": str(prayer_request.status),
        "url": settings.INTERCESSION_SITE_URL + reverse("request_detail", args=[prayer_request.pk]),
    }


def _payload(delivery: WebhookDelivery, data: dict) -> dict:
    return {
        "id": str(delivery.event_id),
        "type": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": data,
    }


def _deliveries(hook_ids: list[int], event: str, data: dict, *, dedupe_key: str = "") -> list[WebhookDelivery]:
    now = timezone.now()
    deliveries = []
    for hook_id in hook_ids:
        written = WebhookDelivery(webhook_id=hook_id, event=event, dedupe_key=dedupe_key, created_at=now)
        written.next_attempt_at = now
        written.payload = _payload(written, data)
        deliveries.append(written)
    return deliveries


def send_after_commit(ids: list[int]) -> None:
    """Once the change commits: wake the outbox worker
    (INTERCESSION_OUTBOX_WORKER), else send these events at once, as the
    outbox does its e-mails (a receiver that does not answer costs the page
    `delivery.TIMEOUT_SECONDS` at most; the worker retries what failed)."""
    if settings.INTERCESSION_OUTBOX_WORKER:
        transaction.on_commit(outbox.wake_the_worker)
    else:
        transaction.on_commit(lambda: delivery.deliver_now(ids))


def _write(deliveries: list[WebhookDelivery], about: PrayerRequest | None) -> int:
    """Save these events in the caller's transaction, in one INSERT, and
    have them sent once it commits. Returns how many."""
    if not deliveries:
        return 0
    for written in deliveries:
        written.prayer_request = about
    WebhookDelivery.objects.bulk_create(deliveries)
    send_after_commit([written.pk for written in deliveries])
    return len(deliveries)


def request_submitted(prayer_request: PrayerRequest) -> int:
    """A new request: `request.submitted`, and `request.urgent_submitted`
    if it is urgent (a hook may want only the urgent ones)."""
    if not _subscriptions():
        return 0
    data = {"request": request_data(prayer_request)}
    deliveries = _deliveries(subscribed(WebhookEvent.SUBMITTED), WebhookEvent.SUBMITTED, data)
    if prayer_request.is_urgent:
        deliveries += _deliveries(subscribed(WebhookEvent.URGENT_SUBMITTED), WebhookEvent.URGENT_SUBMITTED, data)
    return _write(deliveries, prayer_request)


def request_manifested(prayer_request: PrayerRequest) -> int:
    if not _subscriptions():
        return 0
    data = {"request": request_data(prayer_request)}
    return _write(_deliveries(subscribed(WebhookEvent.MANIFESTED), WebhookEvent.MANIFESTED, data), prayer_request)


def ping(hook: Webhook) -> WebhookDelivery:
    """A test event for one hook, sent whether or not it is active."""
    (test,) = _deliveries([hook.pk], WEBHOOK_PING, {"webhook": hook.pk})
    test.save()
    send_after_commit([test.pk])
    return test


def waiting_key(prayer_request_id: int) -> str:
    return f"needs_assignment:{prayer_request_id}"


def queue_waiting(now: datetime | None = None) -> int:
    """`request.needs_assignment` for each request still new (nobody
    assigned) after the church's `reminder_waiting_hours`, once per request
    and hook (the unique `dedupe_key`), for the requests that passed the
    threshold after the hook was added (a new hook is not flooded with the
    old ones). Run by the outbox worker about once a minute. Returns how
    many events were written (one another worker wrote at the same moment
    counts, though the unique key kept it once)."""
    now = now or timezone.now()
    hooks = [(pk, created) for pk, events, created in _subscriptions() if WebhookEvent.NEEDS_ASSIGNMENT in events]
    if not hooks:
        return 0
    hours = church.current().reminder_waiting_hours
    threshold = now - timedelta(hours=hours)
    written = 0
    for hook_id, hook_created in hooks:
        told = WebhookDelivery.objects.filter(
            webhook_id=hook_id, event=WebhookEvent.NEEDS_ASSIGNMENT, prayer_request=OuterRef("pk")
        )
        waiting = (
            PrayerRequest.objects.filter(
                ~Exists(told),
                status=Status.NEW,
                created_at__lt=threshold,
                created_at__gte=hook_created - timedelta(hours=hours),
            )
            .only("pk", "category", "is_urgent", "status")
            .order_by("created_at", "pk")[:WAITING_BATCH]
        )
        events = []
        for prayer_request in waiting:
            data = {"request": request_data(prayer_request), "waiting_hours": hours}
            (event,) = _deliveries(
                [hook_id], WebhookEvent.NEEDS_ASSIGNMENT, data, dedupe_key=waiting_key(prayer_request.pk)
            )
            event.prayer_request = prayer_request
            events.append(event)
        # One INSERT; a request another worker told at the same moment is
        # skipped by the unique dedupe key.
        WebhookDelivery.objects.bulk_create(events, ignore_conflicts=True)
        written += len(events)
    if written:
        logger.info("webhooks: %s waiting requests told", written)
    return written
