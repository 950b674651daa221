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

A statement run again in the cell (:class:`Repeated`: a loop of point lookups ``cur.execute("SELECT ... WHERE id =
?", (i,))``, or of ``read_sql``) is one read: runs of the same statement text reading the same tables, with no write
to those tables recorded by the cell between them. Its version is the fingerprint of all the rows its runs fetched,
order-independent: the fingerprints of its distinct runs (each computed as above) added modulo 2**128. A run that
fetched what an earlier one fetched adds nothing, so a statement run once, or run again for the same rows, keeps the
version a single run gives; lookups of the same keys in another order give the same version. From its second run
until the cell ends (or writes to one of its tables) its runs' rows carry a pending version of the read's own; then
that version and the one the first run handed out are replaced by the read's (:meth:`Repeated.end`).
"""

from __future__ import annotations

import itertools
import marshal
import weakref
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import xxhash

from nblineage.kernel_ext.provenance import PENDING, Source
from nblineage.kernel_ext.safety import report

if TYPE_CHECKING:
    from nblineage.kernel_ext.capture import Capture, Record

CHUNK = 4096  # rows marshalled at once
MAX_REPEATS = 4096  # statements a cell keeps for their next run (past it, a new statement's runs are each a read)
MAX_DISTINCT = 1 << 17  # distinct runs' fingerprints a read remembers (past it, a repeat is added again)
_MASK = (1 << 128) - 1
_numbers = itertools.count()


class Result:
    """One statement run: the tables it read, and the rows fetched from it hashed as they come."""

    __slots__ = (
        "__weakref__",
        "broken",
        "buffer",
        "busy",
        "capture",
        "client_side",
        "digest",
        "done",
        "ended",
        "fetched",
        "group",
        "handed",
        "joined",
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
        self.group: Repeated | None = None  # the read it is a run of (the statement's runs in the cell)
        self.joined = False  # its version is the group's, final when the group ends

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
        digest = self.digest.intdigest() if self.fetched and not self.broken else None
        group = self.group
        if group is not None:
            group.add(digest, self.broken)
            if self.joined:  # the group's version, when it ends
                return {}
        version = format(digest, "032x") if digest is not None else None  # as hexdigest() writes it
        final = {placeholder: replace(table, version=version) for table, placeholder in self.pending.items()}
        self.sources = frozenset(final.get(s, s) for s in self.sources)
        capture = self.capture
        if capture is not None:
            for source in self.sources:
                capture.record.add_input(source)
        return final if self.handed else {}


class Repeated:
    """The runs of one statement text reading the same tables in one cell, no write to those tables between them:
    one read (module docstring). Its first run is a :class:`Result`, or the versions a whole read (``read_sql``)
    handed out; from the second on, the runs' rows carry the group's pending versions."""

    __slots__ = (
        "aliases",
        "broken",
        "capture",
        "digests",
        "first",
        "joined",
        "names",
        "outputs",
        "placeholders",
        "record",
        "runs",
        "since",
        "total",
    )  # fmt: skip

    def __init__(self, capture: Capture, tables: Iterable[Source], since: int) -> None:
        number = next(_numbers)
        self.placeholders = {table: replace(table, version=f"{PENDING}{number}") for table in tables}
        self.names = {(table.namespace, table.name) for table in self.placeholders}
        self.capture = capture
        self.record = capture.record
        self.outputs = len(capture.record.outputs)  # the cell's outputs at its latest run
        self.since = since  # the registry's serial at its first run: no older tag holds its versions
        self.first: Result | dict[Source, Source] | None = None
        self.joined = False  # a second run came: the runs are one read
        self.aliases: dict[Source, Source] = {}  # what the first run handed out -> its table
        self.digests: set[int] = set()
        self.total = 0
        self.broken = False
        self.runs: weakref.WeakSet[Result] = weakref.WeakSet()  # its runs still referred to (held rows, cursors)

    def add(self, digest: int | None, broken: bool = False) -> None:
        """A run's rows ended with fingerprint ``digest`` (None: it fetched none; ``broken``: they had no version)."""
        self.broken = self.broken or broken
        if digest is None or digest in self.digests:
            return
        if len(self.digests) < MAX_DISTINCT:
            self.digests.add(digest)
        self.total = (self.total + digest) & _MASK

    def current(self, capture: Capture) -> bool:
        """Whether a run now in ``capture`` joins this read: the same cell, no output to its tables since its last."""
        if self.capture is not capture or self.record is not capture.record:
            return False
        outputs = capture.record.outputs
        return not any((out.source.namespace, out.source.name) in self.names for out in outputs[self.outputs :])

    def join(self, result: Result | None = None) -> dict[Source, Source]:
        """Another run (``result``, or a whole read): its tables' pending versions, the group's."""
        if not self.joined:
            self.joined = True
            first = self.first
            if isinstance(first, Result):
                self.runs.add(first)
                if first.done:  # its rows' version was final already: that version becomes the read's too
                    tables = ((s, replace(s, version=None)) for s in first.sources if s.version is not None)
                    self.aliases = {s: table for s, table in tables if table in first.pending}
                else:  # its rows carry its own pending version: the read's at the end
                    first.joined = True
                    self.aliases = {placeholder: table for table, placeholder in first.pending.items()}
            elif first:
                self.aliases = {handed: table for table, handed in first.items() if handed.version}
        self.outputs = len(self.capture.record.outputs)
        if result is not None:
            self.runs.add(result)
            result.group, result.joined = self, True
            result.pending = dict(self.placeholders)
            result.sources = frozenset(self.placeholders.get(s, s) for s in result.tables)
        return self.placeholders

    def end(self) -> dict[Source, Source]:
        """The read's version is final: every version its runs handed out, with its final source (none when the
        statement ran once); its tables become inputs of the cell run."""
        if not self.joined:
            return {}
        version = format(self.total, "032x") if self.digests and not self.broken else None
        final = {placeholder: replace(table, version=version) for table, placeholder in self.placeholders.items()}
        final.update((handed, replace(table, version=version)) for handed, table in self.aliases.items())
        for run in list(self.runs):  # what rows fetched later or bound at the cell's end are tagged with
            run.sources = frozenset(final.get(s, s) for s in run.sources)
        unversioned = isinstance(self.first, Result) and not self.aliases  # the first run ended having fetched no row
        for table in self.placeholders:
            source = replace(table, version=version)
            if unversioned and version is not None and table in self.record.inputs:
                self.record.add_input(source, self.record.inputs.pop(table))  # its input, now the read's version
            self.record.add_input(source)
        return final


repeats: dict[tuple[Any, ...], Repeated] = {}  # (kind, statement text, tables) -> its runs in the cell under way


def _group(key: tuple[Any, ...], capture: Capture) -> tuple[Repeated | None, Repeated | None]:
    """The read a statement's next run joins (None when there is none to join), and the read it would have joined
    had the cell not written to its tables since, taken out as ended (None when there was none)."""
    group = repeats.get(key)
    if group is not None and not group.current(capture):
        return None, repeats.pop(key)
    return group, None


def repeat(key: tuple[Any, ...], capture: Capture, result: Result) -> Repeated | None:
    """The read a statement run just made (``result``) belongs to: a new one for its first run, or the earlier runs'
    (the run joins them); the read it would have joined had the cell written to its tables since, ended, as second
    value (None when there was none)."""
    group, stale = _group(key, capture)
    if group is None:
        if len(repeats) < MAX_REPEATS:
            group = repeats[key] = Repeated(capture, result.pending, result.since)
            group.first = result
            result.group = group
        return stale
    group.join(result)
    return stale


def whole_read(
    key: tuple[Any, ...], capture: Capture, tables: frozenset[Source], version: str, sources: frozenset[Source]
) -> tuple[frozenset[Source], Repeated | None]:
    """A read whose rows are known at once (``read_sql``) versioned ``version`` (hex) for ``tables``: the sources
    its result carries (``sources`` for the statement's first run, the read's pending versions for the next), and
    the earlier read it would have joined had the cell written to its tables since, ended."""
    try:
        digest = int(version, 16)
    except ValueError:
        return sources, None
    group, stale = _group(key, capture)
    if group is None:
        if len(repeats) < MAX_REPEATS:
            group = repeats[key] = Repeated(capture, tables, capture.registry.serial)
            group.first = {table: replace(table, version=version) for table in tables}
            group.add(digest)
        return sources, stale
    placeholders = group.join()
    group.add(digest)
    return frozenset(placeholders.get(replace(s, version=None), s) for s in sources), stale


def written(targets: Iterable[Source]) -> list[Repeated]:
    """The reads a write to ``targets`` ends (taken out: the next run of their statements is a new read)."""
    if not repeats:
        return []
    names = {(target.namespace, target.name) for target in targets}
    keys = [key for key, group in repeats.items() if not group.names.isdisjoint(names)]
    return [repeats.pop(key) for key in keys]


def take_repeats() -> list[Repeated]:
    """Every read of the cell (it ends), taken out."""
    groups = list(repeats.values())
    repeats.clear()
    return groups


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
