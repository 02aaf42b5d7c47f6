"""The admin pages' SVG charts: well-formed XML whatever the labels say, named for assistive
technology, one tooltip per mark, labels that never overlap, nice axis ticks, a forest plot whose
scale always shows 0, and every mark inside its plot area."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from gamify.web.svg_charts import Bar, Interval, bar_chart, column_chart, interval_chart

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = ["</svg><script>alert(1)</script>", '"onload="x', "a & b <c> 'd'"]
NUMBER = re.compile(r"-?\d+(\.\d{1,2})?")
GEOMETRY = {"x", "y", "width", "height", "x1", "y1", "x2", "y2", "cx", "cy", "r"}


class Names(TypedDict):
    chart_id: str
    title: str
    description: str


NAMES = Names(chart_id="plays", title="Plays per day", description="Plays rose in May.")


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    root = ET.fromstring(str(svg))
    assert root.tag == f"{NS}svg"
    return root


def of_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if e.get("class") == cls]


def num(element: ET.Element, attribute: str) -> float:
    return float(element.attrib[attribute])


def tooltip(element: ET.Element) -> str | None:
    title = element.find(f"{NS}title")
    return None if title is None else title.text


def tick_values(root: ET.Element) -> list[float]:
    """The ticks' labels, read back as numbers (the charts are drawn with ``show=repr``)."""
    return [float(t.text or "") for t in of_class(root, "chart-tick")]


def assert_nice(ticks: list[float]) -> None:
    assert 3 <= len(ticks) <= 5
    steps = [b - a for a, b in itertools.pairwise(ticks)]
    step = steps[0]
    assert all(math.isclose(s, step, rel_tol=1e-9) for s in steps)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m, rel_tol=1e-9) for m in (1, 2, 5))
    assert all(math.isclose(t / step, round(t / step), abs_tol=1e-6) for t in ticks)


def assert_fixed_decimals(root: ET.Element) -> None:
    """Coordinates are written with at most 2 decimals: never 1e-05, never -0."""
    for element in root.iter():
        for name in GEOMETRY & set(element.attrib) if element is not root else ():
            value = element.attrib[name]
            assert NUMBER.fullmatch(value) and value != "-0", (name, value)


def all_charts(label: str = "Spring", title: str = NAMES["title"], text: str = "") -> list[Markup]:
    names = Names(chart_id="plays", title=title, description=text or NAMES["description"])
    return [
        column_chart([Bar(label, 3), Bar("b", 5)], **names),
        bar_chart([Bar(label, 3), Bar("b", 5)], **names),
        interval_chart([Interval(label, 1.5, -0.5, 3.0)], **names),
        column_chart([], **names),
        bar_chart([Bar(label, 0)], **names),
        interval_chart([], **names),
    ]


@pytest.mark.parametrize("svg", all_charts(), ids=["col", "bar", "int", "col0", "bar0", "int0"])
def test_every_chart_is_an_image_named_by_its_own_title_and_description(svg: Markup) -> None:
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "plays-title plays-desc"
    title, desc = list(root)[:2]
    assert (title.tag, title.get("id"), title.text) == (f"{NS}title", "plays-title", NAMES["title"])
    assert (desc.tag, desc.get("id"), desc.text) == (
        f"{NS}desc",
        "plays-desc",
        NAMES["description"],
    )
    assert root.get("width") == "100%"
    assert root.get("preserveAspectRatio") == "xMinYMin meet"
    assert "height" not in root.attrib
    assert re.fullmatch(r"0 0 \d+(\.\d+)? \d+(\.\d+)?", root.get("viewBox", ""))
    assert root.get("font-family") == "system-ui, sans-serif"
    assert root.get("fill") == "#1f2937"
    assert_fixed_decimals(root)


