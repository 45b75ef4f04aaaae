"""
The home page: the requests this person may see, paginated, in a constant
number of queries; and getting in and out through the login pages.
"""

import pytest
from conftest import PASSWORD, bring_to, make_user, submit
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from requests_app import roles
from requests_app.models import PrayerRequest, Status
from requests_app.views import PAGE_SIZE

S = Status
HOME = reverse("home")
LOGIN = reverse("login")
LOGOUT = reverse("logout")
NOT_ON_TEAM = "Your account is not on the intercession team"

# The session, the user, their groups, the count for the paginator, the page.
HOME_QUERIES = 5
# Someone off the team costs no count and no page: `visible_to` is `none()`.
HOME_QUERIES_OFF_TEAM = 3


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def titled(leader, assigned_intercessor):
    """Factory: `titled(title, status, confidential=...)` gives a request with
    that title in that status, `assigned_intercessor` assigned unless new."""

    def make(title: str, status: str = S.NEW, *, confidential: bool = True) -> PrayerRequest:
        prayer_request = submit(confidential=confidential, title=title)
        return bring_to(prayer_request, status, leader=leader, intercessor=assigned_intercessor)

    return make


@pytest.fixture
def board(titled) -> dict[str, PrayerRequest]:
    """A marker title per kind of request."""
    return {
        "Confidential-Kq3Vn new": titled("Confidential-Kq3Vn new", S.NEW, confidential=True),
        "Confidential-Xb7Wd interceding": titled("Confidential-Xb7Wd interceding", S.INTERCEDING, confidential=True),
        "Public-Hn2Ry new": titled("Public-Hn2Ry new", S.NEW, confidential=False),
        "Public-Tc5Lp breakthrough": titled("Public-Tc5Lp breakthrough", S.BREAKTHROUGH, confidential=False),
        "Public-Mz8Qe answered": titled("Public-Mz8Qe answered", S.ANSWERED, confidential=False),
        "Public-Fj4Uo closed": titled("Public-Fj4Uo closed", S.CLOSED, confidential=False),
    }


def titles_on(response) -> set[str]:
    return {prayer_request.title for prayer_request in response.context["page"].object_list}


def test_it_sends_anonymous_visitors_to_log_in(client, board):
    response = client.get(HOME)

    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next={HOME}"


def test_it_shows_a_leader_every_request(client, leader, board):
    client.force_login(leader)

    response = client.get(HOME)

    assert response.status_code == 200
    assert titles_on(response) == set(board)
    content = response.content.decode()
    for title in board:
        assert title in content


def test_it_shows_an_unassigned_intercessor_the_team_board_only(client, other_intercessor, board):
    client.force_login(other_intercessor)

    response = client.get(HOME)

    assert response.status_code == 200
    on_board = {"Public-Hn2Ry new", "Public-Tc5Lp breakthrough", "Public-Mz8Qe answered"}
    assert titles_on(response) == on_board
    content = response.content.decode()
    for title in board:
        assert (title in content) is (title in on_board), title


def test_it_shows_the_assigned_intercessor_their_confidential_request(client, assigned_intercessor, board):
    client.force_login(assigned_intercessor)

    response = client.get(HOME)

    assert "Confidential-Xb7Wd interceding" in response.content.decode()
    assert "Confidential-Kq3Vn new" not in response.content.decode()


def test_it_tells_a_superuser_who_is_not_a_leader_they_are_not_on_the_team(client, superuser, board):
    client.force_login(superuser)

    response = client.get(HOME)

    assert response.status_code == 200
    content = response.content.decode()
    assert NOT_ON_TEAM in content
    for title in board:
        assert title not in content
    assert list(response.context["page"].object_list) == []


def test_it_tells_a_user_in_no_group_they_are_not_on_the_team(client, board):
    client.force_login(make_user("gaius"))

    response = client.get(HOME)

    assert NOT_ON_TEAM in response.content.decode()
    for title in board:
        assert title not in response.content.decode()


def test_it_does_not_tell_team_members_they_are_off_the_team(client, leader, other_intercessor):
    for user in (leader, other_intercessor):
        client.force_login(user)
        response = client.get(HOME)
        assert NOT_ON_TEAM not in response.content.decode()
        assert "No requests to show." in response.content.decode()


