"""The :class:`~gamify.services.ports.GuestStore` port in SQL: guests, their consents, erasure.

The primary keys decide between workers (insert what is missing, then read what is there), as
for holdout groups. Erasure runs in one transaction; on SQLite, deleted rows are overwritten
(``secure_delete``, :mod:`gamify.storage.database`) and the write-ahead log is checkpointed and
truncated after it, so the erased email is nowhere in the database's files.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, Table, select, text, update
from sqlmodel import SQLModel

from gamify.services.ports import Consent
from gamify.storage.database import dialect_insert, insert_missing, writing
from gamify.storage.tables import consent_t, guest_t

CUSTOMER_COLUMN = "customer"


class SqlGuests:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def guest_id(self, identity: str, new_id: str, email: str, at: datetime) -> str:
        row = {"identity": identity, "id": new_id, "email": email, "created_at": at}
        with writing(self.engine) as conn:
            insert_missing(conn, guest_t, [row], ["identity"])
            found = conn.execute(select(guest_t.c.id).where(guest_t.c.identity == identity))
            return str(found.scalar_one())

    def find_guest(self, identity: str) -> str | None:
        with self.engine.connect() as conn:
            found = conn.execute(select(guest_t.c.id).where(guest_t.c.identity == identity))
            value = found.scalar_one_or_none()
            return None if value is None else str(value)

    def add_consent(self, consent: Consent) -> bool:
        row = {
            "campaign": consent.campaign,
            "guest": consent.guest,
            "email": consent.email,
            "text_hash": consent.text_hash,
            "lang": consent.lang,
            "at": consent.at,
        }
        keys = ["campaign", "guest", "text_hash"]
        with writing(self.engine) as conn:
            insert = dialect_insert(conn)(consent_t).on_conflict_do_nothing(index_elements=keys)
            return bool(conn.execute(insert, row).rowcount)

    def consents(self, campaign: str, after: int, limit: int) -> list[tuple[int, Consent]]:
        c = consent_t.c
        query = (
            select(c.id, c.campaign, c.guest, c.email, c.text_hash, c.lang, c.at)
            .where(c.campaign == campaign, c.email.is_not(None), c.id > after)
            .order_by(c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                (
                    row.id,
                    Consent(row.campaign, row.guest, row.email, row.text_hash, row.lang, row.at),
                )
                for row in conn.execute(query)
            ]

    def forget_guest(self, guest: str) -> int:
        with writing(self.engine) as conn:
            gone = conn.execute(guest_t.delete().where(guest_t.c.id == guest)).rowcount
            cleared = conn.execute(
                update(consent_t).where(consent_t.c.guest == guest).values(guest=None, email=None)
            ).rowcount
        self._flush_erased()
        return int(gone) + int(cleared)

    def forget_customer(self, customer: str, stand_in: str) -> int:
        changed = 0
        with writing(self.engine) as conn:
            for table in _customer_tables():
                column = table.c[CUSTOMER_COLUMN]
                result = conn.execute(
                    update(table).where(column == customer).values({CUSTOMER_COLUMN: stand_in})
                )
                changed += int(result.rowcount)
        self._flush_erased()
        return changed

    def _flush_erased(self) -> None:
        """On SQLite, copy the write-ahead log into the file and empty it: the log still holds
        the pages as they were before the erasure. (PostgreSQL keeps dead row versions until
        VACUUM reuses their space: docs/guests.md says so.)"""
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def _customer_tables() -> list[Table]:
    """Every table with a customer id, found from the declared tables, so a table added later
    is erased too."""
    return [
        table
        for table in SQLModel.metadata.sorted_tables
        if CUSTOMER_COLUMN in table.c and table.name.startswith("gamify_")
    ]
