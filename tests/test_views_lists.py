"""
The team's lists: triage, every request (with its filters), my assignments,
the team board, the team, coverage gaps and my history.

Who may open each page, what each shows and in which order, what it never
shows (confidential marker titles), that nonsense in a filter is a message
and not a 500, and that every page costs the same number of queries for 5
rows as for 50.
"""

from datetime import timedelta

import pytest
from conftest import submit
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from requests_app import roles, services
from requests_app.models import (
    Assignment,
    Category,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    UpdateKind,
    Visibility,
)
from requests_app.views.lists import PAGE_SIZE

S = Status
TRIAGE, REQUEST_LIST, MINE = reverse("triage"), reverse("request_list"), reverse("my_assignments")
BOARD, TEAM, COVERAGE, HISTORY = reverse("board"), reverse("team"), reverse("coverage"), reverse("history")
LOGIN = reverse("login")

# Marker titles that must only appear where their reader may see them.
SECRET = "Confidential-Wq7Zr"
SECRET_NOTE = "Journal-Vp3Kx"


def ids_on(response) -> list[int]:
    return [row.pk for row in response.context["page"].object_list]


def make_requests(
    how_many: int,
    *,
    status: str = S.NEW,
    confidential: bool = False,
    urgent: bool = False,
    title: str = "Row",
    category: str = Category.HEALTH,
) -> list[int]:
    """Cheap rows: submitted through the service, then moved in bulk (no
    assignment, no story) where a test only needs the status."""
    made = [
        services.submit_request(
            for_whom="R. S.",
            title=f"{title} {number}",
            category=category,
            is_confidential=confidential,
            is_urgent=urgent,
        )[0].pk
        for number in range(how_many)
    ]
    if status != S.NEW:
        # Out of `new`, a leader has triaged it: it is shared with the team.
        PrayerRequest.objects.filter(pk__in=made).update(status=status, shared_with_team_at=timezone.now())
    return made


def assign_in_bulk(request_ids: list[int], intercessor: User, *, by: User) -> None:
    Assignment.objects.bulk_create(
        Assignment(prayer_request_id=pk, intercessor=intercessor, assigned_by=by) for pk in request_ids
    )


def backdate(prayer_request: PrayerRequest, days: float) -> None:
    when = timezone.now() - timedelta(days=days)
    PrayerRequest.objects.filter(pk=prayer_request.pk).update(created_at=when)
    PrayerRequest.objects.filter(pk=prayer_request.pk, entered_intercession_at__isnull=False).update(
        entered_intercession_at=when
    )
    StatusUpdate.objects.filter(prayer_request=prayer_request).update(created_at=when)


def pray(prayer_request: PrayerRequest, intercessor: User, *, days_ago: float) -> PrayerLog:
    return services.log_prayer(
        prayer_request, intercessor=intercessor, prayed_at=timezone.now() - timedelta(days=days_ago)
    )


# --- Who may open which page ----------------------------------------------

LEADER_PAGES = [TRIAGE, REQUEST_LIST, TEAM, COVERAGE]
TEAM_PAGES = [MINE, BOARD, HISTORY]

EXPECTED_STATUS = {
    "leader": dict.fromkeys(LEADER_PAGES + TEAM_PAGES, 200),
    "assigned_intercessor": dict.fromkeys(LEADER_PAGES, 403) | dict.fromkeys(TEAM_PAGES, 200),
    "other_intercessor": dict.fromkeys(LEADER_PAGES, 403) | dict.fromkeys(TEAM_PAGES, 200),
    "released_intercessor": dict.fromkeys(LEADER_PAGES, 403) | dict.fromkeys(TEAM_PAGES, 200),
    # A site administrator is not on the team.
    "superuser": dict.fromkeys(LEADER_PAGES + TEAM_PAGES, 403),
}


@pytest.mark.parametrize("url", LEADER_PAGES + TEAM_PAGES)
@pytest.mark.parametrize("persona", list(EXPECTED_STATUS))
def test_it_lets_each_persona_in_or_not(request, client, request_in, url, persona):
    prayer_request = request_in(S.INTERCEDING, confidential=True)
    client.force_login(request.getfixturevalue(persona))

    response = client.get(url)

    assert response.status_code == EXPECTED_STATUS[persona][url]
    if response.status_code == 403:
        assert prayer_request.title not in response.content.decode()


