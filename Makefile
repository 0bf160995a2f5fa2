# flowgauge: `make run` (the embedded stack with a demo feed) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Two stamps: running needs the package alone; the development tools (pytest, ruff, mypy, the
# dashboards' SDK...) come with `make test` and the other development targets.
RUN_STAMP := $(VENV)/.run-stamp
STAMP := $(VENV)/.installed-stamp

.PHONY: run test tools lint typecheck unit integration clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/flowgauge up --demo

LINTED := src tests bench grafana

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

# mypy --strict over src, tests, bench and grafana: pyproject.toml's [tool.mypy] files.
typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

integration: $(STAMP) tools
	$(BIN)/pytest tests/agent tests/integration -q

tools:
	bash scripts/install-tools.sh

test: $(STAMP) tools lint typecheck
	$(BIN)/pytest -q

# Benchmarks against the embedded broker; appends the table to docs/performance.md.
# BENCH_SCALE=quick|default|full (default fits in 15 minutes on 2 cores; see bench/common.py).
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .flowgauge .pytest_cache .mypy_cache .ruff_cache .hypothesis
