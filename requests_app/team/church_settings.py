"""
The church's own settings, changed by a leader (the settings page,
`views.church`): what every page and e-mail then reads through
`requests_app.church.current()`.

`save` is the one way to change them: leaders only (`rules.can_manage_team`),
in one transaction with the single row (pk 1) locked, made from the
environment's defaults on the first save; every value checked (`check`), so
bad input changes nothing; an audit entry naming each field that changed,
with its old and new value (only that it changed for the two long texts,
which are the church's words, not settings); and the cached settings
dropped once it commits, so the next page shows the new ones.
"""

import re
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from requests_app import church, colours, rules, text
from requests_app.exceptions import NotAllowed
from requests_app.models import AuditAction, Category, ChurchSettings
from requests_app.team import audit

# What a leader sets, in the order of the page.
EDITABLE = (
    "name",
    "contact",
    "welcome_text",
    "accent_colour",
    "default_language",
    "form_open",
    "form_paused_message",
    "confidential_by_default",
    "asks_consent",
    "privacy_notice",
    "embed_origins",
    "category_order",
    "coverage_days",
    "reminder_prayer_gap_days",
    "reminder_waiting_hours",
    "reminder_breakthrough_days",
    "retention_days",
)
# The church's own words: the audit log keeps only that they changed.
UNRECORDED_TEXTS = frozenset({"welcome_text", "form_paused_message", "privacy_notice"})
CHANGED = "changed"
# The sites that may show the request form in a frame (`check_origins`).
MOST_EMBED_ORIGINS = 10
_USUAL_PORTS = {"https": 443, "http": 80}
_THIS_MACHINE = frozenset({"localhost", "127.0.0.1"})
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
# One line each: the header, page titles, e-mail subjects.
SINGLE_LINE = frozenset({"name", "contact"})

MESSAGES = {
    "control_characters": _(
        "Remove the invisible control characters (such as a NUL or a right-to-left override) from this text."
    ),
    "invalid_colour": _("Give the colour as # and six hexadecimal digits, such as #4a2c6d (or three, such as #537)."),
    "low_contrast": _(
        "White text on %(colour)s has a contrast of only %(ratio)s:1, and needs at least %(minimum)s:1 to be "
        "readable in the header and on buttons: choose a darker colour."
    ),
    "category_twice": _("%(category)s is already in place %(place)d: give each category exactly one place."),
    "category_order": _("Give each of the categories exactly one place."),
    "invalid_origin": _(
        "“%(origin)s” is not the address of a site: give each as https:// and its host name alone, such as "
        "https://www.example.org, one on each line."
    ),
    "too_many_origins": _("Give at most %(most)d sites."),
}


class _Refusal(ValidationError):
    def __init__(self, code: str, **params):
        super().__init__(MESSAGES[code], code=code, params=params or None)


def check_text(value: str, *, single_line: bool) -> str:
    """The text in NFC without white space around it, refused if it holds
    invisible characters (`requests_app.text`: line breaks are allowed
    where the text has several lines, whose edges lose them)."""
    value = text.normalise(value)
    if single_line:
        value = value.strip()
        problem = text.single_line_problem(value)
    else:
        value = text.strip_edges(value)
        problem = text.multi_line_problem(value)
    if problem:
        raise _Refusal("control_characters")
    return value


def check_colour(value: str) -> str:
    """The colour as #rrggbb in lower case, refused unless white text on it
    has a contrast of at least 4.5:1."""
    colour = colours.normalise(value)
    if colour is None:
        raise _Refusal("invalid_colour")
    ratio = colours.contrast_with_white(colour)
    if ratio < colours.MIN_CONTRAST_WITH_WHITE:
        raise _Refusal(
            "low_contrast",
            colour=colour,
            ratio=colours.shown_ratio(ratio),
            minimum=colours.MIN_CONTRAST_WITH_WHITE,
        )
    return colour


