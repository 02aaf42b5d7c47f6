"""The play use case and the rest of the campaign lifecycle, on top of the storage tables.

A play is one transaction that first takes the campaign's row lock (``SELECT … FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so seq, nonces, limits, stock, budgets and coupons
are read and written by one process at a time, whatever the number of workers.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import IO, Any

from sqlalchemy import Connection, Engine, Table, TextClause, bindparam, select, text, update
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
            counts = _counters(conn, campaign.id, _limit_scopes(campaign, player, now))
        return _allowance(campaign, player, now, counts)

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
        with writing(self.engine) as conn:
            state = _lock_state(conn, campaign.id)
            if state is None:
                raise NotFound(f"campaign {campaign.id!r} is not set up in the database yet")
            now = self.clock()
            scopes = _limit_scopes(campaign, player, now)
            day = local_date(now, campaign.timezone).isoformat()
            stock_scopes = [f"prize:{p.id}" for p in campaign.prizes if p.stock is not None]
            counts, open_epoch, replay_seq = _read_locked(
                conn,
                campaign.id,
                state.epoch,
                [*scopes, *stock_scopes, f"spend:{day}"],
                player,
                idempotency_key,
            )
            if replay_seq is not None:
                return self._replay(conn, campaign, player, replay_seq)
            if not campaign.is_running(now):
                raise CampaignInactive(campaign.id, campaign.starts, campaign.ends, now)
            _check_limits(campaign, scopes, counts, now)
            epoch, nonce = state.epoch, state.next_nonce
            if open_epoch.revealed_at is not None:  # never draw from a published seed
                epoch, nonce = self._open_next_epoch(conn, campaign.id, epoch, now), 0
                open_epoch = _open_epoch(conn, campaign.id, epoch)
            rules = campaign.rules
            key = fairness.seed_bytes(open_epoch.server_seed)
            drawn = rules.prizes[fairness.draw(key, campaign.id, client_seed, nonce, rules.running)]
            ledger = _ledger(campaign, counts, day, state.spent_total_cents)
            awarded = campaign.prize(award(rules, drawn, ledger).id)
            row = chain_row(
                prev_hash=state.head_hash,
                seq=state.next_seq,
                campaign=campaign.id,
                epoch=epoch,
                nonce=nonce,
                client_seed=client_seed,
                player=player,
                drawn=drawn.id,
                awarded=awarded.id,
                at=now,
                config_hash=rules.config_hash,
            )
            coupon = _give_coupon(conn, campaign, awarded, row["seq"])
            bumps = dict.fromkeys(scopes, 1)
            if awarded.stock is not None:
                bumps[f"prize:{awarded.id}"] = 1
            if awarded.value:
                bumps[f"spend:{day}"] = cents(awarded.value)
            _record_play(
                conn,
                {**row, "coupon": coupon},
                {
                    "next_seq": row["seq"] + 1,
                    "epoch": epoch,
                    "next_nonce": nonce + 1,
                    "spent": state.spent_total_cents + cents(awarded.value),
                },
                bumps,
                idempotency_key,
            )
            counts.update({k: counts.get(k, 0) + v for k, v in bumps.items()})
        return PlayResult(
            row=row,
            commitment=open_epoch.commitment,
            prize=awarded,
            segment=campaign.rules.index[awarded.id],
            coupon=coupon,
            allowance=_allowance(campaign, player, now, counts),
        )

    def _replay(self, conn: Connection, campaign: Campaign, player: str, seq: int) -> PlayResult:
        """The play an idempotency key already made, returned again; nothing is consumed."""
        found = conn.execute(
            select(play_t).where(play_t.c.campaign == campaign.id, play_t.c.seq == seq)
        ).one()
        row = {c: getattr(found, c) for c in PLAY_COLUMNS}
        prize_id = row["awarded"] if row["awarded"] in campaign.rules.index else campaign.fallback
        now = self.clock()
        counts = _counters(conn, campaign.id, _limit_scopes(campaign, player, now))
        commitment = _open_epoch(conn, campaign.id, row["epoch"]).commitment
        return PlayResult(
            row=row,
            commitment=commitment,
            prize=campaign.prize(prize_id),
            segment=campaign.rules.index[prize_id],
            coupon=found.coupon,
            allowance=_allowance(campaign, player, now, counts),
            replayed=True,
        )

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


def _lock_state(conn: Connection, campaign_id: str) -> Any:
    """The campaign's row, locked until commit: every play and rotation queues here."""
    return conn.execute(
        select(campaign_t).where(campaign_t.c.id == campaign_id).with_for_update()
    ).first()


def _open_epoch(conn: Connection, campaign_id: str, epoch: int) -> Any:
    """Seed, commitment and reveal time of an epoch, read after the campaign lock is held, so a
    rotation that committed while we waited is seen (never joined into the locking query)."""
    return conn.execute(
        select(epoch_t.c.server_seed, epoch_t.c.commitment, epoch_t.c.revealed_at).where(
            epoch_t.c.campaign == campaign_id, epoch_t.c.epoch == epoch
        )
    ).one()


