from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from requests_app import roles
from requests_app.models import PrayerRequest

PAGE_SIZE = 25


def home(request: HttpRequest) -> HttpResponse:
    """The requests this person may see, urgent first, oldest first."""
    requests_seen = PrayerRequest.objects.visible_to(request.user).order_by("-is_urgent", "created_at", "pk")
    page = Paginator(requests_seen, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {
        "page": page,
        "on_team": roles.is_leader(request.user) or roles.is_intercessor(request.user),
    }
    return render(request, "requests_app/home.html", ctx)
