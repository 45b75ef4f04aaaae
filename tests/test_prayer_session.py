"""
Pray now (views/pray.py, requests_app/prayer_session.py): a prayer session
goes through my assignments and, if I choose, the team board, of the
categories I pick, urgent first and then what I and the team prayed for
least lately, one request at a time; "I prayed" logs once and moves on,
"Skip" moves on; the end counts both. It never shows a request its reader
may not see, also when one goes out of sight during the session.
"""

from datetime import timedelta

import pytest
from conftest import make_user
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from requests_app import prayer_session, roles, services
from requests_app.models import AccessLogEntry, Assignment, Category, PrayerLog, PrayerRequest, PrayerSession

START, SESSION = reverse("prayer_start"), reverse("prayer_session")
PRAYED, SKIP = reverse("prayer_session_prayed"), reverse("prayer_session_skip")


@pytest.fixture
def anna(assigned_intercessor):
    return assigned_intercessor


@pytest.fixture
def make(db, leader, other_intercessor):
    """`make(title, carried_by=anna, ...)`: a request in intercession,
    assigned to `carried_by` (else to another intercessor: a public one is
    then on the team board, a confidential one out of anna's sight)."""

    def make_request(
        title: str,
        *,
        carried_by=None,
        confidential: bool = True,
        urgent: bool = False,
        category: str = Category.HEALTH,
    ) -> PrayerRequest:
        prayer_request, _token = services.submit_request(
            for_whom="M. K.",
            title=title,
            category=category,
            details=f"Details of {title}",
            is_urgent=urgent,
            is_confidential=confidential,
        )
        services.assign(prayer_request, [carried_by or other_intercessor], by=leader)
        prayer_request.refresh_from_db()
        return prayer_request

    return make_request


def start(client, *, board: bool = False, categories=(), action: str = "start"):
    data = {"action": action, "categories": list(categories)}
    if board:
        data["include_board"] = "on"
    return client.post(START, data)


def session_of(user) -> PrayerSession:
    return PrayerSession.objects.get(user=user)


def shown(client) -> str:
    response = client.get(SESSION)
    assert response.status_code == 200
    return response.content.decode()


def pray(client, prayer_request, **fields):
    data = {"request": prayer_request.pk, "submission_key": fields.pop("key", "k-" + str(prayer_request.pk))}
    return client.post(PRAYED, {**data, **fields})


def skip(client, prayer_request):
    return client.post(SKIP, {"request": prayer_request.pk})


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- the order -------------------------------------------------------------------


def test_it_goes_urgent_first_then_what_i_then_the_team_prayed_for_least_lately(
    client, leader, anna, other_intercessor, make
):
    now = timezone.now()
    mine_yesterday = make("Mine yesterday", carried_by=anna)
    services.log_prayer(mine_yesterday, intercessor=anna, prayed_at=now - timedelta(days=1))
    team_today = make("Team today", carried_by=anna)
    services.assign(team_today, [other_intercessor], by=leader)
    services.log_prayer(team_today, intercessor=other_intercessor, prayed_at=now)
    urgent_mine_today = make("Urgent, mine today", carried_by=anna, urgent=True)
    services.log_prayer(urgent_mine_today, intercessor=anna, prayed_at=now)
    never = make("Never prayed for", carried_by=anna)
    client.force_login(anna)

    assert start(client).status_code == 302

    assert session_of(anna).request_ids == [urgent_mine_today.pk, never.pk, team_today.pk, mine_yesterday.pk]
    assert "Urgent, mine today" in shown(client)


def test_the_order_does_not_jump_as_prayers_are_logged(client, anna, make):
    make("First", carried_by=anna)
    make("Second", carried_by=anna)
    client.force_login(anna)
    start(client)
    order = session_of(anna).request_ids
    first = PrayerRequest.objects.get(pk=order[0])

    # A prayer logged elsewhere would put it last in a new session: not in this one.
    services.log_prayer(first, intercessor=anna)

    assert session_of(anna).request_ids == order
    assert first.title in shown(client)


# --- the choice: the team board, the categories, remembered --------------------------


def test_it_takes_the_team_board_only_when_chosen(client, anna, make):
    mine = make("Mine", carried_by=anna)
    on_board = make("On the board", confidential=False)
    client.force_login(anna)

    start(client)
    assert session_of(anna).request_ids == [mine.pk]

    start(client, board=True)
    assert set(session_of(anna).request_ids) == {mine.pk, on_board.pk}


