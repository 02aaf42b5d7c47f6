"""``gamify demo``: a sample store with both games and a challenge, on SQLite, for newcomers.

:func:`create_demo_app` builds a Flask app with gamify mounted on a SQLite database in the
app's instance folder (``instance/gamify-demo`` under the current directory by default). Its
campaigns are a copy of ``examples/campaigns`` (or of the folder given) in that instance folder,
with their dates moved so that they are running today (:mod:`gamify.demo.dates`).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask

from gamify.demo.dates import copy_with_demo_dates
from gamify.demo.views import blueprint, gamify

#: The example campaigns of a source checkout (``pip install -e .``, ``make demo``).
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "campaigns"

__all__ = ["EXAMPLES", "create_demo_app", "default_instance_path"]


def default_instance_path() -> Path:
    return Path.cwd() / "instance" / "gamify-demo"


def create_demo_app(instance_path: Path | None = None, campaigns: Path | None = None) -> Flask:
    """The demo store. ``campaigns`` defaults to the repository's ``examples/campaigns``.

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
    secret = _secret(instance / "secret.key")
    app.config.update(
        SECRET_KEY=secret,
        GAMIFY_SECRET_KEY=secret,
        GAMIFY_CAMPAIGNS=str(instance / "campaigns"),
        SESSION_COOKIE_SAMESITE="Lax",  # the session carries the notices after a form
    )
    gamify.init_app(app)  # the database defaults to <instance>/gamify.sqlite3
    app.register_blueprint(blueprint)
    return app


def _secret(path: Path) -> str:
    """The demo's signing secret, kept in the instance folder across restarts.

    Customers' pseudonyms in the log are derived from it, so a new secret on every start would
    give everyone their plays back.
    """
    if path.is_file():
        kept = path.read_text(encoding="ascii").strip()
        if kept:
            return kept
    secret = secrets.token_hex(32)
    path.write_text(secret + "\n", encoding="ascii")
    path.chmod(0o600)
    return secret
