"""The :class:`~gamify.services.ports.EventLog` port in SQL: one insert for a whole batch, each
id stored at most once whatever the number of workers receiving it (the primary key decides,
``ON CONFLICT DO NOTHING``), the stored ids read back with ``RETURNING``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from gamify.core.events import Event
from gamify.storage.tables import event_t


class SqlEventLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, events: Sequence[Event], received_at: datetime) -> set[str]:
        if not events:
            return set()
        rows = [
            {
                "id": e.id,
                "type": e.type,
                "customer": e.customer,
                "occurred_at": e.occurred_at,
                "received_at": received_at,
                "order_id": e.order_id,
                "payload": e.payload_json(),
            }
            for e in events
        ]
        with self.engine.begin() as conn:
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            # Many parameter sets of one cached statement: SQLAlchemy sends them as one
            # multi-row INSERT … RETURNING ("insertmanyvalues"), compiled once per process.
            stored = conn.execute(
                insert(event_t)
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(event_t.c.id),
                rows,
            ).scalars()
            return set(stored)
