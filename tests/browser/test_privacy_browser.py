"""
Privacy (issue 13) in a real browser.

A requester on a phone answers the consent question first, sends a request
for someone else, reads the privacy notice, downloads everything held about
the request and deletes it. A leader shares a new request with the team,
an intercessor flags it from the team board, the leader finds it on triage
and keeps it off the board, reads the stored consent answer and keeps its
text longer. Nothing scrolls sideways at 375 px. Screenshots
`phone-ask-consent`, `phone-privacy-notice`, `phone-followup-download`,
`phone-followup-delete`, `phone-followup-deleted`, `phone-request-board-card`,
`phone-flagged-on-triage`, `phone-request-retention-card`,
`desktop-request-privacy-cards`.
"""

import json

import pytest
from conftest import PASSWORD, make_user
from playwright.sync_api import Page, expect

from requests_app import roles
from requests_app.models import PrayerRequest, Status

from .conftest import DESKTOP, PHONE

pytestmark = pytest.mark.django_db(transaction=True)


def fits_the_width(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_requester_asks_reads_the_notice_downloads_and_deletes_on_a_phone(new_page, shoot):
    def look(page: Page, name: str) -> None:
        assert fits_the_width(page), f"{name} scrolls sideways at 375px"
        shoot(page, f"phone-{name}")

    page = new_page(viewport=PHONE)
    page.goto("/ask/")
    # The first question: for whom, and whether they know.
    first_fields = page.locator("form input:not([type=hidden]), form select, form textarea")
    expect(first_fields.first).to_have_attribute("name", "consent")
    page.get_by_label("For someone else, who does not know I am asking").check()
    page.get_by_label("Who is the prayer for?").fill("My neighbour Ruth")
    page.get_by_label("Category").select_option(label="Health")
    page.get_by_label("Your request in a few words").fill("Healing after her fall")
    page.get_by_role("button", name="Send my request").click()
    # Refused with the reason and what to do instead; nothing kept.
    expect(page.get_by_text("we can only pray over a request about someone else if they know")).to_be_visible()
    assert not PrayerRequest.objects.exists()
    look(page, "ask-consent")

    page.get_by_label("For someone else, who knows I am asking for prayer for them").check()
    page.get_by_label("Tell us more").fill("She broke her hip and is in the ward for a week.")
    page.get_by_label("Your name").fill("Martha")
    page.get_by_role("button", name="Send my request").click()
    link = page.get_by_label("Your private follow-up link").input_value()
    assert PrayerRequest.objects.get().consent == "knows"

    page.goto(link)
    page.get_by_role("link", name="Privacy notice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Privacy")
    look(page, "privacy-notice")

    page.goto(link)
    page.get_by_role("link", name="Download everything we hold about your request").click()
    expect(page.get_by_role("heading", name="Your prayer request: everything we hold")).to_be_visible()
    expect(page.get_by_text("Healing after her fall")).to_be_visible()
    look(page, "followup-download")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download it as a file (JSON)").click()
    held = json.loads(download.value.path().read_text())
    assert held["request"]["title"] == "Healing after her fall"

    page.goto(link)
    page.get_by_role("link", name="Delete your request").click()
    expect(page.get_by_role("heading", name="Delete your prayer request")).to_be_visible()
    look(page, "followup-delete")
    page.get_by_role("button", name="Delete my request").click()
    expect(page.get_by_text("Your request has been deleted")).to_be_visible()
    look(page, "followup-deleted")
    erased = PrayerRequest.objects.get()
    assert (erased.title, erased.status, erased.text_erased_at is not None) == ("", Status.CLOSED, True)
    expect(page.get_by_role("link", name="Delete your request")).to_have_count(0)
    # Nothing more can be written about it; only the download stays.
    expect(page.get_by_role("button", name="Send my update")).to_have_count(0)
    expect(page.get_by_role("button", name="Let the whole team see it")).to_have_count(0)
    expect(page.get_by_role("link", name="Download everything we hold about your request")).to_be_visible()


def test_a_leader_shares_an_intercessor_flags_and_the_leader_reviews(new_page, shoot):
    make_user("lydia", roles.LEADERS, roles.INTERCESSORS, first_name="Lydia", email="lydia@example.org")
    make_user("simeon", roles.INTERCESSORS, first_name="Simeon")

    def look(page: Page, name: str) -> None:
        assert fits_the_width(page), f"{name} scrolls sideways at 375px"
        shoot(page, f"phone-{name}")

    asker = new_page(viewport=PHONE)
    asker.goto("/ask/")
    asker.get_by_label("For me").check()
    asker.get_by_label("Who is the prayer for?").fill("Me")
    asker.get_by_label("Category").select_option(label="Work")
    asker.get_by_label("Your request in a few words").fill("A new job after redundancy")
    asker.get_by_label("Keep this confidential").uncheck()
    asker.get_by_role("button", name="Send my request").click()
    expect(asker.get_by_label("Your private follow-up link")).to_be_visible()
    prayer_request = PrayerRequest.objects.get()
    detail = f"/requests/{prayer_request.pk}/"

    # Not on the board until a leader has looked.
    simeon = new_page(viewport=PHONE)
    log_in(simeon, "simeon")
    simeon.goto("/board/")
    expect(simeon.get_by_text("A new job after redundancy")).to_have_count(0)

    leader = new_page(viewport=PHONE)
    log_in(leader, "lydia")
    leader.goto(detail)
    expect(leader.get_by_text("Not shared with the team yet")).to_be_visible()
    expect(leader.get_by_text("For the requester themselves")).to_be_visible()
    leader.get_by_role("button", name="Share with the team").click()
    leader.goto(detail)
    expect(leader.get_by_text("Every intercessor sees this request on the team board")).to_be_visible()
    leader.locator("#team-board").scroll_into_view_if_needed()
    look(leader, "request-board-card")

    simeon.goto("/board/")
    simeon.get_by_role("link", name="A new job after redundancy").click()
    simeon.get_by_label("Why (optional, for the leaders only)").fill("It names the employer")
    simeon.get_by_role("button", name="Flag as unsuitable").click()
    expect(simeon.get_by_text("A new job after redundancy")).to_have_count(0)

    leader.goto("/triage/")
    expect(leader.get_by_text("Flagged by the team")).to_be_visible()
    expect(leader.get_by_text("It names the employer")).to_be_visible()
    look(leader, "flagged-on-triage")
    leader.goto(detail)
    leader.get_by_role("button", name="Keep off the board").click()
    prayer_request.refresh_from_db()
    assert (prayer_request.flagged_at, prayer_request.shared_with_team_at) == (None, None)

    leader.goto(detail)
    leader.get_by_text("Keep its text longer").click()
    leader.get_by_label("Keep its text until").fill("2099-12-31")
    leader.locator("#retention").get_by_label("Reason").first.fill("The family asked us to keep it")
    leader.get_by_role("button", name="Keep it longer").click()
    leader.goto(detail)
    expect(leader.get_by_text("A leader chose to keep it until 31 December 2099.")).to_be_visible()
    leader.get_by_text("Erase its personal data now").click()
    leader.locator("#retention").scroll_into_view_if_needed()
    look(leader, "request-retention-card")

    wide = new_page(viewport=DESKTOP)
    log_in(wide, "lydia")
    wide.goto(detail)
    shoot(wide, "desktop-request-privacy-cards")
