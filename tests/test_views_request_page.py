"""
One request's page and every change made from it: who may reach each view
(the access matrix), what each reader is shown and not shown, that bad input
and refusals change nothing, and that the page costs a constant number of
queries however long the story grows.
"""

import re
from datetime import timedelta

import pytest
from conftest import make_user, submit
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from requests_app import roles, services
from requests_app.models import (
    Assignment,
    Category,
    IntercessorProfile,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    Visibility,
)

S = Status
TITLE = "Title-Marker-Ux9 healing"
PERSONAS = ["anonymous", "leader", "assigned_intercessor", "other_intercessor", "released_intercessor", "superuser"]


# --- helpers -------------------------------------------------------------


def log_in(client, request, persona: str):
    user = request.getfixturevalue(persona)
    if persona != "anonymous":
        client.force_login(user)
    return user


def written(prayer_request: PrayerRequest) -> dict:
    """Everything a view on this page could change: a refusal leaves it alone."""
    fresh = PrayerRequest.objects.get(pk=prayer_request.pk)
    return {
        "updates": StatusUpdate.objects.count(),
        "assignments": Assignment.objects.count(),
        "active assignments": Assignment.objects.active().count(),
        "prayer logs": PrayerLog.objects.count(),
        "status": fresh.status,
        "confidential": fresh.is_confidential,
    }


def flashed(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def page_title(response) -> str:
    return re.search(r"<title>(.*?)</title>", response.content.decode(), re.S).group(1)


def detail_url(prayer_request: PrayerRequest) -> str:
    return reverse("request_detail", args=[prayer_request.pk])


def active_assignment(prayer_request: PrayerRequest, user) -> Assignment:
    return Assignment.objects.active().get(prayer_request=prayer_request, intercessor=user)


@pytest.fixture
def titled_in(request_in):
    """`request_in` with a marker title, so pages can be searched for it."""

    def make(status: str, *, confidential: bool = True) -> PrayerRequest:
        prayer_request = request_in(status, confidential=confidential)
        PrayerRequest.objects.filter(pk=prayer_request.pk).update(title=TITLE)
        prayer_request.refresh_from_db()
        return prayer_request

    return make


# --- the access matrix ---------------------------------------------------
#
# Every view, for every persona, confidential or not, on a request in
# intercession with `assigned_intercessor` assigned and `released_intercessor`
# released. (confidential, not confidential) → expected status code.

LOGIN = 302
MATRIX = {
    "detail": {
        "anonymous": (LOGIN, LOGIN),
        "leader": (200, 200),
        "assigned_intercessor": (200, 200),
        "other_intercessor": (404, 200),
        "released_intercessor": (404, 200),
        "superuser": (404, 404),
    },
    "assign_get": {
        "anonymous": (LOGIN, LOGIN),
        "leader": (200, 200),
        "assigned_intercessor": (403, 403),
        "other_intercessor": (404, 403),
        "released_intercessor": (404, 403),
        "superuser": (404, 404),
    },
    "assign_post": {
        "anonymous": (LOGIN, LOGIN),
        "leader": (302, 302),
        "assigned_intercessor": (403, 403),
        "other_intercessor": (404, 403),
        "released_intercessor": (404, 403),
        "superuser": (404, 404),
    },
    "move": {
        "anonymous": (LOGIN, LOGIN),
        "leader": (302, 302),
        "assigned_intercessor": (302, 302),
        "other_intercessor": (404, 403),
        "released_intercessor": (404, 403),
        "superuser": (404, 404),
    },
    "update": {
        "anonymous": (LOGIN, LOGIN),
        "leader": (302, 302),
        "assigned_intercessor": (302, 302),
        "other_intercessor": (404, 403),
        "released_intercessor": (404, 403),
        "superuser": (404, 404),
    },
    # Anyone on the team who sees an open request may pray for it.
    "pray": {
        "anonymous": (LOGIN, LOGIN),
        "leader": (302, 302),
        "assigned_intercessor": (302, 302),
        "other_intercessor": (404, 302),
        "released_intercessor": (404, 302),
        "superuser": (404, 404),
    },
    "make_confidential": {
        "anonymous": (LOGIN, LOGIN),
        "leader": (302, 302),
        "assigned_intercessor": (403, 403),
        "other_intercessor": (404, 403),
        "released_intercessor": (404, 403),
        "superuser": (404, 404),
    },
    "release": {
        "anonymous": (LOGIN, LOGIN),
        "leader": (302, 302),
        "assigned_intercessor": (302, 302),
        "other_intercessor": (404, 403),
        "released_intercessor": (404, 403),
        "superuser": (404, 404),
    },
    "reassign_get": {
        "anonymous": (LOGIN, LOGIN),
        "leader": (200, 200),
        "assigned_intercessor": (403, 403),
        "other_intercessor": (404, 403),
        "released_intercessor": (404, 403),
        "superuser": (404, 404),
    },
    "reassign_post": {
        "anonymous": (LOGIN, LOGIN),
        "leader": (302, 302),
        "assigned_intercessor": (403, 403),
        "other_intercessor": (404, 403),
        "released_intercessor": (404, 403),
        "superuser": (404, 404),
    },
}


@pytest.fixture
def newcomer(db):
    """An intercessor nobody has assigned yet, for assign and reassign."""
    return make_user("phoebe", roles.INTERCESSORS, first_name="Phoebe")


def call(client, view: str, prayer_request: PrayerRequest, assignment: Assignment, newcomer):
    """Send a valid request to `view`; the payload is one that the leader may send."""
    pk = prayer_request.pk
    if view == "detail":
        return client.get(detail_url(prayer_request))
    if view == "assign_get":
        return client.get(reverse("request_assign", args=[pk]))
    if view == "assign_post":
        return client.post(reverse("request_assign", args=[pk]), {"intercessors": [newcomer.pk]})
    if view == "move":
        data = {"to_status": S.BREAKTHROUGH, "note": "Peace came", "visibility": Visibility.TEAM}
        return client.post(reverse("request_move", args=[pk]), data)
    if view == "update":
        return client.post(reverse("request_update", args=[pk]), {"note": "A word", "visibility": Visibility.TEAM})
    if view == "pray":
        return client.post(reverse("request_pray", args=[pk]), {"minutes": "10", "submission_key": "k1"})
    if view == "make_confidential":
        return client.post(reverse("request_confidential", args=[pk]))
    if view == "release":
        return client.post(reverse("assignment_release", args=[assignment.pk]), {"note": ""})
    if view == "reassign_get":
        return client.get(reverse("assignment_reassign", args=[assignment.pk]))
    if view == "reassign_post":
        return client.post(reverse("assignment_reassign", args=[assignment.pk]), {"intercessor": newcomer.pk})
    raise AssertionError(view)


@pytest.mark.parametrize("confidential", [True, False], ids=["confidential", "public"])
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("view", list(MATRIX))
def test_it_answers_each_persona_as_the_matrix_says(
    client, request, request_in, newcomer, view, persona, confidential
):
    prayer_request = request_in(S.INTERCEDING, confidential=confidential)
    assignment = active_assignment(prayer_request, request.getfixturevalue("assigned_intercessor"))
    log_in(client, request, persona)
    before = written(prayer_request)

    response = call(client, view, prayer_request, assignment, newcomer)

    expected = MATRIX[view][persona][0 if confidential else 1]
    assert response.status_code == expected
    if persona == "anonymous":
        assert response.url.startswith(reverse("login") + "?next=")
    if expected in (403, 404) or persona == "anonymous":
        assert written(prayer_request) == before


def test_the_matrix_has_a_row_for_every_view_of_the_page():
    views = {"detail", "assign", "move", "update", "pray", "make_confidential", "release", "reassign"}
    covered = {name.removesuffix("_get").removesuffix("_post") for name in MATRIX}
    assert covered == views
    assert all(set(rows) == set(PERSONAS) for rows in MATRIX.values())


@pytest.mark.parametrize(
    "name", ["request_move", "request_update", "request_pray", "request_confidential", "assignment_release"]
)
def test_it_refuses_get_on_post_only_views(client, request_in, leader, name):
    prayer_request = request_in(S.INTERCEDING)
    pk = active_assignment(prayer_request, prayer_request.assignments.first().intercessor).pk
    target = pk if name == "assignment_release" else prayer_request.pk
    client.force_login(leader)
    before = written(prayer_request)

    response = client.get(reverse(name, args=[target]))

    assert response.status_code == 405
    assert written(prayer_request) == before


@pytest.mark.parametrize("name", ["request_assign", "assignment_reassign"])
def test_it_refuses_other_methods_on_form_pages(client, request_in, leader, name):
    prayer_request = request_in(S.INTERCEDING)
    target = prayer_request.pk if name == "request_assign" else prayer_request.assignments.active().first().pk
    client.force_login(leader)

    assert client.put(reverse(name, args=[target])).status_code == 405


@pytest.mark.parametrize(
    "name",
    ["request_detail", "request_assign", "request_move", "request_update", "request_pray", "request_confidential"],
)
def test_it_404s_a_request_that_does_not_exist(client, leader, name):
    client.force_login(leader)
    response = (
        client.post(reverse(name, args=[987654])) if name != "request_detail" else client.get("/requests/987654/")
    )

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["assignment_release", "assignment_reassign"])
def test_it_404s_an_assignment_that_does_not_exist(client, leader, name):
    client.force_login(leader)

    assert client.post(reverse(name, args=[987654])).status_code == 404


