"""Retention (issue 13): once manifested or closed for the church's
retention period, a request's text is erased by `apply_retention`; a leader
can keep one longer, or erase one on someone's behalf, each audited."""

import importlib
import io
import threading
from datetime import timedelta

import pytest
from conftest import bring_to, make_user
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from requests_app import roles, services
from requests_app.exceptions import NotAllowed
from requests_app.models import (
    AuditAction,
    AuditLogEntry,
    Category,
    ChurchSettings,
    HeldNotification,
    NotificationPreferences,
    OutboxMessage,
    PrayerLog,
    PrayerRequest,
    SearchDigest,
    Status,
    StatusUpdate,
    UpdateKind,
    Visibility,
)
from requests_app.reports import dashboard

DAY = timedelta(days=1)


def _request(marker, status, *, leader, intercessor, ago=None, keep_until=None):
    prayer_request, _token = services.submit_request(
        for_whom=f"{marker}whom",
        title=f"{marker}title words",
        category=Category.HEALTH,
        details=f"{marker}details",
        requester_name=f"{marker}name",
        requester_email=f"{marker.lower()}@example.org",
        wants_updates=True,
    )
    bring_to(prayer_request, Status.INTERCEDING, leader=leader, intercessor=intercessor)
    services.post_update(prayer_request, actor=leader, note=f"{marker}team note", visibility=Visibility.TEAM)
    services.post_update(prayer_request, actor=leader, note=f"{marker}journal", visibility=Visibility.PRIVATE)
    services.log_prayer(prayer_request, intercessor=intercessor, note=f"{marker}prayer note")
    if status != Status.INTERCEDING:
        services.move(prayer_request, status, actor=leader, note=f"{marker}move note")
    if ago is not None:
        stage = "answered_at" if status == Status.ANSWERED else "closed_at"
        PrayerRequest.objects.filter(pk=prayer_request.pk).update(**{stage: timezone.now() - ago})
    if keep_until is not None:
        PrayerRequest.objects.filter(pk=prayer_request.pk).update(keep_text_until=keep_until)
    prayer_request.refresh_from_db()
    return prayer_request


@pytest.fixture
def fixture(db, leader, assigned_intercessor):
    # The intercessor's e-mails wait for the daily digest: held lines exist.
    NotificationPreferences.objects.create(user=assigned_intercessor, delivery="daily")
    # With addresses, so the e-mails about the request are written (and held).
    for user, address in ((assigned_intercessor, "anna@example.org"), (leader, "lydia@example.org")):
        user.email = address
        user.save(update_fields=["email"])
    today = timezone.localdate()
    made = {
        "answered_200": (Status.ANSWERED, 200 * DAY, None),
        "closed_181": (Status.CLOSED, 181 * DAY, None),
        "closed_179": (Status.CLOSED, 179 * DAY, None),
        "open": (Status.INTERCEDING, None, None),
        "answered_kept": (Status.ANSWERED, 200 * DAY, today + 10 * DAY),
        "closed_kept_till_yesterday": (Status.CLOSED, 200 * DAY, today - DAY),
    }
    return {
        name: _request(
            f"MRK{index}X", status, leader=leader, intercessor=assigned_intercessor, ago=ago, keep_until=keep
        )
        for index, (name, (status, ago, keep)) in enumerate(made.items())
    }


ERASED = {"answered_200", "closed_181", "closed_kept_till_yesterday"}


