"""CSV exports for leaders: the requests, and the prayer log.

Both are filtered exactly like the all-requests list (`RequestFilterForm`),
start from `PrayerRequest.objects.visible_to(user)`, stream their rows, and
record every confidential request they carry in the access log as
"exported" — before the first byte is sent, so an interrupted download is
still on the record.
"""

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.views.decorators.http import require_safe

from requests_app import access_log
from requests_app.forms.lists import RequestFilterForm
from requests_app.models import AccessAction, PrayerRequest
from requests_app.reports import csv_export
from requests_app.web.decorators import leader_required


def _filtered_requests(request: HttpRequest):
    """The requests the user may see, narrowed by the list's valid filters."""
    return RequestFilterForm(request.GET).filter(PrayerRequest.objects.visible_to(request.user))


def _record_confidential(requests, user) -> None:
    confidential = requests.filter(is_confidential=True).only("pk", "is_confidential").order_by("pk")
    access_log.record_many(confidential, user, AccessAction.EXPORTED)


def _csv_response(lines, kind: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{csv_export.export_filename(kind)}"'
    response["Cache-Control"] = "no-store"
    return response


@require_safe
@leader_required
def export_requests(request: HttpRequest) -> HttpResponse:
    """Every request matching the list's filters, one row each."""
    found = _filtered_requests(request)
    _record_confidential(found, request.user)
    lines = csv_export.stream_rows(csv_export.REQUEST_COLUMNS, csv_export.request_rows(found))
    return _csv_response(lines, "prayer-requests")


@require_safe
@leader_required
def export_prayer_log(request: HttpRequest) -> HttpResponse:
    """Every prayer logged for the requests matching the list's filters,
    optionally between two days (`since`, `until`, both included). A date
    that is not one is refused with 400 and says why."""
    dates = csv_export.PrayerLogRangeForm(request.GET)
    if not dates.is_valid():
        problems = "\n".join(str(message) for messages in dates.errors.values() for message in messages)
        return HttpResponseBadRequest(problems + "\n", content_type="text/plain; charset=utf-8")
    entries = dates.filter(csv_export.prayer_log_for_export(_filtered_requests(request)))
    in_log = PrayerRequest.objects.visible_to(request.user).filter(pk__in=entries.values("prayer_request_id"))
    _record_confidential(in_log, request.user)
    lines = csv_export.stream_rows(csv_export.PRAYER_LOG_COLUMNS, csv_export.prayer_log_rows(entries))
    return _csv_response(lines, "prayer-log")
