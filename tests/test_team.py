"""
The team, run by its leader: the team page (every active member, the
deactivated apart), and each control on it: roles, capacity and
availability, deactivating and reactivating (requests_app.team.members,
requests_app.views.members).

Every control works for a leader, is 403 for an intercessor and for a
superuser who is not a leader, sends the anonymous to log in, is 405 on GET
and 404 for an id that is no member; bad input and refusals are a message
and change nothing. Never zero leaders. Every change writes its audit entry.
The threaded PostgreSQL test of "never zero leaders" is in
tests/test_concurrency.py.
"""

import re
from datetime import timedelta

import pytest
from conftest import PASSWORD, bring_to, make_user, submit
from django.contrib.auth.models import Group, User
from django.contrib.messages import get_messages
from django.core import mail
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from requests_app import access, roles, services
from requests_app.exceptions import NotAllowed
from requests_app.keyset import PAGE_SIZE
from requests_app.mail import notifications
from requests_app.models import (
    Assignment,
    AuditAction,
    AuditLogEntry,
    Category,
    IntercessorProfile,
    OutboxMessage,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    UpdateKind,
    Visibility,
)
from requests_app.team import accounts, members
from requests_app.team.members import MemberChangeRefused

S = Status
TEAM = reverse("team")
LOGIN = reverse("login")
CONTROLS = ["team_member_roles", "team_member_limits", "team_member_deactivate", "team_member_reactivate"]
SECRET = "Secret-Title-Qm4"


# --- helpers ---------------------------------------------------------------------


def url(name: str, member: User | int) -> str:
    return reverse(name, args=[getattr(member, "pk", member)])


