"""Pray now: a prayer session, one request at a time
(`requests_app.prayer_session` chooses them).

Plain forms and redirects, nothing needs JavaScript. The start page keeps
the choice and snapshots the session; the session page shows the request in
front of the user, checked against their sight each time; "I prayed" logs
through `services.log_prayer` and moves on, "Skip" moves on. Each button
carries the request it was shown with and moves the session only while that
request is still the one in front of the user (the session row locked), so
a second tap, or a form from an old page, moves nothing.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from requests_app import access, access_log, prayer_session, roles, services
from requests_app.exceptions import IntercessionError, NotAllowed
from requests_app.forms.prayer_session import PrayerSessionChoiceForm, SessionPrayForm, SessionSkipForm
from requests_app.models import PrayerSession
from requests_app.web.decorators import intercessor_required


def _first_error(form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return _("Something in the form was not right.")


@require_http_methods(["GET", "HEAD", "POST"])
@intercessor_required
def start(request: HttpRequest) -> HttpResponse:
    """The choice (also the team board? which categories?), how many
    requests it holds, and "Start praying"; "Count again" keeps the choice
    without starting."""
    session = prayer_session.for_user(request.user)
    form = PrayerSessionChoiceForm(request.POST if request.method == "POST" else None, instance=session)
    if form.is_bound and form.is_valid():
        with transaction.atomic():
            session = prayer_session.choose(
                request.user,
                include_board=form.cleaned_data["include_board"],
                categories=form.cleaned_data["categories"],
            )
            if request.POST.get("action") == "count":
                return redirect("prayer_start")
            prayer_session.start(session)
        if not session.request_ids:
            messages.warning(request, _("There is nothing to pray for with this choice: choose more, then start."))
            return redirect("prayer_start")
        return redirect("prayer_session")
    if form.is_bound:
        # The count of the choice saved, not of the one the form refused
        # (validating it changed the row it was given).
        session = prayer_session.for_user(request.user)
    count, more = prayer_session.count(request.user, session)
    ctx = {
        "form": form,
        "count": count,
        "count_capped": more,
        "limit": prayer_session.SESSION_LIMIT,
        "under_way": session.is_started and bool(session.remaining_ids()),
        "carries": roles.is_intercessor(request.user),
    }
    return render(request, "requests_app/prayer_start.html", ctx)


@require_safe
@intercessor_required
def session_page(request: HttpRequest) -> HttpResponse:
    """The request in front of me, whole, with "I prayed" and "Skip"; at
    the end, how many I prayed for and skipped."""
    session = prayer_session.for_user(request.user)
    if not session.is_started:
        return redirect("prayer_start")
    prayer_request = prayer_session.current_request(session)
    if prayer_request is None:
        return render(request, "requests_app/prayer_session_end.html", {"session": session})
    # Its whole text is on the page, as on the request's own.
    access_log.record(prayer_request, request.user)
    ctx = {
        "prayer_request": prayer_request,
        "number": session.request_ids.index(prayer_request.pk, session.position) + 1,
        "total": len(session.request_ids),
    }
    return render(request, "requests_app/prayer_session.html", ctx)


def _in_front(request: HttpRequest, pk: int) -> PrayerSession | None:
    """The user's session, locked, if request `pk` is the one in front of
    them; else None, with a message unless `pk` is one of the session's (a
    second tap on a button, or a request out of sight since it was shown,
    says nothing). Inside the caller's transaction."""
    session = prayer_session.locked(request.user)
    if session is None or not session.is_started:
        messages.warning(request, _("No prayer session is under way: start one here."))
        return None
    if prayer_session.current_id(session) == pk:
        return session
    if not prayer_session.holds(session, pk):
        messages.warning(request, _("That request is not the one in front of you now: here is the one that is."))
    return None


@require_POST
@intercessor_required
def prayed(request: HttpRequest) -> HttpResponse:
    form = SessionPrayForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("prayer_session")
    pk = form.cleaned_data["request"]
    with transaction.atomic():
        session = _in_front(request, pk)
        if session is None:
            return redirect("prayer_session")
        prayer_request = access.get_request_for_user(request.user, pk)
        try:
            services.log_prayer(
                prayer_request,
                intercessor=request.user,
                **form.prayer(),
            )
        except NotAllowed:
            # Out of sight (or closed) since it was checked: passed over
            # silently, like one the session page never shows.
            prayer_session.move_past(session, pk)
        except ValidationError as invalid:
            messages.error(request, invalid.messages[0])
        except IntercessionError as refusal:
            messages.error(request, refusal.message)
        else:
            prayer_session.move_past(session, pk, prayed=True)
            messages.success(request, _("Prayer logged — thank you for standing in the gap."))
    return redirect("prayer_session")


@require_POST
@intercessor_required
def skip(request: HttpRequest) -> HttpResponse:
    form = SessionSkipForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("prayer_session")
    pk = form.cleaned_data["request"]
    with transaction.atomic():
        session = _in_front(request, pk)
        if session is not None:
            prayer_session.move_past(session, pk, skipped=True)
    return redirect("prayer_session")
