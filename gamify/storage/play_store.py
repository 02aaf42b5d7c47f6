"""The play's own storage: one locked read and one write, in as few round trips as the database
allows, on the driver connection itself.

Every play of a campaign queues on the campaign's row, so the time between taking that lock and
releasing it bounds the plays per second of the whole campaign. SQLAlchemy stays in charge of the
pool and of everything else; the play path borrows a pooled driver connection and speaks SQL to
it directly, because building, compiling and wrapping statements per play cost more than the
statements themselves:

- **PostgreSQL** (psycopg 3, pipeline mode, server-side prepared statements): ``BEGIN``, the row
  lock and the read go out together (one round trip); the write and ``COMMIT`` go out together
  (one more). The commit does not wait for the WAL flush while holding the lock: it is
  asynchronous, and the same round trip then runs a tiny synchronous transaction whose commit
  flushes the WAL up to and past the play. So the lock is released before the disk is waited for,
  yet no answer leaves before the play is as durable as the server's own ``synchronous_commit``
  makes any commit.
- **SQLite** (sqlite3, in process): ``BEGIN IMMEDIATE`` takes the database's write lock, then
  plain statements, each a few microseconds; sqlite3 keeps them prepared.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine

from gamify.audit import PLAY_COLUMNS


@dataclass(frozen=True)
class PlayQuery:
    """What a play needs to read once it holds the campaign lock."""

    campaign: str
    scopes: Sequence[str]  # counters: limits per customer and period, stock, spend of the day
    player: str
    idempotency_key: str | None
    pool_prizes: Sequence[str]  # prizes whose coupons come from a pool: their next free code
    candidate_codes: Sequence[str]  # pattern codes made in advance: which are taken already


@dataclass(frozen=True)
class Locked:
    """The campaign as a play finds it, read under the campaign lock."""

    next_seq: int
    head_hash: str
    epoch: int
    next_nonce: int
    spent_total_cents: int
    server_seed: str
    commitment: str
    revealed: bool
    counts: dict[str, int]
    replay_seq: int | None
    pool_codes: dict[str, str]
    taken_codes: frozenset[str]


@dataclass(frozen=True)
class GivenCoupon:
    code: str
    prize: str
    pooled: bool  # a pool code is marked given; a pattern code is inserted


@dataclass(frozen=True)
class PlayWrite:
    """Everything one play writes: its chain row, the campaign's new head, counters, records."""

    row: dict[str, Any]  # the chain row (PLAY_COLUMNS) and its coupon
    next_nonce: int
    spent_total_cents: int
    bumps: dict[str, int] = field(default_factory=dict)
    idempotency_key: str | None = None
    coupon: GivenCoupon | None = None


class PlayTransaction(Protocol):
    def read(self, query: PlayQuery) -> Locked | None:
        """Begin, take the campaign lock and read; None when the campaign has no state row."""

    def taken_codes(self, campaign: str, codes: Sequence[str]) -> frozenset[str]: ...

    def replay(self, campaign: str, seq: int) -> tuple[dict[str, Any], str]:
        """The stored row (with its coupon) and its epoch's commitment."""

    def write(self, write: PlayWrite) -> None:
        """Write and commit; the lock is released and the play durable when this returns."""

    def end(self) -> None:
        """Roll back whatever is still open (a refused play) and leave the connection clean."""


def _locked(
    state: Sequence[Any],
    epoch: tuple[str, str, bool],
    counts: dict[str, int],
    replay: int | None,
    pools: dict[str, str],
    taken: frozenset[str],
) -> Locked:
    next_seq, head_hash, number, next_nonce, spent = state
    seed, commitment, revealed = epoch
    return Locked(
        next_seq=next_seq,
        head_hash=head_hash,
        epoch=number,
        next_nonce=next_nonce,
        spent_total_cents=spent,
        server_seed=seed,
        commitment=commitment,
        revealed=revealed,
        counts=counts,
        replay_seq=replay,
        pool_codes=pools,
        taken_codes=taken,
    )


@contextmanager
def play_transaction(engine: Engine) -> Iterator[PlayTransaction]:
    """A pooled connection for one play; a connection that fails to clean up is discarded."""
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    tx: PlayTransaction = (
        PostgresPlays(driver) if engine.dialect.name == "postgresql" else SqlitePlays(driver)
    )
    try:
        yield tx
    finally:
        try:
            tx.end()
        except Exception:  # the connection is broken: the pool must not hand it out again
            pooled.invalidate()
        pooled.close()


