"""In-memory adapters of the storage ports (:mod:`gamify.services.ports`), for fast service tests.

They keep the ports' promises as the SQL adapters do: a play's transaction holds the campaign's
lock (here one lock for the whole store) from its read to its write, a recording that conflicts
changes nothing, every award is counted. ``tests/service_cases.py`` runs the same behaviour
tests on this fake and on both databases, so the fake cannot drift from them.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from gamify.core.chain import PLAY_COLUMNS, ZERO_HASH
from gamify.core.events import Event
from gamify.core.fairness import V2
from gamify.core.holdout import Group
from gamify.core.play import nonce_scope
from gamify.core.progress import (
    Contribution,
    Key,
    OrderFacts,
    Reversal,
    StoredContribution,
    Tally,
    order_facts,
)
from gamify.services.ports import (
    Assignment,
    Completed,
    ConfigRecord,
    Consent,
    EpochInfo,
    GroupSums,
    Locked,
    LogSnapshot,
    NewEpoch,
    PlayQuery,
    PlayWrite,
    Pool,
    PoolConflict,
    Span,
    StoredCheckpoint,
)


@dataclass
class _Campaign:
    next_seq: int = 0
    head_hash: str = ZERO_HASH
    epoch: int = 0
    next_nonce: int = 0
    spent_total_cents: int = 0
    configs: list[ConfigRecord] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    coupons: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> prize, position, seq
    counters: dict[str, int] = field(default_factory=dict)
    plays: list[dict[str, Any]] = field(default_factory=list)
    idempotency: dict[tuple[str, str], int] = field(default_factory=dict)
    tree: bytes = b""
    nodes: dict[tuple[int, int], bytes] = field(default_factory=dict)


class MemoryLog:
    """The :class:`~gamify.services.ports.CampaignLog` port in a dict of campaigns."""

    def __init__(self) -> None:
        self.campaigns: dict[str, _Campaign] = {}
        self.checkpoints: dict[str, dict[int, StoredCheckpoint]] = {}
        self.lock = threading.RLock()

    def record(
        self,
        campaign: str,
        configs: Sequence[ConfigRecord],
        epoch_zero: NewEpoch,
        pools: Sequence[Pool],
        now: datetime,
    ) -> None:
        with self.lock:
            before = copy.deepcopy(self.campaigns)
            try:
                self._record(campaign, configs, epoch_zero, pools, now)
            except PoolConflict:
                self.campaigns = before  # as a rolled-back transaction
                raise

    def _record(
        self,
        campaign: str,
        configs: Sequence[ConfigRecord],
        epoch_zero: NewEpoch,
        pools: Sequence[Pool],
        now: datetime,
    ) -> None:
        state = self.campaigns.setdefault(campaign, _Campaign())
        for config in configs:
            if all(c.config_hash != config.config_hash for c in state.configs):
                state.configs.append(config)
        if not state.epochs:
            state.epochs.append(
                {
                    "epoch": 0,
                    "server_seed": epoch_zero.seed,
                    "commitment": epoch_zero.commitment,
                    "opened_at": now,
                    "revealed_at": None,
                    "algorithm": V2,
                }
            )
        for pool in pools:
            for position, code in enumerate(pool.codes):
                state.coupons.setdefault(
                    code, {"prize": pool.prize, "position": position, "seq": None}
                )
            for code in sorted(pool.codes):
                held = state.coupons[code]
                if held["prize"] != pool.prize or held["position"] is None:
                    raise PoolConflict(pool, code, held["prize"], pattern=held["position"] is None)

    def reveal_open_epoch(self, campaign: str, now: datetime) -> None:
        with self.lock:
            for epoch in self.campaigns[campaign].epochs:
                if epoch["revealed_at"] is None:
                    epoch["revealed_at"] = now

    def open_next_epoch(
        self, campaign: str, epoch: NewEpoch, now: datetime, *, after: int | None = None
    ) -> bool:
        with self.lock:
            state = self.campaigns.get(campaign)
            if state is None or (after is not None and state.epoch != after):
                return False
            current = state.epochs[state.epoch]
            if current["revealed_at"] is None:
                current["revealed_at"] = now
            state.epochs.append(
                {
                    "epoch": state.epoch + 1,
                    "server_seed": epoch.seed,
                    "commitment": epoch.commitment,
                    "opened_at": now,
                    "revealed_at": None,
                    "algorithm": V2,
                }
            )
            state.epoch += 1
            state.next_nonce = 0
            return True

    def epochs(self, campaign: str) -> list[EpochInfo]:
        with self.lock:
            state = self.campaigns.get(campaign)
            return [
                EpochInfo(
                    epoch=e["epoch"],
                    commitment=e["commitment"],
                    server_seed=e["server_seed"] if e["revealed_at"] is not None else None,
                    opened_at=e["opened_at"],
                    revealed_at=e["revealed_at"],
                    algorithm=e["algorithm"],
                )
                for e in (state.epochs if state else [])
            ]

    def latest_checkpoint(self, campaign: str) -> StoredCheckpoint | None:
        with self.lock:
            kept = self.checkpoints.get(campaign, {})
            return kept[max(kept)] if kept else None

    def add_checkpoint(self, campaign: str, checkpoint: StoredCheckpoint) -> None:
        with self.lock:
            self.checkpoints.setdefault(campaign, {}).setdefault(checkpoint.size, checkpoint)

    def tree_head(self, campaign: str) -> tuple[int, bytes]:
        with self.lock:
            state = self.campaigns.get(campaign)
            return (state.next_seq, state.tree) if state else (0, b"")

    def tree_nodes(
        self, campaign: str, nodes: Collection[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        with self.lock:
            stored = self.campaigns[campaign].nodes if campaign in self.campaigns else {}
            return {node: stored[node] for node in nodes if node in stored}

    def counters(self, campaign: str, scopes: Sequence[str]) -> dict[str, int]:
        with self.lock:
            counters = self.campaigns[campaign].counters if campaign in self.campaigns else {}
            return {s: counters[s] for s in scopes if s in counters}

    def plays_of(self, players: Mapping[str, str]) -> list[dict[str, Any]]:
        with self.lock:
            rows = [
                dict(row)
                for campaign, state in self.campaigns.items()
                for row in state.plays
                if players.get(row["player"]) == campaign
            ]
        return sorted(rows, key=lambda r: (r["at"], r["campaign"], r["seq"]))

    def snapshot(self, campaign: str) -> LogSnapshot:
        with self.lock:
            state = self.campaigns.get(campaign, _Campaign())
            return LogSnapshot(
                campaign=campaign,
                head=state.next_seq,
                head_hash=state.head_hash,
                configs=tuple(state.configs),
                epochs=tuple(self.epochs(campaign)),
            )

    def configs_used(self, campaign: str, before: int) -> set[str]:
        with self.lock:
            plays = self.campaigns[campaign].plays
            return {r["config_hash"] for r in plays if r["seq"] < before}

    def play_rows(self, campaign: str, start: int, end: int, limit: int) -> list[dict[str, Any]]:
        with self.lock:
            plays = self.campaigns[campaign].plays
            rows = [r for r in plays if start <= r["seq"] < end][:limit]
            return [{c: r[c] for c in PLAY_COLUMNS} for r in rows]


class MemoryTransaction:
    def __init__(self, log: MemoryLog) -> None:
        self.log = log

    def read(self, query: PlayQuery) -> Locked | None:
        state = self.log.campaigns.get(query.campaign)
        if state is None:
            return None
        epoch = state.epochs[state.epoch]
        pools: dict[str, str] = {}
        for code, held in sorted(state.coupons.items(), key=lambda item: item[1]["position"] or 0):
            if held["prize"] in query.pool_prizes and held["seq"] is None:
                pools.setdefault(held["prize"], code)
        return Locked(
            next_seq=state.next_seq,
            head_hash=state.head_hash,
            epoch=state.epoch,
            next_nonce=state.next_nonce,
            spent_total_cents=state.spent_total_cents,
            server_seed=epoch["server_seed"],
            commitment=epoch["commitment"],
            revealed=epoch["revealed_at"] is not None,
            counts={s: state.counters[s] for s in query.scopes if s in state.counters},
            replay_seq=(
                state.idempotency.get((query.player, query.idempotency_key))
                if query.idempotency_key is not None
                else None
            ),
            pool_codes=pools,
            taken_codes=self.taken_codes(query.campaign, query.candidate_codes),
            algorithm=epoch["algorithm"],
            opened_at=epoch["opened_at"],
            player_nonce=state.counters.get(nonce_scope(state.epoch, query.player), 0),
            tree=state.tree,
        )

    def taken_codes(self, campaign: str, codes: Sequence[str]) -> frozenset[str]:
        return frozenset(c for c in codes if c in self.log.campaigns[campaign].coupons)

    def replay(self, campaign: str, seq: int) -> tuple[dict[str, Any], str]:
        state = self.log.campaigns[campaign]
        row = dict(state.plays[seq])
        return row, state.epochs[row["epoch"]]["commitment"]

    def write(self, write: PlayWrite) -> None:
        row = write.row
        state = self.log.campaigns[row["campaign"]]
        state.plays.append(dict(row))
        state.next_seq, state.head_hash = row["seq"] + 1, row["hash"]
        state.next_nonce, state.spent_total_cents = write.next_nonce, write.spent_total_cents
        state.tree = write.tree
        state.nodes.update({(level, index): digest for level, index, digest in write.nodes})
        if write.idempotency_key is not None:
            state.idempotency[(row["player"], write.idempotency_key)] = row["seq"]
        coupon = write.coupon
        if coupon is not None and coupon.pooled:
            state.coupons[coupon.code]["seq"] = row["seq"]
        elif coupon is not None:
            state.coupons[coupon.code] = {
                "prize": coupon.prize,
                "position": None,
                "seq": row["seq"],
            }
        for scope, value in write.bumps.items():
            state.counters[scope] = state.counters.get(scope, 0) + value


class MemoryPlays:
    """The :class:`~gamify.services.ports.PlayStore` port: one play at a time, as a campaign's
    lock makes them."""

    def __init__(self, log: MemoryLog) -> None:
        self.log = log

    @contextmanager
    def transaction(self) -> Iterator[MemoryTransaction]:
        with self.log.lock:
            yield MemoryTransaction(self.log)

    def reset(self) -> None:
        """Nothing to reconnect."""


@dataclass
class _Progress:
    """Everything the progress store keeps, copied whole at a transaction's start so that a
    transaction that raises leaves it as it was."""

    events: dict[str, tuple[Event, datetime]] = field(default_factory=dict)
    contributions: dict[tuple[str, str, str, str, str], StoredContribution] = field(
        default_factory=dict
    )
    entries: dict[Key, tuple[int | None, str | None]] = field(default_factory=dict)
    attempts: dict[tuple[str, str, str, str, int], bool] = field(default_factory=dict)
    winners: dict[str, int] = field(default_factory=dict)
    coupons: dict[tuple[str, str], int | None] = field(default_factory=dict)  # code -> ordinal
    pools: dict[str, list[str]] = field(default_factory=dict)
    points: dict[tuple[str, str], int] = field(default_factory=dict)


class MemoryProgress:
    """The :class:`~gamify.services.ports.ProgressStore` port in dicts; one lock for the whole
    store stands for the per-customer locks and the challenge row's."""

    def __init__(self, log: MemoryLog | None = None) -> None:
        self.data = _Progress()
        self.lock = threading.RLock()
        self.log = log  # extra plays are the campaign's counters
        self.audience = MemoryAudience()  # what events assign goes where the service reads it

    @contextmanager
    def transaction(self) -> Iterator[MemoryProgressTransaction]:
        with self.lock:
            before = copy.deepcopy(self.data)
            try:
                yield MemoryProgressTransaction(self)
            except BaseException:
                self.data = before
                raise

    def setup(self, challenge: str, pool: Sequence[str]) -> None:
        with self.lock:
            self.data.winners.setdefault(challenge, 0)
            for code in pool:
                if (challenge, code) not in self.data.coupons:
                    self.data.coupons[(challenge, code)] = None
                    self.data.pools.setdefault(challenge, []).append(code)

    def tallies(self, keys: Collection[Key], *, attempts: bool = False) -> dict[Key, Tally]:
        with self.lock:
            return MemoryProgressTransaction(self).tallies(keys, attempts=attempts)

    def reset(self) -> None:
        """Nothing to reconnect."""


