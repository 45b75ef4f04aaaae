"""
The leader's dashboard: every figure on a fixture whose answers are known
(requests made through the services, then their dates moved back), who may
open it, that it names no request, and that it costs the same number of
queries for 5 requests as for 50.
"""

import re
from datetime import date, datetime, timedelta

import pytest
from conftest import make_user, submit
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from requests_app import queries, roles, services
from requests_app.models import (
    Category,
    IntercessorProfile,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    UpdateKind,
)
from requests_app.reports import dashboard as figures
from requests_app.templatetags.charts import human_duration, nice_maximum
from requests_app.web import recent_writes

DASHBOARD = reverse("dashboard")
SECRET = "Confidential-Dq4Hm"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def backdate(prayer_request: PrayerRequest, *, created, entered_intercession=None, breakthrough=None, answered=None):
    """Move a request's dates back, as if it had been lived through earlier."""
    fields = {"created_at": created}
    if breakthrough is not None:
        fields["breakthrough_at"] = breakthrough
    if answered is not None:
        fields["answered_at"] = answered
    PrayerRequest.objects.filter(pk=prayer_request.pk).update(**fields)
    StatusUpdate.objects.filter(prayer_request=prayer_request, kind=UpdateKind.SUBMITTED).update(created_at=created)
    if entered_intercession is not None:
        StatusUpdate.objects.filter(
            prayer_request=prayer_request, kind=UpdateKind.MOVE, to_status=Status.INTERCEDING
        ).update(created_at=entered_intercession)
        PrayerRequest.objects.filter(pk=prayer_request.pk).update(entered_intercession_at=entered_intercession)


class Fixture:
    """Ten requests whose figures are known (NOW is when the test starts):

    | request | status       | submitted   | into intercession | prayers (first, last)   | gap? |
    |---------|--------------|-------------|-------------------|-------------------------|------|
    | A       | new          | 5 days+1h   |                   |                         |      |
    | B       | new          | 1 day       |                   |                         |      |
    | C       | interceding  | 20 days     | 19 days           | +2h, 1 day ago          | no   |
    | D       | interceding  | 20 days     | 19 days           | +4h, 5 days ago         | yes  |
    | E       | interceding  | 10 days     | 4 days            | none                    | yes  |
    | F       | interceding  | 10 days     | 1 day             | none                    | no   |
    | G       | breakthrough | 30 days     |                   | +6h, 10 days ago        | yes  |
    | H       | answered     | 30 days     |                   | +10h                    |      |
    | I       | answered     | 400 days    |                   | +1h                     |      |
    | J       | closed       | 3 days      |                   |                         |      |

    G broke through 2 days after submission, H 4 days after and manifested
    10 days later; I (outside the last 365 days) would move every median
    if it were counted: 1 hour, 1 day, 1 day.
    """

    def __init__(self, leader, intercessor):
        self.now = now = timezone.now()
        self.leader, self.intercessor = leader, intercessor

        self.a = self.make(status=Status.NEW, created=now - 5 * DAY - HOUR, title=SECRET)
        self.b = self.make(status=Status.NEW, created=now - DAY)
        self.c = self.make(created=now - 20 * DAY, entered=now - 19 * DAY, prayers=[2 * HOUR, 19 * DAY])
        self.d = self.make(created=now - 20 * DAY, entered=now - 19 * DAY, prayers=[4 * HOUR, 15 * DAY])
        self.e = self.make(created=now - 10 * DAY, entered=now - 4 * DAY)
        self.f = self.make(created=now - 10 * DAY, entered=now - DAY)
        self.g = self.make(
            status=Status.BREAKTHROUGH, created=now - 30 * DAY, prayers=[6 * HOUR, 20 * DAY], breakthrough=2 * DAY
        )
        self.h = self.make(
            status=Status.ANSWERED,
            created=now - 30 * DAY,
            prayers=[10 * HOUR],
            breakthrough=4 * DAY,
            answered=14 * DAY,
        )
        self.i = self.make(
            status=Status.ANSWERED, created=now - 400 * DAY, prayers=[HOUR], breakthrough=DAY, answered=2 * DAY
        )
        self.j = self.make(status=Status.CLOSED, created=now - 3 * DAY)

    def make(
        self,
        *,
        created,
        status=Status.INTERCEDING,
        entered=None,
        prayers=(),
        breakthrough=None,
        answered=None,
        title="Row",
    ) -> PrayerRequest:
        """`prayers`, `breakthrough` and `answered` are times after `created`."""
        prayer_request = submit(confidential=True, title=title)
        if status == Status.CLOSED:
            services.move(prayer_request, Status.CLOSED, actor=self.leader)
        elif status != Status.NEW:
            services.assign(prayer_request, [self.intercessor], by=self.leader)
            for after in prayers:
                services.log_prayer(prayer_request, intercessor=self.intercessor, prayed_at=created + after)
            if status in (Status.BREAKTHROUGH, Status.ANSWERED):
                services.move(prayer_request, Status.BREAKTHROUGH, actor=self.leader)
            if status == Status.ANSWERED:
                services.move(prayer_request, Status.ANSWERED, actor=self.leader)
        backdate(
            prayer_request,
            created=created,
            entered_intercession=entered or created,
            breakthrough=created + breakthrough if breakthrough else None,
            answered=created + answered if answered else None,
        )
        return prayer_request


