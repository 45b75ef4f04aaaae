"""The main pages each persona uses, on the demo's data (seed_demo), for the
browser tests' axe-core and Nu HTML checks and for `make audit`.

`prepare()` adds to the demo what only a visit makes (a requester's
follow-up link, a prayer session under way) and returns the people and
requests the pages need; `main_pages(prepared)` lists them per persona. The
intercessor is the demo's Ruth, the leader its Grace ("leader").
"""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils import timezone

from requests_app import prayer_session
from requests_app.models import Assignment, Category, PrayerRequest, Status, Webhook, WebhookDelivery, WebhookEvent
from requests_app.team import webhooks

VISITOR, REQUESTER, INTERCESSOR, LEADER = "visitor", "requester", "intercessor", "leader"
PERSONAS = (VISITOR, REQUESTER, INTERCESSOR, LEADER)
# The pages a search engine may index: the rest say noindex (or sit behind a
# log-in), and Lighthouse's SEO score does not apply to them.
INDEXABLE = {(VISITOR, "ask"), (VISITOR, "privacy")}


@dataclass(frozen=True)
class Prepared:
    users: dict[str, User]  # persona -> account (the team's personas only)
    token: str  # the requester's follow-up link's token
    carried: PrayerRequest  # one the intercessor carries
    new: PrayerRequest  # one awaiting assignment
    moved: PrayerRequest  # one with a story
    webhook: Webhook  # a paused hook with one event delivered and one failing


def prepare() -> Prepared:
    """Run once on a database that holds the demo."""
    ruth = User.objects.get(username="ruth")
    leader = User.objects.get(username="leader")
    carried = (
        Assignment.objects.filter(
            intercessor=ruth, released_at__isnull=True, prayer_request__status=Status.INTERCEDING
        )
        .order_by("pk")
        .first()
        .prayer_request
    )
    with_address = PrayerRequest.objects.filter(status=Status.BREAKTHROUGH, requester_email_digest__gt="")
    followed = with_address.order_by("pk").first()
    token = followed.issue_followup_token()
    followed.save()
    session = prayer_session.choose(ruth, include_board=True, categories=list(Category.values))
    prayer_session.start(session)
    return Prepared(
        webhook=_webhook(leader),
        users={INTERCESSOR: ruth, LEADER: leader},
        token=token,
        carried=carried,
        new=PrayerRequest.objects.filter(status=Status.NEW).order_by("pk").first(),
        moved=PrayerRequest.objects.exclude(status=Status.NEW).order_by("-pk").first(),
    )


def _webhook(leader: User) -> Webhook:
    """A hook the audit's pages show: paused, so no page it visits sends it
    anything; its recent events written here."""
    hook, _secret = webhooks.create(
        by=leader,
        name="Prayer team chat",
        url="https://chat.example.org/hooks/T1/B2",
        chosen=list(WebhookEvent.values),
    )
    Webhook.objects.filter(pk=hook.pk).update(is_active=False, failing_since=timezone.now(), last_error="HTTP 503")
    now = timezone.now()
    WebhookDelivery.objects.create(
        webhook=hook, event="ping", payload={}, attempts=1, delivered_at=now, last_status=200
    )
    WebhookDelivery.objects.create(
        webhook=hook,
        event=WebhookEvent.SUBMITTED,
        payload={"data": {"request": {"id": 7}}},
        attempts=2,
        next_attempt_at=now,
        last_status=503,
        last_error="HTTP 503",
    )
    return hook


def main_pages(prepared: Prepared) -> dict[str, list[tuple[str, str]]]:
    """Persona -> [(name, path)]. Each answers 200, but "not-found" (404)."""
    token, carried, new = prepared.token, prepared.carried, prepared.new
    return {
        VISITOR: [
            ("ask", "/ask/"),
            ("embed-ask", "/embed/ask/"),
            ("followup-help", "/followup/"),
            ("lost-link", "/followup/lost/"),
            ("privacy", "/privacy/"),
            ("login", "/accounts/login/"),
            ("password-reset", "/accounts/password/reset/"),
            ("not-found", "/no-such-page/"),
        ],
        REQUESTER: [
            ("followup", f"/followup/{token}/"),
            ("followup-download", f"/followup/{token}/download/"),
            ("followup-delete", f"/followup/{token}/delete/"),
        ],
        INTERCESSOR: [
            ("my-assignments", "/mine/"),
            ("board", "/board/"),
            ("pray-now", "/pray/"),
            ("prayer-session", "/pray/session/"),
            ("request", f"/requests/{carried.pk}/"),
            ("my-settings", "/settings/"),
            ("api-tokens", "/settings/tokens/"),
            ("password-change", "/accounts/password/"),
        ],
        LEADER: [
            ("triage", "/triage/"),
            ("dashboard", "/dashboard/"),
            ("requests", "/requests/"),
            ("requests-search", "/requests/?q=healing&status=interceding"),
            ("request-new", f"/requests/{new.pk}/"),
            ("request", f"/requests/{prepared.moved.pk}/"),
            ("assign", f"/requests/{new.pk}/assign/"),
            ("team", "/team/"),
            ("coverage", "/coverage/"),
            ("history", "/history/"),
            ("audit-log", "/audit/"),
            ("prayer-sheet", "/sheet/"),
            ("church-settings", "/church/"),
            ("team-tokens", "/team/tokens/"),
            ("webhooks", "/team/webhooks/"),
            ("webhook", f"/team/webhooks/{prepared.webhook.pk}/"),
        ],
    }


def expected_status(name: str) -> int:
    return 404 if name == "not-found" else 200
