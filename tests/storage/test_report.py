"""The report (CONTRACT §11) on SQLite and PostgreSQL, on generated stores whose truth the test
knows: every count and sum per group as computed here from the generated events, an injected
rise in retention found inside the interval, and no effect giving an interval around 0."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from databases import KINDS, database_url

from gamify.cli.main import cli
from gamify.core.holdout import holdout_group
from gamify.services.report import ReportError
from gamify.web.state import GamifyState, build_state

SECRET = "report-secret"
CAMPAIGN = "spring-wheel"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
START = date(2026, 11, 10)  # the campaign's first day (Madrid); the window runs to NOW's date
DAYS = (NOW.date() - START).days + 1
WHEEL = f"""\
id: {CAMPAIGN}
game: wheel
title: Spring wheel
timezone: Europe/Madrid
starts: {START.isoformat()}T00:00:00
ends: 2026-12-31T00:00:00
holdout: {{holdout}}
fallback: nothing
prizes:
  - id: ten
    label: "10%"
    weight: 1
    value: 5
    coupon: {{{{pattern: "TEN-{{{{code:8}}}}"}}}}
  - {{{{id: nothing, label: Nothing, weight: 1, win: false}}}}
"""


def _at(day: date, hour: int = 12) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


@dataclass
class Truth:
    """What the generated store did, per group, computed without SQL."""

    customers: dict[str, int] = field(default_factory=dict)
    before: dict[str, int] = field(default_factory=dict)
    during: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    repeat: dict[str, int] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)
    revenue: dict[str, Decimal] = field(default_factory=dict)

    def add(self, name: str, key: str, value: Any = 1) -> None:
        table = getattr(self, key)
        table[name] = table.get(name, 0) + value


def _store(current: GamifyState, customers: int, rates: dict[str, float], seed: int) -> Truth:
    """Customers who all visit during the window (so the campaign sees and assigns each);
    60 % ordered in the period before; in the window, those come back with the group's rate
    and new ones order at 15 %. A few orders are paid twice, refunded in part or in full.

    The k-th customer of each group draws the same random numbers: the groups differ only by
    their rates (and a few customers more in one), so what the report finds is the injected
    effect, not the luck of the draw."""
    truth = Truth()
    rank: dict[str, int] = {}
    events: list[dict[str, Any]] = []
    before_day = START - timedelta(days=DAYS // 2)
    for n in range(customers):
        customer = f"c{seed}-{n}"
        group = holdout_group(SECRET.encode(), CAMPAIGN, customer, current_holdout(current))
        truth.add(group, "customers")
        rank[group] = rank.get(group, 0) + 1
        rng = random.Random(f"{seed}:{rank[group]}")
        events.append(
            {"id": f"v-{customer}", "type": "page.viewed", "customer": customer,
             "occurred_at": _at(START + timedelta(days=1))}
        )  # fmt: skip
        ordered_before = rng.random() < 0.6
        if ordered_before:
            truth.add(group, "before")
            events.append(_order(f"b-{customer}", customer, before_day, Decimal("30.00")))
        comes = rng.random() < (rates[group] if ordered_before else 0.15)
        if not comes:
            continue
        count = 2 if rng.random() < 0.3 else 1
        spent = Decimal(0)
        for k in range(count):
            total = Decimal(rng.randrange(1000, 9000)) / 100
            order_id = f"w-{customer}-{k}"
            day = START + timedelta(days=3 + k)
            events.append(_order(order_id, customer, day, total))
            if rng.random() < 0.05:  # paid twice under another event id: one order
                events.append(_order(order_id, customer, day, total, "again"))
            spent += total
        if rng.random() < 0.1:  # the last order refunded in full: it is no order
            events.append(_refund(f"w-{customer}-{count - 1}", customer, total, "all"))
            spent -= total
            count -= 1
        elif rng.random() < 0.1:  # refunded in part: less revenue, still an order
            events.append(_refund(f"w-{customer}-0", customer, Decimal("5.00"), "part"))
            spent -= Decimal("5.00")
        if count == 0:
            continue
        truth.add(group, "during")
        truth.add(group, "new", 0 if ordered_before else 1)
        truth.add(group, "repeat", 1 if count >= 2 else 0)
        truth.add(group, "orders", count)
        truth.add(group, "revenue", spent)
    index, holdouts = current.registry.index(), current.registry.with_holdout()
    for i in range(0, len(events), 100):
        current.service.track_events({"events": events[i : i + 100]}, index, holdouts)
    return truth


def current_holdout(current: GamifyState) -> int:
    return current.registry.find(CAMPAIGN).holdout


def _order(
    order_id: str, customer: str, day: date, total: Decimal, suffix: str = "paid"
) -> dict[str, Any]:
    return {
        "id": f"{suffix}-{order_id}", "type": "order.paid", "customer": customer,
        "occurred_at": _at(day),
        "order": {"id": order_id, "total": str(total), "currency": "EUR",
                  "items": [{"sku": "X", "quantity": 1, "price": str(total)}]},
    }  # fmt: skip


def _refund(order_id: str, customer: str, amount: Decimal, kind: str) -> dict[str, Any]:
    return {
        "id": f"r-{kind}-{order_id}", "type": "order.refunded", "customer": customer,
        "occurred_at": _at(NOW.date() - timedelta(days=1)),
        "order": {"id": order_id, "refund_total": str(amount)},
    }  # fmt: skip


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        yield url


def _state(database: str, folder: Path, holdout: int) -> GamifyState:
    folder.mkdir(exist_ok=True)
    (folder / f"{CAMPAIGN}.yaml").write_text(WHEEL.format(holdout=holdout), encoding="utf-8")
    current = build_state(database_url=database, campaigns=folder, secret=SECRET, start=False)
    current.service.clock = lambda: NOW
    current.start()
    return current


def test_every_figure_matches_the_generated_store_and_the_injected_rise_is_found(
    database: str, tmp_path: Path
) -> None:
    current = _state(database, tmp_path / "campaigns", 50)
    truth = _store(current, 1600, {"treatment": 0.55, "holdout": 0.40}, seed=7)
    made = current.service.report(current.registry.find(CAMPAIGN))
    assert (made.first, made.last) == (START, NOW.date())
    for group in ("treatment", "holdout"):
        sums = made.sums[group]
        assert sums.customers == truth.customers[group]
        assert (sums.before, sums.during, sums.new) == (
            truth.before[group],
            truth.during[group],
            truth.new[group],
        )
        assert (sums.repeat, sums.orders) == (truth.repeat[group], truth.orders[group])
        assert abs(sums.revenue - truth.revenue[group]) < Decimal("0.01")
        kpi = made.groups[group]
        expected = (truth.during[group] - truth.new[group]) / truth.before[group]
        assert kpi.retention == pytest.approx(expected, abs=1e-6)
    retention = made.retention
    assert retention is not None and retention.ci95 is not None
    assert retention.ci95[0] <= 0.15 <= retention.ci95[1]  # the injected rise
    assert retention.diff == pytest.approx(0.15, abs=0.03)
    assert retention.conclusive and retention.enough_data
    current.engine.dispose()


def test_with_no_effect_the_interval_holds_zero(database: str, tmp_path: Path) -> None:
    current = _state(database, tmp_path / "campaigns", 50)
    _store(current, 1600, {"treatment": 0.45, "holdout": 0.45}, seed=11)
    made = current.service.report(current.registry.find(CAMPAIGN))
    for uplift in (made.retention, made.revenue_per_customer):
        assert uplift is not None and uplift.ci95 is not None
        assert uplift.ci95[0] <= 0 <= uplift.ci95[1]
        assert not uplift.conclusive
    current.engine.dispose()


def test_the_command_prints_text_json_and_csv_and_refuses_bad_windows(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "campaigns"
    current = _state(database, folder, 0)
    _store(current, 200, {"treatment": 0.5, "holdout": 0.5}, seed=3)
    wheel = current.registry.get(CAMPAIGN)
    for n in range(200):  # no holdout: the report is of the customers who played
        current.service.play(wheel, f"c3-{n}")
    current.engine.dispose()
    monkeypatch.setenv("GAMIFY_SECRET_KEY", SECRET)
    runner = CliRunner()
    base = ["--database-url", database, "--campaigns", str(folder), "report", CAMPAIGN]
    text = runner.invoke(cli, [*base, "--to", "2026-11-30"])
    assert text.exit_code == 0, text.output
    assert "retention (E - N) / S" in text.output and "No holdout group" in text.output
    shown = runner.invoke(cli, [*base, "--to", "2026-11-30", "--format", "json"])
    body = __import__("json").loads(shown.output)
    assert body["window"] == {"from": "2026-11-10", "to": "2026-11-30"}
    assert set(body["groups"]) == {"treatment"} and body["uplift"] is None
    rows = runner.invoke(cli, [*base, "--to", "2026-11-30", "--format", "csv"]).output.splitlines()
    assert rows[0].startswith("campaign,from,to,group,customers,retention")
    assert len(rows) == 2 and rows[1].startswith(f"{CAMPAIGN},2026-11-10,2026-11-30,treatment,200,")
    prizes = body["groups"]["treatment"]["prizes"]
    assert 60 < prizes < 140 and body["groups"]["treatment"]["prize_value"] == prizes * 5
    for args, message in (
        (["--from", "2026-11-20", "--to", "2026-11-12"], "is after"),
        (["--from", "2099-01-01", "--to", "2099-01-02"], "in the future"),
    ):
        refused = runner.invoke(cli, [*base, *args])
        assert refused.exit_code == 1 and message in refused.output, refused.output
    unknown = runner.invoke(cli, [*base[:-1], "no-such-campaign"])
    assert unknown.exit_code == 1 and "no-such-campaign" in unknown.output


def test_a_campaign_that_saw_nobody_says_so(database: str, tmp_path: Path) -> None:
    current = _state(database, tmp_path / "campaigns", 10)
    with pytest.raises(ReportError, match="has seen no customers yet"):
        current.service.report(current.registry.find(CAMPAIGN))
    current.engine.dispose()


def test_the_window_is_whole_local_days_of_the_campaign(database: str, tmp_path: Path) -> None:
    """Madrid is UTC+1 in November: 23:30 UTC the day before START is 00:30 on START there."""
    current = _state(database, tmp_path / "campaigns", 0)
    wheel = current.registry.get(CAMPAIGN)
    eve = START - timedelta(days=1)
    late = datetime(eve.year, eve.month, eve.day, 23, 30, tzinfo=UTC)
    early = datetime(eve.year, eve.month, eve.day, 22, 30, tzinfo=UTC)
    for customer, at in (("inside", late), ("outside", early)):
        current.service.play(wheel, customer)
        order = _order(f"o-{customer}", customer, eve, Decimal("10"))
        order["occurred_at"] = at.isoformat()
        current.service.track_events(order, current.registry.index())
    sums = current.service.report(wheel).sums["treatment"]
    assert (sums.customers, sums.during, sums.before) == (2, 1, 1)
    assert sums.revenue == Decimal("10")
    current.engine.dispose()


CHALLENGE = """\
id: spring-challenge
game: challenge
title: Spring challenge
timezone: Europe/Madrid
starts: 2026-11-10T00:00:00
ends: 2026-12-31T00:00:00
steps:
  - {id: orders, label: Two orders, event: order.paid, count: 2}