@pytest.fixture
def known(leader, assigned_intercessor, settings) -> Fixture:
    settings.INTERCESSION_COVERAGE_DAYS = 3
    return Fixture(leader, assigned_intercessor)


def everything():
    # What a leader sees: the figures always start from the visibility rule.
    return PrayerRequest.objects.all()


# --- The figures ---------------------------------------------------------------


def test_it_counts_requests_by_status_and_the_backlog(known):
    counts = figures.request_counts(everything(), now=known.now)

    assert [(row.status, row.count) for row in counts.by_status] == [
        (Status.NEW, 2),
        (Status.INTERCEDING, 4),
        (Status.BREAKTHROUGH, 1),
        (Status.ANSWERED, 2),
        (Status.CLOSED, 1),
    ]
    assert [row.label for row in counts.by_status] == [status.label for status in Status]
    assert counts.total == 10
    assert counts.new_this_week == 3  # A, B and J
    assert counts.waiting == 2
    assert counts.oldest_waiting_since == PrayerRequest.objects.get(pk=known.a.pk).created_at


def test_it_finds_the_coverage_gaps_as_the_coverage_page_does(client, known):
    gaps = queries.coverage_gaps(everything(), days=3, now=known.now)

    assert list(gaps.values_list("pk", flat=True)) == [known.g.pk, known.d.pk, known.e.pk]  # longest gap first
    client.force_login(known.leader)
    coverage = client.get(reverse("coverage"), {"days": 3})
    assert [row.pk for row in coverage.context["page"].object_list] == [known.g.pk, known.d.pk, known.e.pk]
    assert queries.coverage_gaps(everything(), days=6, now=known.now).count() == 1  # only G


def test_it_takes_the_medians_over_the_last_year(known):
    medians = figures.median_durations(everything(), now=known.now)

    assert medians.submission_to_first_prayer == figures.Median(5 * HOUR, 4)  # 2h, 4h, 6h, 10h
    assert medians.submission_to_breakthrough == figures.Median(3 * DAY, 2)  # 2 days, 4 days
    assert medians.breakthrough_to_manifestation == figures.Median(10 * DAY, 1)


def test_it_has_no_medians_without_data(db):
    medians = figures.median_durations(everything(), now=timezone.now())

    assert medians.submission_to_first_prayer == figures.Median(None, 0)
    assert medians.submission_to_breakthrough == figures.Median(None, 0)
    assert medians.breakthrough_to_manifestation == figures.Median(None, 0)


