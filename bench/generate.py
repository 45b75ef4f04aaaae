"""Fill a PostgreSQL database with a realistic history of N prayer requests, fast.

    .venv/bin/python -m bench.generate --size 10000 \\
        --database-url postgres://postgres@127.0.0.1:5432/intercession_bench_10000

Drops and recreates that database (only names starting `intercession_bench`
or `intercession_perf`, unless --force), runs the migrations, and fills it
with set-based SQL (generate_series, INSERT … SELECT): nothing goes through
the ORM one row at a time. At 1M requests that is 10M prayer-log rows.

What the data looks like (every row satisfies the models' constraints and
the life of a request in PRODUCT.md):

- requests spread over five years, 10% confidential, ~8% urgent, the nine
  categories; the open backlog is recent and bounded (~4%: new 1.2%,
  interceding ~2%, breakthrough ~1%), the rest answered (~62%) or closed;
- one intercessor per 200 requests (at least 5) with a profile (capacity
  5-15, 90% available, preferred categories), and a few leaders;
- every request but the new ones and those closed straight from new has an
  active assignment (30% a second one; 10% also a released one), the
  status updates of its whole story in order (submitted, assigned, the move
  to intercession, notes, breakthrough and back, answered or closed), and
  ten prayer-log rows by its intercessors;
- two known logins: `bench_leader` (Leaders) and `bench_intercessor`
  (Intercessors, with active assignments on open, confidential and
  non-confidential requests), both with the password `KNOWN_PASSWORD`.

The text is stored as the app stores it (`requests_app.privacy`): every
encrypted column holds a real envelope under the newest key of
INTERCESSION_ENCRYPTION_KEYS, each request has its address's digest and
one `SearchDigest` row per distinct word of its title, "for whom" and
details, so the ORM reads it, leaders' search and "Lost your link?" find
it. To stay set-based the envelopes are made once in Python for each value
the SQL picks from (about two hundred: the text arrays below, 64
precomposed details, 64 addresses) and many rows share one envelope, nonce
included. That is acceptable for synthetic data under a throwaway key, and
only for it: it shows which rows hold the same text, which the app's own
writes (a fresh nonce each) never do. Export the same key for
`bench.measure` (`bench.run` does): under another key nothing can be read,
and `generated_size` will not offer the database for reuse.

`fill()` works on whichever database Django's default connection points at
(tests/test_bench.py uses it on the test database); `main()` is the CLI.
"""

import argparse
import itertools
import os
import re
import sys
import time
from urllib.parse import urlsplit, urlunsplit

KNOWN_PASSWORD = "bench-password-2026"  # noqa: S105 - a benchmark login on a throwaway database
LEADER_USERNAME = "bench_leader"
INTERCESSOR_USERNAME = "bench_intercessor"

REQUESTS_PER_INTERCESSOR = 200
PRAYERS_PER_REQUEST = 10
HISTORY_DAYS = 5 * 365
# Below this size the indexes are kept during the load (the test database
# is small and shared with the suite); above it they are dropped and rebuilt.
REBUILD_INDEXES_FROM = 20_000

# The tables the bulk load writes, whose secondary indexes and foreign keys
# are dropped during the load and rebuilt after it.
BULK_TABLES = (
    "requests_app_prayerrequest",
    "requests_app_searchdigest",
    "requests_app_assignment",
    "requests_app_statusupdate",
    "requests_app_prayerlog",
)
SAFE_DATABASE_NAME = re.compile(r"^intercession_(bench|perf)[a-z0-9_]*$")

FIRST_NAMES = [
    "Anna", "Simeon", "Lydia", "Priscilla", "Aquila", "Barnabas", "Dorcas", "Phoebe", "Silas", "Timothy",
    "Martha", "Miriam", "Deborah", "Hannah", "Samuel", "Esther", "Ruth", "Naomi", "Eunice", "Lois",
]  # fmt: skip
LAST_NAMES = [
    "Adeyemi", "Brown", "Carvalho", "Dubois", "Eriksen", "Fischer", "García", "Hughes", "Ivanova", "Jones",
    "Kowalski", "Larsen", "Mensah", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Smith", "Tanaka",
]  # fmt: skip
FOR_WHOM = ["M. K.", "my mother", "my brother", "a friend", "unspoken", "J. and R.", "our neighbour",
            "my daughter", "the youth group", "A. T.", "my husband", "my colleague"]  # fmt: skip