@pytest.mark.parametrize("url", LEADER_PAGES + TEAM_PAGES)
def test_it_sends_anonymous_visitors_to_log_in(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next={url}"


@pytest.mark.parametrize("url", LEADER_PAGES + TEAM_PAGES)
def test_it_refuses_to_change_anything(client, leader, url):
    client.force_login(leader)

    assert client.post(url).status_code == 405


# --- Triage ---------------------------------------------------------------


def test_it_queues_new_requests_urgent_first_then_oldest(client, leader, request_in):
    oldest = submit(title="Oldest-Ta1")
    newest = submit(title="Newest-Ta2")
    urgent = submit(title="Urgent-Ta3", urgent=True)
    older_urgent = submit(title="Older-urgent-Ta4", urgent=True)
    backdate(oldest, 5)
    backdate(older_urgent, 2)
    request_in(S.INTERCEDING)
    client.force_login(leader)

    response = client.get(TRIAGE)

    assert ids_on(response) == [older_urgent.pk, urgent.pk, oldest.pk, newest.pk]
    content = response.content.decode()
    assert reverse("request_assign", args=[oldest.pk]) in content
    assert reverse("request_detail", args=[oldest.pk]) in content
    assert "Urgent" in content
    assert "Confidential" in content
    created_at = timezone.localtime(PrayerRequest.objects.get(pk=oldest.pk).created_at)
    assert f'datetime="{created_at.replace(microsecond=0).isoformat()}' in content


def test_it_does_not_queue_requests_that_have_intercessors(client, leader, request_in):
    for status in (S.INTERCEDING, S.BREAKTHROUGH, S.ANSWERED, S.CLOSED):
        request_in(status)
    client.force_login(leader)

    response = client.get(TRIAGE)

    assert ids_on(response) == []
    assert "No requests are waiting — every request has intercessors." in response.content.decode()


# --- Every request, and its filters -----------------------------------------


@pytest.fixture
def catalogue(leader, assigned_intercessor):
    """Requests differing in one filtered property each, newest last."""
    made = {
        "plain": services.submit_request(
            for_whom="Joseph", title="A new job", category=Category.WORK, is_confidential=False
        )[0],
        "urgent": services.submit_request(
            for_whom="Ruth", title="Surgery tomorrow", category=Category.HEALTH, is_urgent=True, is_confidential=False
        )[0],
        "confidential": services.submit_request(
            for_whom="unspoken", title="A marriage in trouble", category=Category.MARRIAGE, details="Pray for Tabitha"
        )[0],
        "interceding": services.submit_request(
            for_whom="The city", title="Revival", category=Category.NATION, is_confidential=False
        )[0],
    }
    services.assign(made["interceding"], [assigned_intercessor], by=leader)
    for age, prayer_request in enumerate(reversed(made.values())):
        backdate(prayer_request, age + 1)
    return made


def pks(catalogue, *names) -> list[int]:
    return [catalogue[name].pk for name in names]


def test_it_lists_every_request_newest_first_with_its_status(client, leader, catalogue):
    client.force_login(leader)

    response = client.get(REQUEST_LIST)

    assert response.status_code == 200
    assert ids_on(response) == pks(catalogue, "interceding", "confidential", "urgent", "plain")
    content = response.content.decode()
    assert "In intercession" in content
    assert "Awaiting assignment" in content
    assert "4 requests, newest first." in content
    for prayer_request in catalogue.values():
        assert reverse("request_detail", args=[prayer_request.pk]) in content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": S.INTERCEDING}, ["interceding"]),
        ({"status": S.NEW}, ["confidential", "urgent", "plain"]),
        ({"status": S.CLOSED}, []),
        ({"category": Category.WORK}, ["plain"]),
        ({"category": Category.MARRIAGE}, ["confidential"]),
        ({"urgent": "yes"}, ["urgent"]),
        ({"urgent": "no"}, ["interceding", "confidential", "plain"]),
        ({"confidential": "yes"}, ["confidential"]),
        ({"confidential": "no"}, ["interceding", "urgent", "plain"]),
        ({"urgent": "", "confidential": ""}, ["interceding", "confidential", "urgent", "plain"]),
        # The search looks in the title, for whom and the details, in any case.
        ({"q": "surgery"}, ["urgent"]),
        ({"q": "JOSEPH"}, ["plain"]),
        ({"q": "tabitha"}, ["confidential"]),
        ({"q": "  revival  "}, ["interceding"]),
        ({"q": "nowhere-to-be-found"}, []),
        ({"q": "a", "status": S.NEW, "urgent": "no"}, ["confidential", "plain"]),
    ],
)
def test_it_filters(client, leader, catalogue, query, expected):
    client.force_login(leader)

    response = client.get(REQUEST_LIST, query)

    assert response.status_code == 200
    assert not response.context["form"].errors
    assert ids_on(response) == pks(catalogue, *expected)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"status": "Awaiting assignment"}, "status"),
        ({"category": "<script>"}, "category"),
        ({"urgent": "maybe"}, "urgent"),
        ({"confidential": "1"}, "confidential"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_it_reports_a_junk_filter_and_lists_without_it(client, leader, catalogue, query, field):
    client.force_login(leader)

    response = client.get(REQUEST_LIST, query)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert ids_on(response) == pks(catalogue, "interceding", "confidential", "urgent", "plain")
    assert "Some filters could not be used" in response.content.decode()


def test_it_still_applies_the_valid_filters_beside_a_junk_one(client, leader, catalogue):
    client.force_login(leader)

    response = client.get(REQUEST_LIST, {"status": "bogus", "category": Category.WORK})

    assert list(response.context["form"].errors) == ["status"]
    assert ids_on(response) == pks(catalogue, "plain")


def test_it_accepts_a_search_of_exactly_the_limit(client, leader, catalogue):
    client.force_login(leader)

    response = client.get(REQUEST_LIST, {"q": "x" * 100})

    assert not response.context["form"].errors
    assert ids_on(response) == []


@pytest.mark.parametrize("junk", [{"status": ["new", "closed"]}, {"page": "abc"}, {"page": "-3"}, {"q": "%_\\"}])
def test_it_survives_odd_queries(client, leader, catalogue, junk):
    client.force_login(leader)

    assert client.get(REQUEST_LIST, junk).status_code == 200


def test_it_keeps_the_filters_on_the_page_links(client, leader):
    make_requests(PAGE_SIZE + 3, title="Paged-Lm4")
    make_requests(2, title="Other")
    client.force_login(leader)

    first = client.get(REQUEST_LIST, {"q": "paged-lm4", "urgent": "no"})
    following = first.context["page"].links["next"]
    second = client.get(REQUEST_LIST + following)
    back = client.get(REQUEST_LIST + second.context["page"].links["previous"])

    assert following.startswith("?q=paged-lm4&urgent=no&page=")
    assert f'href="{escape(following)}"' in first.content.decode()
    assert len(ids_on(second)) == 3
    assert second.context["page"].links["previous"].startswith("?q=paged-lm4&urgent=no&page=")
    assert ids_on(back) == ids_on(first)


# --- My assignments -----------------------------------------------------------


def test_it_shows_what_i_carry_urgent_first_then_least_recently_prayed(
    client, leader, assigned_intercessor, other_intercessor, request_in
):
    prayed_long_ago = request_in(S.INTERCEDING)
    prayed_lately = request_in(S.BREAKTHROUGH)
    never_prayed = request_in(S.INTERCEDING)
    urgent = request_in(S.INTERCEDING, urgent=True)
    pray(prayed_long_ago, assigned_intercessor, days_ago=8)
    pray(prayed_lately, leader, days_ago=1)
    pray(urgent, assigned_intercessor, days_ago=0)
    client.force_login(assigned_intercessor)

    response = client.get(MINE)

    assert ids_on(response) == [urgent.pk, never_prayed.pk, prayed_long_ago.pk, prayed_lately.pk]
    content = response.content.decode()
    assert "8 days ago" in content
    assert "yesterday" in content
    assert "never" in content
    assert "Breakthrough in the spirit — awaiting manifestation" in content
    assert content.count(">I prayed<") == 4
    assert reverse("request_pray", args=[never_prayed.pk]) in content
    assert reverse("request_detail", args=[never_prayed.pk]) in content


def test_it_leaves_out_what_i_no_longer_carry(client, assigned_intercessor, released_intercessor, request_in):
    for status in (S.ANSWERED, S.CLOSED):
        request_in(status)
    carried = request_in(S.INTERCEDING)

    client.force_login(assigned_intercessor)
    assert ids_on(client.get(MINE)) == [carried.pk]

    # released_intercessor was assigned to each, then released.
    client.force_login(released_intercessor)
    response = client.get(MINE)
    assert ids_on(response) == []
    assert carried.title not in response.content.decode()
    assert "You are not carrying any requests right now." in response.content.decode()


def test_it_shows_a_leader_who_does_not_intercede_an_empty_list(client, leader, request_in):
    request_in(S.INTERCEDING)
    client.force_login(leader)

    response = client.get(MINE)

    assert response.status_code == 200
    assert ids_on(response) == []


def test_it_shows_a_leader_who_intercedes_what_they_carry(client, leader, request_in):
    leader.groups.add(Group.objects.get(name=roles.INTERCESSORS))
    prayer_request = submit(title="Carried by the leader")
    services.assign(prayer_request, [leader], by=leader)
    request_in(S.INTERCEDING)
    client.force_login(leader)

    assert ids_on(client.get(MINE)) == [prayer_request.pk]


# --- The team board -----------------------------------------------------------


@pytest.fixture
def board_requests(request_in, leader):
    made = {
        "secret": submit(title=SECRET),
        "secret assigned": request_in(S.INTERCEDING, confidential=True),
        "new": submit(confidential=False, title="Public-new-Bd1"),
        "interceding": request_in(S.INTERCEDING, confidential=False),
        "breakthrough": request_in(S.BREAKTHROUGH, confidential=False),
        "answered": request_in(S.ANSWERED, confidential=False),
        "closed": request_in(S.CLOSED, confidential=False),
        "urgent": submit(confidential=False, urgent=True, title="Public-urgent-Bd2"),
        # New and public, but no leader has looked at it yet: not on the board.
        "not shared": submit(confidential=False, title=f"{SECRET} not shared"),
    }
    for name in ("new", "urgent"):
        services.share_with_team(made[name], by=leader)
    PrayerRequest.objects.filter(pk=made["secret assigned"].pk).update(title=f"{SECRET} assigned")
    for age, name in enumerate(["urgent", "breakthrough", "interceding", "new"]):
        backdate(made[name], 10 - age)
    return made


@pytest.mark.parametrize("persona", ["leader", "assigned_intercessor", "other_intercessor", "released_intercessor"])
def test_it_shows_the_team_board_without_confidential_or_finished_requests(request, client, board_requests, persona):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(BOARD)

    expected = [board_requests[name].pk for name in ("urgent", "breakthrough", "interceding", "new")]
    assert ids_on(response) == expected
    content = response.content.decode()
    assert SECRET not in content
    assert content.count(">I prayed<") == 4
    assert "never" in content
    assert reverse("request_pray", args=[board_requests["new"].pk]) in content


def test_it_shows_on_the_board_how_long_since_the_team_prayed(client, other_intercessor, board_requests):
    pray(board_requests["interceding"], other_intercessor, days_ago=4)
    client.force_login(other_intercessor)

    assert "4 days ago" in client.get(BOARD).content.decode()


# --- Confidential titles stay where they belong -------------------------------


@pytest.mark.parametrize("url", TEAM_PAGES)
def test_it_never_shows_a_confidential_request_to_an_unassigned_intercessor(
    client, leader, assigned_intercessor, other_intercessor, url
):
    secret = submit(title=SECRET)
    services.assign(secret, [assigned_intercessor], by=leader)
    services.log_prayer(secret, intercessor=assigned_intercessor, note="for the unassigned not to see")
    client.force_login(other_intercessor)

    assert SECRET not in client.get(url).content.decode()


# --- The team: tests/test_team.py ----------------------------------------------


# --- Coverage ----------------------------------------------------------------


@pytest.fixture
def gaps(leader, assigned_intercessor, other_intercessor, request_in):
    """Requests with known gaps, in days, as of now."""
    made = {}

    def add(name: str, status: str, *, submitted: float, prayed: float | None = None) -> None:
        prayer_request = request_in(S.INTERCEDING, confidential=False)
        if prayed is not None:
            pray(prayer_request, other_intercessor, days_ago=prayed)
        if status != S.INTERCEDING:
            services.move(prayer_request, status, actor=leader)
        backdate(prayer_request, submitted)
        made[name] = prayer_request

    add("prayed 10 days ago", S.INTERCEDING, submitted=30, prayed=10)
    add("prayed yesterday", S.INTERCEDING, submitted=30, prayed=1)
    add("never prayed, 5 days in", S.INTERCEDING, submitted=5)
    add("never prayed, 1 day in", S.INTERCEDING, submitted=1)
    add("breakthrough, prayed 20 days ago", S.BREAKTHROUGH, submitted=40, prayed=20)
    add("answered, prayed 50 days ago", S.ANSWERED, submitted=60, prayed=50)
    add("closed, never prayed", S.CLOSED, submitted=60)
    new = submit(confidential=False)
    backdate(new, 60)
    made["new for 60 days"] = new
    # Submitted long ago, but only entered intercession 2 days ago.
    late = submit(confidential=False)
    backdate(late, 50)
    services.assign(late, [assigned_intercessor], by=leader)
    StatusUpdate.objects.filter(prayer_request=late, kind=UpdateKind.MOVE).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    PrayerRequest.objects.filter(pk=late.pk).update(entered_intercession_at=timezone.now() - timedelta(days=2))
    made["entered intercession 2 days ago"] = late
    return made


def test_it_finds_the_requests_nobody_prayed_for_in_n_days(client, settings, leader, gaps):
    settings.INTERCESSION_COVERAGE_DAYS = 3
    client.force_login(leader)

    response = client.get(COVERAGE)

    assert ids_on(response) == [
        gaps[name].pk for name in ("breakthrough, prayed 20 days ago", "prayed 10 days ago", "never prayed, 5 days in")
    ]
    assert [row.gap for row in response.context["rows"]] == [
        "20 days without prayer",
        "10 days without prayer",
        "5 days without prayer",
    ]
    content = response.content.decode()
    assert "Requests where the gap is open: nobody has stood in it for 3 days" in content
    assert "20 days without prayer" in content
    # Each row names who is interceding (the released one is not).
    assert content.count("Anna") == 3
    assert "Barnabas" not in content


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ("15", ["breakthrough, prayed 20 days ago"]),
        ("1", ["breakthrough, prayed 20 days ago", "prayed 10 days ago", "never prayed, 5 days in",
               "entered intercession 2 days ago", "prayed yesterday", "never prayed, 1 day in"]),
        ("365", []),
    ],
)  # fmt: skip
def test_it_takes_the_number_of_days_from_the_form(client, leader, gaps, days, expected):
    client.force_login(leader)

    response = client.get(COVERAGE, {"days": days})

    assert not response.context["form"].errors
    assert ids_on(response) == [gaps[name].pk for name in expected]


