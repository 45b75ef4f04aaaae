"""
The first leader's link in a real browser, on a phone: the page to choose a
password fits, its token leaves in no Referer (the stylesheets and scripts
it loads, the POST), the form goes through Django's CSRF check, and the
leader lands on triage; the link then gives the plain refusal. The log-in
page offers "Forgotten your password?".

Screenshots: `phone-password-link`, `phone-password-link-errors`,
`phone-password-link-refused`, `phone-login-forgotten`.
"""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

CHOSEN = "a-quiet-place-of-prayer-7"
# Crispy marks a required field's label with an asterisk.
NEW_PASSWORD = re.compile(r"^\s*New password\s*\*?\s*$")
CONFIRMATION = re.compile(r"^\s*New password confirmation\s*\*?\s*$")


def fits(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_new_leader_chooses_a_password_on_a_phone(new_page, shoot, live_server):
    out = io.StringIO()
    call_command("create_leader", "--email", "lydia@church.example", "--name", "Lydia Leader", stdout=out)
    path = re.search(r"(/accounts/welcome/([A-Za-z0-9_-]+)/)", out.getvalue()).group(1)
    token = path.split("/")[-2]
    page = new_page(viewport=PHONE)
    sent = []
    page.on("request", lambda request: sent.append((request.url, request.headers.get("referer") or "")))

    page.goto(path)

    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    expect(page.get_by_text("lydia@church.example")).to_be_visible()
    assert fits(page), "the page scrolls sideways"
    shoot(page, "phone-password-link")

    page.get_by_label(NEW_PASSWORD).fill("short")
    page.get_by_label(CONFIRMATION).fill("short")
    page.get_by_role("button", name="Set my password and log in").click()
    expect(page.get_by_text("This password is too short.")).to_be_visible()
    assert fits(page), "the page with errors scrolls sideways"
    shoot(page, "phone-password-link-errors")

    page.get_by_label(NEW_PASSWORD).fill(CHOSEN)
    page.get_by_label(CONFIRMATION).fill(CHOSEN)
    page.get_by_role("button", name="Set my password and log in").click()

    expect(page.get_by_role("heading", name="Triage", exact=True)).to_be_visible()
    expect(page.get_by_text("Your password is chosen, and you are logged in. Welcome!")).to_be_visible()
    # The stylesheets, scripts and the POST went with the site's origin as
    # Referer, never with the path that holds the token.
    referers = {referer for _url, referer in sent}
    assert f"{live_server.url}/" in referers
    assert [url for url, referer in sent if token in referer] == []

    other = new_page(viewport=PHONE)
    other.goto(path)
    expect(other.get_by_role("heading", name="This link is no longer valid")).to_be_visible()
    assert fits(other)
    shoot(other, "phone-password-link-refused")

    other.get_by_role("link", name="Log in", exact=True).last.click()
    expect(other.get_by_role("link", name="Forgotten your password?")).to_be_visible()
    shoot(other, "phone-login-forgotten")
    other.get_by_role("link", name="Forgotten your password?").click()
    expect(other.get_by_role("heading", name="Forgotten your password?")).to_be_visible()