TITLES = [
    "Healing after surgery", "Strength in chemotherapy", "A new job", "Peace in the family",
    "Salvation for my father", "Restoration of a marriage", "Debts to be paid", "Wisdom at work",
    "Revival in our church", "Peace for the nation", "Safe travel", "A difficult pregnancy",
    "Freedom from addiction", "Comfort in grief", "Exams next month", "A house to rent",
    "Reconciliation with my sister", "Protection for a missionary", "Provision for rent", "Sleep and rest",
]  # fmt: skip
SENTENCES = [
    "Please pray for healing and for the doctors.", "The results come next week.",
    "We have been waiting for a long time.", "Pray that fear would go and peace would come.",
    "There has been some progress but it is slow.", "The family is under a lot of pressure.",
    "Pray for favour with the people deciding.", "Thank you for standing with us.",
    "The surgery is planned for the end of the month.", "Pray for wisdom in the conversations ahead.",
    "We believe God is able.", "Things got worse over the weekend.",
]  # fmt: skip
NOTES = [
    "Prayed with the team tonight.", "Spoke to the family; they are encouraged.",
    "Sensing peace about this one.", "Still standing in the gap.", "Fasted and prayed this morning.",
]  # fmt: skip
CATEGORIES = ["health", "family", "salvation", "marriage", "finances", "work", "church", "nation", "other"]
# The details are one of these many three-sentence texts, and an address
# one of these many requesterN@example.org (see _texts).
DETAILS_CHOICES = 64
ADDRESS_CHOICES = 64
PRIVATE_NOTE_PREFIX = "My own note: "
FOR_THE_REQUESTER_NOTE = "We are praying for you."
BACK_TO_INTERCESSION_NOTE = "More is still needed."

# Which choice each row takes, as 1-based SQL indexes on bench_plan's
# columns (never random(), so the text and its digests agree): the pick of
# the envelope and of the search digests (or of the address and its digest)
# use the same expression.
FOR_WHOM_INDEX = f"(1 + floor(p.r3 * {len(FOR_WHOM)})::int)"
TITLE_INDEX = f"(1 + floor(((p.id * 17) %% 101) / 101.0 * {len(TITLES)})::int)"
DETAILS_INDEX = f"(1 + ((p.id * 29) %% {DETAILS_CHOICES})::int)"
ADDRESS_INDEX = f"(1 + (p.id %% {ADDRESS_CHOICES})::int)"
NAME_INDEX = f"(1 + floor(p.r4 * {len(FIRST_NAMES)})::int)"
NOTE_INDEX = f"(1 + floor(p.r4 * {len(NOTES)})::int)"


def details_texts() -> list[str]:
    """The DETAILS_CHOICES details a request may have: distinct ordered
    triples of SENTENCES, spread over all of them."""
    triples = list(itertools.permutations(SENTENCES, 3))
    # 617 is prime and does not divide len(triples) (1320): every index differs.
    return [" ".join(triples[(number * 617) % len(triples)]) for number in range(DETAILS_CHOICES)]


def addresses() -> list[str]:
    return [f"requester{number}@example.org" for number in range(1, ADDRESS_CHOICES + 1)]


def _texts() -> dict[str, list[str] | str]:
    """The SQL parameters of the stored text: for each array a row picks
    from, the envelope of every value (keys.encrypt, the newest key), and
    the blind index of each choice (blind_index, the digests the services
    would keep), as the app writes them.

    One envelope per value, shared by every row that picks it: acceptable
    for synthetic benchmark data under a throwaway key (it shows which rows
    hold the same text), never for real data."""
    from requests_app.privacy import blind_index, keys

    def sealed(values: list[str]) -> list[str]:
        return [keys.encrypt(value) for value in values]

    def digests(values: list[str]) -> list[str]:
        # One choice's word digests, space-separated (the rows of a
        # two-dimensional text[] must be of one length); the SQL splits them.
        return [" ".join(sorted(blind_index.word_digests(value))) for value in values]

    details = details_texts()
    return {
        "for_whom_sealed": sealed(FOR_WHOM),
        "for_whom_digests": digests(FOR_WHOM),
        "titles_sealed": sealed(TITLES),
        "titles_digests": digests(TITLES),
        "details_sealed": sealed(details),
        "details_digests": digests(details),
        "names_sealed": sealed(FIRST_NAMES),
        "addresses_sealed": sealed(addresses()),
        "address_digests": [blind_index.address_digest(address) for address in addresses()],
        "notes_sealed": sealed(NOTES),
        "private_notes_sealed": sealed([PRIVATE_NOTE_PREFIX + note for note in NOTES]),
        "note_for_the_requester_sealed": keys.encrypt(FOR_THE_REQUESTER_NOTE),
        "note_back_to_intercession_sealed": keys.encrypt(BACK_TO_INTERCESSION_NOTE),
    }


