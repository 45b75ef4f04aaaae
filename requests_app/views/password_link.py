"""The page behind a link to choose a password (`manage.py create_leader`;
an invitation to the team, which joining completes: `team.invitations`).

Holding the link is the right to choose the password of its account, once.
A used, expired or unknown link, or one whose account has a password by now,
gets the same plain refusal (404), which never says which it was. The token
sits in the path: log lines redact it (`requests_app.web.log_filters`), the
page is never cached nor indexed, and it sends only the site's origin as
Referer, so neither the static files it loads nor a link followed from it
carry the token in their Referer. (`no-referrer` would also drop the Origin
of the form's POST, which Django's CSRF check then refuses.)
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods

from requests_app import church
from requests_app.models import LinkPurpose
from requests_app.team import accounts, invitations

REFERRER_POLICY = "strict-origin"
# The link proves who the person is, as a password would: log them in with
# the ordinary backend, as Django's password-reset page can.
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _private(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = REFERRER_POLICY
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _refused(request: HttpRequest) -> HttpResponse:
    return _private(render(request, "registration/password_link.html", {"valid": False}, status=404))


@login_not_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@sensitive_post_parameters()
@sensitive_variables()
def password_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET: "Choose your password" (looking changes nothing, so a mail
    scanner that opens the link does not spend it). POST: the password is
    set, the link spent, and the person logged in at their start page."""
    link = accounts.link_for_token(token)
    if link is None:
        return _refused(request)
    # An invitation accepted already, or whose account is on the team by
    # now, gets the same refusal as a used link.
    joining = link.purpose == LinkPurpose.INVITATION
    if joining and not invitations.can_accept(link.user):
        return _refused(request)
    form = SetPasswordForm(link.user, request.POST if request.method == "POST" else None)
    if form.is_valid():
        use = invitations.accept if joining else accounts.use_password_link
        try:
            user = use(token, form.cleaned_data["new_password1"])
        except accounts.LinkNotUsable:
            # Used by someone else since the page was checked above.
            return _refused(request)
        login(request, user, backend=BACKEND)
        if joining:
            welcome = _("Welcome to the team of %(church)s! Your password is chosen, and you are logged in.") % {
                "church": church.current().name
            }
        else:
            welcome = _("Your password is chosen, and you are logged in. Welcome!")
        messages.success(request, welcome)
        return redirect("home")
    ctx = {
        "valid": True,
        "form": form,
        "username": link.user.get_username(),
        "first_name": link.user.first_name,
        "team_of": church.current().name if joining else "",
    }
    return _private(render(request, "registration/password_link.html", ctx))