def flashed(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def team_state() -> dict:
    """Everything a control of the team could change: a refusal leaves it alone."""
    return {
        "users": sorted(User.objects.values_list("pk", "is_active", "password")),
        "memberships": sorted(User.groups.through.objects.values_list("user_id", "group_id")),
        "profiles": sorted(
            IntercessorProfile.objects.values_list(
                "user_id", "max_active_assignments", "is_available", "limits_changed_by", "limits_changed_at"
            )
        ),
        "assignments": sorted(Assignment.objects.values_list("pk", "released_at")),
        "story": StatusUpdate.objects.count(),
        "audit": AuditLogEntry.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


def both(username: str, **fields) -> User:
    """A leader who also intercedes."""
    return make_user(username, roles.LEADERS, roles.INTERCESSORS, **fields)


def group_names(user: User) -> set[str]:
    return set(User.objects.get(pk=user.pk).groups.values_list("name", flat=True))


def entries(action: str) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(action=action).order_by("pk"))


def carried_by(intercessor: User, leader: User, how_many: int, *, confidential: bool = True) -> list[PrayerRequest]:
    made = []
    for number in range(how_many):
        prayer_request = submit(confidential=confidential, title=f"{SECRET} {number}")
        services.assign(prayer_request, [intercessor], by=leader)
        prayer_request.refresh_from_db()
        made.append(prayer_request)
    return made


# --- the page ----------------------------------------------------------------------


def test_it_lists_every_active_member_with_their_roles(client, leader, assigned_intercessor, superuser):
    ruth = both("ruth", first_name="Ruth", last_name="Both")
    gone = make_user("demas", roles.INTERCESSORS, first_name="Demas", is_active=False)
    # An account that is on no team (an invitation not yet accepted, say).
    make_user("visitor", first_name="Visitor")
    client.force_login(leader)

    response = client.get(TEAM)

    rows = {row.name: row for row in response.context["page"].object_list}
    assert set(rows) == {"Lydia Leader", "Anna", "Ruth Both"}
    assert (rows["Lydia Leader"].is_leader, rows["Lydia Leader"].is_intercessor) == (True, False)
    assert (rows["Anna"].is_leader, rows["Anna"].is_intercessor) == (False, True)
    assert (rows["Ruth Both"].is_leader, rows["Ruth Both"].is_intercessor) == (True, True)
    assert rows["Lydia Leader"].is_me
    assert [row.pk for row in response.context["deactivated"].object_list] == [gone.pk]
    content = response.content.decode()
    assert "Leader and intercessor" in content
    assert "Leads without interceding" in content
    assert 'id="deactivated"' in content
    assert url("team_member_reactivate", gone) in content
    assert url("team_member_limits", ruth) in content
    assert "Visitor" not in content
    assert "root" not in content


def test_it_shows_each_intercessors_load_and_prayers(client, leader, assigned_intercessor, other_intercessor):
    assigned_intercessor.first_name, assigned_intercessor.last_name = "Anna", "Prophetess"
    assigned_intercessor.save()
    IntercessorProfile.objects.filter(user=assigned_intercessor).update(
        max_active_assignments=3, preferred_categories=[Category.HEALTH, Category.NATION]
    )
    for prayer_request in (submit(), submit()):
        services.assign(prayer_request, [assigned_intercessor], by=leader)
        services.log_prayer(prayer_request, intercessor=assigned_intercessor)
    # Before the first of this month: not counted as this month's.
    month_start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    PrayerLog.objects.filter(pk=PrayerLog.objects.order_by("pk").first().pk).update(
        prayed_at=month_start - timedelta(minutes=1)
    )
    IntercessorProfile.objects.filter(user=other_intercessor).update(is_available=False)
    client.force_login(leader)

    response = client.get(TEAM)

    rows = {row.name: row for row in response.context["page"].object_list}
    anna, simeon = rows["Anna Prophetess"], rows["Simeon"]
    assert (anna.load, anna.capacity, anna.prayers_this_month, anna.full) == (2, 3, 1, False)
    assert anna.drawn_to == "Health, Nation"
    assert (simeon.load, simeon.available, simeon.prayers_this_month) == (0, False, 0)
    content = response.content.decode()
    assert "2 of 3" in content
    assert "Health, Nation" in content
    assert "Resting" in content
    assert "Over capacity" not in content
    assert SECRET not in content


def test_it_highlights_an_intercessor_full_or_over_capacity(client, leader, assigned_intercessor):
    for prayer_request in (submit(), submit()):
        services.assign(prayer_request, [assigned_intercessor], by=leader)
    client.force_login(leader)
    IntercessorProfile.objects.filter(user=assigned_intercessor).update(max_active_assignments=2)

    assert "Full" in client.get(TEAM).content.decode()

    IntercessorProfile.objects.filter(user=assigned_intercessor).update(max_active_assignments=1)
    content = client.get(TEAM).content.decode()
    assert "2 of 1" in content
    assert "Over capacity" in content


def test_it_counts_this_months_prayers_in_the_local_time_zone(client, settings, leader, assigned_intercessor):
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: its month starts before UTC's.
    prayer_request = submit(confidential=False)
    services.assign(prayer_request, [assigned_intercessor], by=leader)
    month_start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    services.log_prayer(prayer_request, intercessor=assigned_intercessor)
    PrayerLog.objects.update(prayed_at=month_start + timedelta(minutes=1))
    client.force_login(leader)

    rows = {row.name: row for row in client.get(TEAM).context["page"].object_list}

    assert rows["Anna"].prayers_this_month == 1


def test_it_gives_a_leader_the_controls_of_each_member(client, leader, assigned_intercessor):
    ruth = both("ruth", first_name="Ruth")
    client.force_login(leader)

    content = client.get(TEAM).content.decode()

    assert content.count(">Manage<span") == 3
    assert 'value="make_leader"' in content  # Anna
    assert 'value="remove_leader"' in content  # Ruth, who also intercedes
    assert 'value="remove_intercessor"' in content  # Ruth, who also leads
    assert 'value="make_intercessor"' in content  # Lydia, who only leads
    assert f'id="capacity-{assigned_intercessor.pk}"' in content
    assert f'id="capacity-{ruth.pk}"' in content
    assert f'id="capacity-{leader.pk}"' not in content  # she does not intercede
    assert url("team_member_deactivate", assigned_intercessor) in content


def test_it_does_not_offer_to_take_away_the_only_leader(client, db):
    only = both("lydia", first_name="Lydia")
    client.force_login(only)

    content = client.get(TEAM).content.decode()

    assert 'value="remove_leader"' not in content
    assert url("team_member_deactivate", only) not in content
    assert "The only leader cannot be deactivated." in content


@pytest.mark.parametrize("persona", ["assigned_intercessor", "other_intercessor", "superuser"])
def test_it_shows_the_team_page_to_leaders_only(request, client, request_in, persona):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(request.getfixturevalue(persona))

    response = client.get(TEAM)

    assert response.status_code == 403
    assert prayer_request.title not in response.content.decode()


def test_it_pages_the_team_and_the_deactivated_apart(client, leader):
    for number in range(PAGE_SIZE + 2):
        make_user(f"member{number:02}", roles.INTERCESSORS, first_name=f"Member{number:02}")
    for number in range(PAGE_SIZE + 1):
        make_user(f"gone{number:02}", roles.INTERCESSORS, first_name=f"Gone{number:02}", is_active=False)
    client.force_login(leader)

    first = client.get(TEAM)
    following = client.get(TEAM + first.context["deactivated"].links["next"])

    assert len(first.context["page"].object_list) == PAGE_SIZE
    assert len(first.context["deactivated"].object_list) == PAGE_SIZE
    assert len(following.context["deactivated"].object_list) == 1
    # The other list stays on its first page.
    assert [row.pk for row in following.context["page"].object_list] == [
        row.pk for row in first.context["page"].object_list
    ]
    assert first.context["page"].has_next


# Session, the user with their roles; the members' page; the count of active leaders; the
# deactivated page; the pending invitations (requests_app.views.team).
TEAM_QUERIES = 6


def test_it_keeps_the_number_of_queries_constant(client, leader, django_assert_num_queries):
    client.force_login(leader)
    for number_of_members in (5, 50):
        start = User.objects.count()
        for number in range(number_of_members - User.objects.filter(is_active=True).count() + 1):
            member = make_user(f"member{start + number}", roles.INTERCESSORS, email=f"m{start + number}@example.org")
            IntercessorProfile.objects.filter(user=member).update(preferred_categories=[Category.FAMILY])
            make_user(f"gone{start + number}", roles.LEADERS, is_active=False)
        prayer_request = submit()
        services.assign(prayer_request, [member], by=leader)
        services.log_prayer(prayer_request, intercessor=member)
        with django_assert_num_queries(TEAM_QUERIES):
            response = client.get(TEAM)
        assert response.status_code == 200
        page = response.context["page"]
        if page.has_next:
            with django_assert_num_queries(TEAM_QUERIES):
                assert client.get(TEAM + page.links["next"]).status_code == 200


# --- who may use the controls -----------------------------------------------------------


def _control_data(name: str) -> dict:
    return {
        "team_member_roles": {"change": "make_leader"},
        "team_member_limits": {"capacity": "5", "available": "on"},
    }.get(name, {})


@pytest.mark.parametrize("name", CONTROLS)
@pytest.mark.parametrize("persona", ["assigned_intercessor", "other_intercessor", "superuser"])
def test_it_refuses_every_control_to_anyone_but_a_leader(request, client, leader, name, persona):
    target = make_user("dorcas", roles.INTERCESSORS, is_active=name != "team_member_reactivate")
    client.force_login(request.getfixturevalue(persona))
    before = team_state()

    response = client.post(url(name, target), _control_data(name))

    assert response.status_code == 403
    assert team_state() == before


@pytest.mark.parametrize("name", CONTROLS)
def test_it_sends_the_anonymous_to_log_in(client, leader, name):
    before = team_state()

    response = client.post(url(name, leader), _control_data(name))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    assert team_state() == before


@pytest.mark.parametrize("name", CONTROLS)
def test_it_takes_no_get(client, leader, assigned_intercessor, name):
    client.force_login(leader)
    before = team_state()

    assert client.get(url(name, assigned_intercessor)).status_code == 405
    assert team_state() == before


@pytest.mark.parametrize("name", CONTROLS)
@pytest.mark.parametrize("who", ["unknown", "superuser", "off the team"])
def test_it_answers_404_for_anyone_who_is_no_member(client, leader, superuser, name, who):
    target = {"unknown": 987654, "superuser": superuser, "off the team": make_user("visitor")}[who]
    client.force_login(leader)
    before = team_state()

    assert client.post(url(name, target), _control_data(name)).status_code == 404
    assert team_state() == before


# --- roles --------------------------------------------------------------------------


def test_it_makes_an_intercessor_a_leader_and_tells_every_leader(
    client, leader, assigned_intercessor, django_capture_on_commit_callbacks
):
    leader.email, assigned_intercessor.email = "lydia@example.org", "anna@example.org"
    leader.save()
    assigned_intercessor.save()
    client.force_login(leader)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("team_member_roles", assigned_intercessor), {"change": "make_leader"})

    assert response.status_code == 302
    assert response.url == f"{TEAM}#member-{assigned_intercessor.pk}"
    assert group_names(assigned_intercessor) == {roles.LEADERS, roles.INTERCESSORS}
    assert flashed(response) == ["Anna is now a leader. Every leader has been told."]
    (entry,) = entries(AuditAction.MADE_LEADER)
    assert (entry.actor_id, entry.subject_id, entry.actor_name, entry.subject_name) == (
        leader.pk,
        assigned_intercessor.pk,
        "Lydia Leader",
        "Anna",
    )
    assert sorted(message.to[0] for message in mail.outbox) == ["anna@example.org", "lydia@example.org"]
    # Who, by whom, when.
    assert all(
        re.search(r"Anna is now a leader of the intercession team \(by Lydia Leader, .*\d{4}.*\)\.", message.body)
        for message in mail.outbox
    )


