"""Log in, log out, change and reset a password; the error pages."""

import pytest
from conftest import PASSWORD, make_user
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_changes_a_password(client, leader):
    client.force_login(leader)

    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-phrase-77",
            "new_password2": "another-long-phrase-77",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    leader.refresh_from_db()
    assert leader.check_password("another-long-phrase-77")


def test_it_refuses_a_weak_new_password(client, leader):
    client.force_login(leader)

    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": "1234", "new_password2": "1234"}
    )

    assert response.status_code == 200
    assert b"too short" in response.content
    leader.refresh_from_db()
    assert leader.check_password(PASSWORD)


def test_it_logs_in_and_out(client):
    make_user("hannah", "Intercessors")

    response = client.post(reverse("login"), {"username": "hannah", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("my_assignments")).status_code == 200

    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("my_assignments")).status_code == 302


def test_it_says_the_same_for_a_wrong_password_and_an_unknown_user(client):
    make_user("hannah", "Intercessors")

    wrong_password = client.post(reverse("login"), {"username": "hannah", "password": "nope"})
    unknown_user = client.post(reverse("login"), {"username": "nobody", "password": "nope"})

    assert wrong_password.status_code == unknown_user.status_code == 200
    assert wrong_password.context["form"].errors == unknown_user.context["form"].errors


def test_it_shows_a_friendly_404(client, leader):
    client.force_login(leader)

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert b"Nothing here" in response.content


def test_it_shows_a_friendly_403(client, assigned_intercessor):
    client.force_login(assigned_intercessor)

    response = client.get(reverse("triage"))

    assert response.status_code == 403
    assert b"You are not allowed to do that" in response.content


def test_it_shows_a_friendly_500(settings):
    settings.ROOT_URLCONF = "tests.urls_that_fail"
    client = Client(raise_request_exception=False)

    response = client.get("/boom/")

    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
