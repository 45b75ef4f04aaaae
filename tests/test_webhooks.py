"""
Webhooks (issue 17): the events each change writes, what their bodies hold
(never a request's words: the canary), the signature checked with the
README's own recipe, delivery through the outbox's back-off (a receiver
that is down gets the event later, once), the address rules, the waiting
scan, and the leaders' pages. Every receiver is on a loopback port.
"""

import json
import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import bring_to, make_user, submit
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from webhook_receiver import Receiver

from requests_app import quiet_cache, roles, services
from requests_app.exceptions import NotAllowed
from requests_app.hooks import delivery, events, signing, targets
from requests_app.models import (
    AuditAction,
    AuditLogEntry,
    Category,
    PrayerRequest,
    Status,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from requests_app.team import webhooks

README = Path(__file__).resolve().parent.parent / "README.md"
ALL_EVENTS = list(WebhookEvent.values)
CANARY = "Zqx-canary-7731"


@pytest.fixture
def local_targets(settings):
    settings.INTERCESSION_WEBHOOK_LOCAL_TARGETS = True


@pytest.fixture
def receiver(local_targets):
    running = Receiver().up()
    yield running
    running.down()


@pytest.fixture
def hook_leader(db):
    return make_user("lydia", roles.LEADERS)


def add_hook(leader, url, chosen=ALL_EVENTS, name="Prayer chat", *, days_ago=0):
    hook, secret = webhooks.create(by=leader, name=name, url=url, chosen=chosen)
    if days_ago:
        Webhook.objects.filter(pk=hook.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
        events.forget_subscriptions()
    return hook, secret


def make_due():
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def received_events(receiver) -> list[dict]:
    return [json.loads(item.body) for item in receiver.received]


def readme_verify():
    """The `verify` function of the README's recipe, as a receiver would paste it."""
    text = README.read_text()
    block = re.search(r"<!-- webhook-verify -->\n```python\n(.*?)```", text, re.S)
    assert block, "the README's webhook recipe is missing"
    namespace: dict = {}
    exec(block.group(1), namespace)  # noqa: S102 (our own README's code)
    return namespace["verify"]


# --- what each change writes ---------------------------------------------------


def test_a_submission_tells_the_hooks_that_want_it_and_an_urgent_one_the_urgent_hooks(hook_leader, local_targets):
    everything, _ = add_hook(hook_leader, "http://127.0.0.1:9/all", name="All")
    urgent_only, _ = add_hook(hook_leader, "http://127.0.0.1:9/urgent", [WebhookEvent.URGENT_SUBMITTED], name="Urgent")
    calm = submit(urgent=False)
    assert list(WebhookDelivery.objects.values_list("webhook", "event")) == [(everything.pk, "request.submitted")]
    urgent = submit(urgent=True)
    rows = set(WebhookDelivery.objects.filter(prayer_request=urgent).values_list("webhook", "event"))
    assert rows == {
        (everything.pk, "request.submitted"),
        (everything.pk, "request.urgent_submitted"),
        (urgent_only.pk, "request.urgent_submitted"),
    }
    assert not WebhookDelivery.objects.filter(webhook=urgent_only, prayer_request=calm).exists()


def test_a_manifested_request_tells_the_hooks_and_other_moves_do_not(hook_leader, local_targets):
    hook, _ = add_hook(hook_leader, "http://127.0.0.1:9/", [WebhookEvent.MANIFESTED])
    intercessor = make_user("anna", roles.INTERCESSORS)
    prayer_request = submit()
    bring_to(prayer_request, "breakthrough", leader=hook_leader, intercessor=intercessor)
    assert not WebhookDelivery.objects.exists()
    services.move(prayer_request, Status.ANSWERED, actor=hook_leader)
    (written,) = WebhookDelivery.objects.all()
    assert (written.webhook_id, written.event) == (hook.pk, "request.manifested")
    assert written.payload["data"]["request"]["status"] == "answered"


def test_a_paused_hook_is_told_nothing_and_a_rolled_back_submission_tells_no_one(hook_leader, local_targets):
    hook, _ = add_hook(hook_leader, "http://127.0.0.1:9/")
    webhooks.change(hook, by=hook_leader, name=hook.name, url=hook.url, chosen=ALL_EVENTS, active=False)
    submit(urgent=True)
    assert not WebhookDelivery.objects.exists()
    webhooks.change(hook, by=hook_leader, name=hook.name, url=hook.url, chosen=ALL_EVENTS, active=True)
    written = []

    def submit_then_fail():
        with transaction.atomic():
            submit(urgent=True)
            written.append(WebhookDelivery.objects.count())
            raise RuntimeError("the change fails after the events were written")

    with pytest.raises(RuntimeError):
        submit_then_fail()
    assert written == [2]
    assert not WebhookDelivery.objects.exists()


def test_without_hooks_a_submission_asks_nothing_about_them(db, django_assert_num_queries):
    submit()  # the hooks' list is now known (cached) as empty
    # The request, its search digests, its story's first entry, the leaders to tell by e-mail.
    with django_assert_num_queries(4) as queries:
        services.submit_request(for_whom="R.", title="Rain", category=Category.OTHER)
    assert not [query for query in queries.captured_queries if "webhook" in query["sql"]]


# --- what an event holds -------------------------------------------------------------


def test_no_event_body_holds_a_word_of_the_request_nor_a_name(
    hook_leader, receiver, django_capture_on_commit_callbacks
):
    add_hook(hook_leader, receiver.url, days_ago=7)
    intercessor = make_user("anna", roles.INTERCESSORS)
    with django_capture_on_commit_callbacks(execute=True):
        prayer_request, _token = services.submit_request(
            for_whom=f"Whom {CANARY}",
            title=f"Title {CANARY}",
            category=Category.HEALTH,
            details=f"Details {CANARY}",
            is_urgent=True,
            requester_name=f"Name {CANARY}",
            requester_email="canary.zqx7731@example.org",
        )
    PrayerRequest.objects.filter(pk=prayer_request.pk).update(created_at=timezone.now() - timedelta(days=3))
    events.queue_waiting()
    bring_to(prayer_request, "breakthrough", leader=hook_leader, intercessor=intercessor)
    with django_capture_on_commit_callbacks(execute=True):
        services.move(prayer_request, Status.ANSWERED, actor=hook_leader, note=f"Note {CANARY}")
    make_due()
    delivery.deliver_due()
    types = {event["type"] for event in received_events(receiver)}
    assert types == {*ALL_EVENTS}
    for item in receiver.received:
        raw = item.body + json.dumps(item.headers).encode() + item.path.encode()
        for marker in (CANARY, "zqx7731", "Martha", "M. K."):
            assert marker.encode() not in raw
    for payload in WebhookDelivery.objects.values_list("payload", flat=True):
        assert CANARY not in json.dumps(payload)
        assert set(payload) == {"id", "type", "created_at", "data"}
        assert set(payload["data"]["request"]) == {"id", "category", "urgent", "status", "url"}


def test_an_event_says_the_request_s_id_category_urgency_status_and_page(hook_leader, local_targets, settings):
    settings.INTERCESSION_SITE_URL = "https://prayer.example.org"
    add_hook(hook_leader, "http://127.0.0.1:9/", [WebhookEvent.SUBMITTED])
    prayer_request = submit(urgent=True)
    (written,) = WebhookDelivery.objects.all()
    assert written.payload == {
        "id": str(written.event_id),
        "type": "request.submitted",
        "created_at": written.created_at.isoformat(),
        "data": {
            "request": {
                "id": prayer_request.pk,
                "category": "health",
                "urgent": True,
                "status": "new",
                "url": f"https://prayer.example.org/requests/{prayer_request.pk}/",
            }
        },
    }


# --- the signature ----------------------------------------------------------------------


def test_the_signature_verifies_with_the_readme_s_recipe(hook_leader, receiver, django_capture_on_commit_callbacks):
    _hook, secret = add_hook(hook_leader, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        submit()
    (item,) = receiver.received
    verify = readme_verify()
    header = item.headers[signing.HEADER]
    assert verify(secret, header, item.body)
    assert item.headers["Content-Type"] == "application/json"
    assert item.headers["Intercession-Event"] == "request.submitted"
    assert item.headers["Intercession-Delivery"] == json.loads(item.body)["id"]
    assert item.path == "/hooks/intercession?room=prayer"
    # A changed body, another secret, or an old time: refused.
    assert not verify(secret, header, item.body.replace(b'"new"', b'"answered"'))
    assert not verify("whsec_not-the-secret", header, item.body)
    old = int(time.time()) - 600
    assert not verify(secret, signing.header(secret, old, item.body), item.body)
    assert signing.verify(secret, header, item.body, now=int(time.time()))
    assert not signing.verify(secret, "v1=abc", item.body, now=int(time.time()))


def test_a_new_secret_signs_from_then_on_and_the_old_one_no_longer(hook_leader, receiver):
    hook, old_secret = add_hook(hook_leader, receiver.url)
    new_secret = webhooks.new_secret(hook, by=hook_leader)
    assert new_secret != old_secret
    assert new_secret.startswith("whsec_")
    webhooks.send_test(hook, by=hook_leader)
    delivery.deliver_due()
    (item,) = receiver.received
    verify = readme_verify()
    assert verify(new_secret, item.headers[signing.HEADER], item.body)
    assert not verify(old_secret, item.headers[signing.HEADER], item.body)
    assert json.loads(item.body)["type"] == "ping"


def test_the_secret_and_the_address_are_encrypted_at_rest(hook_leader, local_targets):
    hook, secret = add_hook(hook_leader, "http://127.0.0.1:9/services/T000/B000/key-in-the-path")
    with connection.cursor() as cursor:
        cursor.execute("SELECT url, secret FROM requests_app_webhook WHERE id = %s", [hook.pk])
        url, stored_secret = cursor.fetchone()
    assert "key-in-the-path" not in url
    assert secret not in stored_secret
    assert Webhook.objects.get(pk=hook.pk).secret == secret
    entry = AuditLogEntry.objects.get(action=AuditAction.WEBHOOK_ADDED)
    assert "key-in-the-path" not in json.dumps(entry.details)
    assert secret not in json.dumps(entry.details)
    assert entry.details["host"] == "127.0.0.1:9"


# --- delivery ----------------------------------------------------------------------------


def test_a_receiver_that_is_down_gets_the_event_later_exactly_once(
    hook_leader, local_targets, django_capture_on_commit_callbacks
):
    receiver = Receiver()  # not listening: its port refuses
    hook, secret = add_hook(hook_leader, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        submit()
    (written,) = WebhookDelivery.objects.all()
    assert written.delivered_at is None
    assert written.attempts == 1
    assert written.next_attempt_at > timezone.now()
    assert written.last_error == "ConnectionRefusedError"
    hook.refresh_from_db()
    assert hook.failing_since is not None
    assert hook.last_error == "ConnectionRefusedError"
    receiver.up()
    try:
        assert delivery.deliver_due() == (0, 0)  # not due yet: the back-off holds
        assert receiver.received == []
        make_due()
        assert delivery.deliver_due() == (1, 0)
        assert delivery.deliver_due() == (0, 0)
        make_due()  # even when it would be due, a delivered event is not sent again
        assert delivery.deliver_due() == (0, 0)
    finally:
        receiver.down()
    (item,) = receiver.received
    assert json.loads(item.body)["id"] == str(written.event_id)
    assert readme_verify()(secret, item.headers[signing.HEADER], item.body)
    written.refresh_from_db()
    hook.refresh_from_db()
    assert written.delivered_at is not None
    assert written.attempts == 2
    assert written.last_status == 200
    assert hook.failing_since is None
    assert hook.last_error == ""
    assert hook.last_delivered_at is not None


def test_an_answer_other_than_2xx_fails_and_a_redirect_is_not_followed(hook_leader, receiver):
    hook, _ = add_hook(hook_leader, receiver.url)
    receiver.status, receiver.headers_out = 302, {"Location": "http://127.0.0.1:6379/"}
    webhooks.send_test(hook, by=hook_leader)
    assert delivery.deliver_due() == (0, 1)
    assert len(receiver.received) == 1
    (written,) = WebhookDelivery.objects.all()
    assert (written.last_status, written.last_error) == (302, "HTTP 302")
    receiver.status, receiver.headers_out = 500, {}
    make_due()
    assert delivery.deliver_due() == (0, 1)
    written.refresh_from_db()
    assert written.last_error == "HTTP 500"
    assert written.attempts == 2


def test_once_a_hook_fails_its_other_events_wait_for_its_next_attempt(hook_leader, local_targets):
    receiver = Receiver()
    _hook, _ = add_hook(hook_leader, receiver.url)
    for _ in range(3):
        submit()
    make_due()
    assert delivery.deliver_due() == (0, 1)  # one refused connection, not three
    rows = list(WebhookDelivery.objects.order_by("pk"))
    assert [row.attempts for row in rows] == [1, 0, 0]
    assert len({row.next_attempt_at for row in rows}) == 1
    assert rows[0].next_attempt_at > timezone.now()


def test_an_event_is_given_up_after_the_outbox_s_attempts_and_can_be_sent_again(hook_leader, receiver, settings):
    settings.INTERCESSION_OUTBOX_MAX_ATTEMPTS = 3
    hook, _ = add_hook(hook_leader, receiver.url)
    receiver.status = 503
    submit()
    for _ in range(5):
        make_due()
        delivery.deliver_due()
    assert len(receiver.received) == 3
    assert delivery.given_up().count() == 1
    receiver.status = 200
    assert webhooks.send_again(hook, by=hook_leader) == 1
    assert delivery.deliver_due() == (1, 0)
    assert not delivery.given_up().exists()
    assert webhooks.send_again(hook, by=hook_leader) == 0


def test_the_back_off_is_the_outbox_s(hook_leader, local_targets):
    down = Receiver()  # held, not listening: connections are refused
    hook, _ = add_hook(hook_leader, down.url)
    webhooks.send_test(hook, by=hook_leader)
    before = timezone.now()
    delivery.deliver_due()
    (written,) = WebhookDelivery.objects.all()
    assert written.next_attempt_at - before >= timedelta(minutes=1)
    assert written.next_attempt_at - before < timedelta(minutes=1, seconds=30)
    make_due()
    before = timezone.now()
    delivery.deliver_due()
    written.refresh_from_db()
    assert timedelta(minutes=5) <= written.next_attempt_at - before < timedelta(minutes=5, seconds=30)


def test_send_outbox_sends_the_events_and_says_how_many(hook_leader, receiver, capsys):
    hook, _ = add_hook(hook_leader, receiver.url)
    webhooks.send_test(hook, by=hook_leader)
    call_command("send_outbox")
    assert "webhooks: 1 delivered, 0 failed" in capsys.readouterr().out
    assert len(receiver.received) == 1


@pytest.mark.postgres
def test_two_workers_at_once_send_each_event_once(on_postgres, settings):
    settings.INTERCESSION_WEBHOOK_LOCAL_TARGETS = True
    settings.INTERCESSION_OUTBOX_WORKER = True  # the events wait for the workers
    receiver = Receiver().up()
    try:
        leader = make_user("lydia", roles.LEADERS)
        hook, _ = add_hook(leader, receiver.url)
        for _ in range(30):
            webhooks.send_test(hook, by=leader)
        results, start = [], threading.Barrier(2)

        def worker():
            start.wait()
            try:
                results.append(delivery.deliver_due(limit=100))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        ids = [json.loads(item.body)["id"] for item in receiver.received]
        assert len(ids) == 30
        assert len(set(ids)) == 30
        assert sum(sent for sent, _failed in results) == 30
        assert WebhookDelivery.objects.filter(delivered_at__isnull=False).count() == 30
    finally:
        receiver.down()


# --- where a hook may post -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://chat.example.org/hook", "https"),
        ("https://localhost/hook", "local"),
        ("https://127.0.0.1/hook", "local"),
        ("https://[::1]/hook", "local"),
        ("https://10.1.2.3/hook", "local"),
        ("https://192.168.0.5/hook", "local"),
        ("https://169.254.169.254/latest/meta-data/", "local"),
        ("https://[::ffff:127.0.0.1]/", "local"),
        ("https://printer.local/", "local"),
        ("https://user:pass@chat.example.org/hook", "credentials"),
        ("ftp://chat.example.org/hook", "invalid"),
        ("https:///hook", "invalid"),
        ("https://chat.example.org:99999/", "invalid"),
        ("https://chat.exa\u200bmple.org/", "invalid"),
        ("https://chat.example.org/a b", "invalid"),
        ("chat.example.org/hook", "invalid"),
        ("https://chat.example.org/" + "x" * 500, "too_long"),
    ],
)
def test_an_address_a_hook_may_not_post_to_is_refused_with_its_reason(url, code, settings):
    settings.INTERCESSION_WEBHOOK_LOCAL_TARGETS = False
    with pytest.raises(ValidationError) as refused:
        targets.check_url(url)
    assert refused.value.code == code


def test_an_address_on_the_internet_is_taken(settings):
    settings.INTERCESSION_WEBHOOK_LOCAL_TARGETS = False
    assert (
        targets.check_url("  https://chat.example.org/hooks/T1/B2?x=1 ") == "https://chat.example.org/hooks/T1/B2?x=1"
    )
    assert targets.check_url("https://93.184.215.14:8443/") == "https://93.184.215.14:8443/"


def test_a_hook_that_now_points_at_a_local_address_is_refused_at_delivery(hook_leader, receiver, settings):
    hook, _ = add_hook(hook_leader, receiver.url)  # taken while local addresses were allowed
    settings.INTERCESSION_WEBHOOK_LOCAL_TARGETS = False
    webhooks.send_test(hook, by=hook_leader)
    assert delivery.deliver_due() == (0, 1)
    assert receiver.received == []
    assert WebhookDelivery.objects.get().last_error == "http is not allowed"
    Webhook.objects.filter(pk=hook.pk).update(url=receiver.url.replace("http://", "https://"))
    make_due()
    assert delivery.deliver_due() == (0, 1)
    assert receiver.received == []
    assert WebhookDelivery.objects.get().last_error == "local address refused"


# --- waiting too long for assignment --------------------------------------------------


def test_a_request_waiting_too_long_is_told_once_per_hook(hook_leader, local_targets):
    hook, _ = add_hook(hook_leader, "http://127.0.0.1:9/", [WebhookEvent.NEEDS_ASSIGNMENT], days_ago=2)
    other, _ = add_hook(hook_leader, "http://127.0.0.1:9/b", [WebhookEvent.SUBMITTED], name="Other", days_ago=2)
    waiting, fresh, assigned = submit(), submit(), submit()
    intercessor = make_user("anna", roles.INTERCESSORS)
    bring_to(assigned, "interceding", leader=hook_leader, intercessor=intercessor)
    long_ago = timezone.now() - timedelta(hours=25)
    PrayerRequest.objects.filter(pk__in=[waiting.pk, assigned.pk]).update(created_at=long_ago)
    assert events.queue_waiting() == 1
    assert events.queue_waiting() == 0
    (told,) = WebhookDelivery.objects.filter(event=WebhookEvent.NEEDS_ASSIGNMENT)
    assert told.webhook_id == hook.pk
    assert told.prayer_request_id == waiting.pk
    assert told.payload["data"]["waiting_hours"] == 24
    assert not WebhookDelivery.objects.filter(webhook=other, event=WebhookEvent.NEEDS_ASSIGNMENT).exists()
    del fresh


def test_a_new_hook_is_not_told_of_requests_that_were_waiting_long_before_it(hook_leader, local_targets):
    old = submit()
    PrayerRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=5))
    add_hook(hook_leader, "http://127.0.0.1:9/", [WebhookEvent.NEEDS_ASSIGNMENT])
    assert events.queue_waiting() == 0
    # One that passed the 24 hours a minute ago, after the hook was added.
    recent = submit()
    PrayerRequest.objects.filter(pk=recent.pk).update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert events.queue_waiting() == 0  # the hook is newer than that minute
    Webhook.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    events.forget_subscriptions()
    assert events.queue_waiting() == 1


