"""A new personal API token (My settings → API tokens)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from requests_app.forms.hygiene import InputHygiene
from requests_app.forms.public import TOO_LONG
from requests_app.team import api_tokens


class TokenForm(InputHygiene, forms.Form):
    name = forms.CharField(
        label=_("Name"),
        help_text=_("What the token is for, such as “Church chat” or “My phone”: you will see it in the list."),
        max_length=60,
        error_messages={"required": api_tokens.MESSAGES["name_required"], "max_length": TOO_LONG},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    read_only = forms.BooleanField(
        label=_("For reading only"),
        help_text=_("It can read the requests you may see, but not log prayers, post updates or move requests."),
        required=False,
    )

    def clean_name(self) -> str:
        return api_tokens.check_name(self.cleaned_data["name"])
