"""
Faults a real deployment meets, on PostgreSQL (issue 6): PostgreSQL restarted
under load, a row lock held elsewhere, the mail server down during
submissions, two app processes sharing one database and one Redis, and a
backup taken under load and restored.

The tests that stop, restart or lock PostgreSQL, or serve the app with
gunicorn, use a throwaway cluster of their own (`pg_cluster`, one per
module, torn down at the end), never the shared server. On SQLite they are
skipped with the reason shown. The database-error pages themselves are
checked in-process on any database. Every wait is bounded; the figures a
test measures are printed (`pytest -s` shows them).
"""

import threading
import time
import uuid
from collections import Counter

import pytest
from conftest import make_user
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse
from fault_helpers import (
    AppServer,
    Browser,
    Cluster,
    app_env,
    ask_data,
    is_sent,
    manage,
    page_text,
    postgres_bin_dir,
)
from psycopg import sql
from test_outbox import _ask, _make_due, _SMTPServer, smtp_down  # noqa: F401 - smtp_down is a fixture
from test_settings import read_settings

from requests_app import roles, services
from requests_app.models import Assignment, OutboxMessage, PrayerLog, PrayerRequest, Status, StatusUpdate
from requests_app.privacy import keys

PASSWORD = "a-long-test-password-42"
JOIN_SECONDS = 30
# Between two requests of one client thread.
PAUSE_SECONDS = 0.02
UNAVAILABLE = "temporarily unavailable"
NOTHING_SAVED = "Nothing was saved"
CONFLICT = "Someone else is changing this request"

# The app's data in every throwaway database: a leader who also intercedes,
# an intercessor, and three requests in intercession assigned to her.
SEED = f"""
from django.contrib.auth.models import Group, User
from requests_app import roles, services
from requests_app.models import IntercessorProfile

def person(name, *groups):
    user = User.objects.create_user(name, f"{{name}}@example.org", {PASSWORD!r})
    for group in groups:
        user.groups.add(Group.objects.get(name=group))
    IntercessorProfile.objects.create(user=user, max_active_assignments=20)
    return user

lydia = person("lydia", roles.LEADERS, roles.INTERCESSORS)
anna = person("anna", roles.INTERCESSORS)
for number in range(3):
    prayer_request, _token = services.submit_request(
        for_whom="F. T.", title=f"seeded-{{number}}", category="health", is_confidential=False
    )
    services.assign(prayer_request, [anna], by=lydia)
"""


def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… (make test-postgres)")


@pytest.fixture(scope="module")
def pg_cluster(tmp_path_factory):
    """A PostgreSQL cluster of our own with a migrated, seeded template
    database (`template_app`); torn down after the module."""
    _needs_postgres()
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("needs PostgreSQL's server programs (initdb, pg_ctl) for a throwaway cluster")
    cluster = Cluster(bin_dir)
    try:
        cluster.init()
        cluster.start()
        cluster.create_database("template_app")
        env = app_env(cluster.url("template_app"))
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "shell", "-c", SEED)
        cluster.log_dir = tmp_path_factory.mktemp("fault-logs")
        yield cluster
    finally:
        cluster.destroy()


def _fresh_database(cluster: Cluster, name: str) -> str:
    cluster.create_database(name, template="template_app")
    return cluster.url(name)


class Load:
    """Client threads against the app until stopped; every answer recorded."""

    def __init__(self):
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self.answers: list[tuple[str, str, object]] = []  # (kind, title, Response or exception)

    def record(self, kind: str, title: str, outcome) -> None:
        with self.lock:
            self.answers.append((kind, title, outcome))

    def run(self, kind: str, step) -> None:
        def loop():
            number = 0
            while not self.stop.is_set():
                number += 1
                title = f"{kind}-{uuid.uuid4().hex[:12]}"
                try:
                    self.record(kind, title, step(title, number))
                except Exception as error:  # a dropped connection, a timeout: recorded, fails the test
                    self.record(kind, title, error)
                # Steady, not flat out: the machine is shared.
                time.sleep(PAUSE_SECONDS)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        self.threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=JOIN_SECONDS)
        assert not any(thread.is_alive() for thread in self.threads), "a client thread hangs"

    def of(self, kind: str):
        return [(title, outcome) for answer_kind, title, outcome in self.answers if answer_kind == kind]


