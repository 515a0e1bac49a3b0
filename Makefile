# bbauth — `make run` serves the embedded demo, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip --disable-pip-version-check -q
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint typecheck pytest bench services clean help frontend frontend-test browser proxy contract

help:
	@echo "make run    - install, migrate, seed the demo users and serve on http://127.0.0.1:5001"
	@echo "make test   - install test tools, start PostgreSQL/Redis, run ruff, mypy, vitest (app and SDK) and pytest"
	@echo "              (pytest includes the browser tests in tests/e2e, in Debian's chromium)"
	@echo "make bench  - run the benchmarks; figures land in bench/results/*.json"
	@echo "make contract - write the OpenAPI and AsyncAPI documents and regenerate the web app's"
	@echo "              types from them (frontend/src/contract); make test fails when they drift"

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

# The web app (frontend/dist, served by the API): rebuilt when a source is newer than the stamp.
# Its build starts with the capture SDK's (frontend/packages/capture, an npm workspace), whose
# single-file script lands in frontend/dist/sdk/capture.js, served at /sdk/capture.js.
FRONTEND := frontend
SDK := $(FRONTEND)/packages/capture
FRONTEND_SOURCES := $(shell find $(FRONTEND)/src $(SDK)/src -type f 2>/dev/null) \
	$(addprefix $(FRONTEND)/,index.html package.json package-lock.json vite.config.ts tsconfig.json) \
	$(addprefix $(SDK)/,package.json vite.config.ts tsconfig.json tsconfig.build.json)

$(FRONTEND)/node_modules/.installed: $(FRONTEND)/package.json $(FRONTEND)/package-lock.json $(SDK)/package.json
	@command -v npm >/dev/null || { echo "the web app needs Node.js 20.19+ and npm"; exit 1; }
	cd $(FRONTEND) && npm ci --no-audit --no-fund
	@touch $@

$(FRONTEND)/dist/.built: $(FRONTEND)/node_modules/.installed $(FRONTEND_SOURCES)
	cd $(FRONTEND) && npm run build
	@touch $@

frontend: $(FRONTEND)/dist/.built

# The web app's and the capture SDK's type checks and unit tests (the SDK's include its size budget).
frontend-test: $(FRONTEND)/node_modules/.installed
	cd $(FRONTEND) && npm run typecheck && npm test

# The contract: the server's documents, then the web app's types generated from them. Drift is
# caught by make test (tests/app/test_contract.py and src/contract/contract.test.ts).
contract: $(VENV)/.dev-installed $(FRONTEND)/node_modules/.installed
	$(BIN)/bbauth contract
	cd $(FRONTEND) && npm run contract

# Debian's chromium for the browser tests (Playwright drives it; it downloads no browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null; }

# Debian's nginx-light (auth_request, sub_filter) and caddy (forward_auth) for the forward-auth
# tests and benchmark.
proxy:
	@{ command -v nginx || test -x /usr/sbin/nginx; } >/dev/null 2>&1 || { \
		echo "installing Debian's nginx-light for the forward-auth tests"; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq nginx-light >/dev/null; }
	@command -v caddy >/dev/null 2>&1 || { \
		echo "installing Debian's caddy for the forward-auth tests"; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq caddy >/dev/null; }

run: $(VENV)/.run-installed frontend
	$(BIN)/bbauth db upgrade
	$(BIN)/bbauth seed-demo
	$(BIN)/bbauth serve

services:
	@.ci/ensure-services

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy app db models realtime bench tests

# Two workers (PYTEST_WORKERS=0 runs in one process): a test file runs whole on one worker, so
# its module fixtures (servers, enrolled people) are made once; files share no state.
PYTEST_WORKERS ?= 2

pytest: $(VENV)/.dev-installed services frontend browser proxy
	E2E_REQUIRE_BROWSER=1 $(BIN)/pytest -q -rs -p no:cacheprovider --durations=25 \
		-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: lint typecheck frontend-test pytest

bench: $(VENV)/.dev-installed proxy frontend browser
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
