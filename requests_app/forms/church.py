"""The church's settings page: a leader's form over `ChurchSettings`, saved
by `requests_app.team.church_settings.save` (which checks every value again)."""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from requests_app import church
from requests_app.forms.hygiene import InputHygiene
from requests_app.forms.public import TOO_LONG
from requests_app.models import Category, ChurchSettings
from requests_app.team import church_settings

PLACES = range(1, len(Category.values) + 1)

NUMBER_MESSAGES = {
    "required": _("Enter a whole number."),
    "invalid": _("Enter a whole number."),
    "min_value": _("Enter %(limit_value)s or more."),
    "max_value": _("Enter %(limit_value)s or fewer."),
}


def _limits(name: str) -> tuple[int, int]:
    """The model field's own bounds: one place says them."""
    validators = ChurchSettings._meta.get_field(name).validators
    low = next(v.limit_value for v in validators if isinstance(v, MinValueValidator))
    high = next(v.limit_value for v in validators if isinstance(v, MaxValueValidator))
    return low, high


def _number(name: str, label, help_text) -> forms.IntegerField:
    low, high = _limits(name)
    return forms.IntegerField(
        label=label,
        help_text=help_text,
        min_value=low,
        max_value=high,
        error_messages=NUMBER_MESSAGES,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "input-narrow"}),
    )


