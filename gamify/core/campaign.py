"""A campaign as marketers describe it: rules plus the texts, colours and coupons shoppers see.

Immutable: a reload builds a new object, so a running play never sees half of an edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Literal

from gamify.core.fairness import V1, V2
from gamify.core.rules import Budget, Limit, PrizeRule, Rules

DEFAULT_LANGUAGE = "en"
DEFAULT_ROTATION = timedelta(days=1)

Game = Literal["wheel", "scratch"]


@dataclass(frozen=True)
class Text:
    """A text in one or more languages, as ``(language, text)`` pairs in file order."""

    values: tuple[tuple[str, str], ...]

    def get(self, lang: str | None = None) -> str:
        """The text in ``lang`` (``es-ES`` falls back to ``es``), else English, else the first."""
        return dict(self.values)[self.language(lang)]

    def language(self, lang: str | None = None) -> str:
        """The language :meth:`get` answers ``lang`` with: what a shopper was shown, as a
        consent record must say."""
        table = dict(self.values)
        for candidate in (lang, (lang or "").split("-")[0], DEFAULT_LANGUAGE):
            if candidate and candidate in table:
                return candidate
        return self.values[0][0]

    def as_dict(self) -> dict[str, str]:
        return dict(self.values)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(lang for lang, _ in self.values)


@dataclass(frozen=True)
class Coupon:
    """How a prize's coupon code is made: from a pattern such as ``BF10-{code:8}``, or a pool."""

    pattern: str | None = None
    pool: Path | None = None


@dataclass(frozen=True)
class Prize:
    id: str
    label: Text
    weight: int
    stock: int | None = None
    value: Decimal | None = None
    win: bool = True
    color: str | None = None
    coupon: Coupon | None = None

    @property
    def rule(self) -> PrizeRule:
        return PrizeRule(
            id=self.id, weight=self.weight, stock=self.stock, value=self.value, win=self.win
        )


DEFAULT_MIN_AGE = 18


@dataclass(frozen=True)
class Guests:
    """Play without an account, with an email (CONTRACT §13): ``consent`` is the marketing
    consent text shown beside its own unticked box; ``per_ip`` caps plays per client address,
    which a second email alias cannot dodge; ``min_age`` is who may play (the terms say it),
    asked for with a box when the file sets it (``ask_age``)."""

    consent: Text
    per_ip: Limit | None = None
    min_age: int = DEFAULT_MIN_AGE
    ask_age: bool = False


@dataclass(frozen=True)
class Campaign:
    id: str
    game: Game
    title: Text
    timezone: str
    starts: datetime
    ends: datetime
    prizes: tuple[Prize, ...]
    fallback: str
    limits: tuple[Limit, ...] = ()
    budget: Budget = field(default_factory=Budget)
    description: Text | None = None
    source: Path | None = None
    holdout: int = 0
    """Percent of customers kept from the game to measure it (CONTRACT §11); not part of the
    rules: it changes who plays, not how a play is drawn."""
    rotate_every: timedelta = DEFAULT_ROTATION
    """How long an epoch stays open: the first play or read after that closes it (its seed
    revealed) and opens the next, so every draw is checkable within that time (CONTRACT §12)."""
    guests: Guests | None = None
    """Whether shoppers without an account may play, and on what terms (CONTRACT §13); not
    part of the rules: it changes who plays, not how a play is drawn."""

    @cached_property
    def rules(self) -> Rules:
        return Rules(
            campaign=self.id,
            game=self.game,
            timezone=self.timezone,
            starts=self.starts,
            ends=self.ends,
            prizes=tuple(p.rule for p in self.prizes),
            fallback=self.fallback,
            limits=self.limits,
            budget=self.budget,
            algorithm=V2,
        )

    @property
    def config_hash(self) -> str:
        return self.rules.config_hash

    @cached_property
    def _rules_v1(self) -> Rules:
        return replace(self.rules, algorithm=V1)

    def rules_for(self, algorithm: str) -> Rules:
        """The rules as an epoch drawn with ``algorithm`` publishes them (:attr:`rules`: v2, as
        every epoch opened since v2 exists): the config records the algorithm, so each one
        has its own config hash."""
        return self._rules_v1 if algorithm == V1 else self.rules

    def prize(self, prize_id: str) -> Prize:
        return self.prizes[self.rules.index[prize_id]]

    def epoch_due(self, opened_at: datetime | None, now: datetime) -> bool:
        """Whether an epoch opened at ``opened_at`` has been open for :attr:`rotate_every`."""
        return opened_at is not None and now >= opened_at + self.rotate_every

    def epoch_closes_at(self, opened_at: datetime) -> datetime:
        """When an epoch opened at ``opened_at`` closes by itself and its seed is revealed:
        once :meth:`epoch_due`, or at the campaign's end if that comes first."""
        return min(opened_at + self.rotate_every, self.ends)

    def is_running(self, moment: datetime) -> bool:
        return self.starts <= moment < self.ends
