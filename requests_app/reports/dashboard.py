"""The figures of the leader's dashboard: pure read-side queries.

Each function takes the requests its reader may see (always a
`PrayerRequest.objects.visible_to(user)` queryset: the one visibility rule
also scopes counts) and a `now`, so that tests can pin the answer, and costs
one query however many requests and prayers there are. They return numbers
only: no title or person ever leaves here.

Every figure is about the whole history or a period of it, so with a million
requests they cost hundreds of milliseconds however they are indexed. The page
shows a snapshot of them (`snapshot`), kept in the cache for
`SNAPSHOT_SECONDS` and labelled "as of" its time: a view costs a cache read,
and only the first view after the snapshot expires, or after the viewer
changed something (`requests_app.web.recent_writes`), pays for the figures.
"""

import logging
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.utils import timezone

from requests_app import queries, roles
from requests_app.models import Assignment, PrayerLog, PrayerRequestQuerySet, Status

# The figures about time cover the requests submitted in this last period:
# long enough to mean something, short enough to describe the team of today.
MEDIAN_PERIOD = timedelta(days=365)
# ... and at most this many of them, the latest: a sample large enough for a
# median, bounded however busy the period was.
MEDIAN_SAMPLE = 2000
WEEKS_OF_PRAYER = 12
# The load chart draws everyone on a small team; on a large one, the
# intercessors carrying most (the team page lists everyone).
LOAD_CHART_SIZE = 20
# How long a snapshot of the figures is shown before it is worked out again.
SNAPSHOT_SECONDS = 300
_SNAPSHOT_KEY = "dashboard:snapshot:v2:{scope}"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class RequestCounts:
    by_status: list[StatusCount]
    total: int
    new_this_week: int
    # The backlog: requests waiting for their first intercessor.
    waiting: int
    oldest_waiting_since: datetime | None


@dataclass(frozen=True)
class WeekOfPrayer:
    starts: date
    prayers: int


@dataclass(frozen=True)
class Median:
    """The median of a duration over `sample` requests (None if none)."""

    duration: timedelta | None
    sample: int


@dataclass(frozen=True)
class Medians:
    submission_to_first_prayer: Median
    submission_to_breakthrough: Median
    breakthrough_to_manifestation: Median


def request_counts(requests: PrayerRequestQuerySet, *, now: datetime) -> RequestCounts:
    """How many requests in each status, how many came in the last 7 days,
    and the backlog waiting for assignment with the date of its oldest."""
    by_status = {f"status_{value}": Count("pk", filter=Q(status=value)) for value in Status.values}
    figures = requests.order_by().aggregate(
        **by_status,
        new_this_week=Count("pk", filter=Q(created_at__gt=now - timedelta(days=7))),
        oldest_waiting_since=Min("created_at", filter=Q(status=Status.NEW)),
    )
    counts = [StatusCount(status.value, status.label, figures[f"status_{status.value}"]) for status in Status]
    return RequestCounts(
        by_status=counts,
        total=sum(count.count for count in counts),
        new_this_week=figures["new_this_week"],
        waiting=figures[f"status_{Status.NEW.value}"],
        oldest_waiting_since=figures["oldest_waiting_since"],
    )


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def prayers_per_week(
    requests: PrayerRequestQuerySet, *, now: datetime, weeks: int = WEEKS_OF_PRAYER
) -> list[WeekOfPrayer]:
    """Prayers logged in each of the last `weeks` calendar weeks (Monday to
    Sunday, in the site's time zone), oldest first; the last is this week,
    so far. One query: a count per week, side by side."""
    today = timezone.localtime(now).date()
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    # Each boundary is a local midnight, so a week keeps its 7 days across a
    # change of daylight saving time.
    starts = [_local_midnight(monday) for monday in mondays]
    ends = [*starts[1:], _local_midnight(this_monday + timedelta(weeks=1))]
    # The whole span up front, so the database reads only these weeks of
    # the prayer log (index `prayer_log_prayed_at`), never all of it.
    prayers = PrayerLog.objects.filter(prayed_at__gte=starts[0], prayed_at__lt=ends[-1])
    if requests.query.has_filters():
        # Only when the reader sees less than everything: "IN (every
        # request)" would make the database join the whole prayer log.
        prayers = prayers.filter(prayer_request__in=requests)
    counts = prayers.order_by().aggregate(
        **{
            f"week_{number}": Count("prayed_at", filter=Q(prayed_at__gte=start, prayed_at__lt=end))
            for number, (start, end) in enumerate(zip(starts, ends, strict=True))
        }
    )
    return [WeekOfPrayer(monday, counts[f"week_{number}"]) for number, monday in enumerate(mondays)]


def _median(durations: list[timedelta]) -> Median:
    # A negative duration is a date entered by hand out of order: not a
    # measure of how long anything took.
    kept = [duration.total_seconds() for duration in durations if duration >= timedelta(0)]
    if not kept:
        return Median(None, 0)
    return Median(timedelta(seconds=statistics.median(kept)), len(kept))


