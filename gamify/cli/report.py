"""How ``gamify report`` shows a report: a table for a terminal, JSON (CONTRACT §11), or CSV
(one row per group, for a spreadsheet)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from gamify.core.kpis import Uplift
from gamify.services.report import Report

# (label, key, how the value is shown)
_ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("customers assigned", "customers", lambda v: f"{v:,}"),
    ("retention (E - N) / S", "retention", lambda v: _percent(v)),
    ("repeat rate", "repeat_rate", lambda v: _percent(v)),
    ("orders per ordering customer", "frequency", lambda v: _number(v, 2)),
    ("average order value", "aov", lambda v: _number(v, 2)),
    ("revenue per customer", "revenue_per_customer", lambda v: _number(v, 2)),
    ("prizes awarded", "prizes", lambda v: f"{v:,}"),
    ("value of prizes", "prize_value", lambda v: _number(v, 2)),
    ("coupons redeemed", "coupons_redeemed", lambda v: f"{v:,}"),
    ("redemption rate", "redemption_rate", lambda v: _percent(v)),
)


def render(made: Report, shape: str) -> str:
    if shape == "json":
        return json.dumps(made.as_json(), indent=2, ensure_ascii=False)
    if shape == "csv":
        return made.as_csv()
    return _text(made)


def _text(made: Report) -> str:
    names = list(made.groups)
    lines = [
        f"{made.campaign.id}: {_day(made.first)} to {_day(made.last)} ({made.campaign.timezone}),"
        f" compared with {_day(made.before_first)} to {_day(made.before_last)}",
        "",
        f"{'':30}" + "".join(f"{name:>14}" for name in names),
    ]
    for label, key, show in _ROWS:
        cells = []
        for name in names:
            value = made.groups[name].as_json()[key]
            cells.append(f"{'-' if value is None else show(value):>14}")
        lines.append(f"{label:30}" + "".join(cells))
    lines.append("")
    if made.retention is None or made.revenue_per_customer is None:
        lines.append("No holdout group: " + _no_holdout_hint())
        return "\n".join(lines)
    lines.append("Uplift of treatment over holdout, with its 95 % interval:")
    lines.append(_uplift("retention", made.retention, percent=True))
    lines.append(_uplift("revenue per customer", made.revenue_per_customer, percent=False))
    return "\n".join(lines)


def _uplift(label: str, uplift: Uplift, *, percent: bool) -> str:
    def show(value: float) -> str:
        return f"{value * 100:+.1f} points" if percent else f"{value:+.2f}"

    if uplift.diff is None or uplift.ci95 is None:
        return f"  {label:22} -  {uplift.note}"
    low, high = uplift.ci95
    if not uplift.enough_data:
        verdict = uplift.note
    elif uplift.conclusive:
        verdict = "a clear difference"
    else:
        verdict = "no clear difference (the interval holds 0)"
    return (
        f"  {label:22} {show(uplift.diff)} (95 % interval {show(low)} to {show(high)}): {verdict}"
    )


def _no_holdout_hint() -> str:
    return (
        "these are the figures of the customers the campaign saw; to show what it changed, "
        "give the next campaign a holdout (holdout: 10)."
    )


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def _number(value: float, places: int) -> str:
    return f"{value:,.{places}f}"


def _day(day: date) -> str:
    return day.isoformat()
