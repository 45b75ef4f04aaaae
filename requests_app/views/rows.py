"""Prepared rows for the team's lists (STYLE.md, "Pages that stay fast and
easy to audit").

A list view hands its template plain rows, not model objects: exactly the
fields this viewer may see on this list, with the labels translated once per
page, the URLs made from one `reverse()` per page and the id, and the dates
formatted once. The template loops over them with no `{% include %}`, no
`{% url %}` and no model method per row, which is where the time of a list
page went (issue 16); and a template that is never given a request cannot
show a field of it that it was not given.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.template.defaultfilters import truncatechars
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from requests_app.models import Category, PrayerRequest, Status
from requests_app.web import moments
from requests_app.web.context_processors import csrf_input

# The first lines of a request's details that a list shows.
DETAILS_SHOWN = 160

# The head of a request in a list: its title linking to its page, the urgent
# and confidential tags, for whom and the category, its status where the list
# shows it, and the first lines of its details where the list shows them (in
# one paragraph: its line breaks read as spaces). Every value is escaped by
# format_html; the tags' words come translated from `RequestRows`.
HEAD = (
    '<div class="d-flex flex-wrap align-items-baseline justify-content-between gap-2">'
    '<h2 class="h6 mb-0"><a dir="auto" href="{url}">{title}</a></h2>'
    '<div class="d-flex flex-wrap gap-1">{tags}</div></div>'
    '<p class="small text-body-secondary mb-1">{line}{status}</p>{details}'
)
TAG = '<span class="badge tag {tone}">{label}</span>'
STATUS = ' · <span class="badge tag status-badge status-{status}">{label}</span>'
DETAILS = '<p dir="auto" class="small mb-2 request-details-preview">{details}</p>'
# An id no request has: where it lands in a reversed URL is where each row's goes.
_MARKER = 2_147_483_647


def url_for_id(name: str):
    """`reverse(name, args=[pk])` for every pk of a page from one reverse()."""
    head, tail = reverse(name, args=[_MARKER]).split(str(_MARKER))
    return lambda pk: f"{head}{pk}{tail}"


def short_date(moment: datetime | None) -> str:
    """A moment's day as `|date:"SHORT_DATE_FORMAT"` writes it, in local time."""
    return date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT") if moment else ""


class Waited:
    """`moments.waited` for many rows of one page: "now" read once."""

    def __init__(self):
        self.now = timezone.now()

    def __call__(self, moment: datetime | None) -> str:
        return moments.waited(moment, self.now)


class DaysSince:
    """`moments.days_since` for many rows of one page: "today" read once."""

    def __init__(self):
        self.today = timezone.localdate()

    def __call__(self, moment: datetime | None) -> str:
        return moments.days_since(moment, self.today)


@dataclass(slots=True)
class RequestRow:
    """One request as a list shows it: its head (`_request_row.html` said
    it once per row), and what the page adds to it."""

    pk: int
    url: str
    head: SafeString
    number: str
    # What some lists add.
    waited: str = ""
    created_iso: str = ""
    on_board: bool = False
    can_share: bool = False
    last_prayed_iso: str = ""
    last_prayed: str = ""
    flag_reason: str = ""
    flagged_waited: str = ""
    flagged_iso: str = ""
    share_url: str = ""
    keep_off_url: str = ""
    assign_url: str = ""
    pray_form: SafeString = ""
    created_on: str = ""
    gap: str = ""
    gap_iso: str = ""
    gap_on: str = ""
    intercessors: str = ""


class RequestRows:
    """Makes the rows of one page: everything translated or reversed once."""

    def __init__(self, *, status: bool = False, details: bool = False):
        self.status, self.details = status, details
        self.detail_url = url_for_id("request_detail")
        self.categories = {value: str(label) for value, label in Category.choices}
        self.statuses = {value: str(label) for value, label in Status.choices}
        self.for_whom_line = gettext("For %(person)s · %(category)s")
        self.number_label = gettext("request #%(number)s")
        self.erased = gettext("Text erased")
        self.urgent = format_html(TAG, tone="tag-alert", label=gettext("Urgent"))
        self.confidential = format_html(TAG, tone="tag-caution", label=gettext("Confidential"))

    def head(self, prayer_request: PrayerRequest) -> SafeString:
        erased = prayer_request.text_erased_at is not None
        tags = (self.urgent if prayer_request.is_urgent else "") + (
            self.confidential if prayer_request.is_confidential else ""
        )
        line = self.for_whom_line % {
            "person": prayer_request.for_whom,
            "category": self.categories.get(prayer_request.category, prayer_request.category),
        }
        status = ""
        if self.status:
            label = self.statuses.get(prayer_request.status, "")
            status = format_html(STATUS, status=prayer_request.status, label=label)
        details = ""
        if self.details and prayer_request.details and not erased:
            details = format_html(DETAILS, details=truncatechars(prayer_request.details, DETAILS_SHOWN))
        return format_html(
            HEAD,
            url=self.detail_url(prayer_request.pk),
            title=self.erased if erased else prayer_request.title,
            tags=mark_safe(tags),  # noqa: S308 - two pieces format_html made
            line=line,
            status=status,
            details=details,
        )

    def row(self, prayer_request: PrayerRequest, **extra) -> RequestRow:
        return RequestRow(
            pk=prayer_request.pk,
            url=self.detail_url(prayer_request.pk),
            head=self.head(prayer_request),
            number=self.number_label % {"number": prayer_request.pk},
            **extra,
        )


class PrayForms:
    """The "I prayed" form of each row of a page (`_pray_form.html`, as a
    list shows it), from one render: made for a request whose id is a
    marker, then given each row's id, a fresh submission key, and the page's
    CSRF field (put in last, so that no id is ever looked for inside it)."""

    KEY, CSRF = "submission-key-of-the-row", "<!--csrf-field-->"

    def __init__(self, request):
        self.csrf = csrf_input(request)
        context = {
            "prayer_request": {"pk": _MARKER},
            "in_list": True,
            "submission_key": self.KEY,
            "csrf_field": mark_safe(self.CSRF),  # noqa: S308 - a marker of ours
        }
        self.form = render_to_string("requests_app/_pray_form.html", context, request=request)

    def __call__(self, pk: int) -> SafeString:
        form = self.form.replace(str(_MARKER), str(pk)).replace(self.KEY, secrets.token_hex(16))
        return mark_safe(form.replace(self.CSRF, self.csrf))  # noqa: S308 - rendered by the template, escaped there
