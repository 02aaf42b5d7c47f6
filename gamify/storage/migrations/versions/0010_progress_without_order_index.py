"""gamify_progress without its order index: what an order gave is found through the order's
earlier events (their customer) and the primary key, so an event's contributions are written
to one index, not two. Only an order with earlier events (a refund, a second paid event) looks,
and a new order, the common case, finds none in the events' order index it probes already.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

HAS_ORDER = sa.text("order_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_gamify_progress_order", table_name="gamify_progress")


def downgrade() -> None:
    op.create_index(
        "ix_gamify_progress_order",
        "gamify_progress",
        ["order_id"],
        postgresql_where=HAS_ORDER,
        sqlite_where=HAS_ORDER,
    )
