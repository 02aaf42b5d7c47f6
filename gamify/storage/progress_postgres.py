"""Store events on PostgreSQL: two pipelined round trips on libpq itself, as plays take
(:mod:`gamify.storage.libpq`), for the path every event of a store goes through.

- **Start** (one round trip): ``BEGIN``; the customers' advisory locks with the transaction's
  settings; the events' insert; the three reads the plan needs (their union is planned slower
  than it runs, so they go apart, prepared once per connection with generic plans).
- **End** (one more): the progress rows the plan made, held back until then; ``COMMIT``
  without waiting for the WAL flush, which releases the customers' locks before the disk is
  waited for; then :data:`~gamify.storage.libpq.FLUSH`, whose synchronous commit waits for the
  WAL up to and past the events. No answer leaves before they are durable.

Whatever else a request does (refunds, quiz attempts, rewards: rarer) goes through SQLAlchemy on
the same connection, after the held-back rows are sent. Rows go as one array per column, so a
statement's text, and its plan, is the same whatever the number of rows.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy import Connection, Engine

from gamify.core.events import Event
from gamify.core.progress import Contribution, Key, OrderFacts, StoredContribution, Tally
from gamify.storage.libpq import (
    BEGIN,
    COMMIT,
    FLUSH,
    ConnectionLost,
    Pipeline,
    Statement,
    Step,
    array,
    pipelined,
    rows,
)
from gamify.storage.progress_sql import (
    SqlProgressTransaction,
    lock_params,
    payload_json,
    read_rows,
)

# With the locks come the transaction's settings: commit without waiting for the WAL flush
# (see FLUSH), and generic plans for the prepared statements (the planner would otherwise plan
# the reads at every event, for no better plan: they are index probes whatever the values).
LOCK = Statement.of(
    "events_lock",
    """\
SELECT set_config('synchronous_commit', 'off', true),
       set_config('plan_cache_mode', 'force_generic_plan', true),
       (SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(%(keys)s AS BIGINT[])) AS k)""",
    infer=True,
)
# The payloads come as one JSON array, dumped in one call and parsed by the server faster than
# a text array of the same: an element of a ``json`` value is its text as sent, so each payload
# is stored exactly as :func:`~gamify.storage.progress_sql.payload_json` writes it.
APPEND = Statement.of(
    "events_append",
    """\
INSERT INTO gamify_event (id, type, customer, occurred_at, received_at, order_id, payload)
SELECT e.i, e.t, e.c, e.o, CAST(%(received_at)s AS TIMESTAMPTZ), e.oi, CAST(j.p AS TEXT)
  FROM unnest(
    CAST(%(id)s AS VARCHAR[]), CAST(%(type)s AS VARCHAR[]), CAST(%(customer)s AS VARCHAR[]),
    CAST(%(occurred_at)s AS TIMESTAMPTZ[]), CAST(%(order_id)s AS VARCHAR[]))
    WITH ORDINALITY AS e(i, t, c, o, oi, n)
  JOIN json_array_elements(CAST(%(payloads)s AS JSON)) WITH ORDINALITY AS j(p, n) ON j.n = e.n
ON CONFLICT (id) DO NOTHING
RETURNING id""",
    infer=True,
)
# No ON CONFLICT (whose speculative insertion costs a third of the statement): a contribution's
# source is new by construction, an event stored by this transaction or a quiz attempt numbered
# under the customer's lock.
ADD = Statement.of(
    "events_add",
    """\
INSERT INTO gamify_progress
  (challenge, customer, "window", step, source, order_id, period, units, refunded, at)
SELECT c, cu, w, st, so, o, pe, u, 0, CAST(%(at)s AS TIMESTAMPTZ)
  FROM unnest(
    CAST(%(challenge)s AS VARCHAR[]), CAST(%(customer)s AS VARCHAR[]),
    CAST(%(window)s AS VARCHAR[]), CAST(%(step)s AS VARCHAR[]), CAST(%(source)s AS VARCHAR[]),
    CAST(%(order_id)s AS VARCHAR[]), CAST(%(period)s AS VARCHAR[]),
    CAST(%(units)s AS BIGINT[])) AS r(c, cu, w, st, so, o, pe, u)
