"""
Invitations to the team: a leader invites someone by name and e-mail, as an
intercessor, a leader, or both; the person chooses a password through the
link in the invitation e-mail and is on the team.

The invited person's account exists from the start (its user name is the
address, lower-cased, as for `create_leader`), with no usable password and
in no group: until they accept it can neither log in, nor be assigned, nor
appear on the team list. Its `AccountLink` (purpose `invitation`, valid
INVITATION_VALIDITY) is the only way in. Accepting puts the account in the
groups of the invitation's role, in the same transaction as the password.

Every function here is refused (`NotAllowed`) unless `rules.can_manage_team`
says the actor may manage the team, runs in one transaction, writes its
audit entry and sends its e-mail after commit (`requests_app.mail`). The
invitation row is the one every step locks first (resend, revoke, accept),
so that two of them at the same moment take turns instead of crossing.
"""

from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from requests_app import roles, rules
from requests_app.exceptions import IntercessionError, NotAllowed
from requests_app.mail import notifications
from requests_app.models import AuditAction, IntercessorProfile, Invitation, LinkPurpose, TeamRole
from requests_app.team import accounts, audit

INVITATION_VALIDITY = timedelta(days=7)

# The groups each role puts an account in when the invitation is accepted.
ROLE_GROUPS = {
    TeamRole.INTERCESSOR: (roles.INTERCESSORS,),
    TeamRole.LEADER: (roles.LEADERS,),
    TeamRole.BOTH: (roles.LEADERS, roles.INTERCESSORS),
}


class InvitationRefused(IntercessionError):
    """An invitation that cannot be made, sent again or revoked now."""

    default_message = _("That invitation cannot be changed.")
    default_code = "invitation_refused"


def _require_manager(by) -> None:
    if not rules.can_manage_team(by):
        raise NotAllowed(_("Only a leader may invite people to the team."))


def _clean_role(role: str) -> TeamRole:
    try:
        return TeamRole(role)
    except ValueError:
        raise ValidationError(_("Choose intercessor, leader, or both."), code="invalid_role") from None


def _already_there(email: str) -> InvitationRefused | None:
    """The refusal for an address that has an account already, if it has."""
    existing = accounts.find_account(email)
    if existing is None:
        return None
    if Invitation.objects.filter(user=existing, accepted_at__isnull=True).exists():
        return InvitationRefused(
            _("%(email)s is invited already: send the invitation again from the list of pending invitations.")
            % {"email": email},
            code="already_invited",
        )
    if not existing.is_active:
        return InvitationRefused(
            _("There is already an account for %(email)s, deactivated: reactivate it instead.") % {"email": email},
            code="account_deactivated",
        )
    return InvitationRefused(_("There is already an account for %(email)s.") % {"email": email}, code="account_exists")


def _lock(invitation: Invitation) -> Invitation:
    """The invitation, locked, with its account; refused if it is gone."""
    locked = Invitation.objects.select_for_update().select_related("user").filter(pk=invitation.pk).first()
    if locked is None:
        raise InvitationRefused(_("This invitation no longer exists: it was revoked."), code="gone")
    return locked


def _send(invitation: Invitation, by) -> None:
    """A fresh link (the one before stops working), and the e-mail with it."""
    token = accounts.issue_password_link(invitation.user, LinkPurpose.INVITATION, INVITATION_VALIDITY)
    invitation.sent_at = timezone.now()
    notifications.invitation(invitation.user, token, role=invitation.role, by=by, valid_for=INVITATION_VALIDITY)


