"""
The request form on the church's own website (issue 17): /embed/ask/ is the
public form alone, for an <iframe>, framable only from the sites of the
church's settings (`embed_origins`, its Content-Security-Policy's
frame-ancestors; every other page stays unframable). It needs none of our
cookies, which a frame on another site never gets: no CSRF token, and the
follow-up link shown in the answer to the POST, once. The same rules as
/ask/ otherwise: honeypot, rate limit, a paused form. The browser journey
inside a frame is in tests/browser/test_embed_browser.py.
"""

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from test_church_settings import SETTINGS_PAGE, form_data
from test_views_public import ask_data

from requests_app import church
from requests_app.models import AuditAction, AuditLogEntry, ChurchSettings, OutboxMessage, PrayerRequest
from requests_app.team import church_settings
from requests_app.views.church import embed_snippet

EMBED = reverse("embed_ask")
CHURCH_SITE = "https://www.grace.example"


def frame_ancestors(response) -> list[str]:
    policy = dict(
        (part.split()[0], part.split()[1:]) for part in response["Content-Security-Policy"].split(";") if part.strip()
    )
    return policy["frame-ancestors"]


@pytest.fixture
def listed(db, leader):
    church_settings.save({"embed_origins": [CHURCH_SITE, "https://grace.example:8443"]}, by=leader)
    church.forget()


@pytest.fixture
def visitor() -> Client:
    """A browser in a frame on another site: no cookie of ours, and no CSRF token."""
    return Client(enforce_csrf_checks=True)


# --- Who may frame it -----------------------------------------------------------------


def test_with_no_site_listed_it_may_be_framed_by_no_one(db, visitor):
    response = visitor.get(EMBED)

    assert response.status_code == 200
    assert frame_ancestors(response) == ["'none'"]


def test_exactly_the_listed_sites_may_frame_it(listed, visitor):
    response = visitor.get(EMBED)

    assert frame_ancestors(response) == [CHURCH_SITE, "https://grace.example:8443"]
    # X-Frame-Options cannot name sites; the policy says who may, so it is not sent.
    assert "X-Frame-Options" not in response
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    "path", [reverse("ask"), reverse("followup_help"), reverse("login"), reverse("privacy_notice")]
)
def test_every_other_page_still_refuses_every_frame(listed, client, path):
    response = client.get(path)

    assert frame_ancestors(response) == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"


def test_a_change_of_the_sites_takes_effect_at_once(listed, leader, visitor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        church_settings.save({"embed_origins": ["https://new.grace.example"]}, by=leader)

    assert frame_ancestors(visitor.get(EMBED)) == ["https://new.grace.example"]


# --- The page -------------------------------------------------------------------------


def test_it_is_the_form_alone_in_the_church_s_colours(listed, visitor):
    content = visitor.get(EMBED).content.decode()

    assert "<nav" not in content
    assert "<footer" not in content
    assert re.search(r'<link rel="stylesheet" href="/church\.[^"]+\.css">', content)
    assert 'name="title"' in content
    assert 'name="details"' in content
    assert "csrfmiddlewaretoken" not in content
    # Links out of the frame open on their own, not inside the church's page.
    assert re.search(r'href="/privacy/"[^>]* target="_blank" rel="noopener"', content)


def test_showing_it_sets_no_cookie(listed, visitor):
    response = visitor.get(EMBED)

    assert not response.cookies


def test_sending_it_from_a_frame_stores_the_request_and_shows_its_link_once(listed, visitor):
    response = visitor.post(EMBED, ask_data(title="Embedded ask"))

    assert response.status_code == 200
    prayer_request = PrayerRequest.objects.get()
    assert prayer_request.title == "Embedded ask"
    content = response.content.decode()
    (link,) = set(re.findall(r'value="(http://testserver/followup/[^"]+/)"', content))
    assert re.search(rf'href="{re.escape(link)}" target="_blank" rel="noopener"', content)
    assert not response.cookies, "the link went into a cookie"
    assert frame_ancestors(response) == [CHURCH_SITE, "https://grace.example:8443"]
    # The link works, and the page that showed it cannot be asked for again.
    assert visitor.get(link.removeprefix("http://testserver")).status_code == 200
    assert OutboxMessage.objects.count() == 1, "the follow-up e-mail with the link"
    again = visitor.get(EMBED).content.decode()
    assert link not in again


def test_the_honeypot_and_bad_input_change_nothing(listed, visitor):
    spam = visitor.post(EMBED, ask_data(website="http://spam.example"))
    empty = visitor.post(EMBED, ask_data(title=""))

    assert spam.status_code == 400
    assert empty.status_code == 200
    assert "nothing has been sent yet" in empty.content.decode()
    assert not PrayerRequest.objects.exists()
    assert frame_ancestors(empty) == [CHURCH_SITE, "https://grace.example:8443"]


def test_it_counts_against_the_same_rate_limit_as_the_public_page(listed, visitor, client, settings):
    settings.INTERCESSION_SUBMIT_LIMIT = 2
    client.post(reverse("ask"), ask_data())
    visitor.post(EMBED, ask_data())

    refused = visitor.post(EMBED, ask_data(title="One too many"))

    assert refused.status_code == 429
    assert PrayerRequest.objects.count() == 2
    assert "One too many" in refused.content.decode(), "what was typed came back"


def test_a_paused_form_shows_the_church_s_message_in_the_frame(listed, leader, visitor):
    church_settings.save({"form_open": False, "form_paused_message": "Back at Easter."}, by=leader)
    church.forget()

    shown = visitor.get(EMBED)
    refused = visitor.post(EMBED, ask_data())

    assert "Back at Easter." in shown.content.decode()
    assert refused.status_code == 409
    assert not PrayerRequest.objects.exists()
    assert frame_ancestors(refused) == [CHURCH_SITE, "https://grace.example:8443"]


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_refused(db, visitor, method):
    assert getattr(visitor, method)(EMBED).status_code == 405


# --- The setting ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (["https://www.Grace.example/"], ["https://www.grace.example"]),
        (["  https://grace.example:443  ", "", "https://grace.example"], ["https://grace.example"]),
        (["https://grace.example:8443"], ["https://grace.example:8443"]),
        (["https://église.example"], ["https://xn--glise-9ra.example"]),
        (["http://localhost:8000", "http://127.0.0.1"], ["http://localhost:8000", "http://127.0.0.1"]),
        ([], []),
    ],
)
def test_origins_are_kept_in_one_form(given, kept):
    assert church_settings.check_origins(given) == kept


