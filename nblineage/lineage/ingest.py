"""Read OpenLineage events from files: one JSON event, a JSON array of events, or JSON lines, and store them.

Reading never stops at a bad event: each one becomes an ``IngestError`` naming the file, the line and the reason,
and every valid event of the same file is still returned (and stored: an event the store refuses is an error of
its own, never the loss of its batch). Reading takes time linear in the size of the file, however malformed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from nblineage.lineage.events import MAX_DIGITS, Event, InvalidEvent, check

if TYPE_CHECKING:
    from nblineage.lineage.store import Store

SUFFIXES = (".json", ".jsonl", ".ndjson")
BATCH = 1000
_BOM = b"\xef\xbb\xbf"
_WINDOW = 4096  # characters a malformed or multi-line value is first read within (doubled as needed)
_LONG_NUMBER = re.compile(r"[0-9]{19}")  # orjson reads integers beyond 64 bits as floats: such lines take the exact way
_DIGITS_AS_ZEROS = str.maketrans("123456789", "000000000")  # a run of 19 digits found faster than by the regex
_SCAN = 1 << 20  # characters of the text looked at a time for such a run


@dataclass(frozen=True)
class IngestError:
    """One event that could not be read or checked."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


def event_files(paths: Iterable[str | os.PathLike], skipped: list[Path] | None = None) -> Iterator[Path]:
    """The files to read: each file given, and the .json/.jsonl/.ndjson files under each folder, sorted; the
    other files under those folders are appended to ``skipped`` when it is given."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file())
            if skipped is not None:
                skipped.extend(p for p in found if p.suffix.lower() not in SUFFIXES)
            yield from (p for p in found if p.suffix.lower() in SUFFIXES)
        else:
            yield path


@dataclass
class FileResult:
    """What storing one file did: events stored, events already there, and one error per event not stored."""

    stored: int = 0
    duplicates: int = 0
    errors: list[IngestError] = field(default_factory=list)


def ingest_file(store: Store, path: str | os.PathLike, batch: int = BATCH) -> FileResult:
    """Read one file and store its valid events, a batch at a time.

    When the store refuses a batch, its events are stored one by one, so that only the event it refuses is
    lost, as an error naming its line. A store that cannot be used at all raises (StoreError, or sqlalchemy's
    OperationalError when it cannot be reached), since no event of any file could be stored then.
    """
    result = FileResult()
    read = list(_read(Path(path)))
    result.errors.extend(item for _, item in read if isinstance(item, IngestError))
    events = iter([(line, item) for line, item in read if isinstance(item, Event)])
    while chunk := list(islice(events, batch)):
        if _append(store, [event for _, event in chunk], result) is None:
            continue
        for line, event in chunk:
            refused = _append(store, [event], result)
            if refused is not None:
                result.errors.append(IngestError(str(path), line, f"the store refused this event: {refused}"))
    result.errors.sort(key=lambda error: error.line)
    return result


def _append(store: Store, events: list[Event], result: FileResult) -> str | None:
    """Store the events and count them in ``result``; why the store refused them, or None when it took them."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from nblineage.lineage.store import StoreError

    try:
        outcome = store.append(events)
    except (OperationalError, InterfaceError, StoreError):
        raise
    except Exception as error:
        reason = str(getattr(error, "orig", None) or error).strip()
        return reason.splitlines()[0] if reason else type(error).__name__
    result.stored += outcome.stored
    result.duplicates += outcome.duplicates
    return None


def read_events(path: str | os.PathLike) -> Iterator[Event | IngestError]:
    """The events of one file, each checked, or an error for each part that is not a valid event."""
    for _, item in _read(Path(path)):
        yield item


