"""
Invitations to the team (requests_app.team.invitations, the team page, the
page behind the link): a leader invites someone by name and e-mail as an
intercessor, a leader or both; they get one e-mail (the church's name, one
sentence, the link, how long it works: nothing else, never a request's
text); the link lets them choose a password once, within 7 days, and puts
them on the team with their role. Resend (a new link; the old one stops),
revoke (the account goes; the address may be invited again), expiry, reuse,
a forged token, an address with an account or an invitation already, and
bad input are refused plainly and change nothing. Until they accept, the
invited person can neither log in, nor be assigned, nor appear on the team
list. Every step writes its audit entry; only a leader may take any of them.
"""

import re
import socket
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import pytest
from conftest import PASSWORD, make_user, submit
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from requests_app import roles, services
from requests_app.exceptions import AssignmentRefused, IntercessionError, NotAllowed
from requests_app.mail import outbox
from requests_app.models import (
    AccountLink,
    AuditAction,
    AuditLogEntry,
    Category,
    IntercessorProfile,
    Invitation,
    LinkPurpose,
    OutboxMessage,
    TeamRole,
    Visibility,
    hash_token,
)
from requests_app.team import accounts, invitations

SITE = "https://prayer.church.example"
CHURCH = "St Brigid's"
EMAIL = "phoebe@church.example"
NAME = "Phoebe Deacon"
NEW_PASSWORD = "a-quiet-place-of-prayer-7"
LINK = re.compile(rf"{re.escape(SITE)}(/accounts/welcome/([A-Za-z0-9_-]+)/)")
TEAM, INVITE = reverse("team"), reverse("team_invite")
START_PAGES = {
    TeamRole.INTERCESSOR: reverse("my_assignments"),
    TeamRole.LEADER: reverse("triage"),
    TeamRole.BOTH: reverse("triage"),
}
GROUPS = {
    TeamRole.INTERCESSOR: [roles.INTERCESSORS],
    TeamRole.LEADER: [roles.LEADERS],
    TeamRole.BOTH: [roles.INTERCESSORS, roles.LEADERS],
}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site_and_church(settings):
    settings.INTERCESSION_SITE_URL = SITE
    settings.INTERCESSION_CHURCH_NAME = CHURCH


