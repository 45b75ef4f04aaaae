"""The team's webhooks (leaders): the list with each hook's state and the
form for a new one, and one hook's page with its recent events, its
settings and its buttons (`requests_app.team.webhooks`).

A hook's signing secret is shown once, in the answer to the POST that made
it (a new hook, or a new secret): never put in the session, a cookie or a
log. Its address is shown by its host only, but on its own page's form,
where a leader changes it.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from requests_app import rules
from requests_app.forms.webhooks import WebhookForm
from requests_app.hooks import delivery, signing
from requests_app.models import WEBHOOK_PING, Webhook, WebhookEvent
from requests_app.team import webhooks
from requests_app.views.outcomes import carry_out

RECENT = 25
EVENT_LABELS = dict(WebhookEvent.choices)


def _leaders_only(request: HttpRequest) -> None:
    if not rules.can_manage_team(request.user):
        raise PermissionDenied("Leaders only.")


def _hook(pk: int) -> Webhook:
    try:
        return Webhook.objects.get(pk=pk)
    except Webhook.DoesNotExist:
        raise Http404("No such webhook.") from None


def _with_counts(queryset):
    most = delivery.max_attempts()
    return queryset.annotate(
        waiting=Count("deliveries", filter=Q(deliveries__delivered_at__isnull=True, deliveries__attempts__lt=most)),
        given_up=Count("deliveries", filter=Q(deliveries__delivered_at__isnull=True, deliveries__attempts__gte=most)),
    )


def _event_label(event: str) -> str:
    return _("Test event") if event == WEBHOOK_PING else str(EVENT_LABELS.get(event, event))


def _event_labels(events: list[str]) -> str:
    return " · ".join(_event_label(event) for event in events)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@sensitive_variables()
def team_webhooks(request: HttpRequest) -> HttpResponse:
    _leaders_only(request)
    form = WebhookForm(request.POST if request.method == "POST" else None)
    made = secret = None
    if form.is_bound and form.is_valid():
        outcome = carry_out(
            request,
            lambda: webhooks.create(
                by=request.user,
                name=form.cleaned_data["name"],
                url=form.cleaned_data["url"],
                chosen=form.cleaned_data["events"],
            ),
        )
        if outcome is not None:
            made, secret = outcome
            form = WebhookForm()
    hooks = list(_with_counts(Webhook.objects.all()))
    for hook in hooks:
        hook.event_labels = _event_labels(hook.events)
    ctx = {"form": form, "hooks": hooks, "made": made, "secret": secret, "most": webhooks.MOST}
    return render(request, "requests_app/webhooks.html", ctx)


def _recent(hook: Webhook) -> list:
    most = delivery.max_attempts()
    now = timezone.now()
    rows = list(hook.deliveries.order_by("-created_at", "-pk")[:RECENT])
    for row in rows:
        row.label = _event_label(row.event)
        if row.delivered_at:
            row.state = "delivered"
        elif row.attempts >= most:
            row.state = "given_up"
        elif row.next_attempt_at > now and row.attempts:
            row.state = "retrying"
        else:
            row.state = "waiting"
    return rows


def _detail(request: HttpRequest, hook: Webhook, form: WebhookForm | None = None, secret: str = "") -> HttpResponse:
    counted = _with_counts(Webhook.objects.filter(pk=hook.pk)).get()
    if form is None:
        form = WebhookForm(
            initial={"name": hook.name, "url": hook.url, "events": hook.events, "is_active": hook.is_active},
            editing=True,
        )
    ctx = {
        "hook": counted,
        "event_labels": _event_labels(counted.events),
        "form": form,
        "secret": secret,
        "recent": _recent(hook),
        # Code, not words to translate.
        "signature_example": f'{signing.HEADER}: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>',
        "tolerance": signing.TOLERANCE_SECONDS,
    }
    return render(request, "requests_app/webhook.html", ctx)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@sensitive_variables()
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _leaders_only(request)
    hook = _hook(pk)
    if request.method != "POST":
        return _detail(request, hook)
    form = WebhookForm(request.POST, editing=True)
    if not form.is_valid():
        return _detail(request, hook, form)
    changed = carry_out(
        request,
        lambda: webhooks.change(
            hook,
            by=request.user,
            name=form.cleaned_data["name"],
            url=form.cleaned_data["url"],
            chosen=form.cleaned_data["events"],
            active=form.cleaned_data["is_active"],
        ),
    )
    if changed is not None:
        messages.success(request, _("The webhook “%(name)s” is saved.") % {"name": changed.name})
    return redirect("webhook_detail", pk=hook.pk)


@never_cache
@require_POST
@sensitive_variables()
def webhook_secret(request: HttpRequest, pk: int) -> HttpResponse:
    """A new signing secret, shown in this answer only."""
    _leaders_only(request)
    hook = _hook(pk)
    secret = carry_out(request, lambda: webhooks.new_secret(hook, by=request.user))
    if secret is None:
        return redirect("webhook_detail", pk=hook.pk)
    return _detail(request, hook, secret=secret)


@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    _leaders_only(request)
    hook = _hook(pk)
    if carry_out(request, lambda: webhooks.send_test(hook, by=request.user)) is not None:
        messages.success(
            request, _("A test event is on its way to “%(name)s”: its result shows below.") % {"name": hook.name}
        )
    return redirect(reverse("webhook_detail", args=[hook.pk]) + "#recent")


@require_POST
def webhook_send_again(request: HttpRequest, pk: int) -> HttpResponse:
    _leaders_only(request)
    hook = _hook(pk)
    count = carry_out(request, lambda: webhooks.send_again(hook, by=request.user))
    if count:
        messages.success(
            request,
            ngettext(
                "%(count)d given-up event will be sent again.",
                "%(count)d given-up events will be sent again.",
                count,
            )
            % {"count": count},
        )
    elif count == 0:
        messages.info(request, _("No event of this webhook was given up."))
    return redirect(reverse("webhook_detail", args=[hook.pk]) + "#recent")


@require_POST
def webhook_remove(request: HttpRequest, pk: int) -> HttpResponse:
    _leaders_only(request)
    hook = _hook(pk)
    if carry_out(request, lambda: webhooks.remove(hook, by=request.user)):
        messages.success(
            request, _("The webhook “%(name)s” is removed: it is sent nothing more.") % {"name": hook.name}
        )
    return redirect("team_webhooks")
