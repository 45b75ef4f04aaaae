"""One request: its page, and every change made from it.

Every view fetches through `requests_app.access` (404 for what the user may
not see, 403 for what they may not change) and changes things only through
`requests_app.services`. A service's `NotAllowed` is a 403; any other refusal
or bad input becomes a message, and changes nothing.
"""

from datetime import UTC, timedelta

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field, as_crispy_form
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Count, IntegerField, JSONField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, JSONObject
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from requests_app import access, access_log, queries, roles, rules, services
from requests_app.exceptions import IntercessionError, NotAllowed
from requests_app.forms.request_page import (
    AssignForm,
    FlagForm,
    MoveForm,
    PrayForm,
    ReassignForm,
    ReleaseForm,
    UndoForm,
    UpdateForm,
)
from requests_app.models import (
    AccessAction,
    AccessLogEntry,
    Assignment,
    Category,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    Visibility,
)
from requests_app.team.members import MAX_CAPACITY
from requests_app.views import entries, rendered, retention
from requests_app.views.outcomes import carry_out
from requests_app.web.next_url import safe_next

PAGE_SIZE = 25
# The assignment picker shows how often each intercessor prayed lately.
RECENT_PRAYER_DAYS = 30

STATUS_EXPLANATIONS = {
    Status.NEW: _("Submitted and waiting for a leader to assign intercessors."),
    Status.INTERCEDING: _("Intercessors are standing in the gap for this request."),
    Status.BREAKTHROUGH: _("Received in the spirit; we keep watching for it to manifest in the natural."),
    Status.ANSWERED: _("The answer has been seen. Give thanks!"),
    Status.CLOSED: _("Withdrawn, released to rest, declined or a duplicate."),
}


def _move_label(from_status: str, to_status: Status) -> str:
    """The button for a move, in the words intercessors use."""
    if to_status == Status.INTERCEDING:
        if from_status == Status.BREAKTHROUGH:
            return _("More is still needed — back to intercession")
        return _("Reopen")
    return {
        Status.BREAKTHROUGH: _("Breakthrough in the spirit"),
        Status.ANSWERED: _("Manifested"),
        Status.CLOSED: _("Close"),
    }[to_status]


# The moves that end intercession, made only once confirmed: the question,
# and the button that says yes.
CONFIRMED_MOVES = {
    Status.ANSWERED: (_("Mark request #%(pk)s manifested?"), _("Yes, mark it manifested")),
    Status.CLOSED: (_("Close request #%(pk)s?"), _("Yes, close it")),
}


def _detail_url(prayer_request_id: int) -> str:
    return reverse("request_detail", args=[prayer_request_id])


