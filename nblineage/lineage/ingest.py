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


def event_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """The files to read: each file given, and the .json/.jsonl/.ndjson files under each folder, sorted."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        else:
            yield path


def read_events(path: Path) -> Iterator[Event | IngestError]:
    """The events of one file, each checked, or an error for each part that is not a valid event."""
    try:
        content = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        yield IngestError(str(path), 0, f"cannot read: {error}")
        return
    for line, item in _documents(content):
        if isinstance(item, str):
            yield IngestError(str(path), line, item)
            continue
        try:
            yield check(item)
        except InvalidEvent as error:
            yield IngestError(str(path), line, str(error))


def _documents(content: str) -> Iterator[tuple[int, Any]]:
    """(line, decoded value or error message) for each top-level event in the text."""
    decoder = json.JSONDecoder()
    stripped = content.lstrip()
    if not stripped:
        return
    if stripped.startswith("["):
        yield from _array_items(content, decoder)
        return
    try:
        value, end = decoder.raw_decode(content, len(content) - len(stripped))
        if not content[end:].strip():
            yield 1 + content.count("\n", 0, len(content) - len(stripped)), value
            return
    except json.JSONDecodeError:
        pass
    for number, text in enumerate(content.splitlines(), start=1):
        if text.strip():
            try:
                yield number, json.loads(text)
            except json.JSONDecodeError as error:
                yield number, f"malformed JSON: {error.msg} (column {error.colno})"


def _array_items(content: str, decoder: json.JSONDecoder) -> Iterator[tuple[int, Any]]:
    """Items of a top-level JSON array, reporting the line of each; a truncated array keeps its whole items."""
    position = content.index("[") + 1
    while True:
        position = _skip_space(content, position)
        if position >= len(content):
            yield content.count("\n", 0, position) + 1, "truncated: the JSON array is not closed"
            return
        if content[position] == "]":
            if content[position + 1 :].strip():
                yield content.count("\n", 0, position) + 1, "unexpected text after the JSON array"
            return
        line = content.count("\n", 0, position) + 1
        try:
            value, position = decoder.raw_decode(content, position)
        except json.JSONDecodeError as error:
            yield line, f"malformed JSON: {error.msg} (line {error.lineno}, column {error.colno})"
            return
        yield line, value
        position = _skip_space(content, position)
        if position < len(content) and content[position] == ",":
            position += 1


def _skip_space(content: str, position: int) -> int:
    while position < len(content) and content[position] in " \t\r\n":
        position += 1
    return position
