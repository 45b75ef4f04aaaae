"""
The app's e-mails, written to the outbox.

Confidential content never appears in e-mail (PRODUCT.md): an inbox is read
on shared computers, forwarded, backed up. So these messages carry the app's
name, a generic sentence and a link, and nothing from the request — not its
title, not the person prayed for, not the requester's name, not a note — for
every request, confidential or not, so nobody has to remember which is which.

Each function is called inside the transaction of the change it reports
(`requests_app.services`, and the submit view for the follow-up link): the
messages are saved with the change or not at all, and delivered once it
commits (`requests_app.outbox`).

| event                                  | recipients                               |
|----------------------------------------|------------------------------------------|
| request submitted                      | leaders (subject "Urgent:" if urgent)     |
| request submitted, with an address     | the requester: their follow-up link      |
| intercessor assigned / released        | that intercessor                         |
| intercessor releases themselves        | + the leaders                            |
| requester posts an update              | leaders                                  |
| breakthrough / manifested / closed     | requester, if they asked for updates     |
| team note visible to the requester     | requester, if they asked for updates     |
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from requests_app import roles
from requests_app.models import OutboxMessage, PrayerRequest, Status, Visibility
from requests_app.rules import Requester

logger = logging.getLogger(__name__)

REQUESTER_STAGES = (Status.BREAKTHROUGH, Status.ANSWERED, Status.CLOSED)


def _site_link(path: str = "/") -> str:
    return settings.INTERCESSION_SITE_URL.rstrip("/") + path


def _leader_addresses() -> list[str]:
    users = get_user_model().objects.filter(groups__name=roles.LEADERS, is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def _queue(
    kind: str,
    prayer_request: PrayerRequest,
    recipients: list[str],
    subject: str,
    sentence: str,
    link: str,
    *,
    prefix: bool = True,
    **extra,
) -> list[OutboxMessage]:
    """Write one message per address and deliver them after commit."""
    recipients = [address for address in recipients if address]
    if not recipients:
        return []
    app = _("Intercession")
    ctx = {"app": app, "sentence": sentence, "link": link, **extra}
    body_text = render_to_string("emails/notification.txt", ctx)
    body_html = render_to_string("emails/notification.html", ctx)
    now = timezone.now()
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(
            to=address,
            subject=f"[{app}] {subject}" if prefix else subject,
            prayer_request=prayer_request,
            body_text=body_text,
            body_html=body_html,
            kind=kind,
            next_attempt_at=now,
        )
        for address in recipients
    )
    ids = [message.pk for message in messages]
    if all(ids):
        from requests_app import outbox

        transaction.on_commit(lambda: outbox.deliver_now(ids))
    return messages


def request_submitted(prayer_request: PrayerRequest) -> list[OutboxMessage]:
    if prayer_request.is_urgent:
        subject = _("Urgent: a new prayer request is waiting")
        sentence = _("A new urgent prayer request is waiting for intercessors.")
    else:
        subject = _("A new prayer request is waiting")
        sentence = _("A new prayer request is waiting for intercessors.")
    return _queue("new_request", prayer_request, _leader_addresses(), subject, sentence, _site_link(reverse("triage")))


def followup_link(prayer_request: PrayerRequest, link: str) -> list[OutboxMessage]:
    """The requester's private follow-up link, if they gave an address."""
    if not prayer_request.requester_email:
        return []
    sentence = _(
        "Thank you for asking the intercession team to pray. This is your private link to follow "
        "your request: read the team's updates, tell us when the answer comes, or withdraw it."
    )
    warning = _(
        "Keep this e-mail safe: whoever has the link can read your request. "
        "For your privacy, nothing about the request itself is written here."
    )
    return _queue(
        "followup_link",
        prayer_request,
        [prayer_request.requester_email],
        # The subject the first version of this e-mail had: requesters know it.
        _("Your prayer request"),
        sentence,
        link,
        prefix=False,
        warning=warning,
    )


