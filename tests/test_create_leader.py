"""
The first leader, without the Django admin: `manage.py create_leader` makes
a leader who also intercedes, with no usable password, and prints a link
(good once, for 48 hours; only its hash is stored) to the page where they
choose one. A second run for the same address, bad input, and a used,
expired or unknown link are refused plainly and change nothing; two
simultaneous uses of one link let exactly one through (PostgreSQL).
"""

import io
import re
from datetime import timedelta
from functools import partial
from urllib.parse import quote

import pytest
from conftest import PASSWORD, make_user, without_csrf_token
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from requests_app import roles
from requests_app.management.commands.create_leader import Command
from requests_app.models import AccountLink, IntercessorProfile, LinkPurpose, hash_token
from requests_app.team import accounts

SITE = "https://prayer.church.example"
EMAIL = "lydia@church.example"
NEW_PASSWORD = "a-quiet-place-of-prayer-7"
LINK = re.compile(rf"^    {re.escape(SITE)}(/accounts/welcome/([A-Za-z0-9_-]+)/)$", re.MULTILINE)
OFF_SITE = re.compile(r'(?:href|src|action)="(?![/#])([^"]*)"')


@pytest.fixture(autouse=True)
def _site(settings):
    settings.INTERCESSION_SITE_URL = SITE


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("create_leader", *args, stdout=out)
    return out.getvalue()


def create(email: str = EMAIL, name: str = "Lydia Leader") -> tuple[str, str]:
    """The command's output and the path of the link it printed."""
    output = run("--email", email, "--name", name)
    (path, _token) = LINK.search(output).groups()
    return output, path


def choose(client: Client, path: str, password: str = NEW_PASSWORD, again: str | None = None):
    return client.post(path, {"new_password1": password, "new_password2": again or password})


def state() -> list:
    """Everything the command and the page may change."""
    return [
        sorted(User.objects.values_list("pk", "username", "email", "password", "is_active")),
        sorted(User.groups.through.objects.values_list("user_id", "group__name")),
        sorted(IntercessorProfile.objects.values_list("user_id", flat=True)),
        sorted(AccountLink.objects.values_list("pk", "user_id", "token_hash", "expires_at", "used_at")),
    ]


# --- The command ---------------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_a_leader_who_intercedes_without_a_password():
    before = timezone.now()
    output, path = create()
    after = timezone.now()

    user = User.objects.get()
    assert (user.username, user.email, user.first_name, user.last_name) == (EMAIL, EMAIL, "Lydia", "Leader")
    assert roles.is_leader(user)
    assert roles.is_intercessor(user)
    assert IntercessorProfile.objects.filter(user=user).exists()
    assert not user.has_usable_password()
    assert user.is_active
    assert not user.is_staff
    assert not user.is_superuser
    link = AccountLink.objects.get()
    token = path.split("/")[-2]
    assert (link.user, link.purpose, link.used_at) == (user, LinkPurpose.NEW_LEADER, None)
    assert link.token_hash == hash_token(token) != token
    assert before + timedelta(hours=48) <= link.expires_at <= after + timedelta(hours=48)
    # What to do next: the link, how long it lasts, where to log in later.
    assert "works once, for 48 hours" in output
    assert f"log in at {SITE}/accounts/login/ with the user name {EMAIL}" in output
    assert f"create_leader --email {EMAIL} --new-link" in output


@pytest.mark.django_db
def test_it_makes_the_user_name_from_the_address_in_lower_case():
    create("  Lydia.Leader@Church.Example ", "  Lydia   van der  Berg ")

    user = User.objects.get()
    assert user.username == "lydia.leader@church.example"
    assert user.email == "Lydia.Leader@church.example"  # the domain lower-cased, as Django does
    assert (user.first_name, user.last_name) == ("Lydia", "van der Berg")


@pytest.mark.django_db
def test_it_takes_a_single_name_and_names_in_any_script():
    create("ruth@church.example", "Ruth")
    create("miriam@church.example", "مريم الحداد")

    assert sorted(User.objects.values_list("first_name", "last_name")) == [("Ruth", ""), ("مريم", "الحداد")]


