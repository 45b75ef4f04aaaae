"""The text of requests and of their story is encrypted at rest (issue 13):
markers planted through the services in every encrypted field are in no
column, no file copy of the database, no `pg_dump` and no row of the blind
index, while the pages show them to those who may see them; leaders find
requests by whole words through the blind index, never one the searcher may
not see; "Lost your link?" finds an address by its digest; the migration
encrypts what is already there, and back."""

import re
from datetime import timedelta

import pytest
from conftest import make_user
from django.apps import apps as django_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone
from test_encryption import ENVELOPE, database_file_bytes, every_stored_row

from requests_app import roles, services
from requests_app.models import (
    Category,
    PrayerLog,
    PrayerRequest,
    SearchDigest,
    Status,
    StatusUpdate,
    Visibility,
)
from requests_app.privacy import blind_index
from requests_app.privacy.fields import EncryptedTextField
from requests_app.rules import Requester
from requests_app.team import retention

# One marker per encrypted field: each must be nowhere at rest.
MARKERS = {
    "for_whom": "Forwhom-Mk1qz",
    "title": "Title-Mk2qz",
    "details": "Details-Mk3qz",
    "requester_name": "Name-Mk4qz",
    "requester_email": "address-mk5qz@example.org",
    "team note": "Teamnote-Mk6qz",
    "private note": "Journal-Mk7qz",
    "requester note": "Requesternote-Mk8qz",
    "move note": "Movenote-Mk9qz",
    "release note": "Releasenote-Mk10qz",
    "reassign note": "Reassignnote-Mk11qz",
    "prayer note": "Prayernote-Mk12qz",
    "flag reason": "Flagreason-Mk13qz",
    "keep-longer reason": "Keepreason-Mk14qz",
    "erase reason": "Erasereason-Mk15qz",
}
ENCRYPTED_COLUMNS = {
    "requests_app_prayerrequest": ["for_whom", "title", "details", "requester_name", "requester_email"],
    "requests_app_statusupdate": ["note"],
    "requests_app_prayerlog": ["note"],
    "requests_app_auditlogentry": ["reason"],
}


def plant_markers(leader, intercessor, spare) -> PrayerRequest:
    """A request whose every encrypted field holds its marker, written as the
    app writes them."""
    prayer_request, _token = services.submit_request(
        for_whom=MARKERS["for_whom"],
        title=MARKERS["title"],
        details=f"Pray for {MARKERS['details']} and the doctors",
        category=Category.HEALTH,
        requester_name=MARKERS["requester_name"],
        requester_email=MARKERS["requester_email"],
        wants_updates=True,
    )
    (assignment,) = services.assign(prayer_request, [intercessor], by=leader)
    services.post_update(prayer_request, actor=intercessor, note=MARKERS["team note"], visibility=Visibility.TEAM)
    services.post_update(
        prayer_request, actor=intercessor, note=MARKERS["private note"], visibility=Visibility.PRIVATE
    )
    services.post_update(
        prayer_request, actor=Requester(prayer_request.pk), note=MARKERS["requester note"], visibility=Visibility.TEAM
    )
    services.log_prayer(prayer_request, intercessor=intercessor, minutes=5, note=MARKERS["prayer note"])
    services.move(prayer_request, Status.BREAKTHROUGH, actor=intercessor, note=MARKERS["move note"])
    services.move(prayer_request, Status.INTERCEDING, actor=leader)
    services.reassign(assignment, spare, by=leader, note=MARKERS["reassign note"])
    (second,) = services.assign(prayer_request, [intercessor], by=leader)
    services.release(second, by=intercessor, note=MARKERS["release note"])
    # On the team board, a reader who is not assigned flags it.
    on_board, _token = services.submit_request(
        for_whom="Someone", title="Board request", category=Category.FAMILY, is_confidential=False
    )
    services.share_with_team(on_board, by=leader)
    services.flag(on_board, by=intercessor, reason=MARKERS["flag reason"])
    # A leader's reasons, in the audit log.
    retention.keep_text_longer(
        prayer_request, timezone.localdate() + timedelta(days=30), reason=MARKERS["keep-longer reason"], by=leader
    )
    retention.erase_on_behalf(on_board, reason=MARKERS["erase reason"], by=leader)
    return prayer_request


