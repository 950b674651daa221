"""Read OpenLineage events from files: one JSON event, a JSON array of events, or JSON lines.

Reading never stops at a bad event: each one becomes an ``IngestError`` naming the file, the line and the reason,
and every valid event of the same file is still returned.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from nblineage.lineage.events import Event, InvalidEvent, check

SUFFIXES = (".json", ".jsonl", ".ndjson")


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


def read_events(path: str | os.PathLike) -> Iterator[Event | IngestError]:
    """The events of one file, each checked, or an error for each part that is not a valid event."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        yield IngestError(str(path), 0, "cannot read: no such file or directory")
        return
    except OSError as error:
        yield IngestError(str(path), 0, f"cannot read: {error.strerror or error}")
        return
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        byte = data[error.start]
        yield IngestError(
            str(path), line, f"cannot read: not UTF-8 text (byte 0x{byte:02x} at column {column}); nothing was read"
        )
        return
    for line, item in _documents(content):
        if isinstance(item, _Unreadable):
            yield IngestError(str(path), line, item.reason)
            continue
        try:
            yield check(item)
        except InvalidEvent as error:
            yield IngestError(str(path), line, str(error))


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
    while True:
        position = _skip_space(content, position)
        if position >= len(content):
            return
        line = lines.at(position)
        line_end = content.find("\n", position)
        line_end = len(content) if line_end < 0 else line_end
        try:  # fast path: a whole line holding one JSON value (JSON lines); anything else takes the careful path
            yield line, orjson.loads(content[position:line_end])
            position = line_end
            continue
        except orjson.JSONDecodeError:
            pass
        try:
            value, end = decoder.raw_decode(content, position)
        except (json.JSONDecodeError, RecursionError) as error:
            yield line, _Unreadable(_malformed(content, error, line))
            position = _resume(content, position)
            continue
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
        try:
            value, position = decoder.raw_decode(content, position)
        except (json.JSONDecodeError, RecursionError) as error:
            yield line, _Unreadable(_malformed(content, error, line))
            position = _resume(content, position)
            if position >= len(content):
                return
            continue
        yield line, value
        position = _skip_space(content, position)
        if position < len(content) and content[position] == ",":
            position += 1


def _malformed(content: str, error: json.JSONDecodeError | RecursionError, line: int) -> str:
    if not isinstance(error, json.JSONDecodeError):
        return "malformed JSON: nested too deeply"
    if error.msg.startswith("Unterminated string") or not content[error.pos :].strip():  # the text ran out
        return "truncated: the file ends inside this event"
    where = f"column {error.colno}" if error.lineno == line else f"line {error.lineno}, column {error.colno}"
    return f"malformed JSON: {error.msg} ({where})"


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