def check_origins(values) -> list[str]:
    """The origins of the sites that may frame the request form, one per
    entry: https:// and a host name (an international one in its ASCII
    form), a port only if it is not the usual one; http:// only for this
    machine (localhost), for trying it out. In lower case, without
    repeats, at most MOST_EMBED_ORIGINS; blank entries are dropped."""
    if not isinstance(values, (list, tuple)) or any(not isinstance(value, str) for value in values):
        raise _Refusal("invalid_origin", origin="")
    origins: list[str] = []
    for value in values:
        value = value.strip()
        if value:
            # Refused, not mapped away (IDNA would drop a zero-width space).
            origin = None if text.single_line_problem(value) else _origin(value)
            if origin is None:
                raise _Refusal("invalid_origin", origin=value[:100])
            if origin not in origins:
                origins.append(origin)
    if len(origins) > MOST_EMBED_ORIGINS:
        raise _Refusal("too_many_origins", most=MOST_EMBED_ORIGINS)
    return origins


def _origin(value: str) -> str | None:
    scheme, separator, rest = value.rstrip("/").partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in _USUAL_PORTS:
        return None
    host, _colon, port = rest.partition(":")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    if (
        len(host) > 253
        or not _HOST.fullmatch(host)
        or (port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536))
    ):
        return None
    if scheme == "http" and host not in _THIS_MACHINE:
        return None
    if port and int(port) != _USUAL_PORTS[scheme]:
        return f"{scheme}://{host}:{int(port)}"
    return f"{scheme}://{host}"


def check_category_order(values) -> list[str]:
    """Every category exactly once, as a list of their values."""
    labels = dict(Category.choices)
    if not isinstance(values, (list, tuple)) or any(not isinstance(value, str) for value in values):
        raise _Refusal("category_order")
    seen: dict[str, int] = {}
    for place, value in enumerate(values, start=1):
        if value not in labels:
            raise _Refusal("category_order")
        if value in seen:
            raise _Refusal("category_twice", category=labels[value], place=seen[value])
        seen[value] = place
    if len(seen) != len(labels):
        raise _Refusal("category_order")
    return list(values)


def check(row: ChurchSettings) -> None:
    """Every value of `row`, as the model's fields and these rules say:
    ValidationError by field name when one is refused."""
    errors: dict[str, list[ValidationError]] = {}

    def checked(name: str, checker) -> None:
        try:
            setattr(row, name, checker(getattr(row, name)))
        except ValidationError as refusal:
            errors.setdefault(name, []).append(refusal)

    for name in ("name", "contact", "welcome_text", "form_paused_message", "privacy_notice"):
        if isinstance(getattr(row, name), str):
            checked(name, lambda value, name=name: check_text(value, single_line=name in SINGLE_LINE))
    checked("accent_colour", lambda value: check_colour(value if isinstance(value, str) else ""))
    checked("category_order", check_category_order)
    checked("embed_origins", check_origins)
    try:
        row.full_clean(exclude=[*errors, "updated_at"], validate_unique=False, validate_constraints=False)
    except ValidationError as refusal:
        for name, field_errors in refusal.error_dict.items():
            errors.setdefault(name, []).extend(field_errors)
    if errors:
        raise ValidationError(errors)


def _locked_row() -> ChurchSettings:
    """The row, locked; made from the environment's defaults on the first save."""
    start = church.defaults()
    values = {name: getattr(start, name) for name in EDITABLE}
    row, _created = ChurchSettings.objects.select_for_update().get_or_create(pk=1, defaults=values)
    return row


def _recorded(name: str, old: Any, new: Any) -> Any:
    return CHANGED if name in UNRECORDED_TEXTS else [old, new]


def save(values: Mapping[str, Any], *, by: AbstractBaseUser) -> dict[str, Any]:
    """Set the settings named in `values` (any of EDITABLE; the others stay
    as they are). Returns what changed, as the audit entry records it ({}
    when nothing did: then nothing is written). NotAllowed for anyone but
    a leader; ValidationError (by field) when a value is refused, and then
    nothing changes."""
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not a church setting: {sorted(unknown)}")
    if not rules.can_manage_team(by):
        raise NotAllowed(_("Only a leader may change the church's settings."))
    with transaction.atomic():
        row = _locked_row()
        before = {name: getattr(row, name) for name in EDITABLE}
        for name, value in values.items():
            setattr(row, name, value)
        check(row)
        changes = {
            name: _recorded(name, before[name], getattr(row, name))
            for name in EDITABLE
            if getattr(row, name) != before[name]
        }
        if not changes:
            # Not even the row of the first save: until something is set
            # here, the environment's values still count.
            transaction.set_rollback(True)
            return {}
        row.save()
        audit.record(AuditAction.SETTINGS_CHANGED, actor=by, **changes)
        transaction.on_commit(church.forget)
    return changes