def _submitter(port: int):
    browser = Browser(port)
    return lambda title, _number: browser.post("/ask/", ask_data(title))


def _titles_in(cluster: Cluster, dbname: str) -> set[str]:
    with cluster.connect(dbname) as conn:
        # Titles are encrypted at rest: opened with the suite's key.
        return {keys.decrypt(row[0]) for row in conn.execute("SELECT title FROM requests_app_prayerrequest")}


# --- 1. PostgreSQL restarted under steady load ------------------------------------------


@pytest.mark.postgres
def test_a_postgres_restart_under_load_loses_no_acknowledged_submission(pg_cluster, request):
    """Three visitors keep asking for prayer and a leader keeps reading the
    triage queue while PostgreSQL goes away twice: stopped (fast: sessions
    are cut off) and left down until every client has met the outage, then
    started; later `pg_ctl restart -m fast`. The app is not restarted."""
    name = "fault_restart"
    env = app_env(_fresh_database(pg_cluster, name), INTERCESSION_SUBMIT_LIMIT="100000", DATABASE_CONNECT_TIMEOUT="2")
    server = AppServer(env, workers=2, log_dir=pg_cluster.log_dir).start()
    request.addfinalizer(server.stop)
    leader = Browser(server.port)
    assert leader.log_in("lydia", PASSWORD).status == 302

    load = Load()
    for _ in range(3):
        load.run("ask", _submitter(server.port))
    load.run("read", lambda _title, _number: leader.get("/triage/"))
    windows = []  # (went down, was back): pg_ctl returned
    try:
        time.sleep(2)
        down_at = time.monotonic()
        pg_cluster.stop()
        # Down until each client has been told at least once (bounded), and 1.5 s at least.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
            any(getattr(outcome, "started", 0) > down_at and outcome.status == 503 for _t, outcome in load.of(kind))
            for kind in ("ask", "read")
        ):
            time.sleep(0.1)
        time.sleep(max(0.0, 1.5 - (time.monotonic() - down_at)))
        pg_cluster.start()
        windows.append((down_at, time.monotonic()))
        time.sleep(2)
        down_at = time.monotonic()
        pg_cluster.restart()
        windows.append((down_at, time.monotonic()))
        time.sleep(2)
    finally:
        load.finish()

    errors = [outcome for _kind, _title, outcome in load.answers if isinstance(outcome, Exception)]
    assert errors == [], "the app dropped connections"
    answers = [(kind, title, outcome) for kind, title, outcome in load.answers]
    saved = _titles_in(pg_cluster, name)

    def window_of(response):
        """The outage a request overlapped, if any."""
        overlapped = (i for i, (down, up) in enumerate(windows) if response.started < up and response.ended > down)
        return next(overlapped, None)

    unavailable, acknowledged, not_saved, maybe_saved = Counter(), [], [], []
    for kind, title, response in answers:
        ok = is_sent(response) if kind == "ask" else response.status == 200 and "Triage" in response.text
        if response.status == 503:
            assert window_of(response) is not None, "a 503 while PostgreSQL was up"
            unavailable[window_of(response)] += 1
            assert UNAVAILABLE in page_text(response)
            assert response.headers["Retry-After"].isdigit()
            if kind == "ask" and NOTHING_SAVED in page_text(response):
                not_saved.append(title)
            elif kind == "ask":
                maybe_saved.append(title)
        else:
            assert ok, f"{kind}: {response.status} {page_text(response)[:200]}"
            if kind == "ask":
                acknowledged.append(title)
    last_up = windows[-1][1]
    after = [(kind, outcome) for kind, _title, outcome in answers if outcome.started > last_up]
    assert {kind for kind, _outcome in after} == {"ask", "read"}, "no load after the restart"
    assert unavailable[0], "no request met the outage"
    missing = set(acknowledged) - saved
    assert not missing, f"{len(missing)} acknowledged submissions are not in the database"
    assert not set(not_saved) & saved, "a page said nothing was saved, but it was"
    print(
        "\nrestart: "
        + "; ".join(f"down {up - down:.2f}s, {unavailable[i]} answered 503" for i, (down, up) in enumerate(windows))
        + f"; {len(answers)} requests in all, {len(after)} after the last restart, every one answered;"
        f" {len(acknowledged)} submissions acknowledged, all {len(set(acknowledged) & saved)} found;"
        f" {len(not_saved)} submissions told nothing was saved, none was;"
        f" {len(maybe_saved)} told it may have been, {len(set(maybe_saved) & saved)} were"
    )


