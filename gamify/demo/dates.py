"""The demo's copy of the example campaigns, moved in time so that they are running today.

The examples have fixed dates (Black Friday 2026, the 2026 holidays); a demo must be playable on
any day. The folder is copied as it is (coupon pools included) into the demo's instance folder,
and in each campaign file only the values of the top-level ``starts`` and ``ends`` lines change:
``starts`` becomes yesterday and ``ends`` thirty days from today, at midnight in the campaign's
own time zone. Every other byte of the file stays the same.

Two kinds of campaign start earlier (the longest rule that applies wins):

- a challenge (``game: challenge``) a week ago: it may count one order a day, and the demo lets
  a newcomer date an order up to :data:`~gamify.demo.shop.BACKDATE_DAYS` days back, so that they
  can see it through in one visit;
- a campaign with a holdout group (``holdout:`` above 0) four weeks ago: its report compares
  its window with as many days before it, and the demo fills both with a generated store
  history (:mod:`gamify.demo.history`).
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from gamify.core.loyalty import LOYALTY_FILE

log = logging.getLogger("gamify")

DAYS_BEFORE = 1
DAYS_BEFORE_CHALLENGE = 7
DAYS_BEFORE_REPORT = 28
DAYS_AFTER = 30
CAMPAIGN_SUFFIXES = (".yaml", ".yml")
# A top-level `starts:` or `ends:` line: its value, and a trailing comment that is kept.
_DATE_LINE = re.compile(
    r"^(?P<key>starts|ends)[ \t]*:[ \t]*(?P<value>[^\r\n]*?)(?P<comment>[ \t]+#[^\r\n]*)?$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class DemoDates:
    starts: date
    ends: date


def demo_dates(today: date, days_before: int = DAYS_BEFORE) -> DemoDates:
    return DemoDates(today - timedelta(days=days_before), today + timedelta(days=DAYS_AFTER))


def _top_level(text: str) -> dict[str, Any]:
    """The campaign file's top-level mapping; empty when it is not one (the registry says why)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def campaign_today(text: str, now: datetime | None = None) -> date:
    """Today in the time zone the campaign file names (UTC when it names none it can use)."""
    zone: ZoneInfo | None = None
    name = _top_level(text).get("timezone")
    try:
        zone = ZoneInfo(name) if isinstance(name, str) and name else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    moment = now or datetime.now(ZoneInfo("UTC"))
    return moment.astimezone(zone or ZoneInfo("UTC")).date()


def days_before(text: str) -> int:
    """How many days before today the campaign of ``text`` starts in the demo."""
    top = _top_level(text)
    holdout = top.get("holdout")
    days = [DAYS_BEFORE]
    if top.get("game") == "challenge":
        days.append(DAYS_BEFORE_CHALLENGE)
    if isinstance(holdout, int) and not isinstance(holdout, bool) and holdout > 0:
        days.append(DAYS_BEFORE_REPORT)
    return max(days)


def with_demo_dates(text: str, now: datetime | None = None) -> str:
    """``text`` with its top-level ``starts``/``ends`` values moved around today."""
    dates = demo_dates(campaign_today(text, now), days_before(text))
    values = {"starts": dates.starts, "ends": dates.ends}

    def moved(match: re.Match[str]) -> str:
        key = match["key"]
        return f"{key}: {values[key].isoformat()}T00:00:00{match['comment'] or ''}"

    return _DATE_LINE.sub(moved, text)


def copy_with_demo_dates(source: Path, target: Path, now: datetime | None = None) -> list[Path]:
    """Replace ``target`` by a copy of the ``source`` folder whose campaigns run today.

    Returns the campaign files written. ``target`` belongs to the demo: whatever was in it
    (an earlier copy, maybe of another folder) is removed first.
    """
    source, target = source.resolve(), target.resolve()
    if source == target:
        raise ValueError(f"the demo cannot copy the campaigns folder {source} onto itself")
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    written = []
    for path in sorted(target.iterdir()):
        if path.suffix not in CAMPAIGN_SUFFIXES or not path.is_file() or path.name == LOYALTY_FILE:
            continue  # the loyalty programme has no schedule to move
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue  # copied as it is; the registry reports the file
        moved = with_demo_dates(text, now)
        if moved == text and not _DATE_LINE.search(text):
            log.warning("gamify demo: %s has no top-level starts/ends lines to move", path.name)
        path.write_bytes(moved.encode("utf-8"))
        written.append(path)
    return written
