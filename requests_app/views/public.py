"""The requester's pages: no account, a private follow-up link.

Holding the token is the requester's identity (`rules.Requester`): every
follow-up page fetches the request through `access.get_request_for_token`,
so a wrong or old token is a 404 like any page that does not exist. The
token is shown once, on the page right after asking, and only its hash is
stored. Pages that show the request or the link are never cached and ask
search engines not to index them.

The same form can live in a frame on the church's own website
(`embed_ask`, /embed/ask/), framed only by the sites the church lists.

A requester who lost their link asks for new ones with the address they
gave ("Lost your link?", `followup_lost`); the page on following a request
(`followup_help`) is where their later e-mails send them.

Against abuse: the ask form and "Lost your link?" have a honeypot field;
asking and the follow-up actions are limited per client, new links per
client and per address (`requests_app.web.ratelimit`); a refusal says why
and changes nothing. Every view that receives request text
hides the POST and its local variables from crash reports.
"""

import logging
import math
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from requests_app import access, church, rules, services
from requests_app.forms.public import (
    AskForm,
    ConfidentialityForm,
    FollowupUpdateForm,
    LostLinkForm,
    PraiseReportForm,
    PrayerNewsForm,
    WithdrawForm,
)
from requests_app.mail import notifications
from requests_app.models import PrayerLog, PrayerRequest, Status, UpdateKind, Visibility
from requests_app.rules import Requester
from requests_app.views import rendered
from requests_app.views.outcomes import carry_out
from requests_app.web import ratelimit
from requests_app.web.after_response import after_response

logger = logging.getLogger(__name__)

PAGE_SIZE = 25

# Rate-limit scopes: asking, every action through a follow-up link, and
# asking for new links (counted per client and per address).
SUBMIT_SCOPE = "ask"
FOLLOWUP_SCOPE = "followup"
LOST_LINK_SCOPE = "lost_link"
LOST_LINK_ADDRESS_SCOPE = "lost_link_address"

# Between the POST that created it and the one page that shows it, the raw
# token travels in a signed cookie of that page alone, for a few minutes:
# never in the session table, where a database dump would give live power
# over the request (withdraw it, make it public).
# "token" in its name: crash reports hide such cookies (Django's hidden-settings rule).
FOLLOWUP_COOKIE = "followup_token"
FOLLOWUP_COOKIE_SALT = "requests_app.ask_sent"
FOLLOWUP_COOKIE_SECONDS = 10 * 60

# Where the request stands, told to the person who asked.
STATUS_SENTENCES = {
    Status.NEW: _("Your request is waiting for a leader to give it to intercessors."),
    Status.INTERCEDING: _(
        "Intercessors are standing in the gap for your request, and will keep praying until the answer is seen."
    ),
    Status.BREAKTHROUGH: _("Breakthrough in the spirit has been received — we are awaiting its manifestation."),
    Status.ANSWERED: _("The answer has manifested. Praise God!"),
    Status.CLOSED: _("This request is closed. Thank you for letting us pray with you."),
}


