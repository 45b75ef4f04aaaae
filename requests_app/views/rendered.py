"""Forms and pieces of pages rendered once and reused (issue 16).

crispy-forms lays the forms out, and doing it costs most of what a form page
costs. An unbound form's HTML is the same for every visitor in a language
under the same church settings: it is rendered the first time it is asked
for, kept in this process, and reused. What differs between visitors (the
CSRF token) is never part of it; bound forms, with their values and errors,
are rendered by crispy every time as before.
"""

import re
from collections.abc import Callable, Hashable

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Languages times the church's settings that shape a form, and the shapes of
# a stencil (below): a few hundred at most. A church changing its settings
# leaves old entries behind; past this many, start over.
MOST_KEPT = 512
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


# A stencil's markers: characters of Unicode's private use area, which no
# escaping changes and no label of ours contains.
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARKER = re.compile(f"{_OPEN}(\\w+){_CLOSE}")


class Stencil:
    """One piece of a page drawn many times (a member's card), rendered by
    its template once per shape and then filled in for each row.

    A row is its `flags` (what the template's `{% if %}`s test: the shape)
    and its `values` (what it only prints, as strings). The template is
    rendered with each value replaced by a marker, once for each shape met
    in this process and language; each row's values then take the markers'
    places in one pass, escaped unless they are already safe HTML (a CSRF
    field). A template drawn this way may test only flags and print values
    without filters; `tests/test_fast_pages.py` compares it with rendering
    each row in full.
    """

    def __init__(self, template_name: str, name: str = "row"):
        self.template_name, self.name = template_name, name

    def __call__(self, flags: dict[str, bool], values: dict[str, str]) -> SafeString:
        shape = (self.template_name, tuple(sorted(flags.items())), tuple(sorted(values)))

        def render() -> str:
            markers = {key: mark_safe(f"{_OPEN}{key}{_CLOSE}") for key in values}  # noqa: S308 - markers of ours
            return render_to_string(self.template_name, {self.name: {**flags, **markers}})

        drawn = once(shape, render)

        def fill(match: re.Match) -> str:
            value = values[match.group(1)]
            return value if isinstance(value, SafeString) else escape(str(value))

        return mark_safe(_MARKER.sub(fill, drawn))  # noqa: S308 - the template's HTML, every value escaped
