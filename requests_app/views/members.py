"""A leader's changes to one member of the team: roles, capacity and
availability, deactivating and reactivating; posted from the team page (and
"give room for one more" from the assign page).

Each view fetches the member through `access.get_member_for_manager` (403
for anyone who may not manage the team, 404 for an id that is no member),
changes them only through `requests_app.team.members`, and redirects: to
the page it came from when `next` is a path of ours, else to the member on
the team page. Bad input and refusals become a message and change nothing.
"""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from requests_app import access
from requests_app.forms.members import LimitsForm, RoleChangeForm
from requests_app.team import members
from requests_app.views.outcomes import carry_out
from requests_app.web.next_url import safe_next


def _name(member: User) -> str:
    return member.get_full_name() or member.get_username()


def _back(request: HttpRequest, member: User) -> str:
    return safe_next(request, request.POST.get("next")) or f"{reverse('team')}#member-{member.pk}"


def _first_error(form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return _("Something in the form was not right.")


ROLE_CHANGES = {
    RoleChangeForm.MAKE_LEADER: members.make_leader,
    RoleChangeForm.REMOVE_LEADER: members.remove_leader,
    RoleChangeForm.MAKE_INTERCESSOR: members.make_intercessor,
    RoleChangeForm.REMOVE_INTERCESSOR: members.remove_intercessor,
}


def _role_changed_message(change: str, name: str, outcome) -> str:
    if change == RoleChangeForm.MAKE_LEADER:
        return _("%(name)s is now a leader. Every leader has been told.") % {"name": name}
    if change == RoleChangeForm.REMOVE_LEADER:
        return _("%(name)s is no longer a leader. Every leader has been told.") % {"name": name}
    if change == RoleChangeForm.MAKE_INTERCESSOR:
        return _("%(name)s is now an intercessor and can be assigned requests.") % {"name": name}
    if not outcome:
        return _("%(name)s no longer intercedes.") % {"name": name}
    return ngettext(
        "%(name)s no longer intercedes; the request they carried was released.",
        "%(name)s no longer intercedes; the %(count)d requests they carried were released.",
        outcome,
    ) % {"name": name, "count": outcome}


@require_POST
def member_roles(request: HttpRequest, pk: int) -> HttpResponse:
    member = access.get_member_for_manager(request.user, pk)
    back = _back(request, member)
    form = RoleChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect(back)
    change = form.cleaned_data["change"]
    outcome = carry_out(request, lambda: ROLE_CHANGES[change](member, by=request.user))
    if outcome is not None:
        messages.success(request, _role_changed_message(change, _name(member), outcome))
    return redirect(back)


@require_POST
def member_limits(request: HttpRequest, pk: int) -> HttpResponse:
    member = access.get_member_for_manager(request.user, pk)
    back = _back(request, member)
    form = LimitsForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            _("Nothing was changed for %(name)s: %(error)s")
            % {
                "name": _name(member),
                "error": _first_error(form),
            },
        )
        return redirect(back)
    capacity, available = form.cleaned_data["capacity"], form.cleaned_data["available"]
    changed = carry_out(
        request, lambda: members.set_limits(member, capacity=capacity, available=available, by=request.user)
    )
    if changed:
        if available:
            text = _("%(name)s can now carry up to %(capacity)d requests, and is available for new ones.")
        else:
            text = _("%(name)s can now carry up to %(capacity)d requests, and is resting: nothing new for now.")
        messages.success(request, text % {"name": _name(member), "capacity": capacity})
    elif changed is False:
        messages.info(
            request,
            _("Nothing to change: %(name)s's capacity and availability were already so.") % {"name": _name(member)},
        )
    return redirect(back)


@require_POST
def member_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    member = access.get_member_for_manager(request.user, pk)
    back = _back(request, member)
    released = carry_out(request, lambda: members.deactivate(member, by=request.user))
    if released is None:
        return redirect(back)
    if member.pk == request.user.pk:
        # Their session would end at the next request anyway; here, at once.
        logout(request)
        messages.success(request, _("Your account is deactivated. Thank you for all you carried."))
        return redirect("login")
    if released:
        text = ngettext(
            "%(name)s is deactivated and can no longer log in; the request they carried was released.",
            "%(name)s is deactivated and can no longer log in; the %(count)d requests they carried were released.",
            released,
        )
    else:
        text = _("%(name)s is deactivated and can no longer log in.")
    messages.success(request, text % {"name": _name(member), "count": released})
    return redirect(back)


@require_POST
def member_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    member = access.get_member_for_manager(request.user, pk)
    back = _back(request, member)
    if carry_out(request, lambda: members.reactivate(member, by=request.user)) is not None:
        messages.success(
            request,
            _("%(name)s is back on the team, with no assignments: they can log in again.") % {"name": _name(member)},
        )
    return redirect(back)
