"""
The access matrix: every URL of the project, every persona, a confidential
and a non-confidential request, GET and POST: against the expected status
code; and where a POST is refused, the database is unchanged.

`test_it_has_a_row_for_every_url` fails when a URL is added without a row
here. The admin's own URLs are Django's and are covered in test_admin.py.
"""

import re

import pytest
from conftest import PASSWORD, bring_to, make_user
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from requests_app import church, colours, prayer_session, roles, services
from requests_app.models import (
    AccountLink,
    ApiToken,
    Assignment,
    AuditLogEntry,
    Category,
    ChurchSettings,
    IntercessorProfile,
    Invitation,
    NotificationPreferences,
    OutboxMessage,
    PrayerLog,
    PrayerRequest,
    PrayerSession,
    StatusUpdate,
    TeamRole,
    Webhook,
    WebhookDelivery,
)
from requests_app.team import accounts, api_tokens, invitations, webhooks

PERSONAS = ["anonymous", "requester", "wrong_token", "other", "assigned", "released", "leader", "superuser"]
KINDS = ["confidential", "public"]
NO_KIND = ["-"]

OK, FOUND, LOGIN, FORBIDDEN, NOT_FOUND, NOT_ALLOWED = 200, 302, "login", 403, 404, 405
# A POST answered with a page (200) that did change the database: the
# embedded form, which shows the follow-up link in its answer.
SENT = "sent"
UNAUTHORIZED, UNSUPPORTED = 401, 415
ANONYMOUS_CLIENTS = {"anonymous", "requester", "wrong_token"}
INTERCESSORS = {"other", "assigned", "released"}


def _logged_out_gets_login(expected):
    """Team pages: whoever has no account is sent to the login page."""

    def rule(persona, kind, method):
        if persona in ANONYMOUS_CLIENTS:
            return LOGIN
        return expected(persona, kind, method)

    return rule


def by_persona(get: dict, post: dict | int = NOT_ALLOWED):
    """A rule from {persona: status} for GET and POST (a status, or a
    function of the kind for requests whose confidentiality matters)."""

    def pick(table, persona, kind):
        value = table if isinstance(table, (int, str)) else table[persona]
        return value(kind) if callable(value) else value

    return lambda persona, kind, method: pick(get if method == "get" else post, persona, kind)


def hidden_if_confidential(when_public):
    """404 for a confidential request (may not see it), else `when_public`."""
    return lambda kind: NOT_FOUND if kind == "confidential" else when_public


def leaders_only(get=OK):
    """A leader's page: 403 for the rest of the team; no page takes POST."""
    others = {persona: FORBIDDEN for persona in [*INTERCESSORS, "superuser"]}
    return _logged_out_gets_login(by_persona({**others, "leader": get}, NOT_ALLOWED))


def a_leaders_action():
    """A POST-only action of a leader's page (the team's invitations): 403
    for the rest of the team and the superuser, 405 for a GET."""
    others = {persona: FORBIDDEN for persona in [*INTERCESSORS, "superuser"]}
    return _logged_out_gets_login(by_persona(NOT_ALLOWED, {**others, "leader": FOUND}))


def team(get=OK):
    """Intercessors and leaders; a superuser who is neither gets 403."""
    members = {persona: get for persona in [*INTERCESSORS, "leader"]}
    return _logged_out_gets_login(by_persona({**members, "superuser": FORBIDDEN}, NOT_ALLOWED))


def on_a_request(leader, assigned, board_reader, *, method: str):
    """A view of one request: the leader, the assigned intercessor, and an
    intercessor who sees it only on the team board (404 when confidential);
    the superuser (not a leader) never sees it."""
    table = {
        "leader": leader,
        "assigned": assigned,
        "other": hidden_if_confidential(board_reader),
        "released": hidden_if_confidential(board_reader),
        "superuser": NOT_FOUND,
    }
    if method == "get":
        return _logged_out_gets_login(by_persona(table, NOT_ALLOWED))
    return _logged_out_gets_login(by_persona(NOT_ALLOWED, table))


