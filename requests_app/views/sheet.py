"""The prayer sheet: open requests to pray through at a prayer meeting,
printed on paper.

Paper cannot be taken back, so confidential requests are never on it: not
their text, not a count, not a category heading that only they would fill.
The sheet is the whole list on purpose (a meeting prays through all of it),
and costs two queries however long it is.
"""

from itertools import groupby

from django.db.models import Case, IntegerField, Prefetch, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from requests_app.models import Assignment, Category, PrayerRequest
from requests_app.web.decorators import leader_required

_CATEGORY_ORDER = Case(
    *(When(category=value, then=Value(position)) for position, value in enumerate(Category.values)),
    default=Value(len(Category.values)),
    output_field=IntegerField(),
)


@require_safe
@leader_required
def prayer_sheet(request: HttpRequest) -> HttpResponse:
    """By category, in the categories' own order; urgent first, then oldest."""
    on_sheet = (
        # What the team board shows: never a request no leader has shared,
        # nor one flagged for review.
        PrayerRequest.objects.visible_to(request.user)
        .on_board()
        .annotate(category_order=_CATEGORY_ORDER)
        .order_by("category_order", "-is_urgent", "created_at", "pk")
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=Assignment.objects.active()
                .select_related("intercessor")
                .order_by("intercessor__first_name", "intercessor__last_name", "intercessor__username"),
                to_attr="active_assignments",
            )
        )
    )
    labels = dict(Category.choices)
    ctx = {
        "categories": [
            (labels.get(category, category), list(requests))
            for category, requests in groupby(on_sheet, key=lambda prayer_request: prayer_request.category)
        ],
        "printed_at": timezone.now(),
    }
    return render(request, "requests_app/prayer_sheet.html", ctx)
