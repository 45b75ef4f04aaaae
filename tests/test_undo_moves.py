"""
Moves you can trust (issue 14): "Manifested" and "Close" are asked about
first, a move can be undone (its maker for ten minutes, a leader while it is
the latest), and the request page has one note form.

The undo's clock is the `now=` its service and rules are given, or a move's
`created_at` set back by the test: nothing here waits.
"""

import re
from datetime import timedelta
from functools import partial

import pytest
from conftest import bring_to, make_user, submit
from django.contrib.messages import get_messages
from django.urls import reverse

from requests_app import roles, rules, services
from requests_app.exceptions import IntercessionError, InvalidTransition, NotAllowed
from requests_app.models import Assignment, PrayerRequest, Status, StatusUpdate, UpdateKind, Visibility
from requests_app.rules import UNDO_WINDOW, Requester, UndoRefusal

S = Status


def fresh(prayer_request: PrayerRequest) -> PrayerRequest:
    return PrayerRequest.objects.get(pk=prayer_request.pk)


def written(prayer_request: PrayerRequest) -> dict:
    """What an undo or a move could change: a refusal leaves it alone."""
    row = fresh(prayer_request)
    return {
        "updates": StatusUpdate.objects.count(),
        "status": row.status,
        "dates": (row.breakthrough_at, row.answered_at, row.closed_at),
        "assignments": sorted(Assignment.objects.values_list("pk", "intercessor_id", "released_at")),
    }


