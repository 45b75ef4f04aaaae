"""Encryption at rest (issue 12, finding 5; the first step of issue 13): the
bodies of e-mails waiting in the outbox are sealed with AES-256-GCM under
the newest key of INTERCESSION_ENCRYPTION_KEYS, so the database, a file copy
of it or a `pg_dump` holds no follow-up link, token or sentence of them; sent
secret links are emptied; a value no key opens is a clear error and never a
page that shows a row; production refuses to start without a key."""

import base64
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import FieldError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone
from test_outbox import _ask, smtp_down  # noqa: F401 - smtp_down is a fixture

import intercession.settings as project_settings
from requests_app.mail import outbox
from requests_app.models import OutboxMessage
from requests_app.privacy import keys

ROOT = Path(__file__).resolve().parent.parent
OLD_KEY = base64.urlsafe_b64encode(b"old-key-of-the-encryption-tests!").decode()
NEW_KEY = base64.urlsafe_b64encode(b"new-key-of-the-encryption-tests!").decode()
BODY = "Body-Marker-Xq7Rt: pray with us \u00e9\u00e8 \U0001f64f \u05e9\u05dc\u05d5\u05dd"
# A sentence of the follow-up e-mail's body (requests_app.mail.notifications.followup_link).
FOLLOWUP_SENTENCE = "This is your private link to follow your request"
ENVELOPE = re.compile(r"^v1:[0-9a-f]{8}:[A-Za-z0-9_=-]+$")
ASK_SENT = "/ask/sent/"


def _message(**fields) -> OutboxMessage:
    values = {"to": "someone@example.org", "subject": "s", "body_text": BODY, "kind": "assigned"}
    return OutboxMessage.objects.create(next_attempt_at=timezone.now(), **{**values, **fields})


def raw_bodies() -> list[tuple[str, str]]:
    """The bodies as the database holds them, past the ORM."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT body_text, body_html FROM requests_app_outboxmessage ORDER BY id")
        return list(cursor.fetchall())


def every_stored_row() -> str:
    """Every row of every table, as the database returns it."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - the schema's own names
            rows += [repr(row) for row in cursor.fetchall()]
    return "\n".join(rows)


def pg_dump() -> str | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"), key=lambda p: int(p.parent.parent.name))
    return str(candidates[-1]) if candidates else shutil.which("pg_dump")


def database_file_bytes(tmp_path: Path) -> bytes:
    """The whole database as a file: SQLite's own copy of it (the suite's
    is in memory), or PostgreSQL's `pg_dump`."""
    if connection.vendor == "sqlite":
        copy = tmp_path / "copy.sqlite3"
        with connection.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(copy)])
        return copy.read_bytes()
    program = pg_dump()
    if program is None:
        pytest.skip("pg_dump is not installed: the PostgreSQL dump cannot be checked")
    database = connection.settings_dict
    result = subprocess.run(  # noqa: S603 - pg_dump of the test database
        [
            program,
            "--data-only",
            *("-h", database["HOST"] or "127.0.0.1", "-p", str(database["PORT"] or 5432)),
            *("-U", database["USER"] or "postgres", database["NAME"]),
        ],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "PGPASSWORD": database["PASSWORD"] or ""},
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return result.stdout


# --- The field ---------------------------------------------------------------


def test_it_stores_a_body_sealed_and_reads_it_back(db):
    message = _message(body_html=f"<p>{BODY}</p>")

    (stored_text, stored_html), *_ = raw_bodies()
    reread = OutboxMessage.objects.get(pk=message.pk)

    assert (reread.body_text, reread.body_html) == (BODY, f"<p>{BODY}</p>")
    assert ENVELOPE.match(stored_text)
    assert ENVELOPE.match(stored_html)
    assert "Body-Marker" not in stored_text + stored_html
    assert keys.key_id_of(stored_text) == keys.newest_key_id()


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "x" * 1_000_000, "\u202eevil\u200b", "\U0001f600" * 1000])
def test_it_round_trips_odd_and_long_text(db, text):
    message = _message(body_text=text)

    assert OutboxMessage.objects.get(pk=message.pk).body_text == text
    assert ENVELOPE.match(raw_bodies()[0][0])


