"""The main pages each persona uses, on the demo's data (seed_demo), for the
browser tests' axe-core and Nu HTML checks and for `make audit`.

`prepare()` adds to the demo what only a visit makes (a requester's
follow-up link, a prayer session under way) and returns the people and
requests the pages need; `main_pages(prepared)` lists them per persona. The
intercessor is the demo's Ruth, the leader its Grace ("leader").
"""

from dataclasses import dataclass

from django.contrib.auth.models import User

from requests_app import prayer_session
from requests_app.models import Assignment, Category, PrayerRequest, Status

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
        users={INTERCESSOR: ruth, LEADER: leader},
        token=token,
        carried=carried,
        new=PrayerRequest.objects.filter(status=Status.NEW).order_by("pk").first(),
        moved=PrayerRequest.objects.exclude(status=Status.NEW).order_by("-pk").first(),
    )


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
        ],
    }


def expected_status(name: str) -> int:
    return 404 if name == "not-found" else 200
