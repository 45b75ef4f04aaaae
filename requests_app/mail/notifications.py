"""
The app's e-mails, written to the outbox.

Confidential content never appears in e-mail (PRODUCT.md): an inbox is read
on shared computers, forwarded, backed up. So these messages carry the app's
name, a generic sentence and a link, and nothing from the request — not its
title, not the person prayed for, not the requester's name, not a note — for
every request, confidential or not, so nobody has to remember which is which.

Each function is called inside the transaction of the change it reports
(`requests_app.services`, and the submit view for the follow-up link): the
messages are saved with the change or not at all, and delivered once it
commits (`requests_app.mail.outbox`).

| event                                  | recipients                               |
|----------------------------------------|------------------------------------------|
| request submitted                      | leaders (subject "Urgent:" if urgent)     |
| request submitted, with an address     | the requester: their follow-up link      |
| "Lost your link?" for a known address  | that address: new links to its requests  |
| intercessor assigned / released        | that intercessor                         |
| intercessor releases themselves        | + the leaders                            |
| requester posts an update              | leaders                                  |
| intercessor flags a board request      | leaders                                  |
| breakthrough / manifested / closed     | requester, if they asked for updates     |
| team note visible to the requester     | requester, if they asked for updates     |
| weekly prayer news (`send_reminders`)  | requester, if they asked for updates and did not stop it |
| invited to the team (and sent again)   | the person invited: their link to join   |
| someone made or no longer a leader     | every leader, and that person (always)   |

The team's e-mails (leaders and intercessors) follow each user's
`NotificationPreferences`, read in the same transaction: a switch turned off
means no e-mail of that kind; "once a day" means the e-mail is held as a line
of the user's daily digest (`requests_app.mail.digest`) instead of sent.
Each is written in the user's own language (My settings), else the church's:
a team e-mail is composed once per language among its recipients. The
requester's e-mails follow `wants_updates` and speak the language they asked
in; their follow-up link is never optional.

| e-mail                                  | preference switch   |
|-----------------------------------------|---------------------|
| new request (leaders)                   | `new_requests`      |
| flagged for review (leaders)            | `new_requests`      |
| requester update (leaders)              | `requester_updates` |
| intercessor released themselves (leaders) | `releases`        |
| assigned / released (the intercessor)   | `my_assignments`    |
| prayer reminder (`send_reminders`)      | `prayer_reminders`  |
| leaders' daily summary (`send_reminders`) | `leader_summary`  |
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from requests_app import church
from requests_app.mail import compose, digest
from requests_app.models import OutboxMessage, PrayerRequest, Status, TeamRole, Visibility
from requests_app.rules import Requester

logger = logging.getLogger(__name__)

REQUESTER_STAGES = (Status.BREAKTHROUGH, Status.ANSWERED, Status.CLOSED)

# A team e-mail's (subject, sentence), written in the active language.
Message = Callable[[], tuple[str, str]]


def _to_team(
    kind: str, switch: str, prayer_request: PrayerRequest | None, users, message: Message, link: str
) -> list[OutboxMessage]:
    """A team e-mail, as each user chose: now, held for the digest, or not at
    all, and in their own language (`message` is called once per language)."""
    messages = []
    for language, recipients in compose.by_language(compose.choose(users, switch)):
        with translation.override(language):
            subject, sentence = message()
            daily = [recipient.user for recipient in recipients if recipient.daily]
            digest.hold(kind, daily, sentence, link, prayer_request=prayer_request)
            messages += compose.queue(
                kind,
                prayer_request,
                [recipient.user.email for recipient in recipients if not recipient.daily],
                subject,
                sentence,
                link,
                settings_link=compose.site_link(reverse("my_settings")),
            )
    return messages


def request_submitted(prayer_request: PrayerRequest) -> list[OutboxMessage]:
    def message():
        if prayer_request.is_urgent:
            return (
                _("Urgent: a new prayer request is waiting"),
                _("A new urgent prayer request is waiting for intercessors."),
            )
        return _("A new prayer request is waiting"), _("A new prayer request is waiting for intercessors.")

    link = compose.site_link(reverse("triage"))
    return _to_team("new_request", "new_requests", prayer_request, compose.leaders(), message, link)


@compose.in_requester_language
def followup_link(prayer_request: PrayerRequest, link: str) -> list[OutboxMessage]:
    """The requester's private follow-up link, if they gave an address."""
    if not prayer_request.requester_email:
        return []
    sentence = _(
        "Thank you for asking the intercession team to pray. This is your private link to follow "
        "your request: read the team's updates, tell us when the answer comes, or withdraw it."
    )
    warning = _(
        "Keep this e-mail safe: whoever has the link can read your request. "
        "For your privacy, nothing about the request itself is written here."
    )
    return compose.queue(
        "followup_link",
        prayer_request,
        [prayer_request.requester_email],
        # The subject the first version of this e-mail had: requesters know it.
        _("Your prayer request"),
        sentence,
        link,
        prefix=False,
        warning=warning,
        privacy_link=compose.privacy_link(),
    )


