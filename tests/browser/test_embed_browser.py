"""
The request form inside a page of the church's own website (issue 17), in a
real browser: the church's page is another site (its own origin, answered
by Playwright), with the snippet the settings page and the README give
pasted into it. A visitor asks for prayer inside the frame and gets the
follow-up link there, once, with no cookie of ours (the browser sends none
to a frame on another site); the frame grows to the form's height. A site
the church has not listed gets no form at all: the browser refuses to
frame it.
"""

import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from requests_app import church
from requests_app.models import PrayerRequest
from requests_app.team import church_settings
from requests_app.views.church import embed_snippet

from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def church_site(live_server):
    """`church_site()`: the address of the church's own website, another site
    than the live server's (localhost): a server of its own on 127.0.0.1,
    a site of its own, whose page holds the snippet pasted as it is given."""
    servers = []

    def serve() -> str:
        snippet = embed_snippet(f"{live_server.url}/embed/ask/")
        body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Grace Church</title></head>
        <body><h1>Grace Church</h1><p>Our prayer team</p>{snippet}<p>Footer of the church site</p></body></html>"""

        class Page(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


# Tall enough to hold the whole frame: a screenshot leaves a frame of another
# site blank where it is out of view.
TALL_DESKTOP = {"width": 1280, "height": 2000}
TALL_PHONE = {**PHONE, "height": 2600}


@pytest.mark.parametrize("viewport", [TALL_DESKTOP, TALL_PHONE], ids=["desktop", "phone"])
def test_a_visitor_asks_for_prayer_inside_the_church_s_website(
    new_page, live_server, church_site, screenshot_dir, viewport
):
    site = church_site()
    _list(site)
    page = new_page(viewport=viewport)
    page.goto(f"{site}/prayer/")
    frame = page.frame_locator("#intercession-ask")
    marker = f"Marker{uuid.uuid4().hex[:10]}"

    expect(frame.get_by_role("heading", name="Ask for prayer")).to_be_visible()
    expect(frame.locator("nav")).to_have_count(0)
    frame.get_by_label("For someone else, who knows I am asking for prayer for them").check()
    frame.get_by_label("Who is the prayer for?").fill(f"M. {marker}")
    frame.get_by_label("Category").select_option(label="Health")
    frame.get_by_label("Your request in a few words").fill(f"Healing for {marker}")
    frame.get_by_label("Tell us more").fill(f"Details only the team may read: {marker}.")
    # The frame has grown to the form's height (static/js/embed.js and the snippet).
    page.wait_for_function("document.getElementById('intercession-ask').getBoundingClientRect().height > 700")
    look = "phone" if viewport is TALL_PHONE else "desktop"
    page.screenshot(path=screenshot_dir / f"embed-ask-{look}.png")
    form_height = page.locator("#intercession-ask").bounding_box()["height"]
    frame.get_by_role("button", name="Send my request").click()

    expect(frame.get_by_role("heading", name="Thank you — your request has been sent")).to_be_visible()
    link = frame.get_by_label("Your private follow-up link").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/followup/[^/]+/", link), link
    # The frame has shrunk to the shorter page.
    page.wait_for_function(
        f"document.getElementById('intercession-ask').getBoundingClientRect().height < {form_height}"
    )
    page.screenshot(path=screenshot_dir / f"embed-sent-{look}.png")
    prayer_request = PrayerRequest.objects.get()
    assert prayer_request.title == f"Healing for {marker}"
    assert prayer_request.is_confidential
    # Nothing of ours was kept in the browser for the frame.
    assert [cookie for cookie in page.context.cookies() if "localhost" in cookie["domain"]] == []

    # The link opens the request, on its own page (out of the frame).
    with page.context.expect_page() as opened:
        frame.get_by_role("link", name="Open my request").click()
    followup = opened.value
    expect(followup.get_by_text(f"Healing for {marker}")).to_be_visible()
    # Back in the frame, a new visit shows a fresh form, never the link.
    frame.get_by_role("link", name="Ask for prayer again").click()
    expect(frame.get_by_role("button", name="Send my request")).to_be_visible()
    assert link not in page.frames[1].content()


def test_a_site_the_church_has_not_listed_gets_no_form(new_page, live_server, church_site):
    listed, other = church_site(), church_site()
    _list(listed)
    page = new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "frame-ancestors" in message.text else None)
    page.goto(f"{other}/prayer/")

    page.wait_for_timeout(500)
    frame = page.frames[1]
    assert frame.url.startswith(live_server.url) or frame.url.startswith("chrome-error:")
    expect(page.frame_locator("#intercession-ask").get_by_role("button", name="Send my request")).to_have_count(0)
    assert refused, "the browser did not say why it refused the frame"


def _list(*origins: str) -> None:
    """The church's settings, with `origins` as the sites that may frame the form."""
    row = church.defaults()
    row.embed_origins = church_settings.check_origins(list(origins))
    row.save()
    church.forget()
