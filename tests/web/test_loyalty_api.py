"""``/api/me/loyalty`` and ``/api/me/loyalty/redeem`` (CONTRACT §10) through a host app, every
answer checked against /openapi.json; the signals the host app hears; bad input of every kind
answered with its problem code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import bearer, checked_client, make_app
from flask import Flask
from flask.testing import FlaskClient

from gamify.signals import points_changed, reward_granted, tier_changed
from gamify.web.state import state

KEY = "events-key-for-loyalty"
LOYALTY = """\
loyalty:
  timezone: Europe/Madrid
  earn:
    - {event: order.paid, points_per_unit: 1}
  pending_days: 14
  expire_after_days: 365
  tiers:
    levels:
      - {id: bronce, label: {es: Bronce, en: Bronze}, min: 0}
      - id: plata
        label: {es: Plata, en: Silver}
        min: 100
        reward: {coupon: {pattern: "PLATA-{code:8}"}, label: {es: "Regalo", en: "Gift"}}
  rewards:
    - id: envio
      label: {es: "Envío gratis", en: "Free shipping"}
      description: {es: "En tu próximo pedido", en: "On your next order"}
      cost: 30
      stock: 1
      coupon: {pattern: "ENVIO-{code:8}"}
"""


@pytest.fixture
def loyalty_app(tmp_path: Path, campaigns_dir: Path) -> Iterator[Flask]:
    (campaigns_dir / "loyalty.yaml").write_text(LOYALTY, encoding="utf-8")
    app = make_app(tmp_path / "store", campaigns_dir, GAMIFY_EVENTS_KEY=KEY)
    yield app
    state(app).engine.dispose()


@pytest.fixture
def client(loyalty_app: Flask) -> FlaskClient:
    checked, _ = checked_client(loyalty_app)
    return checked


def _customer(app: Flask, customer: str = "ana") -> dict[str, str]:
    return bearer(state(app).tokens.sign(customer))


def _order(client: FlaskClient, order_id: str, total: str, customer: str = "ana") -> None:
    event = {
        "id": f"paid-{order_id}", "type": "order.paid", "customer": customer,
        "occurred_at": datetime.now(UTC).isoformat(),
        "order": {"id": order_id, "total": total, "currency": "EUR"},
    }  # fmt: skip
    assert client.post("/gamify/api/events", json=event, headers=bearer(KEY)).status_code == 200


def _usable(app: Flask) -> None:
    """The return window over: the service's clock moves 15 days on."""
    later = datetime.now(UTC) + timedelta(days=15)
    state(app).service.clock = lambda: later


def test_without_a_programme_the_endpoints_are_not_found(app: Flask) -> None:
    checked, _ = checked_client(app)
    response = checked.get("/gamify/api/me/loyalty", headers=_customer(app))
    assert response.status_code == 404 and "loyalty.yaml" in response.get_json()["detail"]


def test_a_customer_sees_points_tier_and_rewards_in_their_language(
    loyalty_app: Flask, client: FlaskClient
) -> None:
    _order(client, "o1", "59.90")
    who = _customer(loyalty_app)
    body = client.get("/gamify/api/me/loyalty?lang=es", headers=who).get_json()
    assert (body["points"]["available"], body["points"]["pending"]) == (0, 59)
    assert [e["points"] for e in body["points"]["expiring"]] == [59]  # a year after usable
    assert body["tier"]["id"] == "bronce" and body["tier"]["label"] == "Bronce"
    assert body["tier"]["next"] == {
        "id": "plata",
        "label": "Plata",
        "min": 100,
        "points_needed": 41,
    }
    assert body["rewards"] == [
        {"id": "envio", "label": "Envío gratis", "description": "En tu próximo pedido",
         "cost": 30, "affordable": False},
    ]  # fmt: skip
    english = client.get(
        "/gamify/api/me/loyalty", headers={**_customer(loyalty_app), "Accept-Language": "en"}
    )
    assert english.get_json()["rewards"][0]["label"] == "Free shipping"
    _usable(loyalty_app)
    later = client.get("/gamify/api/me/loyalty", headers=who).get_json()
    assert later["points"]["available"] == 59 and later["points"]["expiring"][0]["points"] == 59


