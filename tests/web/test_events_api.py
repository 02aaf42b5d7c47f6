"""``POST /gamify/api/events`` and ``gamify.track``: events stored once each, batches all or
nothing, every refusal a problem (CONTRACT §8)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from api_support import PREFIX, bearer, checked_client, make_app
from databases import postgres_database
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from gamify import Gamify
from gamify.core.events import InvalidEvents
from gamify.web.state import state

EVENTS = f"{PREFIX}/api/events"
KEY = "events-key-for-tests"


def event(event_id: str = "evt-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": event_id,
        "type": "order.paid",
        "customer": "c-42",
        "occurred_at": "2026-11-28T10:00:00Z",
        "order": {
            "id": f"o-{event_id}",
            "total": "25.00",
            "currency": "EUR",
            "items": [{"sku": "MUG", "quantity": 1, "price": "25.00"}],
        },
    }
    body.update(changes)
    return body


@pytest.fixture
def events_app(tmp_path: Path, campaigns_dir: Path) -> Any:
    app = make_app(tmp_path / "store", campaigns_dir, GAMIFY_EVENTS_KEY=KEY)
    yield app
    state(app).engine.dispose()


@pytest.fixture
def events_client(events_app: Flask) -> FlaskClient:
    client, _ = checked_client(events_app)  # every answer as /openapi.json says, no 5xx
    return client


def stored(app: Flask) -> int:
    with state(app).engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM gamify_event")).scalar_one())


def test_an_event_is_accepted_once_and_a_replay_changes_nothing(
    events_client: FlaskClient, events_app: Flask
) -> None:
    first = events_client.post(EVENTS, json=event(), headers=bearer(KEY))
    assert first.status_code == 200
    assert first.get_json() == {
        "results": [{"id": "evt-1", "status": "accepted", "progress": [], "rewards": []}]
    }
    again = events_client.post(EVENTS, json=event(), headers=bearer(KEY))
    assert again.get_json()["results"][0]["status"] == "duplicate"
    assert stored(events_app) == 1


def test_a_batch_with_one_bad_event_stores_nothing_and_names_each_mistake(
    events_client: FlaskClient, events_app: Flask
) -> None:
    bad = event("evt-2")
    bad["order"]["total"] = "12,50"
    batch = {"events": [event("evt-1"), bad, event("evt-3", customer="")]}
    response = events_client.post(EVENTS, json=batch, headers=bearer(KEY))
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["code"] == "invalid_request"
    assert [(e["index"], e["field"]) for e in problem["errors"]] == [
        (1, "order.total"),
        (2, "customer"),
    ]
    assert stored(events_app) == 0
    fixed = {"events": [event("evt-1"), event("evt-2"), event("evt-3")]}
    results = events_client.post(EVENTS, json=fixed, headers=bearer(KEY)).get_json()["results"]
    assert [r["status"] for r in results] == ["accepted"] * 3


def test_a_batch_of_100_orders_fits_and_a_body_over_1_mib_is_413(
    events_client: FlaskClient, events_app: Flask
) -> None:
    items = [{"sku": f"SKU-{i:04d}", "category": "hogar", "quantity": 1, "price": "9.99"}
             for i in range(20)]  # fmt: skip
    batch = {"events": [event(f"e{i}") for i in range(100)]}
    for item in batch["events"]:
        item["order"]["items"] = items
    body = json.dumps(batch)
    assert 16 * 1024 < len(body) < 1024 * 1024  # over the default body limit, under 1 MiB
    response = events_client.post(
        EVENTS, data=body, content_type="application/json", headers=bearer(KEY)
    )
    assert response.status_code == 200 and len(response.get_json()["results"]) == 100
    huge = json.dumps({"events": [event("big", attributes={"note": "x" * 1000})] * 1100})
    assert len(huge) > 1024 * 1024
    too_large = events_client.post(
        EVENTS, data=huge, content_type="application/json", headers=bearer(KEY)
    )
    assert too_large.status_code == 413
    assert stored(events_app) == 100


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [({}, 401, "invalid_token"), (bearer("wrong"), 401, "invalid_token")],
)
def test_a_missing_or_wrong_key_is_refused(
    events_client: FlaskClient, headers: dict[str, str], status: int, code: str
) -> None:
    response = events_client.post(EVENTS, json=event(), headers=headers)
    assert (response.status_code, response.get_json()["code"]) == (status, code)


def test_events_are_closed_without_a_key(client: FlaskClient) -> None:
    response = client.post(EVENTS, json=event(), headers=bearer(KEY))
    assert (response.status_code, response.get_json()["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"events": "x"}', b'{"id": 1}', b"{}", b"null"]
)
def test_malformed_bodies_are_problems_never_5xx(events_client: FlaskClient, body: bytes) -> None:
    response = events_client.post(
        EVENTS, data=body, content_type="application/json", headers=bearer(KEY)
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_the_app_tracks_events_in_process(events_app: Flask) -> None:
    gamify = Gamify()
    with events_app.app_context():
        assert gamify.track(event())["status"] == "accepted"
        results = gamify.track_many([event(), event("evt-2")])
        assert [r["status"] for r in results] == ["duplicate", "accepted"]
        with pytest.raises(InvalidEvents) as raised:
            gamify.track(event("evt-3", occurred_at="yesterday"))
        assert raised.value.issues[0].field == "occurred_at"
    assert stored(events_app) == 2


@pytest.mark.postgres
def test_two_workers_receiving_the_same_events_at_once_store_each_once(
    tmp_path: Path, campaigns_dir: Path
) -> None:
    """Two apps (two workers' pools) on one PostgreSQL database, the same batch sent by 8
    threads at once: each event is accepted exactly once over all the answers."""
    with postgres_database("gamify_test") as url:
        apps = [
            make_app(tmp_path / f"w{i}", campaigns_dir, GAMIFY_DATABASE_URL=url,
                     GAMIFY_EVENTS_KEY=KEY)
            for i in range(2)
        ]  # fmt: skip
        batch = {"events": [event(f"e{i}") for i in range(20)]}
        statuses: list[str] = []
        barrier = threading.Barrier(8)

        def send(app: Flask) -> None:
            client = app.test_client()
            barrier.wait()
            response = client.post(EVENTS, json=batch, headers=bearer(KEY))
            assert response.status_code == 200, response.get_data(as_text=True)
            statuses.extend(r["status"] for r in response.get_json()["results"])

        threads = [threading.Thread(target=send, args=(apps[i % 2],)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert statuses.count("accepted") == 20 and statuses.count("duplicate") == 140
        assert stored(apps[0]) == 20
        for app in apps:
            state(app).engine.dispose()
