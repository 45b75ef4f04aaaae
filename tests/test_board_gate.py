"""
The team board's triage gate and flags (issue 13; PRODUCT.md, "Who sees
what"): a new request reaches the team board and the prayer sheet only once
a leader has looked at it (assigned it, or "Share with the team"); until
then only leaders see it. An intercessor who sees a request on the board may
flag it as unsuitable: it leaves the board at once, for everyone but the
leaders and its assigned intercessors, until a leader returns it or keeps it
off. Every step is in the request's story; a flag's reason is encrypted and
for the leaders only.
"""

import importlib

import pytest
from conftest import make_user, submit
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from requests_app import roles, services
from requests_app.exceptions import IntercessionError, NotAllowed
from requests_app.models import (
    HeldNotification,
    NotificationPreferences,
    OutboxMessage,
    PrayerRequest,
    Status,
    StatusUpdate,
    UpdateKind,
)
from requests_app.rules import Requester
from requests_app.views.lists import BOARD_ORDER

S = Status
BOARD, SHEET, TRIAGE, MINE = reverse("board"), reverse("prayer_sheet"), reverse("triage"), reverse("my_assignments")
REASON = "Reason-Fq8Zt: names a child"
TEAM_PERSONAS = ["leader", "assigned_intercessor", "other_intercessor", "released_intercessor"]
EVERY_PERSONA = [*TEAM_PERSONAS, "superuser", "anonymous", "requester"]


def detail(prayer_request) -> str:
    return reverse("request_detail", args=[prayer_request.pk])


def board_ids(client) -> list[int]:
    return [prayer_request.pk for prayer_request in client.get(BOARD).context["page"].object_list]


def sheet_ids(client) -> list[int]:
    return [pr.pk for _category, requests in client.get(SHEET).context["categories"] for pr in requests]


def visible_to(user, prayer_request) -> bool:
    return PrayerRequest.objects.visible_to(user).filter(pk=prayer_request.pk).exists()


def state(prayer_request) -> tuple:
    """What the gate changes: the request's row and its story's length."""
    row = PrayerRequest.objects.values_list("status", "is_confidential", "shared_with_team_at", "flagged_at").get(
        pk=prayer_request.pk
    )
    return row, StatusUpdate.objects.filter(prayer_request=prayer_request).count()


def story_kinds(prayer_request) -> list[str]:
    return list(prayer_request.updates.order_by("created_at", "pk").values_list("kind", flat=True))


@pytest.fixture
def client_as(client, request):
    """`client_as(persona)`: the test client logged in as that persona (the
    anonymous and the requester, who have no account, stay logged out)."""

    def log_in(persona: str):
        if persona not in ("anonymous", "requester"):
            client.force_login(request.getfixturevalue(persona))
        return client

    return log_in


@pytest.fixture
def fresh(db):
    """A new, public request nobody has looked at yet."""
    return submit(confidential=False, title="Fresh-public-Rq3")


@pytest.fixture
def on_board(leader, fresh):
    """The fresh request, shared with the team by a leader."""
    services.share_with_team(fresh, by=leader)
    return fresh


# --- A new request waits for a leader ---------------------------------------------


@pytest.mark.parametrize("persona", EVERY_PERSONA)
def test_it_keeps_a_new_public_request_off_the_board_until_a_leader_shares_it(
    request, client_as, leader, fresh, persona
):
    client = client_as(persona)
    user = request.getfixturevalue(persona) if persona != "requester" else Requester(fresh.pk)

    # Leaders see it, on triage and its page, but not on the board or the sheet.
    assert visible_to(user, fresh) is (persona == "leader")
    if persona in TEAM_PERSONAS:
        assert fresh.pk not in board_ids(client)
        assert client.get(detail(fresh)).status_code == (200 if persona == "leader" else 404)
    if persona == "leader":
        assert fresh.pk not in sheet_ids(client)
        assert fresh.pk in [pr.pk for pr in client.get(TRIAGE).context["page"].object_list]

    services.share_with_team(fresh, by=leader)

    # Now the whole team has it; outside the team nobody does.
    assert visible_to(user, fresh) is (persona in TEAM_PERSONAS)
    if persona in TEAM_PERSONAS:
        assert fresh.pk in board_ids(client)
        assert client.get(detail(fresh)).status_code == 200
    if persona == "leader":
        assert fresh.pk in sheet_ids(client)
    if persona in ("superuser", "anonymous", "requester"):
        assert client.get(BOARD).status_code in (302, 403)
        assert client.get(detail(fresh)).status_code in (302, 404)


