"""
An invitation in a real browser: a leader invites a new intercessor from
the team page; the intercessor opens the link of the e-mail (read from the
outbox), chooses a password and lands on their assignments; the leader then
assigns them a request on the assign page.

Screenshots: `team-invite-phone` (375 px) and `team-invite-desktop`
(1280 px): the team page with a pending invitation; `team-invite-form-phone`
(the form opened), `team-invite-errors-phone` (a mistyped address),
`team-invite-welcome-phone` (the page behind the link).
"""

import re

import pytest
from conftest import make_user, submit
from django.core import mail
from playwright.sync_api import Page, expect

from requests_app import roles
from requests_app.models import Assignment, Invitation

from .conftest import DESKTOP, PHONE
from .test_journeys import log_in

pytestmark = pytest.mark.django_db(transaction=True)

CHOSEN = "a-quiet-place-of-prayer-7"
NEW_PASSWORD = re.compile(r"^\s*New password\s*\*?\s*$")
CONFIRMATION = re.compile(r"^\s*New password confirmation\s*\*?\s*$")
LINK = re.compile(r"https?://[^/\s]+(/accounts/welcome/[A-Za-z0-9_-]+/)")


def fits(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_leader_invites_an_intercessor_who_joins_and_is_assigned(new_page, shoot, settings, live_server):
    settings.INTERCESSION_SITE_URL = live_server.url
    make_user("lydia", roles.LEADERS, first_name="Lydia", last_name="Shepherd")
    make_user("anna", roles.INTERCESSORS, first_name="Anna", last_name="Faithful")
    prayer_request = submit()
    mail.outbox.clear()

    lead = new_page(viewport=PHONE)
    log_in(lead, "lydia")
    lead.goto("/team/")
    lead.get_by_text("Invite someone to the team").click()
    lead.get_by_label("Name").fill("Phoebe Deacon")
    lead.get_by_label("E-mail address").fill("phoebe@church")
    expect(lead.get_by_label("Intercessor", exact=True)).to_be_checked()
    assert fits(lead), "the open invite form scrolls sideways"
    shoot(lead, "team-invite-form-phone")
    lead.get_by_role("button", name="Send the invitation").click()
    # A mistyped address: the form again, what was typed kept, what to change said.
    expect(lead.get_by_role("heading", name="Invite someone to the team")).to_be_visible()
    expect(lead.get_by_text("This is not an e-mail address.")).to_be_visible()
    expect(lead.get_by_label("Name")).to_have_value("Phoebe Deacon")
    assert fits(lead)
    shoot(lead, "team-invite-errors-phone")
    lead.get_by_label("E-mail address").fill("phoebe@church.example")
    lead.get_by_role("button", name="Send the invitation").click()

    expect(lead.get_by_text("Invitation sent to Phoebe Deacon (phoebe@church.example).")).to_be_visible()
    pending = lead.locator("#invitations")
    expect(pending.get_by_role("heading", name="Pending invitations")).to_be_visible()
    expect(pending.get_by_text("phoebe@church.example")).to_be_visible()
    expect(pending.get_by_role("button", name="Resend the invitation to Phoebe Deacon")).to_be_visible()
    expect(pending.get_by_role("button", name="Revoke the invitation to Phoebe Deacon")).to_be_visible()
    assert fits(lead), "the team page scrolls sideways on a phone"
    shoot(lead, "team-invite-phone")
    wide = new_page(viewport=DESKTOP)
    log_in(wide, "lydia")
    wide.goto("/team/")
    expect(wide.locator("#invitations").get_by_text("Phoebe Deacon")).to_be_visible()
    assert fits(wide)
    shoot(wide, "team-invite-desktop")

    # Phoebe opens the link of the one e-mail she got.
    (message,) = [message for message in mail.outbox if message.to == ["phoebe@church.example"]]
    path = LINK.search(message.body).group(1)
    phoebe = new_page(viewport=PHONE)
    phoebe.goto(path)
    expect(phoebe.get_by_role("heading", name="Welcome to the team of Intercession")).to_be_visible()
    assert fits(phoebe)
    shoot(phoebe, "team-invite-welcome-phone")
    phoebe.get_by_label(NEW_PASSWORD).fill(CHOSEN)
    phoebe.get_by_label(CONFIRMATION).fill(CHOSEN)
    phoebe.get_by_role("button", name="Set my password and log in").click()
    expect(phoebe.get_by_role("heading", name="My assignments")).to_be_visible()
    expect(phoebe.get_by_text("Welcome to the team of Intercession!")).to_be_visible()
    assert Invitation.objects.get(user__username="phoebe@church.example").accepted_at is not None

    # The leader gives her a request.
    lead.goto(f"/requests/{prayer_request.pk}/assign/")
    expect(lead.get_by_role("heading", name="Assign intercessors")).to_be_visible()
    lead.get_by_role("checkbox", name=re.compile(r"^Phoebe Deacon")).check()
    lead.get_by_role("button", name="Assign", exact=True).click()
    expect(lead.get_by_role("status").filter(has_text="One intercessor is now standing in the gap")).to_be_visible()
    assert (
        Assignment.objects.active()
        .filter(prayer_request=prayer_request, intercessor__username="phoebe@church.example")
        .exists()
    )
    # And the invitation is no longer pending.
    lead.goto("/team/")
    expect(lead.locator("#invitations")).to_have_count(0)
