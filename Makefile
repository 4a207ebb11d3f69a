# The two commands a new machine needs: `make run` (the app) and `make test` (the suite).
# Each creates .venv when it is missing and installs what it needs first.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
PORT   ?= 8501
CHROMIUM ?= /usr/bin/chromium
# Node's packages for the real OpenID Connect provider the sign-on tests run (its stamp: npm ci's own lock copy)
OIDC   := tests/support/oidc/node_modules/.package-lock.json

.PHONY: run test test-fast lint bench screenshots clean cluster

$(PY):
	$(PYTHON) -m venv $(VENV)

# Stamps re-install only when a requirements file changes.
$(VENV)/.run-deps: requirements.txt | $(PY)
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

WEBHOOK_PORT ?= 8502

## run: serve the app on http://127.0.0.1:$(PORT) (demo data and offline analysis when no keys are set); with FATHOM_WEBHOOK_SECRET set, the webhook receiver on 127.0.0.1:$(WEBHOOK_PORT) beside it
run: $(VENV)/.run-deps
	@if [ -n "$$FATHOM_WEBHOOK_SECRET" ]; then \
		$(PY) -m engagement webhooks serve --host 127.0.0.1 --port $(WEBHOOK_PORT) & hooks=$$!; \
		trap 'kill $$hooks 2>/dev/null; wait $$hooks 2>/dev/null' EXIT INT TERM; \
		$(PY) -m streamlit run streamlit_app.py --server.address 127.0.0.1 --server.port $(PORT); \
	else \
		$(PY) -m streamlit run streamlit_app.py --server.address 127.0.0.1 --server.port $(PORT); \
	fi

## cluster: a try-out of the several-machines shape on this one: Redis on 127.0.0.1:$(REDIS_PORT), two RQ workers, the app (Ctrl-C stops all)
REDIS_PORT ?= 6390
cluster: $(VENV)/.run-deps redis-server
	@mkdir -p data/redis
	@export ENGAGEMENT_REDIS_URL=redis://127.0.0.1:$(REDIS_PORT)/0; \
	redis-server --bind 127.0.0.1 --port $(REDIS_PORT) --dir data/redis --appendonly yes --daemonize no \
		--logfile redis.log & redis=$$!; \
	trap 'kill $$worker1 $$worker2 2>/dev/null; wait $$worker1 $$worker2 2>/dev/null; kill $$redis 2>/dev/null; wait $$redis' EXIT INT TERM; \
	until redis-cli -p $(REDIS_PORT) ping >/dev/null 2>&1; do sleep 0.1; done; \
	$(PY) -m engagement worker > data/redis/worker-1.log 2>&1 & worker1=$$!; \
	$(PY) -m engagement worker > data/redis/worker-2.log 2>&1 & worker2=$$!; \
	echo "Redis on 127.0.0.1:$(REDIS_PORT), workers $$worker1 and $$worker2 (logs in data/redis/), the app on http://127.0.0.1:$(PORT)"; \
	$(PY) -m streamlit run streamlit_app.py --server.address 127.0.0.1 --server.port $(PORT)

# Parallel pytest-xdist workers: most of the suite waits on servers, browsers and polls, so 4 beat 2 cores' 2.
# --dist loadgroup keeps the tests of one xdist_group (a module's shared server and browser) on one worker.
# PYTEST_ARGS: more options for one run, e.g. `make test PYTEST_ARGS=--durations=30`.
TEST_WORKERS ?= 4
PYTEST_ARGS ?=
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)
# Bytecode caches (git-ignored __pycache__/) even where the environment sets PYTHONDONTWRITEBYTECODE: without them
# every xdist worker of every run rewrites the asserts of all 80 test modules again (about 4 s of CPU each here);
# with them only a fresh clone's first run does.
PYTEST_ENV := env -u PYTHONDONTWRITEBYTECODE

## test: the whole suite, the real-browser, Redis and sign-on tests included (installs Debian's chromium and redis-server, and Node's OIDC provider, when missing)
test: $(VENV)/.dev-deps chromium redis-server $(OIDC)
	$(PYTEST_ENV) $(PY) -m pytest $(PYTEST_PARALLEL)

## test-fast: the suite without the browser tests, for a quick loop (no chromium needed)
test-fast: $(VENV)/.dev-deps
	$(PYTEST_ENV) $(PY) -m pytest $(PYTEST_PARALLEL) -m "not browser"

## chromium: Debian's Chromium for the browser test (Playwright drives it; it downloads no browser), and
## poppler-utils, whose pdftotext and pdftoppm read the PDF it prints
.PHONY: chromium
chromium:
	@if [ ! -x "$(CHROMIUM)" ] || ! command -v pdftotext >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium poppler-utils; \
		elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq chromium poppler-utils; \
		else echo "Chromium is missing and cannot be installed without root: the browser test will be skipped."; fi; \
	fi

## oidc: a real OpenID Connect provider for the sign-on tests (panva's oidc-provider on Node, from its lock file)
$(OIDC): tests/support/oidc/package-lock.json
	@if ! command -v npm >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nodejs npm; \
		elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq nodejs npm; \
		else echo "npm is missing and cannot be installed without root: the sign-on tests will be skipped."; exit 0; fi; \
	fi
	cd tests/support/oidc && npm ci --no-audit --no-fund --loglevel=error

## redis-server: Debian's Redis for the tests that run on Redis and RQ (each test run starts its own on a free port)
.PHONY: redis-server
redis-server:
	@if ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq redis-server; \
		elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq redis-server; \
		else echo "redis-server is missing and cannot be installed without root: the Redis tests will be skipped."; fi; \
	fi

## lint: ruff and mypy
lint: $(VENV)/.dev-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

## bench: the benchmarks; writes docs/BENCHMARKS.md
bench: $(VENV)/.dev-deps
	$(PY) -m bench

## screenshots: refresh docs/*.png from the browser test
screenshots: $(VENV)/.dev-deps chromium
	SCREENSHOT_DIR=docs $(PY) -m pytest -m browser -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