def test_it_shares_a_request_with_the_team_when_a_leader_assigns_it(
    client, leader, assigned_intercessor, other_intercessor, fresh
):
    client.force_login(other_intercessor)
    assert fresh.pk not in board_ids(client)

    services.assign(fresh, [assigned_intercessor], by=leader)

    fresh.refresh_from_db()
    assert fresh.shared_with_team_at is not None
    assert fresh.pk in board_ids(client)


def test_it_keeps_a_confidential_request_off_the_board_even_once_assigned(
    client, leader, assigned_intercessor, other_intercessor
):
    secret = submit(confidential=True)
    services.assign(secret, [assigned_intercessor], by=leader)

    client.force_login(other_intercessor)
    assert secret.pk not in board_ids(client)
    assert client.get(detail(secret)).status_code == 404
    client.force_login(assigned_intercessor)
    assert secret.pk not in board_ids(client)
    assert secret.pk in [pr.pk for pr in client.get(MINE).context["page"].object_list]


def test_it_shows_the_leader_a_share_button_on_triage_and_the_request_page(client, leader, fresh):
    client.force_login(leader)
    share = f'action="{reverse("request_share", args=[fresh.pk])}"'

    assert share in client.get(TRIAGE).content.decode()
    page = client.get(detail(fresh)).content.decode()
    assert share in page
    assert "Not shared with the team yet" in page

    response = client.post(reverse("request_share", args=[fresh.pk]), {"next": TRIAGE})

    assert response.status_code == 302
    assert response["Location"] == TRIAGE
    assert share not in client.get(TRIAGE).content.decode()
    assert story_kinds(fresh)[-1] == UpdateKind.SHARED
    assert "Shared with the team" in client.get(detail(fresh)).content.decode()


# --- Sharing is a leader's ---------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        # The new request is out of their sight: 404, as if it were not there.
        ("assigned_intercessor", 404),
        ("other_intercessor", 404),
        ("released_intercessor", 404),
        ("superuser", 404),
        ("anonymous", 302),
        ("requester", 302),
    ],
)
def test_it_lets_only_a_leader_share(client_as, fresh, persona, expected):
    client = client_as(persona)
    before = state(fresh)

    response = client.post(reverse("request_share", args=[fresh.pk]))

    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith(reverse("login"))
    assert state(fresh) == before


@pytest.mark.parametrize("action", ["request_share", "request_keep_off_board"])
def test_it_answers_403_to_an_intercessor_who_sees_the_request(client, on_board, other_intercessor, action):
    client.force_login(other_intercessor)
    before = state(on_board)

    assert client.post(reverse(action, args=[on_board.pk])).status_code == 403
    assert state(on_board) == before


def test_it_refuses_the_services_to_anyone_but_a_leader(fresh, assigned_intercessor, superuser):
    for actor in (assigned_intercessor, superuser, Requester(fresh.pk)):
        with pytest.raises(NotAllowed):
            services.share_with_team(fresh, by=actor)
        with pytest.raises(NotAllowed):
            services.keep_off_board(fresh, by=actor)
    assert state(fresh)[0][2:] == (None, None)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: submit(confidential=True), "A confidential request is never on the team board"),
        (lambda: submit(confidential=False), "already on the team board"),
    ],
    ids=["confidential", "already shared"],
)
def test_it_refuses_to_share_what_cannot_go_on_the_board_and_says_why(client, leader, make, message):
    prayer_request = make()
    if "already" in message:
        services.share_with_team(prayer_request, by=leader)
    client.force_login(leader)
    before = state(prayer_request)

    response = client.post(reverse("request_share", args=[prayer_request.pk]), follow=True)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert state(prayer_request) == before


def test_it_refuses_to_share_a_closed_request(leader, fresh):
    services.move(fresh, S.CLOSED, actor=leader)

    with pytest.raises(IntercessionError):
        services.share_with_team(fresh, by=leader)
    assert PrayerRequest.objects.get(pk=fresh.pk).shared_with_team_at is None


