"""The :class:`~gamify.services.ports.AudienceStore` port in SQL: each campaign's recorded
holdout percent and the group of each customer it saw, recorded once (the primary keys decide
between workers: insert what is missing, then read what is there)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, select, tuple_

from gamify.core.holdout import Group
from gamify.services.ports import Assignment
from gamify.storage.database import insert_missing, writing
from gamify.storage.tables import assignment_t, holdout_t


def record_assignments(
    conn: Connection,
    assignments: Sequence[Assignment],
    percents: Mapping[str, int],
    *,
    read: bool = True,
) -> dict[tuple[str, str], Group]:
    """Insert the percents and assignments missing; with ``read``, the recorded groups."""
    if not assignments:
        return {}
    at = min(a.at for a in assignments)
    campaigns = sorted({a.campaign for a in assignments})
    insert_missing(
        conn,
        holdout_t,
        [{"campaign": c, "percent": percents.get(c, 0), "recorded_at": at} for c in campaigns],
        ["campaign"],
    )
    unique = {(a.campaign, a.customer): a for a in assignments}
    rows = [
        {
            "campaign": a.campaign,
            "customer": a.customer,
            "player": a.player,
            "grp": a.group,
            "assigned_at": a.at,
        }
        for _, a in sorted(unique.items())  # one order for every worker: no deadlock
    ]
    insert_missing(conn, assignment_t, rows, ["campaign", "customer"])
    if not read:
        return {}
    c = assignment_t.c
    found = conn.execute(
        select(c.campaign, c.customer, c.grp).where(
            tuple_(c.campaign, c.customer).in_(list(unique))
        )
    )
    return {(row.campaign, row.customer): row.grp for row in found}


class SqlAudience:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def assign(
        self, assignments: Sequence[Assignment], percents: Mapping[str, int]
    ) -> dict[tuple[str, str], Group]:
        with writing(self.engine) as conn:
            return record_assignments(conn, assignments, percents)

    def fix_holdout(self, campaign: str, percent: int, at: datetime) -> int:
        with writing(self.engine) as conn:
            row = {"campaign": campaign, "percent": percent, "recorded_at": at}
            insert_missing(conn, holdout_t, [row], ["campaign"])
            found = conn.execute(
                select(holdout_t.c.percent).where(holdout_t.c.campaign == campaign)
            ).scalar_one()
            return int(found)

    def holdouts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(holdout_t.c.campaign, holdout_t.c.percent))
            return {row.campaign: int(row.percent) for row in rows}