def _not_indexed(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _how_long(seconds: int) -> str:
    """“an hour”, “2 hours”, “15 minutes”: how long a rate-limit window is."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("an hour", "%(count)d hours", hours) % {"count": hours}
    return ngettext("a minute", "%(count)d minutes", minutes) % {"count": minutes}


def _too_many(window: int) -> str:
    return _("Too many requests from your connection — please wait %(wait)s or phone the church office.") % {
        "wait": _how_long(window)
    }


def within_submit_limit(request: HttpRequest) -> bool:
    """One more request sent by this client: True while within the limit
    (the form here, its frame and the API count together)."""
    return ratelimit.hit(
        SUBMIT_SCOPE,
        ratelimit.client_address(request),
        settings.INTERCESSION_SUBMIT_LIMIT,
        settings.INTERCESSION_SUBMIT_WINDOW_SECONDS,
    )


def _within_followup_limit(request: HttpRequest) -> bool:
    return ratelimit.hit(
        FOLLOWUP_SCOPE,
        ratelimit.client_address(request),
        settings.INTERCESSION_FOLLOWUP_LIMIT,
        settings.INTERCESSION_FOLLOWUP_WINDOW_SECONDS,
    )


# What a request sent to a paused form gives back to copy, cut to the
# lengths the form takes.
_KEPT_WHILE_PAUSED = ("for_whom", "title", "details")


@sensitive_variables()
def _paused(request: HttpRequest, message: str, *, embedded: bool) -> HttpResponse:
    """The church has paused new requests (its settings page): its message
    instead of the form. A form sent from a page shown before the pause is
    refused with a 409, changing nothing; what was typed comes back, for
    the sender to keep."""
    kept, status = [], 200
    if request.method == "POST":
        logger.info("request refused: the public form is paused")
        status = 409
        for name in _KEPT_WHILE_PAUSED:
            field = PrayerRequest._meta.get_field(name)
            value = str(request.POST.get(name, "")).replace("\x00", "").strip()[: field.max_length]
            if value:
                kept.append((AskForm.base_fields[name].label, value))
    ctx = {"paused": True, "paused_message": message, "refused": request.method == "POST", "kept": kept}
    return _paused_or_form(request, ctx, embedded=embedded, status=status)


def too_many_requests() -> str:
    """Why a request was refused by the submission limit, and what to do."""
    return _too_many(settings.INTERCESSION_SUBMIT_WINDOW_SECONDS)


@sensitive_variables()
def send_request(request: HttpRequest, form: AskForm) -> tuple[PrayerRequest, str, str]:
    """The request of a valid form, stored, with the follow-up e-mail
    written to the outbox in the same transaction: the request, its token
    and its link. ValidationError (nothing stored) if the service refuses it."""
    with transaction.atomic():
        prayer_request, token = services.submit_request(**form.request_fields())
        link = request.build_absolute_uri(reverse("followup", args=[token]))
        notifications.followup_link(prayer_request, link)
    return prayer_request, token, link


@login_not_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@sensitive_post_parameters()
@sensitive_variables()
def ask(request: HttpRequest) -> HttpResponse:
    """The public form to ask for prayer.

    A filled honeypot is a 400 and too many requests from one client a 429:
    the form comes back with what was typed (the honeypot emptied) and says
    why; nothing is stored or sent. While the church has paused the form,
    its message instead (`_paused`)."""
    return _ask(request, embedded=False)


@login_not_required
@csrf_exempt
@xframe_options_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@sensitive_post_parameters()
@sensitive_variables()
def embed_ask(request: HttpRequest) -> HttpResponse:
    """The public form alone, for a frame on the church's own website.

    Only the sites of the church's settings (`embed_origins`) may frame it:
    they are the page's frame-ancestors, and with none it may not be framed
    at all. In a frame on another site the browser sends none of our
    cookies, so the page needs none: no CSRF token (asking needs no account,
    and a forged request could do no more than its sender can do by
    themselves, under the same rate limit), and the follow-up link is shown
    in the answer to the POST itself, once, instead of after a redirect."""
    response = _ask(request, embedded=True)
    origins = church.current().embed_origins
    response._csp_replace = {"frame-ancestors": list(origins) if origins else ["'none'"]}
    return _not_indexed(response)


def _paused_or_form(request: HttpRequest, ctx: dict, *, embedded: bool, status: int = 200) -> HttpResponse:
    template = "requests_app/public/embed_ask.html" if embedded else "requests_app/public/ask.html"
    return render(request, template, {**ctx, "embedded": embedded}, status=status)


@sensitive_variables()
def _ask(request: HttpRequest, *, embedded: bool) -> HttpResponse:
    current = church.current()
    if not current.form_open:
        return _paused(request, current.form_paused_message, embedded=embedded)
    form = AskForm(request.POST) if request.method == "POST" else AskForm()
    status = 200
    if form.is_bound and not form.is_valid():
        if form.is_spam:
            logger.info("request refused: the honeypot was filled")
            status = 400
    elif form.is_bound and not within_submit_limit(request):
        logger.info("request refused: rate limit")
        message = "{} {}".format(
            too_many_requests(),
            _("Your request has not been sent; what you wrote is still below."),
        )
        form.add_error(None, ValidationError(message, code="rate_limited"))
        status = 429
    elif form.is_bound:
        try:
            prayer_request, token, link = send_request(request, form)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            if embedded:
                ctx = {"link": link, "emailed": bool(prayer_request.requester_email), "embedded": True}
                return render(request, "requests_app/public/embed_sent.html", ctx)
            response = redirect("ask_sent")
            response.set_signed_cookie(
                FOLLOWUP_COOKIE,
                f"{token}:{int(bool(prayer_request.requester_email))}",
                salt=FOLLOWUP_COOKIE_SALT,
                max_age=FOLLOWUP_COOKIE_SECONDS,
                path=reverse("ask_sent"),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
            return response
    ctx = {"form": form}
    if not form.is_bound:
        ctx["fields_html"] = rendered.once(
            ("ask", current.asks_consent, current.confidential_by_default, tuple(current.category_order)),
            lambda: render_to_string("requests_app/public/_ask_fields.html", {"form": form}),
        )
    return _paused_or_form(request, ctx, embedded=embedded, status=status)


@login_not_required
@never_cache
@require_GET
@sensitive_variables()
def ask_sent(request: HttpRequest) -> HttpResponse:
    """The follow-up link, shown once: the token leaves the session here.

    GET only (not HEAD), so nothing but a real visit uses the one showing up."""
    value = request.get_signed_cookie(
        FOLLOWUP_COOKIE, default="", salt=FOLLOWUP_COOKIE_SALT, max_age=FOLLOWUP_COOKIE_SECONDS
    )
    token, _, emailed = value.partition(":")
    ctx = {
        "link": request.build_absolute_uri(reverse("followup", args=[token])) if token else "",
        "emailed": bool(token) and emailed == "1",
    }
    response = render(request, "requests_app/public/ask_sent.html", ctx)
    response.delete_cookie(FOLLOWUP_COOKIE, path=reverse("ask_sent"), samesite="Lax")
    return _not_indexed(response)


def _get_request(token: str) -> PrayerRequest:
    """The request of the link, with `prayer_count`, how many prayers the
    team logged for it, counted in the one query that fetches it."""
    prayers = PrayerLog.objects.filter(prayer_request=OuterRef("pk")).order_by().values("prayer_request")
    counted = prayers.annotate(count=Count("pk")).values("count")
    return access.get_request_for_token(
        token,
        queryset=PrayerRequest.objects.annotate(
            prayer_count=Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
        ),
    )


def _prayed(prayer_request: PrayerRequest) -> dict:
    """How often the team prayed, and when last, for the page: never who,
    never how long or with what note (PRODUCT.md, "Who sees what"). The
    moment without its microseconds, the time since in words ("2 days").
    Counted here only for a request not fetched by `_get_request` (the
    delete page's refusal shows this page too)."""
    count = getattr(prayer_request, "prayer_count", None)
    if count is None:
        count = prayer_request.prayer_logs.count()
    last = prayer_request.last_prayed_at
    if not count or last is None:
        return {"prayer_count": count}
    last = timezone.localtime(last).replace(microsecond=0)
    now = timezone.now()
    return {
        "prayer_count": count,
        "last_prayed_iso": last.isoformat(),
        "last_prayed_just_now": now - last < timedelta(minutes=1),
        "last_prayed_ago": timesince(last, now, depth=1),
    }


def _followup_page(
    request: HttpRequest,
    token: str,
    prayer_request: PrayerRequest,
    *,
    update_form: FollowupUpdateForm | None = None,
    praise_form: PraiseReportForm | None = None,
    withdraw_form: WithdrawForm | None = None,
    confidentiality_form: ConfidentialityForm | None = None,
    prayer_news_form: PrayerNewsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The follow-up page, with the forms the requester may use now; a form
    that failed validation (or was refused) is passed in to show it again."""
    requester = Requester(prayer_request.pk)
    moves = rules.allowed_moves(requester, prayer_request)
    erased = prayer_request.text_erased_at is not None
    # Only what was written for the requester: never the team's notes, the
    # private journals or the prayer log.
    # Every status move is theirs to know (its note only if written for them).
    story = prayer_request.updates.filter(
        Q(visibility=Visibility.REQUESTER) | Q(kind__in=[UpdateKind.MOVE, UpdateKind.UNDONE])
    ).order_by("created_at", "pk")
    paginator = Paginator(story, PAGE_SIZE)
    # The latest entries first come into view: the last page, unless asked.
    page = paginator.get_page(request.GET.get("page") or paginator.num_pages)
    ctx = {
        "prayer_request": prayer_request,
        "token": token,
        "status_sentence": STATUS_SENTENCES[prayer_request.status],
        "page": page,
        # Once its text is erased (deleted, or the retention period), nothing
        # more is written in its story, and there is nothing left to show the
        # team: only withdrawing stays.
        "can_post_update": not erased and rules.can_post_update(requester, prayer_request),
        "can_praise": not erased and Status.ANSWERED in moves,
        "can_withdraw": Status.CLOSED in moves,
        "can_change_confidentiality": not erased
        and rules.can_set_confidential(requester, prayer_request, not prayer_request.is_confidential),
        "update_form": update_form or FollowupUpdateForm(prefix="update"),
        "praise_form": praise_form or PraiseReportForm(prefix="praise"),
        "withdraw_form": withdraw_form or WithdrawForm(prefix="withdraw"),
        "confidentiality_form": confidentiality_form
        or ConfidentialityForm(initial={"confidential": "0" if prayer_request.is_confidential else "1"}),
        **_prayed(prayer_request),
        # The weekly e-mail of prayers goes only to an open request's
        # requester who asked for updates: elsewhere there is nothing to stop.
        "can_set_prayer_news": not erased
        and prayer_request.is_open
        and prayer_request.wants_updates
        and bool(prayer_request.requester_email),
        "prayer_news_form": prayer_news_form
        or PrayerNewsForm(initial={"send": "0" if prayer_request.wants_prayer_news else "1"}),
    }
    return _not_indexed(render(request, "requests_app/public/followup.html", ctx, status=status))


def _too_many_followups(request: HttpRequest, token: str, prayer_request: PrayerRequest, **forms) -> HttpResponse:
    """A 429: the page again, with what was typed, saying why nothing changed."""
    logger.info("follow-up action refused: rate limit")
    messages.error(
        request,
        "{} {}".format(
            _too_many(settings.INTERCESSION_FOLLOWUP_WINDOW_SECONDS),
            _("Nothing has been changed; what you wrote is still below."),
        ),
    )
    return _followup_page(request, token, prayer_request, status=429, **forms)


def _carry_out(request: HttpRequest, token: str, action: Callable[[], object], done: str) -> HttpResponse:
    """Run a service for the requester: a refusal becomes a message (403 if
    they have no right at all), success a thank-you; back to the page."""
    if carry_out(request, action) is not None:
        messages.success(request, done)
    return redirect("followup", token)


def _refuse_move(request: HttpRequest, token: str, prayer_request: PrayerRequest) -> HttpResponse:
    messages.error(
        request,
        _("That cannot be done now: your request is “%(status)s”.") % {"status": Status(prayer_request.status).label},
    )
    return redirect("followup", token)


@login_not_required
@never_cache
@require_safe
@sensitive_variables()
def followup(request: HttpRequest, token: str) -> HttpResponse:
    """The requester's own request: where it stands, its story, and what
    they can do."""
    prayer_request = _get_request(token)
    return _followup_page(request, token, prayer_request)


@login_not_required
@never_cache
@require_POST
@sensitive_post_parameters()
@sensitive_variables()
def followup_update(request: HttpRequest, token: str) -> HttpResponse:
    # Counted before the token is looked up: guessing links costs too.
    within_limit = _within_followup_limit(request)
    prayer_request = _get_request(token)
    form = FollowupUpdateForm(request.POST, prefix="update")
    if not within_limit:
        return _too_many_followups(request, token, prayer_request, update_form=form)
    if not form.is_valid():
        return _followup_page(request, token, prayer_request, update_form=form)
    return _carry_out(
        request,
        token,
        lambda: services.post_update(
            prayer_request,
            actor=Requester(prayer_request.pk),
            note=form.cleaned_data["note"],
            visibility=Visibility.REQUESTER,
        ),
        _("Thank you — your update is with the team."),
    )


@sensitive_variables()
def _requester_move(request: HttpRequest, token: str, to_status: str, form_class, form_name: str, done: str):
    """A move the requester makes from their page (praise report, withdraw):
    rate limit, the move must be theirs to make now, a valid note, then the
    service."""
    within_limit = _within_followup_limit(request)
    prayer_request = _get_request(token)
    form = form_class(request.POST, prefix=form_name)
    if not within_limit:
        return _too_many_followups(request, token, prayer_request, **{f"{form_name}_form": form})
    if to_status not in rules.allowed_moves(Requester(prayer_request.pk), prayer_request):
        return _refuse_move(request, token, prayer_request)
    if not form.is_valid():
        return _followup_page(request, token, prayer_request, **{f"{form_name}_form": form})
    return _carry_out(
        request,
        token,
        lambda: services.move(
            prayer_request, to_status, actor=Requester(prayer_request.pk), note=form.cleaned_data["note"]
        ),
        done,
    )


@login_not_required
@never_cache
@require_POST
@sensitive_post_parameters()
@sensitive_variables()
def followup_praise(request: HttpRequest, token: str) -> HttpResponse:
    return _requester_move(
        request,
        token,
        Status.ANSWERED,
        PraiseReportForm,
        "praise",
        _("Thank you — your praise report is with the team."),
    )


@login_not_required
@never_cache
@require_POST
@sensitive_post_parameters()
@sensitive_variables()
def followup_withdraw(request: HttpRequest, token: str) -> HttpResponse:
    return _requester_move(
        request,
        token,
        Status.CLOSED,
        WithdrawForm,
        "withdraw",
        _("Your request has been withdrawn. Thank you for letting us pray with you."),
    )


@login_not_required
@never_cache
@require_POST
@sensitive_post_parameters()
@sensitive_variables()
def followup_confidentiality(request: HttpRequest, token: str) -> HttpResponse:
    within_limit = _within_followup_limit(request)
    prayer_request = _get_request(token)
    form = ConfidentialityForm(request.POST)
    if not within_limit:
        return _too_many_followups(request, token, prayer_request)
    if not form.is_valid():
        return _followup_page(request, token, prayer_request, confidentiality_form=form)
    confidential = form.cleaned_data["confidential"]
    if confidential:
        done = _("Your request is confidential again: only the leaders and its intercessors will see it.")
    else:
        done = _("Your request is no longer confidential: the whole intercession team can now pray for it.")
    return _carry_out(
        request,
        token,
        lambda: services.set_confidential(prayer_request, confidential, actor=Requester(prayer_request.pk)),
        done,
    )


@login_not_required
@never_cache
@require_POST
@sensitive_variables()
def followup_prayer_news(request: HttpRequest, token: str) -> HttpResponse:
    """Stop, or start again, the weekly e-mail of how often the team prayed;
    the other updates go on either way."""
    within_limit = _within_followup_limit(request)
    prayer_request = _get_request(token)
    form = PrayerNewsForm(request.POST)
    if not within_limit:
        return _too_many_followups(request, token, prayer_request)
    if not form.is_valid():
        return _followup_page(request, token, prayer_request, prayer_news_form=form)
    wanted = form.cleaned_data["send"]
    if wanted:
        done = _("We will write to you again in weeks when the team prays for your request.")
    else:
        done = _("We will no longer write to you each week. You will still hear when there is news of your request.")
    return _carry_out(
        request,
        token,
        lambda: services.set_prayer_news(prayer_request, wanted, actor=Requester(prayer_request.pk)),
        done,
    )


@login_not_required
@require_safe
def privacy_notice(request: HttpRequest) -> HttpResponse:
    """What is kept, who sees it, for how long and how to delete it: the
    church's words (its settings page), or the standard notice. Linked from
    the ask form, the follow-up pages and every e-mail to a requester."""
    return render(
        request, "requests_app/public/privacy_notice.html", {"notice": church.privacy_notice(church.current())}
    )


@login_not_required
@never_cache
@require_safe
def followup_help(request: HttpRequest) -> HttpResponse:
    """How to follow a request: what the private link is and where it was
    given, and the way to new links. Where the requester's e-mails after
    the first one send them. Nothing of any request is on it."""
    return render(request, "requests_app/public/followup_help.html")


def _within_lost_link_limits(request: HttpRequest, address: str) -> bool:
    """One more ask for new links, by this client and for this address (by
    its keyed hash). The address is counted only while the client is within
    its own limit, so one client's flood does not use up the address."""
    limit = settings.INTERCESSION_LOST_LINK_LIMIT
    window = settings.INTERCESSION_LOST_LINK_WINDOW_SECONDS
    address_key = ratelimit.keyed_hash(address.casefold(), purpose=LOST_LINK_ADDRESS_SCOPE)
    return ratelimit.hit(LOST_LINK_SCOPE, ratelimit.client_address(request), limit, window) and ratelimit.hit(
        LOST_LINK_ADDRESS_SCOPE, address_key, limit, window
    )


@sensitive_variables()
def _send_new_links(address: str, language: str) -> None:
    """The work of "Lost your link?", once the answer has gone."""
    with translation.override(language):
        count = services.reissue_followup_links(address)
    logger.info("new follow-up links: %s requests", count)


@login_not_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@sensitive_post_parameters()
@sensitive_variables()
def followup_lost(request: HttpRequest) -> HttpResponse:
    """ "Lost your link?": the requester types the address they gave; every
    request sent with it gets a new link, all in one e-mail there.

    The answer cannot tell whether the address is known: it is the same
    redirect, to the same page, for every valid address, and it is decided
    before the address is looked up. The lookup, the new tokens and the
    e-mail happen after the response has been sent (`after_response`), so
    it takes as long either way: no query for the address runs before it.
    Too many asks from one client, or for one address from anywhere, is a
    429 with the same words for every address; a filled honeypot a 400;
    neither looks anything up or changes anything."""
    form = LostLinkForm(request.POST) if request.method == "POST" else LostLinkForm()
    status = 200
    if form.is_bound and not form.is_valid():
        if form.is_spam:
            logger.info("new links refused: the honeypot was filled")
            status = 400
    elif form.is_bound and not _within_lost_link_limits(request, form.cleaned_data["email"]):
        logger.info("new links refused: rate limit")
        message = _(
            "Too many requests for new links — please wait %(wait)s and try again, or phone the church office. "
            "Nothing has been sent."
        ) % {"wait": _how_long(settings.INTERCESSION_LOST_LINK_WINDOW_SECONDS)}
        form.add_error(None, ValidationError(message, code="rate_limited"))
        status = 429
    elif form.is_bound:
        address, language = form.cleaned_data["email"], translation.get_language()
        response = redirect("followup_lost_sent")
        return after_response(response, lambda: _send_new_links(address, language), name="new follow-up links")
    return _not_indexed(render(request, "requests_app/public/followup_lost.html", {"form": form}, status=status))


@login_not_required
@never_cache
@require_safe
def followup_lost_sent(request: HttpRequest) -> HttpResponse:
    """After "Lost your link?": the same words whatever was typed."""
    return _not_indexed(render(request, "requests_app/public/followup_lost_sent.html"))
