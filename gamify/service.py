"""The play use case and the rest of the campaign lifecycle, on top of the storage tables.

A play is one transaction that first takes the campaign lock (a transaction-level advisory lock
on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so seq, nonces, limits, stock, budgets and coupons
are read and written by one process at a time, whatever the number of workers. What a play
reads and writes goes through :mod:`gamify.storage.play_store`; the decisions are made here.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import Connection, Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gamify import fairness
from gamify.audit import PLAY_COLUMNS, bundle_line, chain_row, epoch_record, play_record, pseudonym
from gamify.campaign import Campaign, Prize
from gamify.canonical import canonical_json
from gamify.coupons import make_code, read_pool
from gamify.errors import CampaignInactive, InvalidRequest, LimitReached, NotFound
from gamify.periods import local_date, period_end, period_key
from gamify.rules import Ledger, award
from gamify.storage.database import writing
from gamify.storage.play_store import (
    ConnectionLost,
    GivenCoupon,
    Locked,
    PlayQuery,
    PlayTransaction,
    PlayWrite,
    StartOver,
    play_transaction,
)
from gamify.storage.postgres_plays import campaign_lock_key
from gamify.storage.tables import (
    CampaignState,
    ConfigVersion,
    CounterRow,
    CouponRow,
    EpochRow,
    IdempotencyRow,
    PlayRow,
)

Clock = Callable[[], datetime]
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")

campaign_t: Table = CampaignState.__table__  # type: ignore[attr-defined]
config_t: Table = ConfigVersion.__table__  # type: ignore[attr-defined]
counter_t: Table = CounterRow.__table__  # type: ignore[attr-defined]
coupon_t: Table = CouponRow.__table__  # type: ignore[attr-defined]
epoch_t: Table = EpochRow.__table__  # type: ignore[attr-defined]
idem_t: Table = IdempotencyRow.__table__  # type: ignore[attr-defined]
play_t: Table = PlayRow.__table__  # type: ignore[attr-defined]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Allowance:
    """Plays a customer has left now (None: no limit) and when the next one frees up."""

    plays_left: int | None
    next_play_at: datetime | None


@dataclass(frozen=True)
class PlayResult:
    row: dict[str, Any]
    commitment: str
    prize: Prize
    segment: int
    coupon: str | None
    allowance: Allowance
    replayed: bool = False


@dataclass(frozen=True)
class EpochInfo:
    epoch: int
    commitment: str
    server_seed: str | None
    opened_at: datetime
    revealed_at: datetime | None


def cents(value: Decimal | None) -> int:
    return int((value or 0) * 100)


class Service:
    def __init__(self, engine: Engine, secret: str | bytes, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        raw = secret.encode() if isinstance(secret, str) else secret
        self.player_key = hmac.digest(raw, b"gamify.pseudonym", "sha256")

    def player(self, campaign_id: str, customer_id: str) -> str:
        return pseudonym(self.player_key, campaign_id, customer_id)

    # -- lifecycle ------------------------------------------------------------------------

    def sync(self, campaign: Campaign) -> None:
        """Record this config version, create state and epoch 0 (seed committed before any play),
        import new pool codes; safe to run from every worker at once."""
        now = self.clock()
        seed = fairness.new_server_seed()
        with writing(self.engine) as conn:
            _insert_missing(conn, campaign_t, [{"id": campaign.id}], ["id"])
            _insert_missing(
                conn,
                config_t,
                [
                    {
                        "campaign": campaign.id,
                        "config_hash": campaign.config_hash,
                        "config": canonical_json(campaign.rules.config).decode(),
                        "created_at": now,
                    }
                ],
                ["campaign", "config_hash"],
            )
            epoch_zero = {
                "campaign": campaign.id,
                "epoch": 0,
                "server_seed": seed,
                "commitment": fairness.commitment(seed),
                "opened_at": now,
            }
            _insert_missing(conn, epoch_t, [epoch_zero], ["campaign", "epoch"])
            for prize in campaign.prizes:
                if prize.coupon is not None and prize.coupon.pool is not None:
                    codes = [
                        {"campaign": campaign.id, "code": code, "prize": prize.id, "position": i}
                        for i, code in enumerate(read_pool(prize.coupon.pool))
                    ]
                    _insert_missing(conn, coupon_t, codes, ["campaign", "code"])
        self.reveal_if_ended(campaign)

    def reveal_if_ended(self, campaign: Campaign) -> None:
        """A campaign past its end reveals its open epoch's seed by itself."""
        now = self.clock()
        if now < campaign.ends:
            return
        with writing(self.engine) as conn:
            _lock_campaign(conn, campaign.id)  # no play in flight draws from the seed revealed
            conn.execute(
                update(epoch_t)
                .where(epoch_t.c.campaign == campaign.id, epoch_t.c.revealed_at.is_(None))
                .values(revealed_at=now)
            )

    def rotate(self, campaign_id: str) -> EpochInfo:
        """Close the open epoch, reveal its seed, and open the next one."""
        now = self.clock()
        with writing(self.engine) as conn:
            state = _lock_state(conn, campaign_id)
            if state is None:
                raise NotFound(f"campaign {campaign_id!r} has no plays or epochs yet")
            self._open_next_epoch(conn, campaign_id, state.epoch, now)
        return self.epochs(campaign_id)[-1]

    def _open_next_epoch(
        self, conn: Connection, campaign_id: str, epoch: int, now: datetime
    ) -> int:
        conn.execute(
            update(epoch_t)
            .where(
                epoch_t.c.campaign == campaign_id,
                epoch_t.c.epoch == epoch,
                epoch_t.c.revealed_at.is_(None),
            )
            .values(revealed_at=now)
        )
        seed = fairness.new_server_seed()
        conn.execute(
            epoch_t.insert().values(
                campaign=campaign_id,
                epoch=epoch + 1,
                server_seed=seed,
                commitment=fairness.commitment(seed),
                opened_at=now,
            )
        )
        conn.execute(
            update(campaign_t)
            .where(campaign_t.c.id == campaign_id)
            .values(epoch=epoch + 1, next_nonce=0)
        )
        return epoch + 1

    def epochs(self, campaign_id: str) -> list[EpochInfo]:
        with self.engine.connect() as conn:
            return _epochs(conn, campaign_id)

    # -- plays ----------------------------------------------------------------------------

    def allowance(self, campaign: Campaign, customer_id: str) -> Allowance:
        now = self.clock()
        player = self.player(campaign.id, customer_id)
        with self.engine.begin() as conn:
            scopes = _limit_scopes(campaign, player, now)
            counts = _counters(conn, campaign.id, scopes)
        return _allowance(campaign, scopes, now, counts)

    def play(
        self,
        campaign: Campaign,
        customer_id: str,
        client_seed: str | None = None,
        idempotency_key: str | None = None,
    ) -> PlayResult:
        if client_seed is None:
            client_seed = fairness.new_client_seed()
        elif not fairness.is_client_seed(client_seed):
            raise InvalidRequest("client_seed must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -")
        if idempotency_key is not None and not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise InvalidRequest("Idempotency-Key must be 1 to 128 visible ASCII characters")
        player = self.player(campaign.id, customer_id)
        fresh = False  # after a lost connection, once on new connections
        while True:
            try:
                with play_transaction(self.engine) as tx:
                    result = self._play_locked(tx, campaign, player, client_seed, idempotency_key)
            except StartOver as exc:
                if fresh:
                    raise
                if isinstance(exc, ConnectionLost):
                    # The database restarted or dropped idle connections: the pool's others are
                    # likely dead too. Nothing was written, so the play starts over on a new pool.
                    self.engine.dispose()
                fresh = True
                continue
            if isinstance(result, PlayResult):
                return result
            # The open epoch's seed is public (the campaign ended, then its end moved): a play
            # never draws from a published seed, so the next epoch opens and the play starts over.
            self._open_epoch_after(campaign.id, result)

    def _play_locked(
        self,
        tx: PlayTransaction,
        campaign: Campaign,
        player: str,
        client_seed: str,
        idempotency_key: str | None,
    ) -> PlayResult | int:
        """The play, or the number of a revealed open epoch that must be closed first."""
        now = self.clock()
        scopes = _limit_scopes(campaign, player, now)
        day = local_date(now, campaign.timezone).isoformat()
        candidates = {
            p.id: make_code(p.coupon.pattern)
            for p in campaign.prizes
            if p.coupon is not None and p.coupon.pattern is not None
        }
        found = tx.read(
            PlayQuery(
                campaign=campaign.id,
                scopes=[
                    *scopes,
                    *(f"prize:{p.id}" for p in campaign.prizes if p.stock is not None),
                    f"spend:{day}",
                ],
                player=player,
                idempotency_key=idempotency_key,
                pool_prizes=[
                    p.id for p in campaign.prizes if p.coupon is not None and p.coupon.pool
                ],
                candidate_codes=list(candidates.values()),
            )
        )
        if found is None:
            raise NotFound(f"campaign {campaign.id!r} is not set up in the database yet")
        counts = found.counts
        if found.replay_seq is not None:  # this key already played: the same answer, nothing used
            stored, commitment = tx.replay(campaign.id, found.replay_seq)
            prize_id = stored["awarded"]
            if prize_id not in campaign.rules.index:
                prize_id = campaign.fallback
            return PlayResult(
                row={c: stored[c] for c in PLAY_COLUMNS},
                commitment=commitment,
                prize=campaign.prize(prize_id),
                segment=campaign.rules.index[prize_id],
                coupon=stored["coupon"],
                allowance=_allowance(campaign, scopes, now, counts),
                replayed=True,
            )
        if not campaign.is_running(now):
            raise CampaignInactive(campaign.id, campaign.starts, campaign.ends, now)
        _check_limits(campaign, scopes, counts, now)
        if found.revealed:
            return found.epoch
        rules = campaign.rules
        nonce = found.next_nonce
        key = fairness.seed_bytes(found.server_seed)
        drawn = rules.prizes[fairness.draw(key, campaign.id, client_seed, nonce, rules.running)]
        awarded = campaign.prize(
            award(rules, drawn, _ledger(campaign, counts, day, found.spent_total_cents)).id
        )
        row = chain_row(
            prev_hash=found.head_hash,
            seq=found.next_seq,
            campaign=campaign.id,
            epoch=found.epoch,
            nonce=nonce,
            client_seed=client_seed,
            player=player,
            drawn=drawn.id,
            awarded=awarded.id,
            at=now,
            config_hash=rules.config_hash,
        )
        coupon = _coupon(tx, campaign, awarded, found, candidates)
        bumps = dict.fromkeys(scopes, 1)
        if awarded.stock is not None:
            bumps[f"prize:{awarded.id}"] = 1
        if awarded.value:
            bumps[f"spend:{day}"] = cents(awarded.value)
        tx.write(
            PlayWrite(
                row={**row, "coupon": coupon.code if coupon else None},
                next_nonce=nonce + 1,
                spent_total_cents=found.spent_total_cents + cents(awarded.value),
                bumps=bumps,
                idempotency_key=idempotency_key,
                coupon=coupon,
            )
        )
        counts.update({k: counts.get(k, 0) + v for k, v in bumps.items()})
        return PlayResult(
            row=row,
            commitment=found.commitment,
            prize=awarded,
            segment=rules.index[awarded.id],
            coupon=coupon.code if coupon else None,
            allowance=_allowance(campaign, scopes, now, counts),
        )

    def _open_epoch_after(self, campaign_id: str, epoch: int) -> None:
        with writing(self.engine) as conn:
            state = _lock_state(conn, campaign_id)
            if state is not None and state.epoch == epoch:  # or another worker did it already
                self._open_next_epoch(conn, campaign_id, epoch, self.clock())

    # -- reading the log ------------------------------------------------------------------

    def customer_plays(
        self, campaigns: Iterable[Campaign], customer_id: str
    ) -> list[dict[str, Any]]:
        wanted = {self.player(c.id, customer_id): c.id for c in campaigns}
        if not wanted:
            return []
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(play_t)
                .where(play_t.c.player.in_(wanted))
                .order_by(play_t.c.at, play_t.c.campaign, play_t.c.seq)
            ).all()
        return [
            {**{c: getattr(r, c) for c in PLAY_COLUMNS}, "coupon": r.coupon}
            for r in rows
            if wanted.get(r.player) == r.campaign
        ]

    def bundle_lines(self, campaign_id: str) -> Iterator[str]:
        """The audit bundle, line by line, streamed from the database in ``seq`` order."""
        with self.engine.connect() as conn:
            used = select(play_t.c.config_hash).where(play_t.c.campaign == campaign_id).distinct()
            configs = conn.execute(
                select(config_t)
                .where(config_t.c.campaign == campaign_id, config_t.c.config_hash.in_(used))
                .order_by(config_t.c.created_at, config_t.c.config_hash)
            ).all()
            for cfg in configs:
                config = json.loads(cfg.config)
                yield bundle_line(
                    {
                        "type": "campaign",
                        "id": campaign_id,
                        "config_hash": cfg.config_hash,
                        "config": config,
                    }
                )
            for e in _epochs(conn, campaign_id):
                yield bundle_line(epoch_record(campaign_id, e.epoch, e.commitment, e.server_seed))
            result = conn.execution_options(yield_per=2000).execute(
                select(*[play_t.c[c] for c in PLAY_COLUMNS])
                .where(play_t.c.campaign == campaign_id)
                .order_by(play_t.c.seq)
            )
            for r in result:
                yield bundle_line(play_record(r._asdict()))

    def write_bundle(self, campaign_id: str, out: IO[str]) -> None:
        for line in self.bundle_lines(campaign_id):
            out.write(line)


