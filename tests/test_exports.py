"""CSV exports for leaders: who may download them, what they hold, that they
are filtered like the list, safe to open in a spreadsheet, recorded in the
access log, and cost the same queries however many rows."""

import csv
import io
import re
from datetime import timedelta

import pytest
from conftest import make_user, submit
from django.utils import timezone

from requests_app import roles, services
from requests_app.models import AccessAction, AccessLogEntry, Category, PrayerRequest, Status
from requests_app.reports.csv_export import BOM, PRAYER_LOG_COLUMNS, REQUEST_COLUMNS, safe_cell

EXPORTS = ["/requests/export.csv", "/prayers/export.csv"]


def _body(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def _rows(response) -> list[list[str]]:
    text = _body(response)
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :])))


def _by_id(response) -> dict[str, dict[str, str]]:
    header, *rows = _rows(response)
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


def _export(client, leader, url="/requests/export.csv", **params):
    client.force_login(leader)
    response = client.get(url, params)
    assert response.status_code == 200
    return response


# -- safe_cell ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tTab", "'\tTab"),
        ("\rReturn", "'\rReturn"),
        (-2, "'-2"),
        ("Healing", "Healing"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (7, "7"),
        (True, "yes"),
        (False, "no"),
    ],
)
def test_it_neutralises_cells_a_spreadsheet_would_run(value, expected):
    assert safe_cell(value) == expected


# -- Access -------------------------------------------------------------------


@pytest.mark.parametrize("url", EXPORTS)
def test_it_lets_a_leader_download(client, leader, url):
    response = _export(client, leader, url)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"].split(", ")
    assert re.fullmatch(
        r'attachment; filename="prayer-(requests|log)-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"]
    )


@pytest.mark.parametrize("url", EXPORTS)
@pytest.mark.parametrize("persona", ["assigned_intercessor", "other_intercessor", "superuser"])
def test_it_refuses_everyone_but_leaders(client, request, request_in, url, persona):
    request_in(Status.INTERCEDING)
    client.force_login(request.getfixturevalue(persona))
    response = client.get(url)
    assert response.status_code == 403
    assert b"Healing" not in response.content
    assert not AccessLogEntry.objects.exists()


@pytest.mark.parametrize("url", EXPORTS)
def test_it_sends_the_logged_out_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", EXPORTS)
def test_it_takes_no_post(client, leader, request_in, url):
    request_in(Status.INTERCEDING)
    client.force_login(leader)
    assert client.post(url).status_code == 405
    assert not AccessLogEntry.objects.exists()


# -- Columns and values -----------------------------------------------------------


def test_it_exports_every_column_of_a_request(client, leader, request_in, assigned_intercessor, other_intercessor):
    prayer_request = request_in(Status.BREAKTHROUGH, urgent=True)
    when = timezone.now() - timedelta(days=1)
    services.log_prayer(prayer_request, intercessor=assigned_intercessor, minutes=10, prayed_at=when)
    services.log_prayer(prayer_request, intercessor=assigned_intercessor, minutes=5, prayed_at=when - timedelta(1))

    header, *rows = _rows(_export(client, leader))

    assert header == [str(column) for column in REQUEST_COLUMNS]
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    local = timezone.localtime
    assert row == {
        "id": str(prayer_request.pk),
        "submitted": local(prayer_request.created_at).strftime("%Y-%m-%d %H:%M"),
        "status": "Breakthrough in the spirit — awaiting manifestation",
        "category": "Health",
        "urgent": "yes",
        "confidential": "yes",
        "for whom": "M. K.",
        "title": "Healing after surgery",
        "details": "Recovering slowly; pray for strength.",
        "requester name": "Martha",
        "requester e-mail": "martha@example.org",
        "wants updates": "yes",
        "breakthrough at": local(prayer_request.breakthrough_at).strftime("%Y-%m-%d %H:%M"),
        "manifested at": "",
        "closed at": "",
        "active intercessors": "Anna",
        "prayers logged": "2",
        "last prayed": local(when).strftime("%Y-%m-%d %H:%M"),
    }


