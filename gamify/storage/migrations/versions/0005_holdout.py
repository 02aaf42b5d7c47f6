"""Holdout groups: each campaign's recorded holdout percent, and the group each customer was
assigned the first time the campaign saw them (CONTRACT §11).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gamify_holdout",
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign"),
    )
    op.create_table(
        "gamify_assignment",
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("customer", sa.String(length=256), nullable=False),
        sa.Column("player", sa.String(length=64), nullable=False),
        sa.Column("grp", sa.String(length=16), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign", "customer"),
    )


def downgrade() -> None:
    op.drop_table("gamify_assignment")
    op.drop_table("gamify_holdout")