def test_redeeming_gives_a_coupon_once_per_key_and_refuses_what_it_cannot(
    loyalty_app: Flask, client: FlaskClient
) -> None:
    _order(client, "o1", "80")
    who = _customer(loyalty_app)
    path = "/gamify/api/me/loyalty/redeem"
    poor = client.post(path, json={"reward": "envio"}, headers={**who, "Idempotency-Key": "k0"})
    assert poor.status_code == 409 and poor.get_json()["code"] == "insufficient_points"
    _usable(loyalty_app)
    made = client.post(path, json={"reward": "envio"}, headers={**who, "Idempotency-Key": "k1"})
    assert made.status_code == 201
    body = made.get_json()
    assert body["coupon"].startswith("ENVIO-") and body["points"] == 30
    assert body["available"] == 50
    again = client.post(path, json={"reward": "envio"}, headers={**who, "Idempotency-Key": "k1"})
    assert again.status_code == 200 and again.get_json()["coupon"] == body["coupon"]
    sold_out = client.post(path, json={"reward": "envio"}, headers={**who, "Idempotency-Key": "k2"})
    assert sold_out.status_code == 409 and sold_out.get_json()["code"] == "out_of_stock"
    problems: dict[str, tuple[dict[str, Any], str | None, str]] = {
        "unknown reward": ({"reward": "yacht"}, "k3", "reward_not_found"),
        "no key": ({"reward": "envio"}, None, "invalid_request"),
        "not a string": ({"reward": 3}, "k4", "invalid_request"),
        "unknown field": ({"reward": "envio", "x": 1}, "k5", "invalid_request"),
        "key too long": ({"reward": "envio"}, "k" * 129, "invalid_request"),
        "key not visible ASCII": ({"reward": "envio"}, "clé", "invalid_request"),
    }
    for name, (payload, key, code) in problems.items():
        headers = {**who, "Idempotency-Key": key} if key else who
        answer = client.post(path, json=payload, headers=headers)
        assert answer.get_json()["code"] == code, name
    other = {**who, "Idempotency-Key": "k1"}
    conflict = client.post(path, json={"reward": "other"}, headers=other)
    assert conflict.status_code == 404  # an unknown reward is named before the key
    broken = client.post(path, data="{", headers={**who, "Content-Type": "application/json"})
    assert broken.status_code == 400
    anonymous = client.post(path, json={"reward": "envio"}, headers={"Idempotency-Key": "k9"})
    assert anonymous.status_code == 401


def test_the_host_app_hears_points_tiers_and_level_rewards(
    loyalty_app: Flask, client: FlaskClient
) -> None:
    heard: list[tuple[str, dict[str, Any]]] = []

    def record(name: str) -> Any:
        def receiver(sender: Flask, **data: Any) -> None:
            heard.append((name, data))

        return receiver

    receivers = {
        "points": record("points"),
        "tier": record("tier"),
        "reward": record("reward"),
    }
    with (
        points_changed.connected_to(receivers["points"], loyalty_app),
        tier_changed.connected_to(receivers["tier"], loyalty_app),
        reward_granted.connected_to(receivers["reward"], loyalty_app),
    ):
        _order(client, "o1", "20")
        _order(client, "o2", "150")
    names = [name for name, _ in heard]
    assert names.count("points") == 2
    tiers = [data for name, data in heard if name == "tier"]
    assert [(t["old"], t["new"]) for t in tiers] == [(None, "bronce"), ("bronce", "plata")]
    [reward] = [data for name, data in heard if name == "reward"]
    assert reward["level"] == "plata" and reward["challenge"] is None
    assert reward["reward"]["coupon"].startswith("PLATA-")
