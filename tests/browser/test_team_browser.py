"""
The team page in a real browser, as a leader runs the team: on a phone, the
controls of each member behind "Manage" (no sideways scroll), a capacity
changed, a second leader made, someone deactivated and brought back; on the
assign page, "give room for one more" for a full intercessor, who can then be
assigned. The same page at desktop width.

Screenshots: `team-manage-phone`, `team-manage-desktop`, `assign-room-phone`,
`my-settings-limits-changed-phone`.
"""

import re

import pytest
from conftest import PASSWORD, make_user, submit
from playwright.sync_api import Page, expect

from requests_app import roles, services
from requests_app.models import Assignment, IntercessorProfile, PrayerRequest

from .conftest import DESKTOP, PHONE

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name=re.compile(r"^Log out"), include_hidden=True)).to_be_attached()


def fits_the_width(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def the_team():
    lydia = make_user("lydia", roles.LEADERS, roles.INTERCESSORS, first_name="Lydia", last_name="Shepherd")
    anna = make_user("anna", roles.INTERCESSORS, first_name="Anna", last_name="Faithful", capacity=1)
    make_user("simeon", roles.INTERCESSORS, first_name="Simeon", last_name="Watchman", available=False)
    make_user("demas", roles.INTERCESSORS, first_name="Demas", last_name="Departed", is_active=False)
    services.assign(submit(title="Anna's one"), [anna], by=lydia)
    return lydia, anna


def card_of(page: Page, name: str):
    return page.locator("li.card").filter(has=page.get_by_role("heading", name=name))


def test_a_leader_runs_the_team_on_a_phone(new_page, shoot):
    _lydia, anna = the_team()
    page = new_page(viewport=PHONE)
    log_in(page, "lydia")
    page.goto("/team/")
    expect(page.get_by_role("heading", name="Active members")).to_be_visible()
    expect(page.get_by_role("heading", name="Deactivated")).to_be_visible()
    annas = card_of(page, "Anna Faithful")
    expect(annas.get_by_text("1 of 1")).to_be_visible()
    annas.get_by_text("Manage").click()
    expect(annas.get_by_label("How many requests they can carry")).to_be_visible()
    assert fits_the_width(page), "the team page scrolls sideways at 375px"
    shoot(page, "team-manage-phone")

    # A capacity changed, from the phone.
    annas.get_by_label("How many requests they can carry").fill("4")
    annas.get_by_role("button", name=re.compile(r"^Save capacity and availability")).click()
    expect(
        page.get_by_text("Anna Faithful can now carry up to 4 requests, and is available for new ones.")
    ).to_be_visible()
    assert IntercessorProfile.objects.get(user=anna).max_active_assignments == 4

    # A second leader.
    simeons = card_of(page, "Simeon Watchman")
    simeons.get_by_text("Manage").click()
    simeons.get_by_role("button", name=re.compile(r"^Make a leader")).click()
    expect(page.get_by_text("Simeon Watchman is now a leader. Every leader has been told.")).to_be_visible()
    expect(card_of(page, "Simeon Watchman").get_by_text("Leader and intercessor")).to_be_visible()

    # Anna leaves: what she carried is released; then she comes back.
    annas = card_of(page, "Anna Faithful")
    annas.get_by_text("Manage").click()
    annas.get_by_role("button", name=re.compile(r"^Deactivate")).click()
    expect(page.get_by_text(re.compile(r"^Anna Faithful is deactivated and can no longer log in"))).to_be_visible()
    assert not Assignment.objects.active().filter(intercessor=anna).exists()
    gone = page.locator("#deactivated li").filter(has_text="Anna Faithful")
    gone.get_by_role("button", name=re.compile(r"^Reactivate")).click()
    expect(
        page.get_by_text("Anna Faithful is back on the team, with no assignments: they can log in again.")
    ).to_be_visible()
    expect(card_of(page, "Anna Faithful")).to_be_visible()
    assert fits_the_width(page)


def test_a_leader_gives_a_full_intercessor_room_for_one_more(new_page, shoot):
    _lydia, anna = the_team()
    prayer_request = submit(title="Waiting for someone")
    page = new_page(viewport=PHONE)
    log_in(page, "lydia")
    page.goto(f"/requests/{prayer_request.pk}/assign/")
    expect(page.get_by_role("checkbox", name=re.compile(r"^Anna Faithful"))).to_be_disabled()
    expect(page.get_by_text("Sets their capacity to 2.")).to_be_visible()
    assert fits_the_width(page), "the assign page scrolls sideways at 375px"
    shoot(page, "assign-room-phone")

    page.get_by_role("button", name=re.compile(r"^Give room for one more \(Anna Faithful\)")).click()

    expect(
        page.get_by_text("Anna Faithful can now carry up to 2 requests, and is available for new ones.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="Assign intercessors")).to_be_visible()
    page.get_by_role("checkbox", name=re.compile(r"^Anna Faithful")).check()
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#status-heading")).to_have_text("In intercession")
    assert PrayerRequest.objects.get(pk=prayer_request.pk).assignments.active().filter(intercessor=anna).exists()

    # Anna sees who changed her capacity, and when.
    annas_page = new_page(viewport=PHONE)
    log_in(annas_page, "anna")
    annas_page.goto("/settings/")
    expect(annas_page.get_by_text(re.compile(r"last changed by Lydia Shepherd on"))).to_be_visible()
    assert fits_the_width(annas_page)
    shoot(annas_page, "my-settings-limits-changed-phone")


def test_the_team_page_at_desktop_width(new_page, shoot):
    the_team()
    page = new_page(viewport=DESKTOP)
    log_in(page, "lydia")
    page.goto("/team/")
    card_of(page, "Anna Faithful").get_by_text("Manage").click()
    expect(card_of(page, "Anna Faithful").get_by_label("How many requests they can carry")).to_be_visible()
    assert fits_the_width(page)
    shoot(page, "team-manage-desktop")
