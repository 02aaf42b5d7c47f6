"""Campaign YAML: a valid file becomes a Campaign; every kind of mistake is located and named."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from textwrap import dedent

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamify.campaigns.loader import load_campaign, load_campaigns, parse_campaign
from gamify.core.campaign import Campaign, Coupon, Text
from gamify.core.errors import CampaignError, ConfigIssue
from gamify.core.rules import Budget, Limit

# Line numbers below are those of this text; tests change one line and keep the rest.
VALID = """\
id: black-friday-wheel
game: wheel
title: {es: "¡Gira y gana!", en: "Spin to win!"}
timezone: Europe/Madrid
starts: 2026-11-27T00:00:00
ends: 2026-12-01T00:00:00
limits:
  per_customer:
    - {plays: 1, per: day}
budget:
  max_value_per_day: 500
fallback: try-again
prizes:
  - id: ten-off
    label: {es: "10 % de descuento", en: "10% off"}
    weight: 30
    stock: 1000
    value: 5
    coupon: {pattern: "BF10-{code:8}"}
    color: "#e4572e"
  - id: try-again
    label: {es: "¡Casi! Inténtalo mañana", en: "So close! Try again tomorrow"}
    weight: 70
    win: false
"""

Issues = Callable[[str], list[ConfigIssue]]


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "campaign.yaml") -> Path:
        path = tmp_path / name
        path.write_text(dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def issues(write: Callable[..., Path]) -> Issues:
    """The issues of a file with this YAML; fails the test if the file loads."""

    def issues(text: str) -> list[ConfigIssue]:
        path = write(text)
        with pytest.raises(CampaignError) as caught:
            load_campaign(path)
        assert all(issue.file == str(path) for issue in caught.value.issues)
        return list(caught.value.issues)

    return issues


def edit(old: str, new: str, text: str = VALID) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def only(found: list[ConfigIssue]) -> ConfigIssue:
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def where(issue: ConfigIssue) -> tuple[int, int, str]:
    return issue.line, issue.column, issue.path


# -- a valid file ---------------------------------------------------------------------------


def test_valid_file_gives_the_campaign(write: Callable[..., Path]) -> None:
    path = write(VALID)
    campaign = load_campaign(path)
    assert campaign.id == "black-friday-wheel"
    assert campaign.game == "wheel"
    assert campaign.title == Text((("es", "¡Gira y gana!"), ("en", "Spin to win!")))
    assert campaign.timezone == "Europe/Madrid"
    assert campaign.starts == datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
    assert campaign.ends == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert campaign.limits == (Limit(plays=1, per="day"),)
    assert campaign.budget == Budget(max_value_per_day=Decimal("500"))
    assert campaign.fallback == "try-again"
    assert [p.id for p in campaign.prizes] == ["ten-off", "try-again"]
    assert [p.weight for p in campaign.prizes] == [30, 70]
    ten_off, try_again = campaign.prizes
    assert ten_off.stock == 1000
    assert ten_off.value == Decimal("5")
    assert isinstance(ten_off.value, Decimal)
    assert ten_off.coupon == Coupon(pattern="BF10-{code:8}")
    assert ten_off.color == "#e4572e"
    assert ten_off.win is True
    assert (try_again.stock, try_again.value, try_again.win) == (None, None, False)
    assert campaign.description is None
    assert campaign.source == path
    assert campaign.rules.total_weight == 100


def test_plain_text_applies_to_every_language_and_optional_keys_may_be_absent() -> None:
    text = edit('title: {es: "¡Gira y gana!", en: "Spin to win!"}', "title: Spin to win!")
    text = edit("limits:\n  per_customer:\n    - {plays: 1, per: day}\n", "", text)
    text = edit("budget:\n  max_value_per_day: 500\n", "description: Only today\n", text)
    campaign = parse_campaign(text)
    assert campaign.title == Text((("es", "Spin to win!"), ("en", "Spin to win!")))
    assert campaign.description == Text((("es", "Only today"), ("en", "Only today")))
    assert campaign.limits == ()
    assert campaign.budget == Budget()


def test_a_date_alone_is_local_midnight_and_offsets_are_kept() -> None:
    text = edit("starts: 2026-11-27T00:00:00", "starts: 2026-11-27")
    text = edit("ends: 2026-12-01T00:00:00", "ends: 2026-12-01T00:00:00+05:00", text)
    campaign = parse_campaign(text)
    assert campaign.starts == datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
    assert campaign.ends == datetime(2026, 11, 30, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("percents", "weights"),
    [(("12.5", "37.5", "50"), [1, 3, 4]), (("30", "70"), [3, 7]), (("33.3333", "66.6667"), None)],
)
def test_percents_become_integer_weights(percents: tuple[str, ...], weights: list[int]) -> None:
    prizes = "".join(
        f"  - {{id: p{i}, label: P{i}, percent: {percent}}}\n" for i, percent in enumerate(percents)
    )
    text = VALID[: VALID.index("prizes:")] + "prizes:\n" + prizes
    campaign = parse_campaign(edit("fallback: try-again", "fallback: p1", text))
    expected = weights or [333333, 666667]
    assert [p.weight for p in campaign.prizes] == expected


def test_pool_coupon_is_resolved_next_to_the_file(write: Callable[..., Path]) -> None:
    pool = write("A1\nB2\n", "codes.csv")
    text = edit("stock: 1000", "stock: 2", edit('{pattern: "BF10-{code:8}"}', "{pool: codes.csv}"))
    assert load_campaign(write(text)).prizes[0].coupon == Coupon(pool=pool.resolve())


POOLED = edit('{pattern: "BF10-{code:8}"}', "{pool: codes.csv}")


@pytest.mark.parametrize(("stock", "got"), [("stock: 3", "3"), ("", "no stock")])
def test_a_pool_prize_needs_a_stock_its_pool_can_cover(
    issues: Issues, write: Callable[..., Path], stock: str, got: str
) -> None:
    """Each award takes a code, and the stock is what the audit log publishes: so the fallback
    given after the last code is one that anyone can re-derive from the bundle."""
    write("code\nA1\nB2\n", "codes.csv")
    issue = only(issues(edit("stock: 1000", stock, POOLED)))
    assert (issue.line, issue.path, issue.got) == (19, "prizes[0].coupon", got)
    assert "needs a stock of at most its 2 codes" in issue.message


def test_the_fallback_cannot_take_codes_from_a_pool(
    issues: Issues, write: Callable[..., Path]
) -> None:
    write("A1\n", "codes.csv")
    text = edit("    win: false\n", "    win: false\n    coupon: {pool: codes.csv}\n")
    found = issues(text)
    assert [(i.line, i.path) for i in found] == [
        (25, "prizes[1].coupon"),
        (25, "prizes[1].coupon.pool"),
    ]
    assert found[1].message == (
        "the fallback prize cannot have a coupon pool (its codes run out); use a pattern"
    )


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        ("../.env", "cannot go through `..` or hidden files and folders"),
        ("coupons/../../.env", "cannot go through `..` or hidden files and folders"),
        (".env", "cannot go through `..` or hidden files and folders"),
        ("/etc/passwd", "must be a path relative to the campaign file's folder"),
        ("'C:\\secrets.csv'", "must be a path relative to the campaign file's folder"),
        ("link.csv", "leads outside the campaign file's folder (through a symbolic link)"),
        ("linked/codes.csv", "leads outside the campaign file's folder (through a symbolic link)"),
        ("hidden.csv", "leads to a hidden file or folder (through a symbolic link)"),
    ],
)
def test_a_pool_outside_the_campaigns_folder_is_refused_and_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pool: str, message: str
) -> None:
    """``pool: ../.env`` once turned the server's secrets into coupon codes."""
    outside = tmp_path / "app"
    outside.mkdir()
    (outside / ".env").write_text("SECRET_KEY=hunter2\n", encoding="utf-8")
    (outside / "codes.csv").write_text("OUT-1\n", encoding="utf-8")
    folder = outside / "campaigns"
    folder.mkdir()
    (folder / ".env").write_text("SECRET_KEY=hunter2\n", encoding="utf-8")
    (folder / "link.csv").symlink_to(outside / ".env")
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    (folder / "hidden.csv").symlink_to(folder / ".env")
    opened: list[Path] = []
    real_open = Path.open

    def spy(self: Path, *args: object, **kwargs: object) -> object:
        opened.append(self)
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    path = folder / "campaign.yaml"
    path.write_text(edit("stock: 1000", "stock: 1", edit("codes.csv", pool, POOLED)))
    monkeypatch.setattr(Path, "open", spy)
    with pytest.raises(CampaignError) as caught:
        load_campaign(path)
    issue = only(list(caught.value.issues))
    assert str(issue) == (
        f"{path}:19:20: prizes[0].coupon.pool: the coupon pool {message} (got {pool!r})"
        if not pool.startswith("'")
        else f"{path}:19:20: prizes[0].coupon.pool: the coupon pool {message} "
        "(got 'C:\\\\secrets.csv')"
    )
    assert opened == [path]  # the campaign file, and no pool: not even to count its lines


