"""The tables. Plays are the chain itself; everything else is bookkeeping a play locks and reads.

Money is kept in hundredths (``*_cents``) so budget sums are exact integers in every database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    text,
)
from sqlmodel import Field, SQLModel

from gamify.core.fairness import V2

ZERO_HASH = "0" * 64


def _utc(*, nullable: bool) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class ConfigVersion(SQLModel, table=True):
    """Every config version a campaign ever had, so old plays stay verifiable."""

    __tablename__ = "gamify_config"
    campaign: str = Field(primary_key=True, max_length=64)
    config_hash: str = Field(primary_key=True, max_length=64)
    config: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_utc(nullable=False))


class CampaignState(SQLModel, table=True):
    """One row per campaign; every play takes its row lock, which orders seq and nonces."""

    __tablename__ = "gamify_campaign"
    id: str = Field(primary_key=True, max_length=64)
    next_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    head_hash: str = Field(default=ZERO_HASH, max_length=64)
    epoch: int = 0
    next_nonce: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    spent_total_cents: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, default=0)
    )
    # The Merkle tree's frontier over the next_seq plays (gamify.core.merkle.Frontier.to_bytes):
    # a play appends its leaf from it without reading the node table. NULL: no play yet.
    tree: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class TreeNode(SQLModel, table=True):
    """A complete subtree of a campaign's Merkle tree (CONTRACT §12): node (level, idx) hashes
    the plays [idx * 2**level, (idx + 1) * 2**level). Written once, by the play that completes
    it; a proof at any size reads O(log n) of them."""

    __tablename__ = "gamify_tree_node"
    campaign: str = Field(primary_key=True, max_length=64)
    level: int = Field(primary_key=True, sa_type=SmallInteger)
    idx: int = Field(sa_column_kwargs={"primary_key": True}, sa_type=BigInteger)
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CheckpointRow(SQLModel, table=True):
    """Every signed checkpoint of a campaign's log (CONTRACT §12), by tree size."""

    __tablename__ = "gamify_checkpoint"
    campaign: str = Field(primary_key=True, max_length=64)
    size: int = Field(sa_column_kwargs={"primary_key": True}, sa_type=BigInteger)
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=_utc(nullable=False))


class EpochRow(SQLModel, table=True):
    __tablename__ = "gamify_epoch"
    campaign: str = Field(primary_key=True, max_length=64)
    epoch: int = Field(primary_key=True)
    server_seed: str = Field(max_length=64)
    commitment: str = Field(max_length=64)
    opened_at: datetime = Field(sa_column=_utc(nullable=False))
    revealed_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    # The epochs a database had before fairness v2 drew with v1 (CONTRACT §12).
    algorithm: str = Field(
        default=V2, max_length=32, sa_column_kwargs={"server_default": "gamify-fairness-v1"}
    )


class PlayRow(SQLModel, table=True):
    """A row of the hash chain (CONTRACT §5), plus the coupon given with it."""

    __tablename__ = "gamify_play"
    __table_args__ = (
        Index("ix_gamify_play_player", "campaign", "player"),
        Index("ix_gamify_play_at", "campaign", "at"),  # the admin pages' plays by day
    )
    campaign: str = Field(primary_key=True, max_length=64)
    seq: int = Field(sa_column_kwargs={"primary_key": True}, sa_type=BigInteger)
    epoch: int
    nonce: int = Field(sa_type=BigInteger)
    client_seed: str = Field(max_length=64)
    player: str = Field(max_length=64)
    drawn: str = Field(max_length=64)
    awarded: str = Field(max_length=64)
    at: str = Field(max_length=40)
    config_hash: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    coupon: str | None = Field(default=None, max_length=128)


class CounterRow(SQLModel, table=True):
    """Counts a play checks and bumps: plays per customer and period, awards per prize, spend."""

    __tablename__ = "gamify_counter"
    campaign: str = Field(primary_key=True, max_length=64)
    scope: str = Field(primary_key=True, max_length=160)
    value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class CouponRow(SQLModel, table=True):
    """Codes given (pattern) or to give (pool, ``seq`` null until given); unique per campaign."""

    __tablename__ = "gamify_coupon"
    __table_args__ = (
        Index(
            "ix_gamify_coupon_unused",
            "campaign",
            "prize",
            "position",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )
    campaign: str = Field(primary_key=True, max_length=64)
    code: str = Field(primary_key=True, max_length=128)
    prize: str = Field(max_length=64)
    position: int | None = None
    seq: int | None = Field(default=None, sa_type=BigInteger)


class IdempotencyRow(SQLModel, table=True):
    __tablename__ = "gamify_idempotency"
    campaign: str = Field(primary_key=True, max_length=64)
    player: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=128)
    seq: int = Field(sa_type=BigInteger)


