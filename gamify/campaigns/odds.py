"""What a campaign file means in numbers: probabilities, expected cost and the risks to warn of.

``gamify check`` prints this so a marketer sees "1 in 100" and "runs out after about 5,700 plays"
before a single shopper plays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from gamify.core.campaign import Campaign, Prize, Text

SHIPPED_LANGUAGES = ("es", "en")


@dataclass(frozen=True)
class PrizeOdds:
    prize: Prize
    probability: Fraction

    @property
    def percent(self) -> float:
        return float(self.probability * 100)

    @property
    def one_in(self) -> float:
        return float(1 / self.probability)


@dataclass(frozen=True)
class OddsReport:
    campaign: Campaign
    prizes: tuple[PrizeOdds, ...]
    expected_cost: Decimal
    win_probability: Fraction
    warnings: tuple[str, ...]


def odds_report(campaign: Campaign, now: datetime | None = None) -> OddsReport:
    total = campaign.rules.total_weight
    rows = tuple(PrizeOdds(p, Fraction(p.weight, total)) for p in campaign.prizes)
    cost = sum(
        (Decimal(row.prize.value) * row.prize.weight for row in rows if row.prize.value),
        Decimal(0),
    ) / Decimal(total)
    win = sum((row.probability for row in rows if row.prize.win), Fraction(0))
    warnings = _warnings(campaign, rows, cost, now or datetime.now(UTC))
    return OddsReport(campaign, rows, cost.quantize(Decimal("0.0001")), win, tuple(warnings))


def plays(count: float | Fraction | Decimal) -> str:
    """``5700.4`` → ``5,700``: a marketer reads rounded figures with thousands separators."""
    return f"{round(count):,}"


def _warnings(
    campaign: Campaign, rows: tuple[PrizeOdds, ...], cost: Decimal, now: datetime
) -> list[str]:
    found: list[str] = []
    for row in rows:
        prize = row.prize
        if prize.stock == 0:
            found.append(f"`{prize.id}` has stock 0: it is never awarded")
        elif prize.stock is not None:
            found.append(
                f"stock of `{prize.id}` expected to run out after about "
                f"{plays(prize.stock / row.probability)} plays"
            )
    budget = campaign.budget
    if budget.max_value_per_day is not None and cost > 0:
        found.append(
            f"daily budget of {budget.max_value_per_day} expected to be reached after about "
            f"{plays(budget.max_value_per_day / cost)} plays in a day"
        )
    if budget.max_value_total is not None and cost > 0:
        found.append(
            f"total budget of {budget.max_value_total} expected to be reached after about "
            f"{plays(budget.max_value_total / cost)} plays"
        )
    if not campaign.limits:
        found.append("no per-customer limit: a shopper can play again and again")
    if campaign.ends <= now:
        found.append(f"the campaign ended on {campaign.ends:%Y-%m-%d %H:%M} UTC")
    texts: list[tuple[str, Text]] = [("title", campaign.title)]
    texts += [(f"label of `{p.id}`", p.label) for p in campaign.prizes]
    for name, text in texts:
        missing = [lang for lang in SHIPPED_LANGUAGES if lang not in text.languages]
        if missing:
            found.append(f"{name} has no text in {', '.join(missing)}")
    return found