def test_each_column_has_its_rect_and_tooltip_in_order() -> None:
    bars = [Bar("Mon", 1200), Bar("Tue", 0), Bar("Wed", 37, note="newsletter sent")]
    root = parse(column_chart(bars, **NAMES))
    rects = of_class(root, "chart-bar")
    assert [tooltip(r) for r in rects] == ["Mon: 1,200", "Tue: 0", "Wed: 37 — newsletter sent"]
    assert [r.get("fill") for r in rects] == ["#1d4ed8"] * 3
    assert num(rects[0], "x") < num(rects[1], "x") < num(rects[2], "x")
    assert num(rects[0], "height") > num(rects[2], "height") > num(rects[1], "height") == 0
    assert [t.text for t in of_class(root, "chart-label")] == ["Mon", "Tue", "Wed"]
    assert [line.get("stroke") for line in of_class(root, "chart-grid")] == ["#d1d5db"] * 3


def test_horizontal_bars_keep_the_given_order_and_write_the_value_at_the_end() -> None:
    funnel = [Bar("Started", 900), Bar("Half way", 400), Bar("Completed", 120)]
    root = parse(bar_chart(funnel, show=lambda v: f"{v:,.0f} customers", **NAMES))
    rects = of_class(root, "chart-bar")
    values = of_class(root, "chart-value")
    labels = of_class(root, "chart-label")
    assert [t.text for t in labels] == ["Started", "Half way", "Completed"]
    assert [t.text for t in values] == ["900 customers", "400 customers", "120 customers"]
    assert [tooltip(r) for r in rects] == [f"{b.label}: {b.value} customers" for b in funnel]
    assert num(rects[0], "y") < num(rects[1], "y") < num(rects[2], "y")
    assert num(rects[0], "width") > num(rects[1], "width") > num(rects[2], "width")
    for rect, value, label in zip(rects, values, labels, strict=True):
        assert num(value, "x") > num(rect, "x") + num(rect, "width")
        assert num(label, "x") < num(rect, "x")
        assert label.get("text-anchor") == "end"


def test_a_bar_chart_grows_taller_with_its_rows() -> None:
    def height(rows: int) -> float:
        svg = bar_chart([Bar(f"prize {i}", i + 1) for i in range(rows)], **NAMES)
        return float(parse(svg).attrib["viewBox"].split()[3])

    assert height(1) < height(5) < height(20)
    assert height(20) - height(10) == pytest.approx(2 * (height(10) - height(5)))


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_text_comes_out_inert(label: str) -> None:
    for svg in all_charts(label, title=label, text=label):
        root = parse(svg)
        assert not [e for e in root.iter() if "script" in e.tag]
        assert not [e for e in root.iter() if any(a.startswith("on") for a in e.attrib)]
        assert root.find(f"{NS}title").text == label  # type: ignore[union-attr]
        assert "<script" not in str(svg) and 'onload="' not in str(svg)
    assert "&lt;/svg&gt;&lt;script&gt;" in str(column_chart([Bar(HOSTILE[0], 1)], **NAMES))
    assert "&#34;onload=&#34;x" in str(bar_chart([Bar(HOSTILE[1], 1)], **NAMES))


def test_long_labels_are_shortened_in_the_drawing_but_whole_in_the_tooltip() -> None:
    long = "Free shipping on every order for a whole year"
    for svg in (column_chart([Bar(long, 2)], **NAMES), bar_chart([Bar(long, 2)], **NAMES)):
        root = parse(svg)
        (drawn,) = of_class(root, "chart-label")
        assert drawn.text is not None and drawn.text.endswith("…") and len(drawn.text) <= 24
        assert long.startswith(drawn.text[:-1])
        assert tooltip(of_class(root, "chart-bar")[0]) == f"{long}: 2"
    root = parse(interval_chart([Interval(long, 1, 0, 2)], **NAMES))
    assert (
        of_class(root, "chart-label")[0].text
        == of_class(parse(bar_chart([Bar(long, 2)], **NAMES)), "chart-label")[0].text
    )
    assert (tooltip(of_class(root, "chart-interval")[0]) or "").startswith(long + ": ")


