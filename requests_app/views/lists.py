"""The team's lists: triage, every request, my assignments, the team board,
the team, coverage gaps and my history.

Every list starts from `PrayerRequest.objects.visible_to(user)` (or, for what
the user wrote themselves, from their own rows checked against it), is
paginated, and costs the same number of queries however long it is. The lists
that grow with the history (triage, every request, the board, coverage, my
history) and the team page by keyset (`requests_app.keyset`), so a page deep
in the list costs what the first does and no page counts the whole list; my
assignments, bounded by an intercessor's capacity, keeps numbered pages.
"""

from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Case, Exists, F, OuterRef, Prefetch, QuerySet, Subquery, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.http import require_safe

from requests_app import queries, roles
from requests_app.forms.lists import BoardFilterForm, CoverageForm, RequestFilterForm
from requests_app.keyset import PAGE_SIZE, Key, Keyset, capped_count, keyset_page
from requests_app.models import (
    Assignment,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    UpdateKind,
    Visibility,
)
from requests_app.privacy.fields import EncryptedCharField, EncryptedTextField
from requests_app.views.rows import DaysSince, PrayForms, RequestRows, Waited, short_date, url_for_id
from requests_app.web.decorators import intercessor_required, leader_required
from requests_app.web.moments import iso

# A count shown on a list stops here ("1,000+"): bounded work however long the list.
COUNT_CAP = 1000

# Urgent first, then oldest; the id breaks ties. Served by the partial
# indexes `prayer_triage_order` and `prayer_board_order`.
URGENT_THEN_OLDEST = (Key("is_urgent", bool, negated=True), Key("created_at", datetime), Key("pk", int))
TRIAGE_ORDER = Keyset("triage", URGENT_THEN_OLDEST)
BOARD_ORDER = Keyset("board", URGENT_THEN_OLDEST)
# Newest first (index `prayer_newest`).
NEWEST_FIRST = Keyset("requests", (Key("created_at", datetime), Key("pk", int)), descending=True)
LONGEST_GAP_FIRST = Keyset("coverage", (Key("gap_since", datetime), Key("pk", int)))
# The team, alphabetically (index `intercession_user_name_order` on auth_user).
MY_PRAYERS = Keyset("my-prayers", (Key("prayed_at", datetime), Key("pk", int)), descending=True)
MY_JOURNAL = Keyset("my-journal", (Key("created_at", datetime), Key("pk", int)), descending=True)