def test_it_takes_only_the_categories_chosen(client, anna, make):
    health = make("Health one", carried_by=anna, category=Category.HEALTH)
    family = make("Family one", carried_by=anna, category=Category.FAMILY)
    board_family = make("Board family", confidential=False, category=Category.FAMILY)
    client.force_login(anna)

    start(client, board=True, categories=[Category.FAMILY])

    assert set(session_of(anna).request_ids) == {family.pk, board_family.pk}
    assert health.pk not in session_of(anna).request_ids


def test_it_remembers_the_choice_for_the_next_time(client, anna, make):
    make("Mine", carried_by=anna, category=Category.FAMILY)
    make("On the board", confidential=False, category=Category.WORK)
    client.force_login(anna)

    response = start(client, board=True, categories=[Category.FAMILY, Category.WORK], action="count")

    assert response.status_code == 302
    assert response["Location"] == START
    saved = session_of(anna)
    assert (saved.include_board, sorted(saved.categories), saved.is_started) == (True, ["family", "work"], False)
    page = client.get(START)
    form = page.context["form"]
    assert form["include_board"].value() is True
    assert sorted(form["categories"].value()) == ["family", "work"]
    assert page.context["count"] == 2
    assert "With this choice: 2 requests." in page.content.decode()


def test_a_new_choice_ends_the_session_under_way(client, anna, make):
    make("Mine", carried_by=anna)
    client.force_login(anna)
    start(client)
    assert client.get(START).context["under_way"] is True

    start(client, board=True, action="count")

    assert client.get(SESSION)["Location"] == START


def test_a_choice_with_nothing_in_it_says_so_and_starts_nothing(client, anna, make):
    make("Mine", carried_by=anna, category=Category.HEALTH)
    client.force_login(anna)

    response = start(client, categories=[Category.NATION])

    assert response["Location"] == START
    assert "There is nothing to pray for with this choice" in messages_of(response)[0]
    assert client.get(SESSION)["Location"] == START


def test_an_unknown_category_is_refused_with_a_message(client, anna):
    client.force_login(anna)
    response = start(client, categories=["astrology"])
    assert response.status_code == 200
    assert "astrology is not one of the categories." in response.content.decode()
    assert not PrayerSession.objects.exists()


# --- only what the viewer may see -----------------------------------------------------


def test_a_confidential_request_i_do_not_carry_never_appears(client, anna, make):
    make("Hidden from anna", confidential=True)
    mine = make("Mine", carried_by=anna)
    client.force_login(anna)

    start(client, board=True)

    assert session_of(anna).request_ids == [mine.pk]
    assert client.get(START).context["count"] == 1
    page = shown(client)
    assert "Hidden from anna" not in page
    pray(client, mine)
    assert "Hidden from anna" not in shown(client)


def test_a_request_made_confidential_mid_session_is_passed_over_unseen(client, leader, anna, make):
    on_board = make("Board, soon confidential", confidential=False, urgent=True)
    mine = make("Mine", carried_by=anna)
    client.force_login(anna)
    start(client, board=True)
    assert session_of(anna).request_ids == [on_board.pk, mine.pk]

    services.set_confidential(on_board, True, actor=leader)

    page = shown(client)
    assert "Board, soon confidential" not in page
    assert "Details of Board" not in page
    assert "Mine" in page
    assert session_of(anna).skipped_count == 0


def test_a_request_made_confidential_after_it_was_shown_is_not_logged(client, leader, anna, make):
    on_board = make("Board, soon confidential", confidential=False, urgent=True)
    mine = make("Mine", carried_by=anna)
    client.force_login(anna)
    start(client, board=True)
    assert "Board, soon confidential" in shown(client)

    services.set_confidential(on_board, True, actor=leader)
    response = pray(client, on_board, minutes="5")

    assert response["Location"] == SESSION
    assert messages_of(response) == []
    assert not PrayerLog.objects.exists()
    page = shown(client)
    assert "Board, soon confidential" not in page
    assert "Mine" in page
    pray(client, mine)
    assert list(PrayerLog.objects.values_list("prayer_request", flat=True)) == [mine.pk]