def test_it_exports_the_prayer_log(client, leader, request_in, assigned_intercessor):
    prayer_request = request_in(Status.INTERCEDING)
    when = timezone.now() - timedelta(hours=2)
    services.log_prayer(
        prayer_request,
        intercessor=assigned_intercessor,
        minutes=15,
        fasted=True,
        note="-stood in the gap",
        prayed_at=when,
    )

    header, *rows = _rows(_export(client, leader, "/prayers/export.csv"))

    assert header == [str(column) for column in PRAYER_LOG_COLUMNS]
    assert rows == [
        [
            timezone.localtime(when).strftime("%Y-%m-%d %H:%M"),
            str(prayer_request.pk),
            "Health",
            "yes",
            "Anna",
            "15",
            "yes",
            "'-stood in the gap",
        ]
    ]


def test_it_neutralises_formulas_in_exported_text(client, leader, db):
    titles = ['=HYPERLINK("http://evil.example","click")', "+1", "-2", "@SUM(A1:A9)"]
    made = {str(submit(title=title).pk): title for title in titles}

    rows = _by_id(_export(client, leader))

    assert {pk: rows[pk]["title"] for pk in made} == {pk: "'" + title for pk, title in made.items()}


def test_it_writes_markup_verbatim_and_quoted(client, leader, db):
    title = '<script>alert("x")</script>, "quoted"'
    prayer_request = submit(title=title)

    response = _export(client, leader)

    assert _by_id(response)[str(prayer_request.pk)]["title"] == title
    assert '"<script>alert(""x"")</script>, ""quoted"""' in _body(_export(client, leader))


def test_it_never_puts_request_text_in_the_filename(client, leader, db):
    submit(title="Secret-name")
    response = _export(client, leader, q="Secret-name")
    assert "Secret" not in response["Content-Disposition"]
    assert f"prayer-requests-{timezone.localdate().isoformat()}.csv" in response["Content-Disposition"]


# -- Filters ----------------------------------------------------------------------


@pytest.fixture
def varied(leader, request_in):
    """Four requests, each different from the others in one way."""
    plain = request_in(Status.NEW, confidential=False)
    # On the team board (a leader shared it), so anyone on the team may pray for it.
    services.share_with_team(plain, by=leader)
    urgent = request_in(Status.NEW, confidential=False, urgent=True)
    secret = request_in(Status.INTERCEDING, confidential=True)
    family = submit(confidential=False, title="Reconciliation")
    PrayerRequest.objects.filter(pk=family.pk).update(category=Category.FAMILY)
    return {"plain": plain, "urgent": urgent, "secret": secret, "family": family}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"plain", "urgent", "secret", "family"}),
        ({"status": Status.INTERCEDING}, {"secret"}),
        ({"category": Category.FAMILY}, {"family"}),
        ({"urgent": "yes"}, {"urgent"}),
        ({"urgent": "no"}, {"plain", "secret", "family"}),
        ({"confidential": "yes"}, {"secret"}),
        ({"confidential": "no"}, {"plain", "urgent", "family"}),
        ({"q": "RECONCILIATION"}, {"family"}),
        # Invalid filters are left out, as on the list.
        ({"status": "nonsense", "urgent": "maybe"}, {"plain", "urgent", "secret", "family"}),
    ],
)
def test_it_filters_like_the_list(client, leader, varied, params, expected):
    rows = _by_id(_export(client, leader, **params))
    assert set(rows) == {str(varied[name].pk) for name in expected}


def test_it_filters_the_prayer_log_by_request_and_date(client, leader, varied, assigned_intercessor):
    now = timezone.now()
    services.log_prayer(varied["secret"], intercessor=assigned_intercessor, prayed_at=now - timedelta(days=10))
    services.log_prayer(varied["secret"], intercessor=assigned_intercessor, prayed_at=now)
    services.log_prayer(varied["plain"], intercessor=assigned_intercessor, prayed_at=now)

    def ids(**params):
        return sorted(row[1] for row in _rows(_export(client, leader, "/prayers/export.csv", **params))[1:])

    secret, plain = str(varied["secret"].pk), str(varied["plain"].pk)
    assert ids() == sorted([secret, secret, plain])
    assert ids(confidential="yes") == [secret, secret]
    assert ids(status=Status.NEW) == [plain]
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert ids(since=since) == sorted([secret, plain])
    until = (timezone.localdate() - timedelta(days=5)).isoformat()
    assert ids(until=until) == [secret]


