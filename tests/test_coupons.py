"""Coupon codes from a pattern: the right shape, and every character equally likely."""

from __future__ import annotations

import re
import secrets
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from gamify.coupons import ALPHABET, make_code, random_code

CHI2_31_DOF_P999 = 61.098  # chi-square critical value, 31 degrees of freedom, p = 0.001


def test_the_alphabet_has_32_distinct_unambiguous_characters() -> None:
    assert len(set(ALPHABET)) == len(ALPHABET) == 32  # so a byte's low 5 bits pick without bias
    assert not set(ALPHABET) & set("O0I1")


@given(st.integers(min_value=4, max_value=32), st.from_regex(r"[A-Z0-9_-]{0,6}", fullmatch=True))
def test_a_pattern_code_keeps_the_text_and_fills_the_placeholder(length: int, prefix: str) -> None:
    code = make_code(f"{prefix}{{code:{length}}}-X")
    assert re.fullmatch(rf"{re.escape(prefix)}[{ALPHABET}]{{{length}}}-X", code)


def chi2(chars: str) -> float:
    counts = Counter(chars)
    expected = len(chars) / len(ALPHABET)
    return sum((counts[c] - expected) ** 2 / expected for c in ALPHABET)


def test_every_character_is_equally_likely() -> None:
    chars = "".join(random_code(32) for _ in range(4000))  # 128,000 characters
    assert set(chars) == set(ALPHABET)
    assert chi2(chars) < CHI2_31_DOF_P999


def test_a_biased_generator_fails_the_same_check() -> None:
    """The negative control: a byte modulo 31 over-weights the first letter, never gives the
    last one, and fails."""
    chars = "".join(ALPHABET[b % 31] for b in secrets.token_bytes(128_000))
    assert chi2(chars) > CHI2_31_DOF_P999
