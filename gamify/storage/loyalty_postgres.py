"""The points ledger's hot path on PostgreSQL, in pipelines of prepared statements on libpq
(:mod:`gamify.storage.libpq`), as plays and events do: a redemption is three round trips.

1. ``BEGIN``, the account's lock (an upsert, which makes it the first time), and the read of its
   live lots and of the redemption of the request's Idempotency-Key: the read is a statement of
   its own, after the lock, so it sees what the transaction that held the lock before wrote.
2. The coupon code, claimed (a pattern code is unique, or it is drawn again).
3. The entries, lots, redemption and account in one statement, held back until then, and
   ``COMMIT``.

The rest (the inbox, refunds, tiers) runs on the same connection through SQLAlchemy.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy import Connection, Engine

from gamify.core.points import Entry, Lot
from gamify.services.ports import Account, Opened, Redemption
from gamify.storage.libpq import (
    BEGIN,
    COMMIT,
    ConnectionLost,
    Pipeline,
    Statement,
    Step,
    pipelined,
    rows,
)
from gamify.storage.loyalty_sql import (
    SqlLoyaltyTransaction,
    account_of,
    account_values,
    lot_of,
    write_rows,
)

LOCK = Statement.of(
    "loyalty_lock",
    """\
INSERT INTO gamify_loyalty_account AS a (customer, next_seq, available, pending, qualifying)
VALUES (%(customer)s, 1, 0, 0, 0)
ON CONFLICT (customer) DO UPDATE SET customer = EXCLUDED.customer
RETURNING json_build_object(
  'customer', a.customer, 'next_seq', a.next_seq, 'available', a.available,
  'pending', a.pending, 'qualifying', a.qualifying, 'tier', a.tier,
  'tier_since', a.tier_since, 'due_at', a.due_at,
  'waiting', EXISTS (SELECT 1 FROM gamify_loyalty_inbox i WHERE i.customer = a.customer))""",
)
READ = Statement.of(
    "loyalty_read",
    """\
SELECT (SELECT json_agg(l) FROM gamify_loyalty_lot l
         WHERE l.customer = %(customer)s AND (l.remaining > 0 OR NOT l.matured)),
       (SELECT row_to_json(r) FROM gamify_loyalty_redemption r
         WHERE r.customer = %(customer)s AND r.key = %(key)s)""",
)
CLAIM = Statement.of(
    "loyalty_claim",
    """\
INSERT INTO gamify_coupon (campaign, code, prize, position, seq)
VALUES (%(owner)s, %(code)s, %(prize)s, NULL, 0)
ON CONFLICT (campaign, code) DO NOTHING
RETURNING 1""",
)
WRITE = Statement.of(
    "loyalty_write",
    """\
WITH e AS (
  INSERT INTO gamify_loyalty_entry
  SELECT * FROM json_populate_recordset(NULL::gamify_loyalty_entry, CAST(%(entries)s AS JSON))
), l AS (
  INSERT INTO gamify_loyalty_lot
  SELECT * FROM json_populate_recordset(NULL::gamify_loyalty_lot, CAST(%(lots)s AS JSON))
  ON CONFLICT (customer, lot) DO UPDATE
  SET remaining = EXCLUDED.remaining, matured = EXCLUDED.matured, refunded = EXCLUDED.refunded
), r AS (
  INSERT INTO gamify_loyalty_redemption
  SELECT * FROM json_populate_recordset(NULL::gamify_loyalty_redemption,
                                        CAST(%(redemptions)s AS JSON))
)
UPDATE gamify_loyalty_account
   SET next_seq = CAST(%(next_seq)s AS BIGINT), available = CAST(%(available)s AS BIGINT),
       pending = CAST(%(pending)s AS BIGINT), qualifying = CAST(%(qualifying)s AS BIGINT),
       tier = %(tier)s, tier_since = CAST(%(tier_since)s AS TIMESTAMPTZ),
       due_at = CAST(%(due_at)s AS TIMESTAMPTZ)
 WHERE customer = %(customer)s""",
    infer=True,
)


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _row(found: Mapping[str, Any], *times: str) -> SimpleNamespace:
    """A JSON row as the SQL adapters' readers take them: attributes, times parsed."""
    return SimpleNamespace(**{**found, **{name: _time(found.get(name)) for name in times}})


class PostgresLoyaltyTransaction(SqlLoyaltyTransaction):
    def __init__(self, conn: Connection, pipeline: Pipeline) -> None:
        super().__init__(conn)
        self.pipeline = pipeline
        self._held: list[Step] = []

    @property
    def conn(self) -> Connection:
        if self._held:  # what SQLAlchemy runs now comes after them
            self._run([])
        return self._conn

    def _run(self, steps: Sequence[Step]) -> list[pq.abc.PGresult]:
        held, self._held = self._held, []
        return self.pipeline.run([*held, *steps])[len(held) :]

    def _idle(self) -> bool:
        return self.pipeline.pgconn.transaction_status == pq.TransactionStatus.IDLE

    def open(self, customer: str, key: str | None = None) -> Opened:
        steps: list[Step] = [BEGIN] if self._idle() else []
        steps += [(LOCK, {"customer": customer}), (READ, {"customer": customer, "key": key})]
        try:
            results = self._run(steps)
        except psycopg.OperationalError as exc:
            if self.pipeline.pgconn.status == pq.ConnStatus.BAD:  # gone before any write
                raise ConnectionLost(str(exc)) from exc
            raise
        [[locked]] = rows(results[-2])
        found = json.loads(locked or "{}")
        account = account_of(_row(found, "tier_since", "due_at"), bool(found["waiting"]))
        [[lots, redemption]] = rows(results[-1])
        live = [
            lot_of(_row(lot, "earned_at", "available_at", "expires_at"))
            for lot in json.loads(lots or "[]")
        ]
        made = None
        if redemption:
            r = json.loads(redemption)
            at = _time(r["at"])
            assert at is not None
            made = Redemption(r["key"], r["reward"], r["coupon"], int(r["points"]), at)
        return Opened(account, {lot.lot: lot for lot in live}, made)

    def pattern_code(self, owner: str, prize: str, code: str) -> bool:
        [claimed] = self._run([(CLAIM, {"owner": owner, "prize": prize, "code": code})])
        return claimed.ntuples > 0

    def write(
        self,
        account: Account,
        entries: Sequence[Entry],
        lots: Collection[Lot],
        redemption: Redemption | None = None,
    ) -> None:
        customer = account.customer
        values = write_rows(customer, entries, lots, redemption)
        params: dict[str, Any] = {
            name: json.dumps(found, default=str) for name, found in values.items()
        }
        params |= {"customer": customer, **account_values(account)}
        self._held.append((WRITE, params))

    def commit(self) -> None:
        """What is held back and the commit: one round trip."""
        if self._idle() and not self._held:
            return
        self._run([COMMIT])


def postgres_transaction(engine: Engine) -> AbstractContextManager[PostgresLoyaltyTransaction]:
    return pipelined(engine, PostgresLoyaltyTransaction)
