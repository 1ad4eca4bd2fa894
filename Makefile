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

# Test tools from the npm registry, under .venv/node: axe-core for the accessibility
# browser tests, vnu.jar (the W3C Nu Html Checker, run with Java 17+) for
# tests/test_nu_validator.py. Those tests skip without them, except in CI, where
# .ci/run makes sure npm and Java are there. One npm call installs both: npm removes
# from the folder any package that a later call does not name. The versions are in
# the stamp's name, so changing one installs again.
AXE_VERSION := 4.14.1
VNU_VERSION := 26.9.27
NODE_TOOLS := $(VENV)/node/.installed-axe-core-$(AXE_VERSION)-vnu-jar-$(VNU_VERSION)

$(NODE_TOOLS): | $(BIN)/python
	@if command -v npm >/dev/null 2>&1; then \
		npm install --no-save --no-audit --no-fund --no-package-lock --silent \
			--prefix $(VENV)/node axe-core@$(AXE_VERSION) vnu-jar@$(VNU_VERSION) \
		&& touch $@; \
	else echo "npm not found: the accessibility and HTML validation tests will skip"; fi

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test $(NODE_TOOLS)

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
