"""
The printable prayer sheet: open requests that are not confidential, by
category, urgent first and then oldest; never a trace of a confidential
request, not even a category heading only it would fill; leaders only; the
same number of queries for 5 requests as for 50.
"""

import re
from datetime import timedelta

import pytest
from conftest import make_user
from django.urls import reverse
from django.utils import dateformat, timezone

from requests_app import roles, services
from requests_app.models import Category, PrayerRequest, Status

SHEET = reverse("prayer_sheet")
SECRET_TITLE, SECRET_PERSON, SECRET_DETAILS = "Confidential-Ps7Qa", "Person-Kx2Lm", "Details-Wz9Rt"


def request_for(
    title: str,
    *,
    category: str = Category.HEALTH,
    confidential: bool = False,
    urgent: bool = False,
    days_ago: int = 0,
    for_whom: str = "The Okafor family",
    details: str = "",
) -> PrayerRequest:
    prayer_request, _token = services.submit_request(
        for_whom=for_whom,
        title=title,
        category=category,
        details=details,
        is_urgent=urgent,
        is_confidential=confidential,
    )
    if days_ago:
        PrayerRequest.objects.filter(pk=prayer_request.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return prayer_request


@pytest.fixture
def sheet_world(leader, assigned_intercessor, other_intercessor):
    """Health: an old request in intercession with Anna and Simeon, a newer
    urgent one at breakthrough with Anna, a new one nobody carries yet (shared
    with the team), a manifested and a closed one, and a confidential one.
    Family: one request. Finances: only a confidential request, one no leader
    has shared and one flagged by the team: none for the sheet."""
    old = request_for("Old health", days_ago=9, details="Strength for each day.\nAnd sleep.")
    services.assign(old, [assigned_intercessor, other_intercessor], by=leader)
    urgent = request_for("Urgent health", urgent=True, days_ago=2)
    services.assign(urgent, [assigned_intercessor], by=leader)
    services.move(urgent, Status.BREAKTHROUGH, actor=leader)
    waiting = request_for("Waiting health", days_ago=5)
    manifested = request_for("Manifested health", days_ago=20)
    services.assign(manifested, [assigned_intercessor], by=leader)
    services.move(manifested, Status.ANSWERED, actor=leader)
    closed = request_for("Closed health", days_ago=20)
    services.move(closed, Status.CLOSED, actor=leader)
    request_for(
        SECRET_TITLE, confidential=True, urgent=True, days_ago=30, for_whom=SECRET_PERSON, details=SECRET_DETAILS
    )
    family = request_for("Family request", category=Category.FAMILY, days_ago=1, for_whom="The Brandt family")
    # The new ones reach the sheet once a leader has shared them with the team.
    for shared in (waiting, family):
        services.share_with_team(shared, by=leader)
    # No leader has looked at this one yet, nor at the flagged one since.
    request_for(SECRET_TITLE + "-unshared", category=Category.FINANCES, for_whom=SECRET_PERSON, details=SECRET_DETAILS)
    flagged = request_for(SECRET_TITLE + "-flagged", category=Category.FINANCES, for_whom=SECRET_PERSON)
    services.share_with_team(flagged, by=leader)
    services.flag(flagged, by=other_intercessor, reason="Not for the sheet")
    request_for(
        SECRET_TITLE + "-2",
        category=Category.FINANCES,
        confidential=True,
        for_whom=SECRET_PERSON,
        details=SECRET_DETAILS,
    )
    return {"old": old, "urgent": urgent, "waiting": waiting, "family": family}


def titles_on(response) -> list[tuple[str, list[str]]]:
    return [(str(category), [pr.title for pr in requests]) for category, requests in response.context["categories"]]


def test_it_lists_open_shareable_requests_by_category(client, leader, sheet_world):
    client.force_login(leader)

    response = client.get(SHEET)

    assert response.status_code == 200
    # Categories in their own order; urgent first, then the oldest.
    assert titles_on(response) == [
        ("Health", ["Urgent health", "Old health", "Waiting health"]),
        ("Family", ["Family request"]),
    ]
    html = response.content.decode()
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", html)
    assert headings == ["Health", "Family"]
    assert html.index("Urgent health") < html.index("Old health") < html.index("Waiting health")
    assert "Manifested health" not in html
    assert "Closed health" not in html


def test_it_shows_each_request_with_its_people_and_status(client, leader, sheet_world):
    client.force_login(leader)

    html = client.get(SHEET).content.decode()

    def article(title: str) -> str:
        found = re.search(
            rf'<article class="prayer-sheet-request[^"]*">(?:(?!</article>).)*{title}.*?</article>', html, re.S
        )
        assert found, title
        return " ".join(found.group(0).split())

    old = article("Old health")
    assert "For The Okafor family" in old
    assert "In intercession" in old
    assert "Strength for each day.<br>And sleep." in old
    assert "Intercessors: Anna, Simeon" in old
    urgent = article("Urgent health")
    assert "Urgent" in urgent
    assert "Breakthrough in the spirit — awaiting manifestation" in urgent
    assert "Intercessors: Anna" in urgent
    waiting = article("Waiting health")
    assert "Awaiting assignment" in waiting
    assert "Intercessors: <em>nobody yet</em>" in waiting
    assert "For The Brandt family" in article("Family request")


def test_it_never_shows_a_confidential_request(client, leader, sheet_world):
    client.force_login(leader)

    html = client.get(SHEET).content.decode()

    for marker in (SECRET_TITLE, SECRET_PERSON, SECRET_DETAILS):
        assert marker not in html
    # Finances holds only requests that are not for the sheet: not even its heading shows.
    assert "Finances" not in html
    assert html.count('class="prayer-sheet-request') == 4


def test_it_is_made_to_be_printed(client, leader, sheet_world):
    client.force_login(leader)

    html = client.get(SHEET).content.decode()

    assert re.search(r'<link rel="stylesheet" href="/static/css/print\.css" media="print">', html)
    assert re.search(r'<script src="/static/js/print\.js" defer></script>', html)
    # The Print button only shows when scripts run (the "js" class of
    # look.js, before the first paint), and the sheet tells everyone how to
    # print without it.
    assert re.search(
        r'<button type="button" class="btn btn-primary" data-shown-when-scripted data-print-button>', html
    )
    assert "Print command" in html
    # The date it was printed, on the paper.
    today = timezone.localdate()
    assert f'Open requests as of <time datetime="{today.isoformat()}T' in html
    assert dateformat.format(today, "l j F Y") in html
    assert "style=" not in html
    assert "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_it_says_when_there_is_nothing_to_print(client, leader):
    request_for(SECRET_TITLE, confidential=True)
    client.force_login(leader)

    html = client.get(SHEET).content.decode()

    assert "There is nothing to pray through on the sheet" in html
    assert SECRET_TITLE not in html
    assert "Health" not in html


# --- Who may open it -----------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("leader", 200),
        ("assigned_intercessor", 403),
        ("other_intercessor", 403),
        ("released_intercessor", 403),
        ("superuser", 403),
    ],
)
def test_it_is_for_leaders_only(client, request, persona, expected):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(SHEET)

    assert response.status_code == expected
    if expected != 200:
        assert b"prayer-sheet-request" not in response.content


