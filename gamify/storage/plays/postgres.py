"""The play's storage on PostgreSQL: two pipelined round trips on libpq itself.

Every play of a campaign waits for the campaign lock, so the work done between taking it and
committing (the database's, and this process's between the two round trips) bounds the plays per
second of a campaign. The statements are prepared once per connection and sent in
pipelines through :mod:`gamify.storage.libpq`.

- **Read** (one round trip): ``BEGIN``; the campaign's advisory lock with the transaction's
  settings; the campaign's state; everything the play needs to decide, in one statement.
- **Write** (one more): the play and everything it changes, in one statement; ``COMMIT``; then a
  tiny transaction of its own (:data:`FLUSH`). The play commits without waiting for the WAL
  flush, which releases the lock before the disk is waited for; the flush transaction's commit,
  synchronous as the server is configured, then waits for the WAL up to and past the play. No
  answer leaves before the play is as durable as any synchronous commit on that server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import pq

from gamify.core.fairness import V1
from gamify.services.ports import Locked, PlayQuery, PlayWrite
from gamify.storage.libpq import (
    BEGIN,
    COMMIT,
    FLUSH,
    ROLLBACK,
    ConnectionLost,
    Pipeline,
    Statement,
    int_of,
    text_of,
)
from gamify.storage.locks import campaign_lock_key
from gamify.storage.plays.base import (
    BUMP,
    INSERT_PLAY,
    STATE,
    db_time,
    insert_assignment,
    replayed,
    update_state,
    write_params,
)

# -- statements --------------------------------------------------------------------------------

# The campaign lock is an advisory lock, not the campaign row's: a waiter is handed it at the
# holder's commit, with no row version to re-check. With it come the transaction's settings:
# commit without waiting for the WAL flush (see FLUSH), and generic plans for the prepared
# statements (left to itself, the planner re-plans the read at every play, for no better plan).
LOCK = Statement.of(
    "lock",
    "SELECT pg_advisory_xact_lock(%(lock)s), "
    "set_config('synchronous_commit', 'off', true), "
    "set_config('plan_cache_mode', 'force_generic_plan', true)",
)
# Statements after the lock take their snapshots after it: they see every play committed before.
READ_STATE = Statement.of("state", f"{STATE} WHERE id = %(campaign)s")
# One shape whatever the campaign (lists go as JSON), so it is prepared once per connection. Keys
# are looked up one by one in scalar subqueries, which the planner cannot flatten into a join:
# each is an index probe on the whole primary key, even before the table's first ANALYZE, when a
# join plan may scan all of the campaign's rows instead.
READ = Statement.of(
    "read",
    """\
SELECT 'c' AS kind, k.scope AS a, CAST(NULL AS TEXT) AS b,
       (SELECT value FROM gamify_counter WHERE campaign = %(campaign)s AND scope = k.scope) AS n,
       CAST(NULL AS TIMESTAMPTZ) AS t
  FROM json_array_elements_text(CAST(%(scopes)s AS JSON)) AS k(scope)
UNION ALL
SELECT 'e', e.server_seed, e.commitment, e.epoch, e.revealed_at
  FROM gamify_campaign s JOIN gamify_epoch e ON e.campaign = s.id AND e.epoch = s.epoch
 WHERE s.id = %(campaign)s
UNION ALL
SELECT 'a', e.algorithm, NULL,
       (SELECT value FROM gamify_counter
         WHERE campaign = %(campaign)s AND scope = 'n:' || s.epoch || ':' || %(player)s),
       e.opened_at
  FROM gamify_campaign s JOIN gamify_epoch e ON e.campaign = s.id AND e.epoch = s.epoch
 WHERE s.id = %(campaign)s
UNION ALL
SELECT 'i', NULL, NULL, seq, NULL
  FROM gamify_idempotency
 WHERE campaign = %(campaign)s AND player = %(player)s AND key = %(idem)s
UNION ALL
SELECT 'p', p.prize, q.code, NULL, NULL
  FROM json_array_elements_text(CAST(%(pools)s AS JSON)) AS p(prize)
 CROSS JOIN LATERAL (
       SELECT code FROM gamify_coupon
        WHERE campaign = %(campaign)s AND prize = p.prize AND seq IS NULL
        ORDER BY position LIMIT 1) AS q
UNION ALL
SELECT 't', k.code, NULL,
       (SELECT 1 FROM gamify_coupon WHERE campaign = %(campaign)s AND code = k.code), NULL
  FROM json_array_elements_text(CAST(%(codes)s AS JSON)) AS k(code)""",
)
# One statement (data-modifying CTEs); the optional parts are switched by their parameters.
WRITE = Statement.of(
    "write",
    f"""\
WITH play AS ({INSERT_PLAY}),
head AS ({update_state("decode(%(tree)s, 'hex')")}),
tree AS (
  INSERT INTO gamify_tree_node (campaign, level, idx, hash)
  SELECT %(campaign)s, CAST(n->>0 AS SMALLINT), CAST(n->>1 AS BIGINT), decode(n->>2, 'hex')
    FROM json_array_elements(CAST(%(nodes)s AS JSON)) AS n),
