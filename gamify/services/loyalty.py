"""Loyalty (CONTRACT §10): points earned from the store's events and challenges, spent on
rewards, taken back by refunds and expired by time; VIP tiers judged on points earned.

What earns arrives through the inbox: the event (or a challenge's points) and its inbox row are
stored in one transaction, and the ledger takes the row out in the transaction that writes what
it earned. So nothing is earned twice, and nothing is lost if a process dies in between: the
next read or write of that customer (or ``gamify loyalty expire``) finishes the job.

Time needs no scheduler: every account says when time next changes it (``due_at``: a lot
matures or expires, a tier's window lets go of points), and the first read or write after that
settles it, under the account's lock like any write.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from gamify.core.coupons import PoolPathError, make_code, read_pool
from gamify.core.errors import (
    CampaignError,
    ConfigIssue,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidRequest,
    OutOfStock,
    RewardNotFound,
)
from gamify.core.events import MAX_CUSTOMER
from gamify.core.loyalty import LOYALTY_FILE, Level, Loyalty
from gamify.core.periods import local_date, local_midnight, period_end, period_key
from gamify.core.play import bonus_scope
from gamify.core.points import Balance, Entry, Ledger, Lot, lots_in, replay
from gamify.services.plays import check_idempotency_key
from gamify.services.ports import Account, InboxItem, LoyaltyStore, LoyaltyTransaction, Redemption

log = logging.getLogger("gamify")
REWARDS = "loyalty"  # the coupon table's owner of the rewards' codes
LEVELS = "loyalty-tier"  # and of the levels' rewards
EXPIRING_SHOWN = 3
_PATTERN_TRIES = 20
_REFUND = "order.refunded"


@dataclass(frozen=True)
class LevelGrant:
    level: Level
    coupon: str | None

    def as_json(self, lang: str | None = None) -> dict[str, Any]:
        reward = self.level.reward
        plays = reward.plays if reward is not None else None
        return {
            "level": self.level.id,
            "label": reward.label.get(lang)
            if reward and reward.label
            else self.level.label.get(lang),
            "coupon": self.coupon,
            "plays": {"campaign": plays.campaign, "count": plays.count} if plays else None,
        }


@dataclass(frozen=True)
class Change:
    """What one transaction did to a customer's points, for the host app's signals."""

    customer: str
    before: Account
    after: Account
    entries: tuple[Entry, ...] = ()
    granted: tuple[LevelGrant, ...] = ()

    @property
    def points_changed(self) -> bool:
        return (self.before.available, self.before.pending) != (
            self.after.available,
            self.after.pending,
        )

    @property
    def tier_changed(self) -> bool:
        return self.before.tier != self.after.tier


@dataclass(frozen=True)
class Standing:
    """What the shopper sees (``GET /api/me/loyalty``)."""

    program: Loyalty
    account: Account
    expiring: tuple[tuple[int, date], ...]


@dataclass(frozen=True)
class Redeemed:
    redemption: Redemption
    replayed: bool  # the answer to a request made before with the same Idempotency-Key
    change: Change | None = None


@dataclass
class _Work:
    """A customer's account and lots while a transaction holds them."""

    opened: Account  # as the transaction found it
    account: Account  # as it is becoming
    ledger: Ledger
    now: datetime
    stored_qualifying: int  # points counting for tiers before this transaction
    earliest: datetime | None  # the earliest of the lots counted in it
    since: datetime | None  # where the tier window starts now
    reviewing: bool  # the tier is judged again in this transaction
    granted: list[LevelGrant] = field(default_factory=list)


