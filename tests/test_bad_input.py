"""
Bad input, sent to every door: every POST the app takes (the rows of
`test_attacks.PLANS`, posted by the persona who may make them) and every GET
filter of the team's lists, each field in turn given an over-long value (1
MB), a NUL, bytes that are not UTF-8, a right-to-left override, a zero-width
space, BEL and ESC, emoji and 4-byte characters, a negative and a huge
number, a value of the wrong type, SQL; each field left out and sent twice;
and a hostile `next`.

Whatever arrives:
- the answer is never a 5xx;
- where it changed nothing, it says why (a message under a field, or one at
  the top of the page it leads to);
- where it changed something, no row holds what should have been refused:
  a NUL, a control character but tab and line break, a bidirectional
  override, U+FFFD, text not in NFC, or the megabyte.

Each try runs in a transaction rolled back afterwards, so every one starts
from the same World.
"""

import unicodedata
from urllib.parse import quote

import pytest
from django.apps import apps
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from test_attacks import PLANS, POST_NAMES, WRITE, World, _tracked_models, changed_tables, is_logged_in, writes_in

from requests_app import church, text

MEGABYTE = "x" * 1_000_000
NOT_UTF_8 = object()  # sent as the raw bytes %FF%FE

BAD_VALUES = {
    "1 MB": MEGABYTE,
    "NUL": "Anna\x00Evil",
    "not UTF-8": NOT_UTF_8,
    "right-to-left override": "Anna\u202elive",
    "isolates": "\u2067Anna\u2069",
    "zero-width space": "An\u200bna",
    "BEL and ESC": "Anna\x07\x1b[2J",
    "emoji and 4-byte characters": "🙏🏽 𠜎 𝔸",  # noqa: RUF001
    "negative number": "-1",
    "huge number": "9" * 40,
    "not a number": "1e309",
    "wrong type": "[{}]",
    "SQL": "1' OR '1'='1'; --",
}
HOSTILE_NEXT = [
    "home-page",
    "=1+1",
    "🙏",
    "\x00",
    "' OR 1=1 --",
    "//evil.example.org/",
    "https://evil.example.org/",
    "/\\evil.example.org",
    "javascript:alert(1)",
    "/requests/999999/\x1b[31m",
]

# Fields a form has but its row in PLANS does not post.
MORE_FIELDS = {
    "ask": ["details", "requester_name", "requester_email", "wants_updates", "is_urgent", "website", "consent"],
    "followup_lost": ["website"],
    "request_pray": ["note", "fasted"],
    "prayer_session_prayed": ["note", "fasted"],
    "my_settings": ["new_requests", "prayer_reminders"],
    "webhook_detail": ["is_active"],
    "admin:requests_app_intercessorprofile_change": ["preferred_categories"],
}

# Answers that tell the person something went wrong, in the page itself.
ERROR_MARKS = ("invalid-feedback", "errorlist", "alert-danger", "alert-warning", 'role="alert"', "errornote")

# Tables a refusal writes on purpose: django-axes counts failed log-ins.
REFUSAL_LOGS = {"axes.AccessAttempt", "axes.AccessFailureLog", "axes.AccessLog"}


def _encode(pairs: list[tuple[str, object]]) -> str:
    encoded = []
    for name, value in pairs:
        if value is NOT_UTF_8:
            encoded.append(f"{quote(name)}=Anna%FF%FE")
        else:
            encoded.append(f"{quote(name)}={quote(str(value), safe='')}")
    return "&".join(encoded)


def _pairs(data: dict) -> list[tuple[str, object]]:
    pairs = []
    for name, value in data.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append((name, one))
    return pairs


def variants(name: str, data: dict) -> list[tuple[str, list]]:
    """(what is wrong, the pairs to post) for every field of the row."""
    pairs = _pairs(data)
    fields = list(dict.fromkeys([*data, *MORE_FIELDS.get(name, [])]))
    found = []
    for field in fields:
        others = [pair for pair in pairs if pair[0] != field]
        for label, value in BAD_VALUES.items():
            found.append((f"{field}: {label}", [*others, (field, value)]))
        if field in data:
            found.append((f"{field}: missing", others))
            found.append((f"{field}: sent twice", [*pairs, (field, "Anna\u202e")]))
    for hostile in HOSTILE_NEXT:
        found.append((f"next: {hostile!r}", [*pairs, ("next", hostile)]))
    found.append(("nothing at all", []))
    return found


def _forbidden(value: str) -> str | None:
    if len(value) >= len(MEGABYTE):
        return "the megabyte"
    if "\x00" in value:
        return "a NUL"
    if text.REPLACEMENT in value:
        return "U+FFFD"
    if any(character in text.BIDI_CONTROLS for character in value):
        return "a bidirectional control"
    if any(text.is_control(character) and character not in text.LAYOUT for character in value):
        return "a control character"
    if unicodedata.normalize("NFC", value) != value:
        return "text not in NFC"
    return None


def stored_problems(before: dict, after: dict) -> list[str]:
    problems = []
    for label in changed_tables(before, after):
        old = {repr(row) for row in before.get(label, [])}
        for row in after.get(label, []):
            if repr(row) in old:
                continue
            for value in row:
                if isinstance(value, str) and (problem := _forbidden(value)):
                    problems.append(f"{label} holds {problem}: {value[:60]!r}")
    return problems


def says_why(response) -> bool:
    body = response.content.decode(errors="replace")
    if any(mark in body for mark in ERROR_MARKS):
        return True
    return any(message.level >= 30 for message in get_messages(response.wsgi_request))


