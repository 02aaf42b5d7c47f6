"""Campaign YAML files (CONTRACT §3) into :class:`Campaign` objects, or every mistake at once.

A marketer fixing a file wants the whole list in one go, each mistake as
``FILE:LINE:COL: field.path: message (got X)``. So checks record issues and carry on instead of
stopping at the first, and no input may escape as a Python exception: every file ends as a
Campaign or a :class:`CampaignError`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import cast

from gamify.campaigns.check_challenge import ChallengeChecker
from gamify.campaigns.check_prizes import PrizeChecks
from gamify.campaigns.check_schedule import ScheduleChecks, iana_timezones
from gamify.campaigns.checks import (
    BUDGET_KEYS,
    CAMPAIGN_KEYS,
    CAMPAIGN_REQUIRED,
    FAIRNESS_KEYS,
    GUESTS_KEYS,
    LIMIT_KEYS,
    MAX_TEXT,
    MIN_AGES,
    PRIZE_KEYS,
    located_issue,
    suggest,
)
from gamify.campaigns.yaml_nodes import Located, parse_yaml
from gamify.core.campaign import DEFAULT_MIN_AGE, DEFAULT_ROTATION, Campaign, Game, Guests
from gamify.core.challenge import AnyCampaign
from gamify.core.errors import CampaignError, ConfigIssue
from gamify.core.loyalty import LOYALTY_FILE, LOYALTY_ID
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
    "sibling_games",
    "unknown_game",
    "unknown_play_campaigns",
]


def load_campaign(path: Path) -> AnyCampaign:
    """The campaign (a game or a challenge) in the file at ``path``; CampaignError lists every
    mistake in it, including a reward's extra plays of a campaign its folder does not have."""
    campaign, root, issues = _load(path)
    if root is not None and _plays_campaign(root) is not None:  # the folder is read only then
        issues = _sorted(
            [*issues, *unknown_play_campaigns([(str(path), root)], sibling_games(path))]
        )
    if campaign is None or issues:
        raise CampaignError(issues)
    return campaign


def load_campaigns(path: Path) -> tuple[AnyCampaign, ...]:
    """One file, or every ``*.yaml``/``*.yml`` of a folder (by name, not recursive).

    All files are checked before anything is raised, so one bad file does not hide another's
    mistakes; an id used by two files is a mistake of the second.
    """
    files = _campaign_files(path) if path.is_dir() else [path]
    campaigns: list[AnyCampaign] = []
    challenges: list[tuple[str, Located]] = []
    issues: list[ConfigIssue] = []
    seen: dict[str, Path] = {}
    for file in files:
        campaign, root, found = _load(file)
        issues.extend(found)
        if root is not None and _is_challenge(root):
            challenges.append((str(file), root))
        id_node = root.entries.get("id") if root is not None else None
        if campaign is None or root is None or id_node is None:
            continue
        if campaign.id in seen:
            message = f"campaign id already used by {seen[campaign.id]}"
            issues.append(located_issue(str(file), id_node, message, repr(campaign.id)))
            continue
        seen[campaign.id] = file
        campaigns.append(campaign)
    games = {c.id for c in campaigns if isinstance(c, Campaign)}
    if not path.is_dir():
        games |= sibling_games(path)
    issues.extend(unknown_play_campaigns(challenges, games))
    if issues:
        raise CampaignError(_sorted(issues))
    return tuple(campaigns)


def parse_campaign(
    data: bytes | str, *, file: str = "<string>", folder: Path | None = None
) -> AnyCampaign:
    """A campaign from YAML in memory (an edit not saved yet); coupon pools are under ``folder``."""
    campaign, _, issues = _parse(data, file, folder or Path.cwd())
    if campaign is None:
        raise CampaignError(issues)
    return campaign


def unknown_play_campaigns(
    challenges: Sequence[tuple[str, Located]], games: Collection[str]
) -> list[ConfigIssue]:
    """A challenge reward's extra plays must name a wheel or scratch campaign of the same
    folder; ``challenges`` are (file, document) pairs, read even when they have other mistakes."""
    issues = []
    for file, root in challenges:
        node = _plays_campaign(root)
        issue = unknown_game(file, node, games) if node is not None else None
        if issue is not None:
            issues.append(issue)
    return issues


def unknown_game(file: str, node: Located, games: Collection[str]) -> ConfigIssue | None:
    """The mistake of extra ``plays`` of a ``campaign`` the folder has no game of, if it is one;
    a value that is not text is the file's own checks' to report."""
    if node.kind != "str" or node.scalar in games:
        return None
    hint = suggest(str(node.scalar), games) or (
        f"; the folder has {', '.join(sorted(games))}" if games else "; the folder has none"
    )
    message = f"no wheel or scratch campaign has this id{hint}"
    return located_issue(file, node, message, repr(node.scalar))


def _campaign_files(folder: Path) -> list[Path]:
    """The folder's campaign files: its YAML files but hidden ones (editor lock files) and the
    loyalty programme's, which is no campaign (:mod:`~gamify.campaigns.loyalty_loader`)."""
    try:
        files = sorted(
            (p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()),
            key=lambda p: p.name,
        )
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        issue = ConfigIssue(str(folder), 1, 1, "", f"cannot list the folder: {reason}")
        raise CampaignError([issue]) from exc
    return [p for p in files if not p.name.startswith(".") and p.name != LOYALTY_FILE]