def test_a_pool_in_a_symlinked_campaigns_folder_is_inside_it(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "coupons").mkdir(parents=True)
    (real / "coupons" / "codes.csv").write_text("A1\nB2\n", encoding="utf-8")
    (real / "campaign.yaml").write_text(
        edit("codes.csv", "./coupons/codes.csv", POOLED).replace("stock: 1000", "stock: 2")
    )
    (tmp_path / "campaigns").symlink_to(real, target_is_directory=True)
    campaign = load_campaign(tmp_path / "campaigns" / "campaign.yaml")
    assert campaign.prizes[0].coupon == Coupon(pool=real / "coupons" / "codes.csv")


def test_a_code_twice_in_a_pool_is_refused_with_its_line(
    issues: Issues, write: Callable[..., Path]
) -> None:
    """Duplicates passed the check, then the pool ran dry before the stock: plays got 400."""
    write("code\nBOX-1\nBOX-2\nBOX-3\nBOX-1\nBOX-3\n", "codes.csv")
    issue = only(issues(edit("stock: 1000", "stock: 3", POOLED)))
    assert where(issue) == (19, 20, "prizes[0].coupon.pool")
    assert issue.message == (
        "duplicate code in coupon pool: line 5 of codes.csv repeats line 2; 1 more codes are "
        "repeated; each code can be given only once"
    )
    assert issue.got == "'BOX-1'"


