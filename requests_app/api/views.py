"""The endpoints of `/api/v1/` (see the package's docstring for the rules)."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, pagination, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler

from requests_app import access, access_log, church, rules, services
from requests_app.api import serializers as s
from requests_app.exceptions import IntercessionError, InvalidTransition, NotAllowed
from requests_app.forms.public import AskForm
from requests_app.models import AccessAction, PrayerRequest, Status
from requests_app.views import public
from requests_app.views.entries import display_name

logger = logging.getLogger(__name__)

PAGE_SIZE = 25

REFUSALS = {
    400: OpenApiResponse(s.Problem, description="Bad input: nothing changed."),
    401: OpenApiResponse(s.Problem, description="No token, or one that is not valid (revoked, say)."),
    403: OpenApiResponse(s.Problem, description="Not allowed (a read-only token, say): nothing changed."),
    404: OpenApiResponse(s.Problem, description="No such request, or one this caller may not see."),
}


# The request of a path, as the schema describes it.
REQUEST_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The request's id.")


def problem_handler(exc, context):
    """Every refusal as JSON `{"detail": …}` (and `errors` by field for bad
    input), with the status the pages give: the app's own refusals too."""
    if isinstance(exc, InvalidTransition):
        exc = exceptions.APIException(str(exc))
        exc.status_code = status.HTTP_409_CONFLICT
    elif isinstance(exc, NotAllowed):
        exc = exceptions.PermissionDenied(str(exc))
    elif isinstance(exc, (DjangoValidationError, IntercessionError)):
        messages = getattr(exc, "messages", None) or [str(exc)]
        exc = exceptions.ValidationError({"detail": " ".join(messages)})
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError) and not (isinstance(data, dict) and set(data) == {"detail"}):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        response.data = {
            "detail": _("Please correct the fields named in “errors”; nothing has changed."),
            "errors": {field: [str(message) for message in _listed(value)] for field, value in errors.items()},
        }
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"detail": str(data["detail"])}
    return response


def _listed(value) -> list:
    if isinstance(value, (list, tuple)):
        return [item for part in value for item in _listed(part)]
    if isinstance(value, dict):
        return [item for part in value.values() for item in _listed(part)]
    return [value]


class Keyset(pagination.CursorPagination):
    """Newest first, by keyset (the cursor is the last id seen): the next
    page costs the same however deep it is."""

    page_size = PAGE_SIZE
    ordering = "-pk"
    cursor_query_param = "cursor"

    def decode_cursor(self, request):
        # A cursor that is not one of ours is bad input (400), not a page
        # that is missing.
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {"cursor": [_("Follow the “next” or “previous” address as it is given.")]}
            ) from None


def _summary(prayer_request: PrayerRequest) -> dict:
    return {
        "id": prayer_request.pk,
        "title": prayer_request.title,
        "for_whom": prayer_request.for_whom,
        "category": prayer_request.category,
        "status": prayer_request.status,
        "is_urgent": prayer_request.is_urgent,
        "is_confidential": prayer_request.is_confidential,
        "created_at": prayer_request.created_at,
        "last_prayed_at": prayer_request.last_prayed_at,
    }


def _visible(request: Request, pk: str) -> PrayerRequest:
    return access.get_request_for_user(request.user, pk)


@extend_schema(
    operation_id="requests_list",
    summary="The requests you may see",
    description="Exactly those the caller may see (leaders: all; intercessors: theirs and the team board's), "
    "newest first, 25 a page; `next` is the next page's address.",
    parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=Status.values, description="Only requests in this status."),
        OpenApiParameter("cursor", OpenApiTypes.STR, description="From `next` or `previous`."),
    ],
    responses={200: s.RequestPage, 400: REFUSALS[400], 401: REFUSALS[401], 403: REFUSALS[403]},
)
@api_view(["GET"])
@sensitive_variables()
def request_list(request: Request) -> Response:
    rows = PrayerRequest.objects.visible_to(request.user)
    wanted = request.query_params.get("status")
    if wanted is not None:
        if wanted not in Status.values:
            raise exceptions.ValidationError({"status": [_("There is no such status.")]})
        rows = rows.filter(status=wanted)
    paginator = Keyset()
    page = paginator.paginate_queryset(rows, request)
    return paginator.get_paginated_response([_summary(row) for row in page])


