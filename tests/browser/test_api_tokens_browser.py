"""
Personal API tokens in a real browser (issue 17): an intercessor makes one on
My settings → API tokens, sees it once, and another tool reads their
requests with it; they revoke it and it opens nothing. On a phone the page
fits the width, the long token included.
"""

import re

import pytest
from conftest import make_user, submit
from playwright.sync_api import expect

from requests_app import roles, services

from .conftest import PHONE
from .test_church_settings_browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_an_intercessor_makes_a_token_uses_it_and_revokes_it(new_page, shoot, viewport):
    leader = make_user("lydia", roles.LEADERS, first_name="Lydia")
    anna = make_user("anna", roles.INTERCESSORS, first_name="Anna")
    mine = submit(confidential=True, title="Strength for Anna's friend")
    services.assign(mine, [anna], by=leader)
    page = new_page(**({"viewport": viewport} if viewport else {}))
    look = "phone" if viewport else "desktop"
    log_in(page, "anna")

    page.goto("/settings/")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("Church chat")
    page.get_by_label("For reading only").check()
    page.get_by_role("button", name="Make the token").click()

    secret = page.get_by_label("The token").input_value()
    assert re.fullmatch(r"ic_[A-Za-z0-9_-]{43}", secret)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shoot(page, f"api-token-made-{look}")
    # Another tool, with the token alone (a context of its own: no cookie of the browser).
    tool = new_page().request
    answer = tool.get("/api/v1/requests/", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 200
    assert [row["title"] for row in answer.json()["results"]] == ["Strength for Anna's friend"]

    # Shown once: the page again holds only its first characters.
    page.goto("/settings/tokens/")
    assert secret not in page.content()
    expect(page.get_by_text(secret[:11] + "…")).to_be_visible()
    page.get_by_role("button", name="Revoke Church chat").click()
    expect(page.get_by_text("it opens nothing any more")).to_be_visible()
    refused = tool.get("/api/v1/requests/", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status == 401
