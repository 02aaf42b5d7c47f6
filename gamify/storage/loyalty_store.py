"""The points ledger on SQLite and PostgreSQL (:class:`~gamify.services.ports.LoyaltyStore`):
a transaction per request, with the adapter of its database, and the reads that need no lock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine, exists, select

from gamify.core.points import Entry, Lot
from gamify.services.ports import Account
from gamify.storage.database import insert_missing, writing
from gamify.storage.loyalty_postgres import postgres_transaction
from gamify.storage.loyalty_sql import (
    LIVE,
    SqlLoyaltyTransaction,
    account_of,
    aware,
    entry_of,
    lot_of,
)
from gamify.storage.tables import account_t, coupon_t, inbox_t, ledger_t, lot_t


class SqlLoyaltyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[SqlLoyaltyTransaction]:
        if self.engine.dialect.name == "postgresql":
            with postgres_transaction(self.engine) as tx:
                yield tx
            return
        with writing(self.engine) as conn:
            yield SqlLoyaltyTransaction(conn)

    def reset(self) -> None:
        self.engine.dispose()

    def account(self, customer: str) -> Account | None:
        waiting = exists().where(inbox_t.c.customer == customer)
        query = select(account_t, waiting.label("waiting")).where(account_t.c.customer == customer)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
            if row is None:
                if conn.execute(select(waiting)).scalar():
                    return Account(customer, waiting=True)
                return None
        return account_of(row, bool(row.waiting))

    def expiring(self, customer: str, limit: int) -> list[tuple[int, datetime]]:
        query = (
            select(lot_t.c.remaining, lot_t.c.expires_at)
            .where(
                lot_t.c.customer == customer,
                LIVE,
                lot_t.c.remaining > 0,
                lot_t.c.expires_at.is_not(None),
            )
            .order_by(lot_t.c.expires_at)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(int(r.remaining), aware(r.expires_at)) for r in conn.execute(query)]  # type: ignore[misc]

    def history(self, customer: str) -> tuple[list[Entry], list[Lot]]:
        with self.engine.connect() as conn:
            entries = conn.execute(
                select(ledger_t).where(ledger_t.c.customer == customer).order_by(ledger_t.c.seq)
            )
            lots = conn.execute(
                select(lot_t).where(lot_t.c.customer == customer).order_by(lot_t.c.lot)
            )
            return [entry_of(r) for r in entries], [lot_of(r) for r in lots]

    def customers(self, due_before: datetime | None = None) -> list[str]:
        accounts = select(account_t.c.customer)
        if due_before is not None:
            accounts = accounts.where(account_t.c.due_at <= due_before)
        waiting = select(inbox_t.c.customer).distinct()
        query = accounts.union(waiting)
        with self.engine.connect() as conn:
            return sorted(str(c) for c in conn.execute(query).scalars())

    def load_pool(self, owner: str, prize: str, codes: Sequence[str]) -> None:
        rows = [
            {"campaign": owner, "code": code, "prize": prize, "position": i, "seq": None}
            for i, code in enumerate(codes)
        ]
        with writing(self.engine) as conn:
            insert_missing(conn, coupon_t, rows, ["campaign", "code"])

    def repair(self, account: Account, lots: Collection[Lot]) -> None:
        with writing(self.engine) as conn:
            tx = SqlLoyaltyTransaction(conn)
            tx.account(account.customer)
            tx.write(account, (), lots)
