"""
The pages of personal API tokens (issue 17): My settings → API tokens, where
a member makes, names and revokes their own, each shown once; and the
team's tokens, where a leader revokes anyone's. Who may open what is in
tests/test_access_matrix.py; the tokens' own rules in tests/test_api.py.
"""

import re

import pytest
from django.urls import reverse

from requests_app.models import ApiToken, AuditAction, AuditLogEntry, hash_token
from requests_app.team import api_tokens

MY_TOKENS = reverse("my_tokens")
TEAM_TOKENS = reverse("team_tokens")
SECRET = re.compile(r'id="token-secret" value="(ic_[A-Za-z0-9_-]{43})"')


@pytest.fixture
def as_intercessor(client, assigned_intercessor):
    client.force_login(assigned_intercessor)
    return client


def test_my_settings_lead_to_the_tokens(as_intercessor):
    assert MY_TOKENS in as_intercessor.get(reverse("my_settings")).content.decode()


def test_a_new_token_is_shown_once_and_kept_as_its_hash(as_intercessor, assigned_intercessor):
    response = as_intercessor.post(MY_TOKENS, {"name": "  Church chat  ", "read_only": "on"})

    assert response.status_code == 200
    (secret,) = SECRET.findall(response.content.decode())
    token = ApiToken.objects.get(user=assigned_intercessor)
    assert (token.name, token.read_only, token.key_hash) == ("Church chat", True, hash_token(secret))
    assert "no-store" in response["Cache-Control"]
    assert secret not in str(dict(as_intercessor.session.items()))
    assert not [morsel for morsel in response.cookies.values() if secret in morsel.value]
    again = as_intercessor.get(MY_TOKENS).content.decode()
    assert secret not in again
    assert token.prefix in again
    assert "reading only" in again


@pytest.mark.parametrize("name", ["", "   ", "\x00bad", "a\u202eb"])
def test_a_bad_name_is_refused_and_makes_nothing(as_intercessor, name):
    response = as_intercessor.post(MY_TOKENS, {"name": name})

    assert response.status_code == 200
    assert not SECRET.search(response.content.decode())
    assert 'class="invalid-feedback"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_one_token_too_many_is_refused_with_a_message(as_intercessor, assigned_intercessor):
    for number in range(api_tokens.MOST_ACTIVE):
        api_tokens.create(assigned_intercessor, name=f"Tool {number}", read_only=False)

    response = as_intercessor.post(MY_TOKENS, {"name": "One more"}, follow=True)

    assert "revoke one you no longer use first" in response.content.decode()
    assert ApiToken.objects.count() == api_tokens.MOST_ACTIVE


def test_a_member_revokes_their_own_token(as_intercessor, assigned_intercessor):
    token, _secret = api_tokens.create(assigned_intercessor, name="Phone", read_only=False)

    response = as_intercessor.post(reverse("token_revoke", args=[token.pk]), follow=True)

    assert response.redirect_chain[-1][0] == MY_TOKENS
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "it opens nothing any more" in response.content.decode()
    assert not AuditLogEntry.objects.exists(), "their own: not a leader's act on the team"


def test_someone_else_s_token_is_not_there_for_an_intercessor(as_intercessor, other_intercessor):
    token, _secret = api_tokens.create(other_intercessor, name="Phone", read_only=False)

    response = as_intercessor.post(reverse("token_revoke", args=[token.pk]))

    assert response.status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_a_leader_sees_the_team_s_tokens_and_revokes_one(client, leader, assigned_intercessor):
    token, secret = api_tokens.create(assigned_intercessor, name="Phone", read_only=False)
    client.force_login(leader)

    page = client.get(TEAM_TOKENS).content.decode()
    response = client.post(reverse("token_revoke", args=[token.pk]), {"next": TEAM_TOKENS})

    assert "Anna" in page
    assert token.prefix in page
    assert secret not in page
    assert response.status_code == 302
    assert response["Location"] == TEAM_TOKENS
    assert AuditLogEntry.objects.get().action == AuditAction.API_TOKEN_REVOKED
    assert token.prefix not in client.get(TEAM_TOKENS).content.decode()


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example", "javascript:alert(1)"])
def test_a_hostile_next_is_ignored(client, leader, assigned_intercessor, next_url):
    token, _secret = api_tokens.create(assigned_intercessor, name="Phone", read_only=False)
    client.force_login(leader)

    response = client.post(reverse("token_revoke", args=[token.pk]), {"next": next_url})

    assert response["Location"] == TEAM_TOKENS


def test_the_audit_log_names_the_revoked_token(client, leader, assigned_intercessor):
    token, _secret = api_tokens.create(assigned_intercessor, name="Phone", read_only=False)
    api_tokens.revoke(token, by=leader)
    client.force_login(leader)

    page = client.get(reverse("audit_log")).content.decode()

    assert "API token revoked by a leader" in page
    assert "Phone" in page
