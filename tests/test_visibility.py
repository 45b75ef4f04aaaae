"""
`PrayerRequest.objects.visible_to(user)`: the one rule of who sees what
(PRODUCT.md, "Who sees what"), walked persona by persona against a
confidential and a non-confidential request in every status.
"""

import pytest
from conftest import make_user
from django.contrib.auth.models import Group

from requests_app import roles, services
from requests_app.models import PrayerRequest, Status

S = Status
STATUSES = [S.NEW, S.INTERCEDING, S.BREAKTHROUGH, S.ANSWERED, S.CLOSED]

# --- The expected answer, written from PRODUCT.md --------------------------
#
# Each entry is the set of (status, confidential) pairs the persona sees,
# for a request made by `request_in`: nobody is assigned to a `new` request;
# in every other status `assigned_intercessor` is actively assigned (closing
# does not release anyone) and `released_intercessor` was assigned and then
# released.

EVERY_REQUEST = frozenset((status, confidential) for status in STATUSES for confidential in (True, False))
# "An intercessor sees every non-confidential request that a leader has shared
# with the team ... and that is not closed": every status but `new` was
# assigned, which shares it; a new one waits for a leader (test_board_gate.py).
TEAM_BOARD = frozenset((status, False) for status in STATUSES if status not in (S.NEW, S.CLOSED))
# "...and a confidential one only while actively assigned to it."
ACTIVELY_ASSIGNED = frozenset(
    (status, confidential) for status in STATUSES if status != S.NEW for confidential in (True, False)
)
NOTHING = frozenset()

SEES = {
    "leader": EVERY_REQUEST,
    "assigned_intercessor": TEAM_BOARD | ACTIVELY_ASSIGNED,
    "other_intercessor": TEAM_BOARD,
    # "When the assignment is released, the sight ends with it."
    "released_intercessor": TEAM_BOARD,
    # "Being one grants no sight of confidential requests" — nor of any other.
    "superuser": NOTHING,
    "staff_not_on_team": NOTHING,
    "inactive_leader": NOTHING,
    "user_in_no_group": NOTHING,
    "anonymous": NOTHING,
    "no_user": NOTHING,
}


def expected_to_see(persona: str, status: str, confidential: bool) -> bool:
    return (status, confidential) in SEES[persona]


@pytest.fixture
def staff_not_on_team(db):
    return make_user("stephen", is_staff=True)


@pytest.fixture
def inactive_leader(db):
    return make_user("demas", roles.LEADERS, is_active=False)


@pytest.fixture
def user_in_no_group(db):
    return make_user("gaius")


@pytest.fixture
def no_user():
    return None


@pytest.fixture
def every_request(request_in) -> dict[tuple[str, bool], PrayerRequest]:
    """One request per (status, confidential)."""
    return {
        (status, confidential): request_in(status, confidential=confidential)
        for status in STATUSES
        for confidential in (True, False)
    }


def visible_pks(user) -> set[int]:
    return set(PrayerRequest.objects.visible_to(user).values_list("pk", flat=True))


@pytest.mark.parametrize("confidential", [True, False], ids=["confidential", "public"])
@pytest.mark.parametrize("status", STATUSES, ids=str)
@pytest.mark.parametrize("persona", list(SEES))
def test_it_shows_each_persona_what_product_md_says(request, request_in, persona, status, confidential):
    prayer_request = request_in(status, confidential=confidential)
    user = request.getfixturevalue(persona)

    seen = PrayerRequest.objects.visible_to(user).filter(pk=prayer_request.pk).exists()

    assert seen is expected_to_see(persona, status, confidential)


def test_it_shows_the_table_as_a_whole_for_every_persona(request, every_request):
    for persona, sees in SEES.items():
        user = request.getfixturevalue(persona)
        expected = {every_request[key].pk for key in sees}
        assert visible_pks(user) == expected, persona


def test_it_shows_everything_to_someone_who_is_both_leader_and_intercessor(every_request):
    priscilla = make_user("priscilla", roles.LEADERS, roles.INTERCESSORS)

    assert visible_pks(priscilla) == {prayer_request.pk for prayer_request in every_request.values()}


def test_it_ends_the_sight_of_a_confidential_request_on_release(request_in, leader, other_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=True)
    [assignment] = services.assign(prayer_request, [other_intercessor], by=leader)
    assert prayer_request.pk in visible_pks(other_intercessor)

    services.release(assignment, by=other_intercessor)

    assert prayer_request.pk not in visible_pks(other_intercessor)