# --- the request page: what each reader sees -----------------------------

TEAM_NOTE = "TEAM-NOTE-Qx1"
REQUESTER_NOTE = "REQ-NOTE-Zp2"
ANNA_JOURNAL = "ANNA-PRIVATE-Jk3"
SIMEON_JOURNAL = "SIMEON-PRIVATE-Lm4"
LYDIA_JOURNAL = "LYDIA-PRIVATE-Wv5"
MOVE_NOTE = "MOVE-NOTE-Rt6"
RELEASE_NOTE = "RELEASE-NOTE-Hc7"
PRAYER_NOTE = "PRAYLOG-NOTE-Gd8"
EVERY_NOTE = {
    TEAM_NOTE,
    REQUESTER_NOTE,
    ANNA_JOURNAL,
    SIMEON_JOURNAL,
    LYDIA_JOURNAL,
    MOVE_NOTE,
    RELEASE_NOTE,
    PRAYER_NOTE,
}


@pytest.fixture
def storied(titled_in, leader, assigned_intercessor, other_intercessor):
    """A public request in breakthrough with one of each kind of entry, each
    carrying a marker string."""
    prayer_request = titled_in(S.INTERCEDING, confidential=False)
    departing = make_user("dorcas", roles.INTERCESSORS, first_name="Dorcas")
    services.assign(prayer_request, [departing], by=leader)
    services.release(active_assignment(prayer_request, departing), by=departing, note=RELEASE_NOTE)
    services.post_update(prayer_request, actor=leader, note=TEAM_NOTE, visibility=Visibility.TEAM)
    services.post_update(prayer_request, actor=leader, note=REQUESTER_NOTE, visibility=Visibility.REQUESTER)
    services.post_update(prayer_request, actor=leader, note=LYDIA_JOURNAL, visibility=Visibility.PRIVATE)
    services.post_update(prayer_request, actor=assigned_intercessor, note=ANNA_JOURNAL, visibility=Visibility.PRIVATE)
    services.post_update(prayer_request, actor=other_intercessor, note=SIMEON_JOURNAL, visibility=Visibility.PRIVATE)
    services.move(prayer_request, S.BREAKTHROUGH, actor=assigned_intercessor, note=MOVE_NOTE)
    services.log_prayer(prayer_request, intercessor=assigned_intercessor, minutes=25, note=PRAYER_NOTE)
    services.log_prayer(prayer_request, intercessor=other_intercessor, fasted=True)
    return prayer_request


