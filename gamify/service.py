"""The play use case and the rest of the campaign lifecycle, on top of the storage tables.

A play is one transaction that first takes the campaign lock (a transaction-level advisory lock
on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so seq, nonces, limits, stock, budgets and coupons
are read and written by one process at a time, whatever the number of workers. What a play
reads and writes goes through :mod:`gamify.storage.play_store`; the decisions are made here.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, BinaryIO

from sqlalchemy import Connection, Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gamify import fairness
from gamify.audit import (
    PLAY_COLUMNS,
    ZERO_HASH,
    bundle_line,
    chain_row,
    epoch_record,
    play_record,
    pseudonym,
)
from gamify.campaign import Campaign, Prize
from gamify.canonical import canonical_json
from gamify.coupons import PoolPathError, make_code, read_pool
from gamify.errors import (
    CampaignError,
    CampaignInactive,
    ConfigIssue,
    InvalidRequest,
    LimitReached,
    NotFound,
)
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
log = logging.getLogger("gamify")
BUNDLE_CHUNK = 5000
"""Plays read per transaction while a bundle is built (about 2.5 MB of bundle)."""
BUNDLE_FORMAT = "gamify-bundle-1"
"""Part of every bundle's digest: a change to how bundles are written must change it."""
STALE_BUILD = 3600.0
"""Seconds after which a half-written bundle (its worker died) is removed from the cache."""
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


@dataclass(frozen=True)
class BundleSnapshot:
    """What a campaign's bundle holds, read at one moment: the plays with ``seq < head`` (the
    last of them hashing to ``head_hash``), the config versions (hash and JSON text, oldest
    first) and the epochs."""

    campaign: str
    head: int
    head_hash: str
    configs: tuple[tuple[str, str], ...]
    epochs: tuple[EpochInfo, ...]

    @property
    def etag(self) -> str:
        """A digest of everything the bundle's bytes follow from (the head hash chains every
        play before it): equal digests, equal bundles."""
        summary = {
            "format": BUNDLE_FORMAT,
            "campaign": self.campaign,
            "head": self.head,
            "head_hash": self.head_hash,
            "configs": [config_hash for config_hash, _ in self.configs],
            "epochs": [[e.epoch, e.commitment, e.server_seed] for e in self.epochs],
        }
        return hashlib.sha256(canonical_json(summary)).hexdigest()


