"""Re-derive an audit bundle from scratch and name the first play that breaks a rule.

Two streaming passes over the file: the first collects the few config and epoch records, the
second walks the plays with a constant amount of state (counts per prize and spend per day,
the Merkle tree's right edge; in a v2 epoch, each player's next nonce), so memory stays flat
however long the log is.

Given a signed checkpoint (CONTRACT §12), the bundle's tree must reach its size and match its
root: a log cut short, rewritten, or forked to show one auditor other plays than another fails.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeGuard

from gamify.audit.bundle import parse_line, read_records
from gamify.core import fairness, merkle
from gamify.core.canonical import canonical_json
from gamify.core.chain import PLAY_FIELDS, ZERO_HASH, row_hash
from gamify.core.checkpoint import Checkpoint
from gamify.core.errors import BundleError
from gamify.core.periods import local_date
from gamify.core.rules import Ledger, Rules, award, config_hash, parse_utc

Progress = Callable[[int], None]
_CANONICAL_PLAY_PREFIX = b'{"at":'


@dataclass
class Epoch:
    number: int
    commitment: str
    key: bytes | None


@dataclass
class Report:
    """What a successful verification found."""

    campaign: str | None = None
    plays: int = 0
    configs: int = 0
    epochs: int = 0
    revealed_epochs: int = 0
    unrevealed_plays: int = 0
    awarded: Counter[str] = field(default_factory=Counter)
    first_at: str | None = None
    last_at: str | None = None
    head: str = ZERO_HASH
    root: str = merkle.EMPTY_ROOT.hex()
    """The RFC 9162 root of the plays' tree (CONTRACT §12)."""
    checkpoint: Checkpoint | None = None
    """The signed checkpoint the tree was checked against, if one was given."""


@dataclass
class _Headers:
    rules: dict[str, Rules] = field(default_factory=dict)
    epochs: dict[int, Epoch] = field(default_factory=dict)
    lines: set[int] = field(default_factory=set)
    campaign: str | None = None


def verify_bundle(
    path: Path, progress: Progress | None = None, checkpoint: Checkpoint | None = None
) -> Report:
    """Check everything CONTRACT §5 and §12 promise; raise :class:`BundleError` at the first
    fault. With ``checkpoint`` (its signature checked by the caller), the bundle's tree at the
    checkpoint's size must have its root."""
    headers = _read_headers(path)
    report = Report(
        campaign=headers.campaign,
        configs=len(headers.rules),
        epochs=len(headers.epochs),
        revealed_epochs=sum(1 for e in headers.epochs.values() if e.key is not None),
        checkpoint=checkpoint,
    )
    if checkpoint is not None:
        _check_origin(checkpoint, headers.campaign)
    walker = _PlayWalker(headers, report)
    signed_root = merkle.EMPTY_ROOT if checkpoint is not None and checkpoint.size == 0 else None
    for number, done, record in read_records(path):
        if record["type"] == "play":
            walker.check(record, number)
            if checkpoint is not None and walker.tree.size == checkpoint.size:
                signed_root = walker.tree.root()
        elif number not in headers.lines:
            raise BundleError("record-order", "unexpected header record", line=number)
        if progress is not None:
            progress(done)
    report.root = walker.tree.root().hex()
    if checkpoint is not None:
        _check_against(checkpoint, signed_root, report.plays)
    return report


def _check_origin(checkpoint: Checkpoint, campaign: str | None) -> None:
    if not checkpoint.origin.endswith(f"/gamify/{campaign}"):
        raise BundleError(
            "checkpoint-origin",
            f"the checkpoint is of the log {checkpoint.origin!r}, not of campaign {campaign!r} "
            "(its origin ends in /gamify/<campaign>)",
        )


def _check_against(checkpoint: Checkpoint, root: bytes | None, plays: int) -> None:
    if root is None:
        raise BundleError(
            "truncated",
            f"the signed checkpoint covers {checkpoint.size:,} plays and the bundle holds "
            f"{plays:,}: plays the log had signed for are missing from its end",
        )
    if root != checkpoint.root:
        raise BundleError(
            "tree",
            f"the bundle's first {checkpoint.size:,} plays hash to the root {root.hex()}, the "
            f"signed checkpoint says {checkpoint.root.hex()}: plays were changed, removed or "
            "inserted after they were signed for, or the bundle comes from a fork of the log",
        )


def _read_headers(path: Path) -> _Headers:
    headers = _Headers()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.startswith(_CANONICAL_PLAY_PREFIX) or not raw.strip():
                continue
            record = parse_line(raw, number)
            if record["type"] == "campaign":
                _add_config(headers, record, number)
            elif record["type"] == "epoch":
                _add_epoch(headers, record, number)
            else:
                continue
            headers.lines.add(number)
    if not headers.rules:
        raise BundleError("campaign-record", "the bundle has no campaign record", line=1)
    return headers


