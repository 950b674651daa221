"""Hugging Face ``transformers`` saves and loads, ``tokenizers``' training and files, and ``accelerate``'s loaders.

- ``PreTrainedModel.save_pretrained(folder)``: the folder is a model output (framework, class, configuration as
  hyper-parameters, parameter count, training facts) whose inputs are the model's provenance, which the PyTorch
  training rule gives it (``hooks/tensors.py``: the data whose gradients its optimizer steps took). Its version is
  the fingerprint of the folder's files.
- A tokenizer's or processor's ``save_pretrained`` into a folder a model was saved to in the same cell is the same
  output (the folder's version once both are written, the union of their provenance); on its own it is a dataset.
- ``Trainer.save_model(output_dir)`` and the ``checkpoint-N`` folders ``Trainer`` saves while it trains are the
  trainer's model saved there (the optimizer and scheduler states written beside it are part of that one output).
- ``accelerate``'s ``DataLoaderShard`` (the loader ``Trainer`` and ``Accelerator.prepare`` give) draws one batch
  ahead of the one it yields, so the batch a step trains on is not the loader's latest: each batch it yields is
  tagged with its dataset's provenance (and split), which the training rule then reads.
- Loads are reads: ``from_pretrained`` of a local folder (a model's, a tokenizer's, a processor's; the ``Auto*``
  classes end in these) reads the folder's version, which the object loaded carries (so a model fine-tuned from it
  derives from it too); a Hub name (or anything that is no folder here) records nothing.
- ``tokenizers.Tokenizer.train_from_iterator(iterator)``: the tokenizer derives from the iterator's data (a split's
  column, ``ds["train"]["text"]``), else what a generator of the user's own reads (``flow.generator_reads``), else
  what the statement reads; ``train(files)`` reads the files; ``save(path)`` writes a dataset (as does a wrapper's
  ``save_model``: ``vocab.json``, ``merges.txt``), ``Tokenizer.from_file(path)`` reads one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from nblineage.kernel_ext import capture as capture_module
from nblineage.kernel_ext import flow, guard
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.fingerprint import file_version
from nblineage.kernel_ext.hooks import loads
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.describe import MODEL_FACETS, describe_model
from nblineage.kernel_ext.hooks.files import locate
from nblineage.kernel_ext.hooks.models import persisted_facts
from nblineage.kernel_ext.instrument import Instrumentor, Patch, defining_class, intercept, wrap_class_method
from nblineage.kernel_ext.provenance import EMPTY, Provenance, Source
from nblineage.kernel_ext.safety import report
from nblineage.lineage.naming import file_dataset

__all__ = ["TransformersInstrumentor", "record_folder", "record_folder_read"]

_PLAIN = (type(None), bool, int, float, complex, str, bytes)


class TransformersInstrumentor(Instrumentor):
    """Patches ``transformers`` saves and ``accelerate`` loaders (module docstring)."""

    modules = (
        "transformers.modeling_utils",
        "transformers.tokenization_utils_base",
        "transformers.processing_utils",
        "transformers.trainer",
        "accelerate.data_loader",
        "tokenizers",
        "tokenizers.implementations.base_tokenizer",
    )

    def patches(self, module: Any) -> Iterable[Patch]:
        name = module.__name__
        if name == "tokenizers":
            yield from self.tokenizers(module)
            return
        base = getattr(module, "BaseTokenizer", None)
        if name == "tokenizers.implementations.base_tokenizer" and isinstance(base, type):
            yield base, "save_model", intercept("tokenizers BaseTokenizer.save_model", _model_files_saved)
            return
        for class_name in ("PreTrainedModel", "PreTrainedTokenizerBase", "ProcessorMixin"):
            cls = getattr(module, class_name, None)
            if isinstance(cls, type) and cls.__module__ == name and "from_pretrained" in cls.__dict__:
                where = f"transformers {class_name}.from_pretrained"
                wrap_class_method(self, cls, "from_pretrained", intercept(where, _loaded_pretrained))
        for class_name in ("PreTrainedModel", "PreTrainedTokenizerBase", "ProcessorMixin"):
            owner = defining_class(getattr(module, class_name, None), "save_pretrained")
            if owner is not None and owner.__module__ == name:
                where = f"transformers {class_name}.save_pretrained"
                yield owner, "save_pretrained", intercept(where, _saved_pretrained, before=_check_save)
        trainer = getattr(module, "Trainer", None)
        if name == "transformers.trainer" and isinstance(trainer, type):
            yield trainer, "save_model", intercept("transformers Trainer.save_model", _trainer_saved)
            yield trainer, "_save_checkpoint", intercept("transformers Trainer checkpoint", _checkpoint_saved)
        for class_name in ("DataLoaderShard", "DataLoaderDispatcher"):
            loader = getattr(module, class_name, None)
            if name == "accelerate.data_loader" and isinstance(loader, type) and "__iter__" in loader.__dict__:
                yield loader, "__iter__", _shard_iter

    def tokenizers(self, module: Any) -> Iterable[Patch]:
        """``tokenizers.Tokenizer``: trained from an iterator or files, saved to and loaded from a JSON file (the
        ``ByteLevelBPETokenizer``-like wrappers call it; their ``save_model`` files are patched apart)."""
        tokenizer = getattr(module, "Tokenizer", None)
        if not isinstance(tokenizer, type):
            return
        yield tokenizer, "train_from_iterator", intercept("tokenizers Tokenizer.train_from_iterator", _trained_from)
        yield tokenizer, "train", intercept("tokenizers Tokenizer.train", _trained_on_files)
        yield tokenizer, "save", intercept("tokenizers Tokenizer.save", _tokenizer_saved, before=_check_tokenizer)
        wrap_class_method(self, tokenizer, "from_file", intercept("tokenizers Tokenizer.from_file", _tokenizer_loaded))


# --- loads --------------------------------------------------------------------------------------------------------


def _loaded_pretrained(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``Model.from_pretrained(folder)`` (a tokenizer's, a processor's): a read of the local folder (the version its
    ``save_pretrained`` recorded), which the object loaded carries. A Hub name records nothing."""
    folder = argument(args, kwargs, 1, "pretrained_model_name_or_path", None)
    if result is not None and isinstance(folder, (str, os.PathLike)):
        record_folder_read(capture, folder, result)


