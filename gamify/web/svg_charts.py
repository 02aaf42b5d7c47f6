"""Charts for the admin pages, drawn on the server as inline SVG.

The admin pages must read without JavaScript and pass axe-core, so there is no chart library:
each chart is one ``<svg role="img">`` named by its own ``<title>`` and ``<desc>``, the pattern
screen readers announce reliably. Assistive technology treats the drawing inside as a picture,
so ``description`` must carry the gist; the per-mark ``<title>`` tooltips are for sighted mouse
users. Labels come from campaign YAML that marketers write, so every piece of text is escaped
here, not in the templates. Output is deterministic so pages cache and snapshot-test cleanly.

Coordinates live in a fixed ``viewBox`` and the SVG is ``width="100%"``: it scales down on a
phone (text with it) instead of overflowing. Text widths are estimated, not measured (the server
has no fonts), so the estimate errs on the wide side.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Bar", "Interval", "bar_chart", "column_chart", "interval_chart"]

WIDTH = 480  # drawn at about this width on a laptop, so 12 is about 12 px
FONT_SIZE = 12
MAX_LABEL = 24  # characters drawn; the tooltip keeps the whole label
MAX_X_LABELS = 12
MIN_PLOT = 240  # a chart with long labels grows wider rather than squeezing its bars
MAX_ABS = 1e15  # beyond money and counts; keeps the tick arithmetic exact in floats
TEXT = "#1f2937"  # 14.7:1 on white
BAR = "#1d4ed8"  # 6.7:1 on white, well above the 3:1 that graphics need
GRID = "#d1d5db"  # decoration only: lighter than the data on purpose
ROW = 28  # height of a row in the horizontal charts

_ID = re.compile(r"[a-z][a-z0-9-]*")
# Characters XML 1.0 forbids even escaped: one of them in a label would break the whole page.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    note: str = ""  # extra text for the tooltip only


@dataclass(frozen=True)
class Interval:
    label: str
    estimate: float
    low: float
    high: float


def _count(value: float) -> str:
    """The default, because most of these charts count plays, awards or customers."""
    return f"{round(value):,}"


def column_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    description: str,
    show: Callable[[float], str] = _count,
) -> Markup:
    """Vertical bars for a series over time (plays per day). With many bars only every n-th
    x label is drawn, so labels never overlap; each bar keeps its own tooltip."""
    _check_names(chart_id, title)
    values = [_value(bar.value, minimum=0.0) for bar in bars]
    height = 300
    if not any(values):
        return _empty(chart_id, title, description, WIDTH, height)
    ticks = _nice_ticks(0.0, max(values), whole=_whole(values))
    labels = [_short(bar.label) for bar in bars]
    label_w = max(_width(label) for label in labels)
    left = max(max(_width(show(t)) for t in ticks) + 12, label_w / 2 + 4)
    right = WIDTH - max(16, label_w / 2 + 4)
    top, bottom = 12.0, height - 32.0
    y = _scale(ticks[0], ticks[-1], bottom, top)
    slot = (right - left) / len(bars)
    # Thin the labels by count (a glance needs few) and by width (they must not touch).
    every = max(math.ceil(len(bars) / MAX_X_LABELS), math.ceil((label_w + 4) / slot))
    bar_w = min(slot * 0.8, 48.0)
    parts = []
    for tick in ticks:
        parts.append(_text(left - 6, y(tick) + 4, show(tick), "chart-tick", "end"))
        if tick != ticks[0]:
            parts.append(_line(left, y(tick), right, y(tick), GRID, "chart-grid"))
    for i, (bar, value) in enumerate(zip(bars, values, strict=True)):
        centre = left + slot * (i + 0.5)
        parts.append(_rect(centre - bar_w / 2, y(value), bar_w, bottom - y(value), bar, show))
        if i % every == 0:
            parts.append(_text(centre, bottom + 18, labels[i], "chart-label", "middle"))
    parts.append(_line(left, bottom, right, bottom, TEXT, "chart-axis"))
    return _svg(chart_id, title, description, WIDTH, height, parts)


def bar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    description: str,
    show: Callable[[float], str] = _count,
) -> Markup:
    """Horizontal bars for categories (awards per prize, a challenge's funnel): long labels read
    on the left, rows keep the caller's order, and each value is written at its bar's end so
    nobody has to read it off the axis."""
    _check_names(chart_id, title)
    values = [_value(bar.value, minimum=0.0) for bar in bars]
    if not any(values):
        return _empty(chart_id, title, description, WIDTH, ROW * max(len(bars), 1) + 40)
    ticks = _nice_ticks(0.0, max(values), whole=_whole(values))
    labels = [_short(bar.label) for bar in bars]
    shown = [show(value) for value in values]
    left = max(_width(label) for label in labels) + 16
    room = max(max(_width(s) for s in shown) + 16, _width(show(ticks[-1])) / 2 + 8)
    width = max(WIDTH, left + MIN_PLOT + room)
    top, bottom = 8.0, 8.0 + ROW * len(bars)
    x = _scale(ticks[0], ticks[-1], left, width - room)
    parts = _vertical_ticks(ticks, x, top, bottom, show)
    for i, (bar, value) in enumerate(zip(bars, values, strict=True)):
        middle = top + ROW * (i + 0.5)
        parts.append(_rect(left, middle - 9, x(value) - left, 18, bar, show))
        parts.append(_text(left - 8, middle + 4, labels[i], "chart-label", "end"))
        parts.append(_text(x(value) + 6, middle + 4, shown[i], "chart-value"))
    parts.append(_line(left, top, left, bottom, TEXT, "chart-axis"))
    return _svg(chart_id, title, description, width, bottom + 28, parts)


def interval_chart(
    rows: Sequence[Interval],
    *,
    chart_id: str,
    title: str,
    description: str,
    show: Callable[[float], str] = _count,
) -> Markup:
    """A forest plot of uplifts with their intervals. The scale always includes 0 and the zero
    line is drawn dashed and labelled, because the question a reader brings is whether the
    interval crosses 0; the numbers are written out too, so the answer never rests on the eye."""
    _check_names(chart_id, title)
    for row in rows:
        low, high = _value(row.low), _value(row.high)
        _value(row.estimate)
        if low > high:
            raise ValueError(f"interval {row.label!r} has low {low} above high {high}")
    if not rows:
        return _empty(chart_id, title, description, WIDTH, ROW + 40)
    numbers = [n for row in rows for n in (row.estimate, row.low, row.high)]
    ticks = _nice_ticks(min(0.0, *numbers), max(0.0, *numbers), whole=_whole(numbers))
    labels = [_short(row.label) for row in rows]
    shown = [f"{show(r.estimate)} ({show(r.low)} to {show(r.high)})" for r in rows]
    left = max(max(_width(label) for label in labels) + 16, _width(show(ticks[0])) / 2 + 8)
    room = max(max(_width(s) for s in shown) + 16, _width(show(ticks[-1])) / 2 + 8)
    width = max(WIDTH, left + MIN_PLOT + room)
    top, bottom = 8.0, 8.0 + ROW * len(rows)
    x = _scale(ticks[0], ticks[-1], left, width - room)
    parts = _vertical_ticks(ticks, x, top, bottom, show)
    parts.append(
        f'<line class="chart-zero" x1="{_num(x(0))}" y1="{_num(top - 4)}" x2="{_num(x(0))}" '
        f'y2="{_num(bottom)}" stroke="{TEXT}" stroke-dasharray="4 3"/>'
    )
    for i, row in enumerate(rows):
        mid, lo, hi = top + ROW * (i + 0.5), x(row.low), x(row.high)
        parts.append(
            f'<g class="chart-interval"><title>{_tip(row.label, shown[i])}</title>'
            + _line(lo, mid, hi, mid, BAR, "chart-range", 2)
            + _line(lo, mid - 5, lo, mid + 5, BAR, "chart-cap", 2)
            + _line(hi, mid - 5, hi, mid + 5, BAR, "chart-cap", 2)
            + f'<circle class="chart-estimate" cx="{_num(x(row.estimate))}" cy="{_num(mid)}" '
            f'r="4.5" fill="{BAR}"/></g>'
        )
        parts.append(_text(left - 8, mid + 4, labels[i], "chart-label", "end"))
        parts.append(_text(width - room + 8, mid + 4, shown[i], "chart-value"))
    parts.append(_line(left, bottom, width - room, bottom, TEXT, "chart-axis"))
    return _svg(chart_id, title, description, width, bottom + 28, parts)


def _nice_ticks(low: float, high: float, *, whole: bool) -> list[float]:
    """Steps of 1, 2 or 5 × 10^k read at a glance, and 3 to 5 of them label an axis without
    crowding it. The ticks are multiples of the step, so a range that holds 0 has a 0 tick.
    Whole-number data gets whole-number steps: a count axis must not read 0.5 plays."""
    if high <= low:
        high = low + 1.0
    exponent = max(math.floor(math.log10(high - low)) - 2, 0 if whole else -6)
    while True:
        for mantissa in (1, 2, 5):
            step = mantissa * 10.0**exponent
            first, last = math.floor(low / step), math.ceil(high / step)
            if last - first <= 4:
                last = max(last, first + 2)
                # Rounded, so that 3 × 0.1 is the 0.3 a label shows, not 0.30000000000000004.
                return [round(i * step, max(0, -exponent)) + 0.0 for i in range(first, last + 1)]
        exponent += 1


def _vertical_ticks(
    ticks: list[float],
    x: Callable[[float], float],
    top: float,
    bottom: float,
    show: Callable[[float], str],
) -> list[str]:
    parts = []
    for tick in ticks:
        parts.append(
            _text(x(tick), bottom + 18, "0" if tick == 0 else show(tick), "chart-tick", "middle")
        )
        if tick != 0:
            parts.append(_line(x(tick), top, x(tick), bottom, GRID, "chart-grid"))
    return parts


def _check_names(chart_id: str, title: str) -> None:
    """The id is written unescaped into ``id`` and ``aria-labelledby`` (it must also be unique on
    the page), and a blank title would leave the image without an accessible name."""
    if not _ID.fullmatch(chart_id):
        raise ValueError(f"chart_id must match [a-z][a-z0-9-]*, got {chart_id!r}")
    if not _clean(title).strip():
        raise ValueError("a chart needs a title: it is the image's accessible name")


def _value(value: float, *, minimum: float = -MAX_ABS) -> float:
    if not math.isfinite(value) or not minimum <= value <= MAX_ABS:
        raise ValueError(f"cannot draw the value {value!r}: outside [{minimum:g}, {MAX_ABS:g}]")
    return float(value)


def _whole(values: Sequence[float]) -> bool:
    return all(float(v).is_integer() for v in values)


def _scale(d0: float, d1: float, p0: float, p1: float) -> Callable[[float], float]:
    return lambda v: p0 + (v - d0) / (d1 - d0) * (p1 - p0)


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _short(label: str) -> str:
    text = _clean(label)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1].rstrip() + "…"


def _width(text: str) -> float:
    """Wide (East Asian) characters take a full em, others a generous average of 0.6 em."""
    wide = sum(unicodedata.east_asian_width(c) in "WF" for c in text)
    return (wide + (len(text) - wide) * 0.6) * FONT_SIZE


def _num(value: float) -> str:
    """Fixed decimals: ``repr`` would write 1e-05, and -0.0 would make equal charts differ."""
    return f"{round(value, 2) + 0.0:.2f}".rstrip("0").rstrip(".")


def _tip(label: str, shown: str, note: str = "") -> Markup:
    return escape(_clean(f"{label}: {shown}" + (f" — {note}" if note else "")))


def _text(x: float, y: float, content: str, cls: str, anchor: str = "start") -> str:
    return (
        f'<text class="{cls}" x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}">'
        f"{escape(_clean(content))}</text>"
    )


def _line(
    x1: float, y1: float, x2: float, y2: float, stroke: str, cls: str, thick: float = 1
) -> str:
    return (
        f'<line class="{cls}" x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
        f'stroke="{stroke}" stroke-width="{_num(thick)}"/>'
    )


def _rect(x: float, y: float, w: float, h: float, bar: Bar, show: Callable[[float], str]) -> str:
    return (
        f'<rect class="chart-bar" x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" '
        f'height="{_num(h)}" fill="{BAR}"><title>{_tip(bar.label, show(bar.value), bar.note)}'
        "</title></rect>"
    )


def _empty(chart_id: str, title: str, description: str, width: float, height: float) -> Markup:
    """An empty chart still names itself, so the page reads the same with or without data."""
    no_data = _text(width / 2, height / 2 + 4, "no data", "chart-empty", "middle")
    return _svg(chart_id, title, description, width, height, [no_data])


def _svg(
    chart_id: str, title: str, description: str, width: float, height: float, parts: list[str]
) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" font-family="system-ui, sans-serif" '
        f'font-size="{FONT_SIZE}" fill="{TEXT}">'
        f'<title id="{chart_id}-title">{escape(_clean(title))}</title>'
        f'<desc id="{chart_id}-desc">{escape(_clean(description))}</desc>'
    )
    return Markup("\n".join([head, *parts, "</svg>"]))