@pytest.mark.parametrize("days", ["abc", "0", "366", "-1", "2.5", "1e3"])
def test_it_falls_back_to_the_default_days_on_nonsense(client, settings, leader, gaps, days):
    settings.INTERCESSION_COVERAGE_DAYS = 3
    client.force_login(leader)

    response = client.get(COVERAGE, {"days": days})

    assert response.status_code == 200
    assert "days" in response.context["form"].errors
    assert response.context["days"] == 3
    assert len(ids_on(response)) == 3


def test_it_says_when_there_are_no_gaps(client, leader, other_intercessor, request_in):
    pray(request_in(S.INTERCEDING, confidential=False), other_intercessor, days_ago=0)
    client.force_login(leader)

    response = client.get(COVERAGE)

    assert "No gaps" in response.content.decode()


# --- My history -------------------------------------------------------------


@pytest.fixture
def released_secret(leader, assigned_intercessor, released_intercessor):
    """A confidential request both intercessors prayed for and kept notes on;
    then released_intercessor's assignment was released."""
    secret = submit(title=SECRET)
    services.assign(secret, [assigned_intercessor, released_intercessor], by=leader)
    for user in (assigned_intercessor, released_intercessor):
        services.log_prayer(secret, intercessor=user, minutes=15, fasted=True, note=f"Prayer note of {user}")
        services.post_update(secret, actor=user, note=f"{SECRET_NOTE} of {user}", visibility=Visibility.PRIVATE)
    services.post_update(secret, actor=assigned_intercessor, note="Team-note-Hx1", visibility=Visibility.TEAM)
    services.release(secret.assignments.get(intercessor=released_intercessor), by=leader)
    return secret


