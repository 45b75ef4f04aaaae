"""
The daily digest: the team's e-mails held back for users who chose "once a
day" in their settings.

`notifications` holds each such e-mail as a `HeldNotification` line (a
generic sentence and a link, nothing of the request) in the transaction of
the change that caused it. Once a day `send_reminders` calls `fold`: for each
user with unfolded lines, one transaction writes one `OutboxMessage` (its
`dedupe_key` is `digest:<user id>:<local date>`) and stamps the lines
`folded_at`. A crash half-way leaves every user either folded and queued or
untouched for the next run; a second run the same day finds the day's key
taken and leaves lines held since then for the next day's digest.
"""

from collections import Counter
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from requests_app.mail import compose
from requests_app.models import HeldNotification, OutboxMessage, PrayerRequest

# Folded lines are kept this long (a reminder's key must outlive its day), then deleted.
KEEP_FOLDED_DAYS = 7


def hold(kind: str, users, sentence: str, link: str, *, prayer_request: PrayerRequest | None = None) -> None:
    HeldNotification.objects.bulk_create(
        HeldNotification(user=user, kind=kind, sentence=sentence, link=link, prayer_request=prayer_request)
        for user in users
    )


def already_sent(dedupe_key: str) -> bool:
    """Whether the e-mail keyed `dedupe_key` was queued, or held (`hold_once`)."""
    return (
        OutboxMessage.objects.filter(dedupe_key=dedupe_key).exists()
        or HeldNotification.objects.filter(dedupe_key__startswith=f"{dedupe_key}:").exists()
    )


def hold_once(kind: str, user, lines: list[tuple[str, str]], dedupe_key: str) -> bool:
    """Hold the lines of one keyed e-mail (a reminder) for `user`'s digest,
    unless it was already sent or held. Returns whether it was held now."""
    if already_sent(dedupe_key):
        return False
    try:
        # A savepoint: a run racing this one held the same key first.
        with transaction.atomic():
            HeldNotification.objects.bulk_create(
                HeldNotification(user=user, kind=kind, sentence=sentence, link=link, dedupe_key=f"{dedupe_key}:{i}")
                for i, (sentence, link) in enumerate(lines)
            )
    except IntegrityError:
        return False
    return True


def _merged(lines) -> list[tuple[str, str]]:
    """Identical lines once, with how many times they came."""
    counts = Counter((line.sentence, line.link) for line in lines)
    merged = []
    for (sentence, link), count in counts.items():
        if count > 1:
            sentence = ngettext("%(sentence)s (%(count)s time)", "%(sentence)s (%(count)s times)", count) % {
                "sentence": sentence,
                "count": count,
            }
        merged.append((sentence, link))
    return merged


def fold(now: datetime | None = None) -> int:
    """Fold each user's held lines into one digest e-mail, in their language
    (each line was written in it when it was held). Returns how many digests
    were queued."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    users = get_user_model().objects.in_bulk(
        set(HeldNotification.objects.filter(folded_at__isnull=True).values_list("user_id", flat=True))
    )
    preferences = compose.preferences_of(list(users.values()))
    queued = 0
    for user_id, user in sorted(users.items()):
        with transaction.atomic(), translation.override(compose.member_language(preferences[user_id])):
            lines = list(
                HeldNotification.objects.select_for_update()
                .filter(user_id=user_id, folded_at__isnull=True)
                .order_by("created_at", "pk")
            )
            if not lines:
                continue  # another run folded them meanwhile
            if user.is_active and user.email:
                intro = _("Since your last digest, here is what you asked to hear about once a day:")
                message = compose.queue_summary(
                    "digest", user, _("Your daily digest"), intro, _merged(lines), f"digest:{user_id}:{day}"
                )
                if message is None:
                    continue  # today's digest went out already: these wait for tomorrow's
                queued += 1
            HeldNotification.objects.filter(pk__in=[line.pk for line in lines]).update(folded_at=now)
    HeldNotification.objects.filter(folded_at__lt=now - timedelta(days=KEEP_FOLDED_DAYS)).delete()
    return queued
