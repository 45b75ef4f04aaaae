"""
A requester who lost their link, in a real browser at phone width: from the
menu to the page on following a request, to "Lost your link?", to the page
that says what was sent; then the new link from the e-mail opens the
request. Screenshots `phone-followup-help`, `phone-followup-lost`,
`phone-followup-lost-error`, `phone-followup-lost-sent`.
"""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from requests_app import services
from requests_app.models import Category

from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "martha@example.org"


def fits_the_width(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_requester_gets_new_links_on_a_phone(new_page, shoot, live_server, settings):
    settings.INTERCESSION_SITE_URL = live_server.url
    services.submit_request(for_whom="M.", title="Healing", category=Category.HEALTH, requester_email=ADDRESS)
    mail.outbox.clear()

    def look(page: Page, name: str) -> None:
        assert fits_the_width(page), f"{name} scrolls sideways at 375px"
        shoot(page, f"phone-{name}")

    page = new_page(viewport=PHONE)
    page.goto("/ask/")
    page.get_by_role("button", name="Toggle navigation").click()
    page.get_by_role("link", name="Follow my request").click()
    expect(page.get_by_role("heading", name="Following your prayer request")).to_be_visible()
    look(page, "followup-help")

    page.get_by_role("link", name="Send me new links").click()
    expect(page.get_by_role("heading", name="Lost your link?")).to_be_visible()
    look(page, "followup-lost")
    page.get_by_label("The e-mail address you gave").fill("not an address")
    page.get_by_role("button", name="Send me new links").click()
    expect(page.get_by_text("Enter a valid e-mail address, such as name@example.org.")).to_be_visible()
    look(page, "followup-lost-error")
    page.get_by_label("The e-mail address you gave").fill(ADDRESS)
    page.get_by_role("button", name="Send me new links").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    look(page, "followup-lost-sent")

    (message,) = mail.outbox
    (link,) = set(re.findall(r"http://[^\s\"<>]+/followup/[A-Za-z0-9_-]+/", message.body))
    page.goto(link)
    expect(page.get_by_role("heading", name="Your prayer request")).to_be_visible()
