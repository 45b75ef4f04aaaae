"""
A leader's part in retention and erasure, each with its audit entry in the
same transaction: keeping one request's text longer than the church's
retention period, and erasing a request's personal data on someone's
behalf (a phone call, a letter). The erasure itself is
`services.erase_text`; the entry names the request by id and holds the
short reason the leader typed, which the form asks to keep free of the
request's details.
"""

from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from requests_app import roles, services
from requests_app.exceptions import IntercessionError, NotAllowed
from requests_app.models import AuditAction, PrayerRequest
from requests_app.team import audit

REASON_MAX_LENGTH = 200


def _check_leader(by: AbstractBaseUser) -> None:
    if not roles.is_leader(by):
        raise NotAllowed(_("Only a leader can do this."))


def _checked_reason(reason: str) -> str:
    reason = " ".join(str(reason).split())
    if not reason:
        raise ValidationError(_("Give a short reason."), code="no_reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            ngettext(
                "Keep the reason to %(count)s character.",
                "Keep the reason to %(count)s characters.",
                REASON_MAX_LENGTH,
            )
            % {"count": REASON_MAX_LENGTH},
            code="reason_too_long",
        )
    return reason


def keep_text_longer(prayer_request: PrayerRequest, until: date, *, reason: str, by: AbstractBaseUser) -> None:
    """Keep the request's text until `until` (a day after today), whatever
    the retention period says."""
    _check_leader(by)
    reason = _checked_reason(reason)
    if until <= timezone.localdate():
        raise ValidationError(_("Choose a day after today."), code="not_in_future")
    with transaction.atomic():
        locked = PrayerRequest.objects.select_for_update().get(pk=prayer_request.pk)
        if locked.text_erased_at is not None:
            raise IntercessionError(_("The text of this request has already been erased."), code="already_erased")
        locked.keep_text_until = until
        locked.save(update_fields=["keep_text_until", "updated_at"])
        audit.record(AuditAction.TEXT_KEPT_LONGER, actor=by, request=locked.pk, until=until.isoformat(), reason=reason)
    prayer_request.keep_text_until = until


def erase_on_behalf(prayer_request: PrayerRequest, *, reason: str, by: AbstractBaseUser) -> None:
    """Erase the request's personal data now, for someone who asked a leader."""
    _check_leader(by)
    reason = _checked_reason(reason)
    with transaction.atomic():
        if not services.erase_text(prayer_request, why=services.ERASED_BY_LEADER, by=by):
            raise IntercessionError(_("The text of this request has already been erased."), code="already_erased")
        audit.record(AuditAction.TEXT_ERASED, actor=by, request=prayer_request.pk, reason=reason)
