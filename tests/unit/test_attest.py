"""``gamify attest``: chi-square and runs tests over verified draws, as a signable statement.

The tests' power is shown on a million draws made by the engine itself at α = 0.01, beside
negative controls the tests must catch: odds off by one point, and wins bunched together.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from bundles import Play, build_bundle, fixed_seed, write_records
from test_audit import STARTS, plays, wheel

from gamify.audit.attest import attest
from gamify.audit.bundle import campaign_record, epoch_record, play_record
from gamify.core import fairness
from gamify.core.errors import BundleError
from gamify.core.goodness_of_fit import Runs, chi_square

ALPHA = 0.01
DRAWS = 1_000_000
WEIGHTS = (30, 20, 5, 1, 44)
WINS = (True, True, True, True, False)


@pytest.fixture(scope="module")
def million() -> list[int]:
    """A million draws of the engine (v2, one player's nonces 0 … 999,999)."""
    running = fairness.cumulative(WEIGHTS)
    key = fairness.seed_bytes(fixed_seed(0))
    return [fairness.draw(key, "attest", "seed", n, running, "p") for n in range(DRAWS)]


def probabilities(weights: tuple[int, ...]) -> list[float]:
    return [w / sum(weights) for w in weights]


def test_a_million_honest_draws_pass_both_tests(million: list[int]) -> None:
    counts = Counter(million)
    fit = chi_square([counts[i] for i in range(len(WEIGHTS))], probabilities(WEIGHTS))
    runs = Runs()
    for index in million:
        runs.add(WINS[index])
    result = runs.test()
    assert fit.sample == DRAWS and fit.p_value is not None and fit.p_value >= ALPHA
    assert result.p_value is not None and result.p_value >= ALPHA


def test_odds_one_point_off_are_caught(million: list[int]) -> None:
    """Negative control: the same draws tested against odds a shady config would publish
    (the tablet at 2 % instead of 1 %, taken from the 'try again')."""
    counts = Counter(million)
    claimed = probabilities((30, 20, 5, 2, 43))
    fit = chi_square([counts[i] for i in range(len(WEIGHTS))], claimed)
    assert fit.p_value is not None and fit.p_value < 1e-6


def test_wins_bunched_together_are_caught(million: list[int]) -> None:
    """Negative control: the same outcomes with every win first (a server handing the prizes
    out in streaks): the counts still fit, the order does not."""
    runs = Runs()
    for win in sorted((WINS[i] for i in million), reverse=True):
        runs.add(win)
    result = runs.test()
    assert result.runs == 2 and result.p_value is not None and result.p_value < ALPHA
    alternating = Runs()
    for n in range(10_000):
        alternating.add(n % 2 == 0)
    regular = alternating.test()  # too regular is not chance either
    assert regular.z > 0 and regular.p_value is not None and regular.p_value < ALPHA


def test_a_verified_bundle_gets_a_statement_an_auditor_can_sign(tmp_path: Path) -> None:
    rules = dataclasses.replace(wheel(), algorithm=fairness.V2)
    bundle = build_bundle(tmp_path / "b.jsonl", rules, plays(40, split=30),
                          [fixed_seed(0), fixed_seed(1)], revealed={0})  # fmt: skip
    found = attest(bundle.path)
    assert found.epochs == (0,) and found.draws == 30 and found.fit.sample == 30
    statement = found.statement("b.jsonl")
    assert "gamify attestation of campaign black-friday-wheel" in statement
    assert f"SHA-256 {found.bundle_sha256}" in statement
    assert "40 plays verified" in statement and "Epochs tested: 0 (closed" in statement
    assert "chi-square" in statement and "runs test" in statement
    assert "Signature:" in statement
    with pytest.raises(BundleError, match="epoch 1 is not closed"):
        attest(bundle.path, epochs=[1])


def test_a_bundle_that_does_not_verify_is_not_attested(tmp_path: Path) -> None:
    rules = dataclasses.replace(wheel(), algorithm=fairness.V2)
    bundle = build_bundle(tmp_path / "b.jsonl", rules, plays(10), [fixed_seed(0)])
    rows = [dict(row) for row in bundle.rows]
    rows[4]["drawn"] = "tablet" if rows[4]["drawn"] != "tablet" else "ten-off"
    forged = write_records(
        tmp_path / "forged.jsonl",
        [campaign_record(rules), epoch_record(rules.campaign, 0, fairness.commitment(
            fixed_seed(0)), fixed_seed(0)), *map(play_record, rows)],
    )  # fmt: skip
    with pytest.raises(BundleError):
        attest(forged)


def test_a_skewed_log_is_attested_as_evidence_against_its_odds(tmp_path: Path) -> None:
    """A log whose every draw is honest but whose plays were picked (only the client seeds
    that won were kept, re-chained): each row re-derives, the counts do not fit the odds."""
    rules = dataclasses.replace(wheel(), algorithm=fairness.V2)
    winning = []
    n = 0
    key = fairness.seed_bytes(fixed_seed(0))
    while len(winning) < 200:
        seed = f"pick-{n}"
        n += 1
        if rules.prizes[fairness.draw(key, rules.campaign, seed, 0, rules.running, seed)].win:
            winning.append(Play(seed, seed, STARTS + timedelta(hours=8, seconds=n)))
    bundle = build_bundle(tmp_path / "picked.jsonl", rules, winning, [fixed_seed(0)])
    found = attest(bundle.path)
    assert found.rejected == ["chi-square"]
    assert "EVIDENCE AGAINST THE CONFIGURED ODDS (chi-square test)" in found.statement("x")
