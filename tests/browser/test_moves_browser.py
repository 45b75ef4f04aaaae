"""
Moves you can trust, in a real browser: an intercessor marks a request
"Manifested" from the request page's one note form, confirms it in the
dialog (with JavaScript) or on the confirmation page (without), and undoes it.

Screenshots: `moves-confirm-dialog-phone`, `moves-undo-phone`,
`moves-confirm-page-nojs-phone`, `moves-undone-nojs-phone`.
"""

import re

import pytest
from conftest import PASSWORD, bring_to, make_user, submit
from playwright.sync_api import Page, expect

from requests_app import roles
from requests_app.models import PrayerRequest, Status, UpdateKind

from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "Home from hospital, walking again"


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name=re.compile(r"^Log out"), include_hidden=True)).to_be_attached()


def a_request_anna_carries() -> PrayerRequest:
    lydia = make_user("lydia", roles.LEADERS, first_name="Lydia")
    anna = make_user("anna", roles.INTERCESSORS, first_name="Anna")
    return bring_to(submit(), Status.INTERCEDING, leader=lydia, intercessor=anna)


def status_of(prayer_request: PrayerRequest) -> str:
    return PrayerRequest.objects.get(pk=prayer_request.pk).status


def undo(page: Page, prayer_request: PrayerRequest) -> None:
    card = page.locator("#undo-move")
    expect(card.get_by_text(re.compile(r"(9|10) minutes left to undo it\."))).to_be_visible()
    card.get_by_role("button", name="Undo").click()
    expect(page.get_by_text(f"Undone: request #{prayer_request.pk} is “In intercession” again.")).to_be_visible()
    expect(page.locator(".story-undone")).to_contain_text("“Manifested” undone: back to In intercession")
    assert status_of(prayer_request) == Status.INTERCEDING
    assert prayer_request.updates.filter(kind=UpdateKind.UNDONE).count() == 1


def test_manifested_is_confirmed_in_a_dialog_then_undone(new_page, shoot):
    prayer_request = a_request_anna_carries()
    page = new_page(viewport=PHONE)
    log_in(page, "anna")
    page.goto(f"/requests/{prayer_request.pk}/")

    page.get_by_role("textbox", name="Update").fill(NOTE)
    page.get_by_label("The team and the requester").check()
    page.get_by_role("button", name="Manifested", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name=f"Mark request #{prayer_request.pk} manifested?")).to_be_visible()
    expect(dialog.get_by_text(NOTE)).to_be_visible()
    shoot(page, "moves-confirm-dialog-phone")

    # "Go back" sends nothing; the note is still there.
    dialog.get_by_role("button", name="Go back").click()
    expect(dialog).to_be_hidden()
    assert status_of(prayer_request) == Status.INTERCEDING
    expect(page.get_by_role("textbox", name="Update")).to_have_value(NOTE)

    page.get_by_role("button", name="Manifested", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, mark it manifested").click()
    expect(page.get_by_text(f"Request #{prayer_request.pk} is now “Manifested”.")).to_be_visible()
    assert status_of(prayer_request) == Status.ANSWERED
    move = prayer_request.updates.latest("pk")
    assert (move.kind, move.note, move.visibility) == (UpdateKind.MOVE, NOTE, "requester")
    shoot(page, "moves-undo-phone")

    undo(page, prayer_request)


def test_manifested_is_confirmed_on_a_page_without_javascript_then_undone(new_page, shoot):
    prayer_request = a_request_anna_carries()
    page = new_page(viewport=PHONE, java_script_enabled=False)
    log_in(page, "anna")
    page.goto(f"/requests/{prayer_request.pk}/")

    page.get_by_role("textbox", name="Update").fill(NOTE)
    page.get_by_role("button", name="Manifested", exact=True).click()
    expect(page.get_by_role("heading", name=f"Mark request #{prayer_request.pk} manifested?")).to_be_visible()
    expect(page.get_by_text(NOTE)).to_be_visible()
    assert status_of(prayer_request) == Status.INTERCEDING
    shoot(page, "moves-confirm-page-nojs-phone")

    page.get_by_role("button", name="Yes, mark it manifested").click()
    expect(page.get_by_text(f"Request #{prayer_request.pk} is now “Manifested”.")).to_be_visible()
    assert status_of(prayer_request) == Status.ANSWERED
    assert prayer_request.updates.latest("pk").note == NOTE

    undo(page, prayer_request)
    shoot(page, "moves-undone-nojs-phone")
