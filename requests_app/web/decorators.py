"""Role checks for pages that are not about one request (those go through
`requests_app.access`). Someone without the role gets a 403: the page's
existence is no secret, only its content."""

from functools import wraps

from django.core.exceptions import PermissionDenied

from requests_app import roles


def leader_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not roles.is_leader(request.user):
            raise PermissionDenied("Leaders only.")
        return view(request, *args, **kwargs)

    return wrapper


def intercessor_required(view):
    """Intercessors, and leaders (who may also intercede)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not (roles.is_intercessor(request.user) or roles.is_leader(request.user)):
            raise PermissionDenied("The intercession team only.")
        return view(request, *args, **kwargs)

    return wrapper