def _state():
    return {
        "requests": sorted(
            PrayerRequest.objects.values_list("pk", "status", "text_erased_at", "answered_at", "closed_at")
        ),
        "updates": sorted((u.pk, u.note) for u in StatusUpdate.objects.all()),
        "prayers": sorted((p.pk, p.note) for p in PrayerLog.objects.all()),
        "digests": SearchDigest.objects.count(),
        "held": HeldNotification.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


def test_it_erases_exactly_the_requests_past_the_retention_period(fixture):
    assert HeldNotification.objects.filter(prayer_request=fixture["answered_200"]).exists()
    assert OutboxMessage.objects.filter(prayer_request=fixture["answered_200"], sent_at__isnull=True).exists()

    erased = services.apply_retention()

    assert erased == len(ERASED)
    for name, prayer_request in fixture.items():
        prayer_request.refresh_from_db()
        marker = prayer_request.for_whom if name not in ERASED else ""
        if name in ERASED:
            assert prayer_request.text_erased_at is not None
            assert (prayer_request.title, prayer_request.for_whom, prayer_request.details) == ("", "", "")
            assert (prayer_request.requester_name, prayer_request.requester_email) == ("", "")
            assert prayer_request.requester_email_digest == ""
            assert not prayer_request.wants_updates
            assert prayer_request.shown_title == "Text erased"
            notes = [u.note for u in prayer_request.updates.exclude(kind=UpdateKind.ERASED)]
            assert set(notes) == {""}
            assert {p.note for p in prayer_request.prayer_logs.all()} == {""}
            assert not SearchDigest.objects.filter(prayer_request=prayer_request).exists()
            assert not HeldNotification.objects.filter(prayer_request=prayer_request).exists()
            assert not OutboxMessage.objects.filter(prayer_request=prayer_request, sent_at__isnull=True).exists()
            (entry,) = prayer_request.updates.filter(kind=UpdateKind.ERASED)
            assert entry.erased_line == "Text erased after 180 days"
            # Category, status and dates remain.
            assert prayer_request.category == Category.HEALTH
            assert prayer_request.status in (Status.ANSWERED, Status.CLOSED)
        else:
            assert prayer_request.text_erased_at is None
            assert marker.endswith("whom")
            assert prayer_request.title.endswith("title words")
            assert PrayerRequest.objects.matching(prayer_request.title.split()[0]).get() == prayer_request


def test_a_second_run_changes_nothing(fixture):
    services.apply_retention()
    before = _state()

    assert services.apply_retention() == 0
    assert _state() == before


def test_the_dashboard_figures_are_unchanged_by_it(fixture):
    now = timezone.now()
    before = dashboard.work_out(PrayerRequest.objects.all(), now=now, gap_days=3)

    services.apply_retention()

    after = dashboard.work_out(PrayerRequest.objects.all(), now=now, gap_days=3)
    assert (after.counts, after.gap_count, after.weeks, after.medians) == (
        before.counts,
        before.gap_count,
        before.weeks,
        before.medians,
    )


def test_the_command_prints_counts_only_and_is_idempotent(fixture):
    out = io.StringIO()
    call_command("apply_retention", "--batch-size", "2", stdout=out)
    assert "3 requests erased" in out.getvalue()
    assert "MRK" not in out.getvalue()

    out = io.StringIO()
    call_command("apply_retention", stdout=out)
    assert "0 requests erased" in out.getvalue()


def test_the_request_page_tells_a_leader_when_its_text_will_be_erased(client, fixture, leader):
    closed = fixture["closed_179"]
    client.force_login(leader)

    page = client.get(reverse("request_detail", args=[closed.pk])).content.decode()

    day = timezone.localdate(closed.closed_at + 180 * DAY)
    assert f"Text will be erased on {day.day} {day:%B %Y}" in page


def test_an_erased_request_reads_text_erased_on_its_page_and_in_lists(client, fixture, leader):
    services.apply_retention()
    client.force_login(leader)
    erased = fixture["answered_200"]

    page = client.get(reverse("request_detail", args=[erased.pk])).content.decode()
    listing = client.get(reverse("request_list") + "?status=answered").content.decode()
    export = b"".join(client.get(reverse("export_requests")).streaming_content).decode()

    assert "Text erased" in page
    assert "Text erased after 180 days" in page
    assert "Text erased" in listing
    assert "Text erased" in export
    for text in (page, listing, export):
        assert "MRK0X" not in text
        assert "MRK1X" not in text


def stored_reason(entry) -> str:
    """The reason as the database holds it (an envelope, not the words)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM requests_app_auditlogentry WHERE id = %s", [entry.pk])
        return cursor.fetchone()[0]


def test_the_migration_moves_a_reason_out_of_the_plain_details(leader):
    migration = importlib.import_module("requests_app.migrations.0016_audit_reason_encrypted")
    old = AuditLogEntry.objects.create(
        action=AuditAction.TEXT_ERASED, details={"request": 7, "reason": "Mrs B phoned"}
    )
    other = AuditLogEntry.objects.create(action=AuditAction.MADE_LEADER, details={"role": "leader"})

    migration.move_reasons_out_of_details(django_apps, connection.schema_editor())
    old.refresh_from_db()
    other.refresh_from_db()

    assert (old.details, old.reason) == ({"request": 7}, "Mrs B phoned")
    assert "Mrs B" not in stored_reason(old)
    assert (other.details, other.reason) == ({"role": "leader"}, "")
    migration.put_reasons_back(django_apps, connection.schema_editor())
    old.refresh_from_db()
    assert old.details == {"request": 7, "reason": "Mrs B phoned"}


def test_a_leader_keeps_one_request_longer_and_it_is_audited(client, fixture, leader):
    due = fixture["answered_200"]
    client.force_login(leader)
    until = timezone.localdate() + 30 * DAY

    response = client.post(
        reverse("request_keep_text", args=[due.pk]), {"keep-until": until.isoformat(), "keep-reason": "asked by phone"}
    )

    assert response.status_code == 302
    due.refresh_from_db()
    assert due.keep_text_until == until
    (entry,) = AuditLogEntry.objects.filter(action=AuditAction.TEXT_KEPT_LONGER)
    assert entry.actor == leader
    assert entry.details == {"request": due.pk, "until": until.isoformat()}
    assert entry.reason == "asked by phone"
    assert stored_reason(entry) not in ("", "asked by phone")
    services.apply_retention()
    due.refresh_from_db()
    assert due.text_erased_at is None
    assert "asked by phone" in client.get(reverse("audit_log")).content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"keep-until": "2099-01-01", "keep-reason": ""},
        {"keep-until": "", "keep-reason": "asked"},
        {"keep-until": "2001-01-01", "keep-reason": "asked"},
        {"keep-until": "not a day", "keep-reason": "asked"},
    ],
)
def test_keeping_longer_needs_a_reason_and_a_day_to_come(client, fixture, leader, data):
    due = fixture["answered_200"]
    client.force_login(leader)

    response = client.post(reverse("request_keep_text", args=[due.pk]), data, follow=True)

    assert response.status_code == 200
    due.refresh_from_db()
    assert due.keep_text_until is None
    assert not AuditLogEntry.objects.exists()


def test_only_a_leader_keeps_text_longer_or_erases(client, fixture, assigned_intercessor):
    due = fixture["answered_200"]
    client.force_login(assigned_intercessor)

    keep = client.post(reverse("request_keep_text", args=[due.pk]), {"keep-until": "2099-01-01", "keep-reason": "x"})
    erase = client.post(reverse("request_erase", args=[due.pk]), {"erase-confirm": "on", "erase-reason": "x"})

    assert (keep.status_code, erase.status_code) == (403, 403)
    due.refresh_from_db()
    assert (due.keep_text_until, due.text_erased_at) == (None, None)


@pytest.mark.parametrize(
    "data",
    [{"erase-confirm": "on", "erase-reason": ""}, {"erase-reason": "asked by phone"}, {}],
)
def test_a_leader_erasing_needs_a_reason_and_a_confirmation(client, fixture, leader, data):
    target = fixture["open"]
    client.force_login(leader)

    client.post(reverse("request_erase", args=[target.pk]), data)

    target.refresh_from_db()
    assert target.text_erased_at is None
    assert not AuditLogEntry.objects.exists()


def test_a_leader_erases_on_someones_behalf_and_it_is_audited(client, fixture, leader):
    target = fixture["open"]
    client.force_login(leader)

    response = client.post(
        reverse("request_erase", args=[target.pk]), {"erase-confirm": "on", "erase-reason": "asked by phone"}
    )

    assert response.status_code == 302
    target.refresh_from_db()
    assert target.text_erased_at is not None
    assert target.title == ""
    assert target.status == Status.INTERCEDING
    (entry,) = AuditLogEntry.objects.filter(action=AuditAction.TEXT_ERASED)
    assert (entry.actor, entry.details, entry.reason) == (leader, {"request": target.pk}, "asked by phone")
    assert "asked by phone" not in stored_reason(entry)
    assert "reason: asked by phone" in client.get(reverse("audit_log")).content.decode()
    (erased,) = target.updates.filter(kind=UpdateKind.ERASED)
    assert (erased.author, erased.erased_line) == (leader, "Erased by a leader")
    page = client.get(reverse("request_detail", args=[target.pk])).content.decode()
    assert "MRK3X" not in page
    assert "Erased by a leader" in page
    # Again: refused with a message, nothing more written.
    client.post(reverse("request_erase", args=[target.pk]), {"erase-confirm": "on", "erase-reason": "again"})
    assert AuditLogEntry.objects.count() == 1
    assert target.updates.filter(kind=UpdateKind.ERASED).count() == 1


def test_retention_days_is_a_church_setting(client, leader, db):
    from test_access_matrix import _church_settings_data

    client.force_login(leader)
    response = client.post(reverse("church_settings"), {**_church_settings_data(), "retention_days": "90"})

    assert response.status_code == 302
    assert ChurchSettings.objects.get().retention_days == 90
    bad = client.post(reverse("church_settings"), {**_church_settings_data(), "retention_days": "0"})
    assert bad.status_code == 200
    assert ChurchSettings.objects.get().retention_days == 90


def test_two_runs_at_once_erase_each_request_once(on_postgres):
    leader = make_user("lydia", roles.LEADERS)
    intercessor = make_user("anna", roles.INTERCESSORS)
    requests = [
        _request(f"PG{index}X", Status.CLOSED, leader=leader, intercessor=intercessor, ago=200 * DAY)
        for index in range(12)
    ]
    barrier = threading.Barrier(2, timeout=10)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(services.apply_retention(batch_size=3))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    assert sum(results) == len(requests)
    for prayer_request in requests:
        assert prayer_request.updates.filter(kind=UpdateKind.ERASED).count() == 1
    assert not PrayerRequest.objects.filter(text_erased_at__isnull=True).exists()


def test_an_erased_request_takes_no_new_words(request_in, leader, assigned_intercessor):
    prayer_request = request_in(Status.INTERCEDING, confidential=False)
    services.erase_text(prayer_request, why=services.ERASED_BY_LEADER, by=leader)

    with pytest.raises(NotAllowed):
        services.post_update(prayer_request, actor=leader, note="New-words-Qz9", visibility=Visibility.TEAM)
    services.move(prayer_request, Status.BREAKTHROUGH, actor=assigned_intercessor, note="Move-words-Qz9")

    notes = list(StatusUpdate.objects.filter(prayer_request=prayer_request).values_list("note", flat=True))
    assert not any("words-Qz9" in note for note in notes)
    assert StatusUpdate.objects.filter(prayer_request=prayer_request).latest("pk").to_status == Status.BREAKTHROUGH
