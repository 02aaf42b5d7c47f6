"""Prepared statements sent in pipelines on libpq itself, for the two hottest paths (plays and
store events) on PostgreSQL.

The statements are prepared on a connection the first time it needs them and sent through
``psycopg.pq``, psycopg's public libpq wrapper: its cursors, adapters and pipeline bookkeeping
cost about three times the CPU of the libpq calls they make. Everything else goes through
psycopg and SQLAlchemy as usual, on the same pooled connections.

Which statements a connection has is kept in the pool's per-connection ``info`` (dropped with
the connection). gamify's engine has psycopg's own automatic preparation off
(:func:`gamify.storage.database.make_engine`), so these are the only prepared statements a
connection has; when something drops them behind our back (``DEALLOCATE ALL``, ``DISCARD
ALL``), the statement that needed one fails with :class:`StatementsLost` and the next attempt
prepares them again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import select
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import orjson
import psycopg
from psycopg import pq
from sqlalchemy import Connection, Engine

from gamify.services.ports import StartOver
from gamify.storage.database import writing

_INT8, _BOOL, _TEXT = 20, 16, 25  # type oids of the parameters
_INTEGERS = frozenset({"lock", "seq", "epoch", "nonce", "next_seq", "next_nonce", "spent"})
_PARAM = re.compile(r"%\((\w+)\)s")
_PREPARED = "gamify_prepared"  # the key of the set of prepared names in the pool's info


class StatementsLost(StartOver):
    """The connection no longer had gamify's prepared statements (something ran ``DEALLOCATE
    ALL`` or ``DISCARD ALL`` on it): the transaction was rolled back, and the next attempt
    prepares them again."""


class ConnectionLost(StartOver):
    """The pooled connection was dead before anything was written (the database restarted, or
    dropped it): the request can start over on new connections."""

    new_connections = True


@dataclass(frozen=True)
class Statement:
    """A statement prepared once per connection under a name that changes with its text.

    Parameters are ``%(name)s``. Their types are ``bigint`` for the integer names of the play,
    ``boolean`` for ``pooled`` and ``text`` otherwise; with ``infer``, the server infers each
    from the statement (write ``CAST(%(name)s AS VARCHAR[])`` and send :func:`array` text).
    """

    name: bytes
    sql: bytes
    params: tuple[str, ...]
    types: tuple[int, ...]

    @classmethod
    def of(cls, label: str, sql: str, *, infer: bool = False) -> Statement:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        numbered = _PARAM.sub(number, sql)
        digest = hashlib.sha256(numbered.encode()).hexdigest()[:16]
        types = tuple(
            0 if infer else _INT8 if n in _INTEGERS else _BOOL if n == "pooled" else _TEXT
            for n in names
        )
        return cls(f"gamify_{label}_{digest}".encode(), numbered.encode(), tuple(names), types)

    def values(self, params: Mapping[str, Any]) -> list[bytes | None]:
        return [_text(params[name]) for name in self.params]


def _text(value: Any) -> bytes | None:
    if value is None:
        return None
    if value is True or value is False:
        return b"t" if value else b"f"
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def array(values: Sequence[Any]) -> bytes:
    """A one-dimensional array in PostgreSQL's text form (None as ``NULL``), any text intact.

    JSON's text of a list is that form already once its brackets become braces: strings
    quoted, with ``\\"`` and ``\\\\`` for what PostgreSQL escapes the same way. Only control
    characters, which JSON writes as ``\\n`` or ``\\u0001``, are not: a list holding one goes
    element by element. One C-speed dump (orjson's, 10 times json's) instead of Python per
    element: rows of events go through here by the thousand.
    """
    try:
        dumped = orjson.dumps(values, default=_other).decode()
    except TypeError:  # past orjson: an integer past 64 bits
        dumped = json.dumps(values, ensure_ascii=False, separators=(",", ":"), default=str)
    if "\\" in dumped.replace("\\\\", "").replace('\\"', ""):  # a control character
        inner = ",".join(
            "NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
            for v in values
        )
        return ("{" + inner + "}").encode()
    return ("{" + dumped[1:-1] + "}").encode()


def _other(value: Any) -> str:
    """What orjson does not write itself (a Decimal) as its text, as json's ``default=str``."""
    return str(value)


Step = Statement | bytes | tuple[Statement, Mapping[str, Any]]
"""A step of a pipeline: a prepared statement, a statement's text without parameters, or a
prepared statement with its own parameters."""

BEGIN, COMMIT, ROLLBACK = b"BEGIN", b"COMMIT", b"ROLLBACK"
# Sent after a COMMIT made without waiting for the WAL flush (``synchronous_commit`` off for
# that transaction, which releases its locks before the disk is waited for). A transactional WAL
# record gives this statement's own transaction an id and a WAL write, so its commit,
# synchronous as the server is configured, flushes the WAL up to and past the one before it on
# this connection: no answer leaves before that is as durable as any synchronous commit.
FLUSH = Statement.of("flush", "SELECT pg_logical_emit_message(true, 'gamify.flush', '')")
# Sent before the first preparation on a connection: whatever is left of an earlier one (some
# statements dropped by name, some not) would make PREPARE fail.
_DEALLOCATE = b"DEALLOCATE ALL"
_MISSING_STATEMENT = b"26000"  # invalid_sql_statement_name