@transaction.atomic
def invite(*, email: str, name: str, role: str, by) -> Invitation:
    """Invite `name` <`email`> to the team as `role`, on behalf of `by`.

    Bad input raises a ValidationError; an address that has an account
    already, an invitation pending among them, raises InvitationRefused
    (also when two leaders invite the same address at the same moment).
    Either way nothing is created."""
    _require_manager(by)
    email = accounts.clean_email(email)
    first_name, last_name = accounts.split_name(name)
    role = _clean_role(role)
    if (refusal := _already_there(email)) is not None:
        raise refusal
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=email.lower(), email=email, first_name=first_name, last_name=last_name, password=None
            )
    except IntegrityError:
        # Another leader invited the same address a moment ago.
        raise _already_there(email) or InvitationRefused(code="account_exists") from None
    invitation = Invitation(user=user, role=role, invited_by=by)
    _send(invitation, by)
    invitation.save()
    audit.record(AuditAction.INVITED, actor=by, subject=user, role=role.value)
    return invitation


@transaction.atomic
def resend(invitation: Invitation, *, by) -> Invitation:
    """A new link and a new e-mail; the link sent before stops working."""
    _require_manager(by)
    locked = _lock(invitation)
    if locked.accepted_at is not None:
        raise InvitationRefused(_("This invitation was accepted: they are on the team."), code="accepted")
    _send(locked, by)
    locked.save(update_fields=["sent_at"])
    audit.record(AuditAction.INVITATION_RESENT, actor=by, subject=locked.user, role=locked.role)
    return locked


@transaction.atomic
def revoke(invitation: Invitation, *, by) -> Invitation:
    """Withdraw a pending invitation: the account that was never used goes,
    and its links and the invitation with it (the audit log keeps the name).
    The address may be invited again."""
    _require_manager(by)
    locked = _lock(invitation)
    if locked.accepted_at is not None:
        raise InvitationRefused(
            _("This invitation was accepted: they are on the team. Deactivate them instead."), code="accepted"
        )
    audit.record(
        AuditAction.INVITATION_REVOKED, actor=by, subject=locked.user, role=locked.role, email=locked.user.email
    )
    locked.user.delete()
    return locked


def can_accept(user: User) -> bool:
    """Whether `user` holds an invitation they can still accept: pending,
    and not on the team already (in no group of the team)."""
    return (
        Invitation.objects.filter(user=user, accepted_at__isnull=True).exists()
        and not user.groups.filter(name__in=(roles.LEADERS, roles.INTERCESSORS)).exists()
    )


@transaction.atomic
def accept(raw_token: str, password: str) -> User:
    """The invited person chooses their password through the link: the link
    is spent, the account joins the groups of the invitation's role (an
    intercessor gets a profile), and the invitation is accepted, together.

    A link that opens nothing (used, expired, revoked, forged), a link of
    another purpose, an invitation accepted already or an account on the
    team already: `accounts.LinkNotUsable`, nothing changed. Of two
    simultaneous uses, the second waits for the invitation's lock and then
    finds it accepted."""
    link = accounts.link_for_token(raw_token)
    if link is None or link.purpose != LinkPurpose.INVITATION:
        raise accounts.LinkNotUsable()
    invitation = Invitation.objects.select_for_update().filter(user_id=link.user_id).first()
    if invitation is None or invitation.accepted_at is not None or not can_accept(link.user):
        raise accounts.LinkNotUsable()
    user = accounts.use_password_link(raw_token, password, purpose=LinkPurpose.INVITATION)
    groups = ROLE_GROUPS[TeamRole(invitation.role)]
    for group_name in groups:
        user.groups.add(Group.objects.get_or_create(name=group_name)[0])
    if roles.INTERCESSORS in groups:
        IntercessorProfile.objects.get_or_create(user=user)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    roles.forget(user)
    audit.record(AuditAction.INVITATION_ACCEPTED, actor=user, subject=user, role=invitation.role)
    if roles.LEADERS in groups:
        notifications.leaders_changed(user, now_leader=True, by=invitation.invited_by)
    return user


def pending():
    """The invitations not accepted yet, expired ones too (they can be sent
    again or revoked), with the account and who invited."""
    return Invitation.objects.filter(accepted_at__isnull=True).select_related("user", "invited_by")
