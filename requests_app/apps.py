from django.apps import AppConfig
from django.apps import apps as global_apps
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_groups(sender, using, apps=global_apps, **kwargs) -> None:
    """The two groups roles are made of exist after every migrate, as
    Django's own permissions do: migration 0002 creates them once, and this
    brings them back when a database is flushed (`manage.py flush`, or the
    end of every transactional test), which empties every table. `flush`
    sends no `apps`: then the project's own models (as Django's
    create_permissions does)."""
    from requests_app import roles

    Group = apps.get_model("auth", "Group")
    for name in (roles.LEADERS, roles.INTERCESSORS):
        Group.objects.using(using).get_or_create(name=name)


def _language_at_log_in(sender, request, user, **kwargs) -> None:
    """A team member's pages speak their own language from the first one
    after logging in (web/language.py keeps it in the session)."""
    from requests_app.models import NotificationPreferences
    from requests_app.web import language

    if request is None or not hasattr(request, "session"):
        return
    chosen = NotificationPreferences.objects.filter(user=user).values_list("language", flat=True).first()
    language.remember_for_session(request, chosen or "")


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = _("Prayer requests")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_ensure_groups, sender=self, dispatch_uid="requests_app.ensure_groups")
        user_logged_in.connect(_language_at_log_in, dispatch_uid="requests_app.language_at_log_in")
