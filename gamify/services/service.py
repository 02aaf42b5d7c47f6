"""The use cases together, as the web and command-line adapters call them."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime

from gamify.core.challenge import AnyCampaign, Challenge
from gamify.services.admin import AdminCases
from gamify.services.audience import AudienceCases
from gamify.services.bundles import BundleCases
from gamify.services.campaigns import CampaignCases
from gamify.services.challenges import ChallengeCases
from gamify.services.disclosure import DisclosureCases
from gamify.services.guests import GuestCases
from gamify.services.log_proofs import ProofCases
from gamify.services.loyalty import LoyaltyCases
from gamify.services.plays import PlayCases
from gamify.services.ports import (
    ActivityStore,
    AudienceStore,
    CampaignLog,
    GuestStore,
    LoyaltyStore,
    PlayStore,
    ProgressStore,
    ReportStore,
    Signer,
)
from gamify.services.report import ReportCases


def utcnow() -> datetime:
    return datetime.now(UTC)


class Service(
    CampaignCases,
    PlayCases,
    BundleCases,
    ProofCases,
    AudienceCases,
    ChallengeCases,
    LoyaltyCases,
    AdminCases,
    ReportCases,
    DisclosureCases,
    GuestCases,
):
    """A store's gamify: its campaigns' lifecycle, plays, audit bundles, events and challenges,
    on the storage the ports give. ``secret`` keys the pseudonyms that stand for customers in
    the log."""

    def __init__(
        self,
        plays: PlayStore,
        log: CampaignLog,
        progress: ProgressStore,
        audience: AudienceStore,
        reports: ReportStore,
        activity: ActivityStore,
        loyalty: LoyaltyStore,
        guests: GuestStore,
        secret: str | bytes,
        clock: Callable[[], datetime] = utcnow,
        signer: Signer | None = None,
    ) -> None:
        self.plays = plays
        self.log = log
        self.progress = progress
        self.audience = audience
        self.reports = reports
        self.activity = activity
        self.loyalty = loyalty
        self.guests = guests
        self.clock = clock
        self.signer = signer  # signs the log's checkpoints (CONTRACT §12); None: none made
        self._checked_at = {}
        raw = secret.encode() if isinstance(secret, str) else secret
        self.player_key = hmac.digest(raw, b"gamify.pseudonym", "sha256")
        self.holdout_key = raw  # CONTRACT §11 keys the groups with the secret itself

    def load(self, campaign: AnyCampaign) -> None:
        """Set up what a campaign file loaded (or changed) needs in the database; a
        :class:`CampaignError` keeps the last good version running."""
        self.check_holdout(campaign)
        if isinstance(campaign, Challenge):
            self.sync_challenge(campaign)
        else:
            self.sync(campaign)
