# Two entry points for a fresh machine: `make lab` (JupyterLab with nblineage) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: lab test lint bench screenshots clean

$(BIN)/nblineage: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# JupyterLab opens on the first example notebook; `make lab LAB_ARGS=...` passes other arguments instead.
LAB_ARGS ?= notebooks/01-tabular-titanic.ipynb

lab: $(BIN)/nblineage
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

lint: $(BIN)/nblineage
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The tests spend most of their time waiting on kernels, servers and browsers: two workers (pytest-xdist) use both
# cores; `make test PYTEST_WORKERS=0` runs them in one process.
PYTEST_WORKERS ?= 2

test: lint
	cd labextension && PATH="$(abspath $(BIN)):$$PATH" jlpm test --silent
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The README's pictures: the quickstart notebook run in JupyterLab by the browser test, its widget and the sidebar.
screenshots: $(BIN)/nblineage
	$(BIN)/python -m pytest -p no:cacheprovider tests/notebooks/test_quickstart_browser.py
	mkdir -p docs/images
	cp .ci/artifacts/quickstart-widget.png .ci/artifacts/quickstart-sidebar.png docs/images/

bench: $(BIN)/nblineage
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_queries.py
	$(BIN)/python benchmarks/bench_neighbourhood.py
	$(BIN)/python benchmarks/bench_capture.py
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_widget.py

clean:
	rm -rf $(VENV) build dist .pytest_cache nblineage/widgets/static labextension/node_modules