def _same_campaign(headers: _Headers, campaign: object, number: int) -> None:
    if not isinstance(campaign, str):
        raise BundleError("campaign", "campaign id must be a string", line=number)
    if headers.campaign is None:
        headers.campaign = campaign
    elif campaign != headers.campaign:
        raise BundleError(
            "campaign", f"bundle mixes campaigns {headers.campaign} and {campaign}", line=number
        )


def _add_config(headers: _Headers, record: dict[str, Any], number: int) -> None:
    config = record.get("config")
    if not isinstance(config, dict):
        raise BundleError("config", "campaign record without a config object", line=number)
    digest = config_hash(config)
    if record.get("config_hash") != digest:
        raise BundleError(
            "config-hash",
            f"config hashes to {digest}, record says {record.get('config_hash')}",
            line=number,
        )
    try:
        rules = Rules.from_config(config)
    except ValueError as exc:
        raise BundleError("config", str(exc), line=number) from None
    _same_campaign(headers, record.get("id"), number)
    if rules.campaign != headers.campaign:
        raise BundleError("config", "config id differs from the campaign record's id", line=number)
    headers.rules[digest] = rules


def _add_epoch(headers: _Headers, record: dict[str, Any], number: int) -> None:
    _same_campaign(headers, record.get("campaign"), number)
    epoch, commitment, seed = (
        record.get("epoch"),
        record.get("commitment"),
        record.get("server_seed"),
    )
    if not _is_int(epoch) or epoch < 0:
        raise BundleError("epoch", "epoch must be an integer >= 0", line=number)
    if epoch in headers.epochs:
        raise BundleError("epoch", f"epoch {epoch} appears twice", line=number)
    if not isinstance(commitment, str):
        raise BundleError("commitment", f"epoch {epoch} has no commitment", line=number)
    key = None
    if seed is not None:
        try:
            key = fairness.seed_bytes(seed)
        except (ValueError, TypeError):
            raise BundleError(
                "server-seed", f"epoch {epoch}: malformed seed", line=number
            ) from None
        if fairness.commitment(seed) != commitment:
            raise BundleError(
                "commitment",
                f"epoch {epoch}: SHA-256 of the revealed seed is not the commitment",
                line=number,
            )
    headers.epochs[epoch] = Epoch(epoch, commitment, key)


