"""The marketer's report (CONTRACT §11): per group of a campaign's assigned customers, what they
bought in the window against the period just before it, and the uplift of the treatment over
the holdout with 95 % intervals. Intention to treat: every customer the campaign saw counts,
not only those who chose to play, so the comparison is of like with like.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from gamify.core.challenge import AnyCampaign, Challenge
from gamify.core.errors import GamifyError
from gamify.core.holdout import GROUPS
from gamify.core.kpis import GroupKpis, GroupTotals, Uplift, kpis, retention_uplift, revenue_uplift
from gamify.core.periods import local_date, local_midnight
from gamify.services.ports import GroupSums, ReportStore, Span


class ReportError(GamifyError):
    """A report that cannot be made as asked (dates, a campaign that saw nobody): the message
    says why, for a marketer; ``code`` and ``values`` let a page say it in its language."""

    def __init__(self, message: str, code: str, **values: object) -> None:
        super().__init__(message)
        self.code = code
        self.values = values


@dataclass(frozen=True)
class Report:
    campaign: AnyCampaign
    first: date  # the window, inclusive local dates
    last: date
    before_first: date  # the period before, as many days
    before_last: date
    groups: dict[str, GroupKpis]
    sums: dict[str, GroupSums]
    retention: Uplift | None  # None without a holdout
    revenue_per_customer: Uplift | None

    @property
    def has_holdout(self) -> bool:
        return self.campaign.holdout > 0

    def as_json(self) -> dict[str, Any]:
        uplift: dict[str, Any] | None = None
        if self.retention is not None and self.revenue_per_customer is not None:
            uplift = {
                "retention": self.retention.as_json(),
                "revenue_per_customer": self.revenue_per_customer.as_json(),
            }
        return {
            "campaign": self.campaign.id,
            "timezone": self.campaign.timezone,
            "window": {"from": self.first.isoformat(), "to": self.last.isoformat()},
            "before": {"from": self.before_first.isoformat(), "to": self.before_last.isoformat()},
            "holdout_percent": self.campaign.holdout,
            "groups": {name: kpi.as_json() for name, kpi in self.groups.items()},
            "uplift": uplift,
            "note": None if self.has_holdout else NO_HOLDOUT,
        }

    def as_csv(self) -> str:
        """One row per group, the figures of :meth:`GroupKpis.as_json` as they are."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("campaign", "from", "to", "group", *KPI_KEYS))
        for name, kpi in self.groups.items():
            shown = kpi.as_json()
            writer.writerow(
                (self.campaign.id, self.first, self.last, name, *(shown[k] for k in KPI_KEYS))
            )
        return out.getvalue()


KPI_KEYS = tuple(f.name for f in fields(GroupKpis))

NO_HOLDOUT = (
    "this campaign has no holdout group: the figures are its customers' alone, and showing "
    "what the campaign changed needs a holdout (add `holdout: 10` before the next campaign)"
)


class ReportCases:
    reports: ReportStore
    clock: Callable[[], datetime]

    def report(
        self, campaign: AnyCampaign, first: date | None = None, last: date | None = None
    ) -> Report:
        """The report of ``campaign`` from ``first`` to ``last`` (local dates, inclusive;
        by default its schedule up to today)."""
        today = local_date(self.clock(), campaign.timezone)
        first = first or local_date(campaign.starts, campaign.timezone)
        last = last or min(
            today, local_date(campaign.ends - timedelta(microseconds=1), campaign.timezone)
        )
        if first > last:
            raise ReportError(
                f"--from {first} is after --to {last}: the window has no day",
                "reversed",
                first=first,
                last=last,
            )
        if first > today:
            raise ReportError(
                f"the window starts on {first}, in the future: nothing to report yet",
                "future",
                first=first,
            )
        days = (last - first).days + 1
        span = Span(
            before=local_midnight(first - timedelta(days=days), campaign.timezone),
            start=local_midnight(first, campaign.timezone),
            end=local_midnight(last + timedelta(days=1), campaign.timezone),
        )
        game = not isinstance(campaign, Challenge)
        sums = self.reports.sums(campaign.id, game, span, campaign.holdout)
        if not any(s.customers for s in sums.values()):
            raise ReportError(
                f"campaign {campaign.id!r} has seen no customers yet: they are counted when "
                "they play or take part, and with a holdout also when the widget is shown to "
                "them signed in or one of their store events falls in its schedule",
                "no_customers",
            )
        if not any(s.orders or s.before for s in sums.values()):
            raise ReportError(
                f"no orders of the customers of {campaign.id!r} from "
                f"{first - timedelta(days=days)} to {last}: send the store's order events "
                "(POST /api/events, CONTRACT §8) to measure what the campaign changed",
                "no_orders",
                first=first - timedelta(days=days),
                last=last,
            )
        totals = {name: _totals(campaign, sums.get(name, GroupSums())) for name in GROUPS}
        shown = GROUPS if campaign.holdout > 0 else ("treatment",)
        groups: dict[str, GroupKpis] = {name: kpis(totals[name]) for name in shown}
        retention = revenue = None
        if campaign.holdout > 0:
            retention = retention_uplift(totals["treatment"], totals["holdout"])
            revenue = revenue_uplift(totals["treatment"], totals["holdout"])
        return Report(
            campaign,
            first,
            last,
            first - timedelta(days=days),
            first - timedelta(days=1),
            groups,
            sums,
            retention,
            revenue,
        )


def _totals(campaign: AnyCampaign, sums: GroupSums) -> GroupTotals:
    """The group's sums with what its prizes (or rewards) are worth."""
    awards = sums.awards or {}
    if isinstance(campaign, Challenge):
        value = campaign.reward.value or Decimal(0)
        prizes = awards.get("reward", 0)
        worth = value * prizes
    else:
        winning = {p.id: p.value or Decimal(0) for p in campaign.prizes if p.win}
        won = {prize: n for prize, n in awards.items() if prize in winning}
        prizes = sum(won.values())
        worth = sum((winning[prize] * n for prize, n in won.items()), Decimal(0))
    return GroupTotals(
        customers=sums.customers,
        before=sums.before,
        during=sums.during,
        new=sums.new,
        repeat=sums.repeat,
        orders=sums.orders,
        revenue=sums.revenue,
        revenue_squares=sums.revenue_squares,
        prizes=prizes,
        prize_value=worth,
        coupons_issued=sums.coupons_issued,
        coupons_redeemed=sums.coupons_redeemed,
    )
