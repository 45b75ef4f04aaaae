"""What the Nu HTML checker and the audits ask of every page, checked without
them: every `<time datetime>` is a valid HTML date or moment, to the second
at most (the standard allows three digits of a second; Django's `date:'c'`
writes six), and every page has a meta description."""

import re
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from requests_app.templatetags.intercession import iso

DATETIME = re.compile(r'datetime="([^"]*)"')
VALID = re.compile(r"\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)?)?")


def test_iso_drops_the_microseconds_and_speaks_local_time(settings):
    settings.TIME_ZONE = "Europe/London"
    moment = datetime(2026, 7, 1, 11, 30, 15, 123456, tzinfo=UTC)

    with timezone.override("Europe/London"):
        assert iso(moment) == "2026-07-01T12:30:15+01:00"
    assert iso(date(2026, 7, 1)) == "2026-07-01"
    assert iso(None) == ""
    assert iso("") == ""


PAGES = [
    "triage",
    "request_list",
    "my_assignments",
    "board",
    "team",
    "coverage",
    "dashboard",
    "audit_log",
    "history",
    "prayer_sheet",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_time_of_the_team_pages_is_valid(client, leader, busy, page):
    client.force_login(leader)

    content = client.get(reverse(page)).content.decode()

    for value in DATETIME.findall(content):
        assert VALID.fullmatch(value), (page, value)


def test_every_time_of_the_request_page_is_valid(client, leader, busy):
    client.force_login(leader)

    content = client.get(reverse("request_detail", args=[busy.pk])).content.decode()

    found = DATETIME.findall(content)
    assert len(found) >= 4
    assert all(VALID.fullmatch(value) for value in found), found


DESCRIPTION = re.compile(r'<meta name="description" content="([^"]+)">')


@pytest.mark.parametrize(
    ("page", "says"),
    [
        ("ask", "Ask the intercession team of"),
        ("privacy_notice", "who sees it, for how long, and how to delete it"),
        ("followup_help", "The intercession team of"),
        ("login", "The intercession team of"),
    ],
)
def test_every_page_has_a_meta_description(client, db, page, says):
    content = client.get(reverse(page)).content.decode()

    (description,) = DESCRIPTION.findall(content)
    assert says in description
    assert "{" not in description
