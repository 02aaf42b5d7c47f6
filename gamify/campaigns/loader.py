"""Campaign YAML files (CONTRACT §3) into :class:`Campaign` objects, or every mistake at once.

A marketer fixing a file wants the whole list in one go, each mistake as
``FILE:LINE:COL: field.path: message (got X)``. So checks record issues and carry on instead of
stopping at the first, and no input may escape as a Python exception: every file ends as a
Campaign or a :class:`CampaignError`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import cast

from gamify.campaigns.check_prizes import PrizeChecks
from gamify.campaigns.check_schedule import ScheduleChecks, iana_timezones
from gamify.campaigns.checks import (
    BUDGET_KEYS,
    CAMPAIGN_KEYS,
    CAMPAIGN_REQUIRED,
    LIMIT_KEYS,
    MAX_TEXT,
    PRIZE_KEYS,
    located_issue,
    shown,
)
from gamify.campaigns.yaml_nodes import Located, parse_yaml
from gamify.core.campaign import Campaign, Game
from gamify.core.errors import CampaignError, ConfigIssue
from gamify.core.rules import GAMES, Budget

__all__ = [
    "BUDGET_KEYS",
    "CAMPAIGN_KEYS",
    "CAMPAIGN_REQUIRED",
    "LIMIT_KEYS",
    "MAX_TEXT",
    "PRIZE_KEYS",
    "iana_timezones",
    "load_campaign",
    "load_campaigns",
    "parse_campaign",
]


def load_campaign(path: Path) -> Campaign:
    """The campaign in the file at ``path``; CampaignError lists every mistake in it."""
    campaign, _, issues = _load(path)
    if campaign is None:
        raise CampaignError(issues)
    return campaign


def load_campaigns(path: Path) -> tuple[Campaign, ...]:
    """One file, or every ``*.yaml``/``*.yml`` of a folder (by name, not recursive).

    All files are checked before anything is raised, so one bad file does not hide another's
    mistakes; an id used by two files is a mistake of the second.
    """
    files = [path]
    if path.is_dir():
        try:
            files = sorted(
                (p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()),
                key=lambda p: p.name,
            )
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            issue = ConfigIssue(str(path), 1, 1, "", f"cannot list the folder: {reason}")
            raise CampaignError([issue]) from exc
        files = [p for p in files if not p.name.startswith(".")]  # editor lock files
    campaigns: list[Campaign] = []
    issues: list[ConfigIssue] = []
    seen: dict[str, Path] = {}
    for file in files:
        campaign, id_node, found = _load(file)
        issues.extend(found)
        if campaign is None or id_node is None:
            continue
        if campaign.id in seen:
            message = f"campaign id already used by {seen[campaign.id]}"
            issues.append(located_issue(str(file), id_node, message, repr(campaign.id)))
            continue
        seen[campaign.id] = file
        campaigns.append(campaign)
    if issues:
        raise CampaignError(issues)
    return tuple(campaigns)


def parse_campaign(
    data: bytes | str, *, file: str = "<string>", folder: Path | None = None
) -> Campaign:
    """A campaign from YAML in memory (an edit not saved yet); coupon pools are under ``folder``."""
    campaign, _, issues = _parse(data, file, folder or Path.cwd())
    if campaign is None:
        raise CampaignError(issues)
    return campaign


def _load(path: Path) -> tuple[Campaign | None, Located | None, list[ConfigIssue]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return None, None, [ConfigIssue(str(path), 1, 1, "", f"cannot read the file: {reason}")]
    campaign, id_node, issues = _parse(data, str(path), path.parent.absolute())
    if campaign is not None:
        campaign = replace(campaign, source=path)
    return campaign, id_node, issues


def _parse(
    data: bytes | str, file: str, folder: Path
) -> tuple[Campaign | None, Located | None, list[ConfigIssue]]:
    root, issues = parse_yaml(data, file)
    if root is None:
        return None, None, issues
    check = CampaignChecker(file, folder)
    campaign = check.campaign(root)
    issues = sorted([*issues, *check.issues], key=lambda i: (i.line, i.column))
    if campaign is None and not issues:  # cannot happen; never let a Campaign-less run pass
        issues = [ConfigIssue(file, 1, 1, "", "the campaign could not be read")]
    id_node = root.entries.get("id")
    return (None if issues else campaign), id_node, issues


class CampaignChecker(ScheduleChecks, PrizeChecks):
    """Reads one campaign document, section by section, recording every mistake."""

    def campaign(self, root: Located) -> Campaign | None:
        fields = self.mapping(root, CAMPAIGN_KEYS, CAMPAIGN_REQUIRED)
        if fields is None:
            return None
        f = fields.get
        campaign_id = self.slug(n) if (n := f("id")) else None
        game = self.choice(n, GAMES) if (n := f("game")) else None
        title = self.text(n) if (n := f("title")) else None
        description = self.text(n) if (n := f("description")) else None
        timezone = self.timezone(n) if (n := f("timezone")) else None
        starts = self.moment(n, timezone) if (n := f("starts")) else None
        ends = self.moment(n, timezone) if (n := f("ends")) else None
        if starts and ends and ends <= starts and (n := f("ends")):
            self.report(n, f"must be after starts ({fields['starts'].text})", shown(n))
        limits = self.limits(n) if (n := f("limits")) else ()
        budget = self.budget(n) if (n := f("budget")) else Budget()
        prizes = self.prizes(n) if (n := f("prizes")) else None
        fallback = self.fallback(n) if (n := f("fallback")) else None
        if self.issues or not (campaign_id and game and title and timezone and starts and ends):
            return None
        if prizes is None or fallback is None or limits is None or budget is None:
            return None
        return Campaign(
            id=campaign_id,
            game=cast(Game, game),
            title=title,
            timezone=timezone,
            starts=starts,
            ends=ends,
            prizes=prizes,
            fallback=fallback,
            limits=limits,
            budget=budget,
            description=description,
        )
