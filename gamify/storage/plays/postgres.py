"""The play's storage on PostgreSQL: two pipelined round trips on libpq itself.

Every play of a campaign waits for the campaign lock, so the work done between taking it and
committing (the database's, and this process's between the two round trips) bounds the plays per
second of a campaign. The statements are prepared once per connection and sent through
``psycopg.pq``, psycopg's public libpq wrapper: its cursors, adapters and pipeline bookkeeping
cost about three times the CPU of the libpq calls they make, and this is the hottest path of the
service. Everything else goes through psycopg and SQLAlchemy as usual.

- **Read** (one round trip): ``BEGIN``; the campaign's advisory lock with the transaction's
  settings; the campaign's state; everything the play needs to decide, in one statement.
- **Write** (one more): the play and everything it changes, in one statement; ``COMMIT``; then a
  tiny transaction of its own (:data:`FLUSH`). The play commits without waiting for the WAL
  flush, which releases the lock before the disk is waited for; the flush transaction's commit,
  synchronous as the server is configured, then waits for the WAL up to and past the play. No
  answer leaves before the play is as durable as any synchronous commit on that server.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import select
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq

from gamify.services.ports import Locked, PlayQuery, PlayWrite
from gamify.storage.locks import campaign_lock_key
from gamify.storage.plays.base import (
    BUMP,
    INSERT_PLAY,
    STATE,
    UPDATE_STATE,
    ConnectionLost,
    StatementsLost,
    replayed,
    write_params,
)

# -- statements --------------------------------------------------------------------------------

_INT8, _BOOL, _TEXT = 20, 16, 25  # type oids of the parameters
_INTEGERS = frozenset({"lock", "seq", "epoch", "nonce", "next_seq", "next_nonce", "spent"})
_PARAM = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Statement:
    """A statement prepared once per connection under a name that changes with its text."""

    name: bytes
    sql: bytes
    params: tuple[str, ...]
    types: tuple[int, ...]

    @classmethod
    def of(cls, label: str, sql: str) -> Statement:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        numbered = _PARAM.sub(number, sql)
        digest = hashlib.sha256(numbered.encode()).hexdigest()[:16]
        types = tuple(_INT8 if n in _INTEGERS else _BOOL if n == "pooled" else _TEXT for n in names)
        return cls(f"gamify_{label}_{digest}".encode(), numbered.encode(), tuple(names), types)

    def values(self, params: Mapping[str, Any]) -> list[bytes | None]:
        return [_text(params[name]) for name in self.params]


def _text(value: Any) -> bytes | None:
    if value is None:
        return None
    if value is True or value is False:
        return b"t" if value else b"f"
    return str(value).encode()


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
head AS ({UPDATE_STATE}),
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
# A transactional WAL record gives this statement's transaction an id and a WAL write, so its
# commit, synchronous as the session's setting says, flushes the WAL up to and past the play
# committed just before it on this connection.
FLUSH = Statement.of("flush", "SELECT pg_logical_emit_message(true, 'gamify.flush', '')")
STATEMENTS = (LOCK, READ_STATE, READ, WRITE, FLUSH)
_BEGIN, _COMMIT = b"BEGIN", b"COMMIT"
# Sent before the statements are prepared on a connection: whatever is left of an earlier
# preparation (some statements dropped by name, some not) would make PREPARE fail. gamify's
# engine has psycopg's own automatic preparation off (gamify.storage.database.make_engine), so
# these are the only prepared statements the connection has.
_DEALLOCATE = b"DEALLOCATE ALL"
_MISSING_STATEMENT = b"26000"  # invalid_sql_statement_name


# -- the transaction ---------------------------------------------------------------------------


class PostgresPlays:
    """One play's transaction on a pooled psycopg connection, left idle and clean by :meth:`end`.

    ``info`` is the pool's per-connection dictionary: it remembers that the statements are
    prepared on this connection, and is dropped with the connection if the pool discards it.
    """

    def __init__(self, conn: psycopg.Connection[Any], info: dict[str, Any]) -> None:
        self.conn = conn
        self.pgconn = conn.pgconn
        self.info = info
        self.broken = False

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
            results = self._pipeline([_BEGIN, LOCK, READ_STATE, READ], params)
        except psycopg.OperationalError as exc:
            if self.pgconn.status == pq.ConnStatus.BAD:  # gone before anything was written
                raise ConnectionLost(str(exc)) from exc
            raise
        state_result, read_result = results[2], results[3]
        if state_result.ntuples == 0:
            return None
        next_seq, head_hash, epoch, next_nonce, spent = (
            state_result.get_value(0, i) for i in range(5)
        )
        counts: dict[str, int] = {}
        pools: dict[str, str] = {}
        taken: set[str] = set()
        replay = None
        seed = commitment = ""
        revealed = False
        for row in range(read_result.ntuples):
            kind = read_result.get_value(row, 0)
            a = _str(read_result.get_value(row, 1))
            n = read_result.get_value(row, 3)
            if n is None and kind in (b"c", b"t"):  # no such counter yet, or a free code
                continue
            if kind == b"c":
                counts[a] = _int(n)
            elif kind == b"e":
                seed, commitment = a, _str(read_result.get_value(row, 2))
                revealed = read_result.get_value(row, 4) is not None
            elif kind == b"i":
                replay = _int(n)
            elif kind == b"p":
                pools[a] = _str(read_result.get_value(row, 2))
            else:
                taken.add(a)
        return Locked(
            next_seq=_int(next_seq),
            head_hash=_str(head_hash),
            epoch=_int(epoch),
            next_nonce=_int(next_nonce),
            spent_total_cents=_int(spent),
            server_seed=seed,
            commitment=commitment,
            revealed=revealed,
            counts=counts,
            replay_seq=replay,
            pool_codes=pools,
            taken_codes=frozenset(taken),
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
        self._pipeline([WRITE, _COMMIT, FLUSH], params)  # FLUSH: its own transaction

    def end(self) -> None:
        """Roll back what is open; raises if the connection cannot be left clean."""
        pgconn = self.pgconn
        if self.broken or pgconn.status != pq.ConnStatus.OK:
            raise psycopg.OperationalError("the connection was left in the middle of a play")
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            self._pipeline([b"ROLLBACK"], {}, uses_statements=False)

    # -- libpq ---------------------------------------------------------------------------------

    def _pipeline(
        self,
        steps: Sequence[Statement | bytes],
        params: Mapping[str, Any],
        *,
        uses_statements: bool = True,
    ) -> list[pq.abc.PGresult]:
        """Send ``steps`` in one pipeline and wait for all their results; raise the first error.

        The connection stays non-blocking, as psycopg keeps it, and this process waits for the
        socket in Python: other threads run meanwhile (a play waiting for the campaign lock in
        one thread must not stop the thread that holds it).
        """
        pgconn = self.pgconn
        unprepared = uses_statements and not self.info.get("gamify_prepared")
        prepare = STATEMENTS if unprepared else ()
        self.broken = True  # until every answer is in: a half-read pipeline cannot be reused
        pgconn.enter_pipeline_mode()
        if prepare:
            pgconn.send_query_params(_DEALLOCATE, None)
        for statement in prepare:
            pgconn.send_prepare(statement.name, statement.sql, list(statement.types))
        for step in steps:
            if isinstance(step, Statement):
                pgconn.send_query_prepared(step.name, step.values(params))
            else:
                pgconn.send_query_params(step, None)
        pgconn.pipeline_sync()
        _flush(pgconn)
        preparing = len(prepare) + 1 if prepare else 0  # DEALLOCATE ALL, then each PREPARE
        results = [_next_result(pgconn) for _ in range(preparing + len(steps))]
        if _next_result(pgconn).status != pq.ExecStatus.PIPELINE_SYNC:
            raise psycopg.OperationalError("the server's answers are out of step")
        pgconn.exit_pipeline_mode()
        self.broken = False
        for result in results:
            if result.error_field(pq.DiagnosticField.SQLSTATE) == _MISSING_STATEMENT:
                # Dropped behind our back: prepare them all again at the next attempt, which
                # starts the play over (nothing was written: the transaction is aborted).
                self.info["gamify_prepared"] = False
                raise StatementsLost(_str(result.error_message).strip())
            _check(result, pgconn)
        if prepare:
            self.info["gamify_prepared"] = True
        return results[preparing:]


def _flush(pgconn: pq.abc.PGconn) -> None:
    while pgconn.flush():  # 1 while some of the output is still to send
        _wait(pgconn.socket, write=True)


def _next_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult:
    """The next result of a pipeline: a statement's (then the None that ends it), or the sync."""
    result = _get_result(pgconn)
    if result is None:
        raise psycopg.OperationalError(
            pgconn.error_message.decode(errors="replace") or "the server closed the connection"
        )
    if result.status != pq.ExecStatus.PIPELINE_SYNC and _get_result(pgconn) is not None:
        raise psycopg.OperationalError("a statement of the play returned more than one result")
    return result