def test_ninety_days_draw_ninety_bars_but_at_most_twelve_labels_that_do_not_touch() -> None:
    days = [Bar(f"2025-{1 + i // 30:02d}-{1 + i % 30:02d}", (i * 37) % 101) for i in range(90)]
    root = parse(column_chart(days, **NAMES))
    rects = of_class(root, "chart-bar")
    assert [tooltip(r) for r in rects] == [f"{d.label}: {d.value:.0f}" for d in days]
    labels = of_class(root, "chart-label")
    assert 3 <= len(labels) <= 12
    assert labels[0].text == "2025-01-01"
    centres = [num(t, "x") for t in labels]
    gaps = [b - a for a, b in itertools.pairwise(centres)]
    assert min(gaps) >= 10 * 0.6 * 12  # ten characters at a generous 0.6 em each
    assert len({round(g, 1) for g in gaps}) == 1


@pytest.mark.parametrize("chart", [column_chart, bar_chart])
@pytest.mark.parametrize("bars", [[], [Bar("a", 0), Bar("b", 0.0)]], ids=["empty", "zeros"])
def test_no_data_draws_an_empty_but_named_chart(
    chart: Callable[..., Markup], bars: list[Bar]
) -> None:
    root = parse(chart(bars, **NAMES))
    assert [t.text for t in of_class(root, "chart-empty")] == ["no data"]
    assert not of_class(root, "chart-bar")
    assert root.find(f"{NS}title") is not None and root.find(f"{NS}desc") is not None


def test_an_empty_forest_plot_says_so() -> None:
    root = parse(interval_chart([], **NAMES))
    assert [t.text for t in of_class(root, "chart-empty")] == ["no data"]


@pytest.mark.parametrize("chart", [column_chart, bar_chart])
@pytest.mark.parametrize("value", [-1, -1e-9, math.nan, math.inf, -math.inf, 1e300])
def test_values_that_cannot_be_drawn_are_refused(
    chart: Callable[..., Markup], value: float
) -> None:
    with pytest.raises(ValueError):
        chart([Bar("ok", 1), Bar("bad", value)], **NAMES)


@pytest.mark.parametrize(
    "row",
    [Interval("a", math.nan, 0, 1), Interval("a", 0, -math.inf, 1), Interval("a", 0, 1, -1)],
)
def test_intervals_that_cannot_be_drawn_are_refused(row: Interval) -> None:
    with pytest.raises(ValueError):
        interval_chart([row], **NAMES)


@pytest.mark.parametrize("chart_id", ["", "Plays", "1st", "a b", "a_b", 'a"b', "plays\n"])
def test_a_chart_id_that_is_not_a_plain_id_is_refused(chart_id: str) -> None:
    for chart in (column_chart, bar_chart):
        with pytest.raises(ValueError, match="chart_id"):
            chart([Bar("a", 1)], chart_id=chart_id, title="t", description="d")
    with pytest.raises(ValueError, match="chart_id"):
        interval_chart([], chart_id=chart_id, title="t", description="d")


@pytest.mark.parametrize("title", ["", "  ", "\x00"])
def test_a_chart_without_a_title_is_refused(title: str) -> None:
    with pytest.raises(ValueError, match="title"):
        bar_chart([Bar("a", 1)], chart_id="plays", title=title, description="d")


def test_the_forest_plot_shows_zero_even_when_every_interval_is_above_it() -> None:
    rows = [Interval("Retention", 4.2, 1.5, 6.9), Interval("Revenue", 12.0, 8.0, 16.5)]

    def show(value: float) -> str:
        return f"{value:+.1f} pp"

    root = parse(interval_chart(rows, show=show, **NAMES))
    (zero,) = of_class(root, "chart-zero")
    assert zero.get("stroke-dasharray") and zero.get("x1") == zero.get("x2")
    ticks = of_class(root, "chart-tick")
    zero_tick = [t for t in ticks if t.text == "0"]
    assert len(zero_tick) == 1 and num(zero_tick[0], "x") == num(zero, "x1")
    assert [t.text for t in ticks][-1] == "+20.0 pp"
    assert [t.text for t in of_class(root, "chart-value")] == [
        "+4.2 pp (+1.5 pp to +6.9 pp)",
        "+12.0 pp (+8.0 pp to +16.5 pp)",
    ]
    for group, row in zip(of_class(root, "chart-interval"), rows, strict=True):
        (line,) = of_class(group, "chart-range")
        (point,) = of_class(group, "chart-estimate")
        assert num(zero, "x1") < num(line, "x1") < num(point, "cx") < num(line, "x2")
        assert tooltip(group) == f"{row.label}: {show(row.estimate)} ({show(row.low)} to " + (
            f"{show(row.high)})"
        )