# --- Flagging ------------------------------------------------------------------------


def test_it_takes_a_flagged_request_off_the_board_at_once(
    client, leader, assigned_intercessor, other_intercessor, released_intercessor, on_board
):
    services.assign(on_board, [assigned_intercessor], by=leader)
    client.force_login(other_intercessor)

    response = client.post(reverse("request_flag", args=[on_board.pk]), {"reason": REASON})

    # Out of her sight now: she goes back to the board, which no longer has it.
    assert response.status_code == 302
    assert response["Location"] == BOARD
    assert on_board.pk not in board_ids(client)
    assert client.get(detail(on_board)).status_code == 404
    client.force_login(released_intercessor)
    assert on_board.pk not in board_ids(client)
    assert not visible_to(released_intercessor, on_board)
    # Its intercessor keeps carrying it, off the board.
    client.force_login(assigned_intercessor)
    assert on_board.pk not in board_ids(client)
    assert client.get(detail(on_board)).status_code == 200
    assert on_board.pk in [pr.pk for pr in client.get(MINE).context["page"].object_list]
    # Nor is it on the leaders' board or sheet: it waits on triage.
    client.force_login(leader)
    assert on_board.pk not in board_ids(client)
    assert on_board.pk not in sheet_ids(client)
    flagged = client.get(TRIAGE)
    assert [pr.pk for pr in flagged.context["flagged"]] == [on_board.pk]
    assert "Flagged by the team" in flagged.content.decode()
    assert REASON in flagged.content.decode()


def test_it_lets_an_assigned_intercessor_flag_and_keep_the_request(client, leader, assigned_intercessor, on_board):
    services.assign(on_board, [assigned_intercessor], by=leader)
    client.force_login(assigned_intercessor)

    response = client.post(reverse("request_flag", args=[on_board.pk]), {"reason": ""})

    assert response["Location"] == detail(on_board)
    page = client.get(detail(on_board)).content.decode()
    assert "Flagged: off the team board until a leader has looked at it." in page
    # Flagged once is enough: a second flag says so and changes nothing.
    before = state(on_board)
    again = client.post(reverse("request_flag", args=[on_board.pk]), follow=True)
    assert "already flagged" in again.content.decode()
    assert state(on_board) == before


@pytest.mark.parametrize(
    ("persona", "which", "expected"),
    [
        # A leader reviews flags; taking a request off is their own button.
        ("leader", "on board", 403),
        # Out of sight: not shared yet, confidential, or someone else's.
        ("other_intercessor", "not shared", 404),
        ("other_intercessor", "confidential", 404),
        ("superuser", "on board", 404),
        ("anonymous", "on board", 302),
        ("requester", "on board", 302),
        # Seen, but not on the board: a confidential request one carries.
        ("assigned_intercessor", "confidential", 403),
    ],
)
def test_it_lets_only_an_intercessor_who_sees_it_on_the_board_flag_it(
    client_as, leader, assigned_intercessor, fresh, persona, which, expected
):
    if which == "on board":
        services.share_with_team(fresh, by=leader)
        target = fresh
    elif which == "confidential":
        target = submit(confidential=True)
        services.assign(target, [assigned_intercessor], by=leader)
    else:
        target = fresh
    client = client_as(persona)
    before = state(target)

    response = client.post(reverse("request_flag", args=[target.pk]), {"reason": REASON})

    assert response.status_code == expected
    assert state(target) == before
    assert not StatusUpdate.objects.filter(kind=UpdateKind.FLAGGED).exists()


def test_it_offers_the_flag_to_board_readers_only(client, leader, other_intercessor, on_board):
    flag = f'action="{reverse("request_flag", args=[on_board.pk])}"'
    client.force_login(other_intercessor)
    assert flag in client.get(detail(on_board)).content.decode()
    client.force_login(leader)
    assert flag not in client.get(detail(on_board)).content.decode()


def test_it_refuses_a_reason_too_long_and_changes_nothing(client, other_intercessor, on_board):
    client.force_login(other_intercessor)
    before = state(on_board)

    response = client.post(reverse("request_flag", args=[on_board.pk]), {"reason": "x" * 2001}, follow=True)

    assert response.status_code == 200
    assert "Keep it under 2000 characters" in response.content.decode()
    assert state(on_board) == before


