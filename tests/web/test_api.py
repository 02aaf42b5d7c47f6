"""The HTTP API of CONTRACT §6 as a storefront, a shopper and an auditor use it.

Every response seen through the ``client`` fixture is also checked against the app's own
/openapi.json (tests/api_support.py), so these tests double as tests of the document.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_support import (
    FUTURE,
    ORIGIN,
    PREFIX,
    SECRET,
    TZ,
    WHEEL,
    OpenAPIChecker,
    bearer,
    campaign_yaml,
    checked_client,
    local_today,
    make_app,
)
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy import select

from gamify import Gamify
from gamify.audit.verify import verify_bundle
from gamify.campaigns.schema import campaign_schema
from gamify.core import fairness
from gamify.core.coupons import ALPHABET
from gamify.storage.tables import epoch_t
from gamify.web.problems import CODES
from gamify.web.state import state
from gamify.web.tokens import SALT

API = f"{PREFIX}/api"
PLAYS = f"{API}/campaigns/{WHEEL}/plays"
COUPON = re.compile(rf"^T10-[{ALPHABET}]{{8}}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


# -- helpers ----------------------------------------------------------------------------------


def seed_drawing(
    app: Flask,
    prize_id: str,
    nonce: int,
    customer: str,
    epoch: int = 0,
    campaign: str = WHEEL,
) -> str:
    """A client seed whose draw at the customer's ``nonce`` is ``prize_id`` (the test reads
    the server seed; the epoch draws with v2, which names the player)."""
    current = state(app)
    rules = current.registry.get(campaign).rules
    player = current.service.player(campaign, customer)
    with current.engine.connect() as conn:
        seed = conn.execute(
            select(epoch_t.c.server_seed).where(
                epoch_t.c.campaign == campaign, epoch_t.c.epoch == epoch
            )
        ).scalar_one()
    target = rules.index[prize_id]
    for i in itertools.count():
        candidate = f"seed-{i}"
        if fairness.draw(seed, campaign, candidate, nonce, rules.running, player) == target:
            return candidate
    raise AssertionError("unreachable")


def play(client: FlaskClient, token: str, **kwargs: Any) -> Any:
    headers = {**bearer(token), **kwargs.pop("headers", {})}
    return client.post(PLAYS, headers=headers, **kwargs)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["code"] == code and body["status"] == status
    assert body["title"] and body["detail"]
    return body


def save_bundle(client: FlaskClient, tmp_path: Path, campaign: str = WHEEL) -> Path:
    response = client.get(f"{API}/campaigns/{campaign}/audit.jsonl")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    path = tmp_path / f"{campaign}.jsonl"
    path.write_bytes(response.data)
    return path


def records(path: Path, kind: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [r for r in lines if r["type"] == kind]


def freeze(app: Flask, moment: datetime) -> None:
    state(app).service.clock = lambda: moment


# -- campaigns --------------------------------------------------------------------------------


def test_the_list_has_only_running_campaigns_in_the_asked_language(client: FlaskClient) -> None:
    english = client.get(f"{API}/campaigns").get_json()
    assert english["lang"] == "en"
    assert [c["id"] for c in english["campaigns"]] == [WHEEL]  # not FUTURE
    summary = english["campaigns"][0]
    assert summary["title"] == "Test wheel" and summary["active"] is True
    assert summary["game"] == "wheel" and summary["starts"].endswith("Z")

    spanish = client.get(f"{API}/campaigns?lang=es").get_json()
    assert spanish["lang"] == "es" and spanish["campaigns"][0]["title"] == "Rueda de prueba"
    by_header = client.get(f"{API}/campaigns", headers={"Accept-Language": "es-ES,es;q=0.9"})
    assert by_header.get_json()["campaigns"][0]["title"] == "Rueda de prueba"

    # ?lang= wins over the header; an unknown language falls back to the header, then English
    def lang(query: str, accept: str | None = None) -> str:
        headers = {"Accept-Language": accept} if accept else {}
        body: dict[str, Any] = client.get(f"{API}/campaigns{query}", headers=headers).get_json()
        return str(body["lang"])

    assert lang("?lang=en", "es") == "en"
    assert lang("?lang=es-MX", "en") == "es"
    assert lang("?lang=fr", "es") == "es"
    assert lang("?lang=fr") == "en"
    assert lang("", "de, fr;q=0.5") == "en"


def test_a_campaign_shows_texts_odds_schedule_and_commitment_but_no_stock(
    client: FlaskClient, app: Flask
) -> None:
    response = client.get(f"{API}/campaigns/{WHEEL}?lang=es")
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == WHEEL and body["game"] == "wheel" and body["lang"] == "es"
    assert body["title"] == "Rueda de prueba" and body["description"] == "Tres tiradas al día"
    assert body["timezone"] == TZ and body["active"] is True
    yesterday = local_today() - timedelta(days=1)
    starts = datetime.combine(yesterday, clock_time(0), ZoneInfo(TZ)).astimezone(UTC)
    assert body["starts"] == starts.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [p["id"] for p in body["prizes"]] == ["big", "ten-off", "try-again"]
    assert [p["segment"] for p in body["prizes"]] == [0, 1, 2]
    assert [p["probability"] for p in body["prizes"]] == [0.3, 0.3, 0.4]
    assert body["prizes"][1] == {
        "id": "ten-off",
        "label": "10 % de descuento",
        "color": "#17bebb",
        "probability": 0.3,
        "win": True,
        "segment": 1,
    }
    assert all("stock" not in p and "value" not in p and "weight" not in p for p in body["prizes"])
    assert body["fallback"] == "try-again"
    assert body["limits"] == [{"plays": 3, "per": "day"}]
    assert body["epoch"] == 0
    assert body["commitment"] == state(app).service.epochs(WHEEL)[0].commitment
    assert "plays_left" not in body and "next_play_at" not in body
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert "Authorization" in response.vary


def test_a_future_campaign_is_shown_inactive_and_refuses_plays(
    client: FlaskClient, token: Callable[[str], str]
) -> None:
    assert client.get(f"{API}/campaigns/{FUTURE}").get_json()["active"] is False
    response = client.post(f"{API}/campaigns/{FUTURE}/plays", headers=bearer(token("alice")))
    body = problem(response, 409, "campaign_inactive")
    assert "starts at" in body["detail"]


def test_unknown_campaigns_are_campaign_not_found_everywhere(
    client: FlaskClient, token: Callable[[str], str]
) -> None:
    for missing in ("nope", "UPPER", "x" * 65, "ünï", "a b"):
        base = f"{API}/campaigns/{missing}"
        problem(client.get(base), 404, "campaign_not_found")
        problem(client.get(f"{base}/fairness"), 404, "campaign_not_found")
        problem(client.get(f"{base}/audit.jsonl"), 404, "campaign_not_found")
        problem(
            client.post(f"{base}/plays", headers=bearer(token("alice"))), 404, "campaign_not_found"
        )


def test_the_campaign_schema_is_published(client: FlaskClient) -> None:
    response = client.get(f"{PREFIX}/schema/campaign.json")
    assert response.status_code == 200
    assert response.get_json() == campaign_schema()


# -- playing ----------------------------------------------------------------------------------


def test_a_play_returns_the_prize_its_coupon_and_what_is_left(
    client: FlaskClient, app: Flask, token: Callable[[str], str]
) -> None:
    seed = seed_drawing(app, "ten-off", 0, "alice")
    response = play(client, token("alice"), json={"client_seed": seed})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    record = body["play"]
    assert record["seq"] == 0 and record["epoch"] == 0 and record["nonce"] == 0
    assert record["client_seed"] == seed
    assert record["prize"] == {"id": "ten-off", "label": "10% off", "win": True, "color": "#17bebb"}
    assert record["drawn"] == "ten-off" and record["segment"] == 1
    assert COUPON.match(record["coupon"]), record["coupon"]
    assert record["commitment"] == state(app).service.epochs(WHEEL)[0].commitment
    assert HEX64.match(record["hash"]) and HEX64.match(record["config_hash"])
    assert record["at"].endswith("Z")
    assert body["plays_left"] == 2 and body["next_play_at"] is None

    # without a body the server picks the client seed; labels follow ?lang=
    second = client.post(f"{PLAYS}?lang=es", headers=bearer(token("alice")))
    assert second.status_code == 201
    assert fairness.is_client_seed(second.get_json()["play"]["client_seed"])
    assert second.get_json()["play"]["nonce"] == 1 and second.get_json()["plays_left"] == 1


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"", "application/json"),
        (b"", None),
        (b"", "text/plain"),
        (b"{}", "application/json"),
        (b"  {}\n", "application/json; charset=utf-8"),
        (b'{"client_seed": "abc"}', "application/vnd.example+json"),
    ],
)
def test_an_empty_body_or_a_json_object_is_a_play(
    client: FlaskClient, token: Callable[[str], str], data: bytes, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert play(client, token("alice"), data=data, headers=headers).status_code == 201


def test_an_idempotent_retry_returns_the_same_play_and_consumes_nothing(
    client: FlaskClient, app: Flask, token: Callable[[str], str], tmp_path: Path
) -> None:
    alice = token("alice")
    key = {"Idempotency-Key": "order-42-spin"}
    first = play(client, alice, headers=key, json={"client_seed": "abc"})
    assert first.status_code == 201
    again = play(client, alice, headers=key, json={"client_seed": "abc"})
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.get_json()["plays_left"] == 2
    detail = client.get(f"{API}/campaigns/{WHEEL}", headers=bearer(alice)).get_json()
    assert detail["plays_left"] == 2
    assert len(records(save_bundle(client, tmp_path), "play")) == 1

    # the key is alice's: the same key from bob is a new play of bob's
    bobs = play(client, token("bob"), headers=key)
    assert bobs.status_code == 201 and bobs.get_json()["play"]["seq"] == 1


def test_an_idempotency_key_must_be_visible_ascii(
    client: FlaskClient, token: Callable[[str], str]
) -> None:
    for bad in ("", "x" * 129, "has space"):
        response = play(client, token("alice"), headers={"Idempotency-Key": bad})
        problem(response, 400, "invalid_request")


@pytest.mark.parametrize(
    ("data", "content_type", "needle"),
    [
        (b'{"client_seed": ', "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "JSON object"),
        (b'"abc"', "application/json", "JSON object"),
        (b"[" * 5000 + b"]" * 5000, "application/json", "not valid JSON"),
        (b"[" * 16000, "application/json", "not valid JSON"),
        (b'{"client_seed": "ok", "prize": "big"}', "application/json", "'prize'"),
        (b'{"client_seed": "has space"}', "application/json", "client_seed"),
        (b'{"client_seed": ""}', "application/json", "client_seed"),
        (json.dumps({"client_seed": "x" * 65}).encode(), "application/json", "client_seed"),
        (b'{"client_seed": 123}', "application/json", "client_seed"),
        (b'{"client_seed": null}', "application/json", "client_seed"),
        (b"\xff\xfe{", "application/json", "not valid JSON"),
    ],
)
def test_a_malformed_body_is_invalid_request(
    client: FlaskClient,
    token: Callable[[str], str],
    data: bytes,
    content_type: str,
    needle: str,
) -> None:
    response = play(client, token("alice"), data=data, headers={"Content-Type": content_type})
    body = problem(response, 400, "invalid_request")
    assert needle in body["detail"]


def test_a_body_that_is_not_json_is_415(client: FlaskClient, token: Callable[[str], str]) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        response = play(client, token("alice"), data=b"client_seed=abc", headers=headers)
        body = problem(response, 415, "unsupported_media_type")
        assert "application/json" in body["detail"]


def test_a_huge_body_is_413_with_or_without_content_length(
    client: FlaskClient, app: Flask, token: Callable[[str], str]
) -> None:
    huge = json.dumps({"client_seed": "a" * (17 * 1024)}).encode()
    response = play(client, token("alice"), data=huge, content_type="application/json")
    problem(response, 413, "payload_too_large")
    streamed = play(
        client,
        token("alice"),
        input_stream=io.BytesIO(huge),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert streamed.request.content_length is None
    problem(streamed, 413, "payload_too_large")
    over_a_mebibyte = b'{"events": []' + b" " * (1024 * 1024) + b"}"  # events take up to 1 MiB
    problem(client.post(f"{API}/events", data=over_a_mebibyte), 413, "payload_too_large")
    # a body just under the limit is read (and refused for what it says, not its size)
    small = json.dumps({"client_seed": "a" * (15 * 1024)}).encode()
    problem(
        play(client, token("alice"), data=small, content_type="application/json"),
        400,
        "invalid_request",
    )
    assert state(app).settings.max_body == 16 * 1024


# -- tokens -----------------------------------------------------------------------------------


def test_plays_need_a_valid_customer_token(
    client: FlaskClient, app: Flask, token: Callable[[str], str]
) -> None:
    good = token("alice")
    other_store = URLSafeTimedSerializer("another-secret", salt=SALT).dumps("alice")
    wrong_salt = URLSafeTimedSerializer(SECRET, salt="other").dumps("alice")
    not_a_name = URLSafeTimedSerializer(SECRET, salt=SALT).dumps(["alice"])
    for headers in (
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {good}"},
        {"Authorization": f"Bearer {good[:-2]}xx"},
        {"Authorization": "Bearer not-a-token"},
        bearer(other_store),
        bearer(wrong_salt),
        bearer(not_a_name),
    ):
        response = client.post(PLAYS, headers=headers)
        problem(response, 401, "invalid_token")
        assert response.headers["Cache-Control"] == "no-store"
        problem(client.get(f"{API}/me/plays", headers=headers), 401, "invalid_token")
    # on the public campaign route a token is optional, but a bad one is still refused
    problem(client.get(f"{API}/campaigns/{WHEEL}", headers=bearer("forged")), 401, "invalid_token")
    assert not records_of(app)
    # the scheme is case-insensitive
    assert client.post(PLAYS, headers={"Authorization": f"bearer {good}"}).status_code == 201


def records_of(app: Flask) -> list[dict[str, Any]]:
    return list(state(app).service.customer_plays(state(app).registry.all(), "alice"))


class _PastSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 86400 - 60


def test_an_expired_token_says_it_expired(client: FlaskClient) -> None:
    expired = URLSafeTimedSerializer(SECRET, salt=SALT, signer=_PastSigner).dumps("alice")
    for response in (
        client.post(PLAYS, headers=bearer(expired)),
        client.get(f"{API}/me/plays", headers=bearer(expired)),
        client.get(f"{API}/campaigns/{WHEEL}", headers=bearer(expired)),
    ):
        body = problem(response, 401, "invalid_token")
        assert "expired" in body["detail"]


def test_a_customer_sees_and_plays_only_as_themselves(
    client: FlaskClient, token: Callable[[str], str]
) -> None:
    alice, bob = token("alice"), token("bob")
    mine = [play(client, alice).get_json()["play"] for _ in range(2)]
    theirs = play(client, bob).get_json()["play"]
    response = client.get(f"{API}/me/plays", headers=bearer(alice))
    assert response.headers["Cache-Control"] == "no-store"
    rows = response.get_json()["plays"]
    assert [(r["seq"], r["hash"]) for r in rows] == [(p["seq"], p["hash"]) for p in mine]
    assert all(r["campaign"] == WHEEL for r in rows)
    assert set(rows[0]) == {
        "seq",
        "campaign",
        "epoch",
        "nonce",
        "client_seed",
        "drawn",
        "awarded",
        "at",
        "hash",
        "coupon",
        "proof",
        "player",
        "config_hash",
        "prev_hash",
    }
    bobs = client.get(f"{API}/me/plays", headers=bearer(bob)).get_json()["plays"]
    assert [r["hash"] for r in bobs] == [theirs["hash"]]
    # alice used 2 of 3 plays, bob 1: each token reads its own allowance
    allowance = {
        name: client.get(f"{API}/campaigns/{WHEEL}", headers=bearer(t)).get_json()["plays_left"]
        for name, t in (("alice", alice), ("bob", bob), ("carol", token("carol")))
    }
    assert allowance == {"alice": 1, "bob": 2, "carol": 3}
    assert client.get(f"{API}/me/plays", headers=bearer(token("carol"))).get_json() == {"plays": []}


# -- limits -----------------------------------------------------------------------------------


def test_limit_reached_says_when_the_next_local_day_starts(
    client: FlaskClient, app: Flask, token: Callable[[str], str]
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    freeze(app, now)
    alice = token("alice")
    lefts = [play(client, alice).get_json()["plays_left"] for _ in range(3)]
    assert lefts == [2, 1, 0]
    response = play(client, alice)
    body = problem(response, 429, "limit_reached")
    assert body["type"] == "https://gamify.dev/problems/limit-reached"
    assert body["title"] == "Play limit reached"
    tz = ZoneInfo(TZ)
    midnight = datetime.combine(now.astimezone(tz).date() + timedelta(days=1), clock_time(0), tz)
    expected = midnight.astimezone(UTC)
    assert body["retry_at"] == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["retry_after"] == int((expected - now).total_seconds())
    assert response.headers["Retry-After"] == str(body["retry_after"])
    assert response.headers["Cache-Control"] == "no-store"
    assert body["retry_at"] in body["detail"]
    detail = client.get(f"{API}/campaigns/{WHEEL}", headers=bearer(alice)).get_json()
    assert detail["plays_left"] == 0 and detail["next_play_at"] == body["retry_at"]
    # the next local day, the limit has reset
    freeze(app, expected)
    assert play(client, alice).status_code == 201


def test_a_limit_per_campaign_never_resets(
    client: FlaskClient, app: Flask, campaigns_dir: Path, token: Callable[[str], str]
) -> None:
    today = local_today()
    (campaigns_dir / "once.yaml").write_text(
        campaign_yaml(
            "once", today - timedelta(days=1), today + timedelta(days=5), plays=1, per="campaign"
        ),
        encoding="utf-8",
    )
    state(app).registry.reload()
    url = f"{API}/campaigns/once/plays"
    assert client.post(url, headers=bearer(token("alice"))).status_code == 201
    response = client.post(url, headers=bearer(token("alice")))
    body = problem(response, 429, "limit_reached")
    assert body["retry_at"] is None and "retry_after" not in body
    assert "Retry-After" not in response.headers
    assert "no more plays in this campaign" in body["detail"]


@pytest.mark.parametrize(
    ("saturday", "sunday_midnight", "monday_midnight"),
    [
        # last Sunday of October 2026: the Sunday has 25 hours (CEST → CET)
        (date(2026, 10, 24), "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
        # last Sunday of March 2027: the Sunday has 23 hours (CET → CEST)
        (date(2027, 3, 27), "2027-03-27T23:00:00Z", "2027-03-28T22:00:00Z"),
    ],
)
def test_a_day_limit_follows_madrid_midnight_across_daylight_saving_changes(
    tmp_path: Path, saturday: date, sunday_midnight: str, monday_midnight: str
) -> None:
    folder = tmp_path / "dst"
    folder.mkdir()
    (folder / "dst-wheel.yaml").write_text(
        campaign_yaml("dst-wheel", date(2026, 10, 1), date(2027, 4, 30), plays=1), encoding="utf-8"
    )
    app = make_app(tmp_path / "store", folder)
    client, _ = checked_client(app)
    customer = bearer(state(app).tokens.sign("alice"))
    url = f"{API}/campaigns/dst-wheel/plays"
    tz = ZoneInfo(TZ)
    saturday_night = datetime.combine(saturday, clock_time(23, 30), tz).astimezone(UTC)
    sunday_early = datetime.combine(saturday + timedelta(days=1), clock_time(0, 30), tz)
    sunday_early = sunday_early.astimezone(UTC)
    assert sunday_early - saturday_night == timedelta(hours=1)

    def attempt(moment: datetime) -> Any:
        freeze(app, moment)
        return client.post(url, headers=customer)

    first = attempt(saturday_night)
    assert first.status_code == 201
    late = saturday_night + timedelta(minutes=10)
    refused = problem(attempt(late), 429, "limit_reached")
    assert refused["retry_at"] == sunday_midnight and refused["retry_after"] == 20 * 60

    second = attempt(sunday_early)  # an hour later, but another local day
    assert second.status_code == 201
    at = [r.get_json()["play"]["at"] for r in (first, second)]
    days = [datetime.fromisoformat(a.replace("Z", "+00:00")).astimezone(tz).date() for a in at]
    assert days == [saturday, saturday + timedelta(days=1)]
    later = sunday_early + timedelta(minutes=10)
    refused = problem(attempt(later), 429, "limit_reached")
    assert refused["retry_at"] == monday_midnight
    reset = datetime.fromisoformat(monday_midnight.replace("Z", "+00:00"))
    assert refused["retry_after"] == int((reset - later).total_seconds())
    assert attempt(reset).status_code == 201
    state(app).engine.dispose()


# -- stock, audit and fairness ----------------------------------------------------------------


def test_stock_is_never_exceeded_and_the_bundle_verifies(
    client: FlaskClient, app: Flask, token: Callable[[str], str], tmp_path: Path
) -> None:
    # every play draws `big` (stock 2): the first two award it, the rest get the fallback
    awarded = []
    for n in range(12):
        customer = f"customer-{n // 3}"
        seed = seed_drawing(app, "big", n % 3, customer)
        response = play(client, token(customer), json={"client_seed": seed})
        assert response.status_code == 201
        record = response.get_json()["play"]
        assert record["drawn"] == "big"
        awarded.append(record["prize"]["id"])
    assert awarded == ["big", "big"] + ["try-again"] * 10
    # and many more random plays by many customers
    for i in range(60):
        assert play(client, token(f"shopper-{i // 3}")).status_code == 201

    path = save_bundle(client, tmp_path)
    plays = records(path, "play")
    counts = Counter(r["awarded"] for r in plays)
    assert counts["big"] == 2 and len(plays) == 72
    assert [r["seq"] for r in plays] == list(range(72))
    report = verify_bundle(path)
    assert report.plays == 72 and report.unrevealed_plays == 72
    assert report.awarded["big"] == 2


def test_fairness_publishes_the_commitment_and_reveals_the_seed_after_rotation(
    client: FlaskClient, app: Flask, token: Callable[[str], str], tmp_path: Path
) -> None:
    before = client.get(f"{API}/campaigns/{WHEEL}/fairness")
    assert before.status_code == 200
    body = before.get_json()
    assert body["campaign"] == WHEEL and body["algorithm"] == "gamify-fairness-v2"
    assert body["audit_url"] == f"{API}/campaigns/{WHEEL}/audit.jsonl"
    [epoch0] = body["epochs"]
    assert epoch0["epoch"] == 0 and HEX64.match(epoch0["commitment"])
    assert epoch0["server_seed"] is None and epoch0["revealed_at"] is None
    first = play(client, token("alice")).get_json()["play"]
    assert first["commitment"] == epoch0["commitment"]

    state(app).service.rotate(WHEEL)
    after = client.get(f"{API}/campaigns/{WHEEL}/fairness").get_json()
    revealed, opened = after["epochs"]
    assert revealed["commitment"] == epoch0["commitment"]
    seed = revealed["server_seed"]
    assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == epoch0["commitment"]
    assert revealed["revealed_at"].endswith("Z")
    assert opened["epoch"] == 1 and opened["server_seed"] is None
    # the revealed seed re-derives the play that was made under it
    rules = state(app).registry.get(WHEEL).rules
    player = state(app).service.player(WHEEL, "alice")
    drawn = fairness.draw(seed, WHEEL, first["client_seed"], first["nonce"], rules.running, player)
    assert rules.prizes[drawn].id == first["drawn"]

    detail = client.get(f"{API}/campaigns/{WHEEL}").get_json()
    assert detail["epoch"] == 1 and detail["commitment"] == opened["commitment"]
    second = play(client, token("alice")).get_json()["play"]
    assert (second["epoch"], second["nonce"], second["seq"]) == (1, 0, 1)
    report = verify_bundle(save_bundle(client, tmp_path))
    assert report.plays == 2 and report.unrevealed_plays == 1 and report.revealed_epochs == 1


def test_a_removed_campaign_stays_auditable(
    client: FlaskClient,
    app: Flask,
    campaigns_dir: Path,
    token: Callable[[str], str],
    tmp_path: Path,
) -> None:
    play(client, token("alice"))
    (campaigns_dir / f"{WHEEL}.yaml").unlink()
    state(app).registry.reload()
    problem(client.get(f"{API}/campaigns/{WHEEL}"), 404, "campaign_not_found")
    problem(play(client, token("alice")), 404, "campaign_not_found")
    assert client.get(f"{API}/campaigns/{WHEEL}/fairness").status_code == 200
    assert verify_bundle(save_bundle(client, tmp_path)).plays == 1


# -- HTTP behaviour ---------------------------------------------------------------------------


def test_wrong_methods_and_unknown_paths_are_problems_under_the_prefix_only(
    client: FlaskClient,
) -> None:
    response = client.delete(f"{API}/campaigns/{WHEEL}")
    body = problem(response, 405, "method_not_allowed")
    assert body["type"] == "about:blank" and body["title"] == "Method Not Allowed"
    assert "GET" in response.headers["Allow"]
    problem(client.get(PLAYS), 405, "method_not_allowed")
    problem(client.put(f"{API}/events"), 405, "method_not_allowed")
    for path in (f"{PREFIX}/nope", f"{API}/campaigns/", f"{PREFIX}", f"{API}/me"):
        problem(client.get(path), 404, "not_found")
    outside = client.get("/nope")
    assert outside.status_code == 404 and outside.mimetype == "text/html"
    assert client.get("/gamifyx/api/campaigns").mimetype == "text/html"


def test_host_error_pages_do_not_leak_into_the_api(tmp_path: Path, campaigns_dir: Path) -> None:
    app = make_app(tmp_path / "host", campaigns_dir)
    app.register_error_handler(404, lambda e: ("<h1>host 404</h1>", 404))
    app.register_error_handler(400, lambda e: ("<h1>host 400</h1>", 400))
    app.register_error_handler(405, lambda e: ("<h1>host 405</h1>", 405))
    client, _ = checked_client(app)
    problem(client.get(f"{PREFIX}/nope"), 404, "not_found")
    problem(client.get(f"{API}/campaigns/nope"), 404, "campaign_not_found")
    problem(client.delete(PLAYS), 405, "method_not_allowed")
    customer = bearer(state(app).tokens.sign("alice"))
    malformed = client.post(PLAYS, data=b"{", content_type="application/json", headers=customer)
    problem(malformed, 400, "invalid_request")
    assert client.get("/nope").get_data(as_text=True) == "<h1>host 404</h1>"
    state(app).engine.dispose()


def test_an_unexpected_error_is_logged_and_still_a_problem(
    app: Flask, token: Callable[[str], str], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(state(app).service, "play", broken)
    client = FlaskClient(app, app.response_class)  # this one may see a 500
    response = client.post(PLAYS, headers=bearer(token("alice")))
    body = problem(response, 500, "internal_error")
    assert "fire" not in body["detail"]
    assert "database on fire" in caplog.text


def test_cors_answers_allowed_origins_only(
    client: FlaskClient, token: Callable[[str], str]
) -> None:
    allowed = client.get(f"{API}/campaigns", headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in allowed.vary
    assert allowed.headers["Access-Control-Expose-Headers"] == "Retry-After"
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    # errors are readable by the storefront too
    refused = client.post(PLAYS, headers={"Origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN

    other = client.get(f"{API}/campaigns", headers={"Origin": "https://evil.example"})
    assert other.status_code == 200
    assert not [h for h, _ in other.headers.items() if h.lower().startswith("access-control-")]

    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    }
    ok = client.options(PLAYS, headers={"Origin": ORIGIN, **preflight})
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert ok.headers["Access-Control-Allow-Methods"] == "GET, POST, OPTIONS"
    assert ok.headers["Access-Control-Allow-Headers"] == (
        "Authorization, Content-Type, Idempotency-Key"
    )
    assert ok.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in ok.vary
    denied = client.options(PLAYS, headers={"Origin": "https://evil.example", **preflight})
    assert not [h for h, _ in denied.headers.items() if h.lower().startswith("access-control-")]


def test_only_customer_responses_are_no_store(
    client: FlaskClient, token: Callable[[str], str]
) -> None:
    alice = bearer(token("alice"))
    assert client.post(PLAYS, headers=alice).headers["Cache-Control"] == "no-store"
    assert client.get(f"{API}/me/plays", headers=alice).headers["Cache-Control"] == "no-store"
    with_token = client.get(f"{API}/campaigns/{WHEEL}", headers=alice)
    assert with_token.headers["Cache-Control"] == "no-store"
    for public in (f"{API}/campaigns", f"{API}/campaigns/{WHEEL}", f"{PREFIX}/openapi.json"):
        assert "no-store" not in client.get(public).headers.get("Cache-Control", "")


def test_events_are_closed_without_a_key_and_need_it_when_open(
    client: FlaskClient, tmp_path: Path, campaigns_dir: Path
) -> None:
    closed = problem(client.post(f"{API}/events", json={}), 404, "not_found")
    assert "closed" in closed["detail"]
    app = make_app(tmp_path / "events", campaigns_dir, GAMIFY_EVENTS_KEY="k-123")
    events, _ = checked_client(app)
    url = f"{API}/events"
    problem(events.post(url, json={}), 401, "invalid_token")
    problem(events.post(url, json={}, headers=bearer("wrong")), 401, "invalid_token")
    customer = state(app).tokens.sign("alice")
    problem(events.post(url, json={}, headers=bearer(customer)), 401, "invalid_token")
    body = problem(events.post(url, json={}, headers=bearer("k-123")), 400, "invalid_request")
    assert {"id", "type", "customer", "occurred_at"} <= {e["field"] for e in body["errors"]}
    state(app).engine.dispose()


# -- the OpenAPI document ---------------------------------------------------------------------


def test_the_openapi_document_is_valid_and_describes_every_route(
    client: FlaskClient, app: Flask, openapi: OpenAPIChecker
) -> None:
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate_openapi(document)
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": PREFIX}]
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(PREFIX)), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("gamify.")
        and not rule.endpoint.startswith("gamify.admin_")  # HTML pages for people, not API
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert routes == documented
    codes = document["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    assert set(codes) == set(CODES)
    assert {"invalid_token", "campaign_not_found", "campaign_inactive", "limit_reached"} <= set(
        codes
    )


def test_the_checker_rejects_a_response_that_breaks_the_document(
    client: FlaskClient, token: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gamify.web import api_campaigns

    original = api_campaigns.play_json

    def without_hash(*args: Any) -> dict[str, Any]:
        body = original(*args)
        del body["play"]["hash"]
        return body

    monkeypatch.setattr(api_campaigns, "play_json", without_hash)
    with pytest.raises(AssertionError, match=r"does not match /openapi\.json"):
        play(client, token("alice"))


def test_another_prefix_moves_everything(tmp_path: Path, campaigns_dir: Path) -> None:
    app = make_app(tmp_path / "promo", campaigns_dir, GAMIFY_URL_PREFIX="promo/")
    client, checker = checked_client(app)
    assert checker.spec["servers"] == [{"url": "/promo"}]
    assert client.get(f"/promo/api/campaigns/{WHEEL}").status_code == 200
    problem(client.get("/promo/nope"), 404, "not_found")
    assert client.get(f"{API}/campaigns").mimetype == "text/html"
    assert checker.validated
    state(app).engine.dispose()


# -- the extension ----------------------------------------------------------------------------


def test_the_widget_tag_escapes_the_campaign_and_signs_the_customer(app: Flask) -> None:
    with app.test_request_context("/"):
        html = render_template_string(
            "{{ gamify_widget(cid, customer_id='alice', lang='es') }}", cid='x"><script>'
        )
        assert html.startswith(f'<script src="{PREFIX}/widget.js" ')
        assert 'data-campaign="x&#34;&gt;&lt;script&gt;"' in html
        assert html.endswith(" defer></script>") and html.count("<script") == 1
        signed = re.search(r'data-customer="([^"]+)"', html)
        assert signed is not None
        assert state(app).tokens.customer(signed.group(1)) == "alice"
        assert 'data-lang="es"' in html


def test_two_apps_keep_their_own_plays(tmp_path: Path, campaigns_dir: Path) -> None:
    gamify = Gamify()
    apps = []
    for name in ("one", "two"):
        app = Flask(name, instance_path=str(tmp_path / name))
        app.config.update(
            GAMIFY_SECRET_KEY=f"secret-{name}",
            GAMIFY_DATABASE_URL=f"sqlite:///{tmp_path / name}.sqlite3",
            GAMIFY_CAMPAIGNS=str(campaigns_dir),
        )
        gamify.init_app(app)
        apps.append(app)
    one, two = apps
    c1, _ = checked_client(one)
    c2, _ = checked_client(two)
    with one.app_context():
        t1 = gamify.customer_token("alice")
    with two.app_context():
        t2 = gamify.customer_token("alice")
    assert play(c1, t1).status_code == 201
    assert len(c1.get(f"{API}/me/plays", headers=bearer(t1)).get_json()["plays"]) == 1
    assert c2.get(f"{API}/me/plays", headers=bearer(t2)).get_json() == {"plays": []}
    # each app signs with its own secret
    problem(c2.get(f"{API}/me/plays", headers=bearer(t1)), 401, "invalid_token")
    bundle = c2.get(f"{API}/campaigns/{WHEEL}/audit.jsonl").get_data(as_text=True)
    assert '"type":"play"' not in bundle
    for app in apps:
        state(app).engine.dispose()


def test_a_missing_secret_is_refused_by_name(tmp_path: Path, campaigns_dir: Path) -> None:
    app = Flask("nosecret", instance_path=str(tmp_path / "nosecret"))
    app.config["GAMIFY_CAMPAIGNS"] = str(campaigns_dir)
    with pytest.raises(RuntimeError, match="GAMIFY_SECRET_KEY"):
        Gamify(app)