_READ_LOCKED = text(
    "SELECT 'c' AS kind, scope AS a, CAST(NULL AS VARCHAR) AS b, value AS n, "
    "CAST(NULL AS TIMESTAMP WITH TIME ZONE) AS revealed "
    "FROM gamify_counter WHERE campaign = :campaign AND scope IN :scopes "
    "UNION ALL SELECT 'e', server_seed, commitment, NULL, revealed_at "
    "FROM gamify_epoch WHERE campaign = :campaign AND epoch = :epoch "
    "UNION ALL SELECT 'i', NULL, NULL, seq, NULL "
    "FROM gamify_idempotency WHERE campaign = :campaign AND player = :player AND key = :idem"
).bindparams(bindparam("scopes", expanding=True))


@dataclass(frozen=True)
class _OpenEpoch:
    server_seed: str
    commitment: str
    revealed_at: object


def _read_locked(
    conn: Connection,
    campaign_id: str,
    epoch: int,
    scopes: list[str],
    player: str,
    idempotency_key: str | None,
) -> tuple[dict[str, int], _OpenEpoch, int | None]:
    """Counters, the open epoch and an earlier play with this idempotency key, in one round
    trip: it runs while the campaign lock is held, and after it, so it sees every commit."""
    rows = conn.execute(
        _READ_LOCKED,
        {
            "campaign": campaign_id,
            "scopes": scopes,
            "epoch": epoch,
            "player": player,
            "idem": idempotency_key,
        },
    ).all()
    counts = {r.a: r.n for r in rows if r.kind == "c"}
    epoch_row = next(_OpenEpoch(r.a, r.b, r.revealed) for r in rows if r.kind == "e")
    replay = next((r.n for r in rows if r.kind == "i"), None)
    return counts, epoch_row, replay


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


def _record_play(
    conn: Connection,
    play: dict[str, Any],
    state: dict[str, Any],
    bumps: dict[str, int],
    idempotency_key: str | None,
) -> None:
    """Write the play, the campaign's new head, the counters and the idempotency record.

    On PostgreSQL this is one statement (data-modifying CTEs), because every round trip here is
    made while holding the campaign's lock; SQLite runs in-process, so it takes them one by one.
    """
    params: dict[str, Any] = {**play, **state, "idem": idempotency_key}
    values = []
    for i, (scope, value) in enumerate(bumps.items()):
        params[f"s{i}"], params[f"v{i}"] = scope, value
        values.append(f"(:campaign, :s{i}, :v{i})")
    writes = [
        f"INSERT INTO gamify_play ({', '.join(play)}) VALUES ({', '.join(':' + k for k in play)})",
        "UPDATE gamify_campaign SET next_seq = :next_seq, head_hash = :hash, epoch = :epoch, "
        "next_nonce = :next_nonce, spent_total_cents = :spent WHERE id = :campaign",
    ]
    if idempotency_key is not None:
        writes.append(
            "INSERT INTO gamify_idempotency (campaign, player, key, seq) "
            "VALUES (:campaign, :player, :idem, :seq)"
        )
    if values:
        writes.append(
            f"INSERT INTO gamify_counter (campaign, scope, value) VALUES {', '.join(values)} "
            "ON CONFLICT (campaign, scope) "
            "DO UPDATE SET value = gamify_counter.value + excluded.value"
        )
    if conn.dialect.name == "postgresql":
        ctes = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(writes[:-1]))
        conn.execute(_text(f"WITH {ctes} {writes[-1]}"), params)
        return
    for sql in writes:
        conn.execute(_text(sql), params)


@lru_cache(maxsize=256)
def _text(sql: str) -> TextClause:
    """Parsed once per statement shape (a handful: with or without each optional write)."""
    return text(sql)


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


def _allowance(campaign: Campaign, player: str, now: datetime, counts: dict[str, int]) -> Allowance:
    if not campaign.limits:
        return Allowance(None, None)
    scopes = _limit_scopes(campaign, player, now)
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


def _give_coupon(conn: Connection, campaign: Campaign, prize: Prize, seq: int) -> str | None:
    if prize.coupon is None:
        return None
    if prize.coupon.pool is not None:
        code = conn.execute(
            select(coupon_t.c.code)
            .where(
                coupon_t.c.campaign == campaign.id,
                coupon_t.c.prize == prize.id,
                coupon_t.c.seq.is_(None),
            )
            .order_by(coupon_t.c.position)
            .limit(1)
        ).scalar_one_or_none()
        if code is None:  # the loader keeps stock <= pool size, so this is a store's own edit
            raise InvalidRequest(f"the coupon pool of {prize.id!r} is empty")
        conn.execute(
            update(coupon_t)
            .where(coupon_t.c.campaign == campaign.id, coupon_t.c.code == code)
            .values(seq=seq)
        )
        return str(code)
    assert prize.coupon.pattern is not None
    for _ in range(20):
        code = make_code(prize.coupon.pattern)
        inserted = conn.execute(
            _insert(conn)(coupon_t)
            .values(campaign=campaign.id, code=code, prize=prize.id, seq=seq)
            .on_conflict_do_nothing(index_elements=["campaign", "code"])
            .returning(coupon_t.c.code)
        ).scalar_one_or_none()
        if inserted is not None:
            return code
    raise InvalidRequest(f"the coupon pattern of {prize.id!r} has run out of unique codes")
