"""The Flask extension: ``Gamify(app)`` or ``Gamify()`` + ``init_app(app)``.

Config is read once, at ``init_app``; everything the views need lives in
``app.extensions["gamify"]`` (a :class:`GamifyState`), never on the extension object, so one
``Gamify()`` can serve several apps and two apps in one process keep their own databases.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_request_context, url_for
from markupsafe import Markup, escape
from sqlalchemy import Engine

from gamify.registry import Registry
from gamify.service import Service
from gamify.storage.database import (
    SchemaBehind,
    database_unavailable,
    make_engine,
    require_current_schema,
    upgrade,
)
from gamify.tokens import CustomerTokens

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


@dataclass
class GamifyState:
    settings: Settings
    engine: Engine
    service: Service
    registry: Registry
    tokens: CustomerTokens
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
) -> GamifyState:
    """Engine, service, tokens and campaigns; with ``start`` (the default) the schema is
    brought up to date and the campaigns loaded now, raising what stops it. Without, the
    first request that needs the database does it (:meth:`GamifyState.ready`)."""
    settings = settings or Settings()
    engine = make_engine(database_url)
    service = Service(engine, secret)
    registry = Registry(campaigns, on_load=service.sync, interval=reload_interval)
    tokens = CustomerTokens(secret, settings.token_max_age)
    current = GamifyState(settings, engine, service, registry, tokens)
    if start:
        current.start()
    else:
        current.ready()
    return current


class Gamify:
    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        from gamify.cli import FLASK_COMMANDS
        from gamify.web import blueprint

        config = app.config
        config.setdefault("GAMIFY_SECRET_KEY", None)
        config.setdefault(
            "GAMIFY_DATABASE_URL", f"sqlite:///{Path(app.instance_path) / 'gamify.sqlite3'}"
        )
        config.setdefault("GAMIFY_CAMPAIGNS", str(Path(app.root_path) / "campaigns"))
        config.setdefault("GAMIFY_URL_PREFIX", "/gamify")
        config.setdefault("GAMIFY_ALLOWED_ORIGINS", [])
        config.setdefault("GAMIFY_ADMIN_TOKEN", None)
        config.setdefault("GAMIFY_EVENTS_KEY", None)
        config.setdefault("GAMIFY_TOKEN_MAX_AGE", 86400)
        config.setdefault("GAMIFY_MAX_BODY", DEFAULT_MAX_BODY)
        config.setdefault("GAMIFY_AUTO_UPGRADE", True)
        secret = config["GAMIFY_SECRET_KEY"] or app.secret_key
        if not secret:
            raise RuntimeError(
                "gamify needs a secret to sign customer tokens: set GAMIFY_SECRET_KEY "
                "(or the app's SECRET_KEY) in the app config"
            )
        prefix = "/" + str(config["GAMIFY_URL_PREFIX"]).strip("/")
        settings = Settings(
            url_prefix="" if prefix == "/" else prefix,
            allowed_origins=tuple(config["GAMIFY_ALLOWED_ORIGINS"]),
            admin_token=config["GAMIFY_ADMIN_TOKEN"],
            events_key=config["GAMIFY_EVENTS_KEY"],
            token_max_age=int(config["GAMIFY_TOKEN_MAX_AGE"]),
            max_body=int(config["GAMIFY_MAX_BODY"]),
            auto_upgrade=bool(config["GAMIFY_AUTO_UPGRADE"]),
        )
        app.extensions["gamify"] = build_state(
            database_url=config["GAMIFY_DATABASE_URL"],
            campaigns=Path(config["GAMIFY_CAMPAIGNS"]),
            secret=secret,
            settings=settings,
            start=False,  # the store starts even with its database away: the API answers 503
        )
        for command in FLASK_COMMANDS:  # `flask gamify …`: the same commands as `gamify …`
            blueprint.cli.add_command(command)
        app.register_blueprint(blueprint, url_prefix=settings.url_prefix or None)
        app.add_template_global(gamify_widget)

    def customer_token(self, customer_id: str) -> str:
        """A signed token that lets ``customer_id`` (and only them) play, for the current app."""
        return state().tokens.sign(str(customer_id))


def state(app: Flask | None = None) -> GamifyState:
    extensions: dict[str, Any] = (app or current_app).extensions
    found: GamifyState = extensions["gamify"]
    return found


def gamify_widget(
    campaign_id: str,
    customer_id: str | int | None = None,
    lang: str | None = None,
    target: str | None = None,
    nonce: str | None = None,
) -> Markup:
    """``<script src="…/widget.js" data-campaign=… data-customer=<token> defer>``, escaped.

    The address follows the app's mount point (``SCRIPT_NAME``, ``APPLICATION_ROOT``) through
    ``url_for``. ``nonce`` is the page's Content-Security-Policy nonce, for stores whose
    ``script-src`` names nonces rather than ``'self'``; the loader hands it on to the game
    modules it loads.
    """
    current = state()
    attrs = {"data-campaign": campaign_id}
    if customer_id is not None:
        attrs["data-customer"] = current.tokens.sign(str(customer_id))
    if lang:
        attrs["data-lang"] = lang
    if target:
        attrs["data-target"] = target
    if nonce:
        attrs["nonce"] = nonce
    rendered = " ".join(f'{name}="{escape(value)}"' for name, value in attrs.items())
    if has_request_context():
        src = url_for("gamify.widget_script")
    else:  # an e-mail or a page rendered outside a request: the configured mount point
        root = str(current_app.config.get("APPLICATION_ROOT") or "/").rstrip("/")
        src = f"{root}{current.settings.url_prefix}/widget.js"
    return Markup(f'<script src="{escape(src)}" {rendered} defer></script>')