def sibling_games(path: Path) -> set[str]:
    """The ids of the wheel and scratch campaigns beside ``path`` (a campaign's file or
    ``loyalty.yaml``), read from their top-level ``id`` and ``game`` alone (a sibling's own
    mistakes are its own file's to report)."""
    games = set()
    try:
        siblings = _campaign_files(path.parent)
    except CampaignError:
        return set()
    for sibling in siblings:
        if sibling.name == path.name:
            continue
        try:
            root, _ = parse_yaml(sibling.read_bytes(), str(sibling))
        except OSError:
            continue
        if root is None or root.kind != "mapping":
            continue
        id_node, game = root.entries.get("id"), root.entries.get("game")
        if id_node is not None and game is not None and game.scalar in GAMES:
            games.add(str(id_node.scalar))
    return games


def _plays_campaign(root: Located) -> Located | None:
    """A challenge's ``reward.plays.campaign``, when it has one."""
    node: Located | None = root if _is_challenge(root) else None
    for key in ("reward", "plays", "campaign"):
        node = node.entries.get(key) if node is not None and node.kind == "mapping" else None
    return node


def _is_challenge(root: Located) -> bool:
    game = root.entries.get("game") if root.kind == "mapping" else None
    return game is not None and game.kind == "str" and game.scalar == "challenge"


def _reserved_id(root: Located, file: str) -> list[ConfigIssue]:
    """The storefront tag's ``data-campaign="loyalty"`` mounts the loyalty card, so no campaign
    or challenge may answer to that id."""
    node = root.entries.get("id") if root.kind == "mapping" else None
    if node is None or node.kind != "str" or node.scalar != LOYALTY_ID:
        return []
    message = f"`{LOYALTY_ID}` is reserved for the loyalty card; choose another id"
    return [located_issue(file, node, message, repr(LOYALTY_ID))]


def _sorted(issues: Sequence[ConfigIssue]) -> list[ConfigIssue]:
    """By file, then where in it, as a marketer reads them."""
    order = {file: i for i, file in enumerate(dict.fromkeys(i.file for i in issues))}
    return sorted(issues, key=lambda i: (order[i.file], i.line, i.column))


def _load(path: Path) -> tuple[AnyCampaign | None, Located | None, list[ConfigIssue]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return None, None, [ConfigIssue(str(path), 1, 1, "", f"cannot read the file: {reason}")]
    campaign, root, issues = _parse(data, str(path), path.parent.absolute())
    if campaign is not None:
        campaign = replace(campaign, source=path)
    return campaign, root, issues


def _parse(
    data: bytes | str, file: str, folder: Path
) -> tuple[AnyCampaign | None, Located | None, list[ConfigIssue]]:
    root, issues = parse_yaml(data, file)
    if root is None:
        return None, None, issues
    campaign: AnyCampaign | None
    reserved = _reserved_id(root, file)
    if _is_challenge(root):
        challenge_check = ChallengeChecker(file, folder)
        campaign = challenge_check.challenge(root)
        found = challenge_check.issues
    else:
        check = CampaignChecker(file, folder)
        campaign = check.campaign(root)
        found = check.issues
    issues = sorted([*issues, *found, *reserved], key=lambda i: (i.line, i.column))
    if campaign is None and not issues:  # cannot happen; never let a Campaign-less run pass
        issues = [ConfigIssue(file, 1, 1, "", "the campaign could not be read")]
    return (None if issues else campaign), root, issues


class CampaignChecker(ScheduleChecks, PrizeChecks):
    """Reads one campaign document, section by section, recording every mistake."""

    def campaign(self, root: Located) -> Campaign | None:
        fields = self.mapping(root, CAMPAIGN_KEYS, CAMPAIGN_REQUIRED)
        if fields is None:
            return None
        f = fields.get
        campaign_id = self.slug(n) if (n := f("id")) else None
        game = self.choice(n, (*GAMES, "challenge")) if (n := f("game")) else None
        title = self.text(n) if (n := f("title")) else None
        description = self.text(n) if (n := f("description")) else None
        timezone, starts, ends = self.schedule(fields)
        limits = self.limits(n) if (n := f("limits")) else ()
        budget = self.budget(n) if (n := f("budget")) else Budget()
        prizes = self.prizes(n) if (n := f("prizes")) else None
        fallback = self.fallback(n) if (n := f("fallback")) else None
        holdout = self.holdout(n) if (n := f("holdout")) else 0
        rotate_every = self.fairness(n) if (n := f("fairness")) else DEFAULT_ROTATION
        guests = self.guests(n) if (n := f("guests")) else None
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
            holdout=holdout or 0,
            rotate_every=rotate_every or DEFAULT_ROTATION,
            guests=guests,
        )

    def fairness(self, node: Located) -> timedelta | None:
        """``fairness: {rotate_every: 1d}``: how long an epoch stays open (CONTRACT §12)."""
        fields = self.mapping(node, FAIRNESS_KEYS)
        if fields is None:
            return None
        return self.duration(n) if (n := fields.get("rotate_every")) else DEFAULT_ROTATION

    def guests(self, node: Located) -> Guests | None:
        """``guests: {consent: {es, en}, per_ip: {plays, per}, min_age}`` (CONTRACT §13)."""
        fields = self.mapping(node, GUESTS_KEYS, ("consent",))
        if fields is None:
            return None
        consent = self.text(n) if (n := fields.get("consent")) else None
        per_ip = self.limit(n) if (n := fields.get("per_ip")) else None
        min_age = self.min_age(n) if (n := fields.get("min_age")) else DEFAULT_MIN_AGE
        if consent is None or min_age is None or ("per_ip" in fields and per_ip is None):
            return None
        return Guests(consent, per_ip, min_age, ask_age="min_age" in fields)

    def min_age(self, node: Located) -> int | None:
        low, high = MIN_AGES
        if node.kind != "int" or not isinstance(node.scalar, int) or not low <= node.scalar <= high:
            self.expect(node, f"a whole number of years from {low} to {high}")
            return None
        return node.scalar