def test_a_request_released_mid_session_is_passed_over_unseen(client, leader, anna, make):
    released = make("Released from anna", carried_by=anna, urgent=True)
    mine = make("Mine", carried_by=anna)
    client.force_login(anna)
    start(client)

    services.release(Assignment.objects.get(prayer_request=released, intercessor=anna), by=leader)

    assert "Released from anna" not in shown(client)
    assert skip(client, released)["Location"] == SESSION
    assert session_of(anna).position == 0
    skip(client, mine)
    assert session_of(anna).position == 2


def test_a_request_that_is_not_in_my_session_changes_nothing(client, anna, make):
    mine = make("Mine", carried_by=anna)
    elsewhere = make("Someone else's", confidential=True)
    client.force_login(anna)
    start(client)

    response = pray(client, elsewhere)

    assert "not the one in front of you" in messages_of(response)[0]
    assert not PrayerLog.objects.exists()
    assert session_of(anna).position == 0
    assert mine.title in shown(client)


def test_showing_a_confidential_request_is_in_its_access_log(client, anna, make):
    mine = make("Mine", carried_by=anna, confidential=True)
    client.force_login(anna)
    start(client)
    shown(client)
    assert list(AccessLogEntry.objects.values_list("prayer_request", "user")) == [(mine.pk, anna.pk)]


# --- I prayed, skip, the end --------------------------------------------------------------


def test_i_prayed_logs_one_prayer_with_its_details_and_moves_on(client, anna, make):
    first = make("First", carried_by=anna, urgent=True)
    second = make("Second", carried_by=anna)
    client.force_login(anna)
    start(client)

    response = pray(client, first, minutes="15", fasted="on", note="Peace came.")

    assert response["Location"] == SESSION
    entry = PrayerLog.objects.get()
    assert (entry.prayer_request, entry.intercessor, entry.minutes, entry.fasted, entry.note) == (
        first,
        anna,
        15,
        True,
        "Peace came.",
    )
    assert PrayerRequest.objects.get(pk=first.pk).last_prayed_at == entry.prayed_at
    assert (session_of(anna).position, session_of(anna).prayed_count) == (1, 1)
    assert "Second" in shown(client)
    assert second.pk == session_of(anna).request_ids[1]


def test_i_prayed_twice_with_the_same_key_logs_once_and_moves_once(client, anna, make):
    first = make("First", carried_by=anna, urgent=True)
    make("Second", carried_by=anna)
    client.force_login(anna)
    start(client)

    pray(client, first, key="one-tap")
    second_tap = pray(client, first, key="one-tap")

    assert PrayerLog.objects.count() == 1
    # The first tap's thanks, still to be shown, and nothing more.
    assert messages_of(second_tap) == ["Prayer logged — thank you for standing in the gap."]
    assert (session_of(anna).position, session_of(anna).prayed_count) == (1, 1)
    assert "Second" in shown(client)


def test_bad_minutes_log_nothing_and_say_why(client, anna, make):
    first = make("First", carried_by=anna)
    client.force_login(anna)
    start(client)

    response = pray(client, first, minutes="-5")

    assert messages_of(response) == ["Minutes cannot be negative."]
    assert not PrayerLog.objects.exists()
    assert session_of(anna).position == 0


def test_skip_logs_nothing_and_moves_on(client, anna, make):
    first = make("First", carried_by=anna, urgent=True)
    make("Second", carried_by=anna)
    client.force_login(anna)
    start(client)

    assert skip(client, first)["Location"] == SESSION
    skip(client, first)  # a second tap

    assert not PrayerLog.objects.exists()
    assert (session_of(anna).position, session_of(anna).skipped_count) == (1, 1)
    assert "Second" in shown(client)


def test_the_end_counts_what_i_prayed_for_and_skipped_and_starts_again(client, anna, make):
    requests = [make(f"Request {number}", carried_by=anna) for number in range(3)]
    client.force_login(anna)
    start(client)
    first, second, third = (PrayerRequest.objects.get(pk=pk) for pk in session_of(anna).request_ids)

    pray(client, first)
    skip(client, second)
    pray(client, third)
    end = client.get(SESSION)

    assert end.templates[0].name == "requests_app/prayer_session_end.html"
    page = end.content.decode()
    assert "You prayed for 2 requests." in page
    assert "You skipped 1." in page
    assert all(prayer_request.title not in page for prayer_request in requests)
    assert 'value="start"' in page
    start(client)
    assert (session_of(anna).position, session_of(anna).prayed_count, session_of(anna).skipped_count) == (0, 0, 0)
    assert "Request" in shown(client)


