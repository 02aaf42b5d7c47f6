"""The published JSON Schema: valid for draft 2020-12, accepts good files, rejects the obvious."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from test_campaign_yaml import VALID, edit

from gamify.campaigns.check_challenge import CHALLENGE_KEYS
from gamify.campaigns.loader import (
    BUDGET_KEYS,
    CAMPAIGN_KEYS,
    CAMPAIGN_REQUIRED,
    LIMIT_KEYS,
    PRIZE_KEYS,
    parse_campaign,
)
from gamify.campaigns.schema import EXAMPLE, SCHEMA_ID, campaign_schema
from gamify.campaigns.yaml_nodes import parse_yaml


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(campaign_schema())


def data(text: str) -> Any:
    """The YAML as JSON-like data, timestamps kept as text like an editor sees them."""
    root, issues = parse_yaml(text, "test.yaml")
    assert root is not None and not issues
    return root.plain()


def test_schema_is_valid_draft_2020_12() -> None:
    schema = campaign_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID == "https://gamify.dev/schema/campaign.json"
    assert schema["$defs"]["game"]["additionalProperties"] is False
    assert schema["$defs"]["challenge"]["additionalProperties"] is False
    json.dumps(schema)  # plain JSON, publishable as is


def test_every_field_is_described_for_editors() -> None:
    schema = campaign_schema()
    definitions = schema["$defs"]
    fields = [
        *definitions["game"]["properties"].values(),
        *definitions["prize"]["properties"].values(),
        *definitions["challenge"]["properties"].values(),
        *definitions["challenge"]["properties"]["steps"]["items"]["properties"].values(),
        *definitions["challenge"]["properties"]["reward"]["properties"].values(),
    ]
    assert all("description" in field for field in fields)


def test_schema_keys_match_the_loader() -> None:
    schema = campaign_schema()
    definitions = schema["$defs"]
    game = definitions["game"]
    assert tuple(game["properties"]) == CAMPAIGN_KEYS
    assert set(game["required"]) == set(CAMPAIGN_REQUIRED)
    assert tuple(definitions["prize"]["properties"]) == PRIZE_KEYS
    assert tuple(definitions["limit"]["properties"]) == LIMIT_KEYS
    assert tuple(game["properties"]["budget"]["properties"]) == BUDGET_KEYS
    assert tuple(definitions["challenge"]["properties"]) == CHALLENGE_KEYS


@pytest.mark.parametrize(
    "text",
    [
        VALID,
        edit("weight: 30", "percent: 30", edit("weight: 70", "percent: 70")),
        edit('title: {es: "¡Gira y gana!", en: "Spin to win!"}', "title: Spin to win!"),
        edit("ends: 2026-12-01T00:00:00", "ends: 2026-12-01T00:00:00+01:00"),
        edit('{pattern: "BF10-{code:8}"}', "{pool: coupons/ten-off.csv}"),
    ],
)
def test_valid_files_validate(validator: Draft202012Validator, text: str) -> None:
    assert list(validator.iter_errors(data(text))) == []


def test_the_example_validates_and_loads(validator: Draft202012Validator) -> None:
    assert list(validator.iter_errors(EXAMPLE)) == []
    assert parse_campaign(json.dumps(EXAMPLE)).id == EXAMPLE["id"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("game: wheel", "game: wheel\ntittle: x"),
        ("    stock: 1000", "    stok: 1000"),
        ("id: black-friday-wheel", "id: Black Friday"),
        ("id: ten-off", "id: ten_off"),
        ('color: "#e4572e"', 'color: "red"'),
        ('color: "#e4572e"', "color: #e4572e"),
        ("game: wheel", "game: roulette"),
        ("per: day", "per: month"),
        ("weight: 30", "weight: 0"),
        ("weight: 30", 'weight: "30"'),
        ("weight: 70", "weight: 70\n    percent: 70"),
        ("weight: 70", "percent: 70"),
        ("    weight: 70\n", ""),
        ("timezone: Europe/Madrid", "timezone: CET+1"),
        ("starts: 2026-11-27T00:00:00", "starts: tomorrow"),
        ('{pattern: "BF10-{code:8}"}', '{pattern: "BF10-{code:3}"}'),
        ('{pattern: "BF10-{code:8}"}', '{pattern: "A{code:8}", pool: x.csv}'),
        ("max_value_per_day: 500", "max_value_per_day: 0"),
        ('en: "10% off"}', 'EN: "10% off"}'),
        ("fallback: try-again\n", ""),
    ],
)
def test_obvious_mistakes_are_rejected(validator: Draft202012Validator, old: str, new: str) -> None:
    assert list(validator.iter_errors(data(edit(old, new)))) != []


def test_no_prizes_is_rejected(validator: Draft202012Validator) -> None:
    text = VALID[: VALID.index("prizes:")] + "prizes: []\n"
    assert list(validator.iter_errors(data(text))) != []