SEES_NOTES = {
    "leader": {TEAM_NOTE, REQUESTER_NOTE, LYDIA_JOURNAL, MOVE_NOTE, RELEASE_NOTE, PRAYER_NOTE},
    "assigned_intercessor": {TEAM_NOTE, REQUESTER_NOTE, ANNA_JOURNAL, MOVE_NOTE, RELEASE_NOTE, PRAYER_NOTE},
    "other_intercessor": {SIMEON_JOURNAL},
    "released_intercessor": set(),
}


@pytest.mark.parametrize("persona", list(SEES_NOTES))
def test_it_shows_each_reader_only_the_notes_they_may_read(client, request, storied, persona):
    log_in(client, request, persona)

    content = client.get(detail_url(storied)).content.decode()

    shown = {note for note in EVERY_NOTE if note in content}
    assert shown == SEES_NOTES[persona]


@pytest.mark.parametrize("persona", list(SEES_NOTES))
def test_it_tells_every_reader_how_the_request_moved_and_who_carries_it(client, request, storied, persona):
    log_in(client, request, persona)

    response = client.get(detail_url(storied))

    content = response.content.decode()
    assert "Request submitted" in content
    assert "In intercession → Breakthrough in the spirit — awaiting manifestation" in content
    assert "Anna assigned" in content
    assert "Dorcas stepped back" in content
    assert "Awaiting assignment → In intercession" in content


def test_it_marks_each_note_with_who_may_read_it(client, storied, leader):
    client.force_login(leader)

    content = client.get(detail_url(storied)).content.decode()

    assert "Team and requester" in content
    assert "Only you" in content


@pytest.mark.parametrize("persona", ["leader", "assigned_intercessor", "other_intercessor", "released_intercessor"])
def test_the_page_title_never_holds_the_request_title(client, request, storied, persona):
    log_in(client, request, persona)

    response = client.get(detail_url(storied))

    assert TITLE in response.content.decode()
    assert TITLE not in page_title(response)
    assert f"Request #{storied.pk}" in page_title(response)


def test_the_assign_page_title_never_holds_the_request_title(client, storied, leader):
    client.force_login(leader)

    for url in (
        reverse("request_assign", args=[storied.pk]),
        reverse("assignment_reassign", args=[storied.assignments.active().first().pk]),
    ):
        response = client.get(url)
        assert TITLE in response.content.decode()
        assert TITLE not in page_title(response)


def test_it_shows_everything_about_the_request(client, storied, leader):
    client.force_login(leader)

    content = client.get(detail_url(storied)).content.decode()

    for shown in ("M. K.", "Health", "Recovering slowly; pray for strength.", "Martha", "martha@example.org"):
        assert shown in content
    assert "Breakthrough in the spirit — awaiting manifestation" in content
    assert "Breakthrough in the spirit on" in content
    assert "Received in the spirit" in content


@pytest.mark.parametrize("persona", ["assigned_intercessor", "other_intercessor"])
def test_it_shows_the_requester_e_mail_to_leaders_only(client, request, storied, persona):
    log_in(client, request, persona)

    content = client.get(detail_url(storied)).content.decode()

    assert "Martha" in content
    assert "martha@example.org" not in content


def test_it_shows_the_prayer_log_to_the_team(client, storied, assigned_intercessor):
    client.force_login(assigned_intercessor)

    response = client.get(detail_url(storied))

    content = response.content.decode()
    assert PRAYER_NOTE in content
    assert "25 minutes" in content
    assert "fasted" in content
    assert "2 prayers logged." in content


def test_it_shows_a_board_reader_only_how_much_the_team_prayed(client, storied, other_intercessor):
    client.force_login(other_intercessor)

    response = client.get(detail_url(storied))

    content = response.content.decode()
    assert response.context["prayers"] is None
    assert "2 prayers logged." in content
    assert "The team last prayed" in content
    assert "25 minutes" not in content


# --- the request page: controls ------------------------------------------


def labels(response) -> list[str]:
    return [str(label) for _status, label in response.context["moves"]]


def test_it_offers_a_leader_every_control(client, titled_in, leader):
    prayer_request = titled_in(S.INTERCEDING, confidential=False)
    client.force_login(leader)

    response = client.get(detail_url(prayer_request))

    content = response.content.decode()
    assert labels(response) == ["Breakthrough in the spirit", "Manifested", "Close"]
    assert reverse("request_assign", args=[prayer_request.pk]) in content
    assert reverse("request_confidential", args=[prayer_request.pk]) in content
    assert reverse("assignment_reassign", args=[prayer_request.assignments.active().get().pk]) in content
    assert reverse("assignment_release", args=[prayer_request.assignments.active().get().pk]) in content
    assert reverse("request_pray", args=[prayer_request.pk]) in content
    assert [value for value, _label in response.context["update_form"].fields["visibility"].choices] == [
        Visibility.TEAM,
        Visibility.REQUESTER,
        Visibility.PRIVATE,
    ]


