"""The play decision as a pure function: given what the campaign's state holds (read under its
lock), what the play is. No storage, no clock, no randomness but the fairness stream.

A play's counters are named by scope: ``p:<player>:<per>:<period>`` counts a customer's plays
in a limit's current period, ``prize:<id>`` every award of a prize, ``spend:<day>``
a local day's spend in hundredths (``*_cents``), ``n:<epoch>:<player>`` a player's plays in a
v2 epoch (their next nonce). The use case reads them, this module decides,
and the use case writes the bumps back in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from gamify.core import fairness, merkle
from gamify.core.campaign import Campaign, Prize
from gamify.core.canonical import canonical_json
from gamify.core.chain import chain_row
from gamify.core.errors import LimitReached
from gamify.core.periods import local_date, period_end, period_key
from gamify.core.rules import Ledger, Period, award


def cents(value: Decimal | None) -> int:
    return int((value or 0) * 100)


@dataclass(frozen=True)
class Allowance:
    """Plays a customer has left now (None: no limit) and when the next one frees up."""

    plays_left: int | None
    next_play_at: datetime | None


def limit_scopes(campaign: Campaign, player: str, now: datetime) -> list[str]:
    """The counters of the customer's limits in their current periods, in limit order."""
    return [
        f"p:{player}:{lim.per}:{period_key(now, campaign.timezone, lim.per)}"
        for lim in campaign.limits
    ]


def nonce_scope(epoch: int, player: str) -> str:
    """A player's plays in an epoch: in v2 (CONTRACT §12) their next play's nonce."""
    return f"n:{epoch}:{player}"


def bonus_scope(player: str) -> str:
    """Extra plays a challenge's reward gave the player, beyond the campaign's limits."""
    return f"bonus:{player}"


def bonus_used_scope(player: str) -> str:
    return f"bonus-used:{player}"


def bonus_left(counts: Mapping[str, int], player: str) -> int:
    return max(counts.get(bonus_scope(player), 0) - counts.get(bonus_used_scope(player), 0), 0)


def spend_scope(campaign: Campaign, now: datetime) -> str:
    return f"spend:{local_date(now, campaign.timezone).isoformat()}"


def play_scopes(campaign: Campaign, limits: Sequence[str], now: datetime) -> list[str]:
    """Every counter a play reads: its limits, the stock of each prize with stock, the day's
    spend."""
    return [
        *limits,
        *(f"prize:{p.id}" for p in campaign.prizes if p.stock is not None),
        spend_scope(campaign, now),
    ]


def check_limits(
    campaign: Campaign, scopes: Sequence[str], counts: Mapping[str, int], now: datetime
) -> None:
    """Raise :class:`LimitReached` (with when the next play frees up) if any limit is used up."""
    over = [
        lim
        for lim, scope in zip(campaign.limits, scopes, strict=True)
        if counts.get(scope, 0) >= lim.plays
    ]
    if not over:
        return
    resets = [(retry_at(campaign, lim.per, now), lim) for lim in over]
    never = [lim for end, lim in resets if end is None]
    if never:
        raise LimitReached(never[0].plays, never[0].per, None)
    end, worst = max(resets, key=lambda pair: pair[0] or now)
    raise LimitReached(worst.plays, worst.per, end)


def retry_at(campaign: Campaign, per: Period, now: datetime) -> datetime | None:
    """When a limit used up in the period holding ``now`` frees up: the period's end, unless
    the campaign ends first (None: not again in this campaign)."""
    end = period_end(now, campaign.timezone, per)
    return end if end is not None and end < campaign.ends else None


def allowance(
    campaign: Campaign,
    scopes: Sequence[str],
    now: datetime,
    counts: Mapping[str, int],
    bonus: int = 0,
) -> Allowance:
    """What is left in each limit's current period (``scopes``: its counters, in limit order),
    plus the ``bonus`` plays a challenge gave beyond them."""
    if not campaign.limits:
        return Allowance(None, None)
    left = min(
        lim.plays - counts.get(scope, 0) for lim, scope in zip(campaign.limits, scopes, strict=True)
    )
    left = max(left, 0) + bonus
    next_at = None
    if left <= 0:
        try:
            check_limits(campaign, scopes, counts, now)
        except LimitReached as exc:
            next_at = exc.retry_at
    return Allowance(max(left, 0), next_at)


