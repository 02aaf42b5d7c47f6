"""The campaigns a running store serves, reloaded when their files change.

Each file is loaded on its own: a file with mistakes is refused and logged while the last good
version of its campaign keeps running, and the other files are not held back by it. Games
(wheel, scratch) and challenges share the folder and the ids, and are served apart: a challenge
is never played, and events only look at challenges, through their index by event type.

The store's loyalty programme (``loyalty.yaml``) shares the folder but is no campaign: it is
loaded on its own, with the same rule that a broken edit never replaces the running version,
and removing the file ends the programme.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gamify.campaigns.loader import load_campaign
from gamify.campaigns.loyalty_loader import load_loyalty
from gamify.core.campaign import Campaign
from gamify.core.challenge import AnyCampaign, Challenge
from gamify.core.errors import CampaignError, CampaignNotFound, ConfigIssue
from gamify.core.loyalty import LOYALTY_FILE, LOYALTY_ID, Loyalty
from gamify.core.progress import ChallengeIndex

log = logging.getLogger("gamify")
Signature = tuple[tuple[str, int, int], ...]


@dataclass
class ReloadReport:
    """Ids of what changed; the loyalty programme is named ``loyalty``, an id no campaign has."""

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
        on_loyalty: Callable[[Loyalty], None] | None = None,
    ) -> None:
        """``on_load`` and ``on_loyalty`` hear each file every time it loads, before it is
        served (so coupon pools are read again), and refuse it by raising
        :class:`CampaignError`: its issues are then reported as the file's."""
        self.folder = folder
        self.on_load = on_load
        self.on_loyalty = on_loyalty
        self.interval = interval
        self.clock = clock
        self.campaigns: dict[str, AnyCampaign] = {}
        self._index = ChallengeIndex(())
        self._with_holdout: list[AnyCampaign] = []
        self._by_file: dict[Path, str] = {}
        self._loyalty: Loyalty | None = None
        self._signature: Signature = ()
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def files(self) -> list[Path]:
        """The campaign files: every YAML file of the folder but hidden ones and loyalty.yaml."""
        return [p for p in self._yaml_files() if p.name != LOYALTY_FILE]

    def _yaml_files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(
            p
            for p in self.folder.iterdir()
            if p.suffix in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file()
        )

    def signature(self) -> Signature:
        """What the folder looks like, loyalty.yaml included: a change to it reloads too."""
        found = []
        for path in self._yaml_files():
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
        self._reload_loyalty(report)
        self._by_file = by_file
        self._signature = signature
        every = sorted(self.campaigns.values(), key=lambda c: c.id)
        self._index = ChallengeIndex(c for c in every if isinstance(c, Challenge))
        self._with_holdout = [c for c in every if c.holdout > 0]
        return report

    def _reload_loyalty(self, report: ReloadReport) -> None:
        path = self.folder / LOYALTY_FILE
        if not path.is_file():
            if self._loyalty is not None:
                self._loyalty = None
                report.removed.append(LOYALTY_ID)
                log.info("gamify: loyalty programme removed (%s is gone)", path)
            return
        try:
            loyalty = load_loyalty(path)
            if self.on_loyalty is not None:  # at every load, as on_load: pools are read again
                self.on_loyalty(loyalty)
        except CampaignError as exc:
            report.refused.extend(exc.issues)
            for issue in exc.issues:
                log.error("gamify: refused %s, keeping the last good version: %s", path, issue)
            return
        if loyalty != self._loyalty:
            report.loaded.append(LOYALTY_ID)
            log.info("gamify: loaded the loyalty programme from %s", path)
        self._loyalty = loyalty

    def loyalty(self) -> Loyalty | None:
        """The store's loyalty programme; None when the folder has no loyalty.yaml (or only
        one that has never loaded)."""
        self.maybe_reload()
        return self._loyalty

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
