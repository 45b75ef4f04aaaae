"""`manage.py rotate_encryption_key` (issue 13): every value sealed with an
old key of INTERCESSION_ENCRYPTION_KEYS is sealed again with the newest, and
every request indexed again with it, in batches, while the site runs; after
it the old key can go. A second run and `--check` change nothing; a value no
key opens is named by table and id, never shown."""

import threading
from io import StringIO

import pytest
from conftest import bring_to, make_user, submit
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from requests_app import roles, services
from requests_app.management.commands import rotate_encryption_key
from requests_app.models import (
    AuditAction,
    AuditLogEntry,
    Category,
    OutboxMessage,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    UpdateKind,
    Visibility,
    Webhook,
)
from requests_app.privacy import keys
from requests_app.privacy.fields import EncryptedTextField

OLD_KEY = keys.generate_key()
NEW_KEY = keys.generate_key()
LOST_KEY = keys.generate_key()
NOTE = "Note-Marker-7Kd: the scan was clear"
PRAYER = "Prayer-Marker-2Qw: we fasted"
BODY = "Body-Marker-9Zx"
REASON = "Reason-Marker-4Tv: her daughter phoned"
ADDRESS = "martha@example.org"
WAIT_SECONDS = 30


def key_id(key: str) -> str:
    return keys.parse_keys([key])[0].id


def encrypted_columns() -> list[tuple[str, str]]:
    """(table, column) of every encrypted field of the schema."""
    from django.apps import apps

    return [
        (model._meta.db_table, model_field.column)
        for model in apps.get_models()
        for model_field in model._meta.concrete_fields
        if isinstance(model_field, EncryptedTextField)
    ]


def stored_values() -> dict[tuple[str, str, int], str]:
    """Every encrypted value as the database holds it, past the ORM."""
    values = {}
    with connection.cursor() as cursor:
        for table, column in encrypted_columns():
            quoted_table, quoted_column = connection.ops.quote_name(table), connection.ops.quote_name(column)
            cursor.execute(f"SELECT id, {quoted_column} FROM {quoted_table}")  # noqa: S608 - the schema's own names
            values.update({(table, column, pk): value for pk, value in cursor.fetchall()})
    return values


def blind_index_rows() -> tuple[list, list]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT prayer_request_id, digest FROM requests_app_searchdigest ORDER BY 1, 2")
        digests = list(cursor.fetchall())
        cursor.execute("SELECT id, requester_email_digest FROM requests_app_prayerrequest ORDER BY 1")
        return digests, list(cursor.fetchall())


def key_ids_in_use() -> set[str]:
    return {keys.key_id_of(value) for value in stored_values().values() if value}


def everything_readable() -> dict:
    """Every encrypted value, opened through the ORM."""
    return {
        "requests": list(
            PrayerRequest.objects.order_by("pk").values_list(
                "for_whom", "title", "details", "requester_name", "requester_email"
            )
        ),
        "updates": list(StatusUpdate.objects.order_by("pk").values_list("note", flat=True)),
        "prayers": list(PrayerLog.objects.order_by("pk").values_list("note", flat=True)),
        "outbox": list(OutboxMessage.objects.order_by("pk").values_list("to", "body_text", "body_html")),
        "audit reasons": list(AuditLogEntry.objects.order_by("pk").values_list("reason", flat=True)),
        "webhooks": list(Webhook.objects.order_by("pk").values_list("url", "secret")),
    }


