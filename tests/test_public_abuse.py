"""
The public form against robots and floods: a honeypot field, and a
per-client limit on asking and on the follow-up actions that a forged
X-Forwarded-For cannot get round. A refusal says why, stores nothing and
sends nothing.
"""

import threading
from types import SimpleNamespace

import pytest
from conftest import submit
from django.contrib.messages import get_messages
from django.core import mail
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse
from django.utils.html import escape

from requests_app.models import PrayerRequest, Status, StatusUpdate
from requests_app.web import ratelimit

ASK = reverse("ask")

FOR_WHOM = "Person-Hq3Vd"
TITLE = "Title-Mz7Rk"
DETAILS = "Details-Tb5Ws"
EMAIL = "asker-Yp4Lc@example.org"

TOO_MANY = "Too many requests from your connection — please wait an hour or phone the church office."
# A moment well inside one rate-limit window, whatever the window.
FROZEN_NOW = 1_800_000_000.0


@pytest.fixture(autouse=True)
def _clock_standing_still(monkeypatch):
    """The limiter's clock stands still, so no test straddles the end of a
    window. (Counters start from zero: tests/conftest.py clears the cache.)"""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: FROZEN_NOW))


def ask_data(**overrides) -> dict:
    data = {
        "for_whom": FOR_WHOM,
        "category": "health",
        "title": TITLE,
        "details": DETAILS,
        "is_confidential": "on",
        "requester_email": EMAIL,
        "wants_updates": "on",
        "consent": "knows",
    }
    data.update(overrides)
    return data


def link_to(prayer_request: PrayerRequest) -> str:
    token = prayer_request.issue_followup_token()
    prayer_request.save(update_fields=["followup_token_hash"])
    return token


def nothing_stored() -> bool:
    return PrayerRequest.objects.count() == 0 and StatusUpdate.objects.count() == 0


# --- The honeypot ---------------------------------------------------------------


def test_it_hides_the_honeypot_from_people_screen_readers_and_the_tab_key(client, db):
    content = client.get(ASK).content.decode()

    wrapper_at = content.index('<div class="visually-hidden" aria-hidden="true">')
    field_at = content.index('name="website"')
    assert wrapper_at < field_at < content.index("</div>", wrapper_at)
    field = content[content.rindex("<input", 0, field_at) : content.index(">", field_at)]
    assert 'tabindex="-1"' in field
    assert 'autocomplete="off"' in field
    assert 'type="text"' in field
    assert '<label for="id_website">Leave this empty</label>' in content


def test_it_refuses_a_filled_honeypot_and_says_why(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ASK, ask_data(website="https://spam.example"))

    assert response.status_code == 400
    form = response.context["form"]
    assert [error.code for error in form.non_field_errors().as_data()] == ["honeypot"]
    content = response.content.decode()
    assert "Your request was not sent" in content
    assert "spam robots" in content
    assert "phone the church office" in content
    assert nothing_stored()
    assert mail.outbox == []
    assert "followup_token" not in client.cookies


def test_it_gives_back_what_was_typed_but_an_empty_honeypot(client, db):
    response = client.post(ASK, ask_data(website="https://spam.example"))

    content = response.content.decode()
    assert f'value="{FOR_WHOM}"' in content
    assert "https://spam.example" not in content
    # A person whose browser filled the field in can simply send it again.
    again = client.post(ASK, ask_data())
    assert again.status_code == 302
    assert PrayerRequest.objects.get().title == TITLE


def test_it_refuses_a_filled_honeypot_even_with_other_mistakes(client, db):
    response = client.post(ASK, ask_data(website="x", title=""))

    assert response.status_code == 400
    assert response.context["form"].is_spam
    assert nothing_stored()


@pytest.mark.parametrize("empty", ["", "   "])
def test_it_accepts_an_empty_honeypot(client, db, empty):
    response = client.post(ASK, ask_data(website=empty))

    assert response.status_code == 302
    assert PrayerRequest.objects.count() == 1


def test_it_never_passes_the_honeypot_to_the_request(client, db):
    client.post(ASK, ask_data(website=""))

    assert not hasattr(PrayerRequest.objects.get(), "website")


# --- The limit on asking ----------------------------------------------------------


def post_as(client, remote_addr: str, forwarded_for: str | None = None, **data):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post(ASK, ask_data(**data), **extra)


def test_it_accepts_five_requests_an_hour_from_one_connection_and_refuses_the_sixth(
    client, db, django_capture_on_commit_callbacks
):
    for _ in range(5):
        assert post_as(client, "198.51.100.7").status_code == 302
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        refused = post_as(client, "198.51.100.7", for_whom="Sixth-Gn2Qa")

    assert refused.status_code == 429
    assert escape(TOO_MANY) in refused.content.decode()
    assert "Your request has not been sent" in refused.content.decode()
    assert [error.code for error in refused.context["form"].non_field_errors().as_data()] == ["rate_limited"]
    assert PrayerRequest.objects.count() == 5
    assert "Sixth-Gn2Qa" not in PrayerRequest.objects.values_list("for_whom", flat=True)
    assert mail.outbox == []


