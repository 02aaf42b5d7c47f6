"""The report's arithmetic (CONTRACT §11): KPIs of a group of customers from the totals SQL makes,
and the uplift of the treatment over the holdout with a 95 % interval.

Standard library only, so that an auditor can recompute a report with nothing installed. The
intervals are chosen for the samples a store has: Newcombe's hybrid score interval for a
difference of proportions (sound near 0 and 1 and on small groups, where the textbook Wald
interval collapses or overshoots), and Welch's t interval for a difference of means (a game can
change how spread out spending is, so the groups' variances are not assumed equal).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import Decimal, localcontext
from statistics import NormalDist

MIN_SAMPLE = 30
"""Below this many customers in a group an interval rests on too few people to act on."""

_Z95 = NormalDist().inv_cdf(0.975)
_PLACES = 6  # every float the report shows is rounded alike, so its JSON reads and diffs cleanly


@dataclass(frozen=True)
class GroupTotals:
    customers: int  # customers assigned to the group (intention to treat)
    before: int  # S: customers with an order in the period before the window
    during: int  # E: customers with an order in the window
    new: int  # N: those of E with no order in the period before
    repeat: int  # customers with >= 2 orders in the window
    orders: int  # orders in the window
    revenue: Decimal  # net revenue in the window (refunds already netted out)
    revenue_squares: Decimal  # sum over assigned customers of (their net revenue) ** 2
    prizes: int = 0  # prizes awarded to the group in the window
    prize_value: Decimal = Decimal(0)  # their value (cost)
    coupons_issued: int = 0
    coupons_redeemed: int = 0  # issued codes that appeared in an order.paid event's coupons


@dataclass(frozen=True)
class GroupKpis:
    customers: int
    retention: float | None  # (E - N) / S
    repeat_rate: float | None  # repeat / during
    frequency: float | None  # orders / during
    aov: float | None  # revenue / orders
    revenue_per_customer: float | None  # revenue / customers
    prizes: int
    prize_value: float
    coupons_redeemed: int
    redemption_rate: float | None  # coupons_redeemed / coupons_issued

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def _ratio(top: int | Decimal, bottom: int | Decimal) -> float | None:
    """None, not 0, over an empty denominator: "no customer ordered" is not "none came back"."""
    return round(float(top) / float(bottom), _PLACES) if bottom else None


def kpis(totals: GroupTotals) -> GroupKpis:
    t = totals
    return GroupKpis(
        customers=t.customers,
        retention=_ratio(t.during - t.new, t.before),
        repeat_rate=_ratio(t.repeat, t.during),
        frequency=_ratio(t.orders, t.during),
        aov=_ratio(t.revenue, t.orders),
        revenue_per_customer=_ratio(t.revenue, t.customers),
        prizes=t.prizes,
        prize_value=round(float(t.prize_value), _PLACES),
        coupons_redeemed=t.coupons_redeemed,
        redemption_rate=_ratio(t.coupons_redeemed, t.coupons_issued),
    )


@dataclass(frozen=True)
class Uplift:
    diff: float | None  # treatment minus holdout
    ci95: tuple[float, float] | None
    conclusive: bool  # the interval excludes 0, on groups large enough to act on
    enough_data: bool  # both groups large enough for the interval to mean something
    note: str  # one plain-English sentence for a marketer

    def as_json(self) -> dict[str, object]:
        return {**asdict(self), "ci95": None if self.ci95 is None else list(self.ci95)}


def _nothing(empty: list[str], lacking: str, measure: str) -> Uplift:
    note = f"{' and '.join(empty)}: {lacking}, so there is no {measure} to compare"
    return Uplift(None, None, False, False, note)


def _judge(
    diff: float,
    ci: tuple[float, float] | None,
    sizes: dict[str, int],
    counted: str,
    *,
    points: bool,
) -> Uplift:
    """One verdict for both uplifts. ``conclusive`` needs ``enough_data`` too: a marketer reads
    "conclusive" as "act on it", and an interval on a handful of customers is not that."""
    small = {name: n for name, n in sizes.items() if n < MIN_SAMPLE}
    if ci is not None:  # judged as shown, so the JSON's interval and verdict never disagree
        ci = (round(ci[0], _PLACES), round(ci[1], _PLACES))
    excludes_zero = ci is not None and (ci[0] > 0 or ci[1] < 0)
    if small or ci is None:
        plural = "s" if len(small) > 1 or any(n != 1 for n in small.values()) else ""
        note = (
            f"{' and '.join(small)} too small to conclude: "
            f"{' and '.join(f'{n:,}' for n in small.values())} customer{plural} {counted} "
            f"(need at least {MIN_SAMPLE}{' each' if len(small) > 1 else ''})"
        )
    else:
        scale, shape = (100, "{:.1f}") if points else (1, "{:,.2f}")
        low, high, size = (shape.format(v * scale) for v in (*ci, abs(diff)))
        way = "more" if diff >= 0 else "less"
        said = (
            f"treatment retained {size} points {way}"
            if points
            else f"treatment brought {size} {way} revenue per customer"
        )
        interval = f"95 % interval {low} to {high}"
        note = f"{said} ({interval})"
        if not excludes_zero:
            note = f"no clear difference: {said}, but the {interval} holds 0"
    return Uplift(round(diff, _PLACES), ci, not small and excludes_zero, not small, note)


def _wilson(successes: int, trials: int) -> tuple[float, float]:
    """Wilson's score interval: it inverts the score test, so it stays inside [0, 1] and keeps
    its width at 0/n and n/n, where Wald's p(1 - p) = 0 shrinks the interval to a point."""
    p, z2 = successes / trials, _Z95 * _Z95
    centre = (successes + z2 / 2) / (trials + z2)
    half = _Z95 * math.sqrt(trials * p * (1 - p) + z2 / 4) / (trials + z2)
    return max(0.0, centre - half), min(1.0, centre + half)


