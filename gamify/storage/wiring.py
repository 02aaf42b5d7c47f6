"""The use cases on a SQL database: the service with this package's adapters as its ports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from gamify.services.ports import Signer
from gamify.services.service import Service, utcnow
from gamify.storage.activity_queries import SqlActivity
from gamify.storage.audience import SqlAudience
from gamify.storage.campaign_log import SqlCampaignLog
from gamify.storage.guests_sql import SqlGuests
from gamify.storage.loyalty_store import SqlLoyaltyStore
from gamify.storage.plays.store import EnginePlays
from gamify.storage.progress_store import SqlProgressStore
from gamify.storage.report_queries import SqlReports


def sql_service(
    engine: Engine,
    secret: str | bytes,
    clock: Callable[[], datetime] = utcnow,
    signer: Signer | None = None,
) -> Service:
    return Service(
        EnginePlays(engine),
        SqlCampaignLog(engine),
        SqlProgressStore(engine),
        SqlAudience(engine),
        SqlReports(engine),
        SqlActivity(engine),
        SqlLoyaltyStore(engine),
        SqlGuests(engine),
        secret,
        clock,
        signer,
    )
