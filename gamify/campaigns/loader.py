"""Campaign YAML files (CONTRACT §3) into :class:`Campaign` objects, or every mistake at once.

A marketer fixing a file wants the whole list in one go, each mistake as
``FILE:LINE:COL: field.path: message (got X)``. So checks record issues and carry on instead of
stopping at the first, and no input may escape as a Python exception: every file ends as a
Campaign or a :class:`CampaignError`.
"""

from __future__ import annotations

import csv
import difflib
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo, available_timezones

from gamify.campaigns.yaml_nodes import Located, join, parse_yaml
from gamify.core.campaign import Campaign, Coupon, Game, Prize, Text
from gamify.core.coupons import MAX_CODE, PoolPathError, pool_path, read_pool_lines
from gamify.core.errors import CampaignError, ConfigIssue
from gamify.core.rules import GAMES, MAX_TOTAL_WEIGHT, PERIODS, Budget, Limit, Period

CAMPAIGN_KEYS = (
    "id", "game", "title", "description", "timezone", "starts", "ends",
    "limits", "budget", "fallback", "prizes",
)  # fmt: skip
CAMPAIGN_REQUIRED = ("id", "game", "title", "timezone", "starts", "ends", "fallback", "prizes")
PRIZE_KEYS = ("id", "label", "weight", "percent", "stock", "value", "win", "color", "coupon")
LIMITS_KEYS = ("per_customer",)
LIMIT_KEYS = ("plays", "per")
BUDGET_KEYS = ("max_value_per_day", "max_value_total")
COUPON_KEYS = ("pattern", "pool")
TEXT_LANGUAGES = ("es", "en")
"""The languages a plain-string text is stored under (it applies to all of them)."""
MAX_TEXT = 200
"""The fairness algorithm draws uniformly from [0, total) with 64-bit integers (CONTRACT §4)."""

_SLUG = re.compile(r"[a-z0-9-]{1,64}")
_LANGUAGE = re.compile(r"[a-z]{2}")
_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_CODE = re.compile(r"\{code:([0-9]{1,4})\}")
_PATTERN_REST = re.compile(r"[A-Za-z0-9_-]*")
_NUMBERS = ("int", "float")


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
            issues.append(_issue(str(file), id_node, message, repr(campaign.id)))
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
    check = _Checker(file, folder)
    campaign = check.campaign(root)
    issues = sorted([*issues, *check.issues], key=lambda i: (i.line, i.column))
    if campaign is None and not issues:  # cannot happen; never let a Campaign-less run pass
        issues = [ConfigIssue(file, 1, 1, "", "the campaign could not be read")]
    id_node = root.entries.get("id")
    return (None if issues else campaign), id_node, issues


def _issue(file: str, node: Located, message: str, got: str | None = None) -> ConfigIssue:
    return ConfigIssue(file, node.line, node.column, node.path, message, got)


