"""Provenance followed by name through a cell's plain Python (``flow.py``, run by the fallback)."""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from nblineage.kernel_ext import flow
from nblineage.kernel_ext.capture import Capture, StatementReads
from nblineage.kernel_ext.provenance import Source

FILE = Source("file", "/data/train.csv", "v1")
OTHER = Source("file", "/data/other.csv", "v1")


class Handle:
    """Stands for an open file the hook tagged."""


def _follow(capture: Capture, source: str, namespace: dict[str, Any], before_line: int | None = None) -> None:
    flow.follow(capture, ast.parse(source), namespace, before_line)


def test_a_loop_over_a_file_fills_lists_and_arrays() -> None:
    capture = Capture()
    handle = Handle()
    capture.read(FILE, handle)
    source = (
        "data, target = [], []\nfor row in reader(f):\n    record = [float(x) for x in row[:4]]\n"
        "    data.append(record)\n    target.append(row[4])\nX = array(data)\nunrelated = [1, 2]\n"
    )
    namespace = {"f": handle, "data": [[1.0]], "target": ["a"], "X": np.zeros(2), "unrelated": [1, 2]}
    _follow(capture, source, namespace)
    for name in ("data", "target", "X"):
        assert capture.of(namespace[name]).sources == {FILE}, name
        assert capture.of(namespace[name]).precision == "cell"
    assert not capture.of(namespace["unrelated"])


def _reads(by_line: dict[int, set]) -> StatementReads:
    """What each line of a cell read, as the capture logs it while the cell runs."""
    reads = StatementReads()
    for line, sources in by_line.items():
        reads.add(line, sources)
    return reads


def test_reads_during_a_statement_go_to_what_it_binds() -> None:
    capture = Capture()
    capture.statement_reads = _reads({2: {FILE}, 4: {OTHER}})
    namespace = {"rows": [1], "n": 3, "copy": [1], "rest": [2]}
    _follow(capture, "import x\nrows = load('train.csv')\ncopy = list(rows)\nrest = load('other.csv')\n", namespace)
    assert capture.of(namespace["rows"]).sources == {FILE}
    assert capture.of(namespace["copy"]).sources == {FILE}
    assert capture.of(namespace["rest"]).sources == {OTHER}


images: list[Any] = []
labels: list[Any] = []


def resize_into_globals(paths: list[str], label: int) -> None:
    """A notebook's loader filling module-level lists (``resizer(non)`` of a public image classifier)."""
    local: list[str] = []
    for path in paths:
        local.append(path)
        images.append(path)
    labels.extend([label] * len(paths))


def test_a_function_called_for_its_effect_fills_the_globals_its_body_fills() -> None:
    capture = Capture()
    capture.statement_reads = _reads({1: {FILE}, 2: {OTHER}})
    namespace = {"resize": resize_into_globals, "images": [1], "labels": [2], "unrelated": [3]}
    _follow(capture, "resize(['a.png'], 0)\nresize(['b.png'], 1)\nunrelated.sort()\n", namespace)
    assert capture.of(namespace["images"]).sources == {FILE, OTHER}
    assert capture.of(namespace["labels"]).sources == {FILE, OTHER}
    assert not capture.of(namespace["unrelated"])


def test_a_method_called_for_its_effect_and_exact_provenance_kept() -> None:
    capture = Capture()
    data, model, exact, module_like = np.ones(3), Handle(), np.ones(2), np
    capture.read(FILE, data)
    capture.read(OTHER, exact)
    namespace = {"data": data, "model": model, "exact": exact, "np": module_like}
    _follow(capture, "model.fit(data)\nexact.sort()\nexact += data\nnp.save('x', data)\n", namespace)
    assert capture.of(model).sources == {FILE}
    assert capture.of(exact).sources == {OTHER}  # a hook knew exactly: kept
    assert not capture.of(np)  # modules are not data


def test_an_estimator_fitted_within_a_value_adds_what_its_fit_reads() -> None:
    """``W = nmf.fit_transform(X)`` as ``nmf.fit(X)``: the estimator's fitted attributes (``nmf.components_``,
    ``vec.vocabulary_``) are of the data it was fitted on, not of nothing (its constructor's settings)."""
    capture = Capture()
    data, other = np.ones(3), np.ones(2)
    capture.read(FILE, data)
    capture.read(OTHER, other)
    namespace = {"data": data, "other": other, "Model": Handle, "nmf": Handle(), "vec": Handle(), "m": Handle()}
    source = (
        "nmf = Model()\nW = nmf.fit_transform(data)\nclf = Model().fit(vec.fit_transform(other), data)\n"
        "fits = [m.fit(data) for m in (vec,)]\n"
    )
    _follow(capture, source, namespace)
    assert capture.of(namespace["nmf"]).sources == {FILE}
    assert capture.of(namespace["vec"]).sources == {OTHER}
    assert not capture.of(namespace["m"])  # the comprehension's own name, not the cell's


