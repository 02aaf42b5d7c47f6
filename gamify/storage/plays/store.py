"""The :class:`~gamify.services.ports.PlayStore` port on a SQLAlchemy engine: a pooled driver
connection per play, with the adapter of its database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Engine

from gamify.services.ports import PlayTransaction
from gamify.storage.plays.postgres import PostgresPlays
from gamify.storage.plays.sqlite import SqlitePlays


class EnginePlays:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def transaction(self) -> AbstractContextManager[PlayTransaction]:
        return play_transaction(self.engine)

    def reset(self) -> None:
        self.engine.dispose()


@contextmanager
def play_transaction(engine: Engine) -> Iterator[PlayTransaction]:
    """A pooled connection for one play; a connection that fails to clean up is discarded."""
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    assert driver is not None  # a checked-out connection has its driver connection
    tx: PostgresPlays | SqlitePlays = (
        PostgresPlays(driver, pooled.info)
        if engine.dialect.name == "postgresql"
        else SqlitePlays(driver)
    )
    try:
        yield tx
    finally:
        try:
            tx.end()
        except Exception:  # the connection is broken: the pool must not hand it out again
            pooled.invalidate()
        pooled.close()
