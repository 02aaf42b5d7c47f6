"""The use cases together, as the web and command-line adapters call them."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime

from gamify.services.bundles import BundleCases
from gamify.services.campaigns import CampaignCases
from gamify.services.events import EventCases
from gamify.services.plays import PlayCases
from gamify.services.ports import CampaignLog, EventLog, PlayStore


def utcnow() -> datetime:
    return datetime.now(UTC)


class Service(CampaignCases, PlayCases, BundleCases, EventCases):
    """A store's gamify: its campaigns' lifecycle, plays, audit bundles and events, on the
    storage the ports give. ``secret`` keys the pseudonyms that stand for customers in the log."""

    def __init__(
        self,
        plays: PlayStore,
        log: CampaignLog,
        events: EventLog,
        secret: str | bytes,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.plays = plays
        self.log = log
        self.events = events
        self.clock = clock
        raw = secret.encode() if isinstance(secret, str) else secret
        self.player_key = hmac.digest(raw, b"gamify.pseudonym", "sha256")
