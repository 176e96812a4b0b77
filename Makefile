# TraceFoundry command surface. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_WORKERS ?= 3
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tracefoundry
TEST_ENV := SECRET_KEY=test-only-secret-key DEBUG=0
# Extra pytest arguments, e.g. PYTEST_ARGS='-m browser' (CI splits the suites this way).
PYTEST_ARGS ?=
CHROMIUM := /usr/bin/chromium
# npm ci of the TypeScript SDK; the pytest live test (traces/tests/test_typescript_sdk_live.py) needs it too.
SDK_TS_INSTALLED := sdk/typescript/node_modules/.installed
# npm ci of the Vercel AI SDK that traces/tests/test_conventions_live.py drives (a test-only folder).
VERCEL_AI_INSTALLED := testing/vercel_ai/node_modules/.installed
# Venvs of the LLM libraries that cannot share .venv (testing/library_venvs.py), for the same test; git-ignored.
LIBRARY_VENVS := testing/google_adk/.venv/.installed testing/traceloop/.venv/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test test-sqlite test-postgres lint openapi bench bench-scale fuzz demo-load export-trace up down

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml sdk/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e sdk/python
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed ## Create .venv and install the project with its dev tools

.env:
	@$(PYTHON) -c "import secrets; print('SECRET_KEY=' + secrets.token_urlsafe(48))" > .env
	@echo "Created .env with a new SECRET_KEY (see .env.example for every setting)."

run: install .env frontend ## Set up and serve on http://127.0.0.1:8000 (and OTLP/gRPC on 4317) with the Celery worker and beat (Ctrl-C stops all)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py collectstatic --no-input -v 0
	$(PY) manage.py bootstrap
	scripts/run_all.sh $(HOST) $(PORT) $(WEB_WORKERS)

test: install frontend frontend-test sdk-typescript-test ## Install what tests need and run every test suite (SQLite and Postgres)
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: install frontend $(CHROMIUM) $(SDK_TS_INSTALLED) $(VERCEL_AI_INSTALLED) $(LIBRARY_VENVS)
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install frontend $(CHROMIUM) $(SDK_TS_INSTALLED) $(VERCEL_AI_INSTALLED) $(LIBRARY_VENVS)
	$(TEST_ENV) DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest $(PYTEST_ARGS)

lint: install frontend-lint sdk-typescript-lint ## ruff and mypy (and eslint + tsc for the explorer and the TypeScript SDK)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(TEST_ENV) $(VENV)/bin/mypy .

openapi: install frontend/node_modules/.installed ## Regenerate the committed OpenAPI schema and the explorer's types from it
	$(TEST_ENV) $(PY) manage.py spectacular --validate --fail-on-warn --file frontend/openapi.yaml
	cd frontend && pnpm api-types

# The realistic corpus's tools live beside the repository (CI keeps a copy of shared/ beside the clone).
SHARED_BENCH ?= ../shared/bench
bench: install ## Ingest and query benchmarks on Postgres: 1M spans, payload-heavy, request limits, big traces, realistic corpus vs a sink
	$(TEST_ENV) $(PY) scripts/bench.py --database-url $(TEST_DATABASE_URL)_bench
	$(TEST_ENV) $(PY) scripts/bench.py --database-url $(TEST_DATABASE_URL)_bench --spans 200000 --payload-bytes 2048
	$(TEST_ENV) $(PY) scripts/bench_request_limits.py
	$(TEST_ENV) $(PY) scripts/bench_request_limits.py --database-url $(TEST_DATABASE_URL)_bench
	$(TEST_ENV) $(PY) scripts/bench_big_trace.py --database-url $(TEST_DATABASE_URL)_bench
	$(TEST_ENV) $(PY) scripts/bench_realistic.py --database-url $(TEST_DATABASE_URL)_bench --corpus-tools $(SHARED_BENCH)

bench-scale: install ## Postgres partitioned by day at 10M spans (1M ingested, 9M SQL copies): query p95, sizes, retention of one day (row deletes vs partition drop) under ingest
	$(TEST_ENV) $(PY) scripts/bench_scale.py --database-url $(TEST_DATABASE_URL)_bench_scale

# make fuzz [FUZZ_EXAMPLES=25000] [FUZZ_HTTP_EXAMPLES=300]: examples per fuzz test, in process / through the app.
FUZZ_EXAMPLES ?= 25000
FUZZ_HTTP_EXAMPLES ?= 300
FUZZ_TESTS := traces/tests/test_fuzz_otlp.py bundles/tests/test_fuzz_bundles.py tracefoundry_site/tests/test_fuzz_api.py
fuzz: install ## Long property-based fuzzing (hypothesis, schemathesis per role) on SQLite; prints cases run and 500s
	$(TEST_ENV) FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_HTTP_EXAMPLES=$(FUZZ_HTTP_EXAMPLES) $(PY) -m pytest $(FUZZ_TESTS) \
		-p no:cacheprovider -q -o log_level=CRITICAL --log-disable=django.request $(PYTEST_ARGS)

