"""JSON Schema (draft 2020-12) of campaign files, for editors.

With it the VS Code YAML extension autocompletes keys, offers the allowed values and underlines
the obvious mistakes while a marketer types. It cannot express everything (percents summing to
100, a fallback naming a real prize, coupon pools existing), so :mod:`gamify.campaigns.loader`
stays the judge; descriptions are written for marketers, not programmers.
"""

from __future__ import annotations

import copy
from typing import Any

from gamify.campaigns.checks import MIN_AGES
from gamify.campaigns.loader import iana_timezones
from gamify.campaigns.schema_challenge import challenge_schema
from gamify.campaigns.schema_parts import (
    _holdout,
    _moment,
    _money,
    _slug,
    _text,
    coupon_definition,
    text_definition,
)

SCHEMA_ID = "https://gamify.dev/schema/campaign.json"

# Relative, and no part that starts with a dot but `.` itself (so no `..`, `.env`, `.git/`).

EXAMPLE: dict[str, Any] = {
    "id": "black-friday-wheel",
    "game": "wheel",
    "title": {"es": "¡Gira y gana!", "en": "Spin to win!"},
    "timezone": "Europe/Madrid",
    "starts": "2026-11-27T00:00:00",
    "ends": "2026-12-01T00:00:00",
    "limits": {"per_customer": [{"plays": 1, "per": "day"}]},
    "budget": {"max_value_per_day": 500},
    "fallback": "try-again",
    "prizes": [
        {
            "id": "ten-off",
            "label": {"es": "10 % de descuento", "en": "10% off"},
            "weight": 30,
            "stock": 1000,
            "value": 5,
            "coupon": {"pattern": "BF10-{code:8}"},
            "color": "#e4572e",
        },
        {
            "id": "try-again",
            "label": {"es": "¡Casi! Inténtalo mañana", "en": "So close! Try again tomorrow"},
            "weight": 70,
            "win": False,
        },
    ],
}


def campaign_schema() -> dict[str, Any]:
    """A fresh copy each call, so callers may change theirs (add a ``$comment``, say).

    One schema for every file of the folder: ``game`` says which of the two shapes applies,
    a game's (wheel, scratch) or a challenge's.
    """
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "gamify campaign",
        "description": (
            "A campaign file: a prize game (spin wheel, scratch card) or a challenge. "
            "Check a file with `gamify check FILE`."
        ),
        "type": "object",
        "required": ["game"],
        "properties": {
            "game": {
                "description": "What shoppers play: a spin wheel, a scratch card, or a "
                "challenge of steps (orders, reviews, quizzes).",
                "enum": ["wheel", "scratch", "challenge"],
                "examples": ["wheel"],
            }
        },
        "if": {"properties": {"game": {"const": "challenge"}}},
        "then": {"$ref": "#/$defs/challenge"},
        "else": {"$ref": "#/$defs/game"},
        "$defs": {**_definitions(), "game": _game(), "challenge": challenge_schema()},
        "examples": [copy.deepcopy(EXAMPLE)],
    }