def test_it_removes_the_leader_role_of_someone_who_intercedes(client, leader, django_capture_on_commit_callbacks):
    ruth = both("ruth", first_name="Ruth", email="ruth@example.org")
    client.force_login(leader)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("team_member_roles", ruth), {"change": "remove_leader"})

    assert response.status_code == 302
    assert group_names(ruth) == {roles.INTERCESSORS}
    assert len(entries(AuditAction.LEADER_ROLE_REMOVED)) == 1
    assert [message.to for message in mail.outbox] == [["ruth@example.org"]]
    assert "Ruth is no longer a leader" in mail.outbox[0].body


def test_it_refuses_to_take_away_the_last_leader_role(client, db):
    only = both("lydia", first_name="Lydia")
    client.force_login(only)
    before = team_state()

    response = client.post(url("team_member_roles", only), {"change": "remove_leader"}, follow=True)

    assert "Lydia is the only leader: make someone else a leader first." in flashed(response)
    assert team_state() == before


def test_it_counts_only_active_leaders(client, leader):
    both("ruth", first_name="Ruth", is_active=False)
    lydia = both("lydia2", first_name="Lydia")
    members.deactivate(leader, by=lydia)
    client.force_login(lydia)
    before = team_state()

    response = client.post(url("team_member_roles", lydia), {"change": "remove_leader"}, follow=True)

    assert "Lydia is the only leader: make someone else a leader first." in flashed(response)
    assert team_state() == before


