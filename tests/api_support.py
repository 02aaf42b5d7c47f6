"""Helpers for the web API tests: a test campaign, a host app factory, and the OpenAPI checker
that the ``openapi`` fixture (tests/conftest.py) puts behind every test client response."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import jsonschema
from flask import Flask
from flask.testing import FlaskClient
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.deserializing.media_types.util import json_loads, plain_loads
from openapi_core.templating.paths.exceptions import (
    OperationNotFound,
    PathNotFound,
    ServerNotFound,
)
from werkzeug.test import TestResponse

from gamify import Gamify
from gamify.web.state import state

PREFIX = "/gamify"
TZ = "Europe/Madrid"
WHEEL = "test-wheel"
FUTURE = "future-wheel"
ORIGIN = "https://shop.example"
SECRET = "test-secret-key"


def campaign_yaml(
    campaign_id: str,
    starts: date | datetime,
    ends: date | datetime,
    *,
    plays: int = 3,
    per: str = "day",
    timezone: str = TZ,
) -> str:
    """A small wheel: weights, one prize with stock 2, one with a pattern coupon, a fallback."""

    def moment(value: date | datetime) -> str:
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%dT%H:%M:%S")
        return f"{value.isoformat()}T00:00:00"

    return f"""\
id: {campaign_id}
game: wheel
title: {{es: "Rueda de prueba", en: "Test wheel"}}
description: {{es: "Tres tiradas al día", en: "Three spins a day"}}
timezone: {timezone}
starts: {moment(starts)}
ends: {moment(ends)}
limits:
  per_customer:
    - {{plays: {plays}, per: {per}}}
fallback: try-again
prizes:
  - id: big
    label: {{es: "Premio gordo", en: "Big prize"}}
    weight: 30
    stock: 2
    value: 10
    color: "#e4572e"
  - id: ten-off
    label: {{es: "10 % de descuento", en: "10% off"}}
    weight: 30
    coupon: {{pattern: "T10-{{code:8}}"}}
    color: "#17bebb"
  - id: try-again
    label: {{es: "¡Casi!", en: "So close!"}}
    weight: 40
    win: false
"""


def write_campaign(folder: Path, campaign_id: str, from_day: int, to_day: int) -> None:
    """A test campaign running from ``from_day`` to ``to_day`` days after today (Madrid)."""
    today = local_today()
    (folder / f"{campaign_id}.yaml").write_text(
        campaign_yaml(
            campaign_id, today + timedelta(days=from_day), today + timedelta(days=to_day)
        ),
        encoding="utf-8",
    )


def local_today() -> date:
    return datetime.now(ZoneInfo(TZ)).date()


def make_app(root: Path, campaigns: Path, **config: Any) -> Flask:
    """A host app with gamify mounted, its database and instance folder under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    app = Flask("store", instance_path=str(root / "instance"))
    app.config.update(
        TESTING=True,
        GAMIFY_SECRET_KEY=SECRET,
        GAMIFY_DATABASE_URL=f"sqlite:///{root / 'gamify.sqlite3'}",
        GAMIFY_CAMPAIGNS=str(campaigns),
        GAMIFY_ALLOWED_ORIGINS=[ORIGIN],
        GAMIFY_LOG_HOST="shop.test",
    )
    app.config.update(config)
    Gamify(app)
    return app


# -- OpenAPI validation of every response -----------------------------------------------------

_OPENAPI_CONFIG = Config(
    extra_media_type_deserializers={
        "application/problem+json": json_loads,
        "application/x-ndjson": plain_loads,
    }
)
_BUILT: dict[str, OpenAPI] = {}


class _SentRequest(WerkzeugOpenAPIRequest):
    """The request as sent; its body was read by the app, and a response check needs none."""

    @property
    def body(self) -> bytes | None:
        return None


