"""The team page's invitation form: who, at which address, as what."""

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from requests_app.forms.hygiene import InputHygiene
from requests_app.models import TeamRole
from requests_app.team import accounts

# A first name and a last name of the user model's length, and a space.
NAME_MAX = 2 * User._meta.get_field("first_name").max_length + 1
EMAIL_MAX = 254


class InviteForm(InputHygiene, forms.Form):
    error_messages = {
        "name": {
            "required": _("Give the name of the person you invite."),
            "max_length": _("Give a name of at most %(limit_value)d characters."),
            "null_characters_not_allowed": _("A name may not hold control characters."),
            "invisible_characters": _("A name may not hold control characters."),
        },
        "email": {
            "required": _("Give an e-mail address."),
            "max_length": _("This is not an e-mail address."),
            "null_characters_not_allowed": _("This is not an e-mail address."),
            "invalid": _("This is not an e-mail address."),
        },
        "role": {
            "required": _("Choose intercessor, leader, or both."),
            "invalid_choice": _("Choose intercessor, leader, or both."),
        },
    }

    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX,
        error_messages=error_messages["name"],
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("First name and last name, as the team will see them."),
    )
    email = forms.CharField(
        label=_("E-mail address"),
        max_length=EMAIL_MAX,
        error_messages=error_messages["email"],
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        help_text=_("The invitation goes here; it also becomes their user name."),
    )
    role = forms.ChoiceField(
        label=_("Invite as"),
        choices=TeamRole.choices,
        initial=TeamRole.INTERCESSOR,
        widget=forms.RadioSelect,
        error_messages=error_messages["role"],
    )

    def clean_name(self) -> str:
        first_name, last_name = accounts.split_name(self.cleaned_data["name"])
        return f"{first_name} {last_name}".strip()

    def clean_email(self) -> str:
        return accounts.clean_email(self.cleaned_data["email"])
