"""
The Django admin keeps accounts and settings. Prayer requests appear there
read-only and scoped by `visible_to`, and the content of a confidential one
never appears there, whoever looks (PRODUCT.md, "Who sees what").
"""

import pytest
from conftest import make_user, submit
from django.contrib.auth.models import Permission
from django.urls import reverse

from requests_app import roles, services
from requests_app.admin import REDACTED
from requests_app.models import Category, IntercessorProfile, PrayerRequest, Status, Visibility

# Unique strings for every piece of confidential content, so that finding one
# anywhere in a page means it leaked.
SECRET = {
    "for_whom": "Forwhom-Qx7Lm",
    "title": "Title-Zk4Pd secret",
    "details": "Details-Wm9Rt secret",
    "requester_name": "Reqname-Hv2Ns",
    "requester_email": "reqemail-jp5yc@example.org",
}
PUBLIC_TITLE = "Public-Rb8Tw title"
TEAM_NOTE = "Teamnote-Gc3Xe"
PRAYER_NOTE = "Prayernote-Ua6Kf"

CHANGELIST = reverse("admin:requests_app_prayerrequest_changelist")
ADD = reverse("admin:requests_app_prayerrequest_add")


def change_url(prayer_request: PrayerRequest) -> str:
    return reverse("admin:requests_app_prayerrequest_change", args=[prayer_request.pk])


def delete_url(prayer_request: PrayerRequest) -> str:
    return reverse("admin:requests_app_prayerrequest_delete", args=[prayer_request.pk])


def history_url(prayer_request: PrayerRequest) -> str:
    return reverse("admin:requests_app_prayerrequest_history", args=[prayer_request.pk])


def assert_no_secret(content: str, *, public_too: bool = False) -> None:
    for field, marker in SECRET.items():
        assert marker not in content, field
    if public_too:
        assert PUBLIC_TITLE not in content


@pytest.fixture
def confidential(db) -> PrayerRequest:
    prayer_request, _token = services.submit_request(
        **SECRET, category=Category.FAMILY, is_confidential=True, wants_updates=True
    )
    return prayer_request


@pytest.fixture
def public(db) -> PrayerRequest:
    return submit(confidential=False, title=PUBLIC_TITLE)


@pytest.fixture
def staff_leader(db):
    """A leader who may use the admin, with nothing but the view permission."""
    user = make_user("phoebe", roles.LEADERS, is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="requests_app", codename="view_prayerrequest")
    )
    return user


# --- A superuser who is not a leader sees no requests ----------------------


def test_it_lists_no_requests_to_a_superuser_who_is_not_a_leader(client, superuser, confidential, public):
    client.force_login(superuser)

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    assert response.context["cl"].result_count == 0
    assert response.context["cl"].full_result_count == 0
    assert_no_secret(response.content.decode(), public_too=True)


def test_it_shows_a_superuser_no_change_page(client, superuser, confidential, public):
    client.force_login(superuser)

    for prayer_request in (confidential, public):
        # Django's answer to an object outside the admin queryset: back to the
        # index with "doesn't exist", the same as for a missing id.
        response = client.get(change_url(prayer_request))
        assert response.status_code == 302
        assert response.url == reverse("admin:index")
        assert_no_secret(response.content.decode(), public_too=True)

        followed = client.get(change_url(prayer_request), follow=True)
        assert_no_secret(followed.content.decode(), public_too=True)

        assert client.get(history_url(prayer_request)).status_code == 302


def test_it_answers_a_superuser_the_same_for_hidden_and_missing(client, superuser, confidential):
    client.force_login(superuser)
    missing = PrayerRequest(pk=confidential.pk + 1000)

    hidden_response = client.get(change_url(confidential))
    missing_response = client.get(change_url(missing))

    assert (hidden_response.status_code, hidden_response.url) == (missing_response.status_code, missing_response.url)


# --- A staff leader sees the list, never confidential content --------------


def test_it_lists_requests_to_a_staff_leader_without_confidential_content(client, staff_leader, confidential, public):
    client.force_login(staff_leader)

    response = client.get(CHANGELIST)

    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    content = response.content.decode()
    assert PUBLIC_TITLE in content
    assert str(REDACTED) in content
    assert_no_secret(content)


