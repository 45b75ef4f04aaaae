"""Who calls the API: a personal token (`Authorization: Bearer ic_…`), and
what it may do (team members only; a read-only token reads only)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from requests_app import roles
from requests_app.team import api_tokens


class BearerToken(authentication.BaseAuthentication):
    """The token of `Authorization: Bearer <token>`: its owner, and the
    token as `request.auth`. A wrong, revoked or malformed one is a 401;
    no header at all is nobody (the public endpoint's caller)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request)
        if not header:
            return None
        try:
            keyword, _separator, secret = header.decode("ascii").partition(" ")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Give the token as “Authorization: Bearer <token>”.")) from None
        if keyword.lower() != self.keyword.lower() or not secret.strip():
            raise exceptions.AuthenticationFailed(_("Give the token as “Authorization: Bearer <token>”."))
        token = api_tokens.authenticate(secret.strip())
        if token is None:
            raise exceptions.AuthenticationFailed(_("This token is not valid: it may have been revoked."))
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class TeamMember(permissions.BasePermission):
    """A leader or an intercessor, through their token; a read-only token
    for reading only."""

    message = _("Only members of the team may use this, with their API token.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if request.auth is None or not getattr(user, "is_authenticated", False):
            return False
        if not (roles.is_leader(user) or roles.is_intercessor(user)):
            return False
        if request.method not in permissions.SAFE_METHODS and request.auth.read_only:
            self.message = _("This token is for reading only.")
            return False
        return True


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes `BearerToken`."""

    target_class = "requests_app.api.auth.BearerToken"
    name = "token"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A personal API token (My settings): ic_…"}
