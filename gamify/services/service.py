"""The use cases together, as the web and command-line adapters call them."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime

from gamify.core.challenge import AnyCampaign, Challenge
from gamify.services.bundles import BundleCases
from gamify.services.campaigns import CampaignCases
from gamify.services.challenges import ChallengeCases
from gamify.services.plays import PlayCases
from gamify.services.ports import CampaignLog, PlayStore, ProgressStore


def utcnow() -> datetime:
    return datetime.now(UTC)


class Service(CampaignCases, PlayCases, BundleCases, ChallengeCases):
    """A store's gamify: its campaigns' lifecycle, plays, audit bundles, events and challenges,
    on the storage the ports give. ``secret`` keys the pseudonyms that stand for customers in
    the log."""

    def __init__(
        self,
        plays: PlayStore,
        log: CampaignLog,
        progress: ProgressStore,
        secret: str | bytes,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.plays = plays
        self.log = log
        self.progress = progress
        self.clock = clock
        raw = secret.encode() if isinstance(secret, str) else secret
        self.player_key = hmac.digest(raw, b"gamify.pseudonym", "sha256")

    def load(self, campaign: AnyCampaign) -> None:
        """Set up what a campaign file loaded (or changed) needs in the database."""
        if isinstance(campaign, Challenge):
            self.sync_challenge(campaign)
        else:
            self.sync(campaign)
