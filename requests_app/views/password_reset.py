"""The password-reset page, answering the same for every address.

Whether an address has an account must not show, neither in the page nor
in how long it takes: the page always answers with the same redirect at
once, and looks the address up, writes the e-mail and sends it only after
the answer has gone (`web/after_response`). It is limited per client and
per address (counted by a keyed hash), and the refusal is the same for any
address too.
"""

import logging

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _

from requests_app.forms.login import ResetForm
from requests_app.web import ratelimit
from requests_app.web.after_response import after_response

logger = logging.getLogger(__name__)

CLIENT_SCOPE = "password_reset"
ADDRESS_SCOPE = "password_reset_address"


def _within_limits(request, address: str) -> bool:
    limit = settings.INTERCESSION_PASSWORD_RESET_LIMIT
    window = settings.INTERCESSION_PASSWORD_RESET_WINDOW_SECONDS
    address_key = ratelimit.keyed_hash(address.strip().casefold(), purpose=ADDRESS_SCOPE)
    # Both are counted, whatever the first one says: a refusal costs the same.
    by_client = ratelimit.hit(CLIENT_SCOPE, ratelimit.client_address(request), limit, window)
    by_address = ratelimit.hit(ADDRESS_SCOPE, address_key, limit, window)
    return by_client and by_address


class PasswordResetView(auth_views.PasswordResetView):
    form_class = ResetForm

    def form_valid(self, form):
        if not _within_limits(self.request, form.cleaned_data["email"]):
            logger.info("password reset refused: rate limit")
            form.add_error(
                None,
                ValidationError(
                    _("Too many password resets asked for — please wait an hour and try again."),
                    code="rate_limited",
                ),
            )
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        options = {
            "use_https": self.request.is_secure(),
            "token_generator": self.token_generator,
            "from_email": self.from_email,
            "email_template_name": self.email_template_name,
            "subject_template_name": self.subject_template_name,
            "request": self.request,
            "html_email_template_name": self.html_email_template_name,
            "extra_email_context": self.extra_email_context,
        }
        response = HttpResponseRedirect(self.get_success_url())
        return after_response(response, lambda: form.save(**options), name="password reset")
