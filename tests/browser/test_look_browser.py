"""
The look of the pages in a real browser (issue 14): the fullest menu (a
leader who also intercedes) fits one row at a 1024-px laptop, its menus open
by keyboard and without JavaScript; on a phone the menu is folded before the
first paint, so nothing moves; focus rings have 3:1 against what is behind
them, on the header too; dark mode follows the system or the switch in the
footer, and the choice, like larger text, is remembered; dark pages keep
their text at 4.5:1, the church's accent colour included.

Screenshots: `look-laptop-menu`, `look-laptop-menu-no-js`, `look-phone-menu`,
`look-phone-no-js`, `look-desktop-dark`, `look-desktop-dark-<page>`,
`look-phone-dark-system`, `look-phone-larger-text`, `look-desktop-light`.
"""

import re

import pytest
from conftest import PASSWORD, make_user
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect

from requests_app import colours, roles, services
from requests_app.models import Category
from requests_app.team import church_settings

from .conftest import DESKTOP, PHONE

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = {"width": 1024, "height": 768}
ACCENT = "#1d4ed8"

# WCAG's contrast of every visible piece of text against the colours behind
# it (backgrounds blended up to the first opaque one), the failures listed.
TEXT_BELOW_4_5 = """() => {
  const parse = (value) => {
    const match = value.match(/rgba?\\(([^)]+)\\)/);
    if (!match) return null;
    const parts = match[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
  };
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1);
  const behind = (element) => {
    const layers = [];
    for (let node = element; node; node = node.parentElement) {
      const colour = parse(getComputedStyle(node).backgroundColor);
      if (colour && colour[3] > 0) {
        layers.push(colour);
        if (colour[3] >= 1) break;
      }
    }
    return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255, 1]);
  };
  const luminance = (rgb) => {
    const [r, g, b] = rgb.slice(0, 3).map((c) => {
      const v = c / 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (light + 0.05) / (dark + 0.05);
  };
  const failures = [];
  for (const element of document.body.querySelectorAll("*")) {
    const text = [...element.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("").trim();
    if (!text || !element.checkVisibility({ visibilityProperty: true })) continue;
    if (element.closest("svg, option, .visually-hidden, :disabled, .disabled")) continue;
    const style = getComputedStyle(element);
    const background = behind(element);
    const value = ratio(over(parse(style.color), background), background);
    const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && style.fontWeight >= 700);
    if (value < (large ? 3 : 4.5)) {
      failures.push(`${element.tagName}.${element.className} "${text.slice(0, 30)}" ${value.toFixed(2)}`);
    }
  }
  return failures;
}"""


def log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("button", name=re.compile(r"^Log out"), include_hidden=True)).to_be_attached()


def fullest_menu():
    """A leader who intercedes and keeps the site (every entry there is), with a
    long church name, and a request in the triage queue and one assigned."""
    lydia = make_user("lydia", roles.LEADERS, roles.INTERCESSORS, first_name="Lydia", is_staff=True)
    church_settings.save({"name": "Grace Fellowship of the Valley"}, by=lydia)
    services.submit_request(for_whom="M.", title="Work for a friend", category=Category.WORK, is_confidential=False)
    assigned, _token = services.submit_request(
        for_whom="J.", title="Healing after surgery", category=Category.HEALTH, is_urgent=True, is_confidential=False
    )
    services.assign(assigned, [lydia], by=lydia)
    return assigned


def menu(page: Page, name: str):
    return page.locator("#main-nav summary", has_text=name)


def rgb(value: str) -> str:
    """'rgb(29, 78, 216)' -> '#1d4ed8' (opaque colours only)."""
    red, green, blue, *alpha = (float(part) for part in re.findall(r"[\d.]+", value))
    assert not alpha or alpha[0] == 1, f"{value} is not opaque"
    return "#" + "".join(f"{round(channel):02x}" for channel in (red, green, blue))


def focus_ring(page: Page) -> dict:
    return page.evaluate(
        """() => {
          const style = getComputedStyle(document.activeElement);
          return {width: parseFloat(style.outlineWidth), style: style.outlineStyle, colour: style.outlineColor,
                  text: document.activeElement.textContent.trim()};
        }"""
    )


def tab_to(page: Page, text: str) -> dict:
    """Press Tab until the focus is on `text`; its focus ring."""
    for _ in range(40):
        page.keyboard.press("Tab")
        ring = focus_ring(page)
        if ring["text"] == text:
            return ring
    raise AssertionError(f"Tab never reached {text!r}")


def scheme(page: Page) -> str:
    return page.evaluate("document.documentElement.dataset.bsTheme")


