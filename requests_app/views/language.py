"""The language menu at the foot of every page (issue 15): a POST that
works without JavaScript. A visitor's choice is a cookie; a team member's
is also saved as their own (My settings), for their pages and e-mails."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_POST

from requests_app.models import NotificationPreferences
from requests_app.web import language


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    # Django's view checks `next` (this site only, else the page the form
    # was on, else the home page) and sets the cookie for a shipped language.
    response = i18n.set_language(request)
    chosen = language.supported(request.POST.get("language"))
    if chosen is None:
        # Django's view would also keep a language it has a catalog of but
        # the app does not ship: nothing changes.
        response.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
        messages.error(request, _("Choose one of the languages in the list."))
        return response
    if request.user.is_authenticated:
        NotificationPreferences.objects.update_or_create(user=request.user, defaults={"language": chosen})
        language.remember_for_session(request, chosen)
    return response
