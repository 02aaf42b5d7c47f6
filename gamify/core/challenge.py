"""A challenge as marketers describe it (CONTRACT §9): steps that count or sum what customers do,
quizzes graded here, a window that may start again every week or month, and the reward.

Immutable, like :class:`~gamify.core.campaign.Campaign`: a reload builds a new object. Which
events a step takes (``where``), how much each adds, and which window and period an event falls
in are decided here, from the event's own ``occurred_at``: a late event counts where it
happened, not where it arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from gamify.core.campaign import Campaign, Coupon, Text
from gamify.core.periods import local_date, local_midnight, period_key

Complete = Literal["all", "any"]
Repeat = Literal["never", "week", "month"]
AtMostPer = Literal["day", "week"]
COMPLETES = ("all", "any")
REPEATS = ("never", "week", "month")
AT_MOST_PERS = ("day", "week")
SUM_FIELDS = ("total", "quantity")
"""What ``sum:`` may add besides ``attributes.NAME``: the order total, the items' quantities."""
UNITS = 10_000
"""Progress is kept in ten-thousandths, so sums of amounts (4 decimals at most) stay exact."""


_NOTHING: Mapping[str, Any] = MappingProxyType({})
"""What a payload without an order or attributes is read as (no new dict each time)."""


@dataclass(frozen=True)
class Where:
    """What an event must be for a step to take it; every condition given must hold."""

    min_total: Decimal | None = None
    max_total: Decimal | None = None
    category: tuple[str, ...] = ()
    sku: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str | int | float | bool], ...] = ()

    @property
    def filters_items(self) -> bool:
        return bool(self.category or self.sku)

    def item_matches(self, item: Mapping[str, Any]) -> bool:
        return (not self.category or item.get("category") in self.category) and (
            not self.sku or item.get("sku") in self.sku
        )

    def matches(self, payload: Mapping[str, Any]) -> bool:
        order = payload.get("order") or _NOTHING
        if self.min_total is not None or self.max_total is not None:
            total = _decimal(order.get("total"))
            if total is None:
                return False
            if self.min_total is not None and total < self.min_total:
                return False
            if self.max_total is not None and total > self.max_total:
                return False
        if self.filters_items and not any(
            self.item_matches(item) for item in order.get("items") or ()
        ):
            return False
        if not self.attributes:
            return True
        attributes = payload.get("attributes") or _NOTHING
        return all(_same(attributes.get(name), value) for name, value in self.attributes)


@dataclass(frozen=True)
class AtMost:
    """How many events a step counts per local day or week (anti-farming)."""

    times: int
    per: AtMostPer


@dataclass(frozen=True)
class Question:
    text: Text
    options: tuple[Text, ...]
    answer: int  # never leaves the server


@dataclass(frozen=True)
class Quiz:
    pass_mark: int
    attempts: int
    questions: tuple[Question, ...]

    def grade(self, answers: list[int]) -> int:
        return sum(1 for q, a in zip(self.questions, answers, strict=True) if q.answer == a)


@dataclass(frozen=True)
class Step:
    id: str
    label: Text
    event: str | None = None
    where: Where = field(default_factory=Where)
    count: int | None = None
    sum: str | None = None  # total, quantity or attributes.NAME
    target: Decimal | None = None
    at_most: AtMost | None = None
    quiz: Quiz | None = None

    @property
    def goal(self) -> Decimal:
        """What the step needs: a count of events, a sum, or one passed quiz."""
        if self.quiz is not None:
            return Decimal(1)
        if self.sum is not None:
            assert self.target is not None
            return self.target
        return Decimal(self.count or 1)

    @cached_property
    def goal_units(self) -> int:  # asked for by every event a step takes
        return int(self.goal * UNITS)

    def takes(self, payload: Mapping[str, Any]) -> bool:
        return self.event == payload.get("type") and self.where.matches(payload)

    def units(self, payload: Mapping[str, Any]) -> int:
        """How much an event this step takes adds, in :data:`UNITS` (a count adds one)."""
        if self.sum is None:
            return UNITS
        order = payload.get("order") or {}
        if self.sum == "total":
            amount = _decimal(order.get("total"))
        elif self.sum == "quantity":
            amount = Decimal(
                sum(
                    int(item.get("quantity") or 0)
                    for item in order.get("items") or ()
                    if self.where.item_matches(item)
                )
            )
        else:
            value = (payload.get("attributes") or {}).get(self.sum.removeprefix("attributes."))
            amount = None if isinstance(value, bool) else _decimal(value)
        if amount is None or amount <= 0:
            return 0
        return int(amount * UNITS)

    def period(self, moment: datetime, timezone: str) -> str | None:
        """The ``at_most`` period an event at ``moment`` falls in (None: no cap)."""
        if self.at_most is None:
            return None
        return period_key(moment, timezone, self.at_most.per)


