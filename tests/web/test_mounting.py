"""gamify mounted as a store mounts it: under a sub-path, configured from the environment, with
a database that is not there yet, behind a strict browser, and the answers every path gives."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
import pytest
from api_support import PREFIX, SECRET, WHEEL, bearer, checked_client, make_app, write_campaign
from databases import PG_ADMIN, postgres_database
from flask import Flask, render_template_string
from sqlalchemy.engine import make_url
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from gamify import Gamify
from gamify.core.errors import InvalidCustomerId
from gamify.web.state import state

API = f"{PREFIX}/api"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    write_campaign(campaigns, WHEEL, -1, 30)
    return campaigns


# -- the tag -----------------------------------------------------------------------------------


def test_the_tag_points_at_the_widget_under_the_apps_own_mount_point(folder: Path) -> None:
    app = make_app(folder.parent / "store", folder)
    app.add_url_rule(
        "/", "home", lambda: render_template_string("{{ gamify_widget('test-wheel') }}")
    )
    site = Client(DispatcherMiddleware(Flask("root"), {"/blog": app}))
    page = site.get("/blog/").get_data(as_text=True)
    assert '<script src="/blog/gamify/widget.js" ' in page
    assert site.get("/blog/gamify/widget.js").status_code == 200  # where the page looks for it
    state(app).engine.dispose()


def test_the_tag_outside_a_request_uses_the_configured_application_root(folder: Path) -> None:
    app = make_app(folder.parent / "store", folder, APPLICATION_ROOT="/shop/")
    with app.app_context():
        html = render_template_string("{{ gamify_widget('test-wheel') }}")
    assert html.startswith('<script src="/shop/gamify/widget.js" ')
    state(app).engine.dispose()


def test_the_tag_carries_the_pages_csp_nonce(folder: Path) -> None:
    app = make_app(folder.parent / "store", folder)
    with app.test_request_context("/"):
        html = render_template_string("{{ gamify_widget('test-wheel', nonce='r4nd\"om') }}")
    assert 'nonce="r4nd&#34;om"' in html
    state(app).engine.dispose()


@pytest.mark.parametrize("customer", ["x" * 257, ""])
def test_a_customer_id_out_of_bounds_is_refused_by_name_with_the_limit(
    folder: Path, customer: str
) -> None:
    app = make_app(folder.parent / "store", folder)
    with app.test_request_context("/"), pytest.raises(InvalidCustomerId) as raised:
        render_template_string("{{ gamify_widget('test-wheel', customer_id=c) }}", c=customer)
    assert "1 to 256 characters" in str(raised.value)
    assert f"got {len(customer)} characters" in str(raised.value)
    assert isinstance(raised.value, ValueError)  # what it raised before, for callers that catch
    state(app).engine.dispose()


def test_a_numeric_customer_id_is_signed_as_text(folder: Path) -> None:
    app = make_app(folder.parent / "store", folder)
    with app.app_context():
        token = Gamify().customer_token(42)  # type: ignore[arg-type]
    assert state(app).tokens.customer(token) == "42"
    state(app).engine.dispose()


# -- configuration -----------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_database_url_with_percent_escapes_starts_and_plays(folder: Path) -> None:
    """A password with "@" is written "%40" in a URL; the migrations' ConfigParser once read
    the "%" as an interpolation and stopped init_app with a ValueError."""
    with postgres_database("gamify_test") as url:
        escaped = make_url(url).set(password="p@ss%word").render_as_string(hide_password=False)
        assert "%40" in escaped and "%25" in escaped
        app = make_app(folder.parent / "store", folder, GAMIFY_DATABASE_URL=escaped)
        client, _ = checked_client(app)
        token = state(app).tokens.sign("alice")
        assert (
            client.post(f"{API}/campaigns/{WHEEL}/plays", headers=bearer(token)).status_code == 201
        )
        state(app).engine.dispose()


def test_a_sqlite_path_with_a_percent_sign_starts(folder: Path, tmp_path: Path) -> None:
    database = tmp_path / "100% shop" / "gamify.sqlite3"
    app = make_app(tmp_path / "store", folder, GAMIFY_DATABASE_URL=f"sqlite:///{database}")
    assert app.test_client().get(f"{API}/campaigns").status_code == 200
    assert database.exists()
    state(app).engine.dispose()


def test_flask_prefixed_environment_variables_configure_gamify(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ecosystem's way (docs/integration.md): ``FLASK_GAMIFY_…`` read by the host app's
    ``app.config.from_prefixed_env()``."""
    database = tmp_path / "from-env.sqlite3"
    monkeypatch.setenv("FLASK_GAMIFY_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("FLASK_GAMIFY_CAMPAIGNS", str(folder))
    monkeypatch.setenv("FLASK_GAMIFY_SECRET_KEY", SECRET)
    app = Flask("store", instance_path=str(tmp_path / "instance"))
    app.config.from_prefixed_env()
    Gamify(app)
    assert [c["id"] for c in app.test_client().get(f"{API}/campaigns").get_json()["campaigns"]] == [
        WHEEL
    ]
    assert database.exists()
    state(app).engine.dispose()


# -- the database away at start ------------------------------------------------------------------


@pytest.mark.postgres
def test_the_app_starts_without_its_database_and_serves_once_it_is_back(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with postgres_database("gamify_test") as url:
        name = make_url(url).database
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}"')  # not there yet when the store starts
        with caplog.at_level(logging.WARNING, logger="gamify"):
            app = make_app(folder.parent / "store", folder, GAMIFY_DATABASE_URL=url)
        assert "not available yet" in caplog.text
        current = state(app)
        current.retry_every = 0
        client, checker = checked_client(app)
        checker.database_down = True
        alice = bearer(current.tokens.sign("alice"))
        for response in (
            client.get(f"{API}/campaigns"),
            client.post(f"{API}/campaigns/{WHEEL}/plays", headers=alice),
        ):
            assert response.status_code == 503
            assert response.get_json()["code"] == "unavailable"
            assert int(response.headers["Retry-After"]) >= 1
        assert client.get(f"{PREFIX}/widget.js").status_code == 200  # pages still load
        assert client.get(f"{PREFIX}/openapi.json").status_code == 200
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')  # back
        checker.database_down = False
        assert client.post(f"{API}/campaigns/{WHEEL}/plays", headers=alice).status_code == 201
        current.engine.dispose()


def test_without_auto_upgrade_an_old_schema_waits_for_db_upgrade(
    folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(tmp_path / "store", folder, GAMIFY_AUTO_UPGRADE=False)
    current = state(app)
    current.retry_every = 0
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="gamify"):
        response = client.get(f"{API}/campaigns")
    assert response.status_code == 503
    assert "flask gamify db upgrade" in caplog.text
    result = app.test_cli_runner().invoke(args=["gamify", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "at revision" in result.output
    assert client.get(f"{API}/campaigns").status_code == 200
    current.engine.dispose()


# -- what every path under the prefix answers ------------------------------------------------------


def test_every_gamify_response_says_nosniff(folder: Path) -> None:
    app = make_app(folder.parent / "store", folder)
    client = app.test_client()
    token = bearer(state(app).tokens.sign("alice"))
    for response in (
        client.get(f"{API}/campaigns"),
        client.get(f"{API}/campaigns/nope"),
        client.post(f"{API}/campaigns/{WHEEL}/plays", data="{", headers=token),
        client.get(f"{PREFIX}/widget.js"),
        client.get(f"{PREFIX}/openapi.json"),
        client.get(f"{PREFIX}/nothing-here"),
        client.options(f"{API}/campaigns"),
        client.get(f"{PREFIX}//api/campaigns"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.request.path
    state(app).engine.dispose()


def test_a_doubled_slash_is_a_problem_naming_the_path_meant(folder: Path) -> None:
    """The router would answer an HTML redirect; the API's paths are exact."""
    app = make_app(folder.parent / "store", folder)
    client, checker = checked_client(app)
    response = client.get(f"{PREFIX}//api/campaigns")
    assert response.status_code == 404
    checker.check_problem(response)
    assert response.get_json()["detail"].endswith(f"did you mean {API}/campaigns?")
    state(app).engine.dispose()


def test_a_plain_options_request_lists_the_methods_without_a_body(folder: Path) -> None:
    app = make_app(folder.parent / "store", folder)
    client, _ = checked_client(app)
    response = client.options(f"{API}/campaigns/{WHEEL}/plays")
    assert response.status_code == 204
    assert response.data == b"" and "Content-Type" not in response.headers
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    unknown = client.options(f"{API}/nothing")
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    state(app).engine.dispose()
