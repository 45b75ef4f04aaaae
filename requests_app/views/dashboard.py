"""The leader's dashboard: where the team stands, in numbers and charts.

Numbers only: no title, person or note of any request appears, so the page
needs no thought about confidentiality beyond being for leaders. It shows a
snapshot of the figures at most a few minutes old and never older than the
viewer's own last change, labelled with its time
(`requests_app.reports.dashboard.snapshot`): a view reads the cache, and working the
figures out costs the same number of queries however many requests there are.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from requests_app import church
from requests_app.models import PrayerRequest
from requests_app.reports import dashboard as figures
from requests_app.web import recent_writes
from requests_app.web.decorators import leader_required


def _labelled(medians: figures.Medians) -> list[tuple[str, str, figures.Median]]:
    return [
        ("to-first-prayer", _("From submission to the first prayer"), medians.submission_to_first_prayer),
        ("to-breakthrough", _("From submission to breakthrough in the spirit"), medians.submission_to_breakthrough),
        ("to-manifestation", _("From breakthrough to manifestation"), medians.breakthrough_to_manifestation),
    ]


@require_safe
@leader_required
def dashboard(request: HttpRequest) -> HttpResponse:
    # Leaders see every request (the one visibility rule), so they share one
    # snapshot of the figures.
    requests = PrayerRequest.objects.visible_to(request.user)
    shown = figures.snapshot(
        requests,
        scope="leaders",
        gap_days=church.current().coverage_days,
        # Never older than what this leader just did.
        not_before=recent_writes.last_write_at(request.user.pk),
    )
    counts = shown.counts
    ctx = {
        "now": shown.as_of,
        "refresh_minutes": figures.SNAPSHOT_SECONDS // 60,
        "counts": counts,
        "oldest_waiting_for": shown.as_of - counts.oldest_waiting_since if counts.oldest_waiting_since else None,
        "gap_days": shown.gap_days,
        "gap_count": shown.gap_count,
        "weeks": shown.weeks,
        "medians": _labelled(shown.medians),
        "median_period_days": figures.MEDIAN_PERIOD.days,
        "median_sample": figures.MEDIAN_SAMPLE,
        "intercessors": shown.intercessors,
        "intercessor_count": shown.intercessor_count,
    }
    return render(request, "requests_app/dashboard.html", ctx)