def test_it_fits_the_fullest_menu_on_one_row_at_1024px(new_page, shoot):
    fullest_menu()
    page = new_page(viewport=LAPTOP)
    log_in(page, "lydia")
    expect(page.get_by_role("button", name="Toggle navigation")).to_be_hidden()
    tops = page.evaluate(
        "[...document.querySelectorAll('#main-nav > ul > .nav-item')].map(item => Math.round(item.offsetTop))"
    )
    assert len(tops) == 6, tops  # four pages, two menus
    assert len(set(tops)) == 1, f"the menu takes {len(set(tops))} rows"
    assert page.evaluate("document.querySelector('nav.navbar').offsetHeight") < 70
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # By keyboard: Enter opens the leaders' menu, Tab reaches its first page.
    tab_to(page, "Leading")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()
    shoot(page, "look-laptop-menu")
    page.keyboard.press("Tab")
    assert focus_ring(page)["text"] == "All requests"
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Dashboard")).to_be_hidden()
    assert focus_ring(page)["text"] == "Leading"

    # One menu at a time; a click elsewhere closes it.
    menu(page, "Leading").click()
    menu(page, "Lydia").click()
    expect(page.get_by_role("link", name="Password")).to_be_visible()
    expect(page.get_by_role("link", name="Dashboard")).to_be_hidden()
    page.locator("main").click(position={"x": 5, "y": 5})
    expect(page.get_by_role("link", name="Password")).to_be_hidden()

    menu(page, "Leading").click()
    page.get_by_role("link", name="Audit log").click()
    expect(page).to_have_url(re.compile(reverse("audit_log") + "$"))
    expect(menu(page, "Leading")).to_have_class(re.compile(r"\bactive\b"))


