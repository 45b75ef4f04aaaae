"""
The usual attacks, tried on every door of the app.

1. Cross-site request forgery: every URL that takes a POST (found through the
   URL resolver, so a new one fails `test_it_has_a_csrf_row_for_every_url`
   until it is covered here), posted by the persona who IS allowed to make
   that POST but without a valid CSRF token, is refused with 403 and changes
   nothing; the same POST with a token goes through.
2. No GET changes anything: every URL, every persona, every object id.
3. Text is shown as text: script tags, event handlers, `javascript:` URLs and
   template syntax typed into every form come back escaped on every page that
   shows them, and never reach an e-mail at all.
4. Mass assignment: fields a form does not have (status, confidentiality,
   author, intercessor, another request's id, a token hash...) are ignored.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from conftest import PASSWORD, bring_to, make_user
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.html import escape
from django.utils.http import urlsafe_base64_encode

from requests_app import church, colours, prayer_session, roles, services
from requests_app.models import (
    Assignment,
    Category,
    IntercessorProfile,
    Invitation,
    NotificationPreferences,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    TeamRole,
    UpdateKind,
    Visibility,
    Webhook,
    WebhookDelivery,
    hash_token,
)
from requests_app.team import accounts, api_tokens, invitations, webhooks

# --- shared helpers ------------------------------------------------------------

# An address of the church's stylesheet that is not today's.
STYLESHEET_VERSION = "0" * 12


def church_stylesheet_version() -> str:
    return colours.stylesheet(church.current().accent_colour).version


# Writes a GET may make on purpose: the session, and the audit trail of who
# opened a confidential request.
IGNORED_MODELS = {"Session", "AccessLogEntry"}
NEW_PASSWORD = "Correct-Horse-Battery-Staple-91"
CSRF_TOKEN_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FOLLOWUP_LINK = re.compile(r"/followup/([A-Za-z0-9_\-]{20,})/")


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate limits and lockouts may count in the cache: each test starts clean.
    cache.clear()
    yield
    cache.clear()


def _tracked_models():
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model.__name__ not in IGNORED_MODELS and model._meta.managed and not model._meta.proxy
    ]


def snapshot() -> dict:
    """Every row of every table (but the session and the audit log)."""
    return {model._meta.label: list(model._base_manager.order_by("pk").values_list()) for model in _tracked_models()}


WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+[`"]?(\w+)', re.IGNORECASE)


def ignored_tables() -> set[str]:
    return {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model.__name__ in IGNORED_MODELS
    }


def writes_in(queries: list[dict]) -> list[str]:
    """The SQL statements that wrote to a tracked table."""
    ignored = ignored_tables()
    return [
        query["sql"][:200]
        for query in queries
        if (match := WRITE.match(query["sql"])) and match.group(1) not in ignored
    ]


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(label for label in before.keys() | after.keys() if before.get(label) != after.get(label))


def non_admin_patterns() -> list[tuple[str, list[str]]]:
    """(url name, its parameters) for every URL of the project but Django's admin."""
    found = []

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                assert not pattern.namespace, f"a new namespace needs rows here: {pattern.namespace}"
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                assert pattern.name, f"every URL needs a name: {pattern.pattern}"
                found.append((pattern.name, sorted(pattern.pattern.regex.groupindex)))

    walk(get_resolver().url_patterns)
    return found


def csrf_token_for(client: Client) -> str:
    """A real CSRF token for this client, from a page that has a form."""
    response = client.get(reverse("ask"))
    assert response.status_code == 200
    match = CSRF_TOKEN_FIELD.search(response.content.decode())
    assert match, "the ask form carries no CSRF token"
    return match.group(1)


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- the world most tests start from -------------------------------------------


class World:
    """A leader, intercessors (assigned, other, released, spare), a
    superuser who is not a leader, and requests in several states with
    their follow-up tokens, prayers and notes."""

    def __init__(self):
        self.users = {
            "leader": make_user("lydia", roles.LEADERS, email="lydia@example.org"),
            "assigned": make_user("anna", roles.INTERCESSORS, email="anna@example.org"),
            "other": make_user("simeon", roles.INTERCESSORS),
            "released": make_user("barnabas", roles.INTERCESSORS),
            "spare": make_user("dorcas", roles.INTERCESSORS),
            "superuser": User.objects.create_superuser("root", "root@example.org", PASSWORD),
        }
        self.requests, self.tokens = {}, {}
        for key, status, confidential in [
            ("confidential", Status.INTERCEDING, True),
            ("public", Status.INTERCEDING, False),
            ("new", Status.NEW, True),
            ("breakthrough", Status.BREAKTHROUGH, False),
            ("closed", Status.CLOSED, True),
        ]:
            prayer_request, token = services.submit_request(
                for_whom="R.",
                title=f"{key} request",
                category=Category.FAMILY,
                is_confidential=confidential,
                requester_email="r@example.org",
                wants_updates=True,
            )
            bring_to(
                prayer_request,
                status,
                leader=self.users["leader"],
                intercessor=self.users["assigned"],
                released=self.users["released"] if status != Status.NEW else None,
            )
            prayer_request.refresh_from_db()
            self.requests[key], self.tokens[key] = prayer_request, token
        assigned = self.users["assigned"]
        for key in ("confidential", "public"):
            services.log_prayer(self.requests[key], intercessor=assigned, minutes=5, note="prayed")
            services.post_update(self.requests[key], actor=assigned, note="a team note", visibility=Visibility.TEAM)
            services.post_update(self.requests[key], actor=assigned, note="my journal", visibility=Visibility.PRIVATE)
        services.log_prayer(self.requests["public"], intercessor=self.users["other"], note="from the board")

    def request_id(self, key: str) -> int:
        return self.requests[key].pk

    def assignment(self, key: str, persona: str = "assigned") -> Assignment:
        return Assignment.objects.active().get(prayer_request=self.requests[key], intercessor=self.users[persona])

    def reset_link(self, persona: str = "leader") -> dict:
        user = self.users[persona]
        return {
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        }


@pytest.fixture
def world(db) -> World:
    return World()


# --- 1. CSRF -------------------------------------------------------------------


@dataclass
class Post:
    """A POST the persona is allowed to make, and what it does when it goes
    through: `db` (the database changes), `mail` (an e-mail is sent), or
    `logout` (the session ends)."""

    persona: str  # "anonymous", "requester" (an anonymous client with the link) or a World user
    url: str
    data: dict = field(default_factory=dict)
    expect: int = 302
    effect: str = "db"
    prepare: object = None  # callable(client): what the persona does first


def _prepare_reset(world: World):
    def visit(client: Client) -> None:
        # The e-mailed link: Django keeps its token in the session and moves
        # to the set-password URL.
        response = client.get(reverse("password_reset_confirm", kwargs=world.reset_link()))
        assert response.status_code == 302

    return visit


def _fresh_move(w: World) -> StatusUpdate:
    """A move the assigned intercessor has just made, which they may undo."""
    return services.move(w.requests["confidential"], Status.BREAKTHROUGH, actor=w.users["assigned"])


def _church_settings_data() -> dict:
    """The church's settings page as a new church has it, with a new name."""
    defaults = church.defaults()
    numbers = ["coverage_days", "reminder_prayer_gap_days", "reminder_waiting_hours", "reminder_breakthrough_days"]
    numbers.append("retention_days")
    data = {name: str(getattr(defaults, name)) for name in ["accent_colour", "default_language", *numbers]}
    data |= {f"category_{place}": value for place, value in enumerate(defaults.category_order, start=1)}
    return {**data, "name": "Grace Church", "form_open": "on", "confidential_by_default": "on", "asks_consent": "on"}


