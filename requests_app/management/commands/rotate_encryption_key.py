"""Seal every encrypted value with the newest key: `python manage.py rotate_encryption_key`.

Rotating a key: put a new key first in INTERCESSION_ENCRYPTION_KEYS and keep
the old ones after it, restart every process that reads the settings (the web
server, the outbox worker), run this command, and remove an old key only once
the command says that no value needs it any more. `--check` counts what still
needs an old key and changes nothing (exit status 1 while something does).

Every encrypted column of every model (the fields of
`requests_app.privacy.fields`) is read as stored, and a value sealed by
another key than the newest is opened and sealed again with the newest. The
blind index of each prayer request (its address digest and its
`SearchDigest` rows) is made again wherever it is not what the newest key
gives, also when the request's text is already sealed with the newest key.

Online and resumable. Table by table, in batches ordered by primary key:
an unlocked look picks the rows of a batch that still need an old key; then
one short transaction locks those rows (select_for_update), reads them as
stored inside the lock and writes them back, so a change made meanwhile is
either read and kept or waits for the batch and is written after it. Only
rows that need it are locked and written: a second run writes nothing and
says so, and an interrupted run is finished by running it again. Empty
values stay empty.

The cost: the blind index does not say which key made it, so finding the
requests indexed with an old key means opening every request and computing
its digests. Each run (`--check` too) reads and decrypts every prayer
request, up to three times (to count, to rotate, to count what is left), and
re-indexing one request costs three queries. Other tables are narrowed in
SQL to the rows whose envelopes do not name the newest key.

A value no configured key opens is left as it is, with the rest of its row:
the command names its table, row, column and key id (never any of its text),
does everything else, and ends with an error.
"""

import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models import Q, Value
from django.db.models.functions import Left

from requests_app.models import PrayerRequest, SearchDigest
from requests_app.privacy import blind_index, keys
from requests_app.privacy.fields import EncryptedTextField, stored

MAX_BATCH_SIZE = 10_000
# How many values that no key opens the error names; every one is on stderr.
NAMED_UNREADABLE = 20
_SEALED = "sealed_"
_HEAD = "head_"


@dataclass(frozen=True)
class Unreadable:
    """A value no configured key opens: where it is, never what it holds."""

    table: str
    pk: int
    column: str
    key_id: str

    def __str__(self) -> str:
        return f"{self.table} id {self.pk} ({self.column}, key id {self.key_id or 'none: not an envelope'})"


@dataclass(frozen=True)
class Table:
    """A model with encrypted columns."""

    model: type[models.Model]
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.model._meta.db_table

    @property
    def is_indexed(self) -> bool:
        return self.model is PrayerRequest

    def rows(self, queryset: models.QuerySet, *extra: str, limit: int | None = None) -> list[tuple]:
        """(pk, *extra, {column: envelope}) for the rows of `queryset`, by pk."""
        sealed = queryset.annotate(**{_SEALED + column: stored(column) for column in self.columns}).order_by("pk")
        values = sealed.values_list("pk", *extra, *[_SEALED + column for column in self.columns])
        width = 1 + len(extra)
        return [
            (*row[:width], dict(zip(self.columns, row[width:], strict=True)))
            for row in (values if limit is None else values[:limit])
        ]

    def under_old_keys(self) -> models.QuerySet:
        """The rows with a value that is not sealed with the newest key (a
        prefix compared exactly: LIKE ignores case on SQLite)."""
        header = f"{keys.VERSION}:{keys.newest_key_id()}:"
        heads = {_HEAD + column: Left(stored(column), len(header)) for column in self.columns}
        condition = Q()
        for column in self.columns:
            condition |= ~Q(**{f"{_HEAD}{column}": ""}) & ~Q(**{f"{_HEAD}{column}": header})
        return self.model._base_manager.annotate(**heads).filter(condition)


@dataclass
class Row:
    """A row as stored, opened, and what it needs."""

    pk: int
    sealed: dict[str, str]
    opened: dict[str, str] = field(default_factory=dict)
    unreadable: list[Unreadable] = field(default_factory=list)
    reseal: bool = False
    reindex: bool = False
    # The request itself, for `index_text`, if the table is indexed.
    prayer_request: PrayerRequest | None = None

    @property
    def needs_work(self) -> bool:
        return bool(self.unreadable) or self.reseal or self.reindex


@dataclass
class Tally:
    """What one table needs (a survey), or what was done to it."""

    rows: int = 0
    resealed: int = 0
    reindexed: int = 0
    unreadable: list[Unreadable] = field(default_factory=list)