assign AS ({insert_assignment("CAST(%(assign_at)s AS TIMESTAMP) AT TIME ZONE 'UTC'")}),
idem AS (
  INSERT INTO gamify_idempotency (campaign, player, key, seq)
  SELECT %(campaign)s, %(player)s, %(idem)s, %(seq)s WHERE %(idem)s IS NOT NULL),
new_code AS (
  INSERT INTO gamify_coupon (campaign, code, prize, seq)
  SELECT %(campaign)s, %(code)s, %(coupon_prize)s, %(seq)s WHERE %(pooled)s IS FALSE),
pool_code AS (
  UPDATE gamify_coupon SET seq = %(seq)s
   WHERE campaign = %(campaign)s AND code = %(code)s AND %(pooled)s IS TRUE)
INSERT INTO gamify_counter (campaign, scope, value)
SELECT %(campaign)s, b.key, CAST(b.value AS BIGINT)
  FROM json_each_text(CAST(%(bumps)s AS JSON)) AS b
{BUMP}""",
)
# -- the transaction ---------------------------------------------------------------------------


class PostgresPlays:
    """One play's transaction on a pooled psycopg connection, left idle and clean by :meth:`end`.

    ``info`` is the pool's per-connection dictionary: it remembers that the statements are
    prepared on this connection, and is dropped with the connection if the pool discards it.
    """

    def __init__(self, conn: psycopg.Connection[Any], info: dict[str, Any]) -> None:
        self.conn = conn
        self.pgconn = conn.pgconn
        self.pipeline = Pipeline(conn, info)

    def read(self, query: PlayQuery) -> Locked | None:
        params = {
            "campaign": query.campaign,
            "lock": campaign_lock_key(query.campaign),
            "scopes": json.dumps(list(query.scopes)),
            "player": query.player,
            "idem": query.idempotency_key,
            "pools": json.dumps(list(query.pool_prizes)),
            "codes": json.dumps(list(query.candidate_codes)),
        }
        try:
            results = self.pipeline.run([BEGIN, LOCK, READ_STATE, READ], params)
        except psycopg.OperationalError as exc:
            if self.pgconn.status == pq.ConnStatus.BAD:  # gone before anything was written
                raise ConnectionLost(str(exc)) from exc
            raise
        state_result, read_result = results[2], results[3]
        if state_result.ntuples == 0:
            return None
        next_seq, head_hash, epoch, next_nonce, spent, tree = (
            state_result.get_value(0, i) for i in range(6)
        )
        counts: dict[str, int] = {}
        pools: dict[str, str] = {}
        taken: set[str] = set()
        replay = None
        seed = commitment = ""
        revealed = False
        algorithm, opened_at, player_nonce = V1, None, 0
        for row in range(read_result.ntuples):
            kind = read_result.get_value(row, 0)
            a = text_of(read_result.get_value(row, 1))
            n = read_result.get_value(row, 3)
            if n is None and kind in (b"c", b"t"):  # no such counter yet, or a free code
                continue
            if kind == b"c":
                counts[a] = int_of(n)
            elif kind == b"e":
                seed, commitment = a, text_of(read_result.get_value(row, 2))
                revealed = read_result.get_value(row, 4) is not None
            elif kind == b"a":
                algorithm, player_nonce = a, int_of(n)
                opened_at = db_time(text_of(read_result.get_value(row, 4)))
            elif kind == b"i":
                replay = int_of(n)
            elif kind == b"p":
                pools[a] = text_of(read_result.get_value(row, 2))
            else:
                taken.add(a)
        return Locked(
            next_seq=int_of(next_seq),
            head_hash=text_of(head_hash),
            epoch=int_of(epoch),
            next_nonce=int_of(next_nonce),
            spent_total_cents=int_of(spent),
            server_seed=seed,
            commitment=commitment,
            revealed=revealed,
            counts=counts,
            replay_seq=replay,
            pool_codes=pools,
            taken_codes=frozenset(taken),
            algorithm=algorithm,
            opened_at=opened_at,
            player_nonce=player_nonce,
            tree=bytes.fromhex(text_of(tree)[2:]),  # bytea's text form: \x and hex
        )

    def taken_codes(self, campaign: str, codes: Sequence[str]) -> frozenset[str]:
        rows = self.conn.execute(
            "SELECT code FROM gamify_coupon WHERE campaign = %s AND code = ANY(%s)",
            (campaign, list(codes)),
        ).fetchall()
        return frozenset(r[0] for r in rows)

    def replay(self, campaign: str, seq: int) -> tuple[dict[str, Any], str]:
        return replayed(self.conn, campaign, seq)

    def write(self, write: PlayWrite) -> None:
        params = write_params(write)
        params["bumps"] = json.dumps(write.bumps)
        params["tree"] = write.tree.hex()
        params["nodes"] = json.dumps([[lv, ix, digest.hex()] for lv, ix, digest in write.nodes])
        self.pipeline.run([WRITE, COMMIT, FLUSH], params)  # FLUSH: its own transaction

    def end(self) -> None:
        """Roll back what is open; raises if the connection cannot be left clean."""
        pgconn = self.pgconn
        if self.pipeline.broken or pgconn.status != pq.ConnStatus.OK:
            raise psycopg.OperationalError("the connection was left in the middle of a play")
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            self.pipeline.run([ROLLBACK], {})
