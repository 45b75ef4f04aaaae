"""
Keyset pagination (requests_app/keyset.py) on the long lists: walking a list
forwards and backwards shows every row exactly once and in order, also where
rows tie on every key but the id; a changed, foreign or nonsense cursor gives
the first page and says so, never an error; and the counts on the lists stop
at their cap.
"""

from datetime import timedelta

import pytest
from conftest import make_user
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from requests_app import roles
from requests_app.keyset import Key, Keyset
from requests_app.models import Category, PrayerLog, PrayerRequest, Status
from requests_app.views import lists

TRIAGE, REQUEST_LIST, BOARD, COVERAGE = (
    reverse("triage"),
    reverse("request_list"),
    reverse("board"),
    reverse("coverage"),
)
S = Status


def rows(how_many: int, *, status=S.NEW, confidential=False, urgent_every=3, same_moment_every=4) -> list[int]:
    """Requests in bulk, some urgent, and in runs that share one created_at
    (only the id tells them apart)."""
    start = timezone.now() - timedelta(days=30)
    first = PrayerRequest.objects.count()
    made = PrayerRequest.objects.bulk_create(
        PrayerRequest(
            for_whom="R.",
            title=f"Row {number}",
            category=Category.HEALTH,
            status=status,
            is_confidential=confidential,
            is_urgent=number % urgent_every == 0,
            # Out of `new`, a leader has triaged it: shared with the team.
            shared_with_team_at=None if status == S.NEW else start,
            followup_token_hash=f"{first + number:064x}",
        )
        for number in range(how_many)
    )
    for number, prayer_request in enumerate(made):
        PrayerRequest.objects.filter(pk=prayer_request.pk).update(
            created_at=start + timedelta(hours=number // same_moment_every)
        )
    return [prayer_request.pk for prayer_request in made]


def walk(client, url: str, *, backwards_from: str = "") -> list[list[int]]:
    """Every page from `url` on, following the links one way."""
    pages, address = [], url + backwards_from
    while address:
        response = client.get(address)
        assert response.status_code == 200
        page = response.context["page"]
        assert not page.cursor_refused
        pages.append([row.pk for row in page.object_list])
        link = page.links["previous" if backwards_from else "next"]
        address = url + link if link else ""
    return pages


def expected_triage_order() -> list[int]:
    return list(
        PrayerRequest.objects.filter(status=S.NEW)
        .order_by("-is_urgent", "created_at", "pk")
        .values_list("pk", flat=True)
    )


def test_it_walks_the_triage_queue_forwards_and_back_showing_each_request_once(client, leader):
    rows(2 * lists.PAGE_SIZE + 7)
    client.force_login(leader)

    forwards = walk(client, TRIAGE)
    last_page = client.get(TRIAGE + client.get(TRIAGE).context["page"].links["next"])
    last_page = client.get(TRIAGE + last_page.context["page"].links["next"])
    backwards = walk(client, TRIAGE, backwards_from=last_page.context["page"].links["previous"])

    assert [len(page) for page in forwards] == [lists.PAGE_SIZE, lists.PAGE_SIZE, 7]
    assert [pk for page in forwards for pk in page] == expected_triage_order()
    # Back from the last page: the same pages as going forwards.
    assert backwards == forwards[-2::-1]


def test_it_keeps_the_filters_and_the_order_of_the_list_of_requests(client, leader):
    rows(40, status=S.INTERCEDING)
    rows(10, status=S.NEW)
    client.force_login(leader)

    pages = walk(client, REQUEST_LIST + "?status=interceding&urgent=no")
    every = [pk for page in pages for pk in page]

    assert every == list(
        PrayerRequest.objects.filter(status=S.INTERCEDING, is_urgent=False)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
    )


def test_it_walks_the_board_as_an_intercessor(client, other_intercessor):
    rows(lists.PAGE_SIZE + 4, status=S.INTERCEDING)
    rows(5, status=S.INTERCEDING, confidential=True)  # never on the board
    client.force_login(other_intercessor)

    every = [pk for page in walk(client, BOARD) for pk in page]

    assert every == list(
        PrayerRequest.objects.filter(is_confidential=False)
        .order_by("-is_urgent", "created_at", "pk")
        .values_list("pk", flat=True)
    )


def test_it_walks_the_coverage_gaps_longest_first(client, leader, settings):
    settings.INTERCESSION_COVERAGE_DAYS = 3
    rows(lists.PAGE_SIZE + 2, status=S.INTERCEDING)
    client.force_login(leader)

    pages = walk(client, COVERAGE)

    assert [len(page) for page in pages] == [lists.PAGE_SIZE, 2]
    assert [pk for page in pages for pk in page] == list(
        PrayerRequest.objects.order_by("created_at", "pk").values_list("pk", flat=True)
    )


@pytest.mark.parametrize(
    "cursor",
    [
        "abc",
        "-3",
        "2",
        "",
        "x" * 5000,
        "%00",
        "WyJuIiwgZmFsc2VdXQ:1abcde:forged",
    ],
)
def test_it_gives_the_first_page_for_a_cursor_it_cannot_read(client, leader, cursor):
    rows(lists.PAGE_SIZE + 3)
    client.force_login(leader)

    response = client.get(TRIAGE, {"page": cursor})

    assert response.status_code == 200
    assert [row.pk for row in response.context["page"].object_list] == expected_triage_order()[: lists.PAGE_SIZE]
    if cursor:
        assert response.context["page"].cursor_refused
        assert "That page link is out of date or was changed" in response.content.decode()


def test_it_refuses_a_changed_cursor(client, leader):
    rows(lists.PAGE_SIZE + 3)
    client.force_login(leader)
    following = client.get(TRIAGE).context["page"].next_cursor
    value, signature = following.rsplit(":", 1)
    changed = value + ":" + ("A" if signature[0] != "A" else "B") + signature[1:]

    response = client.get(TRIAGE, {"page": changed})

    assert response.status_code == 200
    assert response.context["page"].cursor_refused
    assert len(response.context["page"].object_list) == lists.PAGE_SIZE


def test_it_refuses_a_cursor_of_another_list(client, leader):
    rows(lists.PAGE_SIZE + 3, status=S.INTERCEDING)
    client.force_login(leader)
    from_board = client.get(BOARD).context["page"].next_cursor

    response = client.get(REQUEST_LIST, {"page": from_board})

    assert response.status_code == 200
    assert response.context["page"].cursor_refused


def test_it_refuses_a_cursor_whose_values_are_of_the_wrong_kind():
    keyset = Keyset("test", (Key("created_at", type(timezone.now())), Key("pk", int)))
    for values in (
        ["n", "not a date", 1],
        ["n", timezone.now().isoformat(), "1"],
        ["x", timezone.now().isoformat(), 1],
    ):
        cursor = signing.dumps(values, salt="keyset:test", compress=False)
        page = keyset.page(PrayerRequest.objects.none(), cursor)
        assert page.cursor_refused


def test_it_counts_no_further_than_its_cap(client, leader, monkeypatch):
    rows(5)
    monkeypatch.setattr(lists, "COUNT_CAP", 3)
    client.force_login(leader)

    triage = client.get(TRIAGE)

    assert (triage.context["count"], triage.context["count_capped"]) == (3, True)
    assert "More than 3 requests are waiting." in triage.content.decode()


def test_it_counts_the_list_of_requests_only_when_it_fits_on_one_page(client, leader):
    rows(3)
    client.force_login(leader)
    assert "3 requests, newest first." in client.get(REQUEST_LIST).content.decode()

    rows(lists.PAGE_SIZE)

    longer = client.get(REQUEST_LIST).content.decode()
    assert "Newest first." in longer
    assert "requests, newest first" not in longer


def test_it_counts_exactly_below_its_cap(client, leader):
    rows(5)
    client.force_login(leader)

    assert "5 requests are waiting." in client.get(TRIAGE).content.decode()


def test_it_shows_no_links_on_a_single_page(client, leader):
    rows(3)
    client.force_login(leader)

    page = client.get(TRIAGE).context["page"]

    assert page.links == {"previous": "", "next": ""}
    assert not page.has_other_pages


def test_it_pages_my_history_without_leaving_the_intercessor_their_neighbours_rows(client, assigned_intercessor):
    # Only my own prayers, however many the team logged.
    (pk,) = rows(1, status=S.INTERCEDING)
    someone = make_user("someone", roles.INTERCESSORS)
    now = timezone.now()
    PrayerLog.objects.bulk_create(
        PrayerLog(prayer_request_id=pk, intercessor=who, prayed_at=now - timedelta(minutes=number))
        for number in range(lists.PAGE_SIZE + 5)
        for who in (assigned_intercessor, someone)
    )
    client.force_login(assigned_intercessor)

    first = client.get(reverse("history"))
    second = client.get(reverse("history") + first.context["prayers"].links["next"])

    shown = [entry.pk for entry in [*first.context["prayers"], *second.context["prayers"]]]
    assert shown == list(
        PrayerLog.objects.filter(intercessor=assigned_intercessor)
        .order_by("-prayed_at", "-pk")
        .values_list("pk", flat=True)
    )


@pytest.mark.parametrize("url", [TRIAGE, REQUEST_LIST])
def test_it_gives_the_first_page_when_the_rows_of_a_page_have_left_the_list(client, leader, url):
    """Page 2 was linked, then every request on it left the list (assigned,
    closed, here deleted): not an empty page saying nothing is waiting, but
    the list's start."""
    created = rows(lists.PAGE_SIZE + 5)
    client.force_login(leader)
    shown = client.get(url).context["page"]
    following = shown.next_cursor
    first_page = [row.pk for row in shown.object_list]
    PrayerRequest.objects.filter(pk__in=created).exclude(pk__in=first_page).delete()

    response = client.get(url, {"page": following})

    assert response.status_code == 200
    page = response.context["page"]
    assert page.list_changed
    assert not page.cursor_refused
    assert sorted(row.pk for row in page.object_list) == sorted(first_page)
    assert "The list has changed since that page was shown" in response.content.decode()
