"""The service without Flask: plays, coupons, epochs, config versions and migrations on SQLite."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from textwrap import dedent

import pytest
from sqlalchemy import text

from gamify import fairness
from gamify.errors import CampaignInactive, LimitReached
from gamify.extension import GamifyState, build_state
from gamify.storage.database import current_revision, make_engine, upgrade
from gamify.verify import verify_bundle

NOW = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)

CAMPAIGN = """\
id: pool-wheel
game: wheel
title: {es: "Rueda", en: "Wheel"}
timezone: Europe/Madrid
starts: 2026-11-27T00:00:00
ends: 2026-12-01T00:00:00
limits:
  per_customer:
    - {plays: 50, per: day}
fallback: nothing
prizes:
  - id: box
    label: Box
    weight: 60
    stock: 3
    coupon: {pool: codes.csv}
  - id: nothing
    label: Nothing
    weight: 40
    win: false
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "codes.csv").write_text("code\nBOX-1\nBOX-2\nBOX-3\nBOX-4\n", encoding="utf-8")
    (folder / "wheel.yaml").write_text(CAMPAIGN, encoding="utf-8")
    return folder


@pytest.fixture
def make_state(tmp_path: Path, folder: Path) -> Callable[[], GamifyState]:
    def make() -> GamifyState:
        current = build_state(
            database_url=f"sqlite:///{tmp_path / 'gamify.sqlite3'}",
            campaigns=folder,
            secret="s3cret",
            reload_interval=0,
        )
        current.service.clock = lambda: NOW
        return current

    return make


def test_pool_codes_are_given_once_each_in_file_order(
    make_state: Callable[[], GamifyState],
) -> None:
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    coupons = [
        current.service.play(campaign, f"customer-{i}", client_seed="seed").coupon
        for i in range(40)
    ]
    given = [c for c in coupons if c is not None]
    assert given == ["BOX-1", "BOX-2", "BOX-3"]  # stock 3: the fourth code is never given


def test_limits_and_schedule_are_enforced(make_state: Callable[[], GamifyState]) -> None:
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    for _ in range(50):
        current.service.play(campaign, "eager")
    with pytest.raises(LimitReached) as info:
        current.service.play(campaign, "eager")
    assert info.value.retry_at == datetime(2026, 11, 28, 23, 0, tzinfo=UTC)  # Madrid midnight
    current.service.clock = lambda: datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(CampaignInactive):
        current.service.play(campaign, "late")


def test_a_broken_edit_keeps_the_last_good_version_and_a_fix_is_used_for_new_plays(
    make_state: Callable[[], GamifyState], folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    current = make_state()
    first = current.registry.get("pool-wheel")
    current.service.play(first, "a")
    path = folder / "wheel.yaml"
    path.write_text(CAMPAIGN.replace("weight: 40", "weight: zero"), encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="gamify"):
        report = current.registry.reload()
    assert report.refused and "prizes[1].weight" in str(report.refused[0])
    assert "keeping the last good version" in caplog.text
    assert current.registry.get("pool-wheel") is first

    path.write_text(CAMPAIGN.replace("weight: 40", "weight: 30"), encoding="utf-8")
    current.registry.reload()
    second = current.registry.get("pool-wheel")
    assert second.config_hash != first.config_hash
    row = current.service.play(second, "b").row
    assert row["config_hash"] == second.config_hash

    bundle = folder.parent / "bundle.jsonl"
    with bundle.open("w", encoding="utf-8") as out:
        current.service.write_bundle("pool-wheel", out)
    report_ = verify_bundle(bundle)
    assert (report_.plays, report_.configs, report_.unrevealed_plays) == (2, 2, 2)


def test_rotation_reveals_the_seed_and_the_next_epoch_starts_at_nonce_zero(
    make_state: Callable[[], GamifyState], tmp_path: Path
) -> None:
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    before = current.service.epochs("pool-wheel")
    assert [(e.epoch, e.server_seed) for e in before] == [(0, None)]  # committed, not revealed
    current.service.play(campaign, "a")
    current.service.rotate("pool-wheel")
    epochs = current.service.epochs("pool-wheel")
    assert epochs[0].server_seed is not None
    assert fairness.commitment(epochs[0].server_seed) == before[0].commitment
    row = current.service.play(campaign, "a").row
    assert (row["seq"], row["epoch"], row["nonce"]) == (1, 1, 0)
    bundle = tmp_path / "b.jsonl"
    with bundle.open("w", encoding="utf-8") as out:
        current.service.write_bundle("pool-wheel", out)
    assert verify_bundle(bundle).unrevealed_plays == 1


def test_an_ended_campaign_reveals_its_seed_by_itself(
    make_state: Callable[[], GamifyState],
) -> None:
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    current.service.clock = lambda: campaign.ends + timedelta(seconds=1)
    current.service.reveal_if_ended(campaign)
    assert current.service.epochs("pool-wheel")[0].server_seed is not None


def test_a_second_worker_shares_epoch_zero_instead_of_making_its_own(
    make_state: Callable[[], GamifyState],
) -> None:
    one, two = make_state(), make_state()
    assert one.service.epochs("pool-wheel") == two.service.epochs("pool-wheel")


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


def test_a_folder_with_one_bad_file_still_serves_the_good_ones(
    make_state: Callable[[], GamifyState], folder: Path
) -> None:
    (folder / "broken.yaml").write_text(dedent("id: broken\ngame: roulette\n"), encoding="utf-8")
    current = make_state()
    assert [c.id for c in current.registry.all()] == ["pool-wheel"]