@pytest.fixture
def team(db):
    return (
        make_user("lydia", roles.LEADERS),
        make_user("anna", roles.INTERCESSORS),
        make_user("dorcas", roles.INTERCESSORS),
    )


def raw_columns(tables=ENCRYPTED_COLUMNS) -> list[str]:
    values = []
    with connection.cursor() as cursor:
        for table, columns in ENCRYPTED_COLUMNS.items():
            if table not in tables:
                continue
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")  # noqa: S608 - the schema's own names
            values += [value for row in cursor.fetchall() for value in row]
    return values


def test_the_columns_checked_are_every_encrypted_field_of_the_app():
    encrypted = {}
    for model in django_apps.get_app_config("requests_app").get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                encrypted.setdefault(model._meta.db_table, []).append(field.column)
    # The outbox's are its own test's (test_encryption): addresses and bodies;
    # a webhook's address and secret, test_webhooks'.
    encrypted.pop("requests_app_outboxmessage")
    encrypted.pop("requests_app_webhook")

    assert {table: sorted(columns) for table, columns in encrypted.items()} == {
        table: sorted(columns) for table, columns in ENCRYPTED_COLUMNS.items()
    }


def test_every_encrypted_field_is_sealed_in_its_column(team):
    plant_markers(*team)

    values = raw_columns()

    assert all(ENVELOPE.match(value) for value in values if value)
    stored = every_stored_row()
    for field, marker in MARKERS.items():
        assert marker not in stored, field
        assert marker.lower() not in stored.lower(), field


@pytest.mark.django_db(transaction=True)
def test_no_marker_is_in_a_copy_of_the_database_or_a_dump(tmp_path):
    plant_markers(
        make_user("lydia", roles.LEADERS),
        make_user("anna", roles.INTERCESSORS),
        make_user("dorcas", roles.INTERCESSORS),
    )

    dump = database_file_bytes(tmp_path)

    for field, marker in MARKERS.items():
        assert marker.encode() not in dump, field
        assert marker.encode("utf-16-le") not in dump, field


def test_the_blind_index_holds_digests_only(team):
    prayer_request = plant_markers(*team)

    digests = list(SearchDigest.objects.filter(prayer_request=prayer_request).values_list("digest", flat=True))

    text = (prayer_request.title, prayer_request.for_whom, prayer_request.details)
    assert len(digests) == len(blind_index.words(*text)) == 11
    assert all(re.fullmatch(r"[0-9a-f]{32}", digest) for digest in digests)
    assert re.fullmatch(r"[0-9a-f]{32}", PrayerRequest.objects.get(pk=prayer_request.pk).requester_email_digest)


def test_the_pages_show_the_text_to_those_who_may_see_it(client, team):
    leader, _intercessor, _spare = team
    prayer_request = plant_markers(*team)
    client.force_login(leader)

    content = client.get(reverse("request_detail", args=[prayer_request.pk])).content.decode()

    for field in ("for_whom", "title", "details", "team note", "requester note", "move note", "release note"):
        assert MARKERS[field] in content, field
    assert MARKERS["private note"] not in content, "a journal is its author's alone"


def test_the_story_and_prayer_log_read_back_through_the_orm(team):
    prayer_request = plant_markers(*team)

    notes = set(StatusUpdate.objects.filter(prayer_request=prayer_request).values_list("note", flat=True))

    assert {MARKERS["team note"], MARKERS["private note"], MARKERS["move note"]} <= notes
    assert PrayerLog.objects.get().note == MARKERS["prayer note"]
    assert PrayerRequest.objects.values_list("title", flat=True).get(pk=prayer_request.pk) == MARKERS["title"]


# --- Search through the blind index ---------------------------------------------------


