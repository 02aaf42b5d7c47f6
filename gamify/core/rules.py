"""The part of a campaign that decides outcomes, and its normalised, hashable config.

This is exactly what the audit bundle publishes (CONTRACT §5), so the server, the simulator
and an outside verifier all apply the same rules to the same data. Labels, colours and
coupons are presentation and live on :class:`gamify.core.campaign.Campaign` instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from itertools import accumulate
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gamify.core.canonical import canonical_json
from gamify.core.fairness import ALGORITHMS, V1

ALGORITHM: Final = V1  # what a config without ``algorithm`` (and every v1 epoch) was drawn with
MAX_TOTAL_WEIGHT = 2**64  # the uniform draw of CONTRACT §4 cannot go beyond
GAMES = ("wheel", "scratch")
PERIODS = ("day", "week", "campaign")
Period = Literal["day", "week", "campaign"]


@dataclass(frozen=True)
class PrizeRule:
    id: str
    weight: int
    stock: int | None = None
    value: Decimal | None = None
    win: bool = True


@dataclass(frozen=True)
class Limit:
    plays: int
    per: Period


@dataclass(frozen=True)
class Budget:
    max_value_per_day: Decimal | None = None
    max_value_total: Decimal | None = None


@dataclass(frozen=True)
class Rules:
    """Prizes in file order, fallback, budget, limits and schedule of one config version."""

    campaign: str
    game: str
    timezone: str
    starts: datetime
    ends: datetime
    prizes: tuple[PrizeRule, ...]
    fallback: str
    limits: tuple[Limit, ...] = ()
    budget: Budget = field(default_factory=Budget)
    algorithm: str = ALGORITHM

    @cached_property
    def weights(self) -> tuple[int, ...]:
        return tuple(p.weight for p in self.prizes)

    @cached_property
    def total_weight(self) -> int:
        return sum(self.weights)

    @cached_property
    def running(self) -> tuple[int, ...]:
        """Running sums of the weights, the form :func:`gamify.core.fairness.draw` takes."""
        return tuple(accumulate(self.weights))

    @cached_property
    def index(self) -> dict[str, int]:
        return {p.id: i for i, p in enumerate(self.prizes)}

    def prize(self, prize_id: str) -> PrizeRule:
        return self.prizes[self.index[prize_id]]

    @cached_property
    def config(self) -> dict[str, Any]:
        """The normalised config of CONTRACT §5: plain JSON types, integer weights, file order."""
        return {
            "algorithm": self.algorithm,
            "id": self.campaign,
            "game": self.game,
            "timezone": self.timezone,
            "starts": iso_utc(self.starts),
            "ends": iso_utc(self.ends),
            "limits": [{"plays": lim.plays, "per": lim.per} for lim in self.limits],
            "budget": {
                "max_value_per_day": _number(self.budget.max_value_per_day),
                "max_value_total": _number(self.budget.max_value_total),
            },
            "fallback": self.fallback,
            "prizes": [
                {
                    "id": p.id,
                    "weight": p.weight,
                    "stock": p.stock,
                    "value": _number(p.value),
                    "win": p.win,
                }
                for p in self.prizes
            ],
        }

    @cached_property
    def config_hash(self) -> str:
        return config_hash(self.config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Rules:
        """Rebuild rules from a bundle's config, refusing what a server could never have written.

        Raises ValueError (with the reason) for anything malformed, so a verifier reports a
        finding instead of crashing on a forged config.
        """
        try:
            rules = cls._from_config(config)
        except (KeyError, TypeError, AttributeError, InvalidOperation) as exc:
            raise ValueError(f"malformed config: {exc!r}") from None
        rules.validate()
        return rules

    @classmethod
    def _from_config(cls, config: dict[str, Any]) -> Rules:
        budget = config.get("budget") or {}
        return cls(
            campaign=_str(config["id"]),
            game=_str(config.get("game", "wheel")),
            timezone=_str(config["timezone"]),
            starts=parse_utc(config["starts"]),
            ends=parse_utc(config["ends"]),
            prizes=tuple(
                PrizeRule(
                    id=_str(p["id"]),
                    weight=_int(p["weight"], 1),
                    stock=None if p.get("stock") is None else _int(p["stock"], 0),
                    value=_decimal(p.get("value")),
                    win=_bool(p.get("win", True)),
                )
                for p in config["prizes"]
            ),
            fallback=_str(config["fallback"]),
            limits=tuple(
                Limit(_int(x["plays"], 1), _period(x["per"])) for x in config.get("limits", [])
            ),
            budget=Budget(
                max_value_per_day=_decimal(budget.get("max_value_per_day")),
                max_value_total=_decimal(budget.get("max_value_total")),
            ),
            algorithm=_str(config.get("algorithm", ALGORITHM)),
        )

    def validate(self) -> None:
        """The invariants every loaded campaign has; ValueError naming the first one broken."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.timezone!r}") from None
        if not self.prizes:
            raise ValueError("no prizes")
        if len(self.index) != len(self.prizes):
            raise ValueError("duplicate prize ids")
        if self.total_weight > MAX_TOTAL_WEIGHT:
            raise ValueError("weights add up to more than 2**64")
        if self.fallback not in self.index:
            raise ValueError(f"fallback {self.fallback!r} is not a prize")
        fallback = self.prize(self.fallback)
        if fallback.stock is not None or fallback.value is not None:
            raise ValueError("the fallback must have no stock and no value")
        values = [p.value for p in self.prizes] + [
            self.budget.max_value_per_day,
            self.budget.max_value_total,
        ]
        if any(v is not None and (not v.is_finite() or v < 0) for v in values):
            raise ValueError("values and budgets must be finite numbers >= 0")
        if self.ends <= self.starts:
            raise ValueError("ends is not after starts")
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown fairness algorithm {self.algorithm!r}")


