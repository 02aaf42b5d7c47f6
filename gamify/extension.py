"""The Flask extension: ``Gamify(app)`` or ``Gamify()`` + ``init_app(app)``.

Config is read once, at ``init_app``; everything the views need lives in
``app.extensions["gamify"]`` (a :class:`GamifyState`), never on the extension object, so one
``Gamify()`` can serve several apps and two apps in one process keep their own databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from markupsafe import Markup, escape
from sqlalchemy import Engine

from gamify.registry import Registry
from gamify.service import Service
from gamify.storage.database import make_engine, upgrade
from gamify.tokens import CustomerTokens

DEFAULT_MAX_BODY = 16 * 1024


@dataclass(frozen=True)
class Settings:
    url_prefix: str = "/gamify"
    allowed_origins: tuple[str, ...] = ()
    admin_token: str | None = None
    events_key: str | None = None
    token_max_age: int = 86400
    max_body: int = DEFAULT_MAX_BODY


@dataclass
class GamifyState:
    settings: Settings
    engine: Engine
    service: Service
    registry: Registry
    tokens: CustomerTokens


def build_state(
    *,
    database_url: str,
    campaigns: Path,
    secret: str | bytes,
    settings: Settings | None = None,
    reload_interval: float = 3.0,
) -> GamifyState:
    """Engine, schema (created when the database is empty), service and loaded campaigns."""
    settings = settings or Settings()
    engine = make_engine(database_url)
    upgrade(engine)
    service = Service(engine, secret)
    registry = Registry(campaigns, on_load=service.sync, interval=reload_interval)
    registry.reload()
    tokens = CustomerTokens(secret, settings.token_max_age)
    return GamifyState(settings, engine, service, registry, tokens)


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
        )
        app.extensions["gamify"] = build_state(
            database_url=config["GAMIFY_DATABASE_URL"],
            campaigns=Path(config["GAMIFY_CAMPAIGNS"]),
            secret=secret,
            settings=settings,
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
    customer_id: str | None = None,
    lang: str | None = None,
    target: str | None = None,
) -> Markup:
    """``<script src="…/widget.js" data-campaign=… data-customer=<token> defer>``, escaped."""
    current = state()
    attrs = {"data-campaign": campaign_id}
    if customer_id is not None:
        attrs["data-customer"] = current.tokens.sign(str(customer_id))
    if lang:
        attrs["data-lang"] = lang
    if target:
        attrs["data-target"] = target
    rendered = " ".join(f'{name}="{escape(value)}"' for name, value in attrs.items())
    src = escape(f"{current.settings.url_prefix}/widget.js")
    return Markup(f'<script src="{src}" {rendered} defer></script>')