@pytest.mark.parametrize("persona", ["leader", "other_intercessor", "assigned_intercessor", "superuser"])
def test_it_keeps_the_number_of_queries_constant(request, client, django_assert_num_queries, titled, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    statuses = [S.NEW, S.INTERCEDING, S.BREAKTHROUGH, S.ANSWERED, S.CLOSED]

    def make_requests(how_many: int) -> None:
        for number in range(how_many):
            # Only a few through the services, to keep assignments under capacity.
            if number < 5:
                titled(f"Request {number}", statuses[number], confidential=bool(number % 2))
            else:
                submit(confidential=bool(number % 2), urgent=number % 7 == 0, title=f"Request {number}")

    expected = HOME_QUERIES_OFF_TEAM if persona == "superuser" else HOME_QUERIES
    queries = {}
    for total in (5, 50):
        make_requests(total - PrayerRequest.objects.count())
        with django_assert_num_queries(expected) as captured:
            response = client.get(HOME)
        assert response.status_code == 200
        queries[total] = len(captured)

    assert queries == {5: expected, 50: expected}


def test_it_paginates(client, leader):
    for number in range(1, PAGE_SIZE + 6):
        submit(confidential=number % 2 == 0, title=f"Numbered-{number:02d}")
    client.force_login(leader)

    first = client.get(HOME)
    second = client.get(HOME, {"page": 2})

    assert "Page 1 of 2" in first.content.decode()
    assert f"Numbered-{PAGE_SIZE:02d}" in first.content.decode()
    assert f"Numbered-{PAGE_SIZE + 1:02d}" not in first.content.decode()
    assert 'href="?page=2"' in first.content.decode()

    assert second.status_code == 200
    assert "Page 2 of 2" in second.content.decode()
    assert titles_on(second) == {f"Numbered-{number:02d}" for number in range(PAGE_SIZE + 1, PAGE_SIZE + 6)}
    assert 'href="?page=1"' in second.content.decode()


@pytest.mark.parametrize(("page", "shown"), [("999", 2), ("0", 2), ("abc", 1), ("-1", 2), ("", 1)])
def test_it_tolerates_odd_page_numbers(client, leader, page, shown):
    for number in range(PAGE_SIZE + 1):
        submit(title=f"Numbered-{number:02d}")
    client.force_login(leader)

    response = client.get(HOME, {"page": page})

    assert response.status_code == 200
    assert response.context["page"].number == shown


def test_it_orders_urgent_first_then_oldest_first(client, leader):
    older = submit(title="Older-Pv1")
    newer = submit(title="Newer-Pv2")
    urgent = submit(title="Urgent-Pv3", urgent=True)
    client.force_login(leader)

    response = client.get(HOME)

    assert list(response.context["page"].object_list) == [urgent, older, newer]


# --- Logging in and out ----------------------------------------------------


def test_it_logs_in_with_the_password(client, leader):
    response = client.post(LOGIN, {"username": leader.username, "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == HOME
    assert client.session[SESSION_KEY] == str(leader.pk)
    assert client.get(HOME).status_code == 200


def test_it_logs_in_and_goes_where_it_was_asked(client, leader):
    response = client.post(f"{LOGIN}?next={HOME}%3Fpage%3D2", {"username": leader.username, "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == f"{HOME}?page=2"


def test_it_refuses_a_wrong_password(client, leader):
    response = client.post(LOGIN, {"username": leader.username, "password": "not-the-password"})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert SESSION_KEY not in client.session
    assert client.get(HOME).status_code == 302


def test_it_refuses_an_inactive_account(db, client):
    demas = make_user("demas", roles.LEADERS, is_active=False)

    response = client.post(LOGIN, {"username": demas.username, "password": PASSWORD})

    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_it_shows_the_login_page_without_a_login(client):
    response = client.get(LOGIN)

    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_it_logs_out_with_a_post_only(client, leader):
    client.force_login(leader)

    assert client.get(LOGOUT).status_code == 405
    assert client.get(HOME).status_code == 200

    response = client.post(LOGOUT)

    assert response.status_code == 302
    assert response.url == LOGIN
    assert SESSION_KEY not in client.session
    assert client.get(HOME).status_code == 302


def test_it_offers_log_out_as_a_form(client, leader):
    client.force_login(leader)

    content = client.get(HOME).content.decode()

    assert f'<form method="post" action="{LOGOUT}">' in content
    assert "csrfmiddlewaretoken" in content
