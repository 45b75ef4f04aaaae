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

from requests_app.models import Category, ChurchSettings

logger = logging.getLogger(__name__)

CACHE_KEY = "church-settings:v1"
CACHE_SECONDS = 60


def defaults() -> ChurchSettings:
    """The settings of a church that has not saved its own yet."""
    return ChurchSettings(
        pk=1,
        name=settings.INTERCESSION_CHURCH_NAME,
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
