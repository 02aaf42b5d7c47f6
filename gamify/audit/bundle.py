"""The audit bundle (CONTRACT §5): the chain's rows with the configs and epochs they need.

Rows are plain dicts of JSON types so that what is hashed, stored and published is one and the
same object; the bundle is JSON Lines, written and read one line at a time so that a
million-play log never has to fit in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from gamify.core.canonical import canonical_json
from gamify.core.errors import BundleError
from gamify.core.rules import Rules


def campaign_record(rules: Rules) -> dict[str, Any]:
    return {
        "type": "campaign",
        "id": rules.campaign,
        "config_hash": rules.config_hash,
        "config": rules.config,
    }


def epoch_record(
    campaign_id: str, epoch: int, commitment: str, server_seed: str | None
) -> dict[str, Any]:
    return {
        "type": "epoch",
        "campaign": campaign_id,
        "epoch": epoch,
        "commitment": commitment,
        "server_seed": server_seed,
    }


def play_record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "play", **row}


def bundle_line(record: Mapping[str, Any]) -> str:
    """One line of the bundle: canonical JSON, so the same log always gives the same bytes."""
    return canonical_json(record).decode() + "\n"


def write_bundle(
    out: IO[str],
    campaigns: Iterable[Rules],
    epochs: Iterable[Mapping[str, Any]],
    plays: Iterable[Mapping[str, Any]],
) -> int:
    """Write config versions, then epochs, then plays in ``seq`` order; returns the play count."""
    for rules in campaigns:
        out.write(bundle_line(campaign_record(rules)))
    for epoch in epochs:
        out.write(bundle_line(epoch))
    count = 0
    for row in plays:
        out.write(bundle_line(play_record(row)))
        count += 1
    return count


def read_records(path: Path) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """``(line number, bytes read so far, record)`` for every non-blank line of a bundle."""
    done = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            done += len(raw)
            if not raw.strip():
                continue
            yield number, done, parse_line(raw, number)


def parse_line(raw: bytes, number: int) -> dict[str, Any]:
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError("json", f"not a JSON object: {exc}", line=number) from None
    if not isinstance(record, dict) or record.get("type") not in ("campaign", "epoch", "play"):
        raise BundleError(
            "record-type",
            "each line must be an object whose type is campaign, epoch or play",
            line=number,
        )
    return record
