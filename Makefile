# bbauth — `make run` serves the embedded demo, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip --disable-pip-version-check -q
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint typecheck pytest bench services clean help

help:
	@echo "make run    - install, migrate, seed the demo users and serve on http://127.0.0.1:5001"
	@echo "make test   - install test tools, start PostgreSQL/Redis, run ruff, mypy and pytest"
	@echo "make bench  - run the benchmarks; figures land in bench/results/*.json"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "bbauth needs Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	@touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/bbauth db upgrade
	$(BIN)/bbauth seed-demo
	$(BIN)/bbauth serve

services:
	@.ci/ensure-services

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy app db models realtime bench tests

pytest: $(VENV)/.dev-installed services
	$(BIN)/pytest -q -p no:cacheprovider

test: lint typecheck pytest

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