@pytest.fixture
def leader_client(client, leader) -> Client:
    client.force_login(leader)
    return client


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """`sent(call)`: run `call` with its e-mails delivered after commit, and
    return what it returned."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def state() -> list:
    """Everything inviting, resending, revoking and accepting may change."""
    return [
        sorted(User.objects.values_list("pk", "username", "email", "password", "is_active")),
        sorted(User.groups.through.objects.values_list("user_id", "group__name")),
        sorted(IntercessorProfile.objects.values_list("user_id", flat=True)),
        sorted(AccountLink.objects.values_list("pk", "user_id", "token_hash", "expires_at", "used_at")),
        sorted(Invitation.objects.values_list("pk", "user_id", "role", "sent_at", "accepted_at")),
        sorted(AuditLogEntry.objects.values_list("pk", flat=True)),
        sorted(OutboxMessage.objects.values_list("pk", flat=True)),
    ]


def invite_form(name: str = NAME, email: str = EMAIL, role: str = TeamRole.INTERCESSOR) -> dict:
    return {"name": name, "email": email, "role": role}


def invite(client: Client, sent, **fields):
    return sent(lambda: client.post(INVITE, invite_form(**fields)))


def link_path(message) -> str:
    """The path of the link in an invitation e-mail."""
    return LINK.search(message.body).group(1)


def choose(client: Client, path: str, password: str = NEW_PASSWORD):
    return client.post(path, {"new_password1": password, "new_password2": password})


def invited(leader, *, email: str = EMAIL, name: str = NAME, role: str = TeamRole.INTERCESSOR):
    """(invitation, path of its link), through the service. The link is read
    from the e-mail sent or, inside a test's transaction (where nothing is
    sent before the end), from the outbox."""
    mail.outbox.clear()
    invitation = invitations.invite(email=email, name=name, role=role, by=leader)
    if mail.outbox:
        body = mail.outbox[-1].body
    else:
        body = max(
            (m for m in OutboxMessage.objects.filter(kind="invitation") if m.to == invitation.user.email),
            key=lambda m: m.pk,
        ).body_text
    return invitation, LINK.search(body).group(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- The life of an invitation --------------------------------------------------------


@pytest.mark.parametrize("role", list(TeamRole))
def test_it_invites_someone_who_then_joins_with_their_role(leader_client, leader, sent, role):
    response = invite(leader_client, sent, role=role)

    assert response.status_code == 302
    assert response["Location"] == f"{TEAM}#invitations"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [EMAIL]
    user = User.objects.get(username=EMAIL)
    assert (user.first_name, user.last_name, user.email) == ("Phoebe", "Deacon", EMAIL)
    assert not user.has_usable_password()
    assert not user.groups.exists()
    invitation = Invitation.objects.get(user=user)
    assert (invitation.role, invitation.invited_by, invitation.accepted_at) == (role, leader, None)

    path = link_path(message)
    person = Client()
    page = person.get(path)
    assert page.status_code == 200
    assert f"Welcome to the team of {CHURCH}" in page.content.decode().replace("&#x27;", "'")
    joined = sent(lambda: choose(person, path))

    assert joined.status_code == 302
    assert joined["Location"] == reverse("home")
    assert person.session[SESSION_KEY] == str(user.pk)
    start = person.get(joined["Location"], follow=True)
    assert start.request["PATH_INFO"] == START_PAGES[role]
    assert f"Welcome to the team of {CHURCH}!" in start.content.decode().replace("&#x27;", "'")
    user = User.objects.get(pk=user.pk)
    assert user.check_password(NEW_PASSWORD)
    assert sorted(user.groups.values_list("name", flat=True)) == GROUPS[role]
    assert IntercessorProfile.objects.filter(user=user).exists() == (roles.INTERCESSORS in GROUPS[role])
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert AccountLink.objects.get(user=user).used_at is not None
    # Later, with the password they chose.
    again = Client()
    logged_in = again.post(reverse("login"), {"username": EMAIL, "password": NEW_PASSWORD}, follow=True)
    assert logged_in.request["PATH_INFO"] == START_PAGES[role]


def test_it_writes_an_audit_entry_for_every_step(leader, sent):
    invitation, _path = invited(leader, role=TeamRole.BOTH)
    invitations.resend(invitation, by=leader)
    path = LINK.search(OutboxMessage.objects.latest("pk").body_text).group(1)
    sent(lambda: choose(Client(), path))
    other, _path = invited(leader, email="dorcas@church.example", name="Dorcas Tabitha")
    invitations.revoke(other, by=leader)

    entries = list(
        AuditLogEntry.objects.order_by("pk").values_list("action", "actor_id", "actor_name", "subject_name", "details")
    )
    person = invitation.user
    assert entries == [
        (AuditAction.INVITED, leader.pk, "Lydia Leader", NAME, {"role": "both"}),
        (AuditAction.INVITATION_RESENT, leader.pk, "Lydia Leader", NAME, {"role": "both"}),
        (AuditAction.INVITATION_ACCEPTED, person.pk, NAME, NAME, {"role": "both"}),
        (AuditAction.INVITED, leader.pk, "Lydia Leader", "Dorcas Tabitha", {"role": "intercessor"}),
        (
            AuditAction.INVITATION_REVOKED,
            leader.pk,
            "Lydia Leader",
            "Dorcas Tabitha",
            {"role": "intercessor", "email": "dorcas@church.example"},
        ),
    ]
    # The revoked account is gone; its entries keep the name.
    assert AuditLogEntry.objects.filter(subject_name="Dorcas Tabitha", subject__isnull=True).count() == 2


def test_a_leader_who_joins_is_announced_to_the_leaders(leader, sent):
    leader.email = "lydia@church.example"
    leader.save()
    _invitation, path = invited(leader, role=TeamRole.LEADER)
    mail.outbox.clear()

    sent(lambda: choose(Client(), path))

    to_leaders = [message for message in mail.outbox if "lydia@church.example" in message.to]
    assert len(to_leaders) == 1
    assert f"{NAME} is now a leader" in to_leaders[0].body


# --- The e-mail ------------------------------------------------------------------------


def test_the_e_mail_holds_the_church_a_sentence_the_link_and_its_validity_only(leader_client, sent):
    invite(leader_client, sent, role=TeamRole.BOTH)

    (message,) = mail.outbox
    path = link_path(message)
    assert message.subject == f"An invitation to the intercession team of {CHURCH}"
    assert message.body == (
        f"Lydia Leader invites you to join the intercession team of {CHURCH} as a leader and intercessor.\n"
        f"\n"
        f"{SITE}{path}\n"
        f"\n"
        f"This link works once, for 7 days: with it you choose your password.\n"
        f"\n"
        f"— {CHURCH}\n"
        f"\n"
    )
    ((html, kind),) = message.alternatives
    assert kind == "text/html"
    assert f'<a href="{SITE}{path}">' in html
    assert "St Brigid&#x27;s" in html
    assert "settings" not in message.body.lower()


@pytest.mark.parametrize(
    ("role", "as_what"),
    [(TeamRole.INTERCESSOR, "as an intercessor."), (TeamRole.LEADER, "as a leader."), (TeamRole.BOTH, "as a leader")],
)
def test_the_e_mail_says_as_what_they_are_invited(leader_client, sent, role, as_what):
    invite(leader_client, sent, role=role)

    assert f"join the intercession team of {CHURCH} {as_what}" in mail.outbox[0].body


MARKERS = ["Mk-Whom-7Q", "Mk-Title-7Q", "Mk-Details-7Q", "Mk-Name-7Q", "mk-mail-7q", "Mk-Note-7Q", "Mk-Pray-7Q"]


def test_the_e_mail_carries_no_request_text(leader, leader_client, assigned_intercessor, sent):
    whom, title, details, name, address, note, prayer = MARKERS
    for confidential in (True, False):
        prayer_request, _token = services.submit_request(
            for_whom=whom,
            title=title,
            category=Category.HEALTH,
            details=details,
            is_confidential=confidential,
            requester_name=name,
            requester_email=f"{address}@example.org",
        )
        services.assign(prayer_request, [assigned_intercessor], by=leader)
        services.post_update(prayer_request, actor=leader, note=note, visibility=Visibility.TEAM)
        services.log_prayer(prayer_request, intercessor=assigned_intercessor, note=prayer)
    mail.outbox.clear()

    invite(leader_client, sent)

    (message,) = mail.outbox
    parts = [message.subject, message.body, *(content for content, _kind in message.alternatives)]
    stored = OutboxMessage.objects.get(kind="invitation")
    parts += [stored.subject, stored.body_text, stored.body_html]
    for text in parts:
        for value in MARKERS:
            assert value.lower() not in text.lower()
    assert stored.prayer_request_id is None


def test_it_keeps_no_copy_of_the_link_once_the_e_mail_is_sent(leader_client, sent):
    invite(leader_client, sent)

    stored = OutboxMessage.objects.get(kind="invitation")
    assert stored.sent_at is not None
    assert (stored.body_text, stored.body_html) == ("", "")
    assert stored.to == EMAIL


def test_it_keeps_the_e_mail_for_send_outbox_while_the_mail_server_is_down(leader_client, sent, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 5

    invite(leader_client, sent)

    waiting = OutboxMessage.objects.get(kind="invitation")
    assert (waiting.sent_at, waiting.attempts) == (None, 1)
    path = LINK.search(waiting.body_text).group(1)
    assert Client().get(path).status_code == 200
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert outbox.deliver_due() == (1, 0)
    assert link_path(mail.outbox[0]) == path
    waiting.refresh_from_db()
    assert (waiting.body_text, waiting.body_html) == ("", "")


# --- Resend, revoke, expiry, reuse, forgery -------------------------------------------


def test_resending_gives_a_new_link_and_the_old_one_stops_working(leader, leader_client, sent):
    invitation, old_path = invited(leader)
    first_sent_at = invitation.sent_at
    mail.outbox.clear()

    response = sent(lambda: leader_client.post(reverse("invitation_resend", args=[invitation.pk])))

    assert response.status_code == 302
    assert response["Location"] == f"{TEAM}#invitations"
    (message,) = mail.outbox
    new_path = link_path(message)
    assert new_path != old_path
    invitation.refresh_from_db()
    assert invitation.sent_at > first_sent_at
    assert AccountLink.objects.filter(user=invitation.user).count() == 1
    before = state()
    person = Client()
    assert person.get(old_path).status_code == 404
    assert choose(person, old_path).status_code == 404
    assert state() == before
    assert choose(person, new_path).status_code == 302
    assert roles.is_intercessor(User.objects.get(pk=invitation.user_id))
    page = leader_client.get(TEAM, follow=True).content.decode()
    assert "the link sent before no longer works" in page


def test_revoking_removes_the_account_and_the_address_may_be_invited_again(leader, leader_client, sent):
    invitation, path = invited(leader)

    response = leader_client.post(reverse("invitation_revoke", args=[invitation.pk]))

    assert response.status_code == 302
    assert not User.objects.filter(username=EMAIL).exists()
    assert not Invitation.objects.exists()
    assert not AccountLink.objects.exists()
    assert Client().get(path).status_code == 404
    assert choose(Client(), path).status_code == 404
    assert not User.objects.filter(username=EMAIL).exists()
    assert "is revoked" in leader_client.get(TEAM).content.decode()

    mail.outbox.clear()
    assert invite(leader_client, sent).status_code == 302
    assert choose(Client(), link_path(mail.outbox[0])).status_code == 302
    assert roles.is_intercessor(User.objects.get(username=EMAIL))


def test_an_expired_link_is_refused_and_the_invitation_can_be_sent_again(leader, leader_client, sent):
    invitation, path = invited(leader)
    # Eight days later.
    eight_days = timedelta(days=8)
    AccountLink.objects.update(expires_at=timezone.now() - timedelta(days=1))
    Invitation.objects.update(sent_at=invitation.sent_at - eight_days, created_at=invitation.created_at - eight_days)
    before = state()

    assert Client().get(path).status_code == 404
    refused = choose(Client(), path)
    assert refused.status_code == 404
    assert "This link is no longer valid" in refused.content.decode()
    assert state() == before

    page = leader_client.get(TEAM).content.decode()
    assert "Expired" in page
    assert reverse("invitation_resend", args=[invitation.pk]) in page
    mail.outbox.clear()
    sent(lambda: leader_client.post(reverse("invitation_resend", args=[invitation.pk])))
    assert choose(Client(), link_path(mail.outbox[0])).status_code == 302


def test_a_link_used_once_is_refused_the_second_time(leader):
    _invitation, path = invited(leader)
    assert choose(Client(), path).status_code == 302
    before = state()

    person = Client()
    assert person.get(path).status_code == 404
    assert choose(person, path, "someone-elses-choice-99").status_code == 404

    assert state() == before
    assert User.objects.get(username=EMAIL).check_password(NEW_PASSWORD)
    assert SESSION_KEY not in person.session


@pytest.mark.parametrize(
    "token",
    ["x" * 43, "short", "%00" * 20, "a" * 10_000, "../../admin", "Wrong-Token-" + "y" * 31],
)
def test_a_forged_token_is_refused_and_changes_nothing(leader, token):
    invited(leader)
    before = state()

    client = Client()
    path = f"/accounts/welcome/{token}/"
    answers = [client.get(path), choose(client, path)]

    assert {answer.status_code for answer in answers} == {404}
    assert state() == before


def test_the_hash_of_a_token_is_no_token(leader):
    invitation, path = invited(leader)
    stored = AccountLink.objects.get(user=invitation.user)
    token = path.split("/")[-2]
    assert stored.token_hash == hash_token(token) != token
    assert stored.purpose == LinkPurpose.INVITATION
    assert choose(Client(), reverse("password_link", args=[stored.token_hash])).status_code == 404


def test_it_refuses_the_link_of_someone_already_on_the_team(leader):
    invitation, path = invited(leader, role=TeamRole.LEADER)
    # Put on the team by other means in the meantime (the Django admin).
    invitation.user.groups.add(Group.objects.get(name=roles.INTERCESSORS))
    before = state()

    assert Client().get(path).status_code == 404
    assert choose(Client(), path).status_code == 404
    with pytest.raises(accounts.LinkNotUsable):
        invitations.accept(path.split("/")[-2], NEW_PASSWORD)

    assert state() == before


def test_an_invitation_link_chooses_no_password_without_joining(leader):
    # The new leader's function refuses a link of another purpose.
    _invitation, path = invited(leader)
    before = state()

    with pytest.raises(accounts.LinkNotUsable):
        accounts.use_password_link(path.split("/")[-2], NEW_PASSWORD)

    assert state() == before


def test_a_new_leader_link_does_not_join_through_an_invitation(db):
    _user, token = accounts.create_leader("ruth@church.example", "Ruth")
    before = state()

    with pytest.raises(accounts.LinkNotUsable):
        invitations.accept(token, NEW_PASSWORD)

    assert state() == before


def test_accepted_invitations_cannot_be_resent_or_revoked(leader, leader_client):
    invitation, path = invited(leader)
    choose(Client(), path)
    before = state()

    for name in ("invitation_resend", "invitation_revoke"):
        response = leader_client.post(reverse(name, args=[invitation.pk]), follow=True)
        assert response.status_code == 200
        assert "This invitation was accepted: they are on the team." in response.content.decode()
    with pytest.raises(invitations.InvitationRefused) as refusal:
        invitations.revoke(invitation, by=leader)

    assert refusal.value.code == "accepted"
    assert state() == before


def test_an_invitation_revoked_meanwhile_is_refused_plainly(leader):
    invitation, _path = invited(leader)
    stale = Invitation.objects.get(pk=invitation.pk)
    invitations.revoke(invitation, by=leader)
    before = state()

    for action in (invitations.resend, invitations.revoke):
        with pytest.raises(invitations.InvitationRefused) as refusal:
            action(stale, by=leader)
        assert refusal.value.code == "gone"

    assert state() == before


# --- Who may be invited -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "typed"),
    [
        ({"username": "phoebe", "email": EMAIL}, EMAIL),
        ({"username": "phoebe", "email": "Phoebe@Church.Example"}, EMAIL),
        ({"username": EMAIL, "email": ""}, EMAIL.upper()),
        ({"username": "phoebe", "email": EMAIL}, f"  {EMAIL} "),
    ],
    ids=["same-email", "email-in-another-case", "same-user-name", "with-spaces"],
)
def test_it_refuses_someone_already_on_the_team(leader_client, sent, existing, typed):
    make_user(existing["username"], roles.INTERCESSORS, email=existing["email"])
    before = state()

    response = invite(leader_client, sent, email=typed)

    assert response.status_code == 200
    assert "There is already an account for" in response.content.decode()
    assert state() == before
    assert mail.outbox == []


def test_it_says_when_the_account_of_the_address_is_deactivated(leader_client, sent):
    make_user("phoebe", roles.INTERCESSORS, email=EMAIL, is_active=False)
    before = state()

    response = invite(leader_client, sent)

    assert "deactivated: reactivate it instead" in response.content.decode()
    assert state() == before


def test_it_refuses_an_address_invited_already_and_suggests_sending_again(leader, leader_client, sent):
    invited(leader)
    before = state()
    mail.outbox.clear()

    response = invite(leader_client, sent, email=EMAIL.upper(), name="Someone Else")

    assert response.status_code == 200
    content = response.content.decode()
    assert "is invited already: send the invitation again" in content
    assert state() == before
    assert mail.outbox == []
    with pytest.raises(invitations.InvitationRefused) as refusal:
        invitations.invite(email=EMAIL, name=NAME, role=TeamRole.LEADER, by=User.objects.get(username="lydia"))
    assert refusal.value.code == "already_invited"


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"name": ""}, "Give the name of the person you invite."),
        ({"name": "   "}, "Give the name of the person you invite."),
        ({"name": "Pho\x00ebe"}, "A name may not hold control characters."),
        ({"name": "Phoebe \u202enocaeD"}, "A name may not hold control characters."),
        ({"name": "Phoebe\nDeacon"}, "A name may not hold control characters."),
        ({"name": "P" * 1_000_000}, "Give a name of at most 301 characters."),
        ({"name": "P" * 151}, "at most 150 characters each"),
        ({"email": ""}, "Give an e-mail address."),
        ({"email": "phoebe"}, "This is not an e-mail address."),
        ({"email": "phoebe@church"}, "This is not an e-mail address."),
        ({"email": "pho\x00ebe@church.example"}, "This is not an e-mail address."),
        ({"email": "pho\u202eebe@church.example"}, "This is not an e-mail address."),
        ({"email": "x" * 1_000_000}, "This is not an e-mail address."),
        ({"email": "o'brien@church.example"}, "only letters, digits and @ . + - _"),
        ({"role": "admin"}, "Choose intercessor, leader, or both."),
        ({"role": ""}, "Choose intercessor, leader, or both."),
    ],
    ids=lambda value: repr(value)[:40] if isinstance(value, dict) else "",
)
def test_it_refuses_bad_input_with_a_message_and_changes_nothing(leader_client, sent, fields, says):
    before = state()

    response = sent(lambda: leader_client.post(INVITE, {**invite_form(), **fields}))

    assert response.status_code == 200
    content = response.content.decode().replace("&#x27;", "'")
    assert says in content
    assert '<h1 class="h3 mb-3">Invite someone to the team</h1>' in content
    assert state() == before
    assert mail.outbox == []


def test_it_refuses_a_bad_role_in_the_service_too(leader):
    with pytest.raises(ValidationError) as refusal:
        invitations.invite(email=EMAIL, name=NAME, role="superuser", by=leader)

    assert refusal.value.code == "invalid_role"
    assert not User.objects.filter(username=EMAIL).exists()


def test_it_keeps_what_was_typed_when_the_form_is_refused(leader_client, sent):
    response = invite(leader_client, sent, email="not-an-address", name="Phoebe Deacon")

    content = response.content.decode()
    assert 'value="Phoebe Deacon"' in content
    assert 'value="not-an-address"' in content
    assert '<div class="card mb-3" id="invite">' in content


# --- Until they accept ----------------------------------------------------------------


def test_an_invited_person_cannot_log_in_be_assigned_or_be_on_the_team(leader, leader_client, sent):
    invitation, _path = invited(leader)
    person = invitation.user
    prayer_request = submit()

    for password in ("", "!", person.password, PASSWORD):
        answer = Client().post(reverse("login"), {"username": EMAIL, "password": password})
        assert answer.status_code == 200, password
    with pytest.raises(AssignmentRefused):
        services.assign(prayer_request, [person], by=leader)
    refused = leader_client.post(reverse("request_assign", args=[prayer_request.pk]), {"intercessors": [person.pk]})
    assert refused.status_code == 200
    assert not prayer_request.assignments.exists()
    assign_page = leader_client.get(reverse("request_assign", args=[prayer_request.pk])).content.decode()
    assert f'value="{person.pk}"' not in assign_page
    team = leader_client.get(TEAM)
    assert person.pk not in {member.pk for member in team.context["page"].object_list}
    # Nor can "Forgotten your password?" open the account.
    mail.outbox.clear()
    sent(lambda: Client().post(reverse("password_reset"), {"email": EMAIL}))
    assert mail.outbox == []


# --- The pending invitations on the team page ----------------------------------------


def test_the_team_page_lists_pending_invitations_with_resend_and_revoke(leader, leader_client):
    invitation, _path = invited(leader, role=TeamRole.BOTH)
    accepted, accepted_path = invited(leader, email="dorcas@church.example", name="Dorcas Tabitha")
    choose(Client(), accepted_path)

    response = leader_client.get(TEAM)

    content = response.content.decode()
    assert 'id="invitations"' in content
    assert "Pending invitations" in content
    assert NAME in content
    assert EMAIL in content
    assert "Leader and intercessor" in content
    assert "Invited by Lydia Leader" in content
    sent_on = timezone.localtime(invitation.sent_at)
    expires_on = timezone.localtime(invitation.sent_at + timedelta(days=7))
    assert f"{sent_on:%-d %b %Y}" in content
    assert f'datetime="{expires_on.isoformat()}"' in content or f"{expires_on:%-d %b %Y}" in content
    assert "Expired" not in content
    assert f'action="{reverse("invitation_resend", args=[invitation.pk])}"' in content
    assert f'action="{reverse("invitation_revoke", args=[invitation.pk])}"' in content
    assert 'aria-label="Revoke the invitation to Phoebe Deacon"' in content
    assert f'action="{INVITE}"' in content
    # An accepted invitation is no longer pending.
    assert reverse("invitation_revoke", args=[accepted.pk]) not in content


def test_the_team_page_shows_typed_names_as_text(leader, leader_client):
    invited(leader, name="<script>alert(1)</script> <b>Bold</b>")

    content = leader_client.get(TEAM).content.decode()

    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_the_pending_invitations_cost_the_same_queries_however_many(leader, leader_client):
    def queries_for_team_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert leader_client.get(TEAM).status_code == 200
        return len(captured.captured_queries)

    for number in range(3):
        invited(leader, email=f"person{number}@church.example", name=f"Person {number}")
    few = queries_for_team_page()
    for number in range(3, 30):
        invited(leader, email=f"person{number}@church.example", name=f"Person {number}")
    many = leader_client.get(TEAM)

    assert queries_for_team_page() == few
    page = many.context["invitations"]
    assert len(page.object_list) == 25
    assert page.links["next"].endswith("#invitations")
    further = leader_client.get(TEAM + page.links["next"])
    assert len(further.context["invitations"].object_list) == 5


# --- Who may do what -------------------------------------------------------------------


def _action_urls(invitation) -> dict[str, str]:
    return {
        "invite": INVITE,
        "resend": reverse("invitation_resend", args=[invitation.pk]),
        "revoke": reverse("invitation_revoke", args=[invitation.pk]),
    }


@pytest.mark.parametrize("action", ["invite", "resend", "revoke"])
@pytest.mark.parametrize("persona", ["assigned_intercessor", "superuser"])
def test_only_a_leader_may_invite_resend_or_revoke(request, leader, sent, action, persona):
    invitation, _path = invited(leader, email="waiting@church.example", name="Someone Waiting")
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    before = state()
    mail.outbox.clear()

    response = sent(lambda: client.post(_action_urls(invitation)[action], invite_form()))

    assert response.status_code == 403
    assert state() == before
    assert mail.outbox == []


@pytest.mark.parametrize("action", ["invite", "resend", "revoke"])
def test_anyone_logged_out_is_sent_to_log_in(leader, client, action):
    invitation, _path = invited(leader, email="waiting@church.example", name="Someone Waiting")
    before = state()

    response = client.post(_action_urls(invitation)[action], invite_form())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert state() == before


@pytest.mark.parametrize("action", ["invite", "resend", "revoke"])
@pytest.mark.parametrize("method", ["get", "put", "delete", "head"])
def test_every_action_is_a_post(leader, leader_client, action, method):
    invitation, _path = invited(leader, email="waiting@church.example", name="Someone Waiting")
    before = state()

    response = getattr(leader_client, method)(_action_urls(invitation)[action])

    assert response.status_code == 405
    assert state() == before


@pytest.mark.parametrize("name", ["invitation_resend", "invitation_revoke"])
def test_an_unknown_invitation_is_not_found(leader, leader_client, name):
    invitation, _path = invited(leader)
    before = state()

    response = leader_client.post(reverse(name, args=[invitation.pk + 1000]))

    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize("persona", ["assigned_intercessor", "superuser"])
def test_the_services_refuse_anyone_who_may_not_manage_the_team(request, leader, persona):
    invitation, _path = invited(leader)
    actor = request.getfixturevalue(persona)
    before = state()

    for action in (
        partial(invitations.invite, email="another@church.example", name="Another One", role=TeamRole.LEADER),
        partial(invitations.resend, invitation),
        partial(invitations.revoke, invitation),
    ):
        with pytest.raises(NotAllowed):
            action(by=actor)

    assert state() == before


def test_an_intercessor_and_a_superuser_see_no_invitation(leader, assigned_intercessor, superuser):
    invited(leader)
    for user in (assigned_intercessor, superuser):
        client = Client()
        client.force_login(user)
        response = client.get(TEAM)
        assert response.status_code == 403
        assert EMAIL not in response.content.decode()


# --- At the same moment (PostgreSQL) -----------------------------------------------------


@dataclass
class Refused:
    refusal: IntercessionError


def _refusal_returned(call):
    """The call's result, or its refusal wrapped (run_at_once takes any
    other exception than a request service's refusal for a failure)."""
    try:
        return call()
    except IntercessionError as refusal:
        return Refused(refusal)