def _kept_off_the_board(world: World, key: str) -> int:
    """A public request a leader took off the board, to share again."""
    services.keep_off_board(world.requests[key], by=world.users["leader"])
    return world.request_id(key)


def _in_front_of_assigned(world: World) -> int:
    """A prayer session under way for the assigned intercessor: the id of
    the request in front of them."""
    user = world.users["assigned"]
    session = prayer_session.start(prayer_session.choose(user, include_board=True, categories=[]))
    return prayer_session.current_id(session)


def _invitation(world: World) -> Invitation:
    return invitations.invite(
        email="invited@example.org", name="Invited Person", role=TeamRole.INTERCESSOR, by=world.users["leader"]
    )


def _webhook(world: World, *, given_up: int = 0) -> Webhook:
    """The church's chat hook (with events it gave up on, if asked)."""
    hook, _secret = webhooks.create(
        by=world.users["leader"], name="Chat", url="https://chat.example.org/hook", chosen=["request.submitted"]
    )
    for _ in range(given_up):
        WebhookDelivery.objects.create(webhook=hook, event="ping", payload={}, attempts=99)
    return hook


# url name -> how its persona makes an allowed POST; None: the URL takes no POST
# (test_it_refuses_post_on_get_only_urls holds it to that).
PLANS = {
    "healthz": None,
    "ask": lambda w: Post(
        "anonymous",
        reverse("ask"),
        {"consent": "knows", "for_whom": "J.", "category": "health", "title": "Strength", "is_confidential": "on"},
    ),
    "ask_sent": None,
    "api_requests": None,
    "api_request": None,
    "api_schema": None,
    "api_docs": None,
    **{
        name: lambda w, name=name: Post("anonymous", reverse(name, args=[w.requests["public"].pk]), {}, expect=401)
        for name in ("api_request_pray", "api_request_update", "api_request_move")
    },
    "api_ask": lambda w: Post("anonymous", reverse("api_ask"), {"title": "Strength"}, expect=415),
    "embed_ask": lambda w: Post(
        "anonymous",
        reverse("embed_ask"),
        {"consent": "knows", "for_whom": "J.", "category": "health", "title": "Strength"},
        expect=200,
    ),
    "followup_help": None,
    # New links for the World's requester: their tokens change, after the response.
    "followup_lost": lambda w: Post("anonymous", reverse("followup_lost"), {"email": "r@example.org"}),
    "followup_lost_sent": None,
    "privacy_notice": None,
    # A team member's choice is also saved as their own (My settings).
    "set_language": lambda w: Post("leader", reverse("set_language"), {"language": "fr"}),
    "followup": None,
    "followup_update": lambda w: Post(
        "requester", reverse("followup_update", args=[w.tokens["confidential"]]), {"update-note": "From me"}
    ),
    "followup_praise": lambda w: Post(
        "requester", reverse("followup_praise", args=[w.tokens["confidential"]]), {"praise-note": "Manifested!"}
    ),
    "followup_withdraw": lambda w: Post(
        "requester", reverse("followup_withdraw", args=[w.tokens["confidential"]]), {"withdraw-note": ""}
    ),
    "followup_confidentiality": lambda w: Post(
        "requester", reverse("followup_confidentiality", args=[w.tokens["confidential"]]), {"confidential": "0"}
    ),
    "followup_prayer_news": lambda w: Post(
        "requester", reverse("followup_prayer_news", args=[w.tokens["confidential"]]), {"send": "0"}
    ),
    "followup_download": None,
    "followup_download_json": None,
    "followup_delete": lambda w: Post("requester", reverse("followup_delete", args=[w.tokens["confidential"]])),
    "home": None,
    "triage": None,
    "dashboard": None,
    "request_list": None,
    "export_requests": None,
    "export_prayer_log": None,
    "my_assignments": None,
    "board": None,
    "prayer_start": lambda w: Post(
        "assigned", reverse("prayer_start"), {"include_board": "on", "categories": ["family"], "action": "start"}
    ),
    "prayer_session": None,
    "prayer_session_prayed": lambda w: Post(
        "assigned",
        reverse("prayer_session_prayed"),
        {"request": _in_front_of_assigned(w), "submission_key": "csrf-key", "minutes": "10"},
    ),
    "prayer_session_skip": lambda w: Post(
        "assigned", reverse("prayer_session_skip"), {"request": _in_front_of_assigned(w)}
    ),
    "team": None,
    "team_invite": lambda w: Post(
        "leader", reverse("team_invite"), {"name": "New Comer", "email": "newcomer@example.org", "role": "leader"}
    ),
    "invitation_resend": lambda w: Post("leader", reverse("invitation_resend", args=[_invitation(w).pk])),
    "invitation_revoke": lambda w: Post("leader", reverse("invitation_revoke", args=[_invitation(w).pk])),
    "team_member_roles": lambda w: Post(
        "leader", reverse("team_member_roles", args=[w.users["spare"].pk]), {"change": "make_leader"}
    ),
    "team_member_limits": lambda w: Post(
        "leader", reverse("team_member_limits", args=[w.users["spare"].pk]), {"capacity": "4", "available": "on"}
    ),
    "team_member_deactivate": lambda w: Post("leader", reverse("team_member_deactivate", args=[w.users["spare"].pk])),
    "team_member_reactivate": lambda w: Post(
        "leader", reverse("team_member_reactivate", args=[make_user("demas", roles.INTERCESSORS, is_active=False).pk])
    ),
    "coverage": None,
    "prayer_sheet": None,
    "history": None,
    "church_settings": lambda w: Post("leader", reverse("church_settings"), _church_settings_data()),
    "audit_log": None,
    "church_stylesheet": None,
    "request_detail": None,
    "request_assign": lambda w: Post(
        "leader", reverse("request_assign", args=[w.request_id("new")]), {"intercessors": [w.users["spare"].pk]}
    ),
    "request_move": lambda w: Post(
        "assigned",
        reverse("request_move", args=[w.request_id("confidential")]),
        {"to_status": "breakthrough", "note": "", "visibility": "team"},
    ),
    "request_undo_move": lambda w: Post(
        "assigned",
        reverse("request_undo_move", args=[w.request_id("confidential")]),
        {"move": str(_fresh_move(w).pk)},
    ),
    "request_update": lambda w: Post(
        "assigned",
        reverse("request_update", args=[w.request_id("confidential")]),
        {"note": "A team note", "visibility": "team"},
    ),
    "request_pray": lambda w: Post(
        "assigned",
        reverse("request_pray", args=[w.request_id("confidential")]),
        {"submission_key": "csrf-key", "minutes": "10"},
    ),
    "request_confidential": lambda w: Post("leader", reverse("request_confidential", args=[w.request_id("public")])),
    # The team board's gate (tests/test_board_gate.py).
    "request_share": lambda w: Post("leader", reverse("request_share", args=[_kept_off_the_board(w, "breakthrough")])),
    "request_keep_off_board": lambda w: Post(
        "leader", reverse("request_keep_off_board", args=[w.request_id("public")])
    ),
    "request_flag": lambda w: Post(
        "other", reverse("request_flag", args=[w.request_id("public")]), {"reason": "Not for the board"}
    ),
    "request_keep_text": lambda w: Post(
        "leader",
        reverse("request_keep_text", args=[w.request_id("public")]),
        {"keep-until": "2099-01-01", "keep-reason": "asked by phone"},
    ),
    "request_erase": lambda w: Post(
        "leader",
        reverse("request_erase", args=[w.request_id("public")]),
        {"erase-confirm": "on", "erase-reason": "asked by phone"},
    ),
    "assignment_release": lambda w: Post(
        "assigned", reverse("assignment_release", args=[w.assignment("confidential").pk]), {"note": ""}
    ),
    "assignment_reassign": lambda w: Post(
        "leader",
        reverse("assignment_reassign", args=[w.assignment("confidential").pk]),
        {"intercessor": w.users["spare"].pk, "note": ""},
    ),
    "my_tokens": lambda w: Post("assigned", reverse("my_tokens"), {"name": "My phone"}, expect=200),
    "token_revoke": lambda w: Post(
        "assigned",
        reverse("token_revoke", args=[api_tokens.create(w.users["assigned"], name="Phone", read_only=False)[0].pk]),
        {},
    ),
    "team_tokens": None,
    "team_webhooks": lambda w: Post(
        "leader",
        reverse("team_webhooks"),
        {"name": "Chat", "url": "https://chat.example.org/hook", "events": ["request.submitted"]},
        expect=200,
    ),
    "webhook_detail": lambda w: Post(
        "leader",
        reverse("webhook_detail", args=[_webhook(w).pk]),
        {"name": "Renamed", "url": "https://chat.example.org/hook", "events": ["request.submitted"]},
    ),
    "webhook_secret": lambda w: Post("leader", reverse("webhook_secret", args=[_webhook(w).pk]), expect=200),
    "webhook_test": lambda w: Post("leader", reverse("webhook_test", args=[_webhook(w).pk])),
    "webhook_send_again": lambda w: Post("leader", reverse("webhook_send_again", args=[_webhook(w, given_up=1).pk])),
    "webhook_remove": lambda w: Post("leader", reverse("webhook_remove", args=[_webhook(w).pk])),
    "my_settings": lambda w: Post(
        "assigned",
        reverse("my_settings"),
        {
            "is_available": "on",
            "max_active_assignments": "4",
            "preferred_categories": ["health"],
            "my_assignments": "on",
            "delivery": "daily",
        },
    ),
    "login": lambda w: Post("anonymous", reverse("login"), {"username": "lydia", "password": PASSWORD}),
    "logout": lambda w: Post("leader", reverse("logout"), effect="logout"),
    "password_change": lambda w: Post(
        "leader",
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    ),
    "password_change_done": None,
    "password_reset": lambda w: Post(
        # The e-mail is written to the outbox once the answer has gone.
        "anonymous",
        reverse("password_reset"),
        {"email": "lydia@example.org"},
        effect="db",
    ),
    "password_reset_done": None,
    "password_reset_confirm": lambda w: Post(
        "anonymous",
        reverse("password_reset_confirm", kwargs={**w.reset_link(), "token": "set-password"}),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        prepare=_prepare_reset(w),
    ),
    "password_reset_complete": None,
    "password_link": lambda w: Post(
        "anonymous",
        reverse("password_link", args=[accounts.create_leader("newcomer@example.org", "New Comer")[1]]),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    ),
    # Django's admin protects itself; two samples prove it is wired in.
    "admin:login": lambda w: Post(
        "anonymous", reverse("admin:login"), {"username": "root", "password": PASSWORD, "next": "/admin/"}
    ),
    "admin:requests_app_intercessorprofile_change": lambda w: Post(
        "superuser",
        reverse(
            "admin:requests_app_intercessorprofile_change",
            args=[IntercessorProfile.objects.get(user=w.users["spare"]).pk],
        ),
        {"user": w.users["spare"].pk, "max_active_assignments": "7", "is_available": "on"},
    ),
}
ADMIN_SAMPLES = {"admin:login", "admin:requests_app_intercessorprofile_change"}
# POSTs taken without a CSRF token, and why no forger gains by them.
CSRF_EXEMPT = {
    # The request form in a frame on the church's website, where the browser
    # sends none of our cookies: a forged request is an anonymous request,
    # no more than the forger could send themselves, under the same limit.
    "embed_ask": "anonymous, needs no session",
    # The JSON API: a personal token in a header, which no forger's page can
    # make a browser send; a session opens nothing there (401). Asking through
    # it takes JSON alone, which another site cannot send without CORS.
    "api_request_pray": "a token in a header",
    "api_request_update": "a token in a header",
    "api_request_move": "a token in a header",
    "api_ask": "JSON only",
}
POST_NAMES = [name for name, plan in PLANS.items() if plan is not None and name not in CSRF_EXEMPT]
GET_ONLY_NAMES = [name for name, plan in PLANS.items() if plan is None]

