from django.apps import AppConfig
from django.apps import apps as global_apps
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


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = _("Prayer requests")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_ensure_groups, sender=self, dispatch_uid="requests_app.ensure_groups")
