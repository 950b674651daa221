"""Delivery of outbox lines to a store, shared by the kernel's writer and every ``nblineage`` command.

A line the store cannot take (unreadable, torn by a full disk, invalid, or refused by the store) is set aside in
the folder's dead-letter file with its reason, and every other line is delivered: one bad record never blocks
the rest. Only a store that cannot be reached stops delivery (:class:`Unreachable`); the lines then stay where
they are. Leftover outboxes (of kernels that are gone) are found by the store's identity (:func:`store_id`), so a
kernel or command that reaches the same database under another URL delivers them too.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from nblineage import config
from nblineage.kernel_ext import outbox as outboxes
from nblineage.lineage.urls import shown_url

log = logging.getLogger("nblineage")
TRIES = 200  # places a torn line is tried at for the start of the record glued to it
SetAside = Callable[[str, str], None]  # (line, reason)
UNSENT = "unsent"  # the outbox folder of kernels whose store URL cannot be used; any later kernel delivers it


class Unreachable(RuntimeError):
    """The store cannot be reached now: nothing was set aside, the lines stay in the outbox."""


def reason(error: BaseException) -> str:
    """The first line of an error, with any URL password masked, for a notice."""
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    name = type(error).__name__
    return (
        shown_url(first if name in ("StoreError", "Unreachable", "StoreRefused") or not first else f"{name}: {first}")
        or name
    )


def parse_lines(data: bytes) -> tuple[list[tuple[str, Any]], list[str]]:
    """The records in outbox bytes, each with its JSON document, and the torn pieces among them. A write cut short
    by a full disk or a kill leaves a piece without its newline, which the next record's line then starts with: the
    record after the tear is recovered (the first ``{"`` from which the rest of the line is one JSON document), the
    piece before it is torn. Bytes that are not UTF-8 are torn too."""
    records: list[tuple[str, Any]] = []
    torn: list[str] = []
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        found = _document(raw)
        if found is None:
            torn.append(raw.decode(errors="backslashreplace"))
            continue
        start, document = found
        if start:
            torn.append(raw[:start].decode(errors="backslashreplace"))
        records.append((raw[start:].decode(), document))
    return records, torn


def _document(raw: bytes, tries: int = TRIES) -> tuple[int, Any] | None:
    """Where the JSON document that ends ``raw`` starts (0 for a whole line), and that document; or None."""
    start = 0
    while start >= 0 and tries > 0:
        try:
            return start, orjson.loads(raw[start:])
        except orjson.JSONDecodeError:
            start = raw.find(b'{"', start + 1)
            tries -= 1
    return None


def deliver(store: Any, lines: list[str], set_aside: SetAside) -> int:
    """Store the events of ``lines`` (outbox records or events); return how many lines were delivered. Raises
    :class:`Unreachable` when the store cannot be reached; then nothing is set aside."""
    aside: list[tuple[str, str]] = []
    items: list[tuple[str, list[Any]]] = []
    records, torn = parse_lines("\n".join(lines).encode(errors="surrogateescape"))
    aside += [(piece, "a line cut short (the disk was full, or the kernel was killed while writing)") for piece in torn]
    for line, document in records:
        try:
            items.append((line, checked_events(document)))
        except Exception as error:
            aside.append((line, f"cannot be turned into a valid event: {reason(error)}"))
    try:
        store.append(event for _, events in items for event in events)
    except Exception as error:
        _raise_if_unreachable(store, error)
        for line, events in items:  # the store refuses something: find which, one line at a time
            try:
                store.append(events)
            except Exception as refused:
                _raise_if_unreachable(store, refused)
                aside.append((line, f"the store refused it: {reason(refused)}"))
    for line, why in aside:
        set_aside(line, why)
    return len(records) + len(torn) - len(aside)


_TRANSIENT = (
    "is locked",
    "is busy",
    "timeout",
    "deadlock",
    "serialize",
    "disk is full",
    "disk full",
    "no space",
    "i/o error",
)


def _raise_if_unreachable(store: Any, error: Exception) -> None:
    """Raise :class:`Unreachable` unless ``error`` is the store refusing a record: the store cannot be reached,
    or is busy (a lock or a statement that timed out: worth trying again later)."""
    if isinstance(error, Unreachable):
        raise error
    if any(word in str(error).lower() for word in _TRANSIENT):
        raise Unreachable(reason(error)) from error
    probe = getattr(store, "probe", None)  # a Jupyter server's endpoint (remote.py) has no engine
    try:
        if probe is not None:
            probe()
        else:
            with store.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
    except Exception:
        raise Unreachable(reason(error)) from error


def events_of(line: str) -> list[dict[str, Any]]:
    """The OpenLineage events (as JSON objects) of one outbox line: a record of ours, or an event as it is."""
    item = orjson.loads(line)
    if not _is_record(item):
        return [item]
    from nblineage.kernel_ext import emit

    return emit.events_of(item)


def checked_events(document: Any) -> list[Any]:
    """The checked events (``events.Event``) of one outbox line's JSON document: a record of ours, or an event as it
    is. A record's events are serialised once, for the check (``events.cleaned``)."""
    from nblineage.lineage.events import check, cleaned

    if not _is_record(document):
        return [check(document)]
    from nblineage.kernel_ext import emit

    return [check(*cleaned(event)) for event in emit.built_events(document)]


def _is_record(item: Any) -> bool:
    """Whether an outbox line's document is a record of ours (not an event)."""
    return isinstance(item, dict) and bool(item.get("nblineage")) and "kind" in item


def store_id(store: Any) -> str:
    """The store's identity: a random number kept in its ``counters`` table (made on first use, through the
    store's guarded write path), the same whatever URL reaches it; a Jupyter server's, its ``identity``."""
    identity = getattr(store, "identity", None)  # a Jupyter server's endpoint: its URL, hashed
    if isinstance(identity, str):
        return identity
    from nblineage.lineage.sqlite_reader import text  # SQLAlchemy's text where it is loaded, else plain text

    select = "SELECT value FROM counters WHERE name = 'store_id'"
    with store.read() as conn:
        found = conn.exec_driver_sql(select).scalar()
    if found is None:
        insert = "INSERT INTO counters (name, value) VALUES ('store_id', :value) ON CONFLICT (name) DO NOTHING"
        with store.write() as conn:  # refuses a damaged SQLite file before writing anything
            conn.execute(text(insert), {"value": secrets.randbits(62) + 1})
            found = conn.exec_driver_sql(select).scalar()
    return str(found)


def folders(bases: Iterable[Path], names: Iterable[str], identity: str | None) -> Iterator[Path]:
    """The outbox folders under ``bases`` for one store: those named ``names``, and those marked with its
    ``identity`` (outbox.mark). Nothing is created."""
    names = set(names)
    for base in bases:
        top = base / "outbox"
        try:
            children = sorted(top.iterdir())
        except OSError:
            continue
        for folder in children:
            if folder.name in names or (identity is not None and outboxes.mark_of(folder) == identity):
                yield folder


def deliver_leftovers(store: Any, where: Iterable[Path], skip: str | None = None) -> int:
    """Deliver and delete the outboxes of kernels that are gone, in the folders ``where``; return how many lines
    were delivered. Raises :class:`Unreachable` when the store cannot be reached (the rest stays for later)."""
    delivered = 0
    for folder in where:
        for path in outboxes.orphans(folder):
            if str(path) == skip:
                continue
            lines = path.read_bytes().decode(errors="surrogateescape").splitlines()
            delivered += deliver(store, lines, outboxes.set_aside_in(folder, str(path)))
            path.unlink(missing_ok=True)
    return delivered


def replay(store: Any, where: Iterable[Path]) -> tuple[int, int]:
    """Try again the records set aside in the folders ``where``; (delivered, still set aside, with their reason
    now). Raises :class:`Unreachable` when the store cannot be reached (then every record stays set aside)."""
    delivered = kept = 0
    for folder in where:
        done, left = _replay_folder(store, folder)
        delivered, kept = delivered + done, kept + left
    return delivered, kept


def _replay_folder(store: Any, folder: Path) -> tuple[int, int]:
    entries = outboxes.take_set_aside(folder)
    again: list[dict[str, Any]] = []
    delivered = 0

    def keep(line: str, why: str) -> None:
        again.append({"time": _now(), "reason": why, "origin": "nblineage replay", "line": line})

    try:
        for entry in entries:
            delivered += deliver(store, [entry["line"]], keep)
    except Unreachable:
        again[:] = entries
        raise
    finally:
        outboxes.put_back(folder, again)
    return delivered, len(again)


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat()


def outbox_folder(store_url: str, base: Path | None = None) -> Path:
    """Outboxes live under the Jupyter data dir (or ``base``), one folder per store URL (marked with the store's
    identity once reached)."""
    digest = hashlib.sha256(store_url.encode()).hexdigest()[:16]
    return (config.data_dir() if base is None else base) / "outbox" / digest


def bases() -> list[Path]:
    """The folders outboxes may live in: the Jupyter data dir, then a private folder under the system temp dir
    (when it exists: it is not made only to be looked into)."""
    found = [config.data_dir()]
    with contextlib.suppress(OSError):
        found.append(config.private_temp_dir(create=False))
    return found


def leftovers(folder: str, store_id: str | None) -> list[Path]:
    """The folders where kernels that are gone may have left outboxes for a store: its URL's folder ``folder``,
    the folder of unusable URLs, and any folder marked with the store's identity (another URL for it)."""
    return list(folders(bases(), (folder, UNSENT), store_id))


def anything_left() -> bool:
    """Whether any outbox file waits anywhere (cheap: a look into a few folders)."""
    for base in bases():
        with contextlib.suppress(OSError):
            for folder in (base / "outbox").iterdir():
                if next(folder.glob("*.jsonl"), None):
                    return True
    return False
