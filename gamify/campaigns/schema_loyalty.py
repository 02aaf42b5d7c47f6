"""The JSON Schema (draft 2020-12) of ``loyalty.yaml`` (CONTRACT §10), for editors.

A file of its own, not a branch of the campaigns' schema: the programme has no ``game`` to tell
it apart, and an editor picks a schema by the first line of the file. Like the campaigns' schema
it cannot say everything (thresholds increasing, an event type listed once, a level's extra
plays naming a game of the folder), so :mod:`gamify.campaigns.check_loyalty` stays the judge.
"""

from __future__ import annotations

import copy
from typing import Any

from gamify.campaigns.check_challenge import AT_MOST_KEYS, PLAYS_KEYS
from gamify.campaigns.check_loyalty import (
    CATALOGUE_KEYS,
    CATALOGUE_REQUIRED,
    EARN_KEYS,
    LEVEL_KEYS,
    LEVEL_REQUIRED,
    LEVEL_REWARD_KEYS,
    LOYALTY_KEYS,
    LOYALTY_REQUIRED,
    MAX_DAYS,
    MAX_MULTIPLIER,
    MAX_POINTS,
    MAX_POINTS_PER_UNIT,
    QUALIFY_ON,
    ROOT_KEYS,
    TIERS_KEYS,
)
from gamify.campaigns.schema_parts import (
    _slug,
    _text,
    coupon_definition,
    text_definition,
)
from gamify.core.challenge import AT_MOST_PERS
from gamify.core.loyalty import LOYALTY_ID, TIER_WINDOWS

SCHEMA_ID = "https://gamify.dev/schema/loyalty.json"
_EVENT = "^[a-z][a-z0-9_.]{0,63}$"

EXAMPLE: dict[str, Any] = {
    "loyalty": {
        "timezone": "Europe/Madrid",
        "earn": [
            {"event": "order.paid", "points_per_unit": 1},
            {"event": "review.published", "points": 50, "at_most": {"times": 1, "per": "week"}},
        ],
        "pending_days": 14,
        "expire_after_days": 365,
        "tiers": {
            "qualify_on": "points_earned",
            "window": "rolling_12_months",
            "levels": [
                {"id": "bronce", "label": {"es": "Bronce", "en": "Bronze"}, "min": 0},
                {
                    "id": "plata",
                    "label": {"es": "Plata", "en": "Silver"},
                    "min": 500,
                    "multiplier": 1.25,
                    "reward": {
                        "coupon": {"pattern": "PLATA-{code:8}"},
                        "label": {"es": "Cupón de 5 €", "en": "€5 coupon"},
                    },
                },
                {
                    "id": "oro",
                    "label": {"es": "Oro", "en": "Gold"},
                    "min": 1500,
                    "multiplier": 1.5,
                    "reward": {"plays": {"campaign": "black-friday-wheel", "count": 1}},
                },
            ],
        },
        "rewards": [
            {
                "id": "envio-gratis",
                "label": {"es": "Envío gratis", "en": "Free shipping"},
                "cost": 300,
                "coupon": {"pattern": "ENVIO-{code:8}"},
                "stock": 1000,
            }
        ],
    }
}


def loyalty_schema() -> dict[str, Any]:
    """A fresh copy each call, so callers may change theirs."""
    programme: dict[str, Any] = {
        "timezone": {
            "description": "The time zone of at_most days and weeks and of calendar years, as "
            "an IANA name such as Europe/Madrid.",
            "type": "string",
            "examples": ["Europe/Madrid"],
        },
        "earn": {
            "description": "What earns points: one rule per event type the store sends.",
            "type": "array",
            "minItems": 1,
            "items": _earn(),
        },
        "pending_days": {
            "description": "Days an order's points wait before they can be spent (the return "
            "window). Other events' points are usable at once.",
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_DAYS,
            "default": 0,
            "examples": [14],
        },
        "expire_after_days": {
            "description": "Optional: days after which points expire, counted for each lot from "
            "when it became usable; the oldest are spent first. Leave it out and points never "
            "expire.",
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_DAYS,
            "examples": [365],
        },
        "tiers": _tiers(),
        "rewards": {
            "description": "Optional: what points buy, each a coupon code.",
            "type": "array",
            "items": _catalogue_reward(),
        },
    }
    assert tuple(programme) == LOYALTY_KEYS
    properties = {
        "loyalty": {
            "description": "The store's loyalty programme: points, VIP tiers and rewards.",
            "type": "object",
            "additionalProperties": False,
            "required": list(LOYALTY_REQUIRED),
            "properties": programme,
        }
    }
    assert tuple(properties) == ROOT_KEYS
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "gamify loyalty programme",
        "description": (
            "loyalty.yaml, in the campaigns folder: what earns points, the VIP tiers and what "
            "points buy. Check it with `gamify check FOLDER`."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": list(ROOT_KEYS),
        "properties": properties,
        "$defs": _definitions(),
        "examples": [copy.deepcopy(EXAMPLE)],
    }


