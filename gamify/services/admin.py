"""What the admin pages show a marketer: every campaign's state at a glance, and for one
campaign whether its draws follow its odds, its plays and awards over time, the report, and for
a challenge how far its customers got. Every figure is counted by the database
(:class:`~gamify.services.ports.ActivityStore`); this module only puts them together.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from gamify.core.campaign import Campaign, Text
from gamify.core.challenge import AnyCampaign, Challenge
from gamify.core.goodness_of_fit import FitTest, chi_square, combined
from gamify.core.periods import local_date, local_midnight
from gamify.core.play import spend_scope
from gamify.core.rules import Rules
from gamify.services.ports import ActivityStore, CampaignLog, Funnel, GameTotals
from gamify.services.report import Report, ReportCases, ReportError

Status = Literal["scheduled", "running", "ended"]
MAX_DAYS = 366  # plays per day: at most the last year of a longer schedule


def status(campaign: AnyCampaign, now: datetime) -> Status:
    if now < campaign.starts:
        return "scheduled"
    return "running" if now < campaign.ends else "ended"


@dataclass(frozen=True)
class Money:
    spent: Decimal
    cap: Decimal | None  # None: no cap


@dataclass(frozen=True)
class CampaignLine:
    """One campaign in the list. Games have plays, stock and budget; challenges completions."""

    campaign: AnyCampaign
    status: Status
    plays_today: int | None = None
    plays_total: int | None = None
    stock_left: int | None = None  # over the prizes with stock; None: no prize has stock
    stock: int | None = None
    spent_today: Money | None = None
    spent_total: Money | None = None
    completed: int | None = None
    winners_max: int | None = None


@dataclass(frozen=True)
class OddsLine:
    prize: str
    label: Text | None  # None: a prize only older versions had
    probability: float  # under the running config; 0 for a prize it no longer has
    drawn: int
    expected: float  # under the odds of the config each play was drawn with
    awarded: int
    stock: int | None
    stock_left: int | None


@dataclass(frozen=True)
class Odds:
    lines: tuple[OddsLine, ...]
    test: FitTest
    versions: int  # distinct odds the plays were drawn under


@dataclass(frozen=True)
class Day:
    day: date
    plays: int


@dataclass(frozen=True)
class CampaignPage:
    line: CampaignLine
    odds: Odds | None = None  # games
    days: tuple[Day, ...] = ()
    funnel: Funnel | None = None  # challenges
    report: Report | None = None
    report_problem: ReportError | None = None  # why there is no report yet


class AdminCases(ReportCases):
    log: CampaignLog
    activity: ActivityStore
    clock: Callable[[], datetime]

    def overview(self, campaigns: Sequence[AnyCampaign]) -> list[CampaignLine]:
        """The list, most urgent first: running, then scheduled, then ended."""
        now = self.clock()
        games = [c for c in campaigns if isinstance(c, Campaign)]
        today = self._plays_today(games, now)
        totals = self.activity.totals([c.id for c in games])
        lines = [
            self._game_line(c, now, today.get(c.id, 0), totals.get(c.id))
            if isinstance(c, Campaign)
            else self._challenge_line(c, now)
            for c in campaigns
        ]
        order = {"running": 0, "scheduled": 1, "ended": 2}
        return sorted(lines, key=lambda line: (order[line.status], line.campaign.id))

    def campaign_page(
        self, campaign: AnyCampaign, first: date | None = None, last: date | None = None
    ) -> CampaignPage:
        """Everything the campaign's page shows; the report over ``first`` to ``last`` (its
        schedule up to today by default)."""
        now = self.clock()
        odds: Odds | None = None
        days: tuple[Day, ...] = ()
        funnel: Funnel | None = None
        if isinstance(campaign, Campaign):
            today = self._plays_today([campaign], now).get(campaign.id, 0)
            totals = self.activity.totals([campaign.id]).get(campaign.id)
            line = self._game_line(campaign, now, today, totals)
            odds, days = self.odds(campaign), self.days(campaign)
        else:
            goals = {s.id: s.goal_units for s in campaign.steps}
            funnel = self.activity.funnel(campaign.id, goals)
            line = self._challenge_line(campaign, now, funnel)
        try:
            report, problem = self.report(campaign, first, last), None
        except ReportError as exc:
            report, problem = None, exc
        return CampaignPage(line, odds, days, funnel, report, problem)

    def _plays_today(self, games: Sequence[Campaign], now: datetime) -> dict[str, int]:
        """Plays since local midnight, one query per time zone."""
        zones: dict[str, list[str]] = {}
        for game in games:
            zones.setdefault(game.timezone, []).append(game.id)
        found: dict[str, int] = {}
        for zone, ids in zones.items():
            midnight = local_midnight(local_date(now, zone), zone)
            found.update(self.activity.plays_since(ids, midnight))
        return found

    def odds(self, campaign: Campaign) -> Odds:
        """Drawn against configured, per prize, with Pearson's test of every play's draw
        against the odds of the config it was drawn under (versions with other odds are tested
        apart and the tests combined)."""
        draws = self.activity.draws(campaign.id)
        configs = {c.config_hash: c.config for c in self.log.snapshot(campaign.id).configs}
        by_odds: dict[tuple[tuple[str, int], ...], dict[str, int]] = {}
        for (config_hash, prize), n in draws.items():
            weights = _weights(configs.get(config_hash), campaign)
            counts = by_odds.setdefault(weights, {})
            counts[prize] = counts.get(prize, 0) + n
        expected: dict[str, float] = {}
        tests = []
        for weights, counts in by_odds.items():
            total_weight = sum(w for _, w in weights)
            ids = [p for p, _ in weights]
            stray = {p: n for p, n in counts.items() if p not in ids}  # not in its config
            observed = [counts.get(p, 0) for p in ids] + list(stray.values())
            probabilities = [w / total_weight for _, w in weights] + [0.0] * len(stray)
            tests.append(chi_square(observed, probabilities))
            plays = sum(counts.values())
            for p, w in weights:
                expected[p] = expected.get(p, 0.0) + plays * w / total_weight
        awarded = self.log.counters(campaign.id, [f"prize:{p.id}" for p in campaign.prizes])
        total = campaign.rules.total_weight
        drawn: dict[str, int] = {}
        for (_, prize), n in draws.items():
            drawn[prize] = drawn.get(prize, 0) + n
        lines = [
            OddsLine(
                prize=p.id,
                label=p.label,
                probability=p.weight / total,
                drawn=drawn.pop(p.id, 0),
                expected=expected.pop(p.id, 0.0),
                awarded=(won := awarded.get(f"prize:{p.id}", 0)),
                stock=p.stock,
                stock_left=None if p.stock is None else max(p.stock - won, 0),
            )
            for p in campaign.prizes
        ]
        lines += [  # prizes of older versions only
            OddsLine(p, None, 0.0, n, expected.get(p, 0.0), 0, None, None) for p, n in drawn.items()
        ]
        return Odds(tuple(lines), combined(tests), len(by_odds))

    def days(self, campaign: Campaign) -> tuple[Day, ...]:
        """Plays per local day, from the start of the schedule up to today or its end."""
        now = self.clock()
        first = local_date(campaign.starts, campaign.timezone)
        last = min(
            local_date(now, campaign.timezone),
            local_date(campaign.ends - timedelta(microseconds=1), campaign.timezone),
        )
        if last < first:
            return ()
        first = max(first, last - timedelta(days=MAX_DAYS - 1))
        dates = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        midnights = [local_midnight(d, campaign.timezone) for d in [*dates, last + timedelta(1)]]
        counts = self.activity.plays_per_day(campaign.id, midnights)
        return tuple(Day(d, n) for d, n in zip(dates, counts, strict=True))

    def _game_line(
        self, campaign: Campaign, now: datetime, today: int, totals: GameTotals | None
    ) -> CampaignLine:
        totals = totals or GameTotals(0, 0)
        stocked = [p for p in campaign.prizes if p.stock is not None]
        scopes = [f"prize:{p.id}" for p in stocked] + [spend_scope(campaign, now)]
        counts = self.log.counters(campaign.id, scopes)
        left = sum(max((p.stock or 0) - counts.get(f"prize:{p.id}", 0), 0) for p in stocked)
        return CampaignLine(
            campaign,
            status(campaign, now),
            plays_today=today,
            plays_total=totals.plays,
            stock_left=left if stocked else None,
            stock=sum(p.stock or 0 for p in stocked) if stocked else None,
            spent_today=Money(
                Decimal(counts.get(spend_scope(campaign, now), 0)) / 100,
                campaign.budget.max_value_per_day,
            ),
            spent_total=Money(Decimal(totals.spent_cents) / 100, campaign.budget.max_value_total),
        )

    def _challenge_line(
        self, challenge: Challenge, now: datetime, funnel: Funnel | None = None
    ) -> CampaignLine:
        funnel = funnel or self.activity.funnel(challenge.id, {})
        return CampaignLine(
            challenge,
            status(challenge, now),
            completed=funnel.completed,
            winners_max=challenge.winners_max,
        )


def _weights(config: str | None, campaign: Campaign) -> tuple[tuple[str, int], ...]:
    """The prizes and weights of a config version (the running one's if it is not found)."""
    rules = Rules.from_config(json.loads(config)) if config else campaign.rules
    return tuple((p.id, p.weight) for p in rules.prizes)
