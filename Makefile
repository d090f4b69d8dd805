# Ossa — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test install migrate seed lint bench clean screenshots

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

# First run only: the demo clinic, its staff and patients (seed_demo is idempotent anyway).
var/.seeded: | migrate
	$(BIN)/python manage.py seed_demo --patients 40
	touch var/.seeded

seed: var/.seeded

## Start web + Celery worker + beat on SQLite and the file broker under var/. Ctrl-C stops all.
run: export DJANGO_DEBUG ?= 1
run: export OSSA_PORT := $(PORT)
run: migrate var/.seeded
	@# Tonight's scan, now: the first sign-in sees a full worklist, not one filling over minutes.
	@$(BIN)/python manage.py scan_reminders > var/last_scan.json
	@echo ""
	@echo "  Reminders up to date (scan summary in var/last_scan.json)"
	@echo "  Ossa is starting on http://127.0.0.1:$(PORT)/"
	@echo "  Sign in as clinician, nurse or admin (clinic 'demo'), other_clinician (clinic 'other')"
	@echo "  Password: $$(cat var/demo_password 2>/dev/null || echo 'as set with seed_demo --password')"
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

## The whole suite; on SQLite and the file broker unless DATABASE_URL / CELERY_BROKER_URL say otherwise.
test: install
	$(BIN)/pytest -n 2 --dist loadfile

## Refresh the README's screenshots in docs/screenshots (the browser journeys take them).
screenshots: install
	OSSA_UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/engine.py

clean:
	rm -rf var .pytest_cache
