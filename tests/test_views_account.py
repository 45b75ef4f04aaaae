"""
"My settings": an intercessor sets their availability, how many requests
they can carry and what they are drawn to. Nonsense is refused with a message
and saves nothing; looking at the page creates nothing. (The e-mail choices
on the same page, for leaders too: tests/test_email_preferences.py.)
"""

import re

import pytest
from conftest import make_user
from django.contrib.auth.models import Group
from django.urls import reverse

from requests_app import roles
from requests_app.models import Category, IntercessorProfile

SETTINGS = reverse("my_settings")
LOGIN = reverse("login")

VALID = {
    "is_available": "on",
    "max_active_assignments": "5",
    "preferred_categories": ["health", "nation"],
    "delivery": "immediately",
}


@pytest.fixture
def intercessor_without_profile(db):
    """Put in the group by an administrator; has never opened their settings."""
    user = make_user("phoebe")
    user.groups.add(Group.objects.get(name=roles.INTERCESSORS))
    return user


def checkbox(content: str, value: str) -> str:
    (tag,) = re.findall(rf'<input[^>]*name="preferred_categories"[^>]*value="{value}"[^>]*>', content)
    return tag


def profile_of(user) -> tuple:
    profile = IntercessorProfile.objects.get(user=user)
    return profile.is_available, profile.max_active_assignments, profile.preferred_categories


# --- Who may open it ---------------------------------------------------------


def test_it_sends_anonymous_visitors_to_log_in(client, db):
    response = client.get(SETTINGS)

    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next={SETTINGS}"


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("assigned_intercessor", 200),
        ("other_intercessor", 200),
        ("released_intercessor", 200),
        # A leader sets their e-mails here, but has no capacity unless they intercede.
        ("leader", 200),
        ("superuser", 403),
    ],
)
def test_it_lets_the_team_in_and_no_one_else(request, client, persona, expected):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(SETTINGS).status_code == expected


def test_it_refuses_a_post_from_someone_off_the_team(client, superuser):
    client.force_login(superuser)

    assert client.post(SETTINGS, VALID).status_code == 403
    assert not IntercessorProfile.objects.filter(user=superuser).exists()


def test_a_leader_who_does_not_intercede_gets_no_capacity(client, leader):
    client.force_login(leader)

    assert client.post(SETTINGS, VALID).status_code == 302
    assert not IntercessorProfile.objects.filter(user=leader).exists()


def test_it_lets_a_leader_who_intercedes_set_their_capacity(client, leader):
    leader.groups.add(Group.objects.get(name=roles.INTERCESSORS))
    client.force_login(leader)

    assert client.post(SETTINGS, VALID).status_code == 302
    assert profile_of(leader) == (True, 5, ["health", "nation"])


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_it_refuses_other_methods(client, other_intercessor, method):
    client.force_login(other_intercessor)

    assert getattr(client, method)(SETTINGS).status_code == 405


# --- Looking -----------------------------------------------------------------


def test_it_shows_the_current_settings(client, other_intercessor):
    IntercessorProfile.objects.filter(user=other_intercessor).update(
        max_active_assignments=7, is_available=False, preferred_categories=[Category.FAMILY]
    )
    client.force_login(other_intercessor)

    response = client.get(SETTINGS)

    form = response.context["form"]
    assert (form["max_active_assignments"].value(), form["is_available"].value()) == (7, False)
    assert form["preferred_categories"].value() == ["family"]
    content = response.content.decode()
    assert 'value="7"' in content
    assert "checked" in checkbox(content, "family")
    assert "checked" not in checkbox(content, "health")
    assert "csrfmiddlewaretoken" in content
    for label in ("How many requests I can carry", "I am available for new assignments", "Health"):
        assert label in content


def test_it_does_not_create_a_profile_when_looking(client, intercessor_without_profile):
    client.force_login(intercessor_without_profile)

    response = client.get(SETTINGS)

    assert response.status_code == 200
    assert response.context["form"]["max_active_assignments"].value() == 3
    assert not IntercessorProfile.objects.filter(user=intercessor_without_profile).exists()


# --- Saving ------------------------------------------------------------------


def test_it_saves_and_comes_back(client, other_intercessor):
    client.force_login(other_intercessor)

    response = client.post(SETTINGS, VALID)

    assert response.status_code == 302
    assert response.url == SETTINGS
    assert profile_of(other_intercessor) == (True, 5, ["health", "nation"])
    assert "Your settings are saved." in client.get(SETTINGS).content.decode()


def test_it_creates_the_profile_on_the_first_save(client, intercessor_without_profile):
    client.force_login(intercessor_without_profile)

    response = client.post(SETTINGS, {"max_active_assignments": "0", "delivery": "immediately"})

    assert response.status_code == 302
    # Unticked boxes: not available, drawn to nothing in particular.
    assert profile_of(intercessor_without_profile) == (False, 0, [])
    assert IntercessorProfile.objects.filter(user=intercessor_without_profile).count() == 1


@pytest.mark.parametrize("capacity", ["0", "50"])
def test_it_accepts_the_limits(client, other_intercessor, capacity):
    client.force_login(other_intercessor)

    assert client.post(SETTINGS, VALID | {"max_active_assignments": capacity}).status_code == 302
    assert profile_of(other_intercessor)[1] == int(capacity)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"max_active_assignments": "-1"}, "max_active_assignments"),
        ({"max_active_assignments": "51"}, "max_active_assignments"),
        ({"max_active_assignments": "abc"}, "max_active_assignments"),
        ({"max_active_assignments": ""}, "max_active_assignments"),
        ({"max_active_assignments": "99999999999999999999"}, "max_active_assignments"),
        ({"max_active_assignments": "2.5"}, "max_active_assignments"),
        ({"preferred_categories": ["health", "astrology"]}, "preferred_categories"),
        ({"preferred_categories": ["<b>x</b>"]}, "preferred_categories"),
    ],
)
@pytest.mark.parametrize("has_profile", [True, False])
def test_it_refuses_nonsense_and_saves_nothing(
    client, other_intercessor, intercessor_without_profile, change, field, has_profile
):
    user = other_intercessor if has_profile else intercessor_without_profile
    before = profile_of(user) if has_profile else None
    client.force_login(user)

    response = client.post(SETTINGS, VALID | change)

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert "is-invalid" in response.content.decode()
    if has_profile:
        assert profile_of(user) == before
    else:
        assert not IntercessorProfile.objects.filter(user=user).exists()


def test_it_names_the_unknown_category(client, other_intercessor):
    client.force_login(other_intercessor)

    response = client.post(SETTINGS, VALID | {"preferred_categories": ["astrology"]})

    assert "astrology is not one of the categories." in response.content.decode()


def test_it_refuses_an_empty_post_without_a_500(client, other_intercessor):
    client.force_login(other_intercessor)
    before = profile_of(other_intercessor)

    response = client.post(SETTINGS, {})

    assert response.status_code == 200
    assert "max_active_assignments" in response.context["form"].errors
    assert profile_of(other_intercessor) == before