class LoyaltyCases:
    loyalty: LoyaltyStore
    clock: Callable[[], datetime]

    def player(self, campaign_id: str, customer_id: str) -> str:
        raise NotImplementedError  # PlayCases

    # -- set up ----------------------------------------------------------------------------

    def sync_loyalty(self, program: Loyalty) -> None:
        """Load the coupon pools of the rewards and levels (codes loaded before are kept)."""
        folder = program.source.parent if program.source is not None else None
        owners = [(REWARDS, r.id, r.coupon) for r in program.rewards]
        if program.tiers is not None:
            owners += [
                (LEVELS, lv.id, lv.reward.coupon)
                for lv in program.tiers.levels
                if lv.reward is not None and lv.reward.coupon is not None
            ]
        for owner, prize, coupon in owners:
            if coupon.pool is None:
                continue
            try:
                codes = list(dict.fromkeys(read_pool(coupon.pool, folder)))
            except (OSError, UnicodeDecodeError, csv.Error, PoolPathError) as exc:
                file = str(program.source or LOYALTY_FILE)
                issue = ConfigIssue(file, 1, 1, prize, f"coupon pool cannot be read: {exc}")
                raise CampaignError([issue]) from None
            self.loyalty.load_pool(owner, prize, codes)

    # -- reads -----------------------------------------------------------------------------

    def standing(self, program: Loyalty, customer: str) -> tuple[Standing, list[Change]]:
        """The customer's points now: settled first when time or the inbox says so (a write),
        else one read of the running balance."""
        now = self.clock()
        account = self.loyalty.account(customer)
        changes: list[Change] = []
        if account is not None and (
            account.waiting or (account.due_at is not None and account.due_at <= now)
        ):
            changes = self.settle(program, [customer])
            account = self.loyalty.account(customer)
        account = account or Account(customer)
        expiring: dict[date, int] = {}
        for points, at in self.loyalty.expiring(customer, EXPIRING_SHOWN * 4):
            on = local_date(at, program.timezone)
            if on in expiring or len(expiring) < EXPIRING_SHOWN:
                expiring[on] = expiring.get(on, 0) + points
        shown = tuple((points, on) for on, points in sorted(expiring.items()))
        return Standing(program, account, shown), changes

    # -- writes ----------------------------------------------------------------------------

    def settle(self, program: Loyalty, customers: Collection[str]) -> list[Change]:
        """What waits in the customers' inboxes, and what time did to them, into the ledger,
        in one transaction (accounts locked in order, so two never wait for each other)."""
        changes = []
        with self.loyalty.transaction() as tx:
            for customer in sorted(set(customers)):
                work, _ = self._open(tx, program, customer)
                changes.append(self._close(tx, program, work))
        return [c for c in changes if c.entries or c.tier_changed]

    def redeem(self, program: Loyalty, customer: str, reward_id: str, key: str | None) -> Redeemed:
        """Buy a reward with points, once per Idempotency-Key: the same key and reward again
        answers what the first request got; with another reward, IdempotencyConflict."""
        reward = program.reward(reward_id)
        if reward is None:
            raise RewardNotFound(reward_id, tuple(r.id for r in program.rewards))
        if not key:
            raise InvalidRequest("send an Idempotency-Key header: a retry must not spend twice")
        check_idempotency_key(key)
        now = self.clock()
        with self.loyalty.transaction() as tx:
            work, before = self._open(tx, program, customer, key)
            if before is not None:
                if before.reward != reward_id:
                    raise IdempotencyConflict(
                        f"Idempotency-Key {key!r} redeemed {before.reward!r} before; send a new "
                        "key for a new redemption"
                    )
                return Redeemed(before, True, self._close(tx, program, work))
            available = work.ledger.balance.available
            if available < reward.cost:
                raise InsufficientPoints(reward.cost, available)
            if reward.stock is not None and not tx.take_stock(reward.id, reward.stock):
                raise OutOfStock(reward.id)
            coupon = _coupon(tx, REWARDS, reward.id, reward.coupon.pattern)
            if coupon is None:
                log.error("gamify: the coupon pool of loyalty reward %s ran out", reward.id)
                raise OutOfStock(reward.id)
            work.ledger.spend(reward.cost, f"redeem:{key}", now, note=reward.id)
            made = Redemption(key, reward.id, coupon, reward.cost, now)
            return Redeemed(made, False, self._close(tx, program, work, made))

    def adjust(self, program: Loyalty, customer: str, points: int, reason: str) -> Change:
        """An admin's correction with its reason; down never below zero (InsufficientPoints)."""
        if not reason.strip():
            raise InvalidRequest("an adjustment needs a reason")
        if points == 0:
            raise InvalidRequest("an adjustment of 0 points changes nothing")
        now = self.clock()
        with self.loyalty.transaction() as tx:
            work, _ = self._open(tx, program, customer)
            source = f"adjust:{work.ledger.next_seq}"
            expires = program.expires_at(now)
            work.ledger.adjust(points, reason.strip(), now, expires_at=expires, source=source)
            return self._close(tx, program, work)

    def expire_due(self, program: Loyalty) -> list[Change]:
        """Settle every account that time or its inbox changed (``gamify loyalty expire``)."""
        return self.settle(program, self.loyalty.customers(due_before=self.clock()))

    def rebuild(self) -> list[tuple[str, Balance, Balance]]:
        """Check every running balance (and lot) against what the entries alone say, and
        repair those that differ: ``(customer, stored, rebuilt)`` of each repaired."""
        repaired = []
        for customer in self.loyalty.customers():
            entries, lots = self.loyalty.history(customer)
            stored = self.loyalty.account(customer)
            if stored is None:
                continue
            rebuilt = replay(entries)
            fixed_lots = _lots_from(entries, lots)
            changed_lots = [lot for lot in fixed_lots if lot not in lots]
            if (stored.available, stored.pending) != (rebuilt.available, rebuilt.pending) or (
                changed_lots
            ):
                repaired.append((customer, Balance(stored.available, stored.pending), rebuilt))
                account = replace(stored, available=rebuilt.available, pending=rebuilt.pending)
                self.loyalty.repair(account, changed_lots)
        return repaired

    # -- the transaction's work ------------------------------------------------------------

    def _open(
        self, tx: LoyaltyTransaction, program: Loyalty, customer: str, key: str | None = None
    ) -> tuple[_Work, Redemption | None]:
        """Lock the account, then bring it up to now: time's changes and the inbox, in the
        order they happened. With ``key``, the redemption made with it before, if any."""
        if not 1 <= len(customer) <= MAX_CUSTOMER:
            raise InvalidRequest(f"a customer id is 1 to {MAX_CUSTOMER} characters")
        now = self.clock()
        opened = tx.open(customer, key)
        account = opened.account
        items = tx.inbox(customer) if account.waiting else []
        orders = {i.event.order_id for i in items if i.event and i.event.order_id}
        ledger = Ledger(account.next_seq, {**opened.lots, **tx.order_lots(customer, orders)})
        since = program.tiers.window_start(now, program.timezone) if program.tiers else None
        # The tier is judged again when points come in or time says so; a spend or a read
        # changes no point earned, and leaves the window's sum (of every lot) unread.
        due = account.due_at is not None and account.due_at <= now
        reviewing = program.tiers is not None and (bool(items) or due or account.tier is None)
        stored, earliest = (
            tx.qualifying(customer, since) if reviewing else (account.qualifying, None)
        )
        work = _Work(account, account, ledger, now, stored, earliest, since, reviewing)
        ledger.settle(now)
        self._review_tier(tx, program, work, now)
        waiting = {i.source for i in items}
        earned_now: dict[tuple[str, str], int] = {}
        for item in items:
            self._take_in(tx, program, work, item, now, waiting, earned_now)
            self._review_tier(tx, program, work, now)
        tx.clear_inbox(customer, waiting)
        return work, opened.redemption

    def _take_in(
        self,
        tx: LoyaltyTransaction,
        program: Loyalty,
        work: _Work,
        item: InboxItem,
        now: datetime,
        waiting: set[str],
        earned_now: dict[tuple[str, str], int],
    ) -> None:
        ledger, customer = work.ledger, work.account.customer
        if item.points is not None:  # a challenge's reward: usable at once
            ledger.earn(
                item.source,
                item.points,
                now,
                earned_at=item.at,
                available_at=item.at,
                expires_at=program.expires_at(item.at),
            )
            return
        event = item.event
        assert event is not None
        if event.type == _REFUND:
            order = event.payload.get("order") or {}
            if event.order_id is not None:
                total = _amount(order.get("refund_total"))
                ledger.refund(event.order_id, total, event.id, now)
            return
        rule = program.rule(event.type)
        if rule is None:
            return
        if event.order_id and any(lot.order_id == event.order_id for lot in ledger.lots.values()):
            return  # an order paid twice under two event ids earns once
        if rule.at_most is not None:
            period = (rule.event, period_key(event.occurred_at, program.timezone, rule.at_most.per))
            start = local_midnight(_period_start(period[1]), program.timezone)
            end = period_end(event.occurred_at, program.timezone, rule.at_most.per)
            assert end is not None
            counted = tx.earned_count(customer, event.type, start, end)
            if counted + earned_now.get(period, 0) >= rule.at_most.times:
                return
            earned_now[period] = earned_now.get(period, 0) + 1
        level = program.tiers.level(work.account.tier) if program.tiers else None
        multiplier = level.multiplier if level else Decimal(1)
        if rule.points is not None:
            points = int((rule.points * multiplier).to_integral_value(rounding=ROUND_FLOOR))
            rate = Decimal(0)
        else:
            rate = (rule.points_per_unit or Decimal(0)) * multiplier
            units = _amount((event.payload.get("order") or {}).get("total")).to_integral_value(
                ROUND_FLOOR
            )
            points = int((units * rate).to_integral_value(rounding=ROUND_FLOOR))
        available_at = program.available_at(event.type, event.occurred_at)
        lot = ledger.earn(
            event.id,
            points,
            now,
            earned_at=event.occurred_at,
            available_at=available_at,
            expires_at=program.expires_at(available_at),
            order_id=event.order_id,
            rate=rate,
        )
        if lot is not None and event.order_id:  # refunds that came before their order
            for refund_id, amount in tx.refunds([event.order_id]).get(event.order_id, []):
                if refund_id not in waiting:
                    ledger.refund(event.order_id, amount, refund_id, now)

    def _review_tier(
        self, tx: LoyaltyTransaction, program: Loyalty, work: _Work, now: datetime
    ) -> None:
        """The level the points earned in the window give; a level reached for the first time
        gives its reward (and those of the levels passed on the way), once ever."""
        tiers = program.tiers
        if tiers is None or not work.reviewing:
            return
        qualifying = work.stored_qualifying + work.ledger.qualifying_change(work.since)
        level = tiers.level_for(qualifying)
        current = tiers.level(work.account.tier)
        account = replace(work.account, qualifying=qualifying)
        if work.account.tier is None or level.id != work.account.tier:
            account = replace(account, tier=level.id, tier_since=now)
            ids = [lv.id for lv in tiers.levels]
            was = ids.index(current.id) if work.account.tier is not None else 0
            for passed in tiers.levels[was + 1 : ids.index(level.id) + 1]:
                self._grant_level(tx, work, passed, now)
        work.account = account

    def _grant_level(
        self, tx: LoyaltyTransaction, work: _Work, level: Level, now: datetime
    ) -> None:
        reward = level.reward
        if reward is None:
            return
        customer = work.account.customer
        coupon = None
        if reward.coupon is not None:
            coupon = _coupon(tx, LEVELS, level.id, reward.coupon.pattern)
            if coupon is None:
                log.error("gamify: the coupon pool of loyalty level %s ran out", level.id)
        if not tx.grant_level(customer, level.id, coupon, now):
            return  # given before: once per level, ever
        if reward.plays is not None:
            scope = bonus_scope(self.player(reward.plays.campaign, customer))
            tx.grant_plays([(reward.plays.campaign, scope, reward.plays.count)])
        work.granted.append(LevelGrant(level, coupon))

    def _close(
        self,
        tx: LoyaltyTransaction,
        program: Loyalty,
        work: _Work,
        redemption: Redemption | None = None,
    ) -> Change:
        ledger = work.ledger
        balance = ledger.balance
        # Without a review, the time it set stays (maybe early: a settle then changes nothing).
        review = _review_at(program, work) if work.reviewing else work.opened.due_at
        due = [t for t in (ledger.next_change(), review) if t is not None]
        after = replace(
            work.account,
            next_seq=ledger.next_seq,
            available=balance.available,
            pending=balance.pending,
            due_at=min(due, default=None),
            waiting=False,
        )
        lots = [ledger.lots[n] for n in sorted(ledger.changed)]
        tx.write(after, ledger.entries, lots, redemption)
        return Change(
            after.customer, work.opened, after, tuple(ledger.entries), tuple(work.granted)
        )


