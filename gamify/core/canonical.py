"""The one JSON serialisation that hashes are computed over (CONTRACT §5)."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(obj: Any) -> bytes:
    """``json.dumps(sort_keys, compact separators, ensure_ascii=False)`` as UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
