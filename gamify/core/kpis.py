"""The report's arithmetic (CONTRACT §11): KPIs of a group of customers from the sums the
database makes, and the uplift of the treatment over the holdout with a 95 % interval.

Standard library only, so that an auditor can recompute a report. The intervals are the ones
that behave on the samples a store has: Newcombe's hybrid score interval for a difference of
proportions (sound near 0 and 1 and on small groups, where the textbook Wald interval is not),
and Welch's t interval for a difference of means (the groups' variances need not be equal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist
from typing import Any

MIN_SAMPLE = 30
"""Below this many customers in a group, an interval is shown but said not to mean much."""
Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class GroupTotals:
    customers: int  # assigned to the group (intention to treat)
    before: int  # S: customers with an order in the period before the window
    during: int  # E: customers with an order in the window
    new: int  # N: those of E with no order in the period before
    repeat: int  # customers with two orders or more in the window
    orders: int  # orders in the window
    revenue: Decimal  # net revenue in the window
    revenue_squares: Decimal  # sum over the group's customers of their revenue squared
    prizes: int = 0
    prize_value: Decimal = Decimal(0)
    coupons_issued: int = 0
    coupons_redeemed: int = 0


@dataclass(frozen=True)
class GroupKpis:
    customers: int
    retention: float | None
    repeat_rate: float | None
    frequency: float | None
    aov: float | None
    revenue_per_customer: float | None
    prizes: int
    prize_value: float
    coupons_redeemed: int
    redemption_rate: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "retention": self.retention,
            "repeat_rate": self.repeat_rate,
            "frequency": self.frequency,
            "aov": self.aov,
            "revenue_per_customer": self.revenue_per_customer,
            "prizes": self.prizes,
            "prize_value": self.prize_value,
            "coupons_redeemed": self.coupons_redeemed,
            "redemption_rate": self.redemption_rate,
        }


def _ratio(top: float | Decimal, bottom: float | Decimal) -> float | None:
    return round(float(top) / float(bottom), 6) if bottom else None


def kpis(t: GroupTotals) -> GroupKpis:
    return GroupKpis(
        customers=t.customers,
        retention=_ratio(t.during - t.new, t.before),
        repeat_rate=_ratio(t.repeat, t.during),
        frequency=_ratio(t.orders, t.during),
        aov=_ratio(t.revenue, t.orders),
        revenue_per_customer=_ratio(t.revenue, t.customers),
        prizes=t.prizes,
        prize_value=float(t.prize_value),
        coupons_redeemed=t.coupons_redeemed,
        redemption_rate=_ratio(t.coupons_redeemed, t.coupons_issued),
    )


@dataclass(frozen=True)
class Uplift:
    diff: float | None  # treatment minus holdout
    ci95: tuple[float, float] | None
    conclusive: bool  # the interval leaves 0 out
    enough_data: bool  # both groups large enough for the interval to mean something
    note: str  # one plain sentence for a marketer

    def as_json(self) -> dict[str, Any]:
        return {
            "diff": self.diff,
            "ci95": list(self.ci95) if self.ci95 is not None else None,
            "conclusive": self.conclusive,
            "enough_data": self.enough_data,
            "note": self.note,
        }


def _verdict(
    diff: float, low: float, high: float, enough: bool, what: str, shown: str
) -> tuple[bool, str]:
    conclusive = enough and (low > 0 or high < 0)
    if not enough:
        return False, f"too few customers to conclude on {what} (need {MIN_SAMPLE} per group)"
    if not conclusive:
        return False, f"no clear difference in {what}: the interval holds 0 ({shown})"
    word = "more" if diff > 0 else "less"
    return True, f"the treatment group shows {word} {what} than the holdout ({shown})"


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of a proportion."""
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float]:
    """p1 − p2 with Newcombe's hybrid score interval (1998, method 10)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    diff = p1 - p2
    return (
        diff,
        diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def retention_uplift(treatment: GroupTotals, holdout: GroupTotals) -> Uplift:
    """Retention is the share of the customers with an order before (S) who ordered again
    (E − N): a proportion, compared with Newcombe's interval."""
    if not treatment.before or not holdout.before:
        return Uplift(None, None, False, False, "no customer with an order before in a group")
    diff, low, high = newcombe(
        treatment.during - treatment.new,
        treatment.before,
        holdout.during - holdout.new,
        holdout.before,
    )
    enough = min(treatment.before, holdout.before) >= MIN_SAMPLE
    shown = f"{diff * 100:+.1f} points, 95 % interval {low * 100:+.1f} to {high * 100:+.1f}"
    conclusive, note = _verdict(diff, low, high, enough, "retention", shown)
    return Uplift(round(diff, 6), (round(low, 6), round(high, 6)), conclusive, enough, note)


