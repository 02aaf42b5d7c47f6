"""The parts of ``loyalty.yaml`` (CONTRACT §10): what earns points, when they become usable and
expire, the VIP tiers and what reaching each gives, and the rewards points buy.

Mistakes are reported as for campaigns, all at once and located, with field paths that start
at ``loyalty`` (``loyalty.tiers.levels[1].min``). The file speaks the challenges' language for
events, ``at_most`` and extra plays, and the prizes' for coupons, so the checker is built on
theirs: a marketer who knows one file knows the others. What only the folder can tell (a level's
extra plays naming a wheel or scratch campaign that exists) is checked by
:mod:`~gamify.campaigns.loyalty_loader` once the file is read.

Upper bounds on days and points are not in the contract: they keep every date a
``timedelta`` can reach and every balance a 64-bit column can hold, whatever a file says.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from gamify.campaigns.check_challenge import ChallengeChecker
from gamify.campaigns.checks import shown, suggest
from gamify.campaigns.yaml_nodes import Located
from gamify.core.campaign import Coupon
from gamify.core.loyalty import (
    LOYALTY_ID,
    TIER_WINDOWS,
    CatalogueReward,
    EarnRule,
    Level,
    LevelReward,
    Loyalty,
    Tiers,
    TierWindow,
)

ROOT_KEYS = ("loyalty",)
LOYALTY_KEYS = ("timezone", "earn", "pending_days", "expire_after_days", "tiers", "rewards")
LOYALTY_REQUIRED = ("timezone", "earn")
EARN_KEYS = ("event", "points_per_unit", "points", "at_most")
TIERS_KEYS = ("qualify_on", "window", "levels")
LEVEL_KEYS = ("id", "label", "min", "multiplier", "reward")
LEVEL_REQUIRED = ("id", "label", "min")
LEVEL_REWARD_KEYS = ("label", "coupon", "plays")
CATALOGUE_KEYS = ("id", "label", "cost", "coupon", "stock", "description")
CATALOGUE_REQUIRED = ("id", "label", "cost")
QUALIFY_ON = "points_earned"
DEFAULT_WINDOW: TierWindow = "rolling_12_months"

MAX_DAYS = 3650
"""Ten years: far beyond any return window or expiry, far below a date's overflow."""
MAX_POINTS = 1_000_000_000
"""Fixed points, costs, thresholds and stock."""
MAX_POINTS_PER_UNIT = 1000
MAX_MULTIPLIER = 10
"""With the largest order total an event may carry (10¹² units), one event earns less than
2⁶³ points."""
PLACES = 4
NEVER_EXPIRE = " (leave expire_after_days out and points never expire)"


