"""`{% failing_webhooks %}`: the leaders' notice of webhooks whose events do
not go through. One query, and none while `delivery.failing_known()`
remembers that none is failing."""

from django import template

from requests_app.hooks import delivery
from requests_app.models import Webhook

register = template.Library()


@register.inclusion_tag("requests_app/_failing_webhooks.html", takes_context=True)
def failing_webhooks(context):
    if not context.get("is_leader") or delivery.failing_known() == 0:
        return {"failing": []}
    failing = list(
        Webhook.objects.filter(is_active=True, failing_since__isnull=False).only(
            "pk", "name", "failing_since", "last_error"
        )
    )
    delivery.remember_failing(len(failing))
    return {"failing": failing}