def test_a_vocabulary_given_to_an_estimator_is_read_settings_are_not() -> None:
    """``CountVectorizer(vocabulary=vocab)``: a vocabulary learned before is data, however plain it looks (a small
    dict of words), so a vectorizer only transforming with it has its file; the settings read from a config file
    are no data."""
    from sklearn.feature_extraction.text import CountVectorizer

    capture = Capture()
    vocab, cfg = {"good": 0, "bad": 1}, {"lower": True}
    namespace = {
        "CountVectorizer": CountVectorizer,
        "vocab": vocab,
        "cfg": cfg,
        "vec": CountVectorizer(vocabulary=vocab),
    }
    capture.registry.tag(vocab, capture.exact({FILE}), binding=(namespace, "vocab"))
    capture.registry.tag(cfg, capture.exact({OTHER}), binding=(namespace, "cfg"))
    _follow(capture, "vec = CountVectorizer(vocabulary=vocab, lowercase=cfg['lower'])\n", namespace)
    assert capture.of(namespace["vec"]).sources == {FILE}


def test_only_statements_before_a_line_and_with_targets() -> None:
    capture = Capture()
    capture.statement_reads = _reads({1: {FILE}})
    namespace = {"f": Handle(), "rows": [1], "later": [2]}
    _follow(capture, "with opener('a') as f:\n    rows = list(f)\nlater = list(f)\n", namespace, before_line=3)
    assert capture.of(namespace["f"]).sources == {FILE}
    assert capture.of(namespace["rows"]).sources == {FILE}
    assert not capture.of(namespace["later"])


class Split:
    """Stands for a tracked split (a frame, a Hugging Face ``Dataset``)."""

    def __getitem__(self, key: str) -> list[str]:
        return ["a text"]


class Splits(dict):
    """Stands for a Hugging Face ``DatasetDict`` (a dict subclass whose ``__getitem__`` must not run)."""

    def __getitem__(self, key: str) -> Any:
        raise AssertionError("the flow looked up an item through user code")


def test_a_constant_subscript_reads_the_item_not_the_whole_mapping() -> None:
    capture = Capture()
    train, test, untracked = Split(), Split(), Split()
    capture.read(FILE, train)
    capture.read(OTHER, test)
    ds = Splits(train=train, test=test)
    capture.registry.tag(ds, capture.exact({FILE, OTHER}))
    splits = {"train": train, "test": test, "raw": untracked}
    namespace: dict[str, Any] = {
        "ds": ds, "splits": splits, "parts": [train, test], "i": 0,
        "tokenizer": Handle(), "X": [1], "first": [2], "raw": [3], "both": [4], "rows": [5],
    }  # fmt: skip
    source = (
        "tokenizer.train_from_iterator(ds['train']['text'])\nX = splits['train'].values\nfirst = parts[0]\n"
        "raw = splits['raw']\nboth = [ds['train'], ds['test']]\nrows = ds['test'][i:i + 2]\n"
    )
    _follow(capture, source, namespace)
    assert capture.of(namespace["tokenizer"]).sources == {FILE}
    assert capture.of(namespace["X"]).sources == {FILE}
    assert capture.of(namespace["first"]).sources == {FILE}
    assert capture.of(namespace["raw"]).sources == {FILE, OTHER}  # an untracked item: the container's
    assert capture.of(namespace["both"]).sources == {FILE, OTHER}
    assert capture.of(namespace["rows"]).sources == {OTHER}


def test_a_path_made_from_tracked_names_is_no_data_of_what_the_file_holds() -> None:
    capture = Capture()
    capture.statement_reads = _reads({1: {OTHER}, 4: {FILE}, 6: {OTHER}, 8: {FILE}})
    namespace: dict[str, Any] = {
        "cities": ["paris", "rome"], "city": "rome", "folder": "/data", "f": Handle(), "rows": [1], "frame": [2],
        "text": "a,b\n1,2", "parsed": [3], "names": [4],
    }  # fmt: skip
    source = (
        "cities = load_names()\n"  # the names come from a file
        "for city in cities:\n"
        "    rows = []\n"
        "    with open(f'{folder}/{city}.csv') as f:\n"
        "        rows.extend(f)\n"
        "text = download()\n"
        "parsed = read_csv(text)\n"
        "frame = read_csv(folder + '/' + city + '.csv', sep=',')\n"
        "names = list(cities)\n"
    )
    _follow(capture, source, namespace)
    assert capture.of(namespace["f"]).sources == {FILE}
    assert capture.of(namespace["rows"]).sources == {FILE}
    assert capture.of(namespace["frame"]).sources == {FILE}
    assert capture.of(namespace["names"]).sources == {OTHER}  # the names are data where they are used as data
    assert capture.of(namespace["parsed"]).sources == {OTHER}  # text of several lines is data, not a path


