"""`/api/v1/`: the endpoints, the OpenAPI schema and its reference page.

None of them is behind the log-in page (`login_not_required`): the API
answers 401 in JSON to a caller without a valid token instead."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from requests_app.api import views

schema = SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny])
reference = SpectacularSwaggerSplitView.as_view(
    url_name="api_schema", authentication_classes=[], permission_classes=[AllowAny]
)


def door(view):
    """An endpoint as Django serves it: not behind the log-in page, and
    what is sent to it hidden from crash reports, as on the pages."""
    return login_not_required(sensitive_post_parameters()(view))


# Any segment as the id: one that is not a number is the same JSON 404 as a
# request that is not there (`access.get_request_for_user`), not Django's page.
urlpatterns = [
    path("requests/", door(views.request_list), name="api_requests"),
    path("requests/<str:pk>/", door(views.request_detail), name="api_request"),
    path("requests/<str:pk>/prayers/", door(views.request_pray), name="api_request_pray"),
    path("requests/<str:pk>/updates/", door(views.request_update), name="api_request_update"),
    path("requests/<str:pk>/moves/", door(views.request_move), name="api_request_move"),
    path("ask/", door(views.ask), name="api_ask"),
    path("schema/", login_not_required(schema), name="api_schema"),
    path("docs/", login_not_required(reference), name="api_docs"),
]
