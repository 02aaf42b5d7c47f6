"""The points ledger's transaction on SQLite (and PostgreSQL's, but for its hot path,
:mod:`gamify.storage.loyalty_postgres`).

Every write to a customer's points holds their account row's lock (``FOR UPDATE`` on
PostgreSQL; SQLite has one writer at a time), so two requests for one customer never spend the
same point. A reward's stock is a row updated only while below the stock, and coupons come from
the coupon table like the games' do (``campaign`` ``loyalty`` for rewards, ``loyalty-tier``
for levels), so a code is never given twice.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    Connection,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)

from gamify.core.events import Event
from gamify.core.points import Entry, Kind, Lot
from gamify.core.rules import parse_utc
from gamify.services.ports import Account, InboxItem, Opened, Redemption
from gamify.storage.database import dialect_insert
from gamify.storage.tables import (
    account_t,
    counter_t,
    coupon_t,
    event_t,
    grant_t,
    inbox_t,
    ledger_t,
    lot_t,
    points_t,
    redemption_t,
    stock_t,
)

POINTS_PREFIX = "points:"  # an inbox source naming a challenge reward's points row


def account_of(row: Any, waiting: bool = False) -> Account:
    return Account(
        customer=row.customer,
        next_seq=int(row.next_seq),
        available=int(row.available),
        pending=int(row.pending),
        qualifying=int(row.qualifying),
        tier=row.tier,
        tier_since=aware(row.tier_since),
        due_at=aware(row.due_at),
        waiting=waiting,
    )


def aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return parse_utc(moment.isoformat() + "Z")


def lot_of(row: Any) -> Lot:
    return Lot(
        lot=int(row.lot),
        source=row.source,
        points=int(row.points),
        remaining=int(row.remaining),
        earned_at=aware(row.earned_at),  # type: ignore[arg-type]
        available_at=aware(row.available_at),  # type: ignore[arg-type]
        expires_at=aware(row.expires_at),
        matured=bool(row.matured),
        order_id=row.order_id,
        rate=_rate(row.rate),
        qualifies=bool(row.qualifies),
        refunded=int(row.refunded),
    )


def _rate(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal(0)


def entry_of(row: Any) -> Entry:
    kind: Kind = row.kind
    return Entry(
        seq=int(row.seq),
        kind=kind,
        points=int(row.points),
        lot=None if row.lot is None else int(row.lot),
        source=row.source,
        at=aware(row.at),  # type: ignore[arg-type]
        short=int(row.short),
        note=row.note,
    )


def lot_values(customer: str, lot: Lot) -> dict[str, Any]:
    return {
        "customer": customer,
        "lot": lot.lot,
        "source": lot.source,
        "points": lot.points,
        "remaining": lot.remaining,
        "earned_at": lot.earned_at,
        "available_at": lot.available_at,
        "expires_at": lot.expires_at,
        "matured": lot.matured,
        "order_id": lot.order_id,
        "rate": str(lot.rate),
        "qualifies": lot.qualifies,
        "refunded": lot.refunded,
    }


def account_values(account: Account) -> dict[str, Any]:
    return {
        "next_seq": account.next_seq,
        "available": account.available,
        "pending": account.pending,
        "qualifying": account.qualifying,
        "tier": account.tier,
        "tier_since": account.tier_since,
        "due_at": account.due_at,
    }


def entry_values(customer: str, e: Entry) -> dict[str, Any]:
    return {
        "customer": customer,
        "seq": e.seq,
        "kind": e.kind,
        "points": e.points,
        "lot": e.lot,
        "source": e.source,
        "at": e.at,
        "short": e.short,
        "note": e.note[:500],
    }


def redemption_values(customer: str, r: Redemption) -> dict[str, Any]:
    return {
        "customer": customer,
        "key": r.key,
        "reward": r.reward,
        "coupon": r.coupon,
        "points": r.points,
        "at": r.at,
    }


def write_rows(
    customer: str, entries: Sequence[Entry], lots: Collection[Lot], redemption: Redemption | None
) -> dict[str, list[dict[str, Any]]]:
    """What a write adds or changes, as rows of each table."""
    return {
        "entries": [entry_values(customer, e) for e in entries],
        "lots": [lot_values(customer, lot) for lot in lots],
        "redemptions": [redemption_values(customer, redemption)] if redemption else [],
    }


LIVE = or_(lot_t.c.remaining > 0, lot_t.c.matured.is_(False))


class SqlLoyaltyTransaction:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    @property
    def conn(self) -> Connection:
        return self._conn

    def open(self, customer: str, key: str | None = None) -> Opened:
        account = self.account(customer)
        found = self.conn.execute(select(lot_t).where(lot_t.c.customer == customer, LIVE))
        lots = {int(row.lot): lot_of(row) for row in found}
        return Opened(account, lots, self.redemption(customer, key) if key else None)

    def account(self, customer: str) -> Account:
        """Made if new, locked (an upsert takes the row's lock; SQLite has one writer), read,
        and whether the inbox holds something for them."""
        insert = dialect_insert(self.conn)(account_t)
        upsert = insert.on_conflict_do_update(
            index_elements=["customer"], set_={"customer": insert.excluded.customer}
        )
        row = self.conn.execute(
            upsert.returning(*account_t.c),
            {"customer": customer, **account_values(Account(customer))},
        ).one()
        has = exists().where(inbox_t.c.customer == customer)
        return account_of(row, bool(self.conn.execute(select(has)).scalar()))

    def order_lots(self, customer: str, order_ids: Collection[str]) -> dict[int, Lot]:
        if not order_ids:
            return {}
        rows = self.conn.execute(
            select(lot_t).where(
                lot_t.c.customer == customer, lot_t.c.order_id.in_(sorted(order_ids))
            )
        )
        return {int(row.lot): lot_of(row) for row in rows}

    def inbox(self, customer: str) -> list[InboxItem]:
        sources = list(
            self.conn.execute(
                select(inbox_t.c.source).where(inbox_t.c.customer == customer)
            ).scalars()
        )
        points = [s.removeprefix(POINTS_PREFIX) for s in sources if s.startswith(POINTS_PREFIX)]
        events = [s for s in sources if not s.startswith(POINTS_PREFIX)]
        found: list[InboxItem] = []
        if events:
            rows = self.conn.execute(
                select(event_t).where(event_t.c.id.in_(events), event_t.c.customer == customer)
            )
            for row in rows:
                at = aware(row.occurred_at)
                assert at is not None
                event = Event(
                    row.id, row.type, row.customer, at, row.order_id, json.loads(row.payload)
                )
                found.append(InboxItem(row.id, at, event=event))
        if points:
            rows = self.conn.execute(
                select(points_t).where(
                    points_t.c.customer == customer, points_t.c.source.in_(points)
                )
            )
            for row in rows:
                at = aware(row.at)
                assert at is not None
                found.append(InboxItem(POINTS_PREFIX + row.source, at, points=int(row.points)))
        known = {item.source for item in found}
        if missing := [s for s in sources if s not in known]:
            self.clear_inbox(customer, missing)  # nothing to earn from: gone or never there
        return sorted(found, key=lambda item: (item.at, item.source))

    def clear_inbox(self, customer: str, sources: Collection[str]) -> None:
        if sources:
            self.conn.execute(
                delete(inbox_t).where(
                    inbox_t.c.customer == customer, inbox_t.c.source.in_(sorted(sources))
                )
            )

    def earned_count(self, customer: str, event_type: str, start: datetime, end: datetime) -> int:
        query = (
            select(func.count())
            .select_from(lot_t.join(event_t, event_t.c.id == lot_t.c.source))
            .where(
                lot_t.c.customer == customer,
                lot_t.c.earned_at >= start,
                lot_t.c.earned_at < end,
                event_t.c.type == event_type,
            )
        )
        return int(self.conn.execute(query).scalar_one())

    def qualifying(self, customer: str, since: datetime | None) -> tuple[int, datetime | None]:
        query = select(
            func.coalesce(func.sum(lot_t.c.points - lot_t.c.refunded), 0),
            func.min(lot_t.c.earned_at),
        ).where(lot_t.c.customer == customer, lot_t.c.qualifies.is_(True))
        if since is not None:
            query = query.where(lot_t.c.earned_at >= since)
        total, earliest = self.conn.execute(query).one()
        return int(total), aware(earliest)

    def refunds(self, order_ids: Collection[str]) -> dict[str, list[tuple[str, Decimal]]]:
        if not order_ids:
            return {}
        rows = self.conn.execute(
            select(event_t.c.id, event_t.c.order_id, event_t.c.payload).where(
                event_t.c.order_id.in_(sorted(order_ids)), event_t.c.type == "order.refunded"
            )
        )
        found: dict[str, list[tuple[str, Decimal]]] = {}
        for row in rows:
            order = json.loads(row.payload).get("order") or {}
            try:
                amount = Decimal(str(order.get("refund_total")))
            except InvalidOperation:
                continue
            found.setdefault(row.order_id, []).append((row.id, amount))
        return found

    def write(
        self,
        account: Account,
        entries: Sequence[Entry],
        lots: Collection[Lot],
        redemption: Redemption | None = None,
    ) -> None:
        customer = account.customer
        rows = write_rows(customer, entries, lots, redemption)
        if rows["entries"]:
            self.conn.execute(ledger_t.insert(), rows["entries"])
        if rows["lots"]:
            insert = dialect_insert(self.conn)(lot_t)
            changing = ("remaining", "matured", "refunded")
            self.conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["customer", "lot"],
                    set_={name: insert.excluded[name] for name in changing},
                ),
                rows["lots"],
            )
        if rows["redemptions"]:
            self.conn.execute(redemption_t.insert(), rows["redemptions"])
        self.conn.execute(
            update(account_t)
            .where(account_t.c.customer == customer)
            .values(**account_values(account))
        )

    def grant_level(self, customer: str, level: str, coupon: str | None, at: datetime) -> bool:
        insert = dialect_insert(self.conn)(grant_t).on_conflict_do_nothing(
            index_elements=["customer", "level"]
        )
        done = self.conn.execute(
            insert, {"customer": customer, "level": level, "coupon": coupon, "at": at}
        )
        return bool(done.rowcount)

    def redemption(self, customer: str, key: str) -> Redemption | None:
        row = self.conn.execute(
            select(redemption_t).where(
                redemption_t.c.customer == customer, redemption_t.c.key == key
            )
        ).first()
        if row is None:
            return None
        at = aware(row.at)
        assert at is not None
        return Redemption(row.key, row.reward, row.coupon, int(row.points), at)

    def take_stock(self, reward: str, stock: int) -> bool:
        insert = dialect_insert(self.conn)(stock_t).on_conflict_do_nothing(
            index_elements=["reward"]
        )
        self.conn.execute(insert, {"reward": reward, "given": 0})
        done = self.conn.execute(
            update(stock_t)
            .where(stock_t.c.reward == reward, stock_t.c.given < stock)
            .values(given=stock_t.c.given + 1)
        )
        return bool(done.rowcount)

    def pool_code(self, owner: str, prize: str) -> str | None:
        c = coupon_t.c
        query = (
            select(c.code)
            .where(c.campaign == owner, c.prize == prize, c.seq.is_(None))
            .order_by(c.position)
            .limit(1)
        )
        if self.postgres:
            query = query.with_for_update(skip_locked=True)
        code = self.conn.execute(query).scalar()
        if code is None:
            return None
        self.conn.execute(update(coupon_t).where(c.campaign == owner, c.code == code).values(seq=0))
        return str(code)

    def pattern_code(self, owner: str, prize: str, code: str) -> bool:
        insert = dialect_insert(self.conn)(coupon_t).on_conflict_do_nothing(
            index_elements=["campaign", "code"]
        )
        done = self.conn.execute(
            insert, {"campaign": owner, "code": code, "prize": prize, "position": None, "seq": 0}
        )
        return bool(done.rowcount)

    def grant_plays(self, grants: Sequence[tuple[str, str, int]]) -> None:
        for campaign, scope, count in grants:
            insert = dialect_insert(self.conn)(counter_t)
            self.conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["campaign", "scope"],
                    set_={"value": counter_t.c.value + insert.excluded.value},
                ),
                {"campaign": campaign, "scope": scope, "value": count},
            )