# How a forger's POST comes without a valid token.
FORGERIES = ["no cookie, no token", "cookie, no token", "cookie, wrong token", "right token, foreign origin"]


def test_it_has_a_csrf_row_for_every_url():
    """A new URL fails here until PLANS says how it is posted (or None)."""
    names = {name for name, _params in non_admin_patterns()}
    assert set(PLANS) - ADMIN_SAMPLES == names, "add a row to PLANS for every URL name"


def _client_for(world: World, persona: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    if persona not in ("anonymous", "requester"):
        client.force_login(world.users[persona])
    return client


def _forger(world: World, plan: Post, forgery: str) -> tuple[Client, dict, dict]:
    """The persona's client, ready (logged in, link visited, cookie got),
    with the data and headers a forged POST carries."""
    client = _client_for(world, plan.persona)
    if plan.prepare:
        plan.prepare(client)
    data = dict(plan.data)
    extra = {}
    if forgery == "no cookie, no token":
        assert settings.CSRF_COOKIE_NAME not in client.cookies
    else:
        token = csrf_token_for(client)
        if forgery == "cookie, wrong token":
            data["csrfmiddlewaretoken"] = token[::-1] if token[::-1] != token else "x" * len(token)
        elif forgery == "right token, foreign origin":
            data["csrfmiddlewaretoken"] = token
            extra["HTTP_ORIGIN"] = "https://evil.example.org"
    return client, data, extra


@pytest.mark.parametrize("name", POST_NAMES)
def test_it_refuses_every_post_without_a_valid_csrf_token(world, name):
    plan = PLANS[name](world)
    for forgery in FORGERIES:
        was_logged_in = plan.persona not in ("anonymous", "requester")
        client, data, extra = _forger(world, plan, forgery)
        before = snapshot()
        mail.outbox.clear()
        response = client.post(plan.url, data, **extra)
        assert response.status_code == 403, (forgery, response.status_code, response.get("Location"))
        assert changed_tables(before, snapshot()) == [], forgery
        assert mail.outbox == [], forgery
        assert is_logged_in(client) == was_logged_in, forgery


@pytest.mark.parametrize("name", POST_NAMES)
def test_it_accepts_the_same_post_with_its_csrf_token(world, name):
    """So the refusals above are about the token, not about the POST."""
    plan = PLANS[name](world)
    client = _client_for(world, plan.persona)
    if plan.prepare:
        plan.prepare(client)
    data = {**plan.data, "csrfmiddlewaretoken": csrf_token_for(client)}
    before = snapshot()
    mail.outbox.clear()

    response = client.post(plan.url, data)

    assert response.status_code == plan.expect, (response.status_code, response.get("Location"))
    if plan.effect == "db":
        assert changed_tables(before, snapshot()) != [], "the POST went through but changed nothing"
    elif plan.effect == "mail":
        assert len(mail.outbox) == 1
    elif plan.effect == "logout":
        assert not is_logged_in(client)


@pytest.mark.parametrize("name", sorted(CSRF_EXEMPT))
def test_a_post_taken_without_a_token_gives_a_forger_nothing_of_the_visitor(world, name):
    """Forged from a leader's browser, the embedded form makes the same
    anonymous request as from anyone's: nothing of the leader's session is
    used or changed, and no one's account is touched."""
    plan = PLANS[name](world)
    before = snapshot()
    assert _client_for(world, "anonymous").post(plan.url, plan.data).status_code == plan.expect
    by_anyone = changed_tables(before, snapshot())
    client = _client_for(world, "leader")
    before_session = dict(client.session.items())
    before = snapshot()

    response = client.post(plan.url, plan.data, HTTP_ORIGIN="https://evil.example.org")

    assert response.status_code == plan.expect
    assert changed_tables(before, snapshot()) == by_anyone
    assert dict(client.session.items()) == before_session
    assert is_logged_in(client)
    assert not response.cookies


@pytest.mark.parametrize("name", GET_ONLY_NAMES)
def test_it_refuses_post_on_get_only_urls(world, client, name):
    """A row of None is a promise that the URL takes no POST at all."""
    if dict(non_admin_patterns())[name] == ["token"]:
        url = reverse(name, args=[world.tokens["confidential"]])
    else:
        client.force_login(world.users["leader"])
        params = dict(non_admin_patterns())[name]
        kwargs = {"pk": world.request_id("public")} if params == ["pk"] else {}
        if params == ["version"]:
            kwargs = {"version": STYLESHEET_VERSION}
        url = reverse(name, kwargs=kwargs)
    before = snapshot()
    response = client.post(url, {"status": "closed"})
    # The API's token endpoints answer a caller without a token 401 before
    # anything else (with one, 405: tests/test_api.py).
    assert response.status_code == (401 if name in ("api_requests", "api_request") else 405)
    assert changed_tables(before, snapshot()) == []


# --- 2. No GET changes anything ------------------------------------------------

QUERY_VARIANTS = {
    "request_list": [
        "?q=request&status=interceding&category=family&urgent=no&confidential=yes&page=2",
        "?q=%3Cscript%3E&status=bogus&page=-1",
    ],
    "coverage": ["?days=1", "?days=junk"],
    "history": ["?prayers_page=2&notes_page=x"],
    "board": ["?page=999"],
    "triage": ["?page=0"],
    "request_detail": ["?story=2&prayers=9"],
    "followup": ["?page=1"],
    "login": ["?next=/requests/"],
}


def every_get_url(world: World, tokens: list[str]) -> list[tuple[str, str]]:
    """(name, url) for every non-admin URL with every object id filled in."""
    request_ids = [*sorted(PrayerRequest.objects.values_list("pk", flat=True)), 999999]
    assignment_ids = [*sorted(Assignment.objects.values_list("pk", flat=True)), 999999]
    urls = []
    for name, params in non_admin_patterns():
        if name == "password_reset_confirm":
            link = world.reset_link()
            choices = [link, {**link, "token": "set-password"}, {**link, "token": "not-a-token"}]
        elif params == []:
            choices = [{}]
        elif params == ["pk"]:
            ids = assignment_ids if name.startswith("assignment_") else request_ids
            choices = [{"pk": pk} for pk in ids]
        elif params == ["token"]:
            choices = [{"token": token} for token in [*tokens, "not-the-right-token-" + "x" * 30]]
        elif params == ["version"]:
            # The church's stylesheet: today's address, and an old one.
            choices = [{"version": church_stylesheet_version()}, {"version": STYLESHEET_VERSION}]
        else:
            raise AssertionError(f"fill in the parameters {params} of {name} here")
        for kwargs in choices:
            url = reverse(name, kwargs=kwargs)
            urls.append((name, url))
            urls.extend((name, url + query) for query in QUERY_VARIANTS.get(name, []))
    return urls


GET_PERSONAS = ["leader", "assigned", "other", "released", "superuser", "anonymous", "requester"]


@pytest.mark.parametrize("persona", GET_PERSONAS)
def test_it_changes_nothing_on_any_get(world, django_capture_on_commit_callbacks, persona):
    client = Client()
    tokens = list(world.tokens.values())
    if persona == "requester":
        # Someone who has just asked: the link is in their session until
        # they see it, and they hold it afterwards.
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("ask"),
                {"consent": "knows", "for_whom": "K.", "category": "work", "title": "A job"},
                REMOTE_ADDR="198.51.100.7",
            )
        assert response.status_code == 302
        tokens = FOLLOWUP_LINK.findall(client.get(reverse("ask_sent")).content.decode())[:1]
        assert tokens, "the follow-up link was not shown"
        mail.outbox.clear()
    elif persona != "anonymous":
        client.force_login(world.users[persona])

    urls = every_get_url(world, tokens)
    before = snapshot()
    wrote = []
    for _name, url in urls:
        # Every statement each GET sends: a write that is rolled back or
        # undone later in the walk is caught here too.
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        if writes := writes_in(queries.captured_queries):
            wrote.append((url, writes))
    assert wrote == [], f"GET wrote to the database as {persona}: {wrote}"
    assert changed_tables(before, snapshot()) == []
    assert mail.outbox == [], "a GET sent an e-mail"
    assert len(urls) > 60


