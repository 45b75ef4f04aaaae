"""
Every main page in every shipped language on a phone (issue 15): nothing
wider than the screen (long words and longer sentences wrap), Arabic right
to left (the header's brand on the right, the text starting there), and the
language menu switching the page with JavaScript and without.

Screenshots: `lang-<language>-<persona>-<page>` at 375 px. Like the audit
walk, this runs with the SQLite suite only: the markup does not depend on
the database.
"""

import os

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from playwright.sync_api import expect

from audit import pages

from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

LANGUAGES = ("es", "pt-br", "fr", "ko", "ar")
# What is wider than the screen: the element and its width, for the report.
TOO_WIDE = """() => {
  const width = document.documentElement.clientWidth;
  const hidden = '.visually-hidden, .visually-hidden-focusable, dialog:not([open])';
  const wide = [...document.querySelectorAll('body *')].filter((element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && (box.right > width + 1 || box.left < -1) && !element.closest(hidden);
  });
  const text = (element) => (element.textContent || '').trim().slice(0, 40);
  const named = (element) => `${element.tagName}.${element.className} ${text(element)}`;
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5).map(named)};
}"""


@pytest.fixture
def demo(live_server):
    if connection.vendor != "sqlite":
        pytest.skip("The language walk runs with the SQLite suite")
    call_command("seed_demo", force=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return pages.prepare()


def _log_in(context, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_main_page_fits_a_phone_in_the_language(
    chromium, live_server, insecure_cookies_for_http, demo, shoot, code
):
    overflowing = {}
    for persona, visits in pages.main_pages(demo).items():
        context = chromium.new_context(viewport=PHONE, base_url=live_server.url)
        context.add_cookies([{"name": "django_language", "value": code, "url": live_server.url}])
        if persona in demo.users:
            # A member's own language outranks the cookie: theirs is unset here.
            _log_in(context, live_server, demo.users[persona])
        page = context.new_page()
        for name, path in visits:
            response = page.goto(path)
            assert response.status == pages.expected_status(name), (code, path, response.status)
            assert page.locator("html").get_attribute("lang") == code
            assert page.locator("html").get_attribute("dir") == ("rtl" if code == "ar" else "ltr")
            measured = page.evaluate(TOO_WIDE)
            if measured["scroll"] > measured["width"]:
                overflowing[f"{persona}-{name}"] = measured
            shoot(page, f"lang-{code}-{persona}-{name}")
        context.close()

    assert overflowing == {}


def test_arabic_reads_from_the_right(new_page, demo, shoot):
    page = new_page(viewport=PHONE, extra_http_headers={"Accept-Language": "ar"})
    page.goto("/ask/")

    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    brand = page.locator(".navbar-brand").bounding_box()
    toggler = page.locator(".navbar-toggler").bounding_box()
    assert brand["x"] > toggler["x"], "the brand is on the right, the menu button on the left"
    heading = page.locator("h1").first.bounding_box()
    assert heading["x"] + heading["width"] > PHONE["width"] - 40, "the heading starts at the right"
    shoot(page, "lang-ar-ask-rtl")


@pytest.mark.parametrize("scripts", [True, False], ids=["js", "no-js"])
def test_the_language_menu_switches_the_page(new_page, demo, scripts):
    page = new_page(viewport=PHONE, java_script_enabled=scripts)
    page.goto("/privacy/")
    assert page.locator("html").get_attribute("lang") == "en"

    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Change").click()

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert page.url.endswith("/privacy/")
    page.get_by_label("Langue").select_option("ko")
    page.get_by_role("button", name="Changer").click()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
