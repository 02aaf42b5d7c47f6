"""Engines and migrations: SQLite tuned for several processes, PostgreSQL through psycopg 3.

SQLite transactions start with ``BEGIN IMMEDIATE`` so that a play takes the write lock before it
reads the counters it will bump: two processes can never both read "1 play left".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_MIGRATION_LOCK = 0x67616D69  # "gami": one pg_advisory_xact_lock id for schema changes


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (``gamify db upgrade``), one process at a time."""
    _migrate(engine, only_if_empty=False)


def prepare(engine: Engine) -> None:
    """On start: create the schema in an empty database; refuse to run on an outdated one."""
    _migrate(engine, only_if_empty=True)


def _migrate(engine: Engine, *, only_if_empty: bool) -> None:
    config = alembic_config(engine)
    head = head_revision(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        current = MigrationContext.configure(connection).get_current_revision()
        if current == head:
            return
        if only_if_empty and current is not None:
            raise RuntimeError(
                f"the gamify database is at revision {current}, this version needs {head}: "
                "run `flask gamify db upgrade` (or `gamify db upgrade`) first"
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
