"""
The church's own settings, as every page and e-mail reads them.

One `ChurchSettings` row (pk 1), edited by leaders (`requests_app.team`);
until a leader first saves it, `current()` gives the environment's values
(settings.py: INTERCESSION_CHURCH_NAME, INTERCESSION_COVERAGE_DAYS, the
reminder thresholds), so a new church behaves as before. Read on nearly
every page, so it is kept in the cache (shared between processes when
DJANGO_CACHE_URL is set) for CACHE_SECONDS and dropped whenever it changes;
a cache that is away costs one query, never a page.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from requests_app.models import Category, ChurchSettings

logger = logging.getLogger(__name__)

CACHE_KEY = "church-settings:v2"
CACHE_SECONDS = 60


def defaults() -> ChurchSettings:
    """The settings of a church that has not saved its own yet."""
    return ChurchSettings(
        pk=1,
        name=settings.INTERCESSION_CHURCH_NAME,
        default_language=settings.LANGUAGE_CODE,
        coverage_days=settings.INTERCESSION_COVERAGE_DAYS,
        reminder_prayer_gap_days=settings.INTERCESSION_REMINDER_PRAYER_GAP_DAYS,
        reminder_waiting_hours=settings.INTERCESSION_REMINDER_WAITING_HOURS,
        reminder_breakthrough_days=settings.INTERCESSION_REMINDER_BREAKTHROUGH_DAYS,
    )


def current() -> ChurchSettings:
    """The church's settings now: the saved row, or the defaults."""
    try:
        cached = cache.get(CACHE_KEY)
    except Exception as exc:
        logger.warning("church settings: the cache does not answer (%s)", type(exc).__name__)
        cached = None
    if isinstance(cached, ChurchSettings):
        return cached
    church = ChurchSettings.objects.filter(pk=1).first() or defaults()
    try:
        cache.set(CACHE_KEY, church, CACHE_SECONDS)
    except Exception as exc:
        logger.warning("church settings: the cache does not answer (%s)", type(exc).__name__)
    return church


def forget() -> None:
    """Drop the cached settings (after a change has committed)."""
    try:
        cache.delete(CACHE_KEY)
    except Exception as exc:
        logger.warning("church settings: the cache does not answer (%s)", type(exc).__name__)


def privacy_notice(current: ChurchSettings) -> str:
    """The privacy notice of the public pages, as plain text: the church's
    own (its settings page), or else the standard one in its name."""
    if current.privacy_notice:
        return current.privacy_notice
    # The retention period, once the church has one.
    days = getattr(current, "retention_days", None)
    if days:
        kept = ngettext(
            "The text of your request, your name and e-mail address and every note about it are erased %(days)d "
            "day after the request is manifested or closed. Only its dates, category and status remain, for our "
            "figures.",
            "The text of your request, your name and e-mail address and every note about it are erased %(days)d "
            "days after the request is manifested or closed. Only its dates, category and status remain, for our "
            "figures.",
            days,
        ) % {"days": days}
    else:
        kept = _(
            "The text of your request, your name and e-mail address and every note about it are erased after the "
            "request is closed. Only its dates, category and status remain, for our figures."
        )
    paragraphs = [
        _(
            "%(church)s keeps what you write when you ask for prayer: whom the prayer is for, your request and its "
            "details, your name and e-mail address if you give them, and the team's notes and prayers for it. It "
            "is stored encrypted."
        )
        % {"church": current.name},
        _(
            "A confidential request is seen only by the intercession leaders and the intercessors they assign to "
            "it. A request that is not confidential is seen by the intercession team too. It is never published, "
            "and nothing from it is written in our e-mails."
        ),
        kept,
        _(
            "Through your private follow-up link you can download everything we hold about your request, or "
            "delete it, at any time. If you have lost the link, we can send a new one to the e-mail address you "
            "gave."
        ),
    ]
    return "\n\n".join(str(paragraph) for paragraph in paragraphs)


def ordered_categories(order: list[str]) -> list[tuple[str, str]]:
    """The categories as (value, label) in `order`. A category it lacks (one
    the app gained later) comes last; one the app no longer has is left out."""
    labels = dict(Category.choices)
    ordered = [value for value in dict.fromkeys(order or []) if value in labels]
    ordered += [value for value in labels if value not in ordered]
    return [(value, labels[value]) for value in ordered]


def categories() -> list[tuple[str, str]]:
    """The categories in the church's order: where the ask form and the
    filters list them."""
    return ordered_categories(current().category_order)