def test_it_does_not_offer_to_make_a_confidential_request_confidential(client, titled_in, leader):
    prayer_request = titled_in(S.INTERCEDING, confidential=True)
    client.force_login(leader)

    content = client.get(detail_url(prayer_request)).content.decode()

    assert reverse("request_confidential", args=[prayer_request.pk]) not in content


def test_it_offers_an_assigned_intercessor_their_moves_and_their_own_release(client, titled_in, assigned_intercessor):
    prayer_request = titled_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)

    response = client.get(detail_url(prayer_request))

    content = response.content.decode()
    assert labels(response) == ["Breakthrough in the spirit", "Manifested"]
    assert "I can no longer carry this" in content
    assert reverse("request_assign", args=[prayer_request.pk]) not in content
    assert "Reassign" not in content
    assert reverse("request_pray", args=[prayer_request.pk]) in content


def test_it_offers_more_is_still_needed_from_breakthrough(client, titled_in, assigned_intercessor):
    prayer_request = titled_in(S.BREAKTHROUGH)
    client.force_login(assigned_intercessor)

    response = client.get(detail_url(prayer_request))

    assert labels(response) == ["More is still needed — back to intercession", "Manifested"]


def test_it_offers_a_leader_to_reopen(client, titled_in, leader):
    prayer_request = titled_in(S.ANSWERED)
    client.force_login(leader)

    response = client.get(detail_url(prayer_request))

    content = response.content.decode()
    assert labels(response) == ["Reopen"]
    assert reverse("request_pray", args=[prayer_request.pk]) not in content
    assert reverse("request_assign", args=[prayer_request.pk]) not in content
    assert "Manifested on" in content


def test_it_offers_a_board_reader_only_prayer_and_their_journal(client, titled_in, other_intercessor):
    prayer_request = titled_in(S.INTERCEDING, confidential=False)
    client.force_login(other_intercessor)

    response = client.get(detail_url(prayer_request))

    content = response.content.decode()
    assert labels(response) == []
    assert reverse("request_move", args=[prayer_request.pk]) not in content
    assert reverse("request_pray", args=[prayer_request.pk]) in content
    assert [value for value, _label in response.context["update_form"].fields["visibility"].choices] == [
        Visibility.PRIVATE
    ]
    assert "Keep in my journal" in content
    assert "/release/" not in content
    assert "Reassign" not in content


# --- the request page: a constant number of queries ----------------------

# Session, the user with their roles (requests_app/web/auth.py); the
# request, fetched with the sizes of its story, prayer log and access log,
# its last prayer and its latest move (for the "Undo"); its current
# intercessors (from which the viewer's roles are worked out, once: no rule
# asks "is this person assigned?" again); the story's page: 5 for everyone.
# The team adds the prayer log's page; a board reader instead asks once
# whether they may keep a journal. Opening a confidential request adds the
# access log's INSERT, and for a leader the log's page.
LEADER_DETAIL_QUERIES = 8
ASSIGNED_DETAIL_QUERIES = 7
BOARD_DETAIL_QUERIES = 6


def grow(prayer_request: PrayerRequest, count: int, *, leader, intercessor) -> None:
    for number in range(count):
        services.post_update(prayer_request, actor=leader, note=f"update {number}", visibility=Visibility.TEAM)
        services.log_prayer(prayer_request, intercessor=intercessor, minutes=number)


@pytest.mark.parametrize(
    ("persona", "confidential", "queries"),
    [
        ("leader", True, LEADER_DETAIL_QUERIES),
        ("assigned_intercessor", True, ASSIGNED_DETAIL_QUERIES),
        ("other_intercessor", False, BOARD_DETAIL_QUERIES),
    ],
)
@pytest.mark.parametrize("rows", [5, 50])
def test_it_shows_the_page_in_a_constant_number_of_queries(
    client,
    request,
    request_in,
    leader,
    assigned_intercessor,
    django_assert_num_queries,
    persona,
    confidential,
    queries,
    rows,
):
    prayer_request = request_in(S.INTERCEDING, confidential=confidential)
    grow(prayer_request, rows, leader=leader, intercessor=assigned_intercessor)
    log_in(client, request, persona)

    with django_assert_num_queries(queries):
        response = client.get(detail_url(prayer_request))

    assert response.status_code == 200


