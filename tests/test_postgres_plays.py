"""The PostgreSQL play store speaks libpq directly: its errors, its cleanup, its statements."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from databases import database_url

from gamify.extension import GamifyState, build_state
from gamify.storage.play_store import play_transaction
from gamify.storage.postgres_plays import PostgresPlays, Statement
from gamify.verify import verify_bundle

NOW = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
CAMPAIGN = """\
id: wheel
game: wheel
title: {es: "Rueda", en: "Wheel"}
timezone: Europe/Madrid
starts: 2026-11-27T00:00:00
ends: 2026-12-01T00:00:00
fallback: nothing
prizes:
  - {id: ten, label: "10%", weight: 1, coupon: {pattern: "TEN-{code:8}"}}
  - {id: nothing, label: Nothing, weight: 1, win: false}
"""


@pytest.fixture
def current(tmp_path: Path) -> Iterator[GamifyState]:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "wheel.yaml").write_text(CAMPAIGN, encoding="utf-8")
    with database_url("postgres", tmp_path) as url:
        made = build_state(database_url=url, campaigns=folder, secret="s", reload_interval=0)
        made.service.clock = lambda: NOW
        yield made
        made.engine.dispose()


def _backend_pid(current: GamifyState) -> int:
    with current.engine.connect() as conn:
        pid: int = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        return pid


def test_a_failing_statement_raises_by_its_sqlstate_and_leaves_the_connection_usable(
    current: GamifyState,
) -> None:
    campaign = current.registry.get("wheel")
    current.service.play(campaign, "a")
    pid = _backend_pid(current)
    with pytest.raises(psycopg.errors.DivisionByZero), play_transaction(current.engine) as tx:
        assert isinstance(tx, PostgresPlays)
        tx._pipeline([b"BEGIN", b"SELECT 1/0", b"SELECT 1"], {})
    assert _backend_pid(current) == pid  # rolled back and handed out again, not discarded
    assert current.service.play(campaign, "a").row["seq"] == 1


def test_a_connection_the_server_dropped_fails_one_play_and_the_next_one_plays(
    current: GamifyState, tmp_path: Path
) -> None:
    campaign = current.registry.get("wheel")
    current.service.play(campaign, "a")
    url = current.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with pytest.raises(psycopg.OperationalError):
        current.service.play(campaign, "a")
    rows = [current.service.play(campaign, "a").row for _ in range(3)]
    assert [r["seq"] for r in rows] == [1, 2, 3]  # nothing half-written: no gap, no fork
    current.service.rotate("wheel")  # reveals the seed: the whole chain can be re-derived
    bundle = tmp_path / "wheel.audit.jsonl"
    with bundle.open("w", encoding="utf-8") as out:
        current.service.write_bundle("wheel", out)
    assert verify_bundle(bundle).plays == 4


def test_statements_number_each_parameter_once_and_type_it_by_name() -> None:
    statement = Statement.of("t", "SELECT %(campaign)s, %(seq)s, %(pooled)s, %(campaign)s")
    assert statement.sql == b"SELECT $1, $2, $3, $1"
    assert statement.params == ("campaign", "seq", "pooled")
    assert statement.types == (25, 20, 16)
    assert statement.values({"campaign": "w", "seq": 7, "pooled": False}) == [b"w", b"7", b"f"]
    assert statement.values({"campaign": None, "seq": 0, "pooled": True})[::2] == [None, b"t"]
    renamed = Statement.of("t", "SELECT %(campaign)s + 1")
    assert renamed.name != statement.name  # a changed text is prepared under a new name
