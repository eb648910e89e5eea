# Beitrag: `make run` starts the app with demo data on the embedded defaults; `make test` runs the tests.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app app
# The embedded defaults are development defaults; production sets BEITRAG_ENV=production (the default).
DEV_ENV := BEITRAG_ENV=development

.PHONY: run test test-fast e2e lint install translations messages demo clean help

help:
	@echo "make run     start web server, worker, clock and mail capture on http://127.0.0.1:$(PORT) with demo data"
	@echo "make test    run the test suite (browser journeys included)"
	@echo "make test-fast  the inner loop: every test but the slow ones (real processes, faults, browser, 50 MB import)"
	@echo "make e2e     run only the browser journeys (Playwright + /usr/bin/chromium; screenshots in E2E_ARTIFACTS)"
	@echo "make lint    ruff, and lint-imports for the dependency rule (README, Layout)"
	@echo "make messages  extract translatable strings and update the catalogues"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed translations

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile -d newsletter/translations >/dev/null

messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F newsletter/translations/babel.cfg -k _l -k lazy_gettext -o newsletter/translations/messages.pot app.py newsletter payments templates templates/email/_partials
	$(BIN)/pybabel update -N -i newsletter/translations/messages.pot -d newsletter/translations

run: install
	@$(DEV_ENV) $(FLASK) db upgrade
	@$(DEV_ENV) $(FLASK) demo status >/dev/null 2>&1 || $(DEV_ENV) $(FLASK) demo load
	@$(DEV_ENV) PORT=$(PORT) $(FLASK) dev run

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

# The browser journeys alone: the app under gunicorn with a worker and the clock, driven by Debian's chromium.
e2e: install
	$(BIN)/pytest -m e2e tests/e2e $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