def _epochs(conn: Connection, campaign_id: str) -> list[EpochInfo]:
    rows = conn.execute(
        select(epoch_t).where(epoch_t.c.campaign == campaign_id).order_by(epoch_t.c.epoch)
    ).all()
    return [
        EpochInfo(
            epoch=r.epoch,
            commitment=r.commitment,
            server_seed=r.server_seed if r.revealed_at is not None else None,
            opened_at=_aware(r.opened_at),
            revealed_at=_aware(r.revealed_at) if r.revealed_at is not None else None,
        )
        for r in rows
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _insert_missing(
    conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str]
) -> None:
    if rows:
        conn.execute(_insert(conn)(table).values(rows).on_conflict_do_nothing(index_elements=keys))


def _lock_campaign(conn: Connection, campaign_id: str) -> None:
    """The campaign lock, until commit: plays, rotations and reveals queue here, one at a time.
    On SQLite the writing transaction's ``BEGIN IMMEDIATE`` already holds the database's."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(campaign_lock_key(campaign_id))))


def _lock_state(conn: Connection, campaign_id: str) -> Any:
    """The campaign's row, under the campaign lock."""
    _lock_campaign(conn, campaign_id)
    return conn.execute(select(campaign_t).where(campaign_t.c.id == campaign_id)).first()


