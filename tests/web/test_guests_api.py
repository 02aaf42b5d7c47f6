"""Guests (CONTRACT §13) over HTTP, on SQLite and PostgreSQL: a shopper without an account plays
a campaign with ``guests`` by email; limits count per mailbox (aliases included) and ``per_ip``
per client address; consent is recorded with the exact text's hash and language and exported by
``gamify leads``; ``gamify forget`` erases a person and leaves no trace of their address in the
database, while the audit bundle still verifies. Bad input is a problem+json, never a 5xx.
Every response is checked against the OpenAPI document."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import PREFIX, WHEEL, bearer, campaign_yaml, checked_client, local_today, make_app
from databases import KINDS, database_url
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, func, select

from gamify.audit.verify import verify_bundle
from gamify.cli.main import cli
from gamify.core.errors import AddressLimitReached
from gamify.services.guests import GuestEntry
from gamify.signals import lead_captured, play_made
from gamify.storage.tables import guest_t
from gamify.web.state import state

GUESTS = "guest-wheel"
API = f"{PREFIX}/api/campaigns/{GUESTS}"
CONSENT = {"es": "Quiero ofertas de la tienda por email", "en": "I want offers by email"}
EMAIL = "Ana.Perez+promo@GoogleMail.com"


def guest_campaign(*, per_ip: int = 5, min_age: int | None = None) -> str:
    today = local_today()
    text = campaign_yaml(GUESTS, today - timedelta(days=1), today + timedelta(days=30), plays=1)
    age = f"  min_age: {min_age}\n" if min_age else ""
    return (
        text
        + "guests:\n"
        + f'  consent: {{es: "{CONSENT["es"]}", en: "{CONSENT["en"]}"}}\n'
        + f"  per_ip: {{plays: {per_ip}, per: day}}\n"
        + age
    )


@pytest.fixture(params=KINDS)
def guest_app(
    request: pytest.FixtureRequest, tmp_path: Path, campaigns_dir: Path
) -> Iterator[Flask]:
    (campaigns_dir / f"{GUESTS}.yaml").write_text(guest_campaign(), encoding="utf-8")
    with database_url(request.param, tmp_path) as url:
        app = make_app(tmp_path / "store", campaigns_dir, GAMIFY_DATABASE_URL=url)
        yield app
        state(app).engine.dispose()


@pytest.fixture
def guest(guest_app: Flask) -> FlaskClient:
    client, _ = checked_client(guest_app)
    return client


def play(client: FlaskClient, body: dict[str, Any], address: str = "203.0.113.7", **kw: Any) -> Any:
    return client.post(f"{API}/plays", json=body, environ_base={"REMOTE_ADDR": address}, **kw)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["code"] == code
    return body


def test_a_guest_plays_with_an_email_and_gets_the_coupon_at_once(guest: FlaskClient) -> None:
    view = guest.get(f"{API}?lang=es").get_json()
    assert view["guests"] == {"consent": CONSENT["es"], "min_age": 18, "ask_age": False}
    assert guest.get(f"{PREFIX}/api/campaigns/{WHEEL}").get_json()["guests"] is None
    response = play(guest, {"email": EMAIL, "client_seed": "guest-seed"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["plays_left"] == 0 and body["play"]["client_seed"] == "guest-seed"
    if body["play"]["prize"]["id"] == "ten-off":
        assert body["play"]["coupon"].startswith("T10-")


def test_aliases_of_one_mailbox_share_its_limits(guest: FlaskClient) -> None:
    assert play(guest, {"email": EMAIL}).status_code == 201
    for alias in ("anaperez@gmail.com", " ANA.PEREZ@gmail.com ", "a.n.a.perez+x@googlemail.com"):
        body = problem(play(guest, {"email": alias}), 429, "limit_reached")
        assert "per day" in body["detail"] and body["retry_at"]
    other = play(guest, {"email": "ana.perez@example.com"})  # dots matter outside Gmail
    assert other.status_code == 201
    unicode = play(guest, {"email": "José@Ejemplo.España"})
    assert unicode.status_code == 201
    problem(play(guest, {"email": "josé@ejemplo.españa"}), 429, "limit_reached")


def test_per_ip_caps_plays_from_one_address_whatever_the_email(guest: FlaskClient) -> None:
    for n in range(5):
        assert play(guest, {"email": f"shopper{n}@example.com"}).status_code == 201
    body = problem(play(guest, {"email": "shopper9@example.com"}), 429, "limit_reached")
    assert "from one internet address" in body["detail"] and body["retry_at"]
    assert play(guest, {"email": "shopper9@example.com"}, "198.51.100.1").status_code == 201
    # an IPv6 subscriber has a whole /64: the cap counts the /64, not each address
    for n in range(5):
        address = f"2001:db8:1:2::{n + 1:x}"
        assert play(guest, {"email": f"six{n}@example.com"}, address).status_code == 201
    problem(
        play(guest, {"email": "six9@example.com"}, "2001:db8:1:2:ffff::1"), 429, "limit_reached"
    )
    assert play(guest, {"email": "six9@example.com"}, "2001:db8:1:3::1").status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({}, 400, "invalid_email", "email is required"),
        ({"email": ""}, 400, "invalid_email", "email is required"),
        ({"email": "not an email"}, 400, "invalid_email", "not a valid address"),
        ({"email": "ana@localhost"}, 400, "invalid_email", "not a valid address"),
        ({"email": "a@b@example.com"}, 400, "invalid_email", "not a valid address"),
        ({"email": "x" * 300 + "@example.com"}, 400, "invalid_email", "not a valid address"),
        ({"email": "temp@mailinator.com"}, 400, "invalid_email", "disposable"),
        ({"email": "temp@sub.mailinator.com"}, 400, "invalid_email", "disposable"),
        ({"email": 42}, 400, "invalid_request", "email must be a string"),
        ({"email": EMAIL, "marketing_consent": "yes"}, 400, "invalid_request", "true or false"),
        ({"email": EMAIL, "age_confirmed": 1}, 400, "invalid_request", "true or false"),
        ({"email": EMAIL, "name": "Ana"}, 400, "invalid_request", "unknown field"),
    ],
)
def test_bad_guest_input_is_a_clear_problem(
    guest: FlaskClient, body: dict[str, Any], status: int, code: str, words: str
) -> None:
    assert words in problem(play(guest, body), status, code)["detail"]


def test_a_campaign_without_guests_wants_a_token(guest: FlaskClient) -> None:
    response = guest.post(f"{PREFIX}/api/campaigns/{WHEEL}/plays", json={"email": EMAIL})
    assert "takes no guests" in problem(response, 401, "invalid_token")["detail"]
    empty = guest.post(f"{PREFIX}/api/campaigns/{WHEEL}/plays")
    problem(empty, 401, "invalid_token")


def test_a_customer_token_wins_over_guest_fields(guest: FlaskClient, guest_app: Flask) -> None:
    token = state(guest_app).tokens.sign("alice")
    response = play(guest, {"email": EMAIL, "marketing_consent": True}, headers=bearer(token))
    assert response.status_code == 201
    with guest_app.app_context():
        assert list(state(guest_app).service.leads(GUESTS)) == []


def test_min_age_is_asked_when_the_file_sets_it(
    guest: FlaskClient, guest_app: Flask, campaigns_dir: Path
) -> None:
    (campaigns_dir / f"{GUESTS}.yaml").write_text(guest_campaign(min_age=21), encoding="utf-8")
    state(guest_app).registry.reload()
    view = guest.get(f"{API}?lang=en").get_json()
    assert view["guests"] == {"consent": CONSENT["en"], "min_age": 21, "ask_age": True}
    body = problem(play(guest, {"email": EMAIL}), 400, "age_not_confirmed")
    assert "21 or older" in body["detail"]
    problem(play(guest, {"email": EMAIL, "age_confirmed": False}), 400, "age_not_confirmed")
    assert play(guest, {"email": EMAIL, "age_confirmed": True}).status_code == 201


def test_consent_is_recorded_once_with_the_texts_hash_and_exported_as_leads(
    guest: FlaskClient, guest_app: Flask, tmp_path: Path
) -> None:
    captured: list[dict[str, Any]] = []
    lead_captured.connect(lambda sender, **kw: captured.append(kw), guest_app, weak=False)
    first = play(guest, {"email": EMAIL, "marketing_consent": True}, query_string={"lang": "es"})
    assert first.status_code == 201
    again = play(
        guest,
        {"email": "anaperez@gmail.com", "marketing_consent": True},
        query_string={"lang": "es"},
    )
    problem(again, 429, "limit_reached")  # the consent of the same text is not recorded twice
    assert play(guest, {"email": "luis@example.com", "marketing_consent": False}).status_code == 201
    hostile = {"email": "=cmd@example.com", "marketing_consent": True}
    assert play(guest, hostile, query_string={"lang": "en"}).status_code == 201
    assert [c["email"] for c in captured] == ["Ana.Perez+promo@googlemail.com", "=cmd@example.com"]
    es = hashlib.sha256(CONSENT["es"].encode()).hexdigest()
    assert (captured[0]["lang"], captured[0]["text_hash"]) == ("es", es)
    out = tmp_path / "leads.csv"
    result = guest_app.test_cli_runner().invoke(args=["gamify", "leads", GUESTS, "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == ["email", "campaign", "consented_at", "lang", "consent_text_sha256"]
    assert [r[0] for r in rows[1:]] == ["Ana.Perez+promo@googlemail.com", "'=cmd@example.com"]
    assert rows[1][3:] == ["es", es]
    assert rows[2][3] == "en" and rows[1][2].endswith("Z")
    stdout = guest_app.test_cli_runner().invoke(args=["gamify", "leads", GUESTS])
    assert stdout.output.splitlines()[0].startswith("email,campaign")


def all_text(app: Flask) -> str:
    """Every value of every gamify table, as text: what a person's trace would show in."""
    engine = state(app).engine
    meta = MetaData()
    meta.reflect(engine)
    found = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                found.extend(str(v) for v in row)
    return "\n".join(found).lower()


