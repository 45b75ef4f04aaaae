"""
`requests_app.access`: fetch-and-authorize. A request you may not see is a
404 exactly like one that does not exist; one you may see but not change is
a 403; the follow-up link reaches its own request and nothing else.
"""

import secrets

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from requests_app import access, rules, services
from requests_app.models import Category, PrayerRequest, Status, hash_token

S = Status


@pytest.fixture
def submitted_with_token(db) -> tuple[PrayerRequest, str]:
    return services.submit_request(for_whom="J.", title="A new job", category=Category.WORK)


def missing_pk() -> int:
    return (PrayerRequest.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


# --- get_request_for_user: 404 -------------------------------------------


def test_it_returns_a_visible_request(request_in, leader, assigned_intercessor, other_intercessor):
    confidential = request_in(S.INTERCEDING, confidential=True)
    public = request_in(S.INTERCEDING, confidential=False)

    assert access.get_request_for_user(leader, confidential.pk) == confidential
    assert access.get_request_for_user(assigned_intercessor, confidential.pk) == confidential
    assert access.get_request_for_user(other_intercessor, public.pk) == public


def test_it_accepts_a_pk_from_the_url_as_a_string(request_in, leader):
    prayer_request = request_in(S.NEW, confidential=True)

    assert access.get_request_for_user(leader, str(prayer_request.pk)) == prayer_request


@pytest.mark.parametrize("persona", ["other_intercessor", "released_intercessor", "superuser", "anonymous"])
def test_it_404s_a_request_the_user_may_not_see(request, request_in, persona):
    prayer_request = request_in(S.INTERCEDING, confidential=True)
    user = request.getfixturevalue(persona)

    with pytest.raises(Http404):
        access.get_request_for_user(user, prayer_request.pk)


def test_it_404s_a_closed_public_request_for_an_unassigned_intercessor(request_in, other_intercessor):
    prayer_request = request_in(S.CLOSED, confidential=False)

    with pytest.raises(Http404):
        access.get_request_for_user(other_intercessor, prayer_request.pk)


def test_it_404s_for_no_user(request_in):
    prayer_request = request_in(S.NEW, confidential=False)

    with pytest.raises(Http404):
        access.get_request_for_user(None, prayer_request.pk)


def test_it_404s_a_request_that_does_not_exist(request_in, leader):
    request_in(S.NEW)

    with pytest.raises(Http404):
        access.get_request_for_user(leader, missing_pk())


def test_it_says_the_same_for_hidden_and_missing(request_in, other_intercessor):
    hidden = request_in(S.INTERCEDING, confidential=True)

    with pytest.raises(Http404) as for_hidden:
        access.get_request_for_user(other_intercessor, hidden.pk)
    with pytest.raises(Http404) as for_missing:
        access.get_request_for_user(other_intercessor, missing_pk())

    assert str(for_hidden.value) == str(for_missing.value)


@pytest.mark.parametrize(
    "junk_pk",
    ["abc", None, "", " ", "1.5", "1; DROP TABLE requests_app_prayerrequest", "-1", 0, 10**30, [1], {"pk": 1}],
    ids=["letters", "none", "empty", "space", "decimal", "sql", "negative", "zero", "huge", "list", "dict"],
)
def test_it_404s_junk_pks(request_in, leader, junk_pk):
    request_in(S.NEW)

    with pytest.raises(Http404):
        access.get_request_for_user(leader, junk_pk)


def test_it_404s_a_requester_who_comes_without_the_link(request_in, requester_of):
    # Requesters reach their request by token only (access.get_request_for_token).
    prayer_request = request_in(S.INTERCEDING, confidential=True)

    with pytest.raises(Http404):
        access.get_request_for_user(requester_of(prayer_request), prayer_request.pk)


# --- get_request_for_user: 403 -------------------------------------------


def test_it_403s_a_visible_request_the_user_may_not_change(request_in, other_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=False)

    with pytest.raises(PermissionDenied):
        access.get_request_for_user(other_intercessor, prayer_request.pk, may_change=rules.can_assign)


def test_it_403s_the_assigned_intercessor_who_may_not_assign(request_in, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=True)

    with pytest.raises(PermissionDenied):
        access.get_request_for_user(assigned_intercessor, prayer_request.pk, may_change=rules.can_assign)


def test_it_403s_a_leader_when_the_rule_refuses(request_in, leader):
    # Leaders see closed requests, but nobody assigns to one until it is reopened.
    prayer_request = request_in(S.CLOSED, confidential=True)

    with pytest.raises(PermissionDenied):
        access.get_request_for_user(leader, prayer_request.pk, may_change=rules.can_assign)


def test_it_returns_the_request_when_the_rule_allows(request_in, leader, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=True)

    assert access.get_request_for_user(leader, prayer_request.pk, may_change=rules.can_assign) == prayer_request
    assert (
        access.get_request_for_user(assigned_intercessor, prayer_request.pk, may_change=rules.can_log_prayer)
        == prayer_request
    )


def test_it_404s_before_asking_the_rule_for_a_hidden_request(request_in, other_intercessor):
    # 403 would tell an outsider that the request exists.
    prayer_request = request_in(S.INTERCEDING, confidential=True)
    asked = []

    def always_allowed(user, prayer_request):
        asked.append(prayer_request)
        return True

    with pytest.raises(Http404):
        access.get_request_for_user(other_intercessor, prayer_request.pk, may_change=always_allowed)
    with pytest.raises(Http404):
        access.get_request_for_user(other_intercessor, prayer_request.pk, may_change=rules.can_assign)
    assert asked == []


def test_it_403s_with_a_predicate_taking_the_fetched_request(request_in, other_intercessor):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    received = []

    def never_allowed(user, fetched):
        received.append((user, fetched))
        return False

    with pytest.raises(PermissionDenied):
        access.get_request_for_user(other_intercessor, prayer_request.pk, may_change=never_allowed)
    assert received == [(other_intercessor, prayer_request)]


# --- get_request_for_token ------------------------------------------------


def test_it_finds_the_request_for_its_token(submitted_with_token):
    prayer_request, token = submitted_with_token

    assert access.get_request_for_token(token) == prayer_request


def test_it_finds_each_request_by_its_own_token(submitted_with_token):
    first, first_token = submitted_with_token
    second, second_token = services.submit_request(for_whom="K.", title="Peace at home", category=Category.FAMILY)

    assert access.get_request_for_token(first_token) == first
    assert access.get_request_for_token(second_token) == second


def test_it_stores_only_the_hash_of_the_token(submitted_with_token):
    prayer_request, token = submitted_with_token

    assert prayer_request.followup_token_hash == hash_token(token)
    assert token not in prayer_request.followup_token_hash


@pytest.mark.parametrize(
    "wrong_token",
    [
        pytest.param(lambda token, stored: secrets.token_urlsafe(32), id="wrong"),
        pytest.param(lambda token, stored: token[:-1], id="truncated"),
        pytest.param(lambda token, stored: token + "x", id="extended"),
        pytest.param(lambda token, stored: token.upper() if token != token.upper() else token.lower(), id="case"),
        pytest.param(lambda token, stored: f" {token} ", id="padded"),
        pytest.param(lambda token, stored: "", id="empty"),
        pytest.param(lambda token, stored: None, id="none"),
        pytest.param(lambda token, stored: "x" * 129, id="over-long"),
        pytest.param(lambda token, stored: token * 10, id="over-long-repeated"),
        pytest.param(lambda token, stored: stored, id="stored-hash"),
    ],
)
def test_it_404s_a_wrong_token(submitted_with_token, wrong_token):
    prayer_request, token = submitted_with_token
    candidate = wrong_token(token, prayer_request.followup_token_hash)
    assert candidate != token

    with pytest.raises(Http404):
        access.get_request_for_token(candidate)


def test_it_does_not_query_for_an_over_long_token(submitted_with_token, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(Http404):
        access.get_request_for_token("x" * 10_000)