def test_it_pages_a_long_story(client, request_in, leader, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    grow(prayer_request, 30, leader=leader, intercessor=assigned_intercessor)
    client.force_login(leader)

    first = client.get(detail_url(prayer_request))
    second = client.get(detail_url(prayer_request), {"story": 2, "prayers": 2})

    assert len(first.context["story"]["page"].object_list) == 25
    assert "story=2" in first.context["story"]["next_url"]
    assert second.context["story"]["page"].number == 2
    assert second.context["prayers"]["page"].number == 2
    assert "update 29" in second.content.decode()


def test_it_survives_junk_page_numbers(client, request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)

    response = client.get(detail_url(prayer_request), {"story": "abc", "prayers": "-3"})

    assert response.status_code == 200


# --- assign ----------------------------------------------------------------


def assign_url(prayer_request: PrayerRequest) -> str:
    return reverse("request_assign", args=[prayer_request.pk])


def test_it_lists_the_best_fit_first(client, request_in, leader):
    """Among those who can take it, the one drawn to its kind comes first."""
    prayer_request = request_in(S.NEW)  # category health
    busy = make_user("aquila", roles.INTERCESSORS, first_name="Aquila", capacity=3)
    IntercessorProfile.objects.filter(user=busy).update(preferred_categories=[Category.HEALTH])
    drawn_but_away = make_user("priscilla", roles.INTERCESSORS, first_name="Priscilla", available=False)
    IntercessorProfile.objects.filter(user=drawn_but_away).update(preferred_categories=[Category.HEALTH])
    free = make_user("tabitha", roles.INTERCESSORS, first_name="Tabitha")
    idle = make_user("zenas", roles.INTERCESSORS, first_name="Zenas")
    drawn_with_room = make_user("phoebe", roles.INTERCESSORS, first_name="Phoebe")
    IntercessorProfile.objects.filter(user=drawn_with_room).update(preferred_categories=[Category.HEALTH])
    services.assign(submit(title="phoebe's one"), [drawn_with_room], by=leader)
    for number in range(2):
        other = submit(title=f"other {number}")
        services.assign(other, [busy, free], by=leader)
    services.assign(submit(title="one more"), [busy], by=leader)
    client.force_login(leader)

    response = client.get(assign_url(prayer_request))

    order = [row.username for row in response.context["rows"]]
    # Who can take it first: available, with room; drawn to health, then less load.
    assert order.index("phoebe") < order.index("zenas") < order.index("tabitha")
    # Then those who cannot: full (though drawn to health), away.
    assert order.index("tabitha") < order.index("aquila")
    assert order.index("tabitha") < order.index("priscilla")
    content = response.content.decode()
    assert "carries 3 of 3" in content
    assert "not available" in content
    assert "Prefers: Health" in content
    assert "never" in content
    assert idle.pk in {row.pk for row in response.context["rows"]}


def test_it_shows_who_is_already_assigned_as_not_selectable(client, request_in, leader, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)

    response = client.get(assign_url(prayer_request))

    content = response.content.decode()
    assert f'value="{assigned_intercessor.pk}"' not in content
    assert str(assigned_intercessor.pk) not in dict(response.context["form"].fields["intercessors"].choices)
    assert "Assigned" in content


def test_it_assigns_and_begins_intercession(client, request_in, leader, other_intercessor, newcomer):
    prayer_request = request_in(S.NEW)
    client.force_login(leader)

    response = client.post(assign_url(prayer_request), {"intercessors": [other_intercessor.pk, newcomer.pk]})

    assert response.status_code == 302
    assert response.url == detail_url(prayer_request)
    assert set(prayer_request.assignments.active().values_list("intercessor", flat=True)) == {
        other_intercessor.pk,
        newcomer.pk,
    }
    assert PrayerRequest.objects.get(pk=prayer_request.pk).status == S.INTERCEDING
    assert flashed(response) == [f"2 intercessors are now standing in the gap for request #{prayer_request.pk}."]


@pytest.mark.parametrize(
    ("make_refused", "message"),
    [
        (lambda: make_user("full", roles.INTERCESSORS, first_name="Full", capacity=0), "already carrying 0 of 0"),
        (lambda: make_user("away", roles.INTERCESSORS, first_name="Away", available=False), "is not available"),
    ],
    ids=["over capacity", "unavailable"],
)
def test_it_refuses_an_assignment_all_or_nothing(client, request_in, leader, newcomer, make_refused, message):
    prayer_request = request_in(S.NEW)
    refused = make_refused()
    client.force_login(leader)
    before = written(prayer_request)

    response = client.post(assign_url(prayer_request), {"intercessors": [newcomer.pk, refused.pk]})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert any(message in error for error in response.context["form"].non_field_errors())
    assert written(prayer_request) == before


@pytest.mark.parametrize(
    "chosen",
    [[], ["987654"], ["abc"], ["-1"]],
    ids=["nobody", "unknown id", "junk", "negative"],
)
def test_it_refuses_junk_choices(client, request_in, leader, chosen):
    prayer_request = request_in(S.NEW)
    client.force_login(leader)
    before = written(prayer_request)

    response = client.post(assign_url(prayer_request), {"intercessors": chosen})

    assert response.status_code == 200
    assert response.context["form"].errors["intercessors"]
    assert written(prayer_request) == before


def test_it_refuses_someone_already_assigned(client, request_in, leader, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)
    before = written(prayer_request)

    response = client.post(assign_url(prayer_request), {"intercessors": [assigned_intercessor.pk]})

    assert response.status_code == 200
    assert response.context["form"].errors["intercessors"]
    assert written(prayer_request) == before


def test_it_refuses_a_non_intercessor(client, request_in, leader, superuser):
    prayer_request = request_in(S.NEW)
    client.force_login(leader)
    before = written(prayer_request)

    response = client.post(assign_url(prayer_request), {"intercessors": [superuser.pk]})

    assert response.status_code == 200
    assert written(prayer_request) == before


@pytest.mark.parametrize("status", [S.ANSWERED, S.CLOSED])
def test_it_forbids_assigning_to_a_request_that_is_not_open(client, request_in, leader, newcomer, status):
    prayer_request = request_in(status)
    client.force_login(leader)
    before = written(prayer_request)

    assert client.get(assign_url(prayer_request)).status_code == 403
    assert client.post(assign_url(prayer_request), {"intercessors": [newcomer.pk]}).status_code == 403
    assert written(prayer_request) == before


# --- move ------------------------------------------------------------------


def move(client, prayer_request, **data):
    return client.post(reverse("request_move", args=[prayer_request.pk]), data)


def test_it_moves_with_a_note_for_the_requester(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)

    response = move(client, prayer_request, to_status=S.BREAKTHROUGH, note="Peace", visibility=Visibility.REQUESTER)

    assert response.status_code == 302
    assert response.url == detail_url(prayer_request)
    entry = prayer_request.updates.latest("pk")
    assert (entry.from_status, entry.to_status, entry.note, entry.visibility) == (
        S.INTERCEDING,
        S.BREAKTHROUGH,
        "Peace",
        Visibility.REQUESTER,
    )
    assert PrayerRequest.objects.get(pk=prayer_request.pk).breakthrough_at is not None
    assert flashed(response) == [
        f"Request #{prayer_request.pk} is now “Breakthrough in the spirit — awaiting manifestation”."
    ]


def test_it_forbids_an_assigned_intercessor_to_close(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)
    before = written(prayer_request)

    response = move(client, prayer_request, to_status=S.CLOSED, visibility=Visibility.TEAM)

    assert response.status_code == 403
    assert written(prayer_request) == before


@pytest.mark.parametrize(
    ("status", "to_status", "message"),
    [
        (S.INTERCEDING, S.INTERCEDING, "cannot be moved"),
        (S.NEW, S.INTERCEDING, "assign someone instead"),
        (S.ANSWERED, S.BREAKTHROUGH, "cannot be moved"),
    ],
)
def test_it_explains_a_move_the_table_does_not_have(client, request_in, leader, status, to_status, message):
    prayer_request = request_in(status)
    client.force_login(leader)
    before = written(prayer_request)

    response = move(client, prayer_request, to_status=to_status, visibility=Visibility.TEAM)

    assert response.status_code == 302
    assert response.url == detail_url(prayer_request)
    assert any(message in text for text in flashed(response))
    assert written(prayer_request) == before


@pytest.mark.parametrize(
    "data",
    [
        {"to_status": "bogus", "visibility": Visibility.TEAM},
        {"visibility": Visibility.TEAM},
        {"to_status": S.BREAKTHROUGH, "visibility": "bogus"},
        {"to_status": S.BREAKTHROUGH, "visibility": Visibility.PRIVATE},
        {"to_status": S.BREAKTHROUGH, "visibility": Visibility.TEAM, "note": "x" * 4001},
    ],
    ids=["unknown status", "no status", "unknown visibility", "private move", "over-long note"],
)
def test_it_refuses_a_junk_move(client, request_in, leader, data):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)
    before = written(prayer_request)

    response = move(client, prayer_request, **data)

    assert response.status_code == 302
    assert response.url == detail_url(prayer_request)
    assert flashed(response)
    assert written(prayer_request) == before