def _chosen(parameter: str, index_expression: str) -> str:
    """The element `index_expression` of the text[] query parameter `parameter`."""
    return f"(%({parameter})s::text[])[{index_expression}]"


def _sql_array(values: list[str]) -> str:
    """A PostgreSQL text[] literal (the values are constants of this module)."""
    return "ARRAY[" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + "]::text[]"


def _pick(array: list[str], random_expression: str) -> str:
    return f"({_sql_array(array)})[1 + floor({random_expression} * {len(array)})::int]"


def team_size(size: int) -> tuple[int, int]:
    """(leaders, intercessors) for `size` requests."""
    intercessors = max(5, size // REQUESTS_PER_INTERCESSOR)
    leaders = 2 + size // 250_000
    return leaders, intercessors


class _Clock:
    def __init__(self, out):
        self.out = out
        self.started = self.last = time.perf_counter()

    def step(self, label: str) -> None:
        now = time.perf_counter()
        print(f"  {label:<44} {now - self.last:7.1f} s", file=self.out, flush=True)
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.started


def _secondary_indexes_and_foreign_keys(cursor) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """What to drop before the load and rebuild after: (table, name, ddl)
    for constraints other than primary and check ones, and (name, ddl) for
    indexes that back no constraint."""
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('f', 'u', 'x')
        ORDER BY c.contype DESC, c.conname
        """,
        [list(BULK_TABLES)],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef
        FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)
        ORDER BY i.indexname
        """,
        [list(BULK_TABLES)],
    )
    return constraints, cursor.fetchall()


