"""
Which characters a person's text may hold: the one definition that the
forms (`requests_app.forms.hygiene`, for everything typed in a page) and the
services that take text from elsewhere (`team.accounts` for a name given to
`create_leader` on the command line, `team.church_settings`) apply.

Text is normalised to NFC (one way of writing "é", so that searching and
comparing find it). Then:

- a single-line text (a title, a name, a search) may hold no control
  character (NUL, BEL, ESC, a tab or line break, a lone surrogate), no
  bidirectional override or isolate (U+202A to U+202E, U+2066 to U+2069: they make
  "Anna" read as another name, or reverse a line a leader reads) and no
  zero-width character (U+200B, U+2060, U+FEFF: two names that look the same
  but are not);
- a text of several lines (details, notes) loses those characters at its
  edges, and may hold inside only tabs and line breaks of the control
  characters, and no bidirectional override;
- an e-mail address may hold none of them at all (it would be mailed as it is);
- and no text may hold U+FFFD, what bytes that are not UTF-8 are decoded to:
  the text was not received as it was typed.

The zero-width joiner and non-joiner (U+200D, U+200C) are letters of their
own in Persian, in the Indic scripts and in emoji sequences (👨‍👩‍👧): a text
of several lines keeps them, and a single-line one takes them between two
characters outside ASCII (where those scripts need them), never next to a
Latin letter or at an edge, where they would only hide. The left-to-right
and right-to-left marks (U+200E, U+200F, U+061C) are what Arabic and Hebrew
text mixed with digits needs, and are always allowed.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError

# Problems, as the codes of the errors that name them. A NUL keeps Django's
# own code and message (its CharField refuses it too).
NUL = "null_characters_not_allowed"
UNREADABLE = "unreadable_characters"
INVISIBLE = "invisible_characters"

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ZERO_WIDTH = frozenset("\u200b\u2060\ufeff")
JOINERS = frozenset("\u200c\u200d")
REPLACEMENT = "\ufffd"
# The control characters a text of several lines may hold.
LAYOUT = frozenset("\t\n\r")

# Cc (C0, DEL, C1) and Cs (lone surrogates: undecodable bytes of a command line).
_CONTROLS = "\x00-\x1f\x7f-\x9f\ud800-\udfff"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_ZERO_WIDTH = "\u200b\u2060\ufeff"
_IN_A_LINE = re.compile(f"[{_CONTROLS}{_BIDI}{_ZERO_WIDTH}]")
_IN_LINES = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff{_BIDI}]")
_JOINER = re.compile("[\u200c\u200d]")


def normalise(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def is_control(character: str) -> bool:
    """A control character (Cc) or a lone surrogate (Cs)."""
    return unicodedata.category(character) in ("Cc", "Cs")


def is_invisible(character: str) -> bool:
    """Anything this module refuses somewhere: a control, a bidirectional
    control, a zero-width character or joiner, or U+FFFD."""
    return (
        is_control(character)
        or character in BIDI_CONTROLS
        or character in ZERO_WIDTH
        or character in JOINERS
        or character == REPLACEMENT
    )


def strip_edges(value: str) -> str:
    """`value` without white space or invisible characters at either end."""
    start, end = 0, len(value)
    while start < end and (value[start].isspace() or is_invisible(value[start])):
        start += 1
    while end > start and (value[end - 1].isspace() or is_invisible(value[end - 1])):
        end -= 1
    return value[start:end]


def _joins_two_letters(value: str, index: int) -> bool:
    if index == 0 or index == len(value) - 1:
        return False
    before, after = value[index - 1], value[index + 1]
    return not (before.isascii() or after.isascii() or is_invisible(before) or is_invisible(after))


def single_line_problem(value: str) -> str | None:
    """NUL, UNREADABLE or INVISIBLE (in that order) if a single-line text
    may not hold `value`; None if it may."""
    if "\x00" in value:
        return NUL
    if REPLACEMENT in value:
        return UNREADABLE
    if _IN_A_LINE.search(value):
        return INVISIBLE
    if any(not _joins_two_letters(value, match.start()) for match in _JOINER.finditer(value)):
        return INVISIBLE
    return None


def multi_line_problem(value: str) -> str | None:
    """The same for a text of several lines (its edges already stripped)."""
    if "\x00" in value:
        return NUL
    if REPLACEMENT in value:
        return UNREADABLE
    if _IN_LINES.search(value):
        return INVISIBLE
    return None


def address_problem(value: str) -> bool:
    """Whether an e-mail address holds a character no address has: any
    control, format (bidirectional, zero-width, soft hyphen...), surrogate,
    private or unassigned character, or U+FFFD."""
    return any(unicodedata.category(character)[0] == "C" or character == REPLACEMENT for character in value)


def a_name(value: str, *, max_length: int, messages: dict) -> str:
    """A name someone gives a thing of theirs (a token, a webhook): one
    line, normalised, cut to `max_length`; ValidationError with
    `messages["name_required"]` when blank, `messages["name_problem"]` when
    it holds what a line may not."""
    name = normalise(str(value)).strip()
    if not name:
        raise ValidationError(messages["name_required"], code="name_required")
    if single_line_problem(name):
        raise ValidationError(messages["name_problem"], code="name_problem")
    return name[:max_length]
