"""Throwaway databases for tests: a SQLite file, or a PostgreSQL database made for the test.

PostgreSQL must listen on 127.0.0.1:5432 (user ``postgres``, trust auth, a database ``test`` to
connect to). Without it the test is skipped with the reason, or fails when ``CI=true``: the
tests that need it never pass by skipping on CI.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
KINDS = ("sqlite", "postgres")


def unavailable(reason: str) -> None:
    """Skip with the reason on a developer's machine; never skip silently under CI."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database's URL, dropped afterwards even with connections still open."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except Exception as exc:
        unavailable(f"PostgreSQL is not reachable on 127.0.0.1:5432 as postgres: {exc}")
        raise  # unreachable: unavailable always raises
    name = f"{prefix}_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(name=name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database_url(kind: str, folder: Path) -> Iterator[str]:
    """An empty database of ``kind`` (one of :data:`KINDS`)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'gamify.sqlite3'}"
    else:
        with postgres_database("gamify_test") as url:
            yield url