def test_it_shows_my_prayers_and_my_journal(client, assigned_intercessor, released_secret):
    client.force_login(assigned_intercessor)

    response = client.get(HISTORY)

    assert response.status_code == 200
    content = response.content.decode()
    assert SECRET in content
    assert reverse("request_detail", args=[released_secret.pk]) in content
    assert "15 minutes" in content
    assert "with fasting" in content
    assert "Prayer note of anna" in content
    assert f"{SECRET_NOTE} of anna" in content
    # Only mine, and only my private notes.
    assert "barnabas" not in content
    assert "Team-note-Hx1" not in content


def test_it_hides_the_title_of_a_request_i_no_longer_carry(client, released_intercessor, released_secret):
    client.force_login(released_intercessor)

    response = client.get(HISTORY)

    content = response.content.decode()
    assert SECRET not in content
    assert reverse("request_detail", args=[released_secret.pk]) not in content
    assert content.count("A request you no longer carry") == 2
    # What I wrote myself is still mine to read.
    assert "Prayer note of barnabas" in content
    assert f"{SECRET_NOTE} of barnabas" in content
    assert [entry.request_title for entry in response.context["prayers"].object_list] == [None]


def test_it_shows_an_other_intercessor_nothing_of_anyone_elses_history(client, other_intercessor, released_secret):
    client.force_login(other_intercessor)

    content = client.get(HISTORY).content.decode()

    assert SECRET not in content
    assert "Prayer note" not in content
    assert "You have not logged a prayer yet." in content
    assert "Your journal is empty." in content


