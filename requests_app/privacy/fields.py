"""
`EncryptedTextField`: text the database only ever sees sealed
(`requests_app.privacy.keys`), and the raw column for code that must open
values one by one.
"""

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
    can be looked up: the database holds no text to search (the blind index
    of issue 13 will answer searches)."""

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


def stored(field_name: str) -> ExpressionWrapper:
    """The column as the database holds it (the envelope, not opened), to
    annotate a query with: `keys.decrypt` it row by row where one value that
    will not open must not stop the others."""
    return ExpressionWrapper(F(field_name), output_field=models.TextField())