@dataclass(frozen=True)
class ExtraPlays:
    campaign: str
    count: int


@dataclass(frozen=True)
class Reward:
    label: Text
    value: Decimal | None = None
    coupon: Coupon | None = None
    plays: ExtraPlays | None = None
    points: int | None = None

    def plays_json(self) -> dict[str, Any] | None:
        """The extra plays as the API shows them."""
        return {"campaign": self.plays.campaign, "count": self.plays.count} if self.plays else None


@dataclass(frozen=True)
class Window:
    """One round of a challenge: ``key`` names it in storage; ``starts``/``ends`` in UTC."""

    key: str
    starts: datetime
    ends: datetime


@dataclass(frozen=True)
class Challenge:
    id: str
    title: Text
    timezone: str
    starts: datetime
    ends: datetime
    steps: tuple[Step, ...]
    reward: Reward
    complete: Complete = "all"
    repeat: Repeat = "never"
    winners_max: int | None = None
    description: Text | None = None
    source: Path | None = None
    holdout: int = 0  # percent of customers kept from the challenge (CONTRACT §11)

    game: ClassVar[Literal["challenge"]] = "challenge"

    def is_running(self, moment: datetime) -> bool:
        return self.starts <= moment < self.ends

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(s.event for s in self.steps if s.event is not None)

    def window(self, moment: datetime) -> Window | None:
        """The window holding ``moment``, cut to the challenge's schedule; None outside it.

        The same object for every moment of a window: each event asks, for each step that
        takes it, and a batch's hundreds of windows would otherwise each be an object the
        garbage collector has to follow."""
        if not self.is_running(moment):
            return None
        if self.repeat == "never":
            return self._whole
        day = local_date(moment, self.timezone)
        first = day - timedelta(days=day.weekday()) if self.repeat == "week" else day.replace(day=1)
        window = self._windows.get(first)
        if window is None:
            window = self._windows[first] = self._window_from(first)
        return window

    def _window_from(self, first: date) -> Window:
        if self.repeat == "week":
            after = first + timedelta(days=7)
            key = "W" + first.isoformat()
        else:
            after = (first + timedelta(days=32)).replace(day=1)
            key = "M" + first.isoformat()[:7]
        return Window(
            key,
            max(self.starts, local_midnight(first, self.timezone)),
            min(self.ends, local_midnight(after, self.timezone)),
        )

    @cached_property
    def _whole(self) -> Window:
        return Window("all", self.starts, self.ends)

    @cached_property
    def _windows(self) -> dict[date, Window]:
        """Windows by their first local day (a challenge's schedule bounds how many)."""
        return {}

    def done(self, progress: Mapping[str, int]) -> bool:
        """Whether steps' progress (in units, by step id) completes the challenge."""
        finished = [progress.get(s.id, 0) >= s.goal_units for s in self.steps]
        return all(finished) if self.complete == "all" else any(finished)


AnyCampaign = Campaign | Challenge
"""What a campaign file holds: a game (wheel, scratch) or a challenge."""


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _same(found: Any, wanted: str | int | float | bool) -> bool:
    """Attribute equality as a marketer means it: ``true`` is not ``1``, ``2`` is ``2.0``."""
    if isinstance(wanted, bool) or isinstance(found, bool):
        return found is wanted
    if isinstance(wanted, int | float) and isinstance(found, int | float):
        return bool(found == wanted)
    return bool(found == wanted)


def shown_units(units: int) -> int | float:
    """Progress as the API shows it: a whole number, or a decimal for sums of amounts."""
    whole, rest = divmod(units, UNITS)
    return whole if rest == 0 else float(Decimal(units) / UNITS)