# The tables as SQLAlchemy Core sees them, for the statements the adapters build.
campaign_t: Table = CampaignState.__table__  # type: ignore[attr-defined]
config_t: Table = ConfigVersion.__table__  # type: ignore[attr-defined]
counter_t: Table = CounterRow.__table__  # type: ignore[attr-defined]
coupon_t: Table = CouponRow.__table__  # type: ignore[attr-defined]
epoch_t: Table = EpochRow.__table__  # type: ignore[attr-defined]
idem_t: Table = IdempotencyRow.__table__  # type: ignore[attr-defined]
play_t: Table = PlayRow.__table__  # type: ignore[attr-defined]
tree_t: Table = TreeNode.__table__  # type: ignore[attr-defined]
checkpoint_t: Table = CheckpointRow.__table__  # type: ignore[attr-defined]


class EventRow(SQLModel, table=True):
    """A store event (CONTRACT §8), kept as it was accepted: events are never changed.

    The indexes serve what reads events: a customer's events in a window (challenges, reports),
    one type in a window (reports), and an order's events (a refund finds what its order gave).
    """

    __tablename__ = "gamify_event"
    __table_args__ = (
        Index("ix_gamify_event_customer", "customer", "occurred_at"),
        Index("ix_gamify_event_type", "type", "occurred_at"),
        Index(
            "ix_gamify_event_order",
            "order_id",
            postgresql_where=text("order_id IS NOT NULL"),
            sqlite_where=text("order_id IS NOT NULL"),
        ),
    )
    id: str = Field(primary_key=True, max_length=128)
    type: str = Field(max_length=64)
    customer: str = Field(max_length=256)
    occurred_at: datetime = Field(sa_column=_utc(nullable=False))
    received_at: datetime = Field(sa_column=_utc(nullable=False))
    order_id: str | None = Field(default=None, max_length=128)
    payload: str = Field(sa_column=Column(Text, nullable=False))


event_t: Table = EventRow.__table__  # type: ignore[attr-defined]


class ChallengeRow(SQLModel, table=True):
    """One row per challenge: its rewards given so far, which ``winners_max`` caps (a
    completion takes this row's lock to count itself)."""

    __tablename__ = "gamify_challenge"
    id: str = Field(primary_key=True, max_length=64)
    winners: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class ProgressRow(SQLModel, table=True):
    """What one event (or passed quiz) gave one step of a customer's window of a challenge.

    ``units`` is what it gave (ten-thousandths), ``refunded`` what refunds of its order took
    back since. The primary key serves a customer's windows, and refunds too: what an order
    gave is found through the customers of its events (no second index to write at every
    event).
    """

    __tablename__ = "gamify_progress"
    challenge: str = Field(primary_key=True, max_length=64)
    customer: str = Field(primary_key=True, max_length=256)
    window: str = Field(primary_key=True, max_length=16)
    step: str = Field(primary_key=True, max_length=64)
    source: str = Field(primary_key=True, max_length=160)
    order_id: str | None = Field(default=None, max_length=128)
    period: str | None = Field(default=None, max_length=16)
    units: int = Field(sa_column=Column(BigInteger, nullable=False))
    refunded: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    at: datetime = Field(sa_column=_utc(nullable=False))


class EntryRow(SQLModel, table=True):
    """A completed window: whether it was rewarded (``ordinal``: the reward's number), and the
    coupon it got."""

    __tablename__ = "gamify_challenge_entry"
    challenge: str = Field(primary_key=True, max_length=64)
    customer: str = Field(primary_key=True, max_length=256)
    window: str = Field(primary_key=True, max_length=16)
    completed_at: datetime = Field(sa_column=_utc(nullable=False))
    ordinal: int | None = Field(default=None, sa_type=BigInteger)
    coupon: str | None = Field(default=None, max_length=128)


class QuizAttemptRow(SQLModel, table=True):
    __tablename__ = "gamify_quiz_attempt"
    challenge: str = Field(primary_key=True, max_length=64)
    customer: str = Field(primary_key=True, max_length=256)
    window: str = Field(primary_key=True, max_length=16)
    step: str = Field(primary_key=True, max_length=64)
    attempt: int = Field(primary_key=True)
    correct: int
    passed: bool
    at: datetime = Field(sa_column=_utc(nullable=False))


