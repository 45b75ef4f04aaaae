"""`manage.py seed_demo`: a believable team built through the real services,
only on an empty database, only with DEBUG on (or --force)."""

import io
import logging
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from requests_app import queries, roles, services
from requests_app.models import (
    Assignment,
    Category,
    IntercessorProfile,
    OutboxMessage,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    UpdateKind,
    Visibility,
)

PASSWORD = "intercede-together"
CONSOLE = "django.core.mail.backends.console.EmailBackend"


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
    assert "unspoken" in PrayerRequest.objects.values_list("for_whom", flat=True)


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


def test_it_puts_new_requests_on_the_board_only_once_a_leader_shared_them(seeded, client):
    waiting = PrayerRequest.objects.filter(status=Status.NEW, is_confidential=False)
    shared = waiting.filter(shared_with_team_at__isnull=False)
    assert shared.count() >= 2
    assert waiting.filter(shared_with_team_at__isnull=True).exists()
    for prayer_request in shared:
        assert prayer_request.created_at < prayer_request.shared_with_team_at < timezone.now()
        assert prayer_request.updates.filter(kind=UpdateKind.SHARED).count() == 1

    client.force_login(User.objects.get(username="ruth"))
    on_board = {pr.pk for pr in client.get(reverse("board")).context["page"].object_list}
    assert set(shared.values_list("pk", flat=True)) <= on_board
    assert not on_board & set(waiting.filter(shared_with_team_at__isnull=True).values_list("pk", flat=True))


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
            for prayer_request in sorted(PrayerRequest.objects.all(), key=lambda prayer_request: prayer_request.title)
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


def test_it_ends_with_the_logins_on_every_run(seeded):
    second = seed()

    for output in (seeded, second):
        lines = output.rstrip().splitlines()
        assert lines[-1] == f"Password for every account: {PASSWORD}"
        assert lines[-2] == ""
        assert lines[-3].split() == ["joseph", "Joseph", "Mensah", "intercessor", "(carries", "up", "to", "3)"]
        header = lines.index("  Login   Name              Role")
        assert len(lines) - header == 11  # header, the eight logins, a blank line, the password


def test_it_counts_the_e_mails_it_writes_and_prints_none(
    db, settings, capsys, caplog, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = CONSOLE

    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True) as deliveries:
        output = seed()

    printed = capsys.readouterr()
    assert deliveries  # the story asked for its e-mails to be delivered...
    for text in (printed.out, printed.err, output):  # ...and none went to the console
        assert "Subject:" not in text
        assert "Content-Type:" not in text
        assert "@example.org" not in text
    written = re.search(r"Seeding wrote (\d+) e-mails; none was sent", output)
    assert written, output
    assert int(written.group(1)) > 30
    assert not OutboxMessage.objects.exists()  # nothing waits for send_outbox either
    assert not [record.getMessage() for record in caplog.records if record.name.startswith("requests_app.mail")]


def test_it_leaves_the_e_mails_of_later_use_to_the_console(
    seeded, settings, capsys, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = CONSOLE
    capsys.readouterr()

    with django_capture_on_commit_callbacks(execute=True):
        services.submit_request(for_whom="Abel", title="A new request", category=Category.OTHER, details="")

    printed = capsys.readouterr().out
    assert "Subject: [Intercession] A new prayer request is waiting" in printed
    assert "leader@example.org" in printed
    assert OutboxMessage.objects.filter(sent_at__isnull=False).exists()


def test_it_leaves_room_for_a_leader_to_assign_two_people_at_once(seeded, client):
    team = list(queries.intercessors_with_load())
    with_room = [user for user in team if user.available and user.load < user.capacity]
    assert len(with_room) >= 3, [(user.username, user.load, user.capacity) for user in team]
    # Someone available is full, so the assign page shows that rule too.
    assert any(user.available and user.load >= user.capacity for user in team)

    waiting = PrayerRequest.objects.filter(status=Status.NEW).earliest("created_at")
    client.force_login(User.objects.get(username="leader"))
    two = [user.pk for user in with_room[:2]]
    response = client.post(reverse("request_assign", args=[waiting.pk]), {"intercessors": two})

    assert response.status_code == 302
    assert sorted(waiting.assignments.active().values_list("intercessor", flat=True)) == sorted(two)


# --- seed_demo --check-demo: what `make reset-demo` asks before deleting the database ---


def test_it_lets_the_demo_database_be_reset(seeded):
    assert seed("--check-demo") == ""
    assert User.objects.filter(username="leader").exists()  # it changes nothing


def test_it_lets_an_empty_database_be_reset(db, settings):
    settings.DEBUG = True

    assert seed("--check-demo") == ""
    assert not User.objects.exists()


def test_it_refuses_to_let_a_church_s_database_be_reset(db, settings):
    settings.DEBUG = True
    User.objects.create_user(username="pastor", password="a real password of theirs")

    with pytest.raises(CommandError, match="not the demo's"):
        seed("--check-demo")


def test_it_refuses_once_the_demo_leader_has_a_password_of_their_own(seeded):
    leader = User.objects.get(username="leader")
    leader.set_password("no longer the published one")
    leader.save()

    with pytest.raises(CommandError, match="not the demo's"):
        seed("--check-demo")


def test_it_refuses_to_check_without_debug(db, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        seed("--check-demo")