def test_forget_erases_a_guest_and_the_bundle_still_verifies(
    guest: FlaskClient, guest_app: Flask, tmp_path: Path
) -> None:
    seen: list[str] = []
    play_made.connect(lambda sender, **kw: seen.append(kw["customer"]), guest_app, weak=False)
    assert play(guest, {"email": EMAIL, "marketing_consent": True}).status_code == 201
    assert play(guest, {"email": "luis@example.com", "marketing_consent": True}).status_code == 201
    assert "ana.perez+promo@googlemail.com" in all_text(guest_app)
    runner = guest_app.test_cli_runner()
    result = runner.invoke(args=["gamify", "forget", "anaperez@gmail.com"])  # another alias
    assert result.exit_code == 0 and "guest erased" in result.output, result.output
    dump = all_text(guest_app)
    for trace in ("ana.perez", "anaperez", "googlemail", seen[0].lower()):
        assert trace not in dump, trace
    assert "luis@example.com" in dump  # only that person
    leads = runner.invoke(args=["gamify", "leads", GUESTS]).output.splitlines()
    assert [line.split(",")[0] for line in leads[1:]] == ["luis@example.com"]
    again = runner.invoke(args=["gamify", "forget", EMAIL])
    assert "nothing to erase" in again.output
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_bytes(guest.get(f"{API}/audit.jsonl").data)
    assert verify_bundle(bundle).plays == 2
    if state(guest_app).engine.dialect.name == "sqlite":  # the file itself, and its log
        database = Path(str(state(guest_app).engine.url.database))
        for path in (database, database.with_name(database.name + "-wal")):
            if path.exists():
                raw = path.read_bytes().lower()
                assert b"ana.perez" not in raw and b"googlemail" not in raw, path
    # erased, the person may play again as anyone new would
    assert play(guest, {"email": EMAIL}).status_code == 201


