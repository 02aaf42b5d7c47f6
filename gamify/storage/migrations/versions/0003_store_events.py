"""Store events: the table every challenge, point and report stands on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

HAS_ORDER = sa.text("order_id IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "gamify_event",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=256), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_gamify_event_customer", "gamify_event", ["customer", "occurred_at"])
    op.create_index("ix_gamify_event_type", "gamify_event", ["type", "occurred_at"])
    op.create_index(
        "ix_gamify_event_order",
        "gamify_event",
        ["order_id"],
        postgresql_where=HAS_ORDER,
        sqlite_where=HAS_ORDER,
    )


def downgrade() -> None:
    op.drop_index("ix_gamify_event_order", table_name="gamify_event")
    op.drop_index("ix_gamify_event_type", table_name="gamify_event")
    op.drop_index("ix_gamify_event_customer", table_name="gamify_event")
    op.drop_table("gamify_event")
