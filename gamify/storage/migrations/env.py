"""Alembic environment: runs on the connection gamify hands over, or on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import gamify.storage.tables  # noqa: F401  (registers the tables on the metadata)
from gamify.storage.database import make_engine

target_metadata = SQLModel.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        context.run_migrations()
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        context.run_migrations()


run()