def with_the_link(get, post):
    """Follow-up pages: only the right token opens them; every other
    persona comes without the link (a wrong token) and gets 404. A method
    the page does not take is 405 whatever the token."""

    def rule(persona, kind, method):
        expected = get if method == "get" else post
        if expected == NOT_ALLOWED or persona == "requester":
            return expected
        return NOT_FOUND

    return rule


def everyone(get=OK, post=NOT_ALLOWED):
    return lambda persona, kind, method: get if method == "get" else post


def login_page(persona, kind, method):
    return OK if persona in ANONYMOUS_CLIENTS else FOUND


# A link to choose a first password (create_leader), in each state it can be
# in, and the link of a pending invitation to the team.
LINK_KINDS = ["valid_link", "used_link", "expired_link", "unknown_link", "invitation_link"]
USABLE_LINKS = {"valid_link", "invitation_link"}


def with_a_password_link(persona, kind, method):
    """Whoever holds a usable link, logged in or not, may choose the
    password (the wrong_token persona holds none); a used, expired or
    unknown link is the same 404 for everyone."""
    if persona == "wrong_token" or kind not in USABLE_LINKS:
        return NOT_FOUND
    return OK if method == "get" else FOUND


# url name -> (kinds, rule, POST data factory name). A 302 to anywhere but the
# login page on POST is a success; every other POST answer must leave the
# database unchanged.
ROWS = {
    # Uptime monitors: anyone, no data.
    "healthz": (NO_KIND, everyone(OK, NOT_ALLOWED)),
    # Requesters.
    "ask": (NO_KIND, everyone(OK, FOUND)),
    "ask_sent": (NO_KIND, everyone(OK, NOT_ALLOWED)),
    "embed_ask": (NO_KIND, everyone(OK, SENT)),
    # The JSON API answers a personal token, never a session: every persona
    # here comes with their session only (tests/test_api.py holds the API's
    # own matrix, token by token). Asking through it takes JSON alone.
    # Without a token even a method an endpoint does not take is a 401.
    "api_requests": (NO_KIND, everyone(UNAUTHORIZED, UNAUTHORIZED)),
    "api_request": (KINDS, everyone(UNAUTHORIZED, UNAUTHORIZED)),
    "api_request_pray": (KINDS, everyone(UNAUTHORIZED, UNAUTHORIZED)),
    "api_request_update": (KINDS, everyone(UNAUTHORIZED, UNAUTHORIZED)),
    "api_request_move": (KINDS, everyone(UNAUTHORIZED, UNAUTHORIZED)),
    "api_ask": (NO_KIND, everyone(NOT_ALLOWED, UNSUPPORTED)),
    "api_schema": (NO_KIND, everyone(OK, NOT_ALLOWED)),
    "api_docs": (NO_KIND, everyone(OK, NOT_ALLOWED)),
    "followup_help": (NO_KIND, everyone(OK, NOT_ALLOWED)),
    "followup_lost": (NO_KIND, everyone(OK, FOUND)),  # the same redirect for any valid address
    "followup_lost_sent": (NO_KIND, everyone(OK, NOT_ALLOWED)),
    "privacy_notice": (NO_KIND, everyone(OK, NOT_ALLOWED)),
    # The language menu at the foot of every page: a POST for everyone.
    "set_language": (NO_KIND, everyone(NOT_ALLOWED, FOUND)),
    "followup": (KINDS, with_the_link(OK, NOT_ALLOWED)),
    "followup_update": (KINDS, with_the_link(NOT_ALLOWED, FOUND)),
    "followup_praise": (KINDS, with_the_link(NOT_ALLOWED, FOUND)),
    "followup_withdraw": (KINDS, with_the_link(NOT_ALLOWED, FOUND)),
    "followup_confidentiality": (KINDS, with_the_link(NOT_ALLOWED, FOUND)),
    "followup_prayer_news": (KINDS, with_the_link(NOT_ALLOWED, FOUND)),
    # The requester's own data: download it, delete it (a confirmation page, then the POST).
    "followup_download": (KINDS, with_the_link(OK, NOT_ALLOWED)),
    "followup_download_json": (KINDS, with_the_link(OK, NOT_ALLOWED)),
    "followup_delete": (KINDS, with_the_link(OK, FOUND)),
    # The team's lists.
    "home": (
        NO_KIND,
        _logged_out_gets_login(
            by_persona(
                {"leader": FOUND, "assigned": FOUND, "other": FOUND, "released": FOUND, "superuser": OK},
                NOT_ALLOWED,
            )
        ),
    ),
    "triage": (NO_KIND, leaders_only()),
    "request_list": (NO_KIND, leaders_only()),
    "export_requests": (NO_KIND, leaders_only()),
    "export_prayer_log": (NO_KIND, leaders_only()),
    "team": (NO_KIND, leaders_only()),
    "team_invite": (NO_KIND, a_leaders_action()),
    "invitation_resend": (NO_KIND, a_leaders_action()),
    "invitation_revoke": (NO_KIND, a_leaders_action()),
    # A leader's changes to one member of the team.
    "team_member_roles": (NO_KIND, a_leaders_action()),
    "team_member_limits": (NO_KIND, a_leaders_action()),
    "team_member_deactivate": (NO_KIND, a_leaders_action()),
    "team_member_reactivate": (NO_KIND, a_leaders_action()),
    "coverage": (NO_KIND, leaders_only()),
    "dashboard": (NO_KIND, leaders_only()),
    "prayer_sheet": (NO_KIND, leaders_only()),
    # The church's own settings and the audit log (leaders); its colours (everyone).
    "church_settings": (
        NO_KIND,
        _logged_out_gets_login(
            by_persona(
                {"leader": OK, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, FORBIDDEN)},
                {"leader": FOUND, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, FORBIDDEN)},
            )
        ),
    ),
    "audit_log": (NO_KIND, leaders_only()),
    "church_stylesheet": (NO_KIND, everyone(OK, NOT_ALLOWED)),
    "my_assignments": (NO_KIND, team()),
    # Pray now (tests/test_prayer_session.py): the team, a leader who does not
    # intercede included. No session is under way here: the session page and
    # its buttons send back to the start page, which starts one.
    "prayer_start": (
        NO_KIND,
        _logged_out_gets_login(
            by_persona(
                {"leader": OK, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, OK)},
                {"leader": FOUND, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, FOUND)},
            )
        ),
    ),
    "prayer_session": (NO_KIND, team(FOUND)),
    "prayer_session_prayed": (
        NO_KIND,
        _logged_out_gets_login(
            by_persona(NOT_ALLOWED, {"leader": FOUND, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, FOUND)})
        ),
    ),
    "board": (NO_KIND, team()),
    # Personal API tokens: each member makes their own (the POST answers with
    # the new token's page); one is revoked by its owner or a leader, and is
    # not there for anyone else; the team's list is the leaders'.
    "my_tokens": (
        NO_KIND,
        _logged_out_gets_login(
            by_persona(
                {"leader": OK, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, OK)},
                {"leader": SENT, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, SENT)},
            )
        ),
    ),
    "token_revoke": (
        NO_KIND,
        _logged_out_gets_login(
            by_persona(
                NOT_ALLOWED,
                {
                    "leader": FOUND,
                    "assigned": FOUND,
                    "other": NOT_FOUND,
                    "released": NOT_FOUND,
                    "superuser": NOT_FOUND,
                },
            )
        ),
    ),
    "team_tokens": (NO_KIND, leaders_only()),
    # Webhooks (leaders): a new one and a new secret answer with the page
    # that shows the secret once; the rest are POST-only actions.
    "team_webhooks": (
        NO_KIND,
        _logged_out_gets_login(
            by_persona(
                {"leader": OK, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, FORBIDDEN)},
                {"leader": SENT, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, FORBIDDEN)},
            )
        ),
    ),
    "webhook_detail": (
        NO_KIND,
        _logged_out_gets_login(
            by_persona(
                {"leader": OK, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, FORBIDDEN)},
                {"leader": FOUND, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, FORBIDDEN)},
            )
        ),
    ),
    "webhook_secret": (
        NO_KIND,
        _logged_out_gets_login(
            by_persona(NOT_ALLOWED, {"leader": SENT, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, FORBIDDEN)})
        ),
    ),
    "webhook_test": (NO_KIND, a_leaders_action()),
    "webhook_send_again": (NO_KIND, a_leaders_action()),
    "webhook_remove": (NO_KIND, a_leaders_action()),
    "history": (NO_KIND, team()),
    "my_settings": (
        NO_KIND,
        _logged_out_gets_login(
            by_persona(
                # Everyone on the team sets their e-mails; intercessors their capacity too.
                {"leader": OK, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, OK)},
                {"leader": FOUND, "superuser": FORBIDDEN, **dict.fromkeys(INTERCESSORS, FOUND)},
            )
        ),
    ),
    # One request.
    "request_detail": (KINDS, on_a_request(OK, OK, OK, method="get")),
    "request_assign": (KINDS, None),  # GET and POST differ: see below
    "request_move": (KINDS, on_a_request(FOUND, FOUND, FORBIDDEN, method="post")),
    "request_update": (KINDS, on_a_request(FOUND, FOUND, FORBIDDEN, method="post")),
    # Undo the latest move (here the assignment's, which no one may undo:
    # a message); who may undo what is in tests/test_undo_moves.py.
    "request_undo_move": (KINDS, on_a_request(FOUND, FOUND, FORBIDDEN, method="post")),
    "request_pray": (KINDS, on_a_request(FOUND, FOUND, FOUND, method="post")),
    "request_confidential": (KINDS, on_a_request(FOUND, FORBIDDEN, FORBIDDEN, method="post")),
    # The team board's gate: leaders share and keep off (here the requests are
    # shared already: "share" answers with a message and changes nothing);
    # an intercessor who sees it on the board flags it (tests/test_board_gate.py).
    "request_share": (KINDS, on_a_request(FOUND, FORBIDDEN, FORBIDDEN, method="post")),
    "request_keep_off_board": (KINDS, on_a_request(FOUND, FORBIDDEN, FORBIDDEN, method="post")),
    "request_flag": (
        KINDS,
        on_a_request(FORBIDDEN, lambda kind: FORBIDDEN if kind == "confidential" else FOUND, FOUND, method="post"),
    ),
    # Retention and erasure: leaders only.
    "request_keep_text": (KINDS, on_a_request(FOUND, FORBIDDEN, FORBIDDEN, method="post")),
    "request_erase": (KINDS, on_a_request(FOUND, FORBIDDEN, FORBIDDEN, method="post")),
    "assignment_release": (KINDS, on_a_request(FOUND, FOUND, FORBIDDEN, method="post")),
    "assignment_reassign": (KINDS, None),
    # Accounts.
    "login": (NO_KIND, login_page),
    "logout": (
        NO_KIND,
        lambda persona, kind, method: (
            FOUND if method == "post" else LOGIN if persona in ANONYMOUS_CLIENTS else NOT_ALLOWED
        ),
    ),
    "password_change": (
        NO_KIND,
        _logged_out_gets_login(everyone(OK, OK)),  # a wrong old password: the form again
    ),
    "password_change_done": (NO_KIND, _logged_out_gets_login(everyone(OK, NOT_ALLOWED))),
    "password_reset": (NO_KIND, everyone(OK, FOUND)),
    "password_reset_done": (NO_KIND, everyone(OK, NOT_ALLOWED)),
    "password_reset_confirm": (NO_KIND, everyone(OK, OK)),  # a junk link: "this link has expired"
    "password_reset_complete": (NO_KIND, everyone(OK, NOT_ALLOWED)),
    "password_link": (LINK_KINDS, with_a_password_link),
}