def test_it_refuses_a_flag_once_the_request_became_confidential(leader, other_intercessor, on_board):
    stale = PrayerRequest.objects.get(pk=on_board.pk)
    services.set_confidential(on_board, True, actor=leader)

    with pytest.raises(NotAllowed):
        services.flag(stale, by=other_intercessor, reason=REASON)
    assert PrayerRequest.objects.get(pk=on_board.pk).flagged_at is None


def test_it_tells_the_leaders_by_e_mail_without_the_request_or_the_reason(
    django_capture_on_commit_callbacks, leader, other_intercessor, on_board
):
    leader.email = "lydia@example.org"
    leader.save()
    quiet = make_user("quentin", roles.LEADERS, email="quentin@example.org")
    NotificationPreferences.objects.create(user=quiet, new_requests=False)
    daily = make_user("dora", roles.LEADERS, email="dora@example.org")
    NotificationPreferences.objects.create(user=daily, delivery="daily")
    before = set(OutboxMessage.objects.values_list("pk", flat=True))

    with django_capture_on_commit_callbacks():
        services.flag(on_board, by=other_intercessor, reason=REASON)

    (message,) = OutboxMessage.objects.exclude(pk__in=before)
    assert (message.to, message.kind, message.prayer_request_id) == ("lydia@example.org", "flagged", on_board.pk)
    assert message.subject.endswith("A request on the team board was flagged for review")
    assert reverse("request_detail", args=[on_board.pk]) in message.body_text
    for secret in (on_board.title, on_board.for_whom, on_board.details, REASON, other_intercessor.username):
        assert secret not in message.subject + message.body_text + message.body_html
    # The leader who chose once a day finds it in her digest; the one who
    # turned new requests off, nowhere.
    (line,) = HeldNotification.objects.filter(kind="flagged")
    assert line.user == daily
    assert "flagged" in line.sentence
    assert REASON not in line.sentence


def test_it_sends_nothing_when_the_flag_is_refused(leader, other_intercessor, flagged):
    leader.email = "lydia@example.org"
    leader.save()
    before = OutboxMessage.objects.count()

    with pytest.raises(IntercessionError):
        services.flag(flagged, by=other_intercessor, reason="again")

    assert OutboxMessage.objects.count() == before


# --- The leader's review -------------------------------------------------------------


@pytest.fixture
def flagged(on_board, other_intercessor):
    services.flag(on_board, by=other_intercessor, reason=REASON)
    return on_board


def test_it_returns_a_flagged_request_to_the_board(client, leader, other_intercessor, flagged):
    client.force_login(leader)
    page = client.get(detail(flagged)).content.decode()
    assert "Return to the board" in page
    assert "Keep off the board" in page

    response = client.post(reverse("request_share", args=[flagged.pk]), {"next": TRIAGE})

    assert response["Location"] == TRIAGE
    assert client.get(TRIAGE).context["flagged"] == []
    assert flagged.pk in board_ids(client)
    client.force_login(other_intercessor)
    assert flagged.pk in board_ids(client)
    assert story_kinds(flagged)[-2:] == [UpdateKind.FLAGGED, UpdateKind.RETURNED_TO_BOARD]


def test_it_keeps_a_flagged_request_off_the_board(client, leader, assigned_intercessor, other_intercessor, flagged):
    services.assign(flagged, [assigned_intercessor], by=leader)
    client.force_login(leader)

    response = client.post(reverse("request_keep_off_board", args=[flagged.pk]), {"next": TRIAGE})

    assert response["Location"] == TRIAGE
    assert client.get(TRIAGE).context["flagged"] == []
    assert flagged.pk not in board_ids(client)
    assert not visible_to(other_intercessor, flagged)
    assert visible_to(assigned_intercessor, flagged)
    assert story_kinds(flagged)[-1] == UpdateKind.KEPT_OFF_BOARD
    # Shared again later, it is back.
    services.share_with_team(flagged, by=leader)
    assert visible_to(other_intercessor, flagged)


def test_it_ends_the_review_when_a_leader_makes_it_confidential(leader, other_intercessor, flagged):
    services.set_confidential(flagged, True, actor=leader)

    flagged.refresh_from_db()
    assert flagged.flagged_at is None
    assert not visible_to(other_intercessor, flagged)


