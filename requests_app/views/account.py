"""The intercessor's own settings."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from requests_app import roles
from requests_app.forms.account import IntercessorSettingsForm
from requests_app.models import IntercessorProfile


@require_http_methods(["GET", "HEAD", "POST"])
def my_settings(request: HttpRequest) -> HttpResponse:
    """Availability, capacity and preferred categories. A leader who does not
    intercede has nothing to set here (403)."""
    if not roles.is_intercessor(request.user):
        raise PermissionDenied("Intercessors only.")
    # Shown with the defaults until the first save: a visit never creates a profile.
    profile = IntercessorProfile.objects.filter(user=request.user).first() or IntercessorProfile(user=request.user)
    form = IntercessorSettingsForm(request.POST if request.method == "POST" else None, instance=profile)
    if request.method == "POST" and form.is_valid():
        IntercessorProfile.objects.update_or_create(
            user=request.user, defaults={field: form.cleaned_data[field] for field in form.Meta.fields}
        )
        messages.success(request, _("Your settings are saved."))
        return redirect("my_settings")
    ctx = {"form": form}
    return render(request, "requests_app/my_settings.html", ctx)
