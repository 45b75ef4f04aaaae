"""
The Django admin keeps accounts and settings; it is not where prayer
happens.

Prayer requests appear read-only, scoped by `visible_to` (a superuser who is
not a leader sees none), and the content of a confidential request (for whom,
title, details, requester) is never rendered, whoever looks. Status updates and
prayer logs are not in the admin at all: the app never edits or deletes them.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from requests_app.forms.login import AdminLoginForm
from requests_app.models import Category, IntercessorProfile, PrayerRequest

REDACTED = _("— confidential —")


class IntercessorProfileForm(forms.ModelForm):
    preferred_categories = forms.MultipleChoiceField(
        label=_("preferred categories"),
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = IntercessorProfile
        fields = ["max_active_assignments", "is_available", "preferred_categories"]


class IntercessorProfileInline(admin.StackedInline):
    model = IntercessorProfile
    fk_name = "user"
    form = IntercessorProfileForm
    can_delete = False
    extra = 0


@admin.register(IntercessorProfile)
class IntercessorProfileAdmin(admin.ModelAdmin):
    form = IntercessorProfileForm
    list_display = ["user", "max_active_assignments", "is_available", "categories"]
    list_filter = ["is_available"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]

    def get_fields(self, request, obj=None):
        return ["user", *IntercessorProfileForm.Meta.fields]

    @admin.display(description=_("preferred categories"))
    def categories(self, profile: IntercessorProfile) -> str:
        labels = dict(Category.choices)
        return ", ".join(str(labels.get(value, value)) for value in profile.preferred_categories)


# The admin's log-in checks the user name's length too (forms/login.py).
admin.site.login_form = AdminLoginForm

admin.site.unregister(User)


@admin.register(User)
class IntercessionUserAdmin(UserAdmin):
    inlines = [IntercessorProfileInline]
    # No deleting: an account carries the story it wrote (its notes, prayers
    # and assignments), and the delete page would list those objects even for
    # requests the administrator may not see. Untick "active" instead.
    actions = []

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _redacted_unless_public(field: str, description):
    @admin.display(description=description)
    def show(self, prayer_request: PrayerRequest):
        return REDACTED if prayer_request.is_confidential else getattr(prayer_request, field)

    show.__name__ = f"shown_{field}"
    return show


@admin.register(PrayerRequest)
class PrayerRequestAdmin(admin.ModelAdmin):
    list_display = ["__str__", "shown_title", "category", "status", "is_urgent", "is_confidential", "created_at"]
    list_filter = ["status", "category", "is_urgent", "is_confidential"]
    ordering = ["-created_at"]
    # No search: matching on text would tell who searches whether a hidden
    # word is in a confidential request.
    search_fields = []
    fields = [
        "shown_for_whom",
        "shown_title",
        "shown_details",
        "shown_requester_name",
        "shown_requester_email",
        "category",
        "status",
        "is_urgent",
        "is_confidential",
        "wants_updates",
        "created_at",
        "updated_at",
        "breakthrough_at",
        "answered_at",
        "closed_at",
    ]
    readonly_fields = fields

    shown_for_whom = _redacted_unless_public("for_whom", _("for whom"))
    shown_title = _redacted_unless_public("title", _("title"))
    shown_details = _redacted_unless_public("details", _("details"))
    shown_requester_name = _redacted_unless_public("requester_name", _("requester's name"))
    shown_requester_email = _redacted_unless_public("requester_email", _("requester's e-mail"))

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def lookup_allowed(self, lookup, value, request) -> bool:
        # The changelist accepts any field lookup in its query string
        # (?details__icontains=…); only the sidebar filters are allowed, so
        # nobody can probe confidential text by counting results.
        return lookup.split("__")[0] in self.list_filter

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