@pytest.mark.parametrize(
    "given",
    [
        "www.grace.example",  # no scheme
        "http://grace.example",  # http is for this machine only
        "https://grace.example/prayer",  # a page, not a site
        "https://grace.example?x=1",
        "https://*.grace.example",
        "https://grace.example:0",
        "https://grace.example:99999",
        "https://grace.example:\uff18\uff10",  # digits, but not ASCII ones
        "https://user@grace.example",
        "javascript:alert(1)",
        "https://grace.example 'unsafe-inline'",
        "https://grace.example;script-src *",
        "https://-grace.example",
        "https://grace.exa\u200bmple",  # IDNA would map it away silently
        "https://grace.example\u202e",
        "https://grace\x00.example",
        "'self'",
        "*",
        "https://" + "a" * 300 + ".example",
    ],
)
def test_what_is_not_a_site_is_refused_with_a_message(given):
    with pytest.raises(ValidationError) as refusal:
        church_settings.check_origins([given])
    assert refusal.value.code == "invalid_origin"


def test_more_than_ten_sites_are_refused():
    with pytest.raises(ValidationError) as refusal:
        church_settings.check_origins([f"https://site{number}.example" for number in range(11)])
    assert refusal.value.code == "too_many_origins"


def test_the_settings_page_saves_the_sites_one_a_line_and_records_them(
    client, leader, django_capture_on_commit_callbacks
):
    client.force_login(leader)
    data = form_data()
    data["embed_origins"] = "https://www.grace.example\r\nhttps://Grace.example/"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SETTINGS_PAGE, data)

    assert response.status_code == 302
    assert ChurchSettings.objects.get().embed_origins == ["https://www.grace.example", "https://grace.example"]
    entry = AuditLogEntry.objects.get(action=AuditAction.SETTINGS_CHANGED)
    assert entry.details["embed_origins"] == [[], ["https://www.grace.example", "https://grace.example"]]
    page = client.get(SETTINGS_PAGE).content.decode()
    assert "https://www.grace.example\nhttps://grace.example</textarea>" in page


def test_the_settings_page_refuses_a_bad_site_and_changes_nothing(client, leader):
    client.force_login(leader)
    data = form_data(name="A new name")
    data["embed_origins"] = "https://www.grace.example\nhttps://evil.example; script-src *"

    response = client.post(SETTINGS_PAGE, data)

    assert response.status_code == 200
    assert "is not the address of a site" in response.content.decode()
    assert not ChurchSettings.objects.exists()
    assert not AuditLogEntry.objects.exists()


def test_the_settings_page_shows_the_snippet_to_paste(client, leader):
    client.force_login(leader)

    content = client.get(SETTINGS_PAGE).content.decode()

    assert "&lt;iframe id=&quot;intercession-ask&quot; src=&quot;http://testserver/embed/ask/&quot;" in content
    assert "event.origin === &quot;http://testserver&quot;" in content


def test_the_snippet_escapes_what_it_quotes():
    snippet = embed_snippet('https://prayer.example/embed/ask/"><script>')

    assert '"><script>' not in snippet
    assert "&quot;&gt;&lt;script&gt;" in snippet


@pytest.mark.parametrize(
    "typed", ["x" * 1_000_000, "https://www.grace.exa\u200bmple", "https://www.grace\u202e.example"]
)
def test_the_settings_page_refuses_a_huge_or_invisible_site_and_changes_nothing(client, leader, typed):
    client.force_login(leader)
    data = form_data()
    data["embed_origins"] = typed

    response = client.post(SETTINGS_PAGE, data)

    assert response.status_code == 200
    assert 'class="invalid-feedback"' in response.content.decode()
    assert not ChurchSettings.objects.exists()
