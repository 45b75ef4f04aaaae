"""
Every main page, as each persona sees it, at 375 px and 1280 px, light and
dark (issue 14):

- axe-core reports no violation (every rule it runs by default: WCAG 2.2
  A and AA and its best practices);
- the Nu HTML checker finds no error in the HTML the server sent;
- on a phone every button is at least 44 px high;
- each is saved as a screenshot, `audit-<persona>-<page>-<width>-<scheme>`.

The checkers come from npm (`make audit-tools`, which `.ci/run` calls) into
audit/node_modules, never into static/: they are not part of the app. Without
them these tests are skipped, or fail under INTERCESSION_REQUIRE_BROWSER=1,
as in CI.

The walk runs with the SQLite suite only: the markup is the same on
PostgreSQL. The pages (audit/pages.py, which `make audit` walks too) are those of the
demo (seed_demo): a full team, ten weeks of requests in every state, so
every part of a page is there to be checked.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from playwright.sync_api import Page

from audit import pages

from .conftest import DESKTOP, PHONE

pytestmark = pytest.mark.django_db(transaction=True)

PROJECT = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("INTERCESSION_AUDIT_TOOLS", PROJECT / "audit" / "node_modules"))
AXE = TOOLS / "axe-core" / "axe.min.js"
VNU = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
WIDTHS = {"375": PHONE, "1280": DESKTOP}
SCHEMES = ("light", "dark")


def _tools_or_skip() -> None:
    missing = [str(tool) for tool in (AXE, VNU) if not tool.exists()]
    if not shutil.which("java"):
        missing.append("java (apt-get install default-jre-headless)")
    if missing:
        message = f"The audit tools are missing ({', '.join(missing)}): run `make audit-tools`"
        if os.environ.get("INTERCESSION_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def demo(live_server):
    call_command("seed_demo", force=True, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return pages.prepare()


def _log_in(context, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])


def _axe(page: Page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]][:5],
            "summary": violation["nodes"][0].get("failureSummary", "")[:300],
        }
        for violation in result["violations"]
    ]


# Buttons shorter than a thumb (44 px) on a phone: "cards with big targets".
SMALL_BUTTONS = """() => [...document.querySelectorAll('.btn:not(.btn-link)')]
  .filter((button) => button.offsetParent !== null)
  .filter((button) => button.getBoundingClientRect().height < 43.5)
  .map((button) => button.textContent.trim().slice(0, 40))"""


def _after_the_visits(page: Page, persona: str, demo) -> list[tuple[str, str | None]]:
    """The pages reached by doing something: [(name, HTML or None)]. A
    visitor sends the ask form (the page that shows the follow-up link); an
    intercessor asks to mark a request manifested (the dialog, open)."""
    if persona == pages.VISITOR:
        page.goto("/ask/")
        page.get_by_label("For someone else, who knows I am asking for prayer for them").check()
        page.get_by_label("Who is the prayer for?").fill("My neighbour")
        page.get_by_label("Category").select_option(label="Health")
        page.get_by_label("Your request in a few words").fill("Healing after an operation")
        with page.expect_navigation() as sent:
            page.get_by_role("button", name="Send my request").click()
        return [("ask-sent", sent.value.text())]
    if persona == pages.INTERCESSOR:
        page.goto(f"/requests/{demo.carried.pk}/")
        page.get_by_role("button", name="Manifested", exact=True).click()
        page.get_by_role("dialog").wait_for()
        return [("confirm-manifested-dialog", None)]
    return []


def _nu_errors(folder: Path) -> list[dict]:
    java = shutil.which("java")
    run = subprocess.run(  # noqa: S603 - our own jar, on our own files
        [java, "-Xss4m", "-jar", str(VNU), "--errors-only", "--format", "json", "--skip-non-html", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(run.stderr or run.stdout or '{"messages": []}')
    return [
        {
            "page": Path(message.get("url", "")).name,
            "line": message.get("lastLine"),
            "message": message.get("message"),
            "extract": (message.get("extract") or "").strip()[:160],
        }
        for message in report["messages"]
        if message.get("type") in ("error", "non-document-error")
    ]


def test_every_main_page_passes_axe_and_the_nu_checker_at_both_widths_in_both_schemes(
    chromium, live_server, insecure_cookies_for_http, demo, shoot, tmp_path
):
    _tools_or_skip()
    if connection.vendor != "sqlite":
        # The pages' markup does not depend on the database; one run of the
        # walk (a minute and a half) is enough for CI's time.
        pytest.skip("The page checks run with the SQLite suite")
    violations: dict[str, list[dict]] = {}
    html = tmp_path / "html"
    html.mkdir()
    walk = pages.main_pages(demo)
    for persona, visits in walk.items():
        for scheme in SCHEMES:
            for width, viewport in WIDTHS.items():
                # The checker runs a script of its own: let it past the CSP.
                context = chromium.new_context(
                    viewport=viewport, base_url=live_server.url, color_scheme=scheme, bypass_csp=True
                )
                context.set_default_timeout(15_000)
                if persona in demo.users:
                    _log_in(context, live_server, demo.users[persona])
                page = context.new_page()
                for name, path in visits:
                    response = page.goto(path)
                    assert response is not None, path
                    # Each page as it is meant to be seen, not a refusal.
                    assert response.status == pages.expected_status(name), (persona, path, response.status)
                    page.wait_for_load_state("load")
                    key = f"{persona}-{name}-{width}-{scheme}"
                    if scheme == "light" and width == "375":
                        (html / f"{persona}-{name}.html").write_text(response.text(), encoding="utf-8")
                    found = _axe(page)
                    if width == "375" and (small := page.evaluate(SMALL_BUTTONS)):
                        found.append({"id": "small-button-on-a-phone", "targets": small})
                    if found:
                        violations[key] = found
                    shoot(page, f"audit-{key}")
                for name, sent_html in _after_the_visits(page, persona, demo):
                    key = f"{persona}-{name}-{width}-{scheme}"
                    if sent_html is not None and scheme == "light" and width == "375":
                        (html / f"{persona}-{name}.html").write_text(sent_html, encoding="utf-8")
                    found = _axe(page)
                    if found:
                        violations[key] = found
                    shoot(page, f"audit-{key}")
                context.close()

    errors = _nu_errors(html)
    report = []
    if violations:
        report.append("axe-core violations:\n" + json.dumps(violations, indent=1))
    if errors:
        report.append("Nu HTML checker errors:\n" + json.dumps(errors, indent=1))
    assert not report, "\n\n".join(report)
    # Every page's HTML was checked, the ask form's answer too.
    assert len(list(html.iterdir())) == sum(len(visits) for visits in walk.values()) + 1


def test_the_nu_checker_finds_errors_it_is_shown(tmp_path):
    """The checker is really run: a page with an error fails it."""
    _tools_or_skip()
    (tmp_path / "broken.html").write_text(
        '<!doctype html><html lang="en"><head><title>x</title></head>'
        '<body><time datetime="2026-07-01T12:30:15.123456+00:00">now</time><p><div></div></p></body></html>'
    )

    errors = _nu_errors(tmp_path)

    assert any("datetime" in error["message"] for error in errors), errors


def test_axe_finds_violations_it_is_shown(new_page):
    """axe-core is really run: a page with a button without a name fails it."""
    _tools_or_skip()
    page = new_page(viewport=PHONE)
    page.set_content('<html lang="en"><head><title>x</title></head><body><main><button></button></main></body></html>')

    found = _axe(page)

    assert "button-name" in {violation["id"] for violation in found}, found
