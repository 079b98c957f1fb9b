# daiban: `make run` starts the platform with a demo, `make test` runs the whole suite.
# Both create .venv when it is missing or older than pyproject.toml.

# Python 3.11, 3.12 or 3.13: the oldest found on PATH (or pyenv's), else python3; make PYTHON=... to choose.
find_python = $(shell for p in $(foreach v,$(1),python$(v) $(wildcard $(HOME)/.pyenv/versions/$(v).*/bin/python$(v))); do \
  $$p -c '' >/dev/null 2>&1 && { command -v $$p; break; }; done)
PYTHON ?= $(or $(call find_python,3.11 3.12 3.13),python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The newest supported Python, for `make test-py313` (its own virtualenv).
PYTHON_NEWEST ?= $(or $(call find_python,3.13),python3.13)
VENV_NEWEST   := .venv-py313

.PHONY: run test test-py313 test-dates worker lint faults browser histories bench clean-state help

help:
	@echo "make run    - Temporal dev server + UI, PostgreSQL, worker and demo projects (Ctrl-C stops)"
	@echo "make test   - the whole test suite against real Temporal and PostgreSQL servers"
	@echo "make worker - only the worker (needs Temporal and DATABASE_URL)"
	@echo "make test-py313 - the suite on Python 3.13 (CI runs both; own virtualenv .venv-py313)"
	@echo "make test-dates - the time-skipping tests as if run on other days (TEST_DATES='12-24 2027-09-24 ...')"
	@echo "make lint   - ruff (check and format), mypy strict over code and tests, import layers"
	@echo "make browser - the dashboard and /docs in headless Chromium (Debian package chromium)"
	@echo "make histories - record fresh replay histories (tests/replay/histories) with this release's code"
	@echo "make bench  - daiban's full lifecycle against a raw Temporal baseline (BENCH_ARGS='--reps 1 --lifecycles 4 --open-projects 200')"
	@echo "make faults - the fault suite: projects driven to production while workers, Temporal and PostgreSQL are killed"
	@echo "make simulate - a zone's year from a seeded scenario on a time-skipping server; report and charts in .daiban/simulate"

# $(call venv,PYTHON,VENV): create VENV with PYTHON (3.11 to 3.13) and install daiban into it.
define venv
	@$(1) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null || { \
	  echo "daiban: $(1) is not Python 3.11, 3.12 or 3.13; install one or run make PYTHON=/path/to/python3.x"; exit 2; }
	@test -x $(2)/bin/python || $(1) -m venv $(2)
	$(2)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(2)/.installed
endef

$(STAMP): pyproject.toml
	$(call venv,$(PYTHON),$(VENV))

$(VENV_NEWEST)/.installed: pyproject.toml
	$(call venv,$(PYTHON_NEWEST),$(VENV_NEWEST))

run: $(STAMP)
	$(BIN)/python -m infra.devstack

worker: $(STAMP)
	$(BIN)/python worker.py

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-py313: $(VENV_NEWEST)/.installed
	$(VENV_NEWEST)/bin/python -m pytest $(PYTEST_ARGS)

# The next of each day (MM-DD) or a date (YYYY-MM-DD): deadlines that cross into a year without a
# notice, Spring Festival and National Day in such a year; then the first again with the next year's
# notice stored (as the CLI's test leaves one in the session's database).
TEST_DATES ?= 12-24 01-25 09-24
test-dates: $(STAMP)
	@for d in $(TEST_DATES); do \
	  echo "test-dates: the time-skipping tests on the next $$d"; \
	  DAIBAN_TEST_SERVER_DATE=$$d $(BIN)/python -m pytest -q tests || exit 1; \
	done; \
	echo "test-dates: on the next $(firstword $(TEST_DATES)) with the next year's notice loaded"; \
	DAIBAN_TEST_SERVER_DATE=$(firstword $(TEST_DATES)) DAIBAN_TEST_NOTICES_AHEAD=1 $(BIN)/python -m pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

# tests/browser: Playwright drives the distribution's Chromium (never a downloaded browser build).
browser: $(STAMP)
	@command -v $${DAIBAN_CHROMIUM:-chromium} >/dev/null 2>&1 || { echo "make browser: no chromium; run apt-get install -y chromium (or set DAIBAN_CHROMIUM)"; exit 2; }
	$(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

faults: $(STAMP)
	$(BIN)/python -m tests.faults $(FAULTS_ARGS)

# A zone's year (benchmarks/simulate.py), e.g. make simulate SIMULATE_ARGS="--projects 10 --seed 7 --zone tunliu".
.PHONY: simulate
simulate: $(STAMP)
	$(BIN)/python -m benchmarks.simulate $(SIMULATE_ARGS)

# daiban against a raw Temporal baseline, its own dev server and PostgreSQL (benchmarks/bench.py; --help).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

# Fresh replay histories from the current code (keep the old ones under a suffix: tests/replay/test_replay.py).
histories: $(STAMP)
	DAIBAN_RECORD_HISTORIES=1 $(BIN)/python -m pytest tests/replay -k record $(PYTEST_ARGS)

clean-state:
	rm -rf .daiban
