"""
The three journeys, end to end in a real browser: a visitor asks for prayer
and follows the request through a private link, a leader gives it to an
intercessor, the intercessor stands in the gap for it.

Every persona has their own browser context (their own cookies), and logs in
through the real login form. Each page of the way is saved as a screenshot
(`desktop-<page>`, `phone-<page>`, `nojs-<page>`) for a person to look at.
"""

import re
import uuid

import pytest
from conftest import PASSWORD, make_user, submit
from django.db import connection
from playwright.sync_api import Page, expect

from requests_app import roles, services
from requests_app.models import PrayerLog, PrayerRequest, Status

from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

PRAYER_LOGGED = "Prayer logged — thank you for standing in the gap."
BREAKTHROUGH = "Breakthrough in the spirit — awaiting manifestation"


def unique_marker() -> str:
    return f"Marker{uuid.uuid4().hex[:10]}"


def team():
    """A leader, the intercessor who will be assigned, and one who will not."""
    leader = make_user("lydia", roles.LEADERS, first_name="Lydia", last_name="Shepherd")
    assigned = make_user("anna", roles.INTERCESSORS, first_name="Anna", last_name="Faithful")
    other = make_user("simeon", roles.INTERCESSORS, first_name="Simeon", last_name="Watchman")
    return leader, assigned, other


def fits_the_width(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def log_in(page: Page, username: str, *, through_menu: bool = False) -> None:
    """Log in through the real form; `through_menu` reaches it from the
    "Team log in" link of the (collapsed, on a phone) navigation bar."""
    if through_menu:
        page.goto("/ask/")
        open_menu(page)
        page.get_by_role("link", name="Team log in").click()
    else:
        page.goto("/accounts/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name=re.compile(r"^Log out"), include_hidden=True)).to_be_attached()


def open_menu(page: Page) -> None:
    """Open the navigation bar's hamburger menu, as on a phone."""
    toggler = page.get_by_role("button", name="Toggle navigation")
    expect(toggler).to_be_visible()
    toggler.click()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    # Opened once Bootstrap's sliding transition is over.
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))


def open_nav_menu(page: Page, name: str) -> None:
    """Open one of the header's menus ("Leading", or the person's name)."""
    page.locator("#main-nav summary", has_text=name).click()


def fill_ask_form(page: Page, marker: str) -> None:
    """Fill in the ask form, as a visitor would."""
    page.goto("/ask/")
    expect(page.get_by_role("heading", name="Ask for prayer")).to_be_visible()
    page.get_by_label("For someone else, who knows I am asking for prayer for them").check()
    page.get_by_label("Who is the prayer for?").fill(f"M. {marker}")
    page.get_by_label("Category").select_option(label="Health")
    page.get_by_label("Your request in a few words").fill(f"Healing for {marker}")
    page.get_by_label("Tell us more").fill(f"Details only the team may read: {marker}.")
    # Confidential is the default; the visitor leaves it as it is.
    expect(page.get_by_label("Keep this confidential")).to_be_checked()
    page.get_by_label("Your name").fill("Martha")


def send_and_read_link(page: Page) -> str:
    """Send the ask form; return the follow-up link the next page shows."""
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", name="Thank you — your request has been sent")).to_be_visible()
    link_field = page.get_by_label("Your private follow-up link")
    link = link_field.input_value()
    assert re.fullmatch(r"http://[^/]+/followup/[^/]+/", link), link
    return link


def request_id_from(page: Page) -> int:
    found = re.search(r"/requests/(\d+)/", page.url)
    assert found, page.url
    return int(found.group(1))


def row_of(page: Page, marker: str):
    return page.get_by_role("listitem").filter(has_text=marker)


