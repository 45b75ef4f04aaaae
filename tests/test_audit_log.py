"""
The audit log page (issue 11), /audit/: every change to the team and the
church's settings, newest first, in words (who, what, for whom, when, and
the details such as "capacity: 3 → 4"), a keyset page at a time in a
constant number of queries. Leaders only. It never holds request content,
so it never shows any.
"""

import re
from datetime import timedelta

import pytest
from conftest import make_user
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from requests_app import roles
from requests_app.keyset import PAGE_SIZE
from requests_app.models import AuditAction, AuditLogEntry, Category, Status
from requests_app.team import audit, church_settings
from requests_app.views.audit import details_in_words

AUDIT = reverse("audit_log")
LOGIN = reverse("login")

# The session, the user with their roles, and the page of entries, however
# many there are (the names are kept on the entries: no join, no lookup).
AUDIT_QUERIES = 3


def texts_of(content: str) -> list[str]:
    """The entries' headings, in the order of the page."""
    return [
        " ".join(re.sub(r"<[^>]+>", " ", item).split())
        for item in re.findall(r'<p class="fw-semibold mb-0">(.*?)</p>', content, re.S)
    ]


def add_entries(count: int, *, actor, subject, start=None) -> None:
    start = start or timezone.now() - timedelta(days=1)
    for number in range(count):
        entry = audit.record(AuditAction.LIMITS_CHANGED, actor=actor, subject=subject, capacity=[number, number + 1])
        AuditLogEntry.objects.filter(pk=entry.pk).update(created_at=start + timedelta(minutes=number))


@pytest.fixture
def as_leader(client, leader):
    client.force_login(leader)
    return client


# --- What it shows ---------------------------------------------------------------------


def test_it_shows_each_change_to_the_settings_in_words(
    as_leader, leader, settings, django_capture_on_commit_callbacks
):
    settings.INTERCESSION_CHURCH_NAME = "Intercession"
    settings.INTERCESSION_COVERAGE_DAYS = 3
    with django_capture_on_commit_callbacks(execute=True):
        church_settings.save(
            {"name": "Grace Church", "welcome_text": "A-welcome-we-never-log", "coverage_days": 5, "form_open": False},
            by=leader,
        )

    response = as_leader.get(AUDIT)

    content = response.content.decode()
    (row,) = response.context["page"].object_list
    assert (row.what, row.who, row.whom) == ("Church settings changed", "Lydia Leader", "")
    assert row.details == [
        "name: Intercession → Grace Church",
        "welcome text changed",
        "public form open: yes → no",
        "days before a coverage gap: 3 → 5",
    ]
    assert "By Lydia Leader" in content
    assert "name: Intercession → Grace Church" in content
    assert "A-welcome-we-never-log" not in content


def test_it_shows_the_team_s_changes_with_whom_they_were_about(as_leader, leader, assigned_intercessor):
    audit.record(
        AuditAction.LIMITS_CHANGED,
        actor=leader,
        subject=assigned_intercessor,
        capacity={"old": 3, "new": 4},
        available={"old": True, "new": False},
    )
    audit.record(AuditAction.INVITED, actor=leader, subject=assigned_intercessor, role="both")
    audit.record(AuditAction.DEACTIVATED, actor=leader, subject=assigned_intercessor, assignments_released=2)

    rows = as_leader.get(AUDIT).context["page"].object_list

    assert [(row.what, row.whom, row.details) for row in rows] == [
        ("Deactivated", "Anna", ["assignments released: 2"]),
        ("Invited to the team", "Anna", ["role: Leader and intercessor"]),
        ("Capacity or availability changed", "Anna", ["capacity: 3 → 4", "available: yes → no"]),
    ]


def test_a_change_made_on_the_server_says_so(as_leader, leader):
    audit.record(AuditAction.LEADER_CREATED, actor=None, subject=leader)

    response = as_leader.get(AUDIT)

    (row,) = response.context["page"].object_list
    assert (row.who, row.whom) == ("", "Lydia Leader")
    assert "On the server (manage.py)" in response.content.decode()


def test_a_name_is_kept_as_it_was_after_the_account_is_gone(as_leader, leader):
    gone = make_user("tabitha", roles.INTERCESSORS, first_name="Tabitha")
    audit.record(AuditAction.MADE_LEADER, actor=gone, subject=gone)
    gone.delete()

    (row,) = as_leader.get(AUDIT).context["page"].object_list

    assert (row.who, row.whom) == ("Tabitha", "Tabitha")


def test_the_details_read_in_words():
    assert details_in_words({"category_order": [["health", "family"], ["family", "health"]]}) == [
        "order of the categories: Health, Family → Family, Health"
    ]
    assert details_in_words({"contact": ["", "Office"]}) == ["contact line: (empty) → Office"]
    assert details_in_words({"form_paused_message": "changed"}) == ["message while paused changed"]
    assert details_in_words({"some_new_detail": 7}) == ["some new detail: 7"]
    assert details_in_words({}) == []