def rotate(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("rotate_encryption_key", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def found_by_search(word: str) -> list[int]:
    # values_list: the lookup itself opens no value, so it runs with any key.
    return list(PrayerRequest.objects.matching(word).order_by("pk").values_list("pk", flat=True))


def found_by_address(address: str) -> list[int]:
    return list(PrayerRequest.objects.of_address(address).order_by("pk").values_list("pk", flat=True))


@pytest.fixture
def old_rows(settings, request_in, leader, assigned_intercessor):
    """Requests, notes, prayers and e-mails sealed and indexed with OLD_KEY,
    then NEW_KEY put first: what an operator has when they start rotating."""
    settings.INTERCESSION_ENCRYPTION_KEYS = [OLD_KEY]
    prayer_request = request_in(Status.INTERCEDING)
    services.post_update(prayer_request, actor=leader, note=NOTE, visibility=Visibility.TEAM)
    services.log_prayer(prayer_request, intercessor=assigned_intercessor, note=PRAYER)
    unnamed, _token = services.submit_request(for_whom="Unspoken", title="Work", category=Category.OTHER)
    OutboxMessage.objects.create(
        to="someone@example.org",
        subject="s",
        body_text=BODY,
        body_html=f"<p>{BODY}</p>",
        kind="assigned",
        next_attempt_at=timezone.now(),
    )
    for action in (AuditAction.TEXT_KEPT_LONGER, AuditAction.TEXT_ERASED):
        AuditLogEntry.objects.create(action=action, details={"request": unnamed.pk}, reason=REASON)
    Webhook.objects.create(
        name="Chat", url="https://chat.example.org/T1/B2/key", events=["request.submitted"], secret="whsec_old"
    )
    before = everything_readable()
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    return {"request": prayer_request, "unnamed": unnamed, "before": before}


def test_the_fixture_holds_old_key_values_of_every_encrypted_column_and_empty_ones(old_rows):
    values = stored_values()

    assert key_ids_in_use() == {key_id(OLD_KEY)}
    assert {(table, column) for table, column, _pk in values if values[table, column, _pk]} == set(encrypted_columns())
    assert "" in values.values()


def test_it_seals_every_old_value_with_the_newest_key_and_the_old_key_can_go(old_rows, settings):
    empty_before = {place for place, value in stored_values().items() if value == ""}

    output = rotate()

    assert key_ids_in_use() == {key_id(NEW_KEY)}
    assert {place for place, value in stored_values().items() if value == ""} == empty_before, "empty stays empty"
    assert f"No value needs an old key any more: {key_id(OLD_KEY)} can be removed" in output
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY]
    assert everything_readable() == old_rows["before"]


def test_search_and_the_address_lookup_work_with_the_newest_key_alone_after_it(old_rows, settings):
    prayer_request, unnamed = old_rows["request"], old_rows["unnamed"]
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY]
    assert found_by_search("surgery") == [], "indexed with the old key: the new one alone finds nothing yet"
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    rotate()

    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY]
    assert found_by_search("SURGERY healing") == [prayer_request.pk]
    assert found_by_search("work") == [unnamed.pk]
    assert found_by_address(ADDRESS.upper()) == [prayer_request.pk]
    assert found_by_address("nobody@example.org") == []
    assert PrayerRequest.objects.get(pk=prayer_request.pk).requester_email == ADDRESS


def test_it_reindexes_a_request_whose_text_is_already_sealed_with_the_newest_key(old_rows, settings):
    prayer_request = old_rows["request"]
    # The text sealed again with the newest key by hand, the index left as the old key made it.
    with connection.cursor() as cursor:
        for (table, column, pk), value in stored_values().items():
            if table == "requests_app_prayerrequest" and pk == prayer_request.pk and value:
                quoted = connection.ops.quote_name(column)
                cursor.execute(
                    f"UPDATE requests_app_prayerrequest SET {quoted} = %s WHERE id = %s",  # noqa: S608 - own names
                    [keys.encrypt(keys.decrypt(value)), pk],
                )

    output = rotate()

    assert "requests_app_prayerrequest: 2/2 (1 re-encrypted, 2 re-indexed)" in output
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY]
    assert found_by_search("surgery") == [prayer_request.pk]
    assert found_by_address(ADDRESS) == [prayer_request.pk]


def test_a_second_run_changes_nothing_and_says_so(old_rows):
    rotate()
    after_first = stored_values(), blind_index_rows()

    with CaptureQueriesContext(connection) as queries:
        output = rotate()

    assert (stored_values(), blind_index_rows()) == after_first
    assert "Nothing needed doing" in output
    assert f"{key_id(OLD_KEY)} can be removed" in output
    statements = [query["sql"].lstrip().upper() for query in queries.captured_queries]
    assert statements, "it looked"
    assert [sql for sql in statements if not sql.startswith("SELECT") or "FOR UPDATE" in sql] == [], (
        "no write and no lock"
    )


def test_check_counts_what_needs_the_old_key_and_changes_nothing(old_rows, capsys):
    before = stored_values(), blind_index_rows()
    out = StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("rotate_encryption_key", "--check", stdout=out)

    assert exited.value.code == 1
    assert (stored_values(), blind_index_rows()) == before
    output = out.getvalue()
    assert "requests_app_prayerrequest: 2 rows still need an old key (their text is sealed with it" in output
    assert "requests_app_prayerlog: 1 rows still need an old key" in output
    assert "run rotate_encryption_key before removing any key" in output