def _limit_scopes(campaign: Campaign, player: str, now: datetime) -> list[str]:
    return [
        f"p:{player}:{lim.per}:{period_key(now, campaign.timezone, lim.per)}"
        for lim in campaign.limits
    ]


def _counters(conn: Connection, campaign_id: str, scopes: list[str]) -> dict[str, int]:
    if not scopes:
        return {}
    rows = conn.execute(
        select(counter_t.c.scope, counter_t.c.value).where(
            counter_t.c.campaign == campaign_id, counter_t.c.scope.in_(scopes)
        )
    ).all()
    return {r.scope: r.value for r in rows}


def _check_limits(
    campaign: Campaign, scopes: list[str], counts: dict[str, int], now: datetime
) -> None:
    over = [
        lim
        for lim, scope in zip(campaign.limits, scopes, strict=True)
        if counts.get(scope, 0) >= lim.plays
    ]
    if not over:
        return
    resets = [(period_end(now, campaign.timezone, lim.per), lim) for lim in over]
    never = [lim for end, lim in resets if end is None or end >= campaign.ends]
    if never:
        raise LimitReached(never[0].plays, never[0].per, None)
    retry_at, worst = max(resets, key=lambda pair: pair[0] or now)
    raise LimitReached(worst.plays, worst.per, retry_at)