def followup_links(address: str, issued: list[tuple[PrayerRequest, str]]) -> OutboxMessage:
    """A requester who lost their link: one e-mail with a fresh link to each
    request they sent from `address`, as (request, raw token), oldest first.
    The requests are told apart by number and date only: not even a title."""
    lines = [
        (
            _("Request %(number)s (sent on %(date)s)")
            % {"number": number, "date": date_format(timezone.localtime(prayer_request.created_at))},
            compose.site_link(reverse("followup", args=[token])),
        )
        for number, (prayer_request, token) in enumerate(issued, start=1)
    ]
    intro = ngettext(
        "You asked for your follow-up link again. Here is a new private link to your prayer request; "
        "the old link no longer works.",
        "You asked for your follow-up links again. Here is a new private link to each of the %(count)s prayer "
        "requests sent with this address; the old links no longer work.",
        len(lines),
    ) % {"count": len(lines)}
    warning = _(
        "Keep this e-mail safe: whoever has a link can read that request. For your privacy, nothing about the "
        "requests themselves is written here. If you did not ask for this, someone typed your address on our "
        "site: these links are now the ones that work."
    )
    return compose.queue_lines("followup_links", address, _("Your new follow-up links"), intro, lines, warning=warning)


def assigned(prayer_request: PrayerRequest, intercessors) -> list[OutboxMessage]:
    link = compose.site_link(reverse("request_detail", args=[prayer_request.pk]))

    def message():
        return _("A prayer request has been assigned to you"), _("A prayer request has been assigned to you.")

    return _to_team("assigned", "my_assignments", prayer_request, intercessors, message, link)


def released(prayer_request: PrayerRequest, intercessor, *, by) -> list[OutboxMessage]:
    """To the intercessor; to the leaders too when the intercessor released
    themselves (a leader who released knows already)."""
    link = compose.site_link(reverse("my_assignments"))
    messages = _to_team(
        "released",
        "my_assignments",
        prayer_request,
        [intercessor],
        lambda: (
            _("You have been released from a prayer request"),
            _("You are no longer assigned to a prayer request. Thank you for standing in the gap."),
        ),
        link,
    )
    if by.pk == intercessor.pk:
        messages += _to_team(
            "released",
            "releases",
            prayer_request,
            [user for user in compose.leaders() if user.pk != intercessor.pk and user.email != intercessor.email],
            lambda: (
                _("An intercessor released an assignment"),
                _("An intercessor can no longer carry one of their assignments: it may need someone else."),
            ),
            compose.site_link(reverse("request_detail", args=[prayer_request.pk])),
        )
    return messages


def flagged(prayer_request: PrayerRequest) -> list[OutboxMessage]:
    """An intercessor flagged a board request as unsuitable: it is off the
    board and waits, like a new request, for a leader to look (the same
    switch as new requests). Not the reason, not who flagged it."""
    return _to_team(
        "flagged",
        "new_requests",
        prayer_request,
        compose.leaders(),
        lambda: (
            _("A request on the team board was flagged for review"),
            _(
                "An intercessor flagged a request on the team board as unsuitable for it. It is off the board "
                "until a leader looks at it: share it with the team again, or keep it off the board."
            ),
        ),
        compose.site_link(reverse("request_detail", args=[prayer_request.pk])),
    )


def withdrawn(prayer_request: PrayerRequest, intercessors) -> list[OutboxMessage]:
    """The requester took their request back (deleted it through their
    link): its intercessors, released from it, are told; nothing of it."""
    return _to_team(
        "withdrawn",
        "my_assignments",
        prayer_request,
        intercessors,
        lambda: (
            _("A prayer request has been withdrawn"),
            _(
                "The person who asked has withdrawn a prayer request you were interceding for, and you are no "
                "longer assigned to it. Thank you for standing in the gap."
            ),
        ),
        compose.site_link(reverse("my_assignments")),
    )


def requester_update(prayer_request: PrayerRequest) -> list[OutboxMessage]:
    return _to_team(
        "requester_update",
        "requester_updates",
        prayer_request,
        compose.leaders(),
        lambda: (_("A requester has posted an update"), _("The person who asked for prayer has written an update.")),
        compose.site_link(reverse("request_detail", args=[prayer_request.pk])),
    )


def _to_requester(prayer_request: PrayerRequest) -> list[str]:
    if prayer_request.wants_updates and prayer_request.requester_email:
        return [prayer_request.requester_email]
    return []