def test_it_sends_the_anonymous_to_log_in(client, db):
    response = client.get(SHEET)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_only_reads(client, leader):
    client.force_login(leader)

    assert client.post(SHEET).status_code == 405


def test_it_is_in_the_leaders_navigation(client, leader):
    client.force_login(leader)

    html = client.get(SHEET).content.decode()

    assert re.search(rf'aria-current="page" href="{SHEET}">Prayer sheet<', html)


# --- A constant number of queries ----------------------------------------------
#
# The session and the user with their roles (2); the requests (1) and their
# intercessors (1).


def test_it_keeps_the_number_of_queries_constant(client, django_assert_num_queries, leader):
    client.force_login(leader)
    intercessors = [make_user(name, roles.INTERCESSORS, capacity=50) for name in ("ruth", "samuel")]
    categories = Category.values
    for more, total in ((5, 5), (45, 50)):
        for number in range(more):
            prayer_request = request_for(f"Row {number}", category=categories[number % len(categories)])
            if number % 2:
                services.assign(prayer_request, intercessors, by=leader)
            else:
                services.share_with_team(prayer_request, by=leader)
            # Confidential requests beside them change nothing on the sheet.
            request_for(f"Hidden {number}", confidential=True)
        with django_assert_num_queries(4):
            response = client.get(SHEET)
        assert sum(len(requests) for _category, requests in response.context["categories"]) == total
