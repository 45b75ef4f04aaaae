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
from django.db.models import Q
from django.http import Http404

from requests_app import roles, rules
from requests_app.models import Assignment, PrayerRequest, PrayerRequestQuerySet, hash_token
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
