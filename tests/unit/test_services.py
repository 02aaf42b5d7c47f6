"""The service on the in-memory fake of its storage ports: every behaviour test of
``tests/service_cases.py`` in milliseconds, with no database (the same tests run on SQLite and
PostgreSQL in ``tests/storage/test_service_on_databases.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes import MemoryGuests, MemoryLog, MemoryPlays, MemoryProgress, NoReports
from service_cases import *  # noqa: F403  (the shared behaviour tests, collected here)
from service_cases import NOW, MakeState

from gamify.campaigns.registry import Registry
from gamify.services.service import Service


@dataclass
class MemoryState:
    service: Service
    registry: Registry


@pytest.fixture
def make_state(folder: Path) -> Iterator[MakeState]:
    log = MemoryLog()  # one store: a second state is a second worker on the same storage

    def make() -> MemoryState:
        service = Service(
            MemoryPlays(log),
            log,
            (p := MemoryProgress(log)),
            p.audience,
            NoReports(),
            NoReports(),
            NoReports(),
            MemoryGuests(),
            "s3cret",
            clock=lambda: NOW,
        )
        registry = Registry(folder, on_load=service.load, interval=0)
        registry.reload()
        return MemoryState(service, registry)

    yield make


def test_the_fake_serialises_plays_as_the_campaign_lock_does(make_state: MakeState) -> None:
    """Plays from many threads at once: gap-free seq and each player's nonces, limits exact."""
    from concurrent.futures import ThreadPoolExecutor

    current = make_state()
    campaign = current.registry.get("pool-wheel")
    with ThreadPoolExecutor(8) as pool:
        rows = list(pool.map(lambda i: current.service.play(campaign, f"c{i % 5}").row, range(200)))
    assert sorted(r["seq"] for r in rows) == list(range(200))
    nonces: dict[str, list[int]] = {}
    for row in rows:
        nonces.setdefault(row["player"], []).append(row["nonce"])
    assert len(nonces) == 5
    assert all(sorted(n) == list(range(len(n))) for n in nonces.values())
