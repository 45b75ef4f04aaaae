"""
Personal API tokens (issue 17): a team member's keys to the JSON API
(`requests_app.api`).

A token is `ic_` and 43 characters of `secrets.token_urlsafe(32)`: shown
once, when it is made, and stored only as its SHA-256 (`ApiToken.key_hash`;
a 256-bit secret needs no slow hash, as with the follow-up links). Anyone
on the team makes, names and revokes their own (My settings); a leader can
revoke anyone's (the team's tokens page), which the audit log records; a
member who is deactivated loses every token at once
(`requests_app.team.members.deactivate`). A token acts as its owner, with
their roles as they are at each request: one whose owner is no longer on the
team, or inactive, opens nothing (`authenticate`).
"""

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from requests_app import roles, rules, text
from requests_app.exceptions import NotAllowed
from requests_app.models import ApiToken, AuditAction, hash_token
from requests_app.team import audit

PREFIX = "ic_"
SHOWN_PREFIX_LENGTH = 8
MOST_ACTIVE = 20
# `last_used_at` is written at most this often for one token: not a write
# for every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)

MESSAGES = {
    "name_required": _("Give the token a name, such as the tool it is for."),
    "name_problem": _("Remove the invisible control characters (such as a NUL) from the name."),
    "too_many": _("You have %(most)d tokens already: revoke one you no longer use first."),
}


def check_name(name: str) -> str:
    return text.a_name(name, max_length=ApiToken._meta.get_field("name").max_length, messages=MESSAGES)


def create(user: AbstractBaseUser, *, name: str, read_only: bool) -> tuple[ApiToken, str]:
    """A new token of `user`'s, and its secret (to show once). NotAllowed
    unless they are an active member of the team; ValidationError for a
    bad name or one token too many."""
    if not getattr(user, "is_active", False) or not (roles.is_leader(user) or roles.is_intercessor(user)):
        raise NotAllowed(_("Only members of the team have API tokens."))
    name = check_name(name)
    with transaction.atomic():
        # One at a time per member, so the count below holds.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MOST_ACTIVE:
            raise ValidationError(MESSAGES["too_many"], code="too_many", params={"most": MOST_ACTIVE})
        secret = PREFIX + secrets.token_urlsafe(32)
        token = ApiToken.objects.create(
            user=user,
            name=name,
            key_hash=hash_token(secret),
            prefix=secret[: len(PREFIX) + SHOWN_PREFIX_LENGTH],
            read_only=bool(read_only),
        )
    return token, secret


def revoke(token: ApiToken, *, by: AbstractBaseUser) -> ApiToken:
    """Revoke `token`: by its owner, or by a leader (recorded in the audit
    log). Revoking a revoked token changes nothing. NotAllowed for anyone else."""
    own = token.user_id == by.pk
    if not own and not rules.can_manage_team(by):
        raise NotAllowed(_("You may revoke only your own tokens."))
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.revoked_by = by
            locked.save(update_fields=["revoked_at", "revoked_by"])
            if not own:
                audit.record(
                    AuditAction.API_TOKEN_REVOKED, actor=by, subject=locked.user, token=locked.pk, name=locked.name
                )
    return locked


def revoke_all(user: AbstractBaseUser, *, by: AbstractBaseUser | None) -> int:
    """Every active token of `user`, revoked (their deactivation, in its
    transaction). Returns how many."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_by=by)


def authenticate(secret: str) -> ApiToken | None:
    """The active token whose secret this is, with its owner, if the owner
    is active; else None. Notes when it was last used (at most once a
    `LAST_USED_RESOLUTION`)."""
    if not isinstance(secret, str) or not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_token(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
