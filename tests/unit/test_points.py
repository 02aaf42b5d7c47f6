"""The ledger's rules without a database: random sequences of earnings, spends, refunds,
adjustments and time passing keep every invariant a customer relies on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamify.core.errors import InsufficientPoints
from gamify.core.points import Ledger, Lot, replay

START = datetime(2026, 1, 1, tzinfo=UTC)
PENDING = timedelta(days=14)
EXPIRES = timedelta(days=60)


def _earn(ledger: Ledger, n: int, points: int, now: datetime, order: str | None = None) -> None:
    available = now + PENDING if order else now
    ledger.earn(
        f"e{n}",
        points,
        now,
        earned_at=now,
        available_at=available,
        expires_at=available + EXPIRES,
        order_id=order,
        rate=Decimal(1),
    )


def test_an_orders_points_wait_then_are_usable_then_expire() -> None:
    ledger = Ledger(1)
    _earn(ledger, 1, 59, START, order="o1")
    assert (ledger.balance.available, ledger.balance.pending) == (0, 59)
    ledger.settle(START + PENDING)
    assert (ledger.balance.available, ledger.balance.pending) == (59, 0)
    ledger.settle(START + PENDING + EXPIRES)
    assert (ledger.balance.available, ledger.balance.pending) == (0, 0)
    assert [e.kind for e in ledger.entries] == ["earned", "available", "expired"]
    assert ledger.next_change() is None


def test_spending_takes_the_points_that_expire_first() -> None:
    ledger = Ledger(1)
    _earn(ledger, 1, 10, START)
    _earn(ledger, 2, 10, START + timedelta(days=5))
    ledger.spend(15, "redeem:k", START + timedelta(days=6))
    assert {lot.source: lot.remaining for lot in ledger.lots.values()} == {"e1": 0, "e2": 5}
    with pytest.raises(InsufficientPoints):
        ledger.spend(6, "redeem:k2", START + timedelta(days=6))


def test_a_refund_takes_from_its_order_then_pending_then_usable_never_below_zero() -> None:
    ledger = Ledger(1)
    _earn(ledger, 1, 30, START)  # usable
    _earn(ledger, 2, 50, START, order="o1")  # pending
    _earn(ledger, 3, 20, START, order="o2")  # pending
    ledger.refund("o1", Decimal("50"), "r1", START)
    assert {lot.source: lot.remaining for lot in ledger.lots.values()} == {
        "e1": 30,
        "e2": 0,
        "e3": 20,
    }
    ledger.settle(START + PENDING)
    ledger.spend(40, "redeem:k", START + PENDING)
    taken = ledger.refund("o2", Decimal("20.99"), "r2", START + PENDING)
    assert taken == 10 and ledger.entries[-1].short == 10  # only 10 were left
    assert ledger.balance.available == 0
    assert ledger.refund("o2", Decimal("5"), "r3", START + PENDING) == 0  # refunded in full
    assert ledger.refund("unknown", Decimal("5"), "r4", START) == 0


@dataclass
class Model:
    """What the customer should have, counted the simple way."""

    earned: int = 0
    spent: int = 0
    refunded: int = 0
    expired: int = 0
    orders: dict[str, int] = field(default_factory=dict)


operation = st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 200), st.booleans()),
    st.tuples(st.just("spend"), st.integers(1, 300), st.just(False)),
    st.tuples(st.just("refund"), st.integers(0, 250), st.just(False)),
    st.tuples(st.just("adjust"), st.integers(-100, 100), st.just(False)),
    st.tuples(st.just("wait"), st.integers(1, 40), st.just(False)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(operation, max_size=40))
def test_the_balance_always_equals_the_replayed_entries_and_never_goes_negative(
    operations: list[tuple[str, int, bool]],
) -> None:
    ledger = Ledger(1)
    now = START
    orders: list[str] = []
    for n, (kind, amount, is_order) in enumerate(operations):
        if kind == "earn":
            order = f"o{n}" if is_order else None
            _earn(ledger, n, amount, now, order)
            if order:
                orders.append(order)
        elif kind == "spend":
            before = ledger.balance.available
            try:
                ledger.spend(amount, f"redeem:{n}", now)
            except InsufficientPoints:
                assert amount > before
            else:
                assert ledger.balance.available == before - amount
        elif kind == "refund" and orders:
            ledger.refund(orders[amount % len(orders)], Decimal(amount), f"r{n}", now)
        elif kind == "adjust" and amount:
            try:
                ledger.adjust(amount, "test", now, expires_at=now + EXPIRES, source=f"a{n}")
            except InsufficientPoints:
                assert -amount > ledger.balance.available
        elif kind == "wait":
            now += timedelta(days=amount)
            ledger.settle(now)
        balance = ledger.balance
        assert balance == replay(ledger.entries)
        assert balance.available >= 0 and balance.pending >= 0
        assert all(0 <= lot.remaining <= lot.points for lot in ledger.lots.values())
        assert all(0 <= lot.refunded <= lot.points for lot in ledger.lots.values())
        assert sum(e.points for e in ledger.entries) == balance.available + balance.pending
        assert [e.seq for e in ledger.entries] == list(range(1, ledger.next_seq))
        assert all(_consistent(lot, now) for lot in ledger.lots.values())


def _consistent(lot: Lot, now: datetime) -> bool:
    """Settled lots: matured once their wait is over, nothing left once expired."""
    if lot.available_at <= now and not lot.matured:
        return False
    return not (lot.expires_at is not None and lot.expires_at <= now and lot.remaining)
