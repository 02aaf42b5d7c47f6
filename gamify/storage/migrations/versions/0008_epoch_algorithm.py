"""Each epoch's fairness algorithm (CONTRACT §12): the epochs there are were drawn with v1 and
keep it until they close; the epochs opened from now on draw with v2.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gamify_epoch") as batch:
        batch.add_column(
            sa.Column(
                "algorithm",
                sa.String(length=32),
                nullable=False,
                server_default="gamify-fairness-v1",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("gamify_epoch") as batch:
        batch.drop_column("algorithm")