# --- update ----------------------------------------------------------------


def post_update(client, prayer_request, **data):
    return client.post(reverse("request_update", args=[prayer_request.pk]), data)


def test_it_posts_a_team_update(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)

    response = post_update(client, prayer_request, note="Slept well", visibility=Visibility.TEAM)

    assert response.status_code == 302
    entry = prayer_request.updates.latest("pk")
    assert (entry.author, entry.note, entry.visibility) == (assigned_intercessor, "Slept well", Visibility.TEAM)
    assert flashed(response) == ["Update posted."]


def test_a_board_reader_keeps_a_private_journal(client, request_in, other_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    client.force_login(other_intercessor)

    response = post_update(client, prayer_request, note="My own words", visibility=Visibility.PRIVATE)

    assert response.status_code == 302
    assert prayer_request.updates.latest("pk").visibility == Visibility.PRIVATE
    assert flashed(response) == ["Kept in your private journal."]


@pytest.mark.parametrize("visibility", [Visibility.TEAM, Visibility.REQUESTER])
def test_a_board_reader_may_not_write_to_the_team(client, request_in, other_intercessor, visibility):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    client.force_login(other_intercessor)
    before = written(prayer_request)

    response = post_update(client, prayer_request, note="Hello", visibility=visibility)

    assert response.status_code == 403
    assert written(prayer_request) == before


@pytest.mark.parametrize(
    "data",
    [
        {"note": "", "visibility": Visibility.TEAM},
        {"note": "   ", "visibility": Visibility.TEAM},
        {"visibility": Visibility.TEAM},
        {"note": "x" * 4001, "visibility": Visibility.TEAM},
        {"note": "Hello", "visibility": "bogus"},
        {"note": "Hello"},
    ],
    ids=["empty", "blank", "missing", "over-long", "unknown visibility", "no visibility"],
)
def test_it_refuses_a_junk_update(client, request_in, leader, data):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)
    before = written(prayer_request)

    response = post_update(client, prayer_request, **data)

    assert response.status_code == 302
    assert flashed(response)
    assert written(prayer_request) == before


# --- pray ------------------------------------------------------------------


def pray(client, prayer_request, **data):
    return client.post(reverse("request_pray", args=[prayer_request.pk]), data)


def test_it_logs_a_prayer(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)

    response = pray(client, prayer_request, minutes="15", fasted="on", note="Psalm 91", submission_key="abc")

    assert response.status_code == 302
    assert response.url == detail_url(prayer_request)
    log = PrayerLog.objects.get()
    assert (log.intercessor, log.minutes, log.fasted, log.note) == (assigned_intercessor, 15, True, "Psalm 91")
    assert flashed(response) == ["Prayer logged — thank you for standing in the gap."]


