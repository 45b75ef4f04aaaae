"""
The team's members, run by a leader: roles, capacity and availability,
deactivating and reactivating.

Each change is one transaction that checks `rules.can_manage_team` (the
actor is refused with `NotAllowed` otherwise), writes its audit entry
(`team.audit`) and sends its e-mail with the change (`mail.notifications`,
delivered after commit). A refusal raises `MemberChangeRefused` (or a
ValidationError for input out of range) and changes nothing.

Who is on the team is membership of the two groups (`requests_app.roles`);
a member always keeps at least one of them (someone with no role left is
deactivated instead), and deactivating keeps them, so that a deactivated
member is still known as one and comes back as they were.

Never zero leaders: every change that can take a leader away (removing the
role, deactivating) first locks the Leaders group's row, so such changes
happen one after the other; under that lock it checks that the actor is
still an active leader and counts the active leaders. Two leaders removing
each other's role at the same moment: the second finds itself no longer a
leader, or finds one leader left, and is refused.
"""

from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from requests_app import queries, roles, rules, services
from requests_app.exceptions import IntercessionError, NotAllowed
from requests_app.mail import notifications
from requests_app.models import AuditAction, IntercessorProfile, UpdateKind
from requests_app.rules import Actor
from requests_app.team import api_tokens, audit

MIN_CAPACITY, MAX_CAPACITY = 0, 50


class MemberChangeRefused(IntercessionError):
    """A change to a member that the rules of the team refuse."""

    default_message = _("That change to the team is not possible.")
    default_code = "member_change_refused"


def _name(user: User) -> str:
    return audit.name_of(user)


def _lock_team(by: Actor) -> None:
    """Inside the caller's transaction: lock the Leaders group's row (the
    lock every change to who leads waits for), then check, from the
    database, that `by` is still an active leader. Someone removed a moment
    ago, or deactivated, no longer manages the team."""
    # NO KEY: the lock serialises these changes, yet lets others add a
    # member to the group meanwhile (a foreign key only needs KEY SHARE).
    Group.objects.select_for_update(no_key=True).get_or_create(name=roles.LEADERS)
    if not User.objects.filter(pk=by.pk, is_active=True, groups__name=roles.LEADERS).exists():
        raise NotAllowed(_("Only a leader can manage the team."))


def _lock_member(member: User, *, active: bool = True) -> tuple[User, set[str]]:
    """The member's row, locked, and the names of their groups now; refused
    unless the account is active (or, with `active=False`, deactivated)."""
    # NO KEY, so that the member's own writes meanwhile (a prayer logged,
    # a note) wait for nothing: their rows only point at this one.
    locked = User.objects.select_for_update(no_key=True).get(pk=member.pk)
    groups = set(locked.groups.filter(name__in=(roles.LEADERS, roles.INTERCESSORS)).values_list("name", flat=True))
    if not groups:
        raise MemberChangeRefused(_("%(name)s is not on the team.") % {"name": _name(locked)}, code="not_on_team")
    if locked.is_active and not active:
        raise MemberChangeRefused(_("%(name)s is already active.") % {"name": _name(locked)}, code="unchanged")
    if active and not locked.is_active:
        raise MemberChangeRefused(
            _("%(name)s is deactivated: reactivate them first.") % {"name": _name(locked)}, code="inactive"
        )
    return locked, groups


def _refuse_unless_manager(by: Actor) -> None:
    if not rules.can_manage_team(by):
        raise NotAllowed(_("Only a leader can manage the team."))


def _group(name: str) -> Group:
    return Group.objects.get_or_create(name=name)[0]


def _after_change(member: User, locked: User) -> User:
    """Give the caller's copy the state just written, and return it."""
    member.is_active = locked.is_active
    roles.forget(member)
    roles.forget(locked)
    return member