@pytest.mark.django_db
@pytest.mark.parametrize("again", [EMAIL, EMAIL.upper(), f" {EMAIL} "])
def test_it_refuses_a_second_run_for_the_same_address(again):
    _output, path = create()
    before = state()

    with pytest.raises(CommandError) as refusal:
        run("--email", again, "--name", "Someone Else")

    message = str(refusal.value)
    assert "There is already an account for" in message
    assert "Nothing changed." in message
    # They never chose a password: the way out is a new link.
    assert f"create_leader --email {EMAIL} --new-link" in message
    assert state() == before
    assert Client().get(path).status_code == 200, "the first link still works"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "existing",
    [
        {"username": "lydia", "email": "Lydia@Church.Example"},
        {"username": "lydia@church.example", "email": ""},
    ],
    ids=["same-email", "same-user-name"],
)
def test_it_refuses_an_address_an_account_has_already(existing):
    user = make_user(existing["username"], roles.INTERCESSORS, email=existing["email"])
    before = state()

    with pytest.raises(CommandError) as refusal:
        run("--email", EMAIL, "--name", "Lydia Leader")

    message = str(refusal.value)
    assert f"user name {user.username}" in message
    assert "“Forgotten your password?”" in message
    assert f"{SITE}/accounts/login/" in message
    assert state() == before
    assert not roles.is_leader(User.objects.get(pk=user.pk)), "an existing account is never made a leader"


@pytest.mark.django_db
def test_it_says_when_the_existing_account_is_deactivated():
    make_user("lydia", email=EMAIL, is_active=False)

    with pytest.raises(CommandError, match=re.escape("It is deactivated.")):
        run("--email", EMAIL, "--name", "Lydia Leader")


@pytest.mark.parametrize(
    ("email", "says"),
    [
        ("", "Give an e-mail address."),
        ("   ", "Give an e-mail address."),
        ("lydia", "This is not an e-mail address."),
        ("lydia@", "This is not an e-mail address."),
        ("lydia@church", "This is not an e-mail address."),
        ("ly dia@church.example", "This is not an e-mail address."),
        ("ly\x00dia@church.example", "This is not an e-mail address."),
        ("lydia\n@church.example", "This is not an e-mail address."),
        ("ly\udcffdia@church.example", "This is not an e-mail address."),
        ("x" * 1_000_000, "This is not an e-mail address."),
        ("l" * 64 + "@" + "c" * 40 + "." + "c" * 40 + ".example", "at most 150 characters"),
        ("o'brien@church.example", "only letters, digits and @ . + - _"),
    ],
)
def test_it_refuses_what_is_not_an_address(db, email, says):
    with pytest.raises(CommandError) as refusal:
        run("--email", email, "--name", "Lydia Leader")

    assert str(refusal.value).startswith("--email: ")
    assert says in str(refusal.value)
    assert state() == [[], [], [], []]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "Give a name."),
        (" \t ", "A name may not hold control characters."),
        ("   ", "Give a name."),
        ("Ly\x00dia", "A name may not hold control characters."),
        ("Lydia\nLeader", "A name may not hold control characters."),
        ("Lydia \u202eredaeL", "A name may not hold control characters."),
        ("Ly\udcffdia", "A name may not hold control characters."),
        ("L" * 151, "at most 150 characters each"),
        ("Lydia " + "L" * 1_000_000, "at most 150 characters each"),
    ],
)
def test_it_refuses_what_is_not_a_name(db, name, says):
    with pytest.raises(CommandError) as refusal:
        run("--email", EMAIL, "--name", name)

    assert str(refusal.value).startswith("--name: ")
    assert says in str(refusal.value)
    assert state() == [[], [], [], []]


def test_it_asks_for_the_name(db):
    with pytest.raises(CommandError, match='--name "Lydia Leader"'):
        run("--email", EMAIL)

    assert state() == [[], [], [], []]


def test_it_exits_with_an_error_status_on_bad_input(capsys):
    # As `python manage.py create_leader --email nope` does; refused before
    # any query.
    with pytest.raises(SystemExit) as exit_:
        Command().run_from_argv(["manage.py", "create_leader", "--email", "nope", "--name", "Lydia"])

    assert exit_.value.code == 1
    assert "CommandError: --email: This is not an e-mail address." in capsys.readouterr().err


