"""Read-side queries shared by several pages (team page, assignment picker,
coverage page and dashboard)."""

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import BooleanField, Count, Exists, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from requests_app import roles
from requests_app.models import (
    GAP_SINCE,
    Assignment,
    AuditAction,
    AuditLogEntry,
    IntercessorProfile,
    PrayerLog,
    PrayerRequestQuerySet,
    Status,
)

_DEFAULT_CAPACITY = IntercessorProfile._meta.get_field("max_active_assignments").default


def intercessors_with_load(*, prayers_since: datetime | None = None) -> QuerySet[User]:
    """Active members of the Intercessors group, annotated with `load` (open
    requests they carry now), `capacity`, `available`, `preferred_categories`
    (profile defaults when they have no profile yet), `last_prayed_at`, and,
    if `prayers_since` is given, `prayers_since_count`. One query."""
    queryset = User.objects.filter(is_active=True, groups__name=roles.INTERCESSORS)
    return _with_load(queryset, prayers_since=prayers_since).order_by("first_name", "last_name", "username", "pk")


def _membership(group_name: str) -> Exists:
    return Exists(User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name=group_name))


def _on_the_team() -> QuerySet[User]:
    """Everyone in the Leaders or the Intercessors group, annotated with
    `is_leader` and `is_intercessor`; no row twice.

    Who is on the team is one EXISTS over both groups, asked of each row
    the page reads: filtering on the two annotations instead had
    PostgreSQL hash every member of both groups first (at 1M requests and
    5,000 members, the team page's query went from 3.1 ms to 2.0 ms)."""
    on_the_team = Exists(
        User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name__in=[roles.LEADERS, roles.INTERCESSORS])
    )
    return (
        User.objects.annotate(is_leader=_membership(roles.LEADERS), is_intercessor=_membership(roles.INTERCESSORS))
        .filter(on_the_team)
        .order_by("first_name", "last_name", "username", "pk")
    )


def team_members(*, prayers_since: datetime | None = None) -> QuerySet[User]:
    """The active team, leaders and intercessors alike, with their roles
    (`is_leader`, `is_intercessor`) and the figures of
    `intercessors_with_load` (which mean something for intercessors only).
    One query."""
    return _with_load(_on_the_team().filter(is_active=True), prayers_since=prayers_since)


def active_leader_count() -> int:
    """How many active leaders the team has (never fewer than one, which
    `requests_app.team.members` keeps so)."""
    return User.objects.filter(is_active=True, groups__name=roles.LEADERS).count()


def deactivated_members() -> QuerySet[User]:
    """Members who were deactivated (they keep their groups, which grant
    nothing while the account is inactive), with their roles and
    `deactivated_at`, from the audit log. One query."""
    deactivated_at = (
        AuditLogEntry.objects.filter(subject=OuterRef("pk"), action=AuditAction.DEACTIVATED)
        .order_by("-created_at", "-pk")
        .values("created_at")[:1]
    )
    return _on_the_team().filter(is_active=False).annotate(deactivated_at=Subquery(deactivated_at))


def _with_load(queryset: QuerySet[User], *, prayers_since: datetime | None) -> QuerySet[User]:
    # Counted on prayer_request_id, so that both sides of the join are
    # index-only: the user's active assignments (`assignment_active_by_user`)
    # and whether each request is open (`prayer_open`). Never on the
    # assignment rows themselves, which grow with everything ever carried.
    load = (
        Assignment.objects.carrying()
        .filter(intercessor=OuterRef("pk"))
        .order_by()
        .values("intercessor")
        .annotate(count=Count("prayer_request"))
        .values("count")
    )
    last_prayer = PrayerLog.objects.filter(intercessor=OuterRef("pk")).order_by("-prayed_at").values("prayed_at")[:1]
    queryset = queryset.annotate(
        load=Coalesce(Subquery(load, output_field=IntegerField()), Value(0)),
        capacity=Coalesce(F("intercessor_profile__max_active_assignments"), Value(_DEFAULT_CAPACITY)),
        available=Coalesce(F("intercessor_profile__is_available"), Value(True), output_field=BooleanField()),
        preferred_categories=F("intercessor_profile__preferred_categories"),
        last_prayed_at=Subquery(last_prayer),
    )
    if prayers_since is not None:
        prayers = (
            PrayerLog.objects.filter(intercessor=OuterRef("pk"), prayed_at__gte=prayers_since)
            .order_by()
            .values("intercessor")
            .annotate(count=Count("pk"))
            .values("count")
        )
        queryset = queryset.annotate(
            prayers_since_count=Coalesce(Subquery(prayers, output_field=IntegerField()), Value(0))
        )
    return queryset


def coverage_gaps(requests: PrayerRequestQuerySet, *, days: int, now: datetime | None = None) -> PrayerRequestQuerySet:
    """Active requests nobody has prayed for in `days` days, the longest gap
    first, annotated with `gap_since`.

    The gap runs from the last prayer or, if nobody has prayed yet, from when
    the request (last) entered intercession, or failing that was submitted:
    all three are columns of the request, so the order and the filter are one
    range of the index `prayer_coverage_order`.
    """
    now = now or timezone.now()
    return (
        requests.filter(status__in=(Status.INTERCEDING, Status.BREAKTHROUGH))
        .annotate(gap_since=GAP_SINCE)
        .filter(gap_since__lte=now - timedelta(days=days))
        .order_by("gap_since", "pk")
    )
