"""What the admin pages count, on SQLite and PostgreSQL: plays per local day at the edges of
days (a DST change, a zone half an hour off UTC, plays a fraction of a second after midnight),
plays today, draws per config version against their own odds, and a challenge's funnel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from api_support import challenge_yaml
from databases import KINDS, database_url

from gamify.core.campaign import Campaign
from gamify.web.state import GamifyState, build_state

SECRET = "activity-secret"


def wheel(campaign_id: str, timezone: str, weights: tuple[int, int] = (1, 3)) -> str:
    return f"""\
id: {campaign_id}
game: wheel
title: Wheel
timezone: {timezone}
starts: 2026-10-20T00:00:00
ends: 2026-11-10T00:00:00
fallback: nothing
prizes:
  - {{id: gift, label: Gift, weight: {weights[0]}, stock: 1000, value: 2.5}}
  - {{id: nothing, label: Nothing, weight: {weights[1]}, win: false}}
"""


@pytest.fixture(params=KINDS)
def current(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GamifyState]:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "madrid.yaml").write_text(wheel("madrid", "Europe/Madrid"), encoding="utf-8")
    (folder / "kolkata.yaml").write_text(wheel("kolkata", "Asia/Kolkata"), encoding="utf-8")
    with database_url(request.param, tmp_path) as url:
        made = build_state(database_url=url, campaigns=folder, secret=SECRET, start=False)
        made.service.clock = lambda: datetime(2026, 10, 21, tzinfo=UTC)
        made.start()
        yield made
        made.engine.dispose()


def _play_at(current: GamifyState, campaign: Campaign, moments: list[str]) -> None:
    for n, moment in enumerate(moments):
        at = datetime.fromisoformat(moment)
        current.service.clock = lambda at=at: at
        current.service.play(campaign, f"{campaign.id}-{moment}-{n}")


def _days(current: GamifyState, campaign: Campaign) -> dict[date, int]:
    return {d.day: d.plays for d in current.service.days(campaign) if d.plays}


def test_plays_fall_in_the_campaigns_local_days_at_every_edge(current: GamifyState) -> None:
    madrid = current.registry.get("madrid")
    _play_at(
        current,
        madrid,
        [
            "2026-10-24T21:59:59.500000+00:00",  # 23:59:59.5 on the 24th (summer time)
            "2026-10-24T22:00:00+00:00",  # midnight: the 25th, the day clocks go back
            "2026-10-25T22:59:59+00:00",  # 23:59:59 on the 25th (winter time)
            "2026-10-25T23:00:00.250000+00:00",  # a quarter second into the 26th
        ],
    )
    kolkata = current.registry.get("kolkata")
    _play_at(
        current,
        kolkata,
        [
            "2026-10-24T18:29:59.900000+00:00",  # 23:59:59.9 on the 24th in India (+05:30)
            "2026-10-24T18:30:00.100000+00:00",  # just after midnight: the 25th
        ],
    )
    current.service.clock = lambda: datetime(2026, 10, 27, 12, tzinfo=UTC)
    assert _days(current, madrid) == {
        date(2026, 10, 24): 1,
        date(2026, 10, 25): 2,
        date(2026, 10, 26): 1,
    }
    assert _days(current, kolkata) == {date(2026, 10, 24): 1, date(2026, 10, 25): 1}
    days = current.service.days(madrid)
    assert (days[0].day, days[-1].day) == (date(2026, 10, 20), date(2026, 10, 27))


def test_plays_today_counts_from_local_midnight(current: GamifyState) -> None:
    madrid = current.registry.get("madrid")
    _play_at(
        current,
        madrid,
        ["2026-10-27T22:59:00+00:00", "2026-10-27T23:00:00+00:00", "2026-10-28T09:00:00+00:00"],
    )
    current.service.clock = lambda: datetime(2026, 10, 28, 10, tzinfo=UTC)
    lines = {line.campaign.id: line for line in current.service.overview([madrid])}
    assert lines["madrid"].plays_today == 2 and lines["madrid"].plays_total == 3
    assert lines["madrid"].status == "running"


def test_draws_are_tested_against_the_odds_they_were_drawn_with(
    current: GamifyState, tmp_path: Path
) -> None:
    madrid = current.registry.get("madrid")
    _play_at(current, madrid, [f"2026-10-22T10:00:{s:02d}+00:00" for s in range(40)])
    source = Path(tmp_path / "campaigns" / "madrid.yaml")
    source.write_text(wheel("madrid", "Europe/Madrid", (3, 1)), encoding="utf-8")
    current.registry.reload()
    madrid = current.registry.get("madrid")
    _play_at(current, madrid, [f"2026-10-23T10:00:{s:02d}+00:00" for s in range(20)])
    odds = current.service.odds(madrid)
    lines = {line.prize: line for line in odds.lines}
    assert odds.versions == 2 and odds.test.sample == 60 and odds.test.dof == 2
    assert sum(line.drawn for line in odds.lines) == 60
    assert lines["gift"].expected == pytest.approx(40 * 0.25 + 20 * 0.75)
    assert lines["gift"].probability == pytest.approx(0.75)  # the running odds
    assert lines["gift"].awarded == lines["gift"].drawn  # stock and budget never ran out
    assert lines["gift"].stock_left == 1000 - lines["gift"].awarded
    assert odds.test.p_value is not None and 0 <= odds.test.p_value <= 1
    line = current.service.overview([madrid])[0]
    assert line.spent_total is not None
    assert line.spent_total.spent == lines["gift"].awarded * 2.5


def test_a_challenges_funnel_counts_windows_that_reached_each_step(
    current: GamifyState, tmp_path: Path
) -> None:
    today = datetime.now(UTC)
    (tmp_path / "campaigns" / "quest.yaml").write_text(
        challenge_yaml("quest", plays_campaign="madrid", starts=(today - timedelta(days=3)).date()),
        encoding="utf-8",
    )
    current.service.clock = lambda: today
    current.registry.reload()
    events = [
        {"id": f"rv-{n}", "type": "review.published", "customer": f"c{n}",
         "occurred_at": today.isoformat()}
        for n in range(4)
    ] + [
        {"id": f"o-{n}-{k}", "type": "order.paid", "customer": f"c{n}",
         "occurred_at": (today - timedelta(days=k)).isoformat(),
         "order": {"id": f"o-{n}-{k}", "total": "30", "currency": "EUR"}}
        for n in (0, 5) for k in range(2)
    ]  # fmt: skip
    current.service.track_events({"events": events}, current.registry.index(), [])
    quest = current.registry.challenge("quest")
    funnel = current.service.activity.funnel("quest", {s.id: s.goal_units for s in quest.steps})
    assert funnel.took_part == 5  # c0..c3 reviewed, c5 ordered twice
    assert dict(funnel.steps) == {"orders": 2, "review": 4, "quiz": 0}
    assert (funnel.completed, funnel.rewarded) == (0, 0)
