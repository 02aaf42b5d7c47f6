"""Loyalty on SQLite and PostgreSQL, through the service as the API and the events use it:
points from orders after the return window, caps, tiers with their multiplier and once-ever
rewards, refunds, expiry, redemptions with stock and Idempotency-Keys, challenge points, the
inbox finishing what a dead process left, and a rebuild that finds and repairs a tampered
balance. Then random sequences (Hypothesis) on SQLite: the running balance always equals the
one the entries give, never negative, no level rewarded twice."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import campaign_yaml
from databases import KINDS, database_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from gamify.core.errors import IdempotencyConflict, InsufficientPoints, OutOfStock
from gamify.core.loyalty import Loyalty
from gamify.core.points import replay
from gamify.storage.tables import account_t, counter_t, grant_t, lot_t
from gamify.web.state import GamifyState, build_state

SECRET = "loyalty-secret"
START = datetime(2026, 3, 2, 10, tzinfo=UTC)  # a Monday
LOYALTY = """\
loyalty:
  timezone: Europe/Madrid
  earn:
    - {event: order.paid, points_per_unit: 1}
    - {event: review.published, points: 50, at_most: {times: 1, per: week}}
  pending_days: 14
  expire_after_days: 90
  tiers:
    window: rolling_12_months
    levels:
      - {id: bronce, label: {es: Bronce, en: Bronze}, min: 0}
      - id: plata
        label: {es: Plata, en: Silver}
        min: 200
        multiplier: 1.5
        reward: {coupon: {pattern: "PLATA-{code:8}"}}
      - id: oro
        label: {es: Oro, en: Gold}
        min: 1000
        multiplier: 2
        reward: {plays: {campaign: wheel, count: 2}}
  rewards:
    - {id: envio, label: {es: Envío, en: Shipping}, cost: 100, coupon: {pool: envio.csv}, stock: 2}
    - {id: cinco, label: {es: "5 €", en: "€5"}, cost: 250, coupon: {pattern: "CINCO-{code:6}"}}
"""


class Store:
    """A store's gamify with a clock the test moves."""

    def __init__(self, current: GamifyState) -> None:
        self.current = current
        self.now = START
        current.service.clock = lambda: self.now
        self.n = 0

    @property
    def program(self) -> Loyalty:
        found = self.current.registry.loyalty()
        assert found is not None
        return found

    def send(self, *events: dict[str, Any]) -> list[Any]:
        tracked = self.current.service.track_events(
            {"events": list(events)}, self.current.registry.index(), [], self.program
        )
        return tracked.loyalty

    def order(self, customer: str, total: str, order_id: str | None = None) -> dict[str, Any]:
        self.n += 1
        order_id = order_id or f"o{self.n}"
        return {
            "id": f"paid-{order_id}", "type": "order.paid", "customer": customer,
            "occurred_at": self.now.isoformat(),
            "order": {"id": order_id, "total": total, "currency": "EUR"},
        }  # fmt: skip

    def refund(self, customer: str, order_id: str, amount: str) -> dict[str, Any]:
        self.n += 1
        return {
            "id": f"refund-{self.n}", "type": "order.refunded", "customer": customer,
            "occurred_at": self.now.isoformat(),
            "order": {"id": order_id, "refund_total": amount},
        }  # fmt: skip

    def review(self, customer: str) -> dict[str, Any]:
        self.n += 1
        return {
            "id": f"review-{self.n}", "type": "review.published", "customer": customer,
            "occurred_at": self.now.isoformat(),
        }  # fmt: skip

    def points(self, customer: str) -> tuple[int, int]:
        standing, _ = self.current.service.standing(self.program, customer)
        return standing.account.available, standing.account.pending

    def tier(self, customer: str) -> str | None:
        standing, _ = self.current.service.standing(self.program, customer)
        return standing.account.tier

    def wait(self, days: float) -> None:
        self.now += timedelta(days=days)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "campaigns"
    folder.mkdir(exist_ok=True)
    (folder / "loyalty.yaml").write_text(LOYALTY, encoding="utf-8")
    (folder / "envio.csv").write_text("code\nENV-1\nENV-2\nENV-3\n", encoding="utf-8")
    wheel = campaign_yaml("wheel", START - timedelta(days=1), START + timedelta(days=800))
    (folder / "wheel.yaml").write_text(wheel, encoding="utf-8")
    return folder


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with database_url(request.param, tmp_path) as url:
        current = build_state(
            database_url=url, campaigns=_folder(tmp_path), secret=SECRET, start=False
        )
        made = Store(current)
        current.start()
        yield made
        current.engine.dispose()


