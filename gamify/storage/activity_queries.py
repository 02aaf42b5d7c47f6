"""What the admin pages read of the campaigns' activity, counted by the database.

Plays keep their time as UTC text (``2026-11-30T10:00:00.25Z``, the chain's own form), so
times are compared as text: :func:`play_time` gives the bound that sorts right against it.
Plays per day group by UTC hour (by minute for a time zone whose midnight is not on the hour)
and Python adds the hours into the campaign's local days, so the database returns at most a
row per hour of the schedule whatever the number of plays.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, bindparam, case, func, select

from gamify.services.ports import Funnel, GameTotals
from gamify.storage.tables import campaign_t, entry_t, play_t, progress_t

_HOUR, _MINUTE = 13, 16  # the length of a play's time cut to its hour, to its minute


def play_time(moment: datetime) -> str:
    """``moment`` as a bound for plays' text times: without the ``Z`` (and fraction) that
    would sort ``…:00Z`` after ``…:00.25Z``, a play at or after ``moment`` is never less."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class SqlActivity:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def plays_since(self, campaigns: Collection[str], moment: datetime) -> dict[str, int]:
        if not campaigns:
            return {}
        query = (
            select(play_t.c.campaign, func.count())
            .where(
                play_t.c.campaign.in_(bindparam("campaigns", expanding=True)),
                play_t.c.at >= play_time(moment),
            )
            .group_by(play_t.c.campaign)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query, {"campaigns": sorted(campaigns)}).all()
        return {campaign: int(n) for campaign, n in rows}

    def plays_per_day(self, campaign: str, midnights: Sequence[datetime]) -> list[int]:
        days = [0] * max(len(midnights) - 1, 0)
        if not days:
            return days
        bounds = [play_time(m) for m in midnights]
        width = _HOUR if all(b.endswith(":00:00") for b in bounds) else _MINUTE
        bucket = func.substr(play_t.c.at, 1, width).label("bucket")
        query = (
            select(bucket, func.count())
            .where(
                play_t.c.campaign == campaign,
                play_t.c.at >= bounds[0],
                play_t.c.at < bounds[-1],
            )
            .group_by(bucket)
        )
        with self.engine.connect() as conn:
            for bucket_start, n in conn.execute(query):
                # A bucket lies within one day: midnights fall on its boundaries.
                start = bucket_start + ":00:00"[: 19 - len(bucket_start)]
                days[bisect_right(bounds, start) - 1] += int(n)
        return days

    def draws(self, campaign: str) -> dict[tuple[str, str], int]:
        query = (
            select(play_t.c.config_hash, play_t.c.drawn, func.count())
            .where(play_t.c.campaign == campaign)
            .group_by(play_t.c.config_hash, play_t.c.drawn)
        )
        with self.engine.connect() as conn:
            return {(config, drawn): int(n) for config, drawn, n in conn.execute(query)}

    def totals(self, campaigns: Collection[str]) -> dict[str, GameTotals]:
        if not campaigns:
            return {}
        c = campaign_t.c
        query = select(c.id, c.next_seq, c.spent_total_cents).where(
            c.id.in_(bindparam("campaigns", expanding=True))
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query, {"campaigns": sorted(campaigns)}).all()
        return {campaign: GameTotals(int(n), int(cents)) for campaign, n, cents in rows}

    def funnel(self, challenge: str, goals: Mapping[str, int]) -> Funnel:
        p = progress_t.c
        windows = (
            select(p.customer, p.window, p.step, func.sum(p.units - p.refunded).label("units"))
            .where(p.challenge == challenge)
            .group_by(p.customer, p.window, p.step)
            .subquery()
        )
        goal = case(goals, value=windows.c.step, else_=None) if goals else None
        took_part = select(func.count()).select_from(
            select(p.customer, p.window).where(p.challenge == challenge).distinct().subquery()
        )
        entries = select(func.count(), func.count(entry_t.c.ordinal)).where(
            entry_t.c.challenge == challenge
        )
        with self.engine.connect() as conn:
            steps: dict[str, int] = {}
            if goal is not None:
                reached = (
                    select(windows.c.step, func.count())
                    .where(and_(windows.c.units >= goal))
                    .group_by(windows.c.step)
                )
                steps = {step: int(n) for step, n in conn.execute(reached)}
            part = int(conn.execute(took_part).scalar_one())
            completed, rewarded = conn.execute(entries).one()
        return Funnel(
            took_part=part,
            steps={step: steps.get(step, 0) for step in goals},
            completed=int(completed),
            rewarded=int(rewarded),
        )
