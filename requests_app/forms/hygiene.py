"""
What every form of the app does to what people type, once for all of them:
`InputHygiene`, the first base class of each form.

Before a field's own checks (its length, its choices, `clean_<field>`), the
text of every CharField is normalised to NFC and held to the rules of
`requests_app.text`: a single-line field refuses invisible characters (a
control character, a right-to-left override, a zero-width space) and
undecodable input with a message under the field; a multi-line one (a
Textarea: details, notes) drops them from its edges and refuses what would
spoof or break the text inside; an e-mail address refuses them anywhere.
Passwords are left as they were typed. A multiple choice keeps each value
once, in the order given.
"""

from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _

from requests_app import text

# A field may word its own (`error_messages`, by code), as for Django's.
MESSAGES = {
    text.NUL: ProhibitNullCharactersValidator.message,
    text.UNREADABLE: _(
        "This text contains characters that could not be read (it did not arrive as it was typed): "
        "please type it again."
    ),
    text.INVISIBLE: _(
        "Remove the invisible control characters (such as a right-to-left override, a zero-width space or a "
        "line break) from this text."
    ),
}
ADDRESS_MESSAGE = _("Enter a valid e-mail address, without invisible characters.")


def _refusal(field: forms.Field, code: str) -> ValidationError:
    return ValidationError(field.error_messages.get(code, MESSAGES[code]), code=code)


def _too_long(field: forms.Field, value: str) -> bool:
    # Its length check refuses it anyway: no need to read a megabyte.
    return field.max_length is not None and len(value) > field.max_length


def _single_line(field: forms.CharField, value: str) -> str:
    value = text.normalise(value)
    if not _too_long(field, value) and (problem := text.single_line_problem(value)):
        raise _refusal(field, problem)
    return value


def _multi_line(field: forms.CharField, value: str) -> str:
    value = text.strip_edges(text.normalise(value))
    if not _too_long(field, value) and (problem := text.multi_line_problem(value)):
        raise _refusal(field, problem)
    return value


def _address(field: forms.CharField, value: str) -> str:
    value = text.normalise(value)
    if not _too_long(field, value) and text.address_problem(value):
        raise ValidationError(field.error_messages.get("invalid", ADDRESS_MESSAGE), code="invalid")
    return value


def _choices(field: forms.MultipleChoiceField, values):
    if not isinstance(values, list):
        return values
    try:
        return list(dict.fromkeys(values))
    except TypeError:  # unhashable choices: left as they are
        return values


def _rule_for(field: forms.Field) -> Callable | None:
    if isinstance(field, forms.MultipleChoiceField):
        return _choices
    if not isinstance(field, forms.CharField) or isinstance(field.widget, forms.PasswordInput):
        return None
    if isinstance(field, forms.EmailField) or isinstance(field.widget, forms.EmailInput):
        return _address
    if isinstance(field.widget, forms.Textarea):
        return _multi_line
    return _single_line


def _guard(field: forms.Field) -> None:
    """Run the field's rule right after its own `to_python`, so that its
    validators and the form's `clean_<field>` see the cleaned text."""
    rule = _rule_for(field)
    if rule is None or getattr(field, "_hygiene_guarded", False):
        return
    to_python = field.to_python

    def guarded_to_python(value):
        value = to_python(value)
        return rule(field, value) if isinstance(value, str | list) else value

    field.to_python = guarded_to_python
    field._hygiene_guarded = True


class InputHygiene:
    """The first base of every form of the app (before `forms.Form` or
    `forms.ModelForm`). `hygiene_exempt` names fields left alone: a
    honeypot, whose refusal would show on a field nobody sees."""

    hygiene_exempt: tuple[str, ...] = ()

    def full_clean(self):
        # Here rather than in __init__: a form adds fields in its own
        # __init__ (the church's category places), after ours has run. Each
        # form has its own copies of its fields, so this changes no other form.
        for name, field in self.fields.items():
            if name not in self.hygiene_exempt:
                _guard(field)
        super().full_clean()