def _review_at(program: Loyalty, work: _Work) -> datetime | None:
    """When the tier window next lets go of points earned: the earliest counted lot leaving a
    rolling window, or the new calendar year."""
    tiers = program.tiers
    if tiers is None or tiers.window == "lifetime" or work.account.qualifying <= 0:
        return None
    tz = program.timezone
    if tiers.window == "calendar_year":
        year = local_date(work.now, tz).year
        return local_midnight(date(year + 1, 1, 1), tz)
    earliest = [work.earliest] if work.earliest else []
    earliest += [
        work.ledger.lots[n].earned_at
        for n in work.ledger.changed
        if work.ledger.lots[n].qualifies
        and (work.since is None or work.ledger.lots[n].earned_at >= work.since)
    ]
    if not earliest:
        return None
    first = local_date(min(earliest), tz)
    try:
        leaves = first.replace(year=first.year + 1)
    except ValueError:  # 29 February
        leaves = first.replace(year=first.year + 1, day=28) + timedelta(days=1)
    return local_midnight(leaves, tz)


def _coupon(tx: LoyaltyTransaction, owner: str, prize: str, pattern: str | None) -> str | None:
    """The next pool code, or a pattern code never given before."""
    if pattern is None:
        return tx.pool_code(owner, prize)
    for _ in range(_PATTERN_TRIES):
        code = make_code(pattern)
        if tx.pattern_code(owner, prize, code):
            return code
    raise InvalidRequest(f"the coupon pattern of {prize!r} ran out of codes")


def _amount(value: object) -> Decimal:
    try:
        found = Decimal(str(value))
    except ArithmeticError:
        return Decimal(0)
    return found if found.is_finite() and found > 0 else Decimal(0)


def _period_start(key: str) -> date:
    """The first day of a period key: ``2026-11-27`` or ``W2026-11-23``."""
    return date.fromisoformat(key.removeprefix("W"))


def _lots_from(entries: Sequence[Entry], lots: Sequence[Lot]) -> list[Lot]:
    """The lots as the entries say they are: what is left of each, and whether it matured."""
    left, matured = lots_in(entries)
    return [
        replace(lot, remaining=left.get(lot.lot, lot.remaining), matured=lot.lot in matured)
        for lot in lots
    ]