# --- who may pray here --------------------------------------------------------------------


@pytest.mark.parametrize("url", [START, SESSION, PRAYED, SKIP])
def test_it_sends_anyone_without_an_account_to_log_in(client, url):
    for response in (client.get(url), client.post(url, {"request": "1"})):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_requester_with_their_link_is_sent_to_log_in(client, anna, make):
    prayer_request, token = services.submit_request(for_whom="J.", title="Mine", category=Category.WORK)
    assert client.get(reverse("followup", args=[token])).status_code == 200
    assert client.get(START)["Location"].startswith(reverse("login"))
    assert client.post(PRAYED, {"request": prayer_request.pk})["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", [START, SESSION, PRAYED, SKIP])
def test_a_site_administrator_who_is_not_on_the_team_is_refused(client, superuser, url):
    client.force_login(superuser)
    response = client.get(url) if url in (START, SESSION) else client.post(url, {"request": "1"})
    assert response.status_code == 403


def test_a_leader_who_does_not_intercede_prays_through_the_board_only(client, leader, anna, make):
    """Like My assignments and the board: a leader may log a prayer for any
    open request, but carries none, so a session is the team board's
    (never the confidential requests a leader sees elsewhere)."""
    make("Confidential", carried_by=anna, confidential=True)
    on_board = make("On the board", carried_by=anna, confidential=False)
    client.force_login(leader)

    assert "You carry no assignments" in client.get(START).content.decode()
    assert "There is nothing to pray for" in messages_of(start(client))[0]
    start(client, board=True)

    assert session_of(leader).request_ids == [on_board.pk]
    pray(client, on_board)
    assert PrayerLog.objects.get().intercessor == leader


def test_a_leader_who_intercedes_prays_through_what_they_carry(client, leader, anna, make):
    both = make_user("priscilla", roles.LEADERS, roles.INTERCESSORS)
    carried = make("Carried by Priscilla", carried_by=both)
    make("Anna's confidential", carried_by=anna, confidential=True)
    client.force_login(both)

    start(client)

    assert session_of(both).request_ids == [carried.pk]
    assert "Pray now" in client.get(reverse("my_assignments")).content.decode()


def test_pray_now_is_in_the_navigation_of_intercessors_only(client, leader, anna):
    client.force_login(anna)
    assert f'href="{START}"' in client.get(reverse("board")).content.decode()
    client.force_login(leader)
    assert f'href="{START}"' not in client.get(reverse("board")).content.decode()


# --- what the pages cost ------------------------------------------------------------------


@pytest.mark.parametrize("how_many", [1, 6])
def test_the_session_page_costs_the_same_however_long_the_session(
    client, anna, make, django_assert_num_queries, how_many
):
    for number in range(how_many):
        make(f"Request {number}", carried_by=anna, confidential=number % 2 == 0)
    make("On the board", confidential=False)
    client.force_login(anna)
    start(client, board=True)
    client.get(SESSION)  # the login session's first read
    # session, the user with their roles, prayer session row, the ids still
    # in the set, the request, its access log entry (it is confidential).
    with django_assert_num_queries(6):
        assert client.get(SESSION).status_code == 200


@pytest.mark.parametrize("how_many", [1, 6])
def test_the_start_page_costs_the_same_however_many_requests(client, anna, make, django_assert_num_queries, how_many):
    for number in range(how_many):
        make(f"Request {number}", carried_by=anna)
    client.force_login(anna)
    start(client)
    # session, the user with their roles, prayer session row, the capped count.
    with django_assert_num_queries(4):
        assert client.get(START).status_code == 200


def test_a_session_goes_through_no_more_than_its_limit(anna, make, settings, monkeypatch):
    monkeypatch.setattr(prayer_session, "SESSION_LIMIT", 2)
    for number in range(3):
        make(f"Request {number}", carried_by=anna)
    session = prayer_session.choose(anna, include_board=False, categories=[])
    assert prayer_session.count(anna, session) == (2, True)
    assert len(prayer_session.start(session).request_ids) == 2


def test_a_refused_choice_leaves_the_saved_one_and_its_count(client, anna, make):
    make("Mine", carried_by=anna)
    make("On the board", confidential=False)
    client.force_login(anna)
    start(client, action="count")

    response = client.post(START, {"action": "start", "include_board": "on", "categories": ["astrology"]})

    assert response.context["count"] == 1
    assert session_of(anna).include_board is False