def encrypted_tables() -> list[Table]:
    tables = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        columns = tuple(
            model_field.attname
            for model_field in model._meta.concrete_fields
            if isinstance(model_field, EncryptedTextField)
        )
        if columns:
            tables.append(Table(model, columns))
    return sorted(tables, key=lambda table: table.name)


def _is_current(envelope: str | None) -> bool:
    return not envelope or keys.key_id_of(envelope) == keys.newest_key_id()


def _examine(table: Table, pk: int, sealed: dict[str, str], email_digest: str = "", digests=frozenset()) -> Row:
    row = Row(pk, sealed)
    for column, envelope in sealed.items():
        if not envelope:
            row.opened[column] = envelope
            continue
        try:
            row.opened[column] = keys.decrypt(envelope)
        except keys.DecryptionError as error:
            row.unreadable.append(Unreadable(table.name, pk, column, error.key_id))
    if row.unreadable:
        return row
    row.reseal = not all(_is_current(envelope) for envelope in sealed.values())
    if table.is_indexed:
        prayer_request = row.prayer_request = PrayerRequest(pk=pk, **row.opened)
        row.reindex = (
            email_digest != blind_index.address_digest(prayer_request.requester_email)
            or set(digests) != prayer_request.word_digests()
        )
    return row


def _examined(table: Table, queryset: models.QuerySet, limit: int | None = None) -> list[Row]:
    """The rows of `queryset`, opened and judged."""
    if not table.is_indexed:
        return [_examine(table, pk, sealed) for pk, sealed in table.rows(queryset, limit=limit)]
    rows = table.rows(queryset, "requester_email_digest", limit=limit)
    digests = defaultdict(set)
    found = SearchDigest.objects.filter(prayer_request_id__in=[pk for pk, *_ in rows])
    for prayer_request_id, digest in found.values_list("prayer_request_id", "digest"):
        digests[prayer_request_id].add(digest)
    return [_examine(table, pk, sealed, email_digest, digests[pk]) for pk, email_digest, sealed in rows]


def _batches(table: Table, batch_size: int) -> Iterator[list[Row]]:
    """The rows that may need work, a batch at a time, looked at without a
    lock (the rows that need work are read again under one)."""
    candidates = table.model._base_manager.all() if table.is_indexed else table.under_old_keys()
    last = None
    while True:
        batch = candidates if last is None else candidates.filter(pk__gt=last)
        rows = _examined(table, batch, limit=batch_size)
        if not rows:
            return
        last = rows[-1].pk
        yield [row for row in rows if row.needs_work]


def _write_envelopes(table: Table, rows: list[Row]) -> None:
    """Write the newest key's envelopes as they are: a Value of a plain
    text field is not sealed again by the encrypted field."""
    changed = []
    for row in rows:
        instance = table.model(pk=row.pk)
        for column, envelope in row.sealed.items():
            if not _is_current(envelope):
                envelope = keys.encrypt(row.opened[column])
            setattr(instance, column, Value(envelope, output_field=models.TextField()))
        changed.append(instance)
    if changed:
        table.model._base_manager.bulk_update(changed, table.columns)


