"""
The cache, asked and told without ever failing a page: a cache that does
not answer is a miss (the caller counts again), and a write that fails is
logged with the error's class only. For the small counts and lists the
pages keep a minute (the outbox's given-up e-mails, the webhooks), never
anything of a request.
"""

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)


def get(key: str):
    try:
        return cache.get(key)
    except Exception as exc:
        logger.warning("cache unreadable for %s (%s)", key, type(exc).__name__)
        return None


def put(key: str, value, seconds: int) -> None:
    try:
        cache.set(key, value, seconds)
    except Exception as exc:
        logger.warning("cache not written for %s (%s)", key, type(exc).__name__)


def forget(key: str) -> None:
    try:
        cache.delete(key)
    except Exception as exc:
        logger.warning("cache not written for %s (%s)", key, type(exc).__name__)
