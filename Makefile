# Quick start: `make demo`, then `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PIPQ := --quiet --disable-pip-version-check
# pip's own noise about absent local mirrors is filtered; its exit status is kept.
QUIET := { grep -v '^WARNING: Location' || true; }

.PHONY: venv demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIPQ) --upgrade pip 2>&1 | $(QUIET)
	$(BIN)/python -m pip install $(PIPQ) -e '.[dev]' 2>&1 | $(QUIET)
	$(BIN)/python -c 'import arenad, hyperliquid, alpaca, textual'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/arenad demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
