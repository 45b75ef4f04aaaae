"""The team page: where a leader runs the team (`requests_app.team`)."""

from dataclasses import dataclass, replace
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from requests_app import queries, rules
from requests_app.exceptions import NotAllowed
from requests_app.forms.invitations import InviteForm
from requests_app.keyset import Key, Keyset, keyset_page
from requests_app.models import Category, Invitation, TeamRole
from requests_app.team import invitations
from requests_app.team.members import MAX_CAPACITY
from requests_app.views import rendered
from requests_app.views.outcomes import carry_out
from requests_app.views.rows import DaysSince, url_for_id
from requests_app.web import moments
from requests_app.web.context_processors import csrf_input
from requests_app.web.decorators import leader_required

TEAM_ORDER = Keyset("team", (Key("first_name", str), Key("last_name", str), Key("username", str), Key("pk", int)))
DEACTIVATED_ORDER = Keyset(
    "team-deactivated", (Key("first_name", str), Key("last_name", str), Key("username", str), Key("pk", int))
)


def _start_of_this_month() -> datetime:
    """Midnight on the first of this month, in the site's time zone."""
    return timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _roles_label(is_leader: bool, is_intercessor: bool) -> str:
    if is_leader and is_intercessor:
        return TeamRole.BOTH.label
    return TeamRole.LEADER.label if is_leader else TeamRole.INTERCESSOR.label


@dataclass(frozen=True)
class MemberRow:
    """One active member, as the team page shows them: no more than this."""

    pk: int
    name: str
    is_me: bool
    is_leader: bool
    is_intercessor: bool
    roles: str
    load: int
    capacity: int
    available: bool
    last_prayed_at: datetime | None
    prayers_this_month: int
    drawn_to: str
    # The last active leader: their leader role stays, and so do they.
    only_leader: bool
    roles_url: str
    limits_url: str
    deactivate_url: str
    # The card the page shows (MemberCards), made from the fields above.
    card: SafeString = ""

    @property
    def full(self) -> bool:
        return self.load >= self.capacity

    @property
    def over_capacity(self) -> bool:
        return self.load > self.capacity


@dataclass(frozen=True)
class DeactivatedRow:
    pk: int
    name: str
    roles: str
    deactivated_at: datetime | None
    reactivate_url: str


def _member_rows(user, members: list, *, active_leaders: int) -> list[MemberRow]:
    labels = dict(Category.choices)
    roles_url, limits_url = url_for_id("team_member_roles"), url_for_id("team_member_limits")
    deactivate_url = url_for_id("team_member_deactivate")
    return [
        MemberRow(
            pk=member.pk,
            name=member.get_full_name() or member.get_username(),
            is_me=member.pk == user.pk,
            is_leader=member.is_leader,
            is_intercessor=member.is_intercessor,
            roles=_roles_label(member.is_leader, member.is_intercessor),
            load=member.load,
            capacity=member.capacity,
            available=member.available,
            last_prayed_at=member.last_prayed_at,
            prayers_this_month=member.prayers_since_count,
            drawn_to=", ".join(str(labels[value]) for value in member.preferred_categories or [] if value in labels),
            only_leader=member.is_leader and active_leaders <= 1,
            roles_url=roles_url(member.pk),
            limits_url=limits_url(member.pk),
            deactivate_url=deactivate_url(member.pk),
        )
        for member in members
    ]


class MemberCards:
    """Each member's card on one page of the team, from one stencil of
    `_team_member.html` per shape (views/rendered.py): what the page says
    once for every member is translated once, not once per member."""

    stencil = rendered.Stencil("requests_app/_team_member.html", name="member")

    def __init__(self, request: HttpRequest, *, can_manage: bool):
        self.can_manage = can_manage
        self.days_since = DaysSince()
        self.page_values = {
            "here": request.get_full_path(),
            "csrf_field": csrf_input(request),
            "max_capacity": str(MAX_CAPACITY),
        }

    def __call__(self, row: MemberRow) -> MemberRow:
        flags = {
            "can_manage": self.can_manage,
            "is_me": row.is_me,
            "is_leader": row.is_leader,
            "is_intercessor": row.is_intercessor,
            "only_leader": row.only_leader,
            "available": row.available,
            "full": row.full,
            "over_capacity": row.over_capacity,
            "has_last_prayed": row.last_prayed_at is not None,
        }
        values = {
            **self.page_values,
            "pk": str(row.pk),
            "name": row.name,
            "roles": row.roles,
            "load": str(row.load),
            "capacity": str(row.capacity),
            "last_prayed_iso": moments.iso(row.last_prayed_at),
            "last_prayed": self.days_since(row.last_prayed_at),
            "prayers_this_month": str(row.prayers_this_month),
            "drawn_to": row.drawn_to or "—",
            "roles_url": row.roles_url,
            "limits_url": row.limits_url,
            "deactivate_url": row.deactivate_url,
        }
        return replace(row, card=self.stencil(flags, values))


def _deactivated_rows(members: list) -> list[DeactivatedRow]:
    reactivate_url = url_for_id("team_member_reactivate")
    return [
        DeactivatedRow(
            pk=member.pk,
            name=member.get_full_name() or member.get_username(),
            roles=_roles_label(member.is_leader, member.is_intercessor),
            deactivated_at=member.deactivated_at,
            reactivate_url=reactivate_url(member.pk),
        )
        for member in members
    ]


