"""
The JSON API, /api/v1/ (issue 17), and the personal tokens it takes.

Access, as a matrix: every endpoint, for every persona (no token, a wrong
token, a token of someone no longer on the team, a leader, a leader's
read-only token, the assigned intercessor, an intercessor reading from the
team board, one released from the request), on a confidential request and
on one shared with the team. The answers are the pages' (a request the
caller may not see is a 404, a change they may not make a 403), as JSON
`{"detail": …}`, and wherever a request is refused the database is
unchanged. Lists are exactly `visible_to`, by keyset. Tokens: shown once,
only their hash stored, revoked at once, read-only ones refused every write;
a leader revokes anyone's, deactivation revokes all of a member's.
"""

import json

import pytest
from conftest import make_user, submit
from django.test import Client
from django.urls import reverse
from test_attacks import changed_tables, snapshot

from requests_app import roles, services
from requests_app.models import (
    AccessLogEntry,
    ApiToken,
    AuditAction,
    AuditLogEntry,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    Visibility,
    hash_token,
)
from requests_app.team import api_tokens, members

PERSONAS = ["nobody", "wrong_token", "outsider", "leader", "read_only", "assigned", "board_reader", "released"]
KINDS = ["confidential", "public"]
CANARY = "CanaryOfTheApi"


class World:
    """A leader, the intercessors around two requests in intercession (one
    confidential, one shared with the team by being assigned), and a token
    for each persona."""

    def __init__(self):
        self.leader = make_user("lydia", roles.LEADERS, first_name="Lydia")
        self.assigned = make_user("anna", roles.INTERCESSORS, first_name="Anna")
        self.board_reader = make_user("simeon", roles.INTERCESSORS, first_name="Simeon")
        self.released = make_user("barnabas", roles.INTERCESSORS, first_name="Barnabas")
        self.outsider = make_user("olga")  # an account, on no team
        self.requests = {}
        for kind in KINDS:
            prayer_request = submit(confidential=kind == "confidential", title=f"{CANARY} {kind} title")
            services.assign(prayer_request, [self.assigned, self.released], by=self.leader)
            services.release(prayer_request.assignments.get(intercessor=self.released), by=self.leader)
            services.post_update(prayer_request, actor=self.leader, note=f"{CANARY} team note", visibility="team")
            services.post_update(
                prayer_request, actor=self.assigned, note=f"{CANARY} anna's journal", visibility="private"
            )
            self.requests[kind] = prayer_request
        self.tokens = {
            "wrong_token": "ic_" + "x" * 43,
            "leader": api_tokens.create(self.leader, name="Chat", read_only=False)[1],
            "read_only": api_tokens.create(self.leader, name="Reports", read_only=True)[1],
            "assigned": api_tokens.create(self.assigned, name="Phone", read_only=False)[1],
            "board_reader": api_tokens.create(self.board_reader, name="Phone", read_only=False)[1],
            "released": api_tokens.create(self.released, name="Phone", read_only=False)[1],
        }
        # Made while they were on the team, say: a token of someone who no longer is.
        secret = "ic_" + "o" * 43
        ApiToken.objects.create(user=self.outsider, name="Old", key_hash=hash_token(secret), prefix=secret[:11])
        self.tokens["outsider"] = secret

    def client(self, persona: str) -> Client:
        headers = {"Authorization": f"Bearer {self.tokens[persona]}"} if persona in self.tokens else {}
        return Client(headers=headers, enforce_csrf_checks=True)


@pytest.fixture
def world(db):
    return World()


def post_json(client: Client, url: str, data: dict):
    return client.post(url, json.dumps(data), content_type="application/json")


def unchanged_snapshot() -> dict:
    """The database, but for when tokens were last used (every call may note it)."""
    rows = snapshot()
    rows.pop("requests_app.ApiToken", None)
    return rows


# --- The matrix -------------------------------------------------------------------

SEES_BOTH = {"leader", "read_only", "assigned"}
UNAUTHENTICATED = {"nobody": 401, "wrong_token": 401, "outsider": 403}


def can_see(persona: str, kind: str) -> bool:
    return persona in SEES_BOTH or kind == "public"


def read_rule(persona: str, kind: str) -> int:
    if persona in UNAUTHENTICATED:
        return UNAUTHENTICATED[persona]
    return 200 if can_see(persona, kind) else 404


