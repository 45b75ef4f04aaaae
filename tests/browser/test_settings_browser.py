"""
"My settings" in a real browser, for a leader who also intercedes (every
section shown): it fits a phone and a desktop, and choosing the daily digest
is saved.

Screenshots: `phone-settings-leader`, `desktop-settings-leader`.
"""

import re

import pytest
from conftest import PASSWORD, make_user
from playwright.sync_api import Page, expect

from requests_app import roles
from requests_app.models import NotificationPreferences

from .conftest import DESKTOP, PHONE

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name=re.compile(r"^Log out"), include_hidden=True)).to_be_attached()


def test_a_leader_who_intercedes_chooses_a_daily_digest(new_page, shoot):
    leader = make_user("lydia", roles.LEADERS, roles.INTERCESSORS, first_name="Lydia", email="lydia@example.org")
    for viewport, name in ((PHONE, "phone-settings-leader"), (DESKTOP, "desktop-settings-leader")):
        page = new_page(viewport=viewport)
        log_in(page, "lydia")
        page.goto("/settings/")

        expect(page.get_by_role("heading", name="My settings", exact=True)).to_be_visible()
        expect(page.get_by_role("group", name="As a leader, e-mail me when:")).to_be_visible()
        expect(page.get_by_role("group", name="As an intercessor, e-mail me when:")).to_be_visible()
        expect(page.get_by_label("A new prayer request arrives, or the team flags one for review")).to_be_checked()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{name} scrolls sideways"
        shoot(page, name)

    page.get_by_label("Once a day, all together in one digest e-mail").check()
    page.get_by_label("A new prayer request arrives, or the team flags one for review").uncheck()
    page.get_by_role("button", name="Save my settings").click()

    expect(page.get_by_text("Your settings are saved.")).to_be_visible()
    expect(page.get_by_label("Once a day, all together in one digest e-mail")).to_be_checked()
    prefs = NotificationPreferences.objects.get(user=leader)
    assert (prefs.delivery, prefs.new_requests, prefs.my_assignments) == ("daily", False, True)