def record_folder_read(capture: Capture, folder: str | os.PathLike, result: Any) -> None:
    """``result`` was loaded from the local ``folder`` (nothing when it is no folder here: a Hub name)."""
    path = os.fsdecode(os.fspath(folder))
    if not path or not os.path.isdir(path):
        return
    name = file_dataset(os.path.abspath(path))
    provenance = capture.read(Source(name.namespace, name.name, file_version(name.name)), result)
    loads.tag_loaded(capture, result, provenance)


# --- tokenizers ---------------------------------------------------------------------------------------------------


def _trained_from(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``tokenizer.train_from_iterator(iterator)``: the tokenizer derives from what it was trained on: the iterator's
    data (a split's column), a generator of the user's own's reads, else what the statement reads (by name; a
    constant subscript, ``ds["train"]["text"]``, by its item)."""
    if not args:
        return
    iterator = argument(args, kwargs, 1, "iterator", None)
    provenance = capture.of(iterator) or flow.generator_reads(capture, iterator) or flow.under_way(capture)
    if provenance:
        capture.registry.tag(args[0], provenance.through(capture.cell_run_id))


def _trained_on_files(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``tokenizer.train(files, trainer)``: a read of each file; the tokenizer derives from them."""
    files = argument(args, kwargs, 1, "files", None)
    if not args or files is None:
        return
    paths = [files] if isinstance(files, (str, os.PathLike)) else list(files) if isinstance(files, list) else []
    sources = set()
    for path in paths:
        location = locate(path)
        if location is not None:
            source = location.source()
            capture.read(source, None)
            sources.add(source)
    if sources:
        capture.registry.tag(args[0], capture.exact(sources).through(capture.cell_run_id))


def _tokenizer_saved(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``tokenizer.save(path)``: the JSON file is a dataset written, with the tokenizer's provenance."""
    path = argument(args, kwargs, 1, "path", None)
    location = locate(path) if args and isinstance(path, (str, os.PathLike)) else None
    if location is not None:
        capture.write(location.source(written=True), args[0], provenance=_provenance(capture, args[0]) or None)


def _model_files_saved(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``ByteLevelBPETokenizer(...).save_model(directory)``: each file it returns (``vocab.json``, ``merges.txt``) is a
    dataset written, with the provenance of the tokenizer it wraps (trained by ``train``/``train_from_iterator``)."""
    if not args or not isinstance(result, list):
        return
    inner = getattr(args[0], "_tokenizer", None)
    provenance = _provenance(capture, inner) or _provenance(capture, args[0])
    for path in result:
        location = locate(path) if isinstance(path, str) else None
        if location is not None:
            capture.write(location.source(written=True), inner, provenance=provenance or None)


def _check_tokenizer(capture: Capture, args: tuple, kwargs: dict) -> None:
    path = argument(args, kwargs, 1, "path", None)
    if args and path is not None:
        guard.check_write(capture, args[0], path, model=False)


def _tokenizer_loaded(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``Tokenizer.from_file(path)``: a read of the file."""
    path = args[-1] if args and not isinstance(args[-1], type) else kwargs.get("path")
    if result is not None and isinstance(path, (str, os.PathLike)):
        loads.record_load(capture, path, result)


def _provenance(capture: Capture, obj: Any) -> Provenance:
    """``obj``'s provenance; when it has none, the cell's statements so far followed first (an object trained or
    made earlier in the cell from data read in an earlier cell)."""
    found = capture.of(obj)
    if not found and obj is not None and capture.catch_up is not None:
        capture.catch_up(capture)
        found = capture.of(obj)
    return found


# --- saves --------------------------------------------------------------------------------------------------------


def record_folder(capture: Capture, obj: Any, folder: Any) -> None:
    """Record that ``obj`` was saved into the local ``folder``: a model output when it is a model, merged with what
    this cell saved into the same folder already (one output, the folder's latest version)."""
    if not isinstance(folder, (str, bytes, os.PathLike)):
        return
    name = file_dataset(os.path.abspath(os.fsdecode(os.fspath(folder))))
    version = file_version(name.name)
    model = describe_model(obj, capture)
    facets = dict(MODEL_FACETS) if model is not None else {}
    provenance = _provenance(capture, obj)
    outputs = capture.record.outputs
    key = (name.namespace, name.name)
    index = next((i for i, output in enumerate(outputs) if (output.source.namespace, output.source.name) == key), None)
    if index is not None:  # a model and its tokenizer, saved one after the other
        earlier = outputs.pop(index)
        provenance = earlier.provenance | provenance
        model = model or earlier.model
        facets = {**earlier.facets, **facets}
    if model is not None:
        model.update(persisted_facts(name, version))
    source = Source(name.namespace, name.name, version)
    capture.write(source, obj, facets=facets, model=model, provenance=provenance or None)


def _saved_pretrained(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``obj.save_pretrained(save_directory)``."""
    folder = argument(args, kwargs, 1, "save_directory", None)
    if args and folder is not None:
        record_folder(capture, args[0], folder)


def _check_save(capture: Capture, args: tuple, kwargs: dict) -> None:
    folder = argument(args, kwargs, 1, "save_directory", None)
    if args and folder is not None:
        guard.check_write(capture, args[0], folder)


def _trainer_saved(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``trainer.save_model(output_dir)`` (the arguments' ``output_dir`` when none is given)."""
    if not args:
        return
    trainer = args[0]
    folder = argument(args, kwargs, 1, "output_dir", None)
    if folder is None:
        folder = getattr(getattr(trainer, "args", None), "output_dir", None)
    if folder is not None and os.path.isdir(os.fsdecode(os.fspath(folder))):
        record_folder(capture, getattr(trainer, "model", None), folder)


def _checkpoint_saved(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``Trainer._save_checkpoint(model, trial)``: the ``checkpoint-{global step}`` folder of the run's output."""
    if not args:
        return
    trainer = args[0]
    trial = argument(args, kwargs, 2, "trial", None)
    run_dir = trainer._get_output_dir(trial=trial)
    folder = os.path.join(run_dir, f"checkpoint-{trainer.state.global_step}")
    if os.path.isdir(folder):
        record_folder(capture, trainer.model, folder)


# --- accelerate's loaders -----------------------------------------------------------------------------------------


def _shard_iter(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
    """``iter(loader)`` of an ``accelerate`` loader: the batches it yields are tagged as they are yielded."""
    batches = wrapped(*args, **kwargs)
    if capture_module._current is None:
        return batches
    return _tagged(batches, instance)


def _tagged(batches: Iterator[Any], loader: Any) -> Iterator[Any]:
    try:
        for batch in batches:
            active = capture_module._current
            if active is not None and capture_module.capturing():
                try:
                    _tag_batch(active, loader, batch)
                except Exception as error:  # the batch is yielded as it is
                    report("accelerate loader batch", error)
            yield batch
    finally:
        close = getattr(batches, "close", None)
        if callable(close):
            close()


def _tag_batch(capture: Capture, loader: Any, batch: Any) -> None:
    provenance, split = _loader_data(capture, loader)
    if not provenance:
        return
    provenance = provenance.through(capture.cell_run_id)
    items = batch.values() if hasattr(batch, "values") else batch if isinstance(batch, (list, tuple)) else (batch,)
    for item in items:
        if not isinstance(item, _PLAIN):
            capture.registry.tag(item, provenance)
            if split:
                capture.hooks.splits.remember(item, split)


def _loader_data(capture: Capture, loader: Any) -> tuple[Provenance, dict[str, Any]]:
    """The provenance and split of what ``loader`` iterates: its dataset's (or the one that dataset wraps)."""
    dataset = getattr(loader, "dataset", None)
    for candidate in (dataset, getattr(dataset, "dataset", None)):
        if candidate is not None:
            found = capture.of(candidate)
            if found:
                return found, capture.hooks.splits.get(candidate)
    return capture.of(loader) if loader is not None else EMPTY, {}
