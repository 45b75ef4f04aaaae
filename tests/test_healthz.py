"""`/healthz`: for uptime monitors. No login, no session, no data: `ok` when
the database and the cache answer, 503 otherwise (the database going away
for real is in tests/test_faults.py)."""

from django.core.cache.backends.redis import RedisCache
from django.db.utils import ConnectionHandler
from django.urls import reverse

from requests_app.views import health

URL = "/healthz"


def test_it_lives_at_the_address_monitors_are_given():
    assert reverse("healthz") == URL


def test_it_says_ok_with_no_login_and_sets_no_cookie(client, db):
    response = client.get(URL)

    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_it_says_nothing_else_to_a_logged_in_user(client, leader):
    client.force_login(leader)

    assert client.get(URL).content == b"ok\n"


def test_it_answers_head_and_refuses_other_methods(client, db):
    assert client.head(URL).status_code == 200
    assert client.post(URL).status_code == 405


def test_it_is_never_rate_limited(client, db, settings):
    settings.INTERCESSION_SUBMIT_LIMIT = 1
    assert all(client.get(URL).status_code == 200 for _ in range(50))


def test_it_is_unavailable_when_the_database_does_not_answer(client, db, monkeypatch, caplog):
    # A real PostgreSQL connection to a port where nothing listens.
    away = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "away", "HOST": "127.0.0.1", "PORT": 9}}
    )
    monkeypatch.setattr(health, "connection", away["default"])

    response = client.get(URL)

    assert response.status_code == 503
    assert response.content == b"unavailable\n"
    assert "the database does not answer (OperationalError)" in caplog.text


def test_it_is_unavailable_when_the_cache_does_not_answer(client, db, monkeypatch, caplog):
    # A real Redis client for a port where nothing listens.
    away = RedisCache("redis://127.0.0.1:9/0", {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}})
    monkeypatch.setattr(health, "cache", away)

    response = client.get(URL)

    assert response.status_code == 503
    assert response.content == b"unavailable\n"
    assert "the cache does not answer (ConnectionError)" in caplog.text
