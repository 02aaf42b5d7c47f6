"""The :class:`~gamify.services.ports.ProgressStore` port on a SQLAlchemy engine: a writing
transaction per request, with the adapter of its database."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Engine

from gamify.core.progress import Key, Tally
from gamify.services.ports import Pool
from gamify.storage.campaign_log import check_pool
from gamify.storage.database import insert_missing, writing
from gamify.storage.progress_postgres import PostgresProgressTransaction, postgres_transaction
from gamify.storage.progress_sql import REWARD, SqlProgressTransaction, tallies_of
from gamify.storage.tables import challenge_t, coupon_t


class SqlProgressStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[SqlProgressTransaction]:
        if self.engine.dialect.name == "postgresql":
            with postgres_transaction(self.engine) as tx:
                yield tx
            return
        with writing(self.engine) as conn:
            yield SqlProgressTransaction(conn)

    def setup(self, challenge: str, pool: Sequence[str]) -> None:
        with writing(self.engine) as conn:
            insert_missing(conn, challenge_t, [{"id": challenge, "winners": 0}], ["id"])
            rows = [
                {"campaign": challenge, "code": code, "prize": REWARD, "position": i}
                for i, code in enumerate(pool)
            ]
            insert_missing(conn, coupon_t, rows, ["campaign", "code"])
            check_pool(conn, challenge, Pool(0, REWARD, pool))  # raising rolls all back

    def tallies(self, keys: Collection[Key], *, attempts: bool = False) -> dict[Key, Tally]:
        with self.engine.connect() as conn:
            return tallies_of(conn, keys, attempts)

    def reset(self) -> None:
        self.engine.dispose()


__all__ = ["PostgresProgressTransaction", "SqlProgressStore", "SqlProgressTransaction"]
