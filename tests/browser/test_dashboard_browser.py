"""
The leader's dashboard and the prayer sheet in a real browser: the charts
are drawn at desktop and phone widths without anything scrolling sideways,
and the printed sheet leaves the navigation off the paper.

Screenshots: `desktop-dashboard`, `phone-dashboard`, `desktop-prayer-sheet`,
`print-prayer-sheet`.
"""

import re
from datetime import timedelta

import pytest
from conftest import PASSWORD, make_user
from django.utils import timezone
from playwright.sync_api import Page, expect

from requests_app import roles, services
from requests_app.models import Category, PrayerRequest

from .conftest import DESKTOP, PHONE

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "Confidential-Bt5Yn"


def a_team_at_work():
    """A leader, three intercessors (one over capacity), requests in every
    category of the sheet and prayers spread over the last weeks."""
    leader = make_user("lydia", roles.LEADERS, first_name="Lydia", last_name="Shepherd")
    anna = make_user("anna", roles.INTERCESSORS, first_name="Anna", last_name="Faithful", capacity=4)
    simeon = make_user("simeon", roles.INTERCESSORS, first_name="Simeon", last_name="Watchman", capacity=5)
    make_user("dorcas", roles.INTERCESSORS, first_name="Dorcas", last_name="Kindheart-Longname", available=False)
    now = timezone.now()
    for number, category in enumerate([Category.HEALTH, Category.FAMILY, Category.CHURCH, Category.NATION] * 2):
        prayer_request, _token = services.submit_request(
            for_whom=f"Person {number}",
            title=f"Request {number} for the meeting",
            category=category,
            details="Pray for strength, for peace, and for the right doctors.",
            is_urgent=number == 3,
            is_confidential=False,
        )
        if number >= 6:
            # Not assigned, but shared with the team: on the board and the sheet.
            services.share_with_team(prayer_request, by=leader)
        if number < 6:
            services.assign(prayer_request, [anna if number % 2 else simeon], by=leader)
            for week in range(number + 1):
                services.log_prayer(prayer_request, intercessor=anna, prayed_at=now - timedelta(weeks=week, hours=1))
    secret, _token = services.submit_request(for_whom=SECRET, title=SECRET, category=Category.FINANCES)
    services.assign(secret, [simeon], by=leader)
    # Simeon said he could carry one fewer than he now does.
    simeon.intercessor_profile.max_active_assignments = 2
    simeon.intercessor_profile.save()
    PrayerRequest.objects.filter(pk=secret.pk).update(created_at=now - timedelta(days=3))
    return leader


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name=re.compile(r"^Log out"), include_hidden=True)).to_be_attached()


def fits_the_width(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_it_draws_the_dashboard_at_desktop_and_phone_widths(new_page, shoot):
    a_team_at_work()
    for viewport, name in ((DESKTOP, "desktop-dashboard"), (PHONE, "phone-dashboard")):
        page = new_page(viewport=viewport)
        log_in(page, "lydia")
        page.goto("/dashboard/")

        expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
        weekly = page.get_by_role("img", name="Prayers logged per week")
        load = page.get_by_role("img", name="Load against capacity")
        for chart in (weekly, load):
            expect(chart).to_be_visible()
            box = chart.bounding_box()
            assert box["width"] > 300, box
            assert box["height"] > 60, box
            assert box["x"] + box["width"] <= viewport["width"]
        expect(weekly.locator("rect")).to_have_count(6)  # prayers in each of the last 6 weeks
        expect(load.locator("text").filter(has_text="Simeon Watchman")).to_be_visible()
        expect(load.locator("text").filter(has_text="4/2")).to_be_visible()
        assert SECRET not in page.content()
        # The numbers behind each chart, one click away.
        page.get_by_text("The numbers, week by week").click()
        page.get_by_text("The numbers, intercessor by intercessor").click()
        expect(page.get_by_role("table", name="Prayers logged per week")).to_be_visible()
        expect(page.get_by_role("table", name="Load against capacity")).to_be_visible()
        assert fits_the_width(page), f"{name} scrolls sideways"
        shoot(page, name)


def test_it_prints_the_prayer_sheet_without_the_navigation(new_page, shoot):
    a_team_at_work()
    page = new_page(viewport=DESKTOP)
    log_in(page, "lydia")
    page.locator("#main-nav summary", has_text="Leading").click()
    page.get_by_role("link", name="Prayer sheet").click()

    expect(page.get_by_role("heading", name="Prayer sheet", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Health", exact=True)).to_be_visible()
    expect(page.locator("article.prayer-sheet-request")).to_have_count(8)
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # shown when scripts run
    assert SECRET not in page.content()
    assert page.get_by_role("heading", name="Finances").count() == 0
    assert fits_the_width(page)
    shoot(page, "desktop-prayer-sheet")

    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.get_by_role("heading", name="Prayer sheet", exact=True)).to_be_visible()
    expect(page.get_by_text("Open requests as of")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    assert page.evaluate("getComputedStyle(document.querySelector('.prayer-sheet-request')).breakInside") in (
        "avoid",
        "avoid-page",
    )
    shoot(page, "print-prayer-sheet")
