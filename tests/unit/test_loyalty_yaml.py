"""loyalty.yaml (CONTRACT §10): a valid file becomes a Loyalty; every mistake is located and named,
all at once, as for campaigns; the registry serves it beside the campaigns without taking it for
one; ``gamify check`` and ``gamify schema --loyalty`` know it."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from gamify.campaigns.loader import load_campaign, load_campaigns
from gamify.campaigns.loyalty_loader import load_loyalty, parse_loyalty
from gamify.campaigns.registry import Registry
from gamify.campaigns.schema_loyalty import EXAMPLE, SCHEMA_ID, loyalty_schema
from gamify.campaigns.yaml_nodes import MAX_BYTES, parse_yaml
from gamify.cli.main import cli
from gamify.core.campaign import Coupon, Text
from gamify.core.challenge import AtMost, Challenge, ExtraPlays
from gamify.core.errors import CampaignError, ConfigIssue
from gamify.core.loyalty import (
    LOYALTY_FILE,
    CatalogueReward,
    EarnRule,
    Level,
    LevelReward,
    Loyalty,
    Tiers,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "campaigns"

# Line numbers below are those of this text; tests change one line and keep the rest.
VALID = """\
loyalty:
  timezone: Europe/Madrid
  earn:
    - event: order.paid
      points_per_unit: 1
    - event: review.published
      points: 50
      at_most: {times: 1, per: week}
  pending_days: 14
  expire_after_days: 365
  tiers:
    qualify_on: points_earned
    window: rolling_12_months
    levels:
      - id: bronce
        label: {es: Bronce, en: Bronze}
        min: 0
      - id: plata
        label: {es: Plata, en: Silver}
        min: 500
        multiplier: 1.25
        reward:
          label: {es: "Cupón de 5 €", en: "€5 coupon"}
          coupon: {pattern: "PLATA-{code:8}"}
      - id: oro
        label: {es: Oro, en: Gold}
        min: 1500
        multiplier: 1.5
        reward:
          plays: {campaign: wheel, count: 1}
  rewards:
    - id: envio
      label: {es: "Envío gratis", en: "Free shipping"}
      cost: 300
      coupon: {pattern: "ENVIO-{code:8}"}
      stock: 1000
      description: En tu próximo pedido
    - id: cinco
      label: Cupón de 5 €
      cost: 500
      coupon: {pool: coupons/cinco.csv}
      stock: 2
"""

WHEEL = """\
id: wheel
game: wheel
title: Wheel
timezone: Europe/Madrid
starts: 2026-11-01T00:00:00
ends: 2026-12-31T00:00:00
fallback: nothing
prizes:
  - {id: nothing, label: Nothing, weight: 1, win: false}
