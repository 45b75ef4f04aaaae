"""Personal API tokens: a member's own (My settings → API tokens), and the
whole team's for leaders to revoke (`requests_app.team.api_tokens`).

A new token's secret is shown once, in the answer to the POST that made it:
it is never put in the session, a cookie or a log, and only its hash is kept.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from requests_app import roles, rules
from requests_app.forms.api_tokens import TokenForm
from requests_app.models import ApiToken
from requests_app.team import api_tokens
from requests_app.views.outcomes import carry_out
from requests_app.web.next_url import safe_next


def _on_team(user) -> bool:
    return roles.is_leader(user) or roles.is_intercessor(user)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@sensitive_variables()
def my_tokens(request: HttpRequest) -> HttpResponse:
    """The member's tokens, newest first, and the form for a new one."""
    if not _on_team(request.user):
        raise PermissionDenied("Team members only.")
    form = TokenForm(request.POST if request.method == "POST" else None)
    made = secret = None
    if form.is_bound and form.is_valid():
        outcome = carry_out(
            request,
            lambda: api_tokens.create(
                request.user, name=form.cleaned_data["name"], read_only=form.cleaned_data["read_only"]
            ),
        )
        if outcome is not None:
            made, secret = outcome
            form = TokenForm()
    ctx = {
        "form": form,
        "made": made,
        "secret": secret,
        "tokens": ApiToken.objects.filter(user=request.user),
        "most": api_tokens.MOST_ACTIVE,
        # A command to try it with (code, not words to translate).
        "example": f'curl -H "Authorization: Bearer {secret}" {request.build_absolute_uri(reverse("api_requests"))}'
        if secret
        else "",
    }
    return render(request, "requests_app/api_tokens.html", ctx)


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one token: its owner's, or anyone's for a leader (404 for
    anyone else, as if it were not there)."""
    leads = rules.can_manage_team(request.user)
    try:
        token = ApiToken.objects.select_related("user").get(pk=pk)
    except ApiToken.DoesNotExist:
        raise Http404("No such token.") from None
    if token.user_id != request.user.pk and not leads:
        raise Http404("No such token.")
    if carry_out(request, lambda: api_tokens.revoke(token, by=request.user)) is not None:
        messages.success(
            request, _("The token “%(name)s” is revoked: it opens nothing any more.") % {"name": token.name}
        )
    fallback = reverse("team_tokens") if token.user_id != request.user.pk else reverse("my_tokens")
    return redirect(safe_next(request, request.POST.get("next")) or fallback)


@require_safe
def team_tokens(request: HttpRequest) -> HttpResponse:
    """Every active token of the team, for leaders to revoke any of them."""
    if not rules.can_manage_team(request.user):
        raise PermissionDenied("Leaders only.")
    tokens = (
        ApiToken.objects.filter(revoked_at__isnull=True)
        .select_related("user")
        .order_by("user__username", "-created_at")
    )
    return render(request, "requests_app/team_tokens.html", {"tokens": tokens})