@require_safe
@leader_required
def team(request: HttpRequest) -> HttpResponse:
    """The active team, leaders and intercessors: what each carries against
    what they can, how they pray; and, apart, those who were deactivated.
    A leader manages each member from here (`views.members`)."""
    user = request.user
    page = keyset_page(request, queries.team_members(prayers_since=_start_of_this_month()), TEAM_ORDER)
    can_manage = rules.can_manage_team(user)
    cards = MemberCards(request, can_manage=can_manage)
    page.object_list = [
        cards(row) for row in _member_rows(user, page.object_list, active_leaders=queries.active_leader_count())
    ]
    deactivated = keyset_page(
        request, queries.deactivated_members(), DEACTIVATED_ORDER, param="deactivated", anchor="deactivated"
    )
    deactivated.object_list = _deactivated_rows(deactivated.object_list)
    ctx = {
        "page": page,
        "deactivated": deactivated,
        "can_manage": can_manage,
        "here": request.get_full_path(),
        "max_capacity": MAX_CAPACITY,
        **invitations_context(request),
    }
    return render(request, "requests_app/team.html", ctx)


# --- Invitations (requests_app.team.invitations) -------------------------------

INVITATIONS_ORDER = Keyset("invitations", (Key("created_at", datetime), Key("pk", int)), descending=True)


@dataclass(frozen=True)
class PendingInvitation:
    """One row of the pending invitations: what the list shows, no more."""

    name: str
    email: str
    role: str
    invited_by: str
    sent_at: datetime
    expires_at: datetime
    expired: bool
    resend_url: str
    revoke_url: str


def _team_invitations_url() -> str:
    return reverse("team") + "#invitations"


def _pending_rows(pending: list[Invitation]) -> list[PendingInvitation]:
    now, role_labels = timezone.now(), dict(TeamRole.choices)
    resend_url, revoke_url = url_for_id("invitation_resend"), url_for_id("invitation_revoke")
    rows = []
    for invitation in pending:
        # Each sending issues a link valid for the invitation's validity.
        expires_at = invitation.sent_at + invitations.INVITATION_VALIDITY
        invited_by = invitation.invited_by
        rows.append(
            PendingInvitation(
                name=invitation.user.get_full_name() or invitation.user.get_username(),
                email=invitation.user.email,
                role=role_labels.get(invitation.role, invitation.role),
                invited_by=(invited_by.get_full_name() or invited_by.get_username()) if invited_by else "",
                sent_at=invitation.sent_at,
                expires_at=expires_at,
                expired=expires_at <= now,
                resend_url=resend_url(invitation.pk),
                revoke_url=revoke_url(invitation.pk),
            )
        )
    return rows


def invitations_context(request: HttpRequest, form: InviteForm | None = None) -> dict:
    """The team page's invite form and its pending invitations (one query),
    for someone who may manage the team; nothing for anyone else."""
    if not rules.can_manage_team(request.user):
        return {"can_invite": False}
    page = keyset_page(request, invitations.pending(), INVITATIONS_ORDER, param="invitations", anchor="invitations")
    page.object_list = _pending_rows(page.object_list)
    ctx = {"can_invite": True, "invite_form": form or InviteForm(), "invitations": page}
    if form is None:
        # Unbound, the same for every leader in a language: its fields laid
        # out by crispy once (views/rendered.py); a bound form with its
        # errors is laid out afresh (invite).
        ctx["invite_fields_html"] = rendered.once(("team_invite_fields",), _invite_fields)
    return ctx


def _invite_fields() -> str:
    form = InviteForm()
    return render_to_string("requests_app/_team_invite_fields.html", {"invite_form": form})


def _invitation_to_manage(request: HttpRequest, pk: int) -> Invitation:
    """The invitation, for someone who may manage the team: 403 for anyone
    else (the page is no secret, its content is), 404 for no such one."""
    if not rules.can_manage_team(request.user):
        raise PermissionDenied("Leaders only.")
    return get_object_or_404(Invitation.objects.select_related("user"), pk=pk)


@require_POST
def invite(request: HttpRequest) -> HttpResponse:
    """Invite someone to the team; bad input or an address that has an
    account already: the form again, with what to change."""
    if not rules.can_manage_team(request.user):
        raise PermissionDenied("Leaders only.")
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = invitations.invite(**form.cleaned_data, by=request.user)
        except NotAllowed:
            raise PermissionDenied from None
        except invitations.InvitationRefused as refusal:
            form.add_error("email", ValidationError(refusal.message, code=refusal.code))
        else:
            messages.success(
                request,
                _("Invitation sent to %(name)s (%(email)s).")
                % {"name": invitation.user.get_full_name(), "email": invitation.user.email},
            )
            return redirect(_team_invitations_url())
    return render(request, "requests_app/invite.html", {"invite_form": form, "can_invite": True})


@require_POST
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _invitation_to_manage(request, pk)
    if carry_out(request, lambda: invitations.resend(invitation, by=request.user)):
        messages.success(
            request,
            _("A new invitation is on its way to %(email)s; the link sent before no longer works.")
            % {"email": invitation.user.email},
        )
    return redirect(_team_invitations_url())


@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = _invitation_to_manage(request, pk)
    email = invitation.user.email
    if carry_out(request, lambda: invitations.revoke(invitation, by=request.user)):
        messages.success(
            request, _("The invitation to %(email)s is revoked: its link no longer works.") % {"email": email}
        )
    return redirect(_team_invitations_url())
