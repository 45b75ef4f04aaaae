"""
The home page sends each person where their work is: a leader to triage, an
intercessor to their assignments; anyone else learns that their account is
not on the team, and nothing more. And getting in and out through the login
pages.
"""

import pytest
from conftest import PASSWORD, make_user, submit
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group
from django.urls import reverse

from requests_app import roles, services

HOME = reverse("home")
LOGIN = reverse("login")
LOGOUT = reverse("logout")
TRIAGE = reverse("triage")
MINE = reverse("my_assignments")
NOT_ON_TEAM = "Your account is not on the intercession team"
ASK_A_LEADER = "Ask a leader of the intercession team"

# The session, the user with their roles: nothing about any request.
HOME_QUERIES = 2


@pytest.fixture
def marked(leader, assigned_intercessor):
    """Requests with marker titles in several states."""
    titles = ["Confidential-Kq3Vn", "Public-Hn2Ry", "Urgent-Tc5Lp"]
    made = [
        submit(title=titles[0], confidential=True),
        submit(title=titles[1], confidential=False),
        submit(title=titles[2], confidential=False, urgent=True),
    ]
    services.assign(made[0], [assigned_intercessor], by=leader)
    return titles


def test_it_sends_anonymous_visitors_to_log_in(client, marked):
    response = client.get(HOME)

    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next={HOME}"


def test_it_sends_a_leader_to_triage(client, leader):
    client.force_login(leader)

    response = client.get(HOME)

    assert response.status_code == 302
    assert response.url == TRIAGE


def test_it_sends_a_leader_who_also_intercedes_to_triage(client, leader):
    leader.groups.add(Group.objects.get(name=roles.INTERCESSORS))
    client.force_login(leader)

    assert client.get(HOME).url == TRIAGE


@pytest.mark.parametrize("persona", ["assigned_intercessor", "other_intercessor", "released_intercessor"])
def test_it_sends_an_intercessor_to_their_assignments(request, client, persona):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(HOME)

    assert response.status_code == 302
    assert response.url == MINE


@pytest.fixture
def user_in_no_group(db):
    return make_user("gaius")


@pytest.fixture
def staff_not_on_team(db):
    return make_user("stephen", is_staff=True)


@pytest.mark.parametrize("persona", ["superuser", "user_in_no_group", "staff_not_on_team"])
def test_it_tells_someone_off_the_team_to_ask_a_leader(request, client, django_assert_num_queries, marked, persona):
    client.force_login(request.getfixturevalue(persona))

    with django_assert_num_queries(HOME_QUERIES):
        response = client.get(HOME)

    assert response.status_code == 200
    content = response.content.decode()
    assert NOT_ON_TEAM in content
    assert ASK_A_LEADER in content
    for title in marked:
        assert title not in content
    # No counts, no list, nothing to page through.
    assert "page" not in response.context


def test_it_does_not_tell_team_members_they_are_off_the_team(client, leader, other_intercessor):
    for user in (leader, other_intercessor):
        client.force_login(user)
        response = client.get(HOME, follow=True)
        assert response.status_code == 200
        assert NOT_ON_TEAM not in response.content.decode()


def test_it_refuses_a_post(client, superuser):
    client.force_login(superuser)

    assert client.post(HOME).status_code == 405


# --- Logging in and out ----------------------------------------------------


def test_it_logs_in_with_the_password(client, leader):
    response = client.post(LOGIN, {"username": leader.username, "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == HOME
    assert client.session[SESSION_KEY] == str(leader.pk)
    assert client.get(HOME, follow=True).request["PATH_INFO"] == TRIAGE


def test_it_logs_in_and_goes_where_it_was_asked(client, leader):
    response = client.post(f"{LOGIN}?next={TRIAGE}%3Fpage%3D2", {"username": leader.username, "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == f"{TRIAGE}?page=2"


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
    assert client.get(TRIAGE).status_code == 200

    response = client.post(LOGOUT)

    assert response.status_code == 302
    assert response.url == LOGIN
    assert SESSION_KEY not in client.session
    assert client.get(TRIAGE).status_code == 302


def test_it_offers_log_out_as_a_form(client, leader):
    client.force_login(leader)

    content = client.get(TRIAGE).content.decode()

    assert f'<form method="post" action="{LOGOUT}">' in content
    assert "csrfmiddlewaretoken" in content
