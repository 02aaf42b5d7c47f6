"""A made-up past for the demo store, so that a newcomer opens the wheel's report filled.

A new demo database holds no orders and no plays, and a report on it could only say so. When
:func:`gamify.demo.create_demo_app` starts on a new database, :func:`generate_history` makes up
the past of the wheel campaign, which the demo starts four weeks ago (:mod:`gamify.demo.dates`).
The campaigns are set up on the wheel's first day (its epoch 0 committed then), and then:

- :data:`CUSTOMERS` customers, ``demo-c0001`` to ``demo-c1000``, synthetic and named so (as
  many as it takes for the 10 % holdout to hold enough customers for the report to judge);
- their orders, baskets of the shop's own products in euros (a few refunded, in full or in
  part), in the campaign's days so far and as many days before it: ``order.paid`` and
  ``order.refunded`` events, sent 100 at a time as a store would (to the use case that
  ``gamify.track_many`` and ``POST /api/events`` call: the app's gamify is not started yet);
- their visits during the campaign. The wheel is shown to every visitor, which gives them their
  group (CONTRACT §11), and on some of their visits the customers of the treatment group spin
  it; those of the holdout are shown it (gamify answers them 403) and never play. Shows and
  plays go through gamify's own code on a clock set to each visit, in time order, so plays are
  chained, drawn and verifiable like any other. The epoch rotates every week, so the fairness
  page shows revealed seeds. Some coupons won come back in a later order.

The injected effect: of the customers who ordered in the period before, 50 % of the treatment
order again during the campaign against 42 % of the holdout (of the others, 18 % against 15 %).
The k-th customer of each group draws the same random numbers, as the generated store of
``tests/storage/test_report.py`` does: the groups differ by that effect, not by the luck of who
fell in the holdout, so the report shows the uplift whatever the demo's secret.

Deterministic: a seeded :class:`random.Random`, so for one secret and one day the same
customers, orders, visits and client seeds (the prizes come from the server seeds, secret and
random as always). Made once: a database gamify has opened before (events, plays, a history
made earlier) is left as it is. The history covers whole days up to yesterday and keeps its
dates: a demo started again weeks later shows less of it (delete the instance folder, ``make
clean``, for a new one). About a second on SQLite.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect

from gamify.campaigns.loader import load_campaign
from gamify.core.campaign import Campaign
from gamify.core.errors import CampaignError, InHoldout, LimitReached
from gamify.core.holdout import Group, holdout_group
from gamify.core.periods import local_date, local_midnight
from gamify.services.service import Service
from gamify.web.state import build_state

from .shop import CURRENCY, PRODUCTS, WHEEL, Product

# One of the seeds tried whose holdout sample (the draws of the first ranks, see _plan) comes
# out close to the injected effect: with some others, a hundred customers' luck hides it or
# doubles it, which is true of real stores but not what a first look at the report is for.
SEED = "demo-history-14"
CUSTOMERS = 1000
CUSTOMER_ID = "demo-c{:04d}"
BATCH = 100  # events per batch, the most one may hold
ORDERED_BEFORE = 0.65  # customers with orders in the period before
ORDERS_BEFORE = (0.7, 0.22, 0.08)  # … 1, 2 or 3 of them
COMES_BACK: dict[Group, float] = {"treatment": 0.50, "holdout": 0.42}  # the injected effect
FIRST_ORDER: dict[Group, float] = {"treatment": 0.18, "holdout": 0.15}  # no order before
ORDERS_DURING = (0.7, 0.2, 0.1)  # orders in the window of a customer who orders: 1, 2 or 3
BROWSES = 0.7  # a customer with no order in the window visits all the same
SPINS = 0.6  # a visit of a treatment customer spins the wheel
USES_COUPON = 0.5  # an order uses a coupon its customer won in the week before
COUPON_DAYS = 7  # the wheel's coupons are valid for 7 days
REFUNDED, PARTLY_REFUNDED = 0.04, 0.03


@dataclass(frozen=True)
class History:
    """What :func:`generate_history` made."""

    customers: int  # shown the campaign (assigned a group)
    plays: int
    events: int


@dataclass
class _Order:
    id: str
    at: datetime
    lines: list[tuple[Product, int]]
    coupon_chance: float  # against USES_COUPON, once the coupons won are known
    refund: tuple[datetime, Decimal] | None

    @property
    def total(self) -> Decimal:
        return sum((product.price * quantity for product, quantity in self.lines), Decimal(0))


@dataclass
class _Customer:
    id: str
    group: Group
    orders: list[_Order] = field(default_factory=list)
    visits: list[tuple[datetime, str | None]] = field(default_factory=list)  # client seed: spins


class _Clock:
    """The past clock the history's service runs on."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def generate_history(
    database_url: str,
    campaigns: Path,
    secret: str,
    campaign_id: str = WHEEL,
    now: datetime | None = None,
) -> History | None:
    """Fill a new demo database with the past of the game ``campaign_id`` of the
    ``campaigns`` folder. Call it before ``gamify.init_app`` opens the database, which would
    set the campaigns up today: here they are set up on the game's first day.

    None, with the database as it was, when there is nothing to fill: a database gamify has
    opened before (its history is its own), no such game (or one without a holdout, whose
    report could not compare), or one that has not run a whole day yet.
    """
    now = now or datetime.now(UTC)
    campaign = _campaign(campaigns, campaign_id)
    if campaign is None or not _fillable(campaign, now) or _opened_before(database_url):
        return None
    clock = _Clock(campaign.starts)  # every campaign set up (epoch 0 committed) on its first day
    current = build_state(
        database_url=database_url, campaigns=campaigns, secret=secret, clock=clock
    )
    try:
        service, registry = current.service, current.registry
        customers = _plan(service.holdout_key, campaign, local_date(now, campaign.timezone))
        coupons, plays = _visits(service, campaign, customers, clock)
        clock.now = now  # the store sends its orders now, as gamify.track_many does
        events = sorted(_events(customers, coupons), key=lambda e: (e["occurred_at"], e["id"]))
        for start in range(0, len(events), BATCH):
            batch = {"events": events[start : start + BATCH]}
            service.track_events(batch, registry.index(), registry.with_holdout())
        return History(sum(1 for c in customers if c.visits), plays, len(events))
    finally:
        current.engine.dispose()