def write_rule(may: set[str]):
    """A write: 201 for the personas in `may` who see the request; a
    read-only token 403; whoever sees it but may not, 403; hidden, 404."""

    def rule(persona: str, kind: str) -> int:
        if persona in UNAUTHENTICATED:
            return UNAUTHENTICATED[persona]
        if persona == "read_only":
            return 403
        if not can_see(persona, kind):
            return 404
        return 201 if persona in may else 403

    return rule


ENDPOINTS = {
    # name: (method, url name, body, rule)
    "read": ("get", "api_request", None, read_rule),
    "pray": (
        "post",
        "api_request_pray",
        {"minutes": 10},
        write_rule({"leader", "assigned", "board_reader", "released"}),
    ),
    "update": (
        "post",
        "api_request_update",
        {"note": "From the API", "visibility": "team"},
        write_rule({"leader", "assigned"}),
    ),
    "move": ("post", "api_request_move", {"to_status": "breakthrough"}, write_rule({"leader", "assigned"})),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_endpoint_answers_each_persona_as_the_pages_do(world, endpoint, persona, kind):
    method, name, body, rule = ENDPOINTS[endpoint]
    prayer_request = world.requests[kind]
    url = reverse(name, args=[prayer_request.pk])
    client = world.client(persona)
    expected = rule(persona, kind)
    before = unchanged_snapshot()

    response = client.get(url) if method == "get" else post_json(client, url, body)

    assert response.status_code == expected, response.content
    assert response["Content-Type"] == "application/json"
    answer = response.json()
    if expected >= 400:
        assert set(answer) == {"detail"}, answer
        assert CANARY not in response.content.decode()
        changed = changed_tables(before, unchanged_snapshot())
        assert changed == [], f"a refused request changed {changed}"
    if expected == 401:
        assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("post", "api_requests"),
        ("post", "api_request"),
        ("get", "api_request_pray"),
        ("delete", "api_request"),
        ("put", "api_request_move"),
    ],
)
def test_a_method_an_endpoint_does_not_take_is_a_405_that_changes_nothing(world, method, name):
    args = [] if name == "api_requests" else [world.requests["public"].pk]
    before = unchanged_snapshot()

    response = getattr(world.client("leader"), method)(reverse(name, args=args))

    assert response.status_code == 405
    assert set(response.json()) == {"detail"}
    assert changed_tables(before, unchanged_snapshot()) == []


