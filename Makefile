# Two commands for a newcomer: `make run` and `make test`. See README.md.

# The newest Python 3.11+ on this machine (a candidate must actually run:
# pyenv shims exist for versions that are not active).
PYTHON ?= $(shell for candidate in python3.14 python3.13 python3.12 python3.11 python3; do \
	if $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then \
	echo $$candidate; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/intercession
# The suite runs on every core, one test database per worker; a module's
# tests stay on one worker (their module-scoped servers start once).
# PYTEST_ARGS= runs it in one process.
PYTEST_ARGS ?= -n auto --dist loadfile

.PHONY: run test test-postgres lint format check-migrations clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed; none was found on PATH." >&2; exit 1; }
	@test -x $(BIN)/python || { echo "Creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

## Serve the app with demo data on http://$(HOST):$(PORT)
run: export DJANGO_DEBUG ?= 1
run: $(BIN)/.installed
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## Run the whole suite (SQLite unless DATABASE_URL says otherwise)
test: $(BIN)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

## Run the whole suite against PostgreSQL
test-postgres: export DATABASE_URL = $(POSTGRES_URL)
test-postgres: $(BIN)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: export DJANGO_DEBUG ?= 1
check-migrations: $(BIN)/.installed
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The benchmark of issue 6 (docs/PERFORMANCE.md): makes and drops only the
# databases intercession_bench_<size> on BENCH_POSTGRES_URL.
SIZES ?= 10000 100000 1000000
BENCH_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432
BENCH_ARGS ?=

.PHONY: bench

## Generate 10k, 100k and 1M requests and measure every page (SIZES="10000 100000" to choose)
bench: $(BIN)/.installed
	$(BIN)/python -m bench.run --sizes $(SIZES) --postgres-url $(BENCH_POSTGRES_URL) $(BENCH_ARGS)
