"""The pieces every part of the campaign schema is written with: ids, texts, times, amounts,
each with a description written for marketers."""

from __future__ import annotations

from typing import Any

from gamify.campaigns.checks import MAX_TEXT

_SLUG = "^[a-z0-9-]{1,64}$"
_DATE_TIME = (
    r"^\d{4}-\d{2}-\d{2}"
    r"([Tt ]\d{2}(:?\d{2}(:?\d{2}([.,]\d+)?)?)?(\s*([Zz]|[+-]\d{2}(:?\d{2})?))?)?$"
)


def _slug(description: str, example: str) -> dict[str, Any]:
    return {"description": description, "type": "string", "pattern": _SLUG, "examples": [example]}


def _words(description: str) -> dict[str, Any]:
    return {"description": description, "type": "string", "minLength": 1, "maxLength": MAX_TEXT}


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "$ref": "#/$defs/text"}


def _moment(description: str) -> dict[str, Any]:
    return {
        "description": (
            f"{description} Local time in the campaign's time zone, such as "
            "2026-11-27T00:00:00, or with an offset (+01:00). A date alone means midnight."
        ),
        "type": "string",
        "pattern": _DATE_TIME,
        "examples": ["2026-11-27T00:00:00"],
    }


def _holdout() -> dict[str, Any]:
    return {
        "description": (
            "Optional: the percent of customers (0 to 50) who never see this campaign, so that "
            "`gamify report` can show what it changed. Fixed once the campaign has started."
        ),
        "type": "integer",
        "minimum": 0,
        "maximum": 50,
        "default": 0,
        "examples": [10],
    }


def _money(description: str, above: int | None) -> dict[str, Any]:
    """Amounts; ``above`` 0 for caps that must be positive, None for values that may be 0."""
    bound = {"minimum": 0} if above is None else {"exclusiveMinimum": above}
    return {"description": description, "type": "number", **bound, "examples": [5]}


_POOL = r"^(?![/\\]|[A-Za-z]:)(?!(?:.*[/\\])?\.(?![/\\]|$)).+$"
_PATTERN = r"^[A-Za-z0-9_-]*\{code:([4-9]|[12][0-9]|3[0-2])\}[A-Za-z0-9_-]*$"


def coupon_definition(
    description: str, pool_note: str, examples: tuple[str, str]
) -> dict[str, Any]:
    """A coupon: from a pattern, or from a file of codes (``pool_note`` adds what the file's
    owner requires of it, such as a stock)."""
    pattern, pool = examples
    return {
        "description": description,
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["pattern"],
                "properties": {
                    "pattern": {
                        "description": (
                            "A code template: {code:8} becomes 8 random characters "
                            "(4 to 32); around it only letters, digits, _ and -."
                        ),
                        "type": "string",
                        "pattern": _PATTERN,
                        "examples": [pattern],
                    }
                },
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["pool"],
                "properties": {
                    "pool": {
                        "description": (
                            "A CSV file of ready-made codes, one per line, each once, in "
                            "this file's folder (or below it; no `..`, no hidden files, no "
                            "absolute path)." + pool_note
                        ),
                        "type": "string",
                        "minLength": 1,
                        "pattern": _POOL,
                        "examples": [pool],
                    }
                },
            },
        ],
    }


def text_definition() -> dict[str, Any]:
    return {
        "description": "A text for all languages, or one per language: {es: …, en: …}.",
        "oneOf": [
            _words("The text in every language."),
            {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": "^[a-z]{2}$"},
                "additionalProperties": _words("The text in this language."),
                "properties": {
                    "es": _words("The text in Spanish."),
                    "en": _words("The text in English."),
                },
            },
        ],
    }
