"""
The access log of confidential requests: who opened or exported one, and
when — never what they saw.

PRODUCT.md promises that a confidential request is seen by the leaders and
its assigned intercessors only; the log lets the leaders check that promise
is kept, request by request. It is written on purpose by a GET (opening the
request's page) and read by leaders only, on that same page.
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from requests_app.models import AccessAction, AccessLogEntry, PrayerRequest


def _is_account(user) -> bool:
    # A requester acting through their link (`rules.Requester`) or anyone
    # logged out has no account to record; the requester is the owner anyway.
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "pk", None) is not None


def record(prayer_request: PrayerRequest, user, action: str = AccessAction.VIEWED) -> AccessLogEntry | None:
    """Note that `user` opened (or exported) `prayer_request`, if it is
    confidential and `user` is an account. One INSERT; returns the entry,
    or None when there is nothing to record."""
    if not prayer_request.is_confidential or not _is_account(user):
        return None
    return AccessLogEntry.objects.create(prayer_request=prayer_request, user=user, action=AccessAction(action))


def record_many(prayer_requests: Iterable[PrayerRequest], user, action: str = AccessAction.EXPORTED) -> int:
    """`record` for every confidential request of a list (an export), in one
    INSERT. Returns how many entries were written."""
    if not _is_account(user):
        return 0
    entries = [
        AccessLogEntry(prayer_request=prayer_request, user=user, action=AccessAction(action))
        for prayer_request in prayer_requests
        if prayer_request.is_confidential
    ]
    AccessLogEntry.objects.bulk_create(entries)
    return len(entries)


def entries_for(prayer_request: PrayerRequest) -> QuerySet[AccessLogEntry]:
    """The request's access log, newest first, each entry with its user."""
    return AccessLogEntry.objects.filter(prayer_request=prayer_request).select_related("user").order_by("-at", "-pk")
