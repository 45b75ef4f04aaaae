"""Praying from the lists: what to pray for on each list, "I prayed" in
place (JSON) or back to the row (no script), and the board's filters."""

from pathlib import Path

import pytest
from django.urls import reverse

from requests_app import services
from requests_app.models import Category, PrayerLog, PrayerRequest, Status
from tests.conftest import bring_to

BOARD = reverse("board")
MINE = reverse("my_assignments")
TRIAGE = reverse("triage")
IN_PLACE = {"HTTP_X_REQUESTED_WITH": "fetch", "HTTP_ACCEPT": "application/json"}

LONG_DETAILS = "Line one of the need.\nLine two: " + "pray for strength " * 20 + "UNSEEN-TAIL"


def _request(*, details="Pray for calm.", category=Category.HEALTH, confidential=False, title="A request"):
    prayer_request, _token = services.submit_request(
        for_whom="M. K.", title=title, category=category, details=details, is_confidential=confidential
    )
    return prayer_request


@pytest.fixture
def on_board(leader, assigned_intercessor):
    """Factory: an open request on the team board (assigning it shares it
    with the team), `assigned_intercessor` on it."""

    def make(**fields) -> PrayerRequest:
        prayer_request = _request(**fields)
        bring_to(prayer_request, Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
        prayer_request.refresh_from_db()
        assert prayer_request.is_on_board
        return prayer_request

    return make


def _pray(client, prayer_request, *, key="key-1", next_url=None, **headers):
    data = {"submission_key": key, "minutes": "", "note": ""}
    if next_url is not None:
        data["next"] = next_url
    return client.post(reverse("request_pray", args=[prayer_request.pk]), data, **headers)


# What to pray for, on each list.


def test_it_shows_the_first_lines_of_the_details_on_my_assignments_and_the_board(
    client, on_board, assigned_intercessor
):
    prayer_request = on_board(details=LONG_DETAILS)
    client.force_login(assigned_intercessor)
    for url in (MINE, BOARD):
        page = client.get(url).content.decode()
        assert "Line one of the need. Line two: pray for strength" in page.replace("\n", " ")
        assert "UNSEEN-TAIL" not in page, url
        assert f'id="request-{prayer_request.pk}"' in page


def test_it_shows_the_details_on_triage_and_the_assign_page(client, leader):
    prayer_request = _request(details=LONG_DETAILS)
    client.force_login(leader)
    for url in (TRIAGE, reverse("request_assign", args=[prayer_request.pk])):
        page = client.get(url).content.decode()
        assert "Line one of the need." in page, url
        assert "UNSEEN-TAIL" not in page, url
        # Line breaks kept out: no <br> inside the preview.
        assert "need.<br>" not in page


def test_it_keeps_a_confidential_request_and_its_details_from_an_intercessor_not_on_it(
    client, leader, assigned_intercessor, other_intercessor
):
    secret = _request(details="SECRET-DETAILS of a confidential request", confidential=True)
    bring_to(secret, Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
    client.force_login(other_intercessor)
    for url in (MINE, BOARD, f"{BOARD}?q=secret"):
        page = client.get(url).content.decode()
        assert "SECRET-DETAILS" not in page, url
        assert f'id="request-{secret.pk}"' not in page, url
    # Its own intercessor sees it among their assignments, with its details.
    client.force_login(assigned_intercessor)
    assert "SECRET-DETAILS" in client.get(MINE).content.decode()


def test_it_leaves_out_the_details_of_an_erased_text(client, on_board, assigned_intercessor):
    prayer_request = on_board(details="ERASED-DETAILS")
    PrayerRequest.objects.filter(pk=prayer_request.pk).update(text_erased_at=prayer_request.created_at)
    client.force_login(assigned_intercessor)
    assert "ERASED-DETAILS" not in client.get(MINE).content.decode()


# "I prayed".


def test_it_answers_in_place_with_json(client, on_board, assigned_intercessor):
    prayer_request = on_board()
    client.force_login(assigned_intercessor)
    response = _pray(client, prayer_request, next_url=f"{MINE}#request-{prayer_request.pk}", **IN_PLACE)
    assert response.status_code == 200
    assert response.json()["logged"] is True
    assert response.json()["shown"] == "Prayed just now"
    assert PrayerLog.objects.filter(prayer_request=prayer_request, intercessor=assigned_intercessor).count() == 1
    # Nothing waits for the next page: the message was given in place.
    follow = client.get(MINE)
    assert "Prayer logged" not in follow.content.decode()


def test_it_answers_in_place_to_an_accept_header_alone(client, on_board, assigned_intercessor):
    prayer_request = on_board()
    client.force_login(assigned_intercessor)
    response = _pray(client, prayer_request, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_it_logs_once_for_a_double_tap_with_the_same_key(client, on_board, assigned_intercessor):
    prayer_request = on_board()
    client.force_login(assigned_intercessor)
    first = _pray(client, prayer_request, key="double", **IN_PLACE)
    second = _pray(client, prayer_request, key="double", **IN_PLACE)
    assert first.status_code == second.status_code == 200
    assert PrayerLog.objects.filter(prayer_request=prayer_request).count() == 1
    # A new form (a new key) is a new prayer.
    _pray(client, prayer_request, key="later", **IN_PLACE)
    assert PrayerLog.objects.filter(prayer_request=prayer_request).count() == 2


def test_it_refuses_bad_input_in_place_without_logging(client, on_board, assigned_intercessor):
    prayer_request = on_board()
    client.force_login(assigned_intercessor)
    response = client.post(
        reverse("request_pray", args=[prayer_request.pk]),
        {"submission_key": "k", "minutes": "-5"},
        **IN_PLACE,
    )
    assert response.status_code == 400
    assert response.json()["logged"] is False
    assert response.json()["message"]
    assert not PrayerLog.objects.exists()


def test_it_refuses_an_outsider_in_place_too(client, leader, assigned_intercessor, other_intercessor):
    secret = _request(confidential=True)
    bring_to(secret, Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
    client.force_login(other_intercessor)
    assert _pray(client, secret, **IN_PLACE).status_code == 404
    assert not PrayerLog.objects.exists()


def test_it_goes_back_to_the_row_without_scripts(client, on_board, assigned_intercessor):
    prayer_request = on_board()
    client.force_login(assigned_intercessor)
    page = client.get(MINE).content.decode()
    fragment = f"#request-{prayer_request.pk}"
    assert f'name="next" value="{MINE}{fragment}"' in page
    response = _pray(client, prayer_request, next_url=f"{MINE}{fragment}")
    assert response.status_code == 302
    assert response["Location"] == f"{MINE}{fragment}"
    assert PrayerLog.objects.count() == 1


def test_it_keeps_the_board_filters_and_the_row_in_next(client, on_board, assigned_intercessor):
    prayer_request = on_board(title="Hospital visit")
    client.force_login(assigned_intercessor)
    page = client.get(BOARD, {"q": "hospital"}).content.decode()
    assert f'value="{BOARD}?q=hospital#request-{prayer_request.pk}"' in page


def test_it_answers_the_request_page_in_place_with_the_new_count(client, on_board, assigned_intercessor, leader):
    prayer_request = on_board()
    detail = reverse("request_detail", args=[prayer_request.pk])
    client.force_login(assigned_intercessor)
    page = client.get(detail).content.decode()
    # The page's own "I prayed" is posted in place, and says where to come back to.
    assert "js/pray-in-place.js" in page
    assert "data-pray-in-place" in page
    assert "data-pray-scope" in page
    assert f'name="next" value="{detail}"' in page
    response = _pray(client, prayer_request, key="page-1", next_url=detail, **IN_PLACE)
    assert response.status_code == 200
    answer = response.json()
    assert answer["logged"] is True
    assert answer["shown"] == "Prayed just now"
    assert (answer["count"], answer["count_text"]) == (1, "1 prayer logged.")
    # The same key again (a double tap): still one prayer, and the count says so.
    again = _pray(client, prayer_request, key="page-1", next_url=detail, **IN_PLACE).json()
    assert (again["count"], again["count_text"]) == (1, "1 prayer logged.")
    # Someone else's prayer counts too: the request's count, not mine.
    services.log_prayer(prayer_request, intercessor=leader)
    later = _pray(client, prayer_request, key="page-2", next_url=detail, **IN_PLACE).json()
    assert (later["count"], later["count_text"]) == (3, "3 prayers logged.")
    # The answer names nobody.
    assert leader.username not in response.content.decode() + str(later)
    assert PrayerLog.objects.filter(prayer_request=prayer_request, intercessor=assigned_intercessor).count() == 2


def test_it_goes_back_to_the_request_page_without_scripts(client, on_board, assigned_intercessor):
    prayer_request = on_board()
    detail = reverse("request_detail", args=[prayer_request.pk])
    client.force_login(assigned_intercessor)
    response = _pray(client, prayer_request, next_url=detail)
    assert response.status_code == 302
    assert response["Location"] == detail
    page = client.get(detail).content.decode()
    assert "Prayer logged" in page
    assert "1 prayer logged." in page
    assert PrayerLog.objects.count() == 1


def test_it_keeps_minutes_fasting_and_a_note_from_the_request_page(client, on_board, assigned_intercessor):
    prayer_request = on_board()
    detail = reverse("request_detail", args=[prayer_request.pk])
    client.force_login(assigned_intercessor)
    data = {"submission_key": "k", "minutes": "20", "fasted": "on", "note": "Peace came.", "next": detail}
    response = client.post(reverse("request_pray", args=[prayer_request.pk]), data)
    assert response["Location"] == detail
    log = PrayerLog.objects.get()
    assert (log.minutes, log.fasted, log.note) == (20, True, "Peace came.")


@pytest.mark.parametrize(
    "hostile",
    ["https://evil.example/#request-1", "//evil.example/#request-1", "/\\evil.example", "board#request-1", "/no/"],
)
def test_it_still_refuses_a_hostile_next(client, on_board, assigned_intercessor, hostile):
    prayer_request = on_board()
    client.force_login(assigned_intercessor)
    response = _pray(client, prayer_request, next_url=hostile)
    assert response.status_code == 302
    assert response["Location"] == reverse("request_detail", args=[prayer_request.pk])


def test_it_makes_i_prayed_a_large_target(client, on_board, assigned_intercessor):
    on_board()
    client.force_login(assigned_intercessor)
    page = client.get(MINE).content.decode()
    assert 'class="btn btn-primary i-prayed"' in page
    assert "js/pray-in-place.js" in page
    css = (Path(__file__).resolve().parents[1] / "static/css/intercession.css").read_text()
    rule = css[css.index(".i-prayed {") :].split("}")[0]
    assert "min-height: 2.75rem" in rule  # 44 px


# The board's filters.


def test_it_filters_the_board_by_category(client, on_board, assigned_intercessor):
    health = on_board(category=Category.HEALTH, title="Health one")
    family = on_board(category=Category.FAMILY, title="Family one")
    client.force_login(assigned_intercessor)
    shown = client.get(BOARD, {"category": Category.FAMILY}).context["page"].object_list
    assert [row.pk for row in shown] == [family.pk]
    assert health.pk not in [row.pk for row in shown]


def test_it_ignores_an_unknown_category_and_says_so(client, on_board, assigned_intercessor):
    on_board()
    client.force_login(assigned_intercessor)
    response = client.get(BOARD, {"category": "nonsense"})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 1
    assert "could not be used" in response.content.decode()


def test_it_searches_the_board_by_whole_words(client, on_board, assigned_intercessor):
    match = on_board(details="Pray for the harvest festival")
    on_board(details="Pray for harvesting machines")
    client.force_login(assigned_intercessor)
    shown = client.get(BOARD, {"q": "HARVEST"}).context["page"].object_list
    assert [row.pk for row in shown] == [match.pk]


@pytest.mark.parametrize("viewer", ["assigned_intercessor", "other_intercessor", "leader"])
def test_it_never_finds_a_request_off_the_board(client, request, on_board, leader, assigned_intercessor, viewer):
    on_board(details="zebra on the board")
    secret = _request(details="zebra confidential", confidential=True)
    bring_to(secret, Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
    client.force_login(request.getfixturevalue(viewer))
    response = client.get(BOARD, {"q": "zebra"})
    found = [row.pk for row in response.context["page"].object_list]
    assert secret.pk not in found
    assert len(found) == 1
    assert "zebra confidential" not in response.content.decode()


def test_it_refuses_an_overlong_search_and_shows_the_board(client, on_board, assigned_intercessor):
    on_board()
    client.force_login(assigned_intercessor)
    response = client.get(BOARD, {"q": "word " * 40})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 1


def test_it_keeps_the_board_queries_constant_with_filters(
    client, on_board, assigned_intercessor, django_assert_num_queries
):
    client.force_login(assigned_intercessor)
    for _ in range(3):
        on_board(details="constant words")
    # The same 3 as the unfiltered board (tests/test_views_lists.py).
    with django_assert_num_queries(3):
        response = client.get(BOARD, {"q": "constant words", "category": Category.HEALTH})
    assert len(response.context["page"].object_list) == 3
