"""The requester's own data through their follow-up link: download what
they can see of their request (a page and a JSON file), and delete it.

Fetched like every follow-up page (`access.get_request_for_token`: a wrong
token is the same 404), never cached, not indexed. What they download is
what their follow-up page shows them, no more: their request, where it
stands, and the entries of its story written for them or moving its status
(never the team's notes, the prayer log or an intercessor's name). Deleting
is a confirmation page (GET), then a POST within the follow-up rate limit:
`services.erase_for_requester`.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_safe

from requests_app import access, services
from requests_app.models import PrayerRequest, Status, UpdateKind, Visibility
from requests_app.rules import Requester
from requests_app.views import public


def _story_for_requester(prayer_request: PrayerRequest) -> list[dict]:
    """The story as the follow-up page tells it (`public._followup_page`)."""
    entries = prayer_request.updates.filter(
        Q(visibility=Visibility.REQUESTER) | Q(kind__in=[UpdateKind.MOVE, UpdateKind.UNDONE])
    ).order_by("created_at", "pk")
    story = []
    for update in entries:
        if update.kind == UpdateKind.SUBMITTED:
            what = _("You sent this request.")
        elif update.is_move:
            what = _("Status: %(label)s") % {"label": Status(update.to_status).label}
        elif update.kind == UpdateKind.ERASED:
            what = update.erased_line
        elif update.kind == UpdateKind.CONFIDENTIALITY:
            what = _("Who can see the request was changed.")
        elif update.kind == UpdateKind.NOTE:
            what = _("Update")
        else:
            what = str(update.get_kind_display())
        shown_note = update.visibility == Visibility.REQUESTER and update.kind != UpdateKind.ERASED
        story.append(
            {
                "at": timezone.localtime(update.created_at),
                "by": _("The intercession team") if update.author_id else _("You"),
                "what": what,
                "note": update.note if shown_note else "",
            }
        )
    return story


def _everything(prayer_request: PrayerRequest) -> dict:
    return {
        "request": {
            "for_whom": prayer_request.for_whom,
            "category": str(prayer_request.get_category_display()),
            "title": prayer_request.shown_title,
            "details": prayer_request.details,
            "urgent": prayer_request.is_urgent,
            "confidential": prayer_request.is_confidential,
            "your_name": prayer_request.requester_name,
            "your_email": prayer_request.requester_email,
            "sent_at": timezone.localtime(prayer_request.created_at),
            "text_erased_at": prayer_request.text_erased_at and timezone.localtime(prayer_request.text_erased_at),
        },
        "status": str(prayer_request.get_status_display()),
        "status_sentence": str(public.STATUS_SENTENCES[prayer_request.status]),
        "story": _story_for_requester(prayer_request),
    }


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@login_not_required
@never_cache
@require_safe
@sensitive_variables()
def followup_download(request: HttpRequest, token: str) -> HttpResponse:
    """Everything the requester can see of their request, on one page to
    read, print or save."""
    prayer_request = access.get_request_for_token(token)
    ctx = {"token": token, "data": _everything(prayer_request)}
    return _private(render(request, "requests_app/public/followup_download.html", ctx))


@login_not_required
@never_cache
@require_safe
@sensitive_variables()
def followup_download_json(request: HttpRequest, token: str) -> HttpResponse:
    """The same, as a JSON file."""
    prayer_request = access.get_request_for_token(token)
    data = _everything(prayer_request)
    body = json.dumps(data, default=lambda value: value.isoformat(), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="prayer-request-{prayer_request.pk}.json"'
    return _private(response)


@login_not_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@sensitive_variables()
def followup_delete(request: HttpRequest, token: str) -> HttpResponse:
    """Delete the request: a confirmation page, then the POST erases its
    text, closes it and releases its intercessors."""
    within_limit = request.method != "POST" or public._within_followup_limit(request)
    prayer_request = access.get_request_for_token(token)
    if request.method != "POST":
        ctx = {
            "token": token,
            "erased": prayer_request.text_erased_at is not None,
            # A manifested request stays manifested (nobody closes an answer).
            "manifested": prayer_request.status == Status.ANSWERED,
        }
        return _private(render(request, "requests_app/public/followup_delete.html", ctx))
    if not within_limit:
        return public._too_many_followups(request, token, prayer_request)
    services.erase_for_requester(prayer_request, requester=Requester(prayer_request.pk))
    messages.success(
        request,
        _(
            "Your request has been deleted: its text, your name and e-mail and every note are erased. "
            "Thank you for letting us pray with you."
        ),
    )
    return redirect("followup", token)
