"""Index only the pool codes not given yet.

A play looks up its prize's next unused pool code, and checks that a new pattern code is not
taken. With one index over every coupon, a planner without statistics (a new table) could take
it for the second lookup and scan all of a campaign's coupons; an index of the unused codes
alone serves the first lookup, is useless to the second, and shrinks as codes are given.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UNUSED = sa.text("seq IS NULL")


def upgrade() -> None:
    op.drop_index("ix_gamify_coupon_pool", table_name="gamify_coupon")
    op.create_index(
        "ix_gamify_coupon_unused",
        "gamify_coupon",
        ["campaign", "prize", "position"],
        unique=False,
        postgresql_where=UNUSED,
        sqlite_where=UNUSED,
    )


def downgrade() -> None:
    op.drop_index("ix_gamify_coupon_unused", table_name="gamify_coupon")
    op.create_index(
        "ix_gamify_coupon_pool",
        "gamify_coupon",
        ["campaign", "prize", "seq", "position"],
        unique=False,
    )
