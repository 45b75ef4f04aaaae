"""The public form as a church server serves it (DEBUG off, collected static
files through WhiteNoise, gunicorn with gunicorn.conf.py), on a phone: it is
styled, its scripts run under the Content-Security-Policy, and nothing it
links fails to load."""

from .conftest import PHONE


def test_it_serves_a_styled_ask_page_in_production(chromium, production_server, shoot):
    context = chromium.new_context(viewport=PHONE, base_url=f"http://127.0.0.1:{production_server.port}")
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("requestfailed", lambda request: problems.append(f"{request.url}: {request.failure}"))
    page.on("response", lambda reply: reply.status >= 400 and problems.append(f"{reply.url}: {reply.status}"))
    try:
        page.goto("/ask/")
        page.wait_for_load_state("networkidle")

        font = page.evaluate("getComputedStyle(document.body).fontFamily")
        # The honeypot's box, which Bootstrap's visually-hidden shrinks to 1 px and clips.
        honeypot = page.get_by_text("Leave this empty").evaluate(
            "label => { const box = label.closest('[aria-hidden=true]').getBoundingClientRect();"
            " return {width: box.width, height: box.height}; }"
        )
        page_width = page.evaluate("document.documentElement.scrollWidth")
        shoot(page, "production-ask-phone")
    finally:
        context.close()

    assert problems == []
    # Bootstrap's system font stack, not the browser's default serif.
    assert "system-ui" in font or "-apple-system" in font, font
    assert "Times" not in font
    # The honeypot is there for robots and hidden from people.
    assert honeypot["width"] <= 1, honeypot
    assert honeypot["height"] <= 1, honeypot
    # Nothing wider than the phone.
    assert page_width <= PHONE["width"]
