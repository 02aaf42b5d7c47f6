"""The hash-chained log and the audit bundle (CONTRACT §5), seen from an auditor's side.

Honest bundles are built with tests/bundles.py; each test then tampers with the records the
way a dishonest operator could and checks that ``verify_bundle`` names the right rule at the
right ``seq``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bundles import Bundle, Play, build_bundle, fixed_seed, rechain, write_records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamify.audit.bundle import campaign_record, play_record, read_records
from gamify.audit.verify import Report, verify_bundle
from gamify.core import fairness
from gamify.core.canonical import canonical_json
from gamify.core.chain import PLAY_FIELDS, ZERO_HASH, chain_row, row_hash
from gamify.core.errors import BundleError
from gamify.core.rules import Budget, Ledger, Limit, PrizeRule, Rules, award, config_hash

CAMPAIGN = "black-friday-wheel"
STARTS = datetime(2026, 11, 26, 23, tzinfo=UTC)  # 2026-11-27 00:00 in Madrid
ENDS = datetime(2026, 11, 30, 23, tzinfo=UTC)
FALLBACK = "try-again"
SMALL = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def wheel(
    prizes: tuple[PrizeRule, ...] | None = None,
    budget: Budget | None = None,
    starts: datetime = STARTS,
    ends: datetime = ENDS,
) -> Rules:
    return Rules(
        campaign=CAMPAIGN,
        game="wheel",
        timezone="Europe/Madrid",
        starts=starts,
        ends=ends,
        prizes=prizes
        or (
            PrizeRule("ten-off", 30, value=Decimal(5)),
            PrizeRule("free-shipping", 20, value=Decimal("4.5")),
            PrizeRule("gift-card", 5, stock=2, value=Decimal(50)),
            PrizeRule("tablet", 1, stock=1, value=Decimal(329)),
            PrizeRule(FALLBACK, 44, win=False),
        ),
        fallback=FALLBACK,
        limits=(Limit(3, "day"),),
        budget=Budget(max_value_per_day=Decimal(120)) if budget is None else budget,
    )


def plays(count: int, split: int | None = None) -> list[Play]:
    """``count`` plays 13 minutes apart; those from index ``split`` on are in epoch 1."""
    cut = count if split is None else split
    return [
        Play(
            f"seed-{i}",
            f"player-{i % 4}",
            STARTS + timedelta(hours=8, minutes=13 * i),
            int(i >= cut),
        )
        for i in range(count)
    ]


def build(
    path: Path,
    count: int,
    split: int | None = None,
    revealed: set[int] | None = None,
    rules: Rules | None = None,
) -> Bundle:
    return build_bundle(
        path, rules or wheel(), plays(count, split), [fixed_seed(0), fixed_seed(1)], revealed
    )


def with_rows(bundle: Bundle, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [campaign_record(bundle.rules), *bundle.epochs, *map(play_record, rows)]


def fault(path: Path, records: list[dict[str, Any]]) -> BundleError:
    """The error ``verify_bundle`` raises on ``records``; fails the test if it accepts them."""
    write_records(path, records)
    with pytest.raises(BundleError) as info:
        verify_bundle(path)
    return info.value


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def base(work: Path) -> Path:
    return work / "base.jsonl"


@pytest.fixture
def forged(work: Path) -> Path:
    return work / "forged.jsonl"


@st.composite
def shapes(draw: st.DrawFn) -> tuple[int, int, set[int]]:
    """Play count (5-30), where epoch 1 starts, and which epochs are revealed."""
    count = draw(st.integers(5, 30))
    split = draw(st.integers(0, count))
    revealed = draw(st.sampled_from([{0, 1}, {0}, {1}, set()]))
    return count, split, revealed


# --- round trip -----------------------------------------------------------------------------


def test_round_trip(base: Path) -> None:
    bundle = build(base, 25, split=15, revealed={0})
    read = list(read_records(base))
    assert [record for _, _, record in read] == bundle.records
    assert [number for number, _, _ in read] == list(range(1, len(bundle.records) + 1))
    assert read[-1][1] == base.stat().st_size
    assert base.read_bytes().count(b"\n") == len(bundle.records)

    report = verify_bundle(base)
    assert isinstance(report, Report)
    assert report.campaign == CAMPAIGN
    assert (report.plays, report.configs, report.epochs, report.revealed_epochs) == (25, 1, 2, 1)
    assert report.unrevealed_plays == 10
    assert report.awarded == Counter(row["awarded"] for row in bundle.rows)
    assert report.head == bundle.rows[-1]["hash"]
    assert report.first_at == "2026-11-27T07:00:00Z"
    assert report.last_at == bundle.rows[-1]["at"]


def test_rows_chain_and_hash_as_the_contract_says(base: Path) -> None:
    bundle = build(base, 6, split=3)
    rows = bundle.rows
    assert rows[0]["prev_hash"] == ZERO_HASH == "0" * 64
    for seq, row in enumerate(rows):
        assert set(row) == PLAY_FIELDS
        assert row["seq"] == seq
        assert row["nonce"] == (seq if seq < 3 else seq - 3)
        assert row["at"].endswith("Z")
        body = {k: v for k, v in row.items() if k != "hash"}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert row["hash"] == hashlib.sha256(text.encode()).hexdigest()
        assert seq == 0 or row["prev_hash"] == rows[seq - 1]["hash"]
    config = bundle.records[0]
    assert config["config_hash"] == config_hash(config["config"]) == rows[0]["config_hash"]


def test_normalised_config_has_every_key() -> None:
    config = wheel().config
    assert list(config) == [
        "algorithm",
        "id",
        "game",
        "timezone",
        "starts",
        "ends",
        "limits",
        "budget",
        "fallback",
        "prizes",
    ]
    assert config["algorithm"] == "gamify-fairness-v1"
    assert config["starts"] == "2026-11-26T23:00:00Z"
    assert config["budget"] == {"max_value_per_day": 120, "max_value_total": None}
    assert config["prizes"][1] == {
        "id": "free-shipping",
        "weight": 20,
        "stock": None,
        "value": 4.5,
        "win": True,
    }
    assert Rules.from_config(config).config == config


def test_an_empty_log_verifies(base: Path) -> None:
    build(base, 0)
    report = verify_bundle(base)
    assert (report.plays, report.head, report.awarded) == (0, ZERO_HASH, Counter())


def test_truncating_the_tail_is_only_visible_in_the_head_hash(base: Path, forged: Path) -> None:
    bundle = build(base, 12)
    write_records(forged, with_rows(bundle, bundle.rows[:-3]))
    report = verify_bundle(forged)
    assert report.plays == 9
    assert report.head == bundle.rows[8]["hash"] != verify_bundle(base).head


# --- tampering with the chain ---------------------------------------------------------------


def another_value(field: str, value: Any, rules: Rules) -> st.SearchStrategy[Any]:
    """Any JSON value that serialises differently from ``value``; other prizes for prizes."""
    if field in ("drawn", "awarded"):
        return st.sampled_from([p.id for p in rules.prizes if p.id != value])
    json_values = st.one_of(
        st.none(), st.booleans(), st.integers(-5, 10**6), st.text(max_size=70), st.just(value)
    )
    return json_values.filter(lambda x: canonical_json(x) != canonical_json(value))


@SMALL
@given(shape=shapes(), data=st.data())
def test_editing_one_field_is_caught_at_that_row(
    shape: tuple[int, int, set[int]], data: st.DataObject, base: Path, forged: Path
) -> None:
    bundle = build(base, *shape)
    i = data.draw(st.integers(0, len(bundle.rows) - 1), label="row")
    field = data.draw(st.sampled_from(sorted(PLAY_FIELDS)), label="field")
    rows = [dict(row) for row in bundle.rows]
    rows[i][field] = data.draw(another_value(field, rows[i][field], bundle.rules), label="value")
    error = fault(forged, with_rows(bundle, rows))
    assert (error.seq, error.line) == (i, bundle.first_play_line + i)
    seq_changed = type(rows[i]["seq"]) is not int or rows[i]["seq"] != i  # False is not 0 here
    assert error.rule == ("seq" if field == "seq" and seq_changed else "hash")


@SMALL
@given(shape=shapes(), data=st.data())
def test_deleting_a_row_is_caught_where_it_was(
    shape: tuple[int, int, set[int]], data: st.DataObject, base: Path, forged: Path
) -> None:
    bundle = build(base, *shape)
    i = data.draw(st.integers(0, len(bundle.rows) - 2), label="deleted")
    rows = bundle.rows[:i] + bundle.rows[i + 1 :]
    error = fault(forged, with_rows(bundle, rows))
    assert (error.rule, error.seq) == ("seq", i)


@SMALL
@given(shape=shapes(), data=st.data())
def test_inserting_a_copy_is_caught_where_it_was_inserted(
    shape: tuple[int, int, set[int]], data: st.DataObject, base: Path, forged: Path
) -> None:
    bundle = build(base, *shape)
    j = data.draw(st.integers(0, len(bundle.rows) - 1), label="copied")
    # at j or j + 1 the copy is the original's twin and the list is the same either way
    i = data.draw(st.integers(0, len(bundle.rows)).filter(lambda i: i not in (j, j + 1)))
    rows = list(bundle.rows)
    rows.insert(i, dict(bundle.rows[j]))
    error = fault(forged, with_rows(bundle, rows))
    assert (error.rule, error.seq) == ("seq", i)


@SMALL
@given(shape=shapes(), data=st.data())
def test_swapping_neighbours_is_caught_at_the_first(
    shape: tuple[int, int, set[int]], data: st.DataObject, base: Path, forged: Path
) -> None:
    bundle = build(base, *shape)
    i = data.draw(st.integers(0, len(bundle.rows) - 2), label="swapped")
    rows = list(bundle.rows)
    rows[i], rows[i + 1] = rows[i + 1], rows[i]
    error = fault(forged, with_rows(bundle, rows))
    assert (error.rule, error.seq) == ("seq", i)


# --- forged content with a valid chain ------------------------------------------------------


@SMALL
@given(count=st.integers(5, 30), data=st.data())
def test_a_rehashed_row_with_another_drawn_prize_fails_the_draw(
    count: int, data: st.DataObject, base: Path, forged: Path
) -> None:
    bundle = build(base, count, split=count // 2)
    i = data.draw(st.integers(0, count - 1), label="row")
    rows = [dict(row) for row in bundle.rows]
    rows[i]["drawn"] = data.draw(another_value("drawn", rows[i]["drawn"], bundle.rules))
    error = fault(forged, with_rows(bundle, rechain(rows, i)))
    assert (error.rule, error.seq) == ("draw", i)


def test_unrevealed_epochs_are_counted_and_not_draw_checked(base: Path, forged: Path) -> None:
    rules = wheel(budget=Budget())
    bundle = build(base, 20, split=12, revealed={0}, rules=rules)
    report = verify_bundle(base)
    assert (report.revealed_epochs, report.unrevealed_plays) == (1, 8)

    rows = [dict(row) for row in bundle.rows]
    claim = "ten-off" if rows[-1]["drawn"] == FALLBACK else FALLBACK
    rows[-1].update(drawn=claim, awarded=claim)  # no stock, no budget: the claim is awardable
    write_records(forged, with_rows(bundle, rechain(rows, len(rows) - 1)))
    assert verify_bundle(forged).unrevealed_plays == 8

    # the same forgery in the revealed epoch is caught
    rows = [dict(row) for row in bundle.rows]
    claim = "ten-off" if rows[5]["drawn"] == FALLBACK else FALLBACK
    rows[5].update(drawn=claim, awarded=claim)
    assert fault(forged, with_rows(bundle, rechain(rows, 5))).rule == "draw"


def stock_rules() -> Rules:
    return wheel(
        prizes=(
            PrizeRule("gift-card", 50, stock=3, value=Decimal(10)),
            PrizeRule(FALLBACK, 50, win=False),
        ),
        budget=Budget(),
    )


def test_fallback_given_while_stock_remained_is_caught(base: Path, forged: Path) -> None:
    bundle = build(base, 20, rules=stock_rules())
    rows = [dict(row) for row in bundle.rows]
    i = next(i for i, row in enumerate(rows) if row["awarded"] == "gift-card")
    rows[i]["awarded"] = FALLBACK
    error = fault(forged, with_rows(bundle, rechain(rows, i)))
    assert (error.rule, error.seq) == ("fallback", i)


def test_prize_given_past_its_stock_is_caught(base: Path, forged: Path) -> None:
    bundle = build(base, 20, rules=stock_rules())
    rows = [dict(row) for row in bundle.rows]
    assert Counter(row["awarded"] for row in rows)["gift-card"] == 3
    i = next(i for i, row in enumerate(rows) if row["drawn"] != row["awarded"])
    assert rows[i]["drawn"] == "gift-card"
    rows[i]["awarded"] = "gift-card"
    error = fault(forged, with_rows(bundle, rechain(rows, i)))
    assert (error.rule, error.seq) == ("fallback", i)


@settings(max_examples=80, deadline=None)
@given(
    prizes=st.lists(
        st.tuples(st.integers(1, 20), st.none() | st.integers(0, 4)), min_size=1, max_size=5
    ),
    fallback_weight=st.integers(1, 20),
    count=st.integers(0, 60),
    seed=st.integers(0, 10**6),
)
def test_stock_is_never_exceeded(
    prizes: list[tuple[int, int | None]], fallback_weight: int, count: int, seed: int
) -> None:
    rules = wheel(
        prizes=(
            *(PrizeRule(f"p{i}", w, stock=s) for i, (w, s) in enumerate(prizes)),
            PrizeRule(FALLBACK, fallback_weight, win=False),
        ),
        budget=Budget(),
    )
    key = fairness.seed_bytes(fixed_seed(seed))
    ledger = Ledger()
    for nonce in range(count):
        drawn = rules.prizes[fairness.draw(key, CAMPAIGN, "c", nonce, rules.running)]
        given_out = award(rules, drawn, ledger)
        if given_out is not drawn:  # the fallback only once the drawn prize is gone
            assert drawn.stock is not None and ledger.awarded.get(drawn.id, 0) == drawn.stock
        ledger.record(given_out)
        for prize in rules.prizes:
            assert prize.stock is None or ledger.awarded.get(prize.id, 0) <= prize.stock


# --- budgets --------------------------------------------------------------------------------


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


G, T = "gift", FALLBACK
BUDGET_DAYS = {
    # CET (UTC+1): Madrid's midnight is 23:00 UTC
    "november": [
        ("2026-11-27 20:00:00", G),
        ("2026-11-27 21:00:00", G),
        ("2026-11-27 22:00:00", T),  # 10 of 10 spent today
        ("2026-11-27 22:59:59", T),
        ("2026-11-27 23:00:00", G),  # 00:00 on the 28th in Madrid, still the 27th in UTC
        ("2026-11-27 23:30:00", G),
        ("2026-11-27 23:45:00", T),
    ],
    # CEST (UTC+2): Madrid's midnight is 22:00 UTC
    "july": [
        ("2026-07-10 19:00:00", G),
        ("2026-07-10 20:00:00", G),
        ("2026-07-10 21:59:59", T),
        ("2026-07-10 22:00:00", G),
        ("2026-07-10 22:30:00", G),
        ("2026-07-10 23:59:00", T),
    ],
    # 2026-10-25 has 25 hours in Madrid (clocks go back at 03:00 CEST)
    "dst-end": [
        ("2026-10-24 21:59:59", G),  # 23:59:59 on the 24th
        ("2026-10-24 22:00:00", G),  # 00:00 on the 25th (CEST)
        ("2026-10-24 23:00:00", G),
        ("2026-10-25 22:30:00", T),  # 23:30 on the 25th (CET), 24.5 h after its midnight
        ("2026-10-25 23:00:00", G),  # 00:00 on the 26th
        ("2026-10-25 23:30:00", G),
        ("2026-10-25 23:40:00", T),
    ],
}


def budget_rules(budget: Budget) -> Rules:
    return wheel(
        prizes=(PrizeRule(G, 10**6, value=Decimal(5)), PrizeRule(T, 1, win=False)),
        budget=budget,
        starts=utc("2026-01-01 00:00:00"),
        ends=utc("2027-01-01 00:00:00"),
    )


@pytest.mark.parametrize("case", sorted(BUDGET_DAYS))
def test_daily_budget_resets_at_madrid_midnight(case: str, base: Path, forged: Path) -> None:
    rules = budget_rules(Budget(max_value_per_day=Decimal(10)))
    times = [utc(at) for at, _ in BUDGET_DAYS[case]]
    expected = [awarded for _, awarded in BUDGET_DAYS[case]]
    bundle = build_bundle(
        base, rules, [Play(f"c{i}", "p", at) for i, at in enumerate(times)], [fixed_seed(0)]
    )
    assert [row["drawn"] for row in bundle.rows] == [G] * len(times)
    assert [row["awarded"] for row in bundle.rows] == expected
    assert verify_bundle(base).awarded == Counter(expected)

    for i, awarded in enumerate(expected):  # flipping any award is a finding at that seq
        rows = [dict(row) for row in bundle.rows]
        rows[i]["awarded"] = T if awarded == G else G
        error = fault(forged, with_rows(bundle, rechain(rows, i)))
        assert (error.rule, error.seq) == ("fallback", i)


def test_total_budget_spans_days(base: Path) -> None:
    rules = budget_rules(Budget(max_value_per_day=Decimal(10), max_value_total=Decimal(15)))
    times = [utc(f"2026-11-{day} 12:00:00") for day in (27, 27, 27, 28, 28, 29)]
    bundle = build_bundle(
        base, rules, [Play(f"c{i}", "p", at) for i, at in enumerate(times)], [fixed_seed(0)]
    )
    assert [row["awarded"] for row in bundle.rows] == [G, G, T, G, T, T]
    verify_bundle(base)


# --- epochs, lines and records --------------------------------------------------------------


def test_revealed_seed_must_match_its_commitment(base: Path, forged: Path) -> None:
    bundle = build(base, 8, split=4)
    records = bundle.records
    records[2] = {**records[2], "server_seed": fixed_seed(7)}  # epoch 1, another seed
    error = fault(forged, records)
    assert (error.rule, error.seq, error.line) == ("commitment", None, 3)


@pytest.mark.parametrize(
    "line", [b"{not json}\n", b'{"at":"2026-11-27T\n', b'{"type": "play", "seq": \xff}\n']
)
def test_a_line_that_is_not_json(line: bytes, base: Path) -> None:
    bundle = build(base, 8)
    lines = base.read_bytes().splitlines(keepends=True)
    number = bundle.first_play_line + 3
    lines[number - 1] = line
    base.write_bytes(b"".join(lines))
    with pytest.raises(BundleError) as info:
        verify_bundle(base)
    assert (info.value.rule, info.value.line) == ("json", number)


@pytest.mark.parametrize("line", [b"[1, 2]\n", b'{"type": "receipt"}\n', b"7\n"])
def test_a_line_of_unknown_type(line: bytes, base: Path) -> None:
    bundle = build(base, 4)
    base.write_bytes(base.read_bytes() + line)
    with pytest.raises(BundleError) as info:
        verify_bundle(base)
    assert (info.value.rule, info.value.line) == ("record-type", len(bundle.records) + 1)


def test_a_bundle_without_a_campaign_record_fails(base: Path, forged: Path) -> None:
    bundle = build(base, 5)
    assert fault(forged, bundle.records[1:]).rule == "campaign-record"
    forged.write_text("")
    with pytest.raises(BundleError) as info:
        verify_bundle(forged)
    assert info.value.rule == "campaign-record"


def test_a_changed_config_fails_its_hash(base: Path, forged: Path) -> None:
    bundle = build(base, 5)
    records = bundle.records
    records[0]["config"]["prizes"][3]["weight"] = 2  # double the tablet's odds
    error = fault(forged, records)
    assert (error.rule, error.line) == ("config-hash", 1)


# --- forged configs and JSON types a lax verifier would let through ----


def rehashed_config(bundle: Bundle, change: Callable[[dict[str, Any]], None]) -> Iterator[Any]:
    """The bundle's records with its config changed and every hash made consistent again."""
    config = json.loads(json.dumps(bundle.rules.config))
    change(config)
    digest = config_hash(config)
    yield {"type": "campaign", "id": CAMPAIGN, "config_hash": digest, "config": config}
    yield from bundle.epochs
    yield from map(play_record, rechain([dict(row, config_hash=digest) for row in bundle.rows]))


