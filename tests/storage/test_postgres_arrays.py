"""The array parameters of the libpq path (:func:`gamify.storage.libpq.array`) reach PostgreSQL
as exactly the values sent, whatever text, number or moment they hold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from databases import postgres_database
from hypothesis import given, settings
from hypothesis import strategies as st

from gamify.storage.libpq import array

# Any text PostgreSQL stores (all but NUL), as customers and orders can send it.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@pytest.fixture(scope="module")
def conn() -> Iterator[psycopg.Connection[Any]]:
    with postgres_database("gamify_arrays") as url:
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as connection:
            yield connection


def _back(conn: psycopg.Connection[Any], values: list[Any], sql_type: str) -> list[Any]:
    row = conn.execute(
        f"SELECT CAST(CAST(%s AS TEXT) AS {sql_type}[])", [array(values).decode()]
    ).fetchone()
    assert row is not None
    return list(row[0])


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(st.none(), TEXT), max_size=20))
def test_any_text_and_nulls_come_back_exactly(
    conn: psycopg.Connection[Any], values: list[str | None]
) -> None:
    assert _back(conn, values, "VARCHAR") == values


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=20))
def test_integers_come_back_exactly(conn: psycopg.Connection[Any], values: list[int]) -> None:
    assert _back(conn, values, "BIGINT") == values


def test_numbers_past_64_bits_decimals_and_moments_come_back_exactly(
    conn: psycopg.Connection[Any],
) -> None:
    assert _back(conn, [2**70, -(2**80), None], "NUMERIC") == [2**70, -(2**80), None]
    assert _back(conn, [Decimal("59.90"), Decimal("1E-7")], "NUMERIC") == [
        Decimal("59.90"),
        Decimal("1E-7"),
    ]
    moments = [datetime(2026, 11, 27, 17, 30, 0, 123456, tzinfo=UTC), None]
    assert _back(conn, moments, "TIMESTAMPTZ") == moments
    assert _back(conn, [True, False, None], "BOOLEAN") == [True, False, None]