# --- the leaders' service --------------------------------------------------------------


def test_only_leaders_manage_webhooks(hook_leader, local_targets):
    intercessor = make_user("anna", roles.INTERCESSORS)
    with pytest.raises(NotAllowed):
        webhooks.create(by=intercessor, name="Chat", url="http://127.0.0.1:9/", chosen=ALL_EVENTS)
    hook, _ = add_hook(hook_leader, "http://127.0.0.1:9/")
    for action in (
        lambda: webhooks.new_secret(hook, by=intercessor),
        lambda: webhooks.remove(hook, by=intercessor),
        lambda: webhooks.send_test(hook, by=intercessor),
        lambda: webhooks.send_again(hook, by=intercessor),
        lambda: webhooks.change(hook, by=intercessor, name="X", url=hook.url, chosen=ALL_EVENTS, active=True),
    ):
        with pytest.raises(NotAllowed):
            action()
    assert Webhook.objects.get().name == "Prayer chat"


def test_bad_names_and_events_are_refused(hook_leader, local_targets):
    for name, chosen, code in [
        ("  ", ALL_EVENTS, "name_required"),
        ("Chat\x00", ALL_EVENTS, "name_problem"),
        ("Chat", [], "events_required"),
        ("Chat", ["request.deleted"], "no_such_event"),
    ]:
        with pytest.raises(ValidationError) as refused:
            webhooks.create(by=hook_leader, name=name, url="http://127.0.0.1:9/", chosen=chosen)
        assert refused.value.code == code
    assert not Webhook.objects.exists()


