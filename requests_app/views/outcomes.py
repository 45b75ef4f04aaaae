"""How a view turns a service's refusal into an answer, in one place."""

from collections.abc import Callable
from typing import TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from requests_app.exceptions import IntercessionError, NotAllowed

T = TypeVar("T")


def carry_out(request: HttpRequest, action: Callable[[], T]) -> T | None:
    """Run a service on the user's behalf and return what it returns.

    `NotAllowed` becomes a 403: the user has no right to this at all. Any
    other refusal (a rule of the moment, or bad input) becomes an error
    message for the next page, and None.
    """
    try:
        return action()
    except NotAllowed:
        raise PermissionDenied from None
    except ValidationError as invalid:
        messages.error(request, invalid.messages[0])
    except IntercessionError as refusal:
        messages.error(request, refusal.message)
    return None