class ChurchSettingsForm(InputHygiene, forms.ModelForm):
    """Every setting on one page; the categories' order as one select per
    place (`category_1` … `category_9`), each category in exactly one."""

    coverage_days = _number(
        "coverage_days",
        _("Days without prayer before a request is a coverage gap"),
        _("On the coverage page, the dashboard and the leaders' daily summary."),
    )
    reminder_prayer_gap_days = _number(
        "reminder_prayer_gap_days",
        _("Days without prayer before its intercessors are reminded"),
        _("In the intercessors' daily reminder e-mail."),
    )
    reminder_waiting_hours = _number(
        "reminder_waiting_hours",
        _("Hours a new request may wait for assignment"),
        _("Longer than this, and the leaders' daily summary counts it."),
    )
    reminder_breakthrough_days = _number(
        "reminder_breakthrough_days",
        _("Days awaiting manifestation before checking in"),
        _("Longer than this, and the leaders' daily summary suggests checking in with the requester."),
    )
    retention_days = _number(
        "retention_days",
        _("Days a manifested or closed request keeps its text"),
        _(
            "After this, its text, the requester's name and e-mail and every note are erased; its dates, status "
            "and category stay for the figures. A leader can keep one request longer from its page."
        ),
    )
    embed_origins = forms.CharField(
        label=_("Sites that may show the request form"),
        help_text=_(
            "The addresses of the church's own websites that show the request form in a frame, such as "
            "https://www.example.org, one on each line. Every other site is refused. Left empty, no site can."
        ),
        required=False,
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 3, "spellcheck": "false", "autocapitalize": "off", "autocomplete": "off"}
        ),
        error_messages={"max_length": TOO_LONG},
    )

    class Meta:
        model = ChurchSettings
        fields = [name for name in church_settings.EDITABLE if name != "category_order"]
        labels = {
            "name": _("The church's name"),
            "contact": _("Contact line"),
            "welcome_text": _("Welcome text"),
            "accent_colour": _("Accent colour"),
            "default_language": _("The church's language"),
            "form_open": _("The public form takes new requests"),
            "form_paused_message": _("Message while the form is paused"),
            "confidential_by_default": _("New requests start as confidential"),
            "asks_consent": _("Ask about consent when a request is for someone else"),
            "privacy_notice": _("Privacy notice"),
        }
        help_texts = {
            "name": _("In the header, in page titles and in e-mails."),
            "contact": _("On the public page, for example “Church office: 01234 567890, office@example.org”."),
            "welcome_text": _(
                "A few words at the top of the public page where people ask for prayer. Plain text: line breaks "
                "are kept."
            ),
            "accent_colour": _(
                "For the header and buttons, as # and six hexadecimal digits. White text must be easy to read on "
                "it (a contrast of at least 4.5:1), so choose a dark colour."
            ),
            "default_language": _(
                "For visitors whose browser asks for none of the app's languages, for the team members who have "
                "not chosen their own, and for e-mails to requesters who asked before languages were kept."
            ),
            "form_open": _(
                "Untick this to pause new requests, for example between seasons of prayer: the public page then "
                "shows the message below instead of the form."
            ),
            "form_paused_message": _(
                "Shown instead of the form while it is paused. Plain text: line breaks are kept. Left empty, a "
                "short standard message."
            ),
            "confidential_by_default": _(
                "The “Keep this confidential” box on the public form starts ticked. Whoever asks can still untick it."
            ),
            "asks_consent": _(
                "The public form asks whether the prayer is for the person asking or for someone else, and takes a "
                "request for someone else only if they know of it or nothing in it identifies them."
            ),
            "privacy_notice": _(
                "What is kept, who sees it, for how long and how to delete it: the privacy notice page, linked from "
                "the public form, the follow-up pages and every e-mail to a requester. Plain text: line breaks are "
                "kept, an empty line starts a paragraph. Left empty, the standard notice (see the page)."
            ),
        }
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "organization"}),
            "contact": forms.TextInput(attrs={"autocomplete": "off"}),
            "welcome_text": forms.Textarea(attrs={"rows": 4}),
            "accent_colour": forms.TextInput(
                attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off", "class": "input-narrow"}
            ),
            "form_paused_message": forms.Textarea(attrs={"rows": 3}),
            "privacy_notice": forms.Textarea(attrs={"rows": 8}),
        }
        error_messages = {
            "name": {
                "required": _("Give the church's name: it is shown in the header, page titles and e-mails."),
                "max_length": TOO_LONG,
            },
            "contact": {"max_length": TOO_LONG},
            "welcome_text": {"max_length": TOO_LONG},
            "accent_colour": {
                "required": _("Give a colour, such as #4a2c6d."),
                "max_length": church_settings.MESSAGES["invalid_colour"],
            },
            "form_paused_message": {"max_length": TOO_LONG},
            "privacy_notice": {"max_length": TOO_LONG},
        }

    error_messages = {
        "category": {
            "required": _("Choose the category for this place."),
            "invalid_choice": _("Choose one of the categories in the list."),
        },
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["embed_origins"] = "\n".join(self.instance.embed_origins or [])
        order = church.ordered_categories(self.instance.category_order)
        for place, (value, _label) in zip(PLACES, order, strict=True):
            self.fields[f"category_{place}"] = forms.ChoiceField(
                label=_("Place %(place)d") % {"place": place},
                choices=Category.choices,
                initial=value,
                error_messages=self.error_messages["category"],
            )

    @property
    def category_fields(self) -> list[forms.BoundField]:
        return [self[f"category_{place}"] for place in PLACES]

    def _text(self, name: str) -> str:
        return church_settings.check_text(self.cleaned_data[name], single_line=name in church_settings.SINGLE_LINE)

    def clean_name(self) -> str:
        return self._text("name")

    def clean_contact(self) -> str:
        return self._text("contact")

    def clean_welcome_text(self) -> str:
        return self._text("welcome_text")

    def clean_form_paused_message(self) -> str:
        return self._text("form_paused_message")

    def clean_privacy_notice(self) -> str:
        return self._text("privacy_notice")

    def clean_embed_origins(self) -> list[str]:
        return church_settings.check_origins(self.cleaned_data["embed_origins"].splitlines())

    def clean_accent_colour(self) -> str:
        return church_settings.check_colour(self.cleaned_data["accent_colour"])

    def clean(self):
        cleaned_data = super().clean()
        order = [cleaned_data.get(f"category_{place}") for place in PLACES]
        if None in order:
            return cleaned_data
        labels = dict(Category.choices)
        first_place: dict[str, int] = {}
        for place, value in zip(PLACES, order, strict=True):
            if value in first_place:
                message = church_settings.MESSAGES["category_twice"]
                params = {"category": labels[value], "place": first_place[value]}
                self.add_error(f"category_{place}", ValidationError(message, code="category_twice", params=params))
            first_place.setdefault(value, place)
        if not self.errors:
            cleaned_data["category_order"] = church_settings.check_category_order(order)
        return cleaned_data

    def validate_unique(self):
        # One row, pk 1, that the service locks and makes on the first save:
        # no other row it could clash with (and a save by another leader
        # since this page was shown is no error).
        pass

    def values(self) -> dict:
        """What `church_settings.save` takes (after `is_valid()`)."""
        return {name: self.cleaned_data[name] for name in church_settings.EDITABLE}