def set_prize(index: int, **values: Any) -> Callable[[dict[str, Any]], None]:
    return lambda config: config["prizes"][index].update(values)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda config: config.update(timezone="Mars/Olympus_Mons"),
            id="unknown-timezone",
        ),
        pytest.param(
            lambda config: config.update(timezone="../etc"),
            id="timezone-path",
        ),
        pytest.param(
            set_prize(0, value="abc"),
            id="value-not-a-number",
        ),
        pytest.param(
            set_prize(0, weight=2**64),
            id="total-weight-above-2**64",
        ),
        pytest.param(
            set_prize(4, stock=0),
            id="fallback-with-stock",
        ),
    ],
)
def test_a_malformed_config_is_a_config_finding(
    change: Callable[[dict[str, Any]], None], base: Path, forged: Path
) -> None:
    bundle = build(base, 10)
    error = fault(forged, list(rehashed_config(bundle, change)))
    assert (error.rule, error.line) == ("config", 1)


def test_a_play_whose_config_hash_is_not_a_string(base: Path, forged: Path) -> None:
    bundle = build(base, 6)
    rows = [dict(row) for row in bundle.rows]
    rows[2]["config_hash"] = [rows[2]["config_hash"]]
    error = fault(forged, with_rows(bundle, rechain(rows, 2)))
    assert (error.rule, error.seq) == ("config-hash", 2)


