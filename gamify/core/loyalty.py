"""A store's loyalty programme as its marketers describe it in ``loyalty.yaml`` (CONTRACT §10):
what earns points, when they become usable and when they expire, the VIP tiers and what each
gives once, and the rewards points buy. Immutable: a reload builds a new one.

Points are whole numbers. An order earns ``points_per_unit`` per whole unit of its total
(a 59.90 order at 1 point per unit earns 59), times the customer's tier ``multiplier``,
rounded down: a point is never invented by rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from gamify.core.campaign import Coupon, Text
from gamify.core.challenge import AtMost, ExtraPlays
from gamify.core.periods import local_date, local_midnight

TierWindow = Literal["rolling_12_months", "calendar_year", "lifetime"]
TIER_WINDOWS = ("rolling_12_months", "calendar_year", "lifetime")
LOYALTY_FILE = "loyalty.yaml"
"""The programme's file in ``GAMIFY_CAMPAIGNS``; it is not a campaign."""
LOYALTY_ID = "loyalty"
"""What the tag's ``data-campaign`` names to mount the loyalty card; no campaign may use it."""


@dataclass(frozen=True)
class EarnRule:
    """One event type that earns: ``points_per_unit`` of an order's total, or fixed ``points``."""

    event: str
    points_per_unit: Decimal | None = None
    points: int | None = None
    at_most: AtMost | None = None

    def base_points(self, payload: Mapping[str, Any]) -> int:
        """What the event earns before the tier's multiplier."""
        if self.points is not None:
            return self.points
        order = payload.get("order") or {}
        try:
            total = Decimal(str(order.get("total")))
        except (InvalidOperation, ValueError):
            return 0
        if not total.is_finite() or total <= 0:
            return 0
        units = total.to_integral_value(rounding=ROUND_FLOOR)
        return int((units * (self.points_per_unit or 0)).to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class LevelReward:
    """What reaching a level gives, once per customer, ever: a coupon or extra plays."""

    label: Text | None = None
    coupon: Coupon | None = None
    plays: ExtraPlays | None = None


@dataclass(frozen=True)
class Level:
    id: str
    label: Text
    min: int  # points earned in the window to qualify
    multiplier: Decimal = Decimal(1)
    reward: LevelReward | None = None


@dataclass(frozen=True)
class Tiers:
    window: TierWindow
    levels: tuple[Level, ...]  # by increasing ``min``; the first has min 0

    def level_for(self, qualifying: int) -> Level:
        """The highest level whose ``min`` the points earned reach."""
        found = self.levels[0]
        for level in self.levels:
            if qualifying >= level.min:
                found = level
        return found

    def next_level(self, level_id: str) -> Level | None:
        ids = [level.id for level in self.levels]
        at = ids.index(level_id) if level_id in ids else -1
        return self.levels[at + 1] if at + 1 < len(self.levels) else None

    def level(self, level_id: str | None) -> Level:
        return next((lv for lv in self.levels if lv.id == level_id), self.levels[0])

    def window_start(self, now: datetime, timezone: str) -> datetime | None:
        """Where the window of points that count for a tier starts (None: ever)."""
        if self.window == "lifetime":
            return None
        today = local_date(now, timezone)
        if self.window == "calendar_year":
            return local_midnight(today.replace(month=1, day=1), timezone)
        try:
            year_ago = today.replace(year=today.year - 1)
        except ValueError:  # 29 February
            year_ago = today.replace(year=today.year - 1, day=28)
        return local_midnight(year_ago + timedelta(days=1), timezone)


@dataclass(frozen=True)
class CatalogueReward:
    """What points buy: a coupon, with a stock or without."""

    id: str
    label: Text
    cost: int
    coupon: Coupon
    stock: int | None = None
    description: Text | None = None


@dataclass(frozen=True)
class Loyalty:
    timezone: str
    earn: tuple[EarnRule, ...]
    pending_days: int = 0
    expire_after_days: int | None = None
    tiers: Tiers | None = None
    rewards: tuple[CatalogueReward, ...] = ()
    source: Path | None = None

    def rule(self, event_type: str) -> EarnRule | None:
        return next((r for r in self.earn if r.event == event_type), None)

    def reward(self, reward_id: str) -> CatalogueReward | None:
        return next((r for r in self.rewards if r.id == reward_id), None)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(r.event for r in self.earn)

    def available_at(self, event_type: str, earned_at: datetime) -> datetime:
        """An order's points wait out the return window; everything else is usable at once."""
        if event_type == "order.paid" and self.pending_days:
            return earned_at + timedelta(days=self.pending_days)
        return earned_at

    def expires_at(self, available_at: datetime) -> datetime | None:
        """A lot expires ``expire_after_days`` after it became usable."""
        if self.expire_after_days is None:
            return None
        return available_at + timedelta(days=self.expire_after_days)
