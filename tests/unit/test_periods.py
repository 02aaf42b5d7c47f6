"""Local days and weeks in the campaign's timezone, right across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamify.core.periods import period_end, period_key

MADRID = "Europe/Madrid"


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        ("2026-10-25", 25),  # last Sunday of October: clocks go back, a 25-hour day
        ("2027-03-28", 23),  # last Sunday of March: clocks go forward, a 23-hour day
        ("2026-11-27", 24),
    ],
)
def test_a_madrid_day_lasts_from_local_midnight_to_local_midnight(day: str, hours: int) -> None:
    start = datetime.fromisoformat(f"{day}T00:00:00+00:00")
    # the day starts at local midnight, which is 22:00 or 23:00 UTC the evening before
    local_midnight = next(
        start - timedelta(hours=h)
        for h in (1, 2)
        if period_key(start - timedelta(hours=h), MADRID, "day") == day
        and period_key(start - timedelta(hours=h + 1), MADRID, "day") != day
    )
    end = period_end(local_midnight, MADRID, "day")
    assert end is not None
    assert end - local_midnight == timedelta(hours=hours)
    assert period_key(end - timedelta(microseconds=1), MADRID, "day") == day
    assert period_key(end, MADRID, "day") != day


def test_weeks_run_monday_to_sunday_local_and_campaign_never_ends() -> None:
    sunday_late = datetime(2026, 11, 29, 22, 59, tzinfo=UTC)  # 23:59 in Madrid, Sunday
    monday = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # 00:00 in Madrid, Monday
    assert period_key(sunday_late, MADRID, "week") == "W2026-11-23"
    assert period_key(monday, MADRID, "week") == "W2026-11-30"
    assert period_end(sunday_late, MADRID, "week") == monday
    assert period_key(monday, MADRID, "campaign") == "all"
    assert period_end(monday, MADRID, "campaign") is None


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
)
def test_a_moment_is_always_before_the_end_of_its_period(moment: datetime) -> None:
    for per in ("day", "week"):
        end = period_end(moment, MADRID, per)  # type: ignore[arg-type]
        assert end is not None and moment < end <= moment + timedelta(days=7, hours=1)
        assert period_key(end, MADRID, per) != period_key(moment, MADRID, per)  # type: ignore[arg-type]
