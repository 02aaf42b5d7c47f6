"""The play use case: read the campaign under its lock through the play store, let the core
decide (:func:`gamify.core.play.decide`), give a coupon, write it all back in the same
transaction; and the customer's side of the log (what is left to play, their receipts).

A play is one transaction that first takes the campaign lock (a transaction-level advisory lock
on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so seq, nonces, limits, stock, budgets and coupons
are read and written by one process at a time, whatever the number of workers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gamify.core import fairness
from gamify.core.campaign import Campaign, Prize
from gamify.core.chain import PLAY_COLUMNS, pseudonym
from gamify.core.challenge import AnyCampaign
from gamify.core.coupons import make_code
from gamify.core.errors import (
    CampaignInactive,
    InHoldout,
    InvalidRequest,
    LimitReached,
    NotFound,
)
from gamify.core.guests import GUEST_PREFIX, AddressCap, check_address
from gamify.core.holdout import Group
from gamify.core.play import (
    Allowance,
    Head,
    allowance,
    bonus_left,
    bonus_scope,
    bonus_used_scope,
    check_limits,
    decide,
    limit_scopes,
    play_scopes,
)
from gamify.services.ports import (
    Assignment,
    CampaignLog,
    GivenCoupon,
    Locked,
    PlayQuery,
    PlayStore,
    PlayTransaction,
    PlayWrite,
    start_over_once,
)

Clock = Callable[[], datetime]
log = logging.getLogger("gamify")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")


def check_idempotency_key(key: str) -> None:
    """Plays and redemptions take the same keys (and store them in 128 characters)."""
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidRequest("Idempotency-Key must be 1 to 128 visible ASCII characters")


@dataclass(frozen=True)
class PlayResult:
    row: dict[str, Any]
    commitment: str
    prize: Prize
    segment: int
    coupon: str | None
    allowance: Allowance
    replayed: bool = False


class PlayCases:
    plays: PlayStore
    log: CampaignLog
    clock: Clock
    player_key: bytes

    def open_epoch_after(self, campaign_id: str, epoch: int) -> None: ...  # CampaignCases

    if TYPE_CHECKING:  # AudienceCases and ProofCases, beside this class in the Service

        def group(self, campaign: AnyCampaign, customer: str) -> Group: ...

        def checkpoint_if_due(self, campaign_id: str) -> None: ...

    def player(self, campaign_id: str, customer_id: str) -> str:
        return pseudonym(self.player_key, campaign_id, customer_id)

    def allowance(self, campaign: Campaign, customer_id: str) -> Allowance:
        now = self.clock()
        player = self.player(campaign.id, customer_id)
        scopes = limit_scopes(campaign, player, now)
        extra = [bonus_scope(player), bonus_used_scope(player)]
        counts = self.log.counters(campaign.id, [*scopes, *extra])
        return allowance(campaign, scopes, now, counts, bonus_left(counts, player))

    def play(
        self,
        campaign: Campaign,
        customer_id: str,
        client_seed: str | None = None,
        idempotency_key: str | None = None,
        *,
        address: AddressCap | None = None,
    ) -> PlayResult:
        """One play of ``customer_id``; ``address``: a guest's ``per_ip`` cap, counted with the
        play's other limits under the campaign lock. A guest is in no holdout group: the
        report measures the store's customers, whose orders it can see."""
        if client_seed is None:
            client_seed = fairness.new_client_seed()
        elif not fairness.is_client_seed(client_seed):
            raise InvalidRequest("client_seed must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -")
        if idempotency_key is not None:
            check_idempotency_key(idempotency_key)
        player = self.player(campaign.id, customer_id)
        assignment = None
        if not customer_id.startswith(GUEST_PREFIX):
            group = self.group(campaign, customer_id)  # a holdout customer never plays
            if group == "holdout":
                raise InHoldout(campaign.id)
            assignment = Assignment(campaign.id, customer_id, player, group, self.clock())

        def attempt() -> PlayResult | int:
            with self.plays.transaction() as tx:
                return self._play_locked(
                    tx, campaign, player, client_seed, idempotency_key, assignment, address
                )

        while True:
            result = start_over_once(attempt, self.plays.reset)  # nothing was written
            if isinstance(result, PlayResult):
                if not result.replayed:
                    self.checkpoint_if_due(campaign.id)
                return result
            # The open epoch has been open for the campaign's rotate_every, or its seed is
            # public (the campaign ended, then its end moved; a play never draws from a
            # published seed): it closes, the next one opens and the play starts over.
            self.open_epoch_after(campaign.id, result)

    def _play_locked(
        self,
        tx: PlayTransaction,
        campaign: Campaign,
        player: str,
        client_seed: str,
        idempotency_key: str | None,
        assignment: Assignment | None = None,
        address: AddressCap | None = None,
    ) -> PlayResult | int:
        """The play, or the number of a revealed open epoch that must be closed first."""
        now = self.clock()
        limits = limit_scopes(campaign, player, now)
        candidates = {
            p.id: make_code(p.coupon.pattern)
            for p in campaign.prizes
            if p.coupon is not None and p.coupon.pattern is not None
        }
        found = tx.read(
            PlayQuery(
                campaign=campaign.id,
                scopes=[
                    *play_scopes(campaign, limits, now),
                    bonus_scope(player),
                    bonus_used_scope(player),
                    *([address.scope] if address else []),
                ],
                player=player,
                idempotency_key=idempotency_key,
                pool_prizes=[
                    p.id for p in campaign.prizes if p.coupon is not None and p.coupon.pool
                ],
                candidate_codes=list(candidates.values()),
            )
        )
        if found is None:
            raise NotFound(f"campaign {campaign.id!r} is not set up in the database yet")
        counts = found.counts
        if found.replay_seq is not None:  # this key already played: the same answer, nothing used
            stored, commitment = tx.replay(campaign.id, found.replay_seq)
            prize_id = stored["awarded"]
            if prize_id not in campaign.rules.index:
                prize_id = campaign.fallback
            return PlayResult(
                row={c: stored[c] for c in PLAY_COLUMNS},
                commitment=commitment,
                prize=campaign.prize(prize_id),
                segment=campaign.rules.index[prize_id],
                coupon=stored["coupon"],
                allowance=allowance(campaign, limits, now, counts, bonus_left(counts, player)),
                replayed=True,
            )
        if not campaign.is_running(now):
            raise CampaignInactive(campaign.id, campaign.starts, campaign.ends, now)
        if address is not None:  # no extra play lifts it: it guards the store, not a shopper
            check_address(campaign, address, counts, now)
        extra = bonus_left(counts, player)
        with_bonus = False
        try:
            check_limits(campaign, limits, counts, now)
        except LimitReached:
            if not extra:
                raise
            with_bonus = True  # an extra play a challenge gave, beyond the limits
        if found.revealed or campaign.epoch_due(found.opened_at, now):
            return found.epoch
        head = Head(
            next_seq=found.next_seq,
            head_hash=found.head_hash,
            epoch=found.epoch,
            next_nonce=found.next_nonce,
            server_seed=found.server_seed,
            spent_total_cents=found.spent_total_cents,
            algorithm=found.algorithm,
            player_nonce=found.player_nonce,
            tree=found.tree,
        )
        decision = decide(
            campaign,
            head,
            counts,
            limits,
            player,
            client_seed,
            now,
            exhausted=_empty_pools(campaign, found),
        )
        if decision.ran_out:
            log.error(
                "gamify: the coupon pool of %s/%s has no code left before its stock ran out "
                "(were codes deleted from gamify_coupon?); the fallback is given, and the audit "
                "bundle will show this play as a fallback the log does not imply",
                campaign.id,
                decision.drawn.id,
            )
        awarded = decision.awarded
        coupon = _coupon(tx, campaign, awarded, found, candidates)
        bumps = decision.bumps
        if with_bonus:
            bumps = {**bumps, bonus_used_scope(player): 1}
        if address is not None:
            bumps = {**bumps, address.scope: 1}
        tx.write(
            PlayWrite(
                row={**decision.row, "coupon": coupon.code if coupon else None},
                next_nonce=decision.next_nonce,
                spent_total_cents=decision.spent_total_cents,
                bumps=bumps,
                idempotency_key=idempotency_key,
                coupon=coupon,
                assignment=assignment,
                tree=decision.tree,
                nodes=decision.nodes,
            )
        )
        counts.update({k: counts.get(k, 0) + v for k, v in bumps.items()})
        return PlayResult(
            row=decision.row,
            commitment=found.commitment,
            prize=awarded,
            segment=campaign.rules.index[awarded.id],
            coupon=coupon.code if coupon else None,
            allowance=allowance(campaign, limits, now, counts, bonus_left(counts, player)),
        )

    def customer_plays(
        self, campaigns: Iterable[Campaign], customer_id: str
    ) -> list[dict[str, Any]]:
        return self.log.plays_of({self.player(c.id, customer_id): c.id for c in campaigns})


