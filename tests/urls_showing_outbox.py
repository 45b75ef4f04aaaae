"""A page that shows an encrypted value (the outbox's only body), to see what
a page answers when no configured key opens it (tests/test_encryption.py)."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import path

from requests_app.models import OutboxMessage


@login_not_required
def outbox_body(request):
    return HttpResponse(OutboxMessage.objects.get().body_text, content_type="text/plain")


urlpatterns = [path("outbox-body/", outbox_body)]
