"""Forms of the request page and of the changes made from it.

They only check the shape of what was typed or clicked; whether the change
is allowed is for `requests_app.services` to say.
"""

from collections.abc import Iterable

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from requests_app.forms.hygiene import InputHygiene
from requests_app.models import Status, Visibility

NOTE_MAX_LENGTH = 4000
SHORT_NOTE_MAX_LENGTH = 2000

_NOTE_ERRORS = {
    "required": _("Write something first."),
    "max_length": _("Keep it under %(limit_value)d characters (it has %(show_value)d)."),
}
_VISIBILITY_ERRORS = {
    "required": _("Choose who may read this."),
    "invalid_choice": _("Choose who may read this from the list."),
}


class MoveForm(InputHygiene, forms.Form):
    """One of the status buttons, with an optional note.

    A move is a fact of the request's life, so it is never private: its note
    goes to the team, or also to the requester.
    """

    to_status = forms.ChoiceField(
        choices=Status.choices,
        error_messages={
            "required": _("Choose what happened."),
            "invalid_choice": _("There is no such status."),
        },
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=_NOTE_ERRORS,
    )
    visibility = forms.ChoiceField(
        label=_("Who may read the note"),
        # "Only me" is a choice here only to be refused with its own message:
        # the request page's one note form offers it for an update.
        choices=Visibility.choices,
        initial=Visibility.TEAM,
        widget=forms.RadioSelect,
        error_messages=_VISIBILITY_ERRORS,
    )
    # "Manifested" and "Close" end intercession: they are made only once
    # confirmed (the dialog, or the confirmation page without JavaScript).
    confirmed = forms.BooleanField(required=False)

    def clean_visibility(self) -> str:
        visibility = self.cleaned_data["visibility"]
        if visibility == Visibility.PRIVATE:
            raise forms.ValidationError(
                _("A move is never private: choose the team, or the team and the requester."), code="private_move"
            )
        return visibility


class UndoForm(InputHygiene, forms.Form):
    """The "Undo" button: which move it takes back, so that a page shown
    before the request moved again cannot undo the newer move."""

    move = forms.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        error_messages={
            "required": _("Choose the move to undo."),
            "invalid": _("There is no such move."),
            "min_value": _("There is no such move."),
            "max_value": _("There is no such move."),
        },
    )


class UpdateForm(InputHygiene, forms.Form):
    """A note in the story. `visibilities` narrows the choices shown (an
    intercessor not assigned may only keep a private journal); when posted,
    every visibility is accepted here and the service decides."""

    note = forms.CharField(
        label=_("Update"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages=_NOTE_ERRORS,
    )
    visibility = forms.ChoiceField(
        label=_("Who may read it"),
        choices=Visibility.choices,
        initial=Visibility.TEAM,
        widget=forms.RadioSelect,
        error_messages=_VISIBILITY_ERRORS,
    )

    def __init__(self, *args, visibilities: Iterable[Visibility] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if visibilities is not None:
            allowed = list(visibilities)
            self.fields["visibility"].choices = [(value, value.label) for value in allowed]
            if Visibility.TEAM not in allowed and allowed:
                self.fields["visibility"].initial = allowed[0]


class PrayForm(InputHygiene, forms.Form):
    """What the shared "I prayed" partial posts."""

    minutes = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=24 * 60,
        error_messages={
            "invalid": _("Minutes must be a whole number."),
            "min_value": _("Minutes cannot be negative."),
            "max_value": _("A day has only %(limit_value)s minutes."),
        },
    )
    fasted = forms.BooleanField(required=False)
    note = forms.CharField(
        required=False,
        max_length=SHORT_NOTE_MAX_LENGTH,
        # As the partial shows it: a note of several lines.
        widget=forms.Textarea,
        error_messages=_NOTE_ERRORS,
    )
    submission_key = forms.CharField(
        required=False,
        max_length=64,
        error_messages={"max_length": _("This form is damaged; reload the page and try again.")},
    )
    # `next` (where to go afterwards) is not a field: a bad one must not stop
    # the prayer; the view takes it only if it is a path of ours (web/next_url).

    def prayer(self) -> dict:
        """What `services.log_prayer` takes from the form (after `is_valid()`)."""
        return {name: self.cleaned_data[name] for name in ("minutes", "fasted", "note", "submission_key")}


class ReleaseForm(InputHygiene, forms.Form):
    note = forms.CharField(
        label=_("Note to the leaders (optional)"),
        required=False,
        max_length=SHORT_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=_NOTE_ERRORS,
    )
    # `next`: not a field, as on PrayForm.


class FlagForm(InputHygiene, forms.Form):
    """Flagging a board request as unsuitable, with an optional reason for
    the leaders (kept encrypted, like every note)."""

    reason = forms.CharField(
        label=_("Why (optional, for the leaders only)"),
        required=False,
        max_length=SHORT_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=_NOTE_ERRORS,
    )


def _choices(candidates: Iterable[User], excluded_ids: Iterable[int]) -> list[tuple[str, str]]:
    excluded = set(excluded_ids)
    return [
        (str(user.pk), user.get_full_name() or user.get_username()) for user in candidates if user.pk not in excluded
    ]


class AssignForm(InputHygiene, forms.Form):
    """A checkbox per intercessor who is not already assigned. `candidates`
    is the annotated list the page shows, so the choices and the rows are
    the same people."""

    intercessors = forms.MultipleChoiceField(
        label=_("Intercessors"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one intercessor."),
            "invalid_choice": _("Choose intercessors from the list; someone you chose is not on it."),
            "invalid_list": _("Choose intercessors from the list."),
        },
    )

    def __init__(self, *args, candidates: list[User], assigned_ids: Iterable[int] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._by_id = {str(user.pk): user for user in candidates}
        self.fields["intercessors"].choices = _choices(candidates, assigned_ids)

    def chosen(self) -> list[User]:
        return [self._by_id[pk] for pk in self.cleaned_data["intercessors"]]


class ReassignForm(InputHygiene, forms.Form):
    """Hand one assignment to one other intercessor."""

    intercessor = forms.ChoiceField(
        label=_("Give this assignment to"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose who should carry it."),
            "invalid_choice": _("Choose someone from the list."),
        },
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=SHORT_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages=_NOTE_ERRORS,
    )

    def __init__(self, *args, candidates: list[User], assigned_ids: Iterable[int] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._by_id = {str(user.pk): user for user in candidates}
        self.fields["intercessor"].choices = _choices(candidates, assigned_ids)

    def chosen(self) -> User:
        return self._by_id[self.cleaned_data["intercessor"]]
