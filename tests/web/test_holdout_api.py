"""The holdout group (CONTRACT §11): a share of customers, fixed by the secret, never sees the
campaign; everyone a campaign sees is recorded once in their group, and a running campaign's
holdout cannot change."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from api_support import (
    CHALLENGE,
    PREFIX,
    SECRET,
    WHEEL,
    bearer,
    challenge_yaml,
    checked_client,
    make_app,
    write_campaign,
)
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from gamify.cli.main import cli
from gamify.core.holdout import holdout_group
from gamify.web.state import state

KEY = "events-key-for-tests"
API = f"{PREFIX}/api"


def _with_holdout(path: Path, percent: int) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith("holdout:")]
    path.write_text("\n".join([*kept, f"holdout: {percent}"]) + "\n", encoding="utf-8")


def _customers(campaign: str, percent: int) -> tuple[str, str]:
    """A customer of each group, found by the formula of CONTRACT §11 written out here."""
    found: dict[bool, str] = {}
    for n in range(1000):
        customer = f"customer-{n}"
        digest = hmac.new(
            SECRET.encode(), f"holdout:{campaign}:{customer}".encode(), hashlib.sha256
        )
        found.setdefault(
            int.from_bytes(digest.digest()[:8], "big") % 10_000 < percent * 100, customer
        )
        if len(found) == 2:
            return found[False], found[True]
    raise AssertionError("no customer of each group in 1000")


@pytest.fixture
def app(tmp_path: Path, campaigns_dir: Path) -> Iterator[Flask]:
    write_campaign(campaigns_dir, WHEEL, -1, 30)
    _with_holdout(campaigns_dir / f"{WHEEL}.yaml", 50)
    (campaigns_dir / f"{CHALLENGE}.yaml").write_text(challenge_yaml(), encoding="utf-8")
    _with_holdout(campaigns_dir / f"{CHALLENGE}.yaml", 50)
    made = make_app(tmp_path / "store", campaigns_dir, GAMIFY_EVENTS_KEY=KEY)
    yield made
    state(made).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    checked, _ = checked_client(app)  # every answer as /openapi.json says, no 5xx
    return checked


def _token(app: Flask, customer: str) -> dict[str, str]:
    return bearer(state(app).tokens.sign(customer))


def _assignments(app: Flask) -> dict[tuple[str, str], str]:
    with state(app).engine.connect() as conn:
        rows = conn.execute(text("SELECT campaign, customer, grp FROM gamify_assignment"))
        return {(r.campaign, r.customer): r.grp for r in rows}


def test_the_group_follows_the_contract_formula() -> None:
    treated, held = _customers(WHEEL, 10)
    assert holdout_group(SECRET.encode(), WHEEL, treated, 10) == "treatment"
    assert holdout_group(SECRET.encode(), WHEEL, held, 10) == "holdout"
    assert holdout_group(SECRET.encode(), WHEEL, held, 0) == "treatment"  # no holdout: all see it
    share = sum(holdout_group(b"k", "c", f"x{n}", 20) == "holdout" for n in range(20_000)) / 20_000
    assert 0.19 < share < 0.21


def test_a_holdout_customer_never_sees_the_game_and_nothing_is_consumed(
    app: Flask, client: FlaskClient
) -> None:
    treated, held = _customers(WHEEL, 50)
    shown = client.get(f"{API}/campaigns/{WHEEL}", headers=_token(app, treated))
    assert shown.status_code == 200 and shown.get_json()["plays_left"] == 3
    for response in (
        client.get(f"{API}/campaigns/{WHEEL}", headers=_token(app, held)),
        client.post(f"{API}/campaigns/{WHEEL}/plays", json={}, headers=_token(app, held)),
    ):
        assert response.status_code == 403, response.get_data(as_text=True)
        assert response.get_json()["code"] == "holdout"
    assert client.get(f"{API}/campaigns/{WHEEL}").status_code == 200  # public without a token
    assert (
        client.post(f"{API}/campaigns/{WHEEL}/plays", headers=_token(app, treated)).status_code
        == 201
    )
    with state(app).engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM gamify_play")).scalar_one() == 1
    assert _assignments(app) == {(WHEEL, treated): "treatment", (WHEEL, held): "holdout"}


def test_a_holdout_customer_gets_no_challenge_card_nor_quiz(
    app: Flask, client: FlaskClient
) -> None:
    treated, held = _customers(CHALLENGE, 50)
    mine = client.get(f"{API}/me/challenges", headers=_token(app, held)).get_json()
    assert mine == {"challenges": []}
    answer = client.post(
        f"{API}/campaigns/{CHALLENGE}/quiz",
        json={"step": "quiz", "answers": [1, 0]},
        headers=_token(app, held),
    )
    assert answer.status_code == 403 and answer.get_json()["code"] == "holdout"
    listed = client.get(f"{API}/me/challenges", headers=_token(app, treated)).get_json()
    assert [c["id"] for c in listed["challenges"]] == [CHALLENGE]
    assert _assignments(app)[(CHALLENGE, held)] == "holdout"


def test_events_in_the_window_assign_their_customers_to_campaigns_with_a_holdout(
    app: Flask, client: FlaskClient
) -> None:
    treated, held = _customers(WHEEL, 50)
    at = datetime.now(UTC).isoformat()
    events = [
        {"id": f"e-{c}", "type": "review.published", "customer": c, "occurred_at": at}
        for c in (treated, held)
    ]
    sent = client.post(f"{API}/events", json={"events": events}, headers=bearer(KEY))
    assert sent.status_code == 200
    found = _assignments(app)
    assert found[(WHEEL, treated)] == "treatment" and found[(WHEEL, held)] == "holdout"
    assert found[(CHALLENGE, held)] == "holdout"  # the challenge sees them too


def test_a_running_campaign_keeps_its_holdout_whatever_the_file_says(
    app: Flask, client: FlaskClient, campaigns_dir: Path
) -> None:
    _, held = _customers(WHEEL, 50)
    client.get(f"{API}/campaigns/{WHEEL}", headers=_token(app, held))  # assigns: 50 recorded
    _with_holdout(campaigns_dir / f"{WHEEL}.yaml", 10)
    report = state(app).registry.reload()
    [issue] = report.refused
    assert issue.path == "holdout" and "runs with holdout 50" in issue.message
    assert state(app).registry.get(WHEEL).holdout == 50  # the last good version runs on
    again = client.get(f"{API}/campaigns/{WHEEL}", headers=_token(app, held))
    assert again.status_code == 403


def test_check_against_the_database_refuses_a_changed_holdout_with_its_line(
    app: Flask, client: FlaskClient, campaigns_dir: Path
) -> None:
    _, held = _customers(WHEEL, 50)
    client.get(f"{API}/campaigns/{WHEEL}", headers=_token(app, held))  # assigns: 50 recorded
    url = state(app).engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    path = campaigns_dir / f"{WHEEL}.yaml"
    same = runner.invoke(cli, ["--database-url", url, "check", str(path)])
    assert same.exit_code == 0, same.output
    _with_holdout(path, 10)
    changed = runner.invoke(cli, ["--database-url", url, "check", str(path)])
    line = path.read_text(encoding="utf-8").splitlines().index("holdout: 10") + 1
    assert changed.exit_code == 1
    assert f"{path}:{line}:1: holdout: cannot change" in changed.output
    alone = runner.invoke(cli, ["check", str(path)])  # no database: the file alone is fine
    assert alone.exit_code == 0, alone.output
