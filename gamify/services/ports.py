"""What the use cases need from storage, as small ``Protocol`` ports and the values they trade.

The services never see SQL, engines or drivers: :mod:`gamify.storage` implements these ports
(SQLite and PostgreSQL), and the tests have an in-memory fake of them (``tests/fakes.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from gamify.core.events import Event
from gamify.core.fairness import V1
from gamify.core.holdout import Group
from gamify.core.points import Entry, Lot
from gamify.core.progress import (
    Contribution,
    Key,
    OrderFacts,
    Reversal,
    StoredContribution,
    Tally,
)

T = TypeVar("T")


class StartOver(Exception):
    """The play failed before it wrote anything, for a reason the next attempt does not share:
    it can start over from the top. With :attr:`new_connections`, on new connections."""

    new_connections = False


def start_over_once(attempt: Callable[[], T], reset: Callable[[], None]) -> T:
    """``attempt()``, once more after a :class:`StartOver`; first ``reset()`` (drop the pool's
    connections) when the database restarted or dropped them: the others are likely dead too."""
    try:
        return attempt()
    except StartOver as exc:
        if exc.new_connections:
            reset()
        return attempt()


@dataclass(frozen=True)
class EpochInfo:
    epoch: int
    commitment: str
    server_seed: str | None  # None until revealed
    opened_at: datetime
    revealed_at: datetime | None
    algorithm: str = V1  # the fairness algorithm of the epoch's draws (CONTRACT §12)


class Signer(Protocol):
    """Signs the log's checkpoints as notes under :attr:`name` (gamify.audit.signed_note's
    ``LogSigner``)."""

    name: str
    public_key: bytes
    vkey: str

    def sign(self, body: str) -> str: ...


@dataclass(frozen=True)
class StoredCheckpoint:
    """A signed checkpoint the log made (CONTRACT §12): the tree's size and root, the note."""

    size: int
    root: bytes
    note: str
    created_at: datetime


@dataclass(frozen=True)
class NewEpoch:
    seed: str
    commitment: str


@dataclass(frozen=True)
class ConfigRecord:
    """A campaign's config version as the log keeps it: its hash and canonical JSON text."""

    config_hash: str
    config: str


@dataclass(frozen=True)
class Pool:
    """A prize's coupon pool, read from its file: the codes, in the order they are given."""

    index: int  # the prize's position in the campaign file
    prize: str
    codes: Sequence[str]


class PoolConflict(Exception):
    """A pool's code is already in the log as something else: another prize's pool code, or a
    pattern code given by a play. Nothing of the new version was recorded."""

    def __init__(self, pool: Pool, code: str, held_by: str, pattern: bool) -> None:
        self.pool = pool
        self.code = code
        self.held_by = held_by
        self.pattern = pattern
        super().__init__(f"{code!r} is held by {held_by!r}")


@dataclass(frozen=True)
class LogSnapshot:
    """A campaign's log at one moment: the plays with ``seq < head`` (the last of them hashing
    to ``head_hash``), the config versions (oldest first) and the epochs."""

    campaign: str
    head: int
    head_hash: str
    configs: tuple[ConfigRecord, ...]
    epochs: tuple[EpochInfo, ...]


@dataclass(frozen=True)
class PlayQuery:
    """What a play needs to read once it holds the campaign lock."""

    campaign: str
    scopes: Sequence[str]  # counters: limits per customer and period, stock, spend of the day
    player: str
    idempotency_key: str | None
    pool_prizes: Sequence[str]  # prizes whose coupons come from a pool: their next free code
    candidate_codes: Sequence[str]  # pattern codes made in advance: which are taken already


@dataclass(frozen=True)
class Locked:
    """The campaign as a play finds it, read under the campaign lock."""

    next_seq: int
    head_hash: str
    epoch: int
    next_nonce: int
    spent_total_cents: int
    server_seed: str
    commitment: str
    revealed: bool
    counts: dict[str, int]
    replay_seq: int | None
    pool_codes: dict[str, str]
    taken_codes: frozenset[str]
    algorithm: str = V1  # the open epoch's
    opened_at: datetime | None = None  # the open epoch's
    player_nonce: int = 0  # v2: the player's next nonce in the open epoch
    tree: bytes = b""  # the Merkle tree's frontier over the next_seq plays (CONTRACT §12)


@dataclass(frozen=True)
class GivenCoupon:
    code: str
    prize: str
    pooled: bool  # a pool code is marked given; a pattern code is inserted


