"""
Settings for Intercession, all read from the environment.

The defaults are the safe production ones: DEBUG is off, a secret key must be
given, only explicitly allowed hosts are served. `make run` turns DEBUG on for
local development; see the README for every variable.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from requests_app.privacy.keys import GENERATE_COMMAND, generate_key, parse_keys

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for local development).")
    # Only ever used with DEBUG on, on a developer's machine.
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 - DEBUG only


# --- Encryption at rest ---------------------------------------------------
# INTERCESSION_ENCRYPTION_KEYS: the keys that encrypt what the app stores
# (e-mails waiting to be sent, so far), comma-separated, newest first (the
# newest encrypts, every one decrypts: several are held during a rotation).
# See the README's "Encryption at rest" and requests_app/privacy/keys.py.
DEVELOPMENT_ENCRYPTION_KEY_FILE = BASE_DIR / ".dev-encryption-key"

NO_ENCRYPTION_KEY = f"""Set INTERCESSION_ENCRYPTION_KEYS (or DJANGO_DEBUG=1 for local development).
It is the key that encrypts what Intercession stores (e-mails waiting to be sent). Generate one with
    {GENERATE_COMMAND}
put it in /etc/intercession/intercession.env and back it up apart from the database backups:
whatever was encrypted with a lost key can never be read again (waiting e-mails can no longer be sent)."""


def development_encryption_key(path: Path) -> str:
    """The key of a developer's machine (DEBUG only): made once, at `path`
    (readable by its owner alone), then read from there, so a `make run`
    database stays readable from one run to the next. Two processes starting
    at once agree on one key: the file appears whole or not at all."""
    if not path.exists():
        draft = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as draft_file:
            draft_file.write(generate_key() + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the key
        finally:
            draft.unlink()
    return path.read_text().strip()


INTERCESSION_ENCRYPTION_KEYS = env_list("INTERCESSION_ENCRYPTION_KEYS")
if not INTERCESSION_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(NO_ENCRYPTION_KEY)
    INTERCESSION_ENCRYPTION_KEYS = [development_encryption_key(DEVELOPMENT_ENCRYPTION_KEY_FILE)]
try:
    parse_keys(INTERCESSION_ENCRYPTION_KEYS)
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "axes",
    # The JSON API (requests_app/api/): its views, its OpenAPI schema, and the
    # reference page's scripts served from here (no CDN).
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "requests_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "requests_app.web.middleware.CrossOriginResourcePolicyMiddleware",
    # Static files, answered here before any later middleware or view runs
    # (so they carry the security headers but not no-store or a session).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Cache-Control: no-store on every page (static files excepted).
    "requests_app.web.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The language: a team member's own, the menu's choice, the browser's,
    # else the church's (after the session, before any view).
    "requests_app.web.language.LanguageMiddleware",
    # Private by default: every view needs a login unless it opts out with
    # @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle and absolute session timeouts (after auth and messages).
    "requests_app.web.middleware.SessionTimeoutMiddleware",
    # When each team member last changed something (the dashboard's
    # snapshot is never older than the viewer's own last change).
    "requests_app.web.recent_writes.RecentWriteMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A database error in a view: 409 for a held row, 503 when PostgreSQL is
    # away, never a 500 (outside views: server_error and bad_request, the
    # handlers in intercession/urls.py).
    "requests_app.web.middleware.DatabaseErrorMiddleware",
    # django-axes: last, as its documentation asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "intercession.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "requests_app.web.context_processors.user_roles",
                "requests_app.web.context_processors.church_settings",
                "requests_app.web.context_processors.csrf_field",
            ],
        },
    },
]

WSGI_APPLICATION = "intercession.wsgi.application"

# --- Database -------------------------------------------------------------
# DATABASE_URL, e.g. postgres://user:password@host:5432/intercession.
# Without it, an SQLite file next to manage.py.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Writers take the lock when their transaction starts, so two
        # concurrent moves queue up instead of failing half-way with
        # "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast instead of hanging when PostgreSQL is away or a row is held:
    # a connection attempt gives up after DATABASE_CONNECT_TIMEOUT seconds, a
    # row lock is waited for DATABASE_LOCK_TIMEOUT seconds, a statement runs
    # at most DATABASE_STATEMENT_TIMEOUT seconds (0 turns a limit off, e.g.
    # for a long migration). The page then says so (requests_app.web.middleware.
    # DatabaseErrorMiddleware): 409 for a lock, 503 otherwise.
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options.setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5))
    _pg_options["options"] = " ".join(
        part
        for part in (
            f"-c lock_timeout={env_int('DATABASE_LOCK_TIMEOUT', 3) * 1000}",
            f"-c statement_timeout={env_int('DATABASE_STATEMENT_TIMEOUT', 15) * 1000}",
            # Options given in DATABASE_URL (?options=...) come last and win.
            _pg_options.get("options", ""),
        )
        if part
    )

# --- Cache ----------------------------------------------------------------
# Rate limits count in the cache; with more than one app process (or
# server) it must be shared for a limit to hold: DJANGO_CACHE_URL, e.g.
# redis://127.0.0.1:6379/0. Without it, each process keeps its own memory.
CACHE_URL = env_str("DJANGO_CACHE_URL").strip()
if not CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif CACHE_URL.split("://", 1)[0] in {"redis", "rediss", "unix"}:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            # Several sites (or test runs) can share one Redis.
            "KEY_PREFIX": env_str("DJANGO_CACHE_KEY_PREFIX", "intercession"),
            # A Redis that does not answer must not hold a page up for long
            # (the rate limit then lets the request through, and logs it).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    raise ImproperlyConfigured(f"DJANGO_CACHE_URL must be a redis:// (or rediss://, unix://) URL, not {CACHE_URL!r}")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes watches every log-in: after AXES_FAILURE_LIMIT failures for one
# user name from one address, that pair is locked out for the cool-off time.
# Unknown user names are counted the same way, so the answers never tell
# whether a name exists. Its backend must come first; it needs the request,
# so tests use client.force_login, or client.login(request=HttpRequest(), ...).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # The signed-in user and their roles in one query (requests_app/web/auth.py).
    "requests_app.web.auth.RolesBackend",
    # Only for sessions signed in before RolesBackend: it never authenticates.
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("DJANGO_AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("DJANGO_AXES_COOLOFF_HOURS", 1)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Lockouts are still logged as warnings; every ordinary log-in is not.
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "requests_app.web.middleware.locked_out"
# The client's address: REMOTE_ADDR, or X-Forwarded-For only as far as our
# own proxies wrote it (see TRUSTED_PROXY_COUNT below).
AXES_CLIENT_IP_CALLABLE = "requests_app.web.middleware.client_ip"

# A session ends after this long without a request, and this long after
# logging in, whatever happens (requests_app.web.middleware.SessionTimeoutMiddleware).
SESSION_IDLE_SECONDS = env_int("DJANGO_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_ABSOLUTE_SECONDS = env_int("DJANGO_SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60)
# Sessions live in the database, shared by every app process, with or
# without a shared cache: not read through the cache (cached_db), because a
# Redis that is away would then break every page, and a logout whose cache
# delete failed would leave the session readable once Redis came back.
# Django's own rows and table, read with one statement written once
# (requests_app/web/sessions.py).
SESSION_ENGINE = "requests_app.web.sessions"

# --- Internationalisation -------------------------------------------------
# The languages shipped (locale/, docs/GLOSSARY.md), each named as its
# speakers write it. A visitor's browser chooses among them; anything else
# gets the church's default language (its settings page; until a leader
# saves one, DJANGO_LANGUAGE_CODE). requests_app/web/language.py.
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("pt-br", "Português (Brasil)"),
    ("fr", "Français"),
    ("ko", "한국어"),
    ("ar", "العربية"),
]
LANGUAGE_CODE = env_str("DJANGO_LANGUAGE_CODE", "en")
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]
# Each language's way of writing dates (intercession/formats/).
FORMAT_MODULE_PATH = ["intercession.formats"]

# --- Static files ---------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# collectstatic gives every file a name with its content's hash, writes
# .gz and .br beside it and a manifest; WhiteNoise serves the hashed names
# with Cache-Control "immutable" for ten years and the compressed variant the
# browser accepts. The manifest stays strict: a deploy that forgot
# collectstatic fails loudly ("Missing staticfiles manifest entry") instead of
# serving pages that link files nobody can fetch. (With DEBUG on, {% static %}
# gives plain names and needs no manifest.) The suite runs no collectstatic:
# tests/conftest.py swaps in Django's plain storage.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- E-mail ---------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("DJANGO_EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("DJANGO_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "Intercession <intercession@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security -------------------------------------------------------------
# Behind a TLS-terminating proxy, set DJANGO_SECURE_PROXY_SSL_HEADER=1 so
# Django trusts X-Forwarded-Proto.
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# Asking browsers to preload HSTS binds the whole registrable domain (often
# the church's main site, not only this app) and is hard to undo: an
# operator's decision (DJANGO_SECURE_HSTS_PRELOAD=1), not a default. So the
# deploy check's reminder about it is silenced.
# models.W040, "SQLite does not support indexes with non-key columns": the
# covering index `prayer_coverage_order` (include=...) is for PostgreSQL,
# where it lets the coverage page read the index alone; SQLite builds the
# same index without the included columns, which is all it needs. The
# warning would greet every `make run` and says nothing to act on.
SILENCED_SYSTEM_CHECKS = ["security.W021", "models.W040"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Cookies travel over HTTPS only. DJANGO_SECURE_COOKIES=0 is for `make serve`
# alone (production settings over plain HTTP on loopback, where a Secure
# cookie would never come back and nobody could log in); never on a server,
# and `check --deploy` says so.
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# The language menu's choice, for visitors without an account.
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_COOKIE_AGE", SESSION_ABSOLUTE_SECONDS)
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# How many reverse proxies of ours stand in front of the app. 0 (the
# default): the client is REMOTE_ADDR and X-Forwarded-For is never read, so a
# client cannot pick its own address. N: the address is the Nth entry from
# the right of X-Forwarded-For (requests_app.web.middleware.client_ip).
TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 0)

# Content-Security-Policy (django-csp 4): everything from this site only, no
# inline script or style, no framing, no plugins. Templates carry no inline
# <script>, on*= handler or style= attribute; scripts live in static/js.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

# --- The JSON API (requests_app/api/, README "The API") -------------------
# Personal tokens only (no session, so no CSRF), JSON in and out, every
# refusal as {"detail": …}.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["requests_app.api.auth.BearerToken"],
    "DEFAULT_PERMISSION_CLASSES": ["requests_app.api.auth.TeamMember"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "requests_app.api.views.problem_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Intercession API",
    "DESCRIPTION": (
        "Prayer requests as each team member may see them, through a personal API token (My settings): "
        "`Authorization: Bearer ic_…`. Asking for prayer needs no token."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "Status": "requests_app.models.Status",
        "Category": "requests_app.models.Category",
        "Visibility": "requests_app.models.Visibility",
        "UpdateKind": "requests_app.models.UpdateKind",
    },
}

# --- Forms ----------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Logging --------------------------------------------------------------
# Request text never goes into logs; see the confidentiality rules in the
# README. Log lines carry ids and events only.
# Paths are secrets too: every handler runs requests_app.web.log_filters.
# RedactSecrets, which rewrites /followup/<token>/ (and password-reset
# links) to /followup/[token]/ and drops query-string values, in the
# message, its arguments, the traceback and the request an error e-mail
# quotes. Every Django logger is listed, so none keeps a handler of Django's
# defaults without that filter.
LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "requests_app.web.log_filters.RedactSecrets"},
        "forbidden_in_one_line": {"()": "requests_app.web.log_filters.ForbiddenInOneLine"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name} {message}", "style": "{"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_secrets"],
        },
        # Server errors to settings.ADMINS (none unless configured).
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["redact_secrets", "require_debug_false"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Everything of Django's goes to the root's console.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # 404s and 403s as warnings, one line each (a 403 without the
        # PermissionDenied's traceback); 500s as errors, also e-mailed.
        "django.request": {
            "handlers": ["mail_admins"],
            "level": "WARNING",
            "propagate": True,
            "filters": ["forbidden_in_one_line"],
        },
        # CSRF failures and other suspicious operations; the serious ones e-mailed.
        "django.security": {"handlers": ["mail_admins"], "level": "WARNING", "propagate": True},
        # Anyone can send a wrong Host header: logged, never e-mailed.
        "django.security.DisallowedHost": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # SQL with its parameters would carry request text: never at DEBUG.
        "django.db.backends": {"handlers": [], "level": "INFO", "propagate": True},
        # runserver's access log: the request line, redacted.
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
# Crash reports (the error e-mail, the debug page) hide what views mark with
# sensitive_post_parameters / sensitive_variables, with DEBUG on too, and
# secret paths, query values and token-like variables.
DEFAULT_EXCEPTION_REPORTER_FILTER = "requests_app.web.log_filters.ConfidentialExceptionReporterFilter"

# --- Intercession ---------------------------------------------------------
# An active request nobody has prayed for in this many days is a coverage gap.
# The church's name in page titles, the header and e-mails, until a leader
# sets it on the church's settings page (which then wins, as for every
# INTERCESSION_* default below that the page holds).
INTERCESSION_CHURCH_NAME = env_str("INTERCESSION_CHURCH_NAME", "Intercession")
INTERCESSION_COVERAGE_DAYS = env_int("INTERCESSION_COVERAGE_DAYS", 3)
# The site's address, for the links in e-mails (no trailing slash).
INTERCESSION_SITE_URL = env_str("INTERCESSION_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# An e-mail the mail server refused this many times is shown to leaders as undeliverable.
INTERCESSION_OUTBOX_MAX_ATTEMPTS = env_int("INTERCESSION_OUTBOX_MAX_ATTEMPTS", 8)
# The outbox worker runs (`send_outbox --loop`, deploy/intercession-outbox.service):
# a page that writes e-mails leaves sending them to it, and on PostgreSQL
# wakes it at commit (NOTIFY). Off: the page sends them once it has answered.
INTERCESSION_OUTBOX_WORKER = env_bool("INTERCESSION_OUTBOX_WORKER", False)
# Webhooks (the team's Webhooks page) may post to addresses on this machine or
# the church's own network (loopback, private and link-local addresses) and
# over plain http. Off in production: a webhook goes out over https to an
# address on the internet, never to a service beside the app.
INTERCESSION_WEBHOOK_LOCAL_TARGETS = env_bool("INTERCESSION_WEBHOOK_LOCAL_TARGETS", DEBUG)
# send_reminders (daily): an intercessor is reminded of an assignment nobody has
# prayed for in this many days; the leaders' summary counts requests waiting for
# assignment longer than this many hours, and requests awaiting manifestation
# (breakthrough in the spirit) for more than this many days.
INTERCESSION_REMINDER_PRAYER_GAP_DAYS = env_int("INTERCESSION_REMINDER_PRAYER_GAP_DAYS", 3)
INTERCESSION_REMINDER_WAITING_HOURS = env_int("INTERCESSION_REMINDER_WAITING_HOURS", 24)
INTERCESSION_REMINDER_BREAKTHROUGH_DAYS = env_int("INTERCESSION_REMINDER_BREAKTHROUGH_DAYS", 30)

# --- Rate limits ----------------------------------------------------------
# Per client (REMOTE_ADDR, or X-Forwarded-For as far as TRUSTED_PROXY_COUNT
# proxies of ours wrote it), counted in Django's cache: with several app
# processes the cache must be shared (Redis) for a limit to hold.
# Requests for prayer through the public form, per window:
INTERCESSION_SUBMIT_LIMIT = env_int("INTERCESSION_SUBMIT_LIMIT", 5)
INTERCESSION_SUBMIT_WINDOW_SECONDS = env_int("INTERCESSION_SUBMIT_WINDOW_SECONDS", 60 * 60)
# Actions through follow-up links (updates, praise reports, withdrawals,
# confidentiality), per window:
INTERCESSION_FOLLOWUP_LIMIT = env_int("INTERCESSION_FOLLOWUP_LIMIT", 20)
INTERCESSION_FOLLOWUP_WINDOW_SECONDS = env_int("INTERCESSION_FOLLOWUP_WINDOW_SECONDS", 60 * 60)
# "Lost your link?": how many times one client, and (counted apart) one
# e-mail address whoever types it, may ask for new follow-up links per window.
# Each time rotates that address's links, so the address's limit is what keeps
# a stranger from changing someone's links over and over.
INTERCESSION_LOST_LINK_LIMIT = env_int("INTERCESSION_LOST_LINK_LIMIT", 3)
INTERCESSION_LOST_LINK_WINDOW_SECONDS = env_int("INTERCESSION_LOST_LINK_WINDOW_SECONDS", 60 * 60)
# Password resets asked for, per client and per address (each), per window:
INTERCESSION_PASSWORD_RESET_LIMIT = env_int("INTERCESSION_PASSWORD_RESET_LIMIT", 5)
INTERCESSION_PASSWORD_RESET_WINDOW_SECONDS = env_int("INTERCESSION_PASSWORD_RESET_WINDOW_SECONDS", 60 * 60)