def _two_arrays(capture: Capture) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.zeros(3), np.ones(3)
    capture.read(FILE, a)
    capture.read(OTHER, b)
    return a, b


def test_items_appended_to_a_list_once_each_keep_their_own() -> None:
    capture = Capture()
    a, b = _two_arrays(capture)
    source = "sets = []\nfor d in [a, b]:\n    sets.append(d * 2)\npair = []\npair.append(a + 1)\npair.append(b + 1)\n"
    namespace = {"a": a, "b": b, "sets": [a * 2, b * 2], "pair": [a + 1, b + 1]}
    _follow(capture, source, namespace)
    for name in ("sets", "pair"):
        first, second = namespace[name]
        assert capture.of(first).sources == {FILE} and capture.of(second).sources == {OTHER}, name
        assert capture.of(namespace[name]).sources == {FILE, OTHER}


def test_items_appended_where_the_order_is_unknown_get_the_whole_list() -> None:
    capture = Capture()
    a, b = _two_arrays(capture)
    for source in (
        "sets = []\nfor d in iter(pool):\n    sets.append(d * 2)\n",  # a loop followed as a whole
        "sets = []\nif a.any():\n    sets.append(a * 2)\nsets.append(b * 2)\n",  # an append that may not run
        "sets = []\nsets.append(a * 2)\nsets[0] = b * 2\nsets.append(b * 2)\n",  # changed otherwise
    ):
        namespace = {"a": a, "b": b, "pool": [a, b], "sets": [np.zeros(2), np.zeros(2)]}
        _follow(capture, source, namespace)
        assert not capture.of(namespace["sets"][0]), source  # no item its own: the list's, whole, stands for it
        assert capture.of(namespace["sets"]).sources == {FILE, OTHER}, source


def test_what_a_branch_on_each_item_binds_depends_on_the_items() -> None:
    """``for p in preds: if p >= .5: labels.append(1) else: labels.append(0)``: the labels are the predictions
    thresholded, though each append passes a constant; a branch on anything but the loop's item adds nothing."""
    capture = Capture()
    a, b = _two_arrays(capture)
    source = (
        "labels = []\nfor p in a:\n    if p >= .5:\n        labels.append(1)\n    else:\n        labels.append(0)\n"
        "flags = []\nfor p in range(3):\n    if b.any():\n        flags.append(1)\n"
        "names = []\nfor p in a:\n    names.append('x')\n"
    )
    namespace = {"a": a, "b": b, "labels": [1, 0, 0], "flags": [1, 1, 1], "names": ["x"] * 3}
    _follow(capture, source, namespace)
    assert capture.of(namespace["labels"]).sources == {FILE}
    assert not capture.of(namespace["flags"]) and not capture.of(namespace["names"])


def test_a_comprehension_s_own_names_are_not_the_cell_s() -> None:
    """``value`` bound by a loop over one array, then ``[round(value) for value in b]``: the list holds ``b``'s
    items, not what the cell's ``value`` held."""
    capture = Capture()
    a, b = _two_arrays(capture)
    source = "for value in a:\n    pass\nrounded = [round(value) for value in b if value > 0]\n"
    namespace = {"a": a, "b": b, "value": a[-1], "rounded": [1, 1]}
    _follow(capture, source, namespace)
    assert capture.of(namespace["rounded"]).sources == {OTHER}


def test_a_list_empty_as_the_cell_began_counts_its_appends() -> None:
    capture = Capture()
    a, b = _two_arrays(capture)
    sets: list[Any] = []
    capture.names_at_start = flow.names_at_start(capture, "for d in [a, b]:\n    sets.append(d * 2)\n", {"sets": sets})
    sets += [a * 2, b * 2]
    _follow(capture, "for d in [a, b]:\n    sets.append(d * 2)\n", {"a": a, "b": b, "sets": sets})
    assert capture.of(sets[0]).sources == {FILE} and capture.of(sets[1]).sources == {OTHER}


def test_a_comprehension_over_items_written_out_unpacked_item_by_item() -> None:
    capture = Capture()
    a, b = _two_arrays(capture)
    namespace = {"a": a, "b": b, "first": a * 3, "second": b * 3}
    _follow(capture, "first, second = [d * 3 for d in (a, b)]\n", namespace)
    assert capture.of(namespace["first"]).sources == {FILE} and capture.of(namespace["second"]).sources == {OTHER}
