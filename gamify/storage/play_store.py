"""The play's own storage: one locked read and one write, in as few round trips as the database
allows, on the driver connection itself.

Every play of a campaign queues on the campaign lock, so the time between taking that lock and
releasing it bounds the plays per second of the whole campaign. SQLAlchemy stays in charge of the
pool and of everything else; the play path borrows a pooled driver connection and speaks SQL to
it directly, because building, compiling and wrapping statements per play cost more than the
statements themselves:

- **PostgreSQL**: :mod:`gamify.storage.postgres_plays`, two pipelined round trips on libpq.
- **SQLite** (sqlite3, in process): ``BEGIN IMMEDIATE`` takes the database's write lock, then
  plain statements, each a few microseconds; sqlite3 keeps them prepared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine

from gamify.audit import PLAY_COLUMNS


class StartOver(Exception):
    """The play failed before it wrote anything, for a reason that the next attempt does not
    share: it can start over from the top."""


class ConnectionLost(StartOver):
    """The pooled connection was dead before the play wrote anything (the database restarted,
    or dropped it): nothing was written, so the play can start over on a new connection."""


class StatementsLost(StartOver):
    """The connection no longer had the play's prepared statements (something ran ``DEALLOCATE
    ALL`` or ``DISCARD ALL`` on it): the transaction was rolled back, and the next attempt
    prepares them again."""


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


def locked(
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
    from gamify.storage.postgres_plays import PostgresPlays  # it builds on this module

    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    assert driver is not None  # a checked-out connection has its driver connection
    tx: PlayTransaction = (
        PostgresPlays(driver, pooled.info)
        if engine.dialect.name == "postgresql"
        else SqlitePlays(driver)
    )
    try:
        yield tx
    finally:
        try:
            tx.end()
        except Exception:  # the connection is broken: the pool must not hand it out again
            pooled.invalidate()
        pooled.close()


STATE = "SELECT next_seq, head_hash, epoch, next_nonce, spent_total_cents FROM gamify_campaign"
_REPLAYED_PLAY = (
    f"SELECT {', '.join(PLAY_COLUMNS)}, coupon FROM gamify_play "
    "WHERE campaign = %(campaign)s AND seq = %(seq)s"
)
_COMMITMENT = (
    "SELECT commitment FROM gamify_epoch WHERE campaign = %(campaign)s AND epoch = %(epoch)s"
)
INSERT_PLAY = (
    f"INSERT INTO gamify_play ({', '.join(PLAY_COLUMNS)}, coupon) "
    f"VALUES ({', '.join(f'%({c})s' for c in (*PLAY_COLUMNS, 'coupon'))})"
)
UPDATE_STATE = (
    "UPDATE gamify_campaign SET next_seq = %(next_seq)s, head_hash = %(hash)s, "
    "next_nonce = %(next_nonce)s, spent_total_cents = %(spent)s WHERE id = %(campaign)s"
)
BUMP = "ON CONFLICT (campaign, scope) DO UPDATE SET value = gamify_counter.value + excluded.value"


def replayed(
    conn: Any, campaign: str, seq: int, sql: Callable[[str], str] = str
) -> tuple[dict[str, Any], str]:
    """The stored play ``seq`` (with its coupon) and its epoch's commitment, on either driver's
    connection (``sql`` turns the statements into its parameter style)."""
    found = conn.execute(sql(_REPLAYED_PLAY), {"campaign": campaign, "seq": seq}).fetchone()
    row = dict(zip([*PLAY_COLUMNS, "coupon"], found, strict=True))
    epoch = {"campaign": campaign, "epoch": row["epoch"]}
    commitment: str = conn.execute(sql(_COMMITMENT), epoch).fetchone()[0]
    return row, commitment


def write_params(write: PlayWrite) -> dict[str, Any]:
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


# -- SQLite ------------------------------------------------------------------------------------


def _marks(prefix: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """``:prefix0, :prefix1, …`` for an IN list, the values added to ``params``."""
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
    return ", ".join(f":{prefix}{i}" for i in range(len(values)))


def _sqlite(sql: str) -> str:
    return sql.replace("%(", ":").replace(")s", "")


_SQLITE_INSERT_PLAY = _sqlite(INSERT_PLAY)
_SQLITE_UPDATE_STATE = _sqlite(UPDATE_STATE)


class SqlitePlays:
    """``BEGIN IMMEDIATE`` first: the write lock is held before anything is read."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def read(self, query: PlayQuery) -> Locked | None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        c = query.campaign
        state = conn.execute(f"{STATE} WHERE id = ?", (c,)).fetchone()
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
        return locked(
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
        return replayed(self.conn, campaign, seq, _sqlite)

    def write(self, write: PlayWrite) -> None:
        conn = self.conn
        params = write_params(write)
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
                f"INSERT INTO gamify_counter (campaign, scope, value) VALUES {values} {BUMP}",
                params,
            )
        conn.execute("COMMIT")

    def end(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