# --- A new link ----------------------------------------------------------------------


@pytest.mark.django_db
def test_it_gives_a_new_link_and_the_old_one_stops_working():
    _output, old_path = create()

    output = run("--email", EMAIL.upper(), "--new-link")

    (new_path, token) = LINK.search(output).groups()
    assert new_path != old_path
    assert output.startswith(f"A new link for Lydia Leader <{EMAIL}>; the one before no longer works.")
    assert list(AccountLink.objects.values_list("token_hash", flat=True)) == [hash_token(token)]
    client = Client()
    assert client.get(old_path).status_code == 404
    assert client.get(new_path).status_code == 200
    assert choose(client, new_path).status_code == 302


@pytest.mark.django_db
def test_it_refuses_a_new_link_for_an_address_without_an_account():
    with pytest.raises(CommandError, match=f"There is no account for {EMAIL}. To create it: create_leader --email"):
        run("--email", EMAIL, "--new-link")

    assert state() == [[], [], [], []]


@pytest.mark.django_db
def test_it_refuses_a_new_link_once_the_password_is_chosen():
    _output, path = create()
    choose(Client(), path)
    before = state()

    with pytest.raises(CommandError, match=re.escape("“Forgotten your password?”")):
        run("--email", EMAIL, "--new-link")

    assert state() == before


@pytest.mark.django_db
def test_it_refuses_a_new_link_for_someone_who_is_not_a_leader():
    intercessor = make_user("anna", roles.INTERCESSORS, email="anna@church.example")
    intercessor.set_unusable_password()
    intercessor.save()
    before = state()

    with pytest.raises(CommandError, match="is not a leader"):
        run("--email", "anna@church.example", "--new-link")

    assert state() == before


@pytest.mark.django_db
def test_it_refuses_a_new_link_for_a_deactivated_leader():
    create()
    User.objects.update(is_active=False)
    before = state()

    with pytest.raises(CommandError, match=f"The account of {EMAIL} is deactivated"):
        run("--email", EMAIL, "--new-link")

    assert state() == before


@pytest.mark.django_db
def test_it_refuses_a_name_with_a_new_link():
    create()
    before = state()

    with pytest.raises(CommandError, match="leave out --name"):
        run("--email", EMAIL, "--name", "Lydia Smith", "--new-link")

    assert state() == before


# --- The page behind the link ------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_the_form_to_choose_a_password(client):
    _output, path = create()

    response = client.get(path)

    assert response.status_code == 200
    content = response.content.decode()
    assert "<title>Choose your password · Intercession</title>" in content
    assert "Welcome, Lydia." in content
    assert f'Your user name is <strong class="text-break">{EMAIL}</strong>' in content
    assert 'name="new_password1"' in content
    assert 'name="new_password2"' in content
    assert 'autocomplete="new-password"' in content
    assert '<meta name="robots" content="noindex, nofollow">' in content
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    # Only the origin as Referer: the token stays out of what the page loads.
    assert response["Referrer-Policy"] == "strict-origin"
    assert {"no-store", "max-age=0"} <= {part.strip() for part in response["Cache-Control"].split(",")}
    assert OFF_SITE.findall(content) == [], "the page links off-site"


@pytest.mark.django_db
def test_it_does_not_spend_the_link_on_a_visit(client):
    _output, path = create()

    for _visit in range(3):
        assert client.get(path).status_code == 200
        assert client.head(path).status_code == 200

    assert AccountLink.objects.get().used_at is None
    assert not User.objects.get().has_usable_password()


@pytest.mark.django_db
def test_it_sets_the_password_once_and_logs_the_leader_in_at_triage(client):
    _output, path = create()

    response = choose(client, path)

    assert response.status_code == 302
    assert response.url == reverse("home")
    user = User.objects.get()
    assert user.check_password(NEW_PASSWORD)
    assert client.session[SESSION_KEY] == str(user.pk)
    assert AccountLink.objects.get().used_at is not None
    start = client.get(response.url, follow=True)
    assert start.request["PATH_INFO"] == reverse("triage")
    assert "Your password is chosen, and you are logged in. Welcome!" in start.content.decode()


