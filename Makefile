# KetaClinic developer commands. `make run` serves the demo clinic; `make test` runs every check CI runs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The demo runs with production settings (DEBUG off) over plain HTTP on the loopback address.
RUN_ENV = PATH="$(CURDIR)/$(BIN):$$PATH" DEBUG=0 HTTPS=0 SECRET_KEY="$$(cat var/secret_key)" DJANGO_SETTINGS_MODULE=ketaclinic.settings
TEST_ENV = DJANGO_SETTINGS_MODULE=ketaclinic.settings_test

.PHONY: install run test test-sqlite test-postgres lint demo-data lock bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	@echo "Installing KetaClinic and its pinned dependencies into $(VENV)…"
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

install: $(STAMP)

var/secret_key:
	@mkdir -p var
	@$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	@chmod 600 $@

run: install var/secret_key
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(RUN_ENV) $(BIN)/python manage.py seed_demo
	@echo "Serving the demo clinic on http://127.0.0.1:8000 — press Ctrl-C to stop."
	$(RUN_ENV) $(BIN)/honcho start --procfile Procfile

demo-data: install var/secret_key
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py seed_demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(TEST_ENV) $(BIN)/mypy ketaclinic
	$(TEST_ENV) $(BIN)/mypy --strict ketaclinic/clinical --exclude "ketaclinic/clinical/tests/"
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(BIN)/python -m ketaclinic.clinical docs --check

# SQLite always; PostgreSQL as well when DATABASE_URL points at one (CI sets it).
test: lint test-sqlite
	@if [[ "$${DATABASE_URL:-}" == postgres* ]]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "DATABASE_URL is not a PostgreSQL URL: the PostgreSQL pass was skipped (CI runs it)."; fi

test-sqlite: install
	env -u DATABASE_URL $(TEST_ENV) $(BIN)/pytest --cov --cov-report=term --cov-fail-under=90
	$(BIN)/coverage report --include='ketaclinic/clinical/*' --omit='ketaclinic/clinical/tests/*' --fail-under=100 --skip-covered

test-postgres: install
	@echo "== PostgreSQL pass: $${DATABASE_URL%%@*}@…"
	$(TEST_ENV) $(BIN)/pytest -p no:cacheprovider

docs: install
	$(TEST_ENV) $(BIN)/python -m ketaclinic.clinical docs

bench: install
	@ls bench/*.py >/dev/null 2>&1 && for b in bench/*.py; do $(TEST_ENV) $(BIN)/python $$b; done || echo "No benchmarks yet."

# Re-pin every dependency after changing pyproject.toml: `make lock`.
lock: | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip freeze --exclude-editable | grep -v '^ketaclinic' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