def _get_and_post(get_rule, post_rule):
    return lambda persona, kind, method: (get_rule if method == "get" else post_rule)(persona, kind, method)


ROWS["request_assign"] = (
    KINDS,
    _get_and_post(
        on_a_request(OK, FORBIDDEN, FORBIDDEN, method="get"),
        on_a_request(FOUND, FORBIDDEN, FORBIDDEN, method="post"),
    ),
)
ROWS["assignment_reassign"] = ROWS["request_assign"]
ROWS["prayer_session_skip"] = ROWS["prayer_session_prayed"]


# The requesters' pages about following a request, reached without a link.
TOKENLESS_FOLLOWUP_PAGES = {"followup_help", "followup_lost", "followup_lost_sent"}


def _app_url_names() -> set[str]:
    names = set()

    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue
                walk(pattern.url_patterns, pattern.namespace)
            elif isinstance(pattern, URLPattern):
                assert pattern.name, f"every URL needs a name: {pattern.pattern}"
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns)
    return names


def test_it_has_a_row_for_every_url():
    assert _app_url_names() == set(ROWS)


# --- the world every case starts from ----------------------------------------


class World:
    """Two requests in intercession (one confidential, one not), each with
    `assigned` actively assigned and `released` assigned then released."""

    def __init__(self):
        self.users = {
            "leader": make_user("lydia", roles.LEADERS),
            "assigned": make_user("anna", roles.INTERCESSORS),
            "other": make_user("simeon", roles.INTERCESSORS),
            "released": make_user("barnabas", roles.INTERCESSORS),
            "spare": make_user("dorcas", roles.INTERCESSORS),
            "superuser": User.objects.create_superuser("root", "root@example.org", PASSWORD),
        }
        self.requests, self.tokens = {}, {}
        for kind in KINDS:
            prayer_request, token = services.submit_request(
                for_whom="R.",
                title=f"{kind} request",
                category=Category.FAMILY,
                is_confidential=kind == "confidential",
            )
            bring_to(
                prayer_request,
                "interceding",
                leader=self.users["leader"],
                intercessor=self.users["assigned"],
                released=self.users["released"],
            )
            self.requests[kind], self.tokens[kind] = prayer_request, token

    def assignment(self, kind) -> Assignment:
        return Assignment.objects.active().get(prayer_request=self.requests[kind], intercessor=self.users["assigned"])

    def url(self, name: str, persona: str, kind: str) -> str:
        if name.startswith("followup") and name not in TOKENLESS_FOLLOWUP_PAGES:
            token = self.tokens[kind] if persona == "requester" else "not-the-right-token-" + "x" * 30
            return reverse(name, args=[token])
        if name == "token_revoke":
            # The assigned intercessor's.
            token, _secret = api_tokens.create(self.users["assigned"], name="Phone", read_only=False)
            return reverse(name, args=[token.pk])
        if name.startswith("api_request") and name != "api_requests":
            return reverse(name, args=[self.requests[kind].pk])
        if name.startswith("request_"):
            return reverse(name, args=[self.requests[kind].pk]) if name != "request_list" else reverse(name)
        if name.startswith("assignment_"):
            return reverse(name, args=[self.assignment(kind).pk])
        if name == "password_reset_confirm":
            return reverse(name, args=["MQ", "set-password"])
        if name == "password_link":
            return reverse(name, args=[self.password_link(persona, kind)])
        if name.startswith("webhook_"):
            return reverse(name, args=[self.webhook().pk])
        if name == "church_stylesheet":
            return reverse(name, args=[colours.stylesheet(church.current().accent_colour).version])
        if name.startswith("invitation_"):
            return reverse(name, args=[self.invitation().pk])
        if name == "team_member_reactivate":
            gone = make_user("demas", roles.INTERCESSORS, is_active=False)
            return reverse(name, args=[gone.pk])
        if name.startswith("team_member_"):
            return reverse(name, args=[self.users["spare"].pk])
        return reverse(name)

    def webhook(self) -> Webhook:
        """The church's chat hook, with one event it gave up on."""
        hook, _secret = webhooks.create(
            by=self.users["leader"], name="Chat", url="https://chat.example.org/hook", chosen=["request.submitted"]
        )
        WebhookDelivery.objects.create(webhook=hook, event="ping", payload={}, attempts=99)
        return hook

    def invitation(self) -> Invitation:
        """A pending invitation to the team (its e-mail waits in the outbox)."""
        return invitations.invite(
            email="invited@example.org", name="Invited Person", role=TeamRole.INTERCESSOR, by=self.users["leader"]
        )

    def password_link(self, persona: str, kind: str) -> str:
        """The token of a link for a new leader who has no password yet, in
        the state `kind` names."""
        if persona == "wrong_token" or kind == "unknown_link":
            return "not-the-right-token-" + "x" * 30
        if kind == "invitation_link":
            invitation = self.invitation()
            body = max(
                (m for m in OutboxMessage.objects.filter(kind="invitation") if m.to == invitation.user.email),
                key=lambda m: m.pk,
            ).body_text
            return re.search(r"/welcome/([A-Za-z0-9_-]+)/", body).group(1)
        _user, token = accounts.create_leader("newcomer@example.org", "New Comer")
        if kind == "used_link":
            accounts.use_password_link(token, PASSWORD)
        elif kind == "expired_link":
            AccountLink.objects.update(expires_at=timezone.now())
        return token

    def post_data(self, name: str, kind: str) -> dict:
        """Data that makes an allowed POST succeed."""
        if name == "request_undo_move":
            return {"move": str(self.requests[kind].updates.latest("created_at", "pk").pk)}
        spare = str(self.users["spare"].pk)
        return {
            "my_tokens": {"name": "My phone"},
            "team_webhooks": {"name": "Chat", "url": "https://chat.example.org/new", "events": ["request.submitted"]},
            "webhook_detail": {
                "name": "Renamed",
                "url": "https://chat.example.org/hook",
                "events": ["request.manifested"],
                "is_active": "on",
            },
            "embed_ask": {"for_whom": "J.", "consent": "knows", "category": "health", "title": "Strength"},
            "ask": {
                "for_whom": "J.",
                "consent": "knows",
                "category": "health",
                "title": "Strength",
                "is_confidential": "on",
            },
            "followup_lost": {"email": "nobody@example.org"},
            "followup_update": {"update-note": "An update from me"},
            "followup_praise": {"praise-note": "It has manifested!"},
            "followup_withdraw": {"withdraw-note": ""},
            "followup_confidentiality": {"confidential": "0" if kind == "confidential" else "1"},
            "followup_prayer_news": {"send": "0"},
            "request_assign": {"intercessors": [spare]},
            "assignment_reassign": {"intercessor": spare, "note": ""},
            "request_move": {"to_status": "breakthrough", "note": "", "visibility": "team"},
            "request_update": {"note": "A team note", "visibility": "team"},
            "request_pray": {"submission_key": "matrix-key", "minutes": "10"},
            "prayer_start": {"include_board": "on", "action": "start"},
            "prayer_session_prayed": {"request": str(self.requests["public"].pk), "submission_key": "matrix-key"},
            "prayer_session_skip": {"request": str(self.requests["public"].pk)},
            "request_keep_text": {"keep-until": "2099-01-01", "keep-reason": "asked by phone"},
            "request_erase": {"erase-confirm": "on", "erase-reason": "asked by phone"},
            "assignment_release": {"note": ""},
            "my_settings": {
                "is_available": "on",
                "max_active_assignments": "4",
                "preferred_categories": ["health"],
                "delivery": "daily",
            },
            "login": {"username": "nobody", "password": "wrong"},
            "password_change": {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
            "password_reset": {"email": "nobody@example.org"},
            "password_reset_confirm": {"new_password1": "x", "new_password2": "x"},
            "password_link": {"new_password1": "a-newcomer-phrase-51", "new_password2": "a-newcomer-phrase-51"},
            "team_invite": {"name": "New Comer", "email": "invited-newcomer@example.org", "role": "intercessor"},
            "team_member_roles": {"change": "make_leader"},
            "team_member_limits": {"capacity": "4", "available": "on"},
            "church_settings": _church_settings_data(),
        }.get(name, {})


def _church_settings_data() -> dict:
    """The church's settings page as a new church has it, with a new name."""
    defaults = church.defaults()
    numbers = [
        "coverage_days",
        "reminder_prayer_gap_days",
        "reminder_waiting_hours",
        "reminder_breakthrough_days",
        "retention_days",
    ]
    data = {name: str(getattr(defaults, name)) for name in ["accent_colour", "default_language", *numbers]}
    data |= {f"category_{place}": value for place, value in enumerate(defaults.category_order, start=1)}
    return {**data, "name": "Grace Church", "form_open": "on", "confidential_by_default": "on"}


def _snapshot() -> dict:
    return {
        "requests": sorted(
            PrayerRequest.objects.values_list(
                "pk", "status", "is_confidential", "shared_with_team_at", "flagged_at", "wants_prayer_news"
            )
        ),
        "assignments": sorted(Assignment.objects.values_list("pk", "intercessor_id", "released_at")),
        "updates": StatusUpdate.objects.count(),
        "prayer logs": PrayerLog.objects.count(),
        "profiles": sorted(
            IntercessorProfile.objects.values_list(
                "user_id", "max_active_assignments", "is_available", "limits_changed_by", "limits_changed_at"
            )
        ),
        "memberships": sorted(User.groups.through.objects.values_list("user_id", "group_id")),
        "users": sorted(User.objects.values_list("pk", "password", "is_active")),
        "e-mail preferences": sorted(NotificationPreferences.objects.values_list()),
        "prayer sessions": sorted(PrayerSession.objects.values_list()),
        "account links": sorted(AccountLink.objects.values_list("pk", "used_at")),
        "invitations": sorted(Invitation.objects.values_list("pk", "sent_at", "accepted_at")),
        "audit entries": AuditLogEntry.objects.count(),
        "church settings": sorted(ChurchSettings.objects.values_list()),
        "outbox": OutboxMessage.objects.count(),
        "api tokens": sorted(ApiToken.objects.values_list("pk", "revoked_at")),
        "webhooks": sorted(Webhook.objects.values_list("pk", "name", "url", "secret", "is_active")),
        "webhook deliveries": sorted(WebhookDelivery.objects.values_list("pk", "attempts", "next_attempt_at")),
    }


CASES = [
    pytest.param(name, persona, kind, method, id=f"{name}-{persona}-{kind}-{method}")
    for name, (kinds, _rule) in ROWS.items()
    for persona in PERSONAS
    for kind in kinds
    for method in ("get", "post")
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "persona", "kind", "method"), CASES)
def test_it_answers_each_persona_as_the_rules_say(client, name, persona, kind, method):
    world = World()
    kind_for_data = kind if kind != "-" else "public"
    expected = ROWS[name][1](persona, kind_for_data, method)
    if persona not in ANONYMOUS_CLIENTS:
        client.force_login(world.users[persona])
    url = world.url(name, persona, kind_for_data)
    before = _snapshot()

    response = client.get(url) if method == "get" else client.post(url, world.post_data(name, kind_for_data))

    if expected == LOGIN:
        assert response.status_code == 302, response
        assert response["Location"].startswith(reverse("login"))
    elif expected == SENT:
        assert response.status_code == OK
        assert _snapshot() != before, "the form was answered but nothing was stored"
        return
    else:
        assert response.status_code == expected, (response.status_code, response.get("Location"))
    if method == "get" or expected != FOUND:
        assert _snapshot() == before, "a refused or read-only request changed the database"