@pytest.mark.parametrize("pk", ["abc", "-1", "0", "99999999999999999999999", "1.5", "%F0%9F%98%80"])
def test_an_id_that_is_no_request_is_the_json_404(world, pk):
    response = world.client("leader").get(f"/api/v1/requests/{pk}/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_a_wrong_request_id_is_the_same_404_as_a_hidden_one(world):
    hidden = world.client("board_reader").get(reverse("api_request", args=[world.requests["confidential"].pk]))
    missing = world.client("board_reader").get(reverse("api_request", args=[999999]))

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


@pytest.mark.parametrize("persona", ["leader", "read_only", "assigned", "board_reader", "released"])
def test_the_list_is_exactly_what_the_persona_may_see(world, persona):
    user = {"read_only": world.leader}.get(persona) or getattr(world, persona)

    answer = world.client(persona).get(reverse("api_requests")).json()

    expected = list(PrayerRequest.objects.visible_to(user).order_by("-pk").values_list("pk", flat=True))
    assert [row["id"] for row in answer["results"]] == expected
    assert set(answer) == {"next", "previous", "results"}
    assert set(answer["results"][0]) == {
        "id",
        "title",
        "for_whom",
        "category",
        "status",
        "is_urgent",
        "is_confidential",
        "created_at",
        "last_prayed_at",
    }


@pytest.mark.parametrize("persona", ["nobody", "wrong_token", "outsider"])
def test_the_list_is_refused_without_a_team_member_s_token(world, persona):
    response = world.client(persona).get(reverse("api_requests"))

    assert response.status_code == UNAUTHENTICATED[persona]
    assert CANARY not in response.content.decode()


def test_the_list_pages_by_keyset_newest_first(world):
    for number in range(30):
        submit(confidential=False, title=f"Request {number}")
    client = world.client("leader")

    first = client.get(reverse("api_requests")).json()
    second = client.get(first["next"]).json()

    ids = [row["id"] for row in first["results"]] + [row["id"] for row in second["results"]]
    assert len(first["results"]) == 25
    assert ids == list(PrayerRequest.objects.order_by("-pk").values_list("pk", flat=True))
    assert "cursor=" in first["next"]
    assert second["next"] is None


def test_the_list_filters_by_status_and_refuses_an_unknown_one(world):
    client = world.client("leader")
    submit(confidential=False, title="Still new")

    new = client.get(reverse("api_requests"), {"status": "new"}).json()
    unknown = client.get(reverse("api_requests"), {"status": "lost"})

    assert [row["status"] for row in new["results"]] == ["new"]
    assert unknown.status_code == 400
    assert "status" in unknown.json()["errors"]


@pytest.mark.parametrize("cursor", ["nonsense", "%00", "cD0xMjM0NTY3ODkwMTIzNDU2Nzg5MA==", "😀"])
def test_a_hostile_cursor_is_a_clear_refusal(world, cursor):
    response = world.client("leader").get(reverse("api_requests"), {"cursor": cursor})

    assert response.status_code in (200, 400)
    assert set(response.json()) <= {"detail", "errors", "next", "previous", "results"}


# --- One request, its story as the reader may read it ----------------------------------


def test_the_team_reads_the_story_but_no_one_else_s_journal(world):
    answer = world.client("leader").get(reverse("api_request", args=[world.requests["confidential"].pk])).json()

    notes = [entry["note"] for entry in answer["story"]]
    assert f"{CANARY} team note" in notes
    assert f"{CANARY} anna's journal" not in json.dumps(answer)
    assert answer["details"] == "Recovering slowly; pray for strength."
    assert "breakthrough" in answer["moves"]
    assert answer["may_pray"] is True
    assert answer["may_post_update"] is True
    assert "requester_name" not in answer
    assert "Martha" not in json.dumps(answer), "the requester's name"


def test_the_assigned_intercessor_reads_their_own_journal(world):
    answer = world.client("assigned").get(reverse("api_request", args=[world.requests["public"].pk])).json()

    assert f"{CANARY} anna's journal" in [entry["note"] for entry in answer["story"]]


def test_a_board_reader_sees_how_it_moved_but_no_note(world):
    answer = world.client("board_reader").get(reverse("api_request", args=[world.requests["public"].pk])).json()

    assert [entry["note"] for entry in answer["story"] if entry["note"]] == []
    assert f"{CANARY} team note" not in json.dumps(answer)
    assert answer["moves"] == []
    assert answer["may_post_update"] is False
    assert answer["may_pray"] is True


def test_opening_a_confidential_request_is_in_its_access_log(world):
    world.client("assigned").get(reverse("api_request", args=[world.requests["confidential"].pk]))
    world.client("assigned").get(reverse("api_request", args=[world.requests["public"].pk]))

    (entry,) = AccessLogEntry.objects.all()
    assert entry.prayer_request == world.requests["confidential"]
    assert entry.user == world.assigned


# --- Writes ---------------------------------------------------------------------------


def test_praying_through_the_api_logs_the_prayer_once_per_key(world):
    client = world.client("assigned")
    url = reverse("api_request_pray", args=[world.requests["confidential"].pk])

    first = post_json(client, url, {"minutes": 15, "fasted": True, "submission_key": "k1"})
    again = post_json(client, url, {"minutes": 15, "fasted": True, "submission_key": "k1"})

    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    log = PrayerLog.objects.get(intercessor=world.assigned)
    assert (log.minutes, log.fasted) == (15, True)


def test_a_move_is_made_by_the_service_and_a_stale_one_is_a_conflict(world):
    client = world.client("leader")
    url = reverse("api_request_move", args=[world.requests["public"].pk])

    moved = post_json(client, url, {"to_status": "breakthrough", "note": "Peace came"})
    again = post_json(client, url, {"to_status": "breakthrough"})

    assert moved.status_code == 201
    assert moved.json()["status"] == "breakthrough"
    world.requests["public"].refresh_from_db()
    assert world.requests["public"].status == Status.BREAKTHROUGH
    assert again.status_code == 409
    assert set(again.json()) == {"detail"}


def test_an_update_goes_into_the_story_with_its_visibility(world):
    response = post_json(
        world.client("assigned"),
        reverse("api_request_update", args=[world.requests["public"].pk]),
        {"note": "Praying through the night", "visibility": "requester"},
    )

    assert response.status_code == 201
    entry = StatusUpdate.objects.get(pk=response.json()["id"])
    assert (entry.note, entry.visibility, entry.author) == (
        "Praying through the night",
        Visibility.REQUESTER,
        world.assigned,
    )


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("api_request_update", {"note": "", "visibility": "team"}),
        ("api_request_update", {"note": "x", "visibility": "everyone"}),
        ("api_request_update", {"note": "x" * 4001}),
        ("api_request_move", {"to_status": "answered-ish"}),
        ("api_request_move", {"to_status": "new"}),
        ("api_request_pray", {"minutes": -1}),
        ("api_request_pray", {"minutes": "ten"}),
        ("api_request_pray", {"note": "\x00"}),
        ("api_request_update", ["not", "an", "object"]),
    ],
)
def test_bad_input_is_a_400_or_409_that_changes_nothing(world, endpoint, body):
    before = unchanged_snapshot()

    response = post_json(world.client("leader"), reverse(endpoint, args=[world.requests["public"].pk]), body)

    assert response.status_code in (400, 409), response.content
    assert "detail" in response.json()
    assert changed_tables(before, unchanged_snapshot()) == []


