"""Prepared entries for one request's page: its story, its prayer log and,
for leaders, who opened it (STYLE.md, "Pages that stay fast and easy to
audit"; issue 16).

As with the lists' rows (`views/rows.py`), the view hands the template each
entry as the HTML of its `<li>`, made here with `format_html` from exactly
what this viewer may read of it: the labels translated once per page, each
moment formatted once. A story entry's note reaches this module only as
`shown_note`, which the view has already emptied where this reader may not
read it. Every value people wrote is escaped; the translated sentences are
trusted as a template's own words are.
"""

from datetime import datetime

from django.template.defaultfilters import linebreaksbr
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from requests_app.models import AccessAction, AccessLogEntry, PrayerLog, Status, StatusUpdate, UpdateKind, Visibility
from requests_app.web import moments

TIME = '<time{css} datetime="{iso}">{text}</time>'

STORY_ENTRY = (
    '<li class="list-group-item story-entry story-{kind}">'
    '<div class="d-flex flex-wrap justify-content-between gap-1">'
    '<span class="fw-semibold">{what}</span>{time}</div>'
    '<div class="small text-body-secondary">{by}{badge}</div>{note}</li>'
)
BADGE = ' · <span class="badge tag{tone}">{label}</span>'
NOTE = '<p dir="auto" class="mb-0 mt-1 story-note">{note}</p>'

# A name that starts a line is isolated (<bdi>), as every <time> is (the
# stylesheet): on an Arabic page a Latin name and the date after it keep
# their order.
PRAYER = '<li class="border-top py-2 small"><bdi class="fw-semibold">{name}</bdi> · {time}{minutes}{fasted}{note}</li>'
PRAYER_NOTE = '<div dir="auto" class="text-body-secondary">{note}</div>'

ACCESS = '<li class="border-top py-1"><bdi class="fw-semibold">{name}</bdi> · {action} · {time}</li>'


def display_name(user) -> str:
    """How a page names someone: their full name, else their username."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


class Moments:
    """A page's moments as `<time>` elements, written as
    `|date:"SHORT_DATETIME_FORMAT"` writes them: the format looked up once."""

    def __init__(self, css: str = ""):
        self.format = get_format("SHORT_DATETIME_FORMAT")
        self.css = format_html(' class="{}"', css) if css else ""

    def __call__(self, moment: datetime) -> SafeString:
        local = timezone.localtime(moment)
        return format_html(TIME, css=self.css, iso=moments.iso(local), text=dateformat.format(local, self.format))


def _filled(sentence: str, **values: str) -> SafeString:
    """A translated sentence with people's words put in, escaped, as
    `{% blocktranslate %}` does."""
    return mark_safe(sentence % {name: escape(value) for name, value in values.items()})  # noqa: S308 - values escaped


class StoryEntries:
    """The story's entries of one page, as this reader may see them."""

    def __init__(self):
        self.time = Moments(css="small text-body-secondary")
        self.statuses = {value: str(label) for value, label in Status.choices}
        self.fixed = {
            UpdateKind.SUBMITTED: gettext("Request submitted"),
            UpdateKind.CONFIDENTIALITY: gettext("Confidentiality changed"),
            UpdateKind.SHARED: gettext("Shared with the team"),
            UpdateKind.FLAGGED: gettext("Flagged as unsuitable for the team board"),
            UpdateKind.RETURNED_TO_BOARD: gettext("Reviewed: back on the team board"),
            UpdateKind.KEPT_OFF_BOARD: gettext("Kept off the team board"),
        }
        self.update = gettext("Update")
        self.undone = gettext("“%(undone)s” undone: back to %(back)s")
        self.assigned = gettext("%(intercessor)s assigned")
        self.stepped_back = gettext("%(intercessor)s stepped back")
        self.released = gettext("%(intercessor)s released")
        self.left_team = gettext("%(intercessor)s released: left the team")
        self.by = gettext("by %(author)s")
        self.by_requester = gettext("by the requester")
        self.badges = {
            "flagged": format_html(BADGE, tone="", label=gettext("Leaders")),
            Visibility.PRIVATE: format_html(BADGE, tone=" tag-caution", label=gettext("Only you")),
            Visibility.REQUESTER: format_html(BADGE, tone=" tag-shared", label=gettext("Team and requester")),
            Visibility.TEAM: format_html(BADGE, tone="", label=gettext("Team")),
        }

    def what(self, entry: StatusUpdate, intercessor: str) -> str:
        kind = entry.kind
        if kind in self.fixed:
            return self.fixed[kind]
        if kind == UpdateKind.MOVE:
            return f"{self.statuses.get(entry.from_status, '')} → {self.statuses.get(entry.to_status, '')}"
        if kind == UpdateKind.UNDONE:
            return _filled(
                self.undone,
                undone=self.statuses.get(entry.from_status, ""),
                back=self.statuses.get(entry.to_status, ""),
            )
        if kind == UpdateKind.ASSIGNED:
            return _filled(self.assigned, intercessor=intercessor)
        if kind == UpdateKind.RELEASED:
            said = self.stepped_back if entry.author_id == entry.intercessor_id else self.released
            return _filled(said, intercessor=intercessor)
        if kind == UpdateKind.LEFT_TEAM:
            return _filled(self.left_team, intercessor=intercessor)
        if kind == UpdateKind.ERASED:
            return entry.erased_line
        return self.update

    def __call__(self, entry: StatusUpdate, *, shown_note: str) -> SafeString:
        """One entry; `shown_note` is what the view found this reader may read of its note."""
        author = display_name(entry.author)
        by = _filled(self.by, author=author) if entry.author_id is not None else self.by_requester
        badge = note = ""
        if shown_note:
            shown = "flagged" if entry.kind == UpdateKind.FLAGGED else entry.visibility
            badge = self.badges.get(shown, self.badges[Visibility.TEAM])
            note = format_html(NOTE, note=linebreaksbr(shown_note, autoescape=True))
        return format_html(
            STORY_ENTRY,
            kind=entry.kind,
            what=self.what(entry, display_name(entry.intercessor)),
            time=self.time(entry.created_at),
            by=by,
            badge=badge,
            note=note,
        )


class PrayerEntries:
    """The prayer log's entries of one page (for the request's team)."""

    def __init__(self):
        self.time = Moments()
        self.fasted = format_html(' · <span class="badge tag">{}</span>', gettext("fasted"))

    def __call__(self, log: PrayerLog) -> SafeString:
        minutes = ""
        if log.minutes is not None:
            said = ngettext("%(counter)s minute", "%(counter)s minutes", log.minutes) % {"counter": log.minutes}
            minutes = format_html(" · {}", said)
        return format_html(
            PRAYER,
            name=display_name(log.intercessor),
            time=self.time(log.prayed_at),
            minutes=minutes,
            fasted=self.fasted if log.fasted else "",
            note=format_html(PRAYER_NOTE, note=linebreaksbr(log.note, autoescape=True)) if log.note else "",
        )


class AccessEntries:
    """Who opened a confidential request, one page of it (for leaders)."""

    def __init__(self):
        self.time = Moments()
        self.nobody = gettext("Someone without an account")
        self.actions = {value: str(label) for value, label in AccessAction.choices}

    def __call__(self, entry: AccessLogEntry) -> SafeString:
        return format_html(
            ACCESS,
            name=display_name(entry.user) or self.nobody,
            action=self.actions.get(entry.action, entry.action),
            time=self.time(entry.at),
        )
