"""Do the prizes a campaign handed out match the odds it was configured with? Pearson's
chi-square goodness-of-fit test, for the admin page and for ``gamify attest``.

Standard library only, like the rest of the core, so that an auditor can recompute a verdict
with nothing installed. The survival function is the regularized upper incomplete gamma
function of Numerical Recipes (§6.2, ``gammp``/``gammq``), computed directly rather than as
1 - P, so that the tiny p-values of a badly skewed wheel keep their digits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FitTest", "Runs", "RunsTest", "chi_square", "chi_square_sf", "combined"]

SMALL_EXPECTED = 5
"""Below this expected count a category's term is far from the chi-square the test assumes
(Cochran's rule of thumb), so the p-value is only a rough guide."""

_SUM_TOLERANCE = 1e-9  # configured odds are decimals read from YAML: allow their rounding


@dataclass(frozen=True)
class FitTest:
    """Pearson's chi-square goodness-of-fit test of drawn counts against configured odds."""

    statistic: float
    dof: int
    p_value: float | None  # None: fewer than 2 possible categories, or nothing drawn
    sample: int  # total observations
    small_expected: int  # categories expected fewer than SMALL_EXPECTED times
    impossible: int  # observations in categories of probability 0 (any makes p_value 0.0)

    @property
    def approximate(self) -> bool:
        """The chi-square distribution is a large-sample approximation: with a category
        expected only a few times its p-value can be off, and a reader should know."""
        return self.small_expected > 0


# The regularized incomplete gamma function (Numerical Recipes §6.2) ---------------------------


def _iterations(a: float) -> int:
    """Both expansions need about √a terms near x ≈ a, so a fixed cap would fail on the large
    dofs that combining many config versions produces."""
    return 1000 + int(50 * math.sqrt(a))


def _log_front(a: float, x: float) -> float:
    """log(e⁻ˣ·xᵃ / Γ(a)), the factor both expansions share, in logs so that it neither
    overflows nor underflows before the product does."""
    return -x + a * math.log(x) - math.lgamma(a)


def _lower_series(a: float, x: float) -> float:
    """P(a, x) by its power series, which converges fast for x < a + 1."""
    term = total = 1.0 / a
    n = a
    for _ in range(_iterations(a)):
        n += 1
        term *= x / n
        total += term
        if abs(term) < abs(total) * 1e-15:
            return total * math.exp(_log_front(a, x))
    raise ArithmeticError(f"incomplete gamma series did not converge for a={a}, x={x}")


def _upper_fraction(a: float, x: float) -> float:
    """Q(a, x) by its continued fraction, by the modified Lentz method, for x >= a + 1, where
    it converges fast and gives Q itself, small values included."""
    tiny, eps = 1e-300, 1e-15
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, _iterations(a)):
        step = -i * (i - a)
        b += 2
        d = step * d + b
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = b + step / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        if abs(d * c - 1.0) < eps:
            return h * math.exp(_log_front(a, x))
    raise ArithmeticError(f"incomplete gamma fraction did not converge for a={a}, x={x}")


def _upper_gamma(a: float, x: float) -> float:
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    if x < a + 1:  # Q is not small here, so 1 - P loses nothing that matters
        return max(0.0, 1.0 - _lower_series(a, x))
    return min(1.0, _upper_fraction(a, x))


def chi_square_sf(statistic: float, dof: int) -> float:
    """P(X >= statistic) for X ~ chi-square(dof): the regularized upper incomplete gamma
    Q(dof/2, statistic/2)."""
    if dof < 1:
        raise ValueError(f"a chi-square distribution needs dof >= 1, not {dof}")
    if not statistic >= 0:  # NaN too
        raise ValueError(f"a chi-square statistic is never negative, not {statistic}")
    return _upper_gamma(dof / 2, statistic / 2)


# The tests --------------------------------------------------------------------------------


