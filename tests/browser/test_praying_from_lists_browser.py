"""
"I prayed" from My assignments in a real browser, on a phone (375 px): with
JavaScript the prayer is logged in place (the row says "Prayed just now",
the page neither navigates, nor scrolls, nor reorders); without it, the form
posts and the browser comes back to the same row.

The request's own page does the same: in place with JavaScript (its status
card and its prayer count say so, the document is not reloaded), back to
the page without.

Screenshots: `prayed-in-place-phone`, `prayed-in-place-nojs`,
`prayed-in-place-request-page`, `prayed-request-page-nojs`.
"""

import re

import pytest
from conftest import PASSWORD, make_user, submit
from playwright.sync_api import Page, expect

from requests_app import roles, services
from requests_app.models import PrayerLog

from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

TARGET = 44


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name=re.compile(r"^Log out"), include_hidden=True)).to_be_attached()


def carried(how_many: int):
    """An intercessor carrying `how_many` requests, enough to scroll a phone."""
    leader = make_user("lydia", roles.LEADERS)
    anna = make_user("anna", roles.INTERCESSORS)
    made = []
    for number in range(how_many):
        prayer_request = submit(title=f"Request number {number}")
        services.assign(prayer_request, [anna], by=leader)
        made.append(prayer_request)
    return anna, made


def row_ids(page: Page) -> list[str]:
    return page.eval_on_selector_all("li[id^=request-]", "rows => rows.map(row => row.id)")


def test_it_logs_a_prayer_in_place(new_page, shoot):
    anna, made = carried(6)
    page = new_page(viewport=PHONE)
    log_in(page, "anna")
    page.goto("/mine/")
    order = row_ids(page)
    target = made[-1]
    row = page.locator(f"#request-{target.pk}")
    button = row.get_by_role("button", name=re.compile("^I prayed"))
    button.scroll_into_view_if_needed()
    assert button.bounding_box()["height"] >= TARGET
    url, scrolled = page.url, page.evaluate("window.scrollY")
    assert scrolled > 0
    button.click()
    expect(row.get_by_text("Prayed just now")).to_be_visible()
    expect(row.get_by_role("status")).to_have_text("Prayer logged — thank you for standing in the gap.")
    assert page.url == url
    assert page.evaluate("window.scrollY") == scrolled
    assert row_ids(page) == order
    # A second tap on the same form logs nothing more (the button is off,
    # and the key is the same anyway).
    assert button.is_disabled()
    assert PrayerLog.objects.filter(prayer_request=target, intercessor=anna).count() == 1
    shoot(page, "prayed-in-place-phone")


def test_it_comes_back_to_the_row_without_javascript(new_page, shoot):
    anna, made = carried(6)
    page = new_page(viewport=PHONE, java_script_enabled=False)
    log_in(page, "anna")
    page.goto("/mine/")
    target = made[-1]
    row = page.locator(f"#request-{target.pk}")
    row.get_by_role("button", name=re.compile("^I prayed")).click()
    page.wait_for_url(re.compile(rf"/mine/#request-{target.pk}$"))
    expect(page.get_by_text("Prayer logged — thank you for standing in the gap.")).to_be_visible()
    expect(page.locator(f"#request-{target.pk}")).to_be_in_viewport()
    assert PrayerLog.objects.filter(prayer_request=target, intercessor=anna).count() == 1
    shoot(page, "prayed-in-place-nojs")


# The request's own page: its "I prayed" is the same form, with the same script.


def test_it_logs_a_prayer_in_place_on_the_request_page(new_page, shoot):
    anna, made = carried(1)
    target = made[0]
    page = new_page(viewport=PHONE)
    log_in(page, "anna")
    page.goto(f"/requests/{target.pk}/")
    # A property of this very document: a reload would lose it.
    page.evaluate("window.stillHere = 'yes'")
    url = page.url
    status_card = page.locator("section[aria-labelledby=status-heading]")
    prayer_log = page.locator("#prayer-log")
    expect(prayer_log).to_contain_text("0 prayers logged.")
    button = status_card.get_by_role("button", name=re.compile("^I prayed"))
    assert button.bounding_box()["height"] >= TARGET
    # A double tap: the script posts once, and the key is the same anyway.
    button.dblclick()
    expect(status_card.get_by_role("status")).to_have_text("Prayer logged — thank you for standing in the gap.")
    expect(status_card.get_by_text("Prayed just now")).to_be_visible()
    expect(prayer_log).to_contain_text("1 prayer logged.")
    expect(prayer_log).to_contain_text("Prayed just now")
    # My own line among those standing in the gap (it said "never").
    standing = page.locator("section[aria-labelledby=intercessors-heading] li", has_text="anna")
    expect(standing).to_contain_text("Prayed just now")
    expect(standing).not_to_contain_text("never")
    assert page.evaluate("window.stillHere") == "yes"
    assert page.url == url
    assert button.is_disabled()
    assert PrayerLog.objects.filter(prayer_request=target, intercessor=anna).count() == 1
    page.evaluate("window.getSelection().removeAllRanges()")  # the double tap's selection
    shoot(page, "prayed-in-place-request-page")


def test_it_logs_minutes_and_a_note_from_the_request_page(new_page):
    anna, made = carried(1)
    target = made[0]
    page = new_page(viewport=PHONE)
    log_in(page, "anna")
    page.goto(f"/requests/{target.pk}/")
    status_card = page.locator("section[aria-labelledby=status-heading]")
    status_card.get_by_text("Add minutes, fasting or a note").click()
    status_card.get_by_label("Minutes").fill("15")
    status_card.get_by_label("I fasted").check()
    status_card.get_by_label("Note (seen by the team)").fill("Peace in the family.")
    status_card.get_by_role("button", name=re.compile("^I prayed")).click()
    expect(status_card.get_by_role("status")).to_have_text("Prayer logged — thank you for standing in the gap.")
    log = PrayerLog.objects.get(prayer_request=target, intercessor=anna)
    assert (log.minutes, log.fasted, log.note) == (15, True, "Peace in the family.")


def test_it_comes_back_to_the_request_page_without_javascript(new_page, shoot):
    anna, made = carried(1)
    target = made[0]
    page = new_page(viewport=PHONE, java_script_enabled=False)
    log_in(page, "anna")
    page.goto(f"/requests/{target.pk}/")
    page.locator("section[aria-labelledby=status-heading]").get_by_role("button", name=re.compile("^I prayed")).click()
    page.wait_for_url(re.compile(rf"/requests/{target.pk}/$"))
    expect(page.get_by_text("Prayer logged — thank you for standing in the gap.")).to_be_visible()
    expect(page.locator("#prayer-log")).to_contain_text("1 prayer logged.")
    assert PrayerLog.objects.filter(prayer_request=target, intercessor=anna).count() == 1
    shoot(page, "prayed-request-page-nojs")