def _empty_pools(campaign: Campaign, found: Locked) -> frozenset[str]:
    """Pool prizes with no code left. A pool of N codes is its prize's stock (the config says at
    most N, and sync checks every code is the prize's), so the rules give the fallback first:
    a pool empties before its stock only when codes were taken out of the database by hand."""
    return frozenset(
        p.id
        for p in campaign.prizes
        if p.coupon is not None and p.coupon.pool is not None and p.id not in found.pool_codes
    )


def _coupon(
    tx: PlayTransaction,
    campaign: Campaign,
    prize: Prize,
    found: Locked,
    candidates: dict[str, str],
) -> GivenCoupon | None:
    """The pool's next unused code, or a pattern code no play of the campaign has had yet."""
    if prize.coupon is None:
        return None
    if prize.coupon.pool is not None:
        code = found.pool_codes[prize.id]  # an empty pool gave the fallback instead
        return GivenCoupon(code, prize.id, pooled=True)
    assert prize.coupon.pattern is not None
    if candidates[prize.id] not in found.taken_codes:
        return GivenCoupon(candidates[prize.id], prize.id, pooled=False)
    more = list(dict.fromkeys(make_code(prize.coupon.pattern) for _ in range(20)))
    taken = tx.taken_codes(campaign.id, more)
    for code in more:
        if code not in taken:
            return GivenCoupon(code, prize.id, pooled=False)
    raise InvalidRequest(f"the coupon pattern of {prize.id!r} has run out of unique codes")