def test_forget_a_store_customer_replaces_their_id_everywhere(
    guest: FlaskClient, guest_app: Flask
) -> None:
    token = state(guest_app).tokens.sign("customer-4711")
    assert play(guest, {}, headers=bearer(token)).status_code == 201
    assert "customer-4711" in all_text(guest_app)
    result = guest_app.test_cli_runner().invoke(args=["gamify", "forget", "customer-4711"])
    assert result.exit_code == 0 and "erased" in result.output, result.output
    assert "customer-4711" not in all_text(guest_app)
    bad = guest_app.test_cli_runner().invoke(args=["gamify", "forget", "nobody@@example.com"])
    assert bad.exit_code == 2 and "not a valid address" in bad.output


def test_standalone_cli_has_the_guest_commands() -> None:
    assert {"leads", "forget"} <= set(cli.commands)


def test_ten_thousand_guest_plays_from_one_address_get_per_ip_through(
    guest_app: Flask, tmp_path: Path
) -> None:
    """A script with 10,000 emails from one address: the cap holds, and once it is reached
    nothing more is written (no guest row, no consent) for the address."""
    current = state(guest_app)
    with guest_app.app_context():
        campaign = current.registry.find(GUESTS)
        played = refused = 0
        for n in range(10_000):
            entry = GuestEntry(f"bot{n}@example.com", marketing_consent=True)
            try:
                current.service.guest_play(campaign, entry, "192.0.2.66")
                played += 1
            except AddressLimitReached:
                refused += 1
        assert (played, refused) == (5, 9_995)
        assert len(list(current.service.leads(GUESTS))) == 5
        with current.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(guest_t)).scalar_one() == 5


def test_a_guests_retry_with_its_idempotency_key_replays_even_at_the_cap(
    guest: FlaskClient,
) -> None:
    """The answer to the last play the address may make is lost; the retry, with the same
    Idempotency-Key, gets that play back (200), not a 429."""
    for n in range(4):
        assert play(guest, {"email": f"early{n}@example.com"}).status_code == 201
    key = {"Idempotency-Key": "guest-retry-1"}
    first = play(guest, {"email": EMAIL, "marketing_consent": True}, headers=key)
    assert first.status_code == 201
    again = play(guest, {"email": "anaperez@gmail.com", "marketing_consent": True}, headers=key)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["play"] == first.get_json()["play"]
    other = play(guest, {"email": "new@example.com"}, headers={"Idempotency-Key": "k2"})
    problem(other, 429, "limit_reached")  # an unknown guest with a key gets no pass
    known_new_key = play(guest, {"email": EMAIL}, headers={"Idempotency-Key": "k3"})
    body = problem(known_new_key, 429, "limit_reached")  # the play itself holds the cap
    assert "from one internet address" in body["detail"]
