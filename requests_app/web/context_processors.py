from django.urls import reverse

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
