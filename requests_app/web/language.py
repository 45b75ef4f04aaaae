"""Which language a page speaks (issue 15).

In order: a team member's own language (My settings; kept in their session
from the moment they log in, so no query asks for it), the language menu's
choice (a cookie, for visitors), the browser's languages among those
shipped (settings.LANGUAGES), and else the church's default language.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

from requests_app import church

# The session's copy of a team member's language (NotificationPreferences.language).
SESSION_KEY = "intercession_language"


def supported(code: str | None) -> str | None:
    """The shipped language `code` asks for ('pt-BR' -> 'pt-br', 'fr-CA' ->
    'fr'), or None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code.strip().lower())
    except LookupError:
        return None


def church_default() -> str:
    return supported(church.current().default_language) or settings.LANGUAGE_CODE


def from_browser(accept_language: str) -> str | None:
    for code, _quality in parse_accept_lang_header(accept_language[:1000]):
        if code == "*":
            break
        if found := supported(code):
            return found
    return None


def chosen(request) -> str:
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    member = session is not None and user is not None and user.is_authenticated
    if member and (found := supported(session.get(SESSION_KEY))):
        return found
    if found := supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)):
        return found
    return from_browser(request.headers.get("Accept-Language", "")) or church_default()


class LanguageMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware (Content-Language, Vary), choosing as above."""

    def process_request(self, request):
        translation.activate(chosen(request))
        request.LANGUAGE_CODE = translation.get_language()


def remember_for_session(request, code: str) -> None:
    """Keep a team member's language in their session (at log-in, and when
    they change it)."""
    if found := supported(code):
        request.session[SESSION_KEY] = found
    else:
        request.session.pop(SESSION_KEY, None)
    translation.activate(found or chosen(request))
