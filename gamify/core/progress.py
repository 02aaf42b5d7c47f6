"""Challenge progress as a pure computation: given what a customer's windows hold (read under the
customer's lock) and the events just stored, what each event adds, what refunds take back, and
which windows complete. No storage and no clock: the use case reads, this module decides, and
the use case writes it back in the same transaction.

Progress is a set of contributions, one per (challenge, customer, window, step, source): an
event, or a passed quiz. An order's contribution follows the order's net total (its total less
every refund of it), so a refund lowers or cancels what its order gave, however many partial
refunds there are and in whatever order they arrive; a reward already granted stays granted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from gamify.core.challenge import UNITS, Challenge, Step, Window, shown_units
from gamify.core.events import Event

Key = tuple[str, str, str]
"""(challenge, customer, window key): one customer's round of one challenge."""


@dataclass
class Tally:
    """What a customer's window of a challenge holds: net progress by step (in units), the
    contributions that count in each ``at_most`` period, quiz attempts by step, and whether
    the window is completed (and its reward)."""

    units: dict[str, int] = field(default_factory=dict)
    counted: dict[tuple[str, str], int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    completed: bool = False
    rewarded: bool = False
    coupon: str | None = None


class Contribution(NamedTuple):
    """What one source gives one step of a customer's window.

    A named tuple, as :class:`StoredContribution` is: cheaper to make than a frozen dataclass,
    and a batch of events makes hundreds."""

    challenge: str
    customer: str
    window: str
    step: str
    source: str  # the event's id, or quiz:<attempt>
    units: int
    order_id: str | None = None
    period: str | None = None

    @property
    def key(self) -> Key:
        return (self.challenge, self.customer, self.window)


class StoredContribution(NamedTuple):
    """A :class:`Contribution` as stored, with the units refunds took back since (its fields
    first, in the same order: ``StoredContribution(*contribution)``)."""

    challenge: str
    customer: str
    window: str
    step: str
    source: str
    units: int
    order_id: str | None = None
    period: str | None = None
    refunded: int = 0

    @property
    def key(self) -> Key:
        return (self.challenge, self.customer, self.window)

    @property
    def net(self) -> int:
        return self.units - self.refunded


@dataclass(frozen=True)
class Reversal:
    """A contribution's refunded units raised to ``refunded`` (never lowered)."""

    contribution: StoredContribution
    refunded: int


@dataclass(frozen=True)
class OrderFacts:
    """An order as its stored events tell it: the paid event's payload, the refunds' sum."""

    paid: Mapping[str, Any] | None
    refunded: Decimal

    def net_total(self, paid: Mapping[str, Any]) -> Decimal:
        total = Decimal(str((paid.get("order") or {}).get("total") or 0))
        return max(total - self.refunded, Decimal(0))


def order_facts(payloads: Iterable[Mapping[str, Any]]) -> dict[str, OrderFacts]:
    """Each order's facts from its stored events (oldest first): the first paid event, and the
    refunds sent for the same customer (a refund under another customer's id is a store's
    mistake, and takes nothing from the order)."""
    paid: dict[str, Mapping[str, Any]] = {}
    refunds: dict[str, list[Mapping[str, Any]]] = {}
    for payload in payloads:
        order_id = str((payload.get("order") or {}).get("id"))
        if payload.get("type") == "order.paid":
            paid.setdefault(order_id, payload)
        else:
            refunds.setdefault(order_id, []).append(payload)
    facts = {}
    for order_id in set(paid) | set(refunds):
        owner = paid[order_id].get("customer") if order_id in paid else None
        refunded = sum(
            (
                Decimal(str(r["order"].get("refund_total") or 0))
                for r in refunds.get(order_id, ())
                if owner is None or r.get("customer") == owner
            ),
            Decimal(0),
        )
        facts[order_id] = OrderFacts(paid.get(order_id), refunded)
    return facts


def step_progress(challenge: Challenge, step: Step, units: int) -> dict[str, Any]:
    """A step's progress as the API shows it, made as the plan goes: a dict of strings and
    numbers is one object that the garbage collector never follows."""
    goal = step.goal_units
    return {
        "challenge": challenge.id,
        "step": step.id,
        "progress": shown_units(min(units, goal)),
        "target": shown_units(goal),
        "done": units >= goal,
    }


@dataclass
class Plan:
    contributions: list[Contribution] = field(default_factory=list)
    reversals: list[Reversal] = field(default_factory=list)
    completions: list[Key] = field(default_factory=list)
    progress: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """By event id: the steps it moved, as they stand after it (:func:`step_progress`)."""
    completed_by: dict[Key, str] = field(default_factory=dict)
    """Which event completed each window."""


Match = tuple[Challenge, Step, Window]
"""A step an event counts for, with the window the event falls in."""
Matched = dict[str, tuple[Match, ...]]
"""Events' steps by event id."""


class ChallengeIndex:
    """The running challenges' steps by the event type they take, so an event costs the steps
    that listen to its type, not a scan of every challenge."""

    def __init__(self, challenges: Iterable[Challenge]) -> None:
        self.challenges = {c.id: c for c in challenges}
        self.by_type: dict[str, list[tuple[Challenge, Step]]] = {}
        self.order_challenges: list[Challenge] = []
        for challenge in self.challenges.values():
            for step in challenge.steps:
                if step.event is not None:
                    self.by_type.setdefault(step.event, []).append((challenge, step))
            if any(t.startswith("order.") for t in challenge.event_types):
                self.order_challenges.append(challenge)
        self.counting = sorted({c.id for steps in self.by_type.values() for c, _ in steps})
        """The challenges that count events: those an order's events may have given to."""
        self._matches: dict[tuple[str, str, str], Match] = {}

    def steps_for(self, event: Event) -> tuple[Match, ...]:
        found = []
        for challenge, step in self.by_type.get(event.type, ()):
            window = challenge.window(event.occurred_at)
            if window is not None and step.takes(event.payload):
                found.append(self._match(challenge, step, window))
        return tuple(found)

    def _match(self, challenge: Challenge, step: Step, window: Window) -> Match:
        """One tuple per step and window, shared by the events that fall in it (as windows
        are: see :meth:`Challenge.window`), not one more object per event to collect."""
        name = (challenge.id, step.id, window.key)
        match = self._matches.get(name)
        if match is None:
            match = self._matches[name] = (challenge, step, window)
        return match

    def match(self, events: Sequence[Event]) -> Matched:
        """Each event's steps, by event id: worked out once per request."""
        return {event.id: self.steps_for(event) for event in events}

    def keys_for(self, events: Sequence[Event], matched: Matched | None = None) -> set[Key]:
        found = matched if matched is not None else self.match(events)
        return {
            (challenge.id, event.customer, window.key)
            for event in events
            for challenge, _, window in found[event.id]
        }


def order_units(step: Step, paid: Mapping[str, Any], facts: OrderFacts | None) -> int:
    """What a paid order gives ``step`` once its refunds are taken into account."""
    if facts is None or facts.refunded == 0:
        return step.units(paid)
    net = facts.net_total(paid)
    if net <= 0:
        return 0
    order = dict(paid.get("order") or {})
    order["total"] = f"{net:f}"
    reduced = {**paid, "order": order}
    if step.sum == "total":
        return step.units(reduced)
    return step.units(paid) if step.where.matches(reduced) else 0


def plan(
    index: ChallengeIndex,
    events: Sequence[Event],
    tallies: Mapping[Key, Tally],
    orders: Mapping[str, OrderFacts],
    order_contributions: Sequence[StoredContribution],
    matched: Matched | None = None,
) -> Plan:
    """What ``events`` (stored just now, in order) do to the challenges' progress.

    ``tallies`` holds every key :meth:`ChallengeIndex.keys_for` names, ``orders`` the facts of
    the events' orders and ``order_contributions`` what those orders gave so far; the tallies
    are updated in place as the plan goes; ``matched``, the events' steps if known already.
    """
    result = Plan()
    by_order: dict[str, list[StoredContribution]] = {}
    for stored in order_contributions:
        if stored.order_id is not None:
            by_order.setdefault(stored.order_id, []).append(stored)
    # what each contribution of those orders has refunded as the plan goes (several refunds of
    # one order may be in one batch)
    refunded: dict[tuple[Key, str, str], int] = {
        (s.key, s.step, s.source): s.refunded for s in order_contributions
    }
    given: set[tuple[Key, str, str]] = {
        (s.key, s.step, s.order_id) for s in order_contributions if s.order_id is not None
    }
    refunds_follow = any(e.type == "order.refunded" for e in events)
    for event in events:
        moved: list[dict[str, Any]] = []
        if event.type == "order.refunded":
            moved = _refund(index, event, tallies, orders, by_order, refunded, result)
        else:
            order_id = event.order_id
            facts = orders.get(order_id) if order_id is not None else None
            found = matched[event.id] if matched is not None else index.steps_for(event)
            for challenge, step, window in found:
                key = (challenge.id, event.customer, window.key)
                tally = tallies[key]
                if order_id is None:
                    units = step.units(event.payload)
                elif (key, step.id, order_id) in given:
                    continue  # the order counted already (paid twice under two event ids)
                else:
                    units = order_units(step, event.payload, facts)
                period = step.period(event.occurred_at, challenge.timezone)
                if units <= 0 or not _room(step, tally, period):
                    continue
                contribution = Contribution(
                    challenge.id,
                    event.customer,
                    window.key,
                    step.id,
                    event.id,
                    units,
                    order_id,
                    period,
                )
                result.contributions.append(contribution)
                if order_id is not None:
                    given.add((key, step.id, order_id))
                    if refunds_follow:  # a refund later in the batch finds it
                        by_order.setdefault(order_id, []).append(StoredContribution(*contribution))
                _add(tally, step, period, units)
                moved.append(step_progress(challenge, step, tally.units[step.id]))
                if not tally.completed and challenge.done(tally.units):
                    tally.completed = True
                    result.completions.append(key)
                    result.completed_by[key] = event.id
        if moved:
            result.progress[event.id] = moved
    return result


def _room(step: Step, tally: Tally, period: str | None) -> bool:
    if step.at_most is None or period is None:
        return True
    return tally.counted.get((step.id, period), 0) < step.at_most.times


def _add(tally: Tally, step: Step, period: str | None, units: int) -> None:
    tally.units[step.id] = tally.units.get(step.id, 0) + units
    if period is not None:
        tally.counted[(step.id, period)] = tally.counted.get((step.id, period), 0) + 1


def _refund(
    index: ChallengeIndex,
    event: Event,
    tallies: Mapping[Key, Tally],
    orders: Mapping[str, OrderFacts],
    by_order: Mapping[str, list[StoredContribution]],
    refunded: dict[tuple[Key, str, str], int],
    result: Plan,
) -> list[dict[str, Any]]:
    """Lower what the refunded order gave each step to what its net total now gives."""
    facts = orders.get(event.order_id or "")
    if facts is None or facts.paid is None:
        return []
    moved = []
    for stored in by_order.get(event.order_id or "", ()):
        challenge = index.challenges.get(stored.challenge)
        step = challenge.step(stored.step) if challenge else None
        tally = tallies.get(stored.key)
        if challenge is None or step is None or tally is None or stored.customer != event.customer:
            continue
        slot_id = (stored.key, stored.step, stored.source)
        before = refunded.get(slot_id, stored.refunded)
        now_gives = min(order_units(step, facts.paid, facts), stored.units)
        if stored.units - now_gives <= before:
            continue
        refunded[slot_id] = stored.units - now_gives
        result.reversals.append(Reversal(stored, stored.units - now_gives))
        tally.units[step.id] = tally.units.get(step.id, 0) - (stored.units - now_gives - before)
        if stored.period is not None and now_gives == 0 and stored.units > before:
            slot = (step.id, stored.period)
            tally.counted[slot] = max(tally.counted.get(slot, 0) - 1, 0)
        moved.append(step_progress(challenge, step, tally.units[step.id]))
    return moved


def step_units(units: int) -> Decimal:
    return Decimal(units) / UNITS