def test_it_keeps_the_review_off_for_nothing_to_change(leader, fresh):
    with pytest.raises(IntercessionError):
        services.keep_off_board(fresh, by=leader)
    assert story_kinds(fresh) == [UpdateKind.SUBMITTED]


# --- The story -----------------------------------------------------------------------


def test_it_tells_the_story_and_keeps_the_reason_for_the_leaders(
    client, leader, assigned_intercessor, other_intercessor, flagged
):
    services.assign(flagged, [assigned_intercessor], by=leader)
    services.share_with_team(flagged, by=leader)
    entry = StatusUpdate.objects.get(prayer_request=flagged, kind=UpdateKind.FLAGGED)
    assert (entry.author, entry.note) == (other_intercessor, REASON)

    client.force_login(leader)
    as_leader = client.get(detail(flagged)).content.decode()
    for line in (
        "Shared with the team",
        "Flagged as unsuitable for the team board",
        "Reviewed: back on the team board",
    ):
        assert line in as_leader
    assert REASON in as_leader
    # The intercessors see that it was shared and reviewed, never the flag or its reason.
    client.force_login(assigned_intercessor)
    as_assigned = client.get(detail(flagged)).content.decode()
    assert "Reviewed: back on the team board" in as_assigned
    assert "Flagged as unsuitable" not in as_assigned
    assert REASON not in as_assigned
    client.force_login(other_intercessor)
    as_flagger = client.get(detail(flagged)).content.decode()
    assert REASON in as_flagger


def test_it_never_shows_the_requester_the_flag(client, leader, other_intercessor):
    prayer_request, token = services.submit_request(
        for_whom="R.", title="Followed", category="health", is_confidential=False
    )
    services.share_with_team(prayer_request, by=leader)
    services.flag(prayer_request, by=other_intercessor, reason=REASON)

    page = client.get(reverse("followup", args=[token])).content.decode()

    assert REASON not in page
    assert "Flagged" not in page


def test_it_stores_the_reason_encrypted(flagged):
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM requests_app_statusupdate WHERE kind = %s", [UpdateKind.FLAGGED.value])
        [(stored,)] = cursor.fetchall()

    assert stored
    assert "Fq8Zt" not in str(stored)
    assert StatusUpdate.objects.get(kind=UpdateKind.FLAGGED).note == REASON


# --- Existing databases ----------------------------------------------------------------


def test_the_migration_shares_what_a_leader_had_triaged(request_in, fresh):
    triaged = {status: request_in(status, confidential=False) for status in (S.INTERCEDING, S.ANSWERED, S.CLOSED)}
    PrayerRequest.objects.update(shared_with_team_at=None)
    migration = importlib.import_module("requests_app.migrations.0013_board_gate_and_flags")

    migration.share_the_triaged(apps, None)

    for prayer_request in triaged.values():
        stored = PrayerRequest.objects.get(pk=prayer_request.pk)
        assert stored.shared_with_team_at == stored.entered_intercession_at
    assert PrayerRequest.objects.get(pk=fresh.pk).shared_with_team_at is None


def test_the_board_is_one_seek_into_its_index_on_postgres(on_postgres, other_intercessor):
    for number in range(30):
        prayer_request = submit(confidential=number % 3 == 0, title=f"Row {number}")
        if number % 2 == 0:
            PrayerRequest.objects.filter(pk=prayer_request.pk).update(shared_with_team_at=timezone.now())
    board = PrayerRequest.objects.visible_to(other_intercessor).on_board().order_by(*BOARD_ORDER.order_by())
    with connection.cursor() as cursor:
        # A table this small is read whole otherwise: ask what it would seek.
        cursor.execute("SET enable_seqscan = off")
        try:
            plan = board[:25].explain()
        finally:
            cursor.execute("RESET enable_seqscan")

    assert "prayer_board_order" in plan


def test_it_lets_the_team_pray_for_a_new_request_once_shared(leader, other_intercessor, fresh):
    with pytest.raises(NotAllowed):
        services.log_prayer(fresh, intercessor=other_intercessor, minutes=5)

    services.share_with_team(fresh, by=leader)
    services.log_prayer(fresh, intercessor=other_intercessor, minutes=5)

    assert fresh.prayer_logs.get().intercessor == other_intercessor