def test_it_logs_a_prayer_with_nothing_but_the_tap(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)

    response = pray(client, prayer_request)

    assert response.status_code == 302
    assert PrayerLog.objects.get().minutes is None


def test_a_double_submit_logs_once(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)

    first = pray(client, prayer_request, minutes="5", submission_key="same-form")
    second = pray(client, prayer_request, minutes="5", submission_key="same-form")

    assert first.status_code == second.status_code == 302
    assert PrayerLog.objects.count() == 1


def test_the_rendered_form_logs_once_when_sent_twice(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)
    content = client.get(detail_url(prayer_request)).content.decode()
    key = re.search(r'name="submission_key" value="([^"]+)"', content).group(1)

    pray(client, prayer_request, submission_key=key)
    pray(client, prayer_request, submission_key=key)

    assert PrayerLog.objects.count() == 1


# Off-site, scheme-relative, backslashed, not a path (redirect() would take a
# word for a URL name and fail after saving), a path we do not serve, and
# characters that have no place in one.
HOSTILE_NEXTS = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "javascript:alert(1)",
    "http://testserver.evil/",
    "home-page",
    "request_detail",
    "🙏",
    "=1+1",
    "\x00",
    "' OR 1=1 --",
    "/no/such/page/",
    "/mine/\n",
    "/mine/\u202e",
    "/" + "a" * 3000,
]


@pytest.mark.parametrize("next_url", HOSTILE_NEXTS)
def test_it_ignores_an_unsafe_next_and_the_prayer_is_saved_once(client, request_in, leader, next_url):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)

    response = pray(client, prayer_request, minutes="5", next=next_url)

    assert response.status_code == 302
    assert response.url == detail_url(prayer_request)
    assert PrayerLog.objects.filter(prayer_request=prayer_request, minutes=5).count() == 1


def test_it_follows_a_safe_next(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)

    response = pray(client, prayer_request, next="/mine/?page=2")

    assert response.url == "/mine/?page=2"


@pytest.mark.parametrize(
    "data",
    [
        {"minutes": "-5"},
        {"minutes": "abc"},
        {"minutes": "1441"},
        {"minutes": "1e3"},
        {"note": "x" * 2001},
        {"submission_key": "k" * 65},
    ],
    ids=["negative", "words", "over a day", "exponent", "over-long note", "over-long key"],
)
def test_it_refuses_junk_prayer_logs(client, request_in, assigned_intercessor, data):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)
    before = written(prayer_request)

    response = pray(client, prayer_request, **data)

    assert response.status_code == 302
    assert flashed(response)
    assert written(prayer_request) == before


@pytest.mark.parametrize("status", [S.ANSWERED, S.CLOSED])
def test_it_forbids_praying_for_a_request_no_longer_carried(client, request_in, leader, status):
    prayer_request = request_in(status)
    client.force_login(leader)

    response = pray(client, prayer_request)

    assert response.status_code == 403
    assert PrayerLog.objects.count() == 0


# --- make confidential -----------------------------------------------------


