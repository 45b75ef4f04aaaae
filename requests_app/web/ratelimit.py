"""
Per-client rate limits for the public pages, kept in Django's cache.

A fixed window per client: the window's number is part of the cache key, so
a counter left behind (a Redis key that lost its expiry in a race between
`add` and `incr`) is never read again once its window is over. Only
`cache.add` and `cache.incr` touch a counter, and both are atomic on the
local-memory cache and on Redis, so two requests at once cannot both take
the last place.

The client is the connection's address. `X-Forwarded-For` is anyone's to
write, so it is read only when the site says how many proxies of its own
stand in front of it (`TRUSTED_PROXY_COUNT`, from DJANGO_TRUSTED_PROXY_COUNT):
the address that many hops from the right is the one the outermost trusted
proxy saw.
"""

import ipaddress
import logging
import time

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from requests_app.web.middleware import client_ip

logger = logging.getLogger(__name__)

# An IPv6 user usually holds a whole /64: counting single addresses would
# give them billions of fresh allowances.
IPV6_PREFIX_LENGTH = 64


def _normalised(address: str) -> str | None:
    """The address to count, or None if it is not an IP address."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX_LENGTH}", strict=False))
    return str(ip)


def client_address(request: HttpRequest) -> str:
    """Who is asking: the address `requests_app.web.middleware.client_ip` reads
    (the same one the log-in lockout counts), with an IPv6 address widened to
    its /64."""
    address = client_ip(request) or ""
    return _normalised(address) or address or "unknown"


def keyed_hash(value: str, *, purpose: str) -> str:
    """What to count something other than a client by (an e-mail address):
    an HMAC under the site's secret key, so the cache never holds the value,
    and whoever reads the cache cannot test guesses of it either."""
    return salted_hmac(f"requests_app.ratelimit.{purpose}", value).hexdigest()


def hit(scope: str, client_key: str, limit: int, window: int) -> bool:
    """Count one more action of `scope` by `client_key`; True while it is
    within `limit` actions in the current `window` seconds.

    If the cache cannot be reached, the action is allowed (and a warning
    logged): a broken cache must not stop people asking for prayer."""
    if limit <= 0:
        return False
    window = max(int(window), 1)
    number = int(time.time()) // window
    # Keyed with the site's secret: a fixed-length key that is safe for any
    # backend, and that nobody who reads the cache can turn back into an
    # address by hashing the four billion IPv4 addresses.
    digest = keyed_hash(f"{scope}\0{client_key}", purpose="counter")[:32]
    key = f"ratelimit:{scope}:{number}:{digest}"
    try:
        if cache.add(key, 1, timeout=window):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:
                # It expired between add and incr: the window starts again.
                count = 1 if cache.add(key, 1, timeout=window) else cache.incr(key)
    except Exception as exc:
        logger.warning("rate limit %s not checked: cache unavailable (%s)", scope, type(exc).__name__)
        return True
    return count <= limit
