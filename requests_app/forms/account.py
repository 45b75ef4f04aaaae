"""The intercessor's own settings: how much they can carry, and what they are drawn to."""

from django import forms
from django.utils.translation import gettext_lazy as _

from requests_app.models import Category, IntercessorProfile

MIN_CAPACITY, MAX_CAPACITY = 0, 50


class IntercessorSettingsForm(forms.ModelForm):
    error_messages = {
        "max_active_assignments": {
            "required": _("Say how many requests you can carry (0 if none for now)."),
            "invalid": _("Enter a whole number of requests."),
            "min_value": _("Enter %(limit_value)s or more."),
            "max_value": _("Enter %(limit_value)s or fewer."),
        },
        "preferred_categories": {
            "invalid_choice": _("%(value)s is not one of the categories."),
            "invalid_list": _("Choose categories from the list."),
        },
    }

    max_active_assignments = forms.IntegerField(
        label=_("How many requests I can carry"),
        min_value=MIN_CAPACITY,
        max_value=MAX_CAPACITY,
        help_text=_("A leader will not assign you more than this. 0 means none for now."),
        error_messages=error_messages["max_active_assignments"],
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    preferred_categories = forms.MultipleChoiceField(
        label=_("What I am drawn to pray for"),
        required=False,
        choices=Category.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leaders see these when they choose who to assign."),
        error_messages=error_messages["preferred_categories"],
    )

    class Meta:
        model = IntercessorProfile
        fields = ["is_available", "max_active_assignments", "preferred_categories"]
        labels = {"is_available": _("I am available for new assignments")}
        help_texts = {
            "is_available": _("Untick this to take a rest: you keep what you carry, but get nothing new."),
        }
