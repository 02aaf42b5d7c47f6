"""The points ledger's rules, pure: what an earn, a spend, a refund, an adjustment or the passing
of time does to a customer's lots, as immutable entries.

A **lot** is what one earning gave: its points, what is left of them, when they become usable
(an order's after the return window) and when what is left expires. The **balance** is derived
from the lots (usable and pending), and every change to a lot is an **entry**, so that the
balance can always be rebuilt from the entries alone (:func:`replay`). Nothing here reads a
clock: every operation takes ``now``.

Spending takes from the lots that expire first (then the oldest), so a customer never loses
points that a different order of spending would have kept. A refund takes back its order's
points from its own lot, then from other pending lots, then from usable ones, never below zero;
what it could not take back is recorded on its entry (``short``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from gamify.core.errors import InsufficientPoints

Kind = Literal["earned", "available", "spent", "expired", "refunded", "adjusted"]
KINDS: tuple[Kind, ...] = ("earned", "available", "spent", "expired", "refunded", "adjusted")


@dataclass(frozen=True)
class Lot:
    lot: int  # the seq of the entry that made it
    source: str  # what earned it (an event id, a challenge's window, an adjustment)
    points: int
    remaining: int
    earned_at: datetime
    available_at: datetime
    expires_at: datetime | None
    matured: bool  # its points moved from pending to usable (an ``available`` entry says when)
    order_id: str | None = None
    rate: Decimal = Decimal(0)  # points per whole unit of its order, for refunds
    qualifies: bool = True  # counts toward tiers (admin adjustments do not)
    refunded: int = 0  # of ``points``, what its order's refunds took back

    @property
    def pending(self) -> bool:
        return not self.matured


@dataclass(frozen=True)
class Entry:
    seq: int
    kind: Kind
    points: int  # the change to the balance: + earned/adjusted up, - spent/expired/refunded
    lot: int | None
    source: str
    at: datetime
    short: int = 0  # a refund: points it could not take back (the balance was already 0)
    note: str = ""  # an adjustment's reason, a reward's id


@dataclass(frozen=True)
class Balance:
    available: int = 0
    pending: int = 0


@dataclass
class Ledger:
    """One customer's lots while a transaction holds them, and the entries it adds."""

    next_seq: int
    lots: dict[int, Lot] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    changed: set[int] = field(default_factory=set)
    original: dict[int, Lot] = field(init=False)

    def __post_init__(self) -> None:
        self.original = dict(self.lots)

    def _add(
        self,
        kind: Kind,
        points: int,
        lot: int | None,
        source: str,
        at: datetime,
        *,
        short: int = 0,
        note: str = "",
    ) -> Entry:
        entry = Entry(self.next_seq, kind, points, lot, source, at, short, note)
        self.next_seq += 1
        self.entries.append(entry)
        return entry

    def _put(self, lot: Lot) -> None:
        self.lots[lot.lot] = lot
        self.changed.add(lot.lot)

    @property
    def balance(self) -> Balance:
        return balance_of(self.lots.values())

    def settle(self, now: datetime) -> None:
        """What time did: pending lots whose wait is over become usable, usable lots past their
        date expire, in the order it happened."""
        due: list[tuple[datetime, int, Kind]] = []
        for lot in self.lots.values():
            if not lot.matured and lot.available_at <= now:
                due.append((lot.available_at, lot.lot, "available"))
            if lot.remaining and lot.expires_at is not None and lot.expires_at <= now:
                due.append((lot.expires_at, lot.lot, "expired"))
        for at, number, kind in sorted(due, key=lambda d: (d[0], d[2] == "expired", d[1])):
            lot = self.lots[number]
            if kind == "available":
                self._add("available", 0, number, lot.source, at)
                self._put(replace(lot, matured=True))
            elif lot.remaining:
                self._add("expired", -lot.remaining, number, lot.source, at)
                self._put(replace(lot, remaining=0, matured=True))

    def earn(
        self,
        source: str,
        points: int,
        now: datetime,
        *,
        earned_at: datetime,
        available_at: datetime,
        expires_at: datetime | None,
        order_id: str | None = None,
        rate: Decimal = Decimal(0),
        qualifies: bool = True,
        kind: Kind = "earned",
        note: str = "",
    ) -> Lot | None:
        """A new lot (none for 0 points); usable now if its wait is already over."""
        if points <= 0:
            return None
        entry = self._add(kind, points, None, source, now, note=note)
        lot = Lot(
            lot=entry.seq,
            source=source,
            points=points,
            remaining=points,
            earned_at=earned_at,
            available_at=available_at,
            expires_at=expires_at,
            matured=False,
            order_id=order_id,
            rate=rate,
            qualifies=qualifies,
        )
        self._put(lot)
        self.settle(now)
        return self.lots[lot.lot]

    def spend(self, points: int, source: str, now: datetime, *, note: str = "") -> None:
        """Take ``points`` from the usable lots, those that expire first first."""
        self.settle(now)
        usable = self.balance.available
        if points > usable:
            raise InsufficientPoints(points, usable)
        self._take(points, _spend_order(self.lots.values()), "spent", source, now, note=note)

    def adjust(
        self,
        points: int,
        reason: str,
        now: datetime,
        *,
        expires_at: datetime | None,
        source: str,
    ) -> None:
        """An admin's correction: up makes a lot that does not count toward tiers; down takes
        usable points like a spend (never below zero)."""
        self.settle(now)
        if points > 0:
            self.earn(
                source,
                points,
                now,
                earned_at=now,
                available_at=now,
                expires_at=expires_at,
                qualifies=False,
                kind="adjusted",
                note=reason,
            )
        elif points < 0:
            usable = self.balance.available
            if -points > usable:
                raise InsufficientPoints(-points, usable)
            order = _spend_order(self.lots.values())
            self._take(-points, order, "adjusted", source, now, note=reason)

    def refund(self, order_id: str, refund_total: Decimal, source: str, now: datetime) -> int:
        """Take back what ``refund_total`` of the order earned: from its own lot, then other
        pending lots, then usable ones. Returns the points taken back; nothing happens when no
        lot holds the order (its points were never earned here)."""
        self.settle(now)
        own = [lot for lot in self.lots.values() if lot.order_id == order_id]
        if not own:
            return 0
        lot = own[0]
        units = max(refund_total, Decimal(0)).to_integral_value(rounding=ROUND_FLOOR)
        worth = int((units * lot.rate).to_integral_value(rounding=ROUND_FLOOR))
        owed = min(worth, lot.points - lot.refunded)
        if owed <= 0:
            return 0
        self._put(replace(lot, refunded=lot.refunded + owed))
        others = [x for x in self.lots.values() if x.lot != lot.lot and x.remaining]
        order = [
            self.lots[lot.lot],
            *sorted((x for x in others if x.pending), key=_soonest),
            *sorted((x for x in others if not x.pending), key=_soonest),
        ]
        taken = self._take(owed, order, "refunded", source, now, allow_short=True, note=order_id)
        return taken

    def _take(
        self,
        points: int,
        order: Iterable[Lot],
        kind: Kind,
        source: str,
        now: datetime,
        *,
        allow_short: bool = False,
        note: str = "",
    ) -> int:
        left = points
        touched = False
        for lot in order:
            take = min(self.lots[lot.lot].remaining, left)
            if take == 0:
                continue
            self._put(replace(self.lots[lot.lot], remaining=self.lots[lot.lot].remaining - take))
            self._add(kind, -take, lot.lot, source, now, note=note)
            left -= take
            touched = True
        if left and allow_short:  # what could not be taken back, on the refund's last entry
            if touched:
                self.entries[-1] = replace(self.entries[-1], short=left)
            else:
                self._add(kind, 0, None, source, now, short=left, note=note)
        return points - left

    def qualifying_change(self, since: datetime | None) -> int:
        """How much this transaction changed the points that count for tiers (earned since
        ``since``, net of their orders' refunds): the stored sum plus this is the new one."""

        def counted(lot: Lot | None) -> int:
            if lot is None or not lot.qualifies or (since is not None and lot.earned_at < since):
                return 0
            return lot.points - lot.refunded

        return sum(counted(self.lots[n]) - counted(self.original.get(n)) for n in self.changed)

    def next_change(self) -> datetime | None:
        """When time next changes the balance (a lot matures or expires), if ever."""
        times = [lot.available_at for lot in self.lots.values() if not lot.matured]
        times += [lot.expires_at for lot in self.lots.values() if lot.remaining and lot.expires_at]
        return min(times, default=None)