@pytest.mark.django_db
def test_the_new_leader_logs_in_later_with_the_chosen_password(client):
    _output, path = create()
    choose(Client(), path)

    response = client.post(reverse("login"), {"username": EMAIL, "password": NEW_PASSWORD}, follow=True)

    assert response.request["PATH_INFO"] == reverse("triage")
    assert '<h1 class="h3 mb-1">Triage</h1>' in response.content.decode()


@pytest.mark.django_db
def test_it_refuses_a_link_that_was_used(client):
    _output, path = create()
    choose(Client(), path)
    before = state()

    get = client.get(path)
    post = choose(client, path, "someone-elses-choice-99")

    assert (get.status_code, post.status_code) == (404, 404)
    assert "This link is no longer valid" in post.content.decode()
    assert state() == before
    assert User.objects.get().check_password(NEW_PASSWORD)
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_it_refuses_an_expired_link(client):
    _output, path = create()
    AccountLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    before = state()

    assert client.get(path).status_code == 404
    assert choose(client, path).status_code == 404
    assert state() == before
    assert not User.objects.get().has_usable_password()


@pytest.mark.django_db
def test_it_refuses_a_link_whose_account_has_a_password_by_now(client):
    _output, path = create()
    user = User.objects.get()
    user.set_password(PASSWORD)
    user.save()

    assert client.get(path).status_code == 404
    assert choose(client, path).status_code == 404
    assert User.objects.get().check_password(PASSWORD)


@pytest.mark.django_db
def test_it_refuses_a_link_whose_account_was_deactivated(client):
    _output, path = create()
    User.objects.update(is_active=False)

    assert client.get(path).status_code == 404
    assert choose(client, path).status_code == 404
    assert AccountLink.objects.get().used_at is None


@pytest.mark.django_db
def test_it_gives_the_same_refusal_whatever_is_wrong_with_the_link():
    _output, used = create("ruth@church.example", "Ruth")
    choose(Client(), used)
    _output, expired = create("miriam@church.example", "Miriam")
    AccountLink.objects.filter(user__username="miriam@church.example").update(expires_at=timezone.now())
    unknown = reverse("password_link", args=["x" * 43])
    # NUL bytes, letters outside ASCII, bytes that are not UTF-8, a token too short and one far too long.
    odd = [
        f"/accounts/welcome/{token}/"
        for token in ["%00" * 20, quote("ünïcødé-" * 6), "%ED%A0%80" + "x" * 30, "short", "a" * 10_000]
    ]

    answers = {
        (r.status_code, without_csrf_token(r.content))
        for r in (Client().get(path) for path in [used, expired, unknown, *odd])
    }

    assert len(answers) == 1
    ((status, content),) = answers
    assert status == 404
    text = content.decode()
    assert "This link is no longer valid" in text
    assert f'href="{reverse("password_reset")}"' in text
    assert f'href="{reverse("login")}"' in text
    # No form on the page but the language menu at its foot.
    assert "<form" not in text.split("</nav>")[1].split("<footer")[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "second", "says"),
    [
        (NEW_PASSWORD, "a-different-phrase-8", "The two password fields didn\u2019t match."),
        ("short7", "short7", "This password is too short."),
        ("password123", "password123", "This password is too common."),
        ("8403957162", "8403957162", "This password is entirely numeric."),
        ("lydia@church.example", "lydia@church.example", "The password is too similar to the"),
        ("", "", "This field is required."),
    ],
)
def test_it_refuses_a_password_the_validators_refuse(client, first, second, says):
    _output, path = create()
    before = state()

    response = choose(client, path, first, second)

    assert response.status_code == 200
    assert says in response.content.decode()
    assert state() == before
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_it_survives_hostile_input_in_the_form(client):
    _output, path = create()
    before = state()

    for data in [
        {"new_password1": "x" * 1_000_000, "new_password2": "y"},
        {"new_password1": "pass\x00word-long-enough", "new_password2": "pass\x00word-long-enough"},
        {"new_password1": ["a", "b"], "new_password2": "a"},
        {},
    ]:
        response = client.post(path, data)
        assert response.status_code == 200, data
        assert state() == before