def fill(size: int, *, out=sys.stdout) -> dict[str, int]:
    """Insert `size` requests and everything around them into the (empty,
    migrated) database of Django's default connection. Returns row counts."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    clock = _Clock(out)
    leaders, intercessors = team_size(size)
    first_intercessor = leaders + 1
    password = make_password(KNOWN_PASSWORD)
    params = {
        "n": size,
        "leaders": leaders,
        "intercessors": intercessors,
        "first_intercessor": first_intercessor,
        "password": password,
        "history_seconds": HISTORY_DAYS * 86400,
        "prayers": PRAYERS_PER_REQUEST,
        **_texts(),
    }
    rebuild = size >= REBUILD_INDEXES_FROM

    with transaction.atomic(), connection.cursor() as cursor:
        # The app's own limits (settings: DATABASE_STATEMENT_TIMEOUT) are for
        # pages, not for a bulk load.
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SET LOCAL lock_timeout = 0")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SELECT setseed(0.42)")

        dropped_constraints, dropped_indexes = [], []
        if rebuild:
            dropped_constraints, dropped_indexes = _secondary_indexes_and_foreign_keys(cursor)
            for table, name, _ddl in dropped_constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ddl in dropped_indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            clock.step(f"dropped {len(dropped_constraints)} constraints, {len(dropped_indexes)} indexes")

        _insert_team(cursor, params)
        clock.step(f"team: {leaders} leaders, {intercessors} intercessors")
        _build_plan(cursor, params)
        clock.step("plan of every request's life")
        _insert_requests(cursor, params)
        clock.step(f"{size:,} prayer requests")
        _insert_search_digests(cursor, params)
        clock.step("search digests (the blind index)")
        _insert_assignments(cursor, params)
        clock.step("assignments")
        _insert_status_updates(cursor, params)
        clock.step("status updates")
        _insert_prayer_logs(cursor, params)
        clock.step("prayer log")
        cursor.execute("DROP TABLE bench_plan")

        for _name, ddl in dropped_indexes:
            cursor.execute(ddl)
        for table, name, ddl in dropped_constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}')
        if rebuild:
            clock.step("indexes and constraints rebuilt")
        _reset_sequences(cursor)

    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        if connection.in_atomic_block:
            # Inside a test's transaction VACUUM is not allowed.
            cursor.execute("ANALYZE")
        else:
            cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("RESET statement_timeout")
        clock.step("vacuum and analyze")
        counts = _counts(cursor)
    print(f"  {'total':<44} {clock.total():7.1f} s", file=out, flush=True)
    return counts


def _insert_team(cursor, params: dict) -> None:
    cursor.execute("INSERT INTO auth_group (name) VALUES ('Leaders'), ('Intercessors') ON CONFLICT (name) DO NOTHING")
    cursor.execute(
        f"""
        INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email,
                               is_staff, is_active, date_joined)
        SELECT g, %(password)s, NULL, false,
               CASE WHEN g = 1 THEN '{LEADER_USERNAME}'
                    WHEN g = %(first_intercessor)s THEN '{INTERCESSOR_USERNAME}'
                    WHEN g <= %(leaders)s THEN 'leader_' || g
                    ELSE 'intercessor_' || (g - %(leaders)s) END,
               {_pick(FIRST_NAMES, "((g * 7) %% 20) / 20.0")},
               {_pick(LAST_NAMES, "((g * 13) %% 20) / 20.0")},
               'user' || g || '@example.org', false, true, now() - interval '6 years'
        FROM generate_series(1, %(leaders)s + %(intercessors)s) g
        """,  # noqa: S608
        params,
    )
    cursor.execute(
        """
        INSERT INTO auth_user_groups (user_id, group_id)
        SELECT g, (SELECT id FROM auth_group WHERE name = CASE WHEN g <= %(leaders)s THEN 'Leaders'
                                                               ELSE 'Intercessors' END)
        FROM generate_series(1, %(leaders)s + %(intercessors)s) g
        """,
        params,
    )
    cursor.execute(
        f"""
        INSERT INTO requests_app_intercessorprofile (user_id, max_active_assignments, is_available,
                                                    preferred_categories)
        SELECT g, 5 + floor(random() * 11)::int, g = %(first_intercessor)s OR random() < 0.9,
               jsonb_build_array({_pick(CATEGORIES, "random()")}, {_pick(CATEGORIES, "random()")})
        FROM generate_series(%(first_intercessor)s, %(leaders)s + %(intercessors)s) g
        """,  # noqa: S608
        params,
    )


def _build_plan(cursor, params: dict) -> None:
    """One row per request with every date and choice of its life, so that
    the request, its assignments, its story and its prayer log agree."""
    cursor.execute(
        """
        CREATE TEMP TABLE bench_base ON COMMIT DROP AS
        SELECT g::bigint AS id,
               (%(n)s - g)::float8 / %(n)s AS age,
               now() - make_interval(secs => %(history_seconds)s * ((%(n)s - g)::float8 / %(n)s)
                                              + random() * 3600) AS created_at,
               random() AS r_status, random() AS r1, random() AS r2, random() AS r3, random() AS r4
        FROM generate_series(1, %(n)s) g
        """,
        params,
    )
    # Status: the newest 3 days are all new; the open backlog lives in the
    # newest 10% of the history; everything older is answered or closed.
    cursor.execute(
        """
        CREATE TEMP TABLE bench_status ON COMMIT DROP AS
        SELECT b.*,
               CASE
                 WHEN b.created_at > now() - interval '3 days' THEN 'new'
                 WHEN b.age < 0.03 THEN CASE WHEN b.r_status < 0.40 THEN 'new'
                                             WHEN b.r_status < 0.70 THEN 'interceding'
                                             WHEN b.r_status < 0.80 THEN 'breakthrough'
                                             WHEN b.r_status < 0.90 THEN 'answered' ELSE 'closed' END
                 WHEN b.age < 0.10 THEN CASE WHEN b.r_status < 0.15 THEN 'interceding'
                                             WHEN b.r_status < 0.25 THEN 'breakthrough'
                                             WHEN b.r_status < 0.70 THEN 'answered' ELSE 'closed' END
                 ELSE CASE WHEN b.r_status < 0.62 THEN 'answered' ELSE 'closed' END
               END AS status
        FROM bench_base b
        """
    )
    cursor.execute(
        """
        CREATE TEMP TABLE bench_paths ON COMMIT DROP AS
        SELECT s.*,
               (s.status = 'closed' AND s.r1 < 0.3) AS closed_from_new,
               (s.status = 'breakthrough'
                OR (s.status = 'answered' AND s.r2 < 0.6)
                OR (s.status = 'closed' AND s.r1 >= 0.3 AND s.r2 < 0.2)
                OR (s.status = 'interceding' AND s.r2 < 0.1)) AS via_breakthrough
        FROM bench_status s
        """
    )
    # Dates, each after the one before and before now: assigned within two
    # days, a released assignment after twelve hours, breakthrough after two
    # days or more, the end after three days or more.
    cursor.execute(
        """
        CREATE UNLOGGED TABLE bench_plan AS
        WITH dated AS (
            SELECT p.*,
                   (p.status <> 'new' AND NOT p.closed_from_new) AS assigned,
                   CASE WHEN p.status <> 'new' AND NOT p.closed_from_new
                        THEN p.created_at + make_interval(secs => 1800 + p.r3 * 171000) END AS assigned_at,
                   %(first_intercessor)s + ((hashint8(p.id)::bigint %% %(intercessors)s) + %(intercessors)s)
                                           %% %(intercessors)s AS primary_id,
                   1 + p.id %% %(leaders)s AS leader_id
            FROM bench_paths p
        ), staged AS (
            SELECT d.*,
                   CASE WHEN d.via_breakthrough
                        THEN least(d.assigned_at + make_interval(days => 2, secs => d.r4 * 60 * 86400),
                                   now() - interval '1 hour') END AS breakthrough_time
            FROM dated d
        ), ended AS (
            SELECT s.*,
                   CASE WHEN s.closed_from_new
                             THEN least(s.created_at + make_interval(days => 1, secs => s.r3 * 10 * 86400),
                                        now() - interval '30 minutes')
                        WHEN s.status IN ('answered', 'closed')
                             THEN least(coalesce(s.breakthrough_time, s.assigned_at)
                                        + make_interval(days => 3, secs => s.r1 * 120 * 86400),
                                        now() - interval '30 minutes') END AS end_time
            FROM staged s
        )
        SELECT e.id, e.created_at, e.status, e.assigned, e.assigned_at, e.primary_id, e.leader_id,
               e.r1, e.r2, e.r3, e.r4, e.via_breakthrough, e.closed_from_new, e.breakthrough_time, e.end_time,
               CASE WHEN e.assigned AND e.r4 < 0.3
                    THEN %(first_intercessor)s
                         + ((e.primary_id - %(first_intercessor)s) + 1 + e.id %% (%(intercessors)s - 1))
                           %% %(intercessors)s END AS second_id,
               CASE WHEN e.assigned AND e.r3 < 0.1
                    THEN %(first_intercessor)s
                         + ((e.primary_id - %(first_intercessor)s) + %(intercessors)s / 2) %% %(intercessors)s
                    END AS released_id,
               CASE WHEN e.status = 'interceding' AND e.via_breakthrough
                    THEN e.breakthrough_time + (now() - e.breakthrough_time) * (0.2 + 0.6 * e.r1) END AS back_time,
               -- The last prayer: the end for finished requests; for open
               -- ones, between now and eight days ago (some coverage gaps).
               CASE WHEN e.assigned
                    THEN coalesce(e.end_time, greatest(now() - make_interval(secs => e.r2 * e.r2 * 8 * 86400),
                                                       e.assigned_at + interval '1 hour')) END AS last_prayer
        FROM ended e
        """,
        params,
    )
    # The known intercessor carries at least one open confidential request
    # (the request page measured for both personas).
    cursor.execute(
        """
        UPDATE bench_plan
        SET primary_id = %(first_intercessor)s,
            second_id = CASE WHEN second_id = %(first_intercessor)s THEN NULL ELSE second_id END,
            released_id = CASE WHEN released_id = %(first_intercessor)s THEN NULL ELSE released_id END
        WHERE id = (SELECT max(id) FROM bench_plan WHERE status = 'interceding' AND id %% 10 = 3)
        """,
        params,
    )
    cursor.execute("ALTER TABLE bench_plan ADD PRIMARY KEY (id)")
    cursor.execute("ANALYZE bench_plan")


def _has_column(cursor, table: str, column: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s AND column_name = %s",
        [table, column],
    )
    return cursor.fetchone() is not None


def _insert_requests(cursor, params: dict) -> None:
    # Kept on the request by services.log_prayer since migration 0008 (its
    # backfill ran on the empty database): the time of the last prayer below;
    # and, by services' moves, the last move into intercession (the story's
    # entries 5 and 11 of _insert_status_updates).
    last_prayed = _has_column(cursor, "requests_app_prayerrequest", "last_prayed_at")
    entered = "CASE WHEN p.assigned THEN greatest(p.assigned_at + interval '1 millisecond', p.back_time) END"
    # Since migration 0013: shared with the team by the first assignment, as
    # services.assign shares it (a request never assigned waits on triage).
    shared = _has_column(cursor, "requests_app_prayerrequest", "shared_with_team_at")
    # Since migration 0014: what the requester confirmed ("" as before it was asked).
    consent = _has_column(cursor, "requests_app_prayerrequest", "consent")
    # Since migration 0018: the weekly prayer e-mail, on unless stopped.
    prayer_news = _has_column(cursor, "requests_app_prayerrequest", "wants_prayer_news")
    # Since migration 0020: the language it was asked in ("": the church's).
    language = _has_column(cursor, "requests_app_prayerrequest", "language")
    # Every text column holds an envelope (or "", as the field keeps an
    # empty value), and the address's digest is that of the address picked.
    cursor.execute(
        f"""
        INSERT INTO requests_app_prayerrequest (
            id, for_whom, category, title, details, is_urgent, is_confidential, status,
            requester_name, requester_email, requester_email_digest, wants_updates, followup_token_hash,
            created_at, updated_at, breakthrough_at, answered_at, closed_at
            {", last_prayed_at, entered_intercession_at" if last_prayed else ""}
            {", shared_with_team_at" if shared else ""}
            {", consent" if consent else ""}
            {", wants_prayer_news" if prayer_news else ""}
            {", language" if language else ""})
        SELECT p.id,
               {_chosen("for_whom_sealed", FOR_WHOM_INDEX)},
               {_pick(CATEGORIES, "((p.id * 31) %% 97) / 97.0")},
               {_chosen("titles_sealed", TITLE_INDEX)},
               {_chosen("details_sealed", DETAILS_INDEX)},
               (p.id * 11) %% 100 < 8,
               p.id %% 10 = 3,
               p.status,
               CASE WHEN p.r2 < 0.6 THEN {_chosen("names_sealed", NAME_INDEX)} ELSE '' END,
               CASE WHEN p.r2 < 0.4 THEN {_chosen("addresses_sealed", ADDRESS_INDEX)} ELSE '' END,
               CASE WHEN p.r2 < 0.4 THEN {_chosen("address_digests", ADDRESS_INDEX)} ELSE '' END,
               p.r2 < 0.2,
               encode(sha256(('bench-followup-' || p.id)::bytea), 'hex'),
               p.created_at,
               greatest(p.created_at, p.assigned_at, p.breakthrough_time, p.back_time, p.end_time),
               CASE WHEN p.status IN ('breakthrough', 'answered', 'closed') THEN p.breakthrough_time END,
               CASE WHEN p.status = 'answered' THEN p.end_time END,
               CASE WHEN p.status = 'closed' THEN p.end_time END
               {f", p.last_prayer, {entered}" if last_prayed else ""}
               {", CASE WHEN p.assigned THEN p.assigned_at END" if shared else ""}
               {", ''" if consent else ""}
               {", true" if prayer_news else ""}
               {", ''" if language else ""}
        FROM bench_plan p
        ORDER BY p.id
        """,  # noqa: S608
        params,
    )


def _insert_search_digests(cursor, params: dict) -> None:
    """The blind index the services keep (PrayerRequest.index_text): one row
    per distinct word digest of the request's title, "for whom" and
    details, picked with the same indexes as the text itself."""
    words = " || ' ' || ".join(
        _chosen(parameter, index)
        for parameter, index in (
            ("titles_digests", TITLE_INDEX),
            ("for_whom_digests", FOR_WHOM_INDEX),
            ("details_digests", DETAILS_INDEX),
        )
    )
    cursor.execute(
        f"""
        INSERT INTO requests_app_searchdigest (prayer_request_id, digest)
        SELECT p.id, w.digest
        FROM bench_plan p
        CROSS JOIN LATERAL (
            SELECT DISTINCT u.digest FROM unnest(string_to_array({words}, ' ')) AS u (digest) WHERE u.digest <> ''
        ) AS w
        """,  # noqa: S608
        params,
    )


def _insert_assignments(cursor, params: dict) -> None:
    # Closing or answering does not release anyone (services.move), so the
    # assignments of finished requests stay active, as the app leaves them.
    cursor.execute(
        """
        INSERT INTO requests_app_assignment (prayer_request_id, intercessor_id, assigned_by_id, assigned_at,
                                             released_at, released_by_id, request_open)
        SELECT p.id, a.intercessor_id, p.leader_id, p.assigned_at, a.released_at, a.released_by_id,
               p.status IN ('new', 'interceding', 'breakthrough')
        FROM bench_plan p
        CROSS JOIN LATERAL (VALUES
            (p.primary_id, NULL::timestamptz, NULL::int),
            (p.second_id, NULL::timestamptz, NULL::int),
            (p.released_id, p.assigned_at + interval '12 hours', p.leader_id)
        ) AS a (intercessor_id, released_at, released_by_id)
        WHERE p.assigned AND a.intercessor_id IS NOT NULL
        ORDER BY p.id
        """,
        params,
    )


def _insert_status_updates(cursor, params: dict) -> None:
    """Each request's story, in the order services.py writes it."""
    note = _chosen("notes_sealed", NOTE_INDEX)
    private_note = _chosen("private_notes_sealed", NOTE_INDEX)
    cursor.execute(
        f"""
        INSERT INTO requests_app_statusupdate (prayer_request_id, author_id, kind, intercessor_id, from_status,
                                               to_status, note, visibility, created_at)
        SELECT p.id, u.author_id, u.kind, u.intercessor_id, u.from_status, u.to_status, u.note, u.visibility, u.at
        FROM bench_plan p
        CROSS JOIN LATERAL (VALUES
            -- (seq, present, author, kind, intercessor, from, to, note, visibility, at)
            (1, true, NULL::int, 'submitted', NULL::int, '', 'new', '', 'requester', p.created_at),
            (2, p.assigned, p.leader_id, 'assigned', p.primary_id, 'new', 'new', '', 'team', p.assigned_at),
            (3, p.assigned AND p.second_id IS NOT NULL, p.leader_id, 'assigned', p.second_id, 'new', 'new', '',
             'team', p.assigned_at),
            (4, p.assigned AND p.released_id IS NOT NULL, p.leader_id, 'assigned', p.released_id, 'new', 'new', '',
             'team', p.assigned_at),
            (5, p.assigned, p.leader_id, 'move', NULL, 'new', 'interceding', '', 'requester',
             p.assigned_at + interval '1 millisecond'),
            (6, p.assigned, p.primary_id, 'note', NULL, 'interceding', 'interceding', {note}, 'team',
             p.assigned_at + interval '2 hours'),
            (7, p.assigned AND p.r2 < 0.2, p.primary_id, 'note', NULL, 'interceding', 'interceding',
             {private_note}, 'private', p.assigned_at + interval '3 hours'),
            (8, p.assigned AND p.r3 >= 0.8, p.leader_id, 'note', NULL, 'interceding', 'interceding',
             %(note_for_the_requester_sealed)s, 'requester', p.assigned_at + interval '4 hours'),
            (9, p.released_id IS NOT NULL, p.leader_id, 'released', p.released_id, 'interceding', 'interceding',
             '', 'team', p.assigned_at + interval '12 hours'),
            (10, p.via_breakthrough, p.primary_id, 'move', NULL, 'interceding', 'breakthrough', '', 'team',
             p.breakthrough_time),
            (11, p.back_time IS NOT NULL, p.primary_id, 'move', NULL, 'breakthrough', 'interceding',
             %(note_back_to_intercession_sealed)s, 'team', p.back_time),
            (12, p.end_time IS NOT NULL, CASE WHEN p.status = 'closed' THEN p.leader_id ELSE p.primary_id END,
             'move', NULL,
             CASE WHEN p.closed_from_new THEN 'new' WHEN p.via_breakthrough THEN 'breakthrough'
                  ELSE 'interceding' END,
             p.status, '', 'requester', p.end_time)
        ) AS u (seq, present, author_id, kind, intercessor_id, from_status, to_status, note, visibility, at)
        WHERE u.present
        """,  # noqa: S608
        params,
    )


