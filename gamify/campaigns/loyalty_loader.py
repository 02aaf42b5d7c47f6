"""``loyalty.yaml`` (CONTRACT §10) into a :class:`Loyalty`, or every mistake at once.

The programme is read like a campaign file, with the same promises: every mistake reported in
one go as ``FILE:LINE:COL: field.path: message (got X)``, and no input escaping as a Python
exception. It lives beside the campaigns, so its levels' extra plays are checked against the
games of the same folder, as a challenge reward's are.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gamify.campaigns.check_loyalty import LoyaltyChecker, level_play_campaigns
from gamify.campaigns.loader import sibling_games, unknown_game
from gamify.campaigns.yaml_nodes import Located, parse_yaml
from gamify.core.errors import CampaignError, ConfigIssue
from gamify.core.loyalty import LOYALTY_FILE, Loyalty

__all__ = ["LOYALTY_FILE", "load_loyalty", "parse_loyalty", "unknown_level_play_campaigns"]


def load_loyalty(path: Path) -> Loyalty:
    """The programme in the file at ``path``; CampaignError lists every mistake in it, including
    a level's extra plays of a campaign its folder does not have."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise CampaignError(
            [ConfigIssue(str(path), 1, 1, "", f"cannot read the file: {reason}")]
        ) from exc
    loyalty, root, issues = _parse(data, str(path), path.parent.absolute())
    if root is not None and level_play_campaigns(root):  # the folder is read only then
        issues = [*issues, *unknown_level_play_campaigns(str(path), root, sibling_games(path))]
        issues.sort(key=lambda i: (i.line, i.column))
    if loyalty is None or issues:
        raise CampaignError(issues)
    return replace(loyalty, source=path)


def parse_loyalty(
    data: bytes | str, *, file: str = "<string>", folder: Path | None = None
) -> Loyalty:
    """A programme from YAML in memory (an edit not saved yet); coupon pools are under
    ``folder``. Extra plays are not checked against a folder's games: there is none."""
    loyalty, _, issues = _parse(data, file, folder or Path.cwd())
    if loyalty is None:
        raise CampaignError(issues)
    return loyalty


def unknown_level_play_campaigns(
    file: str, root: Located, games: set[str] | frozenset[str]
) -> list[ConfigIssue]:
    """Each level reward's ``plays.campaign`` must name a wheel or scratch campaign of the
    folder; ``root`` is the document, read even when it has other mistakes."""
    found = (unknown_game(file, node, games) for node in level_play_campaigns(root))
    return [issue for issue in found if issue is not None]


def _parse(
    data: bytes | str, file: str, folder: Path
) -> tuple[Loyalty | None, Located | None, list[ConfigIssue]]:
    root, issues = parse_yaml(data, file)
    if root is None:
        return None, None, issues
    check = LoyaltyChecker(file, folder)
    loyalty = check.loyalty(root)
    issues = sorted([*issues, *check.issues], key=lambda i: (i.line, i.column))
    if loyalty is None and not issues:  # cannot happen; never let a programme-less run pass
        issues = [ConfigIssue(file, 1, 1, "", "the loyalty programme could not be read")]
    return (None if issues else loyalty), root, issues