"""

Issues = Callable[[str | bytes], list[ConfigIssue]]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "wheel.yaml").write_text(WHEEL, encoding="utf-8")
    (tmp_path / "coupons").mkdir()
    (tmp_path / "coupons" / "cinco.csv").write_text("code\nC-1\nC-2\nC-3\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def issues(folder: Path) -> Issues:
    """The issues of a loyalty.yaml with this YAML; fails the test if the file loads."""

    def issues(text: str | bytes) -> list[ConfigIssue]:
        path = folder / LOYALTY_FILE
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        with pytest.raises(CampaignError) as caught:
            load_loyalty(path)
        found = list(caught.value.issues)
        assert found and all(issue.file == str(path) for issue in found)
        return found

    return issues


def edit(old: str, new: str, text: str = VALID) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def only(found: list[ConfigIssue]) -> ConfigIssue:
    assert len(found) == 1, [str(i) for i in found]
    return found[0]


def located(issue: ConfigIssue) -> tuple[int, int, str]:
    return issue.line, issue.column, issue.path


# -- a valid file -------------------------------------------------------------------------------


def test_a_valid_file_gives_the_programme(folder: Path) -> None:
    path = folder / LOYALTY_FILE
    path.write_text(VALID, encoding="utf-8")
    loyalty = load_loyalty(path)
    assert loyalty == Loyalty(
        timezone="Europe/Madrid",
        earn=(
            EarnRule("order.paid", points_per_unit=Decimal(1)),
            EarnRule("review.published", points=50, at_most=AtMost(1, "week")),
        ),
        pending_days=14,
        expire_after_days=365,
        tiers=Tiers(
            window="rolling_12_months",
            levels=(
                Level("bronce", Text((("es", "Bronce"), ("en", "Bronze"))), 0),
                Level(
                    "plata",
                    Text((("es", "Plata"), ("en", "Silver"))),
                    500,
                    Decimal("1.25"),
                    LevelReward(
                        label=Text((("es", "Cupón de 5 €"), ("en", "€5 coupon"))),
                        coupon=Coupon(pattern="PLATA-{code:8}"),
                    ),
                ),
                Level(
                    "oro",
                    Text((("es", "Oro"), ("en", "Gold"))),
                    1500,
                    Decimal("1.5"),
                    LevelReward(plays=ExtraPlays("wheel", 1)),
                ),
            ),
        ),
        rewards=(
            CatalogueReward(
                "envio",
                Text((("es", "Envío gratis"), ("en", "Free shipping"))),
                300,
                Coupon(pattern="ENVIO-{code:8}"),
                stock=1000,
                description=Text((("es", "En tu próximo pedido"), ("en", "En tu próximo pedido"))),
            ),
            CatalogueReward(
                "cinco",
                Text((("es", "Cupón de 5 €"), ("en", "Cupón de 5 €"))),
                500,
                Coupon(pool=folder.absolute() / "coupons" / "cinco.csv"),
                stock=2,
            ),
        ),
        source=path,
    )


def test_optional_parts_take_their_defaults() -> None:
    loyalty = parse_loyalty(
        "loyalty:\n"
        "  timezone: UTC\n"
        "  earn: [{event: account.created, points: 100}]\n"
        "  tiers:\n"
        "    levels: [{id: base, label: Base, min: 0}, {id: vip, label: VIP, min: 10}]\n"
    )
    assert (loyalty.pending_days, loyalty.expire_after_days, loyalty.rewards) == (0, None, ())
    assert loyalty.tiers is not None and loyalty.tiers.window == "rolling_12_months"
    assert [lv.multiplier for lv in loyalty.tiers.levels] == [Decimal(1), Decimal(1)]
    assert loyalty.tiers.levels[1].reward is None
    bare = parse_loyalty("loyalty: {timezone: UTC, earn: [{event: order.paid, points: 1}]}")
    assert bare.tiers is None and bare.rewards == ()


def test_the_example_loads_beside_the_games_and_is_no_campaign() -> None:
    loyalty = load_loyalty(EXAMPLES / LOYALTY_FILE)
    assert loyalty.tiers is not None
    assert [lv.id for lv in loyalty.tiers.levels] == ["bronce", "plata", "oro"]
    oro = loyalty.tiers.level("oro")
    assert oro.reward is not None and oro.reward.plays == ExtraPlays("black-friday-wheel", 1)
    assert [(r.cost, r.stock) for r in loyalty.rewards] == [(300, 1000), (500, None)]
    assert "loyalty" not in {c.id for c in load_campaigns(EXAMPLES)}


# -- every rule, located ------------------------------------------------------------------------

EARN = """\
  earn:
    - event: order.paid
      points_per_unit: 1
    - event: review.published
      points: 50
      at_most: {times: 1, per: week}
