# flowgauge: `make run` (the embedded stack with a demo feed) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test tools lint typecheck unit integration clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/flowgauge up --demo

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

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

clean:
	rm -rf $(VENV) .flowgauge .pytest_cache .mypy_cache .ruff_cache .hypothesis
