"""RFC 9162 Merkle tree: published vectors, a second implementation written from the RFC's
definitions, the storage model's read counts, tampering, and properties."""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable, Sequence
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamify.core.merkle import (
    EMPTY_ROOT,
    Frontier,
    appended,
    consistency_nodes,
    consistency_proof,
    inclusion_nodes,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    root_nodes,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# -- a second implementation, straight from RFC 9162 section 2.1 ---------------------------------
# Deliberately naive: recursion on slices of the data, hashing with hashlib here, nothing shared
# with gamify.core.merkle but the inputs.


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(entries: Sequence[bytes]) -> bytes:
    """MTH(D[n]), 2.1.1."""
    n = len(entries)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + entries[0])
    k = _k(n)
    return _h(b"\x01" + ref_mth(entries[:k]) + ref_mth(entries[k:]))


def ref_path(m: int, entries: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]), 2.1.3.1."""
    n = len(entries)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, entries[:k]), ref_mth(entries[k:])]
    return [*ref_path(m - k, entries[k:]), ref_mth(entries[:k])]


def ref_proof(m: int, entries: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]), 2.1.4.1."""

    def subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if b else [ref_mth(d)]
        k = _k(n)
        if m <= k:
            return [*subproof(m, d[:k], b), ref_mth(d[k:])]
        return [*subproof(m - k, d[k:], False), ref_mth(d[:k])]

    return subproof(m, entries, True)


# -- helpers --------------------------------------------------------------------------------------

Store = dict[tuple[int, int], bytes]


def build(entries: Sequence[bytes]) -> Store:
    """The node store a database would hold after appending ``entries`` one by one."""
    store: Store = {}
    for size, entry in enumerate(entries):
        for level, index, digest in appended(size, leaf_hash(entry), getter(store)):
            assert (level, index) not in store, "a complete node is written once"
            store[level, index] = digest
    return store


def getter(store: Store) -> Callable[[int, int], bytes]:
    return lambda level, index: store[level, index]


class Counting:
    """A node store that counts (and records) its reads."""

    def __init__(self, read: Callable[[int, int], bytes]) -> None:
        self.read = read
        self.calls: list[tuple[int, int]] = []

    def __call__(self, level: int, index: int) -> bytes:
        self.calls.append((level, index))
        return self.read(level, index)


def entries_of(n: int, tag: str = "play") -> list[bytes]:
    return [f"{tag}:{i}".encode() for i in range(n)]


ENTRIES_64 = entries_of(64)
STORE_64 = build(ENTRIES_64)


@cache
def ref_root(n: int) -> bytes:
    return ref_mth(ENTRIES_64[:n])


# -- RFC 6962 / 9162 test vectors -----------------------------------------------------------------
# From github.com/transparency-dev/merkle (Apache-2.0), the vectors of Google's certificate
# transparency code: testonly/constants.go (LeafInputs, NodeHashes, RootHashes) at commit
# 417fb0c314750d94e53942e9f92e79b6d35915db, and proof/verify_test.go (inclusionProofs,
# consistencyProofs; leaf numbers there count from 1) at commit
# 022f84cb1f2655a4399874cfa190c3f1d60b32a8. Hashing vectors: rfc6962/rfc6962_test.go.

LEAVES = [
    bytes.fromhex(x)
    for x in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]

NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]

