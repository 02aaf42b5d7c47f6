"""A host app for the race tests and the plays benchmark, served by gunicorn.

    GAMIFY_DATABASE_URL=… GAMIFY_CAMPAIGNS=… GAMIFY_SECRET_KEY=… \
        gunicorn -w 4 -k sync 'tests.apps.race_app:create_app()'

Besides gamify (mounted at its default prefix ``/gamify``) it has ``POST /bare``: one committed
insert of one row into a tiny table of the same database, through an engine made by
:func:`gamify.storage.database.make_engine` in a :func:`~gamify.storage.database.writing`
transaction (same pool, same SQLite pragmas, ``BEGIN IMMEDIATE`` as a play takes). That is
the floor a play cannot go below, and the baseline of ``bench/plays.py``. Each worker says
``race_app ready in process PID`` on stderr once its app is built, so a test can wait for all.
"""

from __future__ import annotations

import gc
import os
import sys
from datetime import UTC, datetime

from flask import Flask, jsonify
from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text

from gamify import Gamify
from gamify.storage.database import make_engine, writing

BARE_LOCK = 0x62617265  # "bare": serialises CREATE TABLE between workers on PostgreSQL

metadata = MetaData()
bare_insert = Table(
    "bare_insert",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Text, nullable=False),
)


def _bare_engine(url: str) -> Engine:
    engine = make_engine(url)
    with writing(engine) as conn:  # BEGIN IMMEDIATE on SQLite: one worker at a time
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({BARE_LOCK})")
        metadata.create_all(conn, checkfirst=True)
    return engine


def create_app() -> Flask:
    app = Flask(__name__)
    for key in ("GAMIFY_DATABASE_URL", "GAMIFY_CAMPAIGNS", "GAMIFY_SECRET_KEY"):
        if key not in os.environ:
            raise RuntimeError(f"tests.apps.race_app needs the environment variable {key}")
        app.config[key] = os.environ[key]
    if "GAMIFY_EVENTS_KEY" in os.environ:  # events open (bench/events.py)
        app.config["GAMIFY_EVENTS_KEY"] = os.environ["GAMIFY_EVENTS_KEY"]
    Gamify(app)
    engine = _bare_engine(app.config["GAMIFY_DATABASE_URL"])

    @app.post("/bare")
    def bare() -> tuple[object, int]:
        at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        with writing(engine) as conn:  # as a play: BEGIN IMMEDIATE on SQLite
            new_id = conn.execute(bare_insert.insert().values(at=at)).inserted_primary_key[0]
        return jsonify(id=new_id), 201

    if os.environ.get("RACE_APP_GC_FREEZE") == "1":  # bench/events.py --gc-freeze
        gc.freeze()  # as docs/integration.md's post_worker_init: the app is loaded by now
    print(f"race_app ready in process {os.getpid()}", file=sys.stderr, flush=True)
    return app
