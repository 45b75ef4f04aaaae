"""Read-side queries shared by several pages (team page, assignment picker,
coverage page and dashboard)."""

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import BooleanField, Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from requests_app import roles
from requests_app.models import (
    Assignment,
    IntercessorProfile,
    PrayerLog,
    PrayerRequestQuerySet,
    Status,
    StatusUpdate,
    UpdateKind,
)

_DEFAULT_CAPACITY = IntercessorProfile._meta.get_field("max_active_assignments").default


def intercessors_with_load(*, prayers_since: datetime | None = None) -> QuerySet[User]:
    """Active members of the Intercessors group, annotated with `load` (open
    requests they carry now), `capacity`, `available`, `preferred_categories`
    (profile defaults when they have no profile yet), `last_prayed_at`, and,
    if `prayers_since` is given, `prayers_since_count`. One query."""
    load = (
        Assignment.objects.carrying()
        .filter(intercessor=OuterRef("pk"))
        .order_by()
        .values("intercessor")
        .annotate(count=Count("pk"))
        .values("count")
    )
    last_prayer = PrayerLog.objects.filter(intercessor=OuterRef("pk")).order_by("-prayed_at").values("prayed_at")[:1]
    queryset = User.objects.filter(is_active=True, groups__name=roles.INTERCESSORS).annotate(
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
    return queryset.order_by("first_name", "last_name", "username")


def coverage_gaps(requests: PrayerRequestQuerySet, *, days: int, now: datetime | None = None) -> PrayerRequestQuerySet:
    """Active requests nobody has prayed for in `days` days, the longest gap
    first, annotated with `last_prayed_at` and `gap_since`.

    The gap runs from the last prayer or, if nobody has prayed yet, from when
    the request (last) entered intercession, or failing that was submitted.
    """
    now = now or timezone.now()
    entered_intercession = (
        StatusUpdate.objects.filter(prayer_request=OuterRef("pk"), kind=UpdateKind.MOVE, to_status=Status.INTERCEDING)
        .order_by("-created_at", "-pk")
        .values("created_at")[:1]
    )
    return (
        requests.filter(status__in=(Status.INTERCEDING, Status.BREAKTHROUGH))
        .with_last_prayer()
        .annotate(gap_since=Coalesce("last_prayed_at", Subquery(entered_intercession), "created_at"))
        .filter(gap_since__lte=now - timedelta(days=days))
        .order_by("gap_since", "pk")
    )