def _insert_prayer_logs(cursor, params: dict) -> None:
    """Ten prayers per assigned request, spread from the assignment to its
    end (or, for open requests, to a last prayer between now and eight days
    ago, so that some are coverage gaps)."""
    note = _chosen("notes_sealed", f"(1 + floor(random() * {len(NOTES)})::int)")
    # The new and the withdrawn have none, so the others get a little more
    # than ten each: PRAYERS_PER_REQUEST per request on average overall.
    cursor.execute("SELECT count(*) FROM bench_plan WHERE assigned")
    assigned = max(cursor.fetchone()[0], 1)
    per_assigned = params["prayers"] * params["n"] / assigned
    params = {**params, "whole": int(per_assigned), "fraction": per_assigned - int(per_assigned)}
    cursor.execute(
        f"""
        INSERT INTO requests_app_prayerlog (prayer_request_id, intercessor_id, prayed_at, minutes, fasted, note,
                                            submission_key)
        SELECT p.id,
               CASE WHEN p.second_id IS NOT NULL AND k %% 2 = 0 THEN p.second_id ELSE p.primary_id END,
               p.assigned_at + interval '1 hour'
                 + (p.last_prayer - p.assigned_at - interval '1 hour') * (k::float8 / c.prayers),
               CASE WHEN random() < 0.8 THEN 5 + floor(random() * 56)::int END,
               random() < 0.05,
               CASE WHEN random() < 0.1 THEN {note} ELSE '' END,
               ''
        FROM bench_plan p
        CROSS JOIN LATERAL (SELECT %(whole)s + (p.r1 < %(fraction)s)::int AS prayers) c
        CROSS JOIN LATERAL generate_series(1, c.prayers) k
        WHERE p.assigned
        """,  # noqa: S608
        params,
    )


