"""`manage.py seed_demo`: a believable team built through the real services,
only on an empty database, only with DEBUG on (or --force)."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Max
from django.utils import timezone

from requests_app import roles, services
from requests_app.models import (
    Assignment,
    Category,
    IntercessorProfile,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    UpdateKind,
    Visibility,
)

PASSWORD = "intercede-together"


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, IntercessorProfile, PrayerRequest, Assignment, StatusUpdate, PrayerLog)
    }


@pytest.fixture
def seeded(db, settings) -> str:
    settings.DEBUG = True
    return seed()


def test_it_creates_every_status_and_every_category(seeded):
    assert PrayerRequest.objects.count() >= 30
    assert set(PrayerRequest.objects.values_list("status", flat=True)) == set(Status.values)
    assert set(PrayerRequest.objects.values_list("category", flat=True)) == set(Category.values)


def test_it_mixes_confidential_ordinary_and_urgent_requests(seeded):
    total = PrayerRequest.objects.count()
    confidential = PrayerRequest.objects.filter(is_confidential=True).count()
    assert 0.3 * total <= confidential <= 0.5 * total
    assert PrayerRequest.objects.filter(is_urgent=True).exists()
    assert PrayerRequest.objects.filter(is_urgent=False).exists()
    assert PrayerRequest.objects.filter(for_whom="unspoken").exists()


def test_it_logs_prayers_with_minutes_fasting_and_notes(seeded):
    assert PrayerLog.objects.count() > 100
    assert PrayerLog.objects.filter(fasted=True).exists()
    assert PrayerLog.objects.filter(minutes__gt=0).exists()
    assert PrayerLog.objects.exclude(note="").exists()


def test_it_writes_notes_of_every_visibility(seeded):
    notes = StatusUpdate.objects.filter(kind=UpdateKind.NOTE)
    assert set(notes.values_list("visibility", flat=True)) == set(Visibility.values)
    assert notes.filter(author__isnull=True).exists()  # a requester's own update


def test_it_respects_every_intercessors_capacity(seeded):
    profiles = IntercessorProfile.objects.select_related("user")
    assert len({profile.max_active_assignments for profile in profiles}) >= 3
    for profile in profiles:
        assert services.load_of(profile.user) <= profile.max_active_assignments, profile.user.username
    assert Assignment.objects.filter(released_at__isnull=False).exists()
    # Every request being carried has someone carrying it.
    for prayer_request in PrayerRequest.objects.filter(status__in=[Status.INTERCEDING, Status.BREAKTHROUGH]):
        assert prayer_request.assignments.active().exists(), prayer_request.title
    assert not Assignment.objects.filter(prayer_request__status=Status.NEW).exists()


def test_it_has_an_unavailable_intercessor_and_distinct_names(seeded):
    assert IntercessorProfile.objects.filter(is_available=False).count() == 1
    intercessors = User.objects.filter(groups__name=roles.INTERCESSORS)
    assert 6 <= intercessors.count() <= 7
    names = [user.get_full_name() for user in intercessors]
    assert len(set(names)) == len(names)
    assert all(" " in name for name in names)


def test_it_shows_the_leader_everything_and_intercessors_only_what_they_may_see(seeded):
    leader = User.objects.get(username="leader")
    assert roles.is_leader(leader)
    assert roles.is_intercessor(leader)
    assert PrayerRequest.objects.visible_to(leader).count() == PrayerRequest.objects.count()

    hidden_from_someone = False
    for intercessor in User.objects.filter(groups__name=roles.INTERCESSORS).exclude(pk=leader.pk):
        visible = PrayerRequest.objects.visible_to(intercessor)
        not_theirs = PrayerRequest.objects.filter(is_confidential=True).exclude(
            assignments__intercessor=intercessor, assignments__released_at__isnull=True
        )
        assert not visible.filter(pk__in=not_theirs).exists(), intercessor.username
        hidden_from_someone = hidden_from_someone or not_theirs.exists()
    assert hidden_from_someone


def test_it_gives_the_site_administrator_no_sight(seeded):
    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    assert not roles.is_leader(admin)
    assert not PrayerRequest.objects.visible_to(admin).exists()


def test_it_backdates_a_story_that_hangs_together(seeded):
    now = timezone.now()
    oldest = PrayerRequest.objects.earliest("created_at").created_at
    assert timedelta(weeks=8) < now - oldest < timedelta(weeks=11)
    assert not StatusUpdate.objects.filter(created_at__gt=now).exists()
    assert not PrayerLog.objects.filter(prayed_at__gt=now).exists()
    for prayer_request in PrayerRequest.objects.all():
        story = list(prayer_request.updates.order_by("created_at", "pk"))
        assert story[0].kind == UpdateKind.SUBMITTED
        assert story[0].created_at == prayer_request.created_at
        status = Status.NEW
        for entry in story[1:]:
            assert entry.from_status == status, prayer_request.title
            status = entry.to_status
        assert status == prayer_request.status, prayer_request.title
        stage_field = {Status.BREAKTHROUGH: "breakthrough_at", Status.ANSWERED: "answered_at"}.get(status)
        if stage_field:
            last_move = [entry for entry in story if entry.kind == UpdateKind.MOVE][-1]
            assert getattr(prayer_request, stage_field) == last_move.created_at
        for log in prayer_request.prayer_logs.all():
            assert prayer_request.created_at < log.prayed_at <= now
    for assignment in Assignment.objects.filter(released_at__isnull=False):
        assert assignment.assigned_at <= assignment.released_at < now


def test_it_leaves_coverage_gaps(seeded):
    week_ago = timezone.now() - timedelta(days=7)
    carried = PrayerRequest.objects.filter(status__in=[Status.INTERCEDING, Status.BREAKTHROUGH]).annotate(
        last_prayed=Max("prayer_logs__prayed_at")
    )
    assert carried.filter(last_prayed__lt=week_ago).exists()
    assert carried.filter(last_prayed__gte=timezone.now() - timedelta(days=2)).exists()


def test_it_prints_the_logins_roles_and_password(seeded):
    assert "Demo data created" in seeded
    assert PASSWORD in seeded
    for username in ("leader", "admin", "ruth", "esther"):
        assert f"  {username} " in seeded
    assert "unavailable" in seeded
    leader = User.objects.get(username="leader")
    assert leader.check_password(PASSWORD)
    assert User.objects.get(username="ruth").check_password(PASSWORD)


def test_it_changes_nothing_on_a_second_run(seeded):
    before = counts()
    last_update = PrayerRequest.objects.aggregate(Max("updated_at"))

    output = seed()

    assert counts() == before
    assert PrayerRequest.objects.aggregate(Max("updated_at")) == last_update
    assert "already there" in output
    assert PASSWORD in output


def test_it_changes_nothing_when_a_leader_account_exists(db, settings):
    settings.DEBUG = True
    User.objects.create_user(username="leader", password="something-else-entirely")

    output = seed()

    assert "already there" in output
    assert not PrayerRequest.objects.exists()
    assert User.objects.count() == 1


def test_it_tells_the_same_story_every_time(seeded):
    def story() -> list[tuple]:
        return [
            (
                prayer_request.title,
                prayer_request.status,
                sorted(
                    (username, released_at is None)
                    for username, released_at in prayer_request.assignments.values_list(
                        "intercessor__username", "released_at"
                    )
                ),
                prayer_request.prayer_logs.count(),
                prayer_request.updates.count(),
            )
            for prayer_request in PrayerRequest.objects.order_by("title")
        ]

    first = story()
    PrayerRequest.objects.all().delete()
    User.objects.all().delete()

    seed()

    assert story() == first


def test_it_refuses_without_debug(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        seed()

    assert not PrayerRequest.objects.exists()
    assert not User.objects.exists()


def test_it_runs_without_debug_when_forced(db, settings):
    settings.DEBUG = False

    output = seed("--force")

    assert "Demo data created" in output
    assert PrayerRequest.objects.count() >= 30
