"""A webhook of the team's (the Webhooks page, leaders)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from requests_app import church
from requests_app.forms.hygiene import InputHygiene
from requests_app.forms.public import TOO_LONG
from requests_app.hooks import targets
from requests_app.models import WebhookEvent
from requests_app.team import webhooks


class WebhookForm(InputHygiene, forms.Form):
    name = forms.CharField(
        label=_("Name"),
        help_text=_("What it posts to, such as “Prayer team chat”: you will see it in the list."),
        max_length=60,
        error_messages={"required": webhooks.MESSAGES["name_required"], "max_length": TOO_LONG},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    url = forms.CharField(
        label=_("Address"),
        help_text=_("The address the other tool gives for incoming webhooks, starting with https://."),
        max_length=targets.MAX_LENGTH,
        error_messages={"required": targets.MESSAGES["invalid"], "max_length": TOO_LONG},
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    events = forms.MultipleChoiceField(
        label=_("Events to send"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": webhooks.MESSAGES["events_required"],
            "invalid_choice": webhooks.MESSAGES["no_such_event"],
        },
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        help_text=_("A paused webhook is sent nothing; what happens meanwhile waits for it."),
        required=False,
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        hours = church.current().reminder_waiting_hours
        self.fields["events"].help_text = ngettext(
            "Each event says only the request's number, category, urgency and status, never its words or a name. "
            "“A request has waited for assignment too long” is sent once per request, when it has waited "
            "%(hours)d hour (the threshold on the church's settings).",
            "Each event says only the request's number, category, urgency and status, never its words or a name. "
            "“A request has waited for assignment too long” is sent once per request, when it has waited "
            "%(hours)d hours (the threshold on the church's settings).",
            hours,
        ) % {"hours": hours}
        if not editing:
            del self.fields["is_active"]

    def clean_name(self) -> str:
        return webhooks.check_name(self.cleaned_data["name"])

    def clean_url(self) -> str:
        return targets.check_url(self.cleaned_data["url"])
