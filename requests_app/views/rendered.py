"""Forms rendered once and reused (issue 16).

crispy-forms lays the forms out, and doing it costs most of what a form page
costs. An unbound form's HTML is the same for every visitor in a language
under the same church settings: it is rendered the first time it is asked
for, kept in this process, and reused. What differs between visitors (the
CSRF token) is never part of it; bound forms, with their values and errors,
are rendered by crispy every time as before.
"""

from collections.abc import Callable, Hashable

from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

# Languages times the church's settings that shape a form: a handful. A church
# changing its settings leaves old entries behind; past this many, start over.
MOST_KEPT = 64
_kept: dict[Hashable, SafeString] = {}


def once(key: Hashable, render: Callable[[], str]) -> SafeString:
    """The HTML `render()` gives, kept under `key` and the active language."""
    full_key = (translation.get_language(), key)
    html = _kept.get(full_key)
    if html is None:
        if len(_kept) >= MOST_KEPT:
            _kept.clear()
        # Rendered by Django's templates, which escaped what they put in it.
        html = _kept[full_key] = mark_safe(render())  # noqa: S308
    return html


def forget() -> None:
    """Drop every form kept (tests; a deployment restarts its processes)."""
    _kept.clear()