@compose.in_requester_language
def stage_changed(prayer_request: PrayerRequest, to_status: str) -> list[OutboxMessage]:
    if to_status not in REQUESTER_STAGES:
        return []
    sentences = {
        Status.BREAKTHROUGH: _("The team has seen a breakthrough in the spirit for your request."),
        Status.ANSWERED: _("Your request has been marked as manifested. Praise God!"),
        Status.CLOSED: _("Your request has been closed."),
    }
    return compose.queue(
        "stage_changed",
        prayer_request,
        _to_requester(prayer_request),
        _("News of your prayer request"),
        sentences[Status(to_status)],
        compose.followup_help_link(),
        warning=_(compose.REQUESTER_HINT),
        privacy_link=compose.privacy_link(),
    )


@compose.in_requester_language
def note_for_requester(prayer_request: PrayerRequest) -> list[OutboxMessage]:
    return compose.queue(
        "note_for_requester",
        prayer_request,
        _to_requester(prayer_request),
        _("The team has written to you"),
        _("The intercession team has posted an update on your request."),
        compose.followup_help_link(),
        warning=_(compose.REQUESTER_HINT),
        privacy_link=compose.privacy_link(),
    )


def status_moved(prayer_request: PrayerRequest, to_status: str, *, actor) -> list[OutboxMessage]:
    """A move by the team tells the requester of the stages they care about;
    a move by the requester (a praise report, a withdrawal) tells the leaders."""
    if isinstance(actor, Requester):
        return requester_update(prayer_request)
    return stage_changed(prayer_request, to_status)


def note_posted(prayer_request: PrayerRequest, visibility: str, *, actor) -> list[OutboxMessage]:
    if isinstance(actor, Requester):
        return requester_update(prayer_request)
    if visibility == Visibility.REQUESTER:
        return note_for_requester(prayer_request)
    return []


def leaders_changed(member, *, now_leader: bool, by) -> list[OutboxMessage]:
    """Who leads has changed (`requests_app.team`): every active leader is
    told, the person too, with no switch to turn it off: nobody should become
    or stop being a leader without the others knowing. Who, by whom (`by`
    None: `create_leader` on the server) and when, in each reader's language;
    nothing else."""
    when = timezone.localtime()

    def written(recipients: list[compose.Recipient], link: str) -> list[OutboxMessage]:
        messages = []
        for language, group in compose.by_language(recipients):
            with translation.override(language):
                values = {
                    "name": _name_of(member),
                    "by": _name_of(by) if by is not None else _("a command run on the server"),
                    "when": date_format(when, "DATETIME_FORMAT"),
                }
                if now_leader:
                    subject = _("A new leader of the intercession team")
                    sentence = _("%(name)s is now a leader of the intercession team (by %(by)s, %(when)s).") % values
                else:
                    subject = _("A leader of the intercession team has changed")
                    sentence = (
                        _("%(name)s is no longer a leader of the intercession team (by %(by)s, %(when)s).") % values
                    )
                messages += compose.queue(
                    "leaders_changed",
                    None,
                    [recipient.user.email for recipient in group],
                    subject,
                    sentence,
                    link,
                    settings_link=compose.site_link(reverse("my_settings")),
                )
        return messages

    leaders = compose.leaders()
    messages = written(compose.choose(leaders, None), compose.site_link(reverse("team")))
    # Someone who no longer leads cannot open the team page: their start page.
    if member.is_active and member.email and member.email not in {user.email for user in leaders}:
        messages += written(compose.choose([member], None), compose.site_link(reverse("home")))
    return messages


def _name_of(user) -> str:
    return user.get_full_name() or user.get_username()


@compose.in_church_language
def invitation(invitee, token: str, *, role: str, by, valid_for: timedelta) -> list[OutboxMessage]:
    """The invitation to the team: the church's name, who invites and as
    what, and the link to join (a secret: its body is not kept once sent,
    see `outbox`). Nothing else, and never anything about a request."""
    church_name = church.current().name
    names = {"leader": _name_of(by), "church": church_name}
    sentences = {
        TeamRole.INTERCESSOR: _(
            "%(leader)s invites you to join the intercession team of %(church)s as an intercessor."
        ),
        TeamRole.LEADER: _("%(leader)s invites you to join the intercession team of %(church)s as a leader."),
        TeamRole.BOTH: _(
            "%(leader)s invites you to join the intercession team of %(church)s as a leader and intercessor."
        ),
    }
    days = max(1, valid_for.days)
    warning = ngettext(
        "This link works once, for %(days)s day: with it you choose your password.",
        "This link works once, for %(days)s days: with it you choose your password.",
        days,
    ) % {"days": days}
    return compose.queue(
        "invitation",
        None,
        [invitee.email],
        _("An invitation to the intercession team of %(church)s") % {"church": church_name},
        sentences[TeamRole(role)] % names,
        compose.site_link(reverse("password_link", args=[token])),
        prefix=False,
        warning=warning,
    )
