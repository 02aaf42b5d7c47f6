"""What the play transactions of both databases share: the statements' text, the parameters
of a write, the replay of a stored play, and the errors that let a play start over.

Every play of a campaign queues on the campaign lock, so the time between taking that lock and
releasing it bounds the plays per second of the whole campaign. SQLAlchemy stays in charge of the
pool and of everything else; the play path borrows a pooled driver connection and speaks SQL to
it directly (:mod:`gamify.storage.plays.postgres`, :mod:`gamify.storage.plays.sqlite`), because
building, compiling and wrapping statements per play cost more than the statements themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gamify.core.chain import PLAY_COLUMNS
from gamify.services.ports import PlayWrite

STATE = (
    "SELECT next_seq, head_hash, epoch, next_nonce, spent_total_cents, tree FROM gamify_campaign"
)
_REPLAYED_PLAY = (
    f"SELECT {', '.join(PLAY_COLUMNS)}, coupon FROM gamify_play "
    "WHERE campaign = %(campaign)s AND seq = %(seq)s"
)
_COMMITMENT = (
    "SELECT commitment FROM gamify_epoch WHERE campaign = %(campaign)s AND epoch = %(epoch)s"
)
INSERT_PLAY = (
    f"INSERT INTO gamify_play ({', '.join(PLAY_COLUMNS)}, coupon) "
    f"VALUES ({', '.join(f'%({c})s' for c in (*PLAY_COLUMNS, 'coupon'))})"
)


def update_state(tree: str) -> str:
    """The campaign's new head; ``tree`` is the dialect's expression of the frontier."""
    return (
        "UPDATE gamify_campaign SET next_seq = %(next_seq)s, head_hash = %(hash)s, "
        f"next_nonce = %(next_nonce)s, spent_total_cents = %(spent)s, tree = {tree} "
        "WHERE id = %(campaign)s"
    )


BUMP = "ON CONFLICT (campaign, scope) DO UPDATE SET value = gamify_counter.value + excluded.value"


def replayed(
    conn: Any, campaign: str, seq: int, sql: Callable[[str], str] = str
) -> tuple[dict[str, Any], str]:
    """The stored play ``seq`` (with its coupon) and its epoch's commitment, on either driver's
    connection (``sql`` turns the statements into its parameter style)."""
    found = conn.execute(sql(_REPLAYED_PLAY), {"campaign": campaign, "seq": seq}).fetchone()
    row = dict(zip([*PLAY_COLUMNS, "coupon"], found, strict=True))
    epoch = {"campaign": campaign, "epoch": row["epoch"]}
    commitment: str = conn.execute(sql(_COMMITMENT), epoch).fetchone()[0]
    return row, commitment


def db_time(text: str) -> datetime:
    """A timestamp as either driver's text gives it (PostgreSQL's with an offset, SQLite's
    without: UTC), aware."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def write_params(write: PlayWrite) -> dict[str, Any]:
    coupon = write.coupon
    assignment = write.assignment
    return {
        "assign_customer": assignment.customer if assignment else None,
        "assign_group": assignment.group if assignment else None,
        "assign_at": _utc_text(assignment.at) if assignment else None,
        **write.row,
        "next_seq": write.row["seq"] + 1,
        "next_nonce": write.next_nonce,
        "spent": write.spent_total_cents,
        "idem": write.idempotency_key,
        "code": coupon.code if coupon else None,
        "coupon_prize": coupon.prize if coupon else None,
        "pooled": coupon.pooled if coupon else None,
    }


def _utc_text(moment: datetime) -> str:
    """A time as both databases read it back for a timestamp column: UTC, no offset."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_assignment(at: str) -> str:
    """The customer's group, recorded with their play if the campaign had not recorded it yet;
    ``at`` is the dialect's expression of ``assign_at``."""
    return (
        "INSERT INTO gamify_assignment (campaign, customer, player, grp, assigned_at) "
        f"SELECT %(campaign)s, %(assign_customer)s, %(player)s, %(assign_group)s, {at} "
        "WHERE %(assign_customer)s IS NOT NULL ON CONFLICT (campaign, customer) DO NOTHING"
    )