def test_it_counts_prayers_in_calendar_weeks(leader, assigned_intercessor):
    prayer_request = submit(confidential=False)
    services.assign(prayer_request, [assigned_intercessor], by=leader)

    def local(*args) -> datetime:
        return timezone.make_aware(datetime(*args))

    wednesday_noon = local(2026, 3, 11, 12)
    for moment in (
        local(2026, 3, 11, 11),  # this week
        local(2026, 3, 9, 0, 0),  # this week's first moment
        local(2026, 3, 8, 23, 59),  # last Sunday: the week before
        local(2025, 12, 22, 0, 0),  # the first of the 12 weeks
        local(2025, 12, 21, 23, 59),  # before them
    ):
        services.log_prayer(prayer_request, intercessor=assigned_intercessor, prayed_at=moment)

    weeks = figures.prayers_per_week(everything(), now=wednesday_noon)

    assert [week.starts for week in weeks] == [date(2025, 12, 22) + timedelta(weeks=n) for n in range(12)]
    assert [week.prayers for week in weeks] == [1] + [0] * 9 + [1, 2]


# --- The page ------------------------------------------------------------------


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}"[^>]*>(.*?)</(p|dd)>', html, re.S)
    assert found, name
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_it_shows_the_leader_every_figure(client, known):
    client.force_login(known.leader)

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    html = response.content.decode()
    assert figure(html, "waiting") == "2"
    assert "The oldest has waited 5 days." in html
    assert figure(html, "new-this-week") == "3"
    assert figure(html, "gaps") == "3"
    assert figure(html, "to-first-prayer") == "5 hours (over 4 requests)"
    assert figure(html, "to-breakthrough") == "3 days (over 2 requests)"
    assert figure(html, "to-manifestation") == "10 days (over 1 request)"
    counts = {status: count for status, count in re.findall(r'data-status="(\w+)".*?text-end">(\d+)<', html, re.S)}
    assert counts == {"new": "2", "interceding": "4", "breakthrough": "1", "answered": "2", "closed": "1"}
    assert "Breakthrough in the spirit — awaiting manifestation" in html
    assert sum(week.prayers for week in response.context["weeks"]) == 7  # all but I's, 400 days ago
    # Numbers only: not even a leader's dashboard names a request.
    assert SECRET not in html
    assert "M. K." not in html


def test_it_says_when_there_is_not_enough_data(client, leader):
    client.force_login(leader)

    html = client.get(DASHBOARD).content.decode()

    assert html.count("Not enough data yet.") == 3
    assert "Nothing is waiting." in html
    assert html.count('role="img"') == 1  # the weekly chart, all zeros; nobody to chart the load of
    assert "Nobody is in the Intercessors group yet." in html


def test_it_draws_the_charts_as_svg_with_a_text_alternative(client, known, other_intercessor):
    # Simeon carries two requests, then says he can carry only one.
    for prayer_request in (known.a, known.b):
        services.assign(prayer_request, [other_intercessor], by=known.leader)
    IntercessorProfile.objects.filter(user=other_intercessor).update(max_active_assignments=1)
    client.force_login(known.leader)

    html = client.get(DASHBOARD).content.decode()

    svgs = re.findall(r"<svg[^>]*role=\"img\"[^>]*>.*?</svg>", html, re.S)
    assert len(svgs) == 2
    for svg in svgs:
        labelled_by = re.search(r'aria-labelledby="([^"]+)"', svg).group(1).split()
        assert re.search(rf'<title id="{labelled_by[0]}">', svg)
        assert re.search(rf'<desc id="{labelled_by[1]}">', svg)
        assert 'viewBox="0 0 400 ' in svg
        assert 'width="100%"' in svg
    weekly, load = svgs
    assert weekly.count("<rect") == sum(
        1 for week in figures.prayers_per_week(everything(), now=known.now) if week.prayers
    )
    # Anna carries C, D, E, F and G of her 10; Simeon 2 of 1, drawn red.
    assert ">\u2068Anna\u2069</text>" in load  # isolated: a name reads in its own direction
    assert ">5/10</text>" in load
    assert ">\u2068Simeon\u2069</text>" in load
    assert 'fill="#b02a37">2/1</text>' in load
    assert "1 is over capacity" in load
    # The same numbers, as tables.
    assert re.search(r"<th[^>]*>Simeon</th>\s*<td[^>]*>2 <span[^>]*>Over capacity</span></td>\s*<td[^>]*>1</td>", html)
    assert html.count("<caption") == 3  # by status, per week, load
    # Nothing the Content-Security-Policy would refuse.
    assert "style=" not in html
    assert "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)


