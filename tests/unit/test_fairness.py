"""Fairness algorithm v1 (CONTRACT §4): known answers, properties and a goodness-of-fit test.

The known answers are the worked example of docs/fairness.md, computed there with a
stand-alone implementation (hashlib, hmac and struct only). They are hard-coded so that any
change to the engine's output fails here, whatever the engine's own code says.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import re
import struct
from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import cycle, islice
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gamify.core import fairness

U64 = 2**64
DOC = Path(__file__).resolve().parents[2] / "docs" / "fairness.md"

# --- the worked example of docs/fairness.md -------------------------------------------------

SEED_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
COMMITMENT = "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
CAMPAIGN = "black-friday-wheel"
CLIENT_SEED = "my-lucky-seed"
PRIZES = ("ten-off", "free-shipping", "gift-card", "tablet", "try-again")
WEIGHTS = (30, 20, 5, 1, 44)
BOUND_100 = 18446744073709551600

# nonce -> (hex of block k=0, its four integers)
BLOCKS_100 = {
    0: (
        "e154e6b0ef1f5ec4381e18261e014bdb12f86477c77c0cd7263d9db08b11f097",
        (16236856204177923780, 4043696067416509403, 1366952952517627095, 2755531928593625239),
    ),
    1: (
        "982c83089e67be82678ca9b94796f906616b0906a94054f803a38cf3a0e48a60",
        (10965283265780891266, 7461525295881189638, 7019714368401069304, 262208181321894496),
    ),
}
# nonce -> (first integer u, r = u % 100, drawn prize) for nonces 0..9 with T = 100
TABLE_100 = {
    0: (16236856204177923780, 80, "try-again"),
    1: (10965283265780891266, 66, "try-again"),
    2: (7653018879856810959, 59, "try-again"),
    3: (12472284439967569105, 5, "ten-off"),
    4: (12802224619981464457, 57, "try-again"),
    5: (9321473573152467745, 45, "free-shipping"),
    6: (5882458760483545994, 94, "try-again"),
    7: (11163592845505016005, 5, "ten-off"),
    8: (17335836183055227278, 78, "try-again"),
    9: (13721988760568266616, 16, "ten-off"),
}

# Rejection: weights 2**62 and 2**63, T = 3 * 2**62, the bound is T itself (1 in 4 rejected).
BIG_WEIGHTS = (2**62, 2**63)
BIG_T = 3 * 2**62
BIG_BOUND = 13835058055282163712
# nonce 0: the first integer is rejected, the second accepted; r < 2**62, so prize 0.
BIG_NONCE_0 = (16236856204177923780, 4043696067416509403)
# nonce 442: all four integers of block k=0 are rejected; block k=1's first is accepted.
BIG_NONCE_442_BLOCKS = (
    "d9ef818d02b3252fe276cabb4eef0881d13abbc2e2b2547bcc4a4d9494b4889e",
    "6e71465de15800a47de9f3b0f3501e20bd9c0b4ae580701bcd079b2964f98b4c",
)
BIG_NONCE_442_INTEGERS = (
    15703912868299875631,
    16318453205655554177,
    15076569148277544059,
    14720663632559245470,
    7958219385566920868,
)


# Copied word for word from the reference code of docs/fairness.md (section 8).
def reference_draw(
    server_seed_hex: str, campaign_id: str, client_seed: str, nonce: int, weights: Sequence[int]
) -> int:
    """Index of the drawn prize, in file order: HMAC stream, rejection sampling, running sums."""
    key = bytes.fromhex(server_seed_hex)
    total = sum(weights)
    bound = 2**64 - 2**64 % total
    k = 0
    while True:
        msg = f"{campaign_id}:{client_seed}:{nonce}:{k}".encode()
        block = hmac.new(key, msg, hashlib.sha256).digest()
        for u in struct.unpack(">4Q", block):
            if u < bound:
                r = u % total
                running = 0
                for index, weight in enumerate(weights):
                    running += weight
                    if running > r:
                        return index
        k += 1


def running(weights: Sequence[int]) -> tuple[int, ...]:
    return fairness.cumulative(weights)


# --- known answers --------------------------------------------------------------------------


def test_commitment_is_sha256_of_the_seed_bytes() -> None:
    assert bytes.fromhex(SEED_HEX) == bytes(range(32))
    assert fairness.commitment(SEED_HEX) == COMMITMENT
    # not the hash of the 64 hex characters
    assert hashlib.sha256(SEED_HEX.encode()).hexdigest() != COMMITMENT


@pytest.mark.parametrize("nonce", sorted(BLOCKS_100))
def test_first_block_and_integers(nonce: int) -> None:
    block_hex, integers = BLOCKS_100[nonce]
    key = fairness.seed_bytes(SEED_HEX)
    blocks = fairness.byte_blocks(key, CAMPAIGN, CLIENT_SEED, nonce)
    assert next(blocks).hex() == block_hex
    stream = fairness.integers(key, CAMPAIGN, CLIENT_SEED, nonce)
    assert tuple(islice(stream, 4)) == integers


def test_acceptance_bound_for_one_hundred() -> None:
    assert fairness.acceptance_bound(100) == BOUND_100 == 2**64 - 16


@pytest.mark.parametrize("nonce", sorted(TABLE_100))
def test_draws_of_the_worked_example(nonce: int) -> None:
    u, r, prize = TABLE_100[nonce]
    key = fairness.seed_bytes(SEED_HEX)
    assert next(fairness.integers(key, CAMPAIGN, CLIENT_SEED, nonce)) == u
    assert fairness.uniform(fairness.integers(key, CAMPAIGN, CLIENT_SEED, nonce), 100) == r
    index = fairness.draw(SEED_HEX, CAMPAIGN, CLIENT_SEED, nonce, running(WEIGHTS))
    assert PRIZES[index] == prize
    assert fairness.draw(key, CAMPAIGN, CLIENT_SEED, nonce, running(WEIGHTS)) == index


def test_rejected_first_integer() -> None:
    assert fairness.acceptance_bound(BIG_T) == BIG_BOUND == BIG_T
    key = fairness.seed_bytes(SEED_HEX)
    first, second = islice(fairness.integers(key, CAMPAIGN, CLIENT_SEED, 0), 2)
    assert (first, second) == BIG_NONCE_0
    assert first >= BIG_BOUND > second
    r = fairness.uniform(fairness.integers(key, CAMPAIGN, CLIENT_SEED, 0), BIG_T)
    assert r == second
    assert fairness.draw(key, CAMPAIGN, CLIENT_SEED, 0, running(BIG_WEIGHTS)) == 0


def test_rejection_into_the_second_block() -> None:
    key = fairness.seed_bytes(SEED_HEX)
    blocks = fairness.byte_blocks(key, CAMPAIGN, CLIENT_SEED, 442)
    assert tuple(b.hex() for b in islice(blocks, 2)) == BIG_NONCE_442_BLOCKS
    integers = tuple(islice(fairness.integers(key, CAMPAIGN, CLIENT_SEED, 442), 5))
    assert integers == BIG_NONCE_442_INTEGERS
    assert all(u >= BIG_BOUND for u in integers[:4])
    r = fairness.uniform(fairness.integers(key, CAMPAIGN, CLIENT_SEED, 442), BIG_T)
    assert r == integers[4]
    assert fairness.draw(key, CAMPAIGN, CLIENT_SEED, 442, running(BIG_WEIGHTS)) == 1


def test_reference_draw_agrees_on_the_worked_example() -> None:
    for nonce, (_, _, prize) in TABLE_100.items():
        assert PRIZES[reference_draw(SEED_HEX, CAMPAIGN, CLIENT_SEED, nonce, WEIGHTS)] == prize
    assert reference_draw(SEED_HEX, CAMPAIGN, CLIENT_SEED, 0, BIG_WEIGHTS) == 0
    assert reference_draw(SEED_HEX, CAMPAIGN, CLIENT_SEED, 442, BIG_WEIGHTS) == 1


def test_the_reference_code_of_the_docs_runs_and_is_this_one() -> None:
    """Section 8 of docs/fairness.md runs as printed and its draw is ``reference_draw``."""
    section = DOC.read_text(encoding="utf-8").split("## 8. Reference code", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), str(DOC), "exec"), namespace)  # its own asserts run too
    assert inspect.getsource(reference_draw) in match.group(1)
    for nonce, (_, _, prize) in TABLE_100.items():
        drawn = namespace["reference_draw"](SEED_HEX, CAMPAIGN, CLIENT_SEED, nonce, WEIGHTS)
        assert PRIZES[drawn] == prize


# --- seeds ----------------------------------------------------------------------------------


def test_new_server_seed_is_64_lowercase_hex() -> None:
    seed = fairness.new_server_seed()
    assert len(seed) == 64
    assert seed == seed.lower()
    assert len(fairness.seed_bytes(seed)) == 32


@pytest.mark.parametrize(
    "seed", ["", SEED_HEX[:-2], SEED_HEX + "00", SEED_HEX.upper(), "g" + SEED_HEX[1:]]
)
def test_malformed_server_seeds_are_refused(seed: str) -> None:
    with pytest.raises(ValueError):
        fairness.seed_bytes(seed)
    with pytest.raises(ValueError):
        fairness.commitment(seed)


@pytest.mark.parametrize("seed", ["a", "my-lucky-seed", "A_b-9", "x" * 64])
def test_valid_client_seeds(seed: str) -> None:
    assert fairness.is_client_seed(seed)


@pytest.mark.parametrize("seed", ["", "x" * 65, "a b", "a:b", "ñ", "a\n", 7, None])
def test_invalid_client_seeds(seed: object) -> None:
    assert not fairness.is_client_seed(seed)


def test_new_client_seed_is_valid() -> None:
    assert fairness.is_client_seed(fairness.new_client_seed())


# --- properties -----------------------------------------------------------------------------

client_seeds = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
key_bytes = st.binary(min_size=32, max_size=32)


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.integers(1, 10**6), min_size=1, max_size=10),
    key=key_bytes,
    client_seed=client_seeds,
    nonce=st.integers(0, 10**12),
)
def test_drawn_index_is_a_prize_and_matches_the_reference(
    weights: list[int], key: bytes, client_seed: str, nonce: int
) -> None:
    index = fairness.draw(key, CAMPAIGN, client_seed, nonce, running(weights))
    assert 0 <= index < len(weights)
    assert index == reference_draw(key.hex(), CAMPAIGN, client_seed, nonce, weights)


@settings(max_examples=100, deadline=None)
@given(
    weights=st.lists(st.integers(1, 2**62), min_size=1, max_size=4),
    key=key_bytes,
    nonce=st.integers(0, 10**6),
)
def test_huge_weights_with_frequent_rejection_match_the_reference(
    weights: list[int], key: bytes, nonce: int
) -> None:
    index = fairness.draw(key, CAMPAIGN, CLIENT_SEED, nonce, running(weights))
    assert index == reference_draw(key.hex(), CAMPAIGN, CLIENT_SEED, nonce, weights)


@given(total=st.integers(1, 2**63))
@example(total=1)
@example(total=2)
@example(total=3)
@example(total=100)
@example(total=2**32 + 1)
@example(total=2**62)
@example(total=3 * 2**62)
@example(total=2**63 - 1)
@example(total=2**63)
def test_acceptance_bound_is_the_largest_multiple_of_t(total: int) -> None:
    bound = fairness.acceptance_bound(total)
    assert bound % total == 0
    assert U64 - total < bound <= U64


@pytest.mark.parametrize(
    ("total", "bound"),
    [
        (1, U64),
        (2, U64),
        (3, U64 - 1),
        (2**63, U64),
        (2**63 + 1, 2**63 + 1),
        (3 * 2**62 + 1, 3 * 2**62 + 1),
        (U64 - 1, U64 - 1),
        (U64, U64),
    ],
)
def test_acceptance_bound_edges(total: int, bound: int) -> None:
    assert fairness.acceptance_bound(total) == bound


@pytest.mark.parametrize("total", [0, -1, U64 + 1])
def test_acceptance_bound_refuses_impossible_totals(total: int) -> None:
    with pytest.raises(ValueError):
        fairness.acceptance_bound(total)


@pytest.mark.parametrize("total", [*range(1, 65), 100, 1000, 1001, 4099])
def test_uniform_is_exactly_uniform_on_a_window_and_skips_every_rejected_value(
    total: int,
) -> None:
    """Feed every accepted u of [bound - 2T, bound), each preceded by a rejected u.

    The rejected values [bound, 2**64) are fewer than T, so cycling through them visits
    each one. Every r must come out exactly twice, and the stream must be used up exactly:
    a rejected value taken, or an accepted one skipped, would break either count.
    """
    bound = U64 - U64 % total  # computed here, not taken from the engine
    assert fairness.acceptance_bound(total) == bound
    rejected = list(range(bound, U64))
    assert len(rejected) < total
    window = range(bound - 2 * total, bound)

    def stream() -> Iterator[int]:
        extra = cycle(rejected) if rejected else iter(())
        for u in window:
            yield from islice(extra, 1)
            yield u

    values = stream()
    counts = Counter(fairness.uniform(values, total) for _ in window)
    assert counts == Counter({r: 2 for r in range(total)})
    assert next(values, None) is None


@settings(max_examples=200)
@given(total=st.integers(2, 2**63), data=st.data())
def test_uniform_accepts_below_the_bound_and_rejects_above(total: int, data: st.DataObject) -> None:
    bound = fairness.acceptance_bound(total)
    accepted = data.draw(st.integers(0, bound - 1))
    skipped = data.draw(st.lists(st.integers(bound, U64 - 1), max_size=5)) if bound < U64 else []
    assert fairness.uniform(iter([*skipped, accepted, 0]), total) == accepted % total


def test_first_accepted_integer_is_used() -> None:
    total = 3 * 2**62 + 1  # bound == total: a quarter of all integers is rejected
    assert fairness.acceptance_bound(total) == total
    stream = iter([U64 - 1, total, total + 1, 5, 7])
    assert fairness.uniform(stream, total) == 5
    assert next(stream) == 7  # nothing read past the accepted integer
    assert fairness.uniform(iter([total - 1]), total) == total - 1
    million = fairness.acceptance_bound(10**6)  # the bound itself is the first rejected value
    assert fairness.uniform(iter([million, million - 1]), 10**6) == 10**6 - 1


def test_a_stream_of_only_rejected_integers_is_an_error() -> None:
    with pytest.raises(ValueError):
        fairness.uniform(iter([U64 - 1, U64 - 1]), 3)  # bound 2**64 - 1


def naive_index(weights: Sequence[int], r: int) -> int:
    total = 0
    for index, weight in enumerate(weights):
        total += weight
        if total > r:
            return index
    raise AssertionError("r is not below T")


@settings(max_examples=300)
@given(weights=st.lists(st.integers(1, 10**6), min_size=1, max_size=10), data=st.data())
def test_prize_index_is_the_first_running_sum_above_r(
    weights: list[int], data: st.DataObject
) -> None:
    r = data.draw(st.integers(0, sum(weights) - 1))
    assert fairness.prize_index(running(weights), r) == naive_index(weights, r)


def test_prize_index_boundaries() -> None:
    sums = running(WEIGHTS)  # 30, 50, 55, 56, 100
    assert [fairness.prize_index(sums, r) for r in (0, 29, 30, 49, 50, 54, 55, 56, 99)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        4,
        4,
    ]


@pytest.mark.parametrize("weights", [[], [0], [3, 0, 2], [1, -1]])
def test_cumulative_refuses_weights_below_one(weights: list[int]) -> None:
    with pytest.raises(ValueError):
        fairness.cumulative(weights)


# --- statistics -----------------------------------------------------------------------------

DRAWS = 200_000
CHI2_CRITICAL_DF4_P001 = 18.467


@pytest.fixture(scope="module")
def counts() -> list[int]:
    key = fairness.seed_bytes(SEED_HEX)
    sums = running(WEIGHTS)
    seen = Counter(fairness.draw(key, CAMPAIGN, CLIENT_SEED, n, sums) for n in range(DRAWS))
    return [seen[i] for i in range(len(WEIGHTS))]


def chi_square(observed: Sequence[int], weights: Sequence[int]) -> float:
    n, total = sum(observed), sum(weights)
    expected = [n * w / total for w in weights]
    return sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))


def test_draws_fit_the_weights(counts: list[int]) -> None:
    assert sum(counts) == DRAWS
    assert chi_square(counts, WEIGHTS) < CHI2_CRITICAL_DF4_P001


def test_draws_do_not_fit_wrong_weights(counts: list[int]) -> None:
    """Negative control: the same counts against 31/19 instead of 30/20 must be rejected."""
    assert chi_square(counts, (31, 19, 5, 1, 44)) > CHI2_CRITICAL_DF4_P001


# --- v2 (CONTRACT §12): the player in the message ---------------------------------------------

# Computed with Node's crypto (createHmac, readBigUInt64BE, BigInt), a second implementation:
# the script is in docs/fairness.md, section "Algorithm v2".
PLAYER = "5f1c2a7d9e0b4c3a8d6e2f1a0b9c8d7e"
# nonce -> (hex of block k=0, first integer u, r = u % 100, drawn prize)
TABLE_V2 = {
    0: (
        "5d27ef2855d9df9f0d88643afd388dce2ab7cf692a856f4eabee2e55ee8a929d",
        6712596726137085855,
        55,
        "tablet",
    ),
    1: (
        "bc7ff98b5160bfb218de5186bbd3d9752564a2b204deca2370d89eb93276017e",
        13582849377933770674,
        74,
        "try-again",
    ),
    2: (
        "6d71083c9fbeaa94c52135bdd2a06946619cd193b04d75c5a845cd053b1122eb",
        7886093478973581972,
        72,
        "try-again",
    ),
    3: (
        "4660f3b6138dbbe5141c102241aba02f4814fc3a033f0cd88bfd60f30832dc64",
        5071321143756831717,
        17,
        "ten-off",
    ),
}


@pytest.mark.parametrize("nonce", sorted(TABLE_V2))
def test_v2_names_the_player_in_the_message_and_draws_the_known_answers(nonce: int) -> None:
    block_hex, u, r, prize = TABLE_V2[nonce]
    key = fairness.seed_bytes(SEED_HEX)
    assert fairness.message_prefix(CAMPAIGN, CLIENT_SEED, nonce, PLAYER) == (
        f"{CAMPAIGN}:{PLAYER}:{CLIENT_SEED}:{nonce}:"
    )
    assert next(fairness.byte_blocks(key, CAMPAIGN, CLIENT_SEED, nonce, PLAYER)).hex() == block_hex
    assert next(fairness.integers(key, CAMPAIGN, CLIENT_SEED, nonce, PLAYER)) == u
    index = fairness.draw(SEED_HEX, CAMPAIGN, CLIENT_SEED, nonce, running(WEIGHTS), PLAYER)
    assert (u % 100, PRIZES[index]) == (r, prize)


def test_v1_and_v2_draw_apart_from_the_same_seed_and_nonce() -> None:
    key = fairness.seed_bytes(SEED_HEX)
    v1 = next(fairness.byte_blocks(key, CAMPAIGN, CLIENT_SEED, 0))
    v2 = next(fairness.byte_blocks(key, CAMPAIGN, CLIENT_SEED, 0, PLAYER))
    assert v1.hex() == BLOCKS_100[0][0] and v2 != v1


@given(
    weights=st.lists(st.integers(1, 2**20), min_size=1, max_size=8),
    nonce=st.integers(0, 10**6),
    player=st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
)
@settings(max_examples=200, deadline=None)
def test_v2_fast_path_agrees_with_the_stream(weights: list[int], nonce: int, player: str) -> None:
    key = fairness.seed_bytes(SEED_HEX)
    total = sum(weights)
    r = fairness.uniform(fairness.integers(key, CAMPAIGN, CLIENT_SEED, nonce, player), total)
    expected = fairness.prize_index(running(weights), r)
    assert fairness.draw(key, CAMPAIGN, CLIENT_SEED, nonce, running(weights), player) == expected
