"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and their verification.

A database-backed log keeps the tree as *complete subtree nodes*: node ``(level, index)`` is the
hash of leaves ``[index * 2**level, (index + 1) * 2**level)``, written once when its last leaf
arrives and never changed. Appending a leaf creates at most ``log2(n) + 1`` such nodes
(:func:`appended`), and any range the RFC hashes splits into at most ``log2(n)`` of them, so a
root or a proof at ten million leaves reads a few dozen rows instead of rehashing the log
(:func:`root`, :func:`inclusion_proof`, :func:`consistency_proof`; the ``*_nodes`` functions name
those rows up front so that a store can fetch them in one query). The verifiers follow the RFC's
algorithms step by step and answer False, never an exception, for a proof that does not check.

Why not a library: pymerkle (7.0, GPL-3.0, pins cachetools) is PyPI's maintained RFC 9162 tree,
but it stores leaves only and rebuilds a subtree from all of its leaves behind an in-process LRU
cache, so a cold proof reads O(n) rows and the workers cannot share what it caches; its
consistency proofs are in its own format, not the RFC's PROOF. aics-tlog needs Python 3.12.
Neither keeps complete subtree hashes in our own database, and the core must stay standard
library only, so that an auditor verifies without installing the server's dependencies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) in RFC 9162 2.1.1

Node = tuple[int, int]
"""``(level, index)``: the complete subtree of leaves ``[index << level, (index + 1) << level)``."""