def test_it_keeps_every_link_reachable_without_javascript(new_page, shoot):
    fullest_menu()
    page = new_page(viewport=LAPTOP, java_script_enabled=False)
    log_in(page, "lydia")
    menu(page, "Leading").click()
    expect(page.get_by_role("link", name="Coverage")).to_be_visible()
    shoot(page, "look-laptop-menu-no-js")
    page.get_by_role("link", name="Coverage").click()
    expect(page).to_have_url(re.compile(reverse("coverage") + "$"))
    menu(page, "Lydia").click()
    page.get_by_role("link", name="My settings").click()
    expect(page).to_have_url(re.compile(reverse("my_settings") + "$"))

    # A phone without scripts: the menu open, no toggler and no switches.
    phone = new_page(viewport=PHONE, java_script_enabled=False)
    log_in(phone, "lydia")
    expect(phone.get_by_role("button", name="Toggle navigation")).to_be_hidden()
    for name in ("Triage", "My assignments", "Pray now", "Team board"):
        expect(phone.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(phone.get_by_label("Colours")).to_be_hidden()
    expect(phone.get_by_label("Larger text")).to_be_hidden()
    assert scheme(phone) is None  # Bootstrap's light colours
    menu(phone, "Leading").click()
    expect(phone.get_by_role("link", name="Church settings")).to_be_visible()
    shoot(phone, "look-phone-no-js")


# Recorded from the first moment of every page: the menu's box when the HTML
# has been read (before any script at the end of <body>), and every layout shift.
RECORD_THE_FIRST_PAINT = """
window.__shifts = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shifts += entry.value;
}).observe({type: "layout-shift", buffered: true});
document.addEventListener("DOMContentLoaded", () => {
  const menu = document.getElementById("main-nav");
  const toggler = document.querySelector(".navbar-toggler");
  window.__atFirst = {menu: menu && menu.checkVisibility(), toggler: toggler && toggler.checkVisibility(),
                      main: document.querySelector("main").getBoundingClientRect().top};
});
"""


def test_it_folds_the_phone_menu_before_the_first_paint(new_page, shoot):
    fullest_menu()
    page = new_page(viewport=PHONE)
    page.add_init_script(RECORD_THE_FIRST_PAINT)
    log_in(page, "lydia")
    for url in (reverse("triage"), reverse("board"), reverse("ask")):
        page.goto(url, wait_until="load")
        at_first = page.evaluate("window.__atFirst")
        assert at_first["menu"] is False, at_first
        assert at_first["toggler"] is True, at_first
        assert at_first["main"] == page.evaluate("document.querySelector('main').getBoundingClientRect().top")
        assert page.evaluate("window.__shifts") < 0.01

    page.goto(reverse("triage"))
    toggler = page.get_by_role("button", name="Toggle navigation")
    toggler.click()
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
    menu(page, "Leading").click()
    expect(page.get_by_role("link", name="Team", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shoot(page, "look-phone-menu")
    page.get_by_role("link", name="Team", exact=True).click()
    expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()


def test_it_draws_focus_rings_of_3_to_1_on_the_header_and_the_page(new_page):
    leader = make_user("lydia", roles.LEADERS)
    for accent in ("#4a2c6d", ACCENT):
        church_settings.save({"accent_colour": accent}, by=leader)
        for colour_scheme in ("light", "dark"):
            page = new_page(viewport=DESKTOP, color_scheme=colour_scheme)
            page.goto(reverse("ask"))
            header = rgb(page.eval_on_selector("nav.navbar", "nav => getComputedStyle(nav).backgroundColor"))
            assert header == accent
            for link in ("Ask for prayer", "Team log in"):
                ring = tab_to(page, link)
                assert ring["style"] == "solid", ring
                assert ring["width"] >= 2, ring
                assert colours.contrast(rgb(ring["colour"]), header) >= 3, (accent, colour_scheme, ring)
            page_background = rgb(page.evaluate("getComputedStyle(document.body).backgroundColor"))
            for control in ("Colours", "Larger text"):
                page.get_by_label(control).focus()
                page.keyboard.press("Shift+Tab")
                page.keyboard.press("Tab")
                ring = focus_ring(page)
                assert ring["style"] == "solid", ring
                assert ring["width"] >= 2, ring
                assert colours.contrast(rgb(ring["colour"]), page_background) >= 3, (colour_scheme, control, ring)


def test_it_goes_dark_with_the_switch_and_remembers(new_page, shoot):
    assigned = fullest_menu()
    church_settings.save({"accent_colour": ACCENT}, by=User.objects.get(username="lydia"))
    page = new_page(viewport=DESKTOP, color_scheme="light")
    log_in(page, "lydia")
    assert scheme(page) == "light"
    shoot(page, "look-desktop-light")
    expect(page.get_by_label("Colours")).to_have_value("system")
    page.get_by_label("Colours").select_option("dark")
    assert scheme(page) == "dark"
    assert rgb(page.evaluate("getComputedStyle(document.body).backgroundColor")) == "#212529"
    page.reload()
    assert scheme(page) == "dark"
    expect(page.get_by_label("Colours")).to_have_value("dark")
    shoot(page, "look-desktop-dark")

    # Every page's text reads at 4.5:1 in the dark, the accent colour's too.
    pages = {
        "triage": reverse("triage"),
        "request": reverse("request_detail", args=[assigned.pk]),
        "mine": reverse("my_assignments"),
        "board": reverse("board"),
        "dashboard": reverse("dashboard"),
        "team": reverse("team"),
        "church": reverse("church_settings"),
    }
    for name, url in pages.items():
        page.goto(url)
        assert scheme(page) == "dark"
        assert page.evaluate(TEXT_BELOW_4_5) == [], name
        shoot(page, f"look-desktop-dark-{name}")
    menu(page, "Leading").click()
    assert page.evaluate(TEXT_BELOW_4_5) == [], "the open menu"

    page.get_by_label("Colours").select_option("system")
    assert scheme(page) == "light"
    page.reload()
    assert scheme(page) == "light"
    assert page.evaluate(TEXT_BELOW_4_5) == [], "light"


def test_it_follows_a_dark_system_until_told_otherwise(new_page, shoot):
    phone = new_page(viewport=PHONE, color_scheme="dark")
    phone.goto(reverse("ask"))
    assert scheme(phone) == "dark"
    assert phone.evaluate(TEXT_BELOW_4_5) == []
    shoot(phone, "look-phone-dark-system")
    phone.get_by_label("Colours").select_option("light")
    phone.reload()
    assert scheme(phone) == "light"
    assert phone.evaluate(TEXT_BELOW_4_5) == []


def test_it_remembers_larger_text(new_page, shoot):
    phone = new_page(viewport=PHONE)
    phone.goto(reverse("ask"))
    root_size = "parseFloat(getComputedStyle(document.documentElement).fontSize)"
    assert phone.evaluate(root_size) == 16
    phone.get_by_label("Larger text").check()
    assert phone.evaluate(root_size) == pytest.approx(18.88)
    phone.reload()
    expect(phone.get_by_label("Larger text")).to_be_checked()
    assert phone.evaluate(root_size) == pytest.approx(18.88)
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shoot(phone, "look-phone-larger-text")
    phone.get_by_label("Larger text").uncheck()
    phone.reload()
    assert phone.evaluate(root_size) == 16