def test_it_shows_a_confidential_change_page_redacted(client, staff_leader, confidential):
    client.force_login(staff_leader)

    response = client.get(change_url(confidential))

    assert response.status_code == 200
    content = response.content.decode()
    assert str(REDACTED) in content
    assert_no_secret(content)


def test_it_shows_a_public_change_page_in_full(client, staff_leader, public):
    client.force_login(staff_leader)

    response = client.get(change_url(public))

    assert response.status_code == 200
    assert PUBLIC_TITLE in response.content.decode()


def test_it_keeps_confidential_content_out_of_the_history_page(client, staff_leader, confidential):
    client.force_login(staff_leader)

    response = client.get(history_url(confidential))

    assert response.status_code == 200
    assert_no_secret(response.content.decode())


def test_it_keeps_confidential_content_out_of_every_filtered_list(client, staff_leader, confidential, public):
    client.force_login(staff_leader)

    for query in ("status__exact=new", "category__exact=family", "is_confidential__exact=1", "o=2", "p=1"):
        response = client.get(f"{CHANGELIST}?{query}")
        assert response.status_code == 200, query
        assert_no_secret(response.content.decode())


def test_it_has_no_search_box(client, staff_leader, confidential, public):
    client.force_login(staff_leader)

    response = client.get(CHANGELIST)

    content = response.content.decode()
    assert 'id="searchbar"' not in content
    assert 'name="q"' not in content


def test_it_does_not_search_with_a_q_parameter(client, staff_leader, confidential, public):
    client.force_login(staff_leader)

    matching = client.get(CHANGELIST, {"q": SECRET["details"]})
    not_matching = client.get(CHANGELIST, {"q": "Nowhere-Vv0Oo"})

    # A search would narrow one list and empty the other, telling whoever
    # searches which words a confidential request contains.
    assert matching.context["cl"].result_count == not_matching.context["cl"].result_count == 2


def test_it_does_not_match_confidential_text_through_url_lookups(client, staff_leader, confidential, public):
    # `?details__icontains=...` is the search box by another name: Django's
    # changelist accepts lookups on any local field, not only on list_filter,
    # so the count would answer whether a word is in a confidential request
    # whose text the page itself redacts.
    client.force_login(staff_leader)

    def answer(field, value):
        response = client.get(CHANGELIST, {f"{field}__icontains": value})
        return response.status_code, response.context["cl"].result_count if response.status_code == 200 else None

    leaking = [field for field in SECRET if answer(field, SECRET[field][:10]) != answer(field, "Nowhere-Vv0Oo")]

    assert leaking == []


# --- Nobody adds, changes or deletes a request in the admin ----------------


@pytest.mark.parametrize("persona", ["staff_leader", "superuser"])
def test_it_refuses_the_add_page(request, client, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"for_whom": "X", "title": "Added", "category": "other"}).status_code == 403
    assert "Added" not in PrayerRequest.objects.values_list("title", flat=True)


@pytest.mark.parametrize("persona", ["staff_leader", "superuser"])
def test_it_refuses_a_change(request, client, persona, confidential, public):
    client.force_login(request.getfixturevalue(persona))

    for prayer_request in (confidential, public):
        response = client.post(
            change_url(prayer_request),
            {
                "for_whom": "Changed",
                "title": "Changed",
                "details": "Changed",
                "category": Category.OTHER,
                "status": Status.CLOSED,
                "is_confidential": "",
            },
        )
        assert response.status_code == 403
        before = {field: getattr(prayer_request, field) for field in ("title", "status", "is_confidential")}
        prayer_request.refresh_from_db()
        assert {field: getattr(prayer_request, field) for field in before} == before


@pytest.mark.parametrize("persona", ["staff_leader", "superuser"])
def test_it_refuses_a_delete(request, client, persona, confidential, public):
    client.force_login(request.getfixturevalue(persona))

    for prayer_request in (confidential, public):
        assert client.get(delete_url(prayer_request)).status_code == 403
        assert client.post(delete_url(prayer_request), {"post": "yes"}).status_code == 403
    assert PrayerRequest.objects.filter(pk__in=[confidential.pk, public.pk]).count() == 2


def test_it_refuses_the_bulk_delete_action(client, staff_leader, confidential, public):
    client.force_login(staff_leader)

    client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [confidential.pk, public.pk], "post": "yes"},
    )

    assert PrayerRequest.objects.filter(pk__in=[confidential.pk, public.pk]).count() == 2