@pytest.mark.parametrize(
    ("roles_of_target", "change", "message"),
    [
        ((roles.LEADERS,), "remove_leader", "Leading is the only role Dorcas has"),
        ((roles.INTERCESSORS,), "remove_intercessor", "Interceding is the only role Dorcas has"),
        ((roles.INTERCESSORS,), "make_intercessor", "Dorcas is already an intercessor."),
        ((roles.LEADERS,), "make_leader", "Dorcas is already a leader."),
        ((roles.INTERCESSORS,), "remove_leader", "Dorcas is not a leader."),
        ((roles.LEADERS,), "remove_intercessor", "Dorcas is not an intercessor."),
    ],
)
def test_it_refuses_a_change_of_role_that_cannot_be(client, leader, roles_of_target, change, message):
    dorcas = make_user("dorcas", *roles_of_target, first_name="Dorcas")
    client.force_login(leader)
    before = team_state()

    response = client.post(url("team_member_roles", dorcas), {"change": change}, follow=True)

    assert response.status_code == 200
    assert any(text.startswith(message) for text in flashed(response)), flashed(response)
    assert team_state() == before


def test_it_refuses_a_change_of_role_for_someone_deactivated(client, leader):
    gone = make_user("demas", roles.INTERCESSORS, first_name="Demas", is_active=False)
    client.force_login(leader)
    before = team_state()

    response = client.post(url("team_member_roles", gone), {"change": "make_leader"}, follow=True)

    assert "Demas is deactivated: reactivate them first." in flashed(response)
    assert team_state() == before


@pytest.mark.parametrize(
    "change", ["", "make_admin", "MAKE_LEADER", "make_leader\x00", "x" * 1_000_000, "مدير"], ids=repr
)
def test_it_refuses_junk_changes_of_role(client, leader, assigned_intercessor, change):
    client.force_login(leader)
    before = team_state()

    response = client.post(url("team_member_roles", assigned_intercessor), {"change": change}, follow=True)

    assert response.status_code == 200
    assert flashed(response)[0] in ("Choose a change of role.", "That is not a change of role this page offers.")
    assert team_state() == before


def test_it_makes_a_leader_an_intercessor_who_can_then_be_assigned(client, leader):
    client.force_login(leader)
    prayer_request = submit()

    response = client.post(url("team_member_roles", leader), {"change": "make_intercessor"})

    assert response.status_code == 302
    assert group_names(leader) == {roles.LEADERS, roles.INTERCESSORS}
    assert IntercessorProfile.objects.filter(user=leader).exists()
    assert len(entries(AuditAction.MADE_INTERCESSOR)) == 1
    roles.forget(leader)
    services.assign(prayer_request, [leader], by=leader)


def test_it_releases_what_a_leader_carried_when_they_stop_interceding(client, leader):
    ruth = both("ruth", first_name="Ruth")
    carried = carried_by(ruth, leader, 2)
    client.force_login(leader)

    response = client.post(url("team_member_roles", ruth), {"change": "remove_intercessor"})

    assert flashed(response) == ["Ruth no longer intercedes; the 2 requests they carried were released."]
    assert group_names(ruth) == {roles.LEADERS}
    assert not Assignment.objects.active().filter(intercessor=ruth).exists()
    for prayer_request in carried:
        entry = prayer_request.updates.latest("pk")
        assert (entry.kind, entry.intercessor_id, entry.author_id) == (UpdateKind.RELEASED, ruth.pk, leader.pk)
    (entry,) = entries(AuditAction.INTERCESSOR_ROLE_REMOVED)
    assert entry.details == {"assignments_released": 2}


