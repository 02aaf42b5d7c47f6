"""A campaign's lifecycle: each config version recorded, epoch 0 committed before the first play,
pool codes loaded, epochs rotated, the seed revealed when the campaign ends."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from gamify.core import fairness
from gamify.core.campaign import Campaign
from gamify.core.canonical import canonical_json
from gamify.core.coupons import PoolPathError, read_pool
from gamify.core.errors import CampaignError, ConfigIssue, NotFound
from gamify.services.ports import (
    CampaignLog,
    ConfigRecord,
    EpochInfo,
    NewEpoch,
    Pool,
    PoolConflict,
    StoredCheckpoint,
)

Clock = Callable[[], datetime]


def new_epoch() -> NewEpoch:
    seed = fairness.new_server_seed()
    return NewEpoch(seed, fairness.commitment(seed))


class CampaignCases:
    log: CampaignLog
    clock: Clock

    def sync(self, campaign: Campaign) -> None:
        """Record this config version, create state and epoch 0 (seed committed before any play),
        import new pool codes; safe to run from every worker at once.

        Raises :class:`CampaignError` (the registry then keeps the last good version) when a
        pool cannot give each of its codes to its prize: a code the log already holds for
        another prize, or as a pattern code, would leave the pool short of the stock the config
        publishes, and the fallback given then could not be verified.
        """
        configs = [
            ConfigRecord(rules.config_hash, canonical_json(rules.config).decode())
            for rules in (campaign.rules_for(algorithm) for algorithm in fairness.ALGORITHMS)
        ]
        pools = read_pools(campaign)
        try:
            self.log.record(campaign.id, configs, new_epoch(), pools, self.clock())
        except PoolConflict as exc:
            held = (
                f"was already given by this campaign (a pattern code of `{exc.held_by}`)"
                if exc.pattern
                else f"is already a pool code of prize `{exc.held_by}` in this campaign"
            )
            message = (
                f"coupon pool code {exc.code!r} {held}: each code can be given only once, "
                "so take it out of the pool"
            )
            raise pool_error(campaign, exc.pool.index, message) from None
        self.reveal_if_ended(campaign)

    def reveal_if_ended(self, campaign: Campaign) -> None:
        """A campaign past its end reveals its open epoch's seed by itself."""
        now = self.clock()
        if now >= campaign.ends:
            self.log.reveal_open_epoch(campaign.id, now)

    def rotate_if_due(self, campaign: Campaign) -> None:
        """A read of the log (its fairness, its bundle) finds the open epoch as a play would:
        once it has been open for the campaign's ``rotate_every`` it closes, its seed revealed,
        and the next one opens (CONTRACT §12)."""
        now = self.clock()
        if not campaign.is_running(now):
            return
        last = self.log.epochs(campaign.id)[-1:]
        if last and last[0].revealed_at is None and campaign.epoch_due(last[0].opened_at, now):
            self.open_epoch_after(campaign.id, last[0].epoch)

    def rotate(self, campaign_id: str) -> EpochInfo:
        """Close the open epoch, reveal its seed, and open the next one; the log signs a
        checkpoint of its tree as the seed is revealed."""
        if not self.log.open_next_epoch(campaign_id, new_epoch(), self.clock()):
            raise NotFound(f"campaign {campaign_id!r} has no plays or epochs yet")
        self.checkpoint(campaign_id)
        return self.epochs(campaign_id)[-1]

    def open_epoch_after(self, campaign_id: str, epoch: int) -> None:
        """Open the epoch after ``epoch``, unless another worker did already."""
        if self.log.open_next_epoch(campaign_id, new_epoch(), self.clock(), after=epoch):
            self.checkpoint(campaign_id)

    if TYPE_CHECKING:  # ProofCases, beside this class in the Service

        def checkpoint(
            self, campaign_id: str, *, fresh: bool = True, covering: int | None = None
        ) -> StoredCheckpoint | None: ...

    def epochs(self, campaign_id: str) -> list[EpochInfo]:
        return self.log.epochs(campaign_id)


def read_pools(campaign: Campaign) -> list[Pool]:
    """The codes of each pool prize, read again from its file, which must still be inside the
    campaign's folder and still cover the prize's stock."""
    folder = campaign.source.parent if campaign.source is not None else None
    pools: list[Pool] = []
    for index, prize in enumerate(campaign.prizes):
        if prize.coupon is None or prize.coupon.pool is None:
            continue
        try:
            codes = read_pool(prize.coupon.pool, folder)
        except (OSError, UnicodeDecodeError, csv.Error, PoolPathError) as exc:
            raise pool_error(campaign, index, f"coupon pool cannot be read: {exc}") from None
        unique = list(dict.fromkeys(codes))
        if len(unique) < len(codes) or (prize.stock is not None and len(codes) < prize.stock):
            message = "coupon pool changed while it was loaded (duplicates, or fewer codes)"
            raise pool_error(campaign, index, f"{message}; run `gamify check`")
        pools.append(Pool(index, prize.id, unique))
    return pools


def pool_error(campaign: Campaign, index: int, message: str) -> CampaignError:
    file = str(campaign.source) if campaign.source is not None else campaign.id
    issue = ConfigIssue(file, 1, 1, f"prizes[{index}].coupon.pool", message)
    return CampaignError([issue])
