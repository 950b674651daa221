"""Which hooked calls record: the outermost, and a nested one only when it is the user's own call.

A "library" here is code compiled with a file name under site-packages (what makes code a library's is where it
lives); the test module itself is user code, as a notebook's cells and functions are.
"""

from __future__ import annotations

import functools
import os
import sysconfig
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import wrapt

from nblineage.kernel_ext import capture as capture_module
from nblineage.kernel_ext.capture import Capture, activate, current
from nblineage.kernel_ext.instrument import intercept
from nblineage.kernel_ext.provenance import Source

LIBRARY_FILE = os.path.join(sysconfig.get_paths()["purelib"], "nbl_fake_library", "core.py")
LIBRARY_CODE = """
def apply(function, items):
    return [function(item) for item in items]

def gather(items):
    return list(items)

def load(path):
    return read(path)

def save(obj, path):
    write(obj, path)
    return path

def ask():
    return current()
"""


class Box:
    """What a fake reader returns (weakly referable, so it can carry provenance)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _read_after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    capture.read(Source("file", f"/data/{args[0]}", "v1"), result)


def _derive_after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    capture.derive(result, *args)


def _write_after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
    capture.write(Source("file", f"/out/{args[1]}", "w1"), args[0])


def _hooked(function: Callable[..., Any], after: Any) -> Any:
    return wrapt.FunctionWrapper(function, intercept(function.__name__, after))


read = _hooked(lambda path: Box(path), _read_after)


def _write(obj: Any, path: str) -> None:
    return None


write = _hooked(_write, _write_after)


@pytest.fixture
def library() -> Iterator[dict[str, Any]]:
    """The fake library, its functions hooked (apply and gather derive; load reads; save writes)."""
    namespace: dict[str, Any] = {"read": read, "write": write, "current": current}
    exec(compile(LIBRARY_CODE, LIBRARY_FILE, "exec"), namespace)
    hooked = {
        "apply": _hooked(namespace["apply"], _derive_after),
        "gather": _hooked(namespace["gather"], _derive_after),
        "load": _hooked(namespace["load"], _read_after),
        "save": _hooked(namespace["save"], _write_after),
        "ask": namespace["ask"],
    }
    yield hooked


@pytest.fixture
def active() -> Iterator[Capture]:
    capture = Capture()
    activate(capture)
    try:
        yield capture
    finally:
        activate(None)


def _names(capture: Capture) -> set[str]:
    return {source.name for source in capture.record.inputs}


def test_a_library_calling_its_own_hooked_functions_records_once(library: dict[str, Any], active: Capture) -> None:
    result = library["load"]("a.csv")  # load calls read inside the library
    assert _names(active) == {"/data/a.csv"}  # load's read, not read's again (the same name here, but one record)
    assert {s.name for s in active.of(result).sources} == {"/data/a.csv"}
    assert capture_module.depth() == 0


def test_a_nested_read_in_a_user_function_records_and_flows_into_the_outer_result(
    library: dict[str, Any], active: Capture
) -> None:
    result = library["apply"](lambda path: read(path), ["a.csv", "b.csv"])
    assert _names(active) == {"/data/a.csv", "/data/b.csv"}
    assert {s.name for s in active.of(result[0]).sources} == {"/data/a.csv"}


def test_reads_nested_in_a_derive_give_the_result_every_file(library: dict[str, Any], active: Capture) -> None:
    frames = library["gather"](read(path) for path in ("a.csv", "b.csv"))  # a generator: its frames are the user's
    assert _names(active) == {"/data/a.csv", "/data/b.csv"}
    assert all(active.of(frame) for frame in frames)


def test_a_hooked_function_handed_to_a_hooked_call_records(library: dict[str, Any], active: Capture) -> None:
    library["apply"](read, ["a.csv"])  # called by the library, but the user handed it over
    library["gather"](map(read, ["b.csv"]))
    library["gather"](map(functools.partial(read), ["c.csv"]))
    assert _names(active) == {"/data/a.csv", "/data/b.csv", "/data/c.csv"}


def test_a_library_function_not_handed_over_records_nothing_nested(library: dict[str, Any], active: Capture) -> None:
    library["apply"](lambda item: item, ["a.csv"])
    assert _names(active) == set()
    library["apply"](library["load"], ["x.csv"])  # handed: load records; its inner read (library's) does not
    assert _names(active) == {"/data/x.csv"}


def test_hooked_calls_made_by_a_hook_record_nothing(active: Capture) -> None:
    def after(capture: Capture, result: Any, args: tuple, kwargs: dict) -> None:
        read("inner.csv")  # nblineage's own work calling a hooked function

    outer = wrapt.FunctionWrapper(lambda: Box(1), intercept("outer", after))
    outer()
    assert _names(active) == set()


def test_a_write_nested_in_a_write_is_one_output(library: dict[str, Any], active: Capture) -> None:
    def user_save(obj: Any, path: str) -> str:
        write(obj, path)  # the user's code, called back by the outer save
        return path

    outer = wrapt.FunctionWrapper(lambda obj, path: user_save(obj, path), intercept("outer", _write_after))
    outer(Box(1), "m.bin")
    assert [output.source.name for output in active.record.outputs] == ["/out/m.bin"]
    library["apply"](lambda p: write(Box(2), p), ["x.bin"])  # a derive writes nothing itself: the write stays
    assert [output.source.name for output in active.record.outputs] == ["/out/m.bin", "/out/x.bin"]


def test_current_sees_the_capture_in_user_code_called_back_and_not_in_the_library(
    library: dict[str, Any], active: Capture
) -> None:
    seen = library["apply"](lambda _: current(), [1])
    assert seen == [active]
    assert library["apply"](lambda _: library["ask"](), [1]) == [active]  # the user's lambda is between
    inner = wrapt.FunctionWrapper(library["ask"], intercept("outer", _derive_after))
    assert inner() is None  # only library and nblineage code between the hooked call and the event


def test_nothing_is_entered_when_capture_is_off(library: dict[str, Any]) -> None:
    assert library["apply"](lambda path: read(path), ["a.csv"])[0].value == "a.csv"
    assert capture_module.depth() == 0 and not getattr(capture_module._local, "calls", None)


def test_code_kinds() -> None:
    assert capture_module._classify(LIBRARY_FILE) == "library"
    assert capture_module._classify(os.__file__) == "library"
    assert capture_module._classify(capture_module.__file__) == "transparent"
    assert capture_module._classify("/tmp/ipykernel_1/123.py") == "user"
    assert capture_module._classify("<ipython-input-3-abc>") == "user"
    assert capture_module._classify("<frozen importlib._bootstrap>") == "library"
    assert capture_module.blank_lead("\n  \nx = 1\n\ny = 2") == 2