def assigned(prayer_request: PrayerRequest, intercessors) -> list[OutboxMessage]:
    link = _site_link(reverse("request_detail", args=[prayer_request.pk]))
    sentence = _("A prayer request has been assigned to you.")
    addresses = [user.email for user in intercessors]
    return _queue(
        "assigned", prayer_request, addresses, _("A prayer request has been assigned to you"), sentence, link
    )


def released(prayer_request: PrayerRequest, intercessor, *, by) -> list[OutboxMessage]:
    """To the intercessor; to the leaders too when the intercessor released
    themselves (a leader who released knows already)."""
    link = _site_link(reverse("my_assignments"))
    messages = _queue(
        "released",
        prayer_request,
        [intercessor.email],
        _("You have been released from a prayer request"),
        _("You are no longer assigned to a prayer request. Thank you for standing in the gap."),
        link,
    )
    if by.pk == intercessor.pk:
        messages += _queue(
            "released",
            prayer_request,
            [address for address in _leader_addresses() if address != intercessor.email],
            _("An intercessor released an assignment"),
            _("An intercessor can no longer carry one of their assignments: it may need someone else."),
            _site_link(reverse("request_detail", args=[prayer_request.pk])),
        )
    return messages


def requester_update(prayer_request: PrayerRequest) -> list[OutboxMessage]:
    return _queue(
        "requester_update",
        prayer_request,
        _leader_addresses(),
        _("A requester has posted an update"),
        _("The person who asked for prayer has written an update."),
        _site_link(reverse("request_detail", args=[prayer_request.pk])),
    )


def _to_requester(prayer_request: PrayerRequest) -> list[str]:
    if prayer_request.wants_updates and prayer_request.requester_email:
        return [prayer_request.requester_email]
    return []


_REQUESTER_HINT = gettext_noop("Open the private link from the first e-mail we sent you to read it.")


def stage_changed(prayer_request: PrayerRequest, to_status: str) -> list[OutboxMessage]:
    if to_status not in REQUESTER_STAGES:
        return []
    sentences = {
        Status.BREAKTHROUGH: _("The team has seen a breakthrough in the spirit for your request."),
        Status.ANSWERED: _("Your request has been marked as manifested. Praise God!"),
        Status.CLOSED: _("Your request has been closed."),
    }
    return _queue(
        "stage_changed",
        prayer_request,
        _to_requester(prayer_request),
        _("News of your prayer request"),
        sentences[Status(to_status)],
        _site_link("/"),
        warning=_(_REQUESTER_HINT),
    )


def note_for_requester(prayer_request: PrayerRequest) -> list[OutboxMessage]:
    return _queue(
        "note_for_requester",
        prayer_request,
        _to_requester(prayer_request),
        _("The team has written to you"),
        _("The intercession team has posted an update on your request."),
        _site_link("/"),
        warning=_(_REQUESTER_HINT),
    )


def status_moved(prayer_request: PrayerRequest, to_status: str, *, actor) -> list[OutboxMessage]:
    """A move by the team tells the requester of the stages they care about;
    a move by the requester (a praise report, a withdrawal) tells the leaders."""
    if isinstance(actor, Requester):
        return requester_update(prayer_request)
    return stage_changed(prayer_request, to_status)


def note_posted(prayer_request: PrayerRequest, visibility: str, *, actor) -> list[OutboxMessage]:
    if isinstance(actor, Requester):
        return requester_update(prayer_request)
    if visibility == Visibility.REQUESTER:
        return note_for_requester(prayer_request)
    return []


def log_failure(message: OutboxMessage, error: str) -> None:
    """Called by the outbox when a follow-up e-mail could not be sent: the
    request's id and the error's class only. No traceback: SMTP errors quote
    the recipient's address."""
    if message.kind == "followup_link":
        logger.error("follow-up e-mail for request %s failed (%s)", message.prayer_request_id, error)