Get = Callable[[int, int], bytes]
"""Reads the stored hash of node ``(level, index)``; a missing node is the store's to report."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 ‖ data): the prefix keeps a leaf from ever passing for an inner node."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """The right edge of a growing tree: the hashes of the complete subtrees that cover its
    leaves, largest first. Enough to append and to compute the root in O(log n) memory, which is
    what a verifier streaming a million-play bundle keeps."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        _check_size(size, "size")
        if len(hashes) != size.bit_count() or any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} frontier hashes")
        self.size = size
        self._hashes = list(hashes)

    @classmethod
    def from_bytes(cls, size: int, packed: bytes) -> Frontier:
        """The frontier a store kept as :meth:`to_bytes`."""
        hashes = [packed[i : i + HASH_SIZE] for i in range(0, len(packed), HASH_SIZE)]
        return cls(size, hashes)

    def to_bytes(self) -> bytes:
        """The hashes, largest subtree first, concatenated: 32 bytes per set bit of the size."""
        return b"".join(self._hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf; the nodes ``(level, index, hash)`` it completes (as :func:`appended`)."""
        _check_leaf(leaf)
        index = self.size
        nodes = [(0, index, leaf)]
        merged, level = leaf, 0
        while index & 1:
            merged = node_hash(self._hashes.pop(), merged)
            level, index = level + 1, index >> 1
            nodes.append((level, index, merged))
        self._hashes.append(merged)
        self.size += 1
        return nodes

    def root(self) -> bytes:
        return _fold(self._hashes)


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH over the given leaf hashes, streamed: O(n) time, O(log n) memory."""
    frontier = Frontier()
    for leaf in leaf_hashes:
        frontier.append(leaf)
    return frontier.root()


# -- the storage model --------------------------------------------------------------------------


def appended(size: int, leaf: bytes, get: Get) -> list[tuple[int, int, bytes]]:
    """The nodes ``(level, index, hash)`` that become complete when leaf number ``size`` (the
    tree's size before it) is appended: the leaf itself and each ancestor it completes. Each of
    those needs its left sibling, already stored, so this reads one node per level at most."""
    _check_size(size, "size")
    _check_leaf(leaf)
    nodes = [(0, size, leaf)]
    level, index, merged = 0, size, leaf
    while index & 1:
        merged = node_hash(get(level, index - 1), merged)
        level, index = level + 1, index >> 1
        nodes.append((level, index, merged))
    return nodes


def root_nodes(size: int) -> list[Node]:
    """The stored nodes :func:`root` reads for a tree of ``size`` leaves."""
    _check_size(size, "size")
    return _cover(0, size)


def inclusion_nodes(index: int, size: int) -> list[Node]:
    """The stored nodes :func:`inclusion_proof` reads, in the order it reads them."""
    return [node for part in _inclusion_plan(index, size) for node in part]


def consistency_nodes(old: int, new: int) -> list[Node]:
    """The stored nodes :func:`consistency_proof` reads, in the order it reads them."""
    return [node for part in _consistency_plan(old, new) for node in part]


def root(size: int, get: Get) -> bytes:
    """MTH of the first ``size`` leaves from at most log2(size) + 1 stored nodes."""
    return _fold([get(*node) for node in root_nodes(size)])


def inclusion_proof(index: int, size: int, get: Get) -> list[bytes]:
    """RFC 9162 PATH(index, D[size]) (2.1.3.1), bottom-up; ValueError unless 0 <= index < size."""
    return [_fold([get(*node) for node in part]) for part in _inclusion_plan(index, size)]


def consistency_proof(old: int, new: int, get: Get) -> list[bytes]:
    """RFC 9162 PROOF(old, D[new]) (2.1.4.1); ValueError unless 0 < old <= new. The RFC defines no
    proof from the empty tree: it would hold for any tree, so it proves nothing."""
    return [_fold([get(*node) for node in part]) for part in _consistency_plan(old, new)]


def _cover(start: int, end: int) -> list[Node]:
    """The complete subtrees that tile ``[start, end)``, left to right, each as large as its
    alignment allows. For the ranges the RFC recursion produces (``start`` a multiple of the
    largest power of two no larger than the width) these are exactly the subtrees MTH splits the
    range into, so :func:`_fold` of their hashes is MTH of the range."""
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH from the hashes of a range's subtrees, left to right: the RFC splits off the largest
    subtree first, so the hash nests to the right."""
    if not hashes:
        return EMPTY_ROOT
    merged = hashes[-1]
    for left in reversed(hashes[:-1]):
        merged = node_hash(left, merged)
    return merged


def _split(start: int, end: int) -> int:
    """The RFC's k: the largest power of two smaller than the width of ``[start, end)``."""
    return 1 << ((end - start - 1).bit_length() - 1)


def _inclusion_plan(index: int, size: int) -> list[list[Node]]:
    """PATH as the RFC recurses it, one range per proof hash, each range as its stored nodes."""
    _check_size(index, "index")
    _check_size(size, "size")
    if index >= size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    plan: list[list[Node]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(start, end)
        if index < start + k:
            plan.append(_cover(start + k, end))
            end = start + k
        else:
            plan.append(_cover(start, start + k))
            start += k
    plan.reverse()
    return plan


def _consistency_plan(old: int, new: int) -> list[list[Node]]:
    """SUBPROOF(old, D[new], true) as the RFC recurses it, one range per proof hash."""
    _check_size(old, "old size")
    _check_size(new, "new size")
    if not 0 < old <= new:
        raise ValueError(
            f"a consistency proof needs 0 < old size <= new size (got {old} and {new})"
        )
    plan: list[list[Node]] = []
    start, end, whole = 0, new, True
    while old < end:
        k = _split(start, end)
        if old - start <= k:
            plan.append(_cover(start + k, end))
            end = start + k
        else:
            plan.append(_cover(start, start + k))
            start += k
            whole = False
    if not whole:
        plan.append(_cover(start, end))
    plan.reverse()
    return plan


def _check_leaf(leaf: bytes) -> None:
    """A wrong-sized leaf hash would be stored for good and spoil every root above it."""
    if not _is_hash(leaf):
        raise ValueError(f"a leaf hash is {HASH_SIZE} bytes (got {leaf!r:.80})")


def _check_size(value: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int (got {type(value).__name__})")
    if value < 0:
        raise ValueError(f"{what} must not be negative (got {value})")


# -- verification (RFC 9162 2.1.3.2 and 2.1.4.2) -------------------------------------------------


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """Whether ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree of ``size`` leaves
    whose root is ``root_hash``."""
    if not (_is_hash(leaf) and _is_hash(root_hash) and all(_is_hash(p) for p in proof)):
        return False
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree of ``old`` leaves with root ``old_root`` to be a prefix
    of the tree of ``new`` leaves with root ``new_root``. Equal sizes need an empty proof and
    equal roots; from the empty tree nothing can be proved (RFC 9162 defines no such proof, and
    transparency-dev/merkle rejects it too), so ``old == 0 < new`` is False."""
    if not (_is_hash(old_root) and _is_hash(new_root) and all(_is_hash(p) for p in proof)):
        return False
    if not 0 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root and (old > 0 or old_root == EMPTY_ROOT)
    if old == 0 or not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE
