"""
The access log of confidential requests: every time someone opens one, who
and when is written down (never what); leaders read it on the request's page,
nobody else sees it, and it costs the page a fixed number of queries.
"""

from datetime import timedelta

import pytest
from conftest import make_user
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from requests_app import access_log, roles
from requests_app.models import AccessAction, AccessLogEntry, Status
from requests_app.rules import Requester

S = Status
HEADING = "Who opened this confidential request"


def detail_url(prayer_request) -> str:
    return reverse("request_detail", args=[prayer_request.pk])


def entries(prayer_request) -> list[tuple[int | None, str]]:
    return list(
        AccessLogEntry.objects.filter(prayer_request=prayer_request).order_by("pk").values_list("user_id", "action")
    )


# --- what is recorded -------------------------------------------------------


@pytest.mark.parametrize("persona", ["leader", "assigned_intercessor"])
def test_it_records_who_opens_a_confidential_request(client, request, request_in, persona):
    prayer_request = request_in(S.INTERCEDING)
    user = request.getfixturevalue(persona)
    client.force_login(user)
    before = timezone.now()

    assert client.get(detail_url(prayer_request)).status_code == 200
    assert client.get(detail_url(prayer_request), {"story": "2"}).status_code == 200

    assert entries(prayer_request) == [(user.pk, AccessAction.VIEWED)] * 2
    entry = AccessLogEntry.objects.filter(prayer_request=prayer_request).first()
    assert before <= entry.at <= timezone.now()


def test_it_keeps_who_and_when_but_never_what():
    fields = {field.name for field in AccessLogEntry._meta.get_fields()}

    assert fields == {"id", "prayer_request", "user", "action", "at"}


@pytest.mark.parametrize("persona", ["leader", "assigned_intercessor", "other_intercessor"])
def test_it_records_nothing_for_a_request_on_the_team_board(client, request, request_in, persona):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    client.force_login(request.getfixturevalue(persona))

    assert client.get(detail_url(prayer_request)).status_code == 200

    assert not AccessLogEntry.objects.exists()


@pytest.mark.parametrize("persona", ["anonymous", "other_intercessor", "released_intercessor", "superuser"])
def test_it_records_nothing_for_who_may_not_open_it(client, request, request_in, persona):
    prayer_request = request_in(S.INTERCEDING)
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))

    assert client.get(detail_url(prayer_request)).status_code in (302, 404)

    assert not AccessLogEntry.objects.exists()


def test_it_records_nothing_for_a_head_request(client, request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)

    assert client.head(detail_url(prayer_request)).status_code == 200

    assert not AccessLogEntry.objects.exists()


def test_it_does_not_log_the_requester_reading_their_own_request(client, db):
    from requests_app import services

    prayer_request, token = services.submit_request(for_whom="R.", title="Mine", category="health")

    assert client.get(reverse("followup", args=[token])).status_code == 200

    assert prayer_request.is_confidential
    assert not AccessLogEntry.objects.exists()


def test_it_records_only_confidential_requests_and_accounts(request_in, leader):
    confidential = request_in(S.INTERCEDING)
    public = request_in(S.INTERCEDING, confidential=False)

    assert access_log.record(public, leader) is None
    assert access_log.record(confidential, AnonymousUser()) is None
    assert access_log.record(confidential, Requester(confidential.pk)) is None
    entry = access_log.record(confidential, leader, AccessAction.EXPORTED)

    assert (entry.user, entry.action) == (leader, AccessAction.EXPORTED)
    assert entries(confidential) == [(leader.pk, AccessAction.EXPORTED)]
    assert entries(public) == []


def test_it_records_an_export_of_many_in_one_insert(request_in, leader, django_assert_num_queries):
    confidential = [request_in(S.INTERCEDING), request_in(S.ANSWERED)]
    public = request_in(S.INTERCEDING, confidential=False)

    with django_assert_num_queries(1):
        written = access_log.record_many([*confidential, public], leader)

    assert written == 2
    assert sorted(AccessLogEntry.objects.values_list("prayer_request_id", "action")) == [
        (prayer_request.pk, AccessAction.EXPORTED) for prayer_request in confidential
    ]
    assert access_log.record_many(confidential, AnonymousUser()) == 0