def _shown(node: Located) -> str:
    """How an offending value appears after ``got``: short, and quoted when it is text."""
    if node.kind in ("mapping", "list"):
        return f"a {node.kind}"
    if node.kind == "null":
        return "null"
    shown = repr(node.scalar) if node.kind == "str" else node.text
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _short(text: str) -> str:
    """A value from a file, quoted and cut to a readable length, for ``(got X)``."""
    shown = repr(text)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _suggest(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f"; did you mean `{close[0]}`?" if close else ""


@cache
def iana_timezones() -> frozenset[str]:
    """IANA zone names, without the system's own aliases that differ from machine to machine."""
    local = {"localtime", "Factory", "posixrules"}
    return frozenset(
        name
        for name in available_timezones()
        if name not in local and not name.startswith(("posix/", "right/"))
    )


def _fits(text: str) -> bool:
    return bool(text.strip()) and len(text) <= MAX_TEXT


def _exact(node: Located) -> Decimal | None:
    """The number as written; YAML spellings Decimal does not know (``1:30``) go via float."""
    number: Decimal | None
    try:
        number = Decimal(node.text.replace("_", ""))
    except InvalidOperation:  # hex, octal or sexagesimal spellings: exact via int or float
        try:
            number = Decimal(repr(node.scalar)) if isinstance(node.scalar, int | float) else None
        except ValueError:  # an integer too long to print
            number = None
    return number if number is not None and number.is_finite() else None


@dataclass
class _PrizeDraft:
    """A prize whose own fields are valid, before the checks that need all prizes."""

    id: str
    label: Text
    weight: int | None
    percent: Decimal | None
    stock: int | None
    value: Decimal | None
    win: bool
    color: str | None
    coupon: Coupon | None


class _Checker:
    """Reads one document, recording every mistake; each reader returns None after a mistake."""

    def __init__(self, file: str, folder: Path) -> None:
        self.file = file
        self.folder = folder
        self.issues: list[ConfigIssue] = []
        self.prize_fields: dict[str, Mapping[str, Located]] = {}
        """Fields of each prize by id, even of prizes with mistakes, for the fallback checks."""
        self.all_prize_ids = False
        """Whether every prize's id could be read, so a fallback not among them is a mistake."""
        self.pool_seen: dict[str, tuple[str, str, int]] = {}
        """Codes of the pools read so far: the prize, the pool as written, and the line."""

    def report(self, node: Located, message: str, got: str | None = None) -> None:
        self.issues.append(_issue(self.file, node, message, got))

    def missing(self, node: Located, key: str, message: str = "required key missing") -> None:
        """Reported where the mapping lacking ``key`` starts: there is no line of its own."""
        path = join(node.path, key)
        self.issues.append(ConfigIssue(self.file, node.line, node.column, path, message))

    def expect(self, node: Located, expected: str) -> None:
        """Report that ``node`` is not ``expected``; values refused while parsing stay quiet."""
        if node.kind != "invalid":
            self.report(node, f"must be {expected}", _shown(node))

    # -- generic readers --------------------------------------------------------------------

    def mapping(
        self, node: Located, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> Mapping[str, Located] | None:
        if node.kind != "mapping":
            self.expect(node, f"a mapping with keys {', '.join(allowed)}")
            return None
        for key, key_node in node.keys.items():
            if key not in allowed:
                hint = _suggest(key, allowed) or f"; allowed keys are {', '.join(allowed)}"
                self.report(key_node, f"unknown key{hint}")
        for key in required:
            if key not in node.entries:
                self.missing(node, key)
        return {key: value for key, value in node.entries.items() if key in allowed}

    def word(self, node: Located, expected: str) -> str | None:
        """What was written for a short scalar (an id, a zone), whatever YAML type it got."""
        if node.kind in ("str", "int", "float", "bool", "timestamp"):
            return str(node.scalar) if node.kind == "str" else node.text
        self.expect(node, expected)
        return None

    def slug(self, node: Located) -> str | None:
        expected = "1 to 64 characters of a-z, 0-9 and -"
        text = self.word(node, expected)
        if text is not None and not _SLUG.fullmatch(text):
            self.expect(node, expected)
            return None
        return text

    def choice(self, node: Located, choices: Sequence[str]) -> str | None:
        expected = f"one of {', '.join(choices)}"
        text = self.word(node, expected)
        if text is not None and text not in choices:
            self.report(node, f"must be {expected}{_suggest(text, choices)}", _shown(node))
            return None
        return text

    def integer(self, node: Located, minimum: int) -> int | None:
        if node.kind != "int" or not isinstance(node.scalar, int) or node.scalar < minimum:
            self.expect(node, f"a whole number >= {minimum}")
            return None
        return node.scalar

    def decimal(self, node: Located, places: int, positive: bool) -> Decimal | None:
        """An exact number as written (30.1 stays 30.1), for sums and money."""
        expected = f"a number {'>' if positive else '>='} 0 with at most {places} decimals"
        number = _exact(node) if node.kind in _NUMBERS else None
        if number is None or number < 0 or (positive and number == 0):
            self.expect(node, expected)
            return None
        exponent = number.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -places:
            self.expect(node, expected)
            return None
        return number

    def boolean(self, node: Located) -> bool | None:
        if node.kind != "bool" or not isinstance(node.scalar, bool):
            self.expect(node, "true or false")
            return None
        return node.scalar

    def text(self, node: Located) -> Text | None:
        """A plain string is the same text in every language; a mapping is one per language."""
        expected = f"a text of 1 to {MAX_TEXT} characters, or a mapping such as {{es: …, en: …}}"
        if node.kind != "mapping":
            single = self.word(node, expected)
            if single is None:
                return None
            if not _fits(single):
                self.expect(node, expected)
                return None
            return Text(tuple((lang, single) for lang in TEXT_LANGUAGES))
        values: list[tuple[str, str]] = []
        for lang, value in node.entries.items():
            if not _LANGUAGE.fullmatch(lang):
                self.report(node.keys[lang], "must be a two-letter language code such as es or en")
                continue
            single = self.word(value, f"a text of 1 to {MAX_TEXT} characters")
            if single is not None and not _fits(single):
                self.expect(value, f"a text of 1 to {MAX_TEXT} characters")
            elif single is not None:
                values.append((lang, single))
        if not node.entries:
            self.report(node, "needs at least one language, such as {es: …, en: …}")
        if len(values) != len(node.entries) or not values:
            return None
        return Text(tuple(values))

    # -- the campaign -----------------------------------------------------------------------

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
            self.report(n, f"must be after starts ({fields['starts'].text})", _shown(n))
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

    def timezone(self, node: Located) -> str | None:
        expected = "an IANA time zone such as Europe/Madrid"
        name = self.word(node, expected)
        if name is not None and name not in iana_timezones():
            self.report(node, f"must be {expected}{_suggest(name, iana_timezones())}", _shown(node))
            return None
        return name

    def moment(self, node: Located, timezone: str | None) -> datetime | None:
        """Naive times and bare dates are local to the campaign's zone; stored in UTC."""
        expected = "a date-time such as 2026-11-27T00:00:00 (optionally with an offset, +01:00)"
        if node.kind not in ("timestamp", "str"):
            self.expect(node, expected)
            return None
        try:
            moment = datetime.fromisoformat(node.text.strip())
            if moment.tzinfo is None:
                if timezone is None:
                    return None  # the zone is reported already
                moment = moment.replace(tzinfo=ZoneInfo(timezone))
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            self.expect(node, expected)
            return None

    def limits(self, node: Located) -> tuple[Limit, ...] | None:
        fields = self.mapping(node, LIMITS_KEYS)
        if fields is None or "per_customer" not in fields:
            return None if fields is None else ()
        rules = fields["per_customer"]
        if rules.kind != "list":
            self.expect(rules, "a list such as [{plays: 1, per: day}]")
            return None
        limits = [self.limit(rule) for rule in rules.items]
        return tuple(limit for limit in limits if limit is not None)

    def limit(self, node: Located) -> Limit | None:
        fields = self.mapping(node, LIMIT_KEYS, LIMIT_KEYS)
        if fields is None:
            return None
        plays = self.integer(fields["plays"], 1) if "plays" in fields else None
        per = self.choice(fields["per"], PERIODS) if "per" in fields else None
        if plays is None or per is None:
            return None
        return Limit(plays=plays, per=cast(Period, per))

    def budget(self, node: Located) -> Budget | None:
        fields = self.mapping(node, BUDGET_KEYS)
        if fields is None:
            return None
        caps = {key: self.decimal(value, 2, positive=True) for key, value in fields.items()}
        return Budget(caps.get("max_value_per_day"), caps.get("max_value_total"))

    # -- prizes -----------------------------------------------------------------------------

    def prizes(self, node: Located) -> tuple[Prize, ...] | None:
        """Each prize alone first, then what needs them all: one odds style, percents to 100."""
        if node.kind != "list":
            self.expect(node, "a list of prizes")
            return None
        if not node.items:
            self.report(node, "needs at least one prize", "an empty list")
            return None
        before = len(self.issues)
        self.all_prize_ids = True
        drafts = [self.prize(item) for item in node.items]
        self.one_style(node.items)
        if len(self.issues) > before:
            return None
        valid = [draft for draft in drafts if draft is not None]
        weights = self.weights(node, valid)
        if weights is None or len(valid) != len(drafts):
            return None
        return tuple(
            Prize(
                id=d.id,
                label=d.label,
                weight=weight,
                stock=d.stock,
                value=d.value,
                win=d.win,
                color=d.color,
                coupon=d.coupon,
            )
            for d, weight in zip(valid, weights, strict=True)
        )

    def prize(self, node: Located) -> _PrizeDraft | None:
        before = len(self.issues)
        fields = self.mapping(node, PRIZE_KEYS, ("id", "label"))
        if fields is None:
            self.all_prize_ids = False
            return None
        prize_id = self.slug(fields["id"]) if "id" in fields else None
        if prize_id is None:
            self.all_prize_ids = False
        elif prize_id in self.prize_fields:
            first = self.prize_fields[prize_id]["id"].line
            message = f"duplicate prize id (first used on line {first})"
            self.report(fields["id"], message, repr(prize_id))
        else:
            self.prize_fields[prize_id] = fields
        label = self.text(fields["label"]) if "label" in fields else None
        if "weight" in fields and "percent" in fields:
            self.report(node.keys["percent"], "give either weight or percent, not both")
        elif "weight" not in fields and "percent" not in fields:
            self.missing(node, "weight", "required key missing (weight, or percent)")
        weight = self.integer(n, 1) if (n := fields.get("weight")) else None
        percent = self.decimal(n, 4, positive=True) if (n := fields.get("percent")) else None
        stock = self.integer(n, 0) if (n := fields.get("stock")) else None
        value = self.decimal(n, 2, positive=False) if (n := fields.get("value")) else None
        win = self.boolean(n) if (n := fields.get("win")) else True
        color = self.color(n) if (n := fields.get("color")) else None
        coupon = self.coupon(n) if (n := fields.get("coupon")) else None
        if coupon is not None and coupon.pool is not None:
            # Each award takes a code of its own: the stock, published in the audit log's config,
            # is what makes the fallback after the last code one that anyone can re-derive.
            codes = self.pool_codes(fields["coupon"], coupon.pool, prize_id)
            if codes is not None and (stock is None or stock > codes):
                message = f"a prize with a coupon pool needs a stock of at most its {codes} codes"
                self.report(fields["coupon"], message, "no stock" if stock is None else str(stock))
        if len(self.issues) > before or prize_id is None or label is None or win is None:
            return None
        return _PrizeDraft(prize_id, label, weight, percent, stock, value, win, color, coupon)

    def pool_codes(self, node: Located, pool: Path, prize_id: str | None) -> int | None:
        """How many codes the pool gives, each given once: a code twice in the pool, or also in
        another prize's pool, would leave a prize with fewer codes than its stock."""
        where = node.entries.get("pool", node)
        try:
            lines = read_pool_lines(pool)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            self.report(where, f"coupon pool cannot be read: {exc}", _shown(where))
            return None
        name = str(where.scalar) if where.kind == "str" else pool.name
        before = len(self.issues)
        long = [(line, code) for line, code in lines if len(code) > MAX_CODE]
        odd = [(line, code) for line, code in lines if not code.isprintable()]
        kinds = (
            (long, f"a code longer than {MAX_CODE} characters"),
            (odd, "a code with an invisible or control character"),
        )
        for found, what in kinds:
            if found:
                line, code = found[0]
                more = f" ({len(found) - 1} more such lines)" if len(found) > 1 else ""
                message = f"line {line} of {name} has {what}{more}"
                self.report(where, message, _short(code))
        first: dict[str, int] = {}
        twice: list[tuple[int, str, int]] = []
        shared: list[tuple[int, str, tuple[str, str, int]]] = []
        for line, code in lines:
            if code in first:
                twice.append((line, code, first[code]))
                continue
            first[code] = line
            if code in self.pool_seen:
                shared.append((line, code, self.pool_seen[code]))
        if twice:
            line, code, earlier = twice[0]
            more = f"; {len(twice) - 1} more codes are repeated" if len(twice) > 1 else ""
            message = (
                f"duplicate code in coupon pool: line {line} of {name} repeats line "
                f"{earlier}{more}; each code can be given only once"
            )
            self.report(where, message, _short(code))
        if shared:
            line, code, (other, other_name, other_line) = shared[0]
            more = f"; {len(shared) - 1} more codes are shared" if len(shared) > 1 else ""
            message = (
                f"code on line {line} of {name} is also in the pool of prize `{other}` (line "
                f"{other_line} of {other_name}){more}; each code can be given only once"
            )
            self.report(where, message, _short(code))
        for code, line in first.items():
            self.pool_seen.setdefault(code, (prize_id or "?", name, line))
        return len(lines) if len(self.issues) == before else None

    def one_style(self, prizes: Sequence[Located]) -> None:
        """The first prize's odds style (weight or percent) is the file's; others must follow."""
        first: tuple[str, str] | None = None
        for prize in prizes:
            styles = [key for key in ("weight", "percent") if key in prize.entries]
            if len(styles) != 1:
                continue
            if first is None:
                first = (styles[0], prize.path)
            elif styles[0] != first[0]:
                message = f"weight and percent mixed; {first[1]} uses {first[0]}, so use it too"
                self.report(prize.keys[styles[0]], message)

    def weights(self, node: Located, drafts: Sequence[_PrizeDraft]) -> list[int] | None:
        """Integer weights; percents become percent·10⁴ divided by their common divisor."""
        weights = [d.weight for d in drafts if d.weight is not None]
        if len(weights) == len(drafts):
            if sum(weights) > MAX_TOTAL_WEIGHT:  # the draw cannot pick fairly beyond 2**64
                message = f"weights must add up to at most 2**64 ({MAX_TOTAL_WEIGHT})"
                self.report(node, message, str(sum(weights)))
                return None
            return weights
        percents = [d.percent for d in drafts if d.percent is not None]
        if len(percents) != len(drafts):
            return None
        total = sum(percents, Decimal(0))
        if total != 100:
            self.report(node, "percents must sum to exactly 100", format(total.normalize(), "f"))
            return None
        scaled = [int(percent * 10**4) for percent in percents]
        divisor = math.gcd(*scaled)
        return [weight // divisor for weight in scaled]

    def fallback(self, node: Located) -> str | None:
        """The fallback must always be awardable: an existing prize, unlimited and free."""
        prize_id = self.slug(node)
        if prize_id is None:
            return None
        fields = self.prize_fields.get(prize_id)
        if fields is None and not self.all_prize_ids:
            return None  # it may be the prize whose id is broken; that one is reported
        if fields is None:
            hint = _suggest(prize_id, self.prize_fields)
            self.report(node, f"no prize has this id{hint}", repr(prize_id))
            return None
        for key, what in (("stock", "a stock limit"), ("value", "a value")):
            if key in fields:
                message = f"the fallback prize cannot have {what}; remove `{key}`"
                self.report(fields[key], message, _shown(fields[key]))
        coupon = fields.get("coupon")
        if coupon is not None and coupon.kind == "mapping" and "pool" in coupon.entries:
            pool = coupon.entries["pool"]
            message = "the fallback prize cannot have a coupon pool (its codes run out)"
            self.report(pool, f"{message}; use a pattern", _shown(pool))
        return prize_id

    def color(self, node: Located) -> str | None:
        if node.kind == "str" and isinstance(node.scalar, str) and _COLOR.fullmatch(node.scalar):
            return node.scalar
        hint = " in quotes (a bare # starts a comment)" if node.kind == "null" else ""
        self.expect(node, f'a colour such as "#e4572e" or "#fff"{hint}')
        return None

    def coupon(self, node: Located) -> Coupon | None:
        fields = self.mapping(node, COUPON_KEYS)
        if fields is None:
            return None
        if len(fields) != 1:
            self.report(node, "needs exactly one of pattern or pool")
            return None
        if (pattern := fields.get("pattern")) is not None:
            expected = (
                "text with one {code:N} placeholder (N from 4 to 32) and otherwise only "
                "letters, digits, _ and -, such as BF10-{code:8}"
            )
            text = self.word(pattern, expected)
            codes = _CODE.findall(text or "")
            rest = _CODE.sub("", text or "")
            if text is None:
                return None
            if len(codes) != 1 or not 4 <= int(codes[0]) <= 32 or not _PATTERN_REST.fullmatch(rest):
                self.expect(pattern, expected)
                return None
            return Coupon(pattern=text)
        pool = fields["pool"]
        name = self.word(pool, "the path of a file of codes, relative to this file")
        if name is None:
            return None
        try:  # checked before anything is opened: a pool never reads outside the folder
            path = pool_path(self.folder, name)
        except PoolPathError as exc:
            self.report(pool, f"the coupon pool {exc}", _shown(pool))
            return None
        try:
            exists = path.is_file()
        except OSError:
            exists = False
        if not exists:
            self.report(pool, f"file not found: {path}", _shown(pool))
            return None
        return Coupon(pool=path)
