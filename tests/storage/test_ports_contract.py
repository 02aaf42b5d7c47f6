"""The storage ports' contract (:mod:`gamify.services.ports`), checked on each adapter: SQLite,
PostgreSQL and the in-memory fake of ``tests/fakes.py``. What a service relies on from any
storage is written down here once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from databases import KINDS, database_url
from fakes import MemoryLog, MemoryPlays, MemoryProgress

from gamify.core.chain import ZERO_HASH, chain_row
from gamify.core.events import parse_events
from gamify.core.progress import Contribution, Reversal
from gamify.services.ports import (
    CampaignLog,
    Completed,
    ConfigRecord,
    GivenCoupon,
    NewEpoch,
    PlayQuery,
    PlayStore,
    PlayWrite,
    Pool,
    PoolConflict,
    ProgressStore,
)
from gamify.storage.campaign_log import SqlCampaignLog
from gamify.storage.database import make_engine, upgrade
from gamify.storage.plays.store import EnginePlays
from gamify.storage.progress_store import SqlProgressStore

NOW = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
CONFIG = ConfigRecord("a" * 64, '{"prizes":[]}')
ZERO = NewEpoch("0" * 64, "c" * 64)


@dataclass
class Storage:
    log: CampaignLog
    plays: PlayStore
    progress: ProgressStore


@pytest.fixture(params=[*KINDS, "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        log = MemoryLog()
        yield Storage(log, MemoryPlays(log), MemoryProgress(log))
        return
    with database_url(request.param, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine)
        yield Storage(SqlCampaignLog(engine), EnginePlays(engine), SqlProgressStore(engine))
        engine.dispose()


def query(campaign: str = "w", **changes: object) -> PlayQuery:
    fields: dict[str, object] = {
        "campaign": campaign,
        "scopes": ["p:x:day:2026-11-28", "prize:box"],
        "player": "x",
        "idempotency_key": None,
        "pool_prizes": [],
        "candidate_codes": [],
        **changes,
    }
    return PlayQuery(**fields)  # type: ignore[arg-type]


def a_play(storage: Storage, *, key: str | None = None, coupon: GivenCoupon | None = None) -> dict:
    with storage.plays.transaction() as tx:
        found = tx.read(query(idempotency_key=key, pool_prizes=["box"]))
        assert found is not None
        row = chain_row(
            prev_hash=found.head_hash,
            seq=found.next_seq,
            campaign="w",
            epoch=found.epoch,
            nonce=found.next_nonce,
            client_seed="s",
            player="x",
            drawn="box",
            awarded="box",
            at=NOW,
            config_hash=CONFIG.config_hash,
        )
        tx.write(
            PlayWrite(
                row={**row, "coupon": coupon.code if coupon else None},
                next_nonce=found.next_nonce + 1,
                spent_total_cents=found.spent_total_cents + 500,
                bumps={"p:x:day:2026-11-28": 1, "prize:box": 1},
                idempotency_key=key,
                coupon=coupon,
            )
        )
    return row


def test_recording_twice_keeps_the_first_epoch_and_adds_each_config_once(
    storage: Storage,
) -> None:
    log = storage.log
    log.record("w", [CONFIG], ZERO, [], NOW)
    log.record("w", [CONFIG], NewEpoch("1" * 64, "d" * 64), [], NOW)  # a second worker
    other = ConfigRecord("b" * 64, '{"prizes":[1]}')
    log.record("w", [other], ZERO, [], NOW)
    assert [e.commitment for e in log.epochs("w")] == [ZERO.commitment]
    assert log.epochs("w")[0].server_seed is None  # committed, never shown before the reveal
    snap = log.snapshot("w")
    assert [c.config_hash for c in snap.configs] == [CONFIG.config_hash, other.config_hash]
    assert (snap.head, snap.head_hash) == (0, ZERO_HASH)


def test_a_pool_conflict_records_nothing_of_the_new_version(storage: Storage) -> None:
    log = storage.log
    log.record("w", [CONFIG], ZERO, [Pool(0, "box", ["B-1", "B-2"])], NOW)
    renamed = ConfigRecord("b" * 64, "{}")
    with pytest.raises(PoolConflict) as raised:
        log.record("w", [renamed], ZERO, [Pool(0, "gift", ["B-1", "G-9"])], NOW)
    assert (raised.value.code, raised.value.held_by, raised.value.pattern) == ("B-1", "box", False)
    assert [c.config_hash for c in log.snapshot("w").configs] == [CONFIG.config_hash]
    with storage.plays.transaction() as tx:
        found = tx.read(query(pool_prizes=["box", "gift"]))
    assert found is not None and found.pool_codes == {"box": "B-1"}  # G-9 was not loaded


def test_a_play_reads_under_the_lock_and_writes_the_chain_counters_and_coupon(
    storage: Storage,
) -> None:
    storage.log.record("w", [CONFIG], ZERO, [Pool(0, "box", ["B-1", "B-2"])], NOW)
    first = a_play(storage, key="k", coupon=GivenCoupon("B-1", "box", pooled=True))
    second = a_play(storage, coupon=GivenCoupon("T-1", "box", pooled=False))
    assert second["prev_hash"] == first["hash"] and second["seq"] == 1
    with storage.plays.transaction() as tx:
        found = tx.read(query(idempotency_key="k", pool_prizes=["box"], candidate_codes=["T-1"]))
        assert found is not None
        assert (found.next_seq, found.head_hash, found.next_nonce) == (2, second["hash"], 2)
        assert found.spent_total_cents == 1000
        assert found.counts == {"p:x:day:2026-11-28": 2, "prize:box": 2}
        assert found.replay_seq == 0 and found.pool_codes == {"box": "B-2"}
        assert found.taken_codes == {"T-1"}
        stored, commitment = tx.replay("w", 0)
    assert stored["coupon"] == "B-1" and stored["hash"] == first["hash"]
    assert commitment == ZERO.commitment
    assert storage.log.counters("w", ["prize:box", "spend:none"]) == {"prize:box": 2}
    assert [r["seq"] for r in storage.log.plays_of({"x": "w", "y": "w"})] == [0, 1]
    assert [r["hash"] for r in storage.log.play_rows("w", 1, 2, 10)] == [second["hash"]]
    assert storage.log.configs_used("w", 2) == {CONFIG.config_hash}


def test_a_play_that_is_not_written_leaves_nothing(storage: Storage) -> None:
    storage.log.record("w", [CONFIG], ZERO, [], NOW)
    with storage.plays.transaction() as tx:
        assert tx.read(query()) is not None  # read, then refused: no write
    assert storage.log.snapshot("w").head == 0
    with storage.plays.transaction() as tx:
        assert tx.read(query("no-such-campaign")) is None


def test_the_next_epoch_opens_once_even_when_two_workers_ask(storage: Storage) -> None:
    log = storage.log
    assert not log.open_next_epoch("w", ZERO, NOW)  # no campaign yet
    log.record("w", [CONFIG], ZERO, [], NOW)
    a_play(storage)
    assert log.open_next_epoch("w", NewEpoch("1" * 64, "d" * 64), NOW, after=0)
    assert not log.open_next_epoch("w", NewEpoch("2" * 64, "e" * 64), NOW, after=0)
    epochs = log.epochs("w")
    assert [(e.epoch, e.server_seed) for e in epochs] == [(0, ZERO.seed), (1, None)]
    with storage.plays.transaction() as tx:
        found = tx.read(query())
    assert found is not None and (found.epoch, found.next_nonce, found.next_seq) == (1, 0, 1)
    log.reveal_open_epoch("w", NOW)
    assert log.epochs("w")[1].server_seed == "1" * 64


def test_events_are_stored_once_each_and_the_new_ones_named(storage: Storage) -> None:
    def batch(*ids: str) -> list:
        body = {
            "events": [
                {"id": i, "type": "review.published", "customer": "c",
                 "occurred_at": "2026-11-28T10:00:00Z"}
                for i in ids
            ]
        }  # fmt: skip
        return parse_events(body, NOW)

    for events, new in ((batch("a", "b"), {"a", "b"}), (batch("b", "c"), {"c"}), ([], set())):
        with storage.progress.transaction() as tx:
            assert tx.append(events, NOW) == new


HOSTILE = 'a"b\\c{d},e} NULL\n\x01\t ü 中 \\"'
"""Text that array literals, JSON and SQL each treat specially, as a customer could send it."""


def test_any_text_is_stored_and_read_back_exactly(storage: Storage) -> None:
    event_id = 'id"\\{x},NULL'  # ids are visible ASCII: quotes, braces and commas allowed
    body = {
        "id": event_id, "type": "order.paid", "customer": HOSTILE,
        "occurred_at": "2026-11-28T10:00:00Z",
        "order": {"id": HOSTILE[:128], "total": "10", "items": []},
    }  # fmt: skip
    events = parse_events(body, NOW)
    key = ("ch", HOSTILE, "all")
    contribution = Contribution("ch", HOSTILE, "all", "orders", event_id, 10_000, HOSTILE, None)
    with storage.progress.transaction() as tx:
        stored, tallies, _, _ = tx.start(events, NOW, [HOSTILE], [key], [HOSTILE], ["ch"])
        assert stored == {event_id} and tallies[key].units == {}
        tx.add([contribution], NOW)
    with storage.progress.transaction() as tx:
        stored, tallies, _, given = tx.start(events, NOW, [HOSTILE], [key], [HOSTILE], ["ch"])
    assert stored == set()  # stored before, under exactly that id
    assert tallies[key].units == {"orders": 10_000}
    assert [(g.customer, g.source, g.order_id) for g in given] == [(HOSTILE, event_id, HOSTILE)]


def _contribution(source: str, units: int, period: str | None = "2026-11-28") -> Contribution:
    return Contribution("ch", "ana", "all", "orders", source, units, f"o-{source}", period)


def test_a_transaction_that_raises_keeps_nothing(storage: Storage) -> None:
    events = parse_events(
        {"id": "e1", "type": "x.y", "customer": "ana", "occurred_at": "2026-11-28T10:00:00Z"}, NOW
    )
    with pytest.raises(RuntimeError), storage.progress.transaction() as tx:
        tx.append(events, NOW)
        tx.add([_contribution("e1", 10_000)], NOW)
        raise RuntimeError("the request failed half way")
    with storage.progress.transaction() as tx:
        assert tx.append(events, NOW) == {"e1"}  # not stored before
    assert storage.progress.tallies([("ch", "ana", "all")])[("ch", "ana", "all")].units == {}


def _paid(source: str, customer: str = "ana") -> dict[str, object]:
    return {
        "id": source, "type": "order.paid", "customer": customer,
        "occurred_at": "2026-11-28T10:00:00Z",
        "order": {"id": f"o-{source}", "total": "10", "items": []},
    }  # fmt: skip


def test_tallies_add_up_net_progress_and_what_counts_per_period(storage: Storage) -> None:
    key = ("ch", "ana", "all")
    with storage.progress.transaction() as tx:
        tx.append(parse_events({"events": [_paid("e1"), _paid("e2")]}, NOW), NOW)
        tx.add([_contribution("e1", 10_000), _contribution("e2", 10_000)], NOW)
    with storage.progress.transaction() as tx:
        _, _, given = tx.read([], {"o-e1"}, ["ch"])
        [first] = given
        tx.reverse([Reversal(first, 10_000)])
    tally = storage.progress.tallies([key, ("ch", "luis", "all")])[key]
    assert tally.units == {"orders": 10_000}
    assert tally.counted == {("orders", "2026-11-28"): 1}
    assert not tally.completed


def test_what_an_order_gave_is_found_through_its_earlier_events(storage: Storage) -> None:
    """Only what the challenges asked for hold of the order from its customer's events stored
    before; the events a transaction stores now have given nothing yet, so a new order reads
    nothing, also when a replay of an earlier event of it comes along."""
    with storage.progress.transaction() as tx:
        tx.append(parse_events({"events": [_paid("e1"), _paid("e3", "luis")]}, NOW), NOW)
        tx.add(
            [
                _contribution("e1", 10_000),
                Contribution("other", "ana", "all", "orders", "e1", 5, "o-e1", None),
                Contribution("ch", "luis", "all", "orders", "e3", 7, "o-e3", None),
            ],
            NOW,
        )
    second = {**_paid("e2"), "order": {"id": "o-e1", "total": "10", "items": []}}
    new_order = _paid("e4")
    events = parse_events({"events": [_paid("e1"), second, new_order]}, NOW)
    with storage.progress.transaction() as tx:
        stored, _, _, given = tx.start(events, NOW, ["ana"], [], ["o-e1", "o-e4"], ["ch"])
        assert stored == {"e2", "e4"}
        assert [(g.challenge, g.source, g.order_id) for g in given] == [("ch", "e1", "o-e1")]
        assert given[0].units == 10_000 and given[0].customer == "ana"
        tx.add([_contribution("e4", 10_000)], NOW)
        _, _, again = tx.read([], {"o-e4"}, ["ch"])
        assert again == []  # e4 is this transaction's own
    with storage.progress.transaction() as tx:
        _, _, later = tx.read([], {"o-e4", "o-e3"}, ["ch", "other"])
    assert sorted((g.customer, g.source) for g in later) == [("ana", "e4"), ("luis", "e3")]


def test_completions_are_numbered_and_capped_and_codes_given_once(storage: Storage) -> None:
    storage.progress.setup("ch", ["P1", "P2"])
    storage.progress.setup("ch", ["P1", "P2"])  # every worker sets up: nothing doubles
    ana, luis, eva = (("ch", c, "all") for c in ("ana", "luis", "eva"))
    with storage.progress.transaction() as tx:
        assert tx.number_rewards("ch", 1, 2) == [1]
        assert tx.pool_codes("ch", [1]) == ["P1"]
        assert tx.number_rewards("ch", 2, 2) == [2]  # only one reward left
        assert tx.pool_codes("ch", [2, 3]) == ["P2"]  # and the pool has one code left
        assert tx.number_rewards("fresh", 2, None) == [1, 2]  # a row made when needed
        assert tx.pattern_codes("ch", {3: "P1", 4: "X-1"}) == {4}  # P1 is given already
        tx.complete([Completed(ana, 1, "P1"), Completed(luis, 2, "P2"), Completed(eva, None)], NOW)
        tx.grant_points([("ana", "challenge:ch:all", 50)], NOW)
        tx.grant_points([("ana", "challenge:ch:all", 50)], NOW)  # once per source
    tallies = storage.progress.tallies([ana, eva])
    assert tallies[ana].coupon == "P1" and tallies[ana].rewarded
    assert tallies[eva].completed and not tallies[eva].rewarded
    with storage.progress.transaction() as tx:
        found, _, _ = tx.read([ana, ("ch", "zoe", "all")], [], [])
    assert found[ana].completed and not found[("ch", "zoe", "all")].completed