@dataclass(frozen=True)
class PlayWrite:
    """Everything one play writes: its chain row, the campaign's new head, counters, records."""

    row: dict[str, Any]  # the chain row (PLAY_COLUMNS) and its coupon
    next_nonce: int
    spent_total_cents: int
    bumps: dict[str, int] = field(default_factory=dict)
    idempotency_key: str | None = None
    coupon: GivenCoupon | None = None
    assignment: Assignment | None = None  # the customer's group, recorded if it is not yet
    tree: bytes = b""  # the Merkle tree's new frontier
    nodes: Sequence[tuple[int, int, bytes]] = ()  # (level, index, hash): the nodes completed


class PlayTransaction(Protocol):
    """One play's transaction: begun and locked by :meth:`read`, committed by :meth:`write`."""

    def read(self, query: PlayQuery) -> Locked | None:
        """Begin, take the campaign lock and read; None when the campaign has no state row."""

    def taken_codes(self, campaign: str, codes: Sequence[str]) -> frozenset[str]: ...

    def replay(self, campaign: str, seq: int) -> tuple[dict[str, Any], str]:
        """The stored row (with its coupon) and its epoch's commitment."""

    def write(self, write: PlayWrite) -> None:
        """Write and commit; the lock is released and the play durable when this returns."""


class PlayStore(Protocol):
    def transaction(self) -> AbstractContextManager[PlayTransaction]:
        """A play's transaction; whatever it leaves open is rolled back at the end."""

    def reset(self) -> None:
        """Drop every pooled connection (after :class:`StartOver` asked for new ones)."""


