"""
Personas and request factories shared by the whole suite.

Personas (STYLE.md §9): `leader`, `assigned_intercessor` (actively assigned to
the requests `request_in` makes), `other_intercessor` (on the team, never
assigned), `released_intercessor` (was assigned, then released), `superuser`
(a site administrator who is not a leader), `anonymous`, and the requester,
who is a `Requester` built from the request itself.
"""

import re

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.test import override_settings
from django.utils import translation
from fault_helpers import AppServer, app_env, manage

from requests_app import church, roles, services
from requests_app.hooks import events as hook_events
from requests_app.models import Category, IntercessorProfile, PrayerRequest, Status, Visibility
from requests_app.rules import Requester

PASSWORD = "a-long-test-password-42"
PLAIN_STATIC_STORAGE = "django.contrib.staticfiles.storage.StaticFilesStorage"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate limits and login lockouts count in the cache: each test starts clean,
    # but for the church's settings (requests_app.church), which a running
    # site has in its cache: a page costs what it costs there. A new church
    # has saved none, so they are the defaults (tests/test_church_settings.py
    # covers the cache coming and going). The same for the list of webhooks,
    # none (tests/test_webhooks.py adds them through the leaders' service,
    # which forgets the list).
    cache.clear()
    cache.set(church.CACHE_KEY, church.defaults(), church.CACHE_SECONDS)
    cache.set(hook_events.SUBSCRIPTIONS_KEY, [], hook_events.SUBSCRIPTIONS_SECONDS)
    yield
    cache.clear()


@receiver(setting_changed)
def _church_follows_the_settings(setting, **kwargs):
    # The church's defaults come from INTERCESSION_* settings, which tests
    # change (the `settings` fixture): the cached settings go with them.
    if setting.startswith("INTERCESSION_"):
        church.forget()


@pytest.fixture(autouse=True)
def _language_of_the_site():
    # A page leaves its language active in the thread (Django's middleware
    # does too: the next request chooses again), and a test after an Arabic
    # page would speak Arabic: each test starts in the site's language.
    translation.deactivate()


@pytest.fixture(autouse=True)
def _forms_rendered_afresh():
    # Unbound forms are rendered once per process (requests_app.views.rendered):
    # a test that changes what shapes one must not meet another test's copy.
    from requests_app.views import rendered

    rendered.forget()


@pytest.fixture(autouse=True, scope="session")
def _static_files_without_collectstatic():
    # Production's storage links hashed names from the manifest collectstatic
    # writes, and a page without one fails. The suite runs no collectstatic:
    # here static files keep their plain names and come from the source
    # folders, as in development. tests/test_production.py collects them and
    # serves the real thing with gunicorn.
    with override_settings(
        STORAGES={**django_settings.STORAGES, "staticfiles": {"BACKEND": PLAIN_STATIC_STORAGE}},
        WHITENOISE_AUTOREFRESH=True,
        WHITENOISE_USE_FINDERS=True,
    ):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 costs ~0.1 s a password and the suite makes thousands of users.
    # tests/test_settings.py checks that production uses Argon2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, *groups: str, capacity: int = 10, available: bool = True, **fields) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, **fields)
    for name in groups:
        # get_or_create: the flush that ends a transactional test (live
        # server, threads) also removes the groups the data migration made.
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    if roles.INTERCESSORS in groups:
        IntercessorProfile.objects.create(user=user, max_active_assignments=capacity, is_available=available)
    return user


@pytest.fixture
def leader(db) -> User:
    return make_user("lydia", roles.LEADERS, first_name="Lydia", last_name="Leader")


@pytest.fixture
def assigned_intercessor(db) -> User:
    return make_user("anna", roles.INTERCESSORS, first_name="Anna")


@pytest.fixture
def other_intercessor(db) -> User:
    return make_user("simeon", roles.INTERCESSORS, first_name="Simeon")


@pytest.fixture
def released_intercessor(db) -> User:
    return make_user("barnabas", roles.INTERCESSORS, first_name="Barnabas")


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser(username="root", password=PASSWORD, email="root@example.org")