def make_leader(member: User, *, by: Actor) -> User:
    """Add the leader role; every leader is told."""
    _refuse_unless_manager(by)
    with transaction.atomic():
        _lock_team(by)
        locked, groups = _lock_member(member)
        if roles.LEADERS in groups:
            raise MemberChangeRefused(_("%(name)s is already a leader.") % {"name": _name(locked)}, code="unchanged")
        locked.groups.add(_group(roles.LEADERS))
        audit.record(AuditAction.MADE_LEADER, actor=by, subject=locked)
        notifications.leaders_changed(locked, now_leader=True, by=by)
    return _after_change(member, locked)


def remove_leader(member: User, *, by: Actor) -> User:
    """Take the leader role away, unless it is the member's only role
    (deactivate them instead) or they are the last active leader. Every
    leader is told, and the member."""
    _refuse_unless_manager(by)
    with transaction.atomic():
        _lock_team(by)
        locked, groups = _lock_member(member)
        if roles.LEADERS not in groups:
            raise MemberChangeRefused(_("%(name)s is not a leader.") % {"name": _name(locked)}, code="unchanged")
        if roles.INTERCESSORS not in groups:
            raise MemberChangeRefused(
                _(
                    "Leading is the only role %(name)s has: make them an intercessor first, "
                    "or deactivate them if they are leaving the team."
                )
                % {"name": _name(locked)},
                code="last_role",
            )
        if queries.active_leader_count() <= 1:
            raise MemberChangeRefused(
                _("%(name)s is the only leader: make someone else a leader first.") % {"name": _name(locked)},
                code="last_leader",
            )
        locked.groups.remove(_group(roles.LEADERS))
        audit.record(AuditAction.LEADER_ROLE_REMOVED, actor=by, subject=locked)
        notifications.leaders_changed(locked, now_leader=False, by=by)
    return _after_change(member, locked)


def make_intercessor(member: User, *, by: Actor) -> User:
    """Add the intercessor role (with a profile of the defaults, if they
    have none): they can be assigned from now on."""
    _refuse_unless_manager(by)
    with transaction.atomic():
        _lock_team(by)
        locked, groups = _lock_member(member)
        if roles.INTERCESSORS in groups:
            raise MemberChangeRefused(
                _("%(name)s is already an intercessor.") % {"name": _name(locked)}, code="unchanged"
            )
        locked.groups.add(_group(roles.INTERCESSORS))
        IntercessorProfile.objects.get_or_create(user_id=locked.pk)
        audit.record(AuditAction.MADE_INTERCESSOR, actor=by, subject=locked)
    return _after_change(member, locked)


def remove_intercessor(member: User, *, by: Actor) -> int:
    """Take the intercessor role away from a leader (a leader who does not
    intercede is fine; someone with no role left is deactivated instead):
    every assignment they carry is released with it, each with its story
    entry. Returns how many were released. Their profile and history stay."""
    _refuse_unless_manager(by)
    with transaction.atomic():
        _lock_team(by)
        locked, groups = _lock_member(member)
        if roles.INTERCESSORS not in groups:
            raise MemberChangeRefused(_("%(name)s is not an intercessor.") % {"name": _name(locked)}, code="unchanged")
        if roles.LEADERS not in groups:
            raise MemberChangeRefused(
                _("Interceding is the only role %(name)s has: deactivate them instead if they are leaving the team.")
                % {"name": _name(locked)},
                code="last_role",
            )
        # Locked before their assignments are read, as `services.assign`
        # locks it before counting them: no assignment slips in between.
        IntercessorProfile.objects.select_for_update().filter(user_id=locked.pk).first()
        released = services.release_all(locked, by=by)
        locked.groups.remove(_group(roles.INTERCESSORS))
        audit.record(AuditAction.INTERCESSOR_ROLE_REMOVED, actor=by, subject=locked, assignments_released=released)
    _after_change(member, locked)
    return released


def _checked_capacity(capacity: object) -> int:
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not MIN_CAPACITY <= capacity <= MAX_CAPACITY:
        raise ValidationError(
            _("Give a capacity from %(min)d to %(max)d requests.") % {"min": MIN_CAPACITY, "max": MAX_CAPACITY},
            code="capacity_out_of_range",
        )
    return capacity


