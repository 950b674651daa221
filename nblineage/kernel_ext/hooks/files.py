"""What the file-format hooks (pandas, pyarrow) share: naming and versioning the files they read and write,
recording reads and writes, and schema facets.

Naming follows DESIGN.md: a local path is ``file_dataset(path)``, a URI (``s3://``, ``gs://``, ``file://``...) is
``dataset_from_uri(uri)`` (credentials never enter a name), a path on a pyarrow or fsspec filesystem is named with
that filesystem's scheme, and a file object is named by its ``.name`` when that is a path. Anything else (an
in-memory buffer, a pipe, a terminal) is no dataset and records nothing. Local files and folders are versioned by
their content fingerprint; remote ones have no version.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable
from typing import Any

from nblineage.kernel_ext import fingerprint
from nblineage.kernel_ext.capture import Capture, merged_schema
from nblineage.kernel_ext.hooks.mlflow import called_by_mlflow
from nblineage.kernel_ext.provenance import Provenance, Source
from nblineage.lineage.naming import DatasetName, dataset_from_uri, file_dataset
from nblineage.value import Value

# Filesystem type names (pyarrow ``type_name``, fsspec ``protocol``) -> URI scheme; "file" is local.
_SCHEMES = {
    "local": "file",
    "file": "file",
    "s3": "s3",
    "s3a": "s3",
    "gcs": "gs",
    "gs": "gs",
    "hdfs": "hdfs",
    "http": "http",
    "https": "https",
}
_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")


class Location(Value):
    """Where a hook read or wrote: a dataset name, and the local path to fingerprint (None when remote), and
    whether it was given as an open file object (``through_handle``)."""

    FIELDS = ("namespace", "name", "local", "through_handle")
    __slots__ = FIELDS

    def __init__(self, namespace: str, name: str, local: str | None = None, through_handle: bool = False) -> None:
        self.namespace, self.name, self.local, self.through_handle = namespace, name, local, through_handle

    def source(self, written: bool = False) -> Source:
        """The dataset version at this location now; after a write, fingerprinted afresh.

        A file written through a file object the user still holds may not be flushed yet: no version then.
        """
        version = None
        if self.local is not None and not (written and self.through_handle):
            if written:
                _forget(self.local)
            version = fingerprint.file_version(self.local)
        return Source(self.namespace, self.name, version)


def named(target: Any, filesystem: Any = None) -> tuple[DatasetName, bool] | None:
    """The dataset a path, URI or open file object names, whether or not it exists yet, and whether it was named
    through an open file; None when ``target`` names none."""
    through_handle = False
    if isinstance(target, (str, bytes, os.PathLike)):
        path = os.fsdecode(os.fspath(target))
    else:
        name = _archive_of(target) or getattr(target, "name", None)
        if not isinstance(name, (str, bytes)) or not (hasattr(target, "read") or hasattr(target, "write")):
            return None
        path, through_handle, filesystem = os.fsdecode(name), True, None
    if not path.strip():
        return None
    if filesystem is not None and not _URI_RE.match(path):
        scheme, path = _on_filesystem(filesystem, path)
        if scheme is None:
            return None
        if scheme != "file":
            path = f"{scheme}://{path.lstrip('/')}"
    uri = _URI_RE.match(path) or path[:5].lower() == "file:"
    return (dataset_from_uri(path) if uri else file_dataset(path)), through_handle


def _archive_of(handle: Any) -> str | bytes | None:
    """The archive a member opened with ``zipfile.ZipFile.open`` reads (its own ``name`` is the member's name, not
    a file); None for any other object. (A tar member's ``name`` is already its archive's.)"""
    zipfile = sys.modules.get("zipfile")
    if zipfile is None or not isinstance(handle, zipfile.ZipExtFile):
        return None
    archive = getattr(getattr(getattr(handle, "_fileobj", None), "_file", None), "name", None)
    return archive if isinstance(archive, (str, bytes)) else None


def locate(target: Any, filesystem: Any = None) -> Location | None:
    """Name the file, folder or URI ``target`` (a path, URI or file object); None when it is no dataset."""
    found = named(target, filesystem)
    if found is None:
        return None
    dataset, through_handle = found
    if dataset.namespace != "file":
        return Location(dataset.namespace, dataset.name)
    if not _is_file_or_folder(dataset.name):
        return None  # literal text, standard streams, pipes, devices, or nothing there
    return Location(dataset.namespace, dataset.name, dataset.name, through_handle)


def locate_all(target: Any, filesystem: Any = None) -> list[Location]:
    """:func:`locate` for one target or a list of them (pyarrow reads a list of files as one table)."""
    targets = target if isinstance(target, (list, tuple)) else [target]
    found = (locate(item, filesystem) for item in targets)
    return list(dict.fromkeys(location for location in found if location is not None))


def _on_filesystem(filesystem: Any, path: str) -> tuple[str | None, str]:
    """The scheme of a pyarrow or fsspec filesystem (None when unknown) and ``path`` on it."""
    type_name = getattr(filesystem, "type_name", None)  # pyarrow.fs.FileSystem
    if isinstance(type_name, str):
        if type_name == "subtree":
            base = str(filesystem.base_path).rstrip("/")
            return _on_filesystem(filesystem.base_fs, f"{base}/{path.lstrip('/')}")
        if type_name.startswith("py::"):  # PyFileSystem(FSSpecHandler(fs))
            inner = getattr(getattr(filesystem, "handler", None), "fs", None)
            return _on_filesystem(inner, path) if inner is not None else (None, path)
        return _SCHEMES.get(type_name), path
    protocol = getattr(filesystem, "protocol", None)  # fsspec
    if isinstance(protocol, (tuple, list)):
        protocol = protocol[0] if protocol else None
    return (_SCHEMES.get(protocol) if isinstance(protocol, str) else None), path


def _is_file_or_folder(path: str) -> bool:
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode)


def _forget(path: str) -> None:
    """Drop cached fingerprints of a file, or of every file of a folder, that was just written."""
    fingerprint.forget(path)
    if os.path.isdir(path):
        for root, _dirs, files in os.walk(path):
            for name in files:
                fingerprint.forget(os.path.join(root, name))


def record_read(
    capture: Capture, locations: Iterable[Location], result: Any, facets: dict[str, Any] | None = None
) -> None:
    """The call read ``locations`` into ``result`` (each value of a dict result, as ``read_excel`` returns)."""
    sources = list(dict.fromkeys(location.source() for location in locations))
    if not sources:
        return
    targets = list(result.values()) if isinstance(result, dict) else [result]
    for source in sources:
        for target in targets:
            capture.read(source, target, facets)
    if len(sources) > 1:
        provenance = capture.exact(sources)
        for target in targets:
            capture.registry.tag(target, provenance)


def record_write(capture: Capture, location: Location, written: Any, appended_to: Source | None = None) -> None:
    """The call wrote ``written`` (a frame or table) to ``location``: an output with ``written``'s inputs (and the
    version ``appended_to`` the file had, when ``written`` was appended to it). MLflow's own scratch files (autolog's
    ``cv_results.csv``, written to a temporary folder and logged as a run artifact) are none of the notebook's."""
    if location.local is not None and _mlflow_scratch(location.local):
        return
    capture.write(location.source(written=True), written, schema_facet(written))
    if appended_to is not None:
        output = capture.record.outputs[-1]
        output.provenance = (output.provenance | Provenance(frozenset({appended_to}))).through(capture.cell_run_id)
        capture.record.add_input(appended_to)