class PointsRow(SQLModel, table=True):
    """Points credited to a customer, once per source (a challenge's window); the loyalty
    programme spends them."""

    __tablename__ = "gamify_points"
    __table_args__ = (Index("ix_gamify_points_customer", "customer", "at"),)
    customer: str = Field(primary_key=True, max_length=256)
    source: str = Field(primary_key=True, max_length=160)
    points: int = Field(sa_column=Column(BigInteger, nullable=False))
    at: datetime = Field(sa_column=_utc(nullable=False))


class HoldoutRow(SQLModel, table=True):
    """A campaign's holdout percent, recorded with its first assignment: from then on a file
    changing it is refused (it would break the comparison the report makes)."""

    __tablename__ = "gamify_holdout"
    campaign: str = Field(primary_key=True, max_length=64)
    percent: int
    recorded_at: datetime = Field(sa_column=_utc(nullable=False))


class AssignmentRow(SQLModel, table=True):
    """The group (``treatment`` or ``holdout``) of a customer in a campaign, recorded the first
    time the campaign saw them, with their pseudonym in its plays (prizes by group)."""

    __tablename__ = "gamify_assignment"
    campaign: str = Field(primary_key=True, max_length=64)
    customer: str = Field(primary_key=True, max_length=256)
    player: str = Field(max_length=64)
    grp: str = Field(max_length=16)
    assigned_at: datetime = Field(sa_column=_utc(nullable=False))


challenge_t: Table = ChallengeRow.__table__  # type: ignore[attr-defined]
progress_t: Table = ProgressRow.__table__  # type: ignore[attr-defined]
entry_t: Table = EntryRow.__table__  # type: ignore[attr-defined]
attempt_t: Table = QuizAttemptRow.__table__  # type: ignore[attr-defined]
points_t: Table = PointsRow.__table__  # type: ignore[attr-defined]
holdout_t: Table = HoldoutRow.__table__  # type: ignore[attr-defined]
assignment_t: Table = AssignmentRow.__table__  # type: ignore[attr-defined]


# -- loyalty (CONTRACT §10) ----------------------------------------------------------------------


