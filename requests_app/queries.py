"""Read-side queries shared by several pages (team page, assignment picker)."""

from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import BooleanField, Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from requests_app import roles
from requests_app.models import Assignment, IntercessorProfile, PrayerLog

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
