"""
Reminders that keep every request in front of someone, for
`python manage.py send_reminders` (cron, once a day):

- to each intercessor, how many of their active assignments nobody has
  prayed for in `reminder_prayer_gap_days` days;
- to the leaders, one summary: requests waiting for assignment longer than
  `reminder_waiting_hours` hours, coverage gaps (`coverage_days`), requests
  awaiting manifestation for more than `reminder_breakthrough_days` days,
  and intercessors over capacity or unavailable while they still carry
  requests;
- to each requester who asked for updates (and did not stop it on their
  follow-up page), at most once a week and only in a week the team prayed
  for their open request: how many prayers were logged for it since the
  last one (`send_prayer_news`).

The thresholds are the church's (`requests_app.church.current()`: its
settings page, else the INTERCESSION_* environment variables).

Counts and links only, never a request's words (nor, to a requester, who
prayed). Each e-mail has the `dedupe_key` `reminder:<kind>:<user id>:<local
date>` (`prayer_news:<request id>:<local date>`), so a second run the same
day (TIME_ZONE) writes nothing new. Users get them as they chose
(`NotificationPreferences.prayer_reminders` / `leader_summary`, and
"once a day" folds them into the digest that the same run then sends).
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, DateTimeField, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from requests_app import church
from requests_app.mail import compose, digest
from requests_app.models import OPEN_STATUSES, Assignment, PrayerLog, PrayerRequest, PrayerRequestQuerySet, Status
from requests_app.queries import coverage_gaps, intercessors_with_load


@dataclass
class Outcome:
    """What one run wrote: e-mails queued now, and e-mails held for digests."""

    prayer_queued: int = 0
    prayer_held: int = 0
    leaders_queued: int = 0
    leaders_held: int = 0
    digests: int = 0
    prayer_news: int = 0

    def __str__(self) -> str:
        return (
            f"prayer reminders: {self.prayer_queued} queued, {self.prayer_held} held for digests; "
            f"leaders' summary: {self.leaders_queued} queued, {self.leaders_held} held for digests; "
            f"prayer news to requesters: {self.prayer_news} queued; digests: {self.digests} queued"
        )


def prayer_gaps(now: datetime) -> dict[int, int]:
    """{intercessor id: how many of their active assignments nobody has
    prayed for in the church's `reminder_prayer_gap_days` days}."""
    gaps = coverage_gaps(
        PrayerRequest.objects.all(), days=church.current().reminder_prayer_gap_days, now=now
    ).order_by()
    rows = (
        Assignment.objects.active()
        .filter(prayer_request__in=gaps.values("pk"))
        .values("intercessor")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {row["intercessor"]: row["count"] for row in rows}


@dataclass
class LeaderSummary:
    waiting: int
    gaps: int
    awaiting_manifestation: int
    stretched_intercessors: int

    def lines(self) -> list[tuple[str, str]]:
        """(sentence, link) for each figure that is not zero."""
        link = compose.site_link
        thresholds = church.current()
        hours = thresholds.reminder_waiting_hours
        days = thresholds.reminder_breakthrough_days
        coverage_days = thresholds.coverage_days
        figures = [
            (
                self.waiting,
                ngettext(
                    "%(count)s request has waited for assignment for more than %(hours)s hours.",
                    "%(count)s requests have waited for assignment for more than %(hours)s hours.",
                    self.waiting,
                ),
                reverse("triage"),
            ),
            (
                self.gaps,
                ngettext(
                    "%(count)s active request has had no prayer for %(coverage_days)s days or more.",
                    "%(count)s active requests have had no prayer for %(coverage_days)s days or more.",
                    self.gaps,
                ),
                reverse("coverage"),
            ),
            (
                self.awaiting_manifestation,
                ngettext(
                    "%(count)s request has awaited manifestation for more than %(days)s days: "
                    "time to check in with the requester.",
                    "%(count)s requests have awaited manifestation for more than %(days)s days: "
                    "time to check in with the requesters.",
                    self.awaiting_manifestation,
                ),
                reverse("request_list") + f"?status={Status.BREAKTHROUGH}",
            ),
            (
                self.stretched_intercessors,
                ngettext(
                    "%(count)s intercessor carries more than their capacity, or is unavailable "
                    "with requests still assigned.",
                    "%(count)s intercessors carry more than their capacity, or are unavailable "
                    "with requests still assigned.",
                    self.stretched_intercessors,
                ),
                reverse("team"),
            ),
        ]
        values = {"hours": hours, "days": days, "coverage_days": coverage_days}
        return [(text % {"count": count, **values}, link(path)) for count, text, path in figures if count]


def leader_summary(now: datetime) -> LeaderSummary:
    requests = PrayerRequest.objects.all()
    thresholds = church.current()
    waiting_since = now - timedelta(hours=thresholds.reminder_waiting_hours)
    breakthrough_since = now - timedelta(days=thresholds.reminder_breakthrough_days)
    return LeaderSummary(
        waiting=requests.filter(status=Status.NEW, created_at__lt=waiting_since).count(),
        gaps=coverage_gaps(requests, days=thresholds.coverage_days, now=now).count(),
        awaiting_manifestation=requests.filter(
            status=Status.BREAKTHROUGH, breakthrough_at__lt=breakthrough_since
        ).count(),
        stretched_intercessors=intercessors_with_load()
        .filter(Q(load__gt=F("capacity")) | Q(available=False, load__gt=0))
        .count(),
    )


def _send(kind: str, users, switch: str, subject: str, intro: str, lines_for, day) -> tuple[int, int]:
    """Queue or hold each user's keyed e-mail once a day, in their language
    (`subject` and `intro` are messages of the catalog, `lines_for(user)`
    writes in the active language). Returns (queued, held)."""
    queued = held = 0
    for recipient in compose.choose(users, switch):
        user = recipient.user
        key = f"reminder:{kind}:{user.pk}:{day}"
        with transaction.atomic(), translation.override(recipient.language):
            if digest.already_sent(key):
                continue
            lines = lines_for(user)
            if recipient.daily:
                held += digest.hold_once(f"{kind}_reminder", user, lines, key)
            else:
                message = compose.queue_summary(f"{kind}_reminder", user, _(subject), _(intro), lines, key)
                queued += message is not None
    return queued, held


def send(now: datetime | None = None) -> Outcome:
    """Queue today's reminders, then fold the day's digests."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    outcome = Outcome()

    gaps = prayer_gaps(now)
    intercessors = get_user_model().objects.filter(pk__in=gaps).order_by("pk")
    gap_days = church.current().reminder_prayer_gap_days

    def prayer_lines(user):
        count = gaps[user.pk]
        sentence = ngettext(
            "%(count)s of your assignments has had no prayer from anyone for %(days)s days or more.",
            "%(count)s of your assignments have had no prayer from anyone for %(days)s days or more.",
            count,
        ) % {"count": count, "days": gap_days}
        return [(sentence, compose.site_link(reverse("my_assignments")))]

    outcome.prayer_queued, outcome.prayer_held = _send(
        "prayer",
        intercessors,
        "prayer_reminders",
        gettext_noop("Prayer reminder"),
        gettext_noop("Intercession goes on until the answer is seen. Some of your requests are waiting for prayer:"),
        prayer_lines,
        day,
    )

    summary = leader_summary(now)
    if summary.lines():
        outcome.leaders_queued, outcome.leaders_held = _send(
            "leaders",
            compose.leaders(),
            "leader_summary",
            gettext_noop("The team's daily summary"),
            gettext_noop("Where the team stands today:"),
            lambda user: summary.lines(),
            day,
        )

    outcome.prayer_news = send_prayer_news(now)
    outcome.digests = digest.fold(now)
    return outcome


# --- The requester's weekly prayer news --------------------------------------

PRAYER_NEWS_EVERY = timedelta(days=7)


def prayer_news_due(now: datetime) -> PrayerRequestQuerySet:
    """The requests whose requester is owed this week's prayer news at
    `now`, each with `prayers_this_week`: open, text kept, updates asked for
    with an address and this e-mail not stopped; none written in the last
    seven local days; and prayed for since the last one (at most the past
    week, so no prayer is counted twice)."""
    week_ago = now - PRAYER_NEWS_EVERY
    # A week by the calendar, not to the second: cron's daily run starts a
    # little earlier or later each day, and must not skip a day for it.
    last_one_before = timezone.make_aware(
        datetime.combine(timezone.localdate(now) - PRAYER_NEWS_EVERY + timedelta(days=1), time.min)
    )
    week_start = Value(week_ago, output_field=DateTimeField())
    since = Greatest(Coalesce(OuterRef("prayer_news_sent_at"), week_start), week_start)
    prayers = PrayerLog.objects.filter(prayer_request=OuterRef("pk"), prayed_at__gt=since, prayed_at__lte=now)
    counted = prayers.order_by().values("prayer_request").annotate(count=Count("pk")).values("count")
    this_week = PrayerLog.objects.filter(prayed_at__gt=week_ago, prayed_at__lte=now).values("prayer_request")
    return (
        PrayerRequest.objects.filter(
            Q(prayer_news_sent_at__isnull=True) | Q(prayer_news_sent_at__lt=last_one_before),
            pk__in=this_week,
            status__in=OPEN_STATUSES,
            text_erased_at__isnull=True,
            wants_updates=True,
            wants_prayer_news=True,
        )
        # The address is encrypted: its digest says whether there is one.
        .exclude(requester_email_digest="")
        .annotate(prayers_this_week=Coalesce(Subquery(counted, output_field=IntegerField()), Value(0)))
        .filter(prayers_this_week__gt=0)
        .order_by("pk")
    )


def _prayer_news_sentence(count: int) -> str:
    return ngettext(
        "In the past week the intercession team prayed for your request %(count)s time. "
        "Intercession goes on until the answer is seen.",
        "In the past week the intercession team prayed for your request %(count)s times. "
        "Intercession goes on until the answer is seen.",
        count,
    ) % {"count": count}


@compose.in_requester_language
def _prayer_news(prayer_request: PrayerRequest, dedupe_key: str):
    """One requester's prayer news, in the language they asked in."""
    warning = "{} {}".format(
        _(
            "We write this once a week, in weeks when the team prayed for your request. To stop these weekly "
            "e-mails (and keep the other news of your request), use the button on your follow-up page."
        ),
        _(compose.REQUESTER_HINT),
    )
    return compose.to_requester_once(
        prayer_request,
        _("This week's prayer for your request"),
        _prayer_news_sentence(prayer_request.prayers_this_week),
        kind="prayer_news",
        dedupe_key=dedupe_key,
        warning=warning,
    )


def send_prayer_news(now: datetime) -> int:
    """Write this week's prayer news to each requester it is owed to: a
    count and the page on following a request (never their link, never who
    prayed). One transaction, the same few queries however many: the due
    requests locked in one query, their e-mails written in one INSERT, the
    requests stamped in one UPDATE. Returns how many were written."""
    day = timezone.localdate(now)
    with transaction.atomic():
        due = [
            prayer_request
            for prayer_request in prayer_news_due(now).select_for_update().only("pk", "requester_email", "language")
            if prayer_request.requester_email
        ]
        compose.queue_once(
            [_prayer_news(prayer_request, f"prayer_news:{prayer_request.pk}:{day}") for prayer_request in due]
        )
        PrayerRequest.objects.filter(pk__in=[prayer_request.pk for prayer_request in due]).update(
            prayer_news_sent_at=now
        )
    return len(due)