"""
LEVELS = VALID[VALID.index("    levels:\n") : VALID.index("  rewards:\n")]


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("timezone: Europe/Madrid", "timezone: Europe/Madird", (2, 13, "loyalty.timezone"),
         "must be an IANA time zone such as Europe/Madrid; did you mean `Europe/Madrid`?"),
        ("timezone: Europe/Madrid", "timezone: CET+1", (2, 13, "loyalty.timezone"),
         "must be an IANA time zone such as Europe/Madrid"),
        ("  timezone: Europe/Madrid\n", "", (2, 3, "loyalty.timezone"), "required key missing"),
        (EARN, "  earn: []\n", (3, 9, "loyalty.earn"), "must be a list of 1 or more rules"),
        (EARN, "", (2, 3, "loyalty.earn"), "required key missing"),
        ("      points_per_unit: 1\n", "      points_per_unit: 1\n      points: 3\n",
         (6, 7, "loyalty.earn[0].points"), "give either points_per_unit or points, not both"),
        ("      points_per_unit: 1\n", "", (4, 7, "loyalty.earn[0].points"),
         "required key missing (points, or points_per_unit)"),
        ("points_per_unit: 1", "points_per_unit: 0.00001",
         (5, 24, "loyalty.earn[0].points_per_unit"),
         "must be a number > 0 with at most 4 decimals"),
        ("points_per_unit: 1", "points_per_unit: 0", (5, 24, "loyalty.earn[0].points_per_unit"),
         "must be a number > 0 with at most 4 decimals"),
        ("points_per_unit: 1", "points_per_unit: 5000", (5, 24, "loyalty.earn[0].points_per_unit"),
         "must be at most 1000"),
        ("points: 50", "points: 0", (7, 15, "loyalty.earn[1].points"),
         "must be a whole number from 1 to 1,000,000,000"),
        ("points: 50", "points: 2.5", (7, 15, "loyalty.earn[1].points"),
         "must be a whole number from 1 to 1,000,000,000"),
        ("points: 50", "points_per_unit: 2", (7, 24, "loyalty.earn[1].points_per_unit"),
         "`points_per_unit` counts the order total: it needs an order.* event"),
        ("event: review.published", "event: order.paid", (6, 14, "loyalty.earn[1].event"),
         "event type listed twice (first on line 4)"),
        ("event: review.published", "event: order.refunded", (6, 14, "loyalty.earn[1].event"),
         "a refund takes back what its order earned; it cannot earn points"),
        ("event: review.published", "event: Review", (6, 14, "loyalty.earn[1].event"),
         "must be an event type such as order.paid"),
        ("per: week}", "per: month}", (8, 32, "loyalty.earn[1].at_most.per"),
         "must be one of day, week"),
        ("pending_days: 14", "pending_days: -1", (9, 17, "loyalty.pending_days"),
         "must be a whole number of days from 0 to 3,650"),
        ("expire_after_days: 365", "expire_after_days: 0", (10, 22, "loyalty.expire_after_days"),
         "must be a whole number of days from 1 to 3,650 (leave expire_after_days out and "
         "points never expire)"),
        ("qualify_on: points_earned", "qualify_on: balance", (12, 17, "loyalty.tiers.qualify_on"),
         "must be points_earned: tiers count the points earned in the window, never the balance"),
        ("window: rolling_12_months", "window: rolling_year", (13, 13, "loyalty.tiers.window"),
         "must be one of rolling_12_months, calendar_year, lifetime"),
        (LEVELS, "    levels: []\n", (14, 13, "loyalty.tiers.levels"),
         "must be a list of 1 or more levels"),
        (LEVELS, "", (12, 5, "loyalty.tiers.levels"), "required key missing"),
        ("        min: 0\n", "        min: 100\n", (17, 14, "loyalty.tiers.levels[0].min"),
         "the first level must have min 0: every customer has a tier"),
        ("min: 1500", "min: 500", (27, 14, "loyalty.tiers.levels[2].min"),
         "tier thresholds are not increasing: `oro` must need more points than `plata` before "
         "it (min 500)"),
        ("min: 500", "min: -5", (20, 14, "loyalty.tiers.levels[1].min"),
         "must be a whole number from 0 to 1,000,000,000"),
        ("multiplier: 1.25", "multiplier: 0", (21, 21, "loyalty.tiers.levels[1].multiplier"),
         "must be a number > 0 with at most 4 decimals"),
        ("multiplier: 1.5", "multiplier: -1.5", (28, 21, "loyalty.tiers.levels[2].multiplier"),
         "must be a number > 0 with at most 4 decimals"),
        ("multiplier: 1.5", "multiplier: 11", (28, 21, "loyalty.tiers.levels[2].multiplier"),
         "must be at most 10"),
        ("      - id: oro", "      - id: plata", (25, 13, "loyalty.tiers.levels[2].id"),
         "duplicate level id (first used on line 18)"),
        ("      - id: oro", "      - id: Oro", (25, 13, "loyalty.tiers.levels[2].id"),
         "must be 1 to 64 characters of a-z, 0-9 and -"),
        ("        label: {es: Oro, en: Gold}\n", "", (25, 9, "loyalty.tiers.levels[2].label"),
         "required key missing"),
        ("{es: Bronce, en: Bronze}", "{ES: Bronce}", (16, 17, "loyalty.tiers.levels[0].label.ES"),
         "must be a two-letter language code such as es or en"),
        ("          plays: {campaign: wheel, count: 1}", "          label: Nada",
         (30, 11, "loyalty.tiers.levels[2].reward"),
         "a level reward needs coupon or plays (or both)"),
        ("campaign: wheel,", "campaign: wheels,",
         (30, 29, "loyalty.tiers.levels[2].reward.plays.campaign"),
         "no wheel or scratch campaign has this id; did you mean `wheel`?"),
        ("count: 1}", "count: 0}", (30, 43, "loyalty.tiers.levels[2].reward.plays.count"),
         "must be a whole number >= 1"),
        ('{pattern: "PLATA-{code:8}"}', '{pattern: "PLATA-{code:2}"}',
         (24, 29, "loyalty.tiers.levels[1].reward.coupon.pattern"),
         "must be text with one {code:N}"),
        ('      coupon: {pattern: "ENVIO-{code:8}"}\n', "", (32, 7, "loyalty.rewards[0].coupon"),
         "a reward without coupon: points buy a coupon code"),
        ("    - id: envio", "    - id: loyalty", (32, 11, "loyalty.rewards[0].id"),
         "`loyalty` is reserved for the loyalty card; choose another id"),
        ("    - id: cinco", "    - id: envio", (38, 11, "loyalty.rewards[1].id"),
         "duplicate reward id (first used on line 32)"),
        ("cost: 300", "cost: 0", (34, 13, "loyalty.rewards[0].cost"),
         "must be a whole number from 1 to 1,000,000,000"),
        ("stock: 1000", "stock: 0", (36, 14, "loyalty.rewards[0].stock"),
         "must be a whole number from 1 to 1,000,000,000"),
        ("      stock: 2\n", "      stock: 5\n", (41, 15, "loyalty.rewards[1].coupon"),
         "a reward with a coupon pool needs a stock of at most its 3 codes"),
        ("coupons/cinco.csv", "coupons/seis.csv", (41, 22, "loyalty.rewards[1].coupon.pool"),
         "file not found"),
        ("coupons/cinco.csv", "../cinco.csv", (41, 22, "loyalty.rewards[1].coupon.pool"),
         "the coupon pool"),
        ("description: En tu próximo pedido", 'description: ""',
         (37, 20, "loyalty.rewards[0].description"), "must be a text of 1 to 200 characters"),
        ("cost: 300", "cots: 300", (34, 7, "loyalty.rewards[0].cots"),
         "unknown key; did you mean `cost`?"),
        ("window: rolling", "windw: rolling", (13, 5, "loyalty.tiers.windw"),
         "unknown key; did you mean `window`?"),
        ("  pending_days: 14", "  pendig_days: 14", (9, 3, "loyalty.pendig_days"),
         "unknown key; did you mean `pending_days`?"),
        ("at_most: {times: 1,", "at_most: {time: 1,", (8, 17, "loyalty.earn[1].at_most.time"),
         "unknown key; did you mean `times`?"),
        ("loyalty:\n", "loyalti:\n", (1, 1, "loyalti"), "unknown key; did you mean `loyalty`?"),
    ],
)  # fmt: skip
def test_each_mistake_is_located_and_named(
    issues: Issues, old: str, new: str, where: tuple[int, int, str], message: str
) -> None:
    found = issues(edit(old, new))
    assert any(located(i) == where and i.message.startswith(message) for i in found), [
        str(i) for i in found
    ]


def test_a_wrong_type_says_what_it_got(issues: Issues) -> None:
    issue = only(issues(edit("cost: 300", 'cost: "300"')))
    assert str(issue) == (
        f"{issue.file}:34:13: loyalty.rewards[0].cost: must be a whole number from 1 to "
        "1,000,000,000 (got '300')"
    )


def test_a_setting_beside_loyalty_is_told_to_go_under_it(issues: Issues) -> None:
    found = issues(VALID + "pending_days: 3\nprogramme: x\n")
    assert [(located(i), i.message) for i in found] == [
        ((43, 1, "pending_days"), "`pending_days` goes under `loyalty:`, indented"),
        ((44, 1, "programme"), "unknown key; the file has one key, loyalty"),
    ]


def test_a_file_without_loyalty_or_not_a_mapping(issues: Issues) -> None:
    flat = "timezone: UTC\nearn: [{event: order.paid, points: 1}]\n"
    assert [(located(i), i.message) for i in issues(flat)] == [
        ((1, 1, "timezone"), "`timezone` goes under `loyalty:`, indented"),
        ((1, 1, "loyalty"), "required key missing: the programme goes under it"),
        ((2, 1, "earn"), "`earn` goes under `loyalty:`, indented"),
    ]
    assert only(issues("- loyalty\n")).message == "must be a mapping with one key, loyalty"
    assert only(issues("loyalty: yes\n")).path == "loyalty"


def test_thresholds_not_increasing_name_the_highest_level_before(issues: Issues) -> None:
    text = edit("min: 1500", "min: 400")
    found = only(issues(text))
    assert located(found) == (27, 14, "loyalty.tiers.levels[2].min")
    assert "`oro` must need more points than `plata` before it (min 500)" in found.message
    assert found.got == "400"


def test_every_mistake_of_a_file_is_reported_at_once(issues: Issues) -> None:
    text = edit("timezone: Europe/Madrid", "timezone: Mars/Olympus")
    text = edit("event: review.published", "event: order.paid", text)
    text = edit("min: 1500", "min: 500", text)
    text = edit("multiplier: 1.25", "multiplier: -1", text)
    text = edit("campaign: wheel,", "campaign: nope,", text)
    text = edit('      coupon: {pattern: "ENVIO-{code:8}"}\n', "", text)
    text = edit("    - id: cinco", "    - id: envio", text)
    text = edit("cost: 500", "price: 500", text)
    found = issues(text)
    assert [located(i) for i in found] == [
        (2, 13, "loyalty.timezone"),
        (6, 14, "loyalty.earn[1].event"),
        (21, 21, "loyalty.tiers.levels[1].multiplier"),
        (27, 14, "loyalty.tiers.levels[2].min"),
        (30, 29, "loyalty.tiers.levels[2].reward.plays.campaign"),
        (32, 7, "loyalty.rewards[0].coupon"),
        (37, 7, "loyalty.rewards[1].cost"),
        (39, 7, "loyalty.rewards[1].price"),
    ], [str(i) for i in found]
    assert all(str(i).startswith(f"{i.file}:{i.line}:{i.column}: {i.path}: ") for i in found)


def test_a_level_pool_is_read_and_its_codes_are_its_own(issues: Issues, folder: Path) -> None:
    shared = edit('{pattern: "PLATA-{code:8}"}', "{pool: coupons/cinco.csv}")
    found = only(issues(shared))
    assert located(found) == (41, 22, "loyalty.rewards[1].coupon.pool")
    assert "is also in the pool of prize `plata`" in found.message
    (folder / "coupons" / "plata.csv").write_text("P-1\nP-2\n", encoding="utf-8")
    path = folder / LOYALTY_FILE
    path.write_text(edit('{pattern: "PLATA-{code:8}"}', "{pool: coupons/plata.csv}"), "utf-8")
    tiers = load_loyalty(path).tiers
    reward = tiers.level("plata").reward if tiers is not None else None
    assert reward is not None and reward.coupon is not None
    assert reward.coupon.pool == folder.absolute() / "coupons" / "plata.csv"


def test_in_memory_text_is_not_checked_against_a_folder() -> None:
    loyalty = parse_loyalty(
        edit("coupon: {pool: coupons/cinco.csv}", 'coupon: {pattern: "C{code:8}"}')
    )
    assert loyalty.tiers is not None and loyalty.source is None


# -- thresholds, as properties ------------------------------------------------------------------


def _with_mins(mins: list[int]) -> str:
    levels = "".join(f"      - {{id: l{i}, label: L{i}, min: {m}}}\n" for i, m in enumerate(mins))
    return (
        "loyalty:\n  timezone: UTC\n  earn: [{event: order.paid, points_per_unit: 1}]\n"
        f"  tiers:\n    levels:\n{levels}"
    )


@settings(max_examples=100, deadline=None)
@given(st.sets(st.integers(1, 10**9), max_size=12))
def test_any_increasing_thresholds_from_zero_load(above_zero: set[int]) -> None:
    mins = [0, *sorted(above_zero)]
    loyalty = parse_loyalty(_with_mins(mins))
    assert loyalty.tiers is not None
    assert [level.min for level in loyalty.tiers.levels] == mins
    assert loyalty.tiers.level_for(mins[-1]).id == f"l{len(mins) - 1}"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=12))
def test_any_thresholds_not_increasing_are_refused(rest: list[int]) -> None:
    mins = [0, *rest]
    if all(a < b for a, b in itertools.pairwise(mins)):
        mins.append(mins[-1])  # make it not increasing
    with pytest.raises(CampaignError) as caught:
        parse_loyalty(_with_mins(mins))
    messages = {i.message.split(":")[0] for i in caught.value.issues}
    assert messages == {"tier thresholds are not increasing"}
    first = next(i for i, (a, b) in enumerate(itertools.pairwise(mins)) if b <= a) + 1
    assert caught.value.issues[0].path == f"loyalty.tiers.levels[{first}].min"


# -- hostile input gives issues, never a traceback ----------------------------------------------


def test_a_huge_file_is_refused_before_it_is_parsed(issues: Issues) -> None:
    huge = VALID + "#" + "x" * MAX_BYTES + "\n"
    assert only(issues(huge)).message == f"file is larger than {MAX_BYTES} bytes"


def test_deep_nesting_is_refused(issues: Issues) -> None:
    deep = "loyalty:\n  timezone: UTC\n  earn: " + "[" * 200 + "]" * 200 + "\n"
    found = issues(deep)
    assert any(i.message.startswith("nested") for i in found), [str(i) for i in found]


def test_alias_bomb_is_refused_fast(issues: Issues) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    lines.append("loyalty: {timezone: UTC, earn: *i}")
    started = time.perf_counter()
    issue = only(issues("\n".join(lines) + "\n"))
    assert time.perf_counter() - started < 1
    assert "more than 10000 values once aliases are expanded" in issue.message


def test_recursive_alias_and_python_tags_are_refused(issues: Issues, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    found = issues(
        edit(
            "timezone: Europe/Madrid",
            f'timezone: !!python/object/apply:os.system ["touch {marker}"]',
        )
        + "    - &r {id: x, label: x, cost: 1, coupon: *r}\n"
    )
    assert not marker.exists()
    assert [(located(i), i.message) for i in found] == [
        ((2, 13, "loyalty.timezone"), "YAML tag not allowed; write plain values"),
        ((43, 7, "loyalty.rewards[2].coupon"),
         "alias refers to a value that contains it (recursive alias)"),
    ]  # fmt: skip


def test_not_utf8_empty_and_syntax_errors(issues: Issues, tmp_path: Path) -> None:
    assert only(issues(b"loyalty: caf\xe9\n")).message == "file is not valid UTF-8 text"
    assert only(issues("# nothing\n")).message.startswith("file is empty")
    assert only(issues(edit("points: 50", "points: [50"))).message.startswith("YAML syntax error")
    with pytest.raises(CampaignError) as caught:
        load_loyalty(tmp_path / "nowhere" / LOYALTY_FILE)
    assert only(list(caught.value.issues)).message.startswith("cannot read the file")


KEYS = [
    "loyalty", "timezone", "earn", "event", "points_per_unit", "points", "at_most", "times",
    "per", "pending_days", "expire_after_days", "tiers", "qualify_on", "window", "levels", "id",
    "label", "min", "multiplier", "reward", "coupon", "plays", "campaign", "count", "pattern",
    "pool", "rewards", "cost", "stock", "description", "es", "en",
]  # fmt: skip
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["order.paid", "UTC", "week", "points_earned", "lifetime", "loyalty",
                       "X-{code:8}", "1.25", "0.00001", "..", "/etc/passwd", "wheel"])
)  # fmt: skip
STRUCTURES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=16,
)


def _only_loyalty_or_error(data: str | bytes) -> None:
    try:
        parse_loyalty(data, folder=Path(__file__).parent)
    except CampaignError as exc:
        assert exc.issues
        assert all(issue.line >= 1 and issue.column >= 1 for issue in exc.issues)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text() | st.binary())
def test_arbitrary_text_gives_a_loyalty_or_an_error(data: str | bytes) -> None:
    _only_loyalty_or_error(data)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), STRUCTURES))
def test_arbitrary_structures_give_a_loyalty_or_an_error(body: dict[str, object]) -> None:
    _only_loyalty_or_error(yaml.safe_dump({"loyalty": body}, allow_unicode=True))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, VALID.count("\n") - 1), STRUCTURES)
def test_valid_file_with_one_value_replaced(line: int, value: object) -> None:
    lines = VALID.splitlines()
    key = lines[line].split(":")[0]
    dumped = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    dumped = dumped.removesuffix("...").strip().replace("\n", " ")
    lines[line] = f"{key}: {dumped}"
    _only_loyalty_or_error("\n".join(lines) + "\n")


# -- the registry -------------------------------------------------------------------------------


def _write(path: Path, text: str) -> None:
    """A new version; its size differs or its time does, so the registry sees the change."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == before:
        time.sleep(0.01)
        path.write_text(text, encoding="utf-8")


