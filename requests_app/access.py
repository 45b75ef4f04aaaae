"""
Fetch-and-authorize: the only way views get hold of a request, or of a
member of the team to manage.

A request the user may not see is a 404, exactly like one that does not
exist, so nobody learns that a hidden request is there. A request they may
see but not change is a 403 for the change.
"""

from collections.abc import Callable

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from requests_app import roles, rules
from requests_app.models import (
    Assignment,
    PrayerRequest,
    PrayerRequestQuerySet,
    StatusUpdate,
    UpdateKind,
    Visibility,
    hash_token,
)
from requests_app.rules import Actor


def get_request_for_user(
    user: Actor,
    pk: int,
    *,
    may_change: Callable[[Actor, PrayerRequest], bool] | None = None,
    queryset: PrayerRequestQuerySet | None = None,
) -> PrayerRequest:
    """The request `pk` if `user` may see it, else 404; and if `may_change`
    is given (a predicate of `requests_app.rules`), 403 unless it holds.

    `queryset` lets a page fetch the request with the figures it needs
    (annotations) in the same query; it is narrowed by the visibility rule
    all the same."""
    requests = PrayerRequest.objects.all() if queryset is None else queryset
    try:
        prayer_request = requests.visible_to(user).get(pk=pk)
    except (PrayerRequest.DoesNotExist, ValueError, TypeError):
        raise Http404("No such request.") from None
    if may_change is not None and not may_change(user, prayer_request):
        raise PermissionDenied("You may not change this request.")
    return prayer_request


def get_assignment_for_user(user: Actor, pk: int) -> Assignment:
    """The assignment `pk` if `user` may see its request, else 404, with its
    request and intercessor loaded. Who may change it is the view's call."""
    try:
        return Assignment.objects.select_related("prayer_request", "intercessor").get(
            pk=pk, prayer_request__in=PrayerRequest.objects.visible_to(user)
        )
    except (Assignment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such assignment.") from None


def get_request_for_token(raw_token: str, *, queryset: PrayerRequestQuerySet | None = None) -> PrayerRequest:
    """The request whose follow-up link carries `raw_token`, else 404; from
    `queryset` (annotated, say) if given."""
    if not raw_token or len(raw_token) > 128:
        raise Http404("No such request.")
    rows = PrayerRequest.objects.all() if queryset is None else queryset
    try:
        return rows.get(followup_token_hash=hash_token(raw_token))
    except PrayerRequest.DoesNotExist:
        raise Http404("No such request.") from None


def get_member_for_manager(user: Actor, pk: int) -> User:
    """A member of the team (in the Leaders or Intercessors group, active or
    deactivated), for a leader to manage: 403 to anyone who may not manage
    the team (`rules.can_manage_team`), before any lookup, so that nobody
    else learns which ids are accounts; 404 for an id that is no member
    (an account outside the team, a superuser, an invitation not accepted)."""
    if not rules.can_manage_team(user):
        raise PermissionDenied("Only a leader can manage the team.")
    members = User.objects.filter(Q(groups__name=roles.LEADERS) | Q(groups__name=roles.INTERCESSORS))
    try:
        return members.distinct().get(pk=pk)
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404("No such member of the team.") from None


# --- The story of a request, as each viewer may read it ------------------------
# The request page and the API (`requests_app.api`) both read it through these.


def story_seen(user: Actor, *, on_team: bool) -> Q:
    """The entries of the story this viewer may see.

    Leaders and assigned intercessors see everything but other people's
    private journals; someone reading from the team board sees how the
    request moved and who carries it, and their own journal, but no notes.
    """
    # By id, not the user object: the request page (`views.request_page._with_page_figures`) keeps these filters
    # beyond the request that made them.
    seen = ~Q(kind=UpdateKind.NOTE) | Q(visibility=Visibility.PRIVATE, author_id=user.pk)
    if on_team:
        seen |= ~Q(visibility=Visibility.PRIVATE)
    if not roles.is_leader(user):
        # A flag (and its reason) is for the leaders who review it, and the
        # intercessor who raised it.
        seen &= ~Q(kind=UpdateKind.FLAGGED) | Q(author_id=user.pk)
    return seen


def story_for(user: Actor, prayer_request: PrayerRequest, *, on_team: bool) -> QuerySet[StatusUpdate]:
    """The entries of `prayer_request`'s story this viewer may see, oldest
    first. `on_team`: they may write to its team (`rules.can_post_update`)."""
    return prayer_request.updates.filter(story_seen(user, on_team=on_team)).order_by("created_at", "pk")


def note_is_shown(entry: StatusUpdate, user: Actor, *, on_team: bool) -> bool:
    """Whether this viewer reads the note of an entry they may see
    (`story_seen`): its words, not only that it is there."""
    if entry.kind == UpdateKind.ERASED:
        # Its note is only a marker of why (`StatusUpdate.erased_line`).
        return False
    if entry.author_id == user.pk and entry.kind == UpdateKind.FLAGGED:
        return True
    if entry.visibility == Visibility.PRIVATE:
        return entry.author_id == user.pk
    return on_team
