# `make run` serves the demo site; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 3

.PHONY: run test serve install install-test secret lint format check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	touch $@ $(VENV)/.installed-run

# axe-core (npm registry) for the accessibility browser tests; they skip without it,
# except in CI where .ci/run makes sure npm is there.
AXE := $(VENV)/node/node_modules/axe-core/axe.min.js
AXE_VERSION := 4.14.1

$(AXE): | $(BIN)/python
	@if command -v npm >/dev/null 2>&1; then \
		npm install --no-save --no-audit --no-fund --no-package-lock --silent \
			--prefix $(VENV)/node axe-core@$(AXE_VERSION); \
	else echo "npm not found: the accessibility browser tests will skip"; fi

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test $(AXE)

# A local key, kept out of git (.gitignore); SECRET_KEY in the environment wins.
.secret_key: | $(BIN)/python
	@umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > $@

secret: .secret_key

run: install .secret_key
	$(MANAGE) migrate --noinput
	$(MANAGE) createcachetable
	$(MANAGE) load_demo_content --if-empty
	$(MANAGE) collectstatic --noinput -v0
	$(MAKE) serve

serve:
	$(BIN)/gunicorn helpcentre.wsgi --bind $(HOST):$(PORT) --workers $(WORKERS) --access-logfile -

test: install-test
	$(BIN)/pytest

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=helpcentre.settings.test

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
