"""Coupon codes: made from a pattern with a CSPRNG, or read from a pool file bought elsewhere."""

from __future__ import annotations

import csv
import re
import secrets
from pathlib import Path

# Letters and digits a shopper cannot confuse when typing: no O/0 and no I/1.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PLACEHOLDER = re.compile(r"\{code:(\d+)\}")


def make_code(pattern: str) -> str:
    """``BF10-{code:8}`` → ``BF10-K7Q2M9XA``."""
    return PLACEHOLDER.sub(lambda m: random_code(int(m.group(1))), pattern)


def random_code(length: int) -> str:
    """``length`` characters of :data:`ALPHABET` from one CSPRNG read: the 32 characters take 5 bits
    of a byte each, and 256 is a multiple of 32, so every letter is equally likely."""
    return "".join(ALPHABET[b & 31] for b in secrets.token_bytes(length))


def read_pool(path: Path) -> list[str]:
    """Codes of a pool CSV in file order: the first column of each non-empty row, header skipped."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        codes = [row[0].strip() for row in csv.reader(handle) if row and row[0].strip()]
    if codes and codes[0].lower() == "code":
        codes = codes[1:]
    return codes