# --- the move's confirmation page ----------------------------------------------
#
# The moves that end intercession (manifested, closed), posted without
# `confirmed`, answer "Are you sure?" as a page (request_move's own URL, so
# it has no row of its own above): only to whoever may make the move, and
# nothing changes yet.

CONFIRM_CASES = [
    pytest.param(persona, kind, to_status, id=f"confirm-{to_status}-{persona}-{kind}")
    for persona in PERSONAS
    for kind in KINDS
    for to_status in ("answered", "closed")
]


def _confirm_page_expected(persona: str, kind: str, to_status: str):
    if persona in ANONYMOUS_CLIENTS:
        return LOGIN
    if persona == "superuser":
        return NOT_FOUND
    if persona in ("other", "released"):
        return hidden_if_confidential(FORBIDDEN)(kind)
    if persona == "assigned" and to_status == "closed":
        return FORBIDDEN  # an intercessor does not close a request (PRODUCT.md)
    return OK


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "kind", "to_status"), CONFIRM_CASES)
def test_the_confirmation_page_answers_each_persona_and_changes_nothing(client, persona, kind, to_status):
    world = World()
    if persona not in ANONYMOUS_CLIENTS:
        client.force_login(world.users[persona])
    before = _snapshot()

    response = client.post(
        reverse("request_move", args=[world.requests[kind].pk]),
        {"to_status": to_status, "note": "A note", "visibility": "team"},
    )

    expected = _confirm_page_expected(persona, kind, to_status)
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == expected, (response.status_code, response.get("Location"))
    if expected == OK:
        assert 'name="confirmed" value="1"' in response.content.decode()
    assert _snapshot() == before, "the confirmation page changed the database"