def _newcombe(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float]:
    """p1 - p2 with Newcombe's hybrid score interval (Stat Med 1998;17:873, method 10): each
    side combines the two Wilson half-widths that point that way."""
    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = _wilson(x1, n1), _wilson(x2, n2)
    diff = p1 - p2
    return diff, diff - math.hypot(p1 - l1, u2 - p2), diff + math.hypot(u1 - p1, p2 - l2)


def retention_uplift(treatment: GroupTotals, holdout: GroupTotals) -> Uplift:
    """Retention is a proportion (E - N returning customers among S), so its sample is S, not
    the customers assigned: only those who ordered before can come back."""
    sizes = {"treatment": treatment.before, "holdout": holdout.before}
    if empty := [name for name, s in sizes.items() if s == 0]:
        return _nothing(empty, "no customer with an order before the window", "retention")
    diff, low, high = _newcombe(
        treatment.during - treatment.new,
        treatment.before,
        holdout.during - holdout.new,
        holdout.before,
    )
    return _judge(diff, (low, high), sizes, "with an order before", points=True)


def _mean_variance(totals: GroupTotals) -> tuple[float, float | None]:
    """Worked in Decimal: sum(x²) - n·mean² subtracts two large, nearly equal numbers, which in
    floats can lose every digit of a small variance (or turn it negative)."""
    n = totals.customers
    with localcontext() as context:
        context.prec = 50
        mean = Decimal(totals.revenue) / n
        if n < 2:
            return float(mean), None
        spread = Decimal(totals.revenue_squares) - Decimal(totals.revenue) * mean
        return float(mean), max(0.0, float(spread / (n - 1)))


def revenue_uplift(treatment: GroupTotals, holdout: GroupTotals) -> Uplift:
    """Revenue per assigned customer, those who bought nothing counting 0 (intention to treat),
    compared with Welch's t interval and Welch–Satterthwaite degrees of freedom."""
    n1, n2 = treatment.customers, holdout.customers
    sizes = {"treatment": n1, "holdout": n2}
    if empty := [name for name, n in sizes.items() if n == 0]:
        return _nothing(empty, "no customer assigned yet", "revenue per customer")
    (m1, v1), (m2, v2) = _mean_variance(treatment), _mean_variance(holdout)
    diff = m1 - m2
    ci: tuple[float, float] | None = None
    if v1 is not None and v2 is not None:
        a, b = v1 / n1, v2 / n2
        if a + b == 0:  # every customer of both groups spent the same: nothing is uncertain
            ci = (diff, diff)
        else:
            df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))  # Welch–Satterthwaite
            half = t_quantile(0.975, df) * math.sqrt(a + b)
            ci = (diff - half, diff + half)
    return _judge(diff, ci, sizes, "assigned", points=False)


# Student's t, from the regularised incomplete beta function (Numerical Recipes §6.4) ----------


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The incomplete beta function's continued fraction, by the modified Lentz method."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        for step in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + step * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + step / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def _incomplete_beta(a: float, b: float, x: float) -> float:
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(log_front + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):  # where the fraction converges fast; else use the symmetry
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1 - x) / b


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _incomplete_beta(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Student's t quantile for any df > 0, fractional included (Welch's df rarely is whole).
    Bisection, because the CDF is monotonic and a few dozen halvings are cheap and never fail."""
    if not (0 < p < 1 and df > 0):
        raise ValueError(f"t_quantile needs 0 < p < 1 and df > 0, not p={p}, df={df}")
    if df > 1e6:  # t is within 2.4e-6 of the normal there
        return NormalDist().inv_cdf(p)
    if p < 0.5:
        return -t_quantile(1 - p, df)
    low, high = 0.0, 1.0
    while _t_cdf(high, df) < p:
        low, high = high, high * 2
    while high - low > 1e-13 * high:
        mid = (low + high) / 2
        low, high = (mid, high) if _t_cdf(mid, df) < p else (low, mid)
    return (low + high) / 2


def sample_size_per_group(base_rate: float, uplift_points: float, *, power: float = 0.8) -> int:
    """Customers with an order before (S) needed in each group to detect retention moving from
    ``base_rate`` to ``base_rate + uplift_points``, two-sided at 5 %.

    Fleiss's formula without continuity correction: the null's variance pooled at the mean
    rate, the alternative's unpooled, n = (z₀.₉₇₅·√(2p̄q̄) + z_power·√(p₁q₁ + p₂q₂))² / Δ².
    It is the equation R's ``power.prop.test`` solves, so a reader can check the numbers there
    (0.30 → 0.35 at 80 % gives 1,376.3, hence 1,377)."""
    target = base_rate + uplift_points
    if not 0 < base_rate < 1:
        raise ValueError(f"base_rate must lie between 0 and 1 (0.30 for 30 %), not {base_rate}")
    if not 0 < target < 1:
        raise ValueError(
            f"base_rate + uplift_points must lie between 0 and 1 (points are fractions: 0.05 "
            f"for 5 points), not {target:g}"
        )
    if uplift_points == 0:
        raise ValueError("uplift_points must not be 0: no sample can detect no change")
    if not 0 < power < 1:
        raise ValueError(f"power must lie between 0 and 1 (0.8 for 80 %), not {power}")
    mean = (base_rate + target) / 2
    null = _Z95 * math.sqrt(2 * mean * (1 - mean))
    alternative = NormalDist().inv_cdf(power) * math.sqrt(
        base_rate * (1 - base_rate) + target * (1 - target)
    )
    return math.ceil((null + alternative) ** 2 / uplift_points**2 - 1e-9)