@pytest.fixture
def anonymous() -> AnonymousUser:
    return AnonymousUser()


def submit(
    *, confidential: bool = True, urgent: bool = False, title: str = "Healing after surgery", consent: str = ""
) -> PrayerRequest:
    prayer_request, _token = services.submit_request(
        for_whom="M. K.",
        title=title,
        category=Category.HEALTH,
        details="Recovering slowly; pray for strength.",
        is_urgent=urgent,
        is_confidential=confidential,
        requester_name="Martha",
        requester_email="martha@example.org",
        wants_updates=True,
        consent=consent,
    )
    return prayer_request


def bring_to(
    prayer_request: PrayerRequest,
    status: str,
    *,
    leader: User,
    intercessor: User,
    released: User | None = None,
) -> PrayerRequest:
    """Walk a new request through the real services to `status`.

    Every status but `new` has `intercessor` actively assigned (closed ones
    too: closing does not release anyone). `released`, if given, is assigned
    and then released before the final move.
    """
    if status == Status.NEW:
        return prayer_request
    services.assign(prayer_request, [intercessor] + ([released] if released else []), by=leader)
    if released is not None:
        assignment = prayer_request.assignments.get(intercessor=released, released_at__isnull=True)
        services.release(assignment, by=leader)
    if status in (Status.BREAKTHROUGH, Status.ANSWERED, Status.CLOSED):
        services.move(prayer_request, status, actor=leader)
    return prayer_request


@pytest.fixture
def request_in(db, leader, assigned_intercessor, released_intercessor):
    """Factory: `request_in(status, confidential=True)` gives a request in
    that status with `assigned_intercessor` assigned and
    `released_intercessor` released (except for `new`, which has nobody)."""

    def make(status: str, *, confidential: bool = True, urgent: bool = False) -> PrayerRequest:
        prayer_request = submit(confidential=confidential, urgent=urgent)
        released = released_intercessor if status != Status.NEW else None
        bring_to(prayer_request, status, leader=leader, intercessor=assigned_intercessor, released=released)
        prayer_request.refresh_from_db()
        return prayer_request

    return make


@pytest.fixture
def requester_of():
    """`requester_of(prayer_request)`: the requester acting through their link."""
    return lambda prayer_request: Requester(prayer_request.pk)


@pytest.fixture
def on_postgres(transactional_db):
    """Skip, visibly, unless the suite runs on PostgreSQL (real row locks).
    The database is transactional, so threads see what the test wrote."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: run with DATABASE_URL=postgres://… (make test-postgres)")


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    """The app as a church server runs it, one per module: DEBUG off,
    collected static files, `gunicorn -c gunicorn.conf.py` on a free loopback
    port, an SQLite database of its own, migrated. Its log (gunicorn's access
    log included) is at `production_server.log_path`."""
    folder = tmp_path_factory.mktemp("production")
    env = app_env(f"sqlite:///{folder / 'db.sqlite3'}")
    manage(env, "migrate", "--no-input", "-v", "0")
    server = AppServer(env, workers=2, log_dir=folder, config=True).start()
    yield server
    server.stop()


_CSRF_FIELD = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def without_csrf_token(content: bytes) -> bytes:
    """A page with its CSRF token (masked afresh on every render, so two
    renders of the same page differ) replaced by a fixed one: what two
    answers must share to say the same."""
    return _CSRF_FIELD.sub(rb"\1-\2", content)


@pytest.fixture
def busy(db, leader, assigned_intercessor):
    """A request with something in every part of its page: a leader who also
    intercedes, a breakthrough, a prayer with a note, an update for the
    requester, and one more intercessor on the team."""
    leader.groups.add(*assigned_intercessor.groups.all())
    prayer_request = submit(confidential=False)
    bring_to(prayer_request, Status.BREAKTHROUGH, leader=leader, intercessor=assigned_intercessor)
    services.log_prayer(prayer_request, intercessor=assigned_intercessor, minutes=5, note="Prayed")
    services.post_update(prayer_request, actor=leader, note="For you", visibility=Visibility.REQUESTER)
    make_user("new_one", roles.INTERCESSORS)
    return prayer_request
