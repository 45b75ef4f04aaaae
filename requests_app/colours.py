"""
The church's accent colour: how it is written, whether white text on it can
be read, and the little stylesheet that puts it on the header and buttons.

Readable means WCAG 2.2's contrast ratio (success criterion 1.4.3): at
least 4.5:1 between white and the colour, from the colours' relative
luminance. The pages' Content-Security-Policy allows no inline style, so the
colour reaches them as a stylesheet of its own (`views.church.stylesheet`),
whose address carries a hash of its content: it can be cached for ever,
and a new colour is a new address.
"""

import hashlib
import math
import re
from dataclasses import dataclass
from functools import lru_cache

MIN_CONTRAST_WITH_WHITE = 4.5
WHITE = "#ffffff"

_WRITTEN = re.compile(r"#(?:[0-9a-f]{3}|[0-9a-f]{6})", re.IGNORECASE)

# How much darker a button is under the pointer, and while pressed: the
# shades of the app's own purple (static/css/intercession.css).
HOVER_SHADE, ACTIVE_SHADE = 0.8, 0.64
# The header's links are white at 90 %, brightening to white on hover.
NAVBAR_LINK_OPACITY = 0.9
# Dark pages: links, outline buttons and accent tags use the accent colour
# lightened towards white until it reads at 4.5:1 on Bootstrap's darkest
# surface that carries them (its dark "tertiary" background, a little
# lighter than the page's own #212529).
DARK_SURFACE = "#2b3035"


def normalise(text: str | None) -> str | None:
    """'#ABC' -> '#aabbcc', '#4A2C6D' -> '#4a2c6d'; None unless `text` is a
    hash sign and three or six hexadecimal digits (white space around is ignored)."""
    text = (text or "").strip()
    if not _WRITTEN.fullmatch(text):
        return None
    digits = text[1:].lower()
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    return f"#{digits}"


def channels(colour: str) -> tuple[int, int, int]:
    """(red, green, blue), 0-255, of a normalised colour."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _linear(channel: float) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def _luminance(rgb: tuple[float, float, float]) -> float:
    red, green, blue = (_linear(channel) for channel in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def relative_luminance(colour: str) -> float:
    return _luminance(channels(colour))


def contrast(first: str, second: str) -> float:
    """The contrast ratio of two colours, 1 (none) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def contrast_with_white(colour: str) -> float:
    return contrast(WHITE, colour)


def shown_ratio(ratio: float) -> str:
    """'4.49' for 4.4999: rounded down, so a refused colour never reads as 4.50:1."""
    return f"{math.floor(ratio * 100) / 100:.2f}"


def shade(colour: str, factor: float) -> str:
    """The colour darkened towards black (factor 1: unchanged)."""
    return "#" + "".join(f"{round(channel * factor):02x}" for channel in channels(colour))


def tint(colour: str, amount: float) -> str:
    """The colour mixed with white (amount 0: unchanged, 1: white)."""
    return "#" + "".join(f"{round(channel + (255 - channel) * amount):02x}" for channel in channels(colour))


def light_for_dark_pages(colour: str) -> str:
    """The least tint of the colour that reads at 4.5:1 on DARK_SURFACE."""
    for step in range(101):
        lighter = tint(colour, step / 100)
        if contrast(lighter, DARK_SURFACE) >= MIN_CONTRAST_WITH_WHITE:
            return lighter
    return WHITE


def rgb(colour: str) -> str:
    """'74, 44, 109': the form Bootstrap's *-rgb variables take."""
    return ", ".join(str(channel) for channel in channels(colour))


def _navbar_link_colour(colour: str) -> str:
    """White at 90 % where that still reads at 4.5:1 on the colour, else white."""
    blended = tuple(NAVBAR_LINK_OPACITY * 255 + (1 - NAVBAR_LINK_OPACITY) * channel for channel in channels(colour))
    ratio = (_luminance(blended) + 0.05) / (relative_luminance(colour) + 0.05)
    if ratio >= MIN_CONTRAST_WITH_WHITE:
        return f"rgba(255, 255, 255, {NAVBAR_LINK_OPACITY})"
    return WHITE


@dataclass(frozen=True)
class Stylesheet:
    text: str
    # The first 12 hexadecimal digits of the text's SHA-256: its address.
    version: str


_STYLESHEET = """/* The church's accent colour, from its settings page. */
:root {{
  --intercession-primary: {colour};
  --intercession-primary-rgb: {rgb};
  --intercession-primary-hover: {hover};
  --intercession-primary-hover-rgb: {hover_rgb};
  --intercession-primary-active: {active};
  --intercession-primary-light: {light};
  --intercession-primary-light-rgb: {light_rgb};
  --intercession-navbar-color: {navbar};
}}
"""


@lru_cache(maxsize=64)
def stylesheet(colour: str) -> Stylesheet:
    """The stylesheet of an accent colour (normalised), built once per colour."""
    hover, light = shade(colour, HOVER_SHADE), light_for_dark_pages(colour)
    text = _STYLESHEET.format(
        colour=colour,
        rgb=rgb(colour),
        hover=hover,
        hover_rgb=rgb(hover),
        active=shade(colour, ACTIVE_SHADE),
        light=light,
        light_rgb=rgb(light),
        navbar=_navbar_link_colour(colour),
    )
    return Stylesheet(text=text, version=hashlib.sha256(text.encode()).hexdigest()[:12])
