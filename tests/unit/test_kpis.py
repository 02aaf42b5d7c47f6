"""The report's arithmetic: KPIs from totals, Newcombe's interval against the published table,
Welch's interval against a computation by hand, Student's t against printed tables and closed
forms, and intervals that hold the truth as often as they claim on simulated stores."""

from __future__ import annotations

import json
import math
import random
import statistics
from decimal import Decimal
from statistics import NormalDist

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamify.core.kpis import (
    MIN_SAMPLE,
    GroupTotals,
    kpis,
    retention_uplift,
    revenue_uplift,
    sample_size_per_group,
    t_quantile,
)

KPI_KEYS = {
    "customers", "retention", "repeat_rate", "frequency", "aov", "revenue_per_customer",
    "prizes", "prize_value", "coupons_redeemed", "redemption_rate",
}  # fmt: skip


def totals(**changes: object) -> GroupTotals:
    fields: dict[str, object] = {
        "customers": 100, "before": 40, "during": 30, "new": 10, "repeat": 6, "orders": 45,
        "revenue": Decimal("900"), "revenue_squares": Decimal("40000"),
        "prizes": 12, "prize_value": Decimal("60.50"), "coupons_issued": 10,
        "coupons_redeemed": 4, **changes,
    }  # fmt: skip
    return GroupTotals(**fields)  # type: ignore[arg-type]


def retained(returned: int, before: int) -> GroupTotals:
    """A group whose retention is returned / before (everyone who ordered came back)."""
    return totals(before=before, during=returned, new=0)


def spending(revenues: list[Decimal]) -> GroupTotals:
    return totals(
        customers=len(revenues),
        revenue=sum(revenues, Decimal(0)),
        revenue_squares=sum((r * r for r in revenues), Decimal(0)),
    )


def money(values: list[float]) -> list[Decimal]:
    return [Decimal(str(v)) for v in values]


# -- KPIs ------------------------------------------------------------------------------------


def test_kpis_follow_the_contract_definitions() -> None:
    assert kpis(totals()).as_json() == {
        "customers": 100,
        "retention": 0.5,  # (E - N) / S = (30 - 10) / 40
        "repeat_rate": 0.2,  # 6 / 30
        "frequency": 1.5,  # 45 / 30
        "aov": 20.0,  # 900 / 45
        "revenue_per_customer": 9.0,  # 900 / 100
        "prizes": 12,
        "prize_value": 60.5,
        "coupons_redeemed": 4,
        "redemption_rate": 0.4,  # 4 / 10
    }


def test_ratios_are_rounded_fractions_not_percentages() -> None:
    shown = kpis(totals(before=3, during=1, new=0))
    assert shown.retention == 0.333333


def test_a_ratio_over_nothing_is_none_not_zero() -> None:
    empty = kpis(totals(customers=0, before=0, during=0, new=0, repeat=0, orders=0,
                        revenue=Decimal(0), coupons_issued=0, coupons_redeemed=0))  # fmt: skip
    assert empty.retention is None
    assert empty.repeat_rate is None
    assert empty.frequency is None
    assert empty.aov is None
    assert empty.revenue_per_customer is None
    assert empty.redemption_rate is None
    assert empty.customers == 0 and empty.prizes == 12


def test_kpi_json_has_exactly_the_contract_keys_and_plain_types() -> None:
    shown = kpis(totals(before=0)).as_json()
    assert set(shown) == KPI_KEYS
    assert json.loads(json.dumps(shown)) == shown
    assert all(v is None or type(v) in (int, float) for v in shown.values())


def test_uplift_json_has_exactly_the_contract_keys_and_a_list_interval() -> None:
    shown = retention_uplift(retained(20, 40), retained(10, 40)).as_json()
    assert list(shown) == ["diff", "ci95", "conclusive", "enough_data", "note"]
    assert isinstance(shown["ci95"], list) and len(shown["ci95"]) == 2
    assert json.loads(json.dumps(shown)) == shown
    nothing = retention_uplift(retained(0, 0), retained(10, 40)).as_json()
    assert nothing["diff"] is None and nothing["ci95"] is None


