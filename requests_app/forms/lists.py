"""The GET forms of the team's lists: filters that narrow a list, never change anything.

A filter the user got wrong is reported on the form and simply not applied:
the list is still shown, narrowed by the fields that were valid.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from requests_app import church
from requests_app.forms.hygiene import InputHygiene
from requests_app.models import Category, PrayerRequestQuerySet, Status

SEARCH_MAX_LENGTH = 100
COVERAGE_MIN_DAYS, COVERAGE_MAX_DAYS = 1, 365

ANY, YES, NO = "", "yes", "no"
_YES_NO_CHOICES = [(ANY, _("Any")), (YES, _("Yes")), (NO, _("No"))]


def _search_field(error_messages: dict) -> forms.CharField:
    """Whole words to look for (`PrayerRequestQuerySet.matching`)."""
    return forms.CharField(
        label=_("Search"),
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        help_text=_("Whole words, in the title, for whom, and the details."),
        error_messages=error_messages,
        widget=forms.TextInput(attrs={"type": "search"}),
    )


class RequestFilterForm(InputHygiene, forms.Form):
    """The leader's filters over every request."""

    error_messages = {
        "q": {"max_length": _("Search for at most %(limit_value)d characters; the search was not applied.")},
        "status": {"invalid_choice": _("There is no such status; showing every status.")},
        "category": {"invalid_choice": _("There is no such category; showing every category.")},
        "yes_no": {"invalid_choice": _("Choose any, yes or no; this filter was not applied.")},
    }

    q = _search_field(error_messages["q"])
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Status.choices],
        error_messages=error_messages["status"],
    )
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("Any category")), *Category.choices],
        error_messages=error_messages["category"],
    )
    urgent = forms.ChoiceField(
        label=_("Urgent"), required=False, choices=_YES_NO_CHOICES, error_messages=error_messages["yes_no"]
    )
    confidential = forms.ChoiceField(
        label=_("Confidential"),
        required=False,
        choices=_YES_NO_CHOICES,
        error_messages=error_messages["yes_no"],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # In the church's order (its settings page).
        self.fields["category"].choices = [("", _("Any category")), *church.categories()]

    def filter(self, requests: PrayerRequestQuerySet) -> PrayerRequestQuerySet:
        """Narrow `requests` by every field that is valid; invalid ones are
        left out (their errors are on the form)."""
        self.is_valid()
        data = self.cleaned_data
        if data.get("status"):
            requests = requests.filter(status=data["status"])
        if data.get("category"):
            requests = requests.filter(category=data["category"])
        if data.get("urgent"):
            requests = requests.filter(is_urgent=data["urgent"] == YES)
        if data.get("confidential"):
            requests = requests.filter(is_confidential=data["confidential"] == YES)
        if search := (data.get("q") or "").strip():
            requests = requests.matching(search)
        return requests


class BoardFilterForm(InputHygiene, forms.Form):
    """What an intercessor narrows the team board by: a category, and whole
    words. It only narrows the board the viewer already sees, so it never
    finds a request they may not see."""

    error_messages = {
        "q": RequestFilterForm.error_messages["q"],
        "category": RequestFilterForm.error_messages["category"],
    }

    q = _search_field(error_messages["q"])
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("Any category")), *Category.choices],
        error_messages=error_messages["category"],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("Any category")), *church.categories()]

    def filter(self, requests: PrayerRequestQuerySet) -> PrayerRequestQuerySet:
        """Narrow `requests` by every field that is valid."""
        self.is_valid()
        data = self.cleaned_data
        if data.get("category"):
            requests = requests.filter(category=data["category"])
        if search := (data.get("q") or "").strip():
            requests = requests.matching(search)
        return requests


class CoverageForm(InputHygiene, forms.Form):
    """How many days without prayer make a gap."""

    error_messages = {
        "days": {
            "invalid": _("Enter a whole number of days."),
            "min_value": _("Enter at least %(limit_value)s day."),
            "max_value": _("Enter at most %(limit_value)s days."),
        },
    }

    days = forms.IntegerField(
        label=_("Days without prayer"),
        required=False,
        min_value=COVERAGE_MIN_DAYS,
        max_value=COVERAGE_MAX_DAYS,
        error_messages=error_messages["days"],
    )

    def __init__(self, data=None, **kwargs):
        kwargs.setdefault("initial", {"days": self.default_days()})
        super().__init__(data, **kwargs)

    @staticmethod
    def default_days() -> int:
        return church.current().coverage_days

    def days_or_default(self) -> int:
        """The days asked for, or the default when none (or nonsense) was given."""
        if self.is_bound and self.is_valid() and self.cleaned_data["days"] is not None:
            return self.cleaned_data["days"]
        return self.default_days()