def _ask(title: str, *, details: str = "", for_whom: str = "M.", confidential: bool = False) -> PrayerRequest:
    prayer_request, _token = services.submit_request(
        for_whom=for_whom, title=title, details=details, category=Category.HEALTH, is_confidential=confidential
    )
    return prayer_request


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("healing", True),
        ("HEALING", True),
        ("Healing Zoé", True),
        ("zoe", False),  # a word, not a spelling near it
        ("heal", False),  # whole words only
        ("surgery", True),  # in the details
        ("grandmother", True),  # in "for whom"
        ("healing unrelated", False),  # every word must be there
        ("healing, surgery!", True),
        ("!!!", False),
    ],
)
def test_it_finds_requests_by_whole_words(db, query, found):
    prayer_request = _ask("Healing for Zoé", details="After the surgery on Monday", for_whom="My grandmother")
    _ask("Work for Simeon")

    assert list(PrayerRequest.objects.matching(query)) == ([prayer_request] if found else [])


def test_it_finds_a_word_written_in_a_decomposed_form(db):
    prayer_request = _ask("Zoe\u0301 needs work")

    assert list(PrayerRequest.objects.matching("ZOÉ")) == [prayer_request]


def test_the_leaders_search_uses_the_index(client, db):
    leader = make_user("lydia", roles.LEADERS)
    wanted = _ask("Healing for Zoé", confidential=True)
    _ask("Work for Simeon")
    client.force_login(leader)

    response = client.get(reverse("request_list"), {"q": "zoé"})

    assert [row.pk for row in response.context["page"].object_list] == [wanted.pk]


def test_search_never_finds_a_request_the_searcher_may_not_see(db):
    intercessor = make_user("anna", roles.INTERCESSORS)
    secret = _ask("Healing for Ruth", confidential=True)
    waiting = _ask("Healing for Orpah")  # not yet shared with the team by a leader
    shared = _ask("Healing for Naomi")
    services.share_with_team(shared, by=make_user("lydia", roles.LEADERS))

    assert list(PrayerRequest.objects.visible_to(intercessor).matching("healing")) == [shared]
    assert waiting in PrayerRequest.objects.matching("healing")
    assert secret in PrayerRequest.objects.matching("healing")


def test_it_finds_the_requests_of_an_address_in_any_case(db):
    mine, _token = services.submit_request(
        for_whom="M.", title="t", category=Category.OTHER, requester_email="Martha@Example.org"
    )
    services.submit_request(for_whom="M.", title="t", category=Category.OTHER, requester_email="mary@example.org")

    assert list(PrayerRequest.objects.of_address(" martha@example.ORG ")) == [mine]
    assert list(PrayerRequest.objects.of_address("")) == []


# --- The migration ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_the_text_already_there_and_back():
    before = [("requests_app", "0011_encrypted_outbox_bodies")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    request = old.get_model("requests_app", "PrayerRequest").objects.create(
        for_whom="Grandmother",
        title="Healing for Zoé",
        details="After the surgery",
        category="health",
        requester_email="Martha@example.org",
        followup_token_hash="0" * 64,
    )
    old.get_model("requests_app", "StatusUpdate").objects.create(
        prayer_request_id=request.pk,
        kind="note",
        from_status="new",
        to_status="new",
        note="An old note",
        visibility="team",
    )
    old.get_model("requests_app", "PrayerLog").objects.create(
        prayer_request_id=request.pk,
        intercessor=old.get_model("auth", "User").objects.create(username="anna"),
        note="An old prayer",
        prayed_at=timezone.now(),
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert all(ENVELOPE.match(value) for value in raw_columns() if value)
    migrated = PrayerRequest.objects.get()
    assert (migrated.title, migrated.details, migrated.for_whom) == (
        "Healing for Zoé",
        "After the surgery",
        "Grandmother",
    )
    assert StatusUpdate.objects.get().note == "An old note"
    assert PrayerLog.objects.get().note == "An old prayer"
    assert list(PrayerRequest.objects.matching("surgery")) == [migrated]
    assert list(PrayerRequest.objects.of_address("martha@example.org")) == [migrated]

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    # (The audit log's reason came later, in 0016.)
    request_text = [table for table in ENCRYPTED_COLUMNS if table != "requests_app_auditlogentry"]
    assert "Healing for Zoé" in raw_columns(request_text)
    assert "An old note" in raw_columns(request_text)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
