"""Serving the audit bundle: a slow client never holds a database connection or transaction.

The bundle is built from short transactions (the plays in ``seq`` chunks, up to the head read
at the start) into a file, and the file is what the client reads. Every test runs on SQLite and
on a throwaway PostgreSQL database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from api_support import WHEEL, checked_client, make_app, write_campaign
from databases import KINDS, PG_ADMIN, database_url
from flask import Flask
from sqlalchemy import Engine, select

from gamify.audit.bundle import bundle_line, epoch_record, play_record
from gamify.audit.verify import verify_bundle
from gamify.core.chain import PLAY_COLUMNS
from gamify.storage.campaign_log import _epochs
from gamify.storage.tables import config_t, play_t
from gamify.web.state import state

BUNDLE = f"/gamify/api/campaigns/{WHEEL}/audit.jsonl"
PLAYS = 25


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def app(tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A store with one running wheel, 25 plays in two epochs (the first revealed), and a
    bundle built 7 plays at a time so that it takes several transactions."""
    monkeypatch.setattr("gamify.services.bundles.BUNDLE_CHUNK", 7, raising=False)
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    write_campaign(campaigns, WHEEL, -1, 30)
    app = make_app(tmp_path / "store", campaigns, GAMIFY_DATABASE_URL=database)
    service = state(app).service
    with app.app_context():
        campaign = state(app).registry.get(WHEEL)
        for i in range(PLAYS):
            if i == 15:
                service.rotate(WHEEL)
            service.play(campaign, f"customer-{i}", client_seed=f"seed-{i}")
    yield app
    state(app).engine.dispose()


def reference_bundle(engine: Engine, campaign_id: str) -> bytes:
    """The bundle exactly as gamify wrote it before it was built from short transactions (one
    connection streaming everything): the new code must give the same bytes."""
    out: list[str] = []
    with engine.connect() as conn:
        used = select(play_t.c.config_hash).where(play_t.c.campaign == campaign_id).distinct()
        configs = conn.execute(
            select(config_t)
            .where(config_t.c.campaign == campaign_id, config_t.c.config_hash.in_(used))
            .order_by(config_t.c.created_at, config_t.c.config_hash)
        ).all()
        for cfg in configs:
            record = {
                "type": "campaign",
                "id": campaign_id,
                "config_hash": cfg.config_hash,
                "config": json.loads(cfg.config),
            }
            out.append(bundle_line(record))
        for e in _epochs(conn, campaign_id):
            out.append(bundle_line(epoch_record(campaign_id, e.epoch, e.commitment, e.server_seed)))
        rows = conn.execute(
            select(*[play_t.c[c] for c in PLAY_COLUMNS])
            .where(play_t.c.campaign == campaign_id)
            .order_by(play_t.c.seq)
        )
        out.extend(bundle_line(play_record(r._asdict())) for r in rows)
    return "".join(out).encode()


def idle_in_transaction(database: str) -> list[Any]:
    """PostgreSQL sessions of the test database that sit in an open transaction."""
    name = database.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        return admin.execute(
            "SELECT pid, query FROM pg_stat_activity "
            "WHERE datname = %s AND state LIKE 'idle in transaction%%'",
            (name,),
        ).fetchall()


def test_a_client_that_stops_reading_holds_no_connection_and_plays_go_on(
    app: Flask, database: str, tmp_path: Path
) -> None:
    current = state(app)
    expected = reference_bundle(current.engine, WHEEL)
    client = app.test_client()  # not the checking client: it would read the whole body
    response = client.get(BUNDLE, buffered=False)
    assert response.status_code == 200
    body = iter(response.response)
    first = next(body)  # the client has started reading, and stops here
    try:
        assert current.engine.pool.checkedout() == 0
        if database.startswith("postgresql"):
            assert idle_in_transaction(database) == []
        with app.app_context():
            campaign = current.registry.get(WHEEL)
            meanwhile = current.service.play(campaign, "meanwhile", client_seed="later")
        assert meanwhile.row["seq"] == PLAYS
        assert current.engine.pool.checkedout() == 0
        data = first + b"".join(body)
    finally:
        response.close()
    assert data == expected  # byte for byte what the log held when the request came
    bundle = tmp_path / "bundle.jsonl"
    bundle.write_bytes(data)
    report = verify_bundle(bundle)
    assert (report.plays, report.unrevealed_plays) == (PLAYS, PLAYS - 15)
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["Content-Disposition"] == f'attachment; filename="{WHEEL}.audit.jsonl"'
    assert response.mimetype == "application/x-ndjson"


def test_export_writes_the_same_bytes_as_the_api(app: Flask, tmp_path: Path) -> None:
    client, _ = checked_client(app)
    served = client.get(BUNDLE).data
    out = tmp_path / "export.jsonl"
    result = app.test_cli_runner().invoke(args=["gamify", "export", WHEEL, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == served == reference_bundle(state(app).engine, WHEEL)


def test_an_unchanged_log_is_served_from_its_file_and_revalidated_by_etag(
    app: Flask, tmp_path: Path
) -> None:
    client, _ = checked_client(app)
    first = client.get(BUNDLE)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"
    cached = sorted((tmp_path / "store" / "instance" / "gamify-bundles").glob("*.jsonl"))
    assert len(cached) == 1 and cached[0].read_bytes() == first.data

    assert client.get(BUNDLE, headers={"If-None-Match": etag}).status_code == 304
    part = client.get(BUNDLE, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == first.data[:100]
    assert part.headers["Content-Range"] == f"bytes 0-99/{len(first.data)}"
    outside = client.get(BUNDLE, headers={"Range": f"bytes={len(first.data)}-"})
    assert outside.status_code == 416 and outside.get_json()["code"] == "invalid_request"

    current = state(app)
    with app.app_context():
        current.service.play(current.registry.get(WHEEL), "one-more")
    second = client.get(BUNDLE, headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["ETag"] != etag
    assert second.data.startswith(first.data[: first.data.index(b'{"at":')])
    assert second.data == reference_bundle(current.engine, WHEEL)
    cached = sorted((tmp_path / "store" / "instance" / "gamify-bundles").glob("*.jsonl"))
    assert [c.read_bytes() for c in cached] == [second.data]  # the old version is gone
