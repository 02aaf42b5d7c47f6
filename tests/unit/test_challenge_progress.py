"""The pure side of challenges: windows and periods in the challenge's time zone (DST included),
and progress that ends where the orders' net totals say, whatever order and batches the paid
events and their refunds arrive in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from fakes import MemoryGuests, MemoryLog, MemoryPlays, MemoryProgress, NoReports
from hypothesis import given, settings
from hypothesis import strategies as st

from gamify.campaigns.loader import parse_campaign
from gamify.core.challenge import UNITS, Challenge
from gamify.core.progress import ChallengeIndex
from gamify.services.service import Service

NOW = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
CHALLENGE = """\
id: spend
game: challenge
title: Spend
timezone: Europe/Madrid
starts: 2026-01-01T00:00:00
ends: 2027-01-01T00:00:00
steps:
  - id: total
    label: Spend
    event: order.paid
    sum: total
    target: 100000
  - id: big
    label: Big orders
    event: order.paid
    where: {min_total: 20}
    count: 1000
  - id: daily
    label: One a day
    event: order.paid
    count: 1000
    at_most: {times: 1, per: day}
repeat: {repeat}
reward: {label: Gift}
"""


def challenge(repeat: str = "never") -> Challenge:
    found = parse_campaign(CHALLENGE.replace("{repeat}", repeat), folder=Path.cwd())
    assert isinstance(found, Challenge)
    return found


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_weekly_windows_start_on_local_mondays_across_the_change_of_time() -> None:
    weekly = challenge("week")
    # Sunday 25 October 2026, 23:30 in Madrid: summer time ended that morning (UTC+1)
    window = weekly.window(utc("2026-10-25T23:30:00+01:00"))
    assert window is not None and window.key == "W2026-10-19"
    assert window.starts == utc("2026-10-19T00:00:00+02:00")
    assert window.ends == utc("2026-10-26T00:00:00+01:00")
    assert window.ends - window.starts == timedelta(days=7, hours=1)  # the 25-hour day
    after = weekly.window(utc("2026-10-26T00:00:00+01:00"))
    assert after is not None and after.key == "W2026-10-26"


def test_monthly_windows_and_the_schedule_cut_them() -> None:
    monthly = challenge("month")
    window = monthly.window(utc("2026-10-31T23:59:59+01:00"))
    assert window is not None and window.key == "M2026-10"
    assert (window.starts, window.ends) == (
        utc("2026-10-01T00:00:00+02:00"),
        utc("2026-11-01T00:00:00+01:00"),
    )
    december = monthly.window(utc("2026-12-31T12:00:00+01:00"))
    assert december is not None and december.ends == monthly.ends
    assert monthly.window(monthly.ends) is None
    assert monthly.window(monthly.starts - timedelta(seconds=1)) is None


def test_at_most_a_day_is_the_local_day() -> None:
    daily = challenge().steps[2]
    late, early = utc("2026-11-27T23:30:00+01:00"), utc("2026-11-28T00:30:00+01:00")
    assert late.date() == early.date()  # one UTC day…
    assert daily.period(late, "Europe/Madrid") != daily.period(early, "Europe/Madrid")  # two here


orders = st.lists(
    st.tuples(
        st.decimals(min_value=0, max_value=500, places=2),  # the order's total
        st.lists(st.decimals(min_value=Decimal("0.01"), max_value=200, places=2), max_size=3),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(orders=orders, data=st.data())
def test_progress_follows_net_totals_whatever_the_arrival_order(
    orders: list[tuple[Decimal, list[Decimal]]], data: st.DataObject
) -> None:
    log = MemoryLog()
    service = Service(
        MemoryPlays(log),
        log,
        (p := MemoryProgress(log)),
        p.audience,
        NoReports(),
        NoReports(),
        NoReports(),
        MemoryGuests(),
        "s",
        clock=lambda: NOW,
    )
    spend = challenge()
    index = ChallengeIndex([spend])
    at = (NOW - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    events = []
    for i, (total, refunds) in enumerate(orders):
        order = {"id": f"o{i}", "total": f"{total}", "items": []}
        events.append({"id": f"p{i}", "type": "order.paid", "customer": "ana", "occurred_at": at,
                       "order": order})  # fmt: skip
        for j, amount in enumerate(refunds):
            events.append({"id": f"r{i}-{j}", "type": "order.refunded", "customer": "ana",
                           "occurred_at": at,
                           "order": {"id": f"o{i}", "refund_total": f"{amount}"}})  # fmt: skip
    shuffled = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(len(events) - 1, 1)), max_size=3)))
    cuts = [c for c in cuts if c < len(events)]
    for start, end in zip([0, *cuts], [*cuts, len(events)], strict=True):
        service.track_events({"events": shuffled[start:end]}, index)
    [(_, _, tally)] = service.standings([spend], "ana")
    nets = [max(total - sum(refunds, Decimal(0)), Decimal(0)) for total, refunds in orders]
    assert tally.units.get("total", 0) == sum(int(n * UNITS) for n in nets)
    assert tally.units.get("big", 0) == UNITS * sum(1 for n in nets if n >= 20)
    assert tally.units.get("daily", 0) in (0, UNITS)  # one a day, whichever order it was
    assert all(units >= 0 for units in tally.units.values())