def test_the_registry_serves_the_programme_and_never_as_a_campaign(folder: Path) -> None:
    heard: list[Loyalty] = []
    loaded: list[str] = []
    registry = Registry(
        folder, on_load=lambda c: loaded.append(c.id), interval=0, on_loyalty=heard.append
    )
    assert registry.loyalty() is None  # no file yet
    path = folder / LOYALTY_FILE
    _write(path, VALID)
    loyalty = registry.loyalty()  # maybe_reload notices the new file
    assert loyalty is not None and loyalty.source == path and loyalty.pending_days == 14
    assert heard == [loyalty]
    assert sorted(registry.campaigns) == ["wheel"] and set(loaded) == {"wheel"}
    assert path not in registry.files()

    report = registry.reload()  # heard again, as on_load is (pools are read again), unchanged
    assert report.loaded == [] and report.refused == [] and heard == [loyalty, loyalty]

    _write(path, edit("min: 1500", "min: 100"))  # broken: the last good version stays
    report = registry.reload()
    assert [located(i) for i in report.refused] == [(27, 14, "loyalty.tiers.levels[2].min")]
    assert registry.loyalty() == loyalty and len(heard) == 2

    _write(path, edit("pending_days: 14", "pending_days: 30"))
    report = registry.reload()
    assert report.loaded == ["loyalty"]
    new = registry.loyalty()
    assert new is not None and new.pending_days == 30 and heard == [loyalty, loyalty, new]

    path.unlink()
    report = registry.reload()
    assert report.removed == ["loyalty"] and registry.loyalty() is None
    assert sorted(registry.campaigns) == ["wheel"]


