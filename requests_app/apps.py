from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = _("Prayer requests")
    default_auto_field = "django.db.models.BigAutoField"