def test_a_code_in_two_prizes_pools_is_refused(issues: Issues, write: Callable[..., Path]) -> None:
    write("A1\nB2\n", "codes.csv")
    write("C3\nB2\n", "more.csv")
    second = (
        "  - id: more\n    label: More\n    weight: 1\n    stock: 2\n    coupon: {pool: more.csv}\n"
    )
    issue = only(issues(edit("stock: 1000", "stock: 2", POOLED) + second))
    assert where(issue) == (29, 20, "prizes[2].coupon.pool")
    assert issue.message == (
        "code on line 2 of more.csv is also in the pool of prize `ten-off` (line 2 of "
        "codes.csv); each code can be given only once"
    )
    assert issue.got == "'B2'"


def test_pool_codes_must_fit_the_database(issues: Issues, write: Callable[..., Path]) -> None:
    write("A1\n" + "X" * 129 + "\nB\x07\n", "codes.csv")
    found = issues(edit("stock: 1000", "stock: 1", POOLED))
    assert [i.message for i in found] == [
        "line 2 of codes.csv has a code longer than 128 characters",
        "line 3 of codes.csv has a code with an invisible or control character",
    ]


def test_a_pool_that_is_not_csv_is_a_mistake_not_a_crash(
    issues: Issues, write: Callable[..., Path]
) -> None:
    write('"' + "x" * 200_000 + '"\n', "codes.csv")
    issue = only(issues(edit("stock: 1000", "stock: 1", POOLED)))
    assert issue.message.startswith("coupon pool cannot be read: field larger than field limit")


def test_yaml_anchors_and_merge_keys_are_allowed() -> None:
    text = VALID + "  - &base {id: extra, label: Extra, weight: 1}\n  - {<<: *base, id: more}\n"
    campaign = parse_campaign(text)
    assert [(p.id, p.weight) for p in campaign.prizes][2:] == [("extra", 1), ("more", 1)]


# -- one test per kind of mistake -------------------------------------------------------------


def test_issue_text_is_file_line_column_path_message_got(issues: Issues, tmp_path: Path) -> None:
    issue = only(issues(edit("weight: 30", "weight: 0")))
    assert str(issue) == (
        f"{tmp_path / 'campaign.yaml'}:16:13: prizes[0].weight: must be a whole number >= 1 (got 0)"
    )


