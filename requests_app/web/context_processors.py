from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html

from requests_app import church, colours, roles


def user_roles(request) -> dict:
    """`is_leader` and `is_intercessor` for navigation; the server enforces
    the same rules on every view."""
    user = getattr(request, "user", None)
    if user is None:
        return {"is_leader": False, "is_intercessor": False}
    return {"is_leader": roles.is_leader(user), "is_intercessor": roles.is_intercessor(user)}


def church_settings(request) -> dict:
    """`church` (its name in the header and page titles, its public page)
    and `church_stylesheet`, the address of its accent colour's stylesheet."""
    current = church.current()
    sheet = colours.stylesheet(current.accent_colour)
    return {"church": current, "church_stylesheet": reverse("church_stylesheet", args=[sheet.version])}


def csrf_input(request):
    """What `{% csrf_token %}` writes, for this request."""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request))


def csrf_field(request) -> dict:
    """`csrf_field`: `csrf_input`, made once per page for the lists whose
    every row has a form (issue 16), and only if used."""
    return {"csrf_field": SimpleLazyObject(lambda: csrf_input(request))}
