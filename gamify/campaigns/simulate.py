"""A seeded rehearsal of a campaign: the same engine and rules as the server, no database.

Everything derives from the campaign file, the play count and the seed, so the same inputs
give the same awards and a byte-identical bundle: a marketer can share a rehearsal and anyone
can reproduce it.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from gamify.audit.bundle import bundle_line, epoch_record, play_record, write_bundle
from gamify.core import fairness
from gamify.core.campaign import Campaign
from gamify.core.chain import ZERO_HASH, chain_row, pseudonym
from gamify.core.periods import local_date, period_key
from gamify.core.rules import Ledger, shortage

MAX_TRIES_PER_PLAY = 100


@dataclass
class Simulation:
    """Outcome of :func:`simulate`: what a campaign would have given."""

    campaign: Campaign
    requested: int
    customers: int
    server_seed: str
    plays: int = 0
    refused: int = 0
    skipped: int = 0
    drawn: Counter[str] = field(default_factory=Counter)
    awarded: Counter[str] = field(default_factory=Counter)
    ran_out: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    capped_days: set[str] = field(default_factory=set)
    total_cap_at: tuple[int, datetime] | None = None
    cost: Decimal = Decimal(0)

    @property
    def expected(self) -> dict[str, float]:
        total = self.campaign.rules.total_weight
        return {p.id: self.plays * p.weight / total for p in self.campaign.prizes}


def derive_server_seed(campaign_id: str, seed: str) -> str:
    return hashlib.sha256(f"gamify-simulate:{campaign_id}:{seed}".encode()).hexdigest()


def play_times(campaign: Campaign, count: int) -> Iterator[datetime]:
    """``count`` instants spread evenly over the schedule, each in the middle of its slice."""
    span = (campaign.ends - campaign.starts) // timedelta(microseconds=1)
    for i in range(count):
        yield campaign.starts + timedelta(microseconds=span * (2 * i + 1) // (2 * count))


def simulate(
    campaign: Campaign,
    plays: int,
    seed: str,
    customers: int | None = None,
    on_row: Callable[[dict[str, Any]], object] | None = None,
) -> Simulation:
    """Play ``plays`` times; each play by a seeded customer who still has plays left.

    A customer over a per-customer limit is refused and another is picked, up to
    :data:`MAX_TRIES_PER_PLAY` times; after that the time slot passes with no play.
    """
    pool = customers or max(1, plays)
    result = Simulation(campaign, plays, pool, derive_server_seed(campaign.id, seed))
    rng = random.Random(f"gamify-simulate:{campaign.id}:{seed}")
    rules = campaign.rules
    key = fairness.seed_bytes(result.server_seed)
    player_key = hashlib.sha256(f"gamify-simulate-players:{seed}".encode()).digest()
    counts: Counter[tuple[int, int, str]] = Counter()
    ledger = Ledger()
    spent_by_day: dict[str, Decimal] = {}
    prev_hash = ZERO_HASH
    nonces: dict[str, int] = {}
    for at in play_times(campaign, plays):
        customer = _pick_customer(campaign, rng, pool, counts, at, result)
        if customer is None:
            result.skipped += 1
            continue
        client_seed = f"sim-{customer}"
        seq = result.plays
        player = pseudonym(player_key, campaign.id, str(customer))
        nonce = nonces.get(player, 0)  # v2: each player's plays in the epoch (CONTRACT §12)
        nonces[player] = nonce + 1
        index = fairness.draw(key, campaign.id, client_seed, nonce, rules.running, player)
        drawn = rules.prizes[index]
        day = local_date(at, campaign.timezone).isoformat()
        ledger.spent_today = spent_by_day.get(day, Decimal(0))
        why = shortage(rules, drawn, ledger)
        awarded = drawn if why is None else rules.prize(rules.fallback)
        if why == "stock":
            result.ran_out.setdefault(drawn.id, (seq, at))
        elif why == "day-budget":
            result.capped_days.add(day)
        elif why == "total-budget" and result.total_cap_at is None:
            result.total_cap_at = (seq, at)
        ledger.record(awarded)
        spent_by_day[day] = ledger.spent_today
        result.drawn[drawn.id] += 1
        result.awarded[awarded.id] += 1
        result.cost += awarded.value or 0
        result.plays += 1
        row = chain_row(
            prev_hash=prev_hash,
            seq=seq,
            campaign=campaign.id,
            epoch=0,
            nonce=nonce,
            client_seed=client_seed,
            player=player,
            drawn=drawn.id,
            awarded=awarded.id,
            at=at,
            config_hash=rules.config_hash,
        )
        prev_hash = row["hash"]
        if on_row is not None:
            on_row(row)
    return result


def _pick_customer(
    campaign: Campaign,
    rng: random.Random,
    pool: int,
    counts: Counter[tuple[int, int, str]],
    at: datetime,
    result: Simulation,
) -> int | None:
    for _ in range(MAX_TRIES_PER_PLAY):
        customer = rng.randrange(pool)
        keys = [
            (customer, i, period_key(at, campaign.timezone, limit.per))
            for i, limit in enumerate(campaign.limits)
        ]
        if all(counts[k] < lim.plays for k, lim in zip(keys, campaign.limits, strict=True)):
            counts.update(keys)
            return customer
        result.refused += 1
    return None


def export_simulation(
    campaign: Campaign, plays: int, seed: str, out_path: Path, customers: int | None = None
) -> Simulation:
    """Run the simulation and stream it to ``out_path`` as an audit bundle, seed revealed."""
    server_seed = derive_server_seed(campaign.id, seed)
    epoch = epoch_record(campaign.id, 0, fairness.commitment(server_seed), server_seed)
    with out_path.open("w", encoding="utf-8", newline="\n") as out:
        write_bundle(out, [campaign.rules], [epoch], [])
        return simulate(
            campaign,
            plays,
            seed,
            customers,
            on_row=lambda row: out.write(bundle_line(play_record(row))),
        )