class MemoryProgressTransaction:
    def __init__(self, store: MemoryProgress) -> None:
        self.store = store
        self.new: set[str] = set()  # the events this transaction stored

    @property
    def data(self) -> _Progress:
        return self.store.data

    def append(self, events: Sequence[Event], received_at: datetime) -> set[str]:
        new = {e.id: (e, received_at) for e in events if e.id not in self.data.events}
        self.data.events.update(new)
        self.new |= set(new)
        return set(new)

    def lock_customers(self, customers: Collection[str]) -> None:
        """The store's lock is held already."""

    def start(
        self,
        events: Sequence[Event],
        received_at: datetime,
        customers: Collection[str],
        keys: Collection[Key],
        order_ids: Collection[str],
        challenges: Collection[str],
    ) -> tuple[set[str], dict[Key, Tally], dict[str, OrderFacts], list[StoredContribution]]:
        stored = self.append(events, received_at)
        return (stored, *self.read(keys, order_ids, challenges))

    def tallies(self, keys: Collection[Key], *, attempts: bool = False) -> dict[Key, Tally]:
        found = {key: Tally() for key in keys}
        for c in self.data.contributions.values():
            tally = found.get(c.key)
            if tally is None:
                continue
            tally.units[c.step] = tally.units.get(c.step, 0) + c.net
            if c.period is not None:
                slot = (c.step, c.period)
                tally.counted[slot] = tally.counted.get(slot, 0) + (1 if c.net > 0 else 0)
        for key, (ordinal, coupon) in self.data.entries.items():
            if key in found:
                found[key].completed = True
                found[key].rewarded = ordinal is not None
                found[key].coupon = coupon
        if attempts:
            for challenge, customer, window, step, _ in self.data.attempts:
                tally = found.get((challenge, customer, window))
                if tally is not None:
                    tally.attempts[step] = tally.attempts.get(step, 0) + 1
        return found

    def read(
        self, keys: Collection[Key], order_ids: Collection[str], challenges: Collection[str]
    ) -> tuple[dict[Key, Tally], dict[str, OrderFacts], list[StoredContribution]]:
        stored = sorted(
            self.data.events.values(), key=lambda pair: (pair[0].occurred_at, pair[0].id)
        )
        facts = order_facts(
            e.payload
            for e, _ in stored
            if e.order_id in order_ids and e.type in ("order.paid", "order.refunded")
        )
        earlier = {  # what an order gave is found through its customers' earlier events
            (e.order_id, e.customer)
            for e, _ in stored
            if e.order_id in order_ids and e.id not in self.new
        }
        given = [
            c
            for c in self.data.contributions.values()
            if (c.order_id, c.customer) in earlier and c.challenge in challenges
        ]
        return self.tallies(keys), facts, given

    def assign(self, assignments: Sequence[Assignment], percents: Mapping[str, int]) -> None:
        self.store.audience.assign(assignments, percents)

    def add(self, contributions: Sequence[Contribution], at: datetime) -> None:
        for c in contributions:
            slot = (c.challenge, c.customer, c.window, c.step, c.source)
            assert slot not in self.data.contributions, f"{slot} was added already"
            self.data.contributions[slot] = StoredContribution(*c)

    def reverse(self, reversals: Sequence[Reversal]) -> None:
        for r in reversals:
            c = r.contribution
            slot = (c.challenge, c.customer, c.window, c.step, c.source)
            self.data.contributions[slot] = self.data.contributions[slot]._replace(
                refunded=r.refunded
            )

    def attempt(
        self, key: Key, step: str, attempt: int, correct: int, passed: bool, at: datetime
    ) -> None:
        slot = (*key, step, attempt)
        assert slot not in self.data.attempts, "an attempt's number is used once"
        self.data.attempts[slot] = passed

    def number_rewards(self, challenge: str, count: int, winners_max: int | None) -> list[int]:
        before = self.data.winners.get(challenge, 0)
        after = before + count if winners_max is None else min(before + count, winners_max)
        self.data.winners[challenge] = after
        return list(range(before + 1, after + 1))

    def pool_codes(self, challenge: str, ordinals: Sequence[int]) -> list[str]:
        free = [
            c
            for c in self.data.pools.get(challenge, [])
            if self.data.coupons[(challenge, c)] is None
        ]
        for code, ordinal in zip(free, ordinals, strict=False):
            self.data.coupons[(challenge, code)] = ordinal
        return free[: len(ordinals)]

    def pattern_codes(self, challenge: str, codes: Mapping[int, str]) -> set[int]:
        given = set()
        for ordinal, code in codes.items():
            if (challenge, code) not in self.data.coupons:
                self.data.coupons[(challenge, code)] = ordinal
                given.add(ordinal)
        return given

    def complete(self, done: Sequence[Completed], at: datetime) -> None:
        for d in done:
            assert d.key not in self.data.entries, "a window completes once"
            self.data.entries[d.key] = (d.ordinal, d.coupon)

    def grant_plays(self, grants: Sequence[tuple[str, str, int]]) -> None:
        if grants and self.store.log is None:
            raise AssertionError("extra plays need the campaign log of the same store")
        for campaign, scope, count in grants:
            assert self.store.log is not None
            with self.store.log.lock:
                counters = self.store.log.campaigns[campaign].counters
                counters[scope] = counters.get(scope, 0) + count

    def grant_points(self, grants: Sequence[tuple[str, str, int]], at: datetime) -> None:
        for customer, source, points in grants:
            self.data.points.setdefault((customer, source), points)

    def to_loyalty(self, items: Sequence[tuple[str, str]]) -> None:
        """The memory fakes keep no ledger: loyalty is tested on databases."""


