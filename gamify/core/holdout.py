"""The holdout group (CONTRACT §11): a share of a campaign's customers that never sees it, so
that the report compares like with like (everyone assigned, not only those who chose to play).

The group follows from the secret, the campaign and the customer alone: any worker, and anyone
holding the secret, finds the same one, and it never changes while the secret does not. gamify
also records it the first time a campaign sees a customer, so that a report never depends on
recomputing it.
"""

from __future__ import annotations

import hmac
from typing import Literal

Group = Literal["treatment", "holdout"]
GROUPS: tuple[Group, ...] = ("treatment", "holdout")
MAX_HOLDOUT = 50
"""The largest holdout a campaign may set (percent): beyond half, the game is the exception."""


def holdout_group(secret: bytes, campaign: str, customer: str, percent: int) -> Group:
    """``holdout`` when the first 8 bytes of HMAC-SHA256(secret, "holdout:CAMPAIGN:CUSTOMER"),
    big-endian, modulo 10,000 fall below ``percent`` × 100."""
    if percent <= 0:
        return "treatment"
    message = f"holdout:{campaign}:{customer}".encode()
    draw = int.from_bytes(hmac.digest(secret, message, "sha256")[:8], "big") % 10_000
    return "holdout" if draw < percent * 100 else "treatment"
