"""The dashboard's charts, drawn on the server as inline SVG.

No script and no style: shapes carry SVG presentation attributes (`fill`,
`stroke`), so the strict Content-Security-Policy holds, and the charts print.
Each chart scales to its container through its viewBox, and is followed in
the template by a table with the same numbers. On a right-to-left page
(Arabic) each chart is drawn mirrored, as its readers read: the latest week
on the left, names on the right and bars growing leftwards; its text
anchors follow the page's direction, so they mirror with it.
"""

import math
from datetime import timedelta

from django import template
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()

# Drawing units of the viewBox; the chart is as wide as its container.
WIDTH = 400
# Bootstrap's body text, secondary text and light border; the app's purple;
# Bootstrap's danger red. Each text colour is at least 7:1 on white.
INK, MUTED_INK, GRID = "#212529", "#495057", "#dee2e6"
BAR, OVER_CAPACITY, TRACK = "#4a2c6d", "#b02a37", "#e9ecef"


def nice_maximum(largest: int, *, ticks: int = 4) -> tuple[int, int]:
    """A round top for an axis showing `largest`, and the step between its
    `ticks` gridlines (1, 2 or 5 times a power of ten)."""
    if largest <= ticks:
        return max(largest, 1), 1
    raw_step = largest / ticks
    power = 10 ** math.floor(math.log10(raw_step))
    step = next(factor * power for factor in (1, 2, 5, 10) if factor * power >= raw_step)
    return step * math.ceil(largest / step), step


class Axis:
    """Where an x drawn left to right lands on this page: the same, or
    mirrored on a right-to-left page."""

    def __init__(self):
        self.rtl = translation.get_language_bidi()

    def x(self, x: float) -> float:
        return round(WIDTH - x if self.rtl else x, 1)

    def left_edge(self, x: float, width: float) -> float:
        """The left edge of a shape drawn from `x`, `width` wide."""
        return self.x(x + width if self.rtl else x)

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"


@register.inclusion_tag("requests_app/_chart_weekly.html")
def weekly_chart(weeks) -> dict:
    """Columns: prayers logged in each week, the latest on the right. Every
    other week is labelled, counting back from this one."""
    left, right, top, bottom, height = 32, 6, 18, 30, 220
    plot_width, plot_height = WIDTH - left - right, height - top - bottom
    top_value, step = nice_maximum(max((week.prayers for week in weeks), default=0))
    slot = plot_width / max(len(weeks), 1)
    bar_width = slot * 0.65
    axis = Axis()
    columns = []
    for number, week in enumerate(weeks):
        bar_height = plot_height * week.prayers / top_value
        x = left + slot * number + (slot - bar_width) / 2
        columns.append(
            {
                "week": week,
                "x": axis.left_edge(x, bar_width),
                "y": round(top + plot_height - bar_height, 1),
                "width": round(bar_width, 1),
                "height": round(bar_height, 1),
                "middle": axis.x(x + bar_width / 2),
                "labelled": (len(weeks) - 1 - number) % 2 == 0,
            }
        )
    gridlines = [
        {"value": value, "y": round(top + plot_height - plot_height * value / top_value, 1)}
        for value in range(0, top_value + 1, step)
    ]
    return {
        "weeks": weeks,
        "columns": columns,
        "gridlines": gridlines,
        "width": WIDTH,
        "height": height,
        "direction": axis.direction,
        "left": axis.x(left),
        "axis_label_x": axis.x(left - 6),
        "right_edge": axis.x(WIDTH - right),
        "baseline": top + plot_height,
        "label_y": height - 10,
        "total": sum(week.prayers for week in weeks),
        "colors": {"ink": INK, "muted": MUTED_INK, "grid": GRID, "bar": BAR},
    }


def _short(name: str, limit: int = 15) -> str:
    """A name cut to fit its label, isolated (FSI … PDI) so that it reads in
    its own direction whatever the page's: "Esther Lindqvi…" on an Arabic
    page, not "…Esther Lindqvi"."""
    short = name if len(name) <= limit else name[: limit - 1].rstrip() + "…"
    return f"\u2068{short}\u2069"


@register.inclusion_tag("requests_app/_chart_load.html")
def load_chart(intercessors) -> dict:
    """A bar per intercessor: what they carry now, on a light track as long
    as their capacity, with a dark mark at the capacity itself."""
    row_height, top, label_right, bar_left, bar_right = 30, 6, 122, 130, 336
    scale_top = max([1, *(member.load for member in intercessors), *(member.capacity for member in intercessors)])
    unit = (bar_right - bar_left) / scale_top
    axis = Axis()
    rows = []
    for number, member in enumerate(intercessors):
        middle = top + row_height * number + row_height / 2
        rows.append(
            {
                "member": member,
                "name": _short(member.get_full_name() or member.get_username()),
                "y": round(middle, 1),
                "bar_y": round(middle - 7, 1),
                "mark_top": round(middle - 10, 1),
                "mark_bottom": round(middle + 10, 1),
                "load_x": axis.left_edge(bar_left, member.load * unit),
                "load_width": round(member.load * unit, 1),
                "track_x": axis.left_edge(bar_left, member.capacity * unit),
                "track_width": round(member.capacity * unit, 1),
                "capacity_x": axis.x(bar_left + member.capacity * unit),
                "over": member.load > member.capacity,
            }
        )
    return {
        "rows": rows,
        "width": WIDTH,
        "height": top * 2 + row_height * len(rows),
        "direction": axis.direction,
        "label_right": axis.x(label_right),
        "value_x": axis.x(bar_right + 8),
        # The capacity mark in the legend's 14-wide swatch, near its far end.
        "legend_mark_x": 2 if axis.rtl else 12,
        "over_count": sum(row["over"] for row in rows),
        "colors": {"ink": INK, "muted": MUTED_INK, "bar": BAR, "over": OVER_CAPACITY, "track": TRACK},
    }


@register.filter
def human_duration(duration: timedelta | None) -> str:
    """ "12 minutes", "5 hours", "3 days": one unit, rounded, as people say it."""
    if duration is None:
        return ""
    minutes = duration.total_seconds() / 60
    if minutes < 1:
        return _("less than a minute")
    if minutes < 59.5:
        count = round(minutes)
        return ngettext("%(count)d minute", "%(count)d minutes", count) % {"count": count}
    hours = minutes / 60
    if hours < 47.5:
        count = round(hours)
        return ngettext("%(count)d hour", "%(count)d hours", count) % {"count": count}
    count = round(hours / 24)
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}