_PASSED = ("nblineage.", "wrapt", "pandas", "pyarrow", "numpy")  # frames between a write and the code asking for it


def _mlflow_scratch(path: str) -> bool:
    """``path`` is in the temporary folder and MLflow's code asked for the write."""
    if not os.path.realpath(path).startswith(os.path.join(os.path.realpath(tempfile.gettempdir()), "")):
        return False
    return called_by_mlflow(sys._getframe(2), _PASSED)


def schema_facet(obj: Any) -> dict[str, Any]:
    """``{"schema": {"fields": [{"name", "type"}...]}}`` for a pandas or pyarrow frame, table or schema, or a dict of
    them (``read_excel(sheet_name=None)``: every sheet's fields); else {}."""
    if isinstance(obj, dict):
        found = [facet["schema"] for facet in map(schema_facet, obj.values()) if facet]
        return {"schema": functools.reduce(merged_schema, found)} if found else {}
    fields = _fields(obj)
    return {"schema": {"fields": fields}} if fields is not None else {}


def _fields(obj: Any) -> list[dict[str, str]] | None:
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        if isinstance(obj, pandas.DataFrame):
            return [{"name": str(name), "type": str(dtype)} for name, dtype in obj.dtypes.items()]
        if isinstance(obj, pandas.Series):
            return None if obj.name is None else [{"name": str(obj.name), "type": str(obj.dtype)}]
        if isinstance(obj, pandas.core.base.PandasObject):
            return None
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        schema = obj if isinstance(obj, pyarrow.Schema) else getattr(obj, "schema", None)
        if isinstance(schema, pyarrow.Schema):
            return [{"name": field.name, "type": str(field.type)} for field in schema]
    return None