def test_the_same_text_is_sealed_differently_each_time(db):
    _message()
    _message()

    (first, _), (second, _) = raw_bodies()

    assert first != second
    assert keys.decrypt(first) == keys.decrypt(second) == BODY


def test_an_empty_body_stays_an_empty_string_in_the_database(db):
    _message(body_text="", body_html="")

    assert raw_bodies() == [("", "")]
    assert OutboxMessage.objects.filter(body_text="").count() == 1
    assert OutboxMessage.objects.filter(body_html__isnull=False).count() == 1


@pytest.mark.parametrize(
    "lookup",
    [
        {"body_text": BODY},
        {"body_text__icontains": "marker"},
        {"body_text__startswith": "v1:"},
        {"body_text__in": [BODY]},
        {"body_html__gt": ""},
        {"body_text__lower": "x"},
    ],
)
def test_an_encrypted_column_cannot_be_searched(db, lookup):
    _message()

    with pytest.raises(FieldError, match="is encrypted: it cannot be searched"):
        list(OutboxMessage.objects.filter(**lookup))


# --- Keys ----------------------------------------------------------------------


def test_a_value_sealed_by_a_key_no_longer_configured_is_a_clear_error(db, settings):
    settings.INTERCESSION_ENCRYPTION_KEYS = [OLD_KEY]
    _message()
    old_id = keys.newest_key_id()
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY]

    with pytest.raises(keys.DecryptionError) as refused:
        OutboxMessage.objects.get()

    assert str(refused.value) == (
        f"cannot decrypt a stored value (key id {old_id}): no key with this id is in INTERCESSION_ENCRYPTION_KEYS"
    )
    assert refused.value.key_id == old_id
    assert "Marker" not in str(refused.value)


def test_an_altered_value_is_a_clear_error(db):
    message = _message()
    stored_text = raw_bodies()[0][0]
    altered = stored_text[:-6] + ("A" if stored_text[-6] != "A" else "B") + stored_text[-5:]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE requests_app_outboxmessage SET body_text = %s WHERE id = %s", [altered, message.pk])

    with pytest.raises(keys.DecryptionError, match="the value was altered"):
        OutboxMessage.objects.get()


def test_a_plain_value_left_in_an_encrypted_column_is_a_clear_error(db):
    message = _message()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE requests_app_outboxmessage SET body_text = %s WHERE id = %s", [BODY, message.pk])

    with pytest.raises(keys.DecryptionError, match="not an encrypted value") as refused:
        OutboxMessage.objects.get()
    assert "Marker" not in str(refused.value)


def test_two_keys_open_old_rows_and_seal_new_ones_with_the_newest(db, settings):
    settings.INTERCESSION_ENCRYPTION_KEYS = [OLD_KEY]
    _message(body_text="sealed with the old key")
    old_id = keys.newest_key_id()

    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    _message(body_text="sealed with the new key")
    new_id = keys.newest_key_id()

    (old_row, _), (new_row, _) = raw_bodies()
    assert new_id != old_id
    assert (keys.key_id_of(old_row), keys.key_id_of(new_row)) == (old_id, new_id)
    assert list(OutboxMessage.objects.order_by("pk").values_list("body_text", flat=True)) == [
        "sealed with the old key",
        "sealed with the new key",
    ]
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY]
    with pytest.raises(keys.DecryptionError):
        list(OutboxMessage.objects.all())


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ([], "holds no key"),
        (["CHANGE-ME"], "1st key of INTERCESSION_ENCRYPTION_KEYS is not a urlsafe-base64 key of 32 bytes"),
        ([NEW_KEY, "c2hvcnQ="], "2nd key of INTERCESSION_ENCRYPTION_KEYS is not a urlsafe-base64 key of 32 bytes"),
        ([NEW_KEY, "not base64 at all!"], "2nd key"),
        ([NEW_KEY, OLD_KEY, NEW_KEY], "3rd key of INTERCESSION_ENCRYPTION_KEYS is listed twice"),
    ],
)
def test_it_refuses_keys_it_cannot_use_without_quoting_them(values, problem):
    with pytest.raises(ValueError, match=problem) as refused:
        keys.parse_keys(values)

    for value in values:
        assert value not in str(refused.value)