@pytest.mark.parametrize(
    ("old", "new", "at", "message", "got"),
    [
        ("weight: 30", 'weight: "30"', (16, 13, "prizes[0].weight"), "whole number >= 1", "'30'"),
        ("weight: 30", "weight: 30.5", (16, 13, "prizes[0].weight"), "whole number >= 1", "30.5"),
        ("weight: 30", "weight: null", (16, 13, "prizes[0].weight"), "whole number >= 1", "null"),
        ("weight: 30", "weight: true", (16, 13, "prizes[0].weight"), "whole number >= 1", "true"),
        ("stock: 1000", "stock: [1]", (17, 12, "prizes[0].stock"), "whole number >= 0",
         "a list of 1"),
        ("value: 5", "value: five", (18, 12, "prizes[0].value"), "a number >= 0", "'five'"),
        ("win: false", 'win: "no"', (24, 10, "prizes[1].win"), "true or false", "'no'"),
        ("max_value_per_day: 500", "max_value_per_day: {a: 1}",
         (11, 22, "budget.max_value_per_day"), "a number > 0", "a mapping"),
        ("    - {plays: 1, per: day}", "    - 7", (9, 7, "limits.per_customer[0]"),
         "a mapping with keys plays, per", "7"),
        ("limits:\n  per_customer:", "limits:\n  per_customer: daily\n  x:", (8, 17,
         "limits.per_customer"), "a list such as", "'daily'"),
        ('title: {es: "¡Gira y gana!", en: "Spin to win!"}', "title: [a, b]", (3, 8, "title"),
         "a text of 1 to 200 characters", "a list of 2"),
    ],
)  # fmt: skip
def test_wrong_types(
    issues: Issues, old: str, new: str, at: tuple[int, int, str], message: str, got: str
) -> None:
    found = [i for i in issues(edit(old, new)) if "unknown key" not in i.message]
    issue = only(found)
    assert where(issue) == at
    assert message in issue.message
    assert issue.got == got


def test_prizes_not_a_list_and_a_prize_that_is_a_string(issues: Issues) -> None:
    issue = only(issues(VALID[: VALID.index("prizes:")] + "prizes: ten-off\n"))
    assert where(issue) == (13, 9, "prizes")
    assert (issue.message, issue.got) == ("must be a list of prizes", "'ten-off'")
    issue = only(issues(VALID + "  - just a string\n"))
    assert where(issue) == (25, 5, "prizes[2]")
    assert issue.message.startswith("must be a mapping with keys id, label, weight")


@pytest.mark.parametrize("weight", ["0", "-3"])
def test_weights_below_one(issues: Issues, weight: str) -> None:
    issue = only(issues(edit("weight: 70", f"weight: {weight}")))
    assert where(issue) == (23, 13, "prizes[1].weight")
    assert issue.message == "must be a whole number >= 1"
    assert issue.got == weight


def test_total_weight_must_fit_the_64_bit_draw(issues: Issues) -> None:
    issue = only(issues(edit("weight: 70", f"weight: {2**64}")))
    assert where(issue) == (14, 3, "prizes")
    assert issue.message == "weights must add up to at most 2**64 (18446744073709551616)"
    assert issue.got == str(2**64 + 30)


def test_weight_and_percent_mixed(issues: Issues) -> None:
    issue = only(issues(edit("weight: 70", "percent: 70")))
    assert where(issue) == (23, 5, "prizes[1].percent")
    assert issue.message.startswith("weight and percent mixed")
    assert "prizes[0] uses weight" in issue.message


def test_weight_and_percent_in_one_prize(issues: Issues) -> None:
    issue = only(issues(edit("weight: 70", "weight: 70\n    percent: 70")))
    assert where(issue) == (24, 5, "prizes[1].percent")
    assert issue.message == "give either weight or percent, not both"


def test_neither_weight_nor_percent(issues: Issues) -> None:
    issue = only(issues(edit("    weight: 70\n", "")))
    assert where(issue) == (21, 5, "prizes[1].weight")
    assert issue.message.startswith("required key missing")


def test_percents_must_sum_to_exactly_100(issues: Issues) -> None:
    text = edit("weight: 30", "percent: 30.5", edit("weight: 70", "percent: 69.4"))
    issue = only(issues(text))
    assert where(issue) == (14, 3, "prizes")
    assert issue.message == "percents must sum to exactly 100"
    assert issue.got == "99.9"


def test_percent_with_more_than_4_decimals(issues: Issues) -> None:
    text = edit("weight: 30", "percent: 30.00001", edit("weight: 70", "percent: 69.99999"))
    found = issues(text)
    assert [where(i) for i in found] == [
        (16, 14, "prizes[0].percent"),
        (23, 14, "prizes[1].percent"),
    ]
    assert found[0].message == "must be a number > 0 with at most 4 decimals"
    assert found[0].got == "30.00001"


def test_trailing_zeros_do_not_count_as_decimals() -> None:
    text = edit("weight: 30", "percent: 30.000000", edit("weight: 70", "percent: 70"))
    assert [p.weight for p in parse_campaign(text).prizes] == [3, 7]


def test_duplicate_prize_ids(issues: Issues) -> None:
    issue = only(issues(VALID + "  - {id: ten-off, label: Again, weight: 1}\n"))
    assert where(issue) == (25, 10, "prizes[2].id")
    assert issue.message == "duplicate prize id (first used on line 14)"
    assert issue.got == "'ten-off'"


