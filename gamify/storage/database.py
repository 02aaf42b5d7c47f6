"""Engines and migrations: SQLite tuned for several processes, PostgreSQL through psycopg 3.

On SQLite, writing transactions (:func:`writing`) start with ``BEGIN IMMEDIATE`` so that a play
takes the write lock before it reads the counters it will bump: two processes can never both
read "1 play left". Reads use a plain ``BEGIN`` and never block plays (WAL).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy import exc as exc_sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from gamify.core.errors import GamifyError
from gamify.services.ports import StartOver

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 0x67616D69  # "gami": one pg_advisory_xact_lock id for schema changes
SQLITE_BUSY_TIMEOUT = 30.0  # seconds a statement waits for another process's lock


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping: it costs a round trip per checkout; a dropped connection fails one request's
    # transaction (rolled back, nothing given) and the pool replaces it.
    # psycopg's automatic preparation is off (prepare_threshold=None): the play path prepares
    # its own statements once per connection (gamify.storage.plays.postgres), and psycopg, once
    # it has prepared any statement of its own, answers every rollback (the pool's reset of each
    # returned connection) with DEALLOCATE ALL, which drops the play's statements too. The
    # statements SQLAlchemy sends outside the play path are not hot enough to need preparing.
    return create_engine(
        url,
        pool_size=5,
        max_overflow=5,
        pool_recycle=1800,
        connect_args={"prepare_threshold": None},
    )


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not serve the request now (unreachable, restarted,
    busy past the timeout, out of connections), rather than that gamify has a bug."""
    if isinstance(exc, StartOver | exc_sa.TimeoutError | exc_sa.DisconnectionError):
        return True
    orig = exc.orig if isinstance(exc, exc_sa.DBAPIError) else exc
    if isinstance(orig, psycopg.OperationalError):  # connection, restart, deadlock, timeout
        return True
    if isinstance(orig, sqlite3.OperationalError):  # also "no such table": only these count
        message = str(orig).lower()
        return any(words in message for words in _SQLITE_UNAVAILABLE)
    return False


_SQLITE_UNAVAILABLE = ("database is locked", "unable to open", "disk i/o error", "database is full")


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
    _enter_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # deleted rows are overwritten with zeros, not left in free pages: an erased email
    # (`gamify forget`) leaves no trace in the file (gamify deletes rarely: it costs little)
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _enter_wal(cursor: sqlite3.Cursor) -> None:
    """Switch a new database to WAL, waiting for the other processes doing the same.

    The switch needs the database to itself, and SQLite answers "database is locked" at once,
    without its busy handler, to a connection that asks for it while others read the file to
    do the same (several workers starting on a fresh file): one of four gunicorn workers
    failed to start that way. On a database already in WAL the statement takes no lock.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    pause = 0.001
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _sqlite_begin(connection: Connection) -> None:
    writes = connection.get_execution_options().get("gamify_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it takes the write lock before its first read,
    so read-check-write sequences (limits, stock) cannot interleave between processes."""
    with engine.connect() as connection:
        connection.execution_options(gamify_write=True)
        with connection.begin():
            yield connection


def dialect_insert(conn: Connection) -> Any:
    """``insert`` of the connection's dialect, for ``ON CONFLICT`` clauses."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def insert_missing(
    conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str]
) -> None:
    """Insert the rows not there yet. One execution of many parameter sets: SQLAlchemy sends
    them in batches, so a pool of 100,000 codes stays under the drivers' parameter limits."""
    if rows:
        conn.execute(dialect_insert(conn)(table).on_conflict_do_nothing(index_elements=keys), rows)


class SchemaBehind(GamifyError):
    """The database's schema is older than this gamify, and upgrading on start is off."""

    def __init__(self, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        super().__init__(
            f"the gamify database is at revision {current or '(empty)'} and this version needs "
            f"{head}: run `flask gamify db upgrade` (or `gamify db upgrade`), or set "
            "GAMIFY_AUTO_UPGRADE = True"
        )


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # The options are a ConfigParser's, which reads "%" as the start of an interpolation: a URL
    # with a %-escape (a password with "@", a path with a space) must have it doubled.
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_current_schema(engine: Engine) -> None:
    """Raise :class:`SchemaBehind` unless the schema is at this version's newest revision."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert head is not None  # the package ships its migrations
    current = current_revision(engine)
    if current != head:
        raise SchemaBehind(current, head)


def upgrade(engine: Engine) -> None:
    """Bring the schema to this version's newest revision, one process at a time.

    Runs on every start (creating the schema in an empty database) and as ``gamify db
    upgrade``. Migrations only add, so plays are never lost; a database written by a newer
    gamify (a revision this version does not know) is refused rather than touched.
    """
    config = alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    with writing(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        current = MigrationContext.configure(connection).get_current_revision()
        if current == script.get_current_head():
            return
        if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
            raise RuntimeError(
                f"the gamify database is at revision {current}, which this version of gamify "
                "does not know: it was written by a newer version; upgrade gamify"
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