@pytest.mark.parametrize(
    ("duration", "said"),
    [
        (None, ""),
        (timedelta(seconds=20), "less than a minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=42), "42 minutes"),
        (timedelta(minutes=59, seconds=40), "1 hour"),
        (timedelta(hours=5, minutes=10), "5 hours"),
        (timedelta(hours=47), "47 hours"),
        (timedelta(hours=48), "2 days"),
        (timedelta(days=3), "3 days"),
        (timedelta(days=400), "400 days"),
    ],
)
def test_it_says_durations_as_people_do(duration, said):
    assert human_duration(duration) == said


@pytest.mark.parametrize(
    ("largest", "top_and_step"), [(0, (1, 1)), (3, (3, 1)), (4, (4, 1)), (7, (8, 2)), (46, (60, 20)), (130, (150, 50))]
)
def test_it_rounds_the_axis_up(largest, top_and_step):
    assert nice_maximum(largest) == top_and_step


# --- Who may open it -----------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("leader", 200),
        ("assigned_intercessor", 403),
        ("other_intercessor", 403),
        ("released_intercessor", 403),
        ("superuser", 403),
    ],
)
def test_it_is_for_leaders_only(client, request, persona, expected):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(DASHBOARD).status_code == expected


def test_it_sends_the_anonymous_to_log_in(client, db):
    response = client.get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_only_reads(client, leader):
    client.force_login(leader)

    assert client.post(DASHBOARD).status_code == 405


def test_it_is_in_the_leaders_navigation(client, leader, assigned_intercessor):
    client.force_login(leader)
    html = client.get(DASHBOARD).content.decode()
    assert re.search(rf'aria-current="page" href="{DASHBOARD}">Dashboard<', html)

    client.force_login(assigned_intercessor)
    assert f'href="{DASHBOARD}"' not in client.get(reverse("board")).content.decode()


# --- A constant number of queries ----------------------------------------------
#
# The session and the user with their roles (2); then, when the snapshot of the
# figures is worked out: the number of intercessors (1), the intercessors
# with their load (1), the counts by status (1), the coverage gaps (1), the
# prayers per week (1) and the dates for the medians (1); and the church's
# settings (1: the test empties the whole cache to drop the snapshot). While
# the snapshot is kept, a view costs the first two and cache reads.
WORKING_OUT_QUERIES = 9
FROM_SNAPSHOT_QUERIES = 2


def add_rows(how_many: int, *, leader, intercessors) -> None:
    """`how_many` requests in every stage, each prayed for once, and an
    intercessor more."""
    intercessors.append(make_user(f"member{len(intercessors)}", roles.INTERCESSORS, capacity=50))
    for number in range(how_many):
        prayer_request, _token = services.submit_request(
            for_whom="R.", title=f"Row {number}", category=Category.FAMILY, is_confidential=number % 2 == 0
        )
        stage = [Status.NEW, Status.INTERCEDING, Status.BREAKTHROUGH, Status.ANSWERED][number % 4]
        if stage == Status.NEW:
            continue
        services.assign(prayer_request, [intercessors[number % len(intercessors)]], by=leader)
        PrayerLog.objects.create(
            prayer_request=prayer_request, intercessor=intercessors[0], prayed_at=timezone.now() - number * DAY
        )
        if stage != Status.INTERCEDING:
            services.move(prayer_request, Status.BREAKTHROUGH, actor=leader)
        if stage == Status.ANSWERED:
            services.move(prayer_request, Status.ANSWERED, actor=leader)