def _soonest(lot: Lot) -> tuple[bool, datetime, int]:
    """Expiring first, then the oldest: the order that loses the fewest points."""
    return (lot.expires_at is None, lot.expires_at or lot.earned_at, lot.lot)


def _spend_order(lots: Iterable[Lot]) -> list[Lot]:
    return sorted((x for x in lots if x.matured and x.remaining), key=_soonest)


def balance_of(lots: Iterable[Lot]) -> Balance:
    available = pending = 0
    for lot in lots:
        if lot.matured:
            available += lot.remaining
        else:
            pending += lot.remaining
    return Balance(available, pending)


def lots_in(entries: Sequence[Entry]) -> tuple[dict[int, int], set[int]]:
    """What the entries alone say of each lot: what is left of it, and whether it matured."""
    remaining: dict[int, int] = {}
    matured: set[int] = set()
    for entry in sorted(entries, key=lambda e: e.seq):
        if entry.kind in ("earned", "adjusted") and entry.lot is None:
            remaining[entry.seq] = entry.points
        elif entry.kind == "available" and entry.lot is not None:
            matured.add(entry.lot)
        elif entry.lot is not None:
            remaining[entry.lot] = remaining.get(entry.lot, 0) + entry.points
    return remaining, matured


def replay(entries: Sequence[Entry]) -> Balance:
    """The balance the entries alone give (how ``gamify loyalty rebuild`` proves the running
    one): each lot's points less what left it, usable once its ``available`` entry came."""
    remaining, matured = lots_in(entries)
    available = sum(v for k, v in remaining.items() if k in matured)
    pending = sum(v for k, v in remaining.items() if k not in matured)
    return Balance(available, pending)