class OpenAPIChecker:
    """Validates responses against the document the app serves at ``{prefix}/openapi.json``.

    Documented operations go through openapi-core (status, media type, body schema, headers).
    A path or method the document does not have must be a 404 or 405 problem that fits the
    Problem schema. Nothing under the prefix may answer 5xx, and nothing else may either,
    except a test that takes the database away (:attr:`database_down`): then 503 ``unavailable``.
    """

    database_down = False

    def __init__(self, app: Flask) -> None:
        self.prefix = state(app).settings.url_prefix
        raw = FlaskClient(app, app.response_class).get(f"{self.prefix}/openapi.json")
        assert raw.status_code == 200, raw.data
        self.text = raw.get_data(as_text=True)
        self.spec: dict[str, Any] = json.loads(self.text)
        if self.text not in _BUILT:
            _BUILT[self.text] = OpenAPI.from_dict(self.spec, config=_OPENAPI_CONFIG)
        self.openapi = _BUILT[self.text]
        self.problem_schema = self.spec["components"]["schemas"]["Problem"]
        self.validated: list[tuple[str, str, int]] = []

    def check(self, response: TestResponse) -> None:
        request = response.request
        status = response.status_code
        where = f"{request.method} {request.full_path.rstrip('?')} -> {status}"
        if not (self.database_down and status == 503):
            assert status < 500, f"{where}: {response.get_data(as_text=True)[:2000]}"
        path = request.path
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            return
        if request.method == "OPTIONS":
            assert status in (200, 204, 404), where
            if status == 404:
                self.check_problem(response)
            return
        if request.method == "HEAD":
            return
        try:
            self.openapi.validate_response(_SentRequest(request), WerkzeugOpenAPIResponse(response))
        except (PathNotFound, OperationNotFound, ServerNotFound):
            assert status in (404, 405), f"{where}: undocumented and not a 404/405"
            self.check_problem(response)
        except Exception as exc:
            detail = getattr(exc, "__cause__", None) or exc
            raise AssertionError(
                f"{where} does not match /openapi.json: {exc!r}: {detail}\n"
                f"{response.get_data(as_text=True)[:2000]}"
            ) from exc
        self.validated.append((request.method, path, status))

    def check_problem(self, response: TestResponse) -> None:
        assert response.mimetype == "application/problem+json", response.mimetype
        body = response.get_json(force=True)
        jsonschema.validate(body, self.problem_schema)
        assert body["status"] == response.status_code


class ValidatingClient(FlaskClient):
    checker: ClassVar[OpenAPIChecker]

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        self.checker.check(response)
        return response


def checked_client(app: Flask) -> tuple[FlaskClient, OpenAPIChecker]:
    """Make ``app.test_client()`` validate every response; a client and its checker."""
    checker = OpenAPIChecker(app)
    app.test_client_class = type("CheckedClient", (ValidatingClient,), {"checker": checker})
    return app.test_client(), checker


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


CHALLENGE = "test-challenge"


def challenge_yaml(
    challenge_id: str = CHALLENGE,
    *,
    starts: date | None = None,
    ends: date | None = None,
    repeat: str = "never",
    winners_max: int | None = None,
    plays_campaign: str = WHEEL,
    complete: str = "all",
) -> str:
    """Two orders of 20 or more (one a day counts), a review, a quiz of two questions (both
    right to pass, 2 attempts); the reward: a coupon, one extra play of ``plays_campaign``,
    50 points."""
    today = local_today()
    starts = starts or today - timedelta(days=1)
    ends = ends or today + timedelta(days=30)
    winners = f"winners_max: {winners_max}\n" if winners_max else ""
    return f"""\
id: {challenge_id}
game: challenge
title: {{es: "Reto de prueba", en: "Test challenge"}}
timezone: {TZ}
starts: {starts.isoformat()}T00:00:00
ends: {ends.isoformat()}T00:00:00
steps:
  - id: orders
    label: {{es: "Dos pedidos de 20 €", en: "Two orders of €20"}}
    event: order.paid
    where: {{min_total: 20}}
    count: 2
    at_most: {{times: 1, per: day}}
  - id: review
    label: {{es: "Una reseña", en: "A review"}}
    event: review.published
    count: 1
  - id: quiz
    label: {{es: "El test", en: "The quiz"}}
    quiz:
      pass: 2
      attempts: 2
      questions:
        - text: {{es: "¿Uno?", en: "One?"}}
          options: [{{es: "a", en: "a"}}, {{es: "b", en: "b"}}]
          answer: 1
        - text: {{es: "¿Dos?", en: "Two?"}}
          options: [{{es: "a", en: "a"}}, {{es: "b", en: "b"}}, {{es: "c", en: "c"}}]
          answer: 0
complete: {complete}
repeat: {repeat}
{winners}reward:
  label: {{es: "Cupón de 5 €", en: "€5 coupon"}}
  value: 5
  coupon: {{pattern: "RETO-{{code:8}}"}}
  plays: {{campaign: {plays_campaign}, count: 1}}
  points: 50
"""
