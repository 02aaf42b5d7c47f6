"""The Flask extension: ``Gamify(app)`` or ``Gamify()`` + ``init_app(app)``.

Config is read once, at ``init_app``; everything the views need lives in
``app.extensions["gamify"]`` (a :class:`GamifyState`), never on the extension object, so one
``Gamify()`` can serve several apps and two apps in one process keep their own databases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_request_context, url_for
from markupsafe import Markup, escape

from gamify.cli.commands import FLASK_COMMANDS
from gamify.services.disclosure import read_organiser
from gamify.web import blueprint
from gamify.web.api_events import track
from gamify.web.log_key import log_signer
from gamify.web.state import DEFAULT_MAX_BODY, Settings, build_state, state


class Gamify:
    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
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
        config.setdefault("GAMIFY_SIGNING_KEY", None)
        config.setdefault("GAMIFY_LOG_HOST", config.get("SERVER_NAME"))
        config.setdefault("GAMIFY_AUTO_UPGRADE", True)
        config.setdefault("GAMIFY_ORGANISER", None)
        secret = config["GAMIFY_SECRET_KEY"] or app.secret_key
        if not secret:
            raise RuntimeError(
                "gamify needs a secret to sign customer tokens: set GAMIFY_SECRET_KEY "
                "(or the app's SECRET_KEY) in the app config"
            )
        try:
            organiser = read_organiser(config["GAMIFY_ORGANISER"])
        except ValueError as exc:
            raise RuntimeError(f"GAMIFY_ORGANISER: {exc}") from None
        prefix = "/" + str(config["GAMIFY_URL_PREFIX"]).strip("/")
        settings = Settings(
            url_prefix="" if prefix == "/" else prefix,
            allowed_origins=tuple(config["GAMIFY_ALLOWED_ORIGINS"]),
            admin_token=config["GAMIFY_ADMIN_TOKEN"],
            events_key=config["GAMIFY_EVENTS_KEY"],
            token_max_age=int(config["GAMIFY_TOKEN_MAX_AGE"]),
            max_body=int(config["GAMIFY_MAX_BODY"]),
            auto_upgrade=bool(config["GAMIFY_AUTO_UPGRADE"]),
            organiser=organiser,
        )
        app.extensions["gamify"] = build_state(
            database_url=config["GAMIFY_DATABASE_URL"],
            campaigns=Path(config["GAMIFY_CAMPAIGNS"]),
            secret=secret,
            settings=settings,
            start=False,  # the store starts even with its database away: the API answers 503
            signer=log_signer(
                config["GAMIFY_SIGNING_KEY"], Path(app.instance_path), config["GAMIFY_LOG_HOST"]
            ),
        )
        for command in FLASK_COMMANDS:  # `flask gamify …`: the same commands as `gamify …`
            blueprint.cli.add_command(command)
        app.register_blueprint(blueprint, url_prefix=settings.url_prefix or None)
        app.add_template_global(gamify_widget)

    def track(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Tell gamify what a customer did, from the app's own code (in an app context): the
        same event object as ``POST /api/events`` takes; its result (``accepted`` or
        ``duplicate``). Raises :class:`~gamify.core.events.InvalidEvents` with every mistake."""
        return track(state(), dict(event))[0]

    def track_many(self, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Up to 100 events at once, all or nothing, as a batch of ``POST /api/events``."""
        return track(state(), {"events": [dict(e) for e in events]})

    def customer_token(self, customer_id: str) -> str:
        """A signed token that lets ``customer_id`` (and only them) play, for the current app."""
        return state().tokens.sign(str(customer_id))


def gamify_widget(
    campaign_id: str,
    customer_id: str | int | None = None,
    lang: str | None = None,
    target: str | None = None,
    nonce: str | None = None,
    trigger: str | None = None,
    show: str | None = None,
) -> Markup:
    """``<script src="…/widget.js" data-campaign=… data-customer=<token> defer>``, escaped.

    The address follows the app's mount point (``SCRIPT_NAME``, ``APPLICATION_ROOT``) through
    ``url_for``. ``nonce`` is the page's Content-Security-Policy nonce, for stores whose
    ``script-src`` names nonces rather than ``'self'``; the loader hands it on to the game
    modules it loads. ``trigger`` (``"exit"``, ``"delay:SECONDS"``, ``"scroll:PERCENT"``) and
    ``show`` (``"always"``, ``"once"``, ``"daily"``) open the floating button's dialog by itself
    (``data-trigger``, ``data-show``; docs/widgets.md).
    """
    current = state()
    attrs = {"data-campaign": campaign_id}
    if customer_id is not None:
        attrs["data-customer"] = current.tokens.sign(str(customer_id))
    if lang:
        attrs["data-lang"] = lang
    if target:
        attrs["data-target"] = target
    if trigger:
        attrs["data-trigger"] = trigger
    if show:
        attrs["data-show"] = show
    if nonce:
        attrs["nonce"] = nonce
    rendered = " ".join(f'{name}="{escape(value)}"' for name, value in attrs.items())
    if has_request_context():
        src = url_for("gamify.widget_script")
    else:  # an e-mail or a page rendered outside a request: the configured mount point
        root = str(current_app.config.get("APPLICATION_ROOT") or "/").rstrip("/")
        src = f"{root}{current.settings.url_prefix}/widget.js"
    return Markup(f'<script src="{escape(src)}" {rendered} defer></script>')