def _visits(
    service: Service, campaign: Campaign, customers: list[_Customer], clock: _Clock
) -> tuple[dict[str, list[tuple[datetime, str]]], int]:
    """Every visit in time order, on a clock set to it: the game shown, and played by those who
    spin; the epoch rotated each week. The coupons won (customer → [(when, code)]), and the
    number of plays."""
    coupons: dict[str, list[tuple[datetime, str]]] = {}
    plays = 0
    rotation = campaign.starts + campaign.rotate_every  # a week in the example campaign
    for at, customer, seed in sorted((at, c.id, seed) for c in customers for at, seed in c.visits):
        while rotation <= at:
            clock.now = rotation
            service.rotate(campaign.id)
            rotation += campaign.rotate_every
        clock.now = at
        try:
            service.show(campaign, customer)  # the widget on their page: their group recorded
        except InHoldout:
            continue  # the widget hides itself, and they never play
        if seed is None:
            continue
        try:
            played = service.play(campaign, customer, client_seed=seed)
        except LimitReached:  # a campaigns folder of one's own may limit more than one a day
            continue
        plays += 1
        if played.coupon is not None:
            coupons.setdefault(customer, []).append((at, played.coupon))
    return coupons, plays


def _campaign(folder: Path, campaign_id: str) -> Campaign | None:
    """The game ``campaign_id`` as its file in ``folder`` says, if one does."""
    for path in sorted(folder.glob("*.y*ml")):
        try:
            found = load_campaign(path)
        except CampaignError:
            continue  # the registry reports it
        if found.id == campaign_id and isinstance(found, Campaign):
            return found
    return None


def _fillable(campaign: Campaign, now: datetime) -> bool:
    """A report to fill: a holdout to compare with, and a whole day run."""
    today = local_date(now, campaign.timezone)
    return campaign.holdout > 0 and today > local_date(campaign.starts, campaign.timezone)