def test_check_after_rotating_says_the_old_key_can_go(old_rows):
    rotate()
    before = stored_values(), blind_index_rows()

    output = rotate("--check")

    assert (stored_values(), blind_index_rows()) == before
    assert "requests_app_statusupdate: 0 rows still need an old key" in output
    assert f"No value needs an old key any more: {key_id(OLD_KEY)} can be removed" in output


def test_a_value_no_key_opens_is_named_by_table_and_id_and_never_shown(old_rows, settings, leader):
    settings.INTERCESSION_ENCRYPTION_KEYS = [LOST_KEY]
    lost_note = StatusUpdate.objects.create(
        prayer_request=old_rows["request"],
        kind=UpdateKind.NOTE,
        from_status=Status.INTERCEDING,
        to_status=Status.INTERCEDING,
        note=NOTE,
    )
    lost_request, _token = services.submit_request(for_whom="Lost", title="Lost-Title-Marker", category=Category.OTHER)
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    lost_envelope = stored_values()["requests_app_statusupdate", "note", lost_note.pk]
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError) as refused:
        call_command("rotate_encryption_key", stdout=out, stderr=err)

    message = str(refused.value)
    assert f"requests_app_statusupdate id {lost_note.pk} (note, key id {key_id(LOST_KEY)})" in message
    assert f"requests_app_prayerrequest id {lost_request.pk} (title, key id {key_id(LOST_KEY)})" in message
    assert "Put the key that sealed them back in INTERCESSION_ENCRYPTION_KEYS" in message
    assert "can be removed" not in out.getvalue()
    assert "requests_app_statusupdate: 1 rows re-encrypted, 1 values left that no configured key opens" in (
        out.getvalue()
    )
    for secret in ("Marker", lost_envelope[12:40], "Lost"):
        assert secret not in message + out.getvalue() + err.getvalue()
    assert f"requests_app_statusupdate id {lost_note.pk}" in err.getvalue()
    assert stored_values()["requests_app_statusupdate", "note", lost_note.pk] == lost_envelope, "left as it is"
    assert key_ids_in_use() == {key_id(NEW_KEY), key_id(LOST_KEY)}, "everything else was rotated"
    with pytest.raises(CommandError, match=f"requests_app_statusupdate id {lost_note.pk} "):
        call_command("rotate_encryption_key", "--check", stdout=StringIO(), stderr=StringIO())


def test_a_plain_value_left_in_an_encrypted_column_is_named_too(old_rows):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE requests_app_prayerlog SET note = %s", [PRAYER])
    prayer = PrayerLog.objects.values_list("pk", flat=True).get()

    with pytest.raises(CommandError, match=rf"requests_app_prayerlog id {prayer} \(note, key id none") as refused:
        rotate()

    assert "Marker" not in str(refused.value)


def test_it_works_in_batches_smaller_than_a_table(old_rows, settings, leader):
    settings.INTERCESSION_ENCRYPTION_KEYS = [OLD_KEY]
    for number in range(3):
        services.post_update(old_rows["request"], actor=leader, note=f"{NOTE} {number}", visibility=Visibility.TEAM)
    before = everything_readable()
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    todo = StatusUpdate.objects.exclude(note="").count()

    output = rotate("--batch-size", "1")

    assert todo == 4
    assert f"requests_app_statusupdate: {todo} rows to re-encrypt\n" in output
    assert all(f"requests_app_statusupdate: {done}/{todo}\n" in output for done in range(1, todo + 1))
    assert key_ids_in_use() == {key_id(NEW_KEY)}
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY]
    assert everything_readable() == before


class Interrupted(Exception):
    pass


def test_an_interrupted_run_is_finished_by_running_it_again(old_rows, settings, monkeypatch):
    batch_done = rotate_encryption_key.Command.batch_done

    def stop_after_the_first_batch(command, table, tally, todo):
        batch_done(command, table, tally, todo)
        raise Interrupted

    monkeypatch.setattr(rotate_encryption_key.Command, "batch_done", stop_after_the_first_batch)
    with pytest.raises(Interrupted):
        rotate("--batch-size", "2")
    monkeypatch.undo()

    half_done = [keys.key_id_of(value) for value in stored_values().values() if value]
    assert set(half_done) == {key_id(OLD_KEY), key_id(NEW_KEY)}
    assert half_done.count(key_id(NEW_KEY)) >= 2, "the first batch was kept"

    output = rotate("--batch-size", "2")

    assert key_ids_in_use() == {key_id(NEW_KEY)}
    assert f"{key_id(OLD_KEY)} can be removed" in output
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY]
    assert everything_readable() == old_rows["before"]
    assert found_by_search("surgery") == [old_rows["request"].pk]


