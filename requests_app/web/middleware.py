"""
Middleware of the whole site: no page is kept in a cache, sessions end after
a time without activity and after a fixed time, and the client's address is
read the same way everywhere (login lockout, rate limits). Also the page
django-axes answers with once a log-in is locked out, and the pages for a
database that is away or a row someone else is changing.
"""

import ipaddress
import logging
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from django.views import defaults

from requests_app.privacy.keys import DecryptionError

# Session keys, in seconds since the epoch (JSON-serialisable integers).
LOGGED_IN_AT = "_intercession_logged_in_at"
LAST_SEEN_AT = "_intercession_last_seen_at"

# Last-activity is written at most this often, so an ordinary request does
# not save the session.
LAST_SEEN_RESOLUTION = 60

logger = logging.getLogger(__name__)

TIMED_OUT_MESSAGE = _("You were logged out after a time without activity. Please log in again.")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address.

    REMOTE_ADDR, unless settings.TRUSTED_PROXY_COUNT says how many proxies we
    run in front of the app: then the address the outermost of them saw, read
    from the right of X-Forwarded-For (each proxy appends the address it got
    the request from, so only the last TRUSTED_PROXY_COUNT entries were
    written by us; whatever a client puts in front is ignored). A header
    shorter than that, or an entry that is not an IP address, means the
    request did not come through our proxies: REMOTE_ADDR then.
    """
    remote_addr = request.META.get("REMOTE_ADDR") or None
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote_addr
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote_addr
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        # Not an address: not something our proxy wrote.
        return remote_addr


def _is_static(request: HttpRequest) -> bool:
    static_url = settings.STATIC_URL or ""
    prefix = static_url if static_url.startswith("/") else "/" + static_url
    return request.path.startswith(prefix)


class CrossOriginResourcePolicyMiddleware:
    """`Cross-Origin-Resource-Policy: same-origin` on every answer, static
    files included (it stands above WhiteNoise): no other site may embed
    our pages, images or scripts, so a page elsewhere cannot load one of
    ours in the background with the visitor's cookies and read its size
    or timing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


class NoStoreMiddleware:
    """`Cache-Control: no-store, private` on every page the app makes.

    A page may show request content (a logged-in user's pages, the
    requester's follow-up page, the form with what was typed), and no shared
    or browser cache may keep one. Static files are left alone, and so is a
    response a view marks `cacheable` (the church's stylesheet: colours, the
    same for everyone), except that one carrying a cookie (a logged-in
    user's session) is kept by the browser only, never by a shared cache.
    What a view already said (never_cache's max-age=0, no-cache,
    must-revalidate) is kept: the directives are merged.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if _is_static(request):
            return response
        if getattr(response, "cacheable", False):
            if response.cookies:
                patch_cache_control(response, private=True)
            return response
        patch_cache_control(response, no_store=True, private=True)
        return response


class SessionTimeoutMiddleware:
    """Log a user out after a time without activity and after a fixed time.

    settings.SESSION_IDLE_SECONDS (no request for that long) and
    settings.SESSION_ABSOLUTE_SECONDS (that long since logging in). The times
    are kept in the session; last activity is written at most once a minute.
    On expiry, any request (GET or POST) logs the user out and is sent to the
    login page with a message; a GET comes back to where it was after
    logging in again, a POST is not replayed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        was_logged_in = request.user.is_authenticated
        if was_logged_in:
            now = int(time.time())
            session = request.session
            logged_in_at = session.get(LOGGED_IN_AT)
            if not isinstance(logged_in_at, int):
                # Logged in without the login view (force_login in tests), or
                # a session from before this middleware: the user's last
                # log-in is when it started. Stored with the next write, so
                # a first request does not have to save the session.
                last_login = request.user.last_login
                logged_in_at = int(last_login.timestamp()) if last_login else now
            last_seen_at = session.get(LAST_SEEN_AT)
            if not isinstance(last_seen_at, int):
                last_seen_at = logged_in_at
            if (
                now - last_seen_at > settings.SESSION_IDLE_SECONDS
                or now - logged_in_at > settings.SESSION_ABSOLUTE_SECONDS
            ):
                return self._time_out(request)
            if now - last_seen_at >= LAST_SEEN_RESOLUTION:
                session[LOGGED_IN_AT] = logged_in_at
                session[LAST_SEEN_AT] = now

        response = self.get_response(request)

        if not was_logged_in and request.user.is_authenticated and SESSION_KEY in request.session:
            # Just logged in through the login view, which saves the
            # session anyway: the clock starts now. (Not a call to the API,
            # whose token names a user for that request alone: no session.)
            self._stamp(request, int(time.time()))
        return response

    @staticmethod
    def _stamp(request: HttpRequest, now: int) -> None:
        request.session[LOGGED_IN_AT] = now
        request.session[LAST_SEEN_AT] = now

    @staticmethod
    def _time_out(request: HttpRequest) -> HttpResponse:
        logout(request)
        messages.info(request, TIMED_OUT_MESSAGE)
        if request.method in ("GET", "HEAD"):
            return redirect_to_login(request.get_full_path())
        return redirect(settings.LOGIN_URL)