def test_it_lets_nobody_act_who_lost_the_leader_role_a_moment_ago(leader):
    ruth = both("ruth", first_name="Ruth")
    stale_ruth = User.objects.get(pk=ruth.pk)
    assert roles.is_leader(stale_ruth)  # her roles, read before the change
    members.remove_leader(ruth, by=leader)
    before = team_state()

    with pytest.raises(NotAllowed):
        members.remove_leader(leader, by=stale_ruth)

    assert team_state() == before


# --- capacity and availability ------------------------------------------------------------


def test_it_sets_an_intercessors_limits_and_says_who_did(client, leader, assigned_intercessor):
    client.force_login(leader)

    response = client.post(url("team_member_limits", assigned_intercessor), {"capacity": "7"})

    assert response.status_code == 302
    assert flashed(response) == ["Anna can now carry up to 7 requests, and is resting: nothing new for now."]
    profile = IntercessorProfile.objects.get(user=assigned_intercessor)
    assert (profile.max_active_assignments, profile.is_available) == (7, False)
    assert profile.limits_changed_by == leader
    assert timezone.now() - profile.limits_changed_at < timedelta(minutes=1)
    (entry,) = entries(AuditAction.LIMITS_CHANGED)
    assert entry.details == {"capacity": {"old": 10, "new": 7}, "available": {"old": True, "new": False}}
    assert (entry.actor_id, entry.subject_id) == (leader.pk, assigned_intercessor.pk)


def test_it_changes_nothing_when_the_limits_are_already_so(client, leader, assigned_intercessor):
    client.force_login(leader)
    before = team_state()

    response = client.post(url("team_member_limits", assigned_intercessor), {"capacity": "10", "available": "on"})

    assert flashed(response) == ["Nothing to change: Anna's capacity and availability were already so."]
    assert team_state() == before


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        ("-1", "Enter 0 or more."),
        ("51", "Enter 50 or fewer."),
        ("abc", "Enter a whole number of requests."),
        ("2.5", "Enter a whole number of requests."),
        ("9" * 5000, "Enter a whole number of requests."),
        ("99999999999999999999", "Enter 50 or fewer."),
        ("3\x00", "Enter a whole number of requests."),
        ("", "Say how many requests they can carry (0 if none for now)."),
        ("1" * 1_000_000, "Enter a whole number of requests."),
    ],
    ids=["negative", "51", "abc", "fraction", "5000 digits", "huge", "NUL", "empty", "1 MB"],
)
def test_it_refuses_a_capacity_out_of_range(client, leader, assigned_intercessor, capacity, message):
    client.force_login(leader)
    before = team_state()

    response = client.post(url("team_member_limits", assigned_intercessor), {"capacity": capacity, "available": "on"})

    assert response.status_code == 302
    assert flashed(response) == [f"Nothing was changed for Anna: {message}"]
    assert team_state() == before


def test_it_refuses_limits_for_someone_who_does_not_intercede(client, leader):
    ruth = make_user("ruth", roles.LEADERS, first_name="Ruth")
    client.force_login(leader)
    before = team_state()

    response = client.post(url("team_member_limits", ruth), {"capacity": "3", "available": "on"})

    assert flashed(response) == ["Ruth is not an active intercessor."]
    assert team_state() == before


def test_it_refuses_a_capacity_out_of_range_in_the_service_too(leader, assigned_intercessor):
    for capacity in (-1, 51, True, "3", None):
        with pytest.raises(ValidationError) as refused:
            members.set_limits(assigned_intercessor, capacity=capacity, available=True, by=leader)
        assert refused.value.code == "capacity_out_of_range"


@pytest.mark.parametrize(
    "hostile",
    [
        "https://evil.example.org/",
        "//evil.example.org/",
        "/\\evil.example.org",
        "javascript:alert(1)",
        "team",
        "/x\n/",
    ],
)
def test_it_goes_back_only_to_a_page_of_ours(client, leader, assigned_intercessor, hostile):
    client.force_login(leader)

    response = client.post(
        url("team_member_limits", assigned_intercessor), {"capacity": "4", "available": "on", "next": hostile}
    )

    assert response.status_code == 302
    assert response.url == f"{TEAM}#member-{assigned_intercessor.pk}"
    assert IntercessorProfile.objects.get(user=assigned_intercessor).max_active_assignments == 4