reward: {label: Points, points: 10}
"""


def test_a_challenge_without_holdout_reports_the_customers_its_progress_holds(
    database: str, tmp_path: Path
) -> None:
    folder = tmp_path / "campaigns"
    current = _state(database, folder, 0)
    (folder / "spring-challenge.yaml").write_text(CHALLENGE, encoding="utf-8")
    current.registry.reload()
    window = START + timedelta(days=2)
    events = [
        _order("a-1", "ana", window, Decimal("20")),
        _order("a-2", "ana", window + timedelta(days=1), Decimal("30")),
        _order("l-1", "luis", window, Decimal("15")),
        _order("x-0", "ana", START - timedelta(days=3), Decimal("9")),  # before: not progress
    ]
    current.service.track_events({"events": events}, current.registry.index())
    made = current.service.report(current.registry.find("spring-challenge"))
    sums = made.sums["treatment"]
    assert (sums.customers, sums.during, sums.before, sums.orders) == (2, 2, 1, 3)
    assert sums.revenue == Decimal("65") and sums.awards == {"reward": 1}  # ana completed
    assert made.retention is None and set(made.groups) == {"treatment"}
    current.engine.dispose()


def test_a_coupon_given_by_a_play_and_used_in_an_order_counts_as_redeemed(
    database: str, tmp_path: Path
) -> None:
    current = _state(database, tmp_path / "campaigns", 0)
    wheel = current.registry.get(CAMPAIGN)
    codes = [
        code for n in range(20) if (code := current.service.play(wheel, f"p{n}").coupon) is not None
    ]
    assert codes, "20 plays at even odds gave no coupon"
    order = _order("with-code", "p0", START + timedelta(days=4), Decimal("40"))
    order["order"]["coupons"] = [codes[0], "NOT-OURS"]
    current.service.track_events(order, current.registry.index())
    sums = current.service.report(wheel).sums["treatment"]
    assert (sums.coupons_issued, sums.coupons_redeemed) == (len(codes), 1)
    assert sums.awards["ten"] == len(codes)
    current.engine.dispose()