def test_it_pages_prayers_and_journal_separately(client, leader, assigned_intercessor):
    (prayer_request,) = [PrayerRequest.objects.get(pk=pk) for pk in make_requests(1, status=S.INTERCEDING)]
    now = timezone.now()
    PrayerLog.objects.bulk_create(
        PrayerLog(prayer_request=prayer_request, intercessor=leader, prayed_at=now - timedelta(hours=n))
        for n in range(PAGE_SIZE + 2)
    )
    client.force_login(leader)

    first = client.get(HISTORY, {"notes_page": "kept"})
    following = first.context["prayers"].links["next"]
    second = client.get(HISTORY + following)

    assert len(first.context["prayers"].object_list) == PAGE_SIZE
    assert following.startswith("?notes_page=kept&prayers_page=")
    assert following.endswith("#prayers-heading")
    assert f'href="{escape(following)}"' in first.content.decode()
    assert len(second.context["prayers"].object_list) == 2
    assert second.context["prayers"].links["previous"].startswith("?notes_page=kept&prayers_page=")
    assert first.context["journal"].links == {"previous": "", "next": ""}


# --- A constant number of queries -----------------------------------------------
#
# The session, then the user with their roles (2: requests_app/web/auth.py),
# then the page of each list: a
# keyset page (triage, requests, board, coverage, history) is one query;
# my assignments, bounded by what I can carry, counts and fetches (2). Triage
# adds its capped count ("more than 1000"); coverage adds one prefetch of the
# intercessors.