def test_on_loyalty_may_refuse_a_version(folder: Path) -> None:
    def refuse_thirty(loyalty: Loyalty) -> None:
        if loyalty.pending_days == 30:
            issue = ConfigIssue(str(loyalty.source), 9, 17, "loyalty.pending_days", "refused")
            raise CampaignError([issue])

    registry = Registry(folder, on_load=lambda c: None, interval=0, on_loyalty=refuse_thirty)
    path = folder / LOYALTY_FILE
    _write(path, VALID)
    registry.reload()
    _write(path, edit("pending_days: 14", "pending_days: 30"))
    report = registry.reload()
    assert [i.message for i in report.refused] == ["refused"]
    kept = registry.loyalty()
    assert kept is not None and kept.pending_days == 14


def test_a_broken_programme_at_start_serves_none_and_the_campaigns(folder: Path) -> None:
    (folder / LOYALTY_FILE).write_text(edit("cost: 300", "cost: -3"), encoding="utf-8")
    registry = Registry(folder, on_load=lambda c: None, interval=0)
    report = registry.reload()
    assert [i.path for i in report.refused] == ["loyalty.rewards[0].cost"]
    assert registry.loyalty() is None and list(registry.campaigns) == ["wheel"]


@pytest.mark.parametrize(
    "text",
    [
        WHEEL.replace("id: wheel", "id: loyalty"),
        "id: loyalty\ngame: challenge\ntitle: T\ntimezone: UTC\nstarts: 2026-01-01\n"
        "ends: 2026-02-01\nsteps: [{id: s, label: S, event: order.paid, count: 1}]\n"
        "reward: {label: R, points: 1}\n",
    ],
)
def test_no_campaign_or_challenge_may_be_called_loyalty(folder: Path, text: str) -> None:
    path = folder / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CampaignError) as caught:
        load_campaign(path)
    issue = only(list(caught.value.issues))
    assert located(issue) == (1, 5, "id")
    assert issue.message == "`loyalty` is reserved for the loyalty card; choose another id"
    registry = Registry(folder, on_load=lambda c: None, interval=0)
    assert [i.path for i in registry.reload().refused] == ["id"]
    assert "loyalty" not in registry.campaigns
    path.write_text(text.replace("id: loyalty", "id: mine"), encoding="utf-8")
    assert load_campaign(path).id == "mine"
    assert isinstance(load_campaign(path), Challenge) == ("challenge" in text)


