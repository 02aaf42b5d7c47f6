"""What gamify keeps for one app (``app.extensions["gamify"]``): settings, engine, service,
campaigns, tokens, and whether it has started; built here for the extension and the CLI alike."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine

from gamify.campaigns.registry import Registry
from gamify.services.disclosure import Organiser
from gamify.services.ports import Signer
from gamify.services.service import Service, utcnow
from gamify.storage.database import (
    SchemaBehind,
    database_unavailable,
    make_engine,
    require_current_schema,
    upgrade,
)
from gamify.storage.wiring import sql_service
from gamify.web.admin_access import AdminAccess, Failures
from gamify.web.tokens import CustomerTokens

DEFAULT_MAX_BODY = 16 * 1024
RETRY_START_EVERY = 1.0  # seconds between attempts to start while the database is away

log = logging.getLogger("gamify")


@dataclass(frozen=True)
class Settings:
    url_prefix: str = "/gamify"
    allowed_origins: tuple[str, ...] = ()
    admin_token: str | None = None
    events_key: str | None = None
    token_max_age: int = 86400
    max_body: int = DEFAULT_MAX_BODY
    auto_upgrade: bool = True
    organiser: Organiser | None = None  # GAMIFY_ORGANISER: named on every terms page


@dataclass
class GamifyState:
    settings: Settings
    engine: Engine
    service: Service
    registry: Registry
    tokens: CustomerTokens
    admin: AdminAccess | None = None  # None: the admin pages are closed
    started: bool = False
    retry_every: float = RETRY_START_EVERY
    _tried_at: float = field(default=float("-inf"), repr=False)
    _start_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self) -> None:
        """Bring the schema up to date (or check it is, with ``GAMIFY_AUTO_UPGRADE`` off) and
        load the campaigns; raises what stopped it (the database down, the schema behind)."""
        with self._start_lock:
            if self.started:
                return
            if self.settings.auto_upgrade:
                upgrade(self.engine)
            else:
                require_current_schema(self.engine)
            self.registry.reload()
            self.started = True

    def ready(self) -> bool:
        """Whether the API can serve: started, or starting now. While the database is away (or
        its schema behind) a store's pages keep working and the API answers 503; this tries
        again at most every :attr:`retry_every` seconds, so a returning database is picked up
        by the next request after it."""
        if self.started:
            return True
        now = time.monotonic()
        if now - self._tried_at < self.retry_every:
            return False
        self._tried_at = now
        try:
            self.start()
        except SchemaBehind as exc:
            log.error("gamify: %s", exc)
            return False
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("gamify: the database is not available yet: %s", exc)
            return False
        return True


def build_state(
    *,
    database_url: str,
    campaigns: Path,
    secret: str | bytes,
    settings: Settings | None = None,
    reload_interval: float = 3.0,
    start: bool = True,
    clock: Callable[[], datetime] = utcnow,
    signer: Signer | None = None,
) -> GamifyState:
    """Engine, service, tokens and campaigns; with ``start`` (the default) the schema is
    brought up to date and the campaigns loaded now, raising what stops it. Without, the
    first request that needs the database does it (:meth:`GamifyState.ready`)."""
    settings = settings or Settings()
    engine = make_engine(database_url)
    service = sql_service(engine, secret, clock, signer)
    registry = Registry(
        campaigns,
        on_load=service.load,
        interval=reload_interval,
        on_loyalty=service.sync_loyalty,
    )
    tokens = CustomerTokens(secret, settings.token_max_age)
    admin = None
    if settings.admin_token:
        path = f"{settings.url_prefix}/admin"
        admin = AdminAccess(settings.admin_token, secret, path, Failures())
    current = GamifyState(settings, engine, service, registry, tokens, admin)
    if start:
        current.start()
    else:
        current.ready()
    return current


def state(app: Flask | None = None) -> GamifyState:
    extensions: dict[str, Any] = (app or current_app).extensions
    found: GamifyState = extensions["gamify"]
    return found
