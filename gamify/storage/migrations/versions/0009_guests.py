"""Guests and consent (CONTRACT §13): the one link from a guest's email to the customer id they
play as, and the marketing consents given, with the hash and language of the text shown.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gamify_guest",
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identity"),
        sa.UniqueConstraint("id"),
    )
    op.create_table(
        "gamify_consent",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("guest", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ux_gamify_consent_given", "gamify_consent", ["campaign", "guest", "text_hash"], unique=True
    )
    op.create_index("ix_gamify_consent_guest", "gamify_consent", ["guest"])


def downgrade() -> None:
    op.drop_index("ix_gamify_consent_guest", table_name="gamify_consent")
    op.drop_index("ux_gamify_consent_given", table_name="gamify_consent")
    op.drop_table("gamify_consent")
    op.drop_table("gamify_guest")
