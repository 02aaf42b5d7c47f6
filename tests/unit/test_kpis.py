"""The report's arithmetic: KPIs from sums, Newcombe's and Welch's intervals against published
and hand-computed values, and intervals that cover the truth as often as they claim."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamify.core.kpis import (
    GroupTotals,
    kpis,
    newcombe,
    retention_uplift,
    revenue_uplift,
    sample_size_per_group,
    t_quantile,
)


def totals(**changes: object) -> GroupTotals:
    fields: dict[str, object] = {
        "customers": 100, "before": 40, "during": 30, "new": 10, "repeat": 6, "orders": 45,
        "revenue": Decimal("900"), "revenue_squares": Decimal("40000"),
        "prizes": 12, "prize_value": Decimal("60"), "coupons_issued": 10, "coupons_redeemed": 4,
        **changes,
    }  # fmt: skip
    return GroupTotals(**fields)  # type: ignore[arg-type]


def test_kpis_follow_the_contract_definitions() -> None:
    shown = kpis(totals()).as_json()
    assert shown == {
        "customers": 100,
        "retention": 0.5,  # (E - N) / S = (30 - 10) / 40
        "repeat_rate": 0.2,  # 6 / 30
        "frequency": 1.5,  # 45 / 30
        "aov": 20.0,  # 900 / 45
        "revenue_per_customer": 9.0,  # 900 / 100
        "prizes": 12,
        "prize_value": 60.0,
        "coupons_redeemed": 4,
        "redemption_rate": 0.4,
    }


def test_a_ratio_over_nothing_is_none_not_zero() -> None:
    empty = kpis(totals(before=0, during=0, new=0, orders=0, coupons_issued=0, customers=0))
    assert empty.retention is None and empty.repeat_rate is None and empty.frequency is None
    assert empty.aov is None and empty.revenue_per_customer is None
    assert empty.redemption_rate is None


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.7062), (2, 4.3027), (10, 2.2281), (30, 2.0423), (1000, 1.9623), (10**7, 1.9600)],
)
def test_t_quantiles_match_the_tables(df: float, expected: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=5e-5)
    assert t_quantile(0.025, df) == pytest.approx(-expected, abs=5e-5)


def test_fractional_degrees_of_freedom_lie_between_their_neighbours() -> None:
    assert t_quantile(0.975, 10) < t_quantile(0.975, 9.5) < t_quantile(0.975, 9)


def test_newcombe_matches_the_published_example() -> None:
    """Newcombe (1998), Statistics in Medicine 17:873, Table II, example (a): 56/70 - 48/80,
    method 10: 0.0524 to 0.3339."""
    diff, low, high = newcombe(56, 70, 48, 80)
    assert diff == pytest.approx(0.2)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


@given(st.integers(1, 60), st.integers(1, 60), st.data())
def test_newcombe_stays_within_minus_one_and_one_and_holds_its_difference(
    n1: int, n2: int, data: st.DataObject
) -> None:
    x1 = data.draw(st.integers(0, n1))
    x2 = data.draw(st.integers(0, n2))
    diff, low, high = newcombe(x1, n1, x2, n2)
    assert -1 - 1e-9 <= low <= diff <= high <= 1 + 1e-9


def test_welch_matches_a_hand_computation() -> None:
    a = [0, 0, 10, 20, 50, 0, 30, 10]
    b = [0, 5, 0, 0, 10, 15]

    def group(values: list[int]) -> GroupTotals:
        return totals(
            customers=len(values),
            revenue=Decimal(sum(values)),
            revenue_squares=Decimal(sum(v * v for v in values)),
        )

    def mean_var(values: list[int]) -> tuple[float, float]:
        m = sum(values) / len(values)
        return m, sum((v - m) ** 2 for v in values) / (len(values) - 1)

    (m1, v1), (m2, v2) = mean_var(a), mean_var(b)
    se2 = v1 / len(a) + v2 / len(b)
    df = se2**2 / ((v1 / len(a)) ** 2 / (len(a) - 1) + (v2 / len(b)) ** 2 / (len(b) - 1))
    half = t_quantile(0.975, df) * math.sqrt(se2)
    found = revenue_uplift(group(a), group(b))
    assert found.diff == pytest.approx(m1 - m2, abs=1e-6)
    assert found.ci95 == pytest.approx((m1 - m2 - half, m1 - m2 + half), abs=1e-6)
    assert not found.enough_data and "too few customers" in found.note
    swapped = revenue_uplift(group(b), group(a))  # the other way round mirrors it
    assert swapped.diff == pytest.approx(-(m1 - m2), abs=1e-6)
    assert swapped.ci95 == pytest.approx((-(m1 - m2) - half, -(m1 - m2) + half), abs=1e-6)


def _simulated(rng: random.Random, n: int, rate: float, spend: float) -> GroupTotals:
    before = n
    back = sum(rng.random() < rate for _ in range(before))
    revenues = [rng.expovariate(1 / spend) if rng.random() < rate else 0.0 for _ in range(n)]
    return totals(
        customers=n, before=before, during=back, new=0,
        revenue=Decimal(repr(sum(revenues))),
        revenue_squares=Decimal(repr(sum(r * r for r in revenues))),
    )  # fmt: skip


def test_with_no_effect_the_intervals_hold_zero_about_95_times_in_100() -> None:
    rng = random.Random(2026)
    held = {"retention": 0, "revenue": 0}
    for _ in range(400):
        a, b = _simulated(rng, 200, 0.3, 40.0), _simulated(rng, 200, 0.3, 40.0)
        for name, uplift in (
            ("retention", retention_uplift(a, b)),
            ("revenue", revenue_uplift(a, b)),
        ):
            assert uplift.ci95 is not None
            held[name] += uplift.ci95[0] <= 0 <= uplift.ci95[1]
    for name, count in held.items():
        assert 0.90 <= count / 400 <= 0.99, (name, count)


def test_an_injected_effect_is_found_and_covered() -> None:
    rng = random.Random(7)
    covered = conclusive = 0
    for _ in range(100):
        uplift = retention_uplift(
            _simulated(rng, 2000, 0.40, 40.0), _simulated(rng, 2000, 0.30, 40.0)
        )
        assert uplift.ci95 is not None
        covered += uplift.ci95[0] <= 0.10 <= uplift.ci95[1]
        conclusive += uplift.conclusive
    assert covered >= 88 and conclusive >= 95


def test_small_groups_are_said_too_small_to_conclude() -> None:
    small = retention_uplift(totals(before=12, during=8, new=2), totals(before=40))
    assert not small.enough_data and not small.conclusive
    assert "too few customers" in small.note and "30" in small.note
    nobody = retention_uplift(totals(before=0), totals())
    assert nobody.diff is None and nobody.ci95 is None


def test_sample_sizes_follow_the_two_proportion_formula() -> None:
    # (1.96 * sqrt(2 * .325 * .675) + 0.8416 * sqrt(.3 * .7 + .35 * .65))^2 / .05^2 = 1376.3
    assert sample_size_per_group(0.30, 0.05) == 1377
    assert sample_size_per_group(0.30, 0.10) < sample_size_per_group(0.30, 0.05)
    with pytest.raises(ValueError, match="between 0 and 1"):
        sample_size_per_group(0.95, 0.10)