def test_a_key_is_taken_with_or_without_its_padding():
    assert keys.parse_keys([NEW_KEY.rstrip("=")])[0].id == keys.parse_keys([NEW_KEY])[0].id


# --- What a page and the outbox do with a value no key opens -------------------


def test_a_page_that_would_show_a_value_no_key_opens_is_the_500_page_without_the_row(client, db, settings, caplog):
    settings.ROOT_URLCONF = "tests.urls_showing_outbox"
    settings.INTERCESSION_ENCRYPTION_KEYS = [OLD_KEY]
    _message()
    old_id = keys.newest_key_id()
    stored_text = raw_bodies()[0][0]
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY]

    with caplog.at_level(logging.INFO):
        response = client.get("/outbox-body/")

    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in page
    assert "Marker" not in page
    assert stored_text[10:40] not in page
    assert f"DecryptionError (key id {old_id})" in caplog.text
    assert "Marker" not in caplog.text
    assert stored_text[10:40] not in caplog.text
    assert all(record.exc_info is None for record in caplog.records), "a traceback's frames hold rows"


def test_the_outbox_sends_the_others_when_one_message_cannot_be_decrypted(db, settings, mailoutbox, caplog):
    settings.INTERCESSION_ENCRYPTION_KEYS = [OLD_KEY]
    unreadable = _message(to="first@example.org")
    old_id = keys.newest_key_id()
    settings.INTERCESSION_ENCRYPTION_KEYS = [NEW_KEY]
    readable = _message(to="second@example.org", body_text="the second one")

    with caplog.at_level(logging.INFO):
        assert outbox.deliver_due() == (1, 1)

    assert [(email.to, email.body) for email in mailoutbox] == [(["second@example.org"], "the second one")]
    failed = OutboxMessage.objects.filter(pk=unreadable.pk).values("sent_at", "attempts", "last_error").get()
    assert failed == {"sent_at": None, "attempts": 1, "last_error": "DecryptionError"}
    assert OutboxMessage.objects.filter(pk=readable.pk, sent_at__isnull=False).exists()
    assert f"outbox message {unreadable.pk} cannot be decrypted (key id {old_id})" in caplog.text
    assert "Marker" not in caplog.text
    assert "first@example.org" not in caplog.text


# --- The follow-up e-mail, waiting and sent -------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("smtp_down")
def test_a_waiting_followup_email_is_in_no_column_file_or_dump(client, tmp_path):
    _ask(client)
    (waiting,) = OutboxMessage.objects.all()
    link = re.search(r"https?://\S+/followup/\S+/", waiting.body_text).group(0)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert waiting.sent_at is None, "the mail server is down: the message waits"
    assert FOLLOWUP_SENTENCE in waiting.body_text

    columns = " ".join(value for row in raw_bodies() for value in row)
    dump = database_file_bytes(tmp_path)

    assert all(ENVELOPE.match(value) for row in raw_bodies() for value in row)
    for secret in (FOLLOWUP_SENTENCE, link, token, "/followup/"):
        assert secret not in columns
        assert secret.encode() not in dump
    assert token.encode() not in dump.replace(b"\x00", b"")


