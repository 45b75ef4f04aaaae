"""A leader's retention controls on the request page: keep a request's text
longer, or erase its personal data on someone's behalf. Both POST only, for
leaders (403 for the rest of the team who may see the request, 404 for who
may not), with a reason for the audit log (`requests_app.team.retention`)."""

from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from requests_app import access, roles, services
from requests_app.forms.retention import EraseForm, KeepTextForm
from requests_app.team import retention
from requests_app.views import rendered
from requests_app.views.outcomes import carry_out


def _leads(user, prayer_request) -> bool:
    return roles.is_leader(user)


def _first_error(form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return str(_("Something in the form was not right."))


@require_POST
@sensitive_post_parameters()
def keep_text(request: HttpRequest, pk: int) -> HttpResponse:
    prayer_request = access.get_request_for_user(request.user, pk, may_change=_leads)
    form = KeepTextForm(request.POST, prefix="keep")
    if not form.is_valid():
        messages.error(request, _first_error(form))
    else:
        until = form.cleaned_data["until"]
        done = carry_out(
            request,
            lambda: (
                retention.keep_text_longer(prayer_request, until, reason=form.cleaned_data["reason"], by=request.user)
                or True
            ),
        )
        if done:
            messages.success(request, _("Its text is kept until %(day)s.") % {"day": date_format(until)})
    return redirect("request_detail", prayer_request.pk)


@require_POST
@sensitive_post_parameters()
def erase(request: HttpRequest, pk: int) -> HttpResponse:
    prayer_request = access.get_request_for_user(request.user, pk, may_change=_leads)
    form = EraseForm(request.POST, prefix="erase")
    if not form.is_valid():
        messages.error(request, _first_error(form))
    elif carry_out(
        request,
        lambda: retention.erase_on_behalf(prayer_request, reason=form.cleaned_data["reason"], by=request.user) or True,
    ):
        messages.success(request, _("The request's text, names, e-mail and notes have been erased."))
    return redirect("request_detail", prayer_request.pk)


def card(user, prayer_request) -> dict | None:
    """What the request page's retention card shows a leader: when the text
    will be erased, and the two forms; None for everyone else."""
    if not roles.is_leader(user):
        return None
    return {
        "erased_on": services.text_erased_on(prayer_request),
        # Always unbound here (their POSTs answer with a message): the same
        # HTML for every leader in a language, rendered once (views/rendered.py).
        "keep_form_html": rendered.once(("retention_keep",), lambda: as_crispy_form(KeepTextForm(prefix="keep"))),
        "erase_form_html": rendered.once(("retention_erase",), lambda: as_crispy_form(EraseForm(prefix="erase"))),
    }
