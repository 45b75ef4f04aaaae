"""Forms of the requester's pages: asking for prayer, and what can be done
through the follow-up link. Every field is listed explicitly, so nothing a
visitor adds to a POST (a status, a token hash) ever reaches the model."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from requests_app import church
from requests_app.forms.hygiene import InputHygiene
from requests_app.models import Consent, PrayerRequest

NOTE_MAX_LENGTH = 4000

# Shown under the field it is about, so "this" is clear.
TOO_LONG = _("Please keep this to %(limit_value)d characters or fewer (it has %(show_value)d).")


class EmptiedTextInput(forms.TextInput):
    """A text box that never shows what was typed in it."""

    def format_value(self, value):
        return None


class HoneypotField(forms.CharField):
    """The honeypot: hidden from people (and screen readers), the kind of
    field a spam robot fills in. Whatever is in it, even a NUL, only makes
    it filled: its form then says why it refused (its `honeypot` message),
    never a message under a field nobody sees."""

    def __init__(self, **kwargs):
        super().__init__(
            label=_("Leave this empty"),
            required=False,
            # Never shown again filled: a person whose browser filled it in
            # can send the form again as it is.
            widget=EmptiedTextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
            **kwargs,
        )
        self.validators = []


class HoneypotForm(InputHygiene, forms.Form):
    """A public form with the honeypot `website`: filled in, the form is
    refused with its `honeypot` message (in `error_messages`, each form its
    own words), before any other check of the whole form."""

    HONEYPOT = "website"
    hygiene_exempt = (HONEYPOT,)

    website = HoneypotField()

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get(self.HONEYPOT):
            raise ValidationError(self.error_messages["honeypot"], code="honeypot")
        return cleaned_data

    @property
    def is_spam(self) -> bool:
        """Whether the honeypot was filled (after `is_valid()`)."""
        return self.has_error(NON_FIELD_ERRORS, "honeypot")


# The answer the form refuses: someone else, named, who does not know. It is
# one of the choices (rather than a missing one) so the refusal can say why
# and what to do instead, with no JavaScript.
NOT_AWARE = "not_aware"
CONSENT_CHOICES = [
    (Consent.SELF, _("For me")),
    (Consent.KNOWS, _("For someone else, who knows I am asking for prayer for them")),
    (
        Consent.UNIDENTIFIED,
        _("For someone else, who may not know: I have not named them, nor written anything that identifies them"),
    ),
    (NOT_AWARE, _("For someone else, who does not know I am asking")),
]


class AskForm(HoneypotForm, forms.ModelForm):
    """A new request, as the requester writes it. `services.submit_request`
    takes exactly the model's fields (`request_fields()`).

    `website` is a honeypot: hidden from people (and screen readers), it is
    the kind of field a spam robot fills in. Filled, the form is refused."""

    # Asked unless the church turned it off (its settings page); stored on
    # the request as `consent`.
    consent = forms.ChoiceField(
        label=_("Is this prayer for you, or for someone else?"),
        help_text=_(
            "A prayer request is personal. We take one about someone else only if they know you are asking, or "
            "if nothing in it tells who they are."
        ),
        choices=CONSENT_CHOICES,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Tell us whether this prayer is for you or for someone else."),
            "invalid_choice": _("Choose one of the answers in the list."),
        },
    )

    class Meta:
        model = PrayerRequest
        fields = [
            "for_whom",
            "category",
            "title",
            "details",
            "is_urgent",
            "is_confidential",
            "requester_name",
            "requester_email",
            "wants_updates",
        ]
        labels = {
            "for_whom": _("Who is the prayer for?"),
            "title": _("Your request in a few words"),
            "details": _("Tell us more"),
            "is_urgent": _("This is urgent"),
            "is_confidential": _("Keep this confidential"),
            "requester_name": _("Your name"),
            "requester_email": _("Your e-mail address"),
            "wants_updates": _("Send me updates"),
        }
        help_texts = {
            "for_whom": _("A name, initials, or “unspoken” if you would rather not say."),
            "title": _("For example: “Healing after surgery”."),
            "details": _("Optional. Share as much or as little as you like."),
            "is_urgent": _("Tick this if there is a surgery, a court date or another deadline soon."),
            "is_confidential": _(
                "Only the intercession leaders and the intercessors assigned to it will ever see it."
            ),
            "requester_name": _("Optional: so the team knows who asked."),
            "requester_email": _(
                "Optional. We e-mail your private follow-up link here, never anything about the request itself."
            ),
            "wants_updates": _("E-mail me when the team has news about this request."),
        }
        widgets = {
            "for_whom": forms.TextInput(attrs={"autocomplete": "off"}),
            "title": forms.TextInput(attrs={"autocomplete": "off"}),
            "details": forms.Textarea(attrs={"rows": 5}),
            "requester_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "requester_email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }
        error_messages = {
            "for_whom": {
                "required": _("Tell us who the prayer is for: a name, initials, or “unspoken”."),
                "max_length": TOO_LONG,
            },
            "category": {
                "required": _("Choose a category."),
                "invalid_choice": _("Choose one of the categories in the list."),
            },
            "title": {
                "required": _("Give your request a short title."),
                "max_length": TOO_LONG,
            },
            "details": {
                "max_length": TOO_LONG,
            },
            "requester_name": {
                "max_length": TOO_LONG,
            },
            "requester_email": {
                "invalid": _("Enter a valid e-mail address, such as name@example.org, or leave it empty."),
                "max_length": TOO_LONG,
            },
        }

    error_messages = {
        "email_needed_for_updates": _("To receive updates, give us an e-mail address, or untick “Send me updates”."),
        "consent_needed": _(
            "Your request was not sent: we can only pray over a request about someone else if they know you are "
            "asking, or if nothing in it identifies them. Please ask them first; or write “unspoken” as whom it "
            "is for, take out anything that could tell who they are, and choose the answer that says so."
        ),
        "honeypot": _(
            "Your request was not sent: a hidden field meant to catch spam robots was filled in, so this looked "
            "like an automatic submission. If you are a person, please send the form again, or phone the church "
            "office."
        ),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The church's choices (its settings page): whether the confidential
        # box starts ticked (the requester can still untick it), and the
        # order of the categories.
        current = church.current()
        if "is_confidential" not in (kwargs.get("initial") or {}):
            self.initial["is_confidential"] = current.confidential_by_default
        blank = [choice for choice in self.fields["category"].choices if choice[0] == ""]
        self.fields["category"].choices = [*blank, *church.ordered_categories(current.category_order)]
        if not current.asks_consent:
            del self.fields["consent"]

    @property
    def asks_consent(self) -> bool:
        return "consent" in self.fields

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("consent") == NOT_AWARE:
            self.add_error("consent", ValidationError(self.error_messages["consent_needed"], code="consent_needed"))
        # An address that was given but is invalid already has its message.
        wants_updates_without_address = (
            cleaned_data.get("wants_updates")
            and not cleaned_data.get("requester_email")
            and "requester_email" not in self.errors
        )
        if wants_updates_without_address:
            self.add_error(
                "requester_email",
                ValidationError(self.error_messages["email_needed_for_updates"], code="email_needed_for_updates"),
            )
        return cleaned_data

    def request_fields(self) -> dict:
        """What `services.submit_request` takes: the model's fields only
        (`consent` empty when the church does not ask)."""
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields}
        return {**fields, "consent": self.cleaned_data.get("consent", "")}


class FollowupUpdateForm(InputHygiene, forms.Form):
    """A note from the requester to the team."""

    note = forms.CharField(
        label=_("Your update"),
        help_text=_("The intercession team will read it."),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": _("Write your update first."),
            "max_length": TOO_LONG,
        },
    )


class PraiseReportForm(InputHygiene, forms.Form):
    """The answer has been seen: what happened."""

    note = forms.CharField(
        label=_("What happened?"),
        help_text=_("Tell the team how the prayer was answered."),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": _("Tell us what happened, so the team can give thanks with you."),
            "max_length": TOO_LONG,
        },
    )


class WithdrawForm(InputHygiene, forms.Form):
    """Withdrawing the request, with an optional word to the team."""

    note = forms.CharField(
        label=_("Anything you would like to tell the team? (optional)"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"max_length": TOO_LONG},
    )


class ConfidentialityForm(InputHygiene, forms.Form):
    """The confidentiality the requester wants: sent as the wanted value, not
    as a toggle, so a form sent twice changes it once."""

    confidential = forms.TypedChoiceField(
        choices=[("1", _("Confidential")), ("0", _("Not confidential"))],
        coerce=lambda value: value == "1",
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Choose whether your request is confidential."),
            "invalid_choice": _("Choose whether your request is confidential."),
        },
    )


class PrayerNewsForm(InputHygiene, forms.Form):
    """Whether the requester wants the weekly e-mail of how often the team
    prayed: the wanted value, like `ConfidentialityForm`."""

    send = forms.TypedChoiceField(
        choices=[("1", _("Send them")), ("0", _("Stop them"))],
        coerce=lambda value: value == "1",
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Choose whether you want the weekly e-mails."),
            "invalid_choice": _("Choose whether you want the weekly e-mails."),
        },
    )


class AddressInput(forms.EmailInput):
    """An address box that does not echo a value too long to be an address
    (a megabyte pasted in comes back as an empty box and the message)."""

    def format_value(self, value):
        if value and len(str(value)) > int(self.attrs.get("maxlength", 254)):
            return None
        return super().format_value(value)


class AddressField(forms.EmailField):
    """An e-mail address, with one clear message for whatever is wrong with
    it. (Invisible characters, which Django's validator lets through in the
    domain, are refused by `InputHygiene` with the field's "invalid" message.)"""

    def validate(self, value):
        super().validate(value)
        if value and len(value) > self.max_length:
            raise ValidationError(
                self.error_messages["max_length"],
                code="max_length",
                params={"limit_value": self.max_length, "show_value": len(value)},
            )

    def run_validators(self, value):
        try:
            super().run_validators(value)
        except ValidationError as exc:
            raise exc.error_list[0] from None


class LostLinkForm(HoneypotForm):
    """ "Lost your link?": the address the requester gave when asking.

    Nothing here looks the address up: `views.public.followup_lost` answers
    the same whether or not any request has it. `website` is a honeypot, as
    on the ask form."""

    email = AddressField(
        label=_("The e-mail address you gave"),
        help_text=_("The one you typed when you asked for prayer."),
        max_length=254,
        widget=AddressInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": _("Type the e-mail address you gave when you asked for prayer."),
            "invalid": _("Enter a valid e-mail address, such as name@example.org."),
            "max_length": TOO_LONG,
        },
    )
    error_messages = {
        "honeypot": _(
            "Nothing was sent: a hidden field meant to catch spam robots was filled in, so this looked like an "
            "automatic submission. If you are a person, please send the form again, or phone the church office."
        ),
    }