@dataclass(frozen=True)
class OpenBundle:
    """A bundle written out and open for reading from its start; the reader closes it."""

    file: BinaryIO
    size: int
    etag: str


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
        import new pool codes; safe to run from every worker at once.

        Raises :class:`CampaignError` (the registry then keeps the last good version) when a
        pool cannot give each of its codes to its prize: a code the log already holds for
        another prize, or as a pattern code, would leave the pool short of the stock the config
        publishes, and the fallback given then could not be verified.
        """
        now = self.clock()
        seed = fairness.new_server_seed()
        pools = _pool_rows(campaign)
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
            for index, rows in pools.items():
                _insert_missing(conn, coupon_t, rows, ["campaign", "code"])
                _check_pool(conn, campaign, index, rows)  # raising rolls all of this back
            _count_awards_once(conn, campaign.id)
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
        if _pool_is_empty(awarded, found):
            # A pool of N codes is the prize's stock (the config says at most N), and each of
            # its codes is the prize's (sync checks), so this is out of stock: the ledger has
            # already given the fallback. Here only if codes were taken out of the database.
            log.error(
                "gamify: the coupon pool of %s/%s has no code left before its stock ran out "
                "(were codes deleted from gamify_coupon?); the fallback is given, and the audit "
                "bundle will show this play as a fallback the log does not imply",
                campaign.id,
                awarded.id,
            )
            awarded = campaign.prize(campaign.fallback)
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
        # Every award counts, with stock or not: a later version may give the prize a stock,
        # and the verifier counts the awards of every version against it (CONTRACT §5).
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

    def bundle_snapshot(self, campaign_id: str) -> BundleSnapshot:
        """What the campaign's bundle holds now, read in one short transaction: the log's head
        first, then the config versions and epochs, which are recorded before any play uses
        them. So the snapshot covers every play up to the head, on PostgreSQL's READ COMMITTED
        as on SQLite, and plays made later are simply not in it."""
        with self.engine.connect() as conn:
            head = conn.execute(
                select(campaign_t.c.next_seq, campaign_t.c.head_hash).where(
                    campaign_t.c.id == campaign_id
                )
            ).first()
            configs = conn.execute(
                select(config_t.c.config_hash, config_t.c.config)
                .where(config_t.c.campaign == campaign_id)
                .order_by(config_t.c.created_at, config_t.c.config_hash)
            ).all()
            epochs = _epochs(conn, campaign_id)
        return BundleSnapshot(
            campaign=campaign_id,
            head=head.next_seq if head is not None else 0,
            head_hash=head.head_hash if head is not None else ZERO_HASH,
            configs=tuple((c.config_hash, c.config) for c in configs),
            epochs=tuple(epochs),
        )

    def bundle_lines(
        self, campaign_id: str, snapshot: BundleSnapshot | None = None
    ) -> Iterator[str]:
        """The audit bundle of CONTRACT §5, line by line: config versions, epochs, then the
        plays of the snapshot (by default, one taken now) in ``seq`` order.

        Every read is a short transaction of its own: the plays come :data:`BUNDLE_CHUNK` at a
        time by ``seq`` (keyset pagination up to the snapshot's head), and no connection is
        held between chunks, so a consumer that stops reading holds nothing in the database.
        """
        snap = snapshot or self.bundle_snapshot(campaign_id)
        used: set[str] = set()
        if snap.head:
            with self.engine.connect() as conn:
                used.update(
                    conn.execute(
                        select(play_t.c.config_hash)
                        .where(play_t.c.campaign == campaign_id, play_t.c.seq < snap.head)
                        .distinct()
                    ).scalars()
                )
        for config_hash, config in snap.configs:
            if config_hash in used:
                record = {
                    "type": "campaign",
                    "id": campaign_id,
                    "config_hash": config_hash,
                    "config": json.loads(config),
                }
                yield bundle_line(record)
        for e in snap.epochs:
            yield bundle_line(epoch_record(campaign_id, e.epoch, e.commitment, e.server_seed))
        columns = [play_t.c[c] for c in PLAY_COLUMNS]
        start = 0
        while start < snap.head:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(*columns)
                    .where(
                        play_t.c.campaign == campaign_id,
                        play_t.c.seq >= start,
                        play_t.c.seq < snap.head,
                    )
                    .order_by(play_t.c.seq)
                    .limit(BUNDLE_CHUNK)
                ).all()
            if not rows:  # every play below the head was committed with it: cannot happen
                break
            for r in rows:
                yield bundle_line(play_record(r._asdict()))
            start = rows[-1].seq + 1

    def write_bundle(self, campaign_id: str, out: IO[str]) -> None:
        """The bundle into a text file (``gamify export``): the same lines as the API serves."""
        for line in self.bundle_lines(campaign_id):
            out.write(line)

    def open_bundle(self, campaign_id: str, cache: Path | None = None) -> OpenBundle:
        """The bundle as it is now, as a file open for reading: what the API sends.

        With a ``cache`` folder (the app's instance folder), the file is kept there under the
        snapshot's digest, so downloads of an unchanged log (an ended campaign, the usual case
        for auditors) read the file and only the snapshot from the database; a newer version
        replaces the older one, which readers that have it open keep reading. Without a cache,
        or when it cannot be written, the bundle goes to an anonymous temporary file, deleted
        when it is closed.
        """
        snap = self.bundle_snapshot(campaign_id)
        if cache is not None:
            try:
                return self._cached_bundle(snap, cache)
            except OSError as exc:
                log.warning("gamify: cannot keep audit bundles in %s: %s", cache, exc)
        handle = tempfile.TemporaryFile()  # noqa: SIM115 (the caller reads and closes it)
        try:
            self._write_binary(snap, handle)
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        return OpenBundle(handle, _size(handle), snap.etag)

    def _cached_bundle(self, snap: BundleSnapshot, folder: Path) -> OpenBundle:
        path = folder / f"{snap.campaign}.{snap.etag}.jsonl"
        try:
            handle: BinaryIO = path.open("rb")
        except FileNotFoundError:
            folder.mkdir(parents=True, exist_ok=True)
            fd, building = tempfile.mkstemp(dir=folder, prefix=f".{snap.campaign}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    self._write_binary(snap, out)
                    out.flush()
                    os.fsync(out.fileno())
                # Opened before it is published, so a newer build cannot prune it from under us.
                handle = open(building, "rb")  # noqa: SIM115 (the caller reads and closes it)
                os.replace(building, path)
            except BaseException:
                Path(building).unlink(missing_ok=True)
                raise
            _prune_bundles(folder, snap.campaign, keep=path)
        return OpenBundle(handle, _size(handle), snap.etag)

    def _write_binary(self, snap: BundleSnapshot, out: BinaryIO) -> None:
        for line in self.bundle_lines(snap.campaign, snap):
            out.write(line.encode())


def _size(handle: BinaryIO) -> int:
    return os.fstat(handle.fileno()).st_size


def _prune_bundles(folder: Path, campaign_id: str, keep: Path) -> None:
    """Remove the campaign's older bundles (and builds abandoned by a dead worker). A reader
    that has one open keeps reading it: the file goes when the last reader closes it."""
    now = time.time()
    for path in folder.glob(f"{campaign_id}.*.jsonl"):
        if path != keep:
            path.unlink(missing_ok=True)
    for path in folder.glob(f".{campaign_id}.*.tmp"):
        try:
            if now - path.stat().st_mtime > STALE_BUILD:
                path.unlink(missing_ok=True)
        except OSError:
            continue


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
    """Insert the rows not there yet. One execution of many parameter sets: SQLAlchemy sends
    them in batches, so a pool of 100,000 codes stays under the drivers' parameter limits."""
    if rows:
        conn.execute(_insert(conn)(table).on_conflict_do_nothing(index_elements=keys), rows)


AWARDS_COUNTED = "awards-counted"
"""A counter whose presence says the campaign's ``prize:<id>`` counters count every award."""
_CODES_PER_QUERY = 500


def _pool_rows(campaign: Campaign) -> dict[int, list[dict[str, Any]]]:
    """The coupon rows of each pool prize (by its index), read again from its file, which must
    still be inside the campaign's folder and still cover the prize's stock."""
    folder = campaign.source.parent if campaign.source is not None else None
    pools: dict[int, list[dict[str, Any]]] = {}
    for index, prize in enumerate(campaign.prizes):
        if prize.coupon is None or prize.coupon.pool is None:
            continue
        try:
            codes = read_pool(prize.coupon.pool, folder)
        except (OSError, UnicodeDecodeError, csv.Error, PoolPathError) as exc:
            raise _pool_error(campaign, index, f"coupon pool cannot be read: {exc}") from None
        unique = list(dict.fromkeys(codes))
        if len(unique) < len(codes) or (prize.stock is not None and len(codes) < prize.stock):
            message = "coupon pool changed while it was loaded (duplicates, or fewer codes)"
            raise _pool_error(campaign, index, f"{message}; run `gamify check`")
        pools[index] = [
            {"campaign": campaign.id, "code": code, "prize": prize.id, "position": i}
            for i, code in enumerate(unique)
        ]
    return pools


def _check_pool(
    conn: Connection, campaign: Campaign, index: int, rows: list[dict[str, Any]]
) -> None:
    """Every code of the pool must be one of its prize's pool codes in the database."""
    prize = campaign.prizes[index].id
    for start in range(0, len(rows), _CODES_PER_QUERY):
        chunk = [row["code"] for row in rows[start : start + _CODES_PER_QUERY]]
        taken = conn.execute(
            select(coupon_t.c.code, coupon_t.c.prize, coupon_t.c.position)
            .where(
                coupon_t.c.campaign == campaign.id,
                coupon_t.c.code.in_(chunk),
                (coupon_t.c.prize != prize) | coupon_t.c.position.is_(None),
            )
            .order_by(coupon_t.c.code)
            .limit(1)
        ).first()
        if taken is not None:
            held = (
                f"was already given by this campaign (a pattern code of `{taken.prize}`)"
                if taken.position is None
                else f"is already a pool code of prize `{taken.prize}` in this campaign"
            )
            message = (
                f"coupon pool code {taken.code!r} {held}: each code can be given only once, "
                "so take it out of the pool"
            )
            raise _pool_error(campaign, index, message)


def _pool_error(campaign: Campaign, index: int, message: str) -> CampaignError:
    file = str(campaign.source) if campaign.source is not None else campaign.id
    issue = ConfigIssue(file, 1, 1, f"prizes[{index}].coupon.pool", message)
    return CampaignError([issue])


def _count_awards_once(conn: Connection, campaign_id: str) -> None:
    """Set every ``prize:<id>`` counter to the awards the log holds, once per campaign.

    Versions before this one counted only the awards of prizes that had a stock, so a stock
    added later started from zero while the verifier counts every award of the log: the
    counters are rebuilt from the log once, under the campaign lock, and every play has
    counted its award since.
    """
    done = select(counter_t.c.value).where(
        counter_t.c.campaign == campaign_id, counter_t.c.scope == AWARDS_COUNTED
    )
    if conn.execute(done).first() is not None:
        return
    _lock_campaign(conn, campaign_id)
    if conn.execute(done).first() is not None:  # another worker did it while we waited
        return
    awards = conn.execute(
        select(play_t.c.awarded, func.count())
        .where(play_t.c.campaign == campaign_id)
        .group_by(play_t.c.awarded)
    ).all()
    rows = [{"campaign": campaign_id, "scope": f"prize:{a}", "value": n} for a, n in awards]
    rows.append({"campaign": campaign_id, "scope": AWARDS_COUNTED, "value": 1})
    insert = _insert(conn)(counter_t)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["campaign", "scope"], set_={"value": insert.excluded.value}
        ),
        rows,
    )


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


def _pool_is_empty(prize: Prize, found: Locked) -> bool:
    return (
        prize.coupon is not None
        and prize.coupon.pool is not None
        and prize.id not in found.pool_codes
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
        code = found.pool_codes[prize.id]  # an empty pool gave the fallback instead
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