def test_order_points_wait_out_the_return_window_then_expire(store: Store) -> None:
    store.send(store.order("ana", "59.90"))
    assert store.points("ana") == (0, 59)  # a point per whole euro, pending for 14 days
    store.wait(14)
    assert store.points("ana") == (59, 0)
    standing, _ = store.current.service.standing(store.program, "ana")
    assert [(n, on.isoformat()) for n, on in standing.expiring] == [(59, "2026-06-14")]
    store.wait(90)
    assert store.points("ana") == (0, 0)


def test_a_review_earns_once_a_week(store: Store) -> None:
    store.send(store.review("bea"), store.review("bea"))
    store.send(store.review("bea"))
    assert store.points("bea") == (50, 0)
    store.wait(7)  # the next Monday: a new week
    store.send(store.review("bea"))
    assert store.points("bea") == (100, 0)


def test_a_tier_multiplies_later_orders_and_gives_its_reward_once_ever(store: Store) -> None:
    changes = store.send(store.order("cai", "250"))
    assert store.tier("cai") == "plata"  # points earned count at once, pending or not
    [change] = changes
    [grant] = change.granted
    assert grant.level.id == "plata" and grant.coupon and grant.coupon.startswith("PLATA-")
    store.send(store.order("cai", "100"))  # x 1.5 as plata
    assert store.points("cai") == (0, 250 + 150)
    store.send(store.refund("cai", "o1", "250"))  # back below plata
    assert store.tier("cai") == "bronce"
    store.send(store.order("cai", "100"))  # x 1: back above 200 with 150 + 100
    assert store.tier("cai") == "plata"
    with store.current.engine.connect() as conn:
        grants = conn.execute(select(grant_t).where(grant_t.c.customer == "cai")).all()
    assert [g.level for g in grants] == ["plata"]  # not given again


def test_gold_gives_extra_plays_and_the_window_lets_points_go(store: Store) -> None:
    store.send(store.order("dan", "1000"))
    assert store.tier("dan") == "oro"  # passing plata on the way gives plata's reward too
    player = store.current.service.player("wheel", "dan")
    with store.current.engine.connect() as conn:
        bonus = conn.execute(
            select(counter_t.c.value).where(
                counter_t.c.campaign == "wheel", counter_t.c.scope == f"bonus:{player}"
            )
        ).scalar()
        levels = conn.execute(select(grant_t.c.level).where(grant_t.c.customer == "dan"))
        assert sorted(levels.scalars()) == ["oro", "plata"]
    assert bonus == 2
    store.wait(14)
    store.current.service.redeem(store.program, "dan", "cinco", "k1")  # no review: a spend
    store.wait(352)  # the order leaves the rolling 12 months: the review time was kept
    assert store.tier("dan") == "bronce"


def test_a_refund_takes_back_its_orders_points_never_below_zero(store: Store) -> None:
    store.send(store.order("eva", "80"), store.review("eva"))
    store.wait(15)
    redeemed = store.current.service.redeem(store.program, "eva", "envio", "k1")
    assert redeemed.redemption.coupon == "ENV-1"
    assert store.points("eva") == (30, 0)  # the review's 50 expire first (usable first)
    store.send(store.refund("eva", "o1", "80"))
    assert store.points("eva") == (0, 0)  # 30 were left of the 80 to take back
    entries, _ = store.current.service.loyalty.history("eva")
    assert entries[-1].kind == "refunded" and entries[-1].short == 50


def test_a_refund_that_arrives_before_its_order_still_counts(store: Store) -> None:
    order = store.order("fay", "100", "late-order")
    store.send(store.refund("fay", "late-order", "40"))
    store.send(order)
    assert store.points("fay") == (0, 60)


def test_redemptions_respect_points_stock_and_idempotency_keys(store: Store) -> None:
    service, program = store.current.service, store.program
    store.send(store.order("gil", "500"))
    with pytest.raises(InsufficientPoints):
        service.redeem(program, "gil", "envio", "k0")  # pending points are not usable
    store.wait(14)
    first = service.redeem(program, "gil", "envio", "k1")
    again = service.redeem(program, "gil", "envio", "k1")
    assert again.replayed and again.redemption == first.redemption
    with pytest.raises(IdempotencyConflict):
        service.redeem(program, "gil", "cinco", "k1")
    service.redeem(program, "gil", "envio", "k2")
    with pytest.raises(OutOfStock):
        service.redeem(program, "gil", "envio", "k3")  # stock 2
    five = service.redeem(program, "gil", "cinco", "k4")
    assert five.redemption.coupon and five.redemption.coupon.startswith("CINCO-")
    assert store.points("gil") == (500 - 100 - 100 - 250, 0)