def _accept_over_http(path: str, password: str) -> int:
    return choose(Client(), path, password).status_code


@pytest.mark.usefixtures("on_postgres")
def test_two_simultaneous_accepts_of_one_link_give_exactly_one_success():
    from test_concurrency import ROUNDS, run_at_once

    leader = make_user("lydia", roles.LEADERS, first_name="Lydia", last_name="Leader")
    for round_ in range(ROUNDS):
        email = f"person{round_}@church.example"
        invitation, path = invited(leader, email=email, name=f"Person {round_}", role=TeamRole.BOTH)
        passwords = [f"first-of-two-phrases-{round_}", f"second-of-two-phrases-{round_}"]

        statuses = run_at_once([partial(_accept_over_http, path, password) for password in passwords])

        assert sorted(statuses) == [302, 404], statuses
        user = User.objects.get(username=email)
        assert user.check_password(passwords[statuses.index(302)])
        assert sorted(user.groups.values_list("name", flat=True)) == GROUPS[TeamRole.BOTH]
        assert IntercessorProfile.objects.filter(user=user).count() == 1
        assert Invitation.objects.get(pk=invitation.pk).accepted_at is not None
        assert AuditLogEntry.objects.filter(action=AuditAction.INVITATION_ACCEPTED, subject=user).count() == 1