def test_an_interval_across_zero_is_drawn_across_the_zero_line() -> None:
    root = parse(interval_chart([Interval("AOV", 0.8, -1.25, 2.5)], show=repr, **NAMES))
    (zero,) = of_class(root, "chart-zero")
    (line,) = of_class(root, "chart-range")
    assert num(line, "x1") < num(zero, "x1") < num(line, "x2")
    ticks = tick_values(root)
    assert_nice(ticks)
    assert ticks[0] <= -1.25 and ticks[-1] >= 2.5 and 0.0 in ticks


@settings(max_examples=60, deadline=None)
@given(top=st.floats(min_value=1e-6, max_value=1e12), whole=st.booleans())
def test_axis_ticks_are_nice_and_cover_the_data(top: float, whole: bool) -> None:
    top = float(math.ceil(top)) if whole else top
    third = top // 3 if whole else top / 3
    root = parse(bar_chart([Bar("a", third), Bar("b", top)], show=repr, **NAMES))
    ticks = tick_values(root)
    assert_nice(ticks)
    assert ticks[0] == 0 and ticks[-1] >= top
    if whole:
        assert all(t == int(t) for t in ticks)


def test_count_axes_use_whole_ticks() -> None:
    root = parse(column_chart([Bar("only", 1)], **NAMES))
    assert [t.text for t in of_class(root, "chart-tick")] == ["0", "1", "2"]


def test_the_same_input_gives_the_same_string() -> None:
    def draw() -> list[str]:
        days = [Bar(f"d{i}", i * 0.1) for i in range(40)]
        return [
            str(column_chart(days, **NAMES)),
            str(bar_chart(days[:5], **NAMES)),
            str(interval_chart([Interval("x", 1e-5, -3e-5, 2e-5)], **NAMES)),
        ]

    assert draw() == draw()
    for svg in draw():
        assert_fixed_decimals(ET.fromstring(svg))


def plot_box(root: ET.Element) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the plot: the axis line and the farthest gridline."""
    (axis,) = of_class(root, "chart-axis")
    grid = of_class(root, "chart-grid")
    if num(axis, "y1") == num(axis, "y2"):  # columns: a horizontal baseline
        return num(axis, "x1"), min(num(g, "y1") for g in grid), num(axis, "x2"), num(axis, "y1")
    return num(axis, "x1"), num(axis, "y1"), max(num(g, "x1") for g in grid), num(axis, "y2")


values = st.one_of(st.floats(min_value=0, max_value=1e12), st.integers(0, 10**9).map(float))


@settings(max_examples=80, deadline=None)
@given(
    bars=st.lists(st.tuples(st.text(max_size=40), values), max_size=120),
    horizontal=st.booleans(),
)
def test_any_data_and_any_labels_parse_and_stay_inside_the_plot(
    bars: list[tuple[str, float]], horizontal: bool
) -> None:
    chart = bar_chart if horizontal else column_chart
    root = parse(chart([Bar(label, value) for label, value in bars], **NAMES))
    rects = of_class(root, "chart-bar")
    if not any(value for _, value in bars):
        assert not rects and of_class(root, "chart-empty")
        return
    assert len(rects) == len(bars)
    left, top, right, bottom = plot_box(root)
    slack = 0.011  # each coordinate is rounded to 2 decimals on its own
    for rect in rects:
        x, y, w, h = (num(rect, a) for a in ("x", "y", "width", "height"))
        assert w >= 0 and h >= 0
        assert left - slack <= x and x + w <= right + slack
        assert top - slack <= y and y + h <= bottom + slack
        assert tooltip(rect)
