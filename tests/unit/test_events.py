"""Store events are checked whole (CONTRACT §8): every mistake of a batch, by index and field,
and nothing half-accepted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamify.core.events import MAX_BATCH, InvalidEvents, check_events, parse_events

NOW = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)


def order(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": "evt-1",
        "type": "order.paid",
        "customer": "c-42",
        "occurred_at": "2026-11-28T11:30:00+01:00",
        "order": {
            "id": "o-1",
            "total": "59.90",
            "currency": "EUR",
            "items": [{"sku": "TSHIRT", "category": "ropa", "quantity": 2, "price": 29.95}],
            "coupons": ["BF10-ABCDEFGH"],
        },
    }
    event.update(changes)
    return event


def mistakes(body: Any) -> list[tuple[int, str]]:
    with pytest.raises(InvalidEvents) as raised:
        parse_events(body, NOW)
    return [(i.index, i.field) for i in raised.value.issues]


def test_an_order_is_normalised_to_utc_and_exact_amounts() -> None:
    [event] = parse_events(order(), NOW)
    assert event.occurred_at == datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
    assert (event.type, event.customer, event.order_id) == ("order.paid", "c-42", "o-1")
    payload = json.loads(event.payload_json())
    assert payload["occurred_at"] == "2026-11-28T10:30:00Z"
    assert payload["order"]["total"] == "59.90"
    assert payload["order"]["items"][0]["price"] == "29.95"  # a number kept exact, as text


def test_a_batch_and_custom_types_with_flat_attributes_are_accepted() -> None:
    quiz = {
        "id": "evt-2",
        "type": "quiz.answered_well",
        "customer": "c-42",
        "occurred_at": "2026-11-28T10:00:00Z",
        "attributes": {"score": 3, "passed": True, "topic": "otoño"},
    }
    events = parse_events({"events": [order(), quiz]}, NOW)
    assert [e.id for e in events] == ["evt-1", "evt-2"]
    assert json.loads(events[1].payload_json())["attributes"]["topic"] == "otoño"


@pytest.mark.parametrize(
    ("total", "reason"),
    [("12,50", "comma"), ("-1", "negative"), ("NaN", "nan"), ("1e309", "huge"),
     (float("inf"), "infinite"), (True, "boolean"), ("0.12345", "five decimals"),
     ("12.5.0", "two dots"), ("", "empty")],
)  # fmt: skip
def test_a_bad_amount_is_named_by_its_field(total: Any, reason: str) -> None:
    event = order()
    event["order"]["total"] = total
    assert mistakes(event) == [(0, "order.total")], reason


def test_every_mistake_of_every_event_is_reported_and_nothing_is_returned() -> None:
    bad_time = order(id="evt-2", occurred_at="2026-11-28 10:00")
    no_order = order(id="evt-3", type="order.refunded")
    del no_order["order"]
    long_attribute = order(id="evt-4", attributes={"note": "x" * 1001})
    future = order(id="evt-5", occurred_at="2026-11-28T11:06:00Z")  # 6 minutes ahead
    unknown = order(id="evt-6", colour="red")
    body = {"events": [order(), bad_time, no_order, long_attribute, future, unknown, order()]}
    assert mistakes(body) == [
        (1, "occurred_at"),
        (2, "order"),
        (3, "attributes.note"),
        (4, "occurred_at"),
        (5, "colour"),
        (6, "id"),  # the same id as event 0 of the batch
    ]


def test_a_time_within_five_minutes_ahead_is_a_clock_difference_not_a_mistake() -> None:
    assert parse_events(order(occurred_at="2026-11-28T11:04:59Z"), NOW)


def test_a_refund_names_its_order_and_amount() -> None:
    refund = order(type="order.refunded", order={"id": "o-1", "refund_total": "10"})
    [event] = parse_events(refund, NOW)
    assert json.loads(event.payload_json())["order"] == {"id": "o-1", "refund_total": "10"}
    assert mistakes(order(type="order.refunded", order={"id": "o-1", "total": "5"})) == [
        (0, "order.total"),
        (0, "order.refund_total"),
    ]


def test_a_batch_over_100_events_is_refused_whole() -> None:
    events = [order(id=f"e{i}") for i in range(MAX_BATCH + 1)]
    assert mistakes({"events": events}) == [(MAX_BATCH, "events")]
    assert len(parse_events({"events": events[:MAX_BATCH]}, NOW)) == MAX_BATCH


@pytest.mark.parametrize(
    "body",
    [[], "order", 7, None, {"events": []}, {"events": "all"}, {"id": "x"}],
)
def test_a_body_of_the_wrong_shape_is_a_mistake_not_a_crash(body: Any) -> None:
    with pytest.raises(InvalidEvents):
        parse_events(body, NOW)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=30,
)


@given(
    st.dictionaries(
        st.sampled_from(["id", "type", "customer", "occurred_at", "order", "attributes", "x"]), JSON
    )
)
def test_any_json_is_either_an_event_or_a_list_of_located_mistakes(body: dict[str, Any]) -> None:
    try:
        events = check_events([body], NOW)
    except InvalidEvents as exc:
        assert exc.issues and all(i.index == 0 and i.field and i.message for i in exc.issues)
    else:
        assert len(events) == 1 and events[0].occurred_at <= NOW.replace(minute=5)
