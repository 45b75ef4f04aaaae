"""
The church's settings page in a real browser: it fits a phone and a desktop
without scrolling sideways, the leaders' menu takes one line at 1280 px,
and what a leader saves shows at once: the name in the header, the accent
colour on the header and the buttons (through the church's stylesheet,
under the Content-Security-Policy), the welcome text on /ask/ with its line
breaks. A colour too light for white text is refused on the page.

Screenshots: `church-settings-phone`, `church-settings-desktop`,
`church-settings-refused-phone`, `ask-welcome-accent-phone`,
`ask-welcome-accent-desktop`, `audit-log-phone`.
"""

import re

import pytest
from conftest import PASSWORD, make_user
from playwright.sync_api import Page, expect

from requests_app import roles
from requests_app.models import AuditLogEntry, ChurchSettings

from .conftest import DESKTOP, PHONE

pytestmark = pytest.mark.django_db(transaction=True)

ACCENT = "#1d4ed8"
ACCENT_RGB = "rgb(29, 78, 216)"


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name=re.compile(r"^Log out"), include_hidden=True)).to_be_attached()


def fits(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def menu_rows(page: Page, menu: str) -> int:
    """How many lines the entries of one of the menu's lists take."""
    tops = page.evaluate(
        "menu => [...document.querySelectorAll(`#main-nav > ul:nth-of-type(${menu}) > .nav-item`)]"
        ".map(item => Math.round(item.getBoundingClientRect().top))",
        menu,
    )
    return len(set(tops))


def links_on_one_line(page: Page) -> bool:
    """No entry of the menu, nor the church's name, runs onto a second line."""
    return page.evaluate(
        "[...document.querySelectorAll('#main-nav .nav-link, .navbar-brand')]"
        ".every(link => link.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(link).lineHeight))"
    )


def background_of(page: Page, selector: str) -> str:
    return page.eval_on_selector(selector, "element => getComputedStyle(element).backgroundColor")


def test_a_leader_gives_the_church_its_name_colour_and_welcome(new_page, shoot):
    make_user("lydia", roles.LEADERS, roles.INTERCESSORS, first_name="Lydia", last_name="Leader")

    for viewport, name in ((PHONE, "church-settings-phone"), (DESKTOP, "church-settings-desktop")):
        page = new_page(viewport=viewport)
        log_in(page, "lydia")
        page.goto("/church/")
        expect(page.get_by_role("heading", name="Church settings", exact=True)).to_be_visible()
        expect(page.get_by_label("The church's name")).to_be_visible()
        expect(page.get_by_role("group", name="The order of the categories")).to_be_visible()
        assert fits(page), f"{name} scrolls sideways"
        assert links_on_one_line(page), f"{name}: a menu entry wraps"
        if viewport is DESKTOP:
            # The fullest menu, a leader who also intercedes, on one line
            # (the leaders' pages and the account's are in menus).
            assert (menu_rows(page, 1), menu_rows(page, 2)) == (1, 1), "the leaders' menu wraps"
        shoot(page, name)

    page.get_by_label("The church's name").fill("Grace Fellowship of the Valley")
    page.get_by_label("Welcome text").fill("Welcome, friend.\nThe team prays every Tuesday evening.")
    page.get_by_label("Contact line").fill("Church office: 01234 567890")
    page.get_by_label("Accent colour").fill(ACCENT.upper())
    page.get_by_role("button", name="Save the church's settings").click()

    expect(page.get_by_text("The church's settings are saved.")).to_be_visible()
    expect(page.locator(".navbar-brand")).to_have_text("Grace Fellowship of the Valley")
    assert background_of(page, "nav.bg-intercession") == ACCENT_RGB
    assert background_of(page, ".btn-primary") == ACCENT_RGB
    assert page.title() == "Church settings · Grace Fellowship of the Valley"
    assert ChurchSettings.objects.get().accent_colour == ACCENT
    assert AuditLogEntry.objects.count() == 1

    for viewport, name in ((PHONE, "ask-welcome-accent-phone"), (DESKTOP, "ask-welcome-accent-desktop")):
        visitor = new_page(viewport=viewport)
        errors = []
        visitor.on(
            "console", lambda message, errors=errors: errors.append(message.text) if message.type == "error" else None
        )
        visitor.goto("/ask/")
        welcome = visitor.locator("p.lead")
        expect(welcome).to_contain_text("Welcome, friend.")
        assert welcome.locator("br").count() == 1, "the line break is kept"
        expect(visitor.get_by_text("Church office: 01234 567890")).to_be_visible()
        assert background_of(visitor, "nav.bg-intercession") == ACCENT_RGB
        assert background_of(visitor, "button.btn-primary") == ACCENT_RGB
        assert fits(visitor), f"{name} scrolls sideways"
        assert errors == [], errors  # nothing refused by the Content-Security-Policy
        shoot(visitor, name)

    phone = new_page(viewport=PHONE)
    log_in(phone, "lydia")
    phone.goto("/audit/")
    expect(phone.get_by_text("Church settings changed")).to_be_visible()
    expect(phone.get_by_text("accent colour: #4a2c6d → #1d4ed8")).to_be_visible()
    assert fits(phone), "the audit log scrolls sideways"
    shoot(phone, "audit-log-phone")


def test_a_colour_too_light_for_white_text_is_refused_on_the_page(new_page, shoot):
    make_user("lydia", roles.LEADERS, first_name="Lydia")
    page = new_page(viewport=PHONE)
    log_in(page, "lydia")
    page.goto("/church/")

    page.get_by_label("Accent colour").fill("#ffff00")
    page.get_by_role("button", name="Save the church's settings").click()

    expect(page.get_by_text("White text on #ffff00 has a contrast of only 1.07:1")).to_be_visible()
    expect(page.get_by_text("nothing has been saved yet")).to_be_visible()
    assert not ChurchSettings.objects.exists()
    assert fits(page)
    page.get_by_label("Accent colour").scroll_into_view_if_needed()
    shoot(page, "church-settings-refused-phone")
