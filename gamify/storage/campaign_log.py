"""The :class:`~gamify.services.ports.CampaignLog` port in SQL: config versions, epochs, pool
codes, counters and the log read back, on SQLite and PostgreSQL through SQLAlchemy Core.

Whatever moves a campaign's chain (a rotation, a reveal, the counters' one rebuild) takes the
campaign lock first, as plays do: an advisory lock on PostgreSQL, the database's write lock
(``BEGIN IMMEDIATE``) on SQLite.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text, update

from gamify.core.chain import PLAY_COLUMNS, ZERO_HASH
from gamify.core.fairness import V2
from gamify.services.ports import (
    ConfigRecord,
    EpochInfo,
    LogSnapshot,
    NewEpoch,
    Pool,
    PoolConflict,
    StoredCheckpoint,
)
from gamify.storage.database import dialect_insert, insert_missing, writing
from gamify.storage.locks import campaign_lock_key
from gamify.storage.tables import (
    campaign_t,
    checkpoint_t,
    config_t,
    counter_t,
    coupon_t,
    epoch_t,
    play_t,
)

AWARDS_COUNTED = "awards-counted"
"""A counter whose presence says the campaign's ``prize:<id>`` counters count every award."""
_CODES_PER_QUERY = 500


class SqlCampaignLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        campaign: str,
        configs: Sequence[ConfigRecord],
        epoch_zero: NewEpoch,
        pools: Sequence[Pool],
        now: datetime,
    ) -> None:
        with writing(self.engine) as conn:
            insert_missing(conn, campaign_t, [{"id": campaign}], ["id"])
            versions = [
                {
                    "campaign": campaign,
                    "config_hash": config.config_hash,
                    "config": config.config,
                    "created_at": now,
                }
                for config in configs
            ]
            insert_missing(conn, config_t, versions, ["campaign", "config_hash"])
            epoch = {
                "campaign": campaign,
                "epoch": 0,
                "server_seed": epoch_zero.seed,
                "commitment": epoch_zero.commitment,
                "opened_at": now,
                "algorithm": V2,
            }
            insert_missing(conn, epoch_t, [epoch], ["campaign", "epoch"])
            for pool in pools:
                rows = [
                    {"campaign": campaign, "code": code, "prize": pool.prize, "position": i}
                    for i, code in enumerate(pool.codes)
                ]
                insert_missing(conn, coupon_t, rows, ["campaign", "code"])
                check_pool(conn, campaign, pool)  # raising rolls all of this back
            _count_awards_once(conn, campaign)

    def reveal_open_epoch(self, campaign: str, now: datetime) -> None:
        with writing(self.engine) as conn:
            _lock_campaign(conn, campaign)  # no play in flight draws from the seed revealed
            conn.execute(
                update(epoch_t)
                .where(epoch_t.c.campaign == campaign, epoch_t.c.revealed_at.is_(None))
                .values(revealed_at=now)
            )

    def open_next_epoch(
        self, campaign: str, epoch: NewEpoch, now: datetime, *, after: int | None = None
    ) -> bool:
        with writing(self.engine) as conn:
            _lock_campaign(conn, campaign)
            state = conn.execute(select(campaign_t).where(campaign_t.c.id == campaign)).first()
            if state is None or (after is not None and state.epoch != after):
                return False  # not set up yet, or another worker opened the next one already
            conn.execute(
                update(epoch_t)
                .where(
                    epoch_t.c.campaign == campaign,
                    epoch_t.c.epoch == state.epoch,
                    epoch_t.c.revealed_at.is_(None),
                )
                .values(revealed_at=now)
            )
            conn.execute(
                epoch_t.insert().values(
                    campaign=campaign,
                    epoch=state.epoch + 1,
                    server_seed=epoch.seed,
                    commitment=epoch.commitment,
                    opened_at=now,
                    algorithm=V2,
                )
            )
            conn.execute(
                update(campaign_t)
                .where(campaign_t.c.id == campaign)
                .values(epoch=state.epoch + 1, next_nonce=0)
            )
        return True

    def epochs(self, campaign: str) -> list[EpochInfo]:
        with self.engine.connect() as conn:
            return _epochs(conn, campaign)

    def tree_head(self, campaign: str) -> tuple[int, bytes]:
        with self.engine.connect() as conn:
            head = conn.execute(
                select(campaign_t.c.next_seq, campaign_t.c.tree).where(campaign_t.c.id == campaign)
            ).first()
        return (head.next_seq, bytes(head.tree or b"")) if head is not None else (0, b"")

    def latest_checkpoint(self, campaign: str) -> StoredCheckpoint | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(checkpoint_t)
                .where(checkpoint_t.c.campaign == campaign)
                .order_by(checkpoint_t.c.size.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return StoredCheckpoint(row.size, bytes(row.root), row.note, _aware(row.created_at))

    def add_checkpoint(self, campaign: str, checkpoint: StoredCheckpoint) -> None:
        row = {
            "campaign": campaign,
            "size": checkpoint.size,
            "root": checkpoint.root,
            "note": checkpoint.note,
            "created_at": checkpoint.created_at,
        }
        with writing(self.engine) as conn:
            insert_missing(conn, checkpoint_t, [row], ["campaign", "size"])

    def tree_nodes(
        self, campaign: str, nodes: Collection[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """One query on the primary key (a proof at any size asks for a few dozen nodes)."""
        if not nodes:
            return {}
        by_level: dict[int, set[int]] = {}
        for level, index in nodes:
            by_level.setdefault(level, set()).add(index)
        # A SELECT per level, each probing the primary key for its indexes: SQLite scans the
        # campaign's nodes for a list of row values, or for an OR of the levels. Written as
        # text: building the same query as expressions cost more than running it.
        params: dict[str, Any] = {"campaign": campaign}
        parts = []
        for n, (level, indexes) in enumerate(sorted(by_level.items())):
            params[f"l{n}"] = level
            marks = []
            for m, index in enumerate(sorted(indexes)):
                params[f"i{n}_{m}"] = index
                marks.append(f":i{n}_{m}")
            parts.append(
                "SELECT level, idx, hash FROM gamify_tree_node "
                f"WHERE campaign = :campaign AND level = :l{n} AND idx IN ({', '.join(marks)})"
            )
        with self.engine.connect() as conn:
            rows = conn.execute(text(" UNION ALL ".join(parts)), params)
            return {(level, index): bytes(digest) for level, index, digest in rows}

    def counters(self, campaign: str, scopes: Sequence[str]) -> dict[str, int]:
        if not scopes:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(counter_t.c.scope, counter_t.c.value).where(
                    counter_t.c.campaign == campaign, counter_t.c.scope.in_(scopes)
                )
            ).all()
        return {r.scope: r.value for r in rows}

    def plays_of(self, players: Mapping[str, str]) -> list[dict[str, Any]]:
        if not players:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(play_t)
                .where(play_t.c.player.in_(players))
                .order_by(play_t.c.at, play_t.c.campaign, play_t.c.seq)
            ).all()
        return [
            {**{c: getattr(r, c) for c in PLAY_COLUMNS}, "coupon": r.coupon}
            for r in rows
            if players.get(r.player) == r.campaign
        ]

    def snapshot(self, campaign: str) -> LogSnapshot:
        """The head first, then the config versions and epochs, which are recorded before any
        play uses them: the snapshot covers every play up to the head, on PostgreSQL's READ
        COMMITTED as on SQLite."""
        with self.engine.connect() as conn:
            head = conn.execute(
                select(campaign_t.c.next_seq, campaign_t.c.head_hash).where(
                    campaign_t.c.id == campaign
                )
            ).first()
            configs = conn.execute(
                select(config_t.c.config_hash, config_t.c.config)
                .where(config_t.c.campaign == campaign)
                .order_by(config_t.c.created_at, config_t.c.config_hash)
            ).all()
            epochs = _epochs(conn, campaign)
        return LogSnapshot(
            campaign=campaign,
            head=head.next_seq if head is not None else 0,
            head_hash=head.head_hash if head is not None else ZERO_HASH,
            configs=tuple(ConfigRecord(c.config_hash, c.config) for c in configs),
            epochs=tuple(epochs),
        )

    def configs_used(self, campaign: str, before: int) -> set[str]:
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(play_t.c.config_hash)
                    .where(play_t.c.campaign == campaign, play_t.c.seq < before)
                    .distinct()
                ).scalars()
            )

    def play_rows(self, campaign: str, start: int, end: int, limit: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*[play_t.c[c] for c in PLAY_COLUMNS])
                .where(play_t.c.campaign == campaign, play_t.c.seq >= start, play_t.c.seq < end)
                .order_by(play_t.c.seq)
                .limit(limit)
            ).all()
        return [r._asdict() for r in rows]