# --- 2. A row lock held elsewhere -----------------------------------------------------------


def _configured_ms(setting: str) -> str:
    options = connection.settings_dict["OPTIONS"]["options"]
    return [part.split("=", 1)[1] for part in options.split() if part.startswith(f"{setting}=")][-1]


@pytest.mark.postgres
def test_a_row_held_elsewhere_fails_fast_with_a_clear_page_and_changes_nothing(
    on_postgres, leader, assigned_intercessor, request_in
):
    # The connection runs with the configured timeouts (settings → libpq options → server).
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, setting FROM pg_settings WHERE name IN ('lock_timeout', 'statement_timeout')")
        assert dict(cursor.fetchall()) == {
            "lock_timeout": _configured_ms("lock_timeout"),
            "statement_timeout": _configured_ms("statement_timeout"),
        }
    interceding = request_in(Status.INTERCEDING, confidential=False)
    new = request_in(Status.NEW, confidential=False)
    held = [interceding.pk, new.pk]
    story = StatusUpdate.objects.count()

    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("SELECT id FROM requests_app_prayerrequest WHERE id = ANY(%s) FOR UPDATE", [held])
                locked.set()
                release.wait(timeout=JOIN_SECONDS)
                cursor.execute("ROLLBACK")
        finally:
            connection.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(timeout=10)
    leader_client, intercessor_client = Client(), Client()
    leader_client.force_login(leader)
    intercessor_client.force_login(assigned_intercessor)
    move = {"to_status": "breakthrough", "note": "", "visibility": "team"}
    actions = [
        (leader_client, reverse("request_move", args=[interceding.pk]), move),
        (leader_client, reverse("request_assign", args=[new.pk]), {"intercessors": [str(assigned_intercessor.pk)]}),
        (intercessor_client, reverse("request_pray", args=[interceding.pk]), {"minutes": "5", "submission_key": "k1"}),
    ]
    with connection.cursor() as cursor:
        # Shorter than the default, to keep the suite quick; the page is the same.
        cursor.execute("SET lock_timeout = '1s'")
    timings = []
    try:
        for client, url, data in actions:
            started = time.monotonic()
            response = client.post(url, data)
            timings.append(time.monotonic() - started)
            assert response.status_code == 409, url
            assert CONFLICT in page_text_of(response)
            assert "Nothing was changed" in page_text_of(response)
            assert response["Retry-After"].isdigit()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        release.set()
        holder.join(timeout=JOIN_SECONDS)
    assert not holder.is_alive()

    interceding.refresh_from_db()
    new.refresh_from_db()
    assert (interceding.status, new.status) == (Status.INTERCEDING, Status.NEW)
    assert StatusUpdate.objects.count() == story
    assert not Assignment.objects.filter(prayer_request=new).exists()
    assert not PrayerLog.objects.exists()
    # Once the row is free, the same move goes through.
    response = leader_client.post(actions[0][1], actions[0][2])
    assert response.status_code == 302
    interceding.refresh_from_db()
    assert interceding.status == Status.BREAKTHROUGH
    print(f"\nrow lock: move, assign, pray refused after {', '.join(f'{t:.2f}s' for t in timings)} (lock_timeout 1s)")


def page_text_of(response) -> str:
    return " ".join(response.content.decode().split())


# --- 3. The mail server down during submissions ---------------------------------------------


