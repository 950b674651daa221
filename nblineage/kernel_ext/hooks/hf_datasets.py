"""Hugging Face ``datasets``: splits read from local files, carried through transforms, saves and writes.

- Reads: every ``DatasetBuilder.as_dataset``/``as_streaming_dataset`` (what ``load_dataset`` and
  ``Dataset.from_csv``/``from_json``/``from_parquet``/``from_text`` end in) gives each split the provenance of the
  files of that split only (``builder.config.data_files``), versioned by their fingerprints. The files of a split
  that are all the data files of one folder (``imagefolder``'s ``train/``) are that folder, one dataset.
- ``Dataset.from_pandas``/``from_dict``/``from_list``/``from_polars`` derive from what they are given.
- Transforms (``map``, ``filter``, ``select``, ``shuffle``, ``with_format``, ``to_pandas``, column access...) derive
  from the dataset they are called on; on a ``DatasetDict`` each split of the result derives from the same split
  of the input only, so a model trained on ``train`` never derives from ``test``. ``train_test_split`` gives both
  halves the parent's provenance (and their split names, for metrics).
- ``save_to_disk`` writes a folder (a ``DatasetDict``: one folder per split) and ``load_from_disk`` reads it; the
  version is the fingerprint of its Arrow files. ``to_parquet``/``to_csv``/``to_json`` are writes.
- Batches a torch ``DataLoader`` draws from a dataset derive from it (``hooks/tensors.py`` reads the dataset's
  provenance), so a model trained on them links to the split's files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import wrapt
import xxhash

from nblineage.kernel_ext import capture as capture_module
from nblineage.kernel_ext import fingerprint, guard
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.files import Location, locate
from nblineage.kernel_ext.instrument import FunctionWrapper, Instrumentor, Patch, intercept
from nblineage.kernel_ext.provenance import Source
from nblineage.kernel_ext.safety import report

# Methods whose result derives from the dataset they are called on (and the data they are given).
DERIVED = (
    "map",
    "filter",
    "select",
    "shuffle",
    "sort",
    "shard",
    "skip",
    "take",
    "repeat",
    "batch",
    "flatten",
    "flatten_indices",
    "cast",
    "cast_column",
    "rename_column",
    "rename_columns",
    "remove_columns",
    "select_columns",
    "class_encode_column",
    "align_labels_with_mapping",
    "add_column",
    "add_item",
    "with_format",
    "with_transform",
    "to_pandas",
    "to_polars",
    "to_iterable_dataset",
    "__getitem__",
)
WRITERS = ("to_parquet", "to_csv", "to_json")
CONSTRUCTORS = ("from_pandas", "from_dict", "from_list", "from_polars")
FILE_READERS = ("from_csv", "from_json", "from_parquet", "from_text")  # end in ``as_dataset``
SPLIT_NAMES = {"train": "train", "test": "test", "validation": "validation", "valid": "validation", "dev": "validation"}
_SPLIT_RE = re.compile(r"[A-Za-z0-9_.\-]+")
_HUB_RE = re.compile(r"(?P<repo>[^@]+)@(?P<revision>[^/]+)/(?P<path>.+)")
METADATA = ("metadata.csv", "metadata.jsonl", "metadata.parquet")


class HfDatasetsInstrumentor(Instrumentor):
    """Patches Hugging Face ``datasets`` (module docstring)."""

    modules = ("datasets",)
    requires = ("datasets>=2.14",)

    def patches(self, module: Any) -> Iterator[Patch]:
        from datasets import builder

        dataset, dataset_dict = module.Dataset, module.DatasetDict
        iterable, iterable_dict = getattr(module, "IterableDataset", None), getattr(module, "IterableDatasetDict", None)
        yield module, "load_dataset", intercept("datasets.load_dataset", _nothing)  # its reads: ``as_dataset``
        yield builder.DatasetBuilder, "as_dataset", _as_dataset
        yield builder.DatasetBuilder, "as_streaming_dataset", _as_dataset
        for name in ("concatenate_datasets", "interleave_datasets"):
            yield module, name, intercept(f"datasets.{name}", _combined)
        yield module, "load_from_disk", intercept("datasets.load_from_disk", _loaded_from_disk)
        for cls in (dataset, iterable):
            for name in DERIVED if isinstance(cls, type) else ():
                if name in cls.__dict__:
                    lean = name == "__getitem__"  # a hot path: rows read in loops
                    yield cls, name, _item if lean else intercept(f"datasets.{cls.__name__}.{name}", _derived)
        for cls in (dataset_dict, iterable_dict):  # each split of the result from the same split only
            for name in DERIVED if isinstance(cls, type) else ():
                if name in cls.__dict__ and name != "__getitem__":
                    yield cls, name, intercept(f"datasets.{cls.__name__}.{name}", _split_wise)
        yield dataset, "train_test_split", intercept("datasets.Dataset.train_test_split", _halves)
        for cls in (dataset, dataset_dict):
            yield cls, "save_to_disk", intercept(f"datasets.{cls.__name__}.save_to_disk", _saved, before=_check(0))
            loads = intercept(f"datasets.{cls.__name__}.load_from_disk", _loaded_from_disk)
            self.wrap_static(cls, "load_from_disk", loads)
        for name in WRITERS:
            yield dataset, name, intercept(f"datasets.Dataset.{name}", _written, before=_check(1))
        for name in CONSTRUCTORS:
            self.wrap_static(dataset, name, intercept(f"datasets.Dataset.{name}", _constructed))
        for name in FILE_READERS:
            self.wrap_static(dataset, name, intercept(f"datasets.Dataset.{name}", _nothing))

    def wrap_static(self, cls: type, name: str, wrapper: Any) -> None:
        """Wrap a class's static or class method (the base leaves them alone), undone with the rest."""
        original = cls.__dict__.get(name)
        if isinstance(original, staticmethod) and not isinstance(original.__func__, wrapt.FunctionWrapper):
            self.replace(cls, name, staticmethod(FunctionWrapper(original.__func__, wrapper)))
        elif isinstance(original, classmethod) and not isinstance(original.__func__, wrapt.FunctionWrapper):
            self.replace(cls, name, classmethod(FunctionWrapper(original.__func__, wrapper)))