def test_unknown_keys_suggest_the_close_one(issues: Issues) -> None:
    found = issues(edit("    stock: 1000\n", "    stok: 1000\n", "descripton: hi\n" + VALID))
    assert [(where(i), i.message) for i in found] == [
        ((1, 1, "descripton"), "unknown key; did you mean `description`?"),
        ((18, 5, "prizes[0].stok"), "unknown key; did you mean `stock`?"),
    ]


def test_unknown_key_without_a_close_one_lists_the_allowed(issues: Issues) -> None:
    issue = only(issues(edit("  max_value_per_day: 500", "  max_value_per_day: 500\n  zzz: 1")))
    assert where(issue) == (12, 3, "budget.zzz")
    assert issue.message == "unknown key; allowed keys are max_value_per_day, max_value_total"


def test_duplicate_yaml_keys_report_the_second(issues: Issues) -> None:
    issue = only(issues(edit("    stock: 1000", "    stock: 1000\n    stock: 5")))
    assert where(issue) == (18, 5, "prizes[0].stock")
    assert issue.message == "duplicate key (first written on line 17)"


@pytest.mark.parametrize("zone", ["CET+1", "Mars/Olympus", "europe/madrid", "localtime"])
def test_non_iana_timezone(issues: Issues, zone: str) -> None:
    issue = only(issues(edit("timezone: Europe/Madrid", f"timezone: {zone}")))
    assert where(issue) == (4, 11, "timezone")
    assert issue.message.startswith("must be an IANA time zone such as Europe/Madrid")
    assert issue.got == repr(zone)


def test_timezone_typo_suggests_the_zone(issues: Issues) -> None:
    issue = only(issues(edit("timezone: Europe/Madrid", "timezone: Europe/Madird")))
    assert issue.message.endswith("did you mean `Europe/Madrid`?")


@pytest.mark.parametrize("ends", ["2026-11-27T00:00:00", "2026-11-20", "2026-11-26T23:00:00Z"])
def test_ends_must_be_after_starts(issues: Issues, ends: str) -> None:
    issue = only(issues(edit("ends: 2026-12-01T00:00:00", f"ends: {ends}")))
    assert where(issue) == (6, 7, "ends")
    assert issue.message == "must be after starts (2026-11-27T00:00:00)"


@pytest.mark.parametrize("starts", ["2026-13-01", "tomorrow", "2026"])
def test_starts_must_be_a_date_time(issues: Issues, starts: str) -> None:
    issue = only(issues(edit("starts: 2026-11-27T00:00:00", f"starts: {starts}")))
    assert where(issue) == (5, 9, "starts")
    assert issue.message.startswith("must be a date-time such as 2026-11-27T00:00:00")


@pytest.mark.parametrize("color", ['"red"', '"#12345"', '"e4572e"', "12"])
def test_bad_colour(issues: Issues, color: str) -> None:
    issue = only(issues(edit('color: "#e4572e"', f"color: {color}")))
    assert where(issue) == (20, 12, "prizes[0].color")
    assert issue.message == 'must be a colour such as "#e4572e" or "#fff"'


def test_unquoted_colour_is_a_comment_and_says_so(issues: Issues) -> None:
    issue = only(issues(edit('color: "#e4572e"', "color: #e4572e")))
    assert issue.path == "prizes[0].color"
    assert "a bare # starts a comment" in issue.message
    assert issue.got == "null"


def test_unknown_game(issues: Issues) -> None:
    issue = only(issues(edit("game: wheel", "game: wheels")))
    assert where(issue) == (2, 7, "game")
    assert issue.message == "must be one of wheel, scratch, challenge; did you mean `wheel`?"
    assert issue.got == "'wheels'"


def test_unknown_per(issues: Issues) -> None:
    issue = only(issues(edit("per: day", "per: month")))
    assert where(issue) == (9, 23, "limits.per_customer[0].per")
    assert issue.message == "must be one of day, week, campaign"
    assert issue.got == "'month'"


def test_fallback_missing(issues: Issues) -> None:
    issue = only(issues(edit("fallback: try-again", "fallback: try-agan")))
    assert where(issue) == (12, 11, "fallback")
    assert issue.message == "no prize has this id; did you mean `try-again`?"


def test_fallback_limited_and_valued(issues: Issues) -> None:
    found = issues(edit("fallback: try-again", "fallback: ten-off"))
    assert [(where(i), i.got) for i in found] == [
        ((17, 12, "prizes[0].stock"), "1000"),
        ((18, 12, "prizes[0].value"), "5"),
    ]
    assert [i.message for i in found] == [
        "the fallback prize cannot have a stock limit; remove `stock`",
        "the fallback prize cannot have a value; remove `value`",
    ]


