"""Challenges through the API (CONTRACT §9): events move steps, quizzes are graded on the server,
each completed window is rewarded once (coupon, extra plays, points), refunds roll progress
back, and the host app hears about it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import (
    CHALLENGE,
    PREFIX,
    WHEEL,
    bearer,
    challenge_yaml,
    checked_client,
    make_app,
)
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from gamify import Gamify
from gamify.signals import challenge_completed, reward_granted
from gamify.web.state import state

KEY = "events-key-for-tests"
EVENTS = f"{PREFIX}/api/events"
QUIZ = f"{PREFIX}/api/campaigns/{CHALLENGE}/quiz"
RIGHT = [1, 0]


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def order(
    event_id: str, customer: str = "ana", total: str = "25.00", at: datetime | None = None
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "order.paid",
        "customer": customer,
        "occurred_at": iso(at or now_utc()),
        "order": {
            "id": f"o-{event_id}",
            "total": total,
            "currency": "EUR",
            "items": [{"sku": "MUG", "category": "home", "quantity": 1, "price": total}],
        },
    }


def review(event_id: str, customer: str = "ana") -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "review.published",
        "customer": customer,
        "occurred_at": iso(now_utc()),
    }


def refund(event_id: str, of: str, amount: str, customer: str = "ana") -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "order.refunded",
        "customer": customer,
        "occurred_at": iso(now_utc()),
        "order": {"id": f"o-{of}", "refund_total": amount},
    }


@pytest.fixture
def challenge_dir(campaigns_dir: Path) -> Path:
    (campaigns_dir / f"{CHALLENGE}.yaml").write_text(challenge_yaml(), encoding="utf-8")
    return campaigns_dir


@pytest.fixture
def challenge_app(tmp_path: Path, challenge_dir: Path) -> Any:
    app = make_app(tmp_path / "store", challenge_dir, GAMIFY_EVENTS_KEY=KEY)
    yield app
    state(app).engine.dispose()


@pytest.fixture
def client(challenge_app: Flask) -> FlaskClient:
    checked, _ = checked_client(challenge_app)  # every answer as /openapi.json says, no 5xx
    return checked


def token(app: Flask, customer: str = "ana") -> dict[str, str]:
    with app.app_context():
        return bearer(app.extensions["gamify"].tokens.sign(customer))


def send(client: FlaskClient, *events: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(EVENTS, json={"events": list(events)}, headers=bearer(KEY))
    assert response.status_code == 200, response.get_json()
    results: list[dict[str, Any]] = response.get_json()["results"]
    return results


def mine(client: FlaskClient, app: Flask, customer: str = "ana") -> dict[str, Any]:
    response = client.get(f"{PREFIX}/api/me/challenges", headers=token(app, customer))
    assert response.status_code == 200
    [found] = [c for c in response.get_json()["challenges"] if c["id"] == CHALLENGE]
    return dict(found)


def steps(item: dict[str, Any]) -> dict[str, tuple[Any, Any, bool]]:
    return {s["id"]: (s["progress"], s["target"], s["done"]) for s in item["steps"]}


def complete(client: FlaskClient, app: Flask, customer: str = "ana") -> dict[str, Any]:
    yesterday = now_utc() - timedelta(days=1)
    send(client, order(f"{customer}-1", customer, at=yesterday), order(f"{customer}-2", customer))
    send(client, review(f"{customer}-r", customer))
    answer = client.post(
        QUIZ, json={"step": "quiz", "answers": RIGHT}, headers=token(app, customer)
    )
    assert answer.status_code == 200, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def test_a_challenge_shows_its_steps_and_quiz_but_never_the_answers(
    client: FlaskClient, challenge_app: Flask
) -> None:
    response = client.get(f"{PREFIX}/api/campaigns/{CHALLENGE}?lang=es")
    body = response.get_json()
    assert response.status_code == 200
    assert body["game"] == "challenge" and body["title"] == "Reto de prueba"
    assert [s["id"] for s in body["steps"]] == ["orders", "review", "quiz"]
    quiz = body["steps"][2]["quiz"]
    assert quiz["pass"] == 2 and quiz["questions"][1]["options"] == ["a", "b", "c"]
    assert "answer" not in json.dumps(body)
    assert "progress" not in body
    with_token = client.get(f"{PREFIX}/api/campaigns/{CHALLENGE}", headers=token(challenge_app))
    assert with_token.get_json()["progress"]["status"] == "not_started"
    listed = client.get(f"{PREFIX}/api/campaigns").get_json()["campaigns"]
    assert {"id": CHALLENGE, "game": "challenge"}.items() <= next(
        c for c in listed if c["id"] == CHALLENGE
    ).items()


def test_orders_count_once_a_day_late_ones_in_their_own_day_small_ones_not_at_all(
    client: FlaskClient, challenge_app: Flask
) -> None:
    first = send(client, order("e1"))[0]
    assert first["progress"] == [
        {"challenge": CHALLENGE, "step": "orders", "progress": 1, "target": 2, "done": False}
    ]
    assert send(client, order("e2"))[0]["progress"] == []  # at_most 1 per day
    assert send(client, order("e3", total="19.99"))[0]["progress"] == []  # under min_total
    assert steps(mine(client, challenge_app))["orders"] == (1, 2, False)
    late = send(client, order("e4", at=now_utc() - timedelta(days=1)))[0]
    assert late["progress"][0]["done"] is True
    before_start = send(client, order("e5", at=now_utc() - timedelta(days=5)))[0]
    assert before_start["status"] == "accepted" and before_start["progress"] == []
    assert mine(client, challenge_app)["status"] == "in_progress"


def test_a_refund_rolls_back_what_its_order_gave(client: FlaskClient, challenge_app: Flask) -> None:
    send(client, order("e1"))
    partial = send(client, refund("r1", "e1", "3.00"))[0]  # 22 left: still 20 or more
    assert partial["progress"] == []
    assert steps(mine(client, challenge_app))["orders"] == (1, 2, False)
    below = send(client, refund("r2", "e1", "4.00"))[0]  # 18 left
    assert below["progress"][0]["progress"] == 0
    assert steps(mine(client, challenge_app))["orders"] == (0, 2, False)
    # the refunded order no longer fills the day: another order of the same day counts
    assert send(client, order("e2"))[0]["progress"][0]["progress"] == 1


def test_a_quiz_is_graded_on_the_server_with_limited_attempts(
    client: FlaskClient, challenge_app: Flask
) -> None:
    headers = token(challenge_app)
    wrong = client.post(QUIZ, json={"step": "quiz", "answers": [0, 0]}, headers=headers)
    assert wrong.get_json()["correct"] == 1 and wrong.get_json()["passed"] is False
    assert wrong.get_json()["attempts_left"] == 1
    right = client.post(QUIZ, json={"step": "quiz", "answers": RIGHT}, headers=headers).get_json()
    assert right["passed"] is True and right["attempts_left"] == 0
    assert steps(right["challenge"])["quiz"] == (1, 1, True)
    again = client.post(QUIZ, json={"step": "quiz", "answers": [0, 0]}, headers=headers)
    assert again.status_code == 200 and again.get_json()["passed"] is True  # stays passed
    other = token(challenge_app, "luis")
    for _ in range(2):
        client.post(QUIZ, json={"step": "quiz", "answers": [0, 1]}, headers=other)
    used = client.post(QUIZ, json={"step": "quiz", "answers": RIGHT}, headers=other)
    assert used.status_code == 429 and used.get_json()["code"] == "limit_reached"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"step": "orders", "answers": [1, 0]}, 400),
        ({"step": "nope", "answers": [1, 0]}, 400),
        ({"step": "quiz", "answers": [1]}, 400),
        ({"step": "quiz", "answers": [1, 3]}, 400),
        ({"step": "quiz", "answers": [True, 0]}, 400),
        ({"step": "quiz", "answers": "1,0"}, 400),
        ({"step": "quiz"}, 400),
        ({"step": "quiz", "answers": [1, 0], "extra": 1}, 400),
        ([1, 0], 400),
    ],
)
def test_a_bad_quiz_answer_is_refused_and_uses_no_attempt(
    client: FlaskClient, challenge_app: Flask, body: Any, status: int
) -> None:
    response = client.post(QUIZ, json=body, headers=token(challenge_app))
    assert response.status_code == status
    assert response.get_json()["code"] == "invalid_request"
    assert steps(mine(client, challenge_app))["quiz"] == (0, 1, False)
    assert mine(client, challenge_app)["steps"][2]["attempts_left"] == 2


def test_quiz_and_my_challenges_need_a_customer_token(client: FlaskClient) -> None:
    assert client.post(QUIZ, json={"step": "quiz", "answers": RIGHT}).status_code == 401
    assert client.get(f"{PREFIX}/api/me/challenges").status_code == 401
    forged = {"Authorization": "Bearer not-a-token"}
    assert client.get(f"{PREFIX}/api/me/challenges", headers=forged).status_code == 401


def test_a_challenge_is_not_played_and_a_game_has_no_quiz(
    client: FlaskClient, challenge_app: Flask
) -> None:
    played = client.post(f"{PREFIX}/api/campaigns/{CHALLENGE}/plays", headers=token(challenge_app))
    assert played.status_code == 404 and "challenge" in played.get_json()["detail"]
    quiz = client.post(
        f"{PREFIX}/api/campaigns/{WHEEL}/quiz",
        json={"step": "quiz", "answers": RIGHT},
        headers=token(challenge_app),
    )
    assert quiz.status_code == 404


def test_completing_rewards_once_with_a_coupon_an_extra_play_and_points(
    client: FlaskClient, challenge_app: Flask
) -> None:
    heard: list[tuple[str, dict[str, Any]]] = []

    def listen(name: str) -> Any:
        def receiver(sender: Flask, **data: Any) -> None:
            assert sender is challenge_app
            heard.append((name, data))

        return receiver

    completed, granted = listen("completed"), listen("granted")
    challenge_completed.connect(completed, challenge_app)
    reward_granted.connect(granted, challenge_app)
    try:
        answer = complete(client, challenge_app)
    finally:
        challenge_completed.disconnect(completed)
        reward_granted.disconnect(granted)
    item = answer["challenge"]
    assert item["status"] == "completed"
    coupon = item["reward"]["coupon"]
    assert coupon.startswith("RETO-") and len(coupon) == 13
    assert [name for name, _ in heard] == ["completed", "granted"]
    assert heard[1][1]["reward"]["coupon"] == coupon and heard[1][1]["customer"] == "ana"
    with state(challenge_app).engine.connect() as conn:
        points = conn.execute(text("SELECT customer, points FROM gamify_points")).all()
    assert [tuple(p) for p in points] == [("ana", 50)]
    # nothing more is given for more of the same, nor for a replayed event
    assert send(client, order("ana-3", at=now_utc() - timedelta(days=1)))[0]["rewards"] == []
    assert mine(client, challenge_app)["reward"]["coupon"] == coupon
    # the extra play: 3 a day, then one more, then none
    wheel = f"{PREFIX}/api/campaigns/{WHEEL}"
    headers = token(challenge_app)
    assert client.get(wheel, headers=headers).get_json()["plays_left"] == 4
    statuses = [client.post(f"{wheel}/plays", headers=headers).status_code for _ in range(5)]
    assert statuses == [201, 201, 201, 201, 429]


def test_the_event_that_completes_a_challenge_reports_its_reward(
    client: FlaskClient, challenge_app: Flask
) -> None:
    headers = token(challenge_app)
    client.post(QUIZ, json={"step": "quiz", "answers": RIGHT}, headers=headers)
    send(client, order("e1", at=now_utc() - timedelta(days=1)), review("r1"))
    [result] = send(client, order("e2"))
    [reward] = result["rewards"]
    assert reward["challenge"] == CHALLENGE and reward["rewarded"] is True
    assert reward["coupon"].startswith("RETO-") and reward["points"] == 50
    assert reward["plays"] == {"campaign": WHEEL, "count": 1}
    again = client.post(EVENTS, json=order("e2"), headers=bearer(KEY)).get_json()
    assert again["results"][0] == {"id": "e2", "status": "duplicate", "progress": [], "rewards": []}


def test_past_winners_max_a_completion_is_not_rewarded(tmp_path: Path, challenge_dir: Path) -> None:
    (challenge_dir / f"{CHALLENGE}.yaml").write_text(challenge_yaml(winners_max=1), "utf-8")
    app = make_app(tmp_path / "capped", challenge_dir, GAMIFY_EVENTS_KEY=KEY)
    client, _ = checked_client(app)
    try:
        first = complete(client, app, "ana")["challenge"]
        second = complete(client, app, "luis")["challenge"]
    finally:
        state(app).engine.dispose()
    assert first["reward"]["rewarded"] is True and "coupon" in first["reward"]
    assert second["status"] == "completed"
    assert second["reward"]["rewarded"] is False and "coupon" not in second["reward"]


def test_the_store_tracks_in_process_and_hears_the_same(challenge_app: Flask) -> None:
    gamify = Gamify()  # the extension keeps nothing: any instance works in an app context
    with challenge_app.app_context():
        result = gamify.track(order("in-1"))
        assert result["status"] == "accepted" and result["progress"][0]["progress"] == 1
        assert gamify.track(order("in-1"))["status"] == "duplicate"


def test_a_challenge_not_started_yet_shows_without_progress(
    tmp_path: Path, challenge_dir: Path
) -> None:
    today = datetime.now(UTC).date()
    later = challenge_yaml(starts=today + timedelta(days=10), ends=today + timedelta(days=20))
    (challenge_dir / f"{CHALLENGE}.yaml").write_text(later, "utf-8")
    app = make_app(tmp_path / "later", challenge_dir, GAMIFY_EVENTS_KEY=KEY)
    client, _ = checked_client(app)
    try:
        shown = client.get(f"{PREFIX}/api/campaigns/{CHALLENGE}", headers=token(app))
        early = client.post(QUIZ, json={"step": "quiz", "answers": RIGHT}, headers=token(app))
    finally:
        state(app).engine.dispose()
    assert shown.status_code == 200 and shown.get_json()["active"] is False
    assert "progress" not in shown.get_json()
    assert early.status_code == 409 and early.get_json()["code"] == "campaign_inactive"


def test_a_refund_sent_for_another_customer_takes_nothing_from_the_order(
    client: FlaskClient, challenge_app: Flask
) -> None:
    send(client, order("e1", total="25.00"))
    send(client, refund("r1", "e1", "25.00", customer="luis"))
    assert steps(mine(client, challenge_app))["orders"] == (1, 2, False)
    assert send(client, refund("r2", "e1", "2.00"))[0]["progress"] == []  # 23 left
    assert steps(mine(client, challenge_app))["orders"] == (1, 2, False)


def test_the_last_quiz_attempt_says_so(client: FlaskClient, challenge_app: Flask) -> None:
    headers = token(challenge_app)
    for _ in range(2):
        client.post(QUIZ, json={"step": "quiz", "answers": [0, 0]}, headers=headers)
    used = client.post(QUIZ, json={"step": "quiz", "answers": RIGHT}, headers=headers).get_json()
    assert used["code"] == "limit_reached" and "attempt" in used["detail"]