@pytest.mark.usefixtures("on_postgres")
def test_an_accept_and_a_revoke_at_the_same_moment_leave_one_of_them_done():
    from test_concurrency import ROUNDS, fresh, run_at_once

    leader = make_user("lydia", roles.LEADERS, first_name="Lydia", last_name="Leader")
    for round_ in range(ROUNDS):
        email = f"person{round_}@church.example"
        invitation, path = invited(leader, email=email, name=f"Person {round_}")
        token = path.split("/")[-2]

        accepted, revoked = run_at_once(
            [
                partial(_refusal_returned, partial(invitations.accept, token, f"a-phrase-to-join-{round_}")),
                partial(_refusal_returned, partial(invitations.revoke, fresh(invitation), by=fresh(leader))),
            ]
        )

        if isinstance(accepted, User):
            assert isinstance(revoked.refusal, invitations.InvitationRefused), revoked
            assert roles.is_intercessor(User.objects.get(username=email))
        else:
            assert isinstance(accepted.refusal, accounts.LinkNotUsable), accepted
            assert isinstance(revoked, Invitation), revoked
            assert not User.objects.filter(username=email).exists()


@pytest.mark.usefixtures("on_postgres")
def test_two_leaders_inviting_one_address_at_the_same_moment_make_one_invitation():
    from test_concurrency import ROUNDS, run_at_once

    leaders = [make_user(name, roles.LEADERS) for name in ("lydia", "deborah")]
    for round_ in range(ROUNDS):
        email = f"person{round_}@church.example"

        outcomes = run_at_once(
            [
                partial(
                    _refusal_returned,
                    partial(invitations.invite, email=email, name="Person", role=TeamRole.INTERCESSOR, by=leader),
                )
                for leader in leaders
            ]
        )

        made = [outcome for outcome in outcomes if isinstance(outcome, Invitation)]
        refused = [outcome for outcome in outcomes if isinstance(outcome, Refused)]
        assert (len(made), len(refused)) == (1, 1), outcomes
        assert isinstance(refused[0].refusal, invitations.InvitationRefused), refused
        assert Invitation.objects.filter(user__username=email).count() == 1
        assert AccountLink.objects.filter(user__username=email).count() == 1
        assert [m.to for m in OutboxMessage.objects.all()].count(email) == 1
