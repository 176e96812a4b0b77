# TraceFoundry command surface. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_WORKERS ?= 2
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tracefoundry
TEST_ENV := SECRET_KEY=test-only-secret-key DEBUG=0

.DEFAULT_GOAL := help
.PHONY: help install run test test-sqlite test-postgres lint bench demo-load export-trace up down

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed ## Create .venv and install the project with its dev tools

.env:
	@$(PYTHON) -c "import secrets; print('SECRET_KEY=' + secrets.token_urlsafe(48))" > .env
	@echo "Created .env with a new SECRET_KEY (see .env.example for every setting)."

run: install .env ## Set up and serve on http://127.0.0.1:8000 (embedded default: SQLite, no other server)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py bootstrap
	$(VENV)/bin/gunicorn tracefoundry_site.wsgi:application --bind $(HOST):$(PORT) --workers $(WEB_WORKERS) \
		--access-logfile - --timeout 60

test: install ## Install what tests need and run every test suite (SQLite and Postgres)
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: install
	$(TEST_ENV) $(PY) -m pytest

test-postgres: install
	$(TEST_ENV) DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(TEST_ENV) $(VENV)/bin/mypy .

bench: install ## Ingest and query benchmark on Postgres (prints spans/s, memory, p50/p95)
	$(TEST_ENV) $(PY) scripts/bench.py --database-url $(TEST_DATABASE_URL)_bench