def test_load_campaigns_of_a_folder_skips_the_programme(folder: Path) -> None:
    (folder / LOYALTY_FILE).write_text("not: a campaign\n", encoding="utf-8")
    assert [c.id for c in load_campaigns(folder)] == ["wheel"]


# -- gamify check and gamify schema -------------------------------------------------------------


def test_check_prints_the_programme_of_a_folder_and_of_a_file(folder: Path) -> None:
    path = folder / LOYALTY_FILE
    path.write_text(VALID, encoding="utf-8")
    runner = CliRunner()
    for target in (folder, path):
        result = runner.invoke(cli, ["check", str(target)])
        assert result.exit_code == 0, result.output
        out = result.output
        assert f"loyalty ({path}): Europe/Madrid, order points usable after 14 days" in out
        assert "earn review.published: 50 points, at most 1 per week" in out
        assert "oro     1,500        x1.5  1 extra play(s) of wheel" in out
        assert "cinco    500      2  coupon " in out
        assert "warning: label of reward `cinco` has no text" not in out  # a plain text is both
    assert "wheel (" in runner.invoke(cli, ["check", str(folder)]).output
    assert "wheel (" not in runner.invoke(cli, ["check", str(path)]).output


def test_check_prints_every_mistake_of_the_programme_and_exits_1(folder: Path) -> None:
    path = folder / LOYALTY_FILE
    path.write_text(
        edit("min: 1500", "min: 5").replace("qualify_on: points_earned", "qualify_on: balance")
    )
    for target in (folder, path):
        result = CliRunner().invoke(cli, ["check", str(target)])
        assert result.exit_code == 1
        lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
        assert lines == [
            f"{path}:12:17: loyalty.tiers.qualify_on: must be points_earned: tiers count the "
            "points earned in the window, never the balance (got 'balance')",
            f"{path}:27:14: loyalty.tiers.levels[2].min: tier thresholds are not increasing: "
            "`oro` must need more points than `plata` before it (min 500) (got 5)",
        ]
    # the campaigns of the folder are still checked and printed
    assert "wheel (" in CliRunner().invoke(cli, ["check", str(folder)]).output


