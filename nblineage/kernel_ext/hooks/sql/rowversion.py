"""The version of what a DB-API statement read: the fingerprint of the rows fetched from it, as ``read_sql``
versions its result (the same version for every table a join read).

A :class:`Result` is one statement run. Its rows are hashed as they are fetched: xxh3-128 of the column names, then
of the rows in chunks of :data:`CHUNK` counted from the first (``marshal`` format 2, which holds no reference, for
plain values; row by row ``repr`` of the values for the rest). So ``fetchall``, ``fetchmany`` in any sizes,
``fetchone`` and iteration give the same version for the same rows, and a row fetched one by one costs an append.
While rows may still come the tables carry a pending version of the result's own (:data:`PENDING`); the result
ends when its cursor is exhausted (a fetch came back short or empty, iteration stopped, a client-side cursor's
``rownumber`` reached ``rowcount``), is closed or runs another statement, or when the cell ends: then the tables
get the fingerprint of the rows fetched (no version when none was), they become inputs of the cell run, and every
pending version handed out meanwhile (held rows, frames built from a chunk, an output written) is replaced by the
final one (:func:`resolve`): in the registry and in the cell's record. Two reads of a table that did not change
give one version; of a changed one, two. A result cut by the end of a cell starts afresh on its next fetch.
"""

from __future__ import annotations

import itertools
import marshal
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import xxhash

from nblineage.kernel_ext.provenance import Source
from nblineage.kernel_ext.safety import report

if TYPE_CHECKING:
    from nblineage.kernel_ext.capture import Capture, Record

PENDING = "nblineage-pending-"  # the version a result's tables carry while rows may still come (never stored)
CHUNK = 4096  # rows marshalled at once
_numbers = itertools.count()


