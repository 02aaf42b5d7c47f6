"""Loyalty (CONTRACT §10): each customer's running balance, lots and immutable ledger entries,
the inbox of what earns points and is not in the ledger yet, tier rewards given, redemptions
by Idempotency-Key, and the rewards' stock.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 07:00:00
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _utc(name: str, *, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "gamify_loyalty_account",
        sa.Column("customer", sa.String(length=256), nullable=False),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("pending", sa.BigInteger(), nullable=False),
        sa.Column("qualifying", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.String(length=64), nullable=True),
        _utc("tier_since", nullable=True),
        _utc("due_at", nullable=True),
        sa.PrimaryKeyConstraint("customer"),
    )
    op.create_table(
        "gamify_loyalty_lot",
        sa.Column("customer", sa.String(length=256), nullable=False),
        sa.Column("lot", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=160), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        _utc("earned_at", nullable=False),
        _utc("available_at", nullable=False),
        _utc("expires_at", nullable=True),
        sa.Column("matured", sa.Boolean(), nullable=False),
        sa.Column("order_id", sa.String(length=128), nullable=True),
        sa.Column("rate", sa.String(length=40), nullable=False),
        sa.Column("qualifies", sa.Boolean(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("customer", "lot"),
    )
    op.create_index(
        "ux_gamify_loyalty_lot_source", "gamify_loyalty_lot", ["customer", "source"], unique=True
    )
    op.create_index("ix_gamify_loyalty_lot_earned", "gamify_loyalty_lot", ["customer", "earned_at"])
    live = sa.text("remaining > 0 OR NOT matured")
    op.create_index(
        "ix_gamify_loyalty_lot_live",
        "gamify_loyalty_lot",
        ["customer", "expires_at"],
        postgresql_where=live,
        sqlite_where=live,
    )
    ordered = sa.text("order_id IS NOT NULL")
    op.create_index(
        "ix_gamify_loyalty_lot_order",
        "gamify_loyalty_lot",
        ["customer", "order_id"],
        postgresql_where=ordered,
        sqlite_where=ordered,
    )
    op.create_table(
        "gamify_loyalty_entry",
        sa.Column("customer", sa.String(length=256), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("lot", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=160), nullable=False),
        _utc("at", nullable=False),
        sa.Column("short", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("customer", "seq"),
    )
    op.create_table(
        "gamify_loyalty_inbox",
        sa.Column("customer", sa.String(length=256), nullable=False),
        sa.Column("source", sa.String(length=160), nullable=False),
        sa.PrimaryKeyConstraint("customer", "source"),
    )
    op.create_table(
        "gamify_loyalty_grant",
        sa.Column("customer", sa.String(length=256), nullable=False),
        sa.Column("level", sa.String(length=64), nullable=False),
        sa.Column("coupon", sa.String(length=128), nullable=True),
        _utc("at", nullable=False),
        sa.PrimaryKeyConstraint("customer", "level"),
    )
    op.create_table(
        "gamify_loyalty_redemption",
        sa.Column("customer", sa.String(length=256), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("reward", sa.String(length=64), nullable=False),
        sa.Column("coupon", sa.String(length=128), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        _utc("at", nullable=False),
        sa.PrimaryKeyConstraint("customer", "key"),
    )
    op.create_table(
        "gamify_loyalty_stock",
        sa.Column("reward", sa.String(length=64), nullable=False),
        sa.Column("given", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("reward"),
    )


def downgrade() -> None:
    for table in (
        "gamify_loyalty_stock",
        "gamify_loyalty_redemption",
        "gamify_loyalty_grant",
        "gamify_loyalty_inbox",
        "gamify_loyalty_entry",
        "gamify_loyalty_lot",
        "gamify_loyalty_account",
    ):
        op.drop_table(table)
