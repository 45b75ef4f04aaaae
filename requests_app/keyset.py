"""
Keyset ("cursor") pagination for the long lists.

An offset page (`LIMIT 25 OFFSET 25000`) makes the database walk past every
row before it, and its "page 12 of 4,000" needs a `COUNT(*)` over the whole
list on every view: both grow with the history. A keyset page starts right
after the last row the reader saw, found through an index, so the thousandth
page costs what the first does. Links say "newer/older" or "next/previous",
never "page N of M".

A list's order is a `Keyset`: its keys, all in one direction, the last of
them unique (the primary key) so that no two rows tie. A boolean sorted the
other way is compared through its negation (urgent first is `NOT is_urgent`
ascending), which keeps every key in one direction: the whole key is then one
row comparison, `(k1, k2, k3) > (v1, v2, v3)`, which PostgreSQL answers with
one index seek, and SQLite (3.15+) understands too.

The cursor in the address is signed: a tampered or outdated one is refused
and the reader gets the first page with a note, never an error.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import BooleanField, CharField, DateTimeField, F, Func, IntegerField, QuerySet, Value
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

PAGE_SIZE = 25

_FORWARD, _BACKWARD = "n", "p"
_OUTPUT_FIELDS = {bool: BooleanField, datetime: DateTimeField, int: IntegerField, str: CharField}


class _RowComparison(Func):
    """`(a, b, c) > (x, y, z)`: a row comparison, one index seek on PostgreSQL."""

    output_field = BooleanField()

    def __init__(self, keys: Sequence, operator: str, values: Sequence):
        self.width, self.operator = len(keys), operator
        super().__init__(*keys, *values)

    def as_sql(self, compiler, connection, **extra_context):
        compiled = [compiler.compile(expression) for expression in self.get_source_expressions()]
        params = [param for _, expression_params in compiled for param in expression_params]
        left = ", ".join(sql for sql, _ in compiled[: self.width])
        right = ", ".join(sql for sql, _ in compiled[self.width :])
        return f"({left}) {self.operator} ({right})", params


@dataclass(frozen=True)
class Key:
    """One key of an order: an attribute of the rows (a field or an
    annotation) of type `kind`; `negated` sorts a boolean the other way."""

    name: str
    kind: type
    negated: bool = False

    def expression(self):
        return ~F(self.name) if self.negated else F(self.name)

    def value_of(self, row) -> Any:
        value = getattr(row, self.name)
        return (not value) if self.negated else value

    def to_json(self, value) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    def from_json(self, raw) -> Any:
        """The value back from the cursor, or ValueError if it is not one."""
        if self.kind is datetime:
            parsed = parse_datetime(raw) if isinstance(raw, str) else None
            if parsed is None:
                raise ValueError("not a moment")
            return parsed
        if type(raw) is not self.kind:
            raise ValueError("wrong type")
        return raw

    def param(self, value) -> Value:
        return Value(value, output_field=_OUTPUT_FIELDS[self.kind]())


@dataclass
class KeysetPage:
    """One page of a keyset list, for the templates: its rows, and the
    cursors of the pages before and after it ("" when there is none)."""

    object_list: list
    previous_cursor: str = ""
    next_cursor: str = ""
    # The cursor given could not be read: this is the first page instead.
    cursor_refused: bool = False
    # The cursor's page has emptied since (its rows were assigned, prayed
    # for, closed): this is the first page instead.
    list_changed: bool = False
    param: str = "page"
    links: dict = field(default_factory=dict)

    @property
    def has_previous(self) -> bool:
        return bool(self.previous_cursor)

    @property
    def has_next(self) -> bool:
        return bool(self.next_cursor)

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


@dataclass(frozen=True)
class Keyset:
    """An order of a list, for keyset pages. `name` keeps one list's cursors
    from being replayed on another."""

    name: str
    keys: tuple[Key, ...]
    descending: bool = False

    def order_by(self) -> list:
        return [key.expression().desc() if self.descending else key.expression().asc() for key in self.keys]

    def _reversed_order_by(self) -> list:
        return [key.expression().asc() if self.descending else key.expression().desc() for key in self.keys]

    def _cursor(self, direction: str, row) -> str:
        values = [key.to_json(key.value_of(row)) for key in self.keys]
        return signing.dumps([direction, *values], salt=f"keyset:{self.name}", compress=False)

    def _read(self, cursor: str) -> tuple[str, list]:
        """(direction, key values) of a cursor, or ValueError."""
        try:
            direction, *raw = signing.loads(cursor, salt=f"keyset:{self.name}")
        except (signing.BadSignature, ValueError, TypeError):
            raise ValueError("unreadable cursor") from None
        if direction not in (_FORWARD, _BACKWARD) or len(raw) != len(self.keys):
            raise ValueError("unreadable cursor")
        return direction, [key.from_json(value) for key, value in zip(self.keys, raw, strict=True)]

    def page(
        self, queryset: QuerySet, cursor: str | None, *, size: int = PAGE_SIZE, param: str = "page"
    ) -> KeysetPage:
        """The page of `queryset` that `cursor` points to (the first page
        without one, with one that cannot be read, or when the rows of the
        cursor's page have all left the list). One query (two then)."""
        direction, values, refused = _FORWARD, None, False
        if cursor:
            try:
                direction, values = self._read(cursor)
            except ValueError:
                refused = True
        expressions = [key.expression() for key in self.keys]
        params = [key.param(value) for key, value in zip(self.keys, values or (), strict=False)]
        forward = direction == _FORWARD
        if values is None:
            rows = list(queryset.order_by(*self.order_by())[: size + 1])
        elif forward:
            operator = "<" if self.descending else ">"
            rows = list(
                queryset.filter(_RowComparison(expressions, operator, params)).order_by(*self.order_by())[: size + 1]
            )
        else:
            operator = ">" if self.descending else "<"
            rows = list(
                queryset.filter(_RowComparison(expressions, operator, params)).order_by(*self._reversed_order_by())[
                    : size + 1
                ]
            )
        if values is not None and not rows:
            # A next or previous link is only given when rows lay that way:
            # they have left the list since. Not an empty page that reads
            # as "nothing here" while the list still has rows: its start.
            page = self.page(queryset, None, size=size, param=param)
            page.list_changed = True
            return page
        more = len(rows) > size
        rows = rows[:size]
        if not forward:
            rows.reverse()
        page = KeysetPage(object_list=rows, cursor_refused=refused, param=param)
        if rows:
            # Going forward, there is a page before unless this is the first;
            # going back, there is one after (the page we came from).
            if (forward and values is not None) or (not forward and more):
                page.previous_cursor = self._cursor(_BACKWARD, rows[0])
            if (forward and more) or not forward:
                page.next_cursor = self._cursor(_FORWARD, rows[-1])
        return page


def page_links(request: HttpRequest, page: KeysetPage, anchor: str = "") -> KeysetPage:
    """Set the page's previous/next addresses: this address with only the
    page's own cursor changed, so filters and other lists' pages stay."""
    suffix = f"#{anchor}" if anchor else ""

    def link(cursor: str) -> str:
        query = request.GET.copy()
        query[page.param] = cursor
        return f"?{query.urlencode()}{suffix}"

    page.links = {
        "previous": link(page.previous_cursor) if page.previous_cursor else "",
        "next": link(page.next_cursor) if page.next_cursor else "",
    }
    return page


def keyset_page(
    request: HttpRequest, queryset: QuerySet, keyset: Keyset, *, param: str = "page", anchor: str = ""
) -> KeysetPage:
    """The page the request's `param` points to, with its links."""
    page = keyset.page(queryset, request.GET.get(param), param=param)
    return page_links(request, page, anchor)


def capped_count(queryset: QuerySet, cap: int = 1000) -> tuple[int, bool]:
    """How many rows, counting no further than `cap`: (count, more than cap).
    Bounded work however long the list, for "1,000+ requests"."""
    counted = queryset.order_by()[: cap + 1].count()
    return min(counted, cap), counted > cap
