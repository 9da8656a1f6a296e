# Quanyu: two commands for a newcomer, `make demo` and `make test`; the rest is for daily work.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export QUANYU_HOME ?= $(CURDIR)/var
export DAGSTER_HOME ?= $(QUANYU_HOME)/dagster_home

.PHONY: setup demo test dev bench clean
BENCH_MEMBERS ?= 100000 1000000

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

## Generate the demo brand, run ingest + dbt through Dagster, print row counts per layer.
demo: setup
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m orchestration.demo

## The whole test suite (real dbt, Dagster and DuckDB on small generated data).
test: setup
	$(BIN)/python -m pytest -q

## Open the Dagster UI on http://127.0.0.1:3000 with the demo's runs and the nightly schedule.
dev: setup
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -w workspace.yaml

## Per-stage wall time, peak memory and rows/s at several brand sizes; OneID vs union-find.
bench: setup
	$(BIN)/python -m bench.run --members $(BENCH_MEMBERS) --out $(QUANYU_HOME)/bench

clean:
	rm -rf var dbt_project/target dbt_project/logs
