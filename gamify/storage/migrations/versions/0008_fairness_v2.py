"""Fairness v2 (CONTRACT §12): each epoch's algorithm, each campaign's Merkle tree, and the
signed checkpoints of the tree.

The epochs there are were drawn with v1 and keep it until they close; the epochs opened from
now on draw with v2. The tree over the plays there are is built here, once, in seq order: its
complete subtree nodes, and its frontier in the campaign's row, from which each play appends.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gamify.core.canonical import canonical_json
from gamify.core.chain import PLAY_COLUMNS
from gamify.core.merkle import Frontier, leaf_hash

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_CHUNK = 5000


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
    with op.batch_alter_table("gamify_campaign") as batch:
        batch.add_column(sa.Column("tree", sa.LargeBinary(), nullable=True))
    nodes = op.create_table(
        "gamify_tree_node",
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("campaign", "level", "idx"),
    )
    _build_trees(nodes)
    op.create_table(
        "gamify_checkpoint",
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign", "size"),
    )


def _build_trees(nodes: sa.Table) -> None:
    """Every campaign's tree over its plays so far, in chunks of rows by seq."""
    conn = op.get_bind()
    campaigns = [row[0] for row in conn.execute(sa.text("SELECT id FROM gamify_campaign"))]
    columns = ", ".join(PLAY_COLUMNS)
    for campaign in campaigns:
        frontier = Frontier()
        while True:
            rows = conn.execute(
                sa.text(
                    f"SELECT {columns} FROM gamify_play WHERE campaign = :c AND seq >= :s "
                    "ORDER BY seq LIMIT :n"
                ),
                {"c": campaign, "s": frontier.size, "n": _CHUNK},
            ).all()
            if not rows:
                break
            made: list[dict[str, object]] = []
            for row in rows:
                leaf = leaf_hash(canonical_json(row._asdict()))  # the row as bundles have it
                made.extend(
                    {"campaign": campaign, "level": level, "idx": idx, "hash": digest}
                    for level, idx, digest in frontier.append(leaf)
                )
            conn.execute(nodes.insert(), made)
        conn.execute(
            sa.text("UPDATE gamify_campaign SET tree = :t WHERE id = :c"),
            {"t": frontier.to_bytes() if frontier.size else None, "c": campaign},
        )


def downgrade() -> None:
    op.drop_table("gamify_checkpoint")
    op.drop_table("gamify_tree_node")
    with op.batch_alter_table("gamify_campaign") as batch:
        batch.drop_column("tree")
    with op.batch_alter_table("gamify_epoch") as batch:
        batch.drop_column("algorithm")