# --- the prayer session, under way ------------------------------------------------
#
# The rows above have no session under way. Here each member of the team has
# started one (with the team board); "I prayed" and "Skip" are posted with
# the id of each request. Only the request in front of them moves the
# session (or logs); any other id, above all one they may not see, is a
# redirect back to the session that changes nothing.

TEAM_PERSONAS = ["other", "assigned", "released", "leader"]
UNDER_WAY_CASES = [
    pytest.param(persona, kind, name, id=f"{name}-under-way-{persona}-{kind}")
    for persona in TEAM_PERSONAS
    for kind in KINDS
    for name in ("prayer_session_prayed", "prayer_session_skip")
]


def _may_see(persona: str, kind: str) -> bool:
    return kind == "public" or persona in ("assigned", "leader")


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "kind", "name"), UNDER_WAY_CASES)
def test_a_session_under_way_moves_only_for_the_request_in_front(client, persona, kind, name):
    world = World()
    user = world.users[persona]
    client.force_login(user)
    assert client.post(reverse("prayer_start"), {"include_board": "on", "action": "start"}).status_code == 302
    session = PrayerSession.objects.get(user=user)
    target = world.requests[kind]
    if not _may_see(persona, kind) or (persona == "leader" and kind == "confidential"):
        # Out of their sight, or (a leader who does not intercede) not theirs to carry.
        assert target.pk not in session.request_ids
    page = client.get(reverse("prayer_session"))
    assert page.status_code == 200
    if not _may_see(persona, kind):
        assert target.shown_title not in page.content.decode()
    in_front = prayer_session.current_id(session) == target.pk
    before = _snapshot()

    response = client.post(
        reverse(name), {"request": str(target.pk), "submission_key": "under-way-key", "minutes": "5"}
    )

    assert (response.status_code, response["Location"]) == (FOUND, reverse("prayer_session"))
    if in_front:
        assert _snapshot() != before
    else:
        assert _snapshot() == before, "a request not in front of them moved the session"