@pytest.mark.parametrize(
    "params",
    [{"since": "yesterday"}, {"until": "2026-02-31"}, {"since": "2026-03-02", "until": "2026-03-01"}],
)
def test_it_refuses_a_wrong_date_range_with_a_reason(client, leader, request_in, params):
    request_in(Status.INTERCEDING)
    client.force_login(leader)
    response = client.get("/prayers/export.csv", params)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert b"date" in response.content or b"day" in response.content
    assert not AccessLogEntry.objects.exists()


# -- The access log -------------------------------------------------------------------


def test_it_records_each_confidential_request_exported(client, leader, varied):
    _export(client, leader)

    entries = list(AccessLogEntry.objects.values_list("prayer_request_id", "user_id", "action"))
    assert entries == [(varied["secret"].pk, leader.pk, AccessAction.EXPORTED)]


def test_it_records_nothing_when_no_confidential_request_is_exported(client, leader, varied):
    _export(client, leader, confidential="no")
    _export(client, leader, "/prayers/export.csv")  # no prayers logged yet
    assert not AccessLogEntry.objects.exists()


def test_it_records_confidential_requests_in_the_prayer_log_export(client, leader, varied, assigned_intercessor):
    services.log_prayer(varied["secret"], intercessor=assigned_intercessor)
    services.log_prayer(varied["secret"], intercessor=assigned_intercessor)
    services.log_prayer(varied["plain"], intercessor=assigned_intercessor)

    _export(client, leader, "/prayers/export.csv")

    entries = list(AccessLogEntry.objects.values_list("prayer_request_id", "user_id", "action"))
    assert entries == [(varied["secret"].pk, leader.pk, AccessAction.EXPORTED)]


# -- Queries --------------------------------------------------------------------------


def _many(count: int, leader) -> None:
    helpers = [make_user(f"helper{n}", roles.INTERCESSORS, first_name="Helper") for n in range(count // 10 + 1)]
    for number in range(count):
        prayer_request = submit(confidential=number % 2 == 0, title=f"Request {number}")
        intercessor = helpers[number % len(helpers)]
        services.assign(prayer_request, [intercessor], by=leader)
        services.log_prayer(prayer_request, intercessor=intercessor, minutes=5)


# Session + the user with their roles (leader_required), the confidential ids, the access
# log insert, then the rows and one prefetch of intercessors.
REQUEST_EXPORT_QUERIES = 6
# The same, with the prayer log in one query (no prefetch).
PRAYER_LOG_EXPORT_QUERIES = 5


@pytest.mark.parametrize("count", [5, 50])
def test_it_exports_requests_in_constant_queries(client, leader, django_assert_num_queries, count):
    _many(count, leader)
    client.force_login(leader)
    with django_assert_num_queries(REQUEST_EXPORT_QUERIES):
        rows = _rows(client.get("/requests/export.csv"))
    assert len(rows) == count + 1
    assert {row[15] for row in rows[1:]} == {"Helper"}


@pytest.mark.parametrize("count", [5, 50])
def test_it_exports_the_prayer_log_in_constant_queries(client, leader, django_assert_num_queries, count):
    _many(count, leader)
    client.force_login(leader)
    with django_assert_num_queries(PRAYER_LOG_EXPORT_QUERIES):
        rows = _rows(client.get("/prayers/export.csv"))
    assert len(rows) == count + 1


def test_the_list_links_to_exports_that_keep_its_filters(client, leader, varied):
    client.force_login(leader)
    page = client.get("/requests/", {"status": Status.NEW, "urgent": "yes", "page": "1"}).content.decode()
    assert 'href="/requests/export.csv?status=new&amp;urgent=yes"' in page
    assert 'href="/prayers/export.csv?status=new&amp;urgent=yes"' in page
    assert "Export CSV" in page