# -- Student's t -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "df", "printed"),
    [
        (0.975, 1, 12.7062), (0.975, 2, 4.3027), (0.975, 10, 2.2281), (0.975, 30, 2.0423),
        (0.975, 1000, 1.9623), (0.975, 10**7, 1.9600), (0.995, 10, 3.1693), (0.95, 5, 2.0150),
    ],
)  # fmt: skip
def test_t_quantiles_match_printed_tables(p: float, df: float, printed: float) -> None:
    assert t_quantile(p, df) == pytest.approx(printed, abs=5e-5)
    assert t_quantile(1 - p, df) == pytest.approx(-printed, abs=5e-5)


@given(st.floats(0.001, 0.999))
def test_t_quantiles_match_the_closed_forms_for_one_and_two_degrees(p: float) -> None:
    assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-8, abs=1e-10)
    closed = (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    assert t_quantile(p, 2) == pytest.approx(closed, rel=1e-8, abs=1e-10)


def test_fractional_degrees_of_freedom_lie_between_their_neighbours() -> None:
    assert t_quantile(0.975, 10) < t_quantile(0.975, 9.5) < t_quantile(0.975, 9)
    assert t_quantile(0.975, 0.5) > t_quantile(0.975, 1)


def test_many_degrees_of_freedom_follow_the_normal_expansion() -> None:
    z = NormalDist().inv_cdf(0.975)
    terms = ((z**3 + z) / 4, (5 * z**5 + 16 * z**3 + 3 * z) / 96,
             (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384)  # fmt: skip
    for df in (1e3, 1e4, 1e5, 1e6):  # Cornish–Fisher, in powers of 1 / df
        expansion = z + sum(term / df ** (k + 1) for k, term in enumerate(terms))
        assert t_quantile(0.975, df) == pytest.approx(expansion, abs=1e-9)
    assert t_quantile(0.975, 2e6) == z  # beyond 1e6 the normal, 2.4e-6 away, stands in
    assert 0 < t_quantile(0.975, 1e6) - z < 2.4e-6


def test_t_quantile_refuses_what_has_no_quantile() -> None:
    for p, df in ((0, 5), (1, 5), (0.5, 0), (0.5, -1), (math.nan, 5)):
        with pytest.raises(ValueError, match="0 < p < 1 and df > 0"):
            t_quantile(p, df)


# -- Retention: Newcombe's hybrid score interval ---------------------------------------------


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [  # Newcombe (1998), Statistics in Medicine 17:873, Table II, method 10
        (56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062), (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775), (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000), (10, 10, 0, 10, 0.6075, 1.0000),
    ],
)  # fmt: skip
def test_newcombe_matches_the_published_table(
    x1: int, n1: int, x2: int, n2: int, low: float, high: float
) -> None:
    found = retention_uplift(retained(x1, n1), retained(x2, n2))
    assert found.diff == pytest.approx(x1 / n1 - x2 / n2, abs=1e-6)
    assert found.ci95 == pytest.approx((low, high), abs=5.1e-5)


def test_retention_counts_only_the_customers_who_ordered_before() -> None:
    # E - N = 70 - 14 = 56 of S = 70, against 48 of 80: example (a) of the table again
    found = retention_uplift(
        totals(customers=500, before=70, during=70, new=14), totals(before=80, during=60, new=12)
    )
    assert found.ci95 == pytest.approx((0.0524, 0.3339), abs=5.1e-5)


@given(st.integers(1, 300), st.integers(1, 300), st.data())
def test_newcombe_stays_within_minus_one_and_one_and_holds_its_difference(
    n1: int, n2: int, data: st.DataObject
) -> None:
    x1 = data.draw(st.sampled_from([0, n1]) | st.integers(0, n1))
    x2 = data.draw(st.sampled_from([0, n2]) | st.integers(0, n2))
    found = retention_uplift(retained(x1, n1), retained(x2, n2))
    assert found.diff is not None and found.ci95 is not None
    low, high = found.ci95
    assert -1 <= low <= found.diff <= high <= 1
    assert low < high  # never collapses to a point, not even at 0/n against n/n


@given(st.integers(1, 300), st.integers(1, 300), st.data())
def test_swapping_the_groups_mirrors_the_retention_interval(
    n1: int, n2: int, data: st.DataObject
) -> None:
    a, b = retained(data.draw(st.integers(0, n1)), n1), retained(data.draw(st.integers(0, n2)), n2)
    there, back = retention_uplift(a, b), retention_uplift(b, a)
    assert there.diff is not None and there.ci95 is not None and back.ci95 is not None
    assert back.diff == pytest.approx(-there.diff, abs=1e-6)
    assert back.ci95 == pytest.approx((-there.ci95[1], -there.ci95[0]), abs=1e-6)


# -- Revenue per customer: Welch's t interval ------------------------------------------------


def test_welch_matches_a_hand_computation_with_a_printed_t() -> None:
    """Two groups of 6 with the same spread: Welch's df is then exactly 2(n - 1) = 10, whose
    t (2.228138852) is in every table, so nothing of the module's is used to check it."""
    treatment = [0.0, 0.0, 12.5, 20.0, 35.0, 0.0]
    holdout = [v + 7.5 for v in treatment]
    variance = statistics.variance(treatment)  # 205.416...
    half = 2.228138852 * math.sqrt(variance / 6 + variance / 6)
    found = revenue_uplift(spending(money(treatment)), spending(money(holdout)))
    assert found.diff == pytest.approx(-7.5, abs=1e-6)
    assert found.ci95 == pytest.approx((-7.5 - half, -7.5 + half), abs=1e-5)


def test_welch_uses_the_welch_satterthwaite_degrees_of_freedom() -> None:
    treatment = [0.0, 0.0, 0.0, 25.0, 40.0, 80.0, 15.0, 0.0]
    holdout = [10.0, 0.0, 5.0, 0.0, 0.0, 12.0]
    m1, m2 = statistics.fmean(treatment), statistics.fmean(holdout)
    a = statistics.variance(treatment) / len(treatment)
    b = statistics.variance(holdout) / len(holdout)
    df = (a + b) ** 2 / (a**2 / (len(treatment) - 1) + b**2 / (len(holdout) - 1))
    assert 7 < df < 8  # far from the pooled test's 12: the spreads differ
    half = t_quantile(0.975, df) * math.sqrt(a + b)
    found = revenue_uplift(spending(money(treatment)), spending(money(holdout)))
    assert found.diff == pytest.approx(m1 - m2, abs=1e-6)
    assert found.ci95 == pytest.approx((m1 - m2 - half, m1 - m2 + half), abs=1e-5)


@given(
    st.lists(st.decimals(0, 500, places=2), min_size=2, max_size=40),
    st.lists(st.decimals(0, 500, places=2), min_size=2, max_size=40),
)
def test_swapping_the_groups_mirrors_the_revenue_interval(
    a: list[Decimal], b: list[Decimal]
) -> None:
    there, back = revenue_uplift(spending(a), spending(b)), revenue_uplift(spending(b), spending(a))
    assert there.diff is not None and there.ci95 is not None and back.ci95 is not None
    assert back.diff == pytest.approx(-there.diff, abs=1e-6)
    assert back.ci95 == pytest.approx((-there.ci95[1], -there.ci95[0]), abs=1e-6)
    assert there.ci95[0] <= there.diff <= there.ci95[1]


def test_groups_that_all_spent_the_same_have_a_point_interval() -> None:
    found = revenue_uplift(spending(money([20.0] * 40)), spending(money([15.0] * 40)))
    assert found.diff == 5.0 and found.ci95 == (5.0, 5.0) and found.conclusive


def test_a_large_constant_spend_has_no_spread_however_large_the_sums() -> None:
    # in floats, (sum(x²) - n·mean²) / (n - 1) leaves a variance of 228 of rounding noise here
    big = [Decimal("993044662.24")] * 37
    found = revenue_uplift(spending(big), spending([Decimal("993044661.24")] * 37))
    assert found.ci95 == (1.0, 1.0)


def test_a_group_of_one_has_a_difference_but_no_interval() -> None:
    found = revenue_uplift(spending(money([10.0] * 40)), spending(money([4.0])))
    assert found.diff == 6.0 and found.ci95 is None
    assert not found.enough_data and not found.conclusive
    assert found.note == "holdout too small to conclude: 1 customer assigned (need at least 30)"


def test_a_group_nobody_was_assigned_to_has_nothing_to_compare() -> None:
    found = revenue_uplift(totals(customers=0), totals())
    assert found.diff is None and found.ci95 is None and not found.enough_data
    assert found.note.startswith("treatment: no customer assigned yet")


# -- Enough data, and the sentence a marketer reads ------------------------------------------


def test_a_small_holdout_is_said_too_small_to_conclude() -> None:
    found = retention_uplift(retained(30, 40), retained(0, 12))
    assert not found.enough_data and not found.conclusive  # even though the interval is > 0
    assert found.ci95 is not None and found.ci95[0] > 0
    assert found.note == (
        "holdout too small to conclude: 12 customers with an order before (need at least 30)"
    )


def test_both_groups_small_are_both_named() -> None:
    found = retention_uplift(retained(5, 12), retained(5, 20))
    assert found.note == (
        "treatment and holdout too small to conclude: 12 and 20 customers with an order before "
        "(need at least 30 each)"
    )


def test_thirty_is_enough_and_twenty_nine_is_not() -> None:
    assert MIN_SAMPLE == 30
    assert retention_uplift(retained(10, 30), retained(10, 30)).enough_data
    assert not retention_uplift(retained(10, 30), retained(10, 29)).enough_data
    assert revenue_uplift(totals(customers=30), totals(customers=30)).enough_data
    assert not revenue_uplift(totals(customers=30), totals(customers=29)).enough_data


def test_a_clear_difference_is_said_in_points_with_its_interval() -> None:
    found = retention_uplift(retained(300, 600), retained(240, 600))
    assert found.conclusive and found.enough_data and found.ci95 is not None
    low, high = (f"{v * 100:.1f}" for v in found.ci95)
    assert found.note == f"treatment retained 10.0 points more (95 % interval {low} to {high})"


def test_no_clear_difference_says_that_the_interval_holds_zero() -> None:
    found = retention_uplift(retained(130, 400), retained(120, 400))
    assert not found.conclusive and found.enough_data and found.ci95 is not None
    assert found.note.startswith("no clear difference: treatment retained 2.5 points more, but")
    assert found.note.endswith("holds 0")


def test_a_fall_in_revenue_is_said_as_less() -> None:
    found = revenue_uplift(spending(money([10.0, 12.0] * 20)), spending(money([20.0, 22.0] * 20)))
    assert found.conclusive and found.note.startswith(
        "treatment brought 10.00 less revenue per customer (95 % interval -10."
    )


def test_no_customer_with_an_order_before_leaves_retention_undefined() -> None:
    found = retention_uplift(retained(5, 40), retained(0, 0))
    assert found.diff is None and found.ci95 is None and not found.conclusive
    assert found.note.startswith("holdout: no customer with an order before the window")


# -- Intervals hold the truth as often as they claim (seeded simulations) --------------------


def simulated(rng: random.Random, n: int, retention: float, spend: float) -> GroupTotals:
    """n assigned customers: 70 % ordered before, and of those ``retention`` order again; 10 %
    of the others order for the first time; an order's value is exponential around ``spend``."""
    before = during = new = 0
    revenue = squares = Decimal(0)
    for _ in range(n):
        old = rng.random() < 0.7
        if rng.random() < (retention if old else 0.1):
            during, new = during + 1, new + (not old)
            value = Decimal(f"{rng.expovariate(1 / spend):.2f}")
            revenue, squares = revenue + value, squares + value * value
        before += old
    return GroupTotals(n, before, during, new, 0, during, revenue, squares)


def test_with_no_effect_the_intervals_hold_zero_about_95_times_in_100() -> None:
    rng = random.Random(2026)
    held = {"retention": 0, "revenue": 0}
    for _ in range(400):
        a, b = simulated(rng, 200, 0.3, 40.0), simulated(rng, 200, 0.3, 40.0)
        for name, found in (
            ("retention", retention_uplift(a, b)),
            ("revenue", revenue_uplift(a, b)),
        ):
            assert found.ci95 is not None
            held[name] += found.ci95[0] <= 0 <= found.ci95[1]
    for name, count in held.items():
        assert 0.90 <= count / 400 <= 0.99, (name, count)


def test_an_injected_effect_is_found_and_its_size_covered() -> None:
    rng = random.Random(7)
    # retention 0.40 against 0.30; revenue per customer P(order) × spend: 0.31 × 50 - 0.24 × 40
    truth = {"retention": 0.10, "revenue": 0.31 * 50 - 0.24 * 40}
    covered = {"retention": 0, "revenue": 0}
    conclusive = {"retention": 0, "revenue": 0}
    for _ in range(100):
        a, b = simulated(rng, 2000, 0.40, 50.0), simulated(rng, 2000, 0.30, 40.0)
        for name, found in (
            ("retention", retention_uplift(a, b)),
            ("revenue", revenue_uplift(a, b)),
        ):
            assert found.ci95 is not None
            covered[name] += found.ci95[0] <= truth[name] <= found.ci95[1]
            conclusive[name] += found.conclusive
    assert min(covered.values()) >= 88, covered
    assert min(conclusive.values()) >= 95, conclusive


# -- How many customers a campaign needs -----------------------------------------------------


def test_sample_size_is_fleiss_two_proportion_formula() -> None:
    z, zb = NormalDist().inv_cdf(0.975), NormalDist().inv_cdf(0.8)
    by_hand = (z * math.sqrt(2 * 0.325 * 0.675) + zb * math.sqrt(0.3 * 0.7 + 0.35 * 0.65)) ** 2
    assert by_hand / 0.05**2 == pytest.approx(1376.3, abs=0.05)
    assert sample_size_per_group(0.30, 0.05) == 1377


def test_sample_size_agrees_with_r_power_prop_test() -> None:
    # R's documentation: power.prop.test(p1 = .50, p2 = .75, power = .90)  ## => n = 76.7
    assert sample_size_per_group(0.50, 0.25, power=0.90) == 77


@pytest.mark.parametrize(
    ("base", "needed"),
    [(0.20, (6510, 1094, 294)), (0.30, (8394, 1377, 356)), (0.40, (9493, 1534, 388))],
)
def test_sample_sizes_of_the_table_in_the_docs(base: float, needed: tuple[int, ...]) -> None:
    assert tuple(sample_size_per_group(base, u) for u in (0.02, 0.05, 0.10)) == needed


def test_sample_size_grows_with_power_and_with_a_smaller_uplift() -> None:
    assert sample_size_per_group(0.3, 0.05, power=0.9) > sample_size_per_group(0.3, 0.05)
    assert sample_size_per_group(0.3, 0.02) > sample_size_per_group(0.3, 0.05)
    assert sample_size_per_group(0.35, -0.05) == sample_size_per_group(0.30, 0.05)


@pytest.mark.parametrize(
    ("base", "uplift", "power", "message"),
    [
        (0.0, 0.05, 0.8, "base_rate must lie between 0 and 1"),
        (30, 5, 0.8, "base_rate must lie between 0 and 1"),
        (0.30, 5, 0.8, "points are fractions"),
        (0.98, 0.05, 0.8, "base_rate \\+ uplift_points must lie between 0 and 1"),
        (0.30, 0.0, 0.8, "uplift_points must not be 0"),
        (0.30, 0.05, 1.0, "power must lie between 0 and 1"),
    ],
)
def test_sample_size_refuses_rates_outside_zero_and_one(
    base: float, uplift: float, power: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        sample_size_per_group(base, uplift, power=power)