# make demo-load [TRACES=50] [SEED=1] [SCENARIO=mix] [URL=http://127.0.0.1:8000] [INGEST_KEY=...]; @ keeps the key out of logs.
TRACES ?= 50
SEED ?= 1
SCENARIO ?= mix
demo-load: install .env ## Send 50 seeded demo agent traces to the server started by `make run` (same seed: no duplicates)
	@$(PY) manage.py demo_load --traces $(TRACES) --seed $(SEED) --scenario $(SCENARIO) --url "$(URL)" \
		$(if $(INGEST_KEY),--ingest-key "$(INGEST_KEY)")

# --- Explorer (frontend/): Next.js static export served by Django at / -----------------------------------------
.PHONY: frontend frontend-test frontend-lint
PNPM_VERSION := $(shell sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' frontend/package.json)
# next-env.d.ts is written by every build and typecheck, so it is no source.
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) $(filter-out \
	frontend/next-env.d.ts,$(wildcard frontend/*.json frontend/*.ts frontend/*.mjs frontend/pnpm-lock.yaml))

frontend/node_modules/.installed: frontend/package.json frontend/pnpm-lock.yaml
	@[ "$$(pnpm --version 2>/dev/null)" = "$(PNPM_VERSION)" ] || npm install -g pnpm@$(PNPM_VERSION)
	cd frontend && pnpm install --frozen-lockfile
	touch $@

# The export's index.html is the stamp: rebuilt only when a source, the config or the lockfile changed.
frontend/out/index.html: frontend/node_modules/.installed $(FRONTEND_SOURCES)
	cd frontend && NEXT_TELEMETRY_DISABLED=1 pnpm build
	touch $@

frontend: frontend/out/index.html ## Build the explorer into frontend/out (only when its sources changed)

frontend-test: frontend/node_modules/.installed ## Unit tests of the explorer's layout code (vitest)
	cd frontend && pnpm test

frontend-lint: frontend/node_modules/.installed
	cd frontend && pnpm lint && pnpm typecheck

# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
$(CHROMIUM):
	apt-get update && apt-get install -y chromium

# --- Deployment: docker compose (Postgres 16, Redis, MinIO, web, worker, beat, OpenTelemetry Collector) ---------
COMPOSE := docker compose -f deploy/docker-compose.yml --env-file .env

# make export-trace TRACE_ID=<32 hex> [URL=https://host] [TOKEN=<API token>] [PAYLOADS=1] [REDACTION=standard] [OUT=f.zip]
URL ?= http://127.0.0.1:$(PORT)
REDACTION ?= strict
# The recipe is @-prefixed so that the token is never echoed into a log.
export-trace: ## Download a trace bundle over HTTP: TRACE_ID=... [URL=...] [TOKEN=...] [PAYLOADS=1] [REDACTION=...]
	@[ -n "$(TRACE_ID)" ] || { echo "usage: make export-trace TRACE_ID=<trace id> [URL=...] [TOKEN=...]"; exit 2; }
	@$(if $(TOKEN),TRACEFOUNDRY_API_TOKEN="$(TOKEN)") $(PYTHON) scripts/export_trace.py "$(TRACE_ID)" \
		--url "$(URL)" --redaction "$(REDACTION)" $(if $(PAYLOADS),--payloads) $(if $(OUT),-o "$(OUT)")

up: .env ## Build and start the docker compose deployment (deploy/docker-compose.yml, settings from .env)
	$(COMPOSE) up -d --build

down: ## Stop the docker compose deployment (volumes are kept)
	$(COMPOSE) down

$(VERCEL_AI_INSTALLED): testing/vercel_ai/package.json testing/vercel_ai/package-lock.json
	cd testing/vercel_ai && npm ci --no-audit --no-fund
	touch $@

# testing/<library>/.venv from its pinned requirements.txt, made anew when the pins change.
testing/%/.venv/.installed: testing/%/requirements.txt
	rm -rf testing/$*/.venv
	$(PYTHON) -m venv testing/$*/.venv
	testing/$*/.venv/bin/pip install --quiet --upgrade pip
	testing/$*/.venv/bin/pip install --quiet -r $<
	touch $@

# --- TypeScript SDK (sdk/typescript): npm with its own package-lock.json ------------------------------------------
.PHONY: sdk-typescript-test sdk-typescript-lint
$(SDK_TS_INSTALLED): sdk/typescript/package.json sdk/typescript/package-lock.json
	cd sdk/typescript && npm ci --no-audit --no-fund
	touch $@

sdk-typescript-test: $(SDK_TS_INSTALLED) ## Unit tests of the TypeScript SDK (node --test; the live test runs under pytest)
	cd sdk/typescript && npm test

sdk-typescript-lint: $(SDK_TS_INSTALLED)
	cd sdk/typescript && npm run lint && npm run typecheck
