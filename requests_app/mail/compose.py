"""
Writing e-mails to the outbox: who on the team has an address and wants a
kind of e-mail (now or in the daily digest), and the messages themselves,
saved in the transaction of the change that caused them and delivered once it
commits (`requests_app.mail.outbox`). `notifications` (one function per
event), `digest` and `reminders` all write through here.
"""

import functools
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from requests_app import church, roles
from requests_app.mail import outbox
from requests_app.models import Delivery, NotificationPreferences, OutboxMessage, PrayerRequest


def shipped(code: str) -> bool:
    return code in dict(settings.LANGUAGES)


def church_language() -> str:
    """The church's default language: the e-mails of a team member who chose
    none, and of someone with no account yet (an invitation)."""
    code = church.current().default_language
    return code if shipped(code) else settings.LANGUAGE_CODE


def member_language(prefs: NotificationPreferences) -> str:
    """The language a team member's e-mails speak: their own (My settings),
    else the church's."""
    return prefs.language if shipped(prefs.language) else church_language()


def requester_language(prayer_request: PrayerRequest) -> str:
    """The language a requester asked in (stored with the request), else the church's."""
    code = prayer_request.language
    return code if shipped(code) else church_language()


def in_church_language(function):
    """Compose in the church's language, whoever made the change and
    outside any request (cron)."""

    @functools.wraps(function)
    def composed(*args, **kwargs):
        with translation.override(church_language()):
            return function(*args, **kwargs)

    return composed


def in_requester_language(function):
    """Compose in the requester's language; the first argument is their request."""

    @functools.wraps(function)
    def composed(prayer_request, *args, **kwargs):
        with translation.override(requester_language(prayer_request)):
            return function(prayer_request, *args, **kwargs)

    return composed


def church_name() -> str:
    """How e-mails sign and tag themselves: the church's name (its settings page)."""
    return church.current().name


def site_link(path: str = "/") -> str:
    return settings.INTERCESSION_SITE_URL.rstrip("/") + path


def privacy_link() -> str:
    """The privacy notice, linked from every e-mail to a requester."""
    return site_link(reverse("privacy_notice"))


# The requester's later e-mails link to the page on following a request,
# never to the request itself (an inbox is no place for the key to it) and
# never to the team's log-in page.
REQUESTER_HINT = gettext_noop(
    "For your privacy this e-mail carries no link to your request: open your private follow-up link, the one "
    "in the first e-mail we sent you, to read it. If you have lost it, the page above tells you how to get a "
    "new one."
)


def followup_help_link() -> str:
    return site_link(reverse("followup_help"))


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


@dataclass(frozen=True)
class Recipient:
    """A team member an e-mail goes to: in which language, and whether it
    waits for their daily digest."""

    user: Any
    language: str
    daily: bool


def choose(users, switch: str | None) -> list[Recipient]:
    """The users with an address who want e-mails of `switch`, one per
    address, each with their language and delivery (now or daily digest).
    `switch` None: an e-mail nobody can turn off (who leads has changed),
    sent to everyone now."""
    chosen, seen = [], set()
    users = [user for user in users if user.email and user.is_active]
    preferences = preferences_of(users)
    for user in users:
        prefs = preferences[user.pk]
        if user.email in seen or (switch and not getattr(prefs, switch)):
            continue
        seen.add(user.email)
        daily = bool(switch) and prefs.delivery == Delivery.DAILY
        chosen.append(Recipient(user, member_language(prefs), daily))
    return chosen


def by_language(recipients: list[Recipient]) -> list[tuple[str, list[Recipient]]]:
    """The recipients in groups of one language, in the order they came:
    each group's e-mail is written once, in its language."""
    groups: dict[str, list[Recipient]] = {}
    for recipient in recipients:
        groups.setdefault(recipient.language, []).append(recipient)
    return list(groups.items())


def queue(
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
    app = church_name()
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
    deliver_after_commit(messages)
    return messages


def deliver_after_commit(messages: list[OutboxMessage]) -> None:
    ids = [message.pk for message in messages]
    if ids and all(ids):
        outbox.deliver_after_commit(ids)


def queue_lines(
    kind: str, address: str, subject: str, intro: str, lines: list[tuple[str, str]], *, warning: str
) -> OutboxMessage:
    """One e-mail of several lines (sentence, link) to an address with no
    account behind it (a requester: no e-mail settings to link to, the
    privacy notice instead), delivered after commit."""
    app = church_name()
    ctx = {"app": app, "intro": intro, "lines": lines, "warning": warning, "privacy_link": privacy_link()}
    message = OutboxMessage.objects.create(
        to=address,
        subject=f"[{app}] {subject}",
        body_text=render_to_string("emails/summary.txt", ctx),
        body_html=render_to_string("emails/summary.html", ctx),
        kind=kind,
        next_attempt_at=timezone.now(),
    )
    deliver_after_commit([message])
    return message


def to_requester_once(
    prayer_request: PrayerRequest, subject: str, sentence: str, *, kind: str, dedupe_key: str, warning: str
) -> OutboxMessage:
    """An e-mail to the requester (`notification` template: the sentence,
    the page on following a request, the privacy notice), not yet saved:
    `queue_once` writes many in one go, each at most once per `dedupe_key`."""
    app = church_name()
    ctx = {
        "app": app,
        "sentence": sentence,
        "link": followup_help_link(),
        "warning": warning,
        "privacy_link": privacy_link(),
    }
    return OutboxMessage(
        to=prayer_request.requester_email,
        subject=f"[{app}] {subject}",
        prayer_request=prayer_request,
        body_text=render_to_string("emails/notification.txt", ctx),
        body_html=render_to_string("emails/notification.html", ctx),
        kind=kind,
        dedupe_key=dedupe_key,
        next_attempt_at=timezone.now(),
    )


def queue_once(messages: list[OutboxMessage]) -> None:
    """Write messages of `to_requester_once` in one INSERT, leaving out any
    whose key was taken (a run racing this one), and deliver them after
    commit: the same few queries however many there are."""
    if not messages:
        return
    OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
    # ignore_conflicts leaves the ids unset: read them back by their keys.
    keys = [message.dedupe_key for message in messages]
    ids = list(OutboxMessage.objects.filter(dedupe_key__in=keys, sent_at__isnull=True).values_list("pk", flat=True))
    if ids:
        outbox.deliver_after_commit(ids)


def queue_summary(kind: str, user, subject: str, intro: str, lines: list[tuple[str, str]], dedupe_key: str):
    """One e-mail of several lines (sentence, link) to `user`, at most once
    per `dedupe_key`: the reminders and the daily digest. Returns the message,
    or None if one with that key was already written."""
    app = church_name()
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
    deliver_after_commit([message])
    return message
