"""The refusals of the domain. Views turn them into 403s or form messages.

Each carries a human message (translatable) and a stable `code` that tests
and callers can rely on.
"""

from django.utils.translation import gettext_lazy as _


class IntercessionError(Exception):
    default_message = _("That cannot be done.")
    default_code = "refused"

    def __init__(self, message=None, *, code: str | None = None):
        self.message = message if message is not None else self.default_message
        self.code = code or self.default_code
        super().__init__(str(self.message))


class NotAllowed(IntercessionError):
    """The actor has no right to do this to this request."""

    default_message = _("You are not allowed to do that.")
    default_code = "not_allowed"


class InvalidTransition(IntercessionError):
    """The move is not in the table from the request's current status,
    including when someone else moved it a moment earlier."""

    default_message = _("That status change is not possible from the request's current status.")
    default_code = "invalid_transition"


class AssignmentRefused(IntercessionError):
    """An assignment or release that the rules refuse (capacity,
    availability, already assigned, not an intercessor, request not open)."""

    default_message = _("That assignment is not possible.")
    default_code = "assignment_refused"