def _get_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    while pgconn.is_busy():
        _wait(pgconn.socket, write=False)
        pgconn.consume_input()
    return pgconn.get_result()


def _wait(fd: int, *, write: bool) -> None:
    """Until the socket is ready; the GIL is released meanwhile."""
    if _poll is None:  # no poll(2) (Windows)
        select.select([], [fd], []) if write else select.select([fd], [], [])
        return
    waiting = _poll()
    waiting.register(fd, select.POLLOUT if write else select.POLLIN)
    waiting.poll()


_poll = getattr(select, "poll", None)


_OK = frozenset({pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.PIPELINE_SYNC})


def _check(result: pq.abc.PGresult, pgconn: pq.abc.PGconn) -> None:
    """Raise the server's error as psycopg would: its class follows the SQLSTATE."""
    if result.status in _OK:
        return
    message = (result.error_message or pgconn.error_message).decode(errors="replace").strip()
    sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE)
    error: type[psycopg.Error] = psycopg.DatabaseError
    if sqlstate:
        with contextlib.suppress(KeyError):  # a code newer than this psycopg knows
            error = psycopg.errors.lookup(sqlstate.decode())
    elif pgconn.status == pq.ConnStatus.BAD:  # libpq's own report of a lost connection
        error = psycopg.OperationalError
    raise error(message or f"the play's statement failed ({pq.ExecStatus(result.status).name})")


def _int(value: bytes | None) -> int:
    return int(value or 0)


def _str(value: bytes | None) -> str:
    return value.decode() if value is not None else ""