# --- reads --------------------------------------------------------------------------------------------------------


def _as_dataset(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    """``builder.as_dataset(split)``: each split returned reads the files of that split (a plain wrapper: it is the
    library's own call inside ``load_dataset``, and records for it)."""
    result = wrapped(*args, **kwargs)
    active = capture_module._current
    if active is None or getattr(capture_module._local, "muted", 0):
        return result
    try:
        _tag_splits(active, instance, argument(args, kwargs, 0, "split", None), result)
    except Exception as error:
        report("datasets as_dataset", error)
    return result


def _tag_splits(capture: Capture, builder: Any, split: Any, result: Any) -> None:
    files = getattr(getattr(builder, "config", None), "data_files", None)
    if isinstance(result, dict):
        parts = [(str(name), part) for name, part in result.items()]
    elif isinstance(result, list):
        names = split if isinstance(split, list) else [split] * len(result)
        parts = [(str(name), part) for name, part in zip(names, result, strict=False)]
    else:
        parts = [(str(split) if split is not None else "train", result)]
    for name, part in parts:
        sources = _split_sources(files, name, builder)
        for source in sources:
            capture.read(source, part, _schema(part))
        if len(sources) > 1:
            capture.registry.tag(part, capture.exact(sources))
        _remember_split(capture, part, name)


def _split_sources(files: Any, split: str, builder: Any) -> list[Source]:
    """The dataset versions of a split expression (``train``, ``train[:80%]``, ``train+test``)."""
    found: list[Source] = []
    data_dir = getattr(getattr(builder, "config", None), "data_dir", None)
    names = [match.group(0) for match in _SPLIT_RE.finditer(split.split("[")[0])]
    for name in names or [split]:
        paths = files.get(name) if isinstance(files, dict) else None
        if paths is None and isinstance(files, dict) and len(files) == 1:
            paths = next(iter(files.values()))
        if paths is None:
            paths = [data_dir] if data_dir else []
        found.extend(_sources_of([str(path) for path in paths], data_dir))
    return list(dict.fromkeys(found))


def _sources_of(paths: list[str], data_dir: Any = None) -> list[Source]:
    """Sources for a split's files: the folder they are all the data files of (``train/`` of an image folder;
    looked for up to ``data_dir``), else each file."""
    locations = [location for location in (locate(path) for path in paths) if location is not None]
    local = [location.local for location in locations if location.local and os.path.isfile(location.local)]
    if local and len(local) == len(locations):
        top = os.path.abspath(data_dir) if isinstance(data_dir, str) and os.path.isdir(data_dir) else None
        folder = os.path.commonpath(local) if len(local) > 1 else os.path.dirname(local[0])
        files, best = set(local), None
        while (len(local) > 1 or top is not None) and _only_files(folder, files):
            best = folder
            parent = os.path.dirname(folder)
            if top is None or parent == folder or not (parent + os.sep).startswith(top + os.sep):
                break
            folder = parent
        whole = locate(best) if best is not None else None
        if whole is not None:
            return [whole.source()]
    return [_hub_source(location) or location.source() for location in locations]


def _hub_source(location: Location) -> Source | None:
    """A file of a Hub repository (``hf://datasets/{repo}@{revision}/{path}``): named without its revision, which
    is its version."""
    if not location.namespace.startswith("hf://"):
        return None
    match = _HUB_RE.fullmatch(location.name)
    if match is None:
        return None
    return Source(location.namespace, f"{match['repo']}/{match['path']}", match["revision"])


def _only_files(folder: str, files: set[str]) -> bool:
    """Whether ``files`` are all the data files in ``folder`` (hidden files and metadata files aside)."""
    for root, dirs, names in os.walk(folder):
        dirs[:] = [name for name in dirs if not name.startswith((".", "_"))]
        for name in names:
            if name.startswith((".", "_")) or name in METADATA:
                continue
            if os.path.join(root, name) not in files:
                return False
    return True


def _loaded_from_disk(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``load_from_disk(path)``: a read of the folder (a ``DatasetDict``'s: of each split's folder)."""
    path = argument(args, kwargs, 0, "dataset_path", None)
    if not isinstance(path, (str, bytes, os.PathLike)):
        return
    folder = os.fsdecode(os.fspath(path))
    if isinstance(result, dict):
        for name, part in result.items():
            source = _disk_source(os.path.join(folder, str(name)))
            if source is not None:
                capture.read(source, part, _schema(part))
                _remember_split(capture, part, str(name))
        capture.derive(result, *result.values())
        return
    source = _disk_source(folder)
    if source is not None:
        capture.read(source, result, _schema(result))


def _disk_source(folder: str, written: bool = False) -> Source | None:
    """A folder ``save_to_disk`` wrote, versioned by the fingerprint of its Arrow files."""
    location = locate(folder)
    if location is None or location.local is None:
        return Source(location.namespace, location.name) if location is not None else None
    digest = xxhash.xxh3_128()
    found = False
    for root, dirs, names in os.walk(location.local):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(".arrow"):
                path = os.path.join(root, name)
                if written:
                    fingerprint.forget(path)
                version = fingerprint.file_version(path)
                if version is None:
                    return Source(location.namespace, location.name)
                digest.update(f"{os.path.relpath(path, location.local)}\0{version}\0".encode())
                found = True
    return Source(location.namespace, location.name, digest.hexdigest() if found else None)


def _nothing(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """A call whose reads its nested ``as_dataset`` records: hooked so that the library's own reads inside it
    (pandas, pyarrow) record nothing."""


# --- transforms ---------------------------------------------------------------------------------------------------


def _data(values: Any) -> list[Any]:
    """The arguments that may carry provenance: not functions, classes, text or numbers."""
    return [
        value
        for value in values
        if value is not None and not callable(value) and not isinstance(value, (str, bytes, int, float, range))
    ]


def _derived(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """The result (a dataset, frame, column, array or tensor; each value of a row or batch dict) derives from the
    dataset and the data it was given."""
    if not args:
        return
    sources = [args[0], *_data((*args[1:], *kwargs.values()))]
    split = capture.hooks.splits.get(args[0])
    for value in result.values() if isinstance(result, dict) else (result,):
        if value is not None:
            capture.derive(value, *sources)
            if split and not isinstance(value, _PLAIN):
                capture.hooks.splits.remember(value, split)  # ``test["label"]`` is still the test split


_PLAIN = (type(None), bool, int, float, complex, str, bytes, list, dict, tuple)  # values no entry can be kept for


def _item(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    """``dataset[key]``: a column, array, tensor or frame (each of them in a row or batch dict) derives from the
    dataset. A lean wrapper (rows are read in loops): one look-up when the dataset is not tracked."""
    result = wrapped(*args, **kwargs)
    active = capture_module._current
    if active is None or not active.registry.tracks(instance):
        return result
    try:
        provenance = active.of(instance).through(active.cell_run_id)
        split = active.hooks.splits.get(instance)
        for value in result.values() if type(result) is dict else (result,):
            if not isinstance(value, _PLAIN):
                active.registry.tag(value, provenance)
                if split:
                    active.hooks.splits.remember(value, split)
    except Exception as error:  # the item is returned as read
        report("datasets __getitem__", error)
    return result


def _split_wise(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """A ``DatasetDict`` method: each split of the result derives from the same split of the input only."""
    if not args or not isinstance(result, dict):
        return
    whole, extra = args[0], _data((*args[1:], *kwargs.values()))
    for name, part in result.items():
        own = whole.get(name) if isinstance(whole, dict) else None
        capture.derive(part, *([own] if own is not None else list(whole.values())), *extra)
        _remember_split(capture, part, str(name))
    capture.derive(result, whole, *extra)


def _halves(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``train_test_split``: both halves derive from the dataset split."""
    if not args or not isinstance(result, dict):
        return
    for name, part in result.items():
        capture.derive(part, args[0])
        _remember_split(capture, part, str(name))
    capture.derive(result, args[0])


def _combined(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``concatenate_datasets``/``interleave_datasets``: the result derives from every dataset given."""
    parts = argument(args, kwargs, 0, "dsets", None)
    if isinstance(parts, (list, tuple)):
        capture.derive(result, *parts)


def _constructed(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``Dataset.from_pandas(df)``, ``from_dict(mapping)``, ``from_list(rows)``: derives from the data given."""
    given = [value for value in args if not isinstance(value, type)]
    data = given[0] if given else next(iter(kwargs.values()), None)
    if data is None:
        return
    items = list(data.values()) if isinstance(data, dict) and type(data) is dict else []
    capture.derive(result, data, *items)


# --- writes -------------------------------------------------------------------------------------------------------


def _saved(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``save_to_disk(path)``: the folder written (a ``DatasetDict``'s: one output per split folder)."""
    path = argument(args, kwargs, 1, "dataset_dict_path", None) or kwargs.get("dataset_path")
    if not isinstance(path, (str, bytes, os.PathLike)):
        return
    folder, obj = os.fsdecode(os.fspath(path)), args[0]
    parts = list(obj.items()) if isinstance(obj, dict) else [(None, obj)]
    for name, part in parts:
        source = _disk_source(os.path.join(folder, str(name)) if name is not None else folder, written=True)
        if source is not None:
            capture.write(source, part, _schema(part))


def _written(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``to_parquet``/``to_csv``/``to_json`` to a path or file: an output with the dataset's inputs."""
    target = argument(args, kwargs, 1, "path_or_buf", None)
    location: Location | None = locate(target) if target is not None else None
    if location is not None:
        capture.write(location.source(written=True), args[0], _schema(args[0]))


def _check(index: int) -> Any:
    def before(capture: Capture, args: tuple, kwargs: dict) -> None:
        target = argument(args, kwargs, index + 1, "path_or_buf", None)
        if target is None:
            target = kwargs.get("dataset_dict_path") or kwargs.get("dataset_path")
        if target is not None and args:
            guard.check_write(capture, args[0], target, model=False)

    return before


# --- facts --------------------------------------------------------------------------------------------------------


def _schema(obj: Any) -> dict[str, Any]:
    """A schema facet from a dataset's features."""
    features = getattr(obj, "features", None)
    if not isinstance(features, dict):
        return {}
    return {"schema": {"fields": [{"name": str(name), "type": _type_name(kind)} for name, kind in features.items()]}}


def _type_name(kind: Any) -> str:
    dtype = getattr(kind, "dtype", None)
    return str(dtype) if isinstance(dtype, str) else type(kind).__name__


def _remember_split(capture: Capture, part: Any, name: str) -> None:
    split = SPLIT_NAMES.get(name.split("[")[0].lower())
    if split is not None and not isinstance(part, dict):
        capture.hooks.splits.remember(part, {"split": split})