def test_names_and_details_are_shown_as_text(as_leader, leader):
    payload = "<script>alert(1)</script>"
    eve = make_user("eve", roles.INTERCESSORS, first_name=payload)
    audit.record(AuditAction.MADE_LEADER, actor=eve, subject=eve, note=payload)

    content = as_leader.get(AUDIT).content.decode()

    assert payload not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_it_never_shows_a_request(as_leader, leader, request_in):
    prayer_request = request_in(Status.INTERCEDING)
    audit.record(AuditAction.MADE_LEADER, actor=leader, subject=leader)

    content = as_leader.get(AUDIT).content.decode()

    assert prayer_request.title not in content
    assert prayer_request.for_whom not in content


def test_it_says_when_nothing_has_changed_yet(as_leader):
    content = as_leader.get(AUDIT).content.decode()

    assert "Nothing has been changed in the team or the settings yet." in content


# --- Newest first, a page at a time --------------------------------------------------------


def test_it_lists_the_newest_first_a_page_at_a_time(as_leader, leader, assigned_intercessor):
    add_entries(PAGE_SIZE + 5, actor=leader, subject=assigned_intercessor)
    newest_first = list(AuditLogEntry.objects.order_by("-created_at", "-pk"))

    first = as_leader.get(AUDIT)
    page = first.context["page"]
    second = as_leader.get(AUDIT + page.links["next"]).context["page"]

    shown = [row.details[0] for row in [*page.object_list, *second.object_list]]
    expected = [f"capacity: {entry.details['capacity'][0]} → {entry.details['capacity'][1]}" for entry in newest_first]
    assert shown == expected
    assert len(page.object_list) == PAGE_SIZE
    assert not second.has_next
    assert second.has_previous


def test_entries_made_in_the_same_moment_keep_their_order(as_leader, leader, assigned_intercessor):
    moment = timezone.now()
    for number in range(PAGE_SIZE + 2):
        entry = audit.record(AuditAction.REACTIVATED, actor=leader, subject=assigned_intercessor, number=number)
        AuditLogEntry.objects.filter(pk=entry.pk).update(created_at=moment)

    first = as_leader.get(AUDIT).context["page"]
    second = as_leader.get(AUDIT + first.links["next"]).context["page"]

    numbers = [row.details[0] for row in [*first.object_list, *second.object_list]]
    assert numbers == [f"number: {number}" for number in reversed(range(PAGE_SIZE + 2))]


def test_a_tampered_page_link_gives_the_first_page(as_leader, leader, assigned_intercessor):
    add_entries(3, actor=leader, subject=assigned_intercessor)

    response = as_leader.get(AUDIT, {"page": "not-a-cursor"})

    assert response.status_code == 200
    assert response.context["page"].cursor_refused
    assert len(response.context["page"].object_list) == 3


@pytest.mark.parametrize("more", [5, 60])
def test_it_costs_the_same_number_of_queries_however_many_entries(
    as_leader, leader, assigned_intercessor, django_assert_num_queries, more
):
    add_entries(more, actor=leader, subject=assigned_intercessor)

    with django_assert_num_queries(AUDIT_QUERIES):
        response = as_leader.get(AUDIT)
    page = response.context["page"]
    assert len(page.object_list) == min(more, PAGE_SIZE)
    if page.has_next:
        with django_assert_num_queries(AUDIT_QUERIES):
            assert as_leader.get(AUDIT + page.links["next"]).status_code == 200


# --- Who may open it ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("leader", 200), ("assigned_intercessor", 403), ("other_intercessor", 403), ("superuser", 403)],
)
def test_it_is_for_leaders_only(request, client, persona, expected):
    user = request.getfixturevalue(persona)
    audit.record(AuditAction.MADE_LEADER, actor=user, subject=user)
    client.force_login(user)

    response = client.get(AUDIT)

    assert response.status_code == expected
    if expected == 403:
        assert "Made a leader" not in response.content.decode()
    assert client.post(AUDIT).status_code == 405
    assert client.delete(AUDIT).status_code == 405
    assert AuditLogEntry.objects.count() == 1


def test_it_sends_anonymous_visitors_to_log_in(db):
    response = Client().get(AUDIT)

    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next={AUDIT}"


def test_the_team_page_and_the_settings_page_link_to_it(as_leader):
    for page in (reverse("team"), reverse("church_settings")):
        assert f'href="{AUDIT}"' in as_leader.get(page).content.decode(), page


def test_the_categories_named_in_it_are_the_app_s():
    # A new category needs no change here: its label comes from the choices.
    assert details_in_words({"category_order": [[], list(Category.values)]})[0].endswith(
        ", ".join(str(label) for label in Category.labels)
    )
