import secrets

from django import template
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()


@register.simple_tag
def submission_key() -> str:
    """A fresh key for one "I prayed" form: the same form sent twice logs once."""
    return secrets.token_hex(16)


@register.filter
def days_since(moment) -> str:
    """'today', 'yesterday', 'N days ago', or 'never' for a missing date."""
    if moment is None:
        return _("never")
    days = (timezone.localdate() - timezone.localtime(moment).date()).days
    if days <= 0:
        return _("today")
    if days == 1:
        return _("yesterday")
    return ngettext("%(days)d day ago", "%(days)d days ago", days) % {"days": days}


@register.filter
def waited(moment) -> str:
    """How long since `moment`: "less than a minute" rather than "0 minutes"."""
    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return _("less than a minute")
    return timesince(moment)
