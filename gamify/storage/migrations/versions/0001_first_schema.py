"""The first schema: config versions, campaign state, epochs, the play chain, counters,
coupons and idempotency records.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 10:48:38.936324
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gamify_campaign",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("next_nonce", sa.BigInteger(), nullable=False),
        sa.Column("spent_total_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "gamify_config",
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign", "config_hash"),
    )
    op.create_table(
        "gamify_counter",
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=160), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campaign", "scope"),
    )
    op.create_table(
        "gamify_coupon",
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("prize", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("campaign", "code"),
    )
    op.create_index(
        "ix_gamify_coupon_pool",
        "gamify_coupon",
        ["campaign", "prize", "seq", "position"],
        unique=False,
    )
    op.create_table(
        "gamify_epoch",
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("server_seed", sa.String(length=64), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("campaign", "epoch"),
    )
    op.create_table(
        "gamify_idempotency",
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("player", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campaign", "player", "key"),
    )
    op.create_table(
        "gamify_play",
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("client_seed", sa.String(length=64), nullable=False),
        sa.Column("player", sa.String(length=64), nullable=False),
        sa.Column("drawn", sa.String(length=64), nullable=False),
        sa.Column("awarded", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("coupon", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("campaign", "seq"),
    )
    op.create_index("ix_gamify_play_player", "gamify_play", ["campaign", "player"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_gamify_play_player", table_name="gamify_play")
    op.drop_table("gamify_play")
    op.drop_table("gamify_idempotency")
    op.drop_table("gamify_epoch")
    op.drop_index("ix_gamify_coupon_pool", table_name="gamify_coupon")
    op.drop_table("gamify_coupon")
    op.drop_table("gamify_counter")
    op.drop_table("gamify_config")
    op.drop_table("gamify_campaign")