_STATE = "SELECT next_seq, head_hash, epoch, next_nonce, spent_total_cents FROM gamify_campaign"
_PLAY_SELECT = f"SELECT {', '.join(PLAY_COLUMNS)}, coupon FROM gamify_play"
_INSERT_PLAY = (
    f"INSERT INTO gamify_play ({', '.join(PLAY_COLUMNS)}, coupon) "
    f"VALUES ({', '.join(f'%({c})s' for c in (*PLAY_COLUMNS, 'coupon'))})"
)
_UPDATE_STATE = (
    "UPDATE gamify_campaign SET next_seq = %(next_seq)s, head_hash = %(hash)s, "
    "next_nonce = %(next_nonce)s, spent_total_cents = %(spent)s WHERE id = %(campaign)s"
)
_BUMP = "ON CONFLICT (campaign, scope) DO UPDATE SET value = gamify_counter.value + excluded.value"


def _params(write: PlayWrite) -> dict[str, Any]:
    coupon = write.coupon
    return {
        **write.row,
        "next_seq": write.row["seq"] + 1,
        "next_nonce": write.next_nonce,
        "spent": write.spent_total_cents,
        "idem": write.idempotency_key,
        "code": coupon.code if coupon else None,
        "coupon_prize": coupon.prize if coupon else None,
        "pooled": coupon.pooled if coupon else None,
    }


# -- PostgreSQL --------------------------------------------------------------------------------

_PG_LOCK = f"{_STATE} WHERE id = %(campaign)s FOR UPDATE"
# One shape whatever the campaign (arrays, not IN lists), so it is prepared once per connection.
# It runs after the lock statement, so its snapshot sees every play committed before ours. Keys
# are looked up one by one in scalar subqueries, which the planner cannot flatten into a join:
# each is an index probe on the whole primary key, even before the table's first ANALYZE, when
# a join plan may scan all of the campaign's rows instead.
_PG_READ = """\
SELECT 'c' AS kind, k.scope AS a, CAST(NULL AS TEXT) AS b,
       (SELECT value FROM gamify_counter WHERE campaign = %(campaign)s AND scope = k.scope) AS n,
       CAST(NULL AS TIMESTAMPTZ) AS t
  FROM unnest(CAST(%(scopes)s AS TEXT[])) AS k(scope)
UNION ALL
SELECT 'e', e.server_seed, e.commitment, e.epoch, e.revealed_at
  FROM gamify_campaign s JOIN gamify_epoch e ON e.campaign = s.id AND e.epoch = s.epoch
 WHERE s.id = %(campaign)s
UNION ALL
SELECT 'i', NULL, NULL, seq, NULL
  FROM gamify_idempotency
 WHERE campaign = %(campaign)s AND player = %(player)s AND key = CAST(%(idem)s AS TEXT)
UNION ALL
SELECT 'p', p.prize, q.code, NULL, NULL
  FROM unnest(CAST(%(pools)s AS TEXT[])) AS p(prize)
 CROSS JOIN LATERAL (
       SELECT code FROM gamify_coupon
        WHERE campaign = %(campaign)s AND prize = p.prize AND seq IS NULL
        ORDER BY position LIMIT 1) AS q
UNION ALL
SELECT 't', k.code, NULL,
       (SELECT 1 FROM gamify_coupon WHERE campaign = %(campaign)s AND code = k.code), NULL
  FROM unnest(CAST(%(codes)s AS TEXT[])) AS k(code)"""