def test_it_walks_the_three_journeys(new_page, shoot):
    leader, assigned, other = team()
    marker = unique_marker()
    # Something on the team board, so the board shows what it is for.
    on_board = submit(confidential=False, title="Peace for the Okafor family")
    services.assign(on_board, [other], by=leader)

    def look(page: Page, name: str) -> None:
        # Confidential text never goes into a page title, and nothing
        # scrolls sideways.
        assert marker not in page.title()
        assert fits_the_width(page), f"{name} scrolls sideways"
        shoot(page, f"desktop-{name}")

    # The visitor asks for prayer and keeps the link.
    visitor = new_page()
    fill_ask_form(visitor, marker)
    look(visitor, "ask")
    link = send_and_read_link(visitor)
    assert marker not in link
    look(visitor, "ask-sent")

    # The leader finds it in triage and assigns Anna.
    lead = new_page()
    lead.goto("/")
    look(lead, "login")
    log_in(lead, "lydia")
    expect(lead).to_have_url(re.compile(r"/triage/$"))
    expect(lead.get_by_role("heading", name="Triage", exact=True)).to_be_visible()
    waiting = row_of(lead, marker)
    expect(waiting).to_have_count(1)
    expect(waiting.get_by_text("Confidential")).to_be_visible()
    look(lead, "triage")
    waiting.get_by_role("link", name=re.compile(r"^Assign")).click()
    expect(lead.get_by_role("heading", name="Assign intercessors")).to_be_visible()
    look(lead, "assign")
    lead.get_by_role("checkbox", name=re.compile(r"^Anna Faithful")).check()
    lead.get_by_role("button", name="Assign", exact=True).click()
    expect(lead.get_by_role("status").filter(has_text="One intercessor is now standing in the gap")).to_be_visible()
    expect(lead.locator("#status-heading")).to_have_text("In intercession")
    pk = request_id_from(lead)
    look(lead, "request-leader")

    # Anna sees it in her assignments, prays, and records the breakthrough.
    anna = new_page()
    log_in(anna, "anna")
    expect(anna).to_have_url(re.compile(r"/mine/$"))
    mine = row_of(anna, marker)
    expect(mine).to_have_count(1)
    mine.get_by_role("button", name="I prayed").click()
    expect(anna.get_by_role("status").filter(has_text=PRAYER_LOGGED)).to_be_visible()
    expect(anna).to_have_url(re.compile(r"/mine/$"))
    look(anna, "my-assignments")
    assert PrayerLog.objects.filter(prayer_request_id=pk, intercessor=assigned).count() == 1
    row_of(anna, marker).get_by_role("link", name=f"Healing for {marker}").click()
    expect(anna).to_have_url(re.compile(rf"/requests/{pk}/$"))
    expect(anna.locator("#status-heading")).to_have_text("In intercession")
    look(anna, "request-intercessor")
    anna.get_by_role("button", name="Breakthrough in the spirit", exact=True).click()
    expect(anna.locator("#status-heading")).to_have_text(BREAKTHROUGH)
    look(anna, "request-intercessor-breakthrough")
    anna.get_by_role("link", name="Team board").click()
    expect(anna.get_by_role("heading", name="Team board")).to_be_visible()
    expect(anna.get_by_text(marker)).to_have_count(0)
    open_nav_menu(anna, "Anna")
    anna.get_by_role("link", name="My history").click()
    expect(anna.get_by_role("heading", name="My history")).to_be_visible()
    expect(anna.get_by_role("link", name=f"Healing for {marker}")).to_be_visible()
    look(anna, "history")
    open_nav_menu(anna, "Anna")
    anna.get_by_role("link", name="My settings").click()
    expect(anna.get_by_role("heading", name="My settings")).to_be_visible()
    look(anna, "settings")

    # Simeon is on the team but not assigned: the request does not exist for him.
    simeon = new_page()
    log_in(simeon, "simeon")
    simeon.get_by_role("link", name="Team board").click()
    expect(simeon.get_by_role("link", name="Peace for the Okafor family")).to_be_visible()
    expect(simeon.get_by_text(marker)).to_have_count(0)
    assert marker not in simeon.content()
    look(simeon, "board")
    response = simeon.goto(f"/requests/{pk}/")
    assert response.status == 404
    expect(simeon.get_by_role("heading", name="Nothing here")).to_be_visible()
    assert marker not in simeon.content()
    look(simeon, "not-found")

    # The visitor, with nothing but the link, sees the breakthrough and
    # sends a praise report.
    requester = new_page()
    response = requester.goto(link)
    assert response.status == 200
    expect(requester.locator(".status-badge")).to_have_text(BREAKTHROUGH)
    expect(requester.get_by_text(f"Healing for {marker}")).to_be_visible()
    expect(requester.get_by_text("Anna")).to_have_count(0)
    look(requester, "followup")
    requester.get_by_label("What happened?").fill("The doctors say the healing is complete. Praise God!")
    requester.get_by_role("button", name="Send my praise report").click()
    expect(requester.get_by_role("status").filter(has_text="your praise report is with the team")).to_be_visible()
    expect(requester.locator(".status-badge")).to_have_text("Manifested")
    look(requester, "followup-manifested")

    # The leader sees it has manifested, then looks round the other pages.
    lead.reload()
    expect(lead.locator("#status-heading")).to_have_text("Manifested")
    expect(lead.get_by_text("The doctors say the healing is complete.")).to_be_visible()
    look(lead, "request-leader-manifested")
    assert PrayerRequest.objects.get(pk=pk).status == Status.ANSWERED
    open_nav_menu(lead, "Leading")
    lead.get_by_role("link", name="All requests").click()
    expect(lead.get_by_role("heading", name="All requests")).to_be_visible()
    expect(row_of(lead, marker)).to_have_count(1)
    look(lead, "request-list")
    open_nav_menu(lead, "Leading")
    lead.get_by_role("link", name="Team", exact=True).click()
    expect(lead.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    expect(lead.get_by_role("heading", name="Anna Faithful")).to_be_visible()
    look(lead, "team")
    open_nav_menu(lead, "Leading")
    lead.get_by_role("link", name="Coverage").click()
    expect(lead.get_by_role("heading", level=1)).to_be_visible()
    look(lead, "coverage")


def test_it_works_at_phone_width(new_page, shoot):
    team()
    marker = unique_marker()

    def look(page: Page, name: str) -> None:
        assert fits_the_width(page), f"{name} scrolls sideways at 375px"
        shoot(page, f"phone-{name}")

    visitor = new_page(viewport=PHONE)
    fill_ask_form(visitor, marker)
    look(visitor, "ask")
    link = send_and_read_link(visitor)
    look(visitor, "ask-sent")

    lead = new_page(viewport=PHONE)
    log_in(lead, "lydia", through_menu=True)
    look(lead, "triage")
    # The navigation is folded away behind the hamburger button.
    expect(lead.get_by_role("link", name="All requests")).to_be_hidden()
    open_menu(lead)
    open_nav_menu(lead, "Leading")
    look(lead, "menu")
    lead.get_by_role("link", name="All requests").click()
    expect(lead.get_by_role("heading", name="All requests")).to_be_visible()
    look(lead, "request-list")
    open_menu(lead)
    lead.get_by_role("link", name="Triage").click()
    row_of(lead, marker).get_by_role("link", name=re.compile(r"^Assign")).click()
    expect(lead.get_by_role("heading", name="Assign intercessors")).to_be_visible()
    look(lead, "assign")
    lead.get_by_role("checkbox", name=re.compile(r"^Anna Faithful")).check()
    lead.get_by_role("button", name="Assign", exact=True).click()
    expect(lead.locator("#status-heading")).to_have_text("In intercession")
    pk = request_id_from(lead)
    look(lead, "request-leader")
    open_menu(lead)
    open_nav_menu(lead, "Leading")
    lead.get_by_role("link", name="Team", exact=True).click()
    expect(lead.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    look(lead, "team")

    anna = new_page(viewport=PHONE)
    log_in(anna, "anna")
    mine = row_of(anna, marker)
    expect(mine).to_have_count(1)
    mine.get_by_role("button", name="I prayed").click()
    expect(anna.get_by_role("status").filter(has_text=PRAYER_LOGGED)).to_be_visible()
    look(anna, "my-assignments")
    assert PrayerLog.objects.filter(prayer_request_id=pk).count() == 1
    row_of(anna, marker).get_by_text("Add minutes, fasting or a note").click()
    expect(anna.get_by_label("Minutes")).to_be_visible()
    look(anna, "my-assignments-details")
    row_of(anna, marker).get_by_role("link", name=f"Healing for {marker}").click()
    expect(anna.locator("#status-heading")).to_have_text("In intercession")
    look(anna, "request-intercessor")

    requester = new_page(viewport=PHONE)
    requester.goto(link)
    expect(requester.locator(".status-badge")).to_have_text("In intercession")
    look(requester, "followup")


def test_it_works_without_javascript(new_page, shoot):
    leader, assigned, _other = team()
    marker = unique_marker()

    visitor = new_page(java_script_enabled=False)
    fill_ask_form(visitor, marker)
    link = send_and_read_link(visitor)
    # The copy button needs JavaScript, so it stays hidden; the link is there
    # to select by hand.
    expect(visitor.get_by_role("button", name="Copy link")).to_be_hidden()
    expect(visitor.get_by_role("link", name="Open my request")).to_have_attribute("href", link)
    shoot(visitor, "nojs-ask-sent")
    prayer_request = PrayerRequest.objects.matching(marker).get()
    assert prayer_request.is_confidential

    services.assign(prayer_request, [assigned], by=leader)
    anna = new_page(java_script_enabled=False)
    log_in(anna, "anna")
    mine = row_of(anna, marker)
    expect(mine).to_have_count(1)
    # <details> opens without JavaScript.
    mine.get_by_text("Add minutes, fasting or a note").click()
    mine.get_by_label("Minutes").fill("20")
    mine.get_by_label("I fasted").check()
    mine.get_by_label("Note (seen by the team)").fill("Prayed through the night watch.")
    mine.get_by_role("button", name="I prayed").click()
    expect(anna.get_by_role("status").filter(has_text=PRAYER_LOGGED)).to_be_visible()
    shoot(anna, "nojs-my-assignments")
    logged = PrayerLog.objects.get(prayer_request=prayer_request)
    assert (logged.intercessor, logged.minutes, logged.fasted, logged.note) == (
        assigned,
        20,
        True,
        "Prayed through the night watch.",
    )

    requester = new_page(java_script_enabled=False)
    requester.goto(link)
    expect(requester.locator(".status-badge")).to_have_text("In intercession")


def test_it_logs_one_prayer_for_a_double_tap(new_page):
    leader, assigned, _other = team()
    prayer_request = submit(title="Strength for the night shift")
    services.assign(prayer_request, [assigned], by=leader)
    anna = new_page()
    log_in(anna, "anna")

    row_of(anna, "Strength for the night shift").get_by_role("button", name="I prayed").dblclick()
    expect(anna.get_by_role("status").filter(has_text=PRAYER_LOGGED)).to_be_visible()
    assert PrayerLog.objects.filter(prayer_request=prayer_request).count() == 1

    # Logged in place (static/js/pray-in-place.js): the same form, the same
    # key. A fresh page shows a form with a new submission key; sent twice,
    # as a double tap on a slow connection does: one more prayer, not two.
    # Both answers arrive before counting. At the same moment on PostgreSQL;
    # one after the other on SQLite, whose in-memory test database refuses a
    # second writer ("database table is locked") where a real database file
    # would make it wait.
    anna.reload()
    statuses = anna.evaluate(
        """async (together) => {
            const form = document.querySelector("form.pray-form");
            const send = () => fetch(form.action, {method: "POST", body: new FormData(form), redirect: "manual"});
            const responses = together ? await Promise.all([send(), send()]) : [await send(), await send()];
            return responses.map((response) => (response.type === "opaqueredirect" ? "redirect" : response.status));
        }""",
        connection.vendor == "postgresql",
    )
    assert statuses == ["redirect", "redirect"]
    assert PrayerLog.objects.filter(prayer_request=prayer_request).count() == 2
    assert PrayerLog.objects.filter(intercessor=assigned).count() == 2


def test_it_lets_a_phone_without_javascript_reach_the_menu(new_page):
    visitor = new_page(viewport=PHONE, java_script_enabled=False)
    visitor.goto("/ask/")
    toggler = visitor.get_by_role("button", name="Toggle navigation")
    if toggler.is_visible():
        toggler.click()
    expect(visitor.get_by_role("link", name="Team log in")).to_be_visible(timeout=2_000)
