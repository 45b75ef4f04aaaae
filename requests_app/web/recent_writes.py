"""
When each team member last changed something, so that pages showing a
snapshot (the dashboard's figures, `requests_app.reports.dashboard`) never
show one older than what the viewer just did.

A change is a POST by a logged-in user that did not fail (below 400: the
app answers a successful form with its redirect, a refused one with the page
and its message, which changed nothing but is also harmless here). The
moment is kept in the cache for as long as a snapshot lives, keyed by the
user's id; nothing about what was changed. A cache that is away only means
the snapshot may be a few minutes old, as before.
"""

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

_KEY = "recent-write:v1:{user_id}"
# At least as long as a dashboard snapshot is kept (reports.dashboard's
# SNAPSHOT_SECONDS): an older change is older than any snapshot shown.
KEEP_SECONDS = 600


def note_write(user_id: int, *, at: float | None = None) -> None:
    try:
        cache.set(_KEY.format(user_id=user_id), time.time() if at is None else at, KEEP_SECONDS)
    except Exception as error:  # a shared cache that is away
        logger.warning("recent writes: cache not written (%s)", type(error).__name__)


def last_write_at(user_id: int) -> datetime | None:
    """When the user last changed something, within `KEEP_SECONDS`."""
    try:
        moment = cache.get(_KEY.format(user_id=user_id))
    except Exception as error:
        logger.warning("recent writes: cache unreadable (%s)", type(error).__name__)
        return None
    if not isinstance(moment, (int, float)):
        return None
    return datetime.fromtimestamp(moment, tz=UTC)


class RecentWriteMiddleware:
    """Notes the moment of every logged-in user's POST that did not fail.
    After `SessionTimeoutMiddleware`, which has already loaded the user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method == "POST" and response.status_code < 400 and request.user.is_authenticated:
            note_write(request.user.pk)
        return response
