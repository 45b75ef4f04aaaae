"""The audit log (leaders): every change to the team and the church's
settings, newest first. It never holds request content (`team.audit`), so
the page cannot show any; its rows are prepared here, in words."""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from requests_app import rules
from requests_app.keyset import Key, Keyset, keyset_page
from requests_app.models import AuditAction, AuditLogEntry, Category, TeamRole, WebhookEvent
from requests_app.team.church_settings import CHANGED

NEWEST_FIRST = Keyset("audit", (Key("created_at", datetime), Key("pk", int)), descending=True)

# What the keys of an entry's details are called on the page; any other key
# reads as its name with spaces.
DETAIL_LABELS = {
    # The team (requests_app.team.members, .invitations).
    "capacity": gettext_lazy("capacity"),
    "available": gettext_lazy("available"),
    "role": gettext_lazy("role"),
    "email": gettext_lazy("e-mail address"),
    "assignments_released": gettext_lazy("assignments released"),
    "api_tokens_revoked": gettext_lazy("API tokens revoked"),
    "token": gettext_lazy("API token"),
    # The webhooks (requests_app.team.webhooks).
    "webhook": gettext_lazy("webhook"),
    "host": gettext_lazy("address"),
    "events": gettext_lazy("events"),
    "active": gettext_lazy("active"),
    # The church's settings (requests_app.team.church_settings).
    "name": gettext_lazy("name"),
    "contact": gettext_lazy("contact line"),
    "welcome_text": gettext_lazy("welcome text"),
    "accent_colour": gettext_lazy("accent colour"),
    "form_open": gettext_lazy("public form open"),
    "form_paused_message": gettext_lazy("message while paused"),
    "confidential_by_default": gettext_lazy("confidential by default"),
    "asks_consent": gettext_lazy("asks about consent"),
    "privacy_notice": gettext_lazy("privacy notice"),
    "embed_origins": gettext_lazy("sites that may show the form"),
    "category_order": gettext_lazy("order of the categories"),
    "coverage_days": gettext_lazy("days before a coverage gap"),
    "reminder_prayer_gap_days": gettext_lazy("days before a prayer reminder"),
    "reminder_waiting_hours": gettext_lazy("hours a new request may wait"),
    "reminder_breakthrough_days": gettext_lazy("days awaiting manifestation before checking in"),
    "retention_days": gettext_lazy("days a request keeps its text"),
    # One request's retention and erasure (requests_app.team.retention).
    "request": gettext_lazy("request"),
    "reason": gettext_lazy("reason"),
    "until": gettext_lazy("kept until"),
}


@dataclass
class Row:
    """One entry as the page shows it: text only, no model."""

    when: datetime
    who: str  # "" for a command run on the server
    what: str
    whom: str
    details: list[str] = field(default_factory=list)


# Keys whose values read better as the labels of their choices.
VALUE_CHOICES = {"role": TeamRole, "category_order": Category, "events": WebhookEvent}


def _value_in_words(value, labels: dict) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None or value == "" or value == []:
        return _("(empty)")
    if isinstance(value, list):
        return ", ".join(_value_in_words(item, labels) for item in value)
    if isinstance(value, str) and value in labels:
        return str(labels[value])
    return str(value)


def _change(value) -> tuple | None:
    """(old, new) of a change: [old, new], or {"old": …, "new": …}."""
    if isinstance(value, dict) and set(value) == {"old", "new"}:
        return value["old"], value["new"]
    if isinstance(value, list) and len(value) == 2:
        return value[0], value[1]
    return None


def details_in_words(details: dict) -> list[str]:
    """ "capacity: 3 → 4", "welcome text changed", "role: Leader"."""
    lines = []
    # In the order of DETAIL_LABELS (a page's order), the rest by name: a
    # JSON column on PostgreSQL keeps no order of its own.
    known = list(DETAIL_LABELS)
    keys = sorted(details or {}, key=lambda key: (known.index(key) if key in known else len(known), key))
    for key, value in ((key, details[key]) for key in keys):
        label = str(DETAIL_LABELS.get(key, key.replace("_", " ")))
        labels = dict(VALUE_CHOICES[key].choices) if key in VALUE_CHOICES else {}
        if value == CHANGED:
            lines.append(_("%(what)s changed") % {"what": label})
        elif (change := _change(value)) is not None:
            old, new = (_value_in_words(side, labels) for side in change)
            lines.append(_("%(what)s: %(old)s → %(new)s") % {"what": label, "old": old, "new": new})
        else:
            lines.append(_("%(what)s: %(value)s") % {"what": label, "value": _value_in_words(value, labels)})
    return lines


@require_safe
def audit_log(request: HttpRequest) -> HttpResponse:
    """Who changed what in the team and the settings, and when: newest first."""
    if not rules.can_manage_team(request.user):
        raise PermissionDenied("Leaders only.")
    page = keyset_page(request, AuditLogEntry.objects.all(), NEWEST_FIRST)
    actions = dict(AuditAction.choices)
    page.object_list = [
        Row(
            when=entry.created_at,
            who=entry.actor_name,
            what=str(actions.get(entry.action, entry.action)),
            whom=entry.subject_name,
            details=details_in_words({**entry.details, **({"reason": entry.reason} if entry.reason else {})}),
        )
        for entry in page.object_list
    ]
    return render(request, "requests_app/audit_log.html", {"page": page})
