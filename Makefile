# Set-up and checks. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint run bench clean pg-up pg-down

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the project's metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/python -m ruff check src tests benchmarks
	$(BIN)/python -m ruff format --check src tests benchmarks
	$(BIN)/python -m mypy

# The main job: every domain over the bundled samples (data/samples) into data/wdh.db.
run: install
	$(BIN)/wdh-etl --all-domains

# Speed and memory against the baselines; writes benchmarks/RESULTS.md (~18 min idle).
bench: install
	$(BIN)/python -m benchmarks.run

# A throwaway PostgreSQL server (data in a temp dir, loopback, trust auth, fsync off):
# prints its URL; run the PostgreSQL test cases with WDH_TEST_PG_URL=<url> make test.
pg-up:
	@scripts/pg up

pg-down:
	@scripts/pg down

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
