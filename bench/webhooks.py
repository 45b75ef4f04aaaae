"""What webhooks cost: `python -m bench.webhooks`.

On a throwaway SQLite database (a temporary folder), with a receiver on a
loopback port: the time the outbox worker takes to deliver 500 events
(signed, posted, recorded), and what one submission costs with no webhook
and with two (the events written in its transaction), in queries and
time. A script that prints figures, never a timed test."""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

FOLDER = tempfile.mkdtemp(prefix="bench-webhooks-")
os.environ["DATABASE_URL"] = f"sqlite:///{Path(FOLDER) / 'db.sqlite3'}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intercession.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ["INTERCESSION_OUTBOX_WORKER"] = "1"  # the events wait for the worker, as in production
os.environ["INTERCESSION_WEBHOOK_LOCAL_TARGETS"] = "1"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from webhook_receiver import Receiver  # noqa: E402

from requests_app import roles, services  # noqa: E402
from requests_app.hooks import delivery  # noqa: E402
from requests_app.models import Category, Webhook, WebhookDelivery, WebhookEvent  # noqa: E402
from requests_app.team import accounts, webhooks  # noqa: E402

EVENTS = 500
SUBMISSIONS = 200


def submit_costs() -> tuple[float, int]:
    """Median milliseconds and the queries of one submission."""
    times = []
    for number in range(SUBMISSIONS):
        start = time.perf_counter()
        services.submit_request(for_whom="R.", title=f"Rain {number}", category=Category.OTHER, is_urgent=True)
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        services.submit_request(for_whom="R.", title="Rain", category=Category.OTHER, is_urgent=True)
    return statistics.median(times), len(queries.captured_queries)


def main() -> None:
    call_command("migrate", verbosity=0)
    leader, _link = accounts.create_leader("leader@example.org", "Lydia Leader")
    if not roles.is_leader(leader):
        raise SystemExit("create_leader made no leader")
    bare_ms, bare_queries = submit_costs()
    receiver = Receiver().up()
    try:
        for name in ("Chat", "Automation"):
            webhooks.create(by=leader, name=name, url=receiver.url, chosen=list(WebhookEvent.values))
        hooked_ms, hooked_queries = submit_costs()
        WebhookDelivery.objects.all().delete()
        hook = Webhook.objects.first()
        for _ in range(EVENTS):
            webhooks.send_test(hook, by=leader)
        start = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            delivered, failed = delivery.deliver_due(limit=EVENTS)
        seconds = time.perf_counter() - start
    finally:
        receiver.down()
    print(f"a submission (urgent), no webhook:   {bare_ms:.2f} ms median, {bare_queries} queries")
    print(f"a submission (urgent), two webhooks: {hooked_ms:.2f} ms median, {hooked_queries} queries")
    print(
        f"delivering {EVENTS} events: {delivered} delivered, {failed} failed in {seconds:.2f} s "
        f"({seconds / EVENTS * 1000:.2f} ms an event, {EVENTS / seconds:.0f} a second), "
        f"{len(queries.captured_queries)} queries ({len(queries.captured_queries) / EVENTS:.2f} an event)"
    )
    distinct = len({item.headers["Intercession-Delivery"] for item in receiver.received})
    print(f"received: {len(receiver.received)}, distinct event ids: {distinct}")


if __name__ == "__main__":
    main()
