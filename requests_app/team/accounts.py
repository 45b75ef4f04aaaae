"""
Accounts opened without the Django admin, and the links with which their
owners choose a password.

`create_leader` makes a leader (in `Leaders` and `Intercessors`, with an
intercessor profile) whose password is unusable, and an `AccountLink` for
them; `manage.py create_leader` prints it. The link's token is returned once
and never stored, only its hash. `link_for_token` is the one place that says
whether a token opens the page (with `AccountLink.is_usable`), and `use_password_link` sets
the password, locking the link so that two people using it at the same
moment cannot both succeed. Issue 11's invitations reuse the same links with
their own purpose and validity.

The user name of an account opened here is its e-mail address, lower-cased:
the person already knows it, and two addresses with the same local part at
different domains cannot collide.
"""

import re
import secrets
from datetime import timedelta

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import Group, User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from requests_app import roles, text
from requests_app.exceptions import IntercessionError
from requests_app.mail import notifications
from requests_app.models import AccountLink, AuditAction, IntercessorProfile, LinkPurpose, hash_token
from requests_app.team import audit

NEW_LEADER_LINK_VALIDITY = timedelta(hours=48)

# What `secrets.token_urlsafe(32)` gives (43 characters); anything else in
# the URL is no token of ours and is refused before any query.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")

_NAME_PART_MAX = User._meta.get_field("first_name").max_length
_USERNAME_MAX = User._meta.get_field("username").max_length


class AccountRefused(IntercessionError):
    """An account that cannot be opened, or a link that cannot be issued."""

    default_message = _("That account cannot be opened.")
    default_code = "account_refused"


class LinkNotUsable(IntercessionError):
    """A used, expired or unknown link, or one whose account has a password
    by now or was deactivated: one refusal, which never says which."""

    default_message = _("This link is no longer valid.")
    default_code = "link_not_usable"


def clean_email(address: str) -> str:
    """The address, stripped and with its domain lower-cased; refused with a
    ValidationError (code) when it is not one, or cannot be a user name."""
    address = BaseUserManager.normalize_email((address or "").strip())
    if not address:
        raise ValidationError(_("Give an e-mail address."), code="required")
    try:
        if text.address_problem(address):
            raise ValidationError("invisible characters")
        validate_email(address)
    except ValidationError:
        raise ValidationError(_("This is not an e-mail address."), code="invalid") from None
    if len(address) > _USERNAME_MAX:
        raise ValidationError(
            _("Give an address of at most %(max)d characters: it becomes the user name."),
            code="too_long",
            params={"max": _USERNAME_MAX},
        )
    try:
        UnicodeUsernameValidator()(address)
    except ValidationError:
        raise ValidationError(
            _("The address becomes the user name, which may hold only letters, digits and @ . + - _."),
            code="not_a_username",
        ) from None
    return address


def split_name(name: str) -> tuple[str, str]:
    """("Lydia", "van der Berg") from "Lydia van der Berg": the first word is
    the first name (what the pages call the person), the rest the last name."""
    # A name is one line (`requests_app.text`): no NUL, tab or line break, no
    # lone surrogate (undecodable bytes of a command line), no bidirectional
    # override or zero-width character that would make it read as another.
    name = text.normalise(name or "")
    if text.single_line_problem(name):
        raise ValidationError(_("A name may not hold control characters."), code="control_characters")
    words = name.split()
    if not words:
        raise ValidationError(_("Give a name."), code="required")
    first, last = words[0], " ".join(words[1:])
    if len(first) > _NAME_PART_MAX or len(last) > _NAME_PART_MAX:
        raise ValidationError(
            _("Give a first name and a last name of at most %(max)d characters each."),
            code="too_long",
            params={"max": _NAME_PART_MAX},
        )
    return first, last


def find_account(email: str) -> User | None:
    """The account whose e-mail address or user name is this address, in any case."""
    return User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).order_by("pk").first()


@transaction.atomic
def create_leader(email: str, name: str) -> tuple[User, str]:
    """A new leader who also intercedes, without a usable password, and the
    token of a link (valid NEW_LEADER_LINK_VALIDITY) to choose one.

    Refused (AccountRefused, code `account_exists`) when any account has this
    address as its e-mail or user name, also when two runs race; bad input
    raises a ValidationError. Either way nothing is created."""
    email = clean_email(email)
    first_name, last_name = split_name(name)
    if find_account(email) is not None:
        raise AccountRefused(_("There is already an account for this address."), code="account_exists")
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=email.lower(), email=email, first_name=first_name, last_name=last_name, password=None
            )
    except IntegrityError:
        # Another run made the same user name a moment ago.
        raise AccountRefused(_("There is already an account for this address."), code="account_exists") from None
    for group_name in (roles.LEADERS, roles.INTERCESSORS):
        user.groups.add(Group.objects.get_or_create(name=group_name)[0])
    IntercessorProfile.objects.create(user=user)
    roles.forget(user)
    audit.record(AuditAction.LEADER_CREATED, actor=None, subject=user)
    notifications.leaders_changed(user, now_leader=True, by=None)
    return user, issue_password_link(user, LinkPurpose.NEW_LEADER, NEW_LEADER_LINK_VALIDITY)


@transaction.atomic
def issue_password_link(user: User, purpose: str, valid_for: timedelta) -> str:
    """A fresh link for `user` to choose a password, valid for `valid_for`;
    the raw token is returned once. Every unused link of theirs stops
    working. Refused (AccountRefused) for an account that is deactivated
    (`inactive`) or already has a password (`has_password`): such a link
    would never open."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise AccountRefused(_("This account is deactivated."), code="inactive")
    if user.has_usable_password():
        raise AccountRefused(_("This account already has a password."), code="has_password")
    AccountLink.objects.filter(user=user, used_at__isnull=True).delete()
    raw_token = secrets.token_urlsafe(32)
    AccountLink.objects.create(
        user=user, purpose=purpose, token_hash=hash_token(raw_token), expires_at=timezone.now() + valid_for
    )
    return raw_token


def link_for_token(raw_token: str, *, lock: bool = False) -> AccountLink | None:
    """The link this token opens, or None if it opens nothing (unknown,
    used, expired, or its account deactivated or with a password by now)."""
    if not isinstance(raw_token, str) or not _TOKEN_SHAPE.fullmatch(raw_token):
        return None
    links = AccountLink.objects.select_related("user")
    if lock:
        links = links.select_for_update()
    link = links.filter(token_hash=hash_token(raw_token)).first()
    if link is None or not link.is_usable(timezone.now()):
        return None
    return link


@transaction.atomic
def use_password_link(raw_token: str, password: str, *, purpose: str = LinkPurpose.NEW_LEADER) -> User:
    """Set the password of the link's account and spend the link (and any
    other unused link of that account). The link is locked first, so of two
    simultaneous uses the second finds it used: LinkNotUsable, nothing
    changed. The password is expected to have passed the validators (the
    page's SetPasswordForm). A link of another `purpose` is refused: an
    invitation's link is used only by `invitations.accept`, which also puts
    the account on the team."""
    link = link_for_token(raw_token, lock=True)
    if link is None or link.purpose != purpose:
        raise LinkNotUsable()
    user = link.user
    user.set_password(password)
    user.save(update_fields=["password"])
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    AccountLink.objects.filter(user=user, used_at__isnull=True).delete()
    return user