def test_it_makes_a_request_confidential(client, request_in, leader, other_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    client.force_login(leader)

    response = client.post(reverse("request_confidential", args=[prayer_request.pk]))

    assert response.status_code == 302
    assert PrayerRequest.objects.get(pk=prayer_request.pk).is_confidential
    client.force_login(other_intercessor)
    assert client.get(detail_url(prayer_request)).status_code == 404


def test_it_explains_that_a_confidential_request_is_already_so(client, request_in, leader):
    prayer_request = request_in(S.INTERCEDING, confidential=True)
    client.force_login(leader)
    before = written(prayer_request)

    response = client.post(reverse("request_confidential", args=[prayer_request.pk]))

    assert response.status_code == 302
    assert flashed(response) == ["Nothing to change."]
    assert written(prayer_request) == before


# --- release ---------------------------------------------------------------


def release(client, assignment, **data):
    return client.post(reverse("assignment_release", args=[assignment.pk]), data)


def test_a_leader_releases_an_intercessor(client, request_in, leader, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    assignment = active_assignment(prayer_request, assigned_intercessor)
    client.force_login(leader)

    response = release(client, assignment, note="Resting")

    assert response.status_code == 302
    assert response.url == detail_url(prayer_request)
    assignment.refresh_from_db()
    assert assignment.released_by == leader
    assert prayer_request.updates.latest("pk").note == "Resting"
    assert flashed(response) == [f"Anna is released from request #{prayer_request.pk}."]


def test_an_intercessor_releasing_a_confidential_request_goes_to_their_assignments(
    client, request_in, assigned_intercessor
):
    prayer_request = request_in(S.INTERCEDING, confidential=True)
    client.force_login(assigned_intercessor)

    response = release(client, active_assignment(prayer_request, assigned_intercessor), note="I can't")

    assert response.status_code == 302
    assert response.url == reverse("my_assignments")
    assert client.get(detail_url(prayer_request)).status_code == 404
    assert TITLE not in " ".join(flashed(response))


def test_an_intercessor_releasing_a_public_request_stays_on_it(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    client.force_login(assigned_intercessor)

    response = release(client, active_assignment(prayer_request, assigned_intercessor))

    assert response.url == detail_url(prayer_request)
    assert not Assignment.objects.active().filter(intercessor=assigned_intercessor).exists()


@pytest.mark.parametrize("next_url", HOSTILE_NEXTS)
def test_it_ignores_an_unsafe_next_after_a_release(client, request_in, leader, assigned_intercessor, next_url):
    prayer_request = request_in(S.INTERCEDING)
    assignment = prayer_request.assignments.get(intercessor=assigned_intercessor, released_at__isnull=True)
    client.force_login(leader)

    response = client.post(reverse("assignment_release", args=[assignment.pk]), {"next": next_url})

    assert response.status_code == 302
    assert response.url == detail_url(prayer_request)
    assignment.refresh_from_db()
    assert assignment.released_at is not None


def test_it_returns_to_a_safe_next_after_a_release(client, request_in, leader, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)
    assign_page = assign_url(prayer_request)

    response = release(client, active_assignment(prayer_request, assigned_intercessor), next=assign_page)
    unsafe = release(client, prayer_request.assignments.first(), next="https://evil.example/")

    assert response.url == assign_page
    assert unsafe.url == detail_url(prayer_request)


def test_it_explains_an_assignment_already_released(client, request_in, leader, released_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    assignment = prayer_request.assignments.get(intercessor=released_intercessor)
    client.force_login(leader)
    before = written(prayer_request)

    response = release(client, assignment)

    assert response.status_code == 302
    assert flashed(response) == ["This assignment was already released."]
    assert written(prayer_request) == before


def test_a_released_intercessor_cannot_release_again_on_the_board(client, request_in, released_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    assignment = prayer_request.assignments.get(intercessor=released_intercessor)
    client.force_login(released_intercessor)
    before = written(prayer_request)

    response = release(client, assignment)

    assert response.status_code == 302
    assert written(prayer_request) == before


def test_it_refuses_an_over_long_release_note(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)
    before = written(prayer_request)

    response = release(client, active_assignment(prayer_request, assigned_intercessor), note="x" * 2001)

    assert response.status_code == 302
    assert flashed(response)
    assert written(prayer_request) == before


# --- reassign --------------------------------------------------------------


def reassign_url(assignment: Assignment) -> str:
    return reverse("assignment_reassign", args=[assignment.pk])


def test_it_offers_everyone_not_already_assigned(client, request_in, leader, assigned_intercessor, newcomer):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)

    response = client.get(reassign_url(active_assignment(prayer_request, assigned_intercessor)))

    choices = dict(response.context["form"].fields["intercessor"].choices)
    assert str(newcomer.pk) in choices
    assert str(assigned_intercessor.pk) not in choices
    assert "Anna will be released" in response.content.decode()


def test_it_reassigns(client, request_in, leader, assigned_intercessor, newcomer):
    prayer_request = request_in(S.INTERCEDING)
    assignment = active_assignment(prayer_request, assigned_intercessor)
    client.force_login(leader)

    response = client.post(reassign_url(assignment), {"intercessor": newcomer.pk, "note": "Handing over"})

    assert response.status_code == 302
    assert response.url == detail_url(prayer_request)
    assignment.refresh_from_db()
    assert assignment.released_at is not None
    assert active_assignment(prayer_request, newcomer)


def test_it_refuses_a_reassignment_to_someone_unavailable(client, request_in, leader, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    away = make_user("away", roles.INTERCESSORS, first_name="Away", available=False)
    client.force_login(leader)
    before = written(prayer_request)

    response = client.post(
        reassign_url(active_assignment(prayer_request, assigned_intercessor)), {"intercessor": away.pk}
    )

    assert response.status_code == 200
    assert "Away is not available for new assignments." in response.content.decode()
    assert written(prayer_request) == before
    assert active_assignment(prayer_request, assigned_intercessor)


@pytest.mark.parametrize(
    "data",
    [{}, {"intercessor": "987654"}, {"intercessor": "abc"}, {"intercessor": "1", "note": "x" * 2001}],
    ids=["nobody", "unknown", "junk", "over-long note"],
)
def test_it_refuses_a_junk_reassignment(client, request_in, leader, assigned_intercessor, data):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)
    before = written(prayer_request)

    response = client.post(reassign_url(active_assignment(prayer_request, assigned_intercessor)), data)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert written(prayer_request) == before


def test_it_sends_a_reassignment_of_a_released_assignment_back(client, request_in, leader, released_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)

    response = client.get(reassign_url(prayer_request.assignments.get(intercessor=released_intercessor)))

    assert response.status_code == 302
    assert flashed(response) == ["This assignment was already released."]


# --- confidential text stays out of messages and URLs ---------------------


def test_no_message_or_redirect_carries_the_request_text(client, titled_in, leader, assigned_intercessor, newcomer):
    prayer_request = titled_in(S.INTERCEDING, confidential=True)
    client.force_login(leader)
    responses = [
        client.post(assign_url(prayer_request), {"intercessors": [newcomer.pk]}),
        move(client, prayer_request, to_status=S.BREAKTHROUGH, visibility=Visibility.TEAM),
        post_update(client, prayer_request, note="n", visibility=Visibility.TEAM),
        pray(client, prayer_request),
        release(client, active_assignment(prayer_request, assigned_intercessor)),
    ]

    for response in responses:
        assert TITLE not in response.url
        assert not any(secret in " ".join(flashed(response)) for secret in (TITLE, "M. K.", "Martha"))


def test_it_dates_entries_with_time_elements(client, storied, leader):
    StatusUpdate.objects.filter(prayer_request=storied).update(created_at=timezone.now() - timedelta(days=3))
    client.force_login(leader)

    content = client.get(detail_url(storied)).content.decode()

    assert re.search(r'<time class="small text-body-secondary" datetime="\d{4}-\d\d-\d\dT', content)