def test_coupon_pool_file_missing(issues: Issues, tmp_path: Path) -> None:
    issue = only(issues(edit('{pattern: "BF10-{code:8}"}', "{pool: coupons/ten-off.csv}")))
    assert where(issue) == (19, 20, "prizes[0].coupon.pool")
    assert issue.message == f"file not found: {tmp_path / 'coupons' / 'ten-off.csv'}"
    assert issue.got == "'coupons/ten-off.csv'"


@pytest.mark.parametrize(
    "coupon", ['{pattern: "BF10"}', '{pattern: "BF-{code:3}"}', '{pattern: "{code:8}{code:8}"}',
               '{pattern: "BF 10-{code:8}"}', '{pattern: "BF-{code:33}"}'],
)  # fmt: skip
def test_bad_coupon_pattern(issues: Issues, coupon: str) -> None:
    issue = only(issues(edit('{pattern: "BF10-{code:8}"}', coupon)))
    assert where(issue) == (19, 23, "prizes[0].coupon.pattern")
    assert issue.message.startswith("must be text with one {code:N} placeholder (N from 4 to 32)")


def test_coupon_needs_exactly_one_of_pattern_or_pool(issues: Issues) -> None:
    issue = only(issues(edit('{pattern: "BF10-{code:8}"}', '{pattern: "A{code:8}", pool: x}')))
    assert where(issue) == (19, 13, "prizes[0].coupon")
    assert issue.message == "needs exactly one of pattern or pool"


def test_no_prizes(issues: Issues) -> None:
    issue = only(issues(VALID[: VALID.index("prizes:")] + "prizes: []\n"))
    assert where(issue) == (13, 9, "prizes")
    assert issue.message == "needs at least one prize"


def test_required_keys_missing_are_reported_at_the_mapping(issues: Issues) -> None:
    found = issues(VALID[: VALID.index("fallback:")] + "prizes:\n  - {weight: 1}\n")
    assert [(where(i), i.message) for i in found] == [
        ((1, 1, "fallback"), "required key missing"),
        ((13, 5, "prizes[0].id"), "required key missing"),
        ((13, 5, "prizes[0].label"), "required key missing"),
    ]


@pytest.mark.parametrize("bad", ["Black-Friday", "black friday", "black_friday", "x" * 65, '""'])
def test_bad_ids(issues: Issues, bad: str) -> None:
    found = issues(edit("id: black-friday-wheel", f"id: {bad}", edit("id: ten-off", f"id: {bad}")))
    assert [where(i) for i in found] == [(1, 5, "id"), (14, 9, "prizes[0].id")]
    assert all(i.message == "must be 1 to 64 characters of a-z, 0-9 and -" for i in found)


def test_bad_texts(issues: Issues) -> None:
    text = edit('{es: "10 % de descuento", en: "10% off"}', '{ES: "10 %", en: ""}')
    found = issues(
        edit('title: {es: "¡Gira y gana!", en: "Spin to win!"}', f"title: {'x' * 201}", text)
    )
    title = "must be a text of 1 to 200 characters, or a mapping such as {es: …, en: …}"
    assert [(where(i), i.message) for i in found] == [
        ((3, 8, "title"), title),
        ((15, 13, "prizes[0].label.ES"), "must be a two-letter language code such as es or en"),
        ((15, 29, "prizes[0].label.en"), "must be a text of 1 to 200 characters"),
    ]  # fmt: skip


def test_budget_numbers(issues: Issues) -> None:
    found = issues(edit("max_value_per_day: 500", "max_value_per_day: 0\n  max_value_total: 1.005"))
    assert [(where(i), i.message) for i in found] == [
        ((11, 22, "budget.max_value_per_day"), "must be a number > 0 with at most 2 decimals"),
        ((12, 20, "budget.max_value_total"), "must be a number > 0 with at most 2 decimals"),
    ]


def test_several_mistakes_are_all_reported_in_file_order(issues: Issues) -> None:
    text = edit("game: wheel", "game: roulette", edit("weight: 30", "weight: 0"))
    text = edit("per: day", "per: month", edit('color: "#e4572e"', 'color: "red"', text))
    text = edit("timezone: Europe/Madrid", "timezone: CET+1", text)
    found = issues(text)
    assert [i.path for i in found] == [
        "game",
        "timezone",
        "limits.per_customer[0].per",
        "prizes[0].weight",
        "prizes[0].color",
    ]
    assert [i.line for i in found] == [2, 4, 9, 16, 20]