def _first_error(form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return str(_("Something in the form was not right."))


def _pager(request: HttpRequest, page: Page, param: str, anchor: str) -> dict:
    """Previous/next links for one of the page's two lists, keeping the
    other list's page."""

    def link(number: int) -> str:
        query = request.GET.copy()
        query[param] = str(number)
        return f"?{query.urlencode()}#{anchor}"

    return {
        "page": page,
        "previous_url": link(page.previous_page_number()) if page.has_previous() else "",
        "next_url": link(page.next_page_number()) if page.has_next() else "",
    }


class _CountedPaginator(Paginator):
    """A paginator told its count, fetched with the request itself, so it
    never asks the database for it."""

    def __init__(self, object_list, per_page: int, count: int):
        super().__init__(object_list, per_page)
        self.count = count


def _story(user: User, prayer_request: PrayerRequest, *, on_team: bool) -> QuerySet[StatusUpdate]:
    return access.story_for(user, prayer_request, on_team=on_team).select_related("author", "intercessor")


def _count_of(rows: QuerySet) -> Subquery:
    """A correlated COUNT of `rows` (filtered on OuterRef("pk")), for an annotation."""
    counted = rows.order_by().values("prayer_request").annotate(count=Count("pk")).values("count")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


# The queryset of `_with_page_figures` for each viewer, built once: building
# its five subqueries cost more than compiling and running the query. Only
# clones of it are ever filtered and run; it depends on nothing but who
# reads and whether they lead (both in the key). Past this many, start over.
_FIGURES_KEPT = 256
_figures: dict[tuple[int, bool], QuerySet[PrayerRequest]] = {}


def _with_page_figures(user: User) -> QuerySet[PrayerRequest]:
    """The request with the sizes of its lists, all in the one query that
    fetches it (each a subquery over an index on the request; its last
    prayer is a column), so the page's pagers never count on their own. The
    story is counted for both kinds of reader: whether this one is on the
    request's team is only known once its intercessors are loaded."""
    key = (user.pk, roles.is_leader(user))
    built = _figures.get(key)
    if built is None:
        if len(_figures) >= _FIGURES_KEPT:
            _figures.clear()
        built = _figures[key] = _build_page_figures(user)
    return built.all()


def _build_page_figures(user: User) -> QuerySet[PrayerRequest]:
    story = StatusUpdate.objects.filter(prayer_request=OuterRef("pk"))
    return PrayerRequest.objects.annotate(
        prayer_count=_count_of(PrayerLog.objects.filter(prayer_request=OuterRef("pk"))),
        story_count_for_team=_count_of(story.filter(access.story_seen(user, on_team=True))),
        story_count_for_reader=_count_of(story.filter(access.story_seen(user, on_team=False))),
        access_count=_count_of(AccessLogEntry.objects.filter(prayer_request=OuterRef("pk"))),
        latest_move_values=Subquery(
            rules.moves().filter(prayer_request=OuterRef("pk")).values(values=JSONObject(**_MOVE_VALUES))[:1],
            output_field=JSONField(),
        ),
    )


# What the undo control reads of the latest move, fetched with the request.
_MOVE_VALUES = {
    "pk": "pk",
    "kind": "kind",
    "from_status": "from_status",
    "to_status": "to_status",
    "created_at": "created_at",
    "author_id": "author_id",
    "author_username": "author__username",
    "author_first_name": "author__first_name",
    "author_last_name": "author__last_name",
}


def _latest_move(prayer_request: PrayerRequest) -> StatusUpdate | None:
    """`rules.latest_move(prayer_request)`, from the values the page's query
    for the request brought (`_with_page_figures`): not saved, only read."""
    values = prayer_request.latest_move_values
    if not values:
        return None
    created_at = parse_datetime(values["created_at"])
    if timezone.is_naive(created_at):  # SQLite keeps UTC without an offset
        created_at = timezone.make_aware(created_at, UTC)
    author = None
    if values["author_id"] is not None:
        author = User(
            pk=values["author_id"],
            username=values["author_username"],
            first_name=values["author_first_name"],
            last_name=values["author_last_name"],
        )
    return StatusUpdate(
        pk=values["pk"],
        prayer_request=prayer_request,
        kind=values["kind"],
        from_status=values["from_status"],
        to_status=values["to_status"],
        created_at=created_at,
        author=author,
    )


def _current_intercessors(prayer_request: PrayerRequest) -> list[Assignment]:
    """Active assignments, each with when its intercessor last prayed for
    this request."""
    last_prayer = (
        PrayerLog.objects.filter(prayer_request=OuterRef("prayer_request"), intercessor=OuterRef("intercessor"))
        .order_by("-prayed_at")
        .values("prayed_at")[:1]
    )
    return list(
        Assignment.objects.active()
        .filter(prayer_request=prayer_request)
        .select_related("intercessor")
        .annotate(last_prayed_at=Subquery(last_prayer))
        .order_by("assigned_at", "pk")
    )


def _intercessor_rows(prayer_request: PrayerRequest) -> list[User]:
    """Everyone on the team, best fit first: those who can take the request
    (available, with room) before those who cannot (they would be refused);
    within each, those drawn to this kind of request, then those carrying
    least."""
    since = timezone.now() - timedelta(days=RECENT_PRAYER_DAYS)
    rows = list(queries.intercessors_with_load(prayers_since=since))
    for row in rows:
        preferred = [value for value in (row.preferred_categories or []) if value in Category.values]
        row.prefers_this = prayer_request.category in preferred
        row.preferred_labels = [Category(value).label for value in preferred]
        row.over_capacity = row.load >= row.capacity
    # A stable sort: within a group, the query's alphabetical order stays.
    rows.sort(key=lambda row: (not row.available or row.over_capacity, not row.prefers_this, row.load))
    return rows


def _release_controls(user: User, assignments: list[Assignment], *, is_leader: bool) -> None:
    for assignment in assignments:
        assignment.is_own = assignment.intercessor_id == user.pk
        assignment.can_release = is_leader or assignment.is_own


@require_safe
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    prayer_request = access.get_request_for_user(user, pk, queryset=_with_page_figures(user))
    is_leader = roles.is_leader(user)
    assignments = _current_intercessors(prayer_request)
    _release_controls(user, assignments, is_leader=is_leader)
    # The viewer's roles, worked out once from the intercessors just loaded:
    # every rule below is answered without asking the database again.
    held = rules.roles_for(
        user, prayer_request, active_intercessor_ids={assignment.intercessor_id for assignment in assignments}
    )
    # Those who may write to the team (leaders, assigned intercessors) are
    # this request's team; anyone else reads it from the team board.
    on_team = rules.can_post_update(user, prayer_request, held=held)

    story_count = prayer_request.story_count_for_team if on_team else prayer_request.story_count_for_reader
    story_page = _CountedPaginator(_story(user, prayer_request, on_team=on_team), PAGE_SIZE, story_count).get_page(
        request.GET.get("story")
    )
    story_entry = entries.StoryEntries()
    story = _pager(request, story_page, "story", "story")
    story["entries"] = [
        story_entry(entry, shown_note=entry.note if access.note_is_shown(entry, user, on_team=on_team) else "")
        for entry in story_page.object_list
    ]

    prayers_pager = None
    if on_team:
        prayers = PrayerLog.objects.filter(prayer_request=prayer_request).select_related("intercessor")
        prayers_page = _CountedPaginator(prayers, PAGE_SIZE, prayer_request.prayer_count).get_page(
            request.GET.get("prayers")
        )
        prayers_pager = _pager(request, prayers_page, "prayers", "prayer-log")
        prayer_entry = entries.PrayerEntries()
        prayers_pager["entries"] = [prayer_entry(log) for log in prayers_page.object_list]

    moves = [
        (to_status, _move_label(prayer_request.status, to_status))
        for to_status in rules.allowed_moves(user, prayer_request, held=held)
    ]
    if on_team:
        visibilities = [Visibility.TEAM, Visibility.REQUESTER, Visibility.PRIVATE]
    elif rules.can_keep_journal(user, prayer_request, held=held):
        visibilities = [Visibility.PRIVATE]
    else:
        visibilities = []

    # Opening a confidential request is written down (who and when, never
    # what): a deliberate write on GET, for the leaders' audit. HEAD shows
    # nothing, so it records nothing.
    access_count = prayer_request.access_count
    recorded = request.method == "GET" and access_log.record(prayer_request, user, AccessAction.VIEWED)
    if recorded:
        access_count += 1
    access_log_pager = None
    if is_leader and prayer_request.is_confidential:
        access_page = _CountedPaginator(access_log.entries_for(prayer_request), PAGE_SIZE, access_count).get_page(
            request.GET.get("access")
        )
        access_log_pager = _pager(request, access_page, "access", "access-log")
        access_entry = entries.AccessEntries()
        access_log_pager["entries"] = [access_entry(entry) for entry in access_page.object_list]

    can_assign = rules.can_assign(user, prayer_request)
    ctx = {
        "prayer_request": prayer_request,
        "status_explanation": STATUS_EXPLANATIONS[Status(prayer_request.status)],
        "is_leader": is_leader,
        "on_team": on_team,
        "story": story,
        "prayer_count": prayer_request.prayer_count,
        "last_prayed_at": prayer_request.last_prayed_at,
        "prayers": prayers_pager,
        "assignments": assignments,
        "moves": moves,
        "confirmed_moves": _confirm_dialogs(moves, prayer_request),
        "undo": _undo_control(user, prayer_request, held) if on_team else None,
        # An erased request's story takes no new words (`services.post_update`).
        **_update_form(visibilities if prayer_request.text_erased_at is None else []),
        "can_log_prayer": rules.can_log_prayer(user, prayer_request, held=held),
        "can_assign": can_assign,
        "can_reassign": can_assign,
        "can_make_confidential": not prayer_request.is_confidential
        and rules.can_set_confidential(user, prayer_request, True, held=held),
        "access_log": access_log_pager,
        "retention": retention.card(user, prayer_request),
        **_board_controls(user, prayer_request),
    }
    return render(request, "requests_app/request_detail.html", ctx)


def _update_form(visibilities: list[Visibility]) -> dict:
    """The story's note form for these visibilities: always unbound here (a
    refused note comes back as a message), so its HTML is rendered once per
    language and kept (views/rendered.py)."""
    if not visibilities:
        return {"update_form": None, "update_form_html": "", "journal_only": False}
    journal_only = visibilities == [Visibility.PRIVATE]
    form = UpdateForm(visibilities=visibilities)
    html = rendered.once(
        ("request_update_form", tuple(visibilities)),
        lambda: as_crispy_field(form["note"]) if journal_only else as_crispy_form(form),
    )
    return {"update_form": form, "update_form_html": html, "journal_only": journal_only}


def _confirm_dialogs(moves: list[tuple[Status, str]], prayer_request: PrayerRequest) -> list[dict]:
    """The page's dialogs for the moves that need confirming (JavaScript
    opens them; without it the move's POST answers the confirmation page)."""
    dialogs = []
    for to_status, _label in moves:
        if to_status in CONFIRMED_MOVES:
            question, yes = CONFIRMED_MOVES[to_status]
            dialogs.append({"to_status": to_status, "question": question % {"pk": prayer_request.pk}, "yes": yes})
    return dialogs


def _undo_control(user: User, prayer_request: PrayerRequest, held: frozenset) -> dict | None:
    """The "Undo" button for the request's latest move, if this viewer may
    press it now, with how long they have left."""
    latest = _latest_move(prayer_request)
    now = timezone.now()
    if latest is None or not rules.can_undo_move(user, prayer_request, latest, latest=latest, now=now, held=held):
        return None
    left = rules.undo_time_left(user, latest, now=now, held=held)
    return {
        "move_id": latest.pk,
        "from_label": Status(latest.from_status).label,
        "to_label": Status(latest.to_status).label,
        "by_you": latest.author_id == user.pk,
        "by_requester": latest.author_id is None,
        "author_name": entries.display_name(latest.author),
        # Whole minutes, rounded up: "1 minute left" until the very end.
        "minutes_left": None if left is None else -(-int(left.total_seconds()) // 60),
    }


def _board_controls(user: User, prayer_request: PrayerRequest) -> dict:
    """Where the request stands towards the team board, and the buttons of
    the board's gate this viewer may press."""
    can_triage = rules.can_share_with_team(user, prayer_request)
    may_go_on_board = prayer_request.is_open and not prayer_request.is_confidential
    flagged = prayer_request.flagged_at is not None
    can_flag = rules.can_flag(user, prayer_request) and not flagged
    return {
        "show_board_card": may_go_on_board and (can_triage or can_flag or flagged),
        "on_board": prayer_request.is_on_board,
        "is_flagged": flagged,
        "awaiting_share": prayer_request.shared_with_team_at is None and not flagged,
        "can_share": can_triage and may_go_on_board and (flagged or prayer_request.shared_with_team_at is None),
        "can_keep_off_board": can_triage and (flagged or prayer_request.shared_with_team_at is not None),
        # Unbound here (a refused flag comes back as a message): rendered once.
        "flag_form_html": rendered.once(("request_flag_form",), lambda: as_crispy_field(FlagForm()["reason"]))
        if can_flag
        else "",
    }


def _room_for_one_more(rows: list[User], *, can_manage_team: bool) -> None:
    """For each intercessor who would be refused (full, or resting), what
    "give room for one more" sets: capacity `load + 1` (never lowered, never
    above the maximum) and available, posted to the team's limits view."""
    limits_url = reverse("team_member_limits", args=[0]).rsplit("/0/", 1)
    for row in rows:
        row.can_take = row.available and not row.over_capacity
        room = max(row.capacity, row.load + 1)
        row.room_capacity = room if can_manage_team and not row.can_take and room <= MAX_CAPACITY else None
        row.room_url = f"{limits_url[0]}/{row.pk}/{limits_url[1]}"


def _assign_page(
    request: HttpRequest, prayer_request: PrayerRequest, rows: list[User], assignments, form
) -> HttpResponse:
    _release_controls(request.user, assignments, is_leader=True)
    _room_for_one_more(rows, can_manage_team=rules.can_manage_team(request.user))
    ctx = {
        "prayer_request": prayer_request,
        "rows": rows,
        "assigned_ids": {assignment.intercessor_id for assignment in assignments},
        "assignments": assignments,
        "form": form,
        "recent_days": RECENT_PRAYER_DAYS,
        "can_reassign": True,
    }
    return render(request, "requests_app/assign.html", ctx)


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
@sensitive_variables()
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    prayer_request = access.get_request_for_user(request.user, pk, may_change=rules.can_assign)
    rows = _intercessor_rows(prayer_request)
    assignments = _current_intercessors(prayer_request)
    assigned_ids = [assignment.intercessor_id for assignment in assignments]
    form = AssignForm(request.POST if request.method == "POST" else None, candidates=rows, assigned_ids=assigned_ids)
    if request.method == "POST" and form.is_valid():
        chosen = form.chosen()
        try:
            services.assign(prayer_request, chosen, by=request.user)
        except NotAllowed:
            raise PermissionDenied from None
        except IntercessionError as refusal:
            form.add_error(None, ValidationError(refusal.message, code=refusal.code))
        else:
            messages.success(
                request,
                ngettext(
                    "One intercessor is now standing in the gap for request #%(pk)s.",
                    "%(count)d intercessors are now standing in the gap for request #%(pk)s.",
                    len(chosen),
                )
                % {"count": len(chosen), "pk": prayer_request.pk},
            )
            return redirect("request_detail", prayer_request.pk)
    return _assign_page(request, prayer_request, rows, assignments, form)


@require_POST
@sensitive_post_parameters()
@sensitive_variables()
def move(request: HttpRequest, pk: int) -> HttpResponse:
    # Only someone holding a role on this request (leader, assigned
    # intercessor) can make any move; everyone else gets the 403 up front.
    prayer_request = access.get_request_for_user(request.user, pk, may_change=rules.can_post_update)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("request_detail", prayer_request.pk)
    to_status = form.cleaned_data["to_status"]
    # A move this person may make that ends intercession is asked about
    # first (any other is made, or refused by the service, at once).
    if (
        to_status in CONFIRMED_MOVES
        and not form.cleaned_data["confirmed"]
        and to_status in rules.allowed_moves(request.user, prayer_request)
    ):
        return _confirm_move_page(request, prayer_request, form)
    moved = carry_out(
        request,
        lambda: services.move(
            prayer_request,
            form.cleaned_data["to_status"],
            actor=request.user,
            note=form.cleaned_data["note"],
            visibility=form.cleaned_data["visibility"],
        ),
    )
    if moved is not None:
        messages.success(
            request,
            _("Request #%(pk)s is now “%(status)s”.")
            % {"pk": prayer_request.pk, "status": Status(prayer_request.status).label},
        )
    return redirect("request_detail", prayer_request.pk)


def _confirm_move_page(request: HttpRequest, prayer_request: PrayerRequest, form: MoveForm) -> HttpResponse:
    """ "Are you sure?", as a page: the move's POST answered with the same
    move, its note and visibility in hidden fields, and `confirmed`. Nothing
    has changed yet."""
    to_status = Status(form.cleaned_data["to_status"])
    question, yes = CONFIRMED_MOVES[to_status]
    ctx = {
        "prayer_request": prayer_request,
        "to_status": to_status,
        "question": question % {"pk": prayer_request.pk},
        "yes": yes,
        "note": form.cleaned_data["note"],
        "visibility": Visibility(form.cleaned_data["visibility"]),
        "can_undo_any_time": roles.is_leader(request.user),
        "undo_minutes": int(rules.UNDO_WINDOW.total_seconds() // 60),
    }
    return render(request, "requests_app/confirm_move.html", ctx)


@require_POST
@sensitive_post_parameters()
@sensitive_variables()
def undo_move(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Undo" of the request's latest move: a leader's at any time, the
    mover's own for a few minutes (`rules.why_not_undo`); any other answer
    is a message, and nothing changes."""
    prayer_request = access.get_request_for_user(request.user, pk, may_change=rules.can_post_update)
    form = UndoForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("request_detail", prayer_request.pk)
    undone = carry_out(
        request, lambda: services.undo_move(prayer_request, form.cleaned_data["move"], actor=request.user)
    )
    if undone is not None:
        messages.success(
            request,
            _("Undone: request #%(pk)s is “%(status)s” again.")
            % {"pk": prayer_request.pk, "status": Status(prayer_request.status).label},
        )
    return redirect("request_detail", prayer_request.pk)


@require_POST
@sensitive_post_parameters()
@sensitive_variables()
def update(request: HttpRequest, pk: int) -> HttpResponse:
    prayer_request = access.get_request_for_user(request.user, pk)
    form = UpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("request_detail", prayer_request.pk)
    entry = carry_out(
        request,
        lambda: services.post_update(
            prayer_request,
            actor=request.user,
            note=form.cleaned_data["note"],
            visibility=form.cleaned_data["visibility"],
        ),
    )
    if entry is not None:
        if entry.visibility == Visibility.PRIVATE:
            messages.success(request, _("Kept in your private journal."))
        else:
            messages.success(request, _("Update posted."))
    return redirect("request_detail", prayer_request.pk)


@require_POST
@sensitive_post_parameters()
@sensitive_variables()
def pray(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a prayer. From the page's script (static/js/pray-in-place.js) the
    answer is JSON (with the request's prayer count, for its own page) and
    the list or the page stays where it is; without it, back to the `next`
    the form carries (the row's own fragment on a list, else the request's
    page)."""
    prayer_request = access.get_request_for_user(request.user, pk, may_change=rules.can_log_prayer)
    in_place = _wants_json(request)
    back = safe_next(request, request.POST.get("next")) or _detail_url(prayer_request.pk)
    form = PrayForm(request.POST)
    if not form.is_valid():
        return _pray_refused(request, _first_error(form), back, in_place)
    try:
        services.log_prayer(
            prayer_request,
            intercessor=request.user,
            **form.prayer(),
        )
    except NotAllowed:
        raise PermissionDenied from None
    except ValidationError as invalid:
        return _pray_refused(request, invalid.messages[0], back, in_place)
    except IntercessionError as refusal:
        return _pray_refused(request, refusal.message, back, in_place)
    thanks = _("Prayer logged — thank you for standing in the gap.")
    if in_place:
        # How often the team has prayed, now: the request's page says it
        # (whoever may log a prayer may see the request, and its count).
        count = PrayerLog.objects.filter(prayer_request=prayer_request).count()
        count_text = ngettext("%(counter)s prayer logged.", "%(counter)s prayers logged.", count) % {"counter": count}
        return JsonResponse(
            {
                "logged": True,
                "message": str(thanks),
                "shown": str(_("Prayed just now")),
                "count": count,
                "count_text": count_text,
            }
        )
    messages.success(request, thanks)
    return redirect(back)


def _wants_json(request: HttpRequest) -> bool:
    """Sent by the page's own script, which wants an answer, not a page."""
    return request.headers.get("X-Requested-With") == "fetch" or "application/json" in request.headers.get(
        "Accept", ""
    )


def _pray_refused(request: HttpRequest, message: str, back: str, in_place: bool) -> HttpResponse:
    if in_place:
        return JsonResponse({"logged": False, "message": str(message)}, status=400)
    messages.error(request, message)
    return redirect(back)


def _may_make_confidential(user: User, prayer_request: PrayerRequest) -> bool:
    return rules.can_set_confidential(user, prayer_request, True)


@require_POST
def make_confidential(request: HttpRequest, pk: int) -> HttpResponse:
    prayer_request = access.get_request_for_user(request.user, pk, may_change=_may_make_confidential)
    try:
        services.set_confidential(prayer_request, True, actor=request.user)
    except NotAllowed:
        raise PermissionDenied from None
    except IntercessionError as refusal:
        messages.info(request, refusal.message)
    else:
        messages.success(
            request,
            _("Request #%(pk)s is now confidential: only leaders and its intercessors see it.")
            % {"pk": prayer_request.pk},
        )
    return redirect("request_detail", prayer_request.pk)


@require_POST
def share(request: HttpRequest, pk: int) -> HttpResponse:
    """A leader's "Share with the team", also "Return to the board" for a
    request the team flagged."""
    prayer_request = access.get_request_for_user(request.user, pk, may_change=rules.can_share_with_team)
    was_flagged = prayer_request.flagged_at is not None
    if carry_out(request, lambda: services.share_with_team(prayer_request, by=request.user)) is not None:
        if was_flagged:
            message = _("Request #%(pk)s is back on the team board.")
        else:
            message = _("Request #%(pk)s is shared with the team: it is on the team board.")
        messages.success(request, message % {"pk": prayer_request.pk})
    return redirect(safe_next(request, request.POST.get("next")) or _detail_url(prayer_request.pk))


@require_POST
def keep_off_board(request: HttpRequest, pk: int) -> HttpResponse:
    prayer_request = access.get_request_for_user(request.user, pk, may_change=rules.can_share_with_team)
    if carry_out(request, lambda: services.keep_off_board(prayer_request, by=request.user)) is not None:
        messages.success(
            request,
            _("Request #%(pk)s is off the team board: only leaders and its intercessors see it.")
            % {"pk": prayer_request.pk},
        )
    return redirect(safe_next(request, request.POST.get("next")) or _detail_url(prayer_request.pk))


@require_POST
@sensitive_post_parameters()
@sensitive_variables()
def flag(request: HttpRequest, pk: int) -> HttpResponse:
    """An intercessor flags a board request as unsuitable: off the board
    until a leader reviews it."""
    prayer_request = access.get_request_for_user(request.user, pk, may_change=rules.can_flag)
    form = FlagForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("request_detail", prayer_request.pk)
    flagged = carry_out(
        request, lambda: services.flag(prayer_request, by=request.user, reason=form.cleaned_data["reason"])
    )
    if flagged is None:
        return redirect("request_detail", prayer_request.pk)
    messages.success(
        request,
        _("Thank you: request #%(pk)s is off the team board until a leader has looked at it.")
        % {"pk": prayer_request.pk},
    )
    # Off the board, its page is a 404 to whoever is not assigned to it.
    if not PrayerRequest.objects.visible_to(request.user).filter(pk=prayer_request.pk).exists():
        return redirect("board")
    return redirect("request_detail", prayer_request.pk)


@require_POST
@sensitive_post_parameters()
@sensitive_variables()
def release(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    assignment = access.get_assignment_for_user(user, pk)
    if not (roles.is_leader(user) or assignment.intercessor_id == user.pk):
        raise PermissionDenied("Only a leader or the intercessor themselves can release an assignment.")
    request_id = assignment.prayer_request_id
    back = safe_next(request, request.POST.get("next")) or _detail_url(request_id)
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect(back)
    try:
        services.release(assignment, by=user, note=form.cleaned_data["note"])
    except NotAllowed:
        raise PermissionDenied from None
    except IntercessionError as refusal:
        messages.info(request, refusal.message)
        return redirect(back)

    if assignment.intercessor_id == user.pk:
        messages.success(
            request, _("You are released from request #%(pk)s. The leaders have been told.") % {"pk": request_id}
        )
    else:
        messages.success(
            request,
            _("%(name)s is released from request #%(pk)s.")
            % {"name": entries.display_name(assignment.intercessor), "pk": request_id},
        )
    # Releasing a confidential request ends the intercessor's sight of it:
    # its page would now be a 404.
    if not PrayerRequest.objects.visible_to(user).filter(pk=request_id).exists():
        return redirect("my_assignments")
    return redirect(back)


@require_http_methods(["GET", "POST"])
@sensitive_post_parameters()
@sensitive_variables()
def reassign(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = access.get_assignment_for_user(request.user, pk)
    prayer_request = assignment.prayer_request
    if not rules.can_assign(request.user, prayer_request):
        raise PermissionDenied("Only a leader can reassign, and only while the request is open.")
    if not assignment.is_active:
        messages.info(request, _("This assignment was already released."))
        return redirect("request_detail", prayer_request.pk)

    rows = _intercessor_rows(prayer_request)
    assignments = _current_intercessors(prayer_request)
    assigned_ids = [current.intercessor_id for current in assignments]
    form = ReassignForm(request.POST if request.method == "POST" else None, candidates=rows, assigned_ids=assigned_ids)
    if request.method == "POST" and form.is_valid():
        to_intercessor = form.chosen()
        try:
            services.reassign(assignment, to_intercessor, by=request.user, note=form.cleaned_data["note"])
        except NotAllowed:
            raise PermissionDenied from None
        except IntercessionError as refusal:
            # The refused reassignment rolled back, but the release it began
            # marked our copy as released.
            assignment.refresh_from_db(fields=["released_at", "released_by"])
            form.add_error(None, ValidationError(refusal.message, code=refusal.code))
        else:
            messages.success(
                request,
                _("%(name)s now carries this assignment of request #%(pk)s.")
                % {"name": entries.display_name(to_intercessor), "pk": prayer_request.pk},
            )
            return redirect("request_detail", prayer_request.pk)
    ctx = {
        "prayer_request": prayer_request,
        "assignment": assignment,
        "rows": rows,
        "assigned_ids": set(assigned_ids),
        "form": form,
        "recent_days": RECENT_PRAYER_DAYS,
    }
    return render(request, "requests_app/reassign.html", ctx)
