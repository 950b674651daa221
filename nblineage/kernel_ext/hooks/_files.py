"""What the file-format hooks (pandas, pyarrow) share: naming and versioning the files they read and write,
recording reads, schema facets, and an instrumentor that patches each submodule of its library as it is imported.

Naming follows DESIGN.md: a local path is ``file_dataset(path)``, a URI (``s3://``, ``gs://``, ``file://``...) is
``dataset_from_uri(uri)`` (credentials never enter a name), a path on a pyarrow or fsspec filesystem is named with
that filesystem's scheme, and a file object is named by its ``.name`` when that is a path. Anything else (an
in-memory buffer, a pipe, a terminal) is no dataset and records nothing. Local files and folders are versioned by
their content fingerprint; remote ones have no version.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import wrapt

from nblineage.kernel_ext import fingerprint
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks._common import PatchingInstrumentor
from nblineage.kernel_ext.instrument import _Wrapper
from nblineage.kernel_ext.provenance import Source
from nblineage.kernel_ext.safety import report
from nblineage.lineage.naming import dataset_from_uri, file_dataset

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
MAX_INPUTS = 4096  # items of a list argument (pd.concat of many frames) looked at for provenance


@dataclass(frozen=True)
class Location:
    """Where a hook read or wrote: a dataset name, and the local path to fingerprint (None when remote)."""

    namespace: str
    name: str
    local: str | None = None
    through_handle: bool = False  # given as an open file object

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


def locate(target: Any, filesystem: Any = None) -> Location | None:
    """Name the file, folder or URI ``target`` (a path, URI or file object); None when it is no dataset."""
    through_handle = False
    if isinstance(target, (str, bytes, os.PathLike)):
        path = os.fsdecode(os.fspath(target))
    else:
        name = getattr(target, "name", None)
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
    if _URI_RE.match(path) or path[:5].lower() == "file:":
        dataset = dataset_from_uri(path)
        if dataset.namespace != "file":
            return Location(dataset.namespace, dataset.name)
    else:
        dataset = file_dataset(path)
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


def record_write(capture: Capture, location: Location, written: Any) -> None:
    """The call wrote ``written`` (a frame or table) to ``location``: an output with ``written``'s inputs."""
    capture.write(location.source(written=True), written, schema_facet(written))


def schema_facet(obj: Any) -> dict[str, Any]:
    """``{"schema": {"fields": [{"name", "type"}...]}}`` for a pandas or pyarrow frame, table or schema; else {}."""
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


def inputs(args: tuple, kwargs: dict) -> list[Any]:
    """The arguments whose provenance flows into a result; long lists are opened (the registry stops at 64)."""
    found: list[Any] = []
    for value in (*args, *kwargs.values()):
        if isinstance(value, (list, tuple)) and 64 < len(value) <= MAX_INPUTS:
            found.extend(value)
        elif isinstance(value, dict) and 64 < len(value) <= MAX_INPUTS:
            found.extend(value.values())
        else:
            found.append(value)
    return found


def exports(module: Any, name: str) -> list[Any]:
    """Modules that hold the function ``module.name`` under that name and are public homes of it: ``module``, the
    module that defines it, the module it claims (``__module__``), and any package or ``api`` module of the same
    library. Internal modules that merely import it are left alone."""
    function = getattr(module, name, None)
    if function is None:
        return []
    defined_in = getattr(function, "__globals__", {}).get("__name__")
    homes = {module.__name__, getattr(function, "__module__", None), defined_in}
    root = module.__name__.partition(".")[0]
    found = []
    for module_name, candidate in sys.modules.copy().items():  # a copy: other threads import meanwhile
        if candidate is None or not (module_name == root or module_name.startswith(root + ".")):
            continue
        public = module_name in homes or hasattr(candidate, "__path__") or module_name.endswith(".api")
        if public and getattr(candidate, "__dict__", {}).get(name) is function:
            found.append(candidate)
    return found


def defining_class(cls: type, name: str) -> type | None:
    """The class of ``cls``'s MRO whose own ``__dict__`` holds ``name`` (where a patch must go)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass
    return None


Patch = tuple[Any, str, Callable[..., Any]]


class ModuleInstrumentor(PatchingInstrumentor):
    """A :class:`PatchingInstrumentor` whose patches are applied per module as each of ``modules`` is imported
    (``pyarrow.parquet`` and ``pyarrow.pandas_compat`` are imported long after ``pyarrow``), that can patch
    properties (the property is replaced by one whose getter is wrapped), and whose failure in one module undoes
    that module's patches only."""

    modules: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self._watched: set[str] = set()
        self._done: set[str] = set()
        self._support: bool | None = None

    def instrument(self) -> None:
        """Patch every listed module imported already, and each other one when it is imported."""
        self.enabled = True
        for name in self.modules or (self.library,):
            if name not in self._watched:
                self._watched.add(name)
                wrapt.register_post_import_hook(self._on_import, name)  # runs now if imported already
                continue
            module = sys.modules.get(name)
            if module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False):
                self._on_import(module)

    def uninstrument(self) -> None:
        super().uninstrument()
        self._done.clear()

    def _on_import(self, module: Any) -> None:
        name = getattr(module, "__name__", "")
        if not self.enabled or name in self._done:
            return
        if self._support is None:
            self._support = self._supported()
        if not self._support:
            return
        self._done.add(name)
        start = len(self._applied)
        try:
            for owner, attribute, wrapper in self.patches(module):
                self.patch(owner, attribute, wrapper)
        except Exception as error:
            while len(self._applied) > start:
                owner, attribute, original = self._applied.pop()
                setattr(owner, attribute, original)
            self._done.discard(name)
            report(f"{name} instrumentation", error)

    def patch(self, owner: Any, attribute: str, wrapper: Callable[..., Any]) -> bool:
        """As :meth:`PatchingInstrumentor.patch`, and a property gets a new property with its getter wrapped."""
        original = owner.__dict__.get(attribute) if isinstance(owner, type) else None
        if not isinstance(original, property):
            return super().patch(owner, attribute, wrapper)
        if original.fget is None or isinstance(original.fget, wrapt.FunctionWrapper):
            return False
        getter = _Wrapper(original.fget, wrapper)
        setattr(owner, attribute, property(getter, original.fset, original.fdel, original.__doc__))
        self._applied.append((owner, attribute, original))
        return True
