"""Property-based fuzzing of every operation in the app's own /openapi.json (schemathesis).

Schemathesis generates requests from the document, valid and invalid, sends them in-process
(WSGI) and checks that no response is a server error and that each one is described by the
document: status code, media type, body schema and headers. A second run pins the campaign
id to the running test campaign, so plays, limits and fairness are fuzzed too, not only 404s; a
third pins it to a running challenge, so its view and quiz attempts are fuzzed; a fourth to a
campaign open to guests, without any token, so guest plays (emails, consent, age) are fuzzed.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_support import CHALLENGE, PREFIX, WHEEL, challenge_yaml, make_app, write_campaign
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from gamify.web import widget_assets
from gamify.web.state import state

EVENTS_KEY = "fuzz-events-key"
GUESTS = "guest-wheel"  # the test wheel, open to guests (CONTRACT §13)
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def _make_fuzz_app() -> tuple[Flask, tempfile.TemporaryDirectory[str]]:
    """The app under test, made at import: schemathesis parametrizes tests at collection time
    (its fixture-based loader does not work with this pytest), so it cannot come from a fixture."""
    folder = tempfile.TemporaryDirectory(prefix="gamify-fuzz-")
    root = Path(folder.name)
    campaigns = root / "campaigns"
    campaigns.mkdir()
    write_campaign(campaigns, WHEEL, -1, 30)
    (campaigns / f"{CHALLENGE}.yaml").write_text(challenge_yaml(), encoding="utf-8")
    guests = (campaigns / f"{WHEEL}.yaml").read_text(encoding="utf-8").replace(WHEEL, GUESTS)
    guests += 'guests:\n  consent: "Offers by email"\n  per_ip: {plays: 50, per: day}\n'
    (campaigns / f"{GUESTS}.yaml").write_text(guests, encoding="utf-8")
    return make_app(root / "store", campaigns, GAMIFY_EVENTS_KEY=EVENTS_KEY), folder


fuzz_app, _folder = _make_fuzz_app()
schema = schemathesis.openapi.from_wsgi(f"{PREFIX}/openapi.json", fuzz_app)
_customers = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    state(fuzz_app).engine.dispose()
    _folder.cleanup()


def credentials(case: Any) -> dict[str, str]:
    """The secret each operation needs: the events key, or one of a few customers' tokens (so
    some have plays left and some have hit the daily limit)."""
    if case.operation.path == "/api/events":
        return {"Authorization": f"Bearer {EVENTS_KEY}"}
    customer = f"fuzzer-{next(_customers) % 7}"
    return {"Authorization": f"Bearer {state(fuzz_app).tokens.sign(customer)}"}


@schema.parametrize()
@FUZZ
def test_no_request_breaks_the_api_or_its_document(case: Any) -> None:
    case.call_and_validate(headers=credentials(case), checks=CHECKS)


@schema.include(path_regex=r"\{campaign_id\}").parametrize()
@FUZZ
def test_no_request_to_a_running_campaign_breaks_the_api(case: Any) -> None:
    case.path_parameters = {**(case.path_parameters or {}), "campaign_id": WHEEL}
    case.call_and_validate(headers=credentials(case), checks=CHECKS)


@schema.include(path_regex=r"\{campaign_id\}").parametrize()
@FUZZ
def test_no_request_to_a_running_challenge_breaks_the_api(case: Any) -> None:
    """Its view, quiz attempts (valid and not), and the game routes a challenge refuses."""
    case.path_parameters = {**(case.path_parameters or {}), "campaign_id": CHALLENGE}
    case.call_and_validate(headers=credentials(case), checks=CHECKS)


def test_anonymous_requests_are_documented_too() -> None:
    """Without any token, every operation still answers as documented (401s included)."""
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        values = {
            "campaign_id": WHEEL,
            "digest": widget_assets.bundle().digest,
            "config_hash": "0" * 64,  # no such version: a 404 problem, as documented
        }
        case = operation.Case(
            path_parameters={k: v for k, v in values.items() if f"{{{k}}}" in operation.path}
        )
        case.call_and_validate(checks=CHECKS)


@schema.include(path_regex=r"\{campaign_id\}").parametrize()
@FUZZ
def test_no_guest_request_breaks_the_api(case: Any) -> None:
    """No token: a guest's email, consent and age as generated, valid or not."""
    case.path_parameters = {**(case.path_parameters or {}), "campaign_id": GUESTS}
    case.call_and_validate(checks=CHECKS)
