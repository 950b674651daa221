"""gensim: the files gensim opens itself, in its own code (where the user's calls to ``open`` are not followed).

- ``KeyedVectors.save_word2vec_format(fname, fvocab)`` (``model.wv.save_word2vec_format``) writes the vectors file
  (and the vocabulary file) with the vectors' provenance (when no hook tracked them, what the statement reads by
  name: ``model`` of ``model.wv``); ``KeyedVectors.load_word2vec_format`` (and the module's alias) reads them, and
  the vectors returned carry the files.
- ``Word2Vec``, ``FastText`` and ``Doc2Vec`` made, ``build_vocab``-ed or ``train``-ed with ``corpus_file=path``
  (read by gensim's Cython code) read the file: the model and its vectors (``wv``, Doc2Vec's ``dv``) derive from it,
  besides what they had.
- ``IndexedCorpus.serialize(fname, corpus)`` (``MmCorpus.serialize`` and the other corpus formats) writes ``fname``
  with the corpus' provenance (its ``.index`` side file, pickled by gensim, is gensim's: no output of its own);
  ``MmCorpus(fname)`` reads it, and the corpus carries the file.

``model.save``, ``Word2Vec.load`` and ``Dictionary.save``/``load`` pickle: ``hooks/models.py`` and ``loads.py``
record them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from nblineage.kernel_ext import guard
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.hooks.calls import argument
from nblineage.kernel_ext.hooks.files import Location, locate
from nblineage.kernel_ext.instrument import Before, Instrumentor, Patch, intercept, wrap_class_method
from nblineage.kernel_ext.provenance import Provenance

__all__ = ["GensimInstrumentor"]

_PATHS = (str, os.PathLike)
_TRAINING = ("__init__", "build_vocab", "train")  # each takes ``corpus_file`` second, after the corpus iterable


def _file(target: Any) -> Location | None:
    """The local or remote file a path names (an open stream or a missing file: None)."""
    return locate(target) if isinstance(target, _PATHS) else None


def _read_into(capture: Capture, obj: Any, *targets: Any) -> Provenance:
    """``obj`` was read from the files ``targets`` name: a read of each, which ``obj`` derives from besides what it
    had."""
    provenance = capture.of(obj)
    for target in targets:
        location = _file(target)
        if location is not None:
            provenance = provenance | capture.read(location.source(), None)
    if provenance:
        provenance = provenance.through(capture.cell_run_id)
        capture.registry.tag(obj, provenance)
    return provenance


def _write(capture: Capture, obj: Any, target: Any) -> None:
    location = _file(target)
    if location is not None:
        capture.write(location.source(written=True), obj)


def _checked(obj_at: int, *files: tuple[int, str]) -> Before:
    """The policy guard's check before a write of the argument at ``obj_at`` to the files at ``files``."""

    def before(capture: Capture, args: tuple, kwargs: dict) -> None:
        for index, name in files:
            target = argument(args, kwargs, index, name, None)
            if isinstance(target, _PATHS):
                guard.check_write(capture, args[obj_at] if len(args) > obj_at else None, target, model=False)

    return before


def _vectors_saved(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``kv.save_word2vec_format(fname, fvocab=None)``: the vectors (and their vocabulary) written."""
    for target in (argument(args, kwargs, 1, "fname", None), argument(args, kwargs, 2, "fvocab", None)):
        _write(capture, args[0], target)


def _vectors_loaded(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``KeyedVectors.load_word2vec_format(fname, fvocab=None)`` (``args[0]`` the class): the vectors read."""
    _read_into(capture, result, argument(args, kwargs, 1, "fname", None), argument(args, kwargs, 2, "fvocab", None))


def _trained_from_file(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``Word2Vec(corpus_file=path)``, ``build_vocab``, ``train``: the model and its vectors derive from the file."""
    target = argument(args, kwargs, 2, "corpus_file", None)
    if target is None:
        return
    model = args[0]
    provenance = _read_into(capture, model, target)
    for name in ("wv", "dv"):
        vectors = getattr(model, name, None)
        if provenance and vectors is not None:
            capture.registry.tag(vectors, (capture.of(vectors) | provenance).through(capture.cell_run_id))


def _serialized(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``MmCorpus.serialize(fname, corpus)`` (``args[0]`` the class): the corpus written to ``fname``."""
    _write(capture, argument(args, kwargs, 2, "corpus", None), argument(args, kwargs, 1, "fname", None))


def _corpus_opened(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    """``MmCorpus(fname)``: the corpus reads the file."""
    _read_into(capture, args[0], argument(args, kwargs, 1, "fname", None))


class GensimInstrumentor(Instrumentor):
    """gensim's word2vec-format vectors, models trained from a ``corpus_file`` and serialized corpora (module
    docstring)."""

    modules = ("gensim",)

    def patches(self, module: Any) -> Iterable[Patch]:
        from gensim.corpora import MmCorpus
        from gensim.corpora.indexedcorpus import IndexedCorpus
        from gensim.models import Doc2Vec, FastText, KeyedVectors, Word2Vec

        saved = intercept(
            "gensim save_word2vec_format", _vectors_saved, before=_checked(0, (1, "fname"), (2, "fvocab"))
        )
        yield KeyedVectors, "save_word2vec_format", saved
        wrap_class_method(
            self, KeyedVectors, "load_word2vec_format", intercept("gensim load_word2vec_format", _vectors_loaded)
        )
        serialized = intercept("gensim serialize", _serialized, before=_checked(2, (1, "fname")))
        wrap_class_method(self, IndexedCorpus, "serialize", serialized)
        yield MmCorpus, "__init__", intercept("gensim MmCorpus", _corpus_opened)
        for cls in (Word2Vec, FastText, Doc2Vec):
            for name in _TRAINING:
                if name in cls.__dict__:
                    yield cls, name, intercept(f"gensim {cls.__name__}.{name}", _trained_from_file)
