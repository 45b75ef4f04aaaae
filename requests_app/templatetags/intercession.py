import secrets
from datetime import date, datetime

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
def iso(moment) -> str:
    """A moment for `<time datetime>`: local time in ISO 8601, to the second
    (the HTML standard allows at most three digits of a second; Django's
    `date:'c'` writes six). A day stays a day; nothing gives ""."""
    if isinstance(moment, datetime):
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.replace(microsecond=0).isoformat()
    if isinstance(moment, date):
        return moment.isoformat()
    return ""


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