def test_it_gives_back_what_was_typed_when_refusing_for_too_many(client, db):
    for _ in range(5):
        post_as(client, "198.51.100.7")

    refused = post_as(client, "198.51.100.7", details="Keep-this-Wd8Pe")

    assert "Keep-this-Wd8Pe" in refused.content.decode()


def test_it_cannot_be_got_round_with_a_forged_x_forwarded_for(client, db):
    statuses = [
        post_as(client, "198.51.100.7", forwarded_for=f"203.0.113.{number}").status_code for number in range(1, 11)
    ]

    assert statuses == [302] * 5 + [429] * 5
    assert PrayerRequest.objects.count() == 5


def test_it_counts_each_connection_separately(client, db):
    for _ in range(5):
        post_as(client, "198.51.100.7")

    assert post_as(client, "198.51.100.7").status_code == 429
    assert post_as(client, "198.51.100.8").status_code == 302


def test_it_counts_a_whole_ipv6_network_as_one_client(client, db):
    statuses = [post_as(client, f"2001:db8:1:2::{number:x}").status_code for number in range(1, 8)]

    assert statuses == [302] * 5 + [429] * 2


def test_it_counts_only_requests_that_would_be_stored(client, db):
    for _ in range(10):
        assert post_as(client, "198.51.100.7", title="").status_code == 200
    for _ in range(3):
        assert post_as(client, "198.51.100.7", website="spam").status_code == 400

    assert post_as(client, "198.51.100.7").status_code == 302


def test_it_takes_the_limit_and_window_from_the_settings(client, db, settings):
    settings.INTERCESSION_SUBMIT_LIMIT = 2
    settings.INTERCESSION_SUBMIT_WINDOW_SECONDS = 15 * 60

    statuses = [post_as(client, "198.51.100.7").status_code for _ in range(3)]

    assert statuses == [302, 302, 429]
    assert "please wait 15 minutes or phone the church office" in post_as(client, "198.51.100.7").content.decode()


def test_it_accepts_requests_again_in_the_next_window(client, db, monkeypatch):
    for _ in range(5):
        post_as(client, "198.51.100.7")
    assert post_as(client, "198.51.100.7").status_code == 429

    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: FROZEN_NOW + 3600))

    assert post_as(client, "198.51.100.7").status_code == 302


