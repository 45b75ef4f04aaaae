"""
gunicorn's own logs, with the secrets of a URL taken out.

gunicorn writes an access line for every request, outside Django and its
logging filters: the request line, the path, the query string, the Referer
and any header or environ value the format asks for. A requester's follow-up
link carries its token in the path, a password-reset link its token, a query
string what someone searched for, and the Referer of the next page repeats
all of them. `RedactingLogger` (gunicorn.conf.py's `logger_class`) rewrites
every atom of the access line the way Django's logs are rewritten
(requests_app.web.log_filters.redact: /followup/[token]/, query values
[redacted]), and runs gunicorn's error log through the same filter as
Django's handlers ("Error handling request /followup/…"). A health check
that answers ok (`/healthz`, polled by monitors) is not written at all.
"""

import re
from typing import Any
from urllib.parse import quote, unquote

from gunicorn.glogging import Logger

from requests_app.web.log_filters import REDACTED, RedactSecrets, escape_controls, redact

# Atoms that hold a query string alone (no "?" before it).
_QUERY_ATOMS = {"q", "{query_string}e"}
# Atoms that hold a path as the client sent it, or a URL, perhaps with a query.
_URL_ATOMS = {"f", "{referer}i", "{http_referer}e", "{raw_uri}e", "{request_uri}e"}
# Atoms that hold the path gunicorn decoded (PATH_INFO).
_DECODED_PATH_ATOMS = {"U", "{path_info}e"}
# A path is logged re-quoted from its decoded form, so that what Django
# routes (`/%66ollowup/<token>/` is the follow-up page too) is what gets
# redacted, and a decoded newline or quote cannot forge a log line.
_PATH_SAFE = "/:@!$&'()*+,;=[]~"
_QUERY_VALUE = re.compile(r"=[^&;]*")


def _query(query: str) -> str:
    # The whole string is a query here, so every value goes (redact() has to
    # find a query inside free text, and stops at white space or a quote).
    return _QUERY_VALUE.sub(f"={REDACTED}", query)


def _decoded_path(path: str) -> str:
    return quote(redact(path), safe=_PATH_SAFE)


def _url(url: str) -> str:
    before, question_mark, query = url.partition("?")
    return _decoded_path(unquote(before)) + question_mark + _query(query)


def _request_line(line: str) -> str:
    method, _, rest = line.partition(" ")
    target, _, protocol = rest.rpartition(" ")
    return f"{method} {_url(target)} {protocol}"


def redact_atoms(atoms: dict[str, Any]) -> dict[str, Any]:
    """gunicorn's access-log atoms with no secret path and no query value."""
    redacted = {}
    for key, value in atoms.items():
        if not isinstance(value, str):
            redacted[key] = value
        elif key == "r":
            redacted[key] = _request_line(value)
        elif key in _QUERY_ATOMS:
            redacted[key] = _query(value)
        elif key in _URL_ATOMS:
            redacted[key] = _url(value)
        elif key in _DECODED_PATH_ATOMS:
            redacted[key] = _decoded_path(value)
        else:
            # Any other header or environ value the format names (a Host or
            # User-Agent may carry escape sequences or line breaks).
            redacted[key] = escape_controls(redact(value))
    return redacted


# requests_app/views/health.py
HEALTH_CHECK_PATH = "/healthz"

# One instance, so that a reload (SIGHUP runs setup() again) adds no second copy.
_REDACT_SECRETS = RedactSecrets()


class RedactingLogger(Logger):
    """gunicorn's logger, telling no follow-up token, reset token or query value."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        self.error_log.addFilter(_REDACT_SECRETS)

    def access(self, resp, req, environ, request_time) -> None:
        # An uptime monitor asks every few seconds: its "ok" would bury the
        # lines that matter. An unavailable answer is still written.
        if environ.get("PATH_INFO") == HEALTH_CHECK_PATH and str(resp.status).split(None, 1)[0] == "200":
            return
        super().access(resp, req, environ, request_time)

    def atoms(self, resp, req, environ, request_time) -> dict[str, Any]:
        return redact_atoms(super().atoms(resp, req, environ, request_time))
