"""Pray now: the choice a session is made of, and its two buttons."""

from django import forms
from django.utils.translation import gettext_lazy as _

from requests_app import church
from requests_app.forms.hygiene import InputHygiene
from requests_app.forms.request_page import PrayForm
from requests_app.models import Category, PrayerSession

_REQUEST_ERRORS = {
    "required": _("This form is damaged; reload the page and try again."),
    "invalid": _("This form is damaged; reload the page and try again."),
    "min_value": _("This form is damaged; reload the page and try again."),
    "max_value": _("This form is damaged; reload the page and try again."),
}


class PrayerSessionChoiceForm(InputHygiene, forms.ModelForm):
    """Which requests to pray through: mine, also the team board's, of
    which categories. Kept for the next session."""

    error_messages = {
        "categories": {
            "invalid_choice": _("%(value)s is not one of the categories."),
            "invalid_list": _("Choose categories from the list."),
        },
    }

    categories = forms.MultipleChoiceField(
        label=_("Only these categories"),
        required=False,
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick none to pray for every category."),
        error_messages=error_messages["categories"],
    )

    class Meta:
        model = PrayerSession
        fields = ["include_board", "categories"]
        labels = {"include_board": _("Also the requests on the team board")}
        help_texts = {
            "include_board": _("Without it, the session goes through the requests you carry."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # In the church's order (its settings page).
        self.fields["categories"].choices = church.categories()


class _InFrontOfMe(InputHygiene, forms.Form):
    # Which request the button was shown with: the session moves on only if
    # it is still the one in front of the user, so a second tap moves once.
    request = forms.IntegerField(min_value=1, max_value=2**31 - 1, error_messages=_REQUEST_ERRORS)


class SessionPrayForm(PrayForm, _InFrontOfMe):
    """ "I prayed" in a session: the request page's form (minutes, fasting,
    a note, the submission key), for the request in front of me."""


class SessionSkipForm(_InFrontOfMe):
    """ "Skip": on to the next request, nothing logged."""