def ledger(
    campaign: Campaign, counts: Mapping[str, int], now: datetime, spent_total_cents: int
) -> Ledger:
    return Ledger(
        awarded={p.id: counts.get(f"prize:{p.id}", 0) for p in campaign.prizes},
        spent_today=Decimal(counts.get(spend_scope(campaign, now), 0)) / 100,
        spent_total=Decimal(spent_total_cents) / 100,
    )


@dataclass(frozen=True)
class Head:
    """The campaign's chain and open epoch, as the play finds them under the lock."""

    next_seq: int
    head_hash: str
    epoch: int
    next_nonce: int
    server_seed: str
    spent_total_cents: int
    algorithm: str = fairness.V1
    player_nonce: int = 0  # v2: the player's plays in the epoch so far
    tree: bytes = b""  # the Merkle tree's frontier over the next_seq plays (merkle.Frontier)


@dataclass(frozen=True)
class Decision:
    """What one play is: its chain row, the prizes drawn and awarded, and what it adds up."""

    row: dict[str, Any]
    drawn: Prize
    awarded: Prize
    bumps: dict[str, int]
    next_nonce: int
    spent_total_cents: int
    ran_out: bool = False  # the prize the rules gave had no coupon left: the fallback instead
    tree: bytes = b""  # the frontier with this play's leaf appended
    nodes: tuple[tuple[int, int, bytes], ...] = ()  # the tree's nodes this play completes


def decide(
    campaign: Campaign,
    head: Head,
    counts: Mapping[str, int],
    limits: Sequence[str],
    player: str,
    client_seed: str,
    now: datetime,
    *,
    exhausted: frozenset[str] = frozenset(),
) -> Decision:
    """The play: draw from the open epoch's seed, substitute the fallback when the drawn prize
    is out of stock or over budget (or its coupons ran out: ``exhausted``), chain the row.

    The caller has checked the schedule and the limits, and that the seed is not revealed.
    """
    rules = campaign.rules_for(head.algorithm)
    v2 = head.algorithm == fairness.V2
    nonce = head.player_nonce if v2 else head.next_nonce
    key = fairness.seed_bytes(head.server_seed)
    index = fairness.draw(
        key, campaign.id, client_seed, nonce, rules.running, player if v2 else None
    )
    drawn = rules.prizes[index]
    awarded_rule = award(rules, drawn, ledger(campaign, counts, now, head.spent_total_cents))
    ran_out = awarded_rule.id in exhausted
    if ran_out:
        awarded_rule = rules.prizes[rules.index[campaign.fallback]]
    awarded = campaign.prize(awarded_rule.id)
    row = chain_row(
        prev_hash=head.head_hash,
        seq=head.next_seq,
        campaign=campaign.id,
        epoch=head.epoch,
        nonce=nonce,
        client_seed=client_seed,
        player=player,
        drawn=drawn.id,
        awarded=awarded.id,
        at=now,
        config_hash=rules.config_hash,
    )
    bumps = dict.fromkeys(limits, 1)
    bumps[f"prize:{awarded.id}"] = 1  # every award counts: the verifier counts all of them
    if v2:
        bumps[nonce_scope(head.epoch, player)] = 1
    if awarded.value:
        bumps[spend_scope(campaign, now)] = cents(awarded.value)
    frontier = merkle.Frontier.from_bytes(head.next_seq, head.tree)
    nodes = frontier.append(merkle.leaf_hash(canonical_json(row)))  # CONTRACT §12's leaf
    return Decision(
        row=row,
        drawn=campaign.prize(drawn.id),
        awarded=awarded,
        bumps=bumps,
        next_nonce=head.next_nonce + 1,
        spent_total_cents=head.spent_total_cents + cents(awarded.value),
        ran_out=ran_out,
        tree=frontier.to_bytes(),
        nodes=tuple(nodes),
    )
