"""
Browser tests: Playwright driving Debian's Chromium against the live server.

Without /usr/bin/chromium they are skipped with that reason, unless
INTERCESSION_REQUIRE_BROWSER=1 (as in .ci/run), where a missing browser is a
failure. Screenshots go to `screenshots/` at the top of the project, or to
$INTERCESSION_SCREENSHOTS.
"""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop running in the test thread;
# Django's ORM calls from the test itself are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("INTERCESSION_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("INTERCESSION_SCREENSHOTS", Path(__file__).resolve().parents[2] / "screenshots"))
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            # What a browser sees is the pages: CI's PostgreSQL pass, which
            # proves the queries, leaves these to the SQLite pass.
            item.add_marker(pytest.mark.any_database)


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("INTERCESSION_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture
def insecure_cookies_for_http(settings):
    # The live server speaks plain HTTP; production cookies are Secure-only.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def team_groups(request):
    """The Leaders and Intercessors groups, before a browser test runs.

    They come from a data migration, and the flush that ends every
    transactional test (as every live-server test is) removes them.
    """
    if "live_server" not in request.fixturenames:
        return
    request.getfixturevalue("transactional_db")
    from django.contrib.auth.models import Group

    from requests_app import roles

    for name in (roles.LEADERS, roles.INTERCESSORS):
        Group.objects.get_or_create(name=name)


@pytest.fixture
def new_page(chromium, live_server, insecure_cookies_for_http):
    """`new_page(viewport=PHONE)`: a fresh browser context (own cookies).

    Other keyword arguments go to `browser.new_context`, for instance
    `new_page(java_script_enabled=False)`.
    """
    contexts = []

    def make(viewport=DESKTOP, **options):
        context = chromium.new_context(viewport=viewport, base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def shoot(screenshot_dir):
    """`shoot(page, "name")` saves a full-page PNG under the screenshots folder."""

    def save(page, name: str) -> Path:
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
