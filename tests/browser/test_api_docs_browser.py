"""
The API's reference page (/api/v1/docs/, issue 17) in a real browser:
Swagger UI, served from the app itself (no CDN), draws every operation of
the schema under the app's Content-Security-Policy, which it does not break
(no console error about the policy).
"""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_reference_page_lists_every_operation(new_page, live_server, shoot):
    page = new_page()
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    outside = []
    page.on(
        "request", lambda request: outside.append(request.url) if not request.url.startswith(live_server.url) else None
    )

    page.goto("/api/v1/docs/")

    expect(page.get_by_text("Intercession API").first).to_be_visible()
    for path in ["/api/v1/ask/", "/api/v1/requests/", "/api/v1/requests/{id}/moves/"]:
        expect(page.get_by_text(path, exact=True).first).to_be_visible()
    shoot(page, "api-docs")
    assert not [problem for problem in problems if "Content Security Policy" in problem or "Refused" in problem]
    assert [url for url in outside if not url.startswith("data:")] == []