def _game() -> dict[str, Any]:
    return {
        "description": (
            "One prize campaign (a spin wheel or a scratch card): its prizes and their odds, "
            "stock, limits, schedule and texts. Check a file with `gamify check FILE`."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "game", "title", "timezone", "starts", "ends", "fallback", "prizes"],
        "properties": {
            "id": _slug(
                "The campaign's name in links and the storefront tag: lowercase letters, digits "
                "and dashes, unique among campaigns. Do not change it once the campaign runs.",
                "black-friday-wheel",
            ),
            "game": {
                "description": "What shoppers play: a spin wheel or a scratch card.",
                "enum": ["wheel", "scratch"],
                "examples": ["wheel"],
            },
            "title": _text("The headline shoppers see above the game."),
            "description": _text("Optional: a line under the title, such as the conditions."),
            "timezone": {
                "description": (
                    "The time zone of the start and end times and of daily limits and budgets, "
                    "as an IANA name such as Europe/Madrid."
                ),
                "type": "string",
                "enum": sorted(iana_timezones()),
                "examples": ["Europe/Madrid"],
            },
            "starts": _moment("When shoppers can start playing."),
            "ends": _moment("When the campaign closes; must be after the start."),
            "limits": {
                "description": "Optional: how often one shopper may play.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "per_customer": {
                        "description": "Limits for each shopper; all of them apply.",
                        "type": "array",
                        "items": {"$ref": "#/$defs/limit"},
                        "examples": [[{"plays": 1, "per": "day"}]],
                    }
                },
            },
            "budget": {
                "description": (
                    "Optional: caps on the value of prizes given away. When a prize would go "
                    "over a cap, the shopper gets the fallback prize instead."
                ),
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "max_value_per_day": _money("The most value given away in one day.", 0),
                    "max_value_total": _money("The most value given away in the campaign.", 0),
                },
            },
            "holdout": _holdout(),
            "fairness": {
                "description": (
                    "Optional: how the draws are made checkable. An epoch (a server seed) stays "
                    "open for `rotate_every`, then the next play closes it, reveals its seed and "
                    "opens the next, so every draw can be checked within that time."
                ),
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "rotate_every": {
                        "description": "Hours (h), days (d) or weeks (w); default 1d.",
                        "type": "string",
                        "pattern": "^[1-9][0-9]{0,3}[hdw]$",
                        "default": "1d",
                        "examples": ["1d", "12h", "1w"],
                    }
                },
            },
            "guests": {
                "description": (
                    "Optional: shoppers without an account may play with their email. The widget "
                    "asks for it and, in a separate box left unticked, for consent to marketing "
                    "with the `consent` text; limits then count per email (aliases included)."
                ),
                "type": "object",
                "additionalProperties": False,
                "required": ["consent"],
                "properties": {
                    "consent": _text(
                        "The marketing consent the shopper may tick, such as 'I want offers "
                        "from Demo Store by email'. Its exact words are kept with each consent."
                    ),
                    "per_ip": {
                        "description": (
                            "Optional: the most plays from one internet address, whatever "
                            "the email, such as {plays: 20, per: day}."
                        ),
                        "$ref": "#/$defs/limit",
                    },
                    "min_age": {
                        "description": (
                            "Optional: the minimum age to play, asked with a box to tick. "
                            "The terms page says 18 when it is not set."
                        ),
                        "type": "integer",
                        "minimum": MIN_AGES[0],
                        "maximum": MIN_AGES[1],
                        "examples": [18],
                    },
                },
            },
            "fallback": _slug(
                "The id of the prize given when the drawn one is out of stock or over budget. "
                "It must have no stock and no value (a 'try again', say).",
                "try-again",
            ),
            "prizes": {
                "description": (
                    "The prizes, in the order of the wheel's segments. Give every prize a weight, "
                    "or every prize a percent: never mix both in one file."
                ),
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/prize"},
                "anyOf": [
                    {"items": {"required": ["weight"]}},
                    {"items": {"required": ["percent"]}},
                ],
            },
        },
    }


def _definitions() -> dict[str, Any]:
    return {
        "prize": {
            "description": "One prize: what it is, how likely, how many, what it costs.",
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "label"],
            "properties": {
                "id": _slug("The prize's name in reports, unique in the file.", "ten-off"),
                "label": _text("What shoppers see on the segment or card."),
                "weight": {
                    "description": (
                        "How likely, relative to the other prizes: weight 30 next to weight 70 "
                        "wins 30 times in 100. A whole number, 1 or more."
                    ),
                    "type": "integer",
                    "minimum": 1,
                    "examples": [30],
                },
                "percent": {
                    "description": (
                        "How likely, in percent (up to 4 decimals). All percents of the file "
                        "must add up to exactly 100."
                    ),
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "maximum": 100,
                    "examples": [12.5],
                },
                "stock": {
                    "description": (
                        "How many can be given in total; no limit if absent. Required with a "
                        "coupon pool, and at most its number of codes."
                    ),
                    "type": "integer",
                    "minimum": 0,
                    "examples": [1000],
                },
                "value": _money(
                    "Optional: what one award costs (up to 2 decimals), for budgets and reports.",
                    None,
                ),
                "win": {
                    "description": "false for a 'no prize' outcome such as 'try again'.",
                    "type": "boolean",
                    "default": True,
                },
                "color": {
                    "description": 'The segment colour, in quotes: "#e4572e" or "#fff".',
                    "type": "string",
                    "pattern": "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$",
                    "examples": ["#e4572e"],
                },
                "coupon": {
                    "description": (
                        "Optional: the coupon code a winner gets, made from a pattern "
                        "({pattern: BF10-{code:8}}) or taken from a file ({pool: codes.csv})."
                    ),
                    "$ref": "#/$defs/coupon",
                },
            },
            "oneOf": [
                {"required": ["weight"], "not": {"required": ["percent"]}},
                {"required": ["percent"], "not": {"required": ["weight"]}},
            ],
            # Each award takes a pool code: a prize with a pool has a stock.
            "if": {
                "required": ["coupon"],
                "properties": {"coupon": {"type": "object", "required": ["pool"]}},
            },
            "then": {"required": ["stock"]},
        },
        "limit": {
            "description": "At most `plays` plays per day, per week or in the whole campaign.",
            "type": "object",
            "additionalProperties": False,
            "required": ["plays", "per"],
            "properties": {
                "plays": {
                    "description": "How many plays are allowed.",
                    "type": "integer",
                    "minimum": 1,
                },
                "per": {
                    "description": "The period the plays count over (days in the campaign's zone).",
                    "enum": ["day", "week", "campaign"],
                },
            },
        },
        "coupon": coupon_definition(
            "A coupon code for the winner: from a pattern, or from a file.",
            " The prize needs a stock of at most its codes.",
            ("BF10-{code:8}", "coupons/ten-off.csv"),
        ),
        "text": text_definition(),
    }
