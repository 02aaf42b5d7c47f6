"""The database commands, under a host app (`flask gamify …`) and standalone (`gamify …`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from gamify.cli.main import cli
from gamify.web.state import state
from tests.api_support import PREFIX, WHEEL


def _play(client: FlaskClient, token: str) -> None:
    response = client.post(
        f"{PREFIX}/api/campaigns/{WHEEL}/plays", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.get_json()


def test_flask_gamify_exports_a_bundle_that_verifies_and_rotates_epochs(
    app: Flask, client: FlaskClient, token: Callable[[str], str], tmp_path: Path
) -> None:
    _play(client, token("ana"))
    runner = app.test_cli_runner()
    rotated = runner.invoke(args=["gamify", "rotate", WHEEL])
    assert rotated.exit_code == 0, rotated.output
    assert "epoch 0 closed, seed revealed" in rotated.output and "epoch 1 open" in rotated.output
    _play(client, token("ben"))
    out = tmp_path / "bundle.jsonl"
    exported = runner.invoke(args=["gamify", "export", WHEEL, "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    verified = runner.invoke(args=["gamify", "verify", str(out)])
    assert verified.exit_code == 0, verified.output
    assert "2 plays verified" in verified.output and "1 plays belong to epochs" in verified.output
    assert runner.invoke(args=["gamify", "export", "nope", "-o", str(out)]).exit_code == 2


def test_flask_gamify_reload_reports_a_broken_file_and_keeps_serving(
    app: Flask, campaigns_dir: Path
) -> None:
    (campaigns_dir / "zz-broken.yaml").write_text("id: broken\ngame: roulette\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["gamify", "reload"])
    assert result.exit_code == 1
    assert "zz-broken.yaml:2:7: game:" in result.output
    assert WHEEL in result.output
    assert WHEEL in {c.id for c in state(app).registry.all()}


def test_standalone_commands_read_the_database_from_options(
    app: Flask,
    client: FlaskClient,
    token: Callable[[str], str],
    tmp_path: Path,
    campaigns_dir: Path,
) -> None:
    _play(client, token("ana"))
    url = app.config["GAMIFY_DATABASE_URL"]
    runner = CliRunner()
    base = ["--database-url", url, "--campaigns", str(campaigns_dir)]
    upgraded = runner.invoke(cli, [*base, "db", "upgrade"])
    assert upgraded.exit_code == 0 and "revision 0010" in upgraded.output, upgraded.output
    out = tmp_path / "standalone.jsonl"
    assert runner.invoke(cli, [*base, "export", WHEEL, "-o", str(out)]).exit_code == 0
    assert runner.invoke(cli, ["verify", str(out)]).exit_code == 0
    missing = runner.invoke(cli, ["export", WHEEL, "-o", str(out)], env={"GAMIFY_DATABASE_URL": ""})
    assert missing.exit_code == 2 and "GAMIFY_DATABASE_URL" in missing.output