class LoyaltyAccountRow(SQLModel, table=True):
    """A customer's running balance, so that reading it never sums their history; every write
    to their points takes this row's lock. ``due_at``: when time next changes something (a lot
    matures or expires, a tier's window lets go of points); a read at or after it settles."""

    __tablename__ = "gamify_loyalty_account"
    customer: str = Field(primary_key=True, max_length=256)
    next_seq: int = Field(default=1, sa_column=Column(BigInteger, nullable=False, default=1))
    available: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    pending: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    qualifying: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    tier: str | None = Field(default=None, max_length=64)
    tier_since: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    due_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class LoyaltyLotRow(SQLModel, table=True):
    """What one earning gave and what is left of it (rebuilt from the entries when in doubt)."""

    __tablename__ = "gamify_loyalty_lot"
    __table_args__ = (
        Index("ux_gamify_loyalty_lot_source", "customer", "source", unique=True),
        Index("ix_gamify_loyalty_lot_earned", "customer", "earned_at"),
        Index(
            "ix_gamify_loyalty_lot_live",
            "customer",
            "expires_at",
            postgresql_where=text("remaining > 0 OR NOT matured"),
            sqlite_where=text("remaining > 0 OR NOT matured"),
        ),
        Index(
            "ix_gamify_loyalty_lot_order",
            "customer",
            "order_id",
            postgresql_where=text("order_id IS NOT NULL"),
            sqlite_where=text("order_id IS NOT NULL"),
        ),
    )
    customer: str = Field(primary_key=True, max_length=256)
    lot: int = Field(sa_column_kwargs={"primary_key": True}, sa_type=BigInteger)
    source: str = Field(max_length=160)
    points: int = Field(sa_column=Column(BigInteger, nullable=False))
    remaining: int = Field(sa_column=Column(BigInteger, nullable=False))
    earned_at: datetime = Field(sa_column=_utc(nullable=False))
    available_at: datetime = Field(sa_column=_utc(nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    matured: bool
    order_id: str | None = Field(default=None, max_length=128)
    rate: str = Field(default="0", max_length=40)  # points per whole unit (a decimal)
    qualifies: bool
    refunded: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class LoyaltyEntryRow(SQLModel, table=True):
    """The ledger: every change to a customer's points, never updated or deleted."""

    __tablename__ = "gamify_loyalty_entry"
    customer: str = Field(primary_key=True, max_length=256)
    seq: int = Field(sa_column_kwargs={"primary_key": True}, sa_type=BigInteger)
    kind: str = Field(max_length=16)
    points: int = Field(sa_column=Column(BigInteger, nullable=False))
    lot: int | None = Field(default=None, sa_type=BigInteger)
    source: str = Field(max_length=160)
    at: datetime = Field(sa_column=_utc(nullable=False))
    short: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    note: str = Field(default="", max_length=500)


class LoyaltyInboxRow(SQLModel, table=True):
    """What earns or takes back points and is not in the ledger yet: written in the same
    transaction as the event (or challenge reward) it names, taken out in the ledger's."""

    __tablename__ = "gamify_loyalty_inbox"
    customer: str = Field(primary_key=True, max_length=256)
    source: str = Field(primary_key=True, max_length=160)  # an event id, or points:<source>


class LoyaltyGrantRow(SQLModel, table=True):
    """A tier level's reward given to a customer: once per level, ever."""

    __tablename__ = "gamify_loyalty_grant"
    customer: str = Field(primary_key=True, max_length=256)
    level: str = Field(primary_key=True, max_length=64)
    coupon: str | None = Field(default=None, max_length=128)
    at: datetime = Field(sa_column=_utc(nullable=False))


class LoyaltyRedemptionRow(SQLModel, table=True):
    """A reward bought with points, by its Idempotency-Key: a retry gets the same coupon."""

    __tablename__ = "gamify_loyalty_redemption"
    customer: str = Field(primary_key=True, max_length=256)
    key: str = Field(primary_key=True, max_length=128)
    reward: str = Field(max_length=64)
    coupon: str | None = Field(default=None, max_length=128)
    points: int = Field(sa_column=Column(BigInteger, nullable=False))
    at: datetime = Field(sa_column=_utc(nullable=False))


class LoyaltyStockRow(SQLModel, table=True):
    """Units of a reward given so far, which its ``stock`` caps (a redemption locks the row)."""

    __tablename__ = "gamify_loyalty_stock"
    reward: str = Field(primary_key=True, max_length=64)
    given: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


account_t: Table = LoyaltyAccountRow.__table__  # type: ignore[attr-defined]
lot_t: Table = LoyaltyLotRow.__table__  # type: ignore[attr-defined]
ledger_t: Table = LoyaltyEntryRow.__table__  # type: ignore[attr-defined]
inbox_t: Table = LoyaltyInboxRow.__table__  # type: ignore[attr-defined]
grant_t: Table = LoyaltyGrantRow.__table__  # type: ignore[attr-defined]
redemption_t: Table = LoyaltyRedemptionRow.__table__  # type: ignore[attr-defined]
stock_t: Table = LoyaltyStockRow.__table__  # type: ignore[attr-defined]


class GuestRow(SQLModel, table=True):
    """A guest (CONTRACT §13): the only link between a person's email and the customer id they
    play as (``guest:<random>``). ``identity`` is a keyed hash of their mailbox (aliases
    included), so the email is in this row alone, and deleting the row erases the person."""

    __tablename__ = "gamify_guest"
    identity: str = Field(primary_key=True, max_length=64)
    id: str = Field(max_length=64, unique=True)
    email: str = Field(max_length=320)
    created_at: datetime = Field(sa_column=_utc(nullable=False))


class ConsentRow(SQLModel, table=True):
    """A marketing consent as it was given: by whom, in which campaign, the hash and language
    of the exact text shown, when. Erasure keeps the record without its personal fields (how
    many consented, to which text, stays true)."""

    __tablename__ = "gamify_consent"
    __table_args__ = (
        Index("ux_gamify_consent_given", "campaign", "guest", "text_hash", unique=True),
        Index("ix_gamify_consent_guest", "guest"),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=64)
    guest: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)
    text_hash: str = Field(max_length=64)
    lang: str = Field(max_length=8)
    at: datetime = Field(sa_column=_utc(nullable=False))


guest_t: Table = GuestRow.__table__  # type: ignore[attr-defined]
consent_t: Table = ConsentRow.__table__  # type: ignore[attr-defined]
