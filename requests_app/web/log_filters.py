"""
What keeps secrets out of logs and crash reports.

Some URLs are secrets: the requester's follow-up link carries their token in
its path, a password-reset link and a link to choose a first password
theirs; and a query string can carry what
someone searched for (a person's name). Django logs paths (`django.request`:
"Not Found: /followup/…/"; `django.server`: the request line; CSRF
failures: the Referer), and the error e-mail to the admins quotes the URL,
the headers and the variables of every frame.

- `RedactSecrets`, a logging filter on every handler in settings.LOGGING,
  rewrites such paths in a record's message, its arguments, its formatted
  traceback and the request it carries, before any handler writes it.
- `ConfidentialExceptionReporterFilter` (DEFAULT_EXCEPTION_REPORTER_FILTER)
  does the same for error reports, and hides what `sensitive_post_parameters`
  and `sensitive_variables` mark even with DEBUG on, so the debug page
  never shows request text either.
"""

import copy
import logging
import re
import unicodedata
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, QueryDict
from django.views.debug import SafeExceptionReporterFilter

REDACTED = "[redacted]"

# Characters that end a path segment in a log line: the next segment, a
# query, a fragment, white space, or a quote around the path.
_SEGMENT = r"[^/?#\s\"'<>]+"

_SECRET_PATHS = [
    # The requester's follow-up link: /followup/<token>/… ("Lost your link?",
    # /followup/lost/, is no token: kept readable).
    (re.compile(rf"(/followup/)(?!lost(?:[/?#\s\"'<>]|$)){_SEGMENT}"), r"\1[token]"),
    # Django's password-reset link: /…/password/reset/<uidb64>/<token>/
    (re.compile(rf"(/password/reset/){_SEGMENT}/{_SEGMENT}"), r"\1[uid]/[token]"),
    # A link to choose a first password (create_leader): /accounts/welcome/<token>/
    (re.compile(rf"(/welcome/){_SEGMENT}"), r"\1[token]"),
]

# A query string after a path: its values go, its names stay.
# A value may hold a quote mark (?q=O'Brien): only white space, a fragment,
# a double quote or an angle bracket ends the query.
_QUERY = re.compile(r"(?<=[^\s?\"'<>])\?([^\s#\"<>]*)")
_QUERY_VALUE = re.compile(r"=[^&;]*")


def _redact_query(query: str) -> str:
    return _QUERY_VALUE.sub(f"={REDACTED}", query)


def redact(text: str) -> str:
    """`text` with every secret path and every query-string value replaced."""
    for pattern, replacement in _SECRET_PATHS:
        text = pattern.sub(replacement, text)
    return _QUERY.sub(lambda match: "?" + _redact_query(match.group(1)), text)


def _redact_path(path: str) -> str:
    """A path (no query string) with its secret segments replaced."""
    for pattern, replacement in _SECRET_PATHS:
        path = pattern.sub(replacement, path)
    return path


def redacted_request(request: HttpRequest) -> HttpRequest:
    """A shallow copy of `request` that tells no secret path and no query
    value: what the error e-mail and the debug page quote. The request being
    served is not changed."""
    safe = copy.copy(request)
    safe.path = _redact_path(request.path)
    safe.path_info = _redact_path(request.path_info)
    meta = {}
    for key, value in request.META.items():
        if key == "QUERY_STRING" and isinstance(value, str):
            meta[key] = _redact_query(value)
        elif isinstance(value, str):
            meta[key] = redact(value)
        else:
            meta[key] = value
    safe.META = meta
    if hasattr(request, "environ"):
        safe.environ = meta
    query = QueryDict(mutable=True)
    for key, values in request.GET.lists():
        query.setlist(key, [REDACTED] * len(values))
    query._mutable = False
    safe.GET = query
    return safe


def escape_controls(text: str, *, keep: str = "") -> str:
    """`text` with control and format characters (escape sequences, line
    breaks, NUL, right-to-left overrides, zero-width ones) written as
    `\\x1b`, `\\u202e`: what a client sends (a path, a `next`, a Host
    header) can then neither forge a log line nor repaint a terminal.
    Characters in `keep` (a traceback's line breaks) stay."""
    return "".join(
        character
        if character in keep or unicodedata.category(character) not in ("Cc", "Cf", "Zl", "Zp")
        else (f"\\x{ord(character):02x}" if ord(character) < 0x100 else f"\\u{ord(character):04x}")
        for character in text
    )


def _redacted_argument(value: Any) -> Any:
    if isinstance(value, str):
        return escape_controls(redact(value))
    if isinstance(value, HttpRequest):
        return escape_controls(redact(repr(value)))
    if value is None or isinstance(value, int | float):
        # Left as they are: a %d in the message needs a number.
        return value
    text = str(value)
    cleaned = escape_controls(redact(text))
    return cleaned if cleaned != text else value


class RedactSecrets(logging.Filter):
    """Rewrite secret paths and query values in a log record, in place, so
    every handler after this one (and the record's other handlers) sees the
    redacted record. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The message's own line breaks are the code's; anything else is escaped.
        record.msg = escape_controls(redact(str(record.msg)), keep="\n")
        if isinstance(record.args, dict):
            record.args = {key: _redacted_argument(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_redacted_argument(value) for value in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = escape_controls(redact(record.exc_text), keep="\n\t")
        request = getattr(record, "request", None)
        # django.server's records carry the socket as `request`: only an
        # HttpRequest is ours to redact.
        if isinstance(request, HttpRequest) and not getattr(request, "_redacted_for_logs", False):
            record.request = redacted_request(request)
            record.request._redacted_for_logs = True
        return True


class ForbiddenInOneLine(logging.Filter):
    """An ordinary 403 is one warning line, "Forbidden (Permission denied):
    /path", not a traceback. Django logs a PermissionDenied with its
    exception attached (`log_response(..., exception=exc)`), so every refused
    change would print a dozen lines of stack that say nothing new: the
    refusal is the app working. On the `django.request` logger; any other
    exception keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True


class ConfidentialExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, active with DEBUG on as well as off, that also keeps
    secret paths, query values and token-like variables out of the report."""

    def is_active(self, request: HttpRequest | None) -> bool:
        # Django's own filter switches itself off with DEBUG on; request text
        # has no place on a developer's screen either.
        return True

    def get_safe_request_meta(self, request: HttpRequest) -> dict:
        meta = super().get_safe_request_meta(request)
        return {
            key: _redact_query(value)
            if key == "QUERY_STRING" and isinstance(value, str)
            else (redact(value) if isinstance(value, str) else value)
            for key, value in meta.items()
        }

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame) -> Any:
        variables = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if isinstance(value, HttpRequest):
                value = redact(repr(value))
            elif isinstance(value, str):
                value = self.cleansed_substitute if self.hidden_settings.search(name) else redact(value)
            else:
                # Hides a variable or a dict key named like a secret (`token`,
                # `callback_kwargs["token"]`), as Django does for settings.
                value = self.cleanse_setting(name, value)
            variables.append((name, value))
        return variables
