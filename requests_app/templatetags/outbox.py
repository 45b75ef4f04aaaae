"""`{% undeliverable_emails %}`: the leaders' notice of e-mails the outbox
gave up on. One query, whatever the number of messages, and none while the
outbox remembers there are none (`outbox.how_many_given_up_known`)."""

from django import template
from django.db.models import Count, Window
from django.utils.translation import gettext_lazy as _

from requests_app.mail import outbox

register = template.Library()

SHOWN = 10

KIND_LABELS = {
    "new_request": _("new request, to a leader"),
    "followup_link": _("follow-up link, to a requester"),
    "followup_links": _("new follow-up links, to a requester"),
    "assigned": _("assignment, to an intercessor"),
    "released": _("release"),
    "requester_update": _("requester's update, to a leader"),
    "stage_changed": _("news, to a requester"),
    "note_for_requester": _("team note, to a requester"),
    "invitation": _("invitation to the team"),
    "password_reset": _("password reset"),
}


@register.inclusion_tag("requests_app/_undeliverable.html", takes_context=True)
def undeliverable_emails(context):
    if not context.get("is_leader") or outbox.how_many_given_up_known() == 0:
        return {"messages_given_up": [], "total": 0}
    rows = list(
        outbox.undeliverable()
        .annotate(total=Window(Count("pk")))
        .only("to", "kind", "created_at", "attempts", "last_error")[:SHOWN]
    )
    for row in rows:
        row.kind_label = KIND_LABELS.get(row.kind, row.kind)
    total = rows[0].total if rows else 0
    outbox.remember_how_many_given_up(total)
    return {"messages_given_up": rows, "total": total}
