"""The prizes of a campaign file: ids and labels, weights or percents (one style per file),
stock and value, colours, coupons (a pattern, or a pool of codes inside the campaigns folder),
and the fallback prize."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from gamify.campaigns.checks import (
    CODE,
    COLOR,
    COUPON_KEYS,
    PATTERN_REST,
    PRIZE_KEYS,
    Checker,
    short,
    shown,
    suggest,
)
from gamify.campaigns.yaml_nodes import Located
from gamify.core.campaign import Coupon, Prize, Text
from gamify.core.coupons import MAX_CODE, PoolPathError, pool_path, read_pool_lines
from gamify.core.rules import MAX_TOTAL_WEIGHT


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


class PrizeChecks(Checker):
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
            self.report(where, f"coupon pool cannot be read: {exc}", shown(where))
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
                self.report(where, message, short(code))
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
            self.report(where, message, short(code))
        if shared:
            line, code, (other, other_name, other_line) = shared[0]
            more = f"; {len(shared) - 1} more codes are shared" if len(shared) > 1 else ""
            message = (
                f"code on line {line} of {name} is also in the pool of prize `{other}` (line "
                f"{other_line} of {other_name}){more}; each code can be given only once"
            )
            self.report(where, message, short(code))
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
            hint = suggest(prize_id, self.prize_fields)
            self.report(node, f"no prize has this id{hint}", repr(prize_id))
            return None
        for key, what in (("stock", "a stock limit"), ("value", "a value")):
            if key in fields:
                message = f"the fallback prize cannot have {what}; remove `{key}`"
                self.report(fields[key], message, shown(fields[key]))
        coupon = fields.get("coupon")
        if coupon is not None and coupon.kind == "mapping" and "pool" in coupon.entries:
            pool = coupon.entries["pool"]
            message = "the fallback prize cannot have a coupon pool (its codes run out)"
            self.report(pool, f"{message}; use a pattern", shown(pool))
        return prize_id

    def color(self, node: Located) -> str | None:
        if node.kind == "str" and isinstance(node.scalar, str) and COLOR.fullmatch(node.scalar):
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
            codes = CODE.findall(text or "")
            rest = CODE.sub("", text or "")
            if text is None:
                return None
            if len(codes) != 1 or not 4 <= int(codes[0]) <= 32 or not PATTERN_REST.fullmatch(rest):
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
            self.report(pool, f"the coupon pool {exc}", shown(pool))
            return None
        try:
            exists = path.is_file()
        except OSError:
            exists = False
        if not exists:
            self.report(pool, f"file not found: {path}", shown(pool))
            return None
        return Coupon(pool=path)