def _earn() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "event": {
            "description": "The event type that earns: order.paid, review.published, "
            "account.created, newsletter.subscribed, or a custom type of the store. Each type "
            "once.",
            "type": "string",
            "pattern": _EVENT,
            "not": {"const": "order.refunded"},
            "examples": ["order.paid"],
        },
        "points_per_unit": {
            "description": "For order.* events: points per whole unit of the order total "
            "(1 gives 59 points for a 59.90 order), up to 4 decimals.",
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_POINTS_PER_UNIT,
            "examples": [1],
        },
        "points": {
            "description": "Instead of points_per_unit: a fixed number of points per event.",
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_POINTS,
            "examples": [50],
        },
        "at_most": {
            "description": "Optional: at most this many events earn per local day or week.",
            "type": "object",
            "additionalProperties": False,
            "required": list(AT_MOST_KEYS),
            "properties": {
                "times": {"description": "How many events earn.", "type": "integer", "minimum": 1},
                "per": {"description": "The period they count over.", "enum": list(AT_MOST_PERS)},
            },
        },
    }
    assert tuple(properties) == EARN_KEYS
    return {
        "description": "One rule: an event type and what it earns.",
        "type": "object",
        "additionalProperties": False,
        "required": ["event"],
        "properties": properties,
        "oneOf": [
            {"required": ["points_per_unit"], "not": {"required": ["points"]}},
            {"required": ["points"], "not": {"required": ["points_per_unit"]}},
        ],
    }


def _tiers() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "qualify_on": {
            "description": "What a tier counts: the points earned in the window, never the "
            "balance, so spending points never costs a tier.",
            "const": QUALIFY_ON,
            "default": QUALIFY_ON,
        },
        "window": {
            "description": "The points earned over which period count: the last 12 months, "
            "the calendar year, or ever.",
            "enum": list(TIER_WINDOWS),
            "default": "rolling_12_months",
        },
        "levels": {
            "description": "The levels, lowest first: the first has min 0, each next one a "
            "higher min.",
            "type": "array",
            "minItems": 1,
            "items": _level(),
        },
    }
    assert tuple(properties) == TIERS_KEYS
    return {
        "description": "Optional: VIP tiers by points earned.",
        "type": "object",
        "additionalProperties": False,
        "required": ["levels"],
        "properties": properties,
    }


def _level() -> dict[str, Any]:
    reward: dict[str, Any] = {
        "label": _text("Optional: what the customer gets, as the loyalty card shows it."),
        "coupon": {
            "description": "A coupon code, from a pattern or a pool file.",
            "$ref": "#/$defs/coupon",
        },
        "plays": {
            "description": "Extra plays of a wheel or scratch campaign of this folder, beyond "
            "its limits.",
            "type": "object",
            "additionalProperties": False,
            "required": list(PLAYS_KEYS),
            "properties": {
                "campaign": _slug("The game's id.", "black-friday-wheel"),
                "count": {"description": "How many plays.", "type": "integer", "minimum": 1},
            },
        },
    }
    assert tuple(reward) == LEVEL_REWARD_KEYS
    properties: dict[str, Any] = {
        "id": _slug("The level's id, unique in the file.", "plata"),
        "label": _text("The level's name, as customers see it."),
        "min": {
            "description": "Points earned in the window to reach the level: 0 for the first.",
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_POINTS,
            "examples": [500],
        },
        "multiplier": {
            "description": "Points earned at this level are multiplied by it (rounded down); "
            "up to 4 decimals.",
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": MAX_MULTIPLIER,
            "default": 1,
            "examples": [1.25],
        },
        "reward": {
            "description": "Optional: given once per customer, ever, on reaching the level: a "
            "coupon, extra plays, or both.",
            "type": "object",
            "additionalProperties": False,
            "anyOf": [{"required": ["coupon"]}, {"required": ["plays"]}],
            "properties": reward,
        },
    }
    assert tuple(properties) == LEVEL_KEYS
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(LEVEL_REQUIRED),
        "properties": properties,
    }


def _catalogue_reward() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "id": {
            **_slug("The reward's id, unique in the file.", "envio-gratis"),
            "not": {"const": LOYALTY_ID},
        },
        "label": _text("What the reward is, as customers see it."),
        "cost": {
            "description": "Points it costs.",
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_POINTS,
            "examples": [300],
        },
        "coupon": {
            "description": "The coupon code the customer gets, from a pattern or a pool file "
            "(a pool needs a stock of at most its codes).",
            "$ref": "#/$defs/coupon",
        },
        "stock": {
            "description": "Optional: how many can be redeemed in all; no limit if absent.",
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_POINTS,
            "examples": [1000],
        },
        "description": _text("Optional: a line under the label, such as the conditions."),
    }
    assert tuple(properties) == CATALOGUE_KEYS
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [*CATALOGUE_REQUIRED, "coupon"],
        "properties": properties,
        "if": {
            "required": ["coupon"],
            "properties": {"coupon": {"type": "object", "required": ["pool"]}},
        },
        "then": {"required": ["stock"]},
    }


def _definitions() -> dict[str, Any]:
    return {
        "coupon": coupon_definition(
            "A coupon code: from a pattern, or from a file.",
            "",
            ("ENVIO-{code:8}", "coupons/envio.csv"),
        ),
        "text": text_definition(),
    }
