"""A warning raised inside a hooked call names the user's line, as without nblineage: in process, through the
instrumentor's wrapper, and in a real kernel where pandas' deprecations would otherwise be hidden."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import wrapt
from hooktools import capturing
from notebooks import run_notebook

from nblineage.kernel_ext import warnsite
from nblineage.kernel_ext.instrument import intercept

INSTRUMENT = str(Path(intercept.__code__.co_filename))


def library_call() -> int:
    """A library function warning about its caller's line, as scikit-learn does (``stacklevel=2``)."""
    warnings.warn("old argument", FutureWarning, stacklevel=2)
    return 1


hooked = wrapt.FunctionWrapper(library_call, intercept("test", lambda *_: None))


@pytest.fixture
def installed() -> Iterator[None]:
    warnsite.install()
    yield
    warnsite.uninstall()


def caught(call) -> tuple[warnings.WarningMessage, int]:
    """The one warning ``call`` raises, and the line of this function that called it."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        call()
    assert len(seen) == 1, seen
    return seen[0], line


def test_without_it_the_hooks_wrapper_takes_the_blame() -> None:
    warning, _ = caught(hooked)  # what a user saw before: nblineage's line, not theirs
    assert warning.filename == INSTRUMENT


def test_a_warning_in_a_hooked_call_names_the_callers_line(installed: None) -> None:
    warning, line = caught(hooked)
    assert (warning.filename, warning.lineno) == (__file__, line)
    assert warning.category is FutureWarning


def test_a_warning_in_a_hooked_call_under_capture_names_the_callers_line(installed: None) -> None:
    with capturing(()):  # the wrapper's recording path, not the pass-through
        warning, line = caught(hooked)
    assert (warning.filename, warning.lineno) == (__file__, line)


def test_warnings_outside_nblineage_are_unchanged(installed: None) -> None:
    warning, line = caught(library_call)  # no hook between: stacklevel 2 is this function's line
    assert (warning.filename, warning.lineno) == (__file__, line)
    warning, _ = caught(lambda: warnings.warn("x", UserWarning, stacklevel=1))  # the lambda's own line
    assert warning.filename == __file__
    warning, _ = caught(lambda: warnings.warn("deep", UserWarning, stacklevel=10_000))  # past the stack: as before
    assert warning.filename == "sys"


def test_the_standard_functions_errors_are_kept(installed: None) -> None:
    with pytest.raises(TypeError):
        warnings.warn("x", UserWarning, stacklevel="2")  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FutureWarning, match="old argument"):
            hooked()


def test_uninstall_gives_back_only_its_own_replacement() -> None:
    original = warnings.warn
    warnsite.install()
    warnsite.install()  # twice: still one replacement, whose original is the standard function
    assert warnings.warn is warnsite.warn
    warnsite.uninstall()
    assert warnings.warn is original

    def someone_elses(*args: object, **kwargs: object) -> None:
        original(*args, **kwargs)

    warnsite.install()
    warnings.warn = someone_elses
    try:
        warnsite.uninstall()
        assert warnings.warn is someone_elses  # replaced after us: left alone
    finally:
        warnings.warn = original


def test_pandas_deprecations_show_on_the_cells_line_in_a_kernel(tmp_path: Path) -> None:
    """pandas' ``Pandas4Warning`` is a ``DeprecationWarning``: shown only when it names ``__main__``'s line. Each
    cell's call warns again (its own line), a warning from pandas' code called by a hooked call inside another names
    the cell's line too, and unloading gives ``warnings.warn`` back."""
    assert issubclass(pd.errors.Pandas4Warning, DeprecationWarning)
    cells = [  # DataFrame.sum and .mean are wrapped by the pandas hooks
        "import pandas as pd\nimport warnings\ndf = pd.DataFrame({'a': [1, 2], 'b': [3.0, 4.0]})",
        "totals = df.sum(0)",
        "means = df.mean(0)",
        "for i in range(120):\n    df[f'c{i}'] = i",
        "wide = df.assign(z=1)",  # assign sets an item: a hooked call nested in pandas' own, where pandas warns
        "%unload_ext nblineage\nprint(type(warnings.warn).__name__)",
    ]
    env = {"NBLINEAGE_URL": f"sqlite:///{tmp_path / 'lineage.db'}", "JUPYTER_DATA_DIR": str(tmp_path / "jupyter")}
    notebook = run_notebook(tmp_path / "warns.ipynb", cells, env | {"NBLINEAGE_STRICT": "1"})
    for cell, name in ((notebook.cells[2], "sum"), (notebook.cells[3], "mean")):
        stderr = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")
        assert f"all arguments of {name} will be keyword-only" in stderr, cell.outputs
        assert "nblineage" not in stderr
    fragmented = "".join(o.get("text", "") for o in notebook.cells[5].outputs if o.get("name") == "stderr")
    assert "PerformanceWarning" in fragmented, notebook.cells[5].outputs
    assert "wide = df.assign(z=1)" in fragmented  # the cell's line, not pandas' frame.py nor nblineage's
    stdout = "".join(o.get("text", "") for o in notebook.cells[6].outputs if o.get("name") == "stdout")
    assert stdout.strip() == "builtin_function_or_method"  # the standard one back


def test_nblineage_imported_through_a_link_is_still_stepped_over(tmp_path: Path) -> None:
    """A package found through a symbolic link (a linked home or environment folder): its frames' file names are
    the link's, not the resolved ones."""
    import subprocess
    import sysconfig

    root = Path(warnsite.__file__).resolve().parents[2]
    (tmp_path / "linked").symlink_to(root, target_is_directory=True)
    script = (
        "import sys, warnings, wrapt\n"
        "from nblineage.kernel_ext import warnsite\n"
        "from nblineage.kernel_ext.instrument import intercept\n"
        "def library():\n"
        "    warnings.warn('old', FutureWarning, stacklevel=2)\n"
        "hooked = wrapt.FunctionWrapper(library, intercept('t', lambda *_: None))\n"
        "warnsite.install()\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    hooked()\n"
        "print(seen[0].filename)\n"
    )
    script = f"import nblineage\nassert nblineage.__file__.startswith({str(tmp_path)!r}), nblineage.__file__\n" + script
    packages = sysconfig.get_paths()["purelib"]  # without site's editable-install finder, which names the checkout
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "linked"), packages])}
    command = [sys.executable, "-S", "-c", script]  # run in tmp_path: -c puts the working folder first
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "<string>", done