def test_it_shows_the_intercessor_who_changed_their_limits_until_they_change_them(
    client, leader, assigned_intercessor
):
    members.set_limits(assigned_intercessor, capacity=2, available=True, by=leader)
    IntercessorProfile.objects.filter(user=assigned_intercessor).update(
        limits_changed_at=timezone.make_aware(timezone.datetime(2026, 3, 9, 12))
    )
    client.force_login(assigned_intercessor)
    settings_url = reverse("my_settings")

    shown = client.get(settings_url).content.decode()
    assert "Your capacity or availability was last changed by Lydia Leader on 9 March 2026." in shown

    # Saving the e-mail choices alone leaves the leader's values, and the note.
    keep = {"is_available": "on", "max_active_assignments": "2", "delivery": "immediately"}
    assert client.post(settings_url, keep).status_code == 302
    assert "last changed by Lydia Leader" in client.get(settings_url).content.decode()

    assert client.post(settings_url, {**keep, "max_active_assignments": "4"}).status_code == 302
    profile = IntercessorProfile.objects.get(user=assigned_intercessor)
    assert (profile.max_active_assignments, profile.limits_changed_by, profile.limits_changed_at) == (4, None, None)
    assert "last changed by" not in client.get(settings_url).content.decode()
    mine = entries(AuditAction.LIMITS_CHANGED)[-1]
    assert (mine.actor_id, mine.subject_id, mine.details) == (
        assigned_intercessor.pk,
        assigned_intercessor.pk,
        {"capacity": {"old": 2, "new": 4}},
    )


# --- the assign page: room for one more ------------------------------------------------------


def test_it_gives_a_full_intercessor_room_for_one_more_from_the_assign_page(client, leader, assigned_intercessor):
    IntercessorProfile.objects.filter(user=assigned_intercessor).update(max_active_assignments=2)
    carried_by(assigned_intercessor, leader, 2)
    prayer_request = submit()
    assign_url = reverse("request_assign", args=[prayer_request.pk])
    client.force_login(leader)

    refused = client.post(assign_url, {"intercessors": [assigned_intercessor.pk]})
    assert refused.status_code == 200
    assert "already carrying 2 of 2" in refused.content.decode()

    page = client.get(assign_url).content.decode()
    assert f'id="intercessor-{assigned_intercessor.pk}" disabled' in page
    assert f'name="intercessors" value="{assigned_intercessor.pk}"' not in page
    assert f'form="room-{assigned_intercessor.pk}"' in page
    assert "Sets their capacity to 3." in page
    room = client.post(
        url("team_member_limits", assigned_intercessor), {"capacity": "3", "available": "on", "next": assign_url}
    )
    assert room.status_code == 302
    assert room.url == assign_url

    page = client.get(assign_url).content.decode()
    assert f'name="intercessors" value="{assigned_intercessor.pk}"' in page
    assigned = client.post(assign_url, {"intercessors": [assigned_intercessor.pk]})
    assert assigned.status_code == 302
    assert prayer_request.assignments.active().filter(intercessor=assigned_intercessor).exists()
    assert IntercessorProfile.objects.get(user=assigned_intercessor).limits_changed_by == leader


def test_it_offers_a_resting_intercessor_to_be_made_available(client, leader, other_intercessor):
    IntercessorProfile.objects.filter(user=other_intercessor).update(is_available=False, max_active_assignments=0)
    prayer_request = submit()
    client.force_login(leader)

    page = client.get(reverse("request_assign", args=[prayer_request.pk])).content.decode()

    assert "Resting: cannot be assigned now." in page
    assert "Makes them available, with a capacity of 1." in page
    assert "Give room for one more" in page

    IntercessorProfile.objects.filter(user=other_intercessor).update(max_active_assignments=3)
    page = client.get(reverse("request_assign", args=[prayer_request.pk])).content.decode()
    assert "Makes them available again; their capacity stays 3." in page
    assert "Make available" in page


def test_it_offers_no_room_beyond_the_maximum(client, leader, assigned_intercessor):
    IntercessorProfile.objects.filter(user=assigned_intercessor).update(max_active_assignments=0)
    prayer_request = submit()
    client.force_login(leader)
    IntercessorProfile.objects.filter(user=assigned_intercessor).update(max_active_assignments=50)
    Assignment.objects.bulk_create(
        Assignment(prayer_request=submit(), intercessor=assigned_intercessor, assigned_by=leader) for _ in range(50)
    )

    page = client.get(reverse("request_assign", args=[prayer_request.pk])).content.decode()

    assert "Full: cannot be assigned now." in page
    assert f'form="room-{assigned_intercessor.pk}"' not in page


# --- deactivating and reactivating ------------------------------------------------------------


@pytest.fixture
def leaving(leader, assigned_intercessor):
    """Anna carries a confidential request, a public one and one that has
    been broken through, has prayed and kept notes; then she leaves."""
    carried = carried_by(assigned_intercessor, leader, 2) + carried_by(
        assigned_intercessor, leader, 1, confidential=False
    )
    services.move(carried[1], S.BREAKTHROUGH, actor=assigned_intercessor)
    services.log_prayer(carried[0], intercessor=assigned_intercessor, note="prayed")
    services.post_update(carried[0], actor=assigned_intercessor, note="my journal", visibility=Visibility.PRIVATE)
    for prayer_request in carried:
        prayer_request.refresh_from_db()
    return carried


