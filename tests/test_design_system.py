"""The design system (issue 14, static/css/intercession.css): one colour for
what can be acted on (the church's accent, lightened on dark pages until it
reads at 4.5:1), one button style per role of action, and tags whose colour
only repeats their words: every status its own tone, always named."""

import re
from pathlib import Path

import pytest
from conftest import bring_to, submit
from django.urls import reverse

from requests_app import colours
from requests_app.models import Status

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
CSS = (ROOT / "static" / "css" / "intercession.css").read_text()
# The button roles: the one thing a form is for, another step forward,
# stepping back or aside, what removes; btn-link for a link-like toggle.
BUTTON_ROLES = {"btn-primary", "btn-outline-primary", "btn-outline-secondary", "btn-outline-danger", "btn-danger"}
BUTTON_SIZES_AND_KINDS = {"btn-sm", "btn-lg", "btn-link", "btn-close"}


def test_every_button_takes_one_of_the_four_roles():
    found = {}
    for template in TEMPLATES:
        for name in re.findall(r"\bbtn-[a-z-]+", template.read_text()):
            found.setdefault(name, set()).add(template.name)
    strays = {name: files for name, files in found.items() if name not in BUTTON_ROLES | BUTTON_SIZES_AND_KINDS}
    assert not strays, strays


def test_no_badge_takes_a_bootstrap_colour_of_its_own():
    """Bootstrap's text-bg-* stay bright on dark pages and bring five
    unrelated colours: every badge is a tag of the palette instead."""
    for template in TEMPLATES:
        text = template.read_text()
        assert "text-bg-" not in text, template.name
        for classes in re.findall(r'class="(badge[^"]*)"', text):
            assert "tag" in classes.split(), (template.name, classes)


@pytest.mark.parametrize("status", [status for status in Status if status != Status.CLOSED])
def test_every_status_but_closed_has_a_tone_of_its_own(status):
    assert f".status-{status.value} {{" in CSS


def test_the_tones_differ_between_statuses():
    tones = {
        status: re.search(rf"\.status-{status.value} \{{([^}}]*)\}}", CSS).group(1)
        for status in Status
        if status != Status.CLOSED
    }
    assert len(set(tones.values())) == len(tones)


def test_links_and_outline_buttons_use_the_accent_not_bootstraps_blue():
    assert "--bs-link-color-rgb: var(--intercession-primary-rgb);" in CSS
    assert "--bs-link-color-rgb: var(--intercession-primary-light-rgb);" in CSS
    assert "--bs-btn-color: var(--intercession-action);" in CSS
    assert "#0d6efd" not in CSS.lower()


@pytest.mark.parametrize("accent", ["#4a2c6d", "#1d4ed8", "#000000", "#767676", "#b91c1c", "#065f46"])
def test_the_dark_pages_tint_of_any_accent_reads_at_4_5_to_1(accent):
    light = colours.light_for_dark_pages(accent)

    assert colours.contrast(light, colours.DARK_SURFACE) >= 4.5
    assert colours.contrast(light, "#212529") >= 4.5
    # The least tint that reads: one step less would not.
    amount = next(step / 100 for step in range(101) if colours.tint(accent, step / 100) == light)
    if amount > 0:
        assert colours.contrast(colours.tint(accent, amount - 0.01), colours.DARK_SURFACE) < 4.5


def test_the_stylesheets_defaults_are_the_apps_own_purple_worked_out():
    """intercession.css carries the values the church stylesheet would give
    the app's own purple, so a church that never chose a colour looks the same."""
    church = colours.stylesheet("#4a2c6d").text
    for name in ("primary-hover", "primary-hover-rgb", "primary-light", "primary-light-rgb"):
        value = re.search(rf"--intercession-{name}: ([^;]+);", church).group(1)
        assert f"--intercession-{name}: {value};" in CSS, name


def test_a_status_tag_names_its_status_in_words(client, leader, assigned_intercessor):
    prayer_request = submit(confidential=False)
    bring_to(prayer_request, Status.BREAKTHROUGH, leader=leader, intercessor=assigned_intercessor)
    client.force_login(leader)

    content = client.get(reverse("request_detail", args=[prayer_request.pk])).content.decode()

    tag = re.search(r'<span class="badge tag status-badge status-breakthrough">([^<]+)</span>', content)
    assert tag
    assert tag.group(1) == str(Status.BREAKTHROUGH.label)
