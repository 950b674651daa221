"""An independent verifier for the audit log's tests, written from RFC 9162 and the C2SP signed-note and
tlog-checkpoint specs, importing nothing of nblineage: what a third party would write."""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH({d(0)}) = SHA-256(0x00 || d(0))."""
    return sha256(b"\x00" + data)


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(entries: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 on the entries' data (not hashes)."""
    n = len(entries)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf(entries[0])
    k = largest_power_of_two_below(n)
    return node(mth(entries[:k]), mth(entries[k:]))


def verify_inclusion(leaf_index: int, tree_size: int, leaf_hash: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn //= 2
                    sn //= 2
        else:
            r = node(r, p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, step by step (0 < first < second)."""
    path = list(path)
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    if fn % 2 == 1:
        while fn % 2 == 1:
            fn //= 2
            sn //= 2
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn //= 2
                    sn //= 2
        else:
            sr = node(sr, c)
        fn //= 2
        sn //= 2
    return fr == first_hash and sr == second_hash and sn == 0


def parse_vkey(vkey: str) -> tuple[str, bytes, bytes]:
    """A signed-note verifier key ``name+hash+base64(0x01 || key)``: (name, 4-byte key id, public key)."""
    name, key_hash, encoded = vkey.strip().split("+", 2)
    raw = base64.b64decode(encoded)
    assert raw[0] == 1 and len(raw) == 33, "not an Ed25519 key"
    key_id = sha256(name.encode() + b"\n" + raw)[:4]
    assert key_id.hex() == key_hash, "the key hash does not match"
    return name, key_id, raw[1:]


def open_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    """Check the Ed25519 signature of a checkpoint note; (origin, size, root hash). AssertionError otherwise."""
    name, key_id, public = parse_vkey(vkey)
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    checked = False
    for line in signatures.splitlines():
        dash, signer, encoded = line.split(" ")
        assert dash == "\u2014"
        raw = base64.b64decode(encoded)
        if signer == name and raw[:4] == key_id:
            try:
                Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], text.encode())
                checked = True
            except InvalidSignature:
                raise AssertionError("bad signature") from None
    assert checked, "no signature by the key"
    origin, size, root, *_extensions = text[:-1].split("\n")
    return origin, int(size), base64.b64decode(root)
