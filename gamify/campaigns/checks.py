"""What every section of a campaign file is checked with: the keys each mapping allows, and a
:class:`Checker` of plain values (words, ids, numbers, texts in es/en) that records every
mistake, located, and carries on.

A marketer fixing a file wants the whole list in one go, so a reader returns None after a
mistake instead of raising; the sections (:mod:`~gamify.campaigns.check_schedule`,
:mod:`~gamify.campaigns.check_prizes`) build on it, and :mod:`~gamify.campaigns.loader` puts
them together.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gamify.campaigns.yaml_nodes import Located, join
from gamify.core.campaign import Text
from gamify.core.errors import ConfigIssue

CAMPAIGN_KEYS = (
    "id", "game", "title", "description", "timezone", "starts", "ends",
    "limits", "budget", "holdout", "fairness", "guests", "fallback", "prizes",
)  # fmt: skip
FAIRNESS_KEYS = ("rotate_every",)
GUESTS_KEYS = ("consent", "per_ip", "min_age")
MIN_AGES = (14, 99)
"""The youngest and oldest ``min_age`` a file may set: Spain's age of consent to the processing
of personal data is 14 (LOPDGDD art. 7); above 99 is a typo."""
DURATION = re.compile(r"([1-9][0-9]{0,3})([hdw])")
_DURATION_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
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

SLUG = re.compile(r"[a-z0-9-]{1,64}")
LANGUAGE = re.compile(r"[a-z]{2}")
COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
CODE = re.compile(r"\{code:([0-9]{1,4})\}")
PATTERN_REST = re.compile(r"[A-Za-z0-9_-]*")
NUMBERS = ("int", "float")


def located_issue(file: str, node: Located, message: str, got: str | None = None) -> ConfigIssue:
    return ConfigIssue(file, node.line, node.column, node.path, message, got)


def shown(node: Located) -> str:
    """How an offending value appears after ``got``: short, and quoted when it is text."""
    if node.kind == "list":
        return f"a list of {len(node.items)}"
    if node.kind == "mapping":
        return "a mapping"
    if node.kind == "null":
        return "null"
    shown = repr(node.scalar) if node.kind == "str" else node.text
    return shown if len(shown) <= 40 else shown[:37] + "..."


def short(text: str) -> str:
    """A value from a file, quoted and cut to a readable length, for ``(got X)``."""
    shown = repr(text)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def suggest(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f"; did you mean `{close[0]}`?" if close else ""


def fits(text: str) -> bool:
    return bool(text.strip()) and len(text) <= MAX_TEXT


def exact(node: Located) -> Decimal | None:
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


class Checker:
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
        self.issues.append(located_issue(self.file, node, message, got))

    def missing(self, node: Located, key: str, message: str = "required key missing") -> None:
        """Reported where the mapping lacking ``key`` starts: there is no line of its own."""
        path = join(node.path, key)
        self.issues.append(ConfigIssue(self.file, node.line, node.column, path, message))

    def expect(self, node: Located, expected: str) -> None:
        """Report that ``node`` is not ``expected``; values refused while parsing stay quiet."""
        if node.kind != "invalid":
            self.report(node, f"must be {expected}", shown(node))

    # -- generic readers --------------------------------------------------------------------

    def mapping(
        self, node: Located, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> Mapping[str, Located] | None:
        if node.kind != "mapping":
            self.expect(node, f"a mapping with keys {', '.join(allowed)}")
            return None
        for key, key_node in node.keys.items():
            if key not in allowed:
                hint = suggest(key, allowed) or f"; allowed keys are {', '.join(allowed)}"
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
        if text is not None and not SLUG.fullmatch(text):
            self.expect(node, expected)
            return None
        return text

    def choice(self, node: Located, choices: Sequence[str]) -> str | None:
        expected = f"one of {', '.join(choices)}"
        text = self.word(node, expected)
        if text is not None and text not in choices:
            self.report(node, f"must be {expected}{suggest(text, choices)}", shown(node))
            return None
        return text

    def holdout(self, node: Located) -> int | None:
        """The percent of customers kept from the campaign to measure it (CONTRACT §11)."""
        if node.kind != "int" or not isinstance(node.scalar, int) or not 0 <= node.scalar <= 50:
            self.expect(node, "a whole percent from 0 to 50")
            return None
        return node.scalar

    def duration(self, node: Located) -> timedelta | None:
        """A span such as ``12h``, ``1d`` or ``2w`` (hours, days, weeks)."""
        expected = "a duration such as 12h, 1d or 2w (hours, days or weeks)"
        text = self.word(node, expected)
        found = DURATION.fullmatch(text) if text is not None else None
        if found is None:
            if text is not None:
                self.expect(node, expected)
            return None
        return int(found[1]) * _DURATION_UNITS[found[2]]

    def integer(self, node: Located, minimum: int) -> int | None:
        if node.kind != "int" or not isinstance(node.scalar, int) or node.scalar < minimum:
            self.expect(node, f"a whole number >= {minimum}")
            return None
        return node.scalar

    def decimal(self, node: Located, places: int, positive: bool) -> Decimal | None:
        """An exact number as written (30.1 stays 30.1), for sums and money."""
        expected = f"a number {'>' if positive else '>='} 0 with at most {places} decimals"
        number = exact(node) if node.kind in NUMBERS else None
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
            if not fits(single):
                self.expect(node, expected)
                return None
            return Text(tuple((lang, single) for lang in TEXT_LANGUAGES))
        values: list[tuple[str, str]] = []
        for lang, value in node.entries.items():
            if not LANGUAGE.fullmatch(lang):
                self.report(node.keys[lang], "must be a two-letter language code such as es or en")
                continue
            single = self.word(value, f"a text of 1 to {MAX_TEXT} characters")
            if single is not None and not fits(single):
                self.expect(value, f"a text of 1 to {MAX_TEXT} characters")
            elif single is not None:
                values.append((lang, single))
        if not node.entries:
            self.report(node, "needs at least one language, such as {es: …, en: …}")
        if len(values) != len(node.entries) or not values:
            return None
        return Text(tuple(values))

    # -- the campaign -----------------------------------------------------------------------

    # -- prizes -----------------------------------------------------------------------------