class Result:
    """One statement run: the tables it read, and the rows fetched from it hashed as they come."""

    __slots__ = (
        "broken",
        "buffer",
        "busy",
        "capture",
        "client_side",
        "digest",
        "done",
        "ended",
        "fetched",
        "handed",
        "pending",
        "since",
        "sources",
        "tables",
    )  # fmt: skip

    def __init__(self, tables: frozenset[Source], capture: Capture | None, client_side: bool, hashed: bool) -> None:
        self.tables = tables
        number = next(_numbers)
        unversioned = (s for s in tables if s.version is None) if hashed else ()
        # table -> its pending version; empty: nothing to version (versioned already, or a write's RETURNING rows)
        self.pending = {s: replace(s, version=f"{PENDING}{number}") for s in unversioned}
        self.sources = frozenset(self.pending.get(s, s) for s in tables)  # what fetched rows carry now
        self.capture = capture
        self.since = capture.registry.serial if capture is not None else 0  # tags older cannot hold its versions
        self.client_side = client_side  # rownumber/rowcount tell when every row was fetched
        self.digest: Any = None
        self.buffer: list[Any] | None = None  # rows fetched since the last whole chunk hashed
        self.fetched = False
        self.done = not self.pending  # the sources are final
        self.ended = False  # no more rows will come (exhausted, closed, another statement)
        self.busy = False  # a fetch or an iteration under way hashes its rows itself (nested fetches do not)
        self.handed = False  # pending versions were given to objects
        self.broken = False  # a row could not be hashed: no version

    def renewed(self, capture: Capture | None) -> Result:
        """The same statement's rows fetched after the cell that cut it ended: a result of their own."""
        return Result(self.tables, capture, self.client_side, True)

    def shown(self) -> frozenset[Source]:
        """The tables as a read shows them now: final versions, or none while rows may still come."""
        return self.sources if self.done else self.tables

    def add_rows(self, cursor: Any, rows: Any) -> None:
        """Hash rows fetched (a list or tuple of them): whole chunks of :data:`CHUNK` rows at once, counted from the
        first row of the result whatever the fetches' sizes, the rest kept for the next fetch or the end."""
        if self.buffer is None:
            self._start(cursor)
        buffer, start, count = self.buffer, 0, len(rows)
        if buffer:
            start = CHUNK - len(buffer)
            buffer.extend(rows[:start])
            if len(buffer) < CHUNK:
                return
            self._hash(buffer)
            buffer.clear()
        while start + CHUNK <= count:
            self._hash(rows[start : start + CHUNK])
            start += CHUNK
        buffer.extend(rows[start:])

    def add_row(self, cursor: Any, row: Any) -> None:
        buffer = self.buffer
        if buffer is None:
            self._start(cursor)
            buffer = self.buffer
        buffer.append(row)
        if len(buffer) >= CHUNK:
            self._hash(buffer)
            buffer.clear()

    def _start(self, cursor: Any) -> None:
        self.digest = xxhash.xxh3_128()
        self.buffer = []
        self.fetched = True
        try:
            names = [column[0] for column in cursor.description or ()]
        except Exception:  # a cursor whose description cannot be read: the rows alone
            names = []
        self.digest.update(repr(names).encode("utf-8", "surrogatepass"))

    def _hash(self, chunk: Any) -> None:
        if self.broken:
            return
        try:
            try:
                self.digest.update(memoryview(marshal.dumps(chunk, 2))[5:])  # the rows, without the list's header
            except ValueError:  # a value marshal does not take (Decimal, datetime, sqlite3.Row): row by row
                for row in chunk:
                    self.digest.update(_row_bytes(row))
        except Exception:
            self.broken = True
            raise

    def fail(self) -> None:
        """A row could not be hashed: the tables get no version."""
        self.broken = True

    def end(self, ended: bool) -> dict[Source, Source]:
        """The rows fetched so far are the result (``ended``: no more will come); the pending versions handed out,
        each with its final source."""
        if self.done:
            self.ended = self.ended or ended
            return {}
        self.done, self.ended = True, ended
        if self.buffer:
            try:
                self._hash(self.buffer)
            except Exception as error:  # no version; the result still ends
                report("dbapi row version", error)
        self.buffer = None
        version = self.digest.hexdigest() if self.fetched and not self.broken else None
        final = {placeholder: replace(table, version=version) for table, placeholder in self.pending.items()}
        self.sources = frozenset(final.get(s, s) for s in self.sources)
        capture = self.capture
        if capture is not None:
            for source in self.sources:
                capture.record.add_input(source)
        return final if self.handed else {}


def _row_bytes(row: Any) -> bytes:
    try:
        return marshal.dumps(row, 2)
    except ValueError:
        pass
    if isinstance(row, dict):
        values: Any = tuple(row.items())
    else:
        try:
            values = tuple(row)
        except TypeError:
            values = (row,)
    return b"\x00" + repr(values).encode("utf-8", "surrogatepass")  # marshal output never starts with a NUL


def resolve(capture: Capture, final: dict[Source, Source], since: int) -> None:
    """Pending versions handed out become final: in every object the registry tagged since the tag numbered
    ``since`` (none older can hold them) and in the cell's record."""
    if not final:
        return
    capture.registry.replace_sources(final, since)
    resolve_record(capture.record, final)


def resolve_record(record: Record, final: dict[Source, Source]) -> None:
    """The record's inputs, outputs' provenance, metrics' and audit records' datasets, with final versions."""
    for placeholder, source in final.items():
        if placeholder in record.inputs:
            record.add_input(source, record.inputs.pop(placeholder))
    for output in record.outputs:
        if not output.provenance.sources.isdisjoint(final):
            sources = frozenset(final.get(s, s) for s in output.provenance.sources)
            output.provenance = replace(output.provenance, sources=sources)
    for item in (*record.metrics, *record.audit):
        for key in ("datasets", "outputs"):
            for ref in item.get(key) or ():
                version = ref.get("version") if isinstance(ref, dict) else None
                if isinstance(version, str) and version.startswith(PENDING):
                    found = final.get(Source(ref.get("namespace", ""), ref.get("name", ""), version))
                    if found is not None:
                        ref["version"] = found.version
