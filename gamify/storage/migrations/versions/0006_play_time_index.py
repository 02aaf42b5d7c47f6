"""An index on each campaign's plays by time, for the admin pages: plays today and plays per
day are range reads of it, not scans of every play the campaign ever had.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_gamify_play_at", "gamify_play", ["campaign", "at"])


def downgrade() -> None:
    op.drop_index("ix_gamify_play_at", table_name="gamify_play")