@extend_schema(
    operation_id="requests_read",
    parameters=[REQUEST_ID],
    summary="One request, with its story as you may read it",
    responses={200: s.RequestDetail, **{code: REFUSALS[code] for code in (401, 403, 404)}},
)
@api_view(["GET"])
@sensitive_variables()
def request_detail(request: Request, pk: str) -> Response:
    user = request.user
    prayer_request = _visible(request, pk)
    held = rules.roles_for(user, prayer_request)
    on_team = rules.can_post_update(user, prayer_request, held=held)
    story = access.story_for(user, prayer_request, on_team=on_team).select_related("author", "intercessor")
    entries = []
    for entry in story:
        shown = access.note_is_shown(entry, user, on_team=on_team) and bool(entry.note)
        entries.append(
            {
                "id": entry.pk,
                "kind": entry.kind,
                "from_status": entry.from_status,
                "to_status": entry.to_status,
                "created_at": entry.created_at,
                "author": display_name(entry.author) if entry.author_id is not None else None,
                "intercessor": display_name(entry.intercessor) if entry.intercessor_id is not None else None,
                "note": entry.note if shown else None,
                "visibility": entry.visibility if shown else None,
            }
        )
    # Opening it here is opening it: in the access log of a confidential request.
    access_log.record(prayer_request, user, AccessAction.VIEWED)
    return Response(
        {
            **_summary(prayer_request),
            "details": prayer_request.details,
            "story": entries,
            "moves": [str(move) for move in rules.allowed_moves(user, prayer_request, held=held)],
            "may_pray": rules.can_log_prayer(user, prayer_request, held=held),
            "may_post_update": on_team,
        }
    )


def _written(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema(
    operation_id="requests_pray",
    parameters=[REQUEST_ID],
    summary="Log that you prayed for it",
    request=s.PrayerInput,
    responses={201: s.PrayerLogged, **REFUSALS},
)
@api_view(["POST"])
@sensitive_variables()
def request_pray(request: Request, pk: str) -> Response:
    prayer_request = _visible(request, pk)
    values = _written(s.PrayerInput, request)
    entry = services.log_prayer(
        prayer_request,
        intercessor=request.user,
        minutes=values.get("minutes"),
        fasted=values.get("fasted", False),
        note=values.get("note", ""),
        submission_key=values.get("submission_key", ""),
    )
    return Response({"id": entry.pk, "prayed_at": entry.prayed_at}, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="requests_update",
    parameters=[REQUEST_ID],
    summary="Add an update (a note) to its story",
    request=s.UpdateInput,
    responses={201: s.EntryMade, **REFUSALS},
)
@api_view(["POST"])
@sensitive_variables()
def request_update(request: Request, pk: str) -> Response:
    prayer_request = _visible(request, pk)
    values = _written(s.UpdateInput, request)
    entry = services.post_update(
        prayer_request, actor=request.user, note=values["note"], visibility=values["visibility"]
    )
    return Response({"id": entry.pk, "status": prayer_request.status}, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="requests_move",
    parameters=[REQUEST_ID],
    summary="Move it on (breakthrough, manifested, closed …)",
    description="The moves the caller may make are the request's `moves`; one that is no longer possible "
    "(someone else moved it first) is a 409.",
    request=s.MoveInput,
    responses={
        201: s.EntryMade,
        **REFUSALS,
        409: OpenApiResponse(s.Problem, description="Not a move from where it is now: nothing changed."),
    },
)
@api_view(["POST"])
@sensitive_variables()
def request_move(request: Request, pk: str) -> Response:
    prayer_request = _visible(request, pk)
    values = _written(s.MoveInput, request)
    entry = services.move(
        prayer_request,
        values["to_status"],
        actor=request.user,
        note=values.get("note", ""),
        visibility=values["visibility"],
    )
    return Response({"id": entry.pk, "status": prayer_request.status}, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="ask",
    summary="Ask for prayer (no account)",
    description="What the public form does, with its rules: the church's categories and consent question, "
    "the same rate limit per client; a paused form is a 409. The answer holds the requester's private "
    "follow-up link, shown this once.",
    request=s.AskInput,
    responses={
        201: s.AskSent,
        400: REFUSALS[400],
        409: OpenApiResponse(s.Problem, description="The church has paused new requests."),
        429: OpenApiResponse(s.Problem, description="Too many requests from this client: wait, nothing was sent."),
    },
    auth=[],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@sensitive_variables()
def ask(request: Request) -> Response:
    current = church.current()
    if not current.form_open:
        return Response({"detail": _("New requests are paused.")}, status=status.HTTP_409_CONFLICT)
    values = _written(s.AskInput, request)
    # The public form's own checks (consent, updates without an address …), on
    # what the form would have been sent.
    data = {name: value for name, value in values.items() if not isinstance(value, bool)}
    data.update({name: "on" for name, value in values.items() if value is True})
    if "is_confidential" not in values and current.confidential_by_default:
        data["is_confidential"] = "on"
    form = AskForm(data)
    if not form.is_valid():
        raise exceptions.ValidationError(form.errors)
    if not public.within_submit_limit(request._request):
        logger.info("request refused through the API: rate limit")
        return Response({"detail": public.too_many_requests()}, status=status.HTTP_429_TOO_MANY_REQUESTS)
    prayer_request, _token, link = public.send_request(request._request, form)
    return Response({"id": prayer_request.pk, "followup_url": link}, status=status.HTTP_201_CREATED)
