"""How pages say when something happened: for `<time datetime>`, how long
ago, and how many days since. The template filters (`templatetags/
intercession.py`) and the lists' prepared rows (`views/rows.py`) both say
it this way."""

from datetime import date, datetime

from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext


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


def waited(moment: datetime | None, now: datetime | None = None) -> str:
    """How long since `moment`: "less than a minute" rather than "0 minutes"."""
    if moment is None:
        return ""
    now = now or timezone.now()
    if (now - moment).total_seconds() < 60:
        return gettext("less than a minute")
    return timesince(moment, now)


def days_since(moment: datetime | None, today: date | None = None) -> str:
    """'today', 'yesterday', 'N days ago', or 'never' for a missing date."""
    if moment is None:
        return gettext("never")
    days = ((today or timezone.localdate()) - timezone.localtime(moment).date()).days
    if days <= 0:
        return gettext("today")
    if days == 1:
        return gettext("yesterday")
    return ngettext("%(days)d day ago", "%(days)d days ago", days) % {"days": days}