def test_it_never_puts_request_text_in_its_name(request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    entry = access_log.record(prayer_request, leader)

    assert str(entry) == f"Access log entry #{entry.pk} (request #{prayer_request.pk})"
    assert prayer_request.title not in str(entry)


def test_it_is_not_in_the_admin():
    assert AccessLogEntry not in admin.site._registry


# --- who reads it --------------------------------------------------------------


def test_it_shows_leaders_who_opened_it_newest_first(client, request_in, leader, assigned_intercessor):
    prayer_request = request_in(S.BREAKTHROUGH)
    client.force_login(assigned_intercessor)
    client.get(detail_url(prayer_request))
    AccessLogEntry.objects.update(at=timezone.now() - timedelta(hours=1))
    client.force_login(leader)

    response = client.get(detail_url(prayer_request))

    content = response.content.decode()
    assert HEADING in content
    assert "Opened 2 times." in content
    shown = [entry.user for entry in response.context["access_log"]["page"].object_list]
    assert shown == [leader, assigned_intercessor]
    assert content.index("Lydia Leader") < content.index(">Anna<")
    assert content.count("· Opened") == 2


def test_it_hides_the_log_from_the_assigned_intercessor(client, request_in, leader, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    client.force_login(leader)
    client.get(detail_url(prayer_request))
    client.force_login(assigned_intercessor)

    response = client.get(detail_url(prayer_request))

    assert response.context["access_log"] is None
    assert HEADING not in response.content.decode()
    assert 'id="access-log"' not in response.content.decode()


def test_it_shows_no_log_on_a_request_on_the_team_board(client, request_in, leader):
    prayer_request = request_in(S.INTERCEDING, confidential=False)
    client.force_login(leader)

    response = client.get(detail_url(prayer_request))

    assert response.context["access_log"] is None
    assert HEADING not in response.content.decode()


def test_it_pages_a_long_log(client, request_in, leader, assigned_intercessor):
    prayer_request = request_in(S.INTERCEDING)
    for _ in range(30):
        access_log.record(prayer_request, assigned_intercessor)
    client.force_login(leader)

    first = client.get(detail_url(prayer_request))
    second = client.get(detail_url(prayer_request), {"access": "2"})

    assert len(first.context["access_log"]["page"].object_list) == 25
    assert first.context["access_log"]["page"].object_list[0].user == leader
    assert "access=2" in first.context["access_log"]["next_url"]
    assert "Opened 31 times." in first.content.decode()
    assert second.context["access_log"]["page"].number == 2
    # Paging through the log keeps it unfolded.
    assert '<details class="access-log-details" open>' in second.content.decode()
    assert client.get(detail_url(prayer_request), {"access": "junk"}).status_code == 200


def test_it_shows_names_as_text(client, request_in, leader):
    prayer_request = request_in(S.INTERCEDING)
    sneaky = make_user("sneaky", roles.LEADERS, first_name="<script>alert(1)</script>")
    access_log.record(prayer_request, sneaky)
    client.force_login(leader)

    content = client.get(detail_url(prayer_request)).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)" not in content


# --- what it costs ------------------------------------------------------------


def _queries_to_open(client, prayer_request) -> int:
    client.get(detail_url(prayer_request))  # the session settles on the first request
    with CaptureQueriesContext(connection) as captured:
        assert client.get(detail_url(prayer_request)).status_code == 200
    return len(captured)


@pytest.mark.parametrize("persona", ["leader", "assigned_intercessor"])
def test_it_costs_the_page_a_fixed_number_of_queries(client, request, request_in, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    confidential = request_in(S.INTERCEDING)
    public = request_in(S.INTERCEDING, confidential=False)
    short = _queries_to_open(client, confidential)
    without_log = _queries_to_open(client, public)
    for _ in range(60):
        access_log.record(confidential, user)

    long = _queries_to_open(client, confidential)

    assert long == short
    # The INSERT; for a leader also the log's page (its size comes with the request).
    assert short - without_log == (2 if persona == "leader" else 1)
