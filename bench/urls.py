"""The app's URLs, plus the benchmark's baseline page (bench.settings only;
never part of the app's own URLconf)."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path
from django.views.decorators.http import require_safe

# Twenty-five rows, like one page of a list, with text of a list's length.
_ROWS = [
    {
        "pk": number,
        "title": "Healing after surgery",
        "for_whom": "M. K.",
        "category": "Health",
        "is_urgent": number % 7 == 0,
        "is_confidential": number % 10 == 3,
        "waited": "3 days",
    }
    for number in range(1, 26)
]


@login_not_required
@require_safe
def baseline(request: HttpRequest) -> HttpResponse:
    """A page of the size of a list page, from the same base template, that
    asks the database nothing: what a page costs before its queries."""
    return render(request, "bench/baseline.html", {"rows": _ROWS})


urlpatterns = [
    path("bench/baseline/", baseline, name="bench_baseline"),
    path("", include("intercession.urls")),
]
