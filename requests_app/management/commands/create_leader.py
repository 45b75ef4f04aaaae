"""Open the first leader's account without the Django admin:
`python manage.py create_leader --email lydia@church.example --name "Lydia Leader"`.

The leader (who also intercedes) gets no password: the command prints a
link, good once and for 48 hours, with which they choose one. A second run
for the same address is refused and says what to do instead; `--new-link`
replaces a link that was lost or expired, for a leader who has not chosen a
password yet. The link is printed here and nowhere else: never logged.
"""

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from requests_app import roles
from requests_app.models import LinkPurpose
from requests_app.team import accounts


class Command(BaseCommand):
    help = (
        "Create a leader (who also intercedes) with no password yet, and print a link, good once and for "
        "48 hours, to choose one. --new-link: a new link for a leader who has not chosen a password."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The leader's e-mail address; it is also their user name.")
        parser.add_argument("--name", help='First name and last name, e.g. "Lydia Leader".')
        parser.add_argument(
            "--new-link",
            action="store_true",
            help="A new link for a leader made with this command who has not chosen a password yet; "
            "the old link stops working.",
        )

    def handle(self, *args, email: str, name: str | None, new_link: bool, **options):
        try:
            email = accounts.clean_email(email)
        except ValidationError as error:
            raise CommandError(_("--email: %(error)s") % {"error": error.messages[0]}) from None
        if new_link:
            if name is not None:
                raise CommandError(_("--new-link changes nothing but the link: leave out --name."))
            user, token = self._new_link(email)
            self.stdout.write(
                _("A new link for %(name)s <%(email)s>; the one before no longer works.")
                % {"name": user.get_full_name() or user.get_username(), "email": user.email}
            )
        else:
            if name is None:
                raise CommandError(_('Give the leader\'s name too, e.g. --name "Lydia Leader".'))
            user, token = self._create(email, name)
            self.stdout.write(
                _("Created the leader %(name)s <%(email)s>, in the groups %(leaders)s and %(intercessors)s.")
                % {
                    "name": user.get_full_name(),
                    "email": user.email,
                    "leaders": roles.LEADERS,
                    "intercessors": roles.INTERCESSORS,
                }
            )
        hours = int(accounts.NEW_LEADER_LINK_VALIDITY.total_seconds() // 3600)
        link = settings.INTERCESSION_SITE_URL + reverse("password_link", args=[token])
        steps = [
            _(
                "Open the link, or give it to %(name)s yourself (in person, or in an e-mail of your own): until it "
                "is used it is as good as a password."
            )
            % {"name": user.get_short_name() or user.email},
            _("On that page, choose a password: that logs in and opens triage."),
            _("From then on, log in at %(login)s with the user name %(username)s.")
            % {"login": _login_url(), "username": user.get_username()},
        ]
        lines = [
            "",
            ngettext(
                "The link to choose a password (it works once, for %(hours)d hour):",
                "The link to choose a password (it works once, for %(hours)d hours):",
                hours,
            )
            % {"hours": hours},
            "",
            f"    {link}",
            "",
            _("Next:"),
            *[f"  {number}. {step}" for number, step in enumerate(steps, start=1)],
            _("If the link expires unused: python manage.py create_leader --email %(email)s --new-link")
            % {"email": user.email},
        ]
        self.stdout.write("\n".join(lines))

    def _create(self, email: str, name: str) -> tuple[User, str]:
        existing = accounts.find_account(email)
        if existing is not None:
            raise CommandError(_refusal(existing))
        try:
            return accounts.create_leader(email, name)
        except ValidationError as error:
            raise CommandError(_("--name: %(error)s") % {"error": error.messages[0]}) from None
        except accounts.AccountRefused:
            # Made by someone else between the check above and now.
            raise CommandError(_refusal(accounts.find_account(email))) from None

    def _new_link(self, email: str) -> tuple[User, str]:
        user = accounts.find_account(email)
        if user is None:
            raise CommandError(
                _('There is no account for %(email)s. To create it: create_leader --email %(email)s --name "…"')
                % {"email": email}
            )
        if not user.is_active:
            raise CommandError(_("The account of %(email)s is deactivated. Nothing changed.") % {"email": email})
        if not roles.is_leader(user):
            raise CommandError(
                _("%(email)s is not a leader: --new-link is only for leaders made with this command. Nothing changed.")
                % {"email": email}
            )
        try:
            token = accounts.issue_password_link(user, LinkPurpose.NEW_LEADER, accounts.NEW_LEADER_LINK_VALIDITY)
        except accounts.AccountRefused as refusal:
            raise CommandError(_refusal(user) if refusal.code == "has_password" else str(refusal.message)) from None
        return user, token


def _login_url() -> str:
    return settings.INTERCESSION_SITE_URL + reverse("login")


def _refusal(existing: User | None) -> str:
    """Why a second run is refused, and what to do instead."""
    if existing is None:
        return _("There is already an account for this address. Nothing changed.")
    lines = [
        _("There is already an account for %(email)s (user name %(username)s). Nothing changed.")
        % {"email": existing.email or existing.get_username(), "username": existing.get_username()}
    ]
    if not existing.is_active:
        lines.append(_("It is deactivated."))
    elif existing.has_usable_password():
        lines.append(
            _(
                "If its owner has forgotten the password, they choose a new one with “Forgotten your password?” "
                "on the log-in page: %(login)s"
            )
            % {"login": _login_url()}
        )
    elif roles.is_leader(existing):
        lines.append(
            _(
                "They have not chosen a password yet. For a new link (the old one stops working): "
                "python manage.py create_leader --email %(email)s --new-link"
            )
            % {"email": existing.email}
        )
    return "\n".join(lines)