def test_it_keeps_the_number_of_queries_constant(client, django_assert_num_queries, leader):
    client.force_login(leader)
    intercessors = []
    for more, total in ((5, 5), (45, 50)):
        add_rows(more, leader=leader, intercessors=intercessors)
        assert PrayerRequest.objects.count() == total
        cache.clear()
        with django_assert_num_queries(WORKING_OUT_QUERIES):
            response = client.get(DASHBOARD)
        assert response.context["counts"].total == total
        assert len(response.context["intercessors"]) == len(intercessors)
        with django_assert_num_queries(FROM_SNAPSHOT_QUERIES):
            again = client.get(DASHBOARD)
        assert again.context["counts"].total == total
    assert PrayerLog.objects.count() > 30


# --- The snapshot ------------------------------------------------------------------


def test_it_shows_a_snapshot_with_its_time_until_it_is_worked_out_again(client, known):
    client.force_login(known.leader)
    first = client.get(DASHBOARD)
    submit(confidential=False)

    kept = client.get(DASHBOARD)
    cache.clear()  # as when SNAPSHOT_SECONDS have passed
    fresh = client.get(DASHBOARD)

    assert figure(kept.content.decode(), "waiting") == "2"
    assert kept.context["now"] == first.context["now"]
    assert "as of" in kept.content.decode()
    assert "worked out again every 5 minutes, and at once after you change something" in kept.content.decode()
    assert figure(fresh.content.decode(), "waiting") == "3"
    assert fresh.context["now"] > first.context["now"]


def test_it_works_the_figures_out_again_once_the_leader_changed_something(client, known):
    client.force_login(known.leader)
    first = client.get(DASHBOARD)
    waiting = PrayerRequest.objects.filter(status=Status.NEW).order_by("pk").first()

    response = client.post(reverse("request_assign", args=[waiting.pk]), {"intercessors": [known.intercessor.pk]})

    assert response.status_code == 302
    after = client.get(DASHBOARD)
    assert figure(first.content.decode(), "waiting") == "2"
    assert figure(after.content.decode(), "waiting") == "1"
    assert after.context["now"] > first.context["now"]
    # Viewing again, with nothing changed since: the new snapshot, kept.
    assert client.get(DASHBOARD).context["now"] == after.context["now"]


def test_another_persons_change_waits_for_the_snapshot_to_expire(client, known, other_intercessor):
    other_leader = make_user("priscilla", roles.LEADERS)
    client.force_login(known.leader)
    first = client.get(DASHBOARD)
    waiting = PrayerRequest.objects.filter(status=Status.NEW).order_by("pk").first()
    client.force_login(other_leader)
    assert (
        client.post(reverse("request_assign", args=[waiting.pk]), {"intercessors": [known.intercessor.pk]}).status_code
        == 302
    )

    client.force_login(known.leader)
    kept = client.get(DASHBOARD)

    assert kept.context["now"] == first.context["now"]
    # The other leader, who made the change, sees it at once.
    client.force_login(other_leader)
    assert figure(client.get(DASHBOARD).content.decode(), "waiting") == "1"


@pytest.mark.parametrize(
    ("method", "status", "logged_in", "noted"),
    [
        ("post", 302, True, True),
        ("post", 200, True, True),  # a form shown again: harmless, nothing older is shown
        ("post", 403, True, False),
        ("post", 400, True, False),
        ("get", 200, True, False),
        ("post", 302, False, False),
    ],
)
def test_only_a_logged_in_users_post_that_did_not_fail_is_a_change(rf, leader, method, status, logged_in, noted):
    request = getattr(rf, method)("/anywhere/")
    request.user = leader if logged_in else AnonymousUser()
    middleware = recent_writes.RecentWriteMiddleware(lambda request: HttpResponse(status=status))

    middleware(request)

    assert (recent_writes.last_write_at(leader.pk) is not None) is noted