def test_a_sent_followup_email_keeps_an_empty_body(client, db, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _ask(client)

    assert len(mailoutbox) == 1
    assert FOLLOWUP_SENTENCE in mailoutbox[0].body
    assert raw_bodies() == [("", "")]
    assert OutboxMessage.objects.get().sent_at is not None


@pytest.mark.usefixtures("smtp_down")
def test_before_the_link_is_shown_no_table_holds_the_token_or_a_working_link(
    client, db, django_capture_on_commit_callbacks
):
    """Issue 12: between asking and /ask/sent/, a database dump gives no power
    over the request: the token is in a signed cookie of that page alone,
    and the follow-up e-mail still waiting in the outbox is encrypted."""
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask(client)
    assert response["Location"] == reverse("ask_sent")
    assert OutboxMessage.objects.get().sent_at is None, "the mail server is down: the message waits"

    stored = every_stored_row()
    link = client.get(ASK_SENT).context["link"]
    token = link.rstrip("/").rsplit("/", 1)[-1]

    assert len(token) == 43
    assert token not in stored
    assert reverse("followup", args=[token]) not in stored
    assert "/followup/" not in stored
    assert client.get(reverse("followup", args=[token])).status_code == 200, "the link itself works"


# --- The migration ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_the_bodies_already_there_and_back():
    before = [("requests_app", "0010_team_and_church")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    plain = executor.loader.project_state(before).apps.get_model("requests_app", "OutboxMessage")
    for number in range(3):
        plain.objects.create(
            to="a@example.org",
            subject="s",
            body_text=f"{BODY} {number}",
            body_html="" if number else "<p>html</p>",
            kind="assigned",
            next_attempt_at=timezone.now(),
        )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    stored = raw_bodies()
    assert all(ENVELOPE.match(text) for text, _ in stored)
    assert [html for _, html in stored][1:] == ["", ""], "an empty body stays empty"
    assert ENVELOPE.match(stored[0][1])
    assert [m.body_text for m in OutboxMessage.objects.order_by("pk")] == [f"{BODY} {n}" for n in range(3)]

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    assert raw_bodies() == [(f"{BODY} 0", "<p>html</p>"), (f"{BODY} 1", ""), (f"{BODY} 2", "")]

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


# --- Settings ----------------------------------------------------------------------


def read_settings_without_a_key(**env: str) -> subprocess.CompletedProcess:
    """Import the settings in a clean process: no INTERCESSION_ENCRYPTION_KEYS."""
    return subprocess.run(
        [sys.executable, "-c", "import intercession.settings"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_to_start_without_a_key_and_says_how_to_make_one():
    result = read_settings_without_a_key(DJANGO_DEBUG="0")

    assert result.returncode != 0
    assert "ImproperlyConfigured: Set INTERCESSION_ENCRYPTION_KEYS" in result.stderr
    assert keys.GENERATE_COMMAND in result.stderr
    assert "back it up apart from the database backups" in result.stderr
    assert "can never be read again (waiting e-mails can no longer be sent)" in result.stderr


def test_production_refuses_a_key_it_cannot_use_without_quoting_it():
    result = read_settings_without_a_key(DJANGO_DEBUG="0", INTERCESSION_ENCRYPTION_KEYS="CHANGE-ME")

    assert result.returncode != 0
    assert "the 1st key of INTERCESSION_ENCRYPTION_KEYS is not a urlsafe-base64 key of 32 bytes" in result.stderr
    assert "CHANGE-ME" not in result.stderr
    assert keys.GENERATE_COMMAND in result.stderr


def test_the_generate_command_makes_a_key_the_settings_take():
    made = subprocess.run(  # noqa: S603 - the README's command
        ["/bin/sh", "-c", keys.GENERATE_COMMAND.replace("python3", sys.executable, 1)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()

    assert read_settings_without_a_key(DJANGO_DEBUG="0", INTERCESSION_ENCRYPTION_KEYS=made).returncode == 0


def test_the_development_key_is_made_once_and_then_reused(tmp_path):
    path = tmp_path / ".dev-encryption-key"

    first = project_settings.development_encryption_key(path)
    second = project_settings.development_encryption_key(path)

    assert first == second
    assert len(keys.parse_keys([first])) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [entry.name for entry in tmp_path.iterdir()] == [".dev-encryption-key"]


def test_the_development_key_found_is_the_one_used(tmp_path):
    path = tmp_path / ".dev-encryption-key"
    path.write_text(NEW_KEY + "\n")

    assert project_settings.development_encryption_key(path) == NEW_KEY


def test_make_run_uses_the_development_key_file_beside_manage_py():
    assert project_settings.DEVELOPMENT_ENCRYPTION_KEY_FILE == ROOT / ".dev-encryption-key"
    assert "/.dev-encryption-key" in (ROOT / ".gitignore").read_text().splitlines()
