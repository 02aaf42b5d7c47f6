"""Coupon codes from a pattern (the right shape, every character equally likely) and from a
pool file (which must stay inside the campaigns folder)."""

from __future__ import annotations

import re
import secrets
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamify.core.coupons import (
    ALPHABET,
    PoolPathError,
    make_code,
    pool_path,
    random_code,
    read_pool,
    read_pool_lines,
)

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


def test_pool_lines_keep_their_line_numbers_and_skip_the_header(tmp_path: Path) -> None:
    pool = tmp_path / "codes.csv"
    pool.write_bytes(b'\xef\xbb\xbfCode,note\n A1 ,x\n\n,\n"B\n2",y\nC3\n')
    assert read_pool_lines(pool) == [(2, "A1"), (5, "B\n2"), (7, "C3")]
    assert read_pool(pool) == ["A1", "B\n2", "C3"]


@pytest.mark.parametrize(
    "name", ["codes.csv", "./codes.csv", "sub/codes.csv", "sub/./codes.csv", "dir.v2/codes.csv"]
)
def test_a_pool_inside_the_folder_is_its_resolved_path(tmp_path: Path, name: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "dir.v2").mkdir()
    assert pool_path(tmp_path, name) == (tmp_path / name).resolve()


@pytest.mark.parametrize(
    "name",
    ["", "../x.csv", "sub/../../x.csv", ".env", "sub/.git/config", "/etc/passwd",
     "C:\\x.csv", "\\\\server\\share\\x.csv", "..\\x.csv", "a\0b"],
)  # fmt: skip
def test_a_pool_path_that_could_leave_the_folder_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(PoolPathError):
        pool_path(tmp_path / "campaigns", name)


def test_reading_checks_the_folder_again(tmp_path: Path) -> None:
    """A symbolic link swapped after ``gamify check`` (or the loader) still cannot lead out."""
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text("SECRET\n", encoding="utf-8")
    (folder / "real.csv").write_text("A1\n", encoding="utf-8")
    (folder / "codes.csv").symlink_to(folder / "real.csv")
    path = pool_path(folder, "codes.csv")
    assert read_pool(folder / "codes.csv", folder) == ["A1"]
    (folder / "codes.csv").unlink()
    (folder / "codes.csv").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(PoolPathError, match="outside"):
        read_pool(folder / "codes.csv", folder)
    assert read_pool(path, folder) == ["A1"]  # the checked path is the link's target
