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

.PHONY: run serve test test-postgres lint format check-migrations clean audit-tools

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed; none was found on PATH." >&2; exit 1; }
	@test -x $(BIN)/python || { echo "Creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# The translation catalogs, compiled (manage.py compile_catalogs, with polib):
# the .mo files are not committed.
CATALOGS := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))

# One run compiles every stale one (a grouped target, GNU make 4.3), then
# marks them all newer than every catalog.
$(CATALOGS) &: $(wildcard locale/*/LC_MESSAGES/django.po) $(BIN)/.installed
	DJANGO_DEBUG=1 $(BIN)/python manage.py compile_catalogs && touch $(CATALOGS)

## Serve the app with demo data on http://$(HOST):$(PORT) (e.g. make run HOST=0.0.0.0 PORT=8080)
run: export DJANGO_DEBUG ?= 1
# The links in e-mails point at the server this starts.
run: export INTERCESSION_SITE_URL ?= http://$(HOST):$(PORT)
# Django's "do not use in production" banner would be the last thing a
# newcomer reads, under the logins: this is the demo on your own computer,
# and the README's "Deployment" says how to serve the app for real.
run: export DJANGO_RUNSERVER_HIDE_WARNING ?= true
# With DEBUG on and no INTERCESSION_ENCRYPTION_KEYS, settings.py makes a
# development key once, in .dev-encryption-key (git-ignored), and reads it
# on every later run: the demo database stays readable.
run: $(BIN)/.installed $(CATALOGS)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The demo's database: the SQLite file next to manage.py that settings.py
# uses when DATABASE_URL is not set. reset-demo deletes nothing else: it
# refuses when DATABASE_URL points anywhere but there, and when the file
# holds more than the demo (seed_demo --check-demo).
DEMO_DATABASE := db.sqlite3

.PHONY: reset-demo

## Delete the demo database (db.sqlite3) and build it again: migrate, demo data
reset-demo: export DJANGO_DEBUG ?= 1
reset-demo: $(BIN)/.installed $(CATALOGS)
	@case "$${DATABASE_URL-sqlite:///$(CURDIR)/$(DEMO_DATABASE)}" in \
	"sqlite:///$(CURDIR)/$(DEMO_DATABASE)" | "sqlite:///$(DEMO_DATABASE)") ;; \
	*) echo "make reset-demo deletes only the demo database, $(CURDIR)/$(DEMO_DATABASE)," \
		"but DATABASE_URL points somewhere else: nothing was deleted. Unset DATABASE_URL to reset the demo." >&2; \
		exit 1 ;; \
	esac
	@if [ -f $(DEMO_DATABASE) ]; then $(BIN)/python manage.py seed_demo --check-demo; fi
	rm -f $(DEMO_DATABASE) $(DEMO_DATABASE)-wal $(DEMO_DATABASE)-shm
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo

## Serve the app as production does (DEBUG off, collectstatic, WhiteNoise, gunicorn) on http://$(HOST):$(PORT)
# The encryption key is make run's development key (the same demo database),
# unless INTERCESSION_ENCRYPTION_KEYS is set.
serve: export DJANGO_DEBUG = 0
serve: export DJANGO_ALLOWED_HOSTS = 127.0.0.1,localhost
serve: export DJANGO_SECURE_SSL_REDIRECT = 0
# Plain HTTP on loopback, so cookies must not be Secure-only: for this local
# run alone, never on a server (see deploy/intercession.env.example).
serve: export DJANGO_SECURE_COOKIES = 0
serve: export GUNICORN_BIND = $(HOST):$(PORT)
serve: export INTERCESSION_SITE_URL ?= http://$(HOST):$(PORT)
serve: $(BIN)/.installed $(CATALOGS)
	@static_root=$$(mktemp -d) && trap 'rm -rf "$$static_root"' EXIT && trap 'exit 130' INT TERM && \
	export DJANGO_STATIC_ROOT="$$static_root" && \
	export DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')}" && \
	export INTERCESSION_ENCRYPTION_KEYS="$${INTERCESSION_ENCRYPTION_KEYS:-$$(DJANGO_DEBUG=1 $(BIN)/python -c \
		'import intercession.settings as s; print(s.development_encryption_key(s.DEVELOPMENT_ENCRYPTION_KEY_FILE))')}" && \
	$(BIN)/python manage.py collectstatic --no-input -v 0 && \
	$(BIN)/python manage.py migrate --no-input && \
	$(BIN)/gunicorn -c gunicorn.conf.py intercession.wsgi

## Run the whole suite (SQLite unless DATABASE_URL says otherwise)
test: $(BIN)/.installed $(CATALOGS)
	$(BIN)/pytest $(PYTEST_ARGS)

## Run the whole suite against PostgreSQL
test-postgres: export DATABASE_URL = $(POSTGRES_URL)
test-postgres: $(BIN)/.installed $(CATALOGS)
	$(BIN)/pytest $(PYTEST_ARGS)

# The checkers of the browser tests (axe-core, the Nu HTML checker) and of
# `make audit` (Lighthouse), from npm into audit/node_modules (git-ignored),
# at the versions audit/package-lock.json pins. Not part of the app.
AUDIT_TOOLS = audit/node_modules/.installed

## Install axe-core, the Nu HTML checker and Lighthouse from npm (needs node, npm and java)
audit-tools: $(AUDIT_TOOLS)

$(AUDIT_TOOLS): audit/package.json audit/package-lock.json
	cd audit && npm ci --no-audit --no-fund --ignore-scripts
	touch $@

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

.PHONY: bench audit

## Generate 10k, 100k and 1M requests and measure every page (SIZES="10000 100000" to choose)
bench: $(BIN)/.installed
	$(BIN)/python -m bench.run --sizes $(SIZES) --postgres-url $(BENCH_POSTGRES_URL) $(BENCH_ARGS)

# Lighthouse 13 on every main page (audit/pages.py), as each persona, on a
# phone and a desktop, against the app served as production serves it on a
# throwaway SQLite demo database; reports in audit/results/ (git-ignored).
# AUDIT_ARGS="--only visitor --form-factor mobile --min-score 90" to narrow it.
AUDIT_ARGS ?=

## Run Lighthouse on every main page as each persona, mobile and desktop, and print the scores (needs Chromium)
audit: $(BIN)/.installed $(AUDIT_TOOLS) $(CATALOGS)
	$(BIN)/python -m audit.lighthouse $(AUDIT_ARGS)
