"""``gamify demo``: a sample store with both games and a challenge, on SQLite, for newcomers.

:func:`create_demo_app` builds a Flask app with gamify mounted on a SQLite database in the
app's instance folder (``instance/gamify-demo`` under the current directory by default). Its
campaigns are a copy of ``examples/campaigns`` (or of the folder given) in that instance folder,
with their dates moved so that they are running today (:mod:`gamify.demo.dates`).

On a new database the demo makes up a past for its wheel, which has a holdout group, so that
its report is filled from the first visit (:mod:`gamify.demo.history`). The report is an admin
page: the demo opens them with a token of its own (``GAMIFY_ADMIN_TOKEN``), kept in the instance
folder beside the secret and shown on the shop's pages, whose "Report" button signs in with it.
The demo is a playground on your own machine: anyone who can open its pages can open its admin
pages too.

The demo's own shoppers (:data:`~gamify.demo.shop.CUSTOMERS`, whom the page switches between)
always see the games: a new secret is drawn again until none of them falls in the holdout group
of a campaign. Any other customer id typed in the page may fall there, and then sees no wheel,
as a store's holdout customers do.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path

import yaml
from flask import Flask

from gamify.core.holdout import holdout_group
from gamify.demo.dates import copy_with_demo_dates
from gamify.demo.history import generate_history
from gamify.demo.shop import CUSTOMERS
from gamify.demo.views import blueprint, gamify
from gamify.web.state import state

log = logging.getLogger("gamify")

#: The example campaigns of a source checkout (``pip install -e .``, ``make demo``).
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "campaigns"

__all__ = ["EXAMPLES", "create_demo_app", "default_instance_path"]


def default_instance_path() -> Path:
    return Path.cwd() / "instance" / "gamify-demo"


def create_demo_app(
    instance_path: Path | None = None, campaigns: Path | None = None, *, history: bool = True
) -> Flask:
    """The demo store. ``campaigns`` defaults to the repository's ``examples/campaigns``.

    With ``history`` (the default), a new database gets the wheel's generated past first
    (:func:`~gamify.demo.history.generate_history`; about a second); without, it stays empty.

    Raises :class:`FileNotFoundError` when there is no such folder (an installed package
    without the examples): pass the folder of a checkout then.
    """
    source = campaigns if campaigns is not None else EXAMPLES
    if not source.is_dir():
        raise FileNotFoundError(
            f"no campaigns folder at {source}: run the demo from a gamify checkout, or pass "
            "--campaigns PATH (for example the examples/campaigns folder of the repository)"
        )
    instance = (instance_path or default_instance_path()).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    copy_with_demo_dates(source, instance / "campaigns")

    app = Flask(__name__, instance_path=str(instance))
    holdouts = _holdouts(instance / "campaigns")
    secret = _kept(instance / "secret.key", lambda: _treating_shoppers(holdouts))
    for campaign, customer in _held_out(secret, holdouts):  # a secret kept from an older demo
        log.warning(
            "gamify demo: the secret kept puts %s in the holdout group of %s: they do not see it",
            customer,
            campaign,
        )
    database = f"sqlite:///{instance / 'gamify.sqlite3'}"
    app.config.update(
        SECRET_KEY=secret,
        GAMIFY_SECRET_KEY=secret,
        GAMIFY_DATABASE_URL=database,
        GAMIFY_CAMPAIGNS=str(instance / "campaigns"),
        GAMIFY_ADMIN_TOKEN=_kept(instance / "admin.token", lambda: secrets.token_urlsafe(24)),
        SESSION_COOKIE_SAMESITE="Lax",  # the session carries the notices after a form
        # the terms pages name who runs the promotions: the demo's own, fictional, store
        GAMIFY_ORGANISER={
            "name": "Tienda Demo (a demonstration store of gamify, not a real business)",
            "address": "Calle de la Demostración 1, 28001 Madrid, Spain",
            "email": "promotions@demo.example",
        },
    )
    if history:  # before gamify opens the database, which sets the campaigns up today
        generate_history(database, instance / "campaigns", secret)
    gamify.init_app(app)
    app.register_blueprint(blueprint)
    _refused_holdouts(app, holdouts)
    return app


def _refused_holdouts(app: Flask, holdouts: dict[str, int]) -> None:
    """Say what to do when the database refused a campaign's holdout: a demo of an earlier
    version set the campaign up without one, and a holdout cannot change afterwards."""
    current = state(app)
    if not current.started:
        return
    recorded = current.service.audience.holdouts()
    for campaign, percent in holdouts.items():
        if recorded.get(campaign, percent) != percent:
            log.warning(
                "gamify demo: %s runs without its holdout in the database of an earlier demo, "
                "so the demo leaves it out; delete %s (make clean) to start the demo afresh",
                campaign,
                app.instance_path,
            )


def _kept(path: Path, new: Callable[[], str]) -> str:
    """A value of the demo kept in the instance folder across restarts, made at the first.

    The secret is one: customers' pseudonyms in the log are derived from it, so a new secret on
    every start would give everyone their plays back (and new groups).
    """
    if path.is_file():
        kept = path.read_text(encoding="ascii").strip()
        if kept:
            return kept
    value = new()
    path.write_text(value + "\n", encoding="ascii")
    path.chmod(0o600)
    return value


def _treating_shoppers(holdouts: dict[str, int]) -> str:
    """A new secret under which none of the demo's shoppers is held out of a campaign (each
    draw keeps all three with a chance of 0.9³ ≈ 0.73 for one campaign with a 10 % holdout)."""
    while True:
        secret = secrets.token_hex(32)
        if not _held_out(secret, holdouts):
            return secret


def _held_out(secret: str, holdouts: dict[str, int]) -> list[tuple[str, str]]:
    """The (campaign, shopper) pairs of the demo's shoppers in a holdout group."""
    key = secret.encode()
    return [
        (campaign, customer)
        for campaign, percent in holdouts.items()
        for customer in CUSTOMERS
        if holdout_group(key, campaign, customer, percent) == "holdout"
    ]


def _holdouts(folder: Path) -> dict[str, int]:
    """The holdout percent of each campaign file of ``folder`` that sets one (the registry
    says what is wrong with a file that cannot be read)."""
    found: dict[str, int] = {}
    for path in sorted(folder.glob("*.y*ml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if not isinstance(data, dict):
            continue
        campaign, percent = data.get("id"), data.get("holdout")
        if isinstance(campaign, str) and type(percent) is int and 0 < percent < 100:
            found[campaign] = percent
    return found
