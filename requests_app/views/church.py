"""The church's own settings (leaders), and the stylesheet of its accent colour (everyone)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from requests_app import church, colours, rules
from requests_app.forms.church import ChurchSettingsForm
from requests_app.models import ChurchSettings
from requests_app.team import church_settings as settings_service
from requests_app.views.outcomes import carry_out

ONE_YEAR = 365 * 24 * 60 * 60

EMBED_SNIPPET = """<iframe id="intercession-ask" src="{address}" title="{title}"
  style="width: 100%; height: 60rem; border: 0" allow="clipboard-write"></iframe>
<script>
  addEventListener("message", function (event) {{
    if (event.origin === "{origin}" && event.data && event.data.intercessionHeight) {{
      document.getElementById("intercession-ask").style.height = event.data.intercessionHeight + "px";
    }}
  }});
</script>"""


@require_http_methods(["GET", "HEAD", "POST"])
def church_settings(request: HttpRequest) -> HttpResponse:
    """Every setting of the church on one form, saved whole or not at all."""
    if not rules.can_manage_team(request.user):
        raise PermissionDenied("Leaders only.")
    # The saved row itself, not the cached copy: what the leader changes is
    # what is in the database now.
    saved = ChurchSettings.objects.filter(pk=1).first() or church.defaults()
    form = ChurchSettingsForm(request.POST if request.method == "POST" else None, instance=saved)
    if form.is_bound and form.is_valid():
        changes = carry_out(request, lambda: settings_service.save(form.values(), by=request.user))
        if changes is not None:
            messages.success(request, _("The church's settings are saved.") if changes else _("Nothing was changed."))
            return redirect("church_settings")
    ctx = {"form": form, "embed_snippet": embed_snippet(request.build_absolute_uri(reverse("embed_ask")))}
    return render(request, "requests_app/church_settings.html", ctx)


def embed_snippet(address: str) -> str:
    """What a church pastes into a page of its website to show the request
    form there (the README shows the same): the frame, and a few lines
    that make it as tall as the form (static/js/embed.js tells them)."""
    origin = "/".join(address.split("/")[:3])
    # Source code to copy: what goes into its attributes is escaped for them.
    return EMBED_SNIPPET.format(address=escape(address), origin=escape(origin), title=escape(_("Ask for prayer")))


@login_not_required
@require_safe
def stylesheet(request: HttpRequest, version: str) -> HttpResponse:
    """The accent colour as CSS custom properties (the Content-Security-Policy
    allows no inline style). Its address carries the hash of its content, so
    the current one is cached for ever; an older address (a page from
    before a change) gets today's colours, not to be kept."""
    sheet = colours.stylesheet(church.current().accent_colour)
    response = HttpResponse(sheet.text, content_type="text/css; charset=utf-8")
    if version == sheet.version:
        response["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    else:
        response["Cache-Control"] = "no-cache"
    # Colours only, the same for everyone: not a page to keep out of caches
    # (requests_app.web.middleware.NoStoreMiddleware).
    response.cacheable = True
    return response
