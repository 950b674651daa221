"""The hooks' registry: each entry names its instrumentor's library modules exactly, and a session's hooks import
their module only when the user imports the library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from nblineage.kernel_ext.hooks import REGISTRY, instrumentors


def test_each_entry_names_the_modules_its_instrumentor_instruments() -> None:
    found = instrumentors()
    assert [type(instrumentor).__name__ for instrumentor in found] == [name for _, name, _ in REGISTRY]
    for instrumentor, (module, name, modules) in zip(found, REGISTRY, strict=True):
        assert type(instrumentor).__module__ == f"nblineage.kernel_ext.hooks.{module}"
        assert tuple(type(instrumentor).modules) == modules, name


def test_a_hook_module_is_imported_with_its_library() -> None:
    """In a fresh interpreter: instrumenting imports the hooks of the modules loaded already (pickle, pathlib) and
    no other; importing polars then imports its hooks, which patch it, and uninstrumenting undoes them."""
    code = """
import pickle
import sys
import wrapt
from nblineage.kernel_ext.hooks import deferred

hooks = deferred()
for hook in hooks:
    hook.instrument()
loaded = {hook.name for hook in hooks if hook.loaded is not None}
assert {"PickleInstrumentor", "PyfilesInstrumentor"} <= loaded, loaded
assert not {"PandasInstrumentor", "PolarsInstrumentor", "SklearnInstrumentor", "MlflowInstrumentor"} & loaded, loaded
assert "nblineage.kernel_ext.hooks.polars" not in sys.modules
assert "nblineage.kernel_ext.hooks.mlflow.models" not in sys.modules
assert isinstance(pickle.dump, wrapt.FunctionWrapper)
import polars
assert "nblineage.kernel_ext.hooks.polars" in sys.modules
assert isinstance(polars.read_csv, wrapt.FunctionWrapper)
assert "pandas" not in sys.modules or "nblineage.kernel_ext.hooks.pandas" in sys.modules
for hook in reversed(hooks):
    hook.uninstrument()
assert not isinstance(polars.read_csv, wrapt.FunctionWrapper)
for hook in hooks:
    hook.instrument()
assert isinstance(polars.read_csv, wrapt.FunctionWrapper)
print("ok")
"""
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_a_package_is_patched_once_initialized_though_a_submodule_loaded_its_hooks(tmp_path: Path, monkeypatch) -> None:
    """The first of a library's modules to finish importing may be a submodule its package imports in its
    ``__init__``: that loads the hooks, which patch the package only once its ``__init__`` has run (a function it
    defines after that import is patched); uninstrumenting undoes it, instrumenting again redoes it."""
    import wrapt

    from nblineage.kernel_ext.capture import Capture
    from nblineage.kernel_ext.instrument import Deferred, Instrumentor, intercept

    package = tmp_path / "deferred_lib"
    package.mkdir()
    (package / "__init__.py").write_text("from deferred_lib import sub\n\ndef late(x):\n    return x\n")
    (package / "sub.py").write_text("def early(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []

    class Hooks(Instrumentor):
        modules = ("deferred_lib", "deferred_lib.sub")

        def patches(self, module):
            name = "late" if module.__name__ == "deferred_lib" else "early"
            yield module, name, intercept(name, lambda capture, result, args, kwargs: None)

    def make() -> Instrumentor:
        made.append("made")
        return Hooks()

    hook = Deferred("Hooks", Hooks.modules, make)
    hook.instrument()
    assert made == []
    try:
        import deferred_lib

        assert made == ["made"]
        assert isinstance(deferred_lib.late, wrapt.FunctionWrapper)
        assert isinstance(deferred_lib.sub.early, wrapt.FunctionWrapper)
        hook.uninstrument()
        assert not isinstance(deferred_lib.late, wrapt.FunctionWrapper)
        hook.instrument()
        assert isinstance(deferred_lib.late, wrapt.FunctionWrapper) and made == ["made"]
        assert hook.at_cell_end() is None  # Hooks keeps the base's cell_ended
        hook.cell_ended(Capture())
    finally:
        hook.uninstrument()
        for name in ("deferred_lib", "deferred_lib.sub"):
            sys.modules.pop(name, None)