def _reset_sequences(cursor) -> None:
    for table in ("auth_user", "auth_user_groups", "requests_app_intercessorprofile", *BULK_TABLES):
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"  # noqa: S608
        )


def _counts(cursor) -> dict[str, int]:
    counts = {}
    for label, table in (
        ("users", "auth_user"),
        ("intercessor profiles", "requests_app_intercessorprofile"),
        ("prayer requests", "requests_app_prayerrequest"),
        ("search digests", "requests_app_searchdigest"),
        ("assignments", "requests_app_assignment"),
        ("status updates", "requests_app_statusupdate"),
        ("prayer log", "requests_app_prayerlog"),
    ):
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant table names
        counts[label] = cursor.fetchone()[0]
    cursor.execute("SELECT status, count(*) FROM requests_app_prayerrequest GROUP BY status ORDER BY status")
    for status, count in cursor.fetchall():
        counts[f"  status {status}"] = count
    return counts


def _recreate_database(url: str, name: str) -> None:
    import psycopg

    parts = urlsplit(url)
    maintenance_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _exported_key_id() -> str:
    """The id of the newest key INTERCESSION_ENCRYPTION_KEYS names in the
    environment ("" if none is exported: bench.settings then makes a random
    one per process, which no later process can read with)."""
    from requests_app.privacy.keys import parse_keys

    values = [item.strip() for item in os.environ.get("INTERCESSION_ENCRYPTION_KEYS", "").split(",") if item.strip()]
    return parse_keys(values)[0].id if values else ""


