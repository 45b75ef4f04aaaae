"""CSV exports for leaders: every request, and the prayer log.

Rows are streamed a chunk at a time, and a whole export costs the same few
queries however many rows it has. Every cell is neutralised against CSV
(formula) injection with `safe_cell`, because a spreadsheet runs a cell that
starts with `=`, `+`, `-` or `@` as a formula.

Which requests are exported is decided by `RequestFilterForm.filter`, the
same filtering the all-requests list uses, applied to
`PrayerRequest.objects.visible_to(user)`.
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from django import forms
from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from requests_app.models import Assignment, PrayerLog, PrayerRequest

CHUNK_SIZE = 500
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

REQUEST_COLUMNS = [
    _("id"),
    _("submitted"),
    _("status"),
    _("category"),
    _("urgent"),
    _("confidential"),
    _("for whom"),
    _("title"),
    _("details"),
    _("requester name"),
    _("requester e-mail"),
    _("wants updates"),
    _("breakthrough at"),
    _("manifested at"),
    _("closed at"),
    _("active intercessors"),
    _("prayers logged"),
    _("last prayed"),
]

PRAYER_LOG_COLUMNS = [
    _("when"),
    _("request id"),
    _("request category"),
    _("confidential"),
    _("intercessor"),
    _("minutes"),
    _("fasted"),
    _("note"),
]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def safe_cell(value) -> str:
    """The text of a cell, with a leading `'` when a spreadsheet would take
    it for a formula (it starts with =, +, -, @, a tab or a carriage return)."""
    text = _text(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write() hands back what it was given, so
    csv.writer produces one line at a time for streaming."""

    def write(self, value: str) -> str:
        return value


def stream_rows(header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text, line by line: a BOM (so Excel reads UTF-8), the header,
    then every row, each cell made safe."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([safe_cell(column) for column in header])
    for row in rows:
        yield writer.writerow([safe_cell(cell) for cell in row])


def export_filename(kind: str) -> str:
    """`prayer-requests-YYYY-MM-DD.csv`: a fixed name and today's date, never
    anything a user typed."""
    return f"{kind}-{timezone.localdate().isoformat()}.csv"


def _display_name(user) -> str:
    return user.get_full_name() or user.get_username()


# -- Requests -----------------------------------------------------------------


def requests_for_export(found: QuerySet) -> QuerySet:
    """`found` (already visible and filtered) with what each row needs:
    prayer count, last prayer, and the active intercessors (prefetched per
    chunk by `.iterator(chunk_size=...)`)."""
    return (
        found.annotate(prayers_logged=Count("prayer_logs", distinct=True))
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=Assignment.objects.active()
                .select_related("intercessor")
                .order_by("intercessor__first_name", "intercessor__last_name", "intercessor__username"),
                to_attr="active_assignments",
            )
        )
        .order_by("-created_at", "-pk")
    )


def request_row(prayer_request: PrayerRequest) -> list:
    return [
        prayer_request.pk,
        prayer_request.created_at,
        prayer_request.get_status_display(),
        prayer_request.get_category_display(),
        prayer_request.is_urgent,
        prayer_request.is_confidential,
        prayer_request.for_whom,
        prayer_request.shown_title,
        prayer_request.details,
        prayer_request.requester_name,
        prayer_request.requester_email,
        prayer_request.wants_updates,
        prayer_request.breakthrough_at,
        prayer_request.answered_at,
        prayer_request.closed_at,
        ", ".join(_display_name(assignment.intercessor) for assignment in prayer_request.active_assignments),
        prayer_request.prayers_logged,
        prayer_request.last_prayed_at,
    ]


def request_rows(found: QuerySet) -> Iterator[list]:
    for prayer_request in requests_for_export(found).iterator(chunk_size=CHUNK_SIZE):
        yield request_row(prayer_request)


# -- The prayer log -------------------------------------------------------------


class PrayerLogRangeForm(forms.Form):
    """An optional range of days for the prayer log export, both ends included."""

    error_messages = {
        "date": {"invalid": _("Enter a real date, such as 2026-01-31.")},
        "range": _("The first day must not come after the last day."),
    }

    since = forms.DateField(label=_("From"), required=False, error_messages=error_messages["date"])
    until = forms.DateField(label=_("Until"), required=False, error_messages=error_messages["date"])

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError(self.error_messages["range"], code="range")
        return cleaned

    def filter(self, entries: QuerySet) -> QuerySet:
        """Narrow `entries` to the range; call only when the form is valid."""
        if since := self.cleaned_data.get("since"):
            entries = entries.filter(prayed_at__date__gte=since)
        if until := self.cleaned_data.get("until"):
            entries = entries.filter(prayed_at__date__lte=until)
        return entries


def prayer_log_for_export(requests: QuerySet) -> QuerySet:
    """Every prayer logged for `requests` (already visible and filtered), newest first."""
    return (
        PrayerLog.objects.filter(prayer_request__in=requests.values("pk"))
        .select_related("intercessor", "prayer_request")
        .order_by("-prayed_at", "-pk")
    )


def prayer_log_row(entry: PrayerLog) -> list:
    return [
        entry.prayed_at,
        entry.prayer_request_id,
        entry.prayer_request.get_category_display(),
        entry.prayer_request.is_confidential,
        _display_name(entry.intercessor),
        entry.minutes,
        entry.fasted,
        entry.note,
    ]


def prayer_log_rows(entries: QuerySet) -> Iterator[list]:
    for entry in entries.iterator(chunk_size=CHUNK_SIZE):
        yield prayer_log_row(entry)