""",
    infer=True,
)


# What the plan reads, in the shape of :func:`~gamify.storage.progress_sql.read_parts`, as three
# statements (their union is planned slower than it runs), each answering its rows as one JSON
# array (parsed at C speed: a batch reads hundreds of rows). Each key is looked up on its own in
# a LATERAL subquery that the planner cannot flatten into a join (an aggregate, DISTINCT or
# OFFSET 0): an index probe per key with the generic plan too, whatever the table's size or
# statistics. A key's progress is summed in its own subquery (a few rows to sort, not all of
# the batch's), from its window's rows only (a weekly challenge's past weeks are not read).
# An order's events are read once, through the order index: the paid and refund events of the
# orders refunded, and what the order gave, found through the customers of its events stored
# before this transaction (xmin: this transaction's own rows; the request's ids to be sure). A
# new order costs that one probe and none of progress.
_KEYS = """unnest(CAST(%(challenges)s AS VARCHAR[]), CAST(%(customers)s AS VARCHAR[]),
              CAST(%(windows)s AS VARCHAR[])) AS k(ch, cu, w)"""
_ORDERS = "unnest(CAST(%(orders)s AS VARCHAR[])) AS k(o)"
READS = (
    Statement.of(
        "events_progress",
        f"""\
SELECT json_agg(json_build_array('p', k.ch, k.cu, k.w, p.step, p.period, NULL, p.n, p.m, NULL))
  FROM {_KEYS}
 CROSS JOIN LATERAL (
       SELECT step, period, sum(units - refunded) AS n,
              count(*) FILTER (WHERE units > refunded) AS m
         FROM gamify_progress WHERE challenge = k.ch AND customer = k.cu AND "window" = k.w
        GROUP BY step, period) AS p""",
        infer=True,
    ),
    Statement.of(
        "events_entries",
        f"""\
SELECT json_agg(json_build_array(
         'e', k.ch, k.cu, k.w, e.coupon, NULL, NULL, e.ordinal, NULL, NULL))
  FROM {_KEYS}
 CROSS JOIN LATERAL (
       SELECT coupon, ordinal FROM gamify_challenge_entry
        WHERE challenge = k.ch AND customer = k.cu AND "window" = k.w OFFSET 0) AS e""",
        infer=True,
    ),
    Statement.of(
        "events_orders",
        f"""\