def median_durations(
    requests: PrayerRequestQuerySet, *, now: datetime, period: timedelta = MEDIAN_PERIOD, sample: int = MEDIAN_SAMPLE
) -> Medians:
    """Median times from submission to the first prayer, from submission to
    breakthrough in the spirit, and from breakthrough to manifestation, over
    the requests submitted in `period` (the latest `sample` of them) that
    have reached each point.

    One query fetches the four dates of each request; the medians are taken
    here, the same way on SQLite and PostgreSQL.
    """
    first_prayer = (
        PrayerLog.objects.filter(prayer_request=OuterRef("pk")).order_by("prayed_at").values("prayed_at")[:1]
    )
    rows = (
        requests.filter(created_at__gte=now - period)
        .order_by("-created_at", "-pk")
        .annotate(first_prayed_at=Subquery(first_prayer))
        .values_list("created_at", "first_prayed_at", "breakthrough_at", "answered_at")[:sample]
    )
    to_first_prayer, to_breakthrough, to_manifestation = [], [], []
    for created_at, first_prayed_at, breakthrough_at, answered_at in rows:
        if first_prayed_at is not None:
            to_first_prayer.append(first_prayed_at - created_at)
        if breakthrough_at is not None:
            to_breakthrough.append(breakthrough_at - created_at)
            if answered_at is not None:
                to_manifestation.append(answered_at - breakthrough_at)
    return Medians(
        submission_to_first_prayer=_median(to_first_prayer),
        submission_to_breakthrough=_median(to_breakthrough),
        breakthrough_to_manifestation=_median(to_manifestation),
    )


def intercessors_for_load_chart(*, size: int | None = None) -> tuple[list[User], int]:
    """The intercessors to chart, with their load (as
    `queries.intercessors_with_load`), and how many intercessors there are.

    A team of `size` or fewer is charted whole, alphabetically. A larger one
    shows the `size` carrying most: their load is counted from the open
    requests' assignments (a bounded set), not intercessor by intercessor
    through everything each has ever carried."""
    size = LOAD_CHART_SIZE if size is None else size
    total = User.objects.filter(is_active=True, groups__name=roles.INTERCESSORS).count()
    if total <= size:
        return list(queries.intercessors_with_load()), total
    busiest = list(
        Assignment.objects.carrying()
        .values("intercessor")
        .annotate(load=Count("pk"))
        .order_by("-load", "intercessor")
        .values_list("intercessor", flat=True)[:size]
    )
    charted = sorted(
        queries.intercessors_with_load().filter(pk__in=busiest), key=lambda member: (-member.load, member.pk)
    )
    return charted, total


@dataclass(frozen=True)
class ChartedIntercessor:
    """What the load chart shows of an intercessor, and no more: the
    snapshot is kept in the cache (a shared Redis perhaps), where a User
    would put password hashes and e-mail addresses."""

    pk: int
    full_name: str
    username: str
    load: int
    capacity: int
    available: bool

    @classmethod
    def of(cls, member: User) -> "ChartedIntercessor":
        return cls(
            pk=member.pk,
            full_name=member.get_full_name(),
            username=member.get_username(),
            load=member.load,
            capacity=member.capacity,
            available=member.available,
        )

    def get_full_name(self) -> str:
        return self.full_name

    def get_username(self) -> str:
        return self.username


@dataclass(frozen=True)
class Snapshot:
    """Every figure of the dashboard at one moment, `as_of`."""

    as_of: datetime
    counts: RequestCounts
    gap_days: int
    gap_count: int
    weeks: list[WeekOfPrayer]
    medians: Medians
    intercessors: list
    intercessor_count: int


def work_out(requests: PrayerRequestQuerySet, *, now: datetime, gap_days: int) -> Snapshot:
    """Every figure, now: a handful of queries, each bounded by an index
    or a period, none of them per request."""
    charted, total = intercessors_for_load_chart()
    return Snapshot(
        as_of=now,
        counts=request_counts(requests, now=now),
        gap_days=gap_days,
        gap_count=queries.coverage_gaps(requests, days=gap_days, now=now).count(),
        weeks=prayers_per_week(requests, now=now),
        medians=median_durations(requests, now=now),
        intercessors=[ChartedIntercessor.of(member) for member in charted],
        intercessor_count=total,
    )


def snapshot(
    requests: PrayerRequestQuerySet, *, scope: str, gap_days: int, not_before: datetime | None = None
) -> Snapshot:
    """The figures as of at most `SNAPSHOT_SECONDS` ago, from the cache, or
    worked out now and kept. `scope` names who may see `requests` (the
    dashboard is for leaders, who all see the same), so that no one is ever
    shown figures worked out for someone who sees more. A kept snapshot
    older than `not_before` (the viewer's own last change) is worked out
    again, so a leader always sees what they just did counted."""
    key = _SNAPSHOT_KEY.format(scope=scope)
    try:
        kept = cache.get(key)
    except Exception as error:  # a shared cache that is away: work it out
        logger.warning("dashboard: cache unreadable (%s)", type(error).__name__)
        kept = None
    if isinstance(kept, Snapshot) and kept.gap_days == gap_days and (not_before is None or kept.as_of >= not_before):
        return kept
    fresh = work_out(requests, now=timezone.now(), gap_days=gap_days)
    try:
        cache.set(key, fresh, SNAPSHOT_SECONDS)
    except Exception as error:
        logger.warning("dashboard: cache not written (%s)", type(error).__name__)
    return fresh
