"""Store events on PostgreSQL speak libpq directly (as plays do): they survive what happens to
pooled connections, and leave them clean."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from api_support import CHALLENGE, WHEEL, challenge_yaml, write_campaign
from databases import database_url
from sqlalchemy.exc import DataError

from gamify.web.state import GamifyState, build_state


@pytest.fixture
def current(tmp_path: Path) -> Iterator[GamifyState]:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    write_campaign(folder, WHEEL, -1, 30)
    (folder / f"{CHALLENGE}.yaml").write_text(challenge_yaml(), encoding="utf-8")
    with database_url("postgres", tmp_path) as url:
        made = build_state(database_url=url, campaigns=folder, secret="s", reload_interval=0)
        yield made
        made.engine.dispose()


def _review(n: int, customer: str = "ana") -> dict[str, object]:
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    return {"id": f"r-{n}", "type": "review.published", "customer": customer, "occurred_at": at}


def _track(current: GamifyState, body: dict[str, object]) -> list[dict[str, object]]:
    return current.service.track_events(body, current.registry.index()).results


def _backend_pid(current: GamifyState) -> int:
    with current.engine.connect() as conn:
        pid: int = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        return pid


def test_events_whose_statements_were_deallocated_prepare_them_again(
    current: GamifyState,
) -> None:
    assert _track(current, _review(1))[0]["status"] == "accepted"
    pid = _backend_pid(current)
    with current.engine.connect() as conn:
        conn.exec_driver_sql("DEALLOCATE ALL")
        conn.commit()
    [result] = _track(current, _review(2, "luis"))
    assert result["status"] == "accepted" and result["progress"]  # counted, not lost
    assert _backend_pid(current) == pid  # recovered on the same connection


def test_events_after_the_database_dropped_its_connections_go_on_new_ones(
    current: GamifyState,
) -> None:
    with ThreadPoolExecutor(4) as pool:  # several pooled connections, all about to die
        list(pool.map(lambda n: _track(current, _review(n, f"c{n}")), range(4)))
    url = current.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    statuses = [_track(current, _review(n, "eva"))[0]["status"] for n in range(10, 13)]
    assert statuses == ["accepted"] * 3
    assert _track(current, _review(10, "eva"))[0]["status"] == "duplicate"  # stored once


def test_a_failed_request_leaves_its_connection_clean_for_the_next(
    current: GamifyState,
) -> None:
    index = current.registry.index()
    pid = _backend_pid(current)
    with pytest.raises(DataError), current.service.progress.transaction() as tx:
        tx.start([], datetime.now(UTC), ["ana"], [], [], [])
        tx.conn.exec_driver_sql("SELECT 1/0")
    assert _backend_pid(current) == pid  # rolled back and handed out again
    body = _review(5)
    assert current.service.track_events(body, index).results[0]["status"] == "accepted"