class Pipeline:
    """One pooled connection's libpq pipelines; :attr:`broken` while answers are unread (a
    connection left so cannot be reused: its owner discards it)."""

    def __init__(self, conn: psycopg.Connection[Any], info: dict[str, Any]) -> None:
        self.conn = conn
        self.pgconn = conn.pgconn
        self.info = info
        self.broken = False

    def run(
        self, steps: Sequence[Step], params: Mapping[str, Any] | None = None
    ) -> list[pq.abc.PGresult]:
        """Send ``steps`` in one pipeline and wait for all their results; raise the first error.
        A statement takes its parameters from ``params``, or from its own when given as
        ``(statement, params)``.

        The connection stays non-blocking, as psycopg keeps it, and this process waits for the
        socket in Python: other threads run meanwhile (a play waiting for the campaign lock in
        one thread must not stop the thread that holds it).
        """
        pgconn = self.pgconn
        prepared: set[bytes] = self.info.setdefault(_PREPARED, set())
        statements = [s[0] if isinstance(s, tuple) else s for s in steps]
        prepare = list(
            dict.fromkeys(
                s for s in statements if isinstance(s, Statement) and s.name not in prepared
            )
        )
        self.broken = True  # until every answer is in: a half-read pipeline cannot be reused
        pgconn.enter_pipeline_mode()
        preparing = len(prepare)
        if prepare and not prepared:
            pgconn.send_query_params(_DEALLOCATE, None)
            preparing += 1
        for statement in prepare:
            pgconn.send_prepare(statement.name, statement.sql, list(statement.types))
        for step in steps:
            if isinstance(step, tuple):
                pgconn.send_query_prepared(step[0].name, step[0].values(step[1]))
            elif isinstance(step, Statement):
                pgconn.send_query_prepared(step.name, step.values(params or {}))
            else:
                pgconn.send_query_params(step, None)
        pgconn.pipeline_sync()
        _flush(pgconn)
        results = [_next_result(pgconn) for _ in range(preparing + len(steps))]
        if _next_result(pgconn).status != pq.ExecStatus.PIPELINE_SYNC:
            raise psycopg.OperationalError("the server's answers are out of step")
        pgconn.exit_pipeline_mode()
        self.broken = False
        if preparing > len(prepare) and results[0].status == pq.ExecStatus.COMMAND_OK:
            prepared.clear()  # DEALLOCATE ALL went first
        for statement, done in zip(prepare, results[preparing - len(prepare) :], strict=False):
            if done.status == pq.ExecStatus.COMMAND_OK:  # kept whatever fails after it
                prepared.add(statement.name)
        for result in results:
            if result.error_field(pq.DiagnosticField.SQLSTATE) == _MISSING_STATEMENT:
                # Dropped behind our back: prepare them all again at the next attempt, which
                # starts over (nothing was written: the transaction is aborted).
                prepared.clear()
                raise StatementsLost(text_of(result.error_message).strip())
            _check(result, pgconn)
        return results[preparing:]


def _flush(pgconn: pq.abc.PGconn) -> None:
    while pgconn.flush():  # 1 while some of the output is still to send
        _wait(pgconn.socket, write=True)


def _next_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult:
    """The next result of a pipeline: a statement's (then the None that ends it), or the sync."""
    result = _get_result(pgconn)
    if result is None:
        raise psycopg.OperationalError(
            pgconn.error_message.decode(errors="replace") or "the server closed the connection"
        )
    if result.status != pq.ExecStatus.PIPELINE_SYNC and _get_result(pgconn) is not None:
        raise psycopg.OperationalError("a statement returned more than one result")
    return result


def _get_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    while pgconn.is_busy():
        _wait(pgconn.socket, write=False)
        pgconn.consume_input()
    return pgconn.get_result()


def _wait(fd: int, *, write: bool) -> None:
    """Until the socket is ready; the GIL is released meanwhile."""
    if _poll is None:  # no poll(2) (Windows)
        select.select([], [fd], []) if write else select.select([fd], [], [])
        return
    waiting = _poll()
    waiting.register(fd, select.POLLOUT if write else select.POLLIN)
    waiting.poll()


_poll = getattr(select, "poll", None)


_OK = frozenset({pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.PIPELINE_SYNC})


def _check(result: pq.abc.PGresult, pgconn: pq.abc.PGconn) -> None:
    """Raise the server's error as psycopg would: its class follows the SQLSTATE."""
    if result.status in _OK:
        return
    message = (result.error_message or pgconn.error_message).decode(errors="replace").strip()
    sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE)
    error: type[psycopg.Error] = psycopg.DatabaseError
    if sqlstate:
        with contextlib.suppress(KeyError):  # a code newer than this psycopg knows
            error = psycopg.errors.lookup(sqlstate.decode())
    elif pgconn.status == pq.ConnStatus.BAD:  # libpq's own report of a lost connection
        error = psycopg.OperationalError
    raise error(message or f"a statement failed ({pq.ExecStatus(result.status).name})")


def rows(result: pq.abc.PGresult) -> list[tuple[str | None, ...]]:
    """A result's rows, each a tuple of its columns' text (None for NULL)."""
    columns = range(result.nfields)
    get = result.get_value
    return [
        tuple(None if (v := get(r, c)) is None else v.decode() for c in columns)
        for r in range(result.ntuples)
    ]


def text_of(value: bytes | None) -> str:
    return value.decode() if value is not None else ""


def int_of(value: bytes | None) -> int:
    return int(value or 0)


class Pipelined(Protocol):
    pipeline: Pipeline

    def commit(self) -> None: ...


T = TypeVar("T", bound=Pipelined)


@contextmanager
def pipelined(engine: Engine, make: Callable[[Connection, Pipeline], T]) -> Iterator[T]:
    """A writing transaction on a pooled connection whose hot statements go through a
    :class:`Pipeline`, committed by the transaction itself; a connection left with unread
    answers is discarded."""
    with writing(engine) as conn:
        driver = conn.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        tx = make(conn, Pipeline(driver, conn.connection.info))
        try:
            yield tx
            tx.commit()
        except BaseException:
            if tx.pipeline.broken:
                conn.invalidate()
            raise