def test_it_keeps_a_public_request_on_the_board_after_release(request_in, leader, other_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    [assignment] = services.assign(prayer_request, [other_intercessor], by=leader)

    services.release(assignment, by=leader)

    assert prayer_request.pk in visible_pks(other_intercessor)


def test_it_hides_a_request_made_confidential_from_the_unassigned(request_in, leader, other_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    assert prayer_request.pk in visible_pks(other_intercessor)

    services.set_confidential(prayer_request, True, actor=leader)

    assert prayer_request.pk not in visible_pks(other_intercessor)


def test_it_counts_a_reassigned_request_once(request_in, leader, other_intercessor):
    # Several assignment rows (one released, one active) must not multiply the row.
    prayer_request = request_in(S.INTERCEDING, confidential=True)
    [first] = services.assign(prayer_request, [other_intercessor], by=leader)
    services.release(first, by=leader)
    services.assign(prayer_request, [other_intercessor], by=leader)

    visible = PrayerRequest.objects.visible_to(other_intercessor)

    assert visible.filter(pk=prayer_request.pk).count() == 1
    assert list(visible).count(prayer_request) == 1


def test_it_composes_with_further_filters_and_counts(every_request, leader, assigned_intercessor, other_intercessor):
    assert PrayerRequest.objects.visible_to(leader).count() == 10
    assert PrayerRequest.objects.visible_to(leader).filter(status=S.CLOSED).count() == 2
    assert PrayerRequest.objects.visible_to(leader).filter(is_confidential=True).count() == 5

    board = PrayerRequest.objects.visible_to(other_intercessor)
    assert board.count() == 3
    assert board.open().count() == 2
    assert not board.filter(is_confidential=True).exists()
    assert not board.filter(status=S.CLOSED).exists()
    assert board.filter(status=S.ANSWERED).get() == every_request[(S.ANSWERED, False)]

    # Filtering first and scoping afterwards gives the same answer, once a
    # leader has shared the new one with the team.
    services.share_with_team(every_request[(S.NEW, False)], by=leader)
    new_on_board = PrayerRequest.objects.filter(status=S.NEW).visible_to(other_intercessor)
    assert new_on_board.get() == every_request[(S.NEW, False)]
    assert set(PrayerRequest.objects.open().visible_to(assigned_intercessor)) == set(
        PrayerRequest.objects.visible_to(assigned_intercessor).open()
    )
    # Excluding and joining on top keep the scope.
    mine = PrayerRequest.objects.visible_to(assigned_intercessor).filter(
        assignments__intercessor=assigned_intercessor, assignments__released_at__isnull=True
    )
    assert mine.count() == 8
    assert PrayerRequest.objects.visible_to(assigned_intercessor).exclude(is_confidential=False).count() == 4


@pytest.mark.parametrize("persona", ["leader", "assigned_intercessor", "other_intercessor"])
def test_it_lists_requests_in_one_query(request, django_assert_num_queries, every_request, persona):
    user = request.getfixturevalue(persona)
    roles.group_names(user)  # Membership is asked once per page, then cached.

    with django_assert_num_queries(1):
        rows = list(PrayerRequest.objects.visible_to(user))
        for prayer_request in rows:
            assert prayer_request.title
            assert prayer_request.get_status_display()

    assert {prayer_request.pk for prayer_request in rows} == {every_request[key].pk for key in SEES[persona]}


def test_it_asks_for_group_membership_once(django_assert_num_queries, every_request, other_intercessor):
    with django_assert_num_queries(2):
        list(PrayerRequest.objects.visible_to(other_intercessor))
    with django_assert_num_queries(1):
        list(PrayerRequest.objects.visible_to(other_intercessor))


@pytest.mark.parametrize("persona", ["anonymous", "no_user", "inactive_leader"])
def test_it_asks_nothing_of_the_database_for_nobody(request, django_assert_num_queries, every_request, persona):
    user = request.getfixturevalue(persona)

    with django_assert_num_queries(0):
        assert list(PrayerRequest.objects.visible_to(user)) == []


def test_it_sees_a_group_change_after_roles_forget(request_in, other_intercessor, django_assert_num_queries):
    prayer_request = request_in(S.INTERCEDING, confidential=True)
    leaders = Group.objects.get(name=roles.LEADERS)
    assert prayer_request.pk not in visible_pks(other_intercessor)

    other_intercessor.groups.add(leaders)
    # Membership is cached on the user object for the rest of the page ...
    with django_assert_num_queries(0):
        assert not roles.is_leader(other_intercessor)
    # ... until it is forgotten.
    roles.forget(other_intercessor)
    assert roles.is_leader(other_intercessor)
    assert prayer_request.pk in visible_pks(other_intercessor)

    other_intercessor.groups.remove(leaders)
    roles.forget(other_intercessor)
    assert not roles.is_leader(other_intercessor)
    assert prayer_request.pk not in visible_pks(other_intercessor)


def test_it_sees_removal_from_the_team_after_roles_forget(request_in, other_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    assert prayer_request.pk in visible_pks(other_intercessor)

    other_intercessor.groups.clear()
    roles.forget(other_intercessor)

    assert visible_pks(other_intercessor) == set()


def test_it_forgets_harmlessly_when_nothing_was_cached(db, other_intercessor, anonymous):
    roles.forget(other_intercessor)
    roles.forget(anonymous)

    assert roles.is_intercessor(other_intercessor)
    assert not roles.is_intercessor(anonymous)