def _rows_for_triage(how_many, ctx):
    make_requests(how_many, confidential=True)


def _rows_for_request_list(how_many, ctx):
    make_requests(how_many, status=S.INTERCEDING, confidential=True)


def _rows_for_board(how_many, ctx):
    make_requests(how_many, status=S.INTERCEDING)


def _rows_for_mine(how_many, ctx):
    ids = make_requests(how_many, status=S.INTERCEDING, confidential=True)
    assign_in_bulk(ids, ctx["intercessor"], by=ctx["leader"])
    PrayerLog.objects.bulk_create(
        PrayerLog(prayer_request_id=pk, intercessor=ctx["intercessor"], prayed_at=timezone.now()) for pk in ids[::2]
    )


def _rows_for_coverage(how_many, ctx):
    ids = make_requests(how_many, status=S.INTERCEDING, confidential=True)
    assign_in_bulk(ids, ctx["intercessor"], by=ctx["leader"])
    PrayerRequest.objects.filter(pk__in=ids).update(created_at=timezone.now() - timedelta(days=30))


def _rows_for_history(how_many, ctx):
    ids = make_requests(how_many, status=S.INTERCEDING, confidential=True)
    # Half of them out of the intercessor's sight, half still carried.
    assign_in_bulk(ids[::2], ctx["intercessor"], by=ctx["leader"])
    PrayerLog.objects.bulk_create(
        PrayerLog(prayer_request_id=pk, intercessor=ctx["intercessor"], prayed_at=timezone.now()) for pk in ids
    )
    StatusUpdate.objects.bulk_create(
        StatusUpdate(
            prayer_request_id=pk,
            author=ctx["intercessor"],
            kind=UpdateKind.NOTE,
            from_status=S.INTERCEDING,
            to_status=S.INTERCEDING,
            note="Mine",
            visibility=Visibility.PRIVATE,
        )
        for pk in ids
    )


