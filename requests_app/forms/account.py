"""My settings: an intercessor's capacity and what they are drawn to; every
team member's e-mail choices."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from requests_app.forms.hygiene import InputHygiene
from requests_app.models import Category, Delivery, IntercessorProfile, NotificationPreferences

MIN_CAPACITY, MAX_CAPACITY = 0, 50


class IntercessorSettingsForm(InputHygiene, forms.ModelForm):
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


LEADER_SWITCHES = ["new_requests", "requester_updates", "releases", "leader_summary"]
INTERCESSOR_SWITCHES = ["my_assignments", "prayer_reminders"]


class EmailPreferencesForm(InputHygiene, forms.ModelForm):
    """Which of the team's e-mails I receive, and when: the switches of my
    roles only (a leader has no prayer reminders unless they intercede)."""

    error_messages = {
        "delivery": {
            "required": _("Choose when to receive your e-mails."),
            "invalid_choice": _("Choose immediately or once a day."),
        },
    }

    class Meta:
        model = NotificationPreferences
        fields = [*LEADER_SWITCHES, *INTERCESSOR_SWITCHES, "delivery", "language"]
        labels = {
            "new_requests": _("A new prayer request arrives, or the team flags one for review"),
            "requester_updates": _("A requester writes an update, a praise report or withdraws their request"),
            "releases": _("An intercessor releases one of their assignments"),
            "leader_summary": _(
                "Each day, a summary of what needs attention: requests waiting, coverage gaps, overloaded intercessors"
            ),
            "my_assignments": _("I am assigned to a request, or released from one"),
            "prayer_reminders": _("Each day, a reminder of my assignments nobody has prayed for lately"),
            "delivery": _("When to send them"),
            "language": _("Language"),
        }
        help_texts = {
            "delivery": _(
                "Once a day gathers them into one digest e-mail. "
                "E-mails only say that something happened and link here, never what a request says."
            ),
            "language": _("Your pages and e-mails speak it. Left empty: the church's language."),
        }
        widgets = {"delivery": forms.RadioSelect}

    def __init__(self, *args, leader: bool, intercessor: bool, **kwargs):
        super().__init__(*args, **kwargs)
        shown = (LEADER_SWITCHES if leader else []) + (INTERCESSOR_SWITCHES if intercessor else [])
        for name in [*LEADER_SWITCHES, *INTERCESSOR_SWITCHES]:
            if name not in shown:
                del self.fields[name]
        self.fields["delivery"].error_messages.update(self.error_messages["delivery"])
        # A radio list with no blank "---------" choice.
        self.fields["delivery"].choices = Delivery.choices
        self.fields["language"].choices = [("", _("The church's language")), *settings.LANGUAGES]

    def leader_fields(self):
        return [self[name] for name in LEADER_SWITCHES if name in self.fields]

    def intercessor_fields(self):
        return [self[name] for name in INTERCESSOR_SWITCHES if name in self.fields]