@pytest.mark.postgres
def test_submissions_made_at_once_while_smtp_is_down_are_each_delivered_once(
    on_postgres,
    smtp_down,  # noqa: F811 - the fixture of tests/test_outbox.py
    settings,
):
    settings.INTERCESSION_SUBMIT_LIMIT = 100
    make_user("lydia", roles.LEADERS, email="lydia@example.org")
    threads_count, each = 4, 3
    outcomes, barrier = [], threading.Barrier(threads_count, timeout=10)

    def visitor(number: int):
        try:
            client = Client()
            barrier.wait()
            for turn in range(each):
                address = f"asker-{number}-{turn}@example.org"
                outcomes.append((address, _ask(client, requester_email=address, title=f"smtp-down-{number}-{turn}")))
        finally:
            connection.close()

    threads = [threading.Thread(target=visitor, args=(number,), daemon=True) for number in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads)

    submitted = threads_count * each
    assert len(outcomes) == submitted
    assert all(response.status_code == 302 for _address, response in outcomes)
    assert PrayerRequest.objects.count() == submitted
    messages = OutboxMessage.objects.all()
    # Each submission: the follow-up link to the requester, and the news to the leader.
    written = Counter(message.to for message in messages)
    assert all(written[address] == 1 for address, _response in outcomes)
    assert written["lydia@example.org"] == submitted
    assert all(message.sent_at is None and message.last_error == "ConnectionRefusedError" for message in messages)

    server = _SMTPServer(smtp_down)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        _make_due()
        call_command("send_outbox", stdout=open("/dev/null", "w"))  # noqa: SIM115
        _make_due()
        call_command("send_outbox", stdout=open("/dev/null", "w"))  # noqa: SIM115
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    received = Counter(
        next(line[4:] for line in mail.splitlines() if line.startswith("To: ")) for mail in server.received
    )
    assert received == Counter(message.to for message in messages)
    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {2}
    print(f"\nsmtp down: {submitted} submissions, {threads_count} threads, {len(server.received)} e-mails, each once")


# --- 4. Two app processes, one PostgreSQL, one Redis ----------------------------------------