QUERY_CASES = [
    # Triage: + 1 for its "Flagged by the team" (none here: an empty list);
    # its notice of undeliverable e-mails asks nothing once the outbox
    # remembers there are none (tests/test_outbox.py), as on a running site.
    (TRIAGE, "leader", _rows_for_triage, 5),
    (REQUEST_LIST, "leader", _rows_for_request_list, 3),
    (BOARD, "leader", _rows_for_board, 3),
    (BOARD, "intercessor", _rows_for_board, 3),
    (MINE, "intercessor", _rows_for_mine, 4),
    (COVERAGE, "leader", _rows_for_coverage, 4),
    (HISTORY, "intercessor", _rows_for_history, 4),
]


@pytest.mark.parametrize(
    ("url", "viewer", "add_rows", "expected"), QUERY_CASES, ids=[f"{c[0]}-{c[1]}" for c in QUERY_CASES]
)
def test_it_keeps_the_number_of_queries_constant(
    client, django_assert_num_queries, leader, assigned_intercessor, url, viewer, add_rows, expected
):
    ctx = {"leader": leader, "intercessor": assigned_intercessor}
    client.force_login(ctx[viewer])
    client.get(url)  # what a running site has in its cache already
    for more_rows, total in ((5, 5), (45, 50)):
        add_rows(more_rows, ctx)
        with django_assert_num_queries(expected):
            response = client.get(url)
        assert response.status_code == 200
        page = response.context["prayers"] if url == HISTORY else response.context["page"]
        assert len(page.object_list) == min(total, PAGE_SIZE)
        # A page further on costs the same.
        if hasattr(page, "links") and page.has_next:
            further = f"{url}{page.links['next']}"
            with django_assert_num_queries(expected):
                assert client.get(further).status_code == 200


def test_it_keeps_the_queries_constant_with_filters(client, django_assert_num_queries, leader):
    client.force_login(leader)
    query = {"q": "row", "status": S.INTERCEDING, "category": Category.HEALTH, "urgent": "no", "confidential": "yes"}
    for total in (5, 50):
        make_requests(total - PrayerRequest.objects.count(), status=S.INTERCEDING, confidential=True)
        with django_assert_num_queries(3):
            response = client.get(REQUEST_LIST, query)
        assert len(ids_on(response)) == min(total, PAGE_SIZE)
