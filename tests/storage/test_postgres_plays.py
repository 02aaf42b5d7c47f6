"""The PostgreSQL play store speaks libpq directly: its errors, its cleanup, its statements."""

from __future__ import annotations

import faulthandler
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from api_support import PREFIX, WHEEL, bearer, checked_client, make_app, write_campaign
from databases import PG_ADMIN, database_url, postgres_database
from sqlalchemy.engine import make_url

from gamify.audit.verify import verify_bundle
from gamify.storage.libpq import Statement
from gamify.storage.plays.postgres import PostgresPlays
from gamify.storage.plays.store import play_transaction
from gamify.web.state import GamifyState, build_state, state

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
        tx.pipeline.run([b"BEGIN", b"SELECT 1/0", b"SELECT 1"], {})
    assert _backend_pid(current) == pid  # rolled back and handed out again, not discarded
    assert current.service.play(campaign, "a").row["seq"] == 1


def _terminate_connections(url: str) -> None:
    """What a database restart does to every pooled connection."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def _driver_url(current: GamifyState) -> str:
    return current.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def test_a_play_after_the_database_dropped_its_connections_plays_on_new_ones(
    current: GamifyState, tmp_path: Path
) -> None:
    campaign = current.registry.get("wheel")
    with ThreadPoolExecutor(4) as pool:  # several pooled connections, all about to die
        list(pool.map(lambda c: current.service.play(campaign, c), "abcd"))
    _terminate_connections(_driver_url(current))
    rows = [current.service.play(campaign, "a").row for _ in range(3)]
    assert [r["seq"] for r in rows] == [4, 5, 6]  # nothing half-written: no gap, no fork
    current.service.rotate("wheel")  # reveals the seed: the whole chain can be re-derived
    bundle = tmp_path / "wheel.audit.jsonl"
    with bundle.open("w", encoding="utf-8") as out:
        current.service.write_bundle("wheel", out)
    assert verify_bundle(bundle).plays == 7


def test_a_database_that_is_gone_answers_503_with_retry_after_on_every_route(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    write_campaign(folder, WHEEL, -1, 30)
    with postgres_database("gamify_test") as url:
        app = make_app(tmp_path / "store", folder, GAMIFY_DATABASE_URL=url)
        client, checker = checked_client(app)  # every answer is checked against /openapi.json
        alice = bearer(state(app).tokens.sign("alice"))
        api = f"{PREFIX}/api"
        assert client.post(f"{api}/campaigns/{WHEEL}/plays", headers=alice).status_code == 201
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:  # the server goes away
            name = make_url(url).database
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        checker.database_down = True
        for response in (
            client.post(f"{api}/campaigns/{WHEEL}/plays", headers=alice),
            client.get(f"{api}/campaigns/{WHEEL}", headers=alice),
            client.get(f"{api}/campaigns/{WHEEL}/fairness"),
            client.get(f"{api}/me/plays", headers=alice),
        ):
            assert response.status_code == 503, response.get_data(as_text=True)
            assert response.mimetype == "application/problem+json"
            assert response.get_json()["code"] == "unavailable"
            assert int(response.headers["Retry-After"]) >= 1
        state(app).engine.dispose()


def test_threads_of_one_process_play_at_once_without_stalling_each_other(
    current: GamifyState,
) -> None:
    """A thread waiting for the campaign lock must let the thread holding it run (threaded
    servers: gunicorn's gthread, waitress, Flask's own)."""
    campaign = current.registry.get("wheel")
    seqs: list[int] = []

    def plays(customer: str) -> None:
        seqs.extend(current.service.play(campaign, customer).row["seq"] for _ in range(15))

    threads = [threading.Thread(target=plays, args=(f"c{i}",), daemon=True) for i in range(8)]
    # A thread stuck in C holding the GIL would stop join's timeout too: faulthandler's own
    # thread needs no GIL, and ends the run (exit status 1) instead of hanging it.
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert not any(t.is_alive() for t in threads), "plays stalled each other"
    assert sorted(seqs) == list(range(120))


def test_statements_number_each_parameter_once_and_type_it_by_name() -> None:
    statement = Statement.of("t", "SELECT %(campaign)s, %(seq)s, %(pooled)s, %(campaign)s")
    assert statement.sql == b"SELECT $1, $2, $3, $1"
    assert statement.params == ("campaign", "seq", "pooled")
    assert statement.types == (25, 20, 16)
    assert statement.values({"campaign": "w", "seq": 7, "pooled": False}) == [b"w", b"7", b"f"]
    assert statement.values({"campaign": None, "seq": 0, "pooled": True})[::2] == [None, b"t"]
    renamed = Statement.of("t", "SELECT %(campaign)s + 1")
    assert renamed.name != statement.name  # a changed text is prepared under a new name


def test_mixed_reads_and_replays_never_break_later_plays(tmp_path: Path) -> None:
    """The traffic of a real store between plays: replays of one Idempotency-Key, a shopper's
    plays list, the campaign with a token, the fairness page. Enough of them that psycopg would
    prepare its own statements, whose cleanup once dropped the play path's statements too and
    turned every later play of that process into a 500."""
    folder = tmp_path / "campaigns"
    folder.mkdir()
    write_campaign(folder, WHEEL, -1, 30)
    with postgres_database("gamify_test") as url:
        app = make_app(tmp_path / "store", folder, GAMIFY_DATABASE_URL=url)
        client, _ = checked_client(app)  # no 5xx, every answer as /openapi.json says
        api = f"{PREFIX}/api"
        plays = f"{api}/campaigns/{WHEEL}/plays"
        tokens = state(app).tokens
        try:
            for customer in ("a", "b", "c"):
                headers = bearer(tokens.sign(customer))
                assert client.post(plays, headers=headers).status_code == 201
            key = {**bearer(tokens.sign("d")), "Idempotency-Key": "same-key"}
            first = client.post(plays, headers=key).get_json()["play"]
            for _ in range(7):
                again = client.post(plays, headers=key)
                assert again.status_code == 200
                assert again.get_json()["play"]["seq"] == first["seq"]
            alice = bearer(tokens.sign("a"))
            for _ in range(8):
                assert client.get(f"{api}/me/plays", headers=alice).status_code == 200
                assert client.get(f"{api}/campaigns/{WHEEL}", headers=alice).status_code == 200
                assert client.get(f"{api}/campaigns/{WHEEL}/fairness").status_code == 200
            statuses = [
                client.post(plays, headers=bearer(tokens.sign(f"later-{i}"))).status_code
                for i in range(40)
            ]
            assert statuses == [201] * 40
        finally:
            state(app).engine.dispose()


def test_a_play_whose_statements_were_deallocated_prepares_them_again(
    current: GamifyState,
) -> None:
    """Whatever drops a connection's prepared statements (``DEALLOCATE ALL``, a pooler's
    ``DISCARD ALL``), the next play on it prepares them again instead of failing."""
    campaign = current.registry.get("wheel")
    current.service.play(campaign, "a")
    pid = _backend_pid(current)
    with current.engine.connect() as conn:
        conn.exec_driver_sql("DEALLOCATE ALL")
        conn.commit()
    assert _backend_pid(current) == pid  # the same pooled connection, statements gone
    rows = [current.service.play(campaign, c).row for c in "bcd"]
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert _backend_pid(current) == pid  # recovered on it, not by discarding it