# --- str() never carries content -------------------------------------------


def test_it_keeps_content_out_of_str(confidential, leader, assigned_intercessor):
    [assignment] = services.assign(confidential, [assigned_intercessor], by=leader)
    note = services.post_update(confidential, actor=leader, note=TEAM_NOTE, visibility=Visibility.TEAM)
    move = services.move(confidential, Status.BREAKTHROUGH, actor=assigned_intercessor, note=TEAM_NOTE)
    log = services.log_prayer(confidential, intercessor=assigned_intercessor, minutes=10, note=PRAYER_NOTE)

    for obj in (confidential, assignment, note, move, log, *confidential.updates.all()):
        for text in (str(obj), repr(obj)):
            assert_no_secret(text)
            assert TEAM_NOTE not in text
            assert PRAYER_NOTE not in text


# --- Accounts and profiles -------------------------------------------------


@pytest.fixture
def profile(assigned_intercessor) -> IntercessorProfile:
    return assigned_intercessor.intercessor_profile


def test_it_renders_the_profile_admin(client, superuser, profile):
    client.force_login(superuser)

    changelist = client.get(reverse("admin:requests_app_intercessorprofile_changelist"))
    change = client.get(reverse("admin:requests_app_intercessorprofile_change", args=[profile.pk]))
    add = client.get(reverse("admin:requests_app_intercessorprofile_add"))

    assert (changelist.status_code, change.status_code, add.status_code) == (200, 200, 200)
    assert changelist.context["cl"].result_count == 1
    assert 'name="preferred_categories"' in change.content.decode()


def test_it_finds_users_for_the_profile_autocomplete(client, superuser, assigned_intercessor):
    client.force_login(superuser)

    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "requests_app", "model_name": "intercessorprofile", "field_name": "user", "term": "ann"},
    )

    assert response.status_code == 200
    assert [result["id"] for result in response.json()["results"]] == [str(assigned_intercessor.pk)]


def test_it_renders_the_user_admin_with_the_profile_inline(client, superuser, assigned_intercessor):
    client.force_login(superuser)

    changelist = client.get(reverse("admin:auth_user_changelist"))
    change = client.get(reverse("admin:auth_user_change", args=[assigned_intercessor.pk]))

    assert (changelist.status_code, change.status_code) == (200, 200)
    assert 'name="intercessor_profile-TOTAL_FORMS"' in change.content.decode()
    assert 'name="intercessor_profile-0-preferred_categories"' in change.content.decode()


def test_it_saves_preferred_categories_through_the_profile_admin(client, superuser, profile):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:requests_app_intercessorprofile_change", args=[profile.pk]),
        {
            "user": profile.user_id,
            "max_active_assignments": 5,
            "is_available": "on",
            "preferred_categories": [Category.HEALTH, Category.FAMILY],
        },
    )

    assert response.status_code == 302
    profile.refresh_from_db()
    assert sorted(profile.preferred_categories) == sorted([Category.HEALTH, Category.FAMILY])
    assert profile.max_active_assignments == 5
    changelist = client.get(reverse("admin:requests_app_intercessorprofile_changelist"))
    assert "Health" in changelist.content.decode()


def test_it_refuses_an_unknown_category_in_the_profile_admin(client, superuser, profile):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:requests_app_intercessorprofile_change", args=[profile.pk]),
        {"user": profile.user_id, "max_active_assignments": 5, "preferred_categories": ["astrology"]},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["preferred_categories"]
    profile.refresh_from_db()
    assert profile.preferred_categories == []
    assert profile.max_active_assignments == 10