def flashed(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def set_back(entry: StatusUpdate, by: timedelta) -> None:
    """Make a move look older than it is (the app never edits the story)."""
    StatusUpdate.objects.filter(pk=entry.pk).update(created_at=entry.created_at - by)
    entry.refresh_from_db()


def undo_url(prayer_request: PrayerRequest) -> str:
    return reverse("request_undo_move", args=[prayer_request.pk])


def move_url(prayer_request: PrayerRequest) -> str:
    return reverse("request_move", args=[prayer_request.pk])


def detail_url(prayer_request: PrayerRequest) -> str:
    return reverse("request_detail", args=[prayer_request.pk])


# --- the service ------------------------------------------------------------


def test_it_undoes_a_manifested_back_to_intercession(request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    assignments = sorted(Assignment.objects.values_list("pk", "intercessor_id", "released_at"))
    move = services.move(prayer_request, S.ANSWERED, actor=assigned_intercessor, visibility=Visibility.REQUESTER)

    undo = services.undo_move(prayer_request, move.pk, actor=assigned_intercessor)

    row = fresh(prayer_request)
    assert (row.status, row.answered_at) == (S.INTERCEDING, None)
    assert prayer_request.status == S.INTERCEDING
    assert (undo.kind, undo.from_status, undo.to_status, undo.author, undo.visibility) == (
        UpdateKind.UNDONE,
        S.ANSWERED,
        S.INTERCEDING,
        assigned_intercessor,
        Visibility.REQUESTER,
    )
    # Nobody reassigned or released; the move itself stays in the story.
    assert sorted(Assignment.objects.values_list("pk", "intercessor_id", "released_at")) == assignments
    assert StatusUpdate.objects.filter(pk=move.pk, kind=UpdateKind.MOVE).exists()


def test_it_gives_back_the_breakthrough_date_that_more_is_still_needed_cleared(request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    breakthrough = services.move(prayer_request, S.BREAKTHROUGH, actor=assigned_intercessor)
    more_needed = services.move(prayer_request, S.INTERCEDING, actor=assigned_intercessor)
    assert fresh(prayer_request).breakthrough_at is None

    services.undo_move(prayer_request, more_needed.pk, actor=assigned_intercessor)

    row = fresh(prayer_request)
    assert (row.status, row.breakthrough_at) == (S.BREAKTHROUGH, breakthrough.created_at)


def test_it_keeps_the_breakthrough_date_when_undoing_manifested_from_there(request_in, leader):
    prayer_request = request_in(S.BREAKTHROUGH)
    breakthrough_at = fresh(prayer_request).breakthrough_at
    move = services.move(prayer_request, S.ANSWERED, actor=leader)

    services.undo_move(prayer_request, move.pk, actor=leader)

    row = fresh(prayer_request)
    assert (row.status, row.breakthrough_at, row.answered_at) == (S.BREAKTHROUGH, breakthrough_at, None)


def test_it_undoes_a_reopen_with_the_dates_the_request_had(request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    breakthrough = services.move(prayer_request, S.BREAKTHROUGH, actor=leader)
    manifested = services.move(prayer_request, S.ANSWERED, actor=leader)
    reopen = services.move(prayer_request, S.INTERCEDING, actor=leader)

    services.undo_move(prayer_request, reopen.pk, actor=leader)

    # As the story dates them (the stage dates are written a moment before
    # their entries).
    row = fresh(prayer_request)
    assert (row.status, row.breakthrough_at, row.answered_at) == (
        S.ANSWERED,
        breakthrough.created_at,
        manifested.created_at,
    )


def test_it_replays_earlier_undos_to_find_the_dates(request_in, leader):
    """breakthrough, back, (undone), back again: undoing the second "back"
    gives the first breakthrough's date, not the undo's."""
    prayer_request = request_in(S.INTERCEDING)
    breakthrough = services.move(prayer_request, S.BREAKTHROUGH, actor=leader)
    back = services.move(prayer_request, S.INTERCEDING, actor=leader)
    services.undo_move(prayer_request, back.pk, actor=leader)
    back_again = services.move(prayer_request, S.INTERCEDING, actor=leader)

    services.undo_move(prayer_request, back_again.pk, actor=leader)

    assert fresh(prayer_request).breakthrough_at == breakthrough.created_at


def test_it_undoes_closing_a_new_request(leader):
    prayer_request = submit()
    close = services.move(prayer_request, S.CLOSED, actor=leader)

    services.undo_move(prayer_request, close.pk, actor=leader)

    row = fresh(prayer_request)
    assert (row.status, row.closed_at) == (S.NEW, None)


def test_it_lets_a_leader_undo_the_requesters_withdrawal(request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    withdrawal = services.move(prayer_request, S.CLOSED, actor=Requester(prayer_request.pk))
    set_back(withdrawal, timedelta(days=2))

    services.undo_move(prayer_request, withdrawal.pk, actor=leader)

    assert fresh(prayer_request).status == S.INTERCEDING


@pytest.mark.parametrize(
    ("after", "allowed"),
    [(timedelta(0), True), (UNDO_WINDOW, True), (UNDO_WINDOW + timedelta(seconds=1), False)],
    ids=["at once", "at ten minutes", "a second later"],
)
def test_it_gives_the_mover_ten_minutes(request_in, assigned_intercessor, after, allowed):
    prayer_request = request_in(S.INTERCEDING)
    move = services.move(prayer_request, S.BREAKTHROUGH, actor=assigned_intercessor)
    before = written(prayer_request)

    def undo():
        return services.undo_move(prayer_request, move.pk, actor=assigned_intercessor, now=move.created_at + after)

    if allowed:
        undo()
        assert fresh(prayer_request).status == S.INTERCEDING
    else:
        with pytest.raises(IntercessionError, match="Too late to undo") as refusal:
            undo()
        assert refusal.value.code == "too_late"
        assert written(prayer_request) == before


def test_it_lets_a_leader_undo_any_time(request_in, assigned_intercessor, leader):
    prayer_request = request_in(S.INTERCEDING)
    move = services.move(prayer_request, S.BREAKTHROUGH, actor=assigned_intercessor)

    services.undo_move(prayer_request, move.pk, actor=leader, now=move.created_at + timedelta(days=30))

    assert fresh(prayer_request).status == S.INTERCEDING


def test_it_refuses_someone_elses_move(request_in, assigned_intercessor, leader):
    prayer_request = request_in(S.INTERCEDING)
    move = services.move(prayer_request, S.BREAKTHROUGH, actor=leader)
    before = written(prayer_request)

    with pytest.raises(IntercessionError, match="Only the person who made this move") as refusal:
        services.undo_move(prayer_request, move.pk, actor=assigned_intercessor)

    assert refusal.value.code == "someone_else"
    assert written(prayer_request) == before


def test_it_refuses_the_requesters_move_to_an_intercessor(request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    praise = services.move(prayer_request, S.ANSWERED, actor=Requester(prayer_request.pk))
    before = written(prayer_request)

    with pytest.raises(IntercessionError) as refusal:
        services.undo_move(prayer_request, praise.pk, actor=assigned_intercessor)

    assert refusal.value.code == "someone_else"
    assert written(prayer_request) == before


def test_it_refuses_a_move_that_is_no_longer_the_latest(request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    first = services.move(prayer_request, S.BREAKTHROUGH, actor=leader)
    services.move(prayer_request, S.ANSWERED, actor=leader)
    before = written(prayer_request)

    with pytest.raises(IntercessionError, match="no longer the request's latest move") as refusal:
        services.undo_move(prayer_request, first.pk, actor=leader)

    assert refusal.value.code == "not_latest"
    assert written(prayer_request) == before


def test_it_undoes_once(request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    move = services.move(prayer_request, S.ANSWERED, actor=leader)
    undo = services.undo_move(prayer_request, move.pk, actor=leader)
    before = written(prayer_request)

    with pytest.raises(IntercessionError) as again:
        services.undo_move(prayer_request, move.pk, actor=leader)
    with pytest.raises(IntercessionError) as undo_the_undo:
        services.undo_move(prayer_request, undo.pk, actor=leader)

    assert (again.value.code, undo_the_undo.value.code) == ("not_latest", "not_undoable")
    assert written(prayer_request) == before


@pytest.mark.parametrize("kind", [UpdateKind.SUBMITTED, UpdateKind.NOTE, "assigning"])
def test_it_undoes_only_a_status_move(request_in, leader, kind):
    prayer_request = request_in(S.INTERCEDING)
    if kind == "assigning":
        # The move new → interceding that the first assignment made.
        entry = prayer_request.updates.get(kind=UpdateKind.MOVE, from_status=S.NEW)
    elif kind == UpdateKind.NOTE:
        entry = services.post_update(prayer_request, actor=leader, note="A word", visibility=Visibility.TEAM)
    else:
        entry = prayer_request.updates.get(kind=UpdateKind.SUBMITTED)
    before = written(prayer_request)

    with pytest.raises(IntercessionError) as refusal:
        services.undo_move(prayer_request, entry.pk, actor=leader)

    assert refusal.value.code == "not_undoable"
    assert written(prayer_request) == before


def test_it_refuses_a_move_of_another_request(request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    other = request_in(S.INTERCEDING)
    move = services.move(other, S.BREAKTHROUGH, actor=leader)

    with pytest.raises(IntercessionError) as refusal:
        services.undo_move(prayer_request, move.pk, actor=leader)

    assert refusal.value.code == "no_such_move"
    assert (fresh(prayer_request).status, fresh(other).status) == (S.INTERCEDING, S.BREAKTHROUGH)


def test_it_refuses_once_the_text_is_erased(request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    move = services.move(prayer_request, S.CLOSED, actor=leader)
    services.erase_text(prayer_request, why=services.ERASED_BY_LEADER, by=leader)
    before = written(prayer_request)

    with pytest.raises(IntercessionError) as refusal:
        services.undo_move(prayer_request, move.pk, actor=leader)

    assert refusal.value.code == "erased"
    assert written(prayer_request) == before


@pytest.mark.parametrize("who", ["requester", "other_intercessor", "released_intercessor", "superuser"])
def test_it_does_not_let_anyone_without_a_role_undo(request, request_in, leader, released_intercessor, who):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    if who == "released_intercessor":
        # Their own move, made while they were still assigned.
        services.assign(prayer_request, [released_intercessor], by=leader)
        move = services.move(prayer_request, S.BREAKTHROUGH, actor=released_intercessor)
        services.release(
            Assignment.objects.active().get(prayer_request=prayer_request, intercessor=released_intercessor),
            by=leader,
        )
    else:
        move = services.move(prayer_request, S.BREAKTHROUGH, actor=leader)
    actor = Requester(prayer_request.pk) if who == "requester" else request.getfixturevalue(who)
    before = written(prayer_request)

    with pytest.raises(NotAllowed):
        services.undo_move(prayer_request, move.pk, actor=actor)

    assert written(prayer_request) == before


# --- the rules --------------------------------------------------------------


def test_the_rules_say_why_not(request_in, leader, assigned_intercessor, other_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    move = services.move(prayer_request, S.BREAKTHROUGH, actor=assigned_intercessor)
    prayer_request = fresh(prayer_request)
    latest = rules.latest_move(prayer_request)
    soon, late = move.created_at + timedelta(minutes=1), move.created_at + timedelta(hours=1)

    def why(actor, now):
        return rules.why_not_undo(actor, prayer_request, move, latest=latest, now=now)

    assert latest == move
    assert why(assigned_intercessor, soon) is None
    assert why(assigned_intercessor, late) == UndoRefusal.TOO_LATE
    assert why(leader, late) is None
    assert why(other_intercessor, soon) == UndoRefusal.NO_ROLE
    assert why(Requester(prayer_request.pk), soon) == UndoRefusal.NO_ROLE
    assert rules.can_undo_move(assigned_intercessor, prayer_request, move, latest=latest, now=soon)
    assert not rules.can_undo_move(assigned_intercessor, prayer_request, move, latest=None, now=soon)


def test_the_rules_count_down_for_the_mover_only(request_in, leader, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    move = services.move(prayer_request, S.BREAKTHROUGH, actor=assigned_intercessor)

    assert rules.undo_time_left(assigned_intercessor, move, now=move.created_at + timedelta(minutes=3)) == timedelta(
        minutes=7
    )
    assert rules.undo_time_left(assigned_intercessor, move, now=move.created_at + timedelta(hours=1)) == timedelta(0)
    assert rules.undo_time_left(leader, move, now=move.created_at) is None


# --- the request page and the undo view --------------------------------------


def test_it_shows_the_mover_an_undo_button_with_the_minutes_left(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    move = services.move(prayer_request, S.BREAKTHROUGH, actor=assigned_intercessor)
    set_back(move, timedelta(minutes=3, seconds=30))
    client.force_login(assigned_intercessor)

    content = client.get(detail_url(prayer_request)).content.decode()

    assert f'action="{undo_url(prayer_request)}"' in content
    assert f'name="move" value="{move.pk}"' in content
    assert "7 minutes left to undo it." in content
    assert "You moved this request from “In intercession” to “Breakthrough" in content


def test_it_shows_a_leader_the_undo_of_anyones_move(client, request_in, leader, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    move = services.move(prayer_request, S.BREAKTHROUGH, actor=assigned_intercessor)
    set_back(move, timedelta(days=1))
    client.force_login(leader)

    content = client.get(detail_url(prayer_request)).content.decode()

    assert f'name="move" value="{move.pk}"' in content
    assert "As a leader you can undo the latest move at any time." in content


@pytest.mark.parametrize("why", ["too late", "someone else's", "no move yet"])
def test_it_shows_no_undo_button_it_would_refuse(client, request_in, leader, assigned_intercessor, why):
    prayer_request = request_in(S.INTERCEDING)
    if why == "too late":
        set_back(services.move(prayer_request, S.BREAKTHROUGH, actor=assigned_intercessor), timedelta(minutes=11))
    elif why == "someone else's":
        services.move(prayer_request, S.BREAKTHROUGH, actor=leader)
    client.force_login(assigned_intercessor)

    content = client.get(detail_url(prayer_request)).content.decode()

    assert undo_url(prayer_request) not in content


def test_it_undoes_from_the_page(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    move = services.move(prayer_request, S.ANSWERED, actor=assigned_intercessor)
    client.force_login(assigned_intercessor)

    response = client.post(undo_url(prayer_request), {"move": move.pk})

    assert response.status_code == 302
    assert response.url == detail_url(prayer_request)
    assert flashed(response) == [f"Undone: request #{prayer_request.pk} is “In intercession” again."]
    assert fresh(prayer_request).status == S.INTERCEDING
    story = client.get(detail_url(prayer_request)).content.decode()
    assert "“Manifested” undone: back to In intercession" in story


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("too late", "Too late to undo"),
        ("not the latest", "no longer the request's latest move"),
        ("someone else's", "Only the person who made this move, or a leader, can undo it."),
        ("junk", "There is no such move."),
        ("missing", "Choose the move to undo."),
    ],
)
def test_it_refuses_an_undo_with_a_message(client, request_in, leader, assigned_intercessor, case, message):
    prayer_request = request_in(S.INTERCEDING)
    mover = leader if case == "someone else's" else assigned_intercessor
    move = services.move(prayer_request, S.BREAKTHROUGH, actor=mover)
    data = {"move": move.pk}
    if case == "too late":
        set_back(move, timedelta(minutes=11))
    elif case == "not the latest":
        services.move(prayer_request, S.INTERCEDING, actor=leader)
    elif case == "junk":
        data = {"move": "abc"}
    elif case == "missing":
        data = {}
    before = written(prayer_request)
    client.force_login(assigned_intercessor)

    response = client.post(undo_url(prayer_request), data)

    assert response.status_code == 302
    assert any(message in text for text in flashed(response)), flashed(response)
    assert written(prayer_request) == before


@pytest.mark.parametrize(
    ("persona", "confidential", "expected"),
    [
        ("other_intercessor", False, 403),
        ("other_intercessor", True, 404),
        ("released_intercessor", True, 404),
        ("superuser", True, 404),
    ],
)
def test_it_keeps_the_undo_from_those_without_a_role(
    client, request, request_in, leader, persona, confidential, expected
):
    prayer_request = request_in(S.INTERCEDING, confidential=confidential)
    move = services.move(prayer_request, S.BREAKTHROUGH, actor=leader)
    before = written(prayer_request)
    client.force_login(request.getfixturevalue(persona))

    response = client.post(undo_url(prayer_request), {"move": move.pk})

    assert response.status_code == expected
    assert written(prayer_request) == before


def test_it_takes_the_undo_only_as_a_post(client, request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    services.move(prayer_request, S.BREAKTHROUGH, actor=leader)
    client.force_login(leader)

    assert client.get(undo_url(prayer_request)).status_code == 405
    assert fresh(prayer_request).status == S.BREAKTHROUGH


def test_it_sends_the_anonymous_to_log_in(client, request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    move = services.move(prayer_request, S.BREAKTHROUGH, actor=leader)

    response = client.post(undo_url(prayer_request), {"move": move.pk})

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert fresh(prayer_request).status == S.BREAKTHROUGH


def test_the_requester_reads_that_the_move_was_undone(client, leader):
    prayer_request, token = services.submit_request(for_whom="M.", title="Work", category="work")
    bring_to(prayer_request, S.INTERCEDING, leader=leader, intercessor=make_user("anna", roles.INTERCESSORS))
    move = services.move(prayer_request, S.ANSWERED, actor=leader)
    services.undo_move(prayer_request, move.pk, actor=leader)

    content = client.get(reverse("followup", args=[token])).content.decode()

    assert content.count("Status: In intercession") == 2  # the assignment's, and the undo's


# --- asking before "Manifested" and "Close" ----------------------------------


@pytest.mark.parametrize(
    ("to_status", "question", "yes"),
    [
        (S.ANSWERED, "Mark request #{pk} manifested?", "Yes, mark it manifested"),
        (S.CLOSED, "Close request #{pk}?", "Yes, close it"),
    ],
)
def test_it_asks_first_and_changes_nothing(client, request_in, leader, to_status, question, yes):
    prayer_request = request_in(S.INTERCEDING)
    before = written(prayer_request)
    client.force_login(leader)
    note = 'She is "home" & well\nThank God'

    response = client.post(move_url(prayer_request), {"to_status": to_status, "note": note, "visibility": "requester"})

    assert response.status_code == 200
    assert written(prayer_request) == before
    content = response.content.decode()
    assert question.format(pk=prayer_request.pk) in content
    assert yes in content
    assert "Go back" in content
    assert f'href="{detail_url(prayer_request)}"' in content
    form = re.search(rf'<form method="post" action="{move_url(prayer_request)}".*?</form>', content, re.S)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(0)))
    assert fields["to_status"] == to_status
    assert fields["note"] == "She is &quot;home&quot; &amp; well\nThank God"
    assert (fields["visibility"], fields["confirmed"]) == ("requester", "1")
    assert "Your note, for the team and the requester:" in content


def test_it_makes_the_move_once_confirmed(client, request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)
    data = {"to_status": S.ANSWERED, "note": "Home", "visibility": "requester", "confirmed": "1"}

    response = client.post(move_url(prayer_request), data)

    assert response.status_code == 302
    assert fresh(prayer_request).status == S.ANSWERED
    entry = prayer_request.updates.latest("pk")
    assert (entry.kind, entry.note, entry.visibility) == (UpdateKind.MOVE, "Home", Visibility.REQUESTER)


def test_it_does_not_ask_about_a_breakthrough(client, request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)

    response = client.post(move_url(prayer_request), {"to_status": S.BREAKTHROUGH, "visibility": "team"})

    assert response.status_code == 302
    assert fresh(prayer_request).status == S.BREAKTHROUGH


def test_it_does_not_ask_about_a_move_it_would_refuse(client, request_in, assigned_intercessor):
    """An assigned intercessor may not close: the 403 comes at once, not a
    question first."""
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(assigned_intercessor)

    response = client.post(move_url(prayer_request), {"to_status": S.CLOSED, "visibility": "team"})

    assert response.status_code == 403
    assert fresh(prayer_request).status == S.INTERCEDING


def test_the_page_holds_the_dialogs_and_no_inline_script(client, request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)

    content = client.get(detail_url(prayer_request)).content.decode()

    assert 'data-confirm="confirm-answered"' in content
    assert 'data-confirm="confirm-closed"' in content
    assert '<dialog id="confirm-answered"' in content
    assert "Yes, mark it manifested" in content
    assert "Yes, close it" in content
    assert "js/confirm-move" in content
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", content), "an inline script"
    assert " onclick=" not in content


# --- one note form ----------------------------------------------------------


def _write_form(content: str) -> str:
    section = re.search(r'<section aria-labelledby="write-heading".*?</section>', content, re.S)
    return section.group(0)


def test_the_page_has_one_note_form_with_the_moves(client, request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)

    content = client.get(detail_url(prayer_request)).content.decode()

    write = _write_form(content)
    assert content.count(f'action="{reverse("request_update", args=[prayer_request.pk])}"') == 1
    assert f' action="{move_url(prayer_request)}"' not in content
    assert write.count("<textarea") == 1
    assert "Post update" in write
    assert write.count(f'formaction="{move_url(prayer_request)}"') == len(rules.allowed_moves(leader, prayer_request))
    for visibility in ("team", "requester", "private"):
        assert f'value="{visibility}"' in write


def test_a_board_reader_keeps_a_journal_only(client, request_in, other_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    client.force_login(other_intercessor)

    write = _write_form(client.get(detail_url(prayer_request)).content.decode())

    assert "Keep in my journal" in write
    assert '<input type="hidden" name="visibility" value="private">' in write
    assert "formaction" not in write
    assert "Post update" not in write


def test_the_one_form_refuses_a_private_move_clearly(client, request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    before = written(prayer_request)
    client.force_login(leader)

    data = {"to_status": S.BREAKTHROUGH, "note": "n", "visibility": "private"}
    response = client.post(move_url(prayer_request), data)

    assert response.status_code == 302
    assert flashed(response) == ["A move is never private: choose the team, or the team and the requester."]
    assert written(prayer_request) == before


def test_an_erased_request_offers_moves_without_a_note(client, request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    services.erase_text(prayer_request, why=services.ERASED_BY_LEADER, by=leader)
    client.force_login(leader)

    write = _write_form(client.get(detail_url(prayer_request)).content.decode())

    assert "<textarea" not in write
    assert reverse("request_update", args=[prayer_request.pk]) not in write
    assert '<input type="hidden" name="visibility" value="team">' in write
    assert "formaction" in write


# --- at the same moment, on PostgreSQL ----------------------------------------


@pytest.mark.usefixtures("on_postgres")
def test_two_undos_at_once_undo_once(leader, assigned_intercessor):
    from test_concurrency import ROUNDS, run_at_once

    for _round in range(ROUNDS):
        prayer_request = bring_to(submit(), S.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
        move = services.move(prayer_request, S.ANSWERED, actor=assigned_intercessor)

        outcomes = run_at_once(
            [
                partial(services.undo_move, fresh(prayer_request), move.pk, actor=leader),
                partial(services.undo_move, fresh(prayer_request), move.pk, actor=assigned_intercessor),
            ],
            refusals=(IntercessionError,),
        )

        undone = [outcome for outcome in outcomes if isinstance(outcome, StatusUpdate)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, IntercessionError)]
        assert (len(undone), len(refused)) == (1, 1), outcomes
        assert refused[0].code == "not_latest"
        assert fresh(prayer_request).status == S.INTERCEDING
        assert prayer_request.updates.filter(kind=UpdateKind.UNDONE).count() == 1


@pytest.mark.usefixtures("on_postgres")
def test_an_undo_and_a_move_at_once_have_one_effect(leader, assigned_intercessor):
    """Undoing "Manifested" while a leader reopens it: both would put it back
    in intercession; only one of them may."""
    from test_concurrency import ROUNDS, run_at_once

    for _round in range(ROUNDS):
        prayer_request = bring_to(submit(), S.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
        move = services.move(prayer_request, S.ANSWERED, actor=assigned_intercessor)

        outcomes = run_at_once(
            [
                partial(services.undo_move, fresh(prayer_request), move.pk, actor=assigned_intercessor),
                partial(services.move, fresh(prayer_request), S.INTERCEDING, actor=leader),
            ],
            refusals=(IntercessionError,),
        )

        succeeded = [outcome for outcome in outcomes if isinstance(outcome, StatusUpdate)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, IntercessionError)]
        assert (len(succeeded), len(refused)) == (1, 1), outcomes
        if isinstance(outcomes[1], InvalidTransition):
            assert succeeded[0].kind == UpdateKind.UNDONE
        else:
            assert (succeeded[0].kind, refused[0].code) == (UpdateKind.MOVE, "not_latest")
        assert fresh(prayer_request).status == S.INTERCEDING
        changes = prayer_request.updates.filter(pk__gt=move.pk).exclude(kind=UpdateKind.NOTE)
        assert changes.count() == 1