def _mean_variance(total: Decimal, squares: Decimal, n: int) -> tuple[float, float]:
    mean = float(total) / n
    if n < 2:
        return mean, 0.0
    return mean, max(0.0, (float(squares) - n * mean * mean) / (n - 1))


def revenue_uplift(treatment: GroupTotals, holdout: GroupTotals) -> Uplift:
    """Revenue per assigned customer (those who bought nothing count 0), compared with
    Welch's t interval."""
    n1, n2 = treatment.customers, holdout.customers
    if n1 < 2 or n2 < 2:
        return Uplift(None, None, False, False, "fewer than 2 customers in a group")
    m1, v1 = _mean_variance(treatment.revenue, treatment.revenue_squares, n1)
    m2, v2 = _mean_variance(holdout.revenue, holdout.revenue_squares, n2)
    diff = m1 - m2
    a, b = v1 / n1, v2 / n2
    if a + b == 0:
        low = high = diff
    else:
        df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
        half = t_quantile(0.975, df) * math.sqrt(a + b)
        low, high = diff - half, diff + half
    enough = min(n1, n2) >= MIN_SAMPLE
    shown = f"{diff:+.2f} per customer, 95 % interval {low:+.2f} to {high:+.2f}"
    conclusive, note = _verdict(diff, low, high, enough, "revenue per customer", shown)
    return Uplift(round(diff, 6), (round(low, 6), round(high, 6)), conclusive, enough, note)


# -- Student's t, from the regularised incomplete beta function ------------------------------


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (Lentz's method)."""
    tiny, eps = 1e-300, 3e-16
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        for aa in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float) -> float:
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1 - x) / b


def t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _incomplete_beta(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (any df > 0)."""
    if not 0 < p < 1 or df <= 0:
        raise ValueError("t_quantile needs 0 < p < 1 and df > 0")
    if df > 1e6:
        return NormalDist().inv_cdf(p)
    if p < 0.5:
        return -t_quantile(1 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2
    for _ in range(200):  # bisection: the cdf is monotonic, 200 halvings reach float precision
        mid = (low + high) / 2
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12:
            break
    return (low + high) / 2


def sample_size_per_group(base_rate: float, uplift_points: float, *, power: float = 0.8) -> int:
    """Customers with an order before (S) needed in each group to detect retention rising from
    ``base_rate`` to ``base_rate + uplift_points`` (two-sided 5 %, the pooled-variance formula
    for two proportions)."""
    target = base_rate + uplift_points
    if not (0 < base_rate < 1 and 0 < target < 1 and uplift_points != 0 and 0 < power < 1):
        raise ValueError("rates must lie strictly between 0 and 1, the uplift must not be 0")
    pooled = (base_rate + target) / 2
    z_power = NormalDist().inv_cdf(power)
    top = Z95 * math.sqrt(2 * pooled * (1 - pooled)) + z_power * math.sqrt(
        base_rate * (1 - base_rate) + target * (1 - target)
    )
    return math.ceil(top * top / (uplift_points * uplift_points))
