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
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from requests_app import roles
from requests_app.forms.hygiene import InputHygiene
from requests_app.forms.login import AdminLoginForm
from requests_app.models import Category, IntercessorProfile, PrayerRequest

REDACTED = _("— confidential —")


class IntercessorProfileForm(InputHygiene, forms.ModelForm):
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


class AccountChoice(AutocompleteSelect):
    """Django's autocomplete box, which looks up the posted value to show
    it again: a value that is not an id (letters, a megabyte) fails that
    lookup with a 500 when the form is shown with its errors. Here such a
    value is shown as no choice; the field's own message says what was wrong."""

    def optgroups(self, name, value, attr=None):
        target = self.field.remote_field.model._meta.pk
        ids = []
        for one in value:
            try:
                target.to_python(one)
            except ValidationError:
                continue
            ids.append(one)
        return super().optgroups(name, ids, attr)


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

    def get_readonly_fields(self, request, obj=None):
        # A profile belongs to its account for good.
        return ["user"] if obj else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["widget"] = AccountChoice(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("preferred categories"))
    def categories(self, profile: IntercessorProfile) -> str:
        labels = dict(Category.choices)
        return ", ".join(str(labels.get(value, value)) for value in profile.preferred_categories)


# The admin's log-in checks the user name's length too (forms/login.py).
admin.site.login_form = AdminLoginForm

admin.site.unregister(User)
admin.site.unregister(Group)


class AccountForm(InputHygiene, UserChangeForm):
    """The admin's account form, with `Leaders` out of its reach: who leads
    is changed only by a leader on the team page (or `create_leader` on the
    server), which tells every leader and enters the audit log. So the
    groups offered here leave `Leaders` out, and an account keeps the
    membership it had, whatever is posted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "groups" in self.fields:
            self.fields["groups"].queryset = Group.objects.exclude(name=roles.LEADERS)
            self.fields["groups"].help_text = _("Leaders are chosen on the team page by a leader, never here.")

    def clean_groups(self):
        groups = self.cleaned_data["groups"]
        if self.instance.pk and self.instance.groups.filter(name=roles.LEADERS).exists():
            return groups | Group.objects.filter(name=roles.LEADERS)
        return groups


def _on_the_team(user: User) -> bool:
    return user.groups.filter(name__in=(roles.LEADERS, roles.INTERCESSORS)).exists()


@admin.register(User)
class IntercessionUserAdmin(UserAdmin):
    form = AccountForm
    inlines = [IntercessorProfileInline]
    # No deleting: an account carries the story it wrote (its notes, prayers
    # and assignments), and the delete page would list those objects even for
    # requests the administrator may not see. Untick "active" instead.
    actions = []

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        # A member of the team leaves it through the team page, where every
        # assignment is released with them and the last leader cannot go.
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and _on_the_team(obj):
            readonly.append("is_active")
        return readonly

    def lookup_allowed(self, lookup, value, request) -> bool:
        # Only the sidebar's filters: no lookups into assignments or
        # anything else that would tell who carries which request.
        return lookup.split("__")[0] in self.list_filter

    def user_change_password(self, request, id, form_url=""):
        # A leader's password is theirs: reset by e-mail ("Forgotten your
        # password?"), never set by a site administrator, who would then
        # read every confidential request as that leader.
        user = self.get_object(request, unquote(id))
        if user is not None and user.groups.filter(name=roles.LEADERS).exists():
            raise PermissionDenied(_("A leader's password can only be reset by e-mail."))
        return super().user_change_password(request, id, form_url)


@admin.register(Group)
class TeamGroupAdmin(GroupAdmin):
    """The two groups roles are made of keep their names: renaming or
    deleting one would change who leads outside the team page."""

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.name in (roles.LEADERS, roles.INTERCESSORS):
            return ["name", "permissions"]
        return super().get_readonly_fields(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.name in (roles.LEADERS, roles.INTERCESSORS):
            return False
        return super().has_delete_permission(request, obj)


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