class LoyaltyChecker(ChallengeChecker):
    """Reads ``loyalty.yaml``, section by section, recording every mistake."""

    def loyalty(self, root: Located) -> Loyalty | None:
        body = self.root(root)
        if body is None:
            return None
        fields = self.mapping(body, LOYALTY_KEYS, LOYALTY_REQUIRED)
        if fields is None:
            return None
        f = fields.get
        timezone = self.timezone(n) if (n := f("timezone")) else None
        earn = self.earn(n) if (n := f("earn")) else None
        pending = self.days(n, 0) if (n := f("pending_days")) else 0
        expire = self.days(n, 1, NEVER_EXPIRE) if (n := f("expire_after_days")) else None
        tiers = self.tiers(n) if (n := f("tiers")) else None
        rewards = self.rewards(n) if (n := f("rewards")) else ()
        # A part that is None with no issue was absent: tiers and expiry are optional.
        if self.issues or timezone is None or earn is None or pending is None or rewards is None:
            return None
        return Loyalty(
            timezone=timezone,
            earn=earn,
            pending_days=pending,
            expire_after_days=expire,
            tiers=tiers,
            rewards=rewards,
        )

    def root(self, root: Located) -> Located | None:
        """The programme under ``loyalty:``; a setting written beside it is named as such."""
        if root.kind != "mapping":
            self.expect(root, "a mapping with one key, loyalty")
            return None
        for key, key_node in root.keys.items():
            if key in ROOT_KEYS:
                continue
            if key in LOYALTY_KEYS:
                self.report(key_node, f"`{key}` goes under `loyalty:`, indented")
            else:
                hint = suggest(key, ROOT_KEYS) or "; the file has one key, loyalty"
                self.report(key_node, f"unknown key{hint}")
        body = root.entries.get("loyalty")
        if body is None:
            self.missing(root, "loyalty", "required key missing: the programme goes under it")
        return body

    # -- what earns -------------------------------------------------------------------------

    def earn(self, node: Located) -> tuple[EarnRule, ...] | None:
        if node.kind != "list" or not node.items:
            self.expect(node, "a list of 1 or more rules such as {event: order.paid, points: 10}")
            return None
        before = len(self.issues)
        seen: dict[str, int] = {}
        rules = []
        for item in node.items:
            rule = self.earn_rule(item)
            if rule is None:
                continue
            if rule.event in seen:
                message = (
                    f"event type listed twice (first on line {seen[rule.event]}); one rule per type"
                )
                self.report(item.entries["event"], message, repr(rule.event))
                continue
            seen[rule.event] = item.entries["event"].line
            rules.append(rule)
        return tuple(rules) if len(self.issues) == before else None

    def earn_rule(self, node: Located) -> EarnRule | None:
        fields = self.mapping(node, EARN_KEYS, ("event",))
        if fields is None:
            return None
        before = len(self.issues)
        f = fields.get
        event = self.event_type(n) if (n := f("event")) else None
        if event == "order.refunded" and (n := f("event")):
            message = "a refund takes back what its order earned; it cannot earn points"
            self.report(n, message, repr(event))
        per_unit = points = None
        if "points_per_unit" in fields and "points" in fields:
            self.report(node.keys["points"], "give either points_per_unit or points, not both")
        elif "points_per_unit" in fields:
            per_unit = self.points_per_unit(fields["points_per_unit"], event)
        elif "points" in fields:
            points = self.bounded(fields["points"], 1, MAX_POINTS)
        else:
            self.missing(node, "points", "required key missing (points, or points_per_unit)")
        at_most = self.at_most(n) if (n := f("at_most")) else None
        if len(self.issues) > before or event is None or (per_unit is None and points is None):
            return None
        return EarnRule(event=event, points_per_unit=per_unit, points=points, at_most=at_most)

    def points_per_unit(self, node: Located, event: str | None) -> Decimal | None:
        """Only an order has a total to count units of; other events earn fixed points."""
        if event is not None and not event.startswith("order."):
            message = (
                "`points_per_unit` counts the order total: it needs an order.* event; "
                "use `points` for a fixed number"
            )
            self.report(node, message, repr(event))
            return None
        number = self.decimal(node, PLACES, positive=True)
        if number is not None and number > MAX_POINTS_PER_UNIT:
            self.report(node, f"must be at most {MAX_POINTS_PER_UNIT}", shown(node))
            return None
        return number

    # -- tiers ------------------------------------------------------------------------------

    def tiers(self, node: Located) -> Tiers | None:
        fields = self.mapping(node, TIERS_KEYS, ("levels",))
        if fields is None:
            return None
        before = len(self.issues)
        if (n := fields.get("qualify_on")) is not None:
            self.qualify_on(n)
        window = self.choice(n, TIER_WINDOWS) if (n := fields.get("window")) else DEFAULT_WINDOW
        levels = self.levels(n) if (n := fields.get("levels")) else None
        if len(self.issues) > before or window is None or levels is None:
            return None
        return Tiers(window=cast(TierWindow, window), levels=levels)

    def qualify_on(self, node: Located) -> None:
        """Spending points must never cost a customer their tier, so tiers count what was
        earned; the key exists so the file says so."""
        expected = f"{QUALIFY_ON}: tiers count the points earned in the window, never the balance"
        text = self.word(node, expected)
        if text is not None and text != QUALIFY_ON:
            self.report(node, f"must be {expected}", shown(node))

    def levels(self, node: Located) -> tuple[Level, ...] | None:
        if node.kind != "list" or not node.items:
            self.expect(node, "a list of 1 or more levels such as {id: bronze, label: …, min: 0}")
            return None
        before = len(self.issues)
        seen: dict[str, int] = {}
        levels: list[Level | None] = []
        for item in node.items:
            level = self.level(item)
            levels.append(level)
            if level is None:
                continue
            if level.id in seen:
                message = f"duplicate level id (first used on line {seen[level.id]})"
                self.report(item.entries["id"], message, repr(level.id))
                continue
            seen[level.id] = item.entries["id"].line
        self.thresholds(node.items)
        if len(self.issues) > before:
            return None
        return tuple(level for level in levels if level is not None)

    def thresholds(self, items: tuple[Located, ...]) -> None:
        """The first level is everyone's (min 0); each next one needs more points than every
        level before it, or it could never be reached, or be reached before the one above."""
        highest: tuple[str, int] | None = None
        for index, item in enumerate(items):
            fields = item.entries if item.kind == "mapping" else {}
            node = fields.get("min")
            value = node.scalar if node is not None and node.kind == "int" else None
            if node is None or not isinstance(value, int) or not 0 <= value <= MAX_POINTS:
                continue  # reported as a number out of range already
            if index == 0 and value != 0:
                message = "the first level must have min 0: every customer has a tier"
                self.report(node, message, shown(node))
            name = _level_name(item, index)
            if highest is not None and value <= highest[1]:
                message = (
                    f"tier thresholds are not increasing: {name} must need more points than "
                    f"{highest[0]} before it (min {highest[1]})"
                )
                self.report(node, message, shown(node))
            if highest is None or value > highest[1]:
                highest = (name, value)

    def level(self, node: Located) -> Level | None:
        fields = self.mapping(node, LEVEL_KEYS, LEVEL_REQUIRED)
        if fields is None:
            return None
        before = len(self.issues)
        f = fields.get
        level_id = self.slug(n) if (n := f("id")) else None
        label = self.text(n) if (n := f("label")) else None
        minimum = self.bounded(n, 0, MAX_POINTS) if (n := f("min")) else None
        multiplier = self.multiplier(n) if (n := f("multiplier")) else Decimal(1)
        reward = self.level_reward(n, level_id) if (n := f("reward")) else None
        if len(self.issues) > before or level_id is None or label is None or minimum is None:
            return None
        if multiplier is None:
            return None
        return Level(level_id, label, minimum, multiplier, reward)

    def multiplier(self, node: Located) -> Decimal | None:
        number = self.decimal(node, PLACES, positive=True)
        if number is not None and number > MAX_MULTIPLIER:
            self.report(node, f"must be at most {MAX_MULTIPLIER}", shown(node))
            return None
        return number

    def level_reward(self, node: Located, level_id: str | None) -> LevelReward | None:
        fields = self.mapping(node, LEVEL_REWARD_KEYS)
        if fields is None:
            return None
        before = len(self.issues)
        f = fields.get
        label = self.text(n) if (n := f("label")) else None
        coupon = self.coupon(n) if (n := f("coupon")) else None
        plays = self.extra_plays(n) if (n := f("plays")) else None
        if "coupon" not in fields and "plays" not in fields:
            message = "a level reward needs coupon or plays (or both)"
            self.report(node, message, "a label only" if "label" in fields else shown(node))
        if coupon is not None and coupon.pool is not None:
            self.pool_codes(fields["coupon"], coupon.pool, level_id)
        if len(self.issues) > before:
            return None
        return LevelReward(label=label, coupon=coupon, plays=plays)

    # -- what points buy --------------------------------------------------------------------

    def rewards(self, node: Located) -> tuple[CatalogueReward, ...] | None:
        if node.kind != "list":
            self.expect(node, "a list of rewards such as {id: …, label: …, cost: 300, coupon: …}")
            return None
        before = len(self.issues)
        seen: dict[str, int] = {}
        rewards = []
        for item in node.items:
            reward = self.reward_item(item)
            if reward is None:
                continue
            if reward.id in seen:
                message = f"duplicate reward id (first used on line {seen[reward.id]})"
                self.report(item.entries["id"], message, repr(reward.id))
                continue
            seen[reward.id] = item.entries["id"].line
            rewards.append(reward)
        return tuple(rewards) if len(self.issues) == before else None

    def reward_item(self, node: Located) -> CatalogueReward | None:
        fields = self.mapping(node, CATALOGUE_KEYS, CATALOGUE_REQUIRED)
        if fields is None:
            return None
        before = len(self.issues)
        f = fields.get
        reward_id = self.slug(n) if (n := f("id")) else None
        if reward_id == LOYALTY_ID and (n := f("id")):
            message = f"`{LOYALTY_ID}` is reserved for the loyalty card; choose another id"
            self.report(n, message, repr(reward_id))
        label = self.text(n) if (n := f("label")) else None
        cost = self.bounded(n, 1, MAX_POINTS) if (n := f("cost")) else None
        stock = self.bounded(n, 1, MAX_POINTS) if (n := f("stock")) else None
        description = self.text(n) if (n := f("description")) else None
        coupon: Coupon | None = None
        if (n := f("coupon")) is None:
            message = (
                "a reward without coupon: points buy a coupon code; "
                "add coupon: {pattern: …} or {pool: …}"
            )
            self.missing(node, "coupon", message)
        else:
            coupon = self.coupon(n)
        if coupon is not None and coupon.pool is not None:
            # Each redemption takes a code of its own, as each award of a prize does.
            codes = self.pool_codes(fields["coupon"], coupon.pool, reward_id)
            if codes is not None and (stock is None or stock > codes):
                message = f"a reward with a coupon pool needs a stock of at most its {codes} codes"
                self.report(fields["coupon"], message, "no stock" if stock is None else str(stock))
        if len(self.issues) > before or reward_id is None or label is None or cost is None:
            return None
        if coupon is None:
            return None
        return CatalogueReward(reward_id, label, cost, coupon, stock, description)

    # -- numbers ----------------------------------------------------------------------------

    def bounded(self, node: Located, low: int, high: int) -> int | None:
        """A whole number within bounds; YAML's ``true`` is not one, nor is ``1.0``."""
        value = node.scalar
        if node.kind != "int" or not isinstance(value, int) or not low <= value <= high:
            self.expect(node, f"a whole number from {low} to {high:,}")
            return None
        return value

    def days(self, node: Located, low: int, hint: str = "") -> int | None:
        value = node.scalar
        if node.kind != "int" or not isinstance(value, int) or not low <= value <= MAX_DAYS:
            self.expect(node, f"a whole number of days from {low} to {MAX_DAYS:,}{hint}")
            return None
        return value


def _level_name(item: Located, index: int) -> str:
    """How a message names a level: by its id when it has a readable one."""
    node = item.entries.get("id") if item.kind == "mapping" else None
    if node is not None and node.kind == "str" and isinstance(node.scalar, str):
        return f"`{node.scalar}`"
    return f"levels[{index}]"


def level_play_campaigns(root: Located) -> list[Located]:
    """Every ``loyalty.tiers.levels[i].reward.plays.campaign`` of a document, read even when
    the file has other mistakes, for the check against the folder's games."""
    tiers = _dig(root, ("loyalty", "tiers", "levels"))
    if tiers is None or tiers.kind != "list":
        return []
    found = []
    for item in tiers.items:
        node = _dig(item, ("reward", "plays", "campaign"))
        if node is not None:
            found.append(node)
    return found


def _dig(node: Located | None, keys: tuple[str, ...]) -> Located | None:
    for key in keys:
        node = node.entries.get(key) if node is not None and node.kind == "mapping" else None
    return node
