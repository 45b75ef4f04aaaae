"""The leader's dashboard: where the team stands, in numbers and charts.

Numbers only: no title, person or note of any request appears, so the page
needs no thought about confidentiality beyond being for leaders. It costs the
same number of queries however many requests and prayers there are.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from requests_app import dashboard as figures
from requests_app import queries
from requests_app.decorators import leader_required
from requests_app.models import PrayerRequest


def _labelled(medians: figures.Medians) -> list[tuple[str, str, figures.Median]]:
    return [
        ("to-first-prayer", _("From submission to the first prayer"), medians.submission_to_first_prayer),
        ("to-breakthrough", _("From submission to breakthrough in the spirit"), medians.submission_to_breakthrough),
        ("to-manifestation", _("From breakthrough to manifestation"), medians.breakthrough_to_manifestation),
    ]


@require_safe
@leader_required
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    requests = PrayerRequest.objects.visible_to(request.user)
    gap_days = settings.INTERCESSION_COVERAGE_DAYS
    counts = figures.request_counts(requests, now=now)
    ctx = {
        "now": now,
        "counts": counts,
        "oldest_waiting_for": now - counts.oldest_waiting_since if counts.oldest_waiting_since else None,
        "gap_days": gap_days,
        "gap_count": queries.coverage_gaps(requests, days=gap_days, now=now).count(),
        "weeks": figures.prayers_per_week(requests, now=now),
        "medians": _labelled(figures.median_durations(requests, now=now)),
        "median_period_days": figures.MEDIAN_PERIOD.days,
        "intercessors": list(queries.intercessors_with_load()),
    }
    return render(request, "requests_app/dashboard.html", ctx)
