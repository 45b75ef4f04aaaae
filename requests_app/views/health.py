"""`GET /healthz`, for uptime monitors and load balancers.

It answers `ok` (200) when the database and the cache both answer, and
`unavailable` (503) otherwise, and nothing more: no login, no session (the
session is never read, so no cookie is set), no counts, no versions, no
error text, so it tells an outsider nothing about the site or its data.
gunicorn's access log leaves it out (gunicorn.conf.py), so a monitor
polling every few seconds does not bury the lines that matter.
"""

import logging
import secrets

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

_PROBE_KEY = "healthz"


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError as exc:
        logger.warning("healthz: the database does not answer (%s)", type(exc).__name__)
        return False


def _cache_answers() -> bool:
    # A fresh value each time: a cache that stopped storing (but still
    # accepts calls) is caught too. Django's Redis cache raises when Redis is away.
    value = secrets.token_hex(8)
    try:
        cache.set(_PROBE_KEY, value, timeout=30)
        answered = cache.get(_PROBE_KEY) == value
    except Exception as exc:
        logger.warning("healthz: the cache does not answer (%s)", type(exc).__name__)
        return False
    if not answered:
        logger.warning("healthz: the cache did not keep a value")
    return answered


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    healthy = _database_answers() and _cache_answers()
    return HttpResponse(
        "ok\n" if healthy else "unavailable\n",
        status=200 if healthy else 503,
        content_type="text/plain; charset=utf-8",
    )