def test_top_level_must_be_a_mapping(issues: Issues) -> None:
    issue = only(issues("- id: x\n"))
    assert where(issue) == (1, 1, "")
    assert issue.message.startswith("must be a mapping with keys id, game")


# -- hostile and broken YAML -------------------------------------------------------------------


def test_python_tags_are_refused_and_nothing_runs(issues: Issues, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    found = issues(
        edit("game: wheel", f'game: !!python/object/apply:os.system ["touch {marker}"]')
        + "x: !custom 1\n"
    )
    assert not marker.exists()
    assert [(where(i), i.message, i.got) for i in found] == [
        ((2, 7, "game"), "YAML tag not allowed; write plain values",
         "!!python/object/apply:os.system"),
        ((25, 1, "x"), "unknown key; allowed keys are id, game, title, description, timezone, "
         "starts, ends, limits, budget, holdout, fairness, guests, fallback, prizes", None),
        ((25, 4, "x"), "YAML tag not allowed; write plain values", "!custom"),
    ]  # fmt: skip


def test_alias_bomb_is_refused_fast(issues: Issues) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    started = time.perf_counter()
    issue = only(issues("\n".join(lines) + "\n"))
    assert time.perf_counter() - started < 1
    assert "more than 10000 values once aliases are expanded" in issue.message


def test_recursive_alias_is_refused(issues: Issues) -> None:
    issue = only(issues(VALID + "  - &p {id: x, label: x, weight: 1, win: *p}\n"))
    assert issue.path == "prizes[2].win"
    assert issue.message == "alias refers to a value that contains it (recursive alias)"


def test_yaml_syntax_error_has_line_and_column(issues: Issues) -> None:
    issue = only(issues(edit("weight: 70", "weight: [70")))
    assert (issue.line, issue.column, issue.path) == (24, 8, "")
    assert issue.message == (
        "YAML syntax error: expected ',' or ']', but got ':' (while parsing a flow sequence)"
    )


def test_not_utf8_and_empty_files(write: Callable[..., Path]) -> None:
    path = write("")
    path.write_bytes(b"id: caf\xe9\n")
    with pytest.raises(CampaignError) as caught:
        load_campaign(path)
    assert [str(i) for i in caught.value.issues] == [f"{path}:1:8: file is not valid UTF-8 text"]
    for empty in ("", "  \n", "# just a comment\n"):
        with pytest.raises(CampaignError) as caught:
            load_campaign(write(empty))
        assert only(list(caught.value.issues)).message.startswith("file is empty")


def test_missing_file_is_an_issue(tmp_path: Path) -> None:
    with pytest.raises(CampaignError) as caught:
        load_campaign(tmp_path / "nope.yaml")
    assert only(list(caught.value.issues)).message.startswith("cannot read the file")


# -- folders -------------------------------------------------------------------------------------


def test_loading_a_folder(write: Callable[..., Path], tmp_path: Path) -> None:
    write(edit("id: black-friday-wheel", "id: zz-last"), "b.yml")
    write(VALID, "a.yaml")
    write("not: a campaign", "notes.txt")
    write("broken: [", ".#a.yaml")
    (tmp_path / "sub").mkdir()
    write("broken: [", "sub/c.yaml")
    campaigns = load_campaigns(tmp_path)
    assert [c.id for c in campaigns] == ["black-friday-wheel", "zz-last"]
    assert all(isinstance(c, Campaign) for c in campaigns)
    assert load_campaigns(tmp_path / "a.yaml")[0].source == tmp_path / "a.yaml"


def test_duplicate_ids_across_files(write: Callable[..., Path], tmp_path: Path) -> None:
    first = write(VALID, "a.yaml")
    second = write("# same id\n" + VALID, "b.yaml")
    with pytest.raises(CampaignError) as caught:
        load_campaigns(tmp_path)
    issue = only(list(caught.value.issues))
    assert (issue.file, issue.line, issue.column, issue.path) == (str(second), 2, 5, "id")
    assert issue.message == f"campaign id already used by {first}"


def test_every_bad_file_of_a_folder_is_reported(write: Callable[..., Path], tmp_path: Path) -> None:
    write(edit("game: wheel", "game: dice"), "a.yaml")
    write(edit("weight: 30", "weight: 0"), "b.yaml")
    with pytest.raises(CampaignError) as caught:
        load_campaigns(tmp_path)
    assert [(Path(i.file).name, i.path) for i in caught.value.issues] == [
        ("a.yaml", "game"),
        ("b.yaml", "prizes[0].weight"),
    ]


# -- nothing but a Campaign or a CampaignError comes out ------------------------------------------

KEYS = [
    "id", "game", "title", "description", "timezone", "starts", "ends", "limits", "budget",
    "fallback", "prizes", "per_customer", "plays", "per", "max_value_per_day", "label", "weight",
    "percent", "stock", "value", "win", "color", "coupon", "pattern", "pool", "es", "en",
]  # fmt: skip
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["wheel", "day", "try-again", "Europe/Madrid", "2026-11-27", "#fff",
                       "BF-{code:8}", "30", "12.34567", "..", "/etc/passwd"])
)  # fmt: skip
STRUCTURES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=12,
)