class CampaignLog(Protocol):
    """A campaign's bookkeeping outside the play itself: config versions, epochs, counters, and
    the log read back."""

    def record(
        self,
        campaign: str,
        configs: Sequence[ConfigRecord],
        epoch_zero: NewEpoch,
        pools: Sequence[Pool],
        now: datetime,
    ) -> None:
        """Record a config version (its form under each fairness algorithm), create the
        campaign's state with epoch 0 (committed before any play, drawn with v2) and its pool
        codes, and make the award counters count every award; what exists already is left as
        it is. :class:`PoolConflict` undoes all of it."""

    def reveal_open_epoch(self, campaign: str, now: datetime) -> None:
        """Reveal the open epoch's seed (the campaign has ended), under the campaign lock."""

    def open_next_epoch(
        self, campaign: str, epoch: NewEpoch, now: datetime, *, after: int | None = None
    ) -> bool:
        """Close the open epoch (revealing its seed) and open the next (drawn with v2), under
        the campaign lock; with ``after``, only if the open epoch is still that one. False when
        the campaign has no state yet (or ``after`` is closed already)."""

    def epochs(self, campaign: str) -> list[EpochInfo]: ...

    def tree_head(self, campaign: str) -> tuple[int, bytes]:
        """The Merkle tree over the campaign's plays: its size (the plays so far) and frontier
        (``merkle.Frontier.to_bytes``), read together."""
        ...

    def tree_nodes(
        self, campaign: str, nodes: Collection[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """The stored hashes of the complete subtrees ``(level, index)`` asked for."""
        ...

    def latest_checkpoint(self, campaign: str) -> StoredCheckpoint | None: ...

    def add_checkpoint(self, campaign: str, checkpoint: StoredCheckpoint) -> None:
        """Keep a checkpoint; one of the same size kept already (another worker's) stays."""
        ...

    def counters(self, campaign: str, scopes: Sequence[str]) -> dict[str, int]: ...

    def plays_of(self, players: Mapping[str, str]) -> list[dict[str, Any]]:
        """The plays of these pseudonyms (pseudonym -> its campaign), oldest first, each with
        its coupon."""

    def snapshot(self, campaign: str) -> LogSnapshot:
        """The log's head, then its config versions and epochs, in one short transaction."""

    def configs_used(self, campaign: str, before: int) -> set[str]:
        """The config hashes of the plays with ``seq < before``."""

    def play_rows(self, campaign: str, start: int, end: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` chain rows with ``start <= seq < end``, in ``seq`` order, in one
        short transaction."""


@dataclass(frozen=True)
class Completed:
    key: Key
    ordinal: int | None  # the reward's number; None past winners_max
    coupon: str | None = None


class ProgressTransaction(Protocol):
    """One transaction of the store's events and what they do to challenges: whatever it did is
    committed when the ``with`` block ends cleanly, and rolled back when it raises."""

    def append(self, events: Sequence[Event], received_at: datetime) -> set[str]:
        """Store the events not stored yet; the ids stored now. An id already there (a replay,
        or another worker storing it at the same moment) is left as it is and not in the
        answer."""

    def lock_customers(self, customers: Collection[str]) -> None:
        """Hold these customers' progress until the end of the transaction, in one order
        whatever the caller's, so that two transactions cannot wait for each other."""

    def start(
        self,
        events: Sequence[Event],
        received_at: datetime,
        customers: Collection[str],
        keys: Collection[Key],
        order_ids: Collection[str],
        challenges: Collection[str],
    ) -> tuple[set[str], dict[Key, Tally], dict[str, OrderFacts], list[StoredContribution]]:
        """Lock the customers, store the events and read the keys and orders, as
        :meth:`lock_customers`, :meth:`append` and :meth:`read` in that order (on PostgreSQL in
        one round trip)."""

    def read(
        self, keys: Collection[Key], order_ids: Collection[str], challenges: Collection[str]
    ) -> tuple[dict[Key, Tally], dict[str, OrderFacts], list[StoredContribution]]:
        """In one round trip: what each key's window holds (an empty Tally for a window with
        nothing yet; quiz attempts not counted), and each order's paid event, refunds and what
        it gave so far to ``challenges``: what the customers of its events stored before this
        transaction hold of it (an order's contributions come from its events, and a new
        order, the common case, costs no look-up of progress)."""

    def tallies(self, keys: Collection[Key], *, attempts: bool = False) -> dict[Key, Tally]:
        """What each key's window holds; quiz attempts are counted only when asked."""

    def assign(self, assignments: Sequence[Assignment], percents: Mapping[str, int]) -> None:
        """As :meth:`AudienceStore.assign`, in the events' transaction."""

    def add(self, contributions: Sequence[Contribution], at: datetime) -> None:
        """Store new contributions. Each one's source is new by construction (an event this
        transaction stored, or a quiz attempt numbered under the customer's lock): adding a
        source twice is a bug, and fails."""

    def reverse(self, reversals: Sequence[Reversal]) -> None: ...

    def attempt(
        self, key: Key, step: str, attempt: int, correct: int, passed: bool, at: datetime
    ) -> None:
        """Record a quiz attempt; the number is the window's next for the step."""

    def number_rewards(self, challenge: str, count: int, winners_max: int | None) -> list[int]:
        """Count ``count`` completions of the challenge; the numbers of the rewards they get,
        from the challenge's next (1 for its first), at most ``winners_max`` in all."""

    def pool_codes(self, challenge: str, ordinals: Sequence[int]) -> list[str]:
        """Give the reward's pool codes next in line to these rewards, in order (fewer when
        the pool runs out)."""

    def pattern_codes(self, challenge: str, codes: Mapping[int, str]) -> set[int]:
        """Give each reward (by number) its code; the numbers whose code was free."""

    def complete(self, done: Sequence[Completed], at: datetime) -> None:
        """Record completed windows, each with its reward's number and coupon (or none)."""

    def grant_plays(self, grants: Sequence[tuple[str, str, int]]) -> None:
        """Add each ``(campaign, scope, count)``: customers' extra plays."""

    def grant_points(self, grants: Sequence[tuple[str, str, int]], at: datetime) -> None:
        """Credit each ``(customer, source, points)`` once per source, into the loyalty
        inbox too (the ledger takes them in)."""

    def to_loyalty(self, items: Sequence[tuple[str, str]]) -> None:
        """Put each ``(customer, event id)`` in the loyalty inbox, in this transaction."""


class ProgressStore(Protocol):
    """The store's events (CONTRACT §8) and the challenges' progress they make."""

    def transaction(self) -> AbstractContextManager[ProgressTransaction]: ...

    def setup(self, challenge: str, pool: Sequence[str]) -> None:
        """Create the challenge's row (its rewards count) and its reward's pool codes, once;
        :class:`PoolConflict` when a pool code is held by something else."""

    def tallies(self, keys: Collection[Key], *, attempts: bool = False) -> dict[Key, Tally]:
        """As :meth:`ProgressTransaction.tallies`, read outside of any event's transaction."""

    def reset(self) -> None:
        """Drop every pooled connection (after :class:`StartOver` asked for new ones)."""


# -- audience (CONTRACT §11) -------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """A customer seen by a campaign, and the group they fall in."""

    campaign: str
    customer: str
    player: str  # the customer's pseudonym in the campaign's plays
    group: Group
    at: datetime


class AudienceStore(Protocol):
    """Who each campaign saw, in which group, and each campaign's recorded holdout percent."""

    def assign(
        self, assignments: Sequence[Assignment], percents: Mapping[str, int]
    ) -> dict[tuple[str, str], Group]:
        """Record the percents and assignments not recorded yet (the first recorded wins,
        whatever the number of workers); the recorded group of each (campaign, customer)."""

    def holdouts(self) -> dict[str, int]:
        """Every campaign's recorded holdout percent."""

    def fix_holdout(self, campaign: str, percent: int, at: datetime) -> int:
        """Record the campaign's holdout percent unless one is recorded; the recorded one."""


# -- report (CONTRACT §11) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A report's window and the period of as many days just before it (UTC instants)."""

    before: datetime
    start: datetime
    end: datetime  # exclusive


@dataclass(frozen=True)
class GroupSums:
    """What the database sums for one group of a campaign's assigned customers."""

    customers: int = 0
    before: int = 0  # S: with an order in the period before
    during: int = 0  # E: with an order in the window
    new: int = 0  # N: of E, none in the period before
    repeat: int = 0  # with two orders or more in the window
    orders: int = 0
    revenue: Decimal = Decimal(0)  # net of refunds
    revenue_squares: Decimal = Decimal(0)  # sum over customers of their revenue squared
    awards: Mapping[str, int] = field(default_factory=dict)  # prize id ("reward") -> count
    coupons_issued: int = 0
    coupons_redeemed: int = 0


class ReportStore(Protocol):
    def sums(self, campaign: str, game: bool, span: Span, holdout: int) -> dict[str, GroupSums]:
        """Each group's sums, aggregated by the database (a row per group comes back)."""


# -- admin pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    """How far a challenge's customers got, counted in windows (a customer's week or month of
    a repeating challenge counts once per window)."""

    took_part: int  # windows with any progress
    steps: Mapping[str, int]  # step id -> windows where that step reached its goal
    completed: int
    rewarded: int


@dataclass(frozen=True)
class GameTotals:
    plays: int
    spent_cents: int  # prizes' value given so far, in hundredths


class ActivityStore(Protocol):
    """What the admin pages read of the campaigns' activity; every figure is counted by the
    database, so a page costs the same at ten plays or ten million."""

    def plays_since(self, campaigns: Collection[str], moment: datetime) -> dict[str, int]:
        """Each game's plays at or after ``moment`` (campaigns without any are left out)."""

    def plays_per_day(self, campaign: str, midnights: Sequence[datetime]) -> list[int]:
        """The game's plays between consecutive ``midnights`` (UTC instants, increasing): one
        figure per day, ``len(midnights) - 1`` of them."""

    def draws(self, campaign: str) -> dict[tuple[str, str], int]:
        """How often each prize was drawn (before any fallback), per config version:
        ``(config_hash, prize) -> plays``."""

    def totals(self, campaigns: Collection[str]) -> dict[str, GameTotals]:
        """Each game's plays and spend so far (games never played are left out)."""

    def funnel(self, challenge: str, goals: Mapping[str, int]) -> Funnel:
        """``goals``: each step's goal in units (:attr:`Step.goal_units`)."""


# -- loyalty (CONTRACT §10) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A customer's running balance, as its row holds it."""

    customer: str
    next_seq: int = 1
    available: int = 0
    pending: int = 0
    qualifying: int = 0  # points earned in the tier window, as of the last settling
    tier: str | None = None
    tier_since: datetime | None = None
    due_at: datetime | None = None  # when time next changes something; a read then settles
    waiting: bool = False  # the inbox holds something for them (reads only)


@dataclass(frozen=True)
class InboxItem:
    """Something that earns or takes back points and is not in the ledger yet: a store event,
    or the points of a challenge's reward (``points``)."""

    source: str
    at: datetime  # when it happened (an event's occurred_at)
    event: Event | None = None
    points: int | None = None


@dataclass(frozen=True)
class Redemption:
    key: str
    reward: str
    coupon: str | None
    points: int
    at: datetime


@dataclass(frozen=True)
class Opened:
    """What a transaction finds once it holds a customer's account lock."""

    account: Account
    lots: dict[int, Lot]  # the lots time or spending can still change
    redemption: Redemption | None = None  # the one of the Idempotency-Key asked about


class LoyaltyTransaction(Protocol):
    """One customer's points, under the lock of their account row."""

    def open(self, customer: str, key: str | None = None) -> Opened:
        """Lock the customer's account (made empty the first time), then read it, its live
        lots and the redemption made with ``key`` (if any)."""

    def order_lots(self, customer: str, order_ids: Collection[str]) -> dict[int, Lot]:
        """The lots of these orders, spent or not."""

    def inbox(self, customer: str) -> list[InboxItem]:
        """What waits for the ledger, oldest first; only sources that still exist."""

    def clear_inbox(self, customer: str, sources: Collection[str]) -> None: ...

    def earned_count(self, customer: str, event_type: str, start: datetime, end: datetime) -> int:
        """Lots earned from events of ``event_type`` that happened in ``[start, end)``."""

    def qualifying(self, customer: str, since: datetime | None) -> tuple[int, datetime | None]:
        """Points earned since ``since`` (net of refunds) by the lots that count for tiers, as
        stored, and the earliest of those lots' times."""

    def refunds(self, order_ids: Collection[str]) -> dict[str, list[tuple[str, Decimal]]]:
        """The store's refunds of each order: ``(event id, refund total)``."""

    def write(
        self,
        account: Account,
        entries: Sequence[Entry],
        lots: Collection[Lot],
        redemption: Redemption | None = None,
    ) -> None:
        """The new entries, the lots they made or changed, the redemption they paid for, and
        the account."""

    def grant_level(self, customer: str, level: str, coupon: str | None, at: datetime) -> bool:
        """Record a level's reward as given; False when it was given before."""

    def take_stock(self, reward: str, stock: int) -> bool:
        """One unit of the reward, if fewer than ``stock`` were given."""

    def pool_code(self, owner: str, prize: str) -> str | None:
        """The next unused code of a pool loaded for ``owner`` (``loyalty``, ``loyalty-tier``)
        and ``prize`` (a reward's or level's id), now given; None when it ran out."""

    def pattern_code(self, owner: str, prize: str, code: str) -> bool:
        """Record ``code`` as given, unless it was given before."""

    def grant_plays(self, grants: Sequence[tuple[str, str, int]]) -> None:
        """Extra plays beyond a game's limits: ``(campaign, bonus scope, count)``."""


class LoyaltyStore(Protocol):
    def transaction(self) -> AbstractContextManager[LoyaltyTransaction]: ...

    def account(self, customer: str) -> Account | None:
        """The running balance without a lock, with ``waiting``; None for a customer never
        seen."""

    def expiring(self, customer: str, limit: int) -> list[tuple[int, datetime]]:
        """The points of the lots that expire next: ``(points, expires_at)``, soonest first."""

    def history(self, customer: str) -> tuple[list[Entry], list[Lot]]:
        """Every entry and lot of the customer (the admin's view, and the rebuild)."""

    def customers(self, due_before: datetime | None = None) -> list[str]:
        """Customers with an account, or with something waiting; with ``due_before``, only
        those whose account is due by then or who have something in the inbox."""

    def load_pool(self, owner: str, prize: str, codes: Sequence[str]) -> None:
        """Make a pool's codes available (those loaded before are kept as they are)."""

    def repair(self, account: Account, lots: Collection[Lot]) -> None:
        """Overwrite the running balance and lots with what the entries say (rebuild)."""

    def reset(self) -> None:
        """Drop the pooled connections (a transaction that met a dead one starts over)."""


@dataclass(frozen=True)
class Consent:
    """A marketing consent as it was given (CONTRACT §13): the guest and the email they gave,
    the campaign, the SHA-256 and language of the exact text shown, when. ``guest`` and
    ``email`` are None once the person is erased."""

    campaign: str
    guest: str | None
    email: str | None
    text_hash: str
    lang: str
    at: datetime


class GuestStore(Protocol):
    """Guests and their consents: the only place gamify keeps an email."""

    def guest_id(self, identity: str, new_id: str, email: str, at: datetime) -> str:
        """The customer id of the guest with this ``identity`` (a keyed hash of their mailbox):
        ``new_id``, with ``email``, if there is none yet; of two workers the first wins."""
        ...

    def find_guest(self, identity: str) -> str | None: ...

    def add_consent(self, consent: Consent) -> bool:
        """Record it, once per guest, campaign and text (a second play re-ticking the same box
        adds nothing); whether it was new."""
        ...

    def consents(self, campaign: str, after: int, limit: int) -> list[tuple[int, Consent]]:
        """Up to ``limit`` consents of the campaign with an email (the person not erased), by
        record number above ``after``, oldest first: leads export in short transactions."""
        ...

    def forget_guest(self, guest: str) -> int:
        """Delete the guest's row (their email, the link to their customer id) and the personal
        fields of their consents, in one transaction; the rows changed."""
        ...

    def forget_customer(self, customer: str, stand_in: str) -> int:
        """Put ``stand_in`` for a store customer's id in every table that has one, in one
        transaction; the rows changed."""
        ...
