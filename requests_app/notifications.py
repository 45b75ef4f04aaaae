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

The team's e-mails (leaders and intercessors) follow each user's
`NotificationPreferences`, read in the same transaction: a switch turned off
means no e-mail of that kind; "once a day" means the e-mail is held as a line
of the user's daily digest (`requests_app.digest`) instead of sent. The
requester's e-mails follow `wants_updates`; their follow-up link is never
optional.

| e-mail                                  | preference switch   |
|-----------------------------------------|---------------------|
| new request (leaders)                   | `new_requests`      |
| requester update (leaders)              | `requester_updates` |
| intercessor released themselves (leaders) | `releases`        |
| assigned / released (the intercessor)   | `my_assignments`    |
| prayer reminder (`send_reminders`)      | `prayer_reminders`  |
| leaders' daily summary (`send_reminders`) | `leader_summary`  |
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from requests_app import roles
from requests_app.models import Delivery, NotificationPreferences, OutboxMessage, PrayerRequest, Status, Visibility
from requests_app.rules import Requester

logger = logging.getLogger(__name__)

REQUESTER_STAGES = (Status.BREAKTHROUGH, Status.ANSWERED, Status.CLOSED)


def site_link(path: str = "/") -> str:
    return settings.INTERCESSION_SITE_URL.rstrip("/") + path


def leaders() -> list:
    """The active leaders with an address, each with their e-mail choices
    (joined in the same query)."""
    users = get_user_model().objects.filter(groups__name=roles.LEADERS, is_active=True).exclude(email="")
    return list(users.select_related("notification_preferences").distinct().order_by("pk"))


def preferences_of(users) -> dict[int, NotificationPreferences]:
    """Each user's choices by id, the defaults for users without a row. One
    query, none if the users were loaded with their choices."""
    choices = get_user_model().notification_preferences
    if all(choices.is_cached(user) for user in users):
        # getattr: a user without a row raises an AttributeError subclass.
        saved = {user.pk: getattr(user, "notification_preferences", None) for user in users}
    else:
        ids = [user.pk for user in users]
        saved = {prefs.user_id: prefs for prefs in NotificationPreferences.objects.filter(user_id__in=ids)}
    return {user.pk: saved.get(user.pk) or NotificationPreferences(user=user) for user in users}


def choose(users, switch: str) -> tuple[list, list]:
    """Split the users with an address who want e-mails of `switch` into
    (now, daily digest), one per address."""
    now, daily, seen = [], [], set()
    users = [user for user in users if user.email and user.is_active]
    preferences = preferences_of(users)
    for user in users:
        prefs = preferences[user.pk]
        if user.email in seen or not getattr(prefs, switch):
            continue
        seen.add(user.email)
        (daily if prefs.delivery == Delivery.DAILY else now).append(user)
    return now, daily


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
    _deliver_after_commit(messages)
    return messages


def _deliver_after_commit(messages: list[OutboxMessage]) -> None:
    ids = [message.pk for message in messages]
    if ids and all(ids):
        from requests_app import outbox

        outbox.deliver_after_commit(ids)


def _to_team(
    kind: str, switch: str, prayer_request: PrayerRequest, users, subject: str, sentence: str, link: str
) -> list[OutboxMessage]:
    """A team e-mail, as each user chose: now, held for the digest, or not at all."""
    from requests_app import digest

    now, daily = choose(users, switch)
    digest.hold(kind, daily, sentence, link, prayer_request=prayer_request)
    return _queue(
        kind,
        prayer_request,
        [user.email for user in now],
        subject,
        sentence,
        link,
        settings_link=site_link(reverse("my_settings")),
    )


def queue_summary(kind: str, user, subject: str, intro: str, lines: list[tuple[str, str]], dedupe_key: str):
    """One e-mail of several lines (sentence, link) to `user`, at most once
    per `dedupe_key`: the reminders and the daily digest. Returns the message,
    or None if one with that key was already written."""
    app = _("Intercession")
    ctx = {"app": app, "intro": intro, "lines": lines, "settings_link": site_link(reverse("my_settings"))}
    message = OutboxMessage(
        to=user.email,
        subject=f"[{app}] {subject}",
        body_text=render_to_string("emails/summary.txt", ctx),
        body_html=render_to_string("emails/summary.html", ctx),
        kind=kind,
        dedupe_key=dedupe_key,
        next_attempt_at=timezone.now(),
    )
    try:
        # A savepoint: the key was taken, by an earlier run or one racing this one.
        with transaction.atomic():
            message.save()
    except IntegrityError:
        return None
    _deliver_after_commit([message])
    return message


def request_submitted(prayer_request: PrayerRequest) -> list[OutboxMessage]:
    if prayer_request.is_urgent:
        subject = _("Urgent: a new prayer request is waiting")
        sentence = _("A new urgent prayer request is waiting for intercessors.")
    else:
        subject = _("A new prayer request is waiting")
        sentence = _("A new prayer request is waiting for intercessors.")
    link = site_link(reverse("triage"))
    return _to_team("new_request", "new_requests", prayer_request, leaders(), subject, sentence, link)


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
    link = site_link(reverse("request_detail", args=[prayer_request.pk]))
    sentence = _("A prayer request has been assigned to you.")
    subject = _("A prayer request has been assigned to you")
    return _to_team("assigned", "my_assignments", prayer_request, intercessors, subject, sentence, link)


def released(prayer_request: PrayerRequest, intercessor, *, by) -> list[OutboxMessage]:
    """To the intercessor; to the leaders too when the intercessor released
    themselves (a leader who released knows already)."""
    link = site_link(reverse("my_assignments"))
    messages = _to_team(
        "released",
        "my_assignments",
        prayer_request,
        [intercessor],
        _("You have been released from a prayer request"),
        _("You are no longer assigned to a prayer request. Thank you for standing in the gap."),
        link,
    )
    if by.pk == intercessor.pk:
        messages += _to_team(
            "released",
            "releases",
            prayer_request,
            [user for user in leaders() if user.pk != intercessor.pk and user.email != intercessor.email],
            _("An intercessor released an assignment"),
            _("An intercessor can no longer carry one of their assignments: it may need someone else."),
            site_link(reverse("request_detail", args=[prayer_request.pk])),
        )
    return messages


def requester_update(prayer_request: PrayerRequest) -> list[OutboxMessage]:
    return _to_team(
        "requester_update",
        "requester_updates",
        prayer_request,
        leaders(),
        _("A requester has posted an update"),
        _("The person who asked for prayer has written an update."),
        site_link(reverse("request_detail", args=[prayer_request.pk])),
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
        site_link("/"),
        warning=_(_REQUESTER_HINT),
    )


def note_for_requester(prayer_request: PrayerRequest) -> list[OutboxMessage]:
    return _queue(
        "note_for_requester",
        prayer_request,
        _to_requester(prayer_request),
        _("The team has written to you"),
        _("The intercession team has posted an update on your request."),
        site_link("/"),
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
