# daiban: `make run` starts the platform with a demo, `make test` runs the whole suite.
# Both create .venv when it is missing or older than pyproject.toml.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test worker lint faults histories clean-state help

help:
	@echo "make run    - Temporal dev server + UI, PostgreSQL, worker and demo projects (Ctrl-C stops)"
	@echo "make test   - the whole test suite against real Temporal and PostgreSQL servers"
	@echo "make worker - only the worker (needs Temporal and DATABASE_URL)"
	@echo "make lint   - ruff (check and format), mypy strict over code and tests, import layers"
	@echo "make histories - record fresh replay histories (tests/replay/histories) with this release's code"
	@echo "make faults - the fault suite: projects driven to production while workers, Temporal and PostgreSQL are killed"

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "daiban: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m infra.devstack

worker: $(STAMP)
	$(BIN)/python worker.py

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

faults: $(STAMP)
	$(BIN)/python -m tests.faults $(FAULTS_ARGS)

# Fresh replay histories from the current code (keep the old ones under a suffix: tests/replay/test_replay.py).
histories: $(STAMP)
	DAIBAN_RECORD_HISTORIES=1 $(BIN)/python -m pytest tests/replay -k record $(PYTEST_ARGS)

clean-state:
	rm -rf .daiban
