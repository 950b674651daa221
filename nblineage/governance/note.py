"""Ed25519 signed notes (C2SP signed-note) and the audit log's signing key.

A note is text ending in a newline, a blank line, then signature lines ``— <key name> <base64(key id || sig)>``. The
key id is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key) (0x01: Ed25519). Keys are kept in the
formats of Go's ``golang.org/x/mod/sumdb/note``: a signer key ``PRIVATE+KEY+<name>+<id hex>+<base64(0x01 ||
seed)>`` in a file only its owner reads (0600), a verifier key (vkey) ``<name>+<id hex>+<base64(0x01 || public
key)>`` to hand to whoever checks checkpoints.

The key is ``--key PATH``, else ``NBLINEAGE_AUDIT_KEY``, else ``nblineage/audit.key`` in the user's Jupyter config
dir, created there on first use.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import re
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from nblineage.lineage.private import private_folder

ED25519 = 0x01
KEY_FILE = "audit.key"
KEY_VARIABLE = "NBLINEAGE_AUDIT_KEY"
DASH = "\u2014"  # the signature line's em dash
_NAME = re.compile(r"^[^\s+]+$")


class NoteError(ValueError):
    """A note, key or signature that cannot be used; the message says why."""


def key_id(name: str, public: bytes) -> int:
    return int.from_bytes(hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4], "big")


@dataclass(frozen=True)
class Verifier:
    """A public key with its name and id."""

    name: str
    public: bytes

    @property
    def id(self) -> int:
        return key_id(self.name, self.public)

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public).decode()
        return f"{self.name}+{self.id:08x}+{encoded}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A private key with its name; ``verifier`` is its public half."""

    name: str
    seed: bytes

    @property
    def verifier(self) -> Verifier:
        public = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return Verifier(self.name, public.public_bytes(Encoding.Raw, PublicFormat.Raw))

    @property
    def skey(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.id:08x}+{encoded}"

    def sign(self, text: str) -> str:
        """``text`` (ending in a newline) as a signed note."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("a note's text ends in one newline and holds no blank line")
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(text.encode())
        encoded = base64.b64encode(self.verifier.id.to_bytes(4, "big") + signature).decode()
        return f"{text}\n{DASH} {self.name} {encoded}\n"


def generate(name: str) -> Signer:
    if not _NAME.match(name):
        raise NoteError(f"a key name holds no spaces or '+': {name!r}")
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    return Signer(name, seed)


def parse_skey(text: str) -> Signer:
    parts = text.strip().split("+", 4)  # the key's base64 may hold "+"
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError("not a signer key (PRIVATE+KEY+name+id+key)")
    name, wanted, encoded = parts[2:]
    raw = _b64(encoded, "the signer key")
    if len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("the signer key is not an Ed25519 key")
    signer = Signer(name, raw[1:])
    if f"{signer.verifier.id:08x}" != wanted.lower():
        raise NoteError("the signer key's id does not match its key")
    return signer


def parse_vkey(text: str) -> Verifier:
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("not a verifier key (name+id+key)")
    name, wanted, encoded = parts
    raw = _b64(encoded, "the verifier key")
    if len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("the verifier key is not an Ed25519 key")
    verifier = Verifier(name, raw[1:])
    if f"{verifier.id:08x}" != wanted.lower():
        raise NoteError("the verifier key's id does not match its key")
    return verifier


def open_note(note: str, verifier: Verifier) -> str:
    """The text of ``note`` once a signature by ``verifier`` checks (signatures by other keys are ignored)."""
    text, sep, signatures = note.partition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("not a signed note: no blank line before signature lines")
    text += "\n"
    found = False
    for line in signatures[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"not a signature line: {line[:80]!r}")
        raw = _b64(parts[2], "a signature")
        if parts[1] != verifier.name or len(raw) < 4 or int.from_bytes(raw[:4], "big") != verifier.id:
            continue
        found = True
        if verifier.verify(text.encode(), raw[4:]):
            return text
    if found:
        raise NoteError(f"the signature by {verifier.name} does not match the note: it was changed")
    raise NoteError(f"the note is not signed by the key {verifier.name}+{verifier.id:08x}")


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise NoteError(f"{what} is not base64") from None


# --- the key file ------------------------------------------------------------------------------------------------


def default_key_path() -> Path:
    from jupyter_core.paths import jupyter_config_dir

    return Path(jupyter_config_dir()) / "nblineage" / KEY_FILE


def key_path(path: str | os.PathLike[str] | None = None) -> tuple[Path, bool]:
    """The key file to use and whether it may be created (only the default one is)."""
    if path:
        return Path(path).expanduser(), False
    named = os.environ.get(KEY_VARIABLE, "").strip()
    if named:
        return Path(named).expanduser(), False
    return default_key_path(), True


def load_signer(path: str | os.PathLike[str] | None = None) -> Signer:
    """The signing key (``path``, ``NBLINEAGE_AUDIT_KEY``, else the default file, created 0600 on first use)."""
    where, may_create = key_path(path)
    if not where.exists():
        if not may_create:
            raise NoteError(f"there is no audit signing key at {where}")
        return _create(where)
    info = where.stat()
    if hasattr(os, "getuid") and info.st_mode & 0o077:
        raise NoteError(f"the audit signing key {where} can be read by others: chmod 600 {where}")
    return parse_skey(where.read_text())


def load_verifier(public_key: str | os.PathLike[str] | None = None, key: str | os.PathLike[str] | None = None):
    """A verifier from a vkey text or a file holding one; else the public half of the signing key (never
    created here); None when there is neither."""
    if public_key:
        text = str(public_key)
        if "+" not in text or Path(text).exists():
            text = Path(text).expanduser().read_text()
        return parse_vkey(text)
    where, _ = key_path(key)
    if not where.exists():
        return None
    return load_signer(where).verifier


def _create(where: Path) -> Signer:
    try:
        user = getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        user = "user"
    user = re.sub(r"[^\w.@-]", "_", user or "user")
    host = re.sub(r"[^\w.-]", "_", socket.gethostname() or "localhost")
    signer = generate(f"nblineage-audit/{user}@{host}")
    private_folder(where.parent)
    temporary = where.with_name(f".{where.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(signer.skey + "\n")
    try:
        os.link(temporary, where)  # whole or not at all, and never over a key another process made first
    except FileExistsError:
        return parse_skey(where.read_text())
    finally:
        temporary.unlink()
    return signer
