"""Challenges: the rewards each has given, what events gave each customer's windows, completed
windows, quiz attempts, and points.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:30:00
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

HAS_ORDER = sa.text("order_id IS NOT NULL")


def _utc(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "gamify_challenge",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("winners", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    window_key = ("challenge", "customer", "window")
    op.create_table(
        "gamify_progress",
        sa.Column("challenge", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=256), nullable=False),
        sa.Column("window", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=160), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("period", sa.String(length=16), nullable=True),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        _utc("at"),
        sa.PrimaryKeyConstraint(*window_key, "step", "source"),
    )
    op.create_index(
        "ix_gamify_progress_order",
        "gamify_progress",
        ["order_id"],
        postgresql_where=HAS_ORDER,
        sqlite_where=HAS_ORDER,
    )
    op.create_table(
        "gamify_challenge_entry",
        sa.Column("challenge", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=256), nullable=False),
        sa.Column("window", sa.String(length=16), nullable=False),
        _utc("completed_at"),
        sa.Column("ordinal", sa.BigInteger(), nullable=True),
        sa.Column("coupon", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint(*window_key),
    )
    op.create_table(
        "gamify_quiz_attempt",
        sa.Column("challenge", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=256), nullable=False),
        sa.Column("window", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        _utc("at"),
        sa.PrimaryKeyConstraint(*window_key, "step", "attempt"),
    )
    op.create_table(
        "gamify_points",
        sa.Column("customer", sa.String(length=256), nullable=False),
        sa.Column("source", sa.String(length=160), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        _utc("at"),
        sa.PrimaryKeyConstraint("customer", "source"),
    )
    op.create_index("ix_gamify_points_customer", "gamify_points", ["customer", "at"])


def downgrade() -> None:
    op.drop_index("ix_gamify_points_customer", table_name="gamify_points")
    op.drop_table("gamify_points")
    op.drop_table("gamify_quiz_attempt")
    op.drop_table("gamify_challenge_entry")
    op.drop_index("ix_gamify_progress_order", table_name="gamify_progress")
    op.drop_table("gamify_progress")
    op.drop_table("gamify_challenge")
