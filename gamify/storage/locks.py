"""The locks that order a campaign's chain across processes."""

from __future__ import annotations

import hashlib


def campaign_lock_key(campaign: str) -> int:
    """The campaign's transaction-level advisory lock: whatever moves its chain takes it first."""
    digest = hashlib.sha256(f"gamify.core.campaign:{campaign}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def customer_lock_key(customer: str) -> int:
    """A customer's progress in challenges: what an event or a quiz of theirs changes takes it."""
    digest = hashlib.sha256(f"gamify.core.customer:{customer}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