def test_a_body_that_is_not_json_is_refused(world):
    client = world.client("leader")
    url = reverse("api_request_update", args=[world.requests["public"].pk])

    form = client.post(url, {"note": "x", "visibility": "team"})
    broken = client.post(url, "{not json", content_type="application/json")

    assert form.status_code == 415
    assert broken.status_code == 400
    assert set(broken.json()) == {"detail"}


# --- Asking for prayer, with no account -----------------------------------------------

ASK = {"for_whom": "J.", "category": "health", "title": "Strength for the week", "consent": "knows"}


def test_anyone_may_ask_for_prayer_and_gets_the_link_once(db, django_capture_on_commit_callbacks):
    response = post_json(Client(), reverse("api_ask"), ASK)

    assert response.status_code == 201
    prayer_request = PrayerRequest.objects.get(pk=response.json()["id"])
    assert prayer_request.title == "Strength for the week"
    assert prayer_request.is_confidential, "the church's default"
    link = response.json()["followup_url"]
    assert Client().get(link.removeprefix("http://testserver")).status_code == 200


def test_asking_takes_the_public_form_s_rules(db):
    refused = post_json(Client(), reverse("api_ask"), {**ASK, "consent": "not_aware"})
    no_address = post_json(Client(), reverse("api_ask"), {**ASK, "wants_updates": True})
    no_consent = post_json(
        Client(), reverse("api_ask"), {key: value for key, value in ASK.items() if key != "consent"}
    )

    assert refused.status_code == no_address.status_code == no_consent.status_code == 400
    assert "consent" in refused.json()["errors"]
    assert "requester_email" in no_address.json()["errors"]
    assert "consent" in no_consent.json()["errors"]
    assert not PrayerRequest.objects.exists()


def test_asking_counts_against_the_form_s_rate_limit(db, settings):
    settings.INTERCESSION_SUBMIT_LIMIT = 1
    Client().post(reverse("ask"), {**ASK, "is_confidential": "on"})

    refused = post_json(Client(), reverse("api_ask"), ASK)

    assert refused.status_code == 429
    assert PrayerRequest.objects.count() == 1


def test_asking_while_the_form_is_paused_is_a_conflict(db, leader):
    from requests_app import church
    from requests_app.team import church_settings

    church_settings.save({"form_open": False}, by=leader)
    church.forget()

    response = post_json(Client(), reverse("api_ask"), ASK)

    assert response.status_code == 409
    assert not PrayerRequest.objects.exists()


# --- Tokens ---------------------------------------------------------------------------


def test_a_token_is_stored_only_as_its_hash(world):
    secret = world.tokens["assigned"]
    token = ApiToken.objects.get(user=world.assigned)

    assert secret.startswith("ic_")
    assert len(secret) == 46
    assert token.key_hash == hash_token(secret)
    assert secret not in json.dumps(list(ApiToken.objects.values_list()), default=str)
    assert token.prefix == secret[:11]