def test_check_of_the_examples_includes_the_programme() -> None:
    result = CliRunner().invoke(cli, ["check", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert "loyalty (" in result.output and "black-friday-wheel (" in result.output
    assert "oro     1,500        x1.5  1 extra play(s) of black-friday-wheel" in result.output


def test_schema_command_prints_it_and_the_published_copy_is_current() -> None:
    result = CliRunner().invoke(cli, ["schema", "--loyalty"])
    assert result.exit_code == 0
    assert json.loads(result.output) == loyalty_schema()
    published = json.loads((ROOT / "docs" / "loyalty.schema.json").read_text(encoding="utf-8"))
    assert published == loyalty_schema(), "run: gamify schema --loyalty > docs/loyalty.schema.json"
    assert json.loads(CliRunner().invoke(cli, ["schema"]).output)["$id"] != SCHEMA_ID


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = loyalty_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == SCHEMA_ID == "https://gamify.dev/schema/loyalty.json"
    return Draft202012Validator(schema)


def _errors(validator: Draft202012Validator, text: str) -> list[str]:
    root, found = parse_yaml(text, "x.yaml")
    assert root is not None and not found
    return [e.message for e in validator.iter_errors(root.plain())]


def test_the_schema_takes_the_examples(validator: Draft202012Validator) -> None:
    assert list(validator.iter_errors(EXAMPLE)) == []
    assert parse_loyalty(json.dumps(EXAMPLE)).tiers is not None
    example = EXAMPLES / LOYALTY_FILE
    assert _errors(validator, example.read_text(encoding="utf-8")) == []
    assert example.read_text(encoding="utf-8").splitlines()[0] == (
        "# yaml-language-server: $schema=../../docs/loyalty.schema.json"
    )
    assert _errors(validator, VALID) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("loyalty:\n", "loyalti:\n"),
        ("  timezone: Europe/Madrid\n", ""),
        ("      points_per_unit: 1\n", ""),
        ("      points_per_unit: 1\n", "      points_per_unit: 1\n      points: 3\n"),
        ("event: review.published", "event: order.refunded"),
        ("points: 50", "points: 0"),
        ("per: week}", "per: month}"),
        ("pending_days: 14", "pending_days: -1"),
        ("expire_after_days: 365", "expire_after_days: 0"),
        ("qualify_on: points_earned", "qualify_on: balance"),
        ("window: rolling_12_months", "window: rolling_year"),
        ("multiplier: 1.25", "multiplier: 0"),
        ("          plays: {campaign: wheel, count: 1}", "          label: Nada"),
        ('      coupon: {pattern: "ENVIO-{code:8}"}\n', ""),
        ("    - id: envio", "    - id: loyalty"),
        ("      stock: 2\n", ""),
        ("cost: 300", "cots: 300"),
    ],
)
def test_the_schema_refuses_the_obvious_mistakes(
    validator: Draft202012Validator, old: str, new: str
) -> None:
    assert _errors(validator, edit(old, new))