def locked_out(request: HttpRequest, original_response: HttpResponse | None = None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out log-in (AXES_LOCKOUT_CALLABLE).

    The same page, with the same status, whether the user name exists or not;
    the name that was typed is not repeated.
    """
    context = {"cooloff_hours": settings.AXES_COOLOFF_TIME}
    return render(request, "registration/locked_out.html", context, status=429)


# --- The database is away, or a row is held by someone else ---------------------

# SQLSTATEs that mean "someone else holds what you need": lock_not_available
# (lock_timeout ran out), deadlock_detected, serialization_failure.
CONFLICT_SQLSTATES = {"55P03", "40P01", "40001"}
# Seconds a client is asked to wait before trying again.
RETRY_AFTER_SECONDS = 5
# Set on the request once the view has answered: a database error after that
# (saving the session) may come after the view's change was committed.
VIEW_ANSWERED = "_intercession_view_answered"


# SQLSTATEs (and classes of them) that pass: the connection failed (08),
# the server is short of resources (53), shutting down or restarting (57P),
# a statement was cancelled by statement_timeout (57014), a system error
# (58), and the conflicts above. Anything else the database reports (an
# unknown column, a syntax error) is a mistake in the code: a 500.
TRANSIENT_SQLSTATES = CONFLICT_SQLSTATES | {"57014"}
TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57P", "58")
# SQLite's: the database is locked by another writer, or the disk failed.
TRANSIENT_SQLITE_ERRORS = {"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_FULL"}


def _sqlstate(exc: BaseException) -> str:
    return getattr(exc.__cause__, "sqlstate", None) or getattr(exc, "sqlstate", None) or ""


def is_transient(exc: BaseException) -> bool:
    """Is this database error one that trying again later may cure?"""
    if isinstance(exc, InterfaceError):
        return True
    sqlstate = _sqlstate(exc)
    if sqlstate:
        return sqlstate in TRANSIENT_SQLSTATES or sqlstate.startswith(TRANSIENT_SQLSTATE_PREFIXES)
    sqlite_error = getattr(exc.__cause__, "sqlite_errorname", None)
    if sqlite_error is not None:
        return sqlite_error in TRANSIENT_SQLITE_ERRORS
    # No code at all: the driver could not reach the server.
    return True


def database_unavailable(request: HttpRequest | None, exc: BaseException) -> HttpResponse:
    """The page for a database error: 409 when a row is held by someone
    else (the lock timeout ran out), 503 when the database cannot be reached
    or took too long. Rendered without the request's context processors
    (they would ask the database again), with a Retry-After header; logged
    with the error's class and SQLSTATE only, never the request's content."""
    sqlstate = _sqlstate(exc)
    conflict = sqlstate in CONFLICT_SQLSTATES
    status = 409 if conflict else 503
    maybe_saved = request is not None and getattr(request, VIEW_ANSWERED, False)
    logger.warning(
        "database error %s (sqlstate %s): answered %s%s",
        type(exc.__cause__ or exc).__name__,
        sqlstate or "none",
        status,
        ", after the view had answered" if maybe_saved else "",
    )
    context = {"conflict": conflict, "maybe_saved": maybe_saved, "retry_after": RETRY_AFTER_SECONDS}
    response = HttpResponse(loader.render_to_string("503.html", context), status=status)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def undecryptable(exc: DecryptionError) -> HttpResponse:
    """The page for a stored value that no key of INTERCESSION_ENCRYPTION_KEYS
    opens: the site's 500 page, which shows nothing of the row. Logged as one
    line, the error's class and the key's id (which key is missing), without
    the traceback, whose frames hold rows."""
    logger.error("%s (key id %s): %s", type(exc).__name__, exc.key_id or "unknown", exc.reason)
    return HttpResponse(loader.render_to_string("500.html"), status=500)


class DatabaseErrorMiddleware:
    """A database error in a view is a clear page, not a crash: 409 "someone
    else is changing this request" for a lock that was not granted in time,
    503 "temporarily unavailable, nothing was saved" when PostgreSQL is away
    (restarting, unreachable) or a statement ran too long. The view's
    transaction was rolled back, so nothing was changed. A stored value that
    cannot be decrypted is the 500 page, logged with the key's id only
    (`undecryptable`).

    Errors outside the view reach the site's handlers, which answer the
    same way: `server_error` (handler500) for loading the session,
    `bad_request` (handler400) for saving it, which Django reports as a
    SessionInterrupted.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        setattr(request, VIEW_ANSWERED, True)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError) and is_transient(exception):
            return database_unavailable(request, exception)
        if isinstance(exception, DecryptionError):
            return undecryptable(exception)
        return None


def _database_error_in(exc: BaseException | None) -> BaseException | None:
    """The passing database error `exc` is, or was raised while handling."""
    for _depth in range(5):
        if exc is None:
            return None
        if isinstance(exc, OperationalError | InterfaceError):
            return exc if is_transient(exc) else None
        exc = exc.__cause__ or exc.__context__
    return None


def bad_request(request: HttpRequest, exception: Exception, template_name: str = "400.html") -> HttpResponse:
    """handler400: Django answers "Bad Request" when saving a session fails
    (SessionInterrupted, raised from the database's error): that is the
    database page, after the view answered. Everything else is Django's 400."""
    cause = _database_error_in(exception)
    if cause is not None:
        return database_unavailable(request, cause)
    return defaults.bad_request(request, exception, template_name)


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: the database error page for an error the middleware could
    not catch (one raised by another middleware), Django's 500 page for
    everything else."""
    cause = _database_error_in(sys.exc_info()[1])
    if cause is not None:
        return database_unavailable(request, cause)
    return defaults.server_error(request, template_name)