def test_the_dashboard_still_answers_when_the_cache_of_changes_is_away(client, known, monkeypatch, caplog):
    client.force_login(known.leader)

    def away(*args, **kwargs):
        raise ConnectionError("cache away")

    monkeypatch.setattr(recent_writes.cache, "get", away)
    monkeypatch.setattr(recent_writes.cache, "set", away)
    waiting = PrayerRequest.objects.filter(status=Status.NEW).order_by("pk").first()

    assert (
        client.post(reverse("request_assign", args=[waiting.pk]), {"intercessors": [known.intercessor.pk]}).status_code
        == 302
    )
    assert client.get(DASHBOARD).status_code == 200
    assert "recent writes: cache" in caplog.text


def test_it_never_keeps_the_snapshot_beyond_its_time(client, known, monkeypatch):
    kept = {}
    monkeypatch.setattr(figures.cache, "set", lambda key, value, timeout: kept.update({key: timeout}))
    client.force_login(known.leader)

    client.get(DASHBOARD)

    assert list(kept.values()) == [figures.SNAPSHOT_SECONDS]


def test_it_works_the_snapshot_out_again_for_other_coverage_days(client, known, settings):
    client.force_login(known.leader)
    settings.INTERCESSION_COVERAGE_DAYS = 3
    assert figure(client.get(DASHBOARD).content.decode(), "gaps") == "3"

    settings.INTERCESSION_COVERAGE_DAYS = 6

    assert figure(client.get(DASHBOARD).content.decode(), "gaps") == "1"


def test_it_charts_the_intercessors_carrying_most_on_a_large_team(client, known, other_intercessor, monkeypatch):
    # Three intercessors (the fixture's, Simeon, and one who carries nothing);
    # a chart of two shows the two carrying most, most first, and says so.
    make_user("idle", roles.INTERCESSORS)
    for prayer_request in (known.a, known.b):
        services.assign(prayer_request, [other_intercessor], by=known.leader)
    monkeypatch.setattr(figures, "LOAD_CHART_SIZE", 2)
    client.force_login(known.leader)

    response = client.get(DASHBOARD)

    charted = response.context["intercessors"]
    assert [member.pk for member in charted] == [known.intercessor.pk, other_intercessor.pk]
    assert [member.load for member in charted] == [5, 2]
    assert "The 2 carrying most of 3 intercessors;" in response.content.decode()


def test_it_samples_the_latest_requests_for_the_medians(known):
    # The latest two requests of the last year (B and J) have no prayer;
    # C..H would give medians, but are outside a sample of two.
    medians = figures.median_durations(everything(), now=known.now, sample=2)

    assert medians.submission_to_first_prayer == figures.Median(None, 0)


def test_it_keeps_no_account_details_in_the_cached_snapshot(client, known):
    """The snapshot may live in a shared Redis: names and figures only,
    never a User with its password hash and e-mail address."""
    client.force_login(known.leader)
    client.get(DASHBOARD)

    kept = cache.get(figures._SNAPSHOT_KEY.format(scope="leaders"))

    assert kept.intercessors
    assert all(isinstance(member, figures.ChartedIntercessor) for member in kept.intercessors)
    flat = repr(kept)
    assert known.intercessor.password not in flat
    assert "@" not in flat


def test_it_works_the_figures_out_when_the_cache_is_away(client, known, monkeypatch):
    def away(*args, **kwargs):
        raise ConnectionError("Redis is away")

    monkeypatch.setattr(cache, "get", away)
    monkeypatch.setattr(cache, "set", away)
    client.force_login(known.leader)

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    assert response.context["intercessors"]