@pytest.fixture
def redis_prefix():
    """A key prefix of this test run's own in the local Redis; its keys are
    deleted afterwards (nothing else is flushed)."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=0, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("needs Redis on 127.0.0.1:6379 (.ci/run starts it)")
    prefix = f"intercession-faults-{uuid.uuid4().hex[:12]}"
    try:
        yield client, prefix
    finally:
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(key)
        client.close()


@pytest.mark.postgres
def test_two_app_processes_share_sessions_rate_limits_and_lockouts(pg_cluster, redis_prefix, request):
    redis_client, prefix = redis_prefix
    env = app_env(
        _fresh_database(pg_cluster, "fault_two"),
        DJANGO_CACHE_URL="redis://127.0.0.1:6379/0",
        DJANGO_CACHE_KEY_PREFIX=prefix,
        INTERCESSION_SUBMIT_LIMIT="4",
        DJANGO_AXES_FAILURE_LIMIT="3",
    )
    a = AppServer(env, workers=1, log_dir=pg_cluster.log_dir).start()
    request.addfinalizer(a.stop)
    b = AppServer(env, workers=1, log_dir=pg_cluster.log_dir).start()
    request.addfinalizer(b.stop)

    # A session logged in on A works on B, and logging out on A ends it on B.
    leader = Browser(a.port)
    assert leader.log_in("lydia", PASSWORD).status == 302
    session_key = leader.cookies["sessionid"]  # kept in the database both share
    assert leader.get("/triage/", port=b.port).status == 200
    assert leader.log_out().status == 302
    leader.cookies["sessionid"] = session_key  # as a stolen or stale cookie would
    after_logout = leader.get("/triage/", port=b.port)
    assert after_logout.status == 302
    assert "/accounts/login/" in after_logout.location

    # The public form's limit counts submissions on both: the 5th is refused wherever it lands.
    visitor = Browser(a.port)
    for port in (a.port, b.port, a.port, b.port):
        assert is_sent(visitor.post("/ask/", ask_data(f"two-{uuid.uuid4().hex[:8]}"), port=port))
    for port in (a.port, b.port):
        refused = visitor.post("/ask/", ask_data(f"two-{uuid.uuid4().hex[:8]}"), port=port)
        assert refused.status == 429
        assert "Too many requests" in page_text(refused)
    assert any(redis_client.scan_iter(match=f"{prefix}:*")), "the limit is counted in the shared Redis"

    # Three wrong passwords spread over A and B lock the account out on both,
    # even with the right password.
    stranger = Browser(a.port)
    for port in (a.port, b.port):
        assert stranger.log_in("anna", "wrong-password", port=port).status == 200
    assert stranger.log_in("anna", "wrong-password", port=a.port).status == 429
    for port in (b.port, a.port):
        locked = stranger.log_in("anna", PASSWORD, port=port)
        assert locked.status == 429
        assert "sessionid" not in stranger.cookies


# --- 5. Backup and restore under load ---------------------------------------------------------


TABLES_SQL = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
# Each identity column of the public tables and the last value of its sequence.
IDENTITY_SEQUENCES_SQL = (
    "SELECT c.relname, a.attname, s.last_value FROM pg_class c"
    " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> ''"
    " JOIN pg_sequences s ON s.schemaname = 'public'"
    " AND s.sequencename = split_part(pg_get_serial_sequence(c.relname, a.attname), '.', 2)"
    " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
)


def _fingerprints(conn) -> dict[str, tuple[int, str]]:
    """Every table: its row count and a digest of all its rows."""
    tables = [row[0] for row in conn.execute(TABLES_SQL)]
    digest = "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {} t"
    return {table: conn.execute(sql.SQL(digest).format(sql.Identifier(table))).fetchone() for table in tables}


@pytest.mark.postgres
def test_a_backup_taken_under_load_restores_identical(pg_cluster, request, tmp_path):
    name, restored = "fault_backup", "fault_backup_restored"
    env = app_env(_fresh_database(pg_cluster, name), INTERCESSION_SUBMIT_LIMIT="100000")
    server = AppServer(env, workers=2, log_dir=pg_cluster.log_dir).start()
    request.addfinalizer(server.stop)
    with pg_cluster.connect(name) as conn:
        assigned = [row[0] for row in conn.execute("SELECT id FROM requests_app_prayerrequest ORDER BY id")]
    intercessor = Browser(server.port)
    assert intercessor.log_in("anna", PASSWORD).status == 302

    def pray(title, number):
        pk = assigned[number % len(assigned)]
        return intercessor.post(f"/requests/{pk}/pray/", {"minutes": "5", "submission_key": title})

    load = Load()
    for _ in range(2):
        load.run("ask", _submitter(server.port))
    load.run("pray", pray)
    dump = tmp_path / "backup.dump"
    source = pg_cluster.connect(name, autocommit=True)
    try:
        time.sleep(1.5)
        # The dump's snapshot, exported so the test can read the source as the dump saw it.
        source.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        snapshot = source.execute("SELECT pg_export_snapshot()").fetchone()[0]
        snapshot_at = time.monotonic()
        pg_cluster.client("pg_dump", "-Fc", f"--snapshot={snapshot}", "-f", str(dump), name)
        time.sleep(1)
    finally:
        load.finish()
    with source:
        expected = _fingerprints(source)
        source.execute("ROLLBACK")
        now = _fingerprints(source)

    pg_cluster.create_database(restored)
    pg_cluster.client("pg_restore", "--exit-on-error", "--no-owner", "-d", restored, str(dump))
    with pg_cluster.connect(restored) as conn:
        got = _fingerprints(conn)
        titles = {keys.decrypt(row[0]) for row in conn.execute("SELECT title FROM requests_app_prayerrequest")}
        # Sequences are restored past every id, so the restored site can take new rows.
        beyond = sql.SQL("SELECT coalesce(max({}), 0) > coalesce(%s, 0) FROM {}")
        stale = [
            table
            for (table, column, last) in conn.execute(IDENTITY_SEQUENCES_SQL).fetchall()
            if conn.execute(beyond.format(sql.Identifier(column), sql.Identifier(table)), [last]).fetchone()[0]
        ]

    answers = [(kind, title, outcome) for kind, title, outcome in load.answers]
    assert not [outcome for _kind, _title, outcome in answers if isinstance(outcome, Exception)]
    assert all(is_sent(outcome) for kind, _title, outcome in answers if kind == "ask")
    assert all(
        outcome.status == 302 and "/requests/" in outcome.location for kind, _t, outcome in answers if kind == "pray"
    )
    acknowledged_before = {
        title for kind, title, outcome in answers if kind == "ask" and is_sent(outcome) and outcome.ended < snapshot_at
    }
    assert acknowledged_before, "no submission before the dump"
    assert acknowledged_before <= titles, "a submission committed before the dump is missing"
    assert got == expected
    assert stale == []
    grew = {table for table in now if now[table][0] > expected[table][0]}
    assert {"requests_app_prayerrequest", "requests_app_prayerlog"} <= grew, "the load stopped during the dump"
    print(
        f"\nbackup: {dump.stat().st_size // 1024} KiB dump of {len(expected)} tables,"
        f" {sum(count for count, _digest in expected.values())} rows at the snapshot, identical after restore;"
        f" {len(acknowledged_before)} submissions acknowledged before it, all restored;"
        f" {len(answers)} requests during the drill"
    )


# --- The pages and settings these rely on (any database) ----------------------------------------


def _raise_operational(*args, **kwargs):
    raise OperationalError("connection failed: server closed the connection unexpectedly")


def test_a_database_error_in_a_view_is_a_503_page_that_says_nothing_was_saved(client, db, monkeypatch, caplog):
    monkeypatch.setattr(services, "submit_request", _raise_operational)
    response = client.post(reverse("ask"), ask_data("Title-Marker-503"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert UNAVAILABLE in page_text_of(response)
    assert NOTHING_SAVED in page_text_of(response)
    assert "Title-Marker-503" not in caplog.text
    assert "database error OperationalError" in caplog.text


def test_a_database_error_outside_the_view_is_a_503_page_too(db, leader, monkeypatch):
    client = Client(raise_request_exception=False)
    client.force_login(leader)
    monkeypatch.setattr(SessionStore, "load", _raise_operational)
    response = client.get(reverse("triage"))
    assert response.status_code == 503
    assert UNAVAILABLE in page_text_of(response)


def test_a_database_error_saving_the_session_says_what_was_sent_may_have_been_saved(db, monkeypatch):
    """The view committed, then saving the session failed (Django's
    SessionInterrupted, a 400 of its own): the page must not claim nothing
    was saved."""
    from requests_app.web.middleware import LAST_SEEN_AT, LOGGED_IN_AT

    leader = make_user("lydia", roles.LEADERS, roles.INTERCESSORS)
    prayer_request, _token = services.submit_request(for_whom="J.", title="Strength", category="health")
    services.assign(prayer_request, [leader], by=leader)
    client = Client(raise_request_exception=False)
    client.force_login(leader)
    # Last seen two minutes ago: this request's end stamps the session anew.
    session = client.session
    session[LOGGED_IN_AT] = session[LAST_SEEN_AT] = int(time.time()) - 120
    session.save()
    monkeypatch.setattr(Session, "save", _raise_operational)

    response = client.post(reverse("request_pray", args=[prayer_request.pk]), {"minutes": "5"})

    assert response.status_code == 503
    assert "may have been saved" in page_text_of(response)
    assert NOTHING_SAVED not in page_text_of(response)
    assert PrayerLog.objects.filter(prayer_request=prayer_request, minutes=5).exists()


def test_any_other_error_is_still_the_500_page(db, monkeypatch):
    monkeypatch.setattr(services, "submit_request", lambda **kwargs: 1 / 0)
    response = Client(raise_request_exception=False).post(reverse("ask"), ask_data("x"))
    assert response.status_code == 500
    assert "Something went wrong" in page_text_of(response)


def test_the_503_page_needs_no_database(db, django_assert_num_queries):
    from requests_app.web.middleware import database_unavailable

    with django_assert_num_queries(0):
        response = database_unavailable(None, OperationalError("x"))
    assert response.status_code == 503


@pytest.mark.parametrize(
    ("sqlstate", "status", "words"),
    [
        ("55P03", 409, CONFLICT),  # lock_timeout ran out
        ("40P01", 409, CONFLICT),  # deadlock detected
        ("57014", 503, UNAVAILABLE),  # statement_timeout ran out
        ("57P01", 503, UNAVAILABLE),  # the server is shutting down
        (None, 503, UNAVAILABLE),  # cannot connect
    ],
)
def test_the_page_depends_on_what_the_database_said(sqlstate, status, words):
    from requests_app.web.middleware import database_unavailable

    cause = type("DriverError", (Exception,), {"sqlstate": sqlstate})("from the driver")
    error = OperationalError("wrapped")
    error.__cause__ = cause
    response = database_unavailable(None, error)
    assert response.status_code == status
    assert words in page_text_of(response)
    assert response["Retry-After"] == "5"


def test_the_database_timeouts_and_the_cache_come_from_the_environment():
    base = {"DJANGO_SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://u@db.example:5432/prayer"}
    result = read_settings(base, "s.DATABASES['default']['OPTIONS'], s.CACHES['default']['BACKEND']")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "{'connect_timeout': 5, 'options': '-c lock_timeout=3000 -c statement_timeout=15000'}"
        " django.core.cache.backends.locmem.LocMemCache"
    )
    result = read_settings(
        {
            **base,
            "DATABASE_CONNECT_TIMEOUT": "2",
            "DATABASE_LOCK_TIMEOUT": "1",
            "DATABASE_STATEMENT_TIMEOUT": "0",
            "DJANGO_CACHE_URL": "redis://127.0.0.1:6379/3",
            "DJANGO_CACHE_KEY_PREFIX": "church-a",
        },
        "s.DATABASES['default']['OPTIONS'], s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'],"
        " s.CACHES['default']['KEY_PREFIX'], s.SESSION_ENGINE",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "{'connect_timeout': 2, 'options': '-c lock_timeout=1000 -c statement_timeout=0'}"
        " django.core.cache.backends.redis.RedisCache redis://127.0.0.1:6379/3 church-a"
        " requests_app.web.sessions"
    )


def test_it_refuses_a_cache_url_it_cannot_use():
    result = read_settings({"DJANGO_SECRET_KEY": "x" * 50, "DJANGO_CACHE_URL": "memcached://x"}, "s.CACHES")
    assert result.returncode != 0
    assert "DJANGO_CACHE_URL must be a redis://" in result.stderr


def test_sessions_stay_in_the_database_without_a_shared_cache():  # and with one: above
    result = read_settings({"DJANGO_SECRET_KEY": "x" * 50}, "s.SESSION_ENGINE")
    assert result.returncode == 0, result.stderr
    # Django's database sessions, read by one statement (requests_app/web/sessions.py).
    assert result.stdout.strip() == "requests_app.web.sessions"


def test_only_a_passing_database_error_is_the_503_page(db, monkeypatch):
    """A mistake in the code that the database reports (an unknown column,
    a syntax error) is a 500 and reaches the error reports: telling people
    to try again would hide it for ever."""
    from requests_app.web.middleware import is_transient

    def driver_error(sqlstate=None, **attributes):
        cause = type("DriverError", (Exception,), {"sqlstate": sqlstate, **attributes})("from the driver")
        error = OperationalError("wrapped")
        error.__cause__ = cause
        return error

    assert is_transient(driver_error(None))  # the server could not be reached
    for sqlstate in ("08006", "57P01", "57014", "55P03", "40P01", "40001", "53300"):
        assert is_transient(driver_error(sqlstate)), sqlstate
    for sqlstate in ("42703", "42601", "22001", "XX000"):
        assert not is_transient(driver_error(sqlstate)), sqlstate
    assert is_transient(driver_error(sqlite_errorname="SQLITE_BUSY"))
    assert not is_transient(driver_error(sqlite_errorname="SQLITE_ERROR"))

    def no_such_column(**kwargs):
        raise OperationalError("no such column: requests_app_prayerrequest.nothing") from type(
            "DriverError", (Exception,), {"sqlite_errorname": "SQLITE_ERROR", "sqlstate": None}
        )("no such column")

    monkeypatch.setattr(services, "submit_request", no_such_column)
    response = Client(raise_request_exception=False).post(reverse("ask"), ask_data("x"))
    assert response.status_code == 500
    assert UNAVAILABLE not in page_text_of(response)


@pytest.mark.postgres
def test_healthz_says_unavailable_while_the_database_is_away_and_ok_once_it_is_back(pg_cluster, request):
    app = AppServer(app_env(_fresh_database(pg_cluster, "fault_healthz")), workers=1, log_dir=pg_cluster.log_dir)
    app.start()
    request.addfinalizer(app.stop)
    monitor = Browser(app.port)

    up = monitor.get("/healthz")
    assert (up.status, up.text) == (200, "ok\n")

    pg_cluster.stop()
    try:
        away = monitor.get("/healthz")
    finally:
        pg_cluster.start()
    assert (away.status, away.text) == (503, "unavailable\n")
    assert monitor.get("/healthz").status == 200
    assert monitor.cookies == {}, "a monitor's probe gets no cookie"
