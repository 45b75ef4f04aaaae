"""
The signature of a webhook's request, as the README documents it for
receivers:

    Intercession-Signature: t=<unix seconds>,v1=<hex>

where `<hex>` is HMAC-SHA256, keyed with the hook's secret, of the bytes
`<unix seconds>.<body>`. A receiver recomputes it over the body exactly as
received, compares in constant time, and refuses a timestamp more than
`TOLERANCE_SECONDS` away from its clock (a replay). Every attempt is signed
afresh, with its own time; the event's `id` stays the same.
"""

import hashlib
import hmac
import secrets

HEADER = "Intercession-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix of every secret, not one)
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, value: str, body: bytes, *, now: int) -> bool:
    """What a receiver does (and the tests): True if `value` (the header)
    signs `body` with `secret` within the tolerance."""
    parts = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), parts.get("v1", ""))