def _only_campaign_or_error(data: bytes | str) -> None:
    try:
        parse_campaign(data, folder=Path(__file__).parent)
    except CampaignError as exc:
        assert exc.issues
        assert all(isinstance(issue.line, int) and issue.line >= 1 for issue in exc.issues)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text() | st.binary())
def test_arbitrary_text_gives_a_campaign_error(data: str | bytes) -> None:
    _only_campaign_or_error(data)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), STRUCTURES))
def test_arbitrary_structures_give_a_campaign_error(document: dict[str, object]) -> None:
    _only_campaign_or_error(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, VALID.count("\n") - 1), STRUCTURES)
def test_valid_file_with_one_line_replaced(line: int, value: object) -> None:
    lines = VALID.splitlines()
    key = lines[line].split(":")[0]
    dumped = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    dumped = dumped.removesuffix("...").strip().replace("\n", " ")
    lines[line] = f"{key}: {dumped}"
    _only_campaign_or_error("\n".join(lines) + "\n")


# -- holdout ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["60", "-1", "10.5", "'10'", "true"])
def test_a_holdout_must_be_a_whole_percent_up_to_half(issues: Issues, value: str) -> None:
    found = only(issues(VALID + f"holdout: {value}\n"))
    assert found.path == "holdout" and "a whole percent from 0 to 50" in found.message
    assert found.line == len(VALID.splitlines()) + 1


def test_a_holdout_is_read_and_absent_means_none(write: Callable[..., Path]) -> None:
    assert load_campaign(write(VALID + "holdout: 10\n")).holdout == 10
    assert load_campaign(write(VALID)).holdout == 0


# -- guests (CONTRACT §13) --------------------------------------------------------------------

GUESTS = """\
guests:
  consent: {es: "Quiero ofertas por email", en: "I want offers by email"}
  per_ip: {plays: 20, per: day}
  min_age: 16
"""


def test_guests_play_on_the_files_terms(write: Callable[..., Path]) -> None:
    campaign = load_campaign(write(VALID + GUESTS))
    assert isinstance(campaign, Campaign) and campaign.guests is not None
    guests = campaign.guests
    assert guests.consent.get("es") == "Quiero ofertas por email"
    assert guests.consent.get("en") == "I want offers by email"
    assert guests.per_ip == Limit(20, "day")
    assert (guests.min_age, guests.ask_age) == (16, True)
    plain = load_campaign(write(VALID + 'guests: {consent: "Sí, quiero ofertas"}\n'))
    assert isinstance(plain, Campaign) and plain.guests is not None
    assert (plain.guests.per_ip, plain.guests.min_age, plain.guests.ask_age) == (None, 18, False)
    assert plain.guests.consent.get("en") == "Sí, quiero ofertas"
    without = load_campaign(write(VALID))
    assert isinstance(without, Campaign) and without.guests is None
    assert campaign.config_hash == without.config_hash  # who may play is not how it is drawn


def test_every_mistake_in_guests_is_located(issues: Issues) -> None:
    found = issues(
        VALID
        + "guests:\n"
        + "  consentt: yes\n"
        + "  per_ip: {plays: 0, per: fortnight}\n"
        + "  min_age: 12\n"
    )
    assert [(where(i), i.message, i.got) for i in found] == [
        ((26, 3, "guests.consentt"), "unknown key; did you mean `consent`?", None),
        ((26, 3, "guests.consent"), "required key missing", None),
        ((27, 19, "guests.per_ip.plays"), "must be a whole number >= 1", "0"),
        ((27, 27, "guests.per_ip.per"), "must be one of day, week, campaign", "'fortnight'"),
        ((28, 12, "guests.min_age"), "must be a whole number of years from 14 to 99", "12"),
    ]
    empty = issues(VALID + 'guests: {consent: {es: ""}}\n')
    assert [(i.path, i.message) for i in empty] == [
        ("guests.consent.es", "must be a text of 1 to 200 characters")
    ]
    assert [i.path for i in issues(VALID + "guests: yes\n")] == ["guests"]