def test_it_deactivates_someone_who_leaves_releasing_all_they_carry(client, leader, assigned_intercessor, leaving):
    history = (
        PrayerLog.objects.filter(intercessor=assigned_intercessor).count(),
        StatusUpdate.objects.filter(author=assigned_intercessor).count(),
    )
    anna_client = type(client)()
    anna_client.force_login(assigned_intercessor)
    assert anna_client.get(reverse("request_detail", args=[leaving[0].pk])).status_code == 200
    client.force_login(leader)

    response = client.post(url("team_member_deactivate", assigned_intercessor))

    assert response.status_code == 302
    assert flashed(response) == [
        "Anna is deactivated and can no longer log in; the 3 requests they carried were released."
    ]
    assert not User.objects.get(pk=assigned_intercessor.pk).is_active
    assert not Assignment.objects.active().filter(intercessor=assigned_intercessor).exists()
    for prayer_request in leaving:
        entry = prayer_request.updates.latest("pk")
        assert (entry.kind, entry.author_id, entry.intercessor_id, entry.visibility) == (
            UpdateKind.LEFT_TEAM,
            leader.pk,
            assigned_intercessor.pk,
            Visibility.TEAM,
        )
        assert entry.from_status == entry.to_status == prayer_request.status
    (entry,) = entries(AuditAction.DEACTIVATED)
    assert entry.details == {"assignments_released": 3}
    # Their history stays.
    assert (
        PrayerLog.objects.filter(intercessor=assigned_intercessor).count(),
        StatusUpdate.objects.filter(author=assigned_intercessor).count(),
    ) == history
    # Their open session is over at once, and they cannot log in again.
    again = anna_client.get(reverse("request_detail", args=[leaving[0].pk]))
    assert again.status_code == 302
    assert again.url.startswith(LOGIN)
    login = type(client)().post(LOGIN, {"username": "anna", "password": PASSWORD})
    assert login.status_code == 200
    assert "_auth_user_id" not in login.wsgi_request.session
    # Their copy of themselves sees none of the confidential requests.
    stale = User.objects.get(pk=assigned_intercessor.pk)
    for prayer_request in leaving[:2]:
        with pytest.raises(Http404):
            access.get_request_for_user(stale, prayer_request.pk)
    # The story tells it.
    story = client.get(reverse("request_detail", args=[leaving[0].pk])).content.decode()
    assert "Anna released: left the team" in story


def test_it_deactivates_all_or_nothing(leader, assigned_intercessor, leaving, monkeypatch):
    before = team_state()
    calls = []
    real = notifications.released

    def fail_on_the_second(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the outbox is away")
        return real(*args, **kwargs)

    monkeypatch.setattr(notifications, "released", fail_on_the_second)

    with pytest.raises(RuntimeError):
        members.deactivate(assigned_intercessor, by=leader)

    assert len(calls) == 2
    assert team_state() == before
    assert User.objects.get(pk=assigned_intercessor.pk).is_active


def test_it_reactivates_the_account_and_nothing_else(client, leader, assigned_intercessor, leaving):
    members.deactivate(assigned_intercessor, by=leader)
    client.force_login(leader)

    response = client.post(url("team_member_reactivate", assigned_intercessor))

    assert flashed(response) == ["Anna is back on the team, with no assignments: they can log in again."]
    anna = User.objects.get(pk=assigned_intercessor.pk)
    assert anna.is_active
    assert group_names(anna) == {roles.INTERCESSORS}
    assert not Assignment.objects.active().filter(intercessor=anna).exists()
    assert len(entries(AuditAction.REACTIVATED)) == 1
    anna_client = type(client)()
    assert anna_client.post(LOGIN, {"username": "anna", "password": PASSWORD}).status_code == 302
    # What she carried, confidential, is out of her sight now; the board's one is not.
    assert anna_client.get(reverse("request_detail", args=[leaving[0].pk])).status_code == 404
    assert anna_client.get(reverse("request_detail", args=[leaving[2].pk])).status_code == 200
    assert list(anna_client.get(reverse("my_assignments")).context["page"].object_list) == []


def test_it_refuses_to_deactivate_or_reactivate_twice(client, leader, assigned_intercessor):
    client.force_login(leader)
    client.post(url("team_member_deactivate", assigned_intercessor))
    before = team_state()

    twice = client.post(url("team_member_deactivate", assigned_intercessor))
    assert flashed(twice)[-1] == "Anna is deactivated: reactivate them first."
    assert team_state() == before

    client.post(url("team_member_reactivate", assigned_intercessor))
    before = team_state()
    again = client.post(url("team_member_reactivate", assigned_intercessor))
    assert flashed(again)[-1] == "Anna is already active."
    assert team_state() == before


def test_it_never_deactivates_the_last_leader(client, db):
    only = both("lydia", first_name="Lydia")
    client.force_login(only)
    before = team_state()

    response = client.post(url("team_member_deactivate", only))

    assert flashed(response) == ["Lydia is the only leader: make someone else a leader first."]
    assert team_state() == before
    assert client.get(TEAM).status_code == 200


def test_it_lets_a_leader_who_is_not_the_last_deactivate_themselves(
    client, leader, django_capture_on_commit_callbacks
):
    ruth = both("ruth", first_name="Ruth", email="ruth@example.org")
    client.force_login(ruth)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("team_member_deactivate", ruth))

    assert response.status_code == 302
    assert response.url == LOGIN
    assert not User.objects.get(pk=ruth.pk).is_active
    assert "_auth_user_id" not in client.session
    assert client.get(TEAM).url.startswith(LOGIN)
    # Who leads has changed: the leaders are told (Lydia has no address; Ruth is gone).
    assert mail.outbox == []
    assert OutboxMessage.objects.filter(kind="leaders_changed").count() == 0
    assert entries(AuditAction.DEACTIVATED)[0].actor_id == ruth.pk