def test_a_boolean_seq_is_refused(base: Path, forged: Path) -> None:
    bundle = build(base, 4)
    rows = [dict(row) for row in bundle.rows]
    rows[1]["seq"] = True
    error = fault(forged, with_rows(bundle, rechain(rows, 1)))
    assert (error.rule, error.seq) == ("seq", 1)


def test_chain_row_matches_row_hash() -> None:
    row = chain_row(
        prev_hash=ZERO_HASH,
        seq=0,
        campaign=CAMPAIGN,
        epoch=0,
        nonce=0,
        client_seed="my-lucky-seed",
        player="p",
        drawn="ten-off",
        awarded="ten-off",
        at=STARTS + timedelta(hours=1, microseconds=5),
        config_hash=wheel().config_hash,
    )
    assert row["at"] == "2026-11-27T00:00:00.000005Z"
    assert row["hash"] == row_hash(row) == row_hash(play_record(row))


# --- the example bundle of docs/fairness.md -------------------------------------------------

EXAMPLE_CONFIG_HASH = "dc1ff71e7db5d7e777184911e66da907fc5daab26c5edec514995b20c3c9f999"
EXAMPLE_ROW_HASHES = [
    "560d9a6823b9716a91495c0783a99a99c382367eacfcd4fad85b2f288d5fd4a4",
    "f3e496921173498b1d2bb4ed72d70c9ad76c606be46f33fe53df088ce1f02c3c",
    "2fdb71fc58c3f083fa1b068e747b61aab28735ad92f128c108cd60185d156e76",
    "7ba78e50c7e9bc91f516902808d8d1ffc90e0229190a45c2d28cf78286ef414e",
]