def _page(request: HttpRequest, items: QuerySet, param: str = "page") -> Page:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get(param))


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Where each person starts: leaders at triage, intercessors at their
    assignments; anyone else learns they are not on the team, and nothing more."""
    if roles.is_leader(request.user):
        return redirect("triage")
    if roles.is_intercessor(request.user):
        return redirect("my_assignments")
    return render(request, "requests_app/not_on_team.html")


@require_safe
@leader_required
def triage(request: HttpRequest) -> HttpResponse:
    """New requests waiting for intercessors, urgent first, then oldest."""
    waiting = PrayerRequest.objects.visible_to(request.user).filter(status=Status.NEW)
    count, more = capped_count(waiting, COUNT_CAP)
    flagged = _flagged_by_the_team(request.user)
    page = keyset_page(request, waiting, TRIAGE_ORDER)
    share, keep_off, assign = (
        url_for_id("request_share"),
        url_for_id("request_keep_off_board"),
        url_for_id("request_assign"),
    )
    waited = Waited()
    flagged_rows = RequestRows(status=True)
    waiting_rows = RequestRows(details=True)
    ctx = {
        "page": page,
        "rows": [
            waiting_rows.row(
                prayer_request,
                waited=waited(prayer_request.created_at),
                created_iso=iso(prayer_request.created_at),
                on_board=prayer_request.is_on_board,
                can_share=not (
                    prayer_request.is_confidential or prayer_request.shared_with_team_at or prayer_request.flagged_at
                ),
                share_url=share(prayer_request.pk),
                assign_url=assign(prayer_request.pk),
            )
            for prayer_request in page.object_list
        ],
        "here": request.get_full_path(),
        "count": count,
        "count_capped": more,
        "flagged": [
            flagged_rows.row(
                prayer_request,
                flag_reason=prayer_request.flag_reason or "",
                flagged_waited=waited(prayer_request.flagged_at),
                flagged_iso=iso(prayer_request.flagged_at),
                share_url=share(prayer_request.pk),
                keep_off_url=keep_off(prayer_request.pk),
            )
            for prayer_request in flagged[:FLAGGED_SHOWN]
        ],
        "more_flagged": len(flagged) > FLAGGED_SHOWN,
    }
    return render(request, "requests_app/triage.html", ctx)


# Flags wait for a leader's review at the top of triage, oldest first; a page
# shows this many (reviewing them brings up the next).
FLAGGED_SHOWN = PAGE_SIZE


def _flagged_by_the_team(user) -> list[PrayerRequest]:
    """Requests an intercessor flagged as unsuitable for the board, with the
    reason of the latest flag (`flag_reason`), in one query over the index
    `prayer_flagged`; one more than is shown, to know whether there are more."""
    latest_flag = StatusUpdate.objects.filter(prayer_request=OuterRef("pk"), kind=UpdateKind.FLAGGED).order_by(
        "-created_at", "-pk"
    )
    return list(
        PrayerRequest.objects.visible_to(user)
        .filter(flagged_at__isnull=False)
        .annotate(flag_reason=Subquery(latest_flag.values("note")[:1], output_field=EncryptedTextField()))
        .order_by("flagged_at", "pk")[: FLAGGED_SHOWN + 1]
    )


@require_safe
@leader_required
def request_list(request: HttpRequest) -> HttpResponse:
    """Every request, newest first, narrowed by the filters that are valid."""
    form = RequestFilterForm(request.GET)
    found = form.filter(PrayerRequest.objects.visible_to(request.user))
    # No count: with a rare filter or search, even a capped count would
    # read much of the table to find its thousand rows.
    page = keyset_page(request, found, NEWEST_FIRST)
    rows = RequestRows(status=True)
    ctx = {
        "form": form,
        "page": page,
        "rows": [
            rows.row(
                prayer_request,
                created_iso=iso(prayer_request.created_at),
                created_on=short_date(prayer_request.created_at),
            )
            for prayer_request in page.object_list
        ],
    }
    return render(request, "requests_app/request_list.html", ctx)


@require_safe
@intercessor_required
def my_assignments(request: HttpRequest) -> HttpResponse:
    """What I carry: urgent first, then what the team prayed for least lately."""
    carried = (
        PrayerRequest.objects.visible_to(request.user)
        .open()
        # One filter() call, so both conditions hold for the same assignment.
        .filter(assignments__intercessor=request.user, assignments__released_at__isnull=True)
        .order_by("-is_urgent", F("last_prayed_at").asc(nulls_first=True), "created_at", "pk")
    )
    if not roles.is_intercessor(request.user):
        # A leader who does not intercede carries nothing.
        carried = carried.none()
    page = _page(request, carried)
    ctx = {"page": page, "rows": _rows_to_pray_for(request, page.object_list, pray=True)}
    return render(request, "requests_app/my_assignments.html", ctx)


def _rows_to_pray_for(request: HttpRequest, requests, *, pray: bool) -> list:
    """The rows of my assignments and of the team board: the head with its
    status and details, when the team last prayed, and "I prayed" if `pray`."""
    rows, pray_form, days_since = RequestRows(status=True, details=True), None, DaysSince()
    if pray:
        pray_form = PrayForms(request)
    return [
        rows.row(
            prayer_request,
            last_prayed_iso=iso(prayer_request.last_prayed_at),
            last_prayed=days_since(prayer_request.last_prayed_at),
            pray_form=pray_form(prayer_request.pk) if pray_form else "",
        )
        for prayer_request in requests
    ]


@require_safe
@intercessor_required
def board(request: HttpRequest) -> HttpResponse:
    """The team board: open requests that a leader shared with the team,
    neither confidential nor flagged for review, the same for everyone on
    the team (a leader finds the others on triage and the list of requests).
    A category and whole words narrow it; they only ever narrow it."""
    form = BoardFilterForm(request.GET)
    on_board = form.filter(PrayerRequest.objects.visible_to(request.user).on_board())
    page = keyset_page(request, on_board, BOARD_ORDER)
    # rules.can_log_prayer for every row at once: each is on the board, so
    # anyone on the team may log a prayer for it.
    can_log_prayer = roles.is_leader(request.user) or roles.is_intercessor(request.user)
    ctx = {
        "form": form,
        "filtered": any(form.cleaned_data.values()),
        "page": page,
        "rows": _rows_to_pray_for(request, page.object_list, pray=can_log_prayer),
    }
    return render(request, "requests_app/board.html", ctx)


@require_safe
@leader_required
def coverage(request: HttpRequest) -> HttpResponse:
    """Active requests nobody has prayed for in `days` days, the longest gap first.

    The gap runs from the last prayer or, if nobody has prayed yet, from when
    the request (last) entered intercession, or failing that was submitted.
    """
    form = CoverageForm(request.GET or None)
    days = form.days_or_default()
    gaps = queries.coverage_gaps(PrayerRequest.objects.visible_to(request.user), days=days).prefetch_related(
        Prefetch(
            "assignments",
            queryset=Assignment.objects.active()
            .select_related("intercessor")
            .order_by("intercessor__first_name", "intercessor__username"),
            to_attr="active_assignments",
        )
    )
    page = keyset_page(request, gaps, LONGEST_GAP_FIRST)
    today = timezone.localdate()
    rows = RequestRows(status=True)

    def gap(prayer_request) -> str:
        count = (today - timezone.localtime(prayer_request.gap_since).date()).days
        return ngettext("%(counter)s day without prayer", "%(counter)s days without prayer", count) % {
            "counter": count
        }

    ctx = {
        "form": form,
        "days": days,
        "page": page,
        "rows": [
            rows.row(
                prayer_request,
                gap=gap(prayer_request),
                gap_iso=iso(prayer_request.gap_since),
                gap_on=short_date(prayer_request.gap_since),
                intercessors=", ".join(
                    assignment.intercessor.get_full_name() or assignment.intercessor.get_username()
                    for assignment in prayer_request.active_assignments
                ),
            )
            for prayer_request in page.object_list
        ],
    }
    return render(request, "requests_app/coverage.html", ctx)


def _with_request_title_if_visible(entries: QuerySet, user) -> QuerySet:
    """Annotate `request_title`: the request's title if `user` may still see
    it, else None. Decided by one subquery, and the title of a request out
    of sight is never even loaded."""
    visible = PrayerRequest.objects.visible_to(user).filter(pk=OuterRef("prayer_request_id"))
    return entries.annotate(
        request_title=Case(
            When(Exists(visible), then=F("prayer_request__title")),
            default=Value(None),
            # Opened like the field it is.
            output_field=EncryptedCharField(),
        )
    )


@require_safe
@intercessor_required
def history(request: HttpRequest) -> HttpResponse:
    """My prayers and my private journal, newest first. A request I may no
    longer see keeps its place in my history, but not its title or link."""
    prayers = _with_request_title_if_visible(PrayerLog.objects.filter(intercessor=request.user), request.user)
    journal = _with_request_title_if_visible(
        StatusUpdate.objects.filter(author=request.user, visibility=Visibility.PRIVATE), request.user
    )
    ctx = {
        "prayers": keyset_page(request, prayers, MY_PRAYERS, param="prayers_page", anchor="prayers-heading"),
        "journal": keyset_page(request, journal, MY_JOURNAL, param="notes_page", anchor="journal-heading"),
    }
    return render(request, "requests_app/history.html", ctx)