def _read(path: Path) -> Iterator[tuple[int, Event | IngestError]]:
    """(line, event or error) for each part of one file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        yield 0, IngestError(str(path), 0, "cannot read: no such file or directory")
        return
    except OSError as error:
        yield 0, IngestError(str(path), 0, f"cannot read: {error.strerror or error}")
        return
    data = data[len(_BOM) :] if data.startswith(_BOM) else data
    undecodable: dict[int, str] = {}
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as error:
        if _binary(data):
            line = data.count(b"\n", 0, error.start) + 1
            reason = _not_utf8(data, error.start)
            yield line, IngestError(str(path), line, f"cannot read: {reason}; nothing was read")
            return
        content = data.decode("utf-8", "surrogateescape")  # each line with bad bytes rejects its event only
        undecodable = _undecodable_lines(data)
    documents = _documents(content)
    current = next(documents, None)
    while current is not None:
        line, item = current
        current = next(documents, None)
        if undecodable:  # the event spans the lines up to the next one's start: any bad byte there rejects it
            until = max(current[0], line + 1) if current else max(undecodable) + 1
            bad = next((number for number in range(line, until) if number in undecodable), None)
            if bad is not None:
                yield bad, IngestError(str(path), bad, f"cannot read: {undecodable[bad]}")
                continue
        yield line, _checked(str(path), line, item)


def _checked(file: str, line: int, item: Any) -> Event | IngestError:
    if isinstance(item, _Unreadable):
        return IngestError(file, line, item.reason)
    try:
        return check(item)
    except InvalidEvent as error:
        return IngestError(file, line, str(error))
    except RecursionError:
        return IngestError(file, line, "the event is nested too deeply")
    except Exception as error:  # a defect of nblineage, never a reason to lose the other events
        return IngestError(file, line, f"internal error while checking this event ({type(error).__name__}: {error})")


def _binary(data: bytes) -> bool:
    """A file that is no text at all (NUL bytes, UTF-16 or UTF-32): it is rejected whole."""
    return b"\x00" in data or data.startswith((b"\xff\xfe", b"\xfe\xff"))


def _not_utf8(data: bytes, start: int) -> str:
    column = start - (data.rfind(b"\n", 0, start) + 1) + 1
    return f"not UTF-8 text (byte 0x{data[start]:02x} at column {column})"


def _undecodable_lines(data: bytes) -> dict[int, str]:
    """The lines holding bytes that are not UTF-8, with the first such byte of each."""
    found: dict[int, str] = {}
    start = 0
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            found[number] = _not_utf8(data, start + error.start)
        start += len(raw) + 1
    return found


@dataclass(frozen=True)
class _Unreadable:
    """A part of the text that is not JSON (a decoded JSON string is a value, not an error)."""

    reason: str


def _documents(content: str) -> Iterator[tuple[int, Any]]:
    """(line, decoded value or ``_Unreadable``) for each top-level event in the text.

    The text is a JSON array of events, or a sequence of JSON values: one event, JSON lines, or pretty-printed
    events one after another. After a malformed part, reading resumes at the next line that starts an object
    no deeper than the broken one, so the events after it are still read.
    """
    lines = _Lines(content)
    position = _skip_space(content, 0)
    if position >= len(content):
        return
    if content[position] == "[":
        yield from _array_items(content, position + 1, lines)
    else:
        yield from _sequence(content, position, lines)


def _sequence(content: str, position: int, lines: _Lines) -> Iterator[tuple[int, Any]]:
    """Values one after another, each ending its line (JSON lines, one event, or concatenated events)."""
    decoder = json.JSONDecoder()
    long_numbers = _has_digit_run(content)
    while True:
        position = _skip_space(content, position)
        if position >= len(content):
            return
        line = lines.at(position)
        line_end = content.find("\n", position)
        line_end = len(content) if line_end < 0 else line_end
        text = content[position:line_end]
        try:  # fast path: a whole line holding one JSON value (JSON lines); anything else takes the careful path
            yield line, (json.loads(text) if long_numbers and _LONG_NUMBER.search(text) else orjson.loads(text))
            position = line_end
            continue
        except ValueError:  # orjson.JSONDecodeError is one
            pass
        decoded = _decode(decoder, content, position, line)
        if isinstance(decoded, _Unreadable):
            yield line, decoded
            position = _resume(content, position)
            continue
        value, end = decoded
        line_end = content.find("\n", end)
        line_end = len(content) if line_end < 0 else line_end
        if content[end:line_end].strip(" \t\r\ufeff"):
            after = _skip_space(content, end)
            yield (
                line,
                _Unreadable(f"malformed JSON: unexpected text after the event{_where(content, after, line, lines)}"),
            )
            position = _resume(content, position)
            continue
        yield line, value
        position = end


def _has_digit_run(content: str) -> bool:
    """True when the text holds 19 digits in a row anywhere (a number orjson would not read exactly may be there)."""
    needle = "0" * 19
    for start in range(0, len(content), _SCAN):
        if needle in content[start : start + _SCAN + 18].translate(_DIGITS_AS_ZEROS):
            return True
    return False


def _array_items(content: str, position: int, lines: _Lines) -> Iterator[tuple[int, Any]]:
    """Items of a top-level JSON array, reporting the line of each; a truncated array keeps its whole items."""
    decoder = json.JSONDecoder()
    while True:
        position = _skip_space(content, position)
        if position >= len(content):
            yield lines.at(position), _Unreadable("truncated: the JSON array is not closed")
            return
        if content[position] == "]":
            after = _skip_space(content, position + 1)
            if after < len(content):
                yield lines.at(after), _Unreadable("unexpected text after the JSON array")
            return
        line = lines.at(position)
        decoded = _decode(decoder, content, position, line)
        if isinstance(decoded, _Unreadable):
            yield line, decoded
            position = _resume(content, position)
            if position >= len(content):
                return
            continue
        value, position = decoded
        yield line, value
        position = _skip_space(content, position)
        if position < len(content) and content[position] == ",":
            position += 1


def _decode(decoder: json.JSONDecoder, content: str, position: int, line: int) -> tuple[Any, int] | _Unreadable:
    """The JSON value at ``position`` and where it ends, or why it is not one.

    The decoder reads a window of the text that grows only while the value runs on past it, and an error is
    placed within that window: the standard library counts the lines before an error from the start of the text
    it was given, which made every malformed line cost time in proportion to the whole file.
    """
    size = _WINDOW
    while True:
        window = content[position : position + size]
        try:
            value, end = decoder.raw_decode(window)
            return value, position + end
        except RecursionError:
            return _Unreadable("malformed JSON: nested too deeply")
        except json.JSONDecodeError as error:
            ran_out = error.msg.startswith("Unterminated string") or _skip_space(window, error.pos) >= len(window)
            if ran_out and position + size < len(content):
                size *= 2
                continue
            if ran_out:
                return _Unreadable("truncated: the file ends inside this event")
            if error.lineno == 1:
                return _Unreadable(f"malformed JSON: {error.msg} (column {_column(content, position) + error.colno})")
            return _Unreadable(f"malformed JSON: {error.msg} (line {line + error.lineno - 1}, column {error.colno})")
        except ValueError:  # the one other: an integer Python will not read
            return _Unreadable(f"malformed JSON: a number longer than {MAX_DIGITS} digits")


def _column(content: str, position: int) -> int:
    """Characters before ``position`` on its line."""
    return position - (content.rfind("\n", 0, position) + 1)


def _where(content: str, position: int, line: int, lines: _Lines) -> str:
    if position >= len(content):
        return ""
    column = position - content.rfind("\n", 0, position)
    at = lines.at(position)
    return f" (column {column})" if at == line else f" (line {at}, column {column})"


def _resume(content: str, position: int) -> int:
    """Where to read on after a malformed value that starts at ``position``: the next line that opens an object
    at most as indented as it, or the end of the text."""
    depth = position - (content.rfind("\n", 0, position) + 1)
    cursor = content.find("\n", position)
    while cursor >= 0:
        begin = cursor + 1
        opening = begin
        while opening < len(content) and content[opening] in " \t\ufeff":
            opening += 1
        if opening < len(content) and content[opening] == "{" and opening - begin <= depth:
            return opening
        cursor = content.find("\n", begin)
    return len(content)


class _Lines:
    """Line numbers of positions met in increasing order, counted once (a big file is not rescanned)."""

    def __init__(self, content: str) -> None:
        self.content, self.position, self.number = content, 0, 1

    def at(self, position: int) -> int:
        if position < self.position:
            self.position, self.number = 0, 1
        self.number += self.content.count("\n", self.position, position)
        self.position = position
        return self.number


def _skip_space(content: str, position: int) -> int:
    """Skip JSON whitespace, and byte order marks left between concatenated files."""
    while position < len(content) and content[position] in " \t\r\n\ufeff":
        position += 1
    return position
