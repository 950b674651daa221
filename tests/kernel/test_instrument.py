"""The instrumentor base: its life cycle, what one patch() covers, requirements, listeners and undo."""

from __future__ import annotations

import pickle
import sys
import textwrap
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import wrapt

from nblineage.kernel_ext import safety
from nblineage.kernel_ext.capture import Capture
from nblineage.kernel_ext.instrument import Instrumentor, Listener, Patch, intercept

LIBRARY = "nbl_instr_lib"


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A small library: ``load`` defined in a submodule and exported by the package, a class with a method and a
    property, and a version."""
    package = tmp_path / LIBRARY
    package.mkdir()
    (package / "_impl.py").write_text(
        textwrap.dedent(
            """
            def load(path):
                return [path]


            class Table:
                def select(self, name):
                    return name

                @property
                def width(self):
                    return 3
            """
        )
    )
    (package / "__init__.py").write_text("from ._impl import Table, load\n__version__ = '1.5'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import nbl_instr_lib

    yield nbl_instr_lib
    for name in [name for name in sys.modules if name.startswith(LIBRARY)]:
        del sys.modules[name]


def recorder(seen: list[Any]) -> Any:
    return intercept("test", lambda capture, result, args, kwargs: seen.append(result))


class Lib(Instrumentor):
    modules = (LIBRARY,)

    def __init__(self, seen: list[Any]) -> None:
        super().__init__()
        self.seen = seen

    def patches(self, module: Any) -> Iterable[Patch]:
        yield module, "load", recorder(self.seen)
        yield module.Table, "select", recorder(self.seen)
        yield module.Table, "width", recorder(self.seen)


def test_one_patch_covers_aliases_methods_and_properties_and_undo_puts_every_original_back(
    library: Any, capture: Capture
) -> None:
    originals = (library.load, library.Table.__dict__["select"], library.Table.__dict__["width"])
    seen: list[Any] = []
    instrumentor = Lib(seen)
    instrumentor.instrument()
    try:
        impl = sys.modules[f"{LIBRARY}._impl"]
        assert isinstance(library.load, wrapt.FunctionWrapper)
        assert impl.load is library.load  # the alias in the defining module shares the one wrapper
        assert pickle.loads(pickle.dumps(library.load)) is library.load
        table = library.Table()
        assert (library.load("a"), impl.load("b"), table.select("c"), table.width) == (["a"], ["b"], "c", 3)
        assert seen == [["a"], ["b"], "c", 3]
        assert pickle.loads(pickle.dumps(table.select))("d") == "d"
    finally:
        instrumentor.uninstrument()
    assert (library.load, library.Table.__dict__["select"], library.Table.__dict__["width"]) == originals
    assert sys.modules[f"{LIBRARY}._impl"].load is originals[0]


def test_instrument_and_uninstrument_twice_do_it_once(library: Any, capture: Capture) -> None:
    seen: list[Any] = []
    instrumentor = Lib(seen)
    instrumentor.instrument()
    instrumentor.instrument()
    library.load("a")
    assert seen == [["a"]]  # wrapped once, not twice
    instrumentor.uninstrument()
    instrumentor.uninstrument()
    assert not isinstance(library.load, wrapt.FunctionWrapper)
    instrumentor.instrument()  # again after uninstrument: the import hook has fired already
    try:
        library.load("b")
        assert seen == [["a"], ["b"]]
    finally:
        instrumentor.uninstrument()


@pytest.mark.parametrize(("requirement", "patched"), [(f"{LIBRARY}>=1.2", True), (f"{LIBRARY} >=2, <3", False)])
def test_requirements_are_checked_against_the_library_version(
    library: Any, capture: Capture, requirement: str, patched: bool
) -> None:
    class Required(Lib):
        requires = (requirement,)

    instrumentor = Required([])
    instrumentor.instrument()
    try:
        assert isinstance(library.load, wrapt.FunctionWrapper) is patched
    finally:
        instrumentor.uninstrument()


def test_listeners_are_subscribed_on_import_and_unsubscribed_on_uninstrument(library: Any) -> None:
    subscribed: list[str] = []

    class Listening(Instrumentor):
        modules = (LIBRARY,)

        def listeners(self, module: Any) -> Iterable[Listener]:
            yield (lambda: subscribed.append(module.__name__), lambda: subscribed.remove(module.__name__))

    instrumentor = Listening()
    instrumentor.instrument()
    assert subscribed == [LIBRARY]
    instrumentor.uninstrument()
    assert subscribed == []


def test_a_module_whose_patching_fails_is_left_as_it_was(
    library: Any, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken(Lib):
        def patches(self, module: Any) -> Iterable[Patch]:
            yield module, "load", recorder(self.seen)
            raise RuntimeError("patching broke")

    monkeypatch.setattr(safety, "errors", Counter())
    monkeypatch.setenv("NBLINEAGE_STRICT", "0")
    original = library.load
    instrumentor = Broken([])
    with pytest.warns(RuntimeWarning, match="patching broke"):
        instrumentor.instrument()
    try:
        assert library.load is original
        assert safety.errors[f"{LIBRARY} instrumentation"] == 1
    finally:
        instrumentor.uninstrument()


@pytest.mark.parametrize(
    ("specifier", "version"),
    [
        (">=2.0", "2.0"),
        (">=2.0", "2"),
        (">=2.0", "1.9.9"),
        (">=2.0", "2.0.0rc1"),
        (">=2.0", "2.2.3+cpu"),
        (">=14.0", "14.0.2"),
        (">=0.20", "0.19.19"),
        (">=0.20", "0.20.0"),
        (">= 3.1", "3.1.0"),
        (">=1.4", "10.0"),
        ("<3", "2.1"),
    ],
)
def test_a_requirement_is_checked_as_packaging_checks_it(specifier: str, version: str) -> None:
    """The version check without ``packaging`` (final releases against ``>=``) answers as ``packaging`` does, and
    leaves every other case to it."""
    from packaging.specifiers import SpecifierSet

    from nblineage.kernel_ext.instrument import _at_least

    fast = _at_least(specifier, version)
    expected = SpecifierSet(specifier).contains(version, prereleases=True)
    assert fast is None or fast == expected
    if "+" in version or "rc" in version or not specifier.startswith(">="):
        assert fast is None
    else:
        assert fast == expected


def test_public_modules_sees_modules_loaded_since_it_last_looked(library: Any) -> None:
    """Each module is looked at once (public_modules is asked once per module a library's hooks patch): a package
    loaded later is found, a module's new object after a re-import too, and internal modules never."""
    from nblineage.kernel_ext.instrument import public_modules

    assert public_modules(LIBRARY) == [library]
    package = Path(library.__file__).parent / "io"
    package.mkdir()
    (package / "__init__.py").write_text("from .._impl import load\n")
    import nbl_instr_lib.io  # noqa: F401

    found = public_modules(LIBRARY)
    assert found == [library, sys.modules[f"{LIBRARY}.io"]]  # nbl_instr_lib._impl is no public home
    del sys.modules[f"{LIBRARY}.io"]
    again = __import__(f"{LIBRARY}.io", fromlist=["load"])
    assert public_modules(LIBRARY) == [library, again] and again is not found[1]
