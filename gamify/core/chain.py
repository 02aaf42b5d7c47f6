"""The hash-chained play log (CONTRACT §5): a row's fields, its hash, the link to the one before,
and the pseudonym that stands for the customer in it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gamify.core.canonical import canonical_json
from gamify.core.rules import iso_utc

ZERO_HASH = "0" * 64
PLAY_COLUMNS = (
    "seq",
    "campaign",
    "epoch",
    "nonce",
    "client_seed",
    "player",
    "drawn",
    "awarded",
    "at",
    "config_hash",
    "prev_hash",
    "hash",
)
"""The fields of a chain row (CONTRACT §5), in the order the log stores them."""
PLAY_FIELDS = frozenset(PLAY_COLUMNS)


def row_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the row without its ``hash`` (and bundle ``type``)."""
    body = {k: v for k, v in row.items() if k not in ("hash", "type")}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def chain_row(
    *,
    prev_hash: str,
    seq: int,
    campaign: str,
    epoch: int,
    nonce: int,
    client_seed: str,
    player: str,
    drawn: str,
    awarded: str,
    at: datetime,
    config_hash: str,
) -> dict[str, Any]:
    """The next row of a chain, with its hash."""
    row: dict[str, Any] = {
        "seq": seq,
        "campaign": campaign,
        "epoch": epoch,
        "nonce": nonce,
        "client_seed": client_seed,
        "player": player,
        "drawn": drawn,
        "awarded": awarded,
        "at": iso_utc(at),
        "config_hash": config_hash,
        "prev_hash": prev_hash,
    }
    row["hash"] = row_hash(row)
    return row


def pseudonym(key: bytes, campaign_id: str, customer_id: str) -> str:
    """A stable per-campaign stand-in for a customer id that cannot be reversed without ``key``."""
    mac = hmac.digest(key, f"{campaign_id}:{customer_id}".encode(), "sha256")
    return mac.hex()[:32]
