"""A URL that raises, to see the 500 page."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path


@login_not_required
def boom(request):
    raise RuntimeError("forced failure")


urlpatterns = [path("boom/", boom)]
