"""Where to go after a change: a `next` the form sent, only if it is a path
on this site.

A `next` comes from the page, but anyone can post anything: a full URL to
another site (an open redirect), `//evil.example` (scheme-relative), a
backslash that some browsers read as a slash, or a word with no slash at all,
which Django's `redirect()` would take for a URL name and fail on with a 500
*after* the change was saved. So a `next` is used only when it is a path
(starts with one `/`), holds no control or white-space characters, stays on
this host, and resolves to one of our pages; otherwise it is ignored and the
view goes to its own default.
"""

import unicodedata
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme

MAX_LENGTH = 2000


def safe_next(request: HttpRequest, candidate: object) -> str | None:
    """`candidate` if it is a path to a page of this site, else None."""
    if not isinstance(candidate, str) or not candidate or len(candidate) > MAX_LENGTH:
        return None
    if not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
        return None
    if any(unicodedata.category(character)[0] in "CZ" for character in candidate):
        return None
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    try:
        resolve(urlsplit(candidate).path)
    except (Resolver404, ValueError):
        return None
    return candidate