class _PlayWalker:
    """The per-play rules, applied in ``seq`` order with constant state."""

    def __init__(self, headers: _Headers, report: Report) -> None:
        self.headers = headers
        self.report = report
        self.seq = 0
        self.prev_hash = ZERO_HASH
        self.epoch = -1
        self.nonce = 0
        self.algorithm: str | None = None  # the epoch's: one epoch never mixes algorithms
        self.player_nonces = PlayerNonces()  # v2: each player's next nonce in the epoch
        self.ledger = Ledger()
        self.spent_by_day: dict[Any, Decimal] = {}
        self.tree = merkle.Frontier()

    def check(self, row: dict[str, Any], number: int) -> None:
        seq = self.seq
        if not _is_int(row.get("seq")) or row["seq"] != seq:
            raise BundleError(
                "seq",
                f"expected seq {seq}, found {row.get('seq')!r} (a play is missing, "
                "added or out of order)",
                seq=seq,
                line=number,
            )

        def fault(rule: str, detail: str) -> BundleError:
            return BundleError(rule, detail, seq=seq, line=number)

        fields = set(row) - {"type"}
        if fields != PLAY_FIELDS:
            missing, extra = sorted(PLAY_FIELDS - fields), sorted(fields - PLAY_FIELDS)
            raise fault("fields", f"missing {missing}, unexpected {extra}")
        if row["hash"] != row_hash(row):
            raise fault("hash", "the row's hash does not match its content")
        if row["prev_hash"] != self.prev_hash:
            raise fault("chain", "prev_hash is not the previous row's hash")
        if row["campaign"] != self.headers.campaign:
            raise fault("campaign", f"play of campaign {row['campaign']!r}")
        rules = self.headers.rules.get(row["config_hash"]) if _is_str(row["config_hash"]) else None
        if rules is None:
            raise fault("config-hash", "no campaign record with this config_hash")
        if not isinstance(row["player"], str) or not row["player"]:
            raise fault("player", "player must be a non-empty pseudonym")
        epoch = self._check_epoch_and_nonce(row, rules, fault)
        if not fairness.is_client_seed(row["client_seed"]):
            raise fault("client-seed", "client_seed must be 1-64 characters of [A-Za-z0-9_-]")
        at = self._check_time(row, rules, fault)
        drawn = self._check_drawn(row, rules, epoch, fault)
        self._check_awarded(row, rules, drawn, at, fault)
        self.seq += 1
        self.prev_hash = row["hash"]
        leaf = {k: v for k, v in row.items() if k != "type"}
        self.tree.append(merkle.leaf_hash(canonical_json(leaf)))
        self.report.plays += 1
        self.report.head = row["hash"]
        self.report.first_at = self.report.first_at or row["at"]
        self.report.last_at = row["at"]

    def _check_epoch_and_nonce(
        self, row: dict[str, Any], rules: Rules, fault: Callable[..., BundleError]
    ) -> Epoch:
        """v1: the epoch's plays are numbered 0, 1, 2, … in seq order. v2: each player's."""
        number, nonce = row["epoch"], row["nonce"]
        epoch = self.headers.epochs.get(number) if _is_int(number) else None
        if epoch is None:
            raise fault("epoch", f"no epoch record for epoch {number!r}")
        if number < self.epoch:
            raise fault("epoch", f"epoch {number} after epoch {self.epoch}")
        if number > self.epoch:
            self.epoch, self.nonce, self.algorithm = number, 0, rules.algorithm
            self.player_nonces.clear()
        if rules.algorithm != self.algorithm:
            raise fault(
                "algorithm",
                f"epoch {number} mixes {self.algorithm} and {rules.algorithm} (a config "
                "version may change the algorithm only from a new epoch)",
            )
        if rules.algorithm == fairness.V1:
            expected = self.nonce
            self.nonce += 1
        else:
            expected = self.player_nonces.take(row["player"])
        if not _is_int(nonce) or nonce != expected:
            whose = "" if rules.algorithm == fairness.V1 else f" for player {row['player']}"
            raise fault(
                "nonce",
                f"expected nonce {expected}{whose} in epoch {number}, found {nonce!r} (a play "
                "is missing or was slipped in)",
            )
        return epoch

    def _check_time(
        self, row: dict[str, Any], rules: Rules, fault: Callable[..., BundleError]
    ) -> datetime:
        try:
            at = parse_utc(row["at"])
        except (ValueError, TypeError):
            raise fault("at", f"not a UTC ISO 8601 time ending in Z: {row['at']!r}") from None
        if not rules.starts <= at < rules.ends:
            raise fault("schedule", f"played at {row['at']}, outside the campaign's schedule")
        return at

    def _check_drawn(
        self, row: dict[str, Any], rules: Rules, epoch: Epoch, fault: Callable[..., BundleError]
    ) -> str:
        drawn = row["drawn"]
        if not isinstance(drawn, str) or drawn not in rules.index:
            raise fault("drawn", f"drawn prize {drawn!r} is not in the config")
        if epoch.key is None:
            self.report.unrevealed_plays += 1
            return drawn
        player = row["player"] if rules.algorithm == fairness.V2 else None
        index = fairness.draw(
            epoch.key, rules.campaign, row["client_seed"], row["nonce"], rules.running, player
        )
        expected = rules.prizes[index].id
        if drawn != expected:
            raise fault("draw", f"the seed draws {expected!r}, the log says {drawn!r}")
        return drawn

    def _check_awarded(
        self,
        row: dict[str, Any],
        rules: Rules,
        drawn: str,
        at: datetime,
        fault: Callable[..., BundleError],
    ) -> None:
        day = local_date(at, rules.timezone)
        self.ledger.spent_today = self.spent_by_day.get(day, Decimal(0))
        expected = award(rules, rules.prize(drawn), self.ledger)
        if row["awarded"] != expected.id:
            why = "it was available" if expected.id == drawn else "stock or budget was exhausted"
            raise fault(
                "fallback", f"awarded {row['awarded']!r} but {why}: expected {expected.id!r}"
            )
        self.ledger.record(expected)
        self.spent_by_day[day] = self.ledger.spent_today
        self.report.awarded[expected.id] += 1


class PlayerNonces:
    """Each player's next nonce in the epoch. A dict while the epoch has few players; past
    :attr:`in_memory` of them, a private temporary SQLite file (the standard library's) holds
    them, so a bundle of a million players verifies in the memory of one with a thousand."""

    in_memory = 50_000

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._file: sqlite3.Connection | None = None

    def take(self, player: str) -> int:
        """The player's next nonce, counted as used."""
        if self._file is None:
            nonce = self._counts.get(player, 0)
            self._counts[player] = nonce + 1
            if len(self._counts) > self.in_memory:
                self._spill()
            return nonce
        found = self._file.execute("SELECT n FROM nonce WHERE player = ?", (player,)).fetchone()
        nonce = found[0] if found else 0
        self._file.execute("INSERT OR REPLACE INTO nonce VALUES (?, ?)", (player, nonce + 1))
        return nonce

    def clear(self) -> None:
        self._counts.clear()
        if self._file is not None:
            self._file.close()  # the temporary file goes with it
            self._file = None

    def _spill(self) -> None:
        self._file = sqlite3.connect("")  # "": a private temporary file, deleted on close
        self._file.execute("PRAGMA journal_mode = OFF")
        self._file.execute("PRAGMA synchronous = OFF")
        self._file.execute("CREATE TABLE nonce (player TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID")
        self._file.executemany("INSERT INTO nonce VALUES (?, ?)", self._counts.items())
        self._counts.clear()


def _is_int(value: object) -> TypeGuard[int]:
    """JSON integers only: Python's ``True == 1`` must not let a boolean pass as a number."""
    return type(value) is int


def _is_str(value: object) -> TypeGuard[str]:
    return isinstance(value, str)