def _epochs(conn: Connection, campaign: str) -> list[EpochInfo]:
    rows = conn.execute(
        select(epoch_t).where(epoch_t.c.campaign == campaign).order_by(epoch_t.c.epoch)
    ).all()
    return [
        EpochInfo(
            epoch=r.epoch,
            commitment=r.commitment,
            server_seed=r.server_seed if r.revealed_at is not None else None,
            opened_at=_aware(r.opened_at),
            revealed_at=_aware(r.revealed_at) if r.revealed_at is not None else None,
            algorithm=r.algorithm,
        )
        for r in rows
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_pool(conn: Connection, campaign: str, pool: Pool) -> None:
    """Every code of the pool must be one of its prize's pool codes in the database (a
    challenge's reward pool too: its campaign is the challenge)."""
    for start in range(0, len(pool.codes), _CODES_PER_QUERY):
        chunk = list(pool.codes[start : start + _CODES_PER_QUERY])
        taken = conn.execute(
            select(coupon_t.c.code, coupon_t.c.prize, coupon_t.c.position)
            .where(
                coupon_t.c.campaign == campaign,
                coupon_t.c.code.in_(chunk),
                (coupon_t.c.prize != pool.prize) | coupon_t.c.position.is_(None),
            )
            .order_by(coupon_t.c.code)
            .limit(1)
        ).first()
        if taken is not None:
            raise PoolConflict(pool, taken.code, taken.prize, pattern=taken.position is None)


def _count_awards_once(conn: Connection, campaign: str) -> None:
    """Set every ``prize:<id>`` counter to the awards the log holds, once per campaign.

    Versions before 0.1 counted only the awards of prizes that had a stock, so a stock added
    later started from zero while the verifier counts every award of the log: the counters are
    rebuilt from the log once, under the campaign lock, and every play has counted its award
    since.
    """
    done = select(counter_t.c.value).where(
        counter_t.c.campaign == campaign, counter_t.c.scope == AWARDS_COUNTED
    )
    if conn.execute(done).first() is not None:
        return
    _lock_campaign(conn, campaign)
    if conn.execute(done).first() is not None:  # another worker did it while we waited
        return
    awards = conn.execute(
        select(play_t.c.awarded, func.count())
        .where(play_t.c.campaign == campaign)
        .group_by(play_t.c.awarded)
    ).all()
    rows = [{"campaign": campaign, "scope": f"prize:{a}", "value": n} for a, n in awards]
    rows.append({"campaign": campaign, "scope": AWARDS_COUNTED, "value": 1})
    insert = dialect_insert(conn)(counter_t)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["campaign", "scope"], set_={"value": insert.excluded.value}
        ),
        rows,
    )


def _lock_campaign(conn: Connection, campaign: str) -> None:
    """The campaign lock, until commit: plays, rotations and reveals queue here, one at a time.
    On SQLite the writing transaction's ``BEGIN IMMEDIATE`` already holds the database's."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(campaign_lock_key(campaign))))