ROOTS = [  # by tree size, from 0
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

INCLUSION_VECTORS = [  # (leaf index from 0, tree size, proof)
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

CONSISTENCY_VECTORS = [  # (old size, new size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

VECTOR_STORE = build(LEAVES)


def hexes(hashes: Sequence[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


def test_the_hashes_match_rfc6962_test_vectors() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]
    assert leaf_hash(b"").hex() == NODE_HASHES[0][0]
    assert leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_vectors(size: int) -> None:
    assert root_of(leaf_hash(x) for x in LEAVES[:size]).hex() == ROOTS[size]
    assert root(size, getter(VECTOR_STORE)).hex() == ROOTS[size]
    assert ref_mth(LEAVES[:size]).hex() == ROOTS[size]


def test_the_stored_nodes_are_the_vectors_complete_subtrees() -> None:
    expected = {
        (level, index): digest
        for level, row in enumerate(NODE_HASHES)
        for index, digest in enumerate(row)
    }
    assert {node: digest.hex() for node, digest in VECTOR_STORE.items()} == expected


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_vectors(index: int, size: int, proof: list[str]) -> None:
    assert hexes(inclusion_proof(index, size, getter(VECTOR_STORE))) == proof
    hashes = [bytes.fromhex(p) for p in proof]
    leaf = leaf_hash(LEAVES[index])
    assert verify_inclusion(leaf, index, size, hashes, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_vectors(old: int, new: int, proof: list[str]) -> None:
    assert hexes(consistency_proof(old, new, getter(VECTOR_STORE))) == proof
    hashes = [bytes.fromhex(p) for p in proof]
    assert verify_consistency(
        old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), hashes
    )


def _b(text: str) -> bytes:
    return base64.b64decode(text)


EMPTY_B64 = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="  # SHA-256("")
ONE_B64 = "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="  # the root of a tree of leaf ""
OTHER = hashlib.sha256(b"don't care").digest()

# transparency-dev/merkle testdata/consistency/additional/*.json (same commit as above), edge
# cases around empty and equal sizes. Go leaves the length of roots to the caller; ours must be
# SHA-256 sized, so its 12-byte stand-in roots ("don't care 1") are 32-byte ones here.
CONSISTENCY_EDGES = [
    ("from the empty tree proves nothing", 0, 1, _b(EMPTY_B64), _b(EMPTY_B64), [_b(EMPTY_B64)]),
    ("roots differ at size 0", 0, 0, _b(EMPTY_B64), OTHER, []),
    ("roots differ at size 1", 1, 1, _b(EMPTY_B64), OTHER, []),
    ("old larger", 2, 1, OTHER, OTHER, []),
    ("old larger than an empty new", 1, 0, OTHER, OTHER, []),
    ("from empty, empty proof", 0, 1, _b(EMPTY_B64), OTHER, []),
    ("size 0 with a root that is not the empty root", 0, 0, OTHER, OTHER, []),
    ("equal sizes, proof not empty", 1, 1, _b(EMPTY_B64), _b(EMPTY_B64), [_b(EMPTY_B64)]),
    ("equal zero sizes, proof not empty", 0, 0, _b(EMPTY_B64), _b(EMPTY_B64), [_b(EMPTY_B64)]),
    ("sizes differ and proof is empty", 1, 2, _b(ONE_B64), OTHER, []),
]


@pytest.mark.parametrize(("why", "old", "new", "r1", "r2", "proof"), CONSISTENCY_EDGES)
def test_consistency_edge_cases_are_rejected(
    why: str, old: int, new: int, r1: bytes, r2: bytes, proof: list[bytes]
) -> None:
    assert not verify_consistency(old, new, r1, r2, proof), why


def test_equal_sizes_need_equal_roots_and_no_proof() -> None:
    assert verify_consistency(1, 1, OTHER, OTHER, [])  # "sizes are equal (one), proof is empty"
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])


def test_a_single_entry_tree() -> None:
    """testdata/inclusion/single-entry: the root of one leaf is its hash, the proof empty."""
    digest = leaf_hash(b"data")
    assert verify_inclusion(digest, 0, 1, [], digest)
    assert not verify_inclusion(b"", 0, 1, [], digest)
    assert not verify_inclusion(digest, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], b"")
    for index, size in [(0, 0), (1, 0), (2, 1), (1, 1)]:
        assert not verify_inclusion(digest, index, size, [], digest)
        assert not verify_inclusion(digest, index, size, [], EMPTY_ROOT)


# -- every proof up to 64 leaves against the reference --------------------------------------------


def inclusion_corruptions(
    index: int, size: int, leaf: bytes, proof: list[bytes], root_hash: bytes
) -> list[tuple[str, int, int, bytes, list[bytes], bytes]]:
    """Each way proof/verify_test.go (corruptInclusionProof) spoils a good proof."""
    some = hashlib.sha256(b"some hash").digest()
    cases = [
        ("index - 1", index - 1, size, leaf, proof, root_hash),
        ("index + 1", index + 1, size, leaf, proof, root_hash),
        ("index ^ 2", index ^ 2, size, leaf, proof, root_hash),
        ("size * 2", index, size * 2, leaf, proof, root_hash),
        ("size // 2", index, size // 2, leaf, proof, root_hash),
        ("wrong leaf", index, size, leaf_hash(b"wrong"), proof, root_hash),
        ("short leaf", index, size, leaf[:-1], proof, root_hash),
        ("empty root", index, size, leaf, proof, EMPTY_ROOT),
        ("random root", index, size, leaf, proof, some),
        ("trailing garbage", index, size, leaf, [*proof, b""], root_hash),
        ("trailing root", index, size, leaf, [*proof, root_hash], root_hash),
        ("preceding garbage", index, size, leaf, [b"", *proof], root_hash),
        ("preceding root", index, size, leaf, [root_hash, *proof], root_hash),
    ]
    for i in range(len(proof)):
        flipped = [*proof]
        flipped[i] = bytes([proof[i][0] ^ 8]) + proof[i][1:]
        cases.append((f"bit in proof[{i}]", index, size, leaf, flipped, root_hash))
    if proof:
        cases.append(("removed component", index, size, leaf, proof[:-1], root_hash))
    if len(proof) > 1:
        inserted = [proof[0], some, *proof[1:]]
        cases.append(("inserted component", index, size, leaf, inserted, root_hash))
    return cases


def test_every_inclusion_proof_up_to_64_leaves() -> None:
    get = getter(STORE_64)
    for size in range(1, 65):
        root_hash = ref_root(size)
        for index in range(size):
            proof = inclusion_proof(index, size, get)
            assert proof == ref_path(index, ENTRIES_64[:size]), (index, size)
            leaf = leaf_hash(ENTRIES_64[index])
            assert verify_inclusion(leaf, index, size, proof, root_hash), (index, size)
            for why, i, n, bad_leaf, bad_proof, bad_root in inclusion_corruptions(
                index, size, leaf, proof, root_hash
            ):
                assert not verify_inclusion(bad_leaf, i, n, bad_proof, bad_root), (why, index, size)


def consistency_corruptions(
    old: int, new: int, r1: bytes, r2: bytes, proof: list[bytes]
) -> list[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    """Each way proof/verify_test.go (corruptConsistencyProof) spoils a good proof."""
    cases = [
        ("old - 1", old - 1, new, r1, r2, proof),
        ("old + 1", old + 1, new, r1, r2, proof),
        ("old ^ 2", old ^ 2, new, r1, r2, proof),
        ("new * 2", old, new * 2, r1, r2, proof),
        ("new // 2", old, new // 2, r1, r2, proof),
        ("wrong old root", old, new, leaf_hash(b"wrong"), r2, proof),
        ("wrong new root", old, new, r1, leaf_hash(b"wrong"), proof),
        ("swapped roots", old, new, r2, r1, proof),
        ("empty proof", old, new, r1, r2, []),
        ("trailing garbage", old, new, r1, r2, [*proof, b""]),
        ("trailing old root", old, new, r1, r2, [*proof, r1]),
        ("trailing new root", old, new, r1, r2, [*proof, r2]),
        ("preceding garbage", old, new, r1, r2, [b"", *proof]),
        ("preceding old root", old, new, r1, r2, [r1, *proof]),
        ("preceding new root", old, new, r1, r2, [r2, *proof]),
        ("preceding proof[0]", old, new, r1, r2, [proof[0], *proof]),
        ("truncated proof", old, new, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = [*proof]
        flipped[i] = bytes([proof[i][0] ^ 16]) + proof[i][1:]
        cases.append((f"bit in proof[{i}]", old, new, r1, r2, flipped))
    return cases


def test_every_consistency_proof_up_to_64_leaves() -> None:
    get = getter(STORE_64)
    for new in range(1, 65):
        for old in range(1, new + 1):
            proof = consistency_proof(old, new, get)
            assert proof == ref_proof(old, ENTRIES_64[:new]), (old, new)
            r1, r2 = ref_root(old), ref_root(new)
            assert verify_consistency(old, new, r1, r2, proof), (old, new)
            if old == new:
                assert proof == []
                continue
            for why, m, n, bad1, bad2, bad_proof in consistency_corruptions(
                old, new, r1, r2, proof
            ):
                assert not verify_consistency(m, n, bad1, bad2, bad_proof), (why, old, new)


# -- the storage model ----------------------------------------------------------------------------


def test_the_store_holds_exactly_the_complete_subtrees() -> None:
    expected = {
        (level, index): ref_mth(ENTRIES_64[index << level : (index + 1) << level])
        for level in range(7)
        for index in range(64 >> level)
    }
    assert expected == STORE_64
    partial = build(ENTRIES_64[:13])  # 13 = 8 + 4 + 1: nodes up to level 3, nothing half-done
    assert set(partial) == {node for node in expected if (node[1] + 1) << node[0] <= 13}


def test_an_append_reads_one_left_sibling_per_level_it_completes() -> None:
    store: Store = {}
    for size, entry in enumerate(entries_of(300)):
        reads = Counting(getter(store))
        nodes = appended(size, leaf_hash(entry), reads)
        trailing_ones = (~size & (size + 1)).bit_length() - 1
        assert len(reads.calls) == trailing_ones <= math.log2(size + 1)
        assert len(nodes) == trailing_ones + 1
        store.update({(level, index): digest for level, index, digest in nodes})
        assert root(size + 1, getter(store)) == frontier_root(entries_of(size + 1))


def frontier_root(entries: Sequence[bytes]) -> bytes:
    frontier = Frontier()
    for entry in entries:
        frontier.append(leaf_hash(entry))
    assert frontier.size == len(entries)
    return frontier.root()


def test_root_of_and_the_frontier_are_mth() -> None:
    for n in range(65):
        assert root_of(leaf_hash(x) for x in ENTRIES_64[:n]) == ref_root(n)
        assert frontier_root(ENTRIES_64[:n]) == ref_root(n)
        assert root(n, getter(STORE_64)) == ref_root(n)


def test_the_functions_read_exactly_the_nodes_they_name() -> None:
    """So a store can fetch them in one query and hand over ``dict.__getitem__``."""
    for size in range(1, 65):
        reads = Counting(getter(STORE_64))
        root(size, reads)
        assert reads.calls == root_nodes(size)
        for index in range(size):
            reads = Counting(getter(STORE_64))
            inclusion_proof(index, size, reads)
            assert reads.calls == inclusion_nodes(index, size)
        for old in range(1, size + 1):
            reads = Counting(getter(STORE_64))
            consistency_proof(old, size, reads)
            assert reads.calls == consistency_nodes(old, size)


PERIOD = 1 << 10


@cache
def periodic_node(level: int, index: int) -> bytes:
    """The node store of a huge log whose entries repeat every 1,024 plays: a real tree (each
    node hashes its two children) that costs a few thousand hashes at any size, where every
    subtree of more than one period equals its neighbours."""
    if level == 0:
        return leaf_hash(b"play:%d" % (index % PERIOD))
    if (1 << level) > PERIOD:
        child = periodic_node(level - 1, 0)
        return node_hash(child, child)
    index %= PERIOD >> level
    return node_hash(periodic_node(level - 1, 2 * index), periodic_node(level - 1, 2 * index + 1))


@pytest.mark.parametrize("size", [10**6, 10**7, 2**23, 2**23 + 1, 2**24 - 1])
def test_proofs_at_millions_of_leaves_read_o_log_n_nodes(size: int) -> None:
    bound = 2 * math.log2(size) + 2
    reads = Counting(periodic_node)
    root_hash = root(size, reads)
    assert len(reads.calls) <= math.log2(size) + 1
    for index in {0, 1, size // 2, size // 3, 2**19 - 1, 2**19, size - 2, size - 1}:
        reads = Counting(periodic_node)
        proof = inclusion_proof(index, size, reads)
        assert len(reads.calls) <= bound, (index, len(reads.calls))
        leaf = periodic_node(0, index)
        assert verify_inclusion(leaf, index, size, proof, root_hash)
        assert not verify_inclusion(leaf, index ^ 1, size, proof, root_hash)
    for old in {1, 2, 3, 1000, size // 2, size // 3 + 1, size - 1, size}:
        reads = Counting(periodic_node)
        proof = consistency_proof(old, size, reads)
        assert len(reads.calls) <= bound, (old, len(reads.calls))
        assert verify_consistency(old, size, root(old, periodic_node), root_hash, proof)


def test_the_read_bound_holds_for_every_proof_up_to_256_leaves() -> None:
    for size in range(1, 257):
        bound = 2 * math.log2(size) + 2
        assert len(root_nodes(size)) <= math.log2(size) + 1
        assert max(len(inclusion_nodes(i, size)) for i in range(size)) <= bound, size
        assert max(len(consistency_nodes(m, size)) for m in range(1, size + 1)) <= bound, size


# -- tampering ------------------------------------------------------------------------------------


def test_a_changed_leaf_is_rejected() -> None:
    tampered = [*ENTRIES_64[:40]]
    tampered[17] = b"play:17 but a better prize"
    signed_root = ref_root(40)
    store = build(tampered)
    for index in range(40):
        proof = inclusion_proof(index, 40, getter(store))
        ok = verify_inclusion(leaf_hash(tampered[index]), index, 40, proof, signed_root)
        assert not ok, index  # every path crosses the changed subtree's hash
    proof = inclusion_proof(17, 40, getter(STORE_64))
    assert not verify_inclusion(leaf_hash(tampered[17]), 17, 40, proof, signed_root)


def test_a_swapped_pair_is_rejected() -> None:
    signed_root = ref_root(40)
    for i, j in [(0, 1), (3, 4), (10, 30), (38, 39)]:
        swapped = [*ENTRIES_64[:40]]
        swapped[i], swapped[j] = swapped[j], swapped[i]
        assert ref_mth(swapped) != signed_root
        proof = inclusion_proof(i, 40, getter(STORE_64))
        assert not verify_inclusion(leaf_hash(ENTRIES_64[i]), j, 40, proof, signed_root)
        assert not verify_inclusion(leaf_hash(ENTRIES_64[j]), i, 40, proof, signed_root)


def test_a_truncated_tree_is_rejected() -> None:
    """A log cut back to ``short`` plays cannot show itself consistent with a checkpoint the
    auditor already holds at ``signed``, in either direction."""
    get = getter(STORE_64)
    for signed in range(2, 65):
        for short in range(1, signed):
            assert ref_root(short) != ref_root(signed)
            proof = consistency_proof(short, signed, get)
            assert not verify_consistency(signed, short, ref_root(signed), ref_root(short), proof)
            assert not verify_consistency(short, signed, ref_root(short), ref_root(short), proof)


def test_a_forked_tree_is_rejected() -> None:
    """Two histories share ``common`` plays then differ: no proof of either links the other."""
    fork = build([*ENTRIES_64[:20], *entries_of(44, "fork")])
    fork_root = {n: root(n, getter(fork)) for n in range(1, 65)}
    for old in range(21, 65, 3):
        for new in range(old, 65, 5):
            honest = consistency_proof(old, new, getter(STORE_64))
            forked = consistency_proof(old, new, getter(fork))
            assert not verify_consistency(old, new, ref_root(old), fork_root[new], honest)
            assert not verify_consistency(old, new, ref_root(old), fork_root[new], forked)
            assert not verify_consistency(old, new, fork_root[old], ref_root(new), forked)
    for old in range(1, 21):  # before the fork both are the same history
        proof = consistency_proof(old, 64, getter(fork))
        assert verify_consistency(old, 64, ref_root(old), fork_root[64], proof)


# -- bad arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: inclusion_proof(5, 5, getter(STORE_64)), "leaf 5 is not in a tree of 5"),
        (lambda: inclusion_proof(0, 0, getter(STORE_64)), "leaf 0 is not in a tree of 0"),
        (lambda: inclusion_proof(-1, 5, getter(STORE_64)), "index must not be negative"),
        (lambda: consistency_proof(0, 5, getter(STORE_64)), "0 < old size <= new size"),
        (lambda: consistency_proof(6, 5, getter(STORE_64)), "0 < old size <= new size"),
        (lambda: consistency_nodes(0, 0), "0 < old size <= new size"),
        (lambda: root_nodes(-1), "size must not be negative"),
        (lambda: appended(-1, EMPTY_ROOT, getter(STORE_64)), "size must not be negative"),
        (lambda: appended(0, b"play:0", getter({})), "a leaf hash is 32 bytes"),
        (lambda: Frontier().append(EMPTY_ROOT.hex()), "a leaf hash is 32 bytes"),  # type: ignore[arg-type]
    ],
)
def test_out_of_range_requests_are_value_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_sizes_must_be_ints() -> None:
    with pytest.raises(TypeError, match="index must be an int"):
        inclusion_nodes(1.0, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="size must be an int"):
        root_nodes(True)


def test_the_verifiers_answer_false_for_malformed_input() -> None:
    leaf, digest = leaf_hash(b"x"), leaf_hash(b"x")
    assert not verify_inclusion(leaf, 0, 1, ["not bytes"], digest)  # type: ignore[list-item]
    assert not verify_inclusion(leaf.hex(), 0, 1, [], digest)  # type: ignore[arg-type]
    assert not verify_inclusion(leaf, -1, 1, [], digest)
    assert not verify_inclusion(leaf, 0, -1, [], digest)
    assert not verify_consistency(-1, 1, digest, digest, [digest])
    assert not verify_consistency(1, 2, digest, digest, [b"\x00" * 31])
    assert not verify_consistency(1, 2, bytearray(digest), digest, [digest])  # type: ignore[arg-type]


# -- properties -----------------------------------------------------------------------------------


@st.composite
def trees(draw: st.DrawFn) -> list[bytes]:
    n = draw(st.integers(min_value=1, max_value=300))
    seed = draw(st.integers(min_value=0, max_value=2**32))
    return [f"{seed}:{i}".encode() for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(trees(), st.data())
def test_any_inclusion_proof_verifies_and_any_change_breaks_it(
    entries: list[bytes], data: st.DataObject
) -> None:
    store, size = build(entries), len(entries)
    index = data.draw(st.integers(0, size - 1))
    root_hash = root(size, getter(store))
    assert root_hash == ref_mth(entries)
    proof = inclusion_proof(index, size, getter(store))
    leaf = leaf_hash(entries[index])
    assert verify_inclusion(leaf, index, size, proof, root_hash)
    other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
    assert not verify_inclusion(leaf_hash(entries[other]), index, size, proof, root_hash)
    assert not verify_inclusion(leaf, other, size, proof, root_hash)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        changed = [*proof]
        changed[at] = (
            bytes([*proof[at][: bit // 8], proof[at][bit // 8] ^ (1 << bit % 8)])
            + (proof[at][bit // 8 + 1 :])
        )
        assert not verify_inclusion(leaf, index, size, changed, root_hash)


@settings(max_examples=150, deadline=None)
@given(trees(), st.data())
def test_any_consistency_proof_verifies_and_a_rewritten_past_breaks_it(
    entries: list[bytes], data: st.DataObject
) -> None:
    store, new = build(entries), len(entries)
    old = data.draw(st.integers(1, new))
    proof = consistency_proof(old, new, getter(store))
    assert proof == ref_proof(old, entries)
    r1, r2 = root(old, getter(store)), root(new, getter(store))
    assert verify_consistency(old, new, r1, r2, proof)
    rewritten = data.draw(st.integers(0, old - 1))
    history = [*entries[:rewritten], b"rewritten", *entries[rewritten + 1 : old]]
    assert not verify_consistency(old, new, ref_mth(history), r2, proof)


@given(st.integers(0, 300))
@settings(max_examples=40, deadline=None)
def test_a_stored_frontier_appends_the_nodes_the_storage_model_names(size: int) -> None:
    """What a play appends from the frontier kept in its campaign's row: the same nodes as
    :func:`merkle.appended` reading the node table, and the same root after."""
    leaves = [leaf_hash(str(i).encode()) for i in range(size + 1)]
    stored: dict[tuple[int, int], bytes] = {}
    frontier = Frontier()
    for i, leaf in enumerate(leaves[:size]):
        for level, index, digest in frontier.append(leaf):
            stored[(level, index)] = digest
        assert frontier.root() == root(i + 1, lambda lv, ix: stored[(lv, ix)])
    kept = Frontier.from_bytes(size, frontier.to_bytes())
    assert len(frontier.to_bytes()) == 32 * size.bit_count()
    expected = appended(size, leaves[size], lambda lv, ix: stored[(lv, ix)])
    assert kept.append(leaves[size]) == expected
    assert kept.root() == root_of(leaves)


def test_a_frontier_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="a tree of 3 leaves has 2 frontier hashes"):
        Frontier.from_bytes(3, b"\x00" * 32)
