"""Fairness algorithms v1 (CONTRACT §4) and v2 (§12): the provably fair draw, in plain Python.

The two differ only in the HMAC message: v2 names the player, whose nonces count their own
plays in the epoch, so a play slipped in to burn a shopper's winning nonce shows in that
shopper's receipts. Functions take ``player=None`` for v1 and the pseudonym for v2.

Nothing here knows about Flask or databases, so the server, ``gamify simulate``,
``gamify verify`` and an auditor's own code all run the same few functions.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import struct
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import accumulate
from typing import Final

V1: Final = "gamify-fairness-v1"
V2: Final = "gamify-fairness-v2"
ALGORITHMS: Final = (V1, V2)
SEED_BYTES = 32
_U64 = 2**64
_SEED_HEX = re.compile(r"[0-9a-f]{64}")
_CLIENT_SEED = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FOUR_U64 = struct.Struct(">4Q")
_FIRST_U64 = struct.Struct(">Q")


def new_server_seed() -> str:
    """32 fresh random bytes as 64 lowercase hex characters."""
    return secrets.token_bytes(SEED_BYTES).hex()


def commitment(server_seed: str) -> str:
    """SHA-256 of the seed's bytes (not of its hex text), as hex."""
    return hashlib.sha256(seed_bytes(server_seed)).hexdigest()


def seed_bytes(server_seed: str) -> bytes:
    if not _SEED_HEX.fullmatch(server_seed):
        raise ValueError("a server seed is 64 lowercase hex characters")
    return bytes.fromhex(server_seed)


def is_client_seed(value: object) -> bool:
    return isinstance(value, str) and _CLIENT_SEED.fullmatch(value) is not None


def new_client_seed() -> str:
    """A client seed for requests that bring none: 22 characters of ``[A-Za-z0-9_-]``."""
    return secrets.token_urlsafe(16)


def message_prefix(campaign_id: str, client_seed: str, nonce: int, player: str | None) -> str:
    """The HMAC message without its block number ``k``: v1's without ``player``, v2's with."""
    if player is None:
        return f"{campaign_id}:{client_seed}:{nonce}:"
    return f"{campaign_id}:{player}:{client_seed}:{nonce}:"


def byte_blocks(
    key: bytes, campaign_id: str, client_seed: str, nonce: int, player: str | None = None
) -> Iterator[bytes]:
    """HMAC-SHA256 blocks for k = 0, 1, 2, …; their concatenation is the byte stream."""
    prefix = message_prefix(campaign_id, client_seed, nonce, player)
    k = 0
    while True:
        yield hmac.digest(key, f"{prefix}{k}".encode(), "sha256")
        k += 1


def integers(
    key: bytes, campaign_id: str, client_seed: str, nonce: int, player: str | None = None
) -> Iterator[int]:
    """The byte stream read as consecutive 8-byte big-endian unsigned integers."""
    for block in byte_blocks(key, campaign_id, client_seed, nonce, player):
        yield from _FOUR_U64.unpack(block)


def acceptance_bound(total: int) -> int:
    """Integers below this bound map onto [0, total) uniformly by ``u % total``."""
    if not 1 <= total <= _U64:
        raise ValueError(f"total weight must be between 1 and 2**64, got {total}")
    return _U64 - (_U64 % total)


def uniform(stream: Iterator[int], total: int) -> int:
    """The first integer of ``stream`` below the acceptance bound, reduced mod ``total``."""
    bound = acceptance_bound(total)
    for u in stream:
        if u < bound:
            return u % total
    raise ValueError("the stream ended before an integer was accepted")


def cumulative(weights: Sequence[int]) -> tuple[int, ...]:
    """Running sums of the weights; the last one is T."""
    if not weights or any(w < 1 for w in weights):
        raise ValueError("weights must be integers >= 1")
    return tuple(accumulate(weights))


def prize_index(running: Sequence[int], r: int) -> int:
    """The first prize, in file order, whose running sum of weights exceeds ``r``."""
    return bisect_right(running, r)


def draw(
    server_seed: str | bytes,
    campaign_id: str,
    client_seed: str,
    nonce: int,
    running: Sequence[int],
    player: str | None = None,
) -> int:
    """Index of the drawn prize for one play, given the running sums of the weights; v2's
    draw when ``player`` is given.

    The first integer of the first block is accepted almost always, so it is computed inline;
    the general stream is only walked after a rejection. Both give the same result.
    """
    key = seed_bytes(server_seed) if isinstance(server_seed, str) else server_seed
    total = running[-1]
    bound = acceptance_bound(total)
    message = f"{message_prefix(campaign_id, client_seed, nonce, player)}0".encode()
    u = _FIRST_U64.unpack_from(hmac.digest(key, message, "sha256"))[0]
    if u >= bound:
        stream = integers(key, campaign_id, client_seed, nonce, player)
        u = next(x for x in stream if x < bound)
    return bisect_right(running, u % total)