def test_challenge_points_join_the_ledger(store: Store, tmp_path: Path) -> None:
    challenge = f"""\
id: reviewer
game: challenge
title: Reviewer
timezone: Europe/Madrid
starts: {(START - timedelta(days=1)).date()}T00:00:00
ends: {(START + timedelta(days=30)).date()}T00:00:00
steps:
  - {{id: review, label: A review, event: review.published, count: 1}}
reward: {{label: Points, points: 40}}
"""
    (tmp_path / "campaigns" / "reviewer.yaml").write_text(challenge, encoding="utf-8")
    store.current.registry.reload()
    store.send(store.review("hal"))
    assert store.points("hal") == (90, 0)  # 50 for the review, 40 from the challenge


def test_what_a_dead_process_left_in_the_inbox_is_settled_on_the_next_read(store: Store) -> None:
    current = store.current
    # The events stored with their inbox rows, and the process gone before the ledger's turn:
    current.service.track_events(
        {"events": [store.order("ian", "70")]}, current.registry.index(), [], None
    )
    with current.service.progress.transaction() as tx:
        tx.to_loyalty([("ian", "paid-o1")])
    assert store.points("ian") == (0, 70)


def test_expire_settles_every_due_account_and_rebuild_repairs_a_tampered_one(
    store: Store,
) -> None:
    service = store.current.service
    store.send(store.order("jo", "30"), store.order("kim", "40"))
    store.wait(14 + 90)
    changed = service.expire_due(store.program)
    assert {c.customer for c in changed} == {"jo", "kim"}
    assert service.rebuild() == []
    store.wait(1)
    store.send(store.order("jo", "20"))
    with store.current.engine.begin() as conn:
        conn.execute(update(account_t).where(account_t.c.customer == "jo").values(pending=999))
        conn.execute(update(lot_t).where(lot_t.c.customer == "jo").values(remaining=5))
    [(customer, stored, rebuilt)] = service.rebuild()
    assert customer == "jo" and stored.pending == 999 and rebuilt.pending == 20
    entries, lots = service.loyalty.history("jo")
    assert replay(entries).pending == 20 and sum(lot.remaining for lot in lots) == 20
    assert service.rebuild() == []


# -- random sequences -------------------------------------------------------------------------

steps = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.integers(1, 700)),
        st.tuples(st.just("review"), st.just(0)),
        st.tuples(st.just("refund"), st.integers(0, 700)),
        st.tuples(st.just("redeem"), st.integers(0, 1)),
        st.tuples(st.just("adjust"), st.integers(-300, 300)),
        st.tuples(st.just("wait"), st.integers(1, 120)),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_random_sequences_keep_the_ledger_whole(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[str, int]]
) -> None:
    tmp_path = tmp_path_factory.mktemp("ledger")
    current = build_state(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        campaigns=_folder(tmp_path),
        secret=SECRET,
        start=False,
    )
    store = Store(current)
    current.start()
    service, program = current.service, store.program
    orders: list[str] = []
    try:
        for n, (kind, amount) in enumerate(steps):
            if kind == "order":
                event = store.order("zoe", str(amount))
                orders.append(event["order"]["id"])
                store.send(event)
            elif kind == "review":
                store.send(store.review("zoe"))
            elif kind == "refund" and orders:
                store.send(store.refund("zoe", orders[amount % len(orders)], str(amount)))
            elif kind == "redeem":
                reward = ("envio", "cinco")[amount]
                with contextlib.suppress(InsufficientPoints, OutOfStock):
                    service.redeem(program, "zoe", reward, f"k{n}")
            elif kind == "adjust" and amount:
                with contextlib.suppress(InsufficientPoints):
                    service.adjust(program, "zoe", amount, "test")
            elif kind == "wait":
                store.wait(amount)
            available, pending = store.points("zoe")
            assert available >= 0 and pending >= 0
            entries, lots = service.loyalty.history("zoe")
            assert replay(entries) == type(replay(entries))(available, pending)
            assert all(0 <= lot.remaining <= lot.points for lot in lots)
        assert service.rebuild() == []
        with current.engine.connect() as conn:
            levels = list(conn.execute(select(grant_t.c.level)).scalars())
        assert len(levels) == len(set(levels))  # no level rewarded twice
    finally:
        current.engine.dispose()
