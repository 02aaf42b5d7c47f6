"""The fairness test's arithmetic: the chi-square survival function against printed critical
values, closed forms and values computed with mpmath (40 digits); textbook worked examples;
the edge cases an admin page meets; and a test that rejects fair draws as often as it claims."""

from __future__ import annotations

import math
import random
from collections import Counter
from statistics import NormalDist

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamify.core.goodness_of_fit import FitTest, chi_square, chi_square_sf, combined

# (statistic, dof, Q(dof/2, statistic/2)) from mpmath.gammainc(..., regularized=True)
REFERENCE = [
    (3.841458820694124, 1, 0.050000000000000057),  # the printed 5 % critical values
    (5.991464547107979, 2, 0.050000000000000074),
    (18.307038053275146, 10, 0.050000000000000007),
    (1.0, 1, 0.31731050786291410),
    (0.001, 1, 0.97477287936996039),
    (0.5, 7, 0.99944648139042497),
    (6.0, 5, 0.30621891841327840),
    (12.0, 3, 0.0073831605053597697),
    (30.0, 20, 0.069853660699409768),
    (100.0, 3, 1.5541594313896049e-21),
    (500.0, 1, 9.5053977665540917e-111),
    (950.0, 1000, 0.86912406574568843),
    (1100.0, 1000, 0.014614408126295194),
    (1_002_000.0, 1_000_000, 0.078718661386129633),
]


@pytest.mark.parametrize(("statistic", "dof", "expected"), REFERENCE)
def test_survival_function_matches_mpmath(statistic: float, dof: int, expected: float) -> None:
    assert chi_square_sf(statistic, dof) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("dof", [1, 2, 5, 1000])
def test_nothing_is_below_zero(dof: int) -> None:
    assert chi_square_sf(0.0, dof) == 1.0
    assert chi_square_sf(math.inf, dof) == 0.0


def test_large_dof_agrees_with_wilson_hilferty() -> None:
    k, x = 1000, 1100.0
    z = ((x / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
    assert chi_square_sf(x, k) == pytest.approx(1 - NormalDist().cdf(z), abs=1e-3)


def test_far_tail_underflows_to_zero_rather_than_failing() -> None:
    assert chi_square_sf(2000.0, 3) == 0.0


@given(st.floats(min_value=0, max_value=700))
def test_closed_forms_of_one_two_and_four_dof(x: float) -> None:
    assert chi_square_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-9, abs=1e-300)
    assert chi_square_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-9, abs=1e-300)
    assert chi_square_sf(x, 4) == pytest.approx(
        math.exp(-x / 2) * (1 + x / 2), rel=1e-9, abs=1e-300
    )


@pytest.mark.parametrize(("statistic", "dof"), [(-1.0, 1), (math.nan, 1), (1.0, 0)])
def test_survival_function_rejects_nonsense(statistic: float, dof: int) -> None:
    with pytest.raises(ValueError):
        chi_square_sf(statistic, dof)


def test_loaded_die() -> None:
    # 60 rolls, 10 expected per face: (25 + 4 + 1 + 4 + 0 + 100) / 10 = 13.4 on 5 dof
    test = chi_square([5, 8, 9, 8, 10, 20], [1 / 6] * 6)
    assert test.statistic == pytest.approx(13.4)
    assert (test.dof, test.sample, test.small_expected, test.impossible) == (5, 60, 0, 0)
    assert test.p_value == pytest.approx(0.019905220334774381, rel=1e-9)
    assert not test.approximate


def test_mendels_peas() -> None:
    # round-yellow, round-green, wrinkled-yellow, wrinkled-green against 9:3:3:1
    test = chi_square([315, 108, 101, 32], [9 / 16, 3 / 16, 3 / 16, 1 / 16])
    assert test.statistic == pytest.approx(0.47002398081534774)
    assert test.p_value == pytest.approx(0.92542589510361597, rel=1e-9)


def test_a_draw_in_a_switched_off_category_is_proof() -> None:
    test = chi_square([50, 49, 1], [0.5, 0.5, 0.0])
    assert (test.p_value, test.impossible, test.dof, test.sample) == (0.0, 1, 1, 100)
    assert test.statistic == pytest.approx(1 / 99)  # 50 and 49 against 49.5 each
    assert chi_square([7, 1], [1.0, 0.0]).p_value == 0.0  # even with nothing else to test


