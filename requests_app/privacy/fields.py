"""
`EncryptedTextField`: text the database only ever sees sealed
(`requests_app.privacy.keys`), and the raw column for code that must open
values one by one.
"""

from django import forms
from django.core import validators
from django.core.exceptions import FieldError
from django.db import models
from django.db.models import ExpressionWrapper, F
from django.db.models.lookups import Exact

from requests_app.privacy import keys

NOT_SEARCHABLE = (
    "{field} is encrypted: it cannot be searched, compared or transformed in the database "
    "(only isnull and an exact empty string are allowed)."
)


class EmptyExact(Exact):
    """`field=""` (and `field=None`, which Django turns into isnull): whether
    there is a value at all, the one question an encrypted column answers."""

    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            raise FieldError(NOT_SEARCHABLE.format(field=self.lhs.output_field.name))
        return super().get_prep_lookup()


class EncryptedTextField(models.TextField):
    """Text stored encrypted with the newest key, read back with whichever
    key sealed it; a value no configured key opens raises
    `keys.DecryptionError` on reading.

    The empty string is stored as itself, so "nothing here" stays "" in the
    database: a row can be emptied by an UPDATE to Value("") (as the outbox
    does once a secret link is sent) and tested with `field=""`. Nothing else
    can be looked up: the database holds no text to search (the blind index,
    `requests_app.privacy.blind_index`, answers searches)."""

    description = "Text, encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return keys.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return keys.encrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        if lookup_name == "exact":
            return EmptyExact
        raise FieldError(NOT_SEARCHABLE.format(field=self.name))

    def get_transform(self, name):
        raise FieldError(NOT_SEARCHABLE.format(field=self.name))


class EncryptedCharField(EncryptedTextField):
    """A single line of text (a title, a name), encrypted at rest. Its
    `max_length` is of the text, checked in Python (`full_clean`) and by
    its form field: the column holds the longer envelope, so it is a text
    column without a length."""

    description = "A line of text, encrypted at rest"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(validators.MaxLengthValidator(self.max_length))

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": forms.CharField, "widget": forms.TextInput, **kwargs})


class EncryptedEmailField(EncryptedCharField):
    """An e-mail address, encrypted at rest (look it up by its digest:
    `requests_app.privacy.blind_index`)."""

    description = "An e-mail address, encrypted at rest"
    default_validators = [validators.validate_email]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": forms.EmailField, "widget": forms.EmailInput, **kwargs})


def stored(field_name: str) -> ExpressionWrapper:
    """The column as the database holds it (the envelope, not opened), to
    annotate a query with: `keys.decrypt` it row by row where one value that
    will not open must not stop the others."""
    return ExpressionWrapper(F(field_name), output_field=models.TextField())
