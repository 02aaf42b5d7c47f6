"""Fixtures for the web API: a store app with gamify mounted, a test client that checks every
response against the app's own ``/openapi.json``, and customer tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api_support import (
    FUTURE,
    WHEEL,
    OpenAPIChecker,
    checked_client,
    make_app,
    write_campaign,
)
from flask import Flask
from flask.testing import FlaskClient

from gamify.web.state import state


@pytest.fixture
def campaigns_dir(tmp_path: Path) -> Path:
    """A running campaign (since yesterday, for 30 days) and one that starts in 10 days."""
    folder = tmp_path / "campaigns"
    folder.mkdir()
    write_campaign(folder, WHEEL, -1, 30)
    write_campaign(folder, FUTURE, 10, 20)
    return folder


@pytest.fixture
def app(tmp_path: Path, campaigns_dir: Path) -> Iterator[Flask]:
    app = make_app(tmp_path / "store", campaigns_dir)
    yield app
    state(app).engine.dispose()


@pytest.fixture
def openapi(app: Flask) -> OpenAPIChecker:
    """Makes ``app.test_client()`` validate every response against the app's /openapi.json."""
    _, checker = checked_client(app)
    return checker


@pytest.fixture
def client(app: Flask, openapi: OpenAPIChecker) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def token(app: Flask) -> Callable[[str], str]:
    """``token("alice")``: the customer token the storefront would sign for alice."""

    def sign(customer: str) -> str:
        return state(app).tokens.sign(customer)

    return sign


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``-m postgres``: every test that runs on PostgreSQL (by its parameter or module name;
    a test that makes its own PostgreSQL database says so with ``@pytest.mark.postgres``);
    ``-m races``: the concurrent ones (``make soak`` runs both, 10 times in a row)."""
    for item in items:
        if "postgres" in item.nodeid:
            item.add_marker(pytest.mark.postgres)
        if item.path.name == "test_races.py":
            item.add_marker(pytest.mark.races)