@pytest.mark.parametrize("size", ["0", "-5", "10001"])
def test_it_refuses_a_batch_size_out_of_range(db, size):
    with pytest.raises(CommandError, match="--batch-size must be between 1 and 10000"):
        rotate("--batch-size", size)


# --- While the site writes ----------------------------------------------------------


@pytest.mark.usefixtures("on_postgres")
def test_it_rotates_while_requests_notes_and_prayers_are_written_and_loses_none(settings, monkeypatch):
    """A thread keeps submitting requests, posting notes and logging prayers
    on the old requests (locking them, as the services do) while the
    command rotates in batches of two; each batch waits, once committed,
    for the writer to finish one more round, so the two really interleave."""
    settings.INTERCESSION_ENCRYPTION_KEYS = [OLD_KEY]
    leader = make_user("lydia", roles.LEADERS)
    intercessor = make_user("anna", roles.INTERCESSORS)
    old = [
        bring_to(submit(title=f"Old{n} request"), Status.INTERCEDING, leader=leader, intercessor=intercessor)
        for n in range(5)
    ]
    for number, prayer_request in enumerate(old):
        services.post_update(prayer_request, actor=leader, note=f"old note {number}", visibility=Visibility.TEAM)
        services.log_prayer(prayer_request, intercessor=intercessor, note=f"old prayer {number}")
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    rounds = threading.Condition()
    written = {"requests": [], "notes": [], "prayers": [], "errors": []}
    stop = threading.Event()

    def write() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '10s'")
            number = 0
            while not stop.is_set():
                target = old[number % len(old)]
                written["requests"].append(submit(title=f"Concurrent{number} request").pk)
                services.post_update(target, actor=leader, note=f"new note {number}", visibility=Visibility.TEAM)
                written["notes"].append(f"new note {number}")
                services.log_prayer(target, intercessor=intercessor, note=f"new prayer {number}")
                written["prayers"].append(f"new prayer {number}")
                number += 1
                with rounds:
                    rounds.notify_all()
        except Exception as error:  # reported by the test
            written["errors"].append(error)
        finally:
            connection.close()
            with rounds:
                rounds.notify_all()

    batch_done = rotate_encryption_key.Command.batch_done

    def wait_for_the_writer(command, table, tally, todo):
        batch_done(command, table, tally, todo)
        with rounds:
            seen = len(written["prayers"])
            assert rounds.wait_for(lambda: len(written["prayers"]) > seen or written["errors"], WAIT_SECONDS)

    monkeypatch.setattr(rotate_encryption_key.Command, "batch_done", wait_for_the_writer)
    writer = threading.Thread(target=write, daemon=True)
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '10s'")
    writer.start()
    try:
        with rounds:
            assert rounds.wait_for(lambda: written["prayers"] or written["errors"], WAIT_SECONDS)
        output = rotate("--batch-size", "2")
    finally:
        stop.set()
        writer.join(WAIT_SECONDS)
    monkeypatch.undo()

    assert not writer.is_alive()
    assert written["errors"] == []
    assert "requests_app_prayerrequest: 5/5 (5 re-encrypted, 5 re-indexed)" in output
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY]
    assert key_ids_in_use() == {key_id(NEW_KEY)}
    readable = everything_readable()
    notes = [note for note in readable["updates"] if note]
    assert sorted(notes) == sorted([f"old note {n}" for n in range(5)] + written["notes"])
    assert sorted(readable["prayers"]) == sorted([f"old prayer {n}" for n in range(5)] + written["prayers"])
    assert found_by_search("concurrent0") == [written["requests"][0]]
    assert found_by_search("request") == sorted([request.pk for request in old] + written["requests"])
    assert found_by_address(ADDRESS) == sorted([request.pk for request in old] + written["requests"])
    for prayer_request in PrayerRequest.objects.filter(pk__in=[request.pk for request in old]):
        last_prayer = prayer_request.prayer_logs.order_by("-prayed_at").first()
        assert prayer_request.last_prayed_at == last_prayer.prayed_at, "no update of the row was lost"
