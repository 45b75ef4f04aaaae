"""Forms of retention and erasure: a leader keeps a request's text longer,
or erases it on someone's behalf. Each takes a short reason for the audit
log, which must not hold the request's details (the log is not encrypted)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from requests_app.forms.hygiene import InputHygiene
from requests_app.team.retention import REASON_MAX_LENGTH

_REASON_HELP = _(
    "For the audit log, which everyone who leads can read: a few words such as “asked by phone”, never the "
    "request's details or the names in it."
)
_REASON_ERRORS = {
    "required": _("Give a short reason."),
    "max_length": _("Keep the reason under %(limit_value)d characters (it has %(show_value)d)."),
}


def _reason() -> forms.CharField:
    return forms.CharField(
        label=_("Reason"), max_length=REASON_MAX_LENGTH, help_text=_REASON_HELP, error_messages=_REASON_ERRORS
    )


class KeepTextForm(InputHygiene, forms.Form):
    until = forms.DateField(
        label=_("Keep its text until"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": _("Choose a day."), "invalid": _("Give the day as a date, such as 2027-06-03.")},
    )
    reason = _reason()


class EraseForm(InputHygiene, forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand: its text, the requester's name and e-mail and every note are erased for good."),
        error_messages={"required": _("Tick the box to confirm the erasure.")},
    )
    reason = _reason()
