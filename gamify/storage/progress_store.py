"""The :class:`~gamify.services.ports.ProgressStore` port in SQL: the store's events and the
challenges' progress, in one transaction per request, on SQLite and PostgreSQL.

Events are inserted first, in one statement for a whole batch (each id stored at most once
whatever the number of workers receiving it: the primary key decides, ``ON CONFLICT DO
NOTHING``), sorted by id so that two batches sharing ids wait for each other in one order
instead of deadlocking. Then the customers whose progress moves are locked (advisory locks on
PostgreSQL, in key order; SQLite's ``BEGIN IMMEDIATE`` holds the whole database already), so
``at_most`` caps, refunds, quiz attempts and completions are read and written by one
transaction at a time per customer. A completion counts itself on its challenge's row, whose
lock orders ``winners_max`` across customers.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from gamify.core.events import Event
from gamify.core.progress import (
    Contribution,
    Key,
    OrderFacts,
    Reversal,
    StoredContribution,
    Tally,
    order_facts,
)
from gamify.services.ports import Pool, PoolConflict
from gamify.storage.database import writing
from gamify.storage.locks import customer_lock_key
from gamify.storage.tables import (
    attempt_t,
    challenge_t,
    counter_t,
    coupon_t,
    entry_t,
    event_t,
    points_t,
    progress_t,
)

REWARD = "reward"
"""The prize name of a challenge's reward codes in ``gamify_coupon`` (its campaign: the
challenge's id, which no game shares)."""
_CODES_PER_QUERY = 500


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


class SqlProgressStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[SqlProgressTransaction]:
        with writing(self.engine) as conn:
            yield SqlProgressTransaction(conn)

    def setup(self, challenge: str, pool: Sequence[str]) -> None:
        with writing(self.engine) as conn:
            conn.execute(
                _insert(conn)(challenge_t)
                .values(id=challenge, winners=0)
                .on_conflict_do_nothing(index_elements=["id"])
            )
            if not pool:
                return
            rows = [
                {"campaign": challenge, "code": code, "prize": REWARD, "position": i}
                for i, code in enumerate(pool)
            ]
            conn.execute(
                _insert(conn)(coupon_t).on_conflict_do_nothing(index_elements=["campaign", "code"]),
                rows,
            )
            for start in range(0, len(pool), _CODES_PER_QUERY):
                chunk = list(pool[start : start + _CODES_PER_QUERY])
                taken = conn.execute(
                    select(coupon_t.c.code, coupon_t.c.prize, coupon_t.c.position)
                    .where(
                        coupon_t.c.campaign == challenge,
                        coupon_t.c.code.in_(chunk),
                        (coupon_t.c.prize != REWARD) | coupon_t.c.position.is_(None),
                    )
                    .limit(1)
                ).first()
                if taken is not None:
                    held = Pool(0, REWARD, pool)
                    raise PoolConflict(held, taken.code, taken.prize, taken.position is None)

    def tallies(self, keys: Collection[Key], *, attempts: bool = False) -> dict[Key, Tally]:
        with self.engine.connect() as conn:
            return _tallies(conn, keys, attempts)


