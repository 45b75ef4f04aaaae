"""My settings: for every team member."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from requests_app import roles
from requests_app.forms.account import EmailPreferencesForm, IntercessorSettingsForm
from requests_app.models import IntercessorProfile, NotificationPreferences


@require_http_methods(["GET", "HEAD", "POST"])
def my_settings(request: HttpRequest) -> HttpResponse:
    """Intercessors: availability, capacity and preferred categories. Leaders
    and intercessors: which e-mails they receive, and when, for their roles.
    Anyone else has nothing to set here (403). One form, saved whole or not at all."""
    is_leader, is_intercessor = roles.is_leader(request.user), roles.is_intercessor(request.user)
    if not (is_leader or is_intercessor):
        raise PermissionDenied("Team members only.")
    data = request.POST if request.method == "POST" else None
    profile_form = None
    if is_intercessor:
        # Shown with the defaults until the first save: a visit never creates a row.
        profile = IntercessorProfile.objects.filter(user=request.user).first() or IntercessorProfile(user=request.user)
        profile_form = IntercessorSettingsForm(data, instance=profile)
    email_form = EmailPreferencesForm(
        data, instance=NotificationPreferences.for_user(request.user), leader=is_leader, intercessor=is_intercessor
    )
    forms = [form for form in (profile_form, email_form) if form is not None]
    # Every form validated, so that each shows its errors.
    if data is not None and all([form.is_valid() for form in forms]):
        with transaction.atomic():
            if profile_form is not None:
                IntercessorProfile.objects.update_or_create(
                    user=request.user, defaults={name: profile_form.cleaned_data[name] for name in profile_form.fields}
                )
            NotificationPreferences.objects.update_or_create(
                user=request.user, defaults={name: email_form.cleaned_data[name] for name in email_form.fields}
            )
        messages.success(request, _("Your settings are saved."))
        return redirect("my_settings")
    ctx = {"form": profile_form, "email_form": email_form, "is_leader": is_leader, "is_intercessor": is_intercessor}
    return render(request, "requests_app/my_settings.html", ctx)