# One statement (data-modifying CTEs); the optional parts are switched by their parameters.
_PG_WRITE = f"""\
WITH play AS ({_INSERT_PLAY}),
head AS ({_UPDATE_STATE}),
idem AS (
  INSERT INTO gamify_idempotency (campaign, player, key, seq)
  SELECT %(campaign)s, %(player)s, CAST(%(idem)s AS TEXT), %(seq)s
   WHERE CAST(%(idem)s AS TEXT) IS NOT NULL),
new_code AS (
  INSERT INTO gamify_coupon (campaign, code, prize, seq)
  SELECT %(campaign)s, CAST(%(code)s AS TEXT), CAST(%(coupon_prize)s AS TEXT), %(seq)s
   WHERE CAST(%(pooled)s AS BOOLEAN) IS FALSE),
pool_code AS (
  UPDATE gamify_coupon SET seq = %(seq)s
   WHERE campaign = %(campaign)s AND code = CAST(%(code)s AS TEXT)
     AND CAST(%(pooled)s AS BOOLEAN) IS TRUE)
INSERT INTO gamify_counter (campaign, scope, value)
SELECT %(campaign)s, s, v
  FROM unnest(CAST(%(bump_scopes)s AS TEXT[]), CAST(%(bump_values)s AS BIGINT[])) AS b(s, v)
{_BUMP}"""
# For the play's transaction only: commit without waiting for the WAL flush (see _PG_FLUSH), and
# run the prepared read and write with their generic plans. Left to itself, the planner re-plans
# the read at every play, for no better plan.
_PG_SETTINGS = (
    "SELECT set_config('synchronous_commit', 'off', true), "
    "set_config('plan_cache_mode', 'force_generic_plan', true)"
)
# A transactional WAL record gives this statement's transaction an id and a WAL write, so its
# commit, synchronous as the session's setting says, flushes the WAL up to and past the play
# committed just before it on this connection.
_PG_FLUSH = "SELECT pg_logical_emit_message(true, 'gamify.flush', '')"


