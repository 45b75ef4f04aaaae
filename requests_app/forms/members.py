"""The leader's controls for one member of the team (the team page, and the
assign page's "give room for one more"). They check the shape of what was
posted; whether the change is allowed is for `requests_app.team.members`."""

from django import forms
from django.utils.translation import gettext_lazy as _

from requests_app.forms.hygiene import InputHygiene
from requests_app.team.members import MAX_CAPACITY, MIN_CAPACITY


class LimitsForm(InputHygiene, forms.Form):
    error_messages = {
        "capacity": {
            "required": _("Say how many requests they can carry (0 if none for now)."),
            "invalid": _("Enter a whole number of requests."),
            "min_value": _("Enter %(limit_value)s or more."),
            "max_value": _("Enter %(limit_value)s or fewer."),
        },
    }

    capacity = forms.IntegerField(
        label=_("How many requests they can carry"),
        min_value=MIN_CAPACITY,
        max_value=MAX_CAPACITY,
        error_messages=error_messages["capacity"],
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    available = forms.BooleanField(label=_("Available for new assignments"), required=False)


class RoleChangeForm(InputHygiene, forms.Form):
    MAKE_LEADER, REMOVE_LEADER = "make_leader", "remove_leader"
    MAKE_INTERCESSOR, REMOVE_INTERCESSOR = "make_intercessor", "remove_intercessor"

    change = forms.ChoiceField(
        choices=[
            (MAKE_LEADER, _("Make a leader")),
            (REMOVE_LEADER, _("Remove the leader role")),
            (MAKE_INTERCESSOR, _("Make an intercessor")),
            (REMOVE_INTERCESSOR, _("Remove the intercessor role")),
        ],
        error_messages={
            "required": _("Choose a change of role."),
            "invalid_choice": _("That is not a change of role this page offers."),
        },
    )
