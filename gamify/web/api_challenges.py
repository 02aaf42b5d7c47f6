"""Challenges for the shopper (CONTRACT §9): a challenge as ``GET /api/campaigns/<id>`` shows it
(its quiz questions and options, never which option is right), the customer's challenges with
their progress, and a quiz attempt graded on the server."""

from __future__ import annotations

from typing import cast

from flask import Response

from gamify.core.challenge import Challenge, Reward, Step, Window
from gamify.core.errors import CampaignNotFound, InvalidRequest
from gamify.core.progress import Tally
from gamify.core.rules import iso_utc
from gamify.services.challenges import challenge_status, step_views
from gamify.web import shapes
from gamify.web.api_events import announce
from gamify.web.auth import customer_id
from gamify.web.blueprint import blueprint
from gamify.web.http import find_any, json_object_body, json_response, negotiate
from gamify.web.state import GamifyState, state

_QUIZ_KEYS = frozenset({"step", "answers"})


def find_challenge(current: GamifyState, campaign_id: str) -> Challenge:
    found = find_any(current, campaign_id)
    if not isinstance(found, Challenge):
        raise CampaignNotFound(campaign_id)
    return found


def challenge_view(current: GamifyState, challenge: Challenge, customer: str | None) -> Response:
    """``GET /api/campaigns/<id>`` of a challenge."""
    now = current.service.clock()
    lang = negotiate(challenge.title.languages)
    window = challenge.window(now)
    reward = challenge.reward
    body: shapes.ChallengeView = {
        "id": challenge.id,
        "game": "challenge",
        "lang": lang,
        "title": challenge.title.get(lang),
        "description": challenge.description.get(lang) if challenge.description else None,
        "timezone": challenge.timezone,
        "starts": iso_utc(challenge.starts),
        "ends": iso_utc(challenge.ends),
        "active": challenge.is_running(now),
        "complete": challenge.complete,
        "repeat": challenge.repeat,
        "winners_max": challenge.winners_max,
        "window": (
            {"starts": iso_utc(window.starts), "ends": iso_utc(window.ends)} if window else None
        ),
        "steps": [_step(step, lang) for step in challenge.steps],
        "reward": {
            "label": reward.label.get(lang),
            "value": float(reward.value) if reward.value is not None else None,
            "points": reward.points,
            "plays": _plays(reward),
            "coupon": reward.coupon is not None,
        },
    }
    if customer is not None:
        for _, shown, tally in current.service.standings([challenge], customer):  # once started
            body["progress"] = _standing(challenge, shown, tally, lang, current)
    return json_response(body, vary=("Accept-Language", "Authorization"))


@blueprint.get("/api/me/challenges")
def my_challenges() -> Response:
    current = state()
    customer = customer_id(required=True)
    assert customer is not None
    lang = negotiate(("es", "en"))
    shown = [
        challenge
        for challenge in current.registry.challenges()
        if current.service.group(challenge, customer) != "holdout"
    ]
    standings = current.service.standings(shown, customer)
    body: shapes.ChallengeList = {
        "challenges": [
            _standing(challenge, window, tally, lang, current)
            for challenge, window, tally in standings
        ]
    }
    return json_response(body, vary=("Accept-Language",))


@blueprint.post("/api/campaigns/<campaign_id>/quiz")
def quiz(campaign_id: str) -> Response:
    current = state()
    customer = customer_id(required=True)
    assert customer is not None
    challenge = find_challenge(current, campaign_id)
    body = json_object_body(_QUIZ_KEYS)
    step = body.get("step")
    if not isinstance(step, str):
        raise InvalidRequest("step must be the id of a quiz step")
    if "answers" not in body:
        raise InvalidRequest("answers is required: one option index per question")
    result = current.service.answer_quiz(challenge, customer, step, body["answers"])
    if result.granted is not None:
        announce([result.granted])
    lang = negotiate(challenge.title.languages)
    [(_, window, tally)] = current.service.standings([challenge], customer)
    answer: shapes.QuizResult = {
        "correct": result.correct,
        "passed": result.passed,
        "attempts_left": result.attempts_left,
        "challenge": _standing(challenge, window, tally, lang, current),
    }
    return json_response(answer)


def _plays(reward: Reward) -> shapes.ExtraPlays | None:
    return cast("shapes.ExtraPlays | None", reward.plays_json())  # the shape it declares


def _step(step: Step, lang: str) -> shapes.ChallengeStep:
    view: shapes.ChallengeStep = {
        "id": step.id,
        "label": step.label.get(lang),
        "kind": "quiz" if step.quiz is not None else "event",
        "event": step.event,
        "target": float(step.goal) if step.sum else int(step.goal),
        "sum": step.sum,
    }
    if step.quiz is not None:
        view["quiz"] = {
            "pass": step.quiz.pass_mark,
            "attempts": step.quiz.attempts,
            "questions": [
                {"text": q.text.get(lang), "options": [o.get(lang) for o in q.options]}
                for q in step.quiz.questions
            ],
        }
    return view


def _standing(
    challenge: Challenge, window: Window, tally: Tally, lang: str, current: GamifyState
) -> shapes.MyChallenge:
    """One item of ``GET /api/me/challenges``."""
    now = current.service.clock()
    reward = challenge.reward
    shown_reward: shapes.MyReward = {
        "label": reward.label.get(lang),
        "points": reward.points,
        "plays": _plays(reward),
    }
    if tally.completed:
        shown_reward["rewarded"] = tally.rewarded
        if tally.coupon is not None:
            shown_reward["coupon"] = tally.coupon
    return {
        "id": challenge.id,
        "title": challenge.title.get(lang),
        "status": challenge_status(challenge, window, tally, now),
        "ends": iso_utc(window.ends),
        "challenge_ends": iso_utc(challenge.ends),
        "window": window.key,
        "steps": step_views(challenge, tally, lang),  # type: ignore[typeddict-item]
        "reward": shown_reward,
    }