def test_a_revoked_token_opens_nothing_at_once(world):
    client = world.client("assigned")
    assert client.get(reverse("api_requests")).status_code == 200

    api_tokens.revoke(ApiToken.objects.get(user=world.assigned), by=world.assigned)

    assert client.get(reverse("api_requests")).status_code == 401


def test_a_read_only_token_reads_and_is_refused_every_write(world):
    client = world.client("read_only")
    url = reverse("api_request_update", args=[world.requests["public"].pk])

    assert client.get(reverse("api_requests")).status_code == 200
    refused = post_json(client, url, {"note": "x", "visibility": "team"})

    assert refused.status_code == 403
    assert refused.json() == {"detail": "This token is for reading only."}


def test_an_intercessor_may_not_revoke_someone_else_s_token(world):
    from requests_app.exceptions import NotAllowed

    with pytest.raises(NotAllowed):
        api_tokens.revoke(ApiToken.objects.get(user=world.assigned), by=world.board_reader)
    assert ApiToken.objects.get(user=world.assigned).is_active


def test_a_leader_revokes_anyone_s_token_and_the_audit_log_says_so(world):
    token = ApiToken.objects.get(user=world.assigned)

    api_tokens.revoke(token, by=world.leader)

    token.refresh_from_db()
    assert token.revoked_by == world.leader
    entry = AuditLogEntry.objects.get(action=AuditAction.API_TOKEN_REVOKED)
    assert entry.details == {"token": token.pk, "name": "Phone"}
    assert world.client("assigned").get(reverse("api_requests")).status_code == 401


def test_deactivating_a_member_revokes_their_tokens(world):
    members.deactivate(world.assigned, by=world.leader)

    assert not ApiToken.objects.filter(user=world.assigned, revoked_at__isnull=True).exists()
    entry = AuditLogEntry.objects.get(action=AuditAction.DEACTIVATED)
    assert entry.details["api_tokens_revoked"] == 1
    # Reactivated, they start again without a token.
    members.reactivate(world.assigned, by=world.leader)
    assert world.client("assigned").get(reverse("api_requests")).status_code == 401


def test_a_member_removed_from_the_team_keeps_no_power_through_a_token(world):
    world.board_reader.groups.clear()

    assert world.client("board_reader").get(reverse("api_requests")).status_code == 403


def test_only_members_of_the_team_make_tokens(world):
    from requests_app.exceptions import NotAllowed

    with pytest.raises(NotAllowed):
        api_tokens.create(world.outsider, name="Mine", read_only=False)


def test_using_a_token_notes_when_it_was_last_used(world):
    token = ApiToken.objects.get(user=world.assigned)
    assert token.last_used_at is None

    world.client("assigned").get(reverse("api_requests"))

    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Token ic_abc", "Basic dXNlcjpwYXNz", "Bearer ic_" + "a" * 200, "Bearer \u00e9t\u00e9"],
)
def test_a_malformed_authorization_header_is_a_401(world, header):
    response = Client(headers={"Authorization": header}).get(reverse("api_requests"))

    assert response.status_code == 401
    assert set(response.json()) == {"detail"}


# --- The schema and its reference page -------------------------------------------------


def test_the_schema_is_served_and_names_every_endpoint(db):
    response = Client().get(reverse("api_schema"), {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == {
        "/api/v1/ask/",
        "/api/v1/requests/",
        "/api/v1/requests/{id}/",
        "/api/v1/requests/{id}/prayers/",
        "/api/v1/requests/{id}/updates/",
        "/api/v1/requests/{id}/moves/",
    }
    assert schema["components"]["securitySchemes"]["token"]["scheme"] == "bearer"


def test_the_reference_page_is_served_from_here_under_the_policy(db):
    response = Client().get(reverse("api_docs"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "cdn" not in content.lower()
    assert "unsafe-inline" not in response["Content-Security-Policy"]


@pytest.mark.parametrize("persona", ["leader", "assigned", "nobody"])
def test_a_call_to_the_api_makes_no_session_and_sets_no_cookie(world, persona):
    from django.contrib.sessions.models import Session

    client = world.client(persona)
    listed = client.get(reverse("api_requests"))
    prayed = post_json(client, reverse("api_request_pray", args=[world.requests["public"].pk]), {"minutes": 1})

    assert not listed.cookies
    assert not prayed.cookies
    assert not Session.objects.exists()