def chi_square(observed: Sequence[int], probabilities: Sequence[float]) -> FitTest:
    """observed[i] draws of category i whose configured probability is probabilities[i].

    A category of probability 0 (a prize switched off) cannot take part: its expected count is
    0, so its term would divide by zero. It is left out of the statistic and the dof, and any
    draw in it is counted in ``impossible`` and makes the p-value 0.0, because no amount of
    chance explains it: this holds even with one possible category, where there is otherwise
    nothing to test. Expected counts are taken from the draws that fell in possible
    categories, so the statistic still measures the shape of the rest."""
    if len(observed) != len(probabilities):
        raise ValueError(
            f"{len(observed)} observed counts for {len(probabilities)} probabilities: "
            "they must pair up category by category"
        )
    if any(count < 0 for count in observed):
        raise ValueError(f"observed counts must not be negative: {list(observed)}")
    if not all(p >= 0 and math.isfinite(p) for p in probabilities):  # NaN fails p >= 0
        raise ValueError(f"probabilities must be finite and not negative: {list(probabilities)}")
    total_p = math.fsum(probabilities)
    if abs(total_p - 1) > _SUM_TOLERANCE:
        raise ValueError(f"probabilities must sum to 1, not {total_p!r}")
    sample = sum(observed)
    impossible = sum(o for o, p in zip(observed, probabilities, strict=True) if p == 0)
    drawn = sample - impossible
    # (observed, expected) of each possible category; dividing by the sum spreads the odds'
    # rounding evenly instead of leaving the counts a hair off adding up
    possible = [
        (o, drawn * p / total_p) for o, p in zip(observed, probabilities, strict=True) if p > 0
    ]
    statistic = math.fsum((o - e) ** 2 / e for o, e in possible if e > 0)
    dof = len(possible) - 1
    p_value: float | None
    if impossible:
        p_value = 0.0
    elif dof < 1 or drawn == 0:
        p_value = None
    else:
        p_value = chi_square_sf(statistic, dof)
    small = sum(e < SMALL_EXPECTED for _, e in possible)
    return FitTest(statistic, dof, p_value, sample, small, impossible)


def combined(tests: Sequence[FitTest]) -> FitTest:
    """Independent tests as one, e.g. plays under config versions with different odds, which
    cannot be pooled into one table. The sum of independent chi-squares is a chi-square with
    the summed dof, so the statistics and dofs add, and so do the counts.

    Tests without a p-value are skipped whole, sample included: they tested nothing, and the
    result should describe what was tested."""
    tested = [t for t in tests if t.p_value is not None]
    statistic = math.fsum(t.statistic for t in tested)
    dof = sum(t.dof for t in tested)
    impossible = sum(t.impossible for t in tested)
    p_value: float | None
    if not tested:
        p_value = None
    elif impossible:
        p_value = 0.0
    else:
        p_value = chi_square_sf(statistic, dof)
    return FitTest(
        statistic,
        dof,
        p_value,
        sum(t.sample for t in tested),
        sum(t.small_expected for t in tested),
        impossible,
    )


# The runs test ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunsTest:
    """Wald–Wolfowitz runs test: are wins and losses in draw order as mixed as chance mixes
    them? Too few runs (wins bunched together) or too many (strict alternation) both fail."""

    runs: int
    wins: int
    losses: int
    expected: float
    z: float
    p_value: float | None  # two-sided, normal approximation; None without both outcomes


class Runs:
    """Counts a sequence's runs as it streams by: a million draws in constant memory."""

    def __init__(self) -> None:
        self.wins = self.losses = self.runs = 0
        self._last: bool | None = None

    def add(self, win: bool) -> None:
        if win:
            self.wins += 1
        else:
            self.losses += 1
        if win != self._last:
            self.runs += 1
        self._last = win

    def test(self) -> RunsTest:
        n1, n2, n = self.wins, self.losses, self.wins + self.losses
        if n1 == 0 or n2 == 0:
            return RunsTest(self.runs, n1, n2, float(self.runs), 0.0, None)
        expected = 2 * n1 * n2 / n + 1
        variance = 2 * n1 * n2 * (2 * n1 * n2 - n) / (n * n * (n - 1)) if n > 1 else 0.0
        if variance <= 0:
            return RunsTest(self.runs, n1, n2, expected, 0.0, None)
        z = (self.runs - expected) / math.sqrt(variance)
        return RunsTest(self.runs, n1, n2, expected, z, math.erfc(abs(z) / math.sqrt(2)))