def test_it_tells_the_leaders_when_a_leader_is_deactivated(leader, django_capture_on_commit_callbacks):
    leader.email = "lydia@example.org"
    leader.save()
    ruth = both("ruth", first_name="Ruth", email="ruth@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        members.deactivate(ruth, by=leader)

    assert [(message.to, "Ruth is no longer a leader" in message.body) for message in mail.outbox] == [
        (["lydia@example.org"], True)
    ]


def test_it_keeps_a_leader_when_two_take_each_other_away_one_after_the_other(leader):
    ruth = both("ruth", first_name="Ruth")
    members.deactivate(ruth, by=leader)

    with pytest.raises(NotAllowed):
        members.deactivate(leader, by=User.objects.get(pk=ruth.pk))
    with pytest.raises(MemberChangeRefused) as refused:
        members.deactivate(leader, by=leader)

    assert refused.value.code == "last_leader"
    assert User.objects.get(pk=leader.pk).is_active


def test_it_refuses_every_change_to_someone_who_may_not_manage(assigned_intercessor, other_intercessor, superuser):
    for change in (members.make_leader, members.remove_leader, members.deactivate, members.reactivate):
        for actor in (assigned_intercessor, superuser):
            with pytest.raises(NotAllowed):
                change(other_intercessor, by=actor)
    with pytest.raises(NotAllowed):
        members.set_limits(other_intercessor, capacity=3, available=True, by=assigned_intercessor)


# --- the audit log -------------------------------------------------------------------------


def test_it_records_a_leader_made_on_the_server(db):
    user, _token = accounts.create_leader("ruth@example.org", "Ruth Server")

    (entry,) = entries(AuditAction.LEADER_CREATED)
    assert (entry.actor_id, entry.actor_name, entry.subject_id, entry.subject_name) == (
        None,
        "",
        user.pk,
        "Ruth Server",
    )


def test_it_records_every_change_with_no_request_content(leader, assigned_intercessor, leaving):
    ruth = both("ruth", first_name="Ruth")
    members.make_leader(assigned_intercessor, by=leader)
    members.remove_leader(assigned_intercessor, by=leader)
    members.make_intercessor(leader, by=leader)
    members.remove_intercessor(ruth, by=leader)
    members.set_limits(assigned_intercessor, capacity=4, available=False, by=leader)
    members.deactivate(assigned_intercessor, by=leader)
    members.reactivate(assigned_intercessor, by=leader)

    assert list(AuditLogEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        AuditAction.MADE_LEADER,
        AuditAction.LEADER_ROLE_REMOVED,
        AuditAction.MADE_INTERCESSOR,
        AuditAction.INTERCESSOR_ROLE_REMOVED,
        AuditAction.LIMITS_CHANGED,
        AuditAction.DEACTIVATED,
        AuditAction.REACTIVATED,
    ]
    every_word = repr(list(AuditLogEntry.objects.values_list("actor_name", "subject_name", "details")))
    assert SECRET not in every_word
    assert "journal" not in every_word
    assert Group.objects.filter(name=roles.LEADERS).exists()


def test_it_keeps_the_sight_of_someone_released_by_leaving_ended(leader, assigned_intercessor, released_intercessor):
    prayer_request = bring_to(submit(), S.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
    members.deactivate(assigned_intercessor, by=leader)
    members.reactivate(assigned_intercessor, by=leader)

    anna = User.objects.get(pk=assigned_intercessor.pk)
    assert not PrayerRequest.objects.visible_to(anna).filter(pk=prayer_request.pk).exists()
