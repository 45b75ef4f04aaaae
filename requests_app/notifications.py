"""
E-mail to requesters.

Confidential content never appears in e-mail (PRODUCT.md): an inbox is read
on shared computers, forwarded, backed up. So these messages carry the app's
name and a link, and nothing from the request — not its title, not the
person prayed for, not the requester's name — for every request, confidential
or not, so nobody has to remember which is which.
"""

import logging

from django.core.mail import send_mail
from django.utils.translation import gettext as _

from requests_app.models import PrayerRequest

logger = logging.getLogger(__name__)


def send_followup_link(prayer_request: PrayerRequest, link: str) -> bool:
    """E-mail the private follow-up link to the requester, if they gave an
    address. Returns whether it was sent.

    A failure is logged and swallowed: the request is already saved and the
    link is on the page, so a broken mail server must not cost either. The log
    line has the request's id only: neither the address nor the link (which
    opens the request) belongs in a log.
    """
    if not prayer_request.requester_email:
        return False
    subject = _("Your prayer request")
    body = _(
        "Thank you for asking the intercession team to pray.\n"
        "\n"
        "This is your private link to follow your request: read the team's updates, "
        "tell us when the answer comes, or withdraw it.\n"
        "\n"
        "%(link)s\n"
        "\n"
        "Keep this e-mail safe: whoever has the link can read your request. "
        "For your privacy, nothing about the request itself is written here.\n"
        "\n"
        "— %(app)s"
    ) % {"link": link, "app": _("Intercession")}
    try:
        send_mail(subject, body, None, [prayer_request.requester_email])
    except Exception as exc:
        # No traceback: SMTP errors quote the recipient's address.
        logger.error("follow-up e-mail for request %s failed (%s)", prayer_request.pk, type(exc).__name__)
        return False
    return True