def test_it_reads_x_forwarded_for_only_as_far_as_the_trusted_proxies_wrote_it(client, db, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    # Behind one proxy: the last entry is the address it saw, whatever the
    # client wrote in front of it.
    statuses = [
        post_as(client, "10.0.0.2", forwarded_for=f"203.0.113.{number}, 198.51.100.7").status_code
        for number in range(1, 8)
    ]
    assert statuses == [302] * 5 + [429] * 2

    # Another client behind the same proxy has its own allowance.
    assert post_as(client, "10.0.0.2", forwarded_for="198.51.100.8").status_code == 302


# --- The limit on follow-up actions --------------------------------------------------


FOLLOWUP_POSTS = [
    ("followup_update", {"update-note": "Update-Kx5Zm"}),
    ("followup_praise", {"praise-note": "Praise-Kx5Zm"}),
    ("followup_withdraw", {"withdraw-note": "Withdraw-Kx5Zm"}),
    ("followup_confidentiality", {"confidential": "0"}),
]


@pytest.mark.parametrize(("name", "data"), FOLLOWUP_POSTS)
def test_it_limits_the_actions_through_a_followup_link(client, request_in, settings, name, data):
    settings.INTERCESSION_FOLLOWUP_LIMIT = 2
    prayer_request = request_in(Status.INTERCEDING)
    token = link_to(prayer_request)
    other_token = link_to(request_in(Status.INTERCEDING))
    # Updates (allowed in any state) use up the allowance, one on another request.
    client.post(reverse("followup_update", args=[token]), {"update-note": "first"}, follow=True)
    client.post(reverse("followup_update", args=[other_token]), {"update-note": "second"}, follow=True)
    prayer_request.refresh_from_db()
    before = (
        PrayerRequest.objects.filter(pk=prayer_request.pk).values().get(),
        StatusUpdate.objects.count(),
    )

    response = client.post(reverse(name, args=[token]), data)

    assert response.status_code == 429
    assert [str(message).startswith(TOO_MANY) for message in get_messages(response.wsgi_request)] == [True]
    content = response.content.decode()
    assert escape(TOO_MANY) in content
    assert "Nothing has been changed" in content
    if "note" in next(iter(data)):
        # What was typed is on the page again.
        assert next(iter(data.values())) in content
    assert (PrayerRequest.objects.filter(pk=prayer_request.pk).values().get(), StatusUpdate.objects.count()) == before


def test_it_counts_guessed_links_against_the_followup_limit(client, db, settings):
    settings.INTERCESSION_FOLLOWUP_LIMIT = 3
    token = link_to(submit())

    for guess in ("guess-1", "guess-2", "guess-3"):
        assert client.post(reverse("followup_update", args=[guess]), {"update-note": "hi"}).status_code == 404

    assert client.post(reverse("followup_update", args=[token]), {"update-note": "hi"}).status_code == 429


def test_it_keeps_asking_and_following_up_apart(client, db, settings):
    settings.INTERCESSION_FOLLOWUP_LIMIT = 1
    token = link_to(submit())
    client.post(reverse("followup_update", args=[token]), {"update-note": "hi"})

    assert post_as(client, "127.0.0.1").status_code == 302


def test_it_lets_the_followup_page_itself_be_read_when_limited(client, db, settings):
    settings.INTERCESSION_FOLLOWUP_LIMIT = 1
    token = link_to(submit())
    client.post(reverse("followup_update", args=[token]), {"update-note": "hi"})

    assert client.get(reverse("followup", args=[token])).status_code == 200


# --- The limiter itself ---------------------------------------------------------------


def test_it_allows_exactly_the_limit_when_many_arrive_at_once():
    results = []
    start = threading.Barrier(40)

    def one():
        start.wait()
        results.append(ratelimit.hit("race", "198.51.100.7", 10, 3600))

    threads = [threading.Thread(target=one) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count(True) == 10
    assert results.count(False) == 30


def test_it_refuses_everything_with_a_limit_of_zero():
    assert ratelimit.hit("closed", "198.51.100.7", 0, 3600) is False


def test_it_keeps_no_readable_address_in_the_cache(monkeypatch):
    keys = []
    add = cache.add

    def add_and_note(key, *args, **kwargs):
        keys.append(key)
        return add(key, *args, **kwargs)

    monkeypatch.setattr(cache, "add", add_and_note)

    ratelimit.hit("ask", "198.51.100.7", 5, 3600)
    ratelimit.hit("ask", "2001:db8::1", 5, 3600)

    assert len(keys) == 2
    assert all("198.51.100.7" not in key and "2001" not in key for key in keys)


def test_it_starts_again_when_the_counter_expired_between_add_and_incr(monkeypatch):
    # Another request's counter was there (add refused), then expired
    # before incr: this request starts the new count.
    answers = iter([False, True])
    monkeypatch.setattr(cache, "add", lambda *args, **kwargs: next(answers))

    def expired(*args, **kwargs):
        raise ValueError("Key not found.")

    monkeypatch.setattr(cache, "incr", expired)

    assert ratelimit.hit("ask", "198.51.100.7", 1, 3600) is True


def test_it_lets_people_ask_when_the_cache_is_down(client, db, monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(cache, "add", down)

    with caplog.at_level("WARNING", logger="requests_app.web.ratelimit"):
        response = post_as(client, "198.51.100.7")

    assert response.status_code == 302
    assert "rate limit ask not checked: cache unavailable (ConnectionError)" in caplog.text
    assert "198.51.100.7" not in caplog.text


def request_from(remote_addr: str, forwarded_for: str | None = None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().post(ASK, **extra)


@pytest.mark.parametrize(
    ("proxies", "remote_addr", "forwarded_for", "client"),
    [
        (0, "198.51.100.7", None, "198.51.100.7"),
        (0, "198.51.100.7", "203.0.113.9", "198.51.100.7"),
        (1, "10.0.0.2", "203.0.113.9", "203.0.113.9"),
        (1, "10.0.0.2", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, "10.0.0.3", "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        # Shorter than the chain of proxies: not written by them.
        (2, "10.0.0.3", "203.0.113.9", "10.0.0.3"),
        (1, "10.0.0.2", None, "10.0.0.2"),
        (0, "2001:db8:1:2:3:4:5:6", None, "2001:db8:1:2::/64"),
        (0, "::ffff:198.51.100.7", None, "198.51.100.7"),
    ],
)
def test_it_knows_who_the_client_is(settings, proxies, remote_addr, forwarded_for, client):
    settings.TRUSTED_PROXY_COUNT = proxies

    assert ratelimit.client_address(request_from(remote_addr, forwarded_for)) == client


def test_its_counters_are_keyed_with_the_site_s_secret_not_a_plain_hash_of_the_address(db, settings):
    import hashlib

    from django.core.cache import cache

    from requests_app.web import ratelimit

    ratelimit.hit("ask", "203.0.113.7", 5, 60)
    keys = " ".join(cache._cache)  # the suite's local-memory cache
    plain = hashlib.sha256(b"ask\x00203.0.113.7").hexdigest()[:32]
    assert plain not in keys, "an unsalted hash of an address can be reversed by trying every address"
    assert ratelimit.keyed_hash("ask\x00203.0.113.7", purpose="counter")[:32] in keys

    settings.SECRET_KEY = "another-secret-" + "x" * 40
    assert ratelimit.keyed_hash("ask\x00203.0.113.7", purpose="counter")[:32] not in keys