# --- 3. Text is shown as text --------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
ATTRIBUTE = '" onmouseover="alert(1)'
JS_URL = "javascript:alert(1)"
EXPRESSION = "{{ 7*7 }}"
TAG = "{% debug %}"
PAYLOADS = [SCRIPT, IMG, ATTRIBUTE, JS_URL, EXPRESSION, TAG]
ALL = " ".join(PAYLOADS)  # 120 characters: fits every text field but names
NAME_PAYLOAD = " ".join([SCRIPT, IMG, ATTRIBUTE])  # 78: fits the requester's name
MULTILINE = f"line one\n{ALL}\n\nline three"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"

# Unique markers in each field of the requests: the e-mails must carry none.
MARKERS = {
    "for_whom": "Fw-Xq7",
    "title": "Ti-Bz4",
    "details": "De-Kp2",
    "requester_name": "Rn-Ld9",
}


class _Scan(HTMLParser):
    """What a browser would run: event handlers, script bodies and
    javascript: URLs that carry the payload, and the payload's <img>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") and "alert" in value:
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in {
                "href",
                "src",
                "action",
                "formaction",
                "data",
                "xlink:href",
            } and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "img" and dict(attrs).get("src") == "x":
            self.problems.append(f"<img {attrs!r}>")
        if tag == "script":
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and "alert(" in data:
            self.problems.append(f"<script>{data[:60]}")


def escaping_problems(body: str, *, must_show: bool = True) -> list[str]:
    problems = []
    for raw in (SCRIPT, IMG, ATTRIBUTE):
        if raw in body:
            problems.append(f"unescaped {raw!r}")
    scan = _Scan()
    scan.feed(body)
    scan.close()
    problems.extend(scan.problems)
    if must_show:
        # Shown, as text: so the page cannot pass by showing nothing.
        if ESCAPED_SCRIPT not in body:
            problems.append("the payload is not shown (escaped) at all")
        if (EXPRESSION in body) != (TAG in body):
            problems.append("template syntax was evaluated")
    if re.search(r"\b49\b", body) and EXPRESSION not in body and ESCAPED_SCRIPT in body:
        problems.append("{{ 7*7 }} rendered as 49")
    if "sql_queries" in body or "'csrf_token'" in body:
        problems.append("{% debug %} was evaluated")
    return problems


def test_it_would_catch_a_payload_shown_as_html():
    """The checker itself: raw markup is caught, escaped text passes."""
    assert escaping_problems(f"<p>{SCRIPT}</p>")
    assert escaping_problems(f"<p>{escape(SCRIPT)} {IMG}</p>")
    assert escaping_problems(f'<p>{escape(SCRIPT)}</p><input value="{ATTRIBUTE}">')
    assert escaping_problems(f'<p>{escape(SCRIPT)}</p><a href="{JS_URL}">x</a>')
    assert escaping_problems("<p>nothing to see</p>"), "a page that shows nothing must not pass"
    assert escaping_problems(f"<p>{escape(ALL)}</p>") == []
    assert (
        escaping_problems(f'<input value="{escape(ALL)}"><a href="?q={escape(JS_URL)}">q</a>', must_show=False) == []
    )


def _submit_through_form(client_pair, *, addr: str, marker: str, **overrides) -> tuple[PrayerRequest, str]:
    """Ask through the public form; return the request and its token (read
    from the page that shows the link once)."""
    client, capture = client_pair
    data = {
        "for_whom": f"{MARKERS['for_whom']}{marker} {ALL}"[:120],
        "consent": "knows",
        "category": "health",
        "title": f"{MARKERS['title']}{marker} {ALL}",
        "details": f"{MARKERS['details']}{marker} {MULTILINE}",
        "requester_name": f"{MARKERS['requester_name']}{marker} {NAME_PAYLOAD}",
        "requester_email": f"asker{marker}@example.org",
        "wants_updates": "on",
        "is_confidential": "on",
        **overrides,
    }
    with capture(execute=True):
        response = client.post(reverse("ask"), data, REMOTE_ADDR=addr)
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(reverse("ask_sent")).content.decode()
    token = FOLLOWUP_LINK.search(page).group(1)
    return PrayerRequest.objects.get(followup_token_hash=hash_token(token)), token


class XssWorld:
    """Every kind of text a person can type, each carrying the payloads,
    entered through the real forms."""

    def __init__(self, capture):
        self.responses: dict[str, object] = {}
        self.leader = make_user("lydia", roles.LEADERS, email="lydia@example.org", first_name="Lydia")
        self.assigned = make_user("anna", roles.INTERCESSORS, first_name="Anna")
        self.other = make_user("simeon", roles.INTERCESSORS, first_name="Simeon")
        # Names are typed by whoever manages accounts: they are text too.
        self.eve = make_user("eve", roles.INTERCESSORS, first_name=ALL, last_name=IMG)
        self.mallory = make_user("mallory", roles.INTERCESSORS, available=False, first_name=SCRIPT)
        self.admin_leader = make_user("ruth", roles.LEADERS, is_staff=True, is_superuser=True)
        self.clients = {}
        for key, user in [
            ("leader", self.leader),
            ("assigned", self.assigned),
            ("other", self.other),
            ("eve", self.eve),
            ("admin", self.admin_leader),
        ]:
            self.clients[key] = Client()
            self.clients[key].force_login(user)
        public = Client()
        pair = (public, capture)

        # Asked through the public form: a confidential one, a public one,
        # one left waiting in triage.
        self.confidential, self.confidential_token = _submit_through_form(pair, addr="203.0.113.1", marker="1")
        self.public, self.public_token = _submit_through_form(pair, addr="203.0.113.2", marker="2", is_confidential="")
        self.waiting, self.waiting_token = _submit_through_form(pair, addr="203.0.113.3", marker="3")
        assert self.confidential.is_confidential
        assert not self.public.is_confidential
        # A fourth, through the service, for the praise report.
        self.praised, self.praised_token = services.submit_request(
            for_whom=ALL, title=ALL, category=Category.FAMILY, details=MULTILINE, is_confidential=False
        )
        # Enough waiting requests for the lists to have a second page.
        for number in range(26):
            services.submit_request(for_whom=ALL, title=f"Bulk {number} {ALL}", category=Category.WORK)

        leader, assigned, other = self.clients["leader"], self.clients["assigned"], self.clients["other"]
        for prayer_request in (self.confidential, self.public, self.praised):
            response = leader.post(
                reverse("request_assign", args=[prayer_request.pk]), {"intercessors": [self.assigned.pk, self.eve.pk]}
            )
            assert response.status_code == 302, response.content.decode()[:3000]
        # Refused: mallory is not available. The refusal names her.
        self.responses["assign refusal"] = leader.post(
            reverse("request_assign", args=[self.waiting.pk]), {"intercessors": [self.mallory.pk]}
        )

        def post(client, name, pk, data):
            response = client.post(reverse(name, args=[pk]), data)
            assert response.status_code == 302, (name, response.status_code)
            return response

        for visibility in ("team", "requester", "private"):
            post(assigned, "request_update", self.confidential.pk, {"note": MULTILINE, "visibility": visibility})
        post(leader, "request_update", self.confidential.pk, {"note": ALL, "visibility": "team"})
        for prayer_request in (self.confidential, self.public):
            post(assigned, "request_pray", prayer_request.pk, {"minutes": "5", "note": ALL, "fasted": "on"})
        post(
            assigned,
            "request_move",
            self.public.pk,
            {"to_status": "breakthrough", "note": MULTILINE, "visibility": "requester"},
        )
        post(other, "request_pray", self.public.pk, {"note": ALL})
        post(other, "request_update", self.public.pk, {"note": ALL, "visibility": "private"})

        # Eve opens the confidential request: her name goes into its access log.
        assert self.clients["eve"].get(reverse("request_detail", args=[self.confidential.pk])).status_code == 200
        eve_on_confidential = Assignment.objects.active().get(prayer_request=self.confidential, intercessor=self.eve)
        self.responses["release message"] = leader.post(
            reverse("assignment_release", args=[eve_on_confidential.pk]), {"note": ALL}, follow=True
        )
        eve_on_public = Assignment.objects.active().get(prayer_request=self.public, intercessor=self.eve)
        self.responses["reassign refusal"] = leader.post(
            reverse("assignment_reassign", args=[eve_on_public.pk]), {"intercessor": self.mallory.pk, "note": ALL}
        )
        simeon_takes = leader.post(
            reverse("assignment_reassign", args=[eve_on_public.pk]),
            {"intercessor": self.other.pk, "note": ALL},
            follow=True,
        )
        assert simeon_takes.status_code == 200

        requester = Client()
        response = requester.post(
            reverse("followup_update", args=[self.confidential_token]), {"update-note": MULTILINE}
        )
        assert response.status_code == 302
        response = requester.post(reverse("followup_praise", args=[self.praised_token]), {"praise-note": MULTILINE})
        assert response.status_code == 302
        self.praised.refresh_from_db()
        assert self.praised.status == Status.ANSWERED

        eve = self.clients["eve"]
        response = eve.post(
            reverse("my_settings"),
            {
                "is_available": "on",
                "max_active_assignments": "5",
                "preferred_categories": ["health"],
                "delivery": "immediately",
            },
        )
        assert response.status_code == 302
        self.responses["settings errors"] = eve.post(
            reverse("my_settings"),
            {
                "is_available": "on",
                "max_active_assignments": SCRIPT,
                "preferred_categories": [SCRIPT, IMG],
                "delivery": SCRIPT,
            },
        )
        self.responses["ask errors"] = public.post(
            reverse("ask"),
            {
                "for_whom": ALL,
                "title": ALL,
                "details": MULTILINE,
                "category": SCRIPT,
                "requester_name": NAME_PAYLOAD,
                "requester_email": SCRIPT,
            },
            REMOTE_ADDR="203.0.113.4",
        )
        self.responses["login errors"] = Client().post(reverse("login"), {"username": SCRIPT, "password": ALL})
        self.responses["password reset errors"] = Client().post(reverse("password_reset"), {"email": SCRIPT})

        # A long gap in prayer, so the confidential request shows on coverage.
        long_ago = timezone.now() - timedelta(days=20)
        StatusUpdate.objects.filter(prayer_request=self.confidential).update(created_at=long_ago)
        prayed = PrayerLog.objects.filter(prayer_request=self.confidential)
        prayed.update(prayed_at=long_ago)
        PrayerRequest.objects.filter(pk=self.confidential.pk).update(
            created_at=long_ago,
            entered_intercession_at=long_ago,
            last_prayed_at=long_ago if prayed.exists() else None,
        )

    def pages(self) -> list[tuple[str, str, str]]:
        """(who, label, url) of every page where the payloads show."""
        detail = lambda prayer_request: reverse("request_detail", args=[prayer_request.pk])  # noqa: E731
        assigned_on_confidential = Assignment.objects.active().get(
            prayer_request=self.confidential, intercessor=self.assigned
        )
        pages = [
            ("requester", "follow-up (confidential)", reverse("followup", args=[self.confidential_token])),
            ("requester", "follow-up (public, team note to requester)", reverse("followup", args=[self.public_token])),
            ("requester", "follow-up (praise report)", reverse("followup", args=[self.praised_token])),
            ("requester", "follow-up (waiting)", reverse("followup", args=[self.waiting_token])),
            ("leader", "triage", reverse("triage")),
            ("leader", "triage page 2", reverse("triage") + "?page=2"),
            ("leader", "request list", reverse("request_list")),
            ("leader", "coverage", reverse("coverage") + "?days=1"),
            ("leader", "team", reverse("team")),
            ("leader", "prayer sheet", reverse("prayer_sheet")),
            ("leader", "dashboard", reverse("dashboard")),
            ("leader", "assign page", reverse("request_assign", args=[self.waiting.pk])),
            ("leader", "reassign page", reverse("assignment_reassign", args=[assigned_on_confidential.pk])),
            ("assigned", "my assignments", reverse("my_assignments")),
            ("assigned", "board", reverse("board")),
            ("assigned", "history", reverse("history")),
            ("other", "history", reverse("history")),
            ("other", "board", reverse("board")),
            ("other", "detail from the board", detail(self.public)),
            ("admin", "admin changelist", reverse("admin:requests_app_prayerrequest_changelist")),
            ("admin", "admin change page", reverse("admin:requests_app_prayerrequest_change", args=[self.public.pk])),
            ("admin", "admin user list", reverse("admin:auth_user_changelist")),
            ("admin", "admin user page", reverse("admin:auth_user_change", args=[self.eve.pk])),
        ]
        for prayer_request in (self.confidential, self.public, self.waiting, self.praised):
            pages.append(("leader", f"detail #{prayer_request.pk}", detail(prayer_request)))
        for prayer_request in (self.confidential, self.public):
            pages.append(("assigned", f"detail #{prayer_request.pk}", detail(prayer_request)))
        for payload in PAYLOADS:
            query = f"?q={payload}"
            pages.append(("leader", f"request list q={payload}", reverse("request_list") + query))
            pages.append(("leader", f"request list q={payload} page 2", reverse("request_list") + query + "&page=2"))
        return pages


@pytest.fixture
def xss_world(db, django_capture_on_commit_callbacks) -> XssWorld:
    return XssWorld(django_capture_on_commit_callbacks)


def test_it_shows_typed_text_as_text_on_every_page(xss_world):
    failures = []
    pages = xss_world.pages()
    for who, label, url in pages:
        client = Client() if who == "requester" else xss_world.clients[who]
        response = client.get(url, follow=False)
        if response.status_code != 200:
            failures.append((who, label, f"status {response.status_code}"))
            continue
        problems = escaping_problems(response.content.decode())
        if problems:
            failures.append((who, label, problems))
    assert failures == []
    assert len(pages) >= 35


def test_it_shows_typed_text_as_text_in_form_errors_and_messages(xss_world):
    failures = []
    for label, response in xss_world.responses.items():
        assert response.status_code == 200, (label, response.status_code)
        problems = escaping_problems(response.content.decode())
        if problems:
            failures.append((label, problems))
    assert failures == []


def test_it_takes_the_search_text_and_next_as_text(xss_world):
    """What a visitor puts in a query string comes back escaped too."""
    for payload in PAYLOADS:
        for url in (reverse("login") + f"?next={payload}", reverse("ask") + f"?next={payload}&title={payload}"):
            body = Client().get(url).content.decode()
            assert escaping_problems(body, must_show=False) == [], url
        body = xss_world.clients["leader"].get(reverse("request_list"), {"q": payload}).content.decode()
        assert escaping_problems(body) == [], payload
    not_found = Client().get(f"/requests/{SCRIPT}/")
    assert not_found.status_code in (302, 404)
    assert escaping_problems(not_found.content.decode(), must_show=False) == []


def _assert_clean_email(message) -> None:
    everything = "\n".join(
        [message.subject, message.body]
        + [content for content, _type in getattr(message, "alternatives", [])]
        + [str(value) for value in message.extra_headers.values()]
    )
    for payload in [*PAYLOADS, "alert(1)", "&lt;script"]:
        assert payload not in everything, (message.subject, payload)
    for marker in MARKERS.values():
        assert marker not in everything, (message.subject, marker)


def test_it_sends_e_mails_with_no_request_text_at_all(xss_world):
    """The follow-up link e-mails of the three requests asked through the
    form, and any e-mail sent while the team worked on them."""
    # The world was built with every e-mail of the app delivered.
    sent = list(mail.outbox)
    followup_links = [message for message in sent if FOLLOWUP_LINK.search(message.body)]
    assert len(followup_links) >= 3
    for message in sent:
        _assert_clean_email(message)


def test_it_sends_a_password_reset_e_mail_with_no_request_text(db, django_capture_on_commit_callbacks):
    user = make_user("eve", roles.INTERCESSORS, first_name=ALL, last_name=IMG, email="eve@example.org")
    services.submit_request(for_whom=ALL, title=MARKERS["title"] + ALL, category=Category.HEALTH)
    services.assign(PrayerRequest.objects.get(), [user], by=make_user("lydia", roles.LEADERS))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(reverse("password_reset"), {"email": "eve@example.org"})

    assert response.status_code == 302
    (message,) = mail.outbox
    _assert_clean_email(message)
    assert "eve" not in message.body.replace("/", " ").split(), "the e-mail names the account"


# --- 4. Mass assignment --------------------------------------------------------


def _ask_with_extras(client, django_capture_on_commit_callbacks, **extras):
    data = {"consent": "knows", "for_whom": "J.", "category": "health", "title": "Strength", "details": "d", **extras}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ask"), data, REMOTE_ADDR="192.0.2.55")
    assert response.status_code == 302, response.content.decode()[:2000]
    token = FOLLOWUP_LINK.search(client.get(reverse("ask_sent")).content.decode()).group(1)
    return PrayerRequest.objects.get(followup_token_hash=hash_token(token))


def test_it_ignores_extra_fields_on_the_ask_form(
    client, request_in, leader, assigned_intercessor, django_capture_on_commit_callbacks
):
    existing = request_in(Status.INTERCEDING)
    existing_row = snapshot()["requests_app.PrayerRequest"]
    stolen_hash = hash_token("a-token-the-attacker-knows")

    stored = _ask_with_extras(
        client,
        django_capture_on_commit_callbacks,
        status="answered",
        followup_token_hash=stolen_hash,
        created_at="2000-01-01T00:00:00Z",
        updated_at="2000-01-01T00:00:00Z",
        answered_at="2000-01-01T00:00:00Z",
        breakthrough_at="2000-01-01T00:00:00Z",
        closed_at="2000-01-01T00:00:00Z",
        id=str(existing.pk),
        pk=str(existing.pk),
        author=str(leader.pk),
        assigned_by=str(leader.pk),
        intercessor=str(assigned_intercessor.pk),
        intercessors=[str(assigned_intercessor.pk)],
        submission_key="x",
    )

    assert stored.pk != existing.pk
    assert stored.status == Status.NEW
    assert stored.followup_token_hash != stolen_hash
    assert stored.created_at > timezone.now() - timedelta(minutes=5)
    assert stored.answered_at is stored.breakthrough_at is stored.closed_at is None
    # An unticked box is a legitimate "not confidential".
    assert stored.is_confidential is False
    assert list(stored.updates.values_list("kind", "author", "to_status")) == [
        (UpdateKind.SUBMITTED, None, Status.NEW)
    ]
    assert not stored.assignments.exists()
    # The request whose id was posted is untouched.
    assert [row for row in snapshot()["requests_app.PrayerRequest"] if row[0] == existing.pk] == existing_row


def test_it_keeps_a_ticked_confidential_box_whatever_else_is_posted(client, db, django_capture_on_commit_callbacks):
    stored = _ask_with_extras(
        client, django_capture_on_commit_callbacks, is_confidential=["on", "0"], confidential="0", status="closed"
    )
    assert stored.status == Status.NEW
    assert stored.is_confidential is True


def _update_rows(prayer_request):
    return list(
        StatusUpdate.objects.filter(prayer_request=prayer_request)
        .order_by("pk")
        .values_list("pk", "author", "kind", "intercessor", "from_status", "to_status", "note", "visibility")
    )


# Fields no form of a request page has; each names something else.
def _request_page_extras(other_request, other_user) -> dict:
    return {
        "author": other_user.pk,
        "author_id": other_user.pk,
        "intercessor": other_user.pk,
        "assigned_by": other_user.pk,
        "released_by": other_user.pk,
        "prayer_request": other_request.pk,
        "prayer_request_id": other_request.pk,
        "status": "closed",
        "is_confidential": "0",
        "confidential": "0",
        "kind": "move",
        "from_status": "new",
        "created_at": "2000-01-01T00:00:00Z",
        "prayed_at": "2000-01-01T00:00:00Z",
        "id": 1,
    }


def test_it_ignores_extra_fields_on_the_update_form(client, request_in, assigned_intercessor, other_intercessor):
    prayer_request = request_in(Status.INTERCEDING, confidential=True)
    other_request = request_in(Status.INTERCEDING, confidential=True)
    other_story = _update_rows(other_request)
    client.force_login(assigned_intercessor)

    response = client.post(
        reverse("request_update", args=[prayer_request.pk]),
        {"note": "Standing firm", "visibility": "team", **_request_page_extras(other_request, other_intercessor)},
    )

    assert response.status_code == 302
    entry = StatusUpdate.objects.latest("pk")
    assert entry.prayer_request_id == prayer_request.pk
    assert entry.author_id == assigned_intercessor.pk
    assert (entry.kind, entry.intercessor_id) == (UpdateKind.NOTE, None)
    assert entry.from_status == entry.to_status == Status.INTERCEDING
    assert entry.created_at > timezone.now() - timedelta(minutes=5)
    prayer_request.refresh_from_db()
    assert (prayer_request.status, prayer_request.is_confidential) == (Status.INTERCEDING, True)
    assert _update_rows(other_request) == other_story


@pytest.mark.parametrize("visibility", ["public", "everyone", "", "TEAM", "private "])
def test_it_refuses_unknown_visibilities(client, request_in, assigned_intercessor, visibility):
    prayer_request = request_in(Status.INTERCEDING)
    client.force_login(assigned_intercessor)
    before = snapshot()
    response = client.post(
        reverse("request_update", args=[prayer_request.pk]), {"note": "n", "visibility": visibility}
    )
    assert response.status_code == 302
    assert changed_tables(before, snapshot()) == []


def test_it_lets_a_board_reader_keep_only_a_journal(client, request_in, other_intercessor):
    """The visibility trick: an intercessor reading a public request from the
    board may post only to their private journal, whatever they send."""
    prayer_request = request_in(Status.INTERCEDING, confidential=False)
    client.force_login(other_intercessor)
    for visibility in ("team", "requester"):
        before = snapshot()
        response = client.post(
            reverse("request_update", args=[prayer_request.pk]),
            {"note": "n", "visibility": visibility, "author": "", "is_leader": "1"},
        )
        assert response.status_code == 403
        assert changed_tables(before, snapshot()) == []
    response = client.post(reverse("request_update", args=[prayer_request.pk]), {"note": "n", "visibility": "private"})
    assert response.status_code == 302
    entry = StatusUpdate.objects.latest("pk")
    assert (entry.author_id, entry.visibility) == (other_intercessor.pk, Visibility.PRIVATE)


def test_it_ignores_extra_fields_on_the_move_form(client, request_in, assigned_intercessor, leader):
    prayer_request = request_in(Status.INTERCEDING, confidential=True)
    other_request = request_in(Status.INTERCEDING, confidential=True)
    other_story = _update_rows(other_request)
    client.force_login(assigned_intercessor)

    response = client.post(
        reverse("request_move", args=[prayer_request.pk]),
        {"to_status": "breakthrough", "note": "", "visibility": "team", **_request_page_extras(other_request, leader)},
    )

    assert response.status_code == 302
    entry = StatusUpdate.objects.latest("pk")
    assert (entry.prayer_request_id, entry.author_id, entry.kind) == (
        prayer_request.pk,
        assigned_intercessor.pk,
        UpdateKind.MOVE,
    )
    assert (entry.from_status, entry.to_status) == (Status.INTERCEDING, Status.BREAKTHROUGH)
    prayer_request.refresh_from_db()
    assert (prayer_request.status, prayer_request.is_confidential) == (Status.BREAKTHROUGH, True)
    assert _update_rows(other_request) == other_story


def test_it_refuses_a_private_move_and_a_move_the_actor_may_not_make(client, request_in, assigned_intercessor):
    prayer_request = request_in(Status.INTERCEDING)
    client.force_login(assigned_intercessor)
    before = snapshot()
    # A move is never private; and an assigned intercessor cannot close.
    client.post(
        reverse("request_move", args=[prayer_request.pk]),
        {"to_status": "breakthrough", "note": "n", "visibility": "private"},
    )
    closing = client.post(
        reverse("request_move", args=[prayer_request.pk]), {"to_status": "closed", "note": "", "visibility": "team"}
    )
    assert closing.status_code == 403
    assert changed_tables(before, snapshot()) == []


def test_it_ignores_extra_fields_on_the_pray_form(client, request_in, assigned_intercessor, other_intercessor):
    prayer_request = request_in(Status.INTERCEDING, confidential=True)
    other_request = request_in(Status.INTERCEDING, confidential=False)
    client.force_login(assigned_intercessor)

    response = client.post(
        reverse("request_pray", args=[prayer_request.pk]),
        {"minutes": "15", "submission_key": "k1", **_request_page_extras(other_request, other_intercessor)},
    )

    assert response.status_code == 302
    (entry,) = PrayerLog.objects.all()
    assert (entry.prayer_request_id, entry.intercessor_id, entry.minutes) == (
        prayer_request.pk,
        assigned_intercessor.pk,
        15,
    )
    assert entry.prayed_at > timezone.now() - timedelta(minutes=5)
    prayer_request.refresh_from_db()
    assert (prayer_request.status, prayer_request.is_confidential) == (Status.INTERCEDING, True)


def test_it_ignores_extra_fields_on_the_release_form(
    client, request_in, assigned_intercessor, other_intercessor, leader
):
    prayer_request = request_in(Status.INTERCEDING)
    other_request = request_in(Status.INTERCEDING)
    mine = Assignment.objects.active().get(prayer_request=prayer_request, intercessor=assigned_intercessor)
    theirs = Assignment.objects.active().get(prayer_request=other_request, intercessor=assigned_intercessor)
    client.force_login(assigned_intercessor)

    response = client.post(
        reverse("assignment_release", args=[mine.pk]),
        {"note": "", "assignment": theirs.pk, "pk": theirs.pk, **_request_page_extras(other_request, leader)},
    )

    assert response.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.released_by_id == assigned_intercessor.pk
    assert mine.intercessor_id == assigned_intercessor.pk
    assert mine.prayer_request_id == prayer_request.pk
    assert theirs.released_at is None
    entry = StatusUpdate.objects.latest("pk")
    assert (entry.kind, entry.author_id, entry.intercessor_id, entry.prayer_request_id) == (
        UpdateKind.RELEASED,
        assigned_intercessor.pk,
        assigned_intercessor.pk,
        prayer_request.pk,
    )
    prayer_request.refresh_from_db()
    assert (prayer_request.status, prayer_request.is_confidential) == (Status.INTERCEDING, True)


def test_it_ignores_extra_fields_on_the_assign_and_reassign_forms(
    client, request_in, leader, assigned_intercessor, other_intercessor
):
    waiting = request_in(Status.NEW, confidential=True)
    other_request = request_in(Status.INTERCEDING)
    other_leader = make_user("deborah", roles.LEADERS)
    other_assignments = sorted(Assignment.objects.filter(prayer_request=other_request).values_list())
    client.force_login(leader)

    response = client.post(
        reverse("request_assign", args=[waiting.pk]),
        {"intercessors": [other_intercessor.pk], **_request_page_extras(other_request, other_leader)},
    )

    assert response.status_code == 302
    (assignment,) = Assignment.objects.filter(prayer_request=waiting)
    assert (assignment.intercessor_id, assignment.assigned_by_id) == (other_intercessor.pk, leader.pk)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.is_confidential) == (Status.INTERCEDING, True)

    response = client.post(
        reverse("assignment_reassign", args=[assignment.pk]),
        {
            **_request_page_extras(other_request, other_leader),
            "intercessor": assigned_intercessor.pk,  # the form's own field
            "note": "",
            "intercessors": [other_intercessor.pk],
        },
    )

    assert response.status_code == 302
    new = Assignment.objects.active().get(prayer_request=waiting)
    assert (new.intercessor_id, new.assigned_by_id) == (assigned_intercessor.pk, leader.pk)
    assignment.refresh_from_db()
    assert assignment.released_by_id == leader.pk
    waiting.refresh_from_db()
    assert (waiting.status, waiting.is_confidential) == (Status.INTERCEDING, True)
    assert sorted(Assignment.objects.filter(prayer_request=other_request).values_list()) == other_assignments


def test_it_only_raises_confidentiality_from_the_request_page(client, request_in, leader):
    public = request_in(Status.INTERCEDING, confidential=False)
    confidential = request_in(Status.INTERCEDING, confidential=True)
    client.force_login(leader)

    client.post(reverse("request_confidential", args=[confidential.pk]), {"confidential": "0", "is_confidential": ""})
    client.post(reverse("request_confidential", args=[public.pk]), {"confidential": "0", "is_confidential": "0"})

    confidential.refresh_from_db()
    public.refresh_from_db()
    assert confidential.is_confidential is True
    assert public.is_confidential is True


def test_it_ignores_extra_fields_on_the_follow_up_forms(client, db, leader, assigned_intercessor):
    prayer_request, token = services.submit_request(
        for_whom="J.", title="t", category=Category.HEALTH, is_confidential=True
    )
    other_request, _other_token = services.submit_request(for_whom="K.", title="u", category=Category.HEALTH)
    other_story = _update_rows(other_request)
    bring_to(prayer_request, Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)

    response = client.post(
        reverse("followup_update", args=[token]),
        {
            "update-note": "An update",
            "update-visibility": "team",
            "visibility": "private",
            "update-author": leader.pk,
            **_request_page_extras(other_request, leader),
        },
    )
    assert response.status_code == 302
    entry = StatusUpdate.objects.latest("pk")
    assert (entry.prayer_request_id, entry.author_id, entry.visibility, entry.kind) == (
        prayer_request.pk,
        None,
        Visibility.REQUESTER,
        UpdateKind.NOTE,
    )

    response = client.post(
        reverse("followup_praise", args=[token]),
        {"praise-note": "Praise!", "praise-to_status": "closed", **_request_page_extras(other_request, leader)},
    )
    assert response.status_code == 302
    prayer_request.refresh_from_db()
    assert (prayer_request.status, prayer_request.is_confidential) == (Status.ANSWERED, True)
    assert StatusUpdate.objects.latest("pk").author_id is None
    assert _update_rows(other_request) == other_story


def test_it_changes_only_my_own_settings(client, assigned_intercessor, other_intercessor):
    theirs = IntercessorProfile.objects.filter(user=other_intercessor).values_list().get()
    theirs_choices = NotificationPreferences.objects.create(user=other_intercessor)
    theirs_choices_row = NotificationPreferences.objects.filter(user=other_intercessor).values_list().get()
    client.force_login(assigned_intercessor)

    response = client.post(
        reverse("my_settings"),
        {
            "is_available": "",
            "max_active_assignments": "7",
            "preferred_categories": ["family"],
            "user": other_intercessor.pk,
            "user_id": other_intercessor.pk,
            "id": IntercessorProfile.objects.get(user=other_intercessor).pk,
            "intercessor_profile": IntercessorProfile.objects.get(user=other_intercessor).pk,
            "notification_preferences": theirs_choices.pk,
            "delivery": "daily",
        },
    )

    assert response.status_code == 302
    mine = IntercessorProfile.objects.get(user=assigned_intercessor)
    assert (mine.max_active_assignments, mine.is_available, mine.preferred_categories) == (7, False, ["family"])
    assert IntercessorProfile.objects.filter(user=other_intercessor).values_list().get() == theirs
    assert IntercessorProfile.objects.count() == 2
    assert NotificationPreferences.objects.get(user=assigned_intercessor).delivery == "daily"
    assert NotificationPreferences.objects.filter(user=other_intercessor).values_list().get() == theirs_choices_row
    assert NotificationPreferences.objects.count() == 2


def test_it_grants_no_privilege_through_the_password_form(client, assigned_intercessor):
    client.force_login(assigned_intercessor)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "is_staff": "on",
            "is_superuser": "on",
            "username": "lydia",
            "groups": ["1", "2"],
        },
    )
    assert response.status_code == 302
    assigned_intercessor.refresh_from_db()
    assert assigned_intercessor.check_password(NEW_PASSWORD)
    assert (assigned_intercessor.username, assigned_intercessor.is_staff, assigned_intercessor.is_superuser) == (
        "anna",
        False,
        False,
    )
    assert list(assigned_intercessor.groups.values_list("name", flat=True)) == [roles.INTERCESSORS]