class Command(BaseCommand):
    help = (
        "Seal every encrypted value with the newest key of INTERCESSION_ENCRYPTION_KEYS and index every request "
        "with it, in batches, while the site runs; say when the old keys can be removed. --check: only count."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows locked and written in one transaction (default 500)."
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only count what still needs an old key, and change nothing; exit status 1 while something does.",
        )

    def handle(self, *args, batch_size: int, check: bool, **options):
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}.")
        try:
            newest, *older = [key.id for key in keys.configured()]
        except ValueError as error:  # its message never quotes a key
            raise CommandError(str(error)) from None
        tables = encrypted_tables()
        self.stdout.write(f"The newest key is {newest}; older keys configured: {', '.join(older) or 'none'}.")
        if check:
            self._check(tables, older)
            return
        done = {table: self._rotate(table, batch_size) for table in tables}
        self._summarise(done)
        unreadable = [value for tally in done.values() for value in tally.unreadable]
        if unreadable:
            raise CommandError(self._unreadable_message(unreadable))
        left = sum(self.survey(table, batch_size).rows for table in tables)
        self._say_what_is_left(left, older, again=True)

    def survey(self, table: Table, batch_size: int = 500) -> Tally:
        """What `table` still needs, without a lock and without a change."""
        tally = Tally()
        for rows in _batches(table, batch_size):
            for row in rows:
                if row.unreadable:
                    tally.unreadable += row.unreadable
                else:
                    tally.rows += 1
        return tally

    def _check(self, tables: list[Table], older: list[str]) -> None:
        unreadable, pending = [], 0
        for table in tables:
            tally = self.survey(table)
            pending += tally.rows
            unreadable += tally.unreadable
            why = " (their text is sealed with it, or their search index made with it)" if table.is_indexed else ""
            self.stdout.write(f"{table.name}: {tally.rows} rows still need an old key{why if tally.rows else ''}")
        for value in unreadable:
            self.stderr.write(f"No configured key opens {value}")
        if unreadable:
            raise CommandError(self._unreadable_message(unreadable))
        self._say_what_is_left(pending, older, again=False)
        if pending:
            sys.exit(1)

    def _rotate(self, table: Table, batch_size: int) -> Tally:
        survey = self.survey(table, batch_size)
        todo = survey.rows
        found = [f"{todo} rows to re-encrypt{' or re-index' if table.is_indexed else ''}"] if todo else []
        if survey.unreadable:
            found.append(f"{len(survey.unreadable)} values that no configured key opens")
        self.stdout.write(f"{table.name}: {', '.join(found) or 'nothing to do'}")
        tally = Tally()
        for candidates in _batches(table, batch_size):
            if not candidates:
                continue
            with transaction.atomic():
                locked = table.model._base_manager.select_for_update().filter(pk__in=[row.pk for row in candidates])
                rows = [row for row in _examined(table, locked) if row.needs_work]
                readable = [row for row in rows if not row.unreadable]
                _write_envelopes(table, [row for row in readable if row.reseal])
                for row in readable:
                    if row.reindex:
                        row.prayer_request.index_text()
            for row in rows:
                for value in row.unreadable:
                    self.stderr.write(f"No configured key opens {value}; left as it is")
                tally.unreadable += row.unreadable
            tally.rows += len(readable)
            tally.resealed += sum(row.reseal for row in readable)
            tally.reindexed += sum(row.reindex for row in readable)
            self.batch_done(table, tally, todo)
        return tally

    def batch_done(self, table: Table, tally: Tally, todo: int) -> None:
        """After each batch, once it is committed."""
        if not todo:
            return
        detail = f" ({tally.resealed} re-encrypted, {tally.reindexed} re-indexed)" if table.is_indexed else ""
        self.stdout.write(f"{table.name}: {tally.rows}/{todo}{detail}")

    def _summarise(self, done: dict[Table, Tally]) -> None:
        if not any(tally.rows or tally.unreadable for tally in done.values()):
            self.stdout.write(
                "Nothing needed doing: every value was sealed with the newest key and every request indexed with it."
            )
            return
        self.stdout.write("Done:")
        for table, tally in done.items():
            detail = f", {tally.reindexed} re-indexed" if table.is_indexed else ""
            if tally.unreadable:
                detail += f", {len(tally.unreadable)} values left that no configured key opens"
            self.stdout.write(f"  {table.name}: {tally.resealed} rows re-encrypted{detail}")

    def _say_what_is_left(self, pending: int, older: list[str], *, again: bool) -> None:
        if pending:
            cause = " (written meanwhile by a process that does not list the newest key first?)" if again else ""
            self.stdout.write(
                f"{pending} rows still need an old key{cause}: run rotate_encryption_key "
                f"{'again ' if again else ''}before removing any key from INTERCESSION_ENCRYPTION_KEYS."
            )
        elif older:
            self.stdout.write(
                f"No value needs an old key any more: {', '.join(older)} can be removed from "
                "INTERCESSION_ENCRYPTION_KEYS (keep a copy until the backups made before today are gone)."
            )
        else:
            self.stdout.write("No value needs an old key: only the newest key is configured.")

    @staticmethod
    def _unreadable_message(unreadable: list[Unreadable]) -> str:
        named = "; ".join(str(value) for value in unreadable[:NAMED_UNREADABLE])
        more = f"; and {len(unreadable) - NAMED_UNREADABLE} more" if len(unreadable) > NAMED_UNREADABLE else ""
        return (
            f"{len(unreadable)} stored values open with no key of INTERCESSION_ENCRYPTION_KEYS and were left as "
            f"they are: {named}{more}. Put the key that sealed them back in INTERCESSION_ENCRYPTION_KEYS (after "
            "the newest) and run rotate_encryption_key again; until then no old key may be removed. (A value "
            "without a key id is not encrypted at all: it was written past the app.)"
        )