class PostgresPlays:
    """Explicit ``BEGIN`` and ``COMMIT`` in autocommit mode: each pipeline is what is sent."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.open = False
        conn.autocommit = True

    def read(self, query: PlayQuery) -> Locked | None:
        conn = self.conn
        params = {
            "campaign": query.campaign,
            "scopes": list(query.scopes),
            "player": query.player,
            "idem": query.idempotency_key,
            "pools": list(query.pool_prizes),
            "codes": list(query.candidate_codes),
        }
        self.open = True
        with conn.pipeline():
            conn.execute("BEGIN")
            conn.execute(_PG_SETTINGS, prepare=True)
            state_cursor = conn.execute(_PG_LOCK, params, prepare=True)
            read_cursor = conn.execute(_PG_READ, params, prepare=True)
        state = state_cursor.fetchone()
        if state is None:
            return None
        counts: dict[str, int] = {}
        pools: dict[str, str] = {}
        taken: set[str] = set()
        replay = None
        seed = commitment = ""
        revealed = False
        for kind, a, b, n, t in read_cursor.fetchall():
            if n is None and kind in "ct":  # no such counter yet, or a free code
                continue
            if kind == "c":
                counts[a] = n
            elif kind == "e":
                seed, commitment, revealed = a, b, t is not None
            elif kind == "i":
                replay = n
            elif kind == "p":
                pools[a] = b
            else:
                taken.add(a)
        return _locked(state, (seed, commitment, revealed), counts, replay, pools, frozenset(taken))

    def taken_codes(self, campaign: str, codes: Sequence[str]) -> frozenset[str]:
        rows = self.conn.execute(
            "SELECT code FROM gamify_coupon WHERE campaign = %s AND code = ANY(%s)",
            (campaign, list(codes)),
        ).fetchall()
        return frozenset(r[0] for r in rows)

    def replay(self, campaign: str, seq: int) -> tuple[dict[str, Any], str]:
        cursor = self.conn.execute(
            f"{_PLAY_SELECT} WHERE campaign = %s AND seq = %s", (campaign, seq)
        )
        row = dict(zip([*PLAY_COLUMNS, "coupon"], cursor.fetchone(), strict=True))
        commitment = self.conn.execute(
            "SELECT commitment FROM gamify_epoch WHERE campaign = %s AND epoch = %s",
            (campaign, row["epoch"]),
        ).fetchone()[0]
        return row, commitment

    def write(self, write: PlayWrite) -> None:
        conn = self.conn
        params = _params(write)
        params["bump_scopes"] = list(write.bumps)
        params["bump_values"] = list(write.bumps.values())
        with conn.pipeline():
            conn.execute(_PG_WRITE, params, prepare=True)
            conn.execute("COMMIT")
            conn.execute(_PG_FLUSH, prepare=True)  # its own transaction, committed at the sync
        self.open = False

    def end(self) -> None:
        conn = self.conn
        if self.open or conn.info.transaction_status.name != "IDLE":
            conn.execute("ROLLBACK")
            self.open = False
        conn.autocommit = False


# -- SQLite ------------------------------------------------------------------------------------


def _marks(prefix: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """``:prefix0, :prefix1, …`` for an IN list, the values added to ``params``."""
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
    return ", ".join(f":{prefix}{i}" for i in range(len(values)))


def _sqlite(sql: str) -> str:
    return sql.replace("%(", ":").replace(")s", "")


_SQLITE_INSERT_PLAY = _sqlite(_INSERT_PLAY)
_SQLITE_UPDATE_STATE = _sqlite(_UPDATE_STATE)


class SqlitePlays:
    """``BEGIN IMMEDIATE`` first: the write lock is held before anything is read."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def read(self, query: PlayQuery) -> Locked | None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        c = query.campaign
        state = conn.execute(f"{_STATE} WHERE id = ?", (c,)).fetchone()
        if state is None:
            return None
        epoch = conn.execute(
            "SELECT server_seed, commitment, revealed_at FROM gamify_epoch "
            "WHERE campaign = ? AND epoch = ?",
            (c, state[2]),
        ).fetchone()
        params: dict[str, Any] = {"campaign": c}
        counts: dict[str, int] = {}
        if query.scopes:
            in_list = _marks("s", query.scopes, params)
            counts = dict(
                conn.execute(
                    "SELECT scope, value FROM gamify_counter "
                    f"WHERE campaign = :campaign AND scope IN ({in_list})",
                    params,
                ).fetchall()
            )
        replay = None
        if query.idempotency_key is not None:
            found = conn.execute(
                "SELECT seq FROM gamify_idempotency WHERE campaign = ? AND player = ? AND key = ?",
                (c, query.player, query.idempotency_key),
            ).fetchone()
            replay = found[0] if found else None
        pools = {}
        for prize in query.pool_prizes:
            code = conn.execute(
                "SELECT code FROM gamify_coupon WHERE campaign = ? AND prize = ? AND seq IS NULL "
                "ORDER BY position LIMIT 1",
                (c, prize),
            ).fetchone()
            if code is not None:
                pools[prize] = code[0]
        taken = self.taken_codes(c, query.candidate_codes)
        return _locked(
            state, (epoch[0], epoch[1], epoch[2] is not None), counts, replay, pools, taken
        )

    def taken_codes(self, campaign: str, codes: Sequence[str]) -> frozenset[str]:
        if not codes:
            return frozenset()
        params: dict[str, Any] = {"campaign": campaign}
        in_list = _marks("k", codes, params)
        rows = self.conn.execute(
            f"SELECT code FROM gamify_coupon WHERE campaign = :campaign AND code IN ({in_list})",
            params,
        ).fetchall()
        return frozenset(r[0] for r in rows)

    def replay(self, campaign: str, seq: int) -> tuple[dict[str, Any], str]:
        found = self.conn.execute(
            f"{_PLAY_SELECT} WHERE campaign = ? AND seq = ?", (campaign, seq)
        ).fetchone()
        row = dict(zip([*PLAY_COLUMNS, "coupon"], found, strict=True))
        commitment = self.conn.execute(
            "SELECT commitment FROM gamify_epoch WHERE campaign = ? AND epoch = ?",
            (campaign, row["epoch"]),
        ).fetchone()[0]
        return row, commitment

    def write(self, write: PlayWrite) -> None:
        conn = self.conn
        params = _params(write)
        conn.execute(_SQLITE_INSERT_PLAY, params)
        conn.execute(_SQLITE_UPDATE_STATE, params)
        if write.idempotency_key is not None:
            conn.execute(
                "INSERT INTO gamify_idempotency (campaign, player, key, seq) "
                "VALUES (:campaign, :player, :idem, :seq)",
                params,
            )
        coupon = write.coupon
        if coupon is not None and coupon.pooled:
            conn.execute(
                "UPDATE gamify_coupon SET seq = :seq WHERE campaign = :campaign AND code = :code",
                params,
            )
        elif coupon is not None:
            conn.execute(
                "INSERT INTO gamify_coupon (campaign, code, prize, seq) "
                "VALUES (:campaign, :code, :coupon_prize, :seq)",
                params,
            )
        if write.bumps:
            values = ", ".join(f"(:campaign, :b{i}, :v{i})" for i in range(len(write.bumps)))
            for i, (scope, value) in enumerate(write.bumps.items()):
                params[f"b{i}"], params[f"v{i}"] = scope, value
            conn.execute(
                f"INSERT INTO gamify_counter (campaign, scope, value) VALUES {values} {_BUMP}",
                params,
            )
        conn.execute("COMMIT")

    def end(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