class MemoryAudience:
    def __init__(self) -> None:
        self.percents: dict[str, int] = {}
        self.groups: dict[tuple[str, str], Assignment] = {}
        self.lock = threading.Lock()

    def assign(
        self, assignments: Sequence[Assignment], percents: Mapping[str, int]
    ) -> dict[tuple[str, str], Group]:
        with self.lock:
            for a in assignments:
                self.percents.setdefault(a.campaign, percents.get(a.campaign, 0))
                self.groups.setdefault((a.campaign, a.customer), a)
            return {
                (a.campaign, a.customer): self.groups[(a.campaign, a.customer)].group
                for a in assignments
            }

    def holdouts(self) -> dict[str, int]:
        return dict(self.percents)

    def fix_holdout(self, campaign: str, percent: int, at: datetime) -> int:
        with self.lock:
            return self.percents.setdefault(campaign, percent)


class MemoryGuests:
    """Guests and consents in memory, as the SQL adapter keeps them (first worker wins)."""

    def __init__(self) -> None:
        self.guests: dict[str, tuple[str, str]] = {}  # identity -> (id, email)
        self.consent_rows: list[Consent] = []
        self.lock = threading.Lock()

    def guest_id(self, identity: str, new_id: str, email: str, at: datetime) -> str:
        with self.lock:
            return self.guests.setdefault(identity, (new_id, email))[0]

    def find_guest(self, identity: str) -> str | None:
        found = self.guests.get(identity)
        return found[0] if found else None

    def add_consent(self, consent: Consent) -> bool:
        with self.lock:
            given = {(c.campaign, c.guest, c.text_hash) for c in self.consent_rows}
            if (consent.campaign, consent.guest, consent.text_hash) in given:
                return False
            self.consent_rows.append(consent)
            return True

    def consents(self, campaign: str, after: int, limit: int) -> list[tuple[int, Consent]]:
        numbered = list(enumerate(self.consent_rows, start=1))
        found = [(n, c) for n, c in numbered if n > after and c.campaign == campaign and c.email]
        return found[:limit]

    def forget_guest(self, guest: str) -> int:
        with self.lock:
            gone = [k for k, (gid, _) in self.guests.items() if gid == guest]
            for key in gone:
                del self.guests[key]
            cleared = 0
            for i, c in enumerate(self.consent_rows):
                if c.guest == guest:
                    self.consent_rows[i] = replace(c, guest=None, email=None)
                    cleared += 1
            return len(gone) + cleared

    def forget_customer(self, customer: str, stand_in: str) -> int:
        raise NotImplementedError("erasing a store customer rewrites SQL tables: see tests/storage")


class NoReports:
    """The memory fakes keep no store events to report on, nor count activity: reports and the
    admin pages are tested on databases."""

    def sums(self, campaign: str, game: bool, span: Span, holdout: int) -> dict[str, GroupSums]:
        raise NotImplementedError("reports need a database: see tests/storage")

    def __getattr__(self, name: str) -> Any:  # the ActivityStore's reads
        raise NotImplementedError(f"{name}: the admin pages' reads need a database")
