"""The service on SQLite and PostgreSQL: every behaviour test of ``tests/service_cases.py``
(run on the in-memory fake too), and what only a real database has: migrations, and rows a
store's staff could edit by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from databases import KINDS, database_url
from service_cases import *  # noqa: F403  (the shared behaviour tests, collected here)
from service_cases import NOW, write_bundle
from sqlalchemy import text
from sqlmodel import SQLModel

from gamify.audit.verify import verify_bundle
from gamify.core import fairness
from gamify.storage.database import alembic_config, current_revision, make_engine, upgrade
from gamify.web.state import GamifyState, build_state


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def make_state(database: str, folder: Path) -> Iterator[Callable[[], GamifyState]]:
    made: list[GamifyState] = []

    def make() -> GamifyState:
        current = build_state(
            database_url=database,
            campaigns=folder,
            secret="s3cret",
            reload_interval=0,
            clock=lambda: NOW,  # loading the campaigns reveals the seeds of those ended by then
        )
        made.append(current)
        return current

    yield make
    for current in made:
        current.engine.dispose()


def test_migrations_create_the_schema_once_and_refuse_a_newer_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    assert current_revision(engine) is None
    upgrade(engine)
    head = current_revision(engine)
    assert head is not None
    upgrade(engine)  # nothing to do
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from-the-future'"))
    with pytest.raises(RuntimeError, match="newer version"):
        upgrade(engine)


def test_the_migrations_build_exactly_the_tables_the_code_declares(database: str) -> None:
    engine = make_engine(database)
    upgrade(engine)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert differences == []


def test_upgrading_a_database_with_plays_keeps_every_play_and_coupon(
    make_state: Callable[[], GamifyState], database: str
) -> None:
    engine = make_engine(database)
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    engine.dispose()
    current = make_state()  # upgrades to the newest revision on start
    campaign = current.registry.get("pool-wheel")
    given = [current.service.play(campaign, f"c{i}", client_seed="s").coupon for i in range(20)]
    with current.engine.connect() as conn:
        downgrade_to_first = alembic_config(current.engine)
        downgrade_to_first.attributes["connection"] = conn
        command.downgrade(downgrade_to_first, "0001")
        command.upgrade(downgrade_to_first, "head")
        conn.commit()
        plays = conn.execute(text("SELECT count(*) FROM gamify_play")).scalar_one()
        codes = conn.execute(text("SELECT code FROM gamify_coupon WHERE seq IS NOT NULL")).all()
    assert plays == 20
    assert sorted(c for (c,) in codes) == sorted(c for c in given if c is not None)
    head = ScriptDirectory.from_config(alembic_config(current.engine)).get_current_head()
    assert current_revision(current.engine) == head == "0010"
    more = current.service.play(campaign, "after")
    assert more.row["seq"] == 20


def test_codes_taken_out_of_the_database_give_the_fallback_not_an_error(
    make_state: Callable[[], GamifyState], caplog: pytest.LogCaptureFixture
) -> None:
    """Only a hand edit of the database can empty a pool before its stock: the shopper still
    gets an answer (the fallback, as the play records), and the log says what went wrong."""
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    with current.engine.begin() as conn:
        conn.execute(text("DELETE FROM gamify_coupon WHERE seq IS NULL"))
    with caplog.at_level(logging.ERROR, logger="gamify"):
        results = [current.service.play(campaign, f"c{i}") for i in range(20)]
    assert all(r.coupon is None for r in results)
    assert any(r.row["drawn"] == "box" and r.row["awarded"] == "nothing" for r in results)
    assert "no code left before its stock ran out" in caplog.text


def test_an_epoch_from_before_v2_draws_with_v1_until_it_closes(
    make_state: Callable[[], GamifyState], tmp_path: Path
) -> None:
    """The upgrade leaves the epochs there are drawing with v1 (the column's default): one epoch
    never mixes algorithms. The next epoch draws with v2, and one bundle verifies both."""
    current = make_state()
    with current.engine.begin() as conn:  # as migration 0008 leaves an epoch opened before it
        conn.execute(text("UPDATE gamify_epoch SET algorithm = 'gamify-fairness-v1'"))
    campaign = current.registry.get("pool-wheel")
    old = [current.service.play(campaign, who).row for who in "aba"]
    assert [r["nonce"] for r in old] == [0, 1, 2]  # the epoch's plays, whoever plays
    assert {r["config_hash"] for r in old} == {campaign.rules_for(fairness.V1).config_hash}
    current.service.rotate("pool-wheel")
    new = [current.service.play(campaign, who).row for who in "ab"]
    assert [(r["epoch"], r["nonce"]) for r in new] == [(1, 0), (1, 0)]
    assert {r["config_hash"] for r in new} == {campaign.rules_for(fairness.V2).config_hash}
    assert [e.algorithm for e in current.service.epochs("pool-wheel")] == [
        fairness.V1,
        fairness.V2,
    ]
    report = verify_bundle(write_bundle(current, tmp_path / "b.jsonl"))
    assert (report.plays, report.configs, report.unrevealed_plays) == (5, 2, 2)
