# Two entry points for a fresh machine: `make lab` (JupyterLab with nblineage) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: lab test lint bench clean

$(BIN)/nblineage: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

lab: $(BIN)/nblineage
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

lint: $(BIN)/nblineage
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(BIN)/nblineage
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_queries.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