def generated_size(url: str, name: str) -> int | None:
    """The size `main` generated into database `name`, or None if it was
    not made (completely) by this generator, or its text was sealed with
    another key than the one exported now (it could not be read)."""
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
    match = re.fullmatch(r"bench\.generate size=(\d+) key=([0-9a-f]+)", (row or [None])[0] or "")
    if not match or match.group(2) != _exported_key_id():
        return None
    return int(match.group(1))


def _mark_database(url: str, name: str, size: int, key_id: str) -> None:
    import psycopg

    if not re.fullmatch(r"[0-9a-f]+", key_id):
        raise ValueError("a key id is hex digits")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS 'bench.generate size={int(size)} key={key_id}'")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, required=True, help="how many prayer requests")
    parser.add_argument("--database-url", required=True, help="postgres://…/intercession_bench_<size>")
    parser.add_argument("--force", action="store_true", help="allow a database name outside intercession_bench*")
    args = parser.parse_args(argv)

    if args.size < 1:
        parser.error("--size must be at least 1")
    parts = urlsplit(args.database_url)
    if parts.scheme not in ("postgres", "postgresql"):
        parser.error("--database-url must be a postgres:// URL")
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z0-9_]+", name):
        parser.error(f"unsafe database name {name!r}")
    if not SAFE_DATABASE_NAME.match(name) and not args.force:
        parser.error(f"{name!r} will be dropped: name it intercession_bench_… or intercession_perf_…, or --force")

    started = time.perf_counter()
    print(f"Generating {args.size:,} requests into {name}", flush=True)
    if not _exported_key_id():
        print(
            "  INTERCESSION_ENCRYPTION_KEYS is not exported: the text is sealed with a random key of this process,\n"
            "  so bench.measure cannot read it. Export one key for both (bench.run does).",
            flush=True,
        )
    _recreate_database(args.database_url, name)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"  {'database recreated and migrated':<44} {time.perf_counter() - started:7.1f} s", flush=True)
    from requests_app.privacy import keys

    counts = fill(args.size)
    _mark_database(args.database_url, name, args.size, keys.newest_key_id())
    for label, count in counts.items():
        print(f"  {label:<24} {count:>12,}")
    print(f"Done in {time.perf_counter() - started:.1f} s. Logins: {LEADER_USERNAME} and {INTERCESSOR_USERNAME},")
    print(f"password {KNOWN_PASSWORD!r}.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