def test_it_saves_preferred_categories_through_the_user_inline(client, superuser, assigned_intercessor, profile):
    client.force_login(superuser)
    user = assigned_intercessor

    response = client.post(
        reverse("admin:auth_user_change", args=[user.pk]),
        {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": "",
            "email": "",
            "is_active": "on",
            "groups": [group.pk for group in user.groups.all()],
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
            "intercessor_profile-TOTAL_FORMS": "1",
            "intercessor_profile-INITIAL_FORMS": "1",
            "intercessor_profile-MIN_NUM_FORMS": "0",
            "intercessor_profile-MAX_NUM_FORMS": "1",
            "intercessor_profile-0-id": profile.pk,
            "intercessor_profile-0-user": user.pk,
            "intercessor_profile-0-max_active_assignments": 2,
            "intercessor_profile-0-preferred_categories": [Category.SALVATION],
        },
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    profile.refresh_from_db()
    assert profile.preferred_categories == [Category.SALVATION]
    assert profile.max_active_assignments == 2
    assert profile.is_available is False
    assert roles.is_intercessor(user)


# --- Who leads is not the admin's to change ---------------------------------


def account_form(user, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_superuser": "on" if user.is_superuser else "",
        "is_staff": "on" if user.is_staff else "",
        "groups": [group.pk for group in user.groups.all()],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "intercessor_profile-TOTAL_FORMS": "0",
        "intercessor_profile-INITIAL_FORMS": "0",
        "intercessor_profile-MIN_NUM_FORMS": "0",
        "intercessor_profile-MAX_NUM_FORMS": "1",
    }
    data.update(changes)
    return data


def test_a_superuser_cannot_make_itself_a_leader(client, superuser):
    from django.contrib.auth.models import Group

    client.force_login(superuser)
    leaders = Group.objects.get(name=roles.LEADERS)

    response = client.post(
        reverse("admin:auth_user_change", args=[superuser.pk]), account_form(superuser, groups=[leaders.pk])
    )

    assert response.status_code == 200
    assert "groups" in response.context["adminform"].form.errors
    assert not superuser.groups.filter(name=roles.LEADERS).exists()
    assert client.get(reverse("request_list")).status_code == 403


def test_a_superuser_cannot_take_the_leader_role_away(client, superuser, leader):
    client.force_login(superuser)

    response = client.post(reverse("admin:auth_user_change", args=[leader.pk]), account_form(leader, groups=[]))

    assert response.status_code == 302
    assert leader.groups.filter(name=roles.LEADERS).exists()


def test_the_admin_offers_no_leaders_group(client, superuser, assigned_intercessor):
    client.force_login(superuser)

    form = client.get(reverse("admin:auth_user_change", args=[assigned_intercessor.pk])).context["adminform"].form

    assert roles.LEADERS not in {group.name for group in form.fields["groups"].queryset}


def test_a_superuser_cannot_set_a_leader_s_password(client, superuser, leader, assigned_intercessor):
    client.force_login(superuser)
    before = leader.password

    page = client.get(reverse("admin:auth_user_password_change", args=[leader.pk]))
    posted = client.post(
        reverse("admin:auth_user_password_change", args=[leader.pk]),
        {"password1": "a-new-password-77", "password2": "a-new-password-77", "usable_password": "true"},
    )

    assert (page.status_code, posted.status_code) == (403, 403)
    leader.refresh_from_db()
    assert leader.password == before
    # Anyone else's can still be set there (a volunteer without e-mail, say).
    assert client.get(reverse("admin:auth_user_password_change", args=[assigned_intercessor.pk])).status_code == 200


def test_a_superuser_cannot_deactivate_a_member_of_the_team_in_the_admin(client, superuser, leader):
    client.force_login(superuser)

    client.post(reverse("admin:auth_user_change", args=[leader.pk]), account_form(leader, is_active=""))

    leader.refresh_from_db()
    assert leader.is_active


@pytest.mark.parametrize("lookup", ["assignments__id", "assignments_released__isnull", "prayer_logs__note"])
def test_the_user_list_refuses_lookups_into_what_people_carry(client, superuser, lookup):
    client.force_login(superuser)

    response = client.get(reverse("admin:auth_user_changelist"), {lookup: "1"})

    assert response.status_code == 400


def test_the_user_list_still_filters_by_its_sidebar(client, superuser):
    client.force_login(superuser)

    assert client.get(reverse("admin:auth_user_changelist"), {"is_active__exact": "1"}).status_code == 200


def test_the_team_groups_cannot_be_renamed_or_deleted(client, superuser):
    from django.contrib.auth.models import Group

    client.force_login(superuser)
    leaders = Group.objects.get(name=roles.LEADERS)

    client.post(reverse("admin:auth_group_change", args=[leaders.pk]), {"name": "Anyone"})
    deleted = client.post(reverse("admin:auth_group_delete", args=[leaders.pk]), {"post": "yes"})

    assert Group.objects.filter(pk=leaders.pk, name=roles.LEADERS).exists()
    assert deleted.status_code == 403
