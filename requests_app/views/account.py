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
from requests_app.team import members
from requests_app.web import language


def _limits_changed(profile: IntercessorProfile) -> dict | None:
    """Who (a leader) last set this intercessor's capacity or availability,
    and when; None when they set it themselves since."""
    if profile.limits_changed_at is None:
        return None
    by = profile.limits_changed_by
    return {"by": (by.get_full_name() or by.get_username()) if by else _("a leader"), "at": profile.limits_changed_at}


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
        profile = IntercessorProfile.objects.filter(user=request.user).select_related(
            "limits_changed_by"
        ).first() or IntercessorProfile(user=request.user)
        profile_form = IntercessorSettingsForm(data, instance=profile)
    email_form = EmailPreferencesForm(
        data, instance=NotificationPreferences.for_user(request.user), leader=is_leader, intercessor=is_intercessor
    )
    forms = [form for form in (profile_form, email_form) if form is not None]
    # Every form validated, so that each shows its errors.
    if data is not None and all([form.is_valid() for form in forms]):
        with transaction.atomic():
            if profile_form is not None:
                chosen = profile_form.cleaned_data
                # Capacity and availability through the team's rule, which
                # also forgets which leader last changed them, if they change.
                members.set_limits(
                    request.user,
                    capacity=chosen["max_active_assignments"],
                    available=chosen["is_available"],
                    by=request.user,
                )
                IntercessorProfile.objects.filter(user=request.user).update(
                    preferred_categories=chosen["preferred_categories"]
                )
            NotificationPreferences.objects.update_or_create(
                user=request.user, defaults={name: email_form.cleaned_data[name] for name in email_form.fields}
            )
        language.remember_for_session(request, email_form.cleaned_data["language"])
        messages.success(request, _("Your settings are saved."))
        return redirect("my_settings")
    ctx = {
        "form": profile_form,
        "email_form": email_form,
        "is_leader": is_leader,
        "is_intercessor": is_intercessor,
        "limits_changed": _limits_changed(profile) if profile_form is not None else None,
    }
    return render(request, "requests_app/my_settings.html", ctx)
