# `make run` serves the demo site; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 3

.PHONY: run test serve install install-test secret lint format check lock lock-upgrade messages cluster

# Pinned installs. pyproject.toml keeps the compatible ranges; the locks pin one version
# of every package with the hashes of all its files (any platform, Python 3.11+):
# requirements.lock for `make run`, requirements-test.lock for `make test` (the same pins
# plus the [test] extra). Both also pin pip and setuptools (pyproject's build backend).
# pip installs a lock in hash-checking mode, then the project itself, editable, with no
# index and no build isolation: nothing unpinned can come in, and if pyproject.toml asks
# for a package the lock lacks, the install stops (run `make lock`). Editing a lock or
# pyproject.toml installs again.
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
define install_locked
	$(BIN)/python -m pip install -q --require-hashes -r $(1)
	$(BIN)/python -m pip install -q --no-index --no-build-isolation -e ".$(2)" \
		|| { echo "If a package is missing above, $(1) is older than pyproject.toml: make lock" >&2; exit 1; }
	$(BIN)/python -m pip check
endef

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: $(LOCK) pyproject.toml | $(BIN)/python
	$(call install_locked,$(LOCK))
	touch $@

$(VENV)/.installed-test: $(TEST_LOCK) pyproject.toml | $(BIN)/python
	$(call install_locked,$(TEST_LOCK),[test])
	touch $@ $(VENV)/.installed-run

# `make lock` resolves both locks again from pyproject.toml after a change there,
# keeping every current pin that still fits; `make lock-upgrade` takes the newest
# versions the ranges allow. Only these two targets use uv (pinned here, installed under
# .venv); it resolves from PyPI (or UV_DEFAULT_INDEX) for every platform and Python 3.11+.
UV_VERSION := 0.13.9
UV := $(VENV)/uv-$(UV_VERSION)/bin/uv
# Extra lock input on stdin: pyproject's build-system requirements, and pip.
LOCK_INPUT := $(BIN)/python -c 'import tomllib; \
	print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], "pip", sep="\n")'
UV_COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(LOCK_FLAGS) pyproject.toml -

$(UV): | $(BIN)/python
	$(BIN)/python -m pip install -q --target $(VENV)/uv-$(UV_VERSION) uv==$(UV_VERSION)

lock: | $(UV)
	$(LOCK_INPUT) | $(UV_COMPILE) -o $(LOCK)
	$(LOCK_INPUT) | $(UV_COMPILE) --extra test -c $(LOCK) -o $(TEST_LOCK)

lock-upgrade:
	$(MAKE) lock LOCK_FLAGS=--upgrade

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

# `make cluster`: two gunicorn nodes sharing PostgreSQL and Redis behind Varnish, on
# loopback (http://127.0.0.1:6081/en/); `deploy/cluster.sh status|stop` afterwards.
# Needs varnish and varnish-modules (apt-get). See deploy/cluster.sh for its settings.
cluster: install
	bash deploy/cluster.sh start

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=helpcentre.settings.test

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# `make messages` extracts the interface's strings again (templates and Python) into
# locale/<language>/LC_MESSAGES/django.po, keeping the translations there, and compiles
# each django.mo. Both files are committed, so running the site needs no gettext; this
# target does: GNU gettext is a developer-only tool (apt-get install gettext). Translate
# every new or changed entry (no empty msgstr, no "#, fuzzy") before committing:
# tests/test_interface_language.py checks. A new language: add it to LANGUAGES, then
# `$(MANAGE) makemessages -l <locale>` once (zh-hans is zh_Hans) before this target.
MESSAGES_IGNORE := --ignore=.venv --ignore=node_modules --ignore=staticfiles --ignore=tests --ignore=bench

messages: install
	@command -v msgfmt >/dev/null 2>&1 || { \
		echo "make messages needs GNU gettext (a developer tool): apt-get install gettext" >&2; exit 1; }
	$(MANAGE) makemessages --all --no-obsolete $(MESSAGES_IGNORE)
	$(MANAGE) compilemessages $(MESSAGES_IGNORE)
