# make run   — serve the app (embedded SQLite + in-process jobs unless DATABASE_URL/REDIS_URL are set)
# make test  — run the whole suite against PostgreSQL and Redis
# make lint  — ruff (lint + format), mypy and the import contracts; make test runs it first
# make smoke — start `make run` on a fresh embedded database and walk through it over HTTP
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
HTMX_VERSION := 2.0.11
SIMPLEWEBAUTHN_VERSION := 14.0.0
SWAGGER_UI_VERSION := 5.36.0

.PHONY: run test lint install install-dev vendor migration db-upgrade seed worker scheduler smoke clean bench

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $(VENV)/.installed $@

# The local OpenID provider the social-login tests sign in against (Node, pinned by the lockfile).
OIDC_DIR := tests/oidc
$(OIDC_DIR)/node_modules/.package-lock.json: $(OIDC_DIR)/package.json $(OIDC_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js and npm are required for the social-login tests (apt-get install nodejs npm)"; exit 1; }
	cd $(OIDC_DIR) && npm ci --no-audit --no-fund --loglevel=error

# axe-core, injected into every page by the accessibility sweep (tests/e2e/test_accessibility_sweep.py).
A11Y_DIR := tests/a11y
$(A11Y_DIR)/node_modules/.package-lock.json: $(A11Y_DIR)/package.json $(A11Y_DIR)/package-lock.json
	cd $(A11Y_DIR) && npm ci --no-audit --no-fund --loglevel=error

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev $(OIDC_DIR)/node_modules/.package-lock.json $(A11Y_DIR)/node_modules/.package-lock.json

run: install
	@db="$${DATABASE_URL:-SQLite in instance/}"; \
	 if [ -n "$$REDIS_URL" ]; then echo "mode: $$db + Redis at $$REDIS_URL — web, RQ worker and scheduler (honcho, Procfile.dev)"; \
	 else echo "mode: embedded default — $$db, jobs in-process, cache and limits in memory, mail at http://127.0.0.1:$${PORT:-5000}/dev/mail"; fi
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@# Several processes (honcho gives each its own PORT): they all learn the web's origin from BASE_URL.
	@if [ -n "$$REDIS_URL" ]; then BASE_URL="$${BASE_URL:-http://127.0.0.1:$${PORT:-5000}}" \
	   PATH="$(CURDIR)/$(BIN):$$PATH" exec $(BIN)/honcho start -f Procfile.dev; \
	 else exec $(BIN)/flask run --host 127.0.0.1 --port $${PORT:-5000}; fi

# Zero findings on the whole tree, or the suite does not start.
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -n auto --maxprocesses 4 $(PYTEST_ARGS)

smoke: install
	$(BIN)/python scripts/smoke_embedded.py

vendor:
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent htmx.org@$(HTMX_VERSION) >/dev/null && tar xzf htmx.org-$(HTMX_VERSION).tgz && \
	 cp package/dist/htmx.min.js $(CURDIR)/static/vendor/htmx-$(HTMX_VERSION).min.js && rm -rf $$tmp
	@echo "static/vendor/htmx-$(HTMX_VERSION).min.js refreshed from the npm registry"
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent @simplewebauthn/browser@$(SIMPLEWEBAUTHN_VERSION) >/dev/null && \
	 tar xzf simplewebauthn-browser-$(SIMPLEWEBAUTHN_VERSION).tgz && \
	 cp package/dist/bundle/index.umd.min.js $(CURDIR)/static/vendor/simplewebauthn-browser-$(SIMPLEWEBAUTHN_VERSION).umd.min.js && rm -rf $$tmp
	@echo "static/vendor/simplewebauthn-browser-$(SIMPLEWEBAUTHN_VERSION).umd.min.js refreshed from the npm registry"
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && \
	 tar xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz && \
	 cp package/swagger-ui-bundle.js $(CURDIR)/static/vendor/swagger-ui-bundle-$(SWAGGER_UI_VERSION).js && \
	 cp package/swagger-ui.css $(CURDIR)/static/vendor/swagger-ui-$(SWAGGER_UI_VERSION).css && \
	 cp package/LICENSE $(CURDIR)/static/vendor/swagger-ui-LICENSE.txt && rm -rf $$tmp
	@echo "static/vendor/swagger-ui-*-$(SWAGGER_UI_VERSION) (the /api/docs page) refreshed from the npm registry"

migration: install
	@test -n "$(m)" || { echo 'usage: make migration m="what changed"'; exit 1; }
	$(BIN)/flask db migrate -m "$(m)"

db-upgrade: install
	$(BIN)/flask db upgrade

worker: install
	$(BIN)/flask worker

scheduler: install
	$(BIN)/flask scheduler

bench: install-dev
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) instance/*.db tests/artifacts $(OIDC_DIR)/node_modules $(A11Y_DIR)/node_modules