def test_a_change_is_in_the_audit_log_by_host_and_events(hook_leader, local_targets):
    hook, _ = add_hook(hook_leader, "http://127.0.0.1:9/secret-path", [WebhookEvent.SUBMITTED])
    webhooks.change(
        hook, by=hook_leader, name="Chat", url="http://127.0.0.2:9/other-secret", chosen=ALL_EVENTS, active=False
    )
    entry = AuditLogEntry.objects.get(action=AuditAction.WEBHOOK_CHANGED)
    assert entry.details["host"] == ["127.0.0.1:9", "127.0.0.2:9"]
    assert entry.details["active"] == [True, False]
    assert entry.details["name"] == ["Prayer chat", "Chat"]
    assert "secret" not in json.dumps(entry.details)
    webhooks.remove(hook, by=hook_leader)
    assert AuditLogEntry.objects.filter(action=AuditAction.WEBHOOK_REMOVED).exists()
    assert not Webhook.objects.exists()


# --- the pages ----------------------------------------------------------------------------


def leader_client(leader) -> Client:
    client = Client()
    client.force_login(leader)
    return client


def test_a_leader_adds_a_hook_and_sees_its_secret_once(hook_leader, local_targets):
    client = leader_client(hook_leader)
    answer = client.post(
        reverse("team_webhooks"),
        {"name": "Prayer chat", "url": "http://127.0.0.1:9/T1/B2/key", "events": ["request.submitted"]},
    )
    assert answer.status_code == 200
    hook = Webhook.objects.get()
    assert hook.secret.encode() in answer.content
    assert answer["Cache-Control"].startswith("max-age=0") or "no-store" in answer["Cache-Control"]
    again = client.get(reverse("team_webhooks"))
    assert hook.secret.encode() not in again.content
    assert b"127.0.0.1:9" in again.content
    assert b"T1/B2/key" not in again.content
    page = client.get(reverse("webhook_detail", args=[hook.pk]))
    assert hook.secret.encode() not in page.content