def _opened_before(database_url: str) -> bool:
    """Whether gamify has made its tables in the database (which may hold events, plays, a
    history made before)."""
    engine = create_engine(database_url)
    try:
        return any(name.startswith("gamify_") for name in inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _plan(key: bytes, campaign: Campaign, today: date) -> list[_Customer]:
    """The customers, their orders and their visits, from :data:`SEED` alone."""
    zone = campaign.timezone
    first = local_date(campaign.starts, zone)
    days = (today - first).days + 1  # the report's window so far (today too) and its period before
    before = [first - timedelta(days=n) for n in range(days, 0, -1)]
    during = [first + timedelta(days=n) for n in range(days - 1)]  # whole days, to yesterday
    end = local_midnight(today, zone)
    ranks: Counter[Group] = Counter()
    customers = []
    for n in range(1, CUSTOMERS + 1):
        customer = _Customer(CUSTOMER_ID.format(n), "treatment")
        customer.group = holdout_group(key, campaign.id, customer.id, campaign.holdout)
        ranks[customer.group] += 1
        rng = random.Random(f"{SEED}:{ranks[customer.group]}")  # the k-th of each group alike
        ordered_before = rng.random() < ORDERED_BEFORE
        chance = (COMES_BACK if ordered_before else FIRST_ORDER)[customer.group]
        comes = rng.random() < chance
        browses = rng.random() < BROWSES
        order_days = rng.sample(before, _count(rng, ORDERS_BEFORE)) if ordered_before else []
        for day in sorted(order_days):
            _add_order(rng, customer, _moment(rng, day, zone), end)
        # drawn whether used or not, so that the k-th customers of both groups stay alike
        ordering = set(rng.sample(during, min(_count(rng, ORDERS_DURING), len(during))))
        browsing = set(rng.sample(during, min(rng.randint(1, 3), len(during))))
        visit_days = (ordering if comes else set()) | (browsing if browses else set())
        for day in sorted(visit_days):
            at = _moment(rng, day, zone)
            spins = rng.random() < SPINS and customer.group == "treatment"
            seed = f"{rng.getrandbits(64):016x}"
            customer.visits.append((at, seed if spins else None))
            if comes and day in ordering:
                _add_order(rng, customer, at + timedelta(minutes=rng.randint(3, 40)), end)
        customers.append(customer)
    return customers


def _count(rng: random.Random, weights: tuple[float, ...]) -> int:
    """1, 2, … with these weights."""
    return rng.choices(range(1, len(weights) + 1), weights)[0]


def _moment(rng: random.Random, day: date, zone: str) -> datetime:
    """A moment of the shop's opening hours (9:00 to 22:00) on a local day."""
    return local_midnight(day, zone) + timedelta(seconds=rng.randrange(9 * 3600, 22 * 3600))


def _add_order(rng: random.Random, customer: _Customer, at: datetime, end: datetime) -> None:
    """A basket of one to three products; now and then refunded a few days later."""
    lines = [
        (product, 2 if product.price < 25 and rng.random() < 0.2 else 1)
        for product in rng.sample(PRODUCTS, _count(rng, (0.6, 0.3, 0.1)))
    ]
    order = _Order(f"{customer.id}-{len(customer.orders) + 1:02d}", at, lines, rng.random(), None)
    chance, refunded_at = rng.random(), at + timedelta(days=rng.randint(2, 6))
    if refunded_at < end and chance < REFUNDED:
        order.refund = (refunded_at, order.total)
    elif (
        refunded_at < end
        and chance < REFUNDED + PARTLY_REFUNDED
        and order.total > lines[0][0].price
    ):
        order.refund = (refunded_at, lines[0][0].price)  # one item sent back
    customer.orders.append(order)


def _events(
    customers: list[_Customer], coupons: dict[str, list[tuple[datetime, str]]]
) -> list[dict[str, Any]]:
    """The store's events of these customers; an order uses a coupon its customer won in the
    week before it, half of the time."""
    events = []
    for customer in customers:
        won = list(coupons.get(customer.id, ()))
        for order in customer.orders:
            usable = [
                (at, code) for at, code in won if at < order.at <= at + timedelta(days=COUPON_DAYS)
            ]
            used = usable[0] if usable and order.coupon_chance < USES_COUPON else None
            if used is not None:
                won.remove(used)
            events.append(_paid(customer.id, order, used[1] if used else None))
            if order.refund is not None:
                refunded_at, amount = order.refund
                events.append(
                    {
                        "id": f"refund-{order.id}",
                        "type": "order.refunded",
                        "customer": customer.id,
                        "occurred_at": refunded_at.isoformat(),
                        "order": {"id": order.id, "refund_total": f"{amount:.2f}"},
                    }
                )
    return events


def _paid(customer: str, order: _Order, coupon: str | None) -> dict[str, Any]:
    paid: dict[str, Any] = {
        "id": f"paid-{order.id}",
        "type": "order.paid",
        "customer": customer,
        "occurred_at": order.at.isoformat(),
        "order": {
            "id": order.id,
            "total": f"{order.total:.2f}",
            "currency": CURRENCY,
            "items": [
                {
                    "sku": product.id,
                    "category": product.category,
                    "quantity": quantity,
                    "price": f"{product.price:.2f}",
                }
                for product, quantity in order.lines
            ],
        },
    }
    if coupon is not None:
        paid["order"]["coupons"] = [coupon]
    return paid