def test_switched_off_categories_without_draws_are_left_out() -> None:
    assert chi_square([30, 0, 10], [0.75, 0.0, 0.25]) == chi_square([30, 10], [0.75, 0.25])


def test_nothing_to_test() -> None:
    single = chi_square([12, 0], [1.0, 0.0])
    assert (single.p_value, single.dof, single.statistic, single.sample) == (None, 0, 0.0, 12)
    empty = chi_square([0, 0, 0], [0.2, 0.3, 0.5])
    assert (empty.p_value, empty.dof, empty.sample) == (None, 2, 0)


def test_small_expected_counts_are_flagged() -> None:
    test = chi_square([18, 2, 0], [0.9, 0.08, 0.02])  # expected 18, 1.6, 0.4
    assert test.small_expected == 2
    assert test.approximate
    assert test.p_value is not None


def test_odds_may_be_off_one_by_rounding_only() -> None:
    assert chi_square([1, 2, 3], [0.1, 0.2, 0.7 + 1e-10]).p_value is not None
    with pytest.raises(ValueError, match="sum to 1"):
        chi_square([1, 2, 3], [0.1, 0.2, 0.71])


@pytest.mark.parametrize(
    ("observed", "probabilities"),
    [
        ([1, 2], [0.5, 0.25, 0.25]),  # lengths differ
        ([1, -2], [0.5, 0.5]),  # negative count
        ([1, 2], [1.5, -0.5]),  # negative probability
        ([1, 2], [math.nan, 1.0]),
        ([], []),  # sums to 0
    ],
)
def test_chi_square_rejects_nonsense(observed: list[int], probabilities: list[float]) -> None:
    with pytest.raises(ValueError):
        chi_square(observed, probabilities)


def test_combined_adds_independent_tests() -> None:
    first = chi_square([5, 8, 9, 8, 10, 20], [1 / 6] * 6)
    second = chi_square([18, 2, 0], [0.9, 0.08, 0.02])
    both = combined([first, second, chi_square([0, 0], [0.5, 0.5])])  # the last is skipped
    assert both.statistic == pytest.approx(first.statistic + second.statistic)
    assert (both.dof, both.sample, both.small_expected) == (7, 80, 2)
    assert both.p_value == chi_square_sf(both.statistic, 7)
    assert combined([first]) == first


def test_combined_keeps_impossible_draws_and_nothing() -> None:
    fine = chi_square([10, 10], [0.5, 0.5])
    assert combined([fine, chi_square([3, 1], [1.0, 0.0])]).p_value == 0.0
    assert combined([chi_square([4], [1.0]), chi_square([0, 0], [0.5, 0.5])]) == FitTest(
        0.0, 0, None, 0, 0, 0
    )
    assert combined([]).p_value is None


counts = st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12)


@given(counts, st.data())
def test_p_is_a_probability(observed: list[int], data: st.DataObject) -> None:
    weights = data.draw(st.lists(st.integers(0, 50), min_size=len(observed), max_size=12))
    weights = weights[: len(observed)]
    if not any(weights):
        weights[0] = 1
    test = chi_square(observed, [w / sum(weights) for w in weights])
    assert test.statistic >= 0
    assert test.p_value is None or 0.0 <= test.p_value <= 1.0


@given(st.lists(st.integers(1, 50), min_size=2, max_size=12), st.integers(1, 1000))
def test_exactly_expected_counts_fit_perfectly(weights: list[int], times: int) -> None:
    test = chi_square([w * times for w in weights], [w / sum(weights) for w in weights])
    assert test.statistic == pytest.approx(0.0, abs=1e-9)
    assert test.p_value == pytest.approx(1.0, abs=1e-6)


def test_fair_draws_are_rejected_about_as_often_as_claimed() -> None:
    odds = [0.5, 0.25, 0.15, 0.07, 0.02, 0.01]  # the rarest is still expected 20 times
    rejected = 0
    for seed in range(200):
        drawn = Counter(random.Random(seed).choices(range(len(odds)), odds, k=2000))
        p = chi_square([drawn[i] for i in range(len(odds))], odds).p_value
        assert p is not None
        rejected += p < 0.05
    assert 0.01 <= rejected / 200 <= 0.10
