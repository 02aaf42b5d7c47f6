"""SQLite under several processes from their first connection: workers started together on a
fresh file all get their connection (a gunicorn worker once failed to start on "database is
locked" while the others switched the new file to WAL)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
from pathlib import Path

from sqlalchemy import text

from gamify.storage.database import make_engine, writing

PROCESSES = 6
ROUNDS = 25  # without the wait for the WAL switch, about one round in five failed


def _first_write(url: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    engine = make_engine(url)
    barrier.wait(timeout=30)
    try:
        with writing(engine) as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        engine.dispose()


def test_workers_starting_together_on_a_new_file_all_connect_and_write(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for round_ in range(ROUNDS):
        url = f"sqlite:///{tmp_path / f'round-{round_}.sqlite3'}"
        barrier = context.Barrier(PROCESSES)
        workers = [
            context.Process(target=_first_write, args=(url, barrier)) for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert [w.exitcode for w in workers] == [0] * PROCESSES, f"round {round_}"
        engine = make_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == PROCESSES
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        engine.dispose()
