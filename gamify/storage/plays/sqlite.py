"""The play's storage on SQLite (sqlite3, in process): ``BEGIN IMMEDIATE`` takes the database's
write lock before anything is read, then plain statements, each a few microseconds; sqlite3
keeps them prepared."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gamify.core.play import nonce_scope
from gamify.services.ports import Locked, PlayQuery, PlayWrite
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


def _marks(prefix: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """``:prefix0, :prefix1, …`` for an IN list, the values added to ``params``."""
    for i, value in enumerate(values):
        params[f"{prefix}{i}"] = value
    return ", ".join(f":{prefix}{i}" for i in range(len(values)))


def _sqlite(sql: str) -> str:
    return sql.replace("%(", ":").replace(")s", "")


_SQLITE_INSERT_PLAY = _sqlite(INSERT_PLAY)
_SQLITE_UPDATE_STATE = _sqlite(update_state("%(tree)s"))
_SQLITE_INSERT_ASSIGNMENT = _sqlite(insert_assignment("%(assign_at)s"))


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
            "SELECT server_seed, commitment, revealed_at, algorithm, opened_at, "
            "(SELECT value FROM gamify_counter WHERE campaign = ? AND scope = ?) "
            "FROM gamify_epoch WHERE campaign = ? AND epoch = ?",
            (c, nonce_scope(state[2], query.player), c, state[2]),
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
        next_seq, head_hash, number, next_nonce, spent, tree = state
        seed, commitment, revealed_at, algorithm, opened_at, player_nonce = epoch
        return Locked(
            next_seq=next_seq,
            head_hash=head_hash,
            epoch=number,
            next_nonce=next_nonce,
            spent_total_cents=spent,
            server_seed=seed,
            commitment=commitment,
            revealed=revealed_at is not None,
            counts=counts,
            replay_seq=replay,
            pool_codes=pools,
            taken_codes=taken,
            algorithm=algorithm,
            opened_at=db_time(opened_at),
            player_nonce=player_nonce or 0,
            tree=tree or b"",
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
        params["tree"] = write.tree
        conn.execute(_SQLITE_INSERT_PLAY, params)
        conn.execute(_SQLITE_UPDATE_STATE, params)
        conn.executemany(
            "INSERT INTO gamify_tree_node (campaign, level, idx, hash) VALUES (?, ?, ?, ?)",
            [(write.row["campaign"], *node) for node in write.nodes],
        )
        if write.assignment is not None:
            conn.execute(_SQLITE_INSERT_ASSIGNMENT, params)
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