WITH found AS MATERIALIZED (
  SELECT k.o, e.id, e.type, e.customer, e.occurred_at, e.payload,
         e.xmin = CAST(pg_current_xact_id() AS XID)
           AND e.id = ANY(CAST(%(ids)s AS VARCHAR[])) AS now
    FROM {_ORDERS}
   CROSS JOIN LATERAL (
         SELECT id, type, customer, occurred_at, payload, xmin FROM gamify_event
          WHERE order_id = k.o OFFSET 0) AS e
)
SELECT json_agg(r) FROM (
  SELECT json_build_array(
           'o', f.o, f.id, CAST(f.occurred_at AS TEXT), NULL, NULL, NULL, NULL, NULL, f.payload)
    FROM found AS f
   WHERE f.type IN ('order.paid', 'order.refunded')
     AND f.o IN (SELECT o FROM found WHERE type = 'order.refunded')
  UNION ALL
  SELECT json_build_array(
           'c', g.challenge, g.customer, g."window", g.step, g.source, g.period, g.units,
           g.refunded, b.o)
    FROM (SELECT DISTINCT o, customer FROM found WHERE NOT now) AS b
   CROSS JOIN LATERAL (
         SELECT challenge, customer, "window", step, source, period, units, refunded
           FROM gamify_progress
          WHERE challenge = ANY(CAST(%(counting)s AS VARCHAR[])) AND customer = b.customer
            AND order_id = b.o
         OFFSET 0) AS g
) AS t(r)""",
        infer=True,
    ),
)


class PostgresProgressTransaction(SqlProgressTransaction):
    def __init__(self, conn: Connection, pipeline: Pipeline) -> None:
        super().__init__(conn)
        self.pipeline = pipeline
        self._held: list[Step] = []
        self._flush_after_commit = False  # set by LOCK's synchronous_commit off

    @property
    def conn(self) -> Connection:
        if self._held:  # what SQLAlchemy runs now comes after them
            self._run([])
        return self._conn

    def _run(self, steps: Sequence[Step], params: Mapping[str, Any] | None = None) -> list[Any]:
        held, self._held = self._held, []
        return self.pipeline.run([*held, *steps], params)[len(held) :]

    def start(
        self,
        events: Sequence[Event],
        received_at: datetime,
        customers: Collection[str],
        keys: Collection[Key],
        order_ids: Collection[str],
        challenges: Collection[str],
    ) -> tuple[set[str], dict[Key, Tally], dict[str, OrderFacts], list[StoredContribution]]:
        steps: list[Step] = [BEGIN] if self._idle() else []
        steps.append((LOCK, _lock(customers)))
        if events:
            steps.append((APPEND, _append(events, received_at)))
        reading = bool(keys or order_ids)
        if reading:
            listed = list(keys)  # in any order: they are probed one by one
            params = {
                "challenges": array([k[0] for k in listed]),
                "customers": array([k[1] for k in listed]),
                "windows": array([k[2] for k in listed]),
                "orders": array(list(order_ids)),
                "counting": array(list(challenges)),
                "ids": array([e.id for e in events if e.order_id is not None]),
            }
            steps.extend((statement, params) for statement in READS)
        try:
            results = self._run(steps)
        except psycopg.OperationalError as exc:
            if self.pipeline.pgconn.status == pq.ConnStatus.BAD:  # gone before anything was written
                raise ConnectionLost(str(exc)) from exc
            raise
        self._flush_after_commit = True
        first = 2 if steps[0] is BEGIN else 1
        stored = {str(row[0]) for row in rows(results[first])} if events else set()
        self._stored |= stored
        if not reading:
            return stored, {}, {}, []
        found = [
            row
            for result in results[-len(READS) :]
            for row in json.loads(result.get_value(0, 0) or b"[]")
        ]
        return (stored, *read_rows(found, keys))

    def append(self, events: Sequence[Event], received_at: datetime) -> set[str]:
        if not events:
            return set()
        steps: list[Step] = [BEGIN] if self._idle() else []
        results = self._run([*steps, (APPEND, _append(events, received_at))])
        stored = {str(row[0]) for row in rows(results[-1])}
        self._stored |= stored
        return stored

    def lock_customers(self, customers: Collection[str]) -> None:
        steps: list[Step] = [BEGIN] if self._idle() else []
        self._run([*steps, (LOCK, _lock(customers))])
        self._flush_after_commit = True

    def add(self, contributions: Sequence[Contribution], at: datetime) -> None:
        if not contributions:
            return
        columns = zip(*contributions, strict=True)  # tuples: a column is a field's position
        params: dict[str, Any] = {
            n: array(c) for n, c in zip(Contribution._fields, columns, strict=True)
        }
        self._held.append((ADD, {**params, "at": at}))

    def commit(self) -> None:
        """What is held back, the commit, and the flush that makes it durable: one round trip."""
        if self._idle() and not self._held:
            return  # nothing was run
        self._run([COMMIT, FLUSH] if self._flush_after_commit else [COMMIT])

    def _idle(self) -> bool:
        return self.pipeline.pgconn.transaction_status == pq.TransactionStatus.IDLE


def _lock(customers: Collection[str]) -> dict[str, bytes]:
    return {"keys": array(lock_params(customers)["keys"])}


def _append(events: Sequence[Event], received_at: datetime) -> dict[str, Any]:
    ordered = sorted(events, key=lambda e: e.id)  # see progress_sql's event_columns
    return {
        "id": array([e.id for e in ordered]),
        "type": array([e.type for e in ordered]),
        "customer": array([e.customer for e in ordered]),
        "occurred_at": array([e.occurred_at for e in ordered]),
        "order_id": array([e.order_id for e in ordered]),
        "payloads": payload_json([e.payload for e in ordered]),
        "received_at": received_at,
    }


def postgres_transaction(engine: Engine) -> AbstractContextManager[PostgresProgressTransaction]:
    """A writing transaction on a pooled connection, committed by the transaction itself."""
    return pipelined(engine, PostgresProgressTransaction)
