"""Events' payloads are stored by orjson as gamify's canonical JSON writes them: the same bytes
for any text, integer and nesting, the same numbers for floats, and canonical JSON itself where
orjson stops."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gamify.core.canonical import canonical_json
from gamify.storage.progress_sql import payload_json

TEXT = st.text(st.characters(blacklist_categories=("Cs",)))
PLAIN = st.one_of(
    st.none(), st.booleans(), TEXT, st.integers(min_value=-(2**63), max_value=2**64 - 1)
)
VALUES = st.recursive(
    PLAIN,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


@given(value=st.dictionaries(TEXT, VALUES, max_size=6))
def test_payloads_without_floats_are_canonical_json_byte_for_byte(value: dict[str, Any]) -> None:
    assert payload_json(value) == canonical_json(value)


@given(value=st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=8))
def test_floats_are_the_same_numbers(value: list[float]) -> None:
    assert json.loads(payload_json({"attributes": value})) == {"attributes": value}


def test_integers_past_64_bits_fall_back_to_canonical_json() -> None:
    value = {"attributes": {"big": 2**70, "small": -(2**80)}, "items": ({"quantity": 2},)}
    assert payload_json(value) == canonical_json(value)