# CONTRACT §12's Merkle tree over those four rows, computed in docs/fairness.md with hashlib.
EXAMPLE_TREE_ROOT = "ce299c8342f8c7490d319abb5eaf62e658ceec5e0e04dc5c5c4239f261bf6fc9"


def test_the_documented_example_bundle(base: Path) -> None:
    """docs/fairness.md computes these with json and hashlib alone; gamify must agree."""
    rules = Rules(
        campaign=CAMPAIGN,
        game="wheel",
        timezone="Europe/Madrid",
        starts=STARTS,
        ends=ENDS,
        prizes=(
            PrizeRule("ten-off", 30, stock=1000, value=Decimal(5)),
            PrizeRule("free-shipping", 20, value=Decimal("4.5")),
            PrizeRule("gift-card", 5, stock=50, value=Decimal(25)),
            PrizeRule("tablet", 1, stock=1, value=Decimal(329)),
            PrizeRule(FALLBACK, 44, win=False),
        ),
        fallback=FALLBACK,
        limits=(Limit(1, "day"),),
        budget=Budget(max_value_per_day=Decimal(500)),
    )
    assert rules.config_hash == EXAMPLE_CONFIG_HASH
    times = ["09:15:02", "09:15:40", "10:02:11.250000", "11:30:00"]
    players = [hashlib.sha256(f"example-player-{i}".encode()).hexdigest()[:32] for i in range(1, 5)]
    bundle = build_bundle(
        base,
        rules,
        [
            Play("my-lucky-seed", player, utc(f"2026-11-27 {at}"))
            for player, at in zip(players, times, strict=True)
        ],
        [bytes(range(32)).hex()],
    )
    assert [row["hash"] for row in bundle.rows] == EXAMPLE_ROW_HASHES
    assert [row["drawn"] for row in bundle.rows] == [FALLBACK, FALLBACK, FALLBACK, "ten-off"]
    assert bundle.rows[2]["at"] == "2026-11-27T10:02:11.250000Z"
    report = verify_bundle(base)
    assert report.head == EXAMPLE_ROW_HASHES[-1]
    assert report.root == EXAMPLE_TREE_ROOT
