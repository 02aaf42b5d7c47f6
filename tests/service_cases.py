"""How the service behaves, whatever stores it: these tests run on the in-memory fake
(``tests/unit/test_services.py``) and on SQLite and PostgreSQL
(``tests/storage/test_service_on_databases.py``), each of which gives the ``make_state``
fixture: a function that starts a store's service and campaigns (``.service``, ``.registry``)
on its storage; called twice, two workers on the same storage.

A support module, not a test module: the test modules import the tests from here.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any, Protocol

import pytest

from gamify.audit.verify import verify_bundle
from gamify.campaigns.registry import Registry
from gamify.core import fairness
from gamify.core.errors import CampaignInactive, CampaignNotFound, InvalidRequest, LimitReached
from gamify.services.service import Service

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


class Running(Protocol):
    service: Service
    registry: Registry


MakeState = Callable[[], Running]


def write_bundle(current: Running, path: Path, campaign: str = "pool-wheel") -> Path:
    """The campaign's audit bundle, as ``gamify export`` writes it, at ``path``."""
    with path.open("w", encoding="utf-8") as out:
        current.service.write_bundle(campaign, out)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "codes.csv").write_text("code\nBOX-1\nBOX-2\nBOX-3\nBOX-4\n", encoding="utf-8")
    (folder / "wheel.yaml").write_text(CAMPAIGN, encoding="utf-8")
    return folder


def test_pool_codes_are_given_once_each_in_file_order(
    make_state: MakeState,
) -> None:
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    coupons = [
        current.service.play(campaign, f"customer-{i}", client_seed="seed").coupon
        for i in range(40)
    ]
    given = [c for c in coupons if c is not None]
    assert given == ["BOX-1", "BOX-2", "BOX-3"]  # stock 3: the fourth code is never given


def test_limits_and_schedule_are_enforced(make_state: MakeState) -> None:
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
    make_state: MakeState, folder: Path, caplog: pytest.LogCaptureFixture
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

    bundle = write_bundle(current, folder.parent / "bundle.jsonl")
    report_ = verify_bundle(bundle)
    assert (report_.plays, report_.configs, report_.unrevealed_plays) == (2, 2, 2)


