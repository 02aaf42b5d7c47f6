"""The JSON Schema of a challenge file (``game: challenge``, CONTRACT §9), for editors.

Like the games' schema it cannot say everything (an answer index within its options, a reward's
campaign existing in the folder), so :mod:`gamify.campaigns.check_challenge` stays the judge.
"""

from __future__ import annotations

from typing import Any

from gamify.campaigns.check_challenge import (
    AT_MOST_KEYS,
    CHALLENGE_KEYS,
    CHALLENGE_REQUIRED,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    MAX_STEPS,
    PLAYS_KEYS,
    QUESTION_KEYS,
    QUIZ_KEYS,
    REWARD_KEYS,
    STEP_KEYS,
    WHERE_KEYS,
)
from gamify.campaigns.schema_parts import _holdout, _moment, _money, _slug, _text
from gamify.core.challenge import AT_MOST_PERS, COMPLETES, REPEATS

_EVENT = "^[a-z][a-z0-9_.]{0,63}$"
_NAMES = {
    "oneOf": [
        {"type": "string", "minLength": 1, "maxLength": 128},
        {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {"type": "string", "minLength": 1, "maxLength": 128},
        },
    ]
}
_SCALAR = {"type": ["string", "number", "boolean"]}


def challenge_schema() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "id": _slug(
            "The challenge's name in links and the storefront tag: lowercase letters, digits and "
            "dashes, unique among the folder's campaigns.",
            "autumn-challenge",
        ),
        "game": {"const": "challenge", "description": "A challenge of steps."},
        "title": _text("The headline shoppers see on the challenge card."),
        "description": _text("Optional: a line under the title."),
        "timezone": {
            "description": "The time zone of start and end, of weekly and monthly windows and "
            "of at_most days and weeks, as an IANA name such as Europe/Madrid.",
            "type": "string",
            "examples": ["Europe/Madrid"],
        },
        "starts": _moment("When the challenge opens."),
        "ends": _moment("When it closes; must be after the start."),
        "steps": {
            "description": f"1 to {MAX_STEPS} steps, in the order shoppers see them.",
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_STEPS,
            "items": _step(),
        },
        "complete": {
            "description": "all: every step is needed; any: one step is enough.",
            "enum": list(COMPLETES),
            "default": "all",
        },
        "repeat": {
            "description": "never: one window for the whole challenge; week or month: the "
            "challenge starts again (Monday or the 1st, midnight local time).",
            "enum": list(REPEATS),
            "default": "never",
        },
        "winners_max": {
            "description": "Optional: how many completions are rewarded in all.",
            "type": "integer",
            "minimum": 1,
        },
        "reward": _reward(),
        "holdout": _holdout(),
    }
    assert tuple(properties) == CHALLENGE_KEYS
    return {
        "description": "A challenge: steps customers complete by what they do in the store "
        "(orders, reviews…) and quizzes, and the reward for completing them.",
        "type": "object",
        "additionalProperties": False,
        "required": list(CHALLENGE_REQUIRED),
        "properties": properties,
    }


def _step() -> dict[str, Any]:
    where_keys = [k for k in WHERE_KEYS if k != "attributes"]
    properties: dict[str, Any] = {
        "id": _slug("The step's id, unique in the challenge.", "orders"),
        "label": _text("What the shopper must do, as the card shows it."),
        "event": {
            "description": "The event type the step counts: order.paid, review.published, "
            "account.created, newsletter.subscribed, or a custom type of the store.",
            "type": "string",
            "pattern": _EVENT,
            "examples": ["order.paid"],
        },
        "where": {
            "description": "Optional: which events count. Order conditions need an order.* "
            "event; attributes.NAME compares an event attribute.",
            "type": "object",
            "properties": {
                "min_total": _money("Orders of at least this total.", None),
                "max_total": _money("Orders of at most this total.", None),
                "category": {
                    "description": "An item of this category (or any of a list).",
                    **_NAMES,
                },
                "sku": {"description": "An item of this SKU (or any of a list).", **_NAMES},
                "attributes": {
                    "description": "Attributes the event must have, with these values.",
                    "type": "object",
                    "additionalProperties": _SCALAR,
                },
            },
            "patternProperties": {"^attributes\\.[A-Za-z0-9_.-]{1,64}$": _SCALAR},
            "additionalProperties": False,
        },
        "count": {"description": "How many events are needed.", "type": "integer", "minimum": 1},
        "sum": {
            "description": "Instead of count: add up total (order totals), quantity (items) "
            "or attributes.NAME (a number), up to target.",
            "type": "string",
            "pattern": "^(total|quantity|attributes\\.[A-Za-z0-9_.-]{1,64})$",
        },
        "target": _money("With sum: the sum to reach.", 0),
        "at_most": {
            "description": "Optional: at most this many events count per local day or week.",
            "type": "object",
            "additionalProperties": False,
            "required": list(AT_MOST_KEYS),
            "properties": {
                "times": {"type": "integer", "minimum": 1},
                "per": {"enum": list(AT_MOST_PERS)},
            },
        },
        "quiz": _quiz(),
    }
    assert tuple(properties) == STEP_KEYS and set(where_keys) <= set(WHERE_KEYS)
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "label"],
        "properties": properties,
        "oneOf": [
            {"required": ["quiz"], "not": {"required": ["event"]}},
            {
                "required": ["event"],
                "not": {"required": ["quiz"]},
                "oneOf": [
                    {"required": ["count"], "not": {"required": ["sum"]}},
                    {"required": ["sum", "target"], "not": {"required": ["count"]}},
                ],
            },
        ],
    }


def _quiz() -> dict[str, Any]:
    question = {
        "type": "object",
        "additionalProperties": False,
        "required": list(QUESTION_KEYS),
        "properties": {
            "text": _text("The question."),
            "options": {
                "description": f"2 to {MAX_OPTIONS} options.",
                "type": "array",
                "minItems": 2,
                "maxItems": MAX_OPTIONS,
                "items": {"$ref": "#/$defs/text"},
            },
            "answer": {
                "description": "The right option's index (0 is the first); never shown to "
                "shoppers.",
                "type": "integer",
                "minimum": 0,
            },
        },
    }
    return {
        "description": "A quiz graded on the server.",
        "type": "object",
        "additionalProperties": False,
        "required": list(QUIZ_KEYS),
        "properties": {
            "pass": {"description": "Right answers needed.", "type": "integer", "minimum": 1},
            "attempts": {
                "description": "Attempts per customer and window.",
                "type": "integer",
                "minimum": 1,
            },
            "questions": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_QUESTIONS,
                "items": question,
            },
        },
    }


def _reward() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "label": _text("What the shopper gets, as the card shows it."),
        "value": _money("Optional: the reward's cost, for reports.", None),
        "coupon": {
            "description": "Optional: a coupon code, from a pattern or a pool file (a pool "
            "needs winners_max of at most its codes).",
            "$ref": "#/$defs/coupon",
        },
        "plays": {
            "description": "Optional: extra plays of a wheel or scratch campaign of this "
            "folder, beyond its limits.",
            "type": "object",
            "additionalProperties": False,
            "required": list(PLAYS_KEYS),
            "properties": {
                "campaign": _slug("The game's id.", "black-friday-wheel"),
                "count": {"type": "integer", "minimum": 1},
            },
        },
        "points": {"description": "Optional: loyalty points.", "type": "integer", "minimum": 1},
    }
    assert tuple(properties) == REWARD_KEYS
    return {
        "description": "Given once per customer and window when the challenge is completed.",
        "type": "object",
        "additionalProperties": False,
        "required": ["label"],
        "properties": properties,
    }
