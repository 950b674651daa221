"""Merkle tree hashing of RFC 6962 / RFC 9162 (Certificate Transparency), standard library only.

A leaf hash is ``SHA-256(0x00 || data)``, an interior node ``SHA-256(0x01 || left || right)``; the tree head of
``n`` leaves (MTH) splits them at the largest power of two below ``n``. :class:`Tree` answers root hashes, inclusion
proofs (RFC 9162 §2.1.3.1) and consistency proofs (§2.1.4.1) for any size up to its leaf count;
:func:`verify_inclusion` and :func:`verify_consistency` are the RFC's verification algorithms (§2.1.3.2, §2.1.4.2).
:class:`Frontier` keeps the right edge of a growing tree (one hash per set bit of its size), so appending a leaf and
reading the new root cost O(log n).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class Tree:
    """The tree over a list of leaf hashes; perfect subtrees are hashed once (levels built on first use)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = list(leaves)
        self._levels: list[list[bytes]] = [self.leaves]

    @property
    def size(self) -> int:
        return len(self.leaves)

    def _level(self, height: int) -> list[bytes]:
        while len(self._levels) <= height:
            below = self._levels[-1]
            self._levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        return self._levels[height]

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of ``leaves[start:end]``."""
        width = end - start
        if width <= 0:
            return EMPTY_ROOT
        if width & (width - 1) == 0 and start % width == 0:
            return self._level(width.bit_length() - 1)[start // width]
        k = split(width)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        return self.subtree(0, self.size if size is None else self._size(size))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, nearest sibling first."""
        size = self.size if size is None else self._size(size)
        if not 0 <= index < size:
            raise ValueError(f"record {index} is not in a log of {size} records")
        path: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = split(end - start)
            if index < start + k:
                path.append(self.subtree(start + k, end))
                end = start + k
            else:
                path.append(self.subtree(start, start + k))
                start += k
        path.reverse()
        return path

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        """PROOF(old, D[0:new]) of RFC 9162 §2.1.4.1 (empty when ``old`` is 0 or equals ``new``)."""
        new = self.size if new is None else self._size(new)
        if not 0 <= old <= new:
            raise ValueError(f"a log of {old} records cannot grow into one of {new}")
        if old in (0, new):
            return []
        path: list[bytes] = []
        start, end, m, complete = 0, new, old, True
        while True:
            width = end - start
            if m == width:
                if not complete:
                    path.append(self.subtree(start, end))
                break
            k = split(width)
            if m <= k:
                path.append(self.subtree(start + k, end))
                end = start + k
            else:
                path.append(self.subtree(start, start + k))
                start, m, complete = start + k, m - k, False
        path.reverse()
        return path

    def _size(self, size: int) -> int:
        if not 0 <= size <= self.size:
            raise ValueError(f"the log has {self.size} records, not {size}")
        return size


class Frontier:
    """The right edge of a tree: the roots of its perfect subtrees, largest first (sizes: the bits of ``size``)."""

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = size
        self.hashes = list(hashes)
        if len(self.hashes) != size.bit_count():
            raise ValueError(f"a frontier of {size} leaves has {size.bit_count()} hashes, not {len(self.hashes)}")

    def append(self, leaf: bytes) -> None:
        self.hashes.append(leaf)
        size = self.size
        while size & 1:  # each trailing one bit of the old size is a subtree the new leaf completes
            right = self.hashes.pop()
            self.hashes[-1] = node_hash(self.hashes[-1], right)
            size >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            root = node_hash(left, root)
        return root


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: whether ``leaf`` (a leaf hash) is entry ``index`` of the tree of ``size`` with ``root``."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: whether the tree of ``new`` leaves with ``new_root`` extends the one of ``old`` leaves."""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof and old_root == EMPTY_ROOT
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0
