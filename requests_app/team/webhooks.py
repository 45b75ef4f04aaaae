"""
The leaders' webhooks (`Webhook`): added, changed, tried, given a new
secret and removed on the team's Webhooks page (`views.webhooks`), each
change in one transaction with its audit entry (the hook's name, address
host and events; never its secret, nor the address's path, which for many
chat tools is a key). A hook's signing secret is made here and
shown once, in the answer to the POST that made it; it is kept encrypted,
because signing needs it. What the hooks are told is in `requests_app.hooks`.
"""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from requests_app import rules, text
from requests_app.exceptions import NotAllowed
from requests_app.hooks import delivery, events, signing, targets
from requests_app.models import AuditAction, Webhook, WebhookDelivery, WebhookEvent
from requests_app.team import audit

MOST = 20

MESSAGES = {
    "name_required": _("Give the webhook a name, such as the tool it posts to."),
    "name_problem": _("Remove the invisible control characters (such as a NUL) from the name."),
    "events_required": _("Choose at least one event to send."),
    "no_such_event": _("There is no such event."),
    "too_many": _("The church has %(most)d webhooks already: remove one it no longer uses first."),
}


def _leaders_only(by: AbstractBaseUser) -> None:
    if not rules.can_manage_team(by):
        raise NotAllowed(_("Only leaders manage the webhooks."))


def check_name(name: str) -> str:
    return text.a_name(name, max_length=Webhook._meta.get_field("name").max_length, messages=MESSAGES)


def check_events(chosen: Iterable[str]) -> list[str]:
    chosen = [str(event) for event in chosen]
    if not chosen:
        raise ValidationError(MESSAGES["events_required"], code="events_required")
    if any(event not in WebhookEvent.values for event in chosen):
        raise ValidationError(MESSAGES["no_such_event"], code="no_such_event")
    # In the order of the choices, each once.
    return [event for event in WebhookEvent.values if event in chosen]


def _changed_after_commit() -> None:
    """The cached list of hooks and failing count, forgotten now (this
    transaction's own events see the change) and again at commit (another
    page may have read the old state meanwhile)."""
    for forget in (events.forget_subscriptions, delivery.forget_failing):
        forget()
        transaction.on_commit(forget)


def create(*, by: AbstractBaseUser, name: str, url: str, chosen: Iterable[str]) -> tuple[Webhook, str]:
    """A new active hook and its secret (to show once)."""
    _leaders_only(by)
    name, url, chosen = check_name(name), targets.check_url(url), check_events(chosen)
    with transaction.atomic():
        # A limit against mistakes, not a quota: two leaders adding the
        # last one at the same moment may pass it by one.
        if Webhook.objects.count() >= MOST:
            raise ValidationError(MESSAGES["too_many"], code="too_many", params={"most": MOST})
        secret = signing.new_secret()
        hook = Webhook.objects.create(name=name, url=url, events=chosen, secret=secret, created_by=by)
        audit.record(AuditAction.WEBHOOK_ADDED, actor=by, webhook=hook.pk, name=name, host=hook.host, events=chosen)
        _changed_after_commit()
    return hook, secret


def change(
    hook: Webhook, *, by: AbstractBaseUser, name: str, url: str, chosen: Iterable[str], active: bool
) -> Webhook:
    """New name, address, events or state; the audit entry names what changed."""
    _leaders_only(by)
    wanted = {
        "name": check_name(name),
        "url": targets.check_url(url),
        "events": check_events(chosen),
        "is_active": bool(active),
    }
    with transaction.atomic():
        locked = Webhook.objects.select_for_update().get(pk=hook.pk)
        changed = [field for field, value in wanted.items() if getattr(locked, field) != value]
        if changed:
            # In the entry: what changed, old → new; the address by its host
            # alone (its path may be a key).
            before = {"name": locked.name, "host": locked.host, "events": locked.events, "active": locked.is_active}
            for field, value in wanted.items():
                setattr(locked, field, value)
            if not locked.is_active:
                locked.failing_since, locked.last_error = None, ""
            locked.save(update_fields=[*wanted, "failing_since", "last_error"])
            after = {"name": locked.name, "host": locked.host, "events": locked.events, "active": locked.is_active}
            details = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
            details.setdefault("name", locked.name)
            audit.record(AuditAction.WEBHOOK_CHANGED, actor=by, webhook=locked.pk, **details)
            _changed_after_commit()
    return locked


def new_secret(hook: Webhook, *, by: AbstractBaseUser) -> str:
    """Replace the hook's secret (the old one stops signing at once)."""
    _leaders_only(by)
    secret = signing.new_secret()
    with transaction.atomic():
        Webhook.objects.filter(pk=hook.pk).update(secret=secret)
        audit.record(AuditAction.WEBHOOK_SECRET_CHANGED, actor=by, webhook=hook.pk, name=hook.name)
    return secret


def remove(hook: Webhook, *, by: AbstractBaseUser) -> bool:
    """The hook and the events it was still to be sent, gone. True."""
    _leaders_only(by)
    with transaction.atomic():
        audit.record(AuditAction.WEBHOOK_REMOVED, actor=by, webhook=hook.pk, name=hook.name, host=hook.host)
        Webhook.objects.filter(pk=hook.pk).delete()
        _changed_after_commit()
    return True


def send_test(hook: Webhook, *, by: AbstractBaseUser) -> WebhookDelivery:
    """A `ping` event for the hook, to see that the other end receives it."""
    _leaders_only(by)
    with transaction.atomic():
        return events.ping(hook)


def send_again(hook: Webhook, *, by: AbstractBaseUser) -> int:
    """The hook's given-up events, due again with fresh attempts."""
    _leaders_only(by)
    with transaction.atomic():
        ids = delivery.send_again(hook)
        if ids:
            events.send_after_commit(ids)
    return len(ids)
