"""
Pray now in a real browser, on a phone (375 px), with JavaScript and
without: from My assignments to the start page, the choice (also the team
board), one request at a time with "I prayed" (minutes, fasting and a note
too), "Skip", and the end with its counts and "Start again". The buttons
are big, at the bottom of the screen, and "I prayed" has the focus, so a
laptop's Enter prays.

Screenshots: `prayer-start-phone`, `prayer-session-phone`,
`prayer-session-details-phone`, `prayer-end-phone`, each also `-nojs`.
"""

import re

import pytest
from conftest import PASSWORD, make_user
from playwright.sync_api import Page, expect

from requests_app import roles, services
from requests_app.models import Category, PrayerLog, PrayerSession

from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

# WCAG 2.2's target size, with room: every button of the session at least this tall.
TARGET = 44


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name=re.compile(r"^Log out"), include_hidden=True)).to_be_attached()


def fits_the_width(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def the_team():
    lydia = make_user("lydia", roles.LEADERS, first_name="Lydia")
    anna = make_user("anna", roles.INTERCESSORS, first_name="Anna")
    simeon = make_user("simeon", roles.INTERCESSORS, first_name="Simeon")
    requests = {}
    for title, urgent, confidential, carrier in [
        ("Healing after surgery", True, True, anna),
        ("A new job for J.", False, True, anna),
        ("Peace in the family", False, False, anna),
        ("The youth camp", False, False, simeon),  # on the team board
    ]:
        prayer_request, _token = services.submit_request(
            for_whom="M. K." if urgent else "J.",
            title=title,
            category=Category.HEALTH if urgent else Category.FAMILY,
            details="Recovering slowly; pray for strength\nand for the doctors." if urgent else "",
            is_urgent=urgent,
            is_confidential=confidential,
        )
        services.assign(prayer_request, [carrier], by=lydia)
        requests[title] = prayer_request
    return anna, requests


def the_buttons_are_big_and_at_the_bottom(page: Page) -> None:
    height = page.viewport_size["height"]
    for name in ("I prayed", "Skip"):
        box = page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box["height"] >= TARGET, (name, box)
        assert box["width"] >= TARGET, (name, box)
        # In reach of a thumb: at the bottom of the screen.
        assert box["y"] > height * 0.85, (name, box, height)
        assert box["y"] + box["height"] <= height, (name, box, height)


@pytest.mark.parametrize("scripted", [True, False], ids=["js", "nojs"])
def test_an_intercessor_prays_through_a_session_on_a_phone(new_page, shoot, scripted):
    anna, requests = the_team()
    suffix = "" if scripted else "-nojs"
    page = new_page(viewport=PHONE, java_script_enabled=scripted)
    log_in(page, "anna")

    page.goto("/mine/")
    page.get_by_role("link", name="Pray now: one at a time").click()
    expect(page.get_by_role("heading", name="Pray now")).to_be_visible()
    expect(page.get_by_text("With this choice: 3 requests.")).to_be_visible()
    page.get_by_label("Also the requests on the team board").check()
    page.get_by_role("button", name="Count again").click()
    expect(page.get_by_text("With this choice: 4 requests.")).to_be_visible()
    expect(page.get_by_label("Also the requests on the team board")).to_be_checked()
    assert fits_the_width(page), "the start page scrolls sideways at 375px"
    shoot(page, f"prayer-start-phone{suffix}")
    page.get_by_role("button", name="Start praying").click()

    # The urgent one first, whole; "I prayed" focused.
    expect(page.get_by_role("heading", name="Healing after surgery")).to_be_visible()
    expect(page.get_by_text("For M. K.")).to_be_visible()
    expect(page.get_by_text("and for the doctors.")).to_be_visible()
    expect(page.get_by_text("Request 1 of 4")).to_be_visible()
    expect(page.get_by_role("button", name="I prayed", exact=True)).to_be_focused()
    the_buttons_are_big_and_at_the_bottom(page)
    assert fits_the_width(page), "the session page scrolls sideways at 375px"
    shoot(page, f"prayer-session-phone{suffix}")

    page.get_by_text("Add minutes, fasting or a note").click()
    page.get_by_label("Minutes").fill("15")
    page.get_by_label("I fasted").check()
    page.get_by_label("Note (seen by the team)").fill("Peace came while we prayed.")
    shoot(page, f"prayer-session-details-phone{suffix}")
    page.get_by_role("button", name="I prayed", exact=True).click()
    expect(page.get_by_text("Prayer logged — thank you for standing in the gap.")).to_be_visible()
    expect(page.get_by_text("Request 2 of 4")).to_be_visible()

    page.get_by_role("button", name="Skip", exact=True).click()
    expect(page.get_by_text("Request 3 of 4")).to_be_visible()
    # The keyboard: Enter on the focused "I prayed".
    expect(page.get_by_role("button", name="I prayed", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Request 4 of 4")).to_be_visible()
    page.get_by_role("button", name="I prayed", exact=True).click()

    expect(page.get_by_role("heading", name="Your prayer session is complete")).to_be_visible()
    expect(page.get_by_text("You prayed for 3 requests.")).to_be_visible()
    expect(page.get_by_text("You skipped 1.")).to_be_visible()
    assert fits_the_width(page)
    shoot(page, f"prayer-end-phone{suffix}")

    logged = PrayerLog.objects.filter(intercessor=anna)
    assert logged.count() == 3
    first = logged.get(prayer_request=requests["Healing after surgery"])
    assert (first.minutes, first.fasted, first.note) == (15, True, "Peace came while we prayed.")

    page.get_by_role("button", name="Start again").click()
    expect(page.get_by_text("Request 1 of 4")).to_be_visible()
    session = PrayerSession.objects.get(user=anna)
    assert (session.include_board, session.position, session.prayed_count) == (True, 0, 0)
