"""The :class:`~gamify.services.ports.ProgressTransaction` port in SQL, and what its PostgreSQL
variant (:mod:`gamify.storage.progress_postgres`) shares with it: the store's events and the
challenges' progress, in one transaction per request.

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
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Connection,
    String,
    any_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from gamify.core.canonical import canonical_json
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
from gamify.services.ports import Assignment, Completed
from gamify.storage.audience import record_assignments
from gamify.storage.database import dialect_insert, insert_missing
from gamify.storage.locks import customer_lock_key
from gamify.storage.loyalty_sql import POINTS_PREFIX
from gamify.storage.tables import (
    attempt_t,
    challenge_t,
    counter_t,
    coupon_t,
    entry_t,
    event_t,
    inbox_t,
    points_t,
    progress_t,
)

REWARD = "reward"
"""The prize name of a challenge's reward codes in ``gamify_coupon`` (its campaign: the
challenge's id, which no game shares)."""


class SqlProgressTransaction:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self._stored: set[str] = set()  # the events this transaction stored

    @property
    def conn(self) -> Connection:
        """The transaction's connection, for a statement to run now."""
        return self._conn

    def start(
        self,
        events: Sequence[Event],
        received_at: datetime,
        customers: Collection[str],
        keys: Collection[Key],
        order_ids: Collection[str],
        challenges: Collection[str],
    ) -> tuple[set[str], dict[Key, Tally], dict[str, OrderFacts], list[StoredContribution]]:
        self.lock_customers(customers)
        stored = self.append(events, received_at)
        return (stored, *self.read(keys, order_ids, challenges))

    def append(self, events: Sequence[Event], received_at: datetime) -> set[str]:
        if not events:
            return set()
        columns = event_columns(events, received_at)
        rows = [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        # Many parameter sets of one cached statement: SQLAlchemy sends them as one multi-row
        # INSERT … RETURNING ("insertmanyvalues"), compiled once per process.
        stored = self.conn.execute(
            dialect_insert(self.conn)(event_t)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(event_t.c.id),
            rows,
        ).scalars()
        new = set(stored)
        self._stored |= new
        return new

    def lock_customers(self, customers: Collection[str]) -> None:
        """SQLite: ``BEGIN IMMEDIATE`` holds the database's write lock already."""

    def tallies(self, keys: Collection[Key], *, attempts: bool = False) -> dict[Key, Tally]:
        return tallies_of(self.conn, keys, attempts)

    def read(
        self, keys: Collection[Key], order_ids: Collection[str], challenges: Collection[str]
    ) -> tuple[dict[Key, Tally], dict[str, OrderFacts], list[StoredContribution]]:
        if not keys and not order_ids:
            return {key: Tally() for key in keys}, {}, []
        statement = _read_statement(self.postgres)
        params = read_params(keys, order_ids, challenges, self._stored)
        return read_rows(self.conn.execute(statement, params), keys)

    def assign(self, assignments: Sequence[Assignment], percents: Mapping[str, int]) -> None:
        record_assignments(self.conn, assignments, percents, read=False)

    def add(self, contributions: Sequence[Contribution], at: datetime) -> None:
        if not contributions:
            return
        rows = [{**c._asdict(), "refunded": 0, "at": at} for c in contributions]
        self.conn.execute(progress_t.insert(), rows)  # sources are new: see progress_postgres

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

    def number_rewards(self, challenge: str, count: int, winners_max: int | None) -> list[int]:
        row = challenge_t.c
        locked = select(row.winners).where(row.id == challenge).with_for_update()
        before = self.conn.execute(locked).scalar()
        if before is None:  # a challenge loaded while this request ran: its row comes now
            self.conn.execute(
                dialect_insert(self.conn)(challenge_t)
                .values(id=challenge, winners=0)
                .on_conflict_do_nothing(index_elements=["id"])
            )
            before = self.conn.execute(locked).scalar_one()
        after = before + count if winners_max is None else min(before + count, winners_max)
        if after > before:
            self.conn.execute(update(challenge_t).where(row.id == challenge).values(winners=after))
        return list(range(before + 1, after + 1))

    def pool_codes(self, challenge: str, ordinals: Sequence[int]) -> list[str]:
        c = coupon_t.c
        codes = list(
            self.conn.execute(
                select(c.code)
                .where(c.campaign == challenge, c.prize == REWARD, c.seq.is_(None))
                .order_by(c.position)
                .limit(len(ordinals))
            ).scalars()
        )
        if codes:
            self.conn.execute(
                update(coupon_t)
                .where(c.campaign == challenge, c.code == bindparam("k_code"))
                .values(seq=bindparam("k_seq")),
                [{"k_code": code, "k_seq": n} for code, n in zip(codes, ordinals, strict=False)],
            )
        return [str(code) for code in codes]

    def pattern_codes(self, challenge: str, codes: Mapping[int, str]) -> set[int]:
        if not codes:
            return set()
        stored = self.conn.execute(
            dialect_insert(self.conn)(coupon_t)
            .on_conflict_do_nothing(index_elements=["campaign", "code"])
            .returning(coupon_t.c.code),
            [
                {"campaign": challenge, "code": code, "prize": REWARD, "position": None, "seq": n}
                for n, code in codes.items()
            ],
        ).scalars()
        free = set(stored)
        return {n for n, code in codes.items() if code in free}

    def complete(self, done: Sequence[Completed], at: datetime) -> None:
        if done:
            self.conn.execute(
                entry_t.insert(),
                [
                    {
                        "challenge": d.key[0],
                        "customer": d.key[1],
                        "window": d.key[2],
                        "completed_at": at,
                        "ordinal": d.ordinal,
                        "coupon": d.coupon,
                    }
                    for d in done
                ],
            )

    def grant_plays(self, grants: Sequence[tuple[str, str, int]]) -> None:
        summed: dict[tuple[str, str], int] = {}
        for campaign, scope, count in grants:  # each row once in the statement
            summed[(campaign, scope)] = summed.get((campaign, scope), 0) + count
        if not summed:
            return
        insert = dialect_insert(self.conn)(counter_t)
        self.conn.execute(
            insert.on_conflict_do_update(
                index_elements=["campaign", "scope"],
                set_={"value": counter_t.c.value + insert.excluded.value},
            ),
            [{"campaign": c, "scope": s, "value": n} for (c, s), n in summed.items()],
        )

    def grant_points(self, grants: Sequence[tuple[str, str, int]], at: datetime) -> None:
        if grants:
            self.conn.execute(
                dialect_insert(self.conn)(points_t).on_conflict_do_nothing(
                    index_elements=["customer", "source"]
                ),
                [
                    {"customer": customer, "source": source, "points": points, "at": at}
                    for customer, source, points in grants
                ],
            )
            self.to_loyalty([(customer, POINTS_PREFIX + source) for customer, source, _ in grants])

    def to_loyalty(self, items: Sequence[tuple[str, str]]) -> None:
        rows = [{"customer": customer, "source": source} for customer, source in items]
        insert_missing(self.conn, inbox_t, rows, ["customer", "source"])


_ORDER_TYPES = ("order.paid", "order.refunded")


def event_columns(events: Sequence[Event], received_at: datetime) -> dict[str, list[Any]]:
    """The events as one list per column, sorted by id (see the module's docstring)."""
    ordered = sorted(events, key=lambda e: e.id)
    return {
        "id": [e.id for e in ordered],
        "type": [e.type for e in ordered],
        "customer": [e.customer for e in ordered],
        "occurred_at": [e.occurred_at for e in ordered],
        "received_at": [received_at] * len(ordered),
        "order_id": [e.order_id for e in ordered],
        "payload": [payload_json(e.payload).decode() for e in ordered],
    }


def payload_json(value: Any) -> bytes:
    """The JSON an event's payload is stored as (or a list of payloads): keys sorted, compact,
    UTF-8, as :func:`~gamify.core.canonical.canonical_json` writes it but by orjson (a batch's
    payloads in 0.02 ms instead of 0.3), with canonical_json where orjson stops (an integer
    past 64 bits). Only a float may be written otherwise (``1e-7`` for ``1e-07``): the same
    number to every reader."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError is one
        return canonical_json(value)


def lock_params(customers: Collection[str]) -> dict[str, list[int]]:
    """The customers' lock keys in one order for every transaction (no two wait on each
    other)."""
    return {"keys": sorted({customer_lock_key(c) for c in customers})}


def read_params(
    keys: Collection[Key],
    order_ids: Collection[str],
    counting: Collection[str] = (),
    stored: Collection[str] = (),
) -> dict[str, list[str]]:
    """``counting``: the challenges an order may have given to; ``stored``: the events this
    transaction stored, which have given nothing yet."""
    return {
        "challenges": sorted({k[0] for k in keys}),
        "customers": sorted({k[1] for k in keys}),
        "windows": sorted({k[2] for k in keys}),
        "orders": sorted(order_ids),
        "counting": sorted(counting),
        "stored": sorted(stored),
    }


def read_rows(
    rows: Iterable[Any], keys: Collection[Key]
) -> tuple[dict[Key, Tally], dict[str, OrderFacts], list[StoredContribution]]:
    """The rows of :func:`_read_statement` (by position: driver rows or SQLAlchemy's)."""
    found: dict[Key, Tally] = {key: Tally() for key in keys}
    payloads: list[tuple[str, str, str]] = []
    given: list[StoredContribution] = []
    for kind, a, b, c, d, e, f, n, m, x in rows:
        if kind == "o":  # an order's event: occurred at c, id b, payload x
            payloads.append((str(c), str(b), x))
        elif kind == "c":  # what an order gave
            given.append(StoredContribution(a, b, c, d, e, int(n), x, f, int(m)))
        elif (tally := found.get((a, b, c))) is None:
            continue  # a window of the read's challenges and customers not asked for
        elif kind == "p":  # progress of step d in period e
            tally.units[d] = tally.units.get(d, 0) + int(n)
            if e is not None:
                tally.counted[(d, e)] = int(m)
        else:  # completed: reward number n, coupon d
            tally.completed, tally.rewarded, tally.coupon = True, n is not None, d
    payloads.sort()  # by when they occurred, then id
    return found, order_facts(json.loads(p) for _, _, p in payloads), given


def _among(column: Any, name: str, postgres: bool) -> Any:
    """``column`` among the list parameter ``name``: one array parameter on PostgreSQL (the
    statement's text, and so its parsing, the same whatever the list's length), an expanding
    IN list on SQLite."""
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


@cache
def _read_statement(postgres: bool) -> Any:
    """What an event's transaction reads, in one round trip: the union of
    :func:`read_parts`."""
    return union_all(*read_parts(postgres))


@cache
def read_parts(postgres: bool) -> tuple[Any, ...]:
    """The windows' progress by step and period (``p``), their completions (``e``), the
    orders' events (``o``: only of orders refunded, the others' paid events being all the plan
    needs of them) and what the orders gave (``c``). One shape of ten columns (the last is
    ``x``: ``t`` is a Row's own attribute); parameters ``challenges``, ``customers``,
    ``orders``. :mod:`gamify.storage.progress_postgres` reads the same with statements of its
    own."""
    p, e, ev = progress_t.c, entry_t.c, event_t.c

    def text_(value: Any) -> Any:
        return cast(value, String)

    def big(value: Any) -> Any:
        return cast(value, BigInteger)

    def kind(name: str) -> Any:
        return literal_column(f"'{name}'")

    none = null()
    zero: Any = literal_column("0")  # constants, not parameters
    one: Any = literal_column("1")
    net = p.units - p.refunded
    windows = (
        _among(p.challenge, "challenges", postgres),
        _among(p.customer, "customers", postgres),
        _among(p.window, "windows", postgres),
    )
    progress = (
        select(
            kind("p").label("kind"), text_(p.challenge).label("a"), text_(p.customer).label("b"),
            text_(p.window).label("c"), text_(p.step).label("d"), text_(p.period).label("e"),
            text_(none).label("f"), big(func.sum(net)).label("n"),
            big(func.sum(case((net > zero, one), else_=zero))).label("m"), text_(none).label("x"),
        )
        .where(*windows)
        .group_by(p.challenge, p.customer, p.window, p.step, p.period)
    )  # fmt: skip
    entries = select(
        kind("e"), text_(e.challenge), text_(e.customer), text_(e.window), text_(e.coupon),
        text_(none), text_(none), big(e.ordinal), big(none), text_(none),
    ).where(
        _among(e.challenge, "challenges", postgres), _among(e.customer, "customers", postgres),
        _among(e.window, "windows", postgres),
    )  # fmt: skip
    refund = event_t.alias("refund")
    orders = select(
        kind("o"), text_(ev.order_id), text_(ev.id), text_(ev.occurred_at), text_(none),
        text_(none), text_(none), big(none), big(none), text_(ev.payload),
    ).where(
        _among(ev.order_id, "orders", postgres), ev.type.in_([kind(t) for t in _ORDER_TYPES]),
        exists().where(refund.c.order_id == ev.order_id, refund.c.type == kind(_ORDER_TYPES[1])),
    )  # fmt: skip
    # What an order gave, through the customers of its events stored before (its contributions
    # came from them) and the primary key: progress has no order index to write at every event.
    earlier = (
        select(ev.customer, ev.order_id)
        .where(_among(ev.order_id, "orders", postgres), ~_among(ev.id, "stored", postgres))
        .distinct()
        .subquery("earlier")
    )
    given = (
        select(
            kind("c"), text_(p.challenge), text_(p.customer), text_(p.window), text_(p.step),
            text_(p.source), text_(p.period), big(p.units), big(p.refunded), text_(p.order_id),
        )
        .join_from(
            progress_t,
            earlier,
            (p.customer == earlier.c.customer) & (p.order_id == earlier.c.order_id),
        )
        .where(_among(p.challenge, "counting", postgres))
    )  # fmt: skip
    return progress, entries, orders, given


def tallies_of(conn: Connection, keys: Collection[Key], attempts: bool) -> dict[Key, Tally]:
    """Every key's tally, read over the keys' challenges, customers and windows (the primary
    keys' prefixes), whatever the number of keys; quiz attempts when asked."""
    if not keys:
        return {}
    postgres = conn.dialect.name == "postgresql"
    params = read_params(keys, ())
    found, _, _ = read_rows(conn.execute(_read_statement(postgres), params), keys)
    if attempts:
        a = attempt_t.c
        for counted in conn.execute(
            select(a.challenge, a.customer, a.window, a.step, func.count().label("n"))
            .where(
                _among(a.challenge, "challenges", postgres),
                _among(a.customer, "customers", postgres),
                _among(a.window, "windows", postgres),
            )
            .group_by(a.challenge, a.customer, a.window, a.step),
            params,
        ):
            tally = found.get((counted.challenge, counted.customer, counted.window))
            if tally is not None:
                tally.attempts[counted.step] = int(counted.n)
    return found
