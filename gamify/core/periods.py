"""Local calendar periods for per-customer limits and daily budgets.

A "day" is the campaign's local day, so a shopper in Madrid gets a new play at local midnight,
including on the 23- and 25-hour days of daylight-saving changes. All inputs and outputs are
aware datetimes; keys are plain strings so they can be stored and compared anywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gamify.core.rules import Period


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def local_midnight(day: date, timezone: str) -> datetime:
    """The start of a local day, in UTC; DST days are 23 or 25 hours long, never skipped."""
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)


def period_key(moment: datetime, timezone: str, per: Period) -> str:
    """``2026-11-27`` for a day, the ISO week's Monday ``W2026-11-23`` for a week, else ``all``."""
    if per == "campaign":
        return "all"
    day = local_date(moment, timezone)
    if per == "day":
        return day.isoformat()
    return "W" + (day - timedelta(days=day.weekday())).isoformat()


def period_end(moment: datetime, timezone: str, per: Period) -> datetime | None:
    """When the period holding ``moment`` ends (UTC), i.e. when a limit on it resets."""
    if per == "campaign":
        return None
    day = local_date(moment, timezone)
    days = 1 if per == "day" else 7 - day.weekday()
    return local_midnight(day + timedelta(days=days), timezone)
