"""The campaigns a running store serves, reloaded when their files change.

Each file is loaded on its own: a file with mistakes is refused and logged while the last good
version of its campaign keeps running, and the other files are not held back by it. Games
(wheel, scratch) and challenges share the folder and the ids, and are served apart: a challenge
is never played, and events only look at challenges, through their index by event type.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gamify.campaigns.loader import load_campaign
from gamify.core.campaign import Campaign
from gamify.core.challenge import AnyCampaign, Challenge
from gamify.core.errors import CampaignError, CampaignNotFound, ConfigIssue
from gamify.core.progress import ChallengeIndex

log = logging.getLogger("gamify")
Signature = tuple[tuple[str, int, int], ...]


@dataclass
class ReloadReport:
    loaded: list[str] = field(default_factory=list)
    refused: list[ConfigIssue] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class Registry:
    def __init__(
        self,
        folder: Path,
        on_load: Callable[[AnyCampaign], None],
        interval: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.folder = folder
        self.on_load = on_load
        self.interval = interval
        self.clock = clock
        self.campaigns: dict[str, AnyCampaign] = {}
        self._index = ChallengeIndex(())
        self._with_holdout: list[AnyCampaign] = []
        self._by_file: dict[Path, str] = {}
        self._signature: Signature = ()
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(
            p
            for p in self.folder.iterdir()
            if p.suffix in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file()
        )

    def signature(self) -> Signature:
        found = []
        for path in self.files():
            try:
                stat = path.stat()
            except OSError:
                continue
            found.append((path.name, stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def maybe_reload(self) -> ReloadReport | None:
        """Reload if a file changed; looks at the folder at most every ``interval`` seconds."""
        now = self.clock()
        if now - self._checked_at < self.interval:
            return None
        with self._lock:
            self._checked_at = now
            if self.signature() == self._signature:
                return None
            return self._reload()

    def reload(self) -> ReloadReport:
        with self._lock:
            return self._reload()

    def _reload(self) -> ReloadReport:
        report = ReloadReport()
        if not self.folder.is_dir():
            log.warning("gamify: campaign folder %s does not exist; no campaigns", self.folder)
        # Recorded only once every file is loaded: when the database fails under a file's load,
        # the next check loads them again instead of believing the folder is up to date.
        signature = self.signature()
        seen: dict[str, Path] = {}
        by_file: dict[Path, str] = {}
        for path in self.files():
            try:
                campaign = load_campaign(path)
                if campaign.id in seen:
                    raise CampaignError(
                        [
                            ConfigIssue(
                                str(path),
                                1,
                                1,
                                "id",
                                f"campaign id also used by {seen[campaign.id]}",
                                repr(campaign.id),
                            )
                        ]
                    )
                self.on_load(campaign)
            except CampaignError as exc:
                report.refused.extend(exc.issues)
                for issue in exc.issues:
                    log.error("gamify: refused %s, keeping the last good version: %s", path, issue)
                if path in self._by_file:
                    seen[self._by_file[path]] = path
                    by_file[path] = self._by_file[path]
                continue
            seen[campaign.id] = path
            by_file[path] = campaign.id
            if self.campaigns.get(campaign.id) != campaign:
                report.loaded.append(campaign.id)
                version = (
                    f"config {campaign.config_hash[:12]}"
                    if isinstance(campaign, Campaign)
                    else "challenge"
                )
                log.info("gamify: loaded %s (%s)", campaign.id, version)
            self.campaigns[campaign.id] = campaign
        for campaign_id in set(self.campaigns) - set(seen):
            del self.campaigns[campaign_id]
            report.removed.append(campaign_id)
            log.info("gamify: %s removed (its file is gone)", campaign_id)
        self._by_file = by_file
        self._signature = signature
        every = sorted(self.campaigns.values(), key=lambda c: c.id)
        self._index = ChallengeIndex(c for c in every if isinstance(c, Challenge))
        self._with_holdout = [c for c in every if c.holdout > 0]
        return report

    def find(self, campaign_id: str) -> AnyCampaign:
        """A game or a challenge."""
        self.maybe_reload()
        campaign = self.campaigns.get(campaign_id)
        if campaign is None:
            raise CampaignNotFound(campaign_id)
        return campaign

    def get(self, campaign_id: str) -> Campaign:
        """A game (wheel or scratch); a challenge's id is not one."""
        campaign = self.find(campaign_id)
        if not isinstance(campaign, Campaign):
            raise CampaignNotFound(campaign_id)
        return campaign

    def challenge(self, campaign_id: str) -> Challenge:
        campaign = self.find(campaign_id)
        if not isinstance(campaign, Challenge):
            raise CampaignNotFound(campaign_id)
        return campaign

    def all(self) -> list[Campaign]:
        """The games, by id."""
        self.maybe_reload()
        return sorted(
            (c for c in self.campaigns.values() if isinstance(c, Campaign)), key=lambda c: c.id
        )

    def challenges(self) -> list[Challenge]:
        self.maybe_reload()
        return list(self._index.challenges.values())

    def with_holdout(self) -> list[AnyCampaign]:
        """The campaigns and challenges with a holdout group, by id."""
        self.maybe_reload()
        return self._with_holdout

    def index(self) -> ChallengeIndex:
        """The challenges by the event types their steps take."""
        self.maybe_reload()
        return self._index