def test_rotation_reveals_the_seed_and_the_next_epoch_starts_at_nonce_zero(
    make_state: MakeState, tmp_path: Path
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
    bundle = write_bundle(current, tmp_path / "b.jsonl")
    assert verify_bundle(bundle).unrevealed_plays == 1


def test_each_player_counts_their_own_nonces_and_the_draw_names_them(
    make_state: MakeState, tmp_path: Path
) -> None:
    """Fairness v2 (CONTRACT §12): a new campaign's epochs draw with the player in the message,
    and each player's nonces run 0, 1, 2… whoever else plays between."""
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    assert current.service.epochs("pool-wheel")[0].algorithm == fairness.V2
    rows = [current.service.play(campaign, who).row for who in "abaab"]
    assert [r["nonce"] for r in rows] == [0, 0, 1, 2, 1]
    assert {r["config_hash"] for r in rows} == {campaign.rules_for(fairness.V2).config_hash}
    current.service.rotate("pool-wheel")
    seed = current.service.epochs("pool-wheel")[0].server_seed
    assert seed is not None
    rules = campaign.rules
    for row in rows:
        index = fairness.draw(
            seed, campaign.id, row["client_seed"], row["nonce"], rules.running, row["player"]
        )
        assert rules.prizes[index].id == row["drawn"]
    bundle = write_bundle(current, tmp_path / "b.jsonl")
    report = verify_bundle(bundle)
    assert (report.plays, report.revealed_epochs, report.unrevealed_plays) == (5, 1, 0)


def test_an_epoch_open_for_rotate_every_closes_at_the_next_play(
    make_state: MakeState, tmp_path: Path
) -> None:
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    opened = current.service.epochs("pool-wheel")[0].opened_at
    current.service.clock = lambda: opened + timedelta(hours=23)
    assert current.service.play(campaign, "a").row["epoch"] == 0  # within the day
    current.service.clock = lambda: opened + campaign.rotate_every
    row = current.service.play(campaign, "a").row
    assert (row["seq"], row["epoch"], row["nonce"]) == (1, 1, 0)
    first, second = current.service.epochs("pool-wheel")
    assert first.server_seed is not None and first.revealed_at == opened + campaign.rotate_every
    assert second.opened_at == opened + campaign.rotate_every and second.server_seed is None
    bundle = write_bundle(current, tmp_path / "b.jsonl")
    assert verify_bundle(bundle).unrevealed_plays == 1  # the first play's draw is checked


def test_a_read_past_rotate_every_closes_the_epoch_too(make_state: MakeState) -> None:
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    opened = current.service.epochs("pool-wheel")[0].opened_at
    current.service.rotate_if_due(campaign)
    assert len(current.service.epochs("pool-wheel")) == 1
    current.service.clock = lambda: opened + campaign.rotate_every + timedelta(minutes=5)
    current.service.rotate_if_due(campaign)
    current.service.rotate_if_due(campaign)  # once: the next epoch has just opened
    epochs = current.service.epochs("pool-wheel")
    assert [(e.epoch, e.server_seed is not None) for e in epochs] == [(0, True), (1, False)]


def test_an_ended_campaign_reveals_its_seed_by_itself(
    make_state: MakeState,
) -> None:
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    current.service.clock = lambda: campaign.ends + timedelta(seconds=1)
    current.service.reveal_if_ended(campaign)
    assert current.service.epochs("pool-wheel")[0].server_seed is not None


def test_a_second_worker_shares_epoch_zero_instead_of_making_its_own(
    make_state: MakeState,
) -> None:
    one, two = make_state(), make_state()
    assert one.service.epochs("pool-wheel") == two.service.epochs("pool-wheel")


def test_a_folder_with_one_bad_file_still_serves_the_good_ones(
    make_state: MakeState, folder: Path
) -> None:
    (folder / "broken.yaml").write_text(dedent("id: broken\ngame: roulette\n"), encoding="utf-8")
    current = make_state()
    assert [c.id for c in current.registry.all()] == ["pool-wheel"]


def test_an_idempotency_key_replays_the_same_play_and_uses_nothing(
    make_state: MakeState,
) -> None:
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    first = current.service.play(campaign, "a", client_seed="s", idempotency_key="k-1")
    again = current.service.play(campaign, "a", client_seed="other", idempotency_key="k-1")
    assert again.replayed and not first.replayed
    assert (again.row, again.coupon, again.commitment) == (
        first.row,
        first.coupon,
        first.commitment,
    )
    assert again.allowance == first.allowance  # the replay did not count as a play
    other = current.service.play(campaign, "b", idempotency_key="k-1")  # keys are per customer
    assert not other.replayed and other.row["seq"] == first.row["seq"] + 1


def test_a_play_after_the_seed_was_revealed_opens_the_next_epoch(
    make_state: MakeState,
) -> None:
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    current.service.play(campaign, "a")
    current.service.clock = lambda: campaign.ends + timedelta(seconds=1)
    current.service.reveal_if_ended(campaign)  # as if the end then moved later in the file
    current.service.clock = lambda: NOW
    row = current.service.play(campaign, "a").row
    assert (row["seq"], row["epoch"], row["nonce"]) == (1, 1, 0)
    epochs = current.service.epochs("pool-wheel")
    assert [(e.epoch, e.server_seed is None) for e in epochs] == [(0, False), (1, True)]


def test_pattern_codes_stay_unique_until_the_pattern_runs_out(
    make_state: MakeState, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = CAMPAIGN.replace("id: pool-wheel", "id: tiny").replace(
        "coupon: {pool: codes.csv}", 'coupon: {pattern: "T-{code:4}"}'
    )
    (folder / "tiny.yaml").write_text(tiny.replace("stock: 3", "stock: 100"), encoding="utf-8")
    five = itertools.cycle([f"T-{c * 4}" for c in "ABCDE"])  # a pattern with only 5 codes
    monkeypatch.setattr("gamify.services.plays.make_code", lambda pattern: next(five))
    current = make_state()
    campaign = current.registry.get("tiny")
    codes: list[str] = []
    with pytest.raises(InvalidRequest, match="run out of unique codes"):
        for i in range(100):
            result = current.service.play(campaign, f"c{i}")
            if result.coupon is not None:
                codes.append(result.coupon)
    assert sorted(codes) == [f"T-{c * 4}" for c in "ABCDE"]  # each once, then a clear refusal


# -- coupon pools and stock -------------------------------------------------------------------


def revealed_bundle(current: Running, path: Path) -> Path:
    """The campaign's bundle with every play's seed revealed, so each draw is checked too."""
    current.service.rotate("pool-wheel")
    with path.open("w", encoding="utf-8") as out:
        current.service.write_bundle("pool-wheel", out)
    return path


def test_a_pools_last_code_given_then_the_fallback_as_the_bundle_implies(
    make_state: MakeState, folder: Path, tmp_path: Path
) -> None:
    """A pool of 4 codes with stock 4: once they are given, a draw of the prize gives the
    fallback, recorded as such, and the bundle (whose config says stock 4) verifies."""
    (folder / "wheel.yaml").write_text(CAMPAIGN.replace("stock: 3", "stock: 4"), encoding="utf-8")
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    results = [
        current.service.play(campaign, f"customer-{i}", client_seed=f"s{i}") for i in range(40)
    ]
    assert [r.coupon for r in results if r.coupon] == ["BOX-1", "BOX-2", "BOX-3", "BOX-4"]
    substituted = [r for r in results if r.row["drawn"] == "box" and r.prize.id == "nothing"]
    assert substituted and all(r.row["awarded"] == "nothing" for r in substituted)
    bundle = revealed_bundle(current, tmp_path / "bundle.jsonl")
    report = verify_bundle(bundle)
    assert (report.plays, report.unrevealed_plays, report.awarded["box"]) == (40, 0, 4)
    config = json.loads(bundle.read_text(encoding="utf-8").splitlines()[0])["config"]
    assert config["prizes"][0]["stock"] == 4


def test_a_pool_with_a_code_twice_is_refused_before_any_play(
    make_state: MakeState, folder: Path
) -> None:
    """Two BOX-1 lines made a pool of 2 codes pass for 3: the third box was a 400."""
    (folder / "codes.csv").write_text("code\nBOX-1\nBOX-2\nBOX-1\n", encoding="utf-8")
    current = make_state()
    with pytest.raises(CampaignNotFound):
        current.registry.get("pool-wheel")
    refused = current.registry.reload().refused
    assert [i.path for i in refused] == ["prizes[0].coupon.pool"]
    assert "line 4 of codes.csv repeats line 2" in refused[0].message


def test_pool_codes_held_by_another_prize_refuse_the_new_version(
    make_state: MakeState, folder: Path
) -> None:
    """Codes loaded for `box` cannot become `gift`'s: the database keeps each code once, so
    `gift` would have had none while its stock promised 3."""
    current = make_state()
    first = current.registry.get("pool-wheel")
    given = [current.service.play(first, f"c{i}").coupon for i in range(10)]
    (folder / "wheel.yaml").write_text(CAMPAIGN.replace("box", "gift"), encoding="utf-8")
    refused = current.registry.reload().refused
    assert [i.path for i in refused] == ["prizes[0].coupon.pool"]
    assert refused[0].message == (
        "coupon pool code 'BOX-1' is already a pool code of prize `box` in this campaign: each "
        "code can be given only once, so take it out of the pool"
    )
    assert current.registry.get("pool-wheel") is first  # the last good version keeps running
    more = [current.service.play(first, f"d{i}").coupon for i in range(10)]
    assert sorted(c for c in given + more if c) == ["BOX-1", "BOX-2", "BOX-3"]


def test_a_stock_added_later_counts_the_awards_made_before_it(
    make_state: MakeState, folder: Path, tmp_path: Path
) -> None:
    """The verifier counts every award of the log against a stock, whichever config version
    gave it; so must the server, or the bundle fails at the first award past the stock."""
    unlimited = CAMPAIGN.replace(
        "    stock: 3\n    coupon: {pool: codes.csv}\n", '    coupon: {pattern: "B-{code:8}"}\n'
    )
    path = folder / "wheel.yaml"
    path.write_text(unlimited, encoding="utf-8")
    current = make_state()
    campaign = current.registry.get("pool-wheel")
    before = [current.service.play(campaign, f"a{i}").prize.id for i in range(30)]
    assert before.count("box") >= 3
    path.write_text(unlimited.replace("    weight: 60\n", "    weight: 60\n    stock: 3\n"))
    current.registry.reload()
    limited = current.registry.get("pool-wheel")
    assert limited.prize("box").stock == 3
    after = [current.service.play(limited, f"b{i}").prize.id for i in range(30)]
    assert "box" not in after  # its 3 were given before the stock was written down
    report = verify_bundle(revealed_bundle(current, tmp_path / "bundle.jsonl"))
    assert (report.plays, report.configs) == (60, 2)


CHALLENGE = """\
id: season
game: challenge
title: Season
timezone: Europe/Madrid
starts: 2026-11-27T00:00:00
ends: 2026-12-01T00:00:00
steps:
  - id: spend
    label: Spend 50
    event: order.paid
    sum: total
    target: 50
  - id: quiz
    label: Quiz
    quiz:
      pass: 1
      attempts: 1
      questions:
        - {text: "?", options: ["a", "b"], answer: 0}
repeat: never
winners_max: 2
reward:
  label: Gift
  coupon: {pattern: "GIFT-{code:6}"}
  plays: {campaign: pool-wheel, count: 2}
  points: 10
"""


def _paid(event_id: str, customer: str, total: str, hours_ago: int = 1) -> dict[str, object]:
    at = (NOW - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")
    order = {"id": f"o-{event_id}", "total": total, "items": []}
    return {
        "id": event_id,
        "type": "order.paid",
        "customer": customer,
        "occurred_at": at,
        "order": order,
    }


def test_a_challenge_is_completed_by_events_and_a_quiz_and_rewarded_once(
    make_state: MakeState, folder: Path
) -> None:
    (folder / "season.yaml").write_text(CHALLENGE, encoding="utf-8")
    current = make_state()
    service, index = current.service, current.registry.index()
    challenge = current.registry.challenge("season")
    wheel = current.registry.get("pool-wheel")
    first = service.track_events(
        {"events": [_paid("a", "ana", "30"), _paid("b", "ana", "12.5")]}, index
    )
    assert [r["progress"][0]["progress"] for r in first.results] == [30, 42.5]
    refunded = service.track_events(
        {
            "id": "r",
            "type": "order.refunded",
            "customer": "ana",
            "occurred_at": "2026-11-28T10:30:00Z",
            "order": {"id": "o-a", "refund_total": "10"},
        },
        index,
    )
    assert refunded.results[0]["progress"][0]["progress"] == 32.5
    assert service.answer_quiz(challenge, "ana", "quiz", [0]).granted is None
    done = service.track_events(_paid("c", "ana", "17.5"), index)
    [granted] = done.granted
    assert granted.rewarded and granted.coupon is not None and granted.coupon.startswith("GIFT-")
    assert done.results[0]["rewards"][0]["coupon"] == granted.coupon
    assert service.track_events(_paid("c", "ana", "17.5"), index).granted == []
    assert service.track_events(_paid("d", "ana", "100"), index).granted == []
    assert service.allowance(wheel, "ana").plays_left == 52  # 50 a day, and 2 extra
    [(_, window, tally)] = service.standings([challenge], "ana")
    assert tally.completed and tally.coupon == granted.coupon and window.key == "all"
    # the second and third customers: winners_max 2
    for customer in ("luis", "eva"):
        service.answer_quiz(challenge, customer, "quiz", [0])
        service.track_events(_paid(f"{customer}-1", customer, "50"), index)
    rewarded = {
        c: t.rewarded for c in ("luis", "eva") for _, _, t in service.standings([challenge], c)
    }
    assert rewarded == {"luis": True, "eva": False}
    assert not service.answer_quiz(challenge, "zoe", "quiz", [1]).passed
    with pytest.raises(LimitReached):  # its one attempt is used
        service.answer_quiz(challenge, "zoe", "quiz", [0])


def test_an_order_counts_once_and_its_refunds_take_back_across_requests(
    make_state: MakeState, folder: Path
) -> None:
    """What an order gave is found in later requests (through its earlier events): a second
    paid event under another id gives nothing, even beside a replay of the first, and refunds
    take back what it gave, only when sent for its own customer."""
    (folder / "season.yaml").write_text(CHALLENGE, encoding="utf-8")
    current = make_state()
    service, index = current.service, current.registry.index()

    def spend(result: Any) -> list[float]:
        return [p["progress"] for r in result.results for p in r["progress"]]

    assert spend(service.track_events(_paid("p1", "ana", "20"), index)) == [20]
    again = {**_paid("p2", "ana", "20"), "order": {"id": "o-p1", "total": "20", "items": []}}
    both = service.track_events({"events": [_paid("p1", "ana", "20"), again]}, index)
    assert [r["status"] for r in both.results] == ["duplicate", "accepted"]
    assert spend(both) == []  # the order counted already
    assert spend(service.track_events(_paid("p3", "ana", "5"), index)) == [25]

    def refund(event_id: str, customer: str, amount: str) -> Any:
        body = {
            "id": event_id, "type": "order.refunded", "customer": customer,
            "occurred_at": "2026-11-28T10:30:00Z",
            "order": {"id": "o-p1", "refund_total": amount},
        }  # fmt: skip
        return service.track_events(body, index)

    assert spend(refund("r0", "luis", "20")) == []  # not his order: it takes nothing
    assert spend(refund("r1", "ana", "15")) == [10]
    assert spend(refund("r2", "ana", "5")) == [5]
    [(_, _, tally)] = service.standings([current.registry.challenge("season")], "ana")
    assert tally.units["spend"] == 5 * 10_000


def test_the_logs_tree_gives_proofs_that_check_against_the_bundles_rows(
    make_state: MakeState, tmp_path: Path
) -> None:
    """Every play appends its leaf to the campaign's Merkle tree (CONTRACT §12): the root at
    each size is the bundle's, and inclusion and consistency proofs verify against it."""
    from gamify.core import merkle
    from gamify.core.canonical import canonical_json
    from gamify.services.log_proofs import ProofOutOfRange

    current = make_state()
    campaign = current.registry.get("pool-wheel")
    assert current.service.tree_root("pool-wheel") == (0, merkle.EMPTY_ROOT)
    for i in range(13):
        current.service.play(campaign, f"c{i % 4}")
    bundle = write_bundle(current, tmp_path / "b.jsonl")
    rows = [json.loads(line) for line in bundle.read_text().splitlines()]
    leaves = [
        merkle.leaf_hash(canonical_json({k: v for k, v in r.items() if k != "type"}))
        for r in rows
        if r["type"] == "play"
    ]
    assert current.service.tree_root("pool-wheel") == (13, merkle.root_of(leaves))
    assert verify_bundle(bundle).root == merkle.root_of(leaves).hex()
    for size in (1, 6, 8, 13):
        _, root = current.service.tree_root("pool-wheel", size)
        assert root == merkle.root_of(leaves[:size])
        for seq in range(size):
            proof = current.service.inclusion("pool-wheel", seq, size)
            assert proof.leaf_hash == leaves[seq] and proof.root == root
            assert merkle.verify_inclusion(leaves[seq], seq, size, proof.hashes, root)
        for old in range(1, size + 1):
            hashes = current.service.consistency("pool-wheel", old, size)
            old_root = merkle.root_of(leaves[:old])
            assert merkle.verify_consistency(old, size, old_root, root, hashes)
    for bad in [lambda: current.service.inclusion("pool-wheel", 13, 13),
                lambda: current.service.inclusion("pool-wheel", 0, 14),
                lambda: current.service.consistency("pool-wheel", 0, 5),
                lambda: current.service.consistency("pool-wheel", 6, 5),
                lambda: current.service.consistency("pool-wheel", 1, 14)]:  # fmt: skip
        with pytest.raises(ProofOutOfRange):
            bad()