def set_limits(intercessor: User, *, capacity: int, available: bool, by: Actor) -> bool:
    """How many requests an intercessor can carry, and whether they take new
    ones: set by a leader (who is then named to them on My settings, with
    the date) or by the intercessor themselves (which clears that). Returns
    False, writing nothing, when both were already so. What they carry now
    stays, even above a lowered capacity."""
    capacity = _checked_capacity(capacity)
    available = bool(available)
    by_themselves = getattr(by, "pk", None) == intercessor.pk and roles.is_intercessor(by)
    if not by_themselves:
        _refuse_unless_manager(by)
    with transaction.atomic():
        if not by_themselves:
            _lock_team(by)
        if not User.objects.filter(pk=intercessor.pk, is_active=True, groups__name=roles.INTERCESSORS).exists():
            raise MemberChangeRefused(
                _("%(name)s is not an active intercessor.") % {"name": _name(intercessor)}, code="not_intercessor"
            )
        IntercessorProfile.objects.get_or_create(user_id=intercessor.pk)
        # Locked as `services.assign` locks it: an assignment being made
        # now counts against the capacity before or after this, not beside.
        profile = IntercessorProfile.objects.select_for_update().get(user_id=intercessor.pk)
        changes = {}
        if profile.max_active_assignments != capacity:
            changes["capacity"] = {"old": profile.max_active_assignments, "new": capacity}
        if profile.is_available != available:
            changes["available"] = {"old": profile.is_available, "new": available}
        if not changes:
            return False
        profile.max_active_assignments = capacity
        profile.is_available = available
        profile.limits_changed_by = None if by_themselves else by
        profile.limits_changed_at = None if by_themselves else timezone.now()
        profile.save(
            update_fields=["max_active_assignments", "is_available", "limits_changed_by", "limits_changed_at"]
        )
        audit.record(AuditAction.LIMITS_CHANGED, actor=by, subject=intercessor, **changes)
    return True


def deactivate(member: User, *, by: Actor) -> int:
    """Someone leaves the team, in one transaction: every active assignment
    is released (each with its story entry "released: left the team"), the
    account is made inactive (they cannot log in, and an open session ends
    at its next request: Django's ModelBackend refuses inactive users), and
    their history stays; their API tokens are revoked. Refused for the last active leader, themselves
    included. Returns how many assignments were released."""
    _refuse_unless_manager(by)
    with transaction.atomic():
        _lock_team(by)
        locked, groups = _lock_member(member)
        was_leader = roles.LEADERS in groups
        if was_leader and queries.active_leader_count() <= 1:
            raise MemberChangeRefused(
                _("%(name)s is the only leader: make someone else a leader first.") % {"name": _name(locked)},
                code="last_leader",
            )
        IntercessorProfile.objects.select_for_update().filter(user_id=locked.pk).first()
        locked.is_active = False
        locked.save(update_fields=["is_active"])
        released = services.release_all(locked, by=by, kind=UpdateKind.LEFT_TEAM)
        tokens = api_tokens.revoke_all(locked, by=by)
        revoked = {"api_tokens_revoked": tokens} if tokens else {}
        audit.record(AuditAction.DEACTIVATED, actor=by, subject=locked, assignments_released=released, **revoked)
        if was_leader:
            notifications.leaders_changed(locked, now_leader=False, by=by)
    _after_change(member, locked)
    return released


def reactivate(member: User, *, by: Actor) -> User:
    """The account comes back, with its roles and its history, and with no
    assignments: what they carried was released when they left."""
    _refuse_unless_manager(by)
    with transaction.atomic():
        _lock_team(by)
        locked, groups = _lock_member(member, active=False)
        locked.is_active = True
        locked.save(update_fields=["is_active"])
        audit.record(AuditAction.REACTIVATED, actor=by, subject=locked)
        if roles.LEADERS in groups:
            notifications.leaders_changed(locked, now_leader=True, by=by)
    return _after_change(member, locked)