@pytest.mark.django_db
def test_it_logs_the_holder_of_the_link_in_even_over_another_session(client, leader):
    # Whoever holds the link chooses the password; a browser that was logged
    # in as someone else is now the new leader's.
    client.force_login(leader)
    _output, path = create()

    assert client.get(path).status_code == 200
    assert choose(client, path).status_code == 302
    assert client.session[SESSION_KEY] == str(User.objects.get(username=EMAIL).pk)


def test_it_redacts_the_link_from_log_lines():
    from requests_app.web.log_filters import redact

    assert redact("Not Found: /accounts/welcome/Secret-Tk9_abc/") == "Not Found: /accounts/welcome/[token]/"
    assert (
        redact(f'"GET {SITE}/accounts/welcome/Secret-Tk9 HTTP/1.1"')
        == f'"GET {SITE}/accounts/welcome/[token] HTTP/1.1"'
    )


# --- The service --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_link_for_another_purpose_and_validity_works_the_same_way(client):
    # What issue 11's invitations (seven days) will do.
    user = make_user("phoebe", email="phoebe@church.example")
    user.set_unusable_password()
    user.save()

    token = accounts.issue_password_link(user, LinkPurpose.NEW_LEADER, timedelta(days=7))

    link = AccountLink.objects.get()
    assert timedelta(days=7) - timedelta(minutes=1) < link.expires_at - link.created_at <= timedelta(days=7)
    assert choose(client, reverse("password_link", args=[token])).status_code == 302
    # Not on the team: the start page says so, and nothing more.
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.django_db
def test_it_issues_no_link_for_an_account_that_has_a_password(leader):
    with pytest.raises(accounts.AccountRefused) as refusal:
        accounts.issue_password_link(leader, LinkPurpose.NEW_LEADER, timedelta(hours=1))

    assert refusal.value.code == "has_password"
    assert not AccountLink.objects.exists()


@pytest.mark.django_db
def test_it_refuses_to_use_a_link_twice():
    _output, path = create()
    token = path.split("/")[-2]
    accounts.use_password_link(token, NEW_PASSWORD)
    before = state()

    with pytest.raises(accounts.LinkNotUsable):
        accounts.use_password_link(token, "another-good-phrase-3")

    assert state() == before


# --- Two people with the same link at the same moment (PostgreSQL) -----------------


def _post(path: str, password: str) -> int:
    return choose(Client(), path, password).status_code


@pytest.mark.usefixtures("on_postgres")
def test_it_lets_exactly_one_of_two_simultaneous_uses_through():
    from test_concurrency import ROUNDS, run_at_once

    for round_ in range(ROUNDS):
        _output, path = create(f"leader{round_}@church.example", f"Leader {round_}")
        passwords = [f"first-of-two-phrases-{round_}", f"second-of-two-phrases-{round_}"]

        statuses = run_at_once([partial(_post, path, password) for password in passwords])

        assert sorted(statuses) == [302, 404], statuses
        user = User.objects.get(username=f"leader{round_}@church.example")
        winner = passwords[statuses.index(302)]
        loser = passwords[statuses.index(404)]
        assert user.check_password(winner)
        assert not user.check_password(loser)
        assert AccountLink.objects.get(user=user).used_at is not None


def test_it_tells_every_leader_who_was_made_a_leader_by_whom_and_when(db, django_capture_on_commit_callbacks):
    from django.core import mail

    make_user("lydia", roles.LEADERS, email="lydia@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        run("--email", "priscilla@example.org", "--name", "Priscilla Tentmaker")

    told = {message.to[0]: message.body for message in mail.outbox}
    assert set(told) == {"lydia@example.org", "priscilla@example.org"}
    assert all(
        re.search(r"Priscilla Tentmaker is now a leader .*\(by a command run on the server, .*\d{4}.*\)", body)
        for body in told.values()
    )