def test_a_bad_address_on_the_page_is_a_message_and_adds_nothing(hook_leader, settings):
    settings.INTERCESSION_WEBHOOK_LOCAL_TARGETS = False
    answer = leader_client(hook_leader).post(
        reverse("team_webhooks"),
        {"name": "Chat", "url": "http://169.254.169.254/", "events": ["request.submitted"]},
    )
    assert answer.status_code == 200
    assert b"https://" in answer.content
    assert b"is-invalid" in answer.content
    assert not Webhook.objects.exists()


def test_the_hook_page_changes_tries_renews_and_removes(hook_leader, receiver, django_capture_on_commit_callbacks):
    client = leader_client(hook_leader)
    hook, secret = add_hook(hook_leader, receiver.url)
    url = reverse("webhook_detail", args=[hook.pk])
    answer = client.post(url, {"name": "Renamed", "url": receiver.url, "events": ["request.manifested"]})
    assert answer.status_code == 302
    hook.refresh_from_db()
    assert (hook.name, hook.events, hook.is_active) == ("Renamed", ["request.manifested"], False)
    client.post(url, {"name": "Renamed", "url": receiver.url, "events": ["request.manifested"], "is_active": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("webhook_test", args=[hook.pk])).status_code == 302
    # Without the worker, the page sends it once the change is saved.
    assert [json.loads(item.body)["type"] for item in receiver.received] == ["ping"]
    page = client.get(url)
    assert b"Delivered" in page.content
    renewed = client.post(reverse("webhook_secret", args=[hook.pk]))
    hook.refresh_from_db()
    assert renewed.status_code == 200
    assert hook.secret != secret
    assert hook.secret.encode() in renewed.content
    assert client.post(reverse("webhook_remove", args=[hook.pk])).status_code == 302
    assert not Webhook.objects.exists()
    assert client.get(url).status_code == 404


def test_a_failing_hook_shows_on_triage(hook_leader, local_targets):
    down = Receiver()  # held, not listening: connections are refused
    hook, _ = add_hook(hook_leader, down.url)
    client = leader_client(hook_leader)
    assert b"failing-webhooks-heading" not in client.get(reverse("triage")).content
    webhooks.send_test(hook, by=hook_leader)
    delivery.deliver_due()
    page = client.get(reverse("triage")).content.decode()
    assert "1 webhook is failing" in page
    assert "ConnectionRefusedError" in page
    assert reverse("webhook_detail", args=[hook.pk]) in page


def test_old_events_are_removed_but_the_record_that_a_waiting_request_was_told(hook_leader, local_targets):
    hook, _ = add_hook(hook_leader, "http://127.0.0.1:9/", days_ago=100)
    still_waiting, assigned = submit(), submit()
    long_ago = timezone.now() - timedelta(days=60)
    PrayerRequest.objects.filter(pk__in=[still_waiting.pk, assigned.pk]).update(created_at=long_ago)
    assert events.queue_waiting() == 2
    bring_to(assigned, "interceding", leader=hook_leader, intercessor=make_user("anna", roles.INTERCESSORS))
    WebhookDelivery.objects.update(delivered_at=long_ago)
    recent = WebhookDelivery.objects.create(webhook=hook, event="ping", payload={}, delivered_at=timezone.now())
    given_up = WebhookDelivery.objects.create(
        webhook=hook, event="ping", payload={}, attempts=99, created_at=timezone.now() - timedelta(days=91)
    )
    kept_told = WebhookDelivery.objects.get(event=WebhookEvent.NEEDS_ASSIGNMENT, prayer_request=still_waiting)
    call_command("apply_retention")
    left = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert recent.pk in left
    assert kept_told.pk in left
    assert given_up.pk not in left
    assert not WebhookDelivery.objects.filter(event=WebhookEvent.SUBMITTED).exists()
    assert events.queue_waiting() == 0  # the waiting request is not told again


def test_a_cache_that_does_not_answer_costs_a_submission_and_the_notice_their_queries(
    hook_leader, local_targets, monkeypatch
):
    down = Receiver()  # held, not listening: connections are refused
    hook, _ = add_hook(hook_leader, down.url)
    webhooks.send_test(hook, by=hook_leader)
    delivery.deliver_due()

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(quiet_cache.cache, "get", broken)
    monkeypatch.setattr(quiet_cache.cache, "set", broken)
    monkeypatch.setattr(quiet_cache.cache, "delete", broken)
    submit()
    assert WebhookDelivery.objects.filter(event=WebhookEvent.SUBMITTED).count() == 1
    assert "1 webhook is failing" in leader_client(hook_leader).get(reverse("triage")).content.decode()


def test_an_urgent_submission_writes_all_its_events_in_one_insert(
    hook_leader, local_targets, django_assert_num_queries
):
    add_hook(hook_leader, "http://127.0.0.1:9/a", name="A")
    add_hook(hook_leader, "http://127.0.0.1:9/b", name="B")
    submit()  # the hooks' list is now known (cached)
    # The request, its search digests, its story's first entry, the leaders to tell by e-mail, the events.
    with django_assert_num_queries(5):
        services.submit_request(for_whom="R.", title="Rain", category=Category.OTHER, is_urgent=True)
    assert WebhookDelivery.objects.filter(event=WebhookEvent.URGENT_SUBMITTED).count() == 2
