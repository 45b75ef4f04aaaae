"""Settings for the benchmark: the app's own settings, as in production
(DEBUG off, a real secret key, Argon2), with only what a loopback benchmark
needs changed.

The runner sets DATABASE_URL, DJANGO_SECRET_KEY and INTERCESSION_ENCRYPTION_KEYS
in the environment before Django starts, so gunicorn's workers and the
in-process client share them.
"""

import base64
import os
import secrets

# Defaults only: whatever the caller exported wins. The key is random per
# run unless given; the runner exports one so every process agrees on it.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("INTERCESSION_ENCRYPTION_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SECURE_HSTS_SECONDS", "0")
# Submitting is measured hundreds of times from one address.
os.environ.setdefault("INTERCESSION_SUBMIT_LIMIT", "1000000000")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
# As deploy/ runs the app: the outbox worker sends the e-mails, so a write
# costs its own transaction (the messages wait in the outbox here).
os.environ.setdefault("INTERCESSION_OUTBOX_WORKER", "1")

from intercession.settings import *  # noqa: F403
from intercession.settings import BASE_DIR, STORAGES, TEMPLATES

# The app's URLs plus /bench/baseline/, which exists only here.
ROOT_URLCONF = "bench.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]

# Plain HTTP on loopback: cookies must travel without TLS.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# No mail server on the bench: the outbox rows are still written in the
# submitting transaction (that cost is measured); delivery goes nowhere.
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

# Pages are measured, not static files, and no collectstatic runs: plain
# static names, which need no manifest (as in the test suite).
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