def _tables_written(queries: list[dict]) -> set[str]:
    """The labels of the models whose tables `queries` wrote to."""
    by_table = {model._meta.db_table: model._meta.label for model in _tracked_models()}
    return {
        by_table[match.group(1)]
        for query in queries
        if (match := WRITE.match(query["sql"])) and match.group(1) in by_table
    }


def _rows(labels: set[str]) -> dict:
    return {label: list(apps.get_model(label)._base_manager.order_by("pk").values_list()) for label in labels}


def _try(world: World, name: str, pairs: list) -> tuple:
    """The POST, in a transaction rolled back afterwards. Most bad input
    writes nothing: the rows are read (after, then before, by rolling back
    to a savepoint) only for the tables that were written."""
    cache.clear()  # rate limits
    church.forget()
    with transaction.atomic():
        plan = PLANS[name](world)
        client = Client()
        if plan.persona not in ("anonymous", "requester"):
            client.force_login(world.users[plan.persona])
        if plan.prepare:
            plan.prepare(client)
        savepoint = transaction.savepoint()
        with CaptureQueriesContext(connection) as queries:
            response = client.post(plan.url, _encode(pairs), content_type="application/x-www-form-urlencoded")
        written = _tables_written(queries.captured_queries)
        after = _rows(written)
        went_through = (plan.effect == "logout" and not is_logged_in(client)) or (
            name in ("login", "admin:login") and is_logged_in(client)
        )
        transaction.savepoint_rollback(savepoint)
        before = _rows(written)
        transaction.set_rollback(True)
    church.forget()
    return plan, response, before, after, went_through


@pytest.mark.parametrize("name", POST_NAMES)
def test_every_post_takes_bad_input_without_an_error_and_stores_none_of_it(db, name):
    world = World()
    failures = []
    with transaction.atomic():  # what the row posts (making it may write: an invitation)
        data = PLANS[name](world).data
        transaction.set_rollback(True)
    for what, pairs in variants(name, data):
        _plan, response, before, after, went_through = _try(world, name, pairs)
        if response.status_code >= 500:
            failures.append(f"{what}: {response.status_code}")
            continue
        changed = [label for label in changed_tables(before, after) if label not in REFUSAL_LOGS]
        if changed or went_through:
            failures += [f"{what}: {problem}" for problem in stored_problems(before, after)]
        elif not says_why(response):
            failures.append(f"{what}: changed nothing and said nothing ({response.status_code})")
    assert failures == []


# --- the GET filters ---------------------------------------------------------------

GET_FILTERS = {
    # url name: (persona, its parameters)
    "request_list": ("leader", ["q", "status", "category", "urgent", "confidential", "page"]),
    "export_requests": ("leader", ["q", "status", "category", "urgent", "confidential"]),
    "export_prayer_log": ("leader", ["since", "until", "q", "status"]),
    "triage": ("leader", ["page"]),
    "board": ("assigned", ["q", "category", "page"]),
    "my_assignments": ("assigned", ["page"]),
    "team": ("leader", ["page", "deactivated", "invitations"]),
    "coverage": ("leader", ["days", "page"]),
    "history": ("assigned", ["page", "prayers_page", "notes_page"]),
    "audit_log": ("leader", ["page"]),
    "request_detail": ("leader", ["story", "prayers", "access"]),
    "followup": ("requester", ["page"]),
    "dashboard": ("leader", ["days"]),
    "prayer_sheet": ("assigned", ["days"]),
    "login": ("anonymous", ["next"]),
    "ask": ("anonymous", ["category"]),
}


def _get_url(world: World, name: str) -> str:
    if name == "request_detail":
        return reverse(name, args=[world.request_id("confidential")])
    if name == "followup":
        return reverse(name, args=[world.tokens["confidential"]])
    return reverse(name)


@pytest.mark.parametrize("name", list(GET_FILTERS))
def test_every_get_filter_takes_bad_input_without_an_error_and_changes_nothing(db, name):
    world = World()
    persona, parameters = GET_FILTERS[name]
    client = Client()
    if persona not in ("anonymous", "requester"):
        client.force_login(world.users[persona])
    failures = []
    tries = [
        (f"{parameter}: {label}", [(parameter, value)])
        for parameter in parameters
        for label, value in BAD_VALUES.items()
    ]
    tries += [(f"{parameter}: sent twice", [(parameter, "1"), (parameter, "\u202e")]) for parameter in parameters]
    tries += [(f"next: {hostile!r}", [("next", hostile)]) for hostile in HOSTILE_NEXT]
    for what, pairs in tries:
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{_get_url(world, name)}?{_encode(pairs)}")
        if response.status_code >= 500:
            failures.append(f"{what}: {response.status_code}")
        if writes := writes_in(queries.captured_queries):
            failures.append(f"{what}: wrote {writes}")
    assert failures == []


def test_a_refused_search_says_why_and_shows_the_list(client, db):
    world = World()
    client.force_login(world.users["leader"])
    response = client.get(reverse("request_list"), {"q": "Anna\u202e"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "right-to-left override" in body
    assert "public request" in body


@pytest.mark.parametrize(("query", "says"), [("Anna\u202e", "right-to-left override"), ("x" * 101, "at most 100")])
def test_a_refused_board_search_says_why_and_shows_the_board(client, db, query, says):
    world = World()
    client.force_login(world.users["assigned"])
    response = client.get(reverse("board"), {"q": query})
    assert response.status_code == 200
    assert says in response.content.decode()
    assert response.context["page"].object_list


def test_it_would_notice_a_stored_override():
    before = {"requests_app.PrayerRequest": []}
    after = {"requests_app.PrayerRequest": [(1, "Anna\u202e")]}
    assert stored_problems(before, after) == [
        "requests_app.PrayerRequest holds a bidirectional control: 'Anna\\u202e'"
    ]
