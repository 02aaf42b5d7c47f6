"""Store events (CONTRACT §8): what a store tells gamify its customers did, checked whole.

A batch is all or nothing, so every event of it is checked and every mistake reported with the
event's index and the field's path before anything is stored. An event that passes is
normalised (amounts as exact decimals, the time in UTC) into the form gamify keeps forever:
events are immutable, and a correction is a new event.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from gamify.core.canonical import canonical_json
from gamify.core.errors import InvalidRequest

MAX_BATCH = 100
MAX_REQUEST = 1024 * 1024
"""Bytes a request of events may have: a batch of 100 orders fits."""
KNOWN_TYPES = (
    "order.paid",
    "order.refunded",
    "account.created",
    "review.published",
    "newsletter.subscribed",
)
FUTURE_SLACK = timedelta(minutes=5)
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_TEXT = 1000
MAX_ITEMS = 1000
MAX_COUPONS = 50
MAX_CUSTOMER = 256

_ID = re.compile(r"[\x21-\x7e]{1,128}")
_TYPE = re.compile(r"[a-z][a-z0-9_.]{0,63}")
_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)
_AMOUNT = re.compile(r"\d{1,12}(?:\.\d{1,4})?")
_EVENT_KEYS = frozenset({"id", "type", "customer", "occurred_at", "order", "attributes"})
_ORDER_KEYS = frozenset({"id", "total", "currency", "items", "coupons"})
_REFUND_KEYS = frozenset({"id", "refund_total"})
_ITEM_KEYS = frozenset({"sku", "category", "quantity", "price"})


@dataclass(frozen=True)
class EventIssue:
    """One mistake: the event's position in the batch, the field's path, what is wrong."""

    index: int
    field: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


class InvalidEvents(InvalidRequest):
    """A batch refused whole; :attr:`issues` lists every mistake of every event."""

    def __init__(self, issues: Sequence[EventIssue]) -> None:
        self.issues = tuple(issues)
        first = self.issues[0]
        more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
        super().__init__(
            f"event {first.index}: {first.field}: {first.message}{more}; nothing was stored"
        )


@dataclass(frozen=True)
class Event:
    """An event as gamify keeps it: ``payload`` is its normalised JSON (amounts as strings).

    The payload's arrays are tuples: an event never changes, and the garbage collector stops
    following a tuple of plain values, where a list stays followed as long as a request keeps
    its events (hundreds, in a batch)."""

    id: str
    type: str
    customer: str
    occurred_at: datetime
    order_id: str | None
    payload: Mapping[str, Any]

    def payload_json(self) -> str:
        return canonical_json(dict(self.payload)).decode()


def parse_events(body: Any, now: datetime) -> list[Event]:
    """A request body (one event object, or ``{"events": [...]}``) into events, or
    :class:`InvalidEvents` with every mistake."""
    if isinstance(body, Mapping) and set(body) == {"events"}:
        raw = body["events"]
        if not isinstance(raw, list) or not raw:
            raise InvalidEvents([EventIssue(0, "events", "must be a list of 1 to 100 events")])
        if len(raw) > MAX_BATCH:
            message = f"a batch holds at most {MAX_BATCH} events (got {len(raw)})"
            raise InvalidEvents([EventIssue(MAX_BATCH, "events", message)])
    else:
        raw = [body]
    return check_events(raw, now)


def check_events(raw: Sequence[Any], now: datetime) -> list[Event]:
    issues: list[EventIssue] = []
    events: list[Event] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(raw):
        checker = _EventChecker(index, now)
        event = checker.event(item)
        issues.extend(checker.issues)
        if event is None:
            continue
        if event.id in first_index:
            message = f"the same id as event {first_index[event.id]} of this batch"
            issues.append(EventIssue(index, "id", message))
            continue
        first_index[event.id] = index
        events.append(event)
    if issues:
        raise InvalidEvents(issues)
    return events


class _EventChecker:
    def __init__(self, index: int, now: datetime) -> None:
        self.index = index
        self.now = now
        self.issues: list[EventIssue] = []

    def report(self, field: str, message: str) -> None:
        self.issues.append(EventIssue(self.index, field, message))

    def keys(self, value: Any, field: str, allowed: frozenset[str]) -> Mapping[str, Any] | None:
        if not isinstance(value, dict | Mapping):  # dict first: what JSON gives, and quick
            self.report(field or "event", "must be an object")
            return None
        if value.keys() <= allowed:  # nothing to report: no set made (a batch asks hundreds)
            return value
        for key in sorted(set(value) - allowed, key=str):
            path = f"{field}.{key}" if field else str(key)
            self.report(path, f"unknown field; allowed: {', '.join(sorted(allowed))}")
        return value

    def text(self, value: Any, field: str, longest: int) -> str | None:
        if not isinstance(value, str) or not value or len(value) > longest:
            self.report(field, f"must be a string of 1 to {longest} characters")
            return None
        return value

    def amount(self, value: Any, field: str) -> Decimal | None:
        """A decimal string or a number, 0 or more, at most 12 digits and 4 decimals."""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.report(field, 'must be an amount: a decimal string such as "12.50" or a number')
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.report(field, "must be a finite amount")
            return None
        text = value if isinstance(value, str) else repr(value)
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or not _AMOUNT.fullmatch(f"{amount:f}"):
            self.report(
                field,
                f'must be an amount of 0 or more with a dot for decimals, such as "12.50" '
                f"(got {text[:40]!r})",
            )
            return None
        return amount

    def event(self, value: Any) -> Event | None:
        fields = self.keys(value, "", _EVENT_KEYS)
        if fields is None:
            return None
        before = len(self.issues)
        for key in ("id", "type", "customer", "occurred_at"):
            if key not in fields:
                self.report(key, "required field missing")
        event_id = type_ = customer = None
        occurred = None
        if "id" in fields:
            event_id = fields["id"] if _matches(_ID, fields["id"]) else None
            if event_id is None:
                self.report("id", "must be 1 to 128 visible ASCII characters")
        if "type" in fields:
            type_ = fields["type"] if _matches(_TYPE, fields["type"]) else None
            if type_ is None:
                self.report("type", "must match [a-z][a-z0-9_.]{0,63}, such as order.paid")
        if "customer" in fields:
            customer = self.text(fields["customer"], "customer", MAX_CUSTOMER)
        if "occurred_at" in fields:
            occurred = self.moment(fields["occurred_at"])
        order = self.order(fields, type_)
        attributes = self.attributes(fields.get("attributes"))
        if len(self.issues) > before or None in (event_id, type_, customer, occurred):
            return None
        assert event_id and type_ and customer and occurred
        payload: dict[str, Any] = {
            "id": event_id,
            "type": type_,
            "customer": customer,
            "occurred_at": occurred.isoformat().replace("+00:00", "Z"),
        }
        if order is not None:
            payload["order"] = order
        if attributes:
            payload["attributes"] = attributes
        return Event(
            id=event_id,
            type=type_,
            customer=customer,
            occurred_at=occurred,
            order_id=order["id"] if order else None,
            payload=payload,
        )

    def moment(self, value: Any) -> datetime | None:
        if not _matches(_RFC3339, value):
            self.report(
                "occurred_at",
                "must be an RFC 3339 time with an offset, such as 2026-11-27T18:30:00+01:00",
            )
            return None
        try:
            moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            self.report("occurred_at", "is not a real date and time")
            return None
        moment = moment.astimezone(UTC)
        if moment > self.now + FUTURE_SLACK:
            self.report("occurred_at", "is more than 5 minutes in the future")
            return None
        return moment

    def order(self, fields: Mapping[str, Any], type_: str | None) -> dict[str, Any] | None:
        value = fields.get("order")
        if type_ is not None and type_.startswith("order.") and value is None:
            self.report("order", f"required for {type_} events")
            return None
        if value is None:
            return None
        refund = type_ == "order.refunded"
        order = self.keys(value, "order", _REFUND_KEYS if refund else _ORDER_KEYS)
        if order is None:
            return None
        result: dict[str, Any] = {}
        if "id" not in order:
            self.report("order.id", "required field missing")
        else:
            result["id"] = self.text(order["id"], "order.id", 128)
        if refund:
            if "refund_total" not in order:
                self.report("order.refund_total", "required field missing")
            else:
                result["refund_total"] = _shown(
                    self.amount(order["refund_total"], "order.refund_total")
                )
            return result
        if "total" not in order:
            self.report("order.total", "required field missing")
        else:
            result["total"] = _shown(self.amount(order["total"], "order.total"))
        if "currency" in order:
            if not _matches(_CURRENCY, order["currency"]):
                self.report("order.currency", "must be an ISO 4217 code such as EUR")
            result["currency"] = order["currency"]
        result["items"] = self.items(order.get("items", []))
        coupons = order.get("coupons", [])
        if not isinstance(coupons, list) or len(coupons) > MAX_COUPONS:
            self.report("order.coupons", f"must be a list of at most {MAX_COUPONS} codes")
        else:
            result["coupons"] = tuple(
                [self.text(code, f"order.coupons[{i}]", 128) for i, code in enumerate(coupons)]
            )
        return result

    def items(self, value: Any) -> tuple[dict[str, Any], ...]:
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            self.report("order.items", f"must be a list of at most {MAX_ITEMS} items")
            return ()
        items = []
        for i, raw in enumerate(value):
            path = f"order.items[{i}]"
            item = self.keys(raw, path, _ITEM_KEYS)
            if item is None:
                continue
            for key in ("sku", "quantity", "price"):
                if key not in item:
                    self.report(f"{path}.{key}", "required field missing")
            quantity = item.get("quantity")
            if "quantity" in item and (
                isinstance(quantity, bool)
                or not isinstance(quantity, int)
                or not 1 <= quantity <= 1_000_000
            ):
                self.report(f"{path}.quantity", "must be a whole number from 1 to 1000000")
            items.append(
                {
                    "sku": self.text(item.get("sku"), f"{path}.sku", 128)
                    if "sku" in item
                    else None,
                    "category": (
                        self.text(item["category"], f"{path}.category", 128)
                        if "category" in item
                        else None
                    ),
                    "quantity": quantity,
                    "price": (
                        _shown(self.amount(item["price"], f"{path}.price"))
                        if "price" in item
                        else None
                    ),
                }
            )
        return tuple(items)

    def attributes(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping) or len(value) > MAX_ATTRIBUTES:
            self.report("attributes", f"must be an object of at most {MAX_ATTRIBUTES} values")
            return {}
        result: dict[str, Any] = {}
        for key, item in value.items():
            path = f"attributes.{key}"
            if not _matches(_KEY, key):
                self.report(path, "names are 1 to 64 characters of A-Z, a-z, 0-9, _, . and -")
            elif isinstance(item, str):
                if len(item) > MAX_ATTRIBUTE_TEXT:
                    self.report(path, f"text of at most {MAX_ATTRIBUTE_TEXT} characters")
                result[key] = item
            elif isinstance(item, bool) or (isinstance(item, int | float) and math.isfinite(item)):
                result[key] = item
            else:
                self.report(path, "must be a string, a finite number or a boolean (flat)")
        return result


def _matches(pattern: re.Pattern[str], value: Any) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _shown(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:f}"
