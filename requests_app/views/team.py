"""The team page: where a leader runs the team (`requests_app.team`)."""

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from requests_app import queries
from requests_app.keyset import Key, Keyset, keyset_page
from requests_app.models import Category
from requests_app.web.decorators import leader_required

TEAM_ORDER = Keyset("team", (Key("first_name", str), Key("last_name", str), Key("username", str), Key("pk", int)))


def _start_of_this_month() -> datetime:
    """Midnight on the first of this month, in the site's time zone."""
    return timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@require_safe
@leader_required
def team(request: HttpRequest) -> HttpResponse:
    """Every intercessor: what they carry against what they can, and how they pray."""
    page = keyset_page(request, queries.intercessors_with_load(prayers_since=_start_of_this_month()), TEAM_ORDER)
    labels = dict(Category.choices)
    for member in page.object_list:
        member.category_labels = [labels[value] for value in member.preferred_categories or [] if value in labels]
    ctx = {"page": page}
    return render(request, "requests_app/team.html", ctx)