@dataclass
class Ledger:
    """What has been given so far: the state the fallback rule needs, passed in by the caller."""

    awarded: dict[str, int] = field(default_factory=dict)
    spent_today: Decimal = Decimal(0)
    spent_total: Decimal = Decimal(0)

    def record(self, prize: PrizeRule) -> None:
        self.awarded[prize.id] = self.awarded.get(prize.id, 0) + 1
        if prize.value:
            self.spent_today += prize.value
            self.spent_total += prize.value


Shortage = Literal["stock", "day-budget", "total-budget"]


def shortage(rules: Rules, prize: PrizeRule, ledger: Ledger) -> Shortage | None:
    """Why ``prize`` cannot be given now (its stock, or which budget cap), or None if it can."""
    if prize.stock is not None and ledger.awarded.get(prize.id, 0) >= prize.stock:
        return "stock"
    if prize.value:
        day_cap = rules.budget.max_value_per_day
        if day_cap is not None and ledger.spent_today + prize.value > day_cap:
            return "day-budget"
        total_cap = rules.budget.max_value_total
        if total_cap is not None and ledger.spent_total + prize.value > total_cap:
            return "total-budget"
    return None


def award(rules: Rules, drawn: PrizeRule, ledger: Ledger) -> PrizeRule:
    """The awarded prize of CONTRACT §4: the drawn one, or the fallback when it cannot be given."""
    return drawn if shortage(rules, drawn, ledger) is None else rules.prize(rules.fallback)


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(config)).hexdigest()


def iso_utc(moment: datetime) -> str:
    """UTC, ISO 8601, ending in ``Z`` (microseconds only when there are any)."""
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"


def parse_utc(text: object) -> datetime:
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError(f"not a UTC time ending in Z: {text!r}")
    moment = datetime.fromisoformat(text[:-1])
    if moment.tzinfo is not None:
        raise ValueError(f"not a UTC time ending in Z: {text!r}")
    return moment.replace(tzinfo=UTC)


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    return Decimal(str(value))


def _int(value: object, minimum: int) -> int:
    if type(value) is not int or value < minimum:
        raise TypeError(f"not an integer >= {minimum}: {value!r}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"not a string: {value!r}")
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"not true or false: {value!r}")
    return value


def _period(value: object) -> Period:
    if value not in PERIODS:
        raise TypeError(f"not one of {PERIODS}: {value!r}")
    return value  # type: ignore[return-value]
