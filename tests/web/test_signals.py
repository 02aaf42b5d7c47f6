"""The host app hears of plays through blinker, as Flask extensions tell their apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api_support import PREFIX, WHEEL, bearer
from flask import Flask
from flask.testing import FlaskClient

from gamify.signals import play_made

PLAYS = f"{PREFIX}/api/campaigns/{WHEEL}/plays"


def test_a_new_play_is_announced_once_with_the_app_as_sender(
    app: Flask, client: FlaskClient, token: Callable[[str], str]
) -> None:
    heard: list[tuple[Any, dict[str, Any]]] = []

    def listen(sender: Any, **data: Any) -> None:
        heard.append((sender, data))

    headers = {**bearer(token("alice")), "Idempotency-Key": "k-1"}
    with play_made.connected_to(listen, sender=app):
        first = client.post(PLAYS, headers=headers)
        again = client.post(PLAYS, headers=headers)  # the replay of a key: nothing new
    assert (first.status_code, again.status_code) == (201, 200)
    [(sender, data)] = heard
    assert sender is app
    assert (data["campaign"], data["customer"]) == (WHEEL, "alice")
    assert data["play"] == first.get_json()["play"]


def test_another_apps_receiver_hears_nothing(
    app: Flask, client: FlaskClient, token: Callable[[str], str]
) -> None:
    heard: list[Any] = []
    other = Flask("other")
    with play_made.connected_to(lambda sender, **data: heard.append(data), sender=other):
        assert client.post(PLAYS, headers=bearer(token("bob"))).status_code == 201
    assert heard == []