def _allowance(
    campaign: Campaign, scopes: list[str], now: datetime, counts: dict[str, int]
) -> Allowance:
    """What is left in each limit's current period (``scopes``: its counters, in limit order)."""
    if not campaign.limits:
        return Allowance(None, None)
    left = min(
        lim.plays - counts.get(scope, 0) for lim, scope in zip(campaign.limits, scopes, strict=True)
    )
    next_at = None
    if left <= 0:
        try:
            _check_limits(campaign, scopes, counts, now)
        except LimitReached as exc:
            next_at = exc.retry_at
    return Allowance(max(left, 0), next_at)


def _ledger(campaign: Campaign, counts: dict[str, int], day: str, spent_total_cents: int) -> Ledger:
    return Ledger(
        awarded={p.id: counts.get(f"prize:{p.id}", 0) for p in campaign.prizes},
        spent_today=Decimal(counts.get(f"spend:{day}", 0)) / 100,
        spent_total=Decimal(spent_total_cents) / 100,
    )


def _coupon(
    tx: PlayTransaction,
    campaign: Campaign,
    prize: Prize,
    found: Locked,
    candidates: dict[str, str],
) -> GivenCoupon | None:
    """The pool's next unused code, or a pattern code no play of the campaign has had yet."""
    if prize.coupon is None:
        return None
    if prize.coupon.pool is not None:
        code = found.pool_codes.get(prize.id)
        if code is None:  # the loader keeps stock <= pool size, so this is a store's own edit
            raise InvalidRequest(f"the coupon pool of {prize.id!r} is empty")
        return GivenCoupon(code, prize.id, pooled=True)
    assert prize.coupon.pattern is not None
    if candidates[prize.id] not in found.taken_codes:
        return GivenCoupon(candidates[prize.id], prize.id, pooled=False)
    more = list(dict.fromkeys(make_code(prize.coupon.pattern) for _ in range(20)))
    taken = tx.taken_codes(campaign.id, more)
    for code in more:
        if code not in taken:
            return GivenCoupon(code, prize.id, pooled=False)
    raise InvalidRequest(f"the coupon pattern of {prize.id!r} has run out of unique codes")
