"""Build valid audit bundles (CONTRACT §5) in memory, the way an honest server would.

A helper for the tests, not a test module: it draws with :func:`gamify.core.fairness.draw`,
decides the awarded prize with :func:`gamify.core.rules.award` and a
:class:`~gamify.core.rules.Ledger` whose
daily spend is kept per local day of the campaign's timezone (as ``gamify verify`` does),
chains the rows with :func:`gamify.core.chain.chain_row` and writes them with
:func:`gamify.audit.bundle.write_bundle`. Tests then tamper with the records and check what the
verifier says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from gamify.audit.bundle import (
    bundle_line,
    campaign_record,
    epoch_record,
    play_record,
    write_bundle,
)
from gamify.core import fairness, merkle
from gamify.core.canonical import canonical_json
from gamify.core.chain import ZERO_HASH, chain_row, row_hash
from gamify.core.periods import local_date
from gamify.core.rules import Ledger, Rules, award


class Play(NamedTuple):
    """One play as the server receives it; ``epoch`` indexes the list of server seeds."""

    client_seed: str
    player: str
    at: datetime
    epoch: int = 0


@dataclass
class Bundle:
    """What :func:`build_bundle` wrote: the records, in file order, and where."""

    path: Path
    rules: Rules
    epochs: list[dict[str, Any]]
    rows: list[dict[str, Any]]

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every line's object: the campaign record, the epoch records, the play records."""
        return [campaign_record(self.rules), *self.epochs, *map(play_record, self.rows)]

    @property
    def first_play_line(self) -> int:
        return 2 + len(self.epochs)


def fixed_seed(epoch: int, label: str = "tests") -> str:
    """A fixed server seed per epoch, so every run builds the same bundle."""
    return hashlib.sha256(f"{label}:{epoch}".encode()).hexdigest()


def build_bundle(
    path: Path,
    rules: Rules,
    plays: Iterable[Play | tuple[str, str, datetime] | tuple[str, str, datetime, int]],
    seeds: Sequence[str],
    revealed: Collection[int] | None = None,
) -> Bundle:
    """Play ``plays`` in order and write the bundle to ``path``.

    ``seeds[n]`` is epoch n's server seed; every epoch gets a record (with its seed when n is
    in ``revealed``, default all). Plays must not go back to an earlier epoch.
    """
    shown = set(range(len(seeds))) if revealed is None else set(revealed)
    epochs = [
        epoch_record(rules.campaign, n, fairness.commitment(seed), seed if n in shown else None)
        for n, seed in enumerate(seeds)
    ]
    keys = [fairness.seed_bytes(seed) for seed in seeds]
    ledger = Ledger()
    spent_by_day: dict[date, Decimal] = {}
    rows: list[dict[str, Any]] = []
    epoch, counted = 0, 0
    by_player: dict[str, int] = {}  # v2: each player's plays in the epoch
    v2 = rules.algorithm == fairness.V2
    for seq, raw in enumerate(plays):
        play = Play(*raw)
        if play.epoch < epoch:
            raise ValueError(f"play {seq} goes back from epoch {epoch} to {play.epoch}")
        if play.epoch > epoch:
            epoch, counted = play.epoch, 0
            by_player.clear()
        nonce = by_player.get(play.player, 0) if v2 else counted
        index = fairness.draw(
            keys[epoch],
            rules.campaign,
            play.client_seed,
            nonce,
            rules.running,
            play.player if v2 else None,
        )
        drawn = rules.prizes[index]
        day = local_date(play.at, rules.timezone)
        ledger.spent_today = spent_by_day.get(day, Decimal(0))
        awarded = award(rules, drawn, ledger)
        ledger.record(awarded)
        spent_by_day[day] = ledger.spent_today
        rows.append(
            chain_row(
                prev_hash=rows[-1]["hash"] if rows else ZERO_HASH,
                seq=seq,
                campaign=rules.campaign,
                epoch=epoch,
                nonce=nonce,
                client_seed=play.client_seed,
                player=play.player,
                drawn=drawn.id,
                awarded=awarded.id,
                at=play.at,
                config_hash=rules.config_hash,
            )
        )
        counted += 1
        by_player[play.player] = nonce + 1
    with path.open("w", encoding="utf-8", newline="\n") as out:
        write_bundle(out, [rules], epochs, rows)
    return Bundle(path, rules, epochs, rows)


def leaf_hashes(rows: Iterable[Mapping[str, Any]]) -> list[bytes]:
    """The Merkle tree's leaves of CONTRACT §12: each play row as the bundle has it, untagged."""
    return [merkle.leaf_hash(canonical_json(dict(row))) for row in rows]


def write_records(path: Path, records: Iterable[Mapping[str, Any]]) -> Path:
    """Write any records, tampered or not, one canonical JSON line each."""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.writelines(bundle_line(record) for record in records)
    return path


def rechain(rows: Sequence[Mapping[str, Any]], start: int = 0) -> list[dict[str, Any]]:
    """Copies of ``rows`` with ``prev_hash`` and ``hash`` recomputed from ``start`` on.

    What a forger who controls the log would do after changing a row: the chain is intact
    again, so only the rules about the row's content can catch the change.
    """
    out = [dict(row) for row in rows]
    for i in range(start, len(out)):
        out[i]["prev_hash"] = out[i - 1]["hash"] if i else ZERO_HASH
        out[i]["hash"] = row_hash(out[i])
    return out