class SqlProgressTransaction:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    def append(self, events: Sequence[Event], received_at: datetime) -> set[str]:
        if not events:
            return set()
        rows = [
            {
                "id": e.id,
                "type": e.type,
                "customer": e.customer,
                "occurred_at": e.occurred_at,
                "received_at": received_at,
                "order_id": e.order_id,
                "payload": e.payload_json(),
            }
            for e in sorted(events, key=lambda e: e.id)
        ]
        # Many parameter sets of one cached statement: SQLAlchemy sends them as one multi-row
        # INSERT … RETURNING ("insertmanyvalues"), compiled once per process.
        stored = self.conn.execute(
            _insert(self.conn)(event_t)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(event_t.c.id),
            rows,
        ).scalars()
        return set(stored)

    def lock_customers(self, customers: Collection[str]) -> None:
        if not self.postgres or not customers:
            return  # SQLite: BEGIN IMMEDIATE holds the database's write lock already
        keys = sorted({customer_lock_key(c) for c in customers})
        self.conn.execute(
            text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS BIGINT[])) AS k"),
            {"keys": keys},
        )

    def tallies(self, keys: Collection[Key], *, attempts: bool = False) -> dict[Key, Tally]:
        return _tallies(self.conn, keys, attempts)

    def orders(
        self, order_ids: Collection[str]
    ) -> tuple[dict[str, OrderFacts], list[StoredContribution]]:
        if not order_ids:
            return {}, []
        ids = sorted(order_ids)
        facts = order_facts(
            json.loads(row.payload)
            for row in self.conn.execute(
                select(event_t.c.payload)
                .where(event_t.c.order_id.in_(ids), event_t.c.type.in_(_ORDER_TYPES))
                .order_by(event_t.c.occurred_at, event_t.c.id)
            )
        )
        given = [
            StoredContribution(
                r.challenge,
                r.customer,
                r.window,
                r.step,
                r.source,
                r.units,
                r.order_id,
                r.period,
                r.refunded,
            )
            for r in self.conn.execute(select(progress_t).where(progress_t.c.order_id.in_(ids)))
        ]
        return facts, given

    def add(self, contributions: Sequence[Contribution], at: datetime) -> None:
        if not contributions:
            return
        rows = [{**vars(c), "refunded": 0, "at": at} for c in contributions]
        self.conn.execute(
            _insert(self.conn)(progress_t).on_conflict_do_nothing(
                index_elements=["challenge", "customer", "window", "step", "source"]
            ),
            rows,
        )

    def reverse(self, reversals: Sequence[Reversal]) -> None:
        if not reversals:
            return
        c = progress_t.c
        statement = (
            update(progress_t)
            .where(
                c.challenge == bindparam("k_challenge"),
                c.customer == bindparam("k_customer"),
                c.window == bindparam("k_window"),
                c.step == bindparam("k_step"),
                c.source == bindparam("k_source"),
            )
            .values(refunded=bindparam("k_refunded"))
        )
        self.conn.execute(
            statement,
            [
                {
                    "k_challenge": r.contribution.challenge,
                    "k_customer": r.contribution.customer,
                    "k_window": r.contribution.window,
                    "k_step": r.contribution.step,
                    "k_source": r.contribution.source,
                    "k_refunded": r.refunded,
                }
                for r in reversals
            ],
        )

    def attempt(
        self, key: Key, step: str, attempt: int, correct: int, passed: bool, at: datetime
    ) -> None:
        challenge, customer, window = key
        self.conn.execute(
            attempt_t.insert().values(
                challenge=challenge,
                customer=customer,
                window=window,
                step=step,
                attempt=attempt,
                correct=correct,
                passed=passed,
                at=at,
            )
        )

    def complete(self, key: Key, at: datetime, winners_max: int | None) -> int | None:
        challenge, customer, window = key
        entry = {"challenge": challenge, "customer": customer, "window": window}
        self.conn.execute(
            _insert(self.conn)(challenge_t)
            .values(id=challenge, winners=0)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        self.conn.execute(entry_t.insert().values(**entry, completed_at=at))
        room = challenge_t.c.id == challenge
        if winners_max is not None:
            room = and_(room, challenge_t.c.winners < winners_max)
        ordinal = self.conn.execute(
            update(challenge_t)
            .where(room)
            .values(winners=challenge_t.c.winners + 1)
            .returning(challenge_t.c.winners)
        ).scalar()
        if ordinal is not None:
            self.conn.execute(update(entry_t).where(*_entry_is(key)).values(ordinal=ordinal))
        return ordinal

    def pool_code(self, challenge: str, ordinal: int) -> str | None:
        c = coupon_t.c
        code = self.conn.execute(
            select(c.code)
            .where(c.campaign == challenge, c.prize == REWARD, c.seq.is_(None))
            .order_by(c.position)
            .limit(1)
        ).scalar()
        if code is None:
            return None
        self.conn.execute(
            update(coupon_t).where(c.campaign == challenge, c.code == code).values(seq=ordinal)
        )
        return str(code)

    def pattern_code(self, challenge: str, candidates: Sequence[str], ordinal: int) -> str | None:
        for code in candidates:
            stored = self.conn.execute(
                _insert(self.conn)(coupon_t)
                .values(campaign=challenge, code=code, prize=REWARD, seq=ordinal)
                .on_conflict_do_nothing(index_elements=["campaign", "code"])
                .returning(coupon_t.c.code)
            ).scalar()
            if stored is not None:
                return str(stored)
        return None

    def set_coupon(self, key: Key, code: str) -> None:
        self.conn.execute(update(entry_t).where(*_entry_is(key)).values(coupon=code))

    def grant_plays(self, campaign: str, scope: str, count: int) -> None:
        insert = _insert(self.conn)(counter_t).values(campaign=campaign, scope=scope, value=count)
        self.conn.execute(
            insert.on_conflict_do_update(
                index_elements=["campaign", "scope"],
                set_={"value": counter_t.c.value + insert.excluded.value},
            )
        )

    def grant_points(self, customer: str, source: str, points: int, at: datetime) -> None:
        self.conn.execute(
            _insert(self.conn)(points_t)
            .values(customer=customer, source=source, points=points, at=at)
            .on_conflict_do_nothing(index_elements=["customer", "source"])
        )


_ORDER_TYPES = ("order.paid", "order.refunded")


def _entry_is(key: Key) -> tuple[Any, ...]:
    challenge, customer, window = key
    c = entry_t.c
    return (c.challenge == challenge, c.customer == customer, c.window == window)


def _tallies(conn: Connection, keys: Collection[Key], attempts: bool) -> dict[Key, Tally]:
    """Every key's tally, from three grouped reads over the keys' challenges and customers (the
    primary keys' prefixes), whatever the number of keys."""
    found: dict[Key, Tally] = {key: Tally() for key in keys}
    if not keys:
        return found
    challenges = sorted({k[0] for k in keys})
    customers = sorted({k[1] for k in keys})
    p = progress_t.c
    net = p.units - p.refunded
    rows = conn.execute(
        select(
            p.challenge,
            p.customer,
            p.window,
            p.step,
            p.period,
            func.sum(net).label("units"),
            func.sum(func.coalesce(func.nullif(func.sign(net), -1), 0)).label("counted"),
        )
        .where(p.challenge.in_(challenges), p.customer.in_(customers))
        .group_by(p.challenge, p.customer, p.window, p.step, p.period)
    )
    for row in rows:
        tally = found.get((row.challenge, row.customer, row.window))
        if tally is None:
            continue
        tally.units[row.step] = tally.units.get(row.step, 0) + int(row.units)
        if row.period is not None:
            tally.counted[(row.step, row.period)] = int(row.counted)
    e = entry_t.c
    for entry in conn.execute(
        select(e.challenge, e.customer, e.window, e.ordinal, e.coupon).where(
            e.challenge.in_(challenges), e.customer.in_(customers)
        )
    ):
        tally = found.get((entry.challenge, entry.customer, entry.window))
        if tally is not None:
            tally.completed = True
            tally.rewarded = entry.ordinal is not None
            tally.coupon = entry.coupon
    if attempts:
        a = attempt_t.c
        for counted in conn.execute(
            select(a.challenge, a.customer, a.window, a.step, func.count().label("n"))
            .where(a.challenge.in_(challenges), a.customer.in_(customers))
            .group_by(a.challenge, a.customer, a.window, a.step)
        ):
            tally = found.get((counted.challenge, counted.customer, counted.window))
            if tally is not None:
                tally.attempts[counted.step] = int(counted.n)
    return found
