# Quanyu: two commands for a newcomer, `make demo` and `make test`; the rest is for daily work.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export QUANYU_HOME ?= $(CURDIR)/var
export DAGSTER_HOME ?= $(QUANYU_HOME)/dagster_home

.PHONY: setup setup-spark setup-bi setup-metrics manifest demo test test-spark test-bi test-launched test-alerts test-rekey test-nightly test-incremental bi lint lint-sql dev bench clean
BENCH_MEMBERS ?= 100000 1000000
# pytest-xdist workers of make test (one per core of the 2-core machine it is sized for)
TEST_WORKERS ?= 2

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

## Optional: dbt-spark and PySpark for building the project on Apache Spark (needs Java 17).
setup-spark: $(VENV)/.installed-spark

$(VENV)/.installed-spark: $(VENV)/.installed requirements-spark.txt
	@version=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1); \
	if [ -z "$$version" ] || [ "$$version" -lt 17 ]; then \
		echo "Spark needs Java 17 or newer (found: $${version:-none})."; \
		echo "On Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless   (or default-jre-headless)"; \
		exit 1; \
	fi
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-spark.txt
	touch $@

## MetricFlow (`mf`, the dbt semantic layer's CLI: docs/metrics.md) in its own environment: dbt-metricflow
## pins dbt-core and dbt-semantic-interfaces itself. Small (installs in ~15-55 s); `make test` uses it to
## validate the semantic layer and query its metrics against the marts (tests/semantic/test_metricflow.py).
VENV_METRICS := .venv-metrics

setup-metrics: $(VENV_METRICS)/.installed

$(VENV_METRICS)/.installed: requirements-metrics.txt
	$(PYTHON) -m venv $(VENV_METRICS)
	$(VENV_METRICS)/bin/pip install --quiet --disable-pip-version-check -r requirements-metrics.txt
	touch $@

## Optional: Apache Superset in its own environment (.venv-bi: its pins disagree with Dagster's), and
## Debian's Chromium (plus a CJK font) for the browser test and screenshots, installed only where missing
## and only as root with apt (elsewhere it says what to install).
VENV_BI := .venv-bi
BIN_BI  := $(VENV_BI)/bin
SUPERSET_ENV := SUPERSET_CONFIG_PATH=$(CURDIR)/bi/superset_config.py FLASK_APP=superset
SUPERSET_HOME := $(QUANYU_HOME)/superset
BI_PORT ?= 8088

setup-bi: $(VENV_BI)/.installed

$(VENV_BI)/.installed: requirements-bi.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version'
	$(PYTHON) -m venv $(VENV_BI)
	$(BIN_BI)/pip install --quiet --disable-pip-version-check -r requirements-bi.txt
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi -e wqy -e cjk; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei; \
		else \
			echo "The browser test needs Debian's chromium and a CJK font: sudo apt-get install -y chromium fonts-wqy-microhei"; \
		fi; \
	fi
	touch $@

## Superset's metadata database and roles, once per Superset version (superset init takes ~45 s).
$(SUPERSET_HOME)/.initialized: $(VENV_BI)/.installed
	mkdir -p $(SUPERSET_HOME)
	$(SUPERSET_ENV) $(BIN_BI)/superset db upgrade
	$(SUPERSET_ENV) $(BIN_BI)/superset init
	touch $@

## Superset on http://localhost:8088 over the published warehouse (read-only) with the six dashboards
## of bi/assets imported again (idempotent). Run `make demo` first. Log in as admin / $QUANYU_SUPERSET_PASSWORD
## (default admin, for the demo only).
bi: $(SUPERSET_HOME)/.initialized
	$(SUPERSET_ENV) $(BIN_BI)/python -m bi.provision
	@echo "Superset: http://localhost:$(BI_PORT)/superset/dashboard/overview/ (Ctrl-C stops it)"
	$(SUPERSET_ENV) $(BIN_BI)/gunicorn --workers 1 --threads 8 --timeout 120 --bind 127.0.0.1:$(BI_PORT) \
		--access-logfile - "superset.app:create_app()"

## The BI group: builds the demo, provisions a private Superset, runs every chart's query through its API
## and opens the overview dashboard in headless Chromium.
test-bi: setup setup-bi
	$(BIN)/python -m pytest -q -m bi tests/bi

## Parse the dbt project into dbt_project/target/manifest.json with dagster-dbt's preparer
## (what a deployment runs when it is built; `make demo`, `make test` and `make dev` do it themselves).
manifest: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster-dbt project prepare-and-package --file orchestration/dbt_assets.py

## Generate the demo brand, run ingest + dbt through Dagster, print row counts per layer.
demo: setup
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m orchestration.demo

## The whole test suite (real dbt, Dagster and DuckDB on small generated data), in two pytest-xdist workers
## (a test file stays in one worker; the costliest files are handed out first: tests/conftest.py FIRST).
test: setup setup-metrics
	$(BIN)/python -m pytest -q --durations=25 -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

## The Spark group only: builds the project on DuckDB and on Spark and compares every table.
test-spark: setup-spark
	$(BIN)/python -m pytest -q -m spark tests/spark

## The launched group: a Dagster daemon and code server launch build_all and a UI-style backfill together;
## the writer pool runs them one after the other and both succeed (~8 min).
test-launched: setup
	$(BIN)/python -m pytest -q -m launched tests/orchestration

## KPI alerts end to end: a churn spike in the exports, build_all, the failed non-blocking check and the
## dry-run notice (~3 minutes beyond the session build; tests/orchestration/test_kpi_alerts_build.py).
test-alerts: setup
	$(BIN)/python -m pytest -q -m alerts tests/orchestration

## Key rotation end to end: the re-key of a built installation (killed in its swap and rerun; after an
## erasure) and the builds after it (~8 min; tests/privacy/test_key_rotation.py). CI runs it after make test.
test-rekey: setup
	$(BIN)/python -m pytest -q -m rekey tests/privacy

## Nightly deltas alone: tests/orchestration/test_nightly.py (three nights, one refused for a garbled export,
## one build killed while dbt runs, then a full refresh equal to the nights exactly, one_ids included, and a
## rebuild from nothing of the same landing; ~8-10 min with the session build). make test runs it too, its
## builds in a process of their own beside the rest (tests/orchestration/nightly_chain.py).
## QUANYU_TEST_NIGHTS=6 make test-nightly is the deeper run (three more nights).
QUANYU_TEST_NIGHTS ?= 3
test-nightly: setup
	QUANYU_TEST_NIGHTS=$(QUANYU_TEST_NIGHTS) $(BIN)/python -m pytest -q -m nightly --durations=10 tests/orchestration/test_nightly.py

## Staging incremental by load: three nights of loads (later months, a corrected report, files taken out of
## the lake) staged incrementally equal a --full-refresh build (~2.5-7 min; tests/orchestration/test_incremental_staging.py). CI runs it
## after test-rekey.
test-incremental: setup
	$(BIN)/python -m pytest -q -m incremental tests/orchestration/test_incremental_staging.py

## Style is configuration: ruff (pyproject.toml) over the Python, sqlfluff (.sqlfluff) over the dbt SQL.
lint: setup lint-sql
	$(BIN)/ruff check .

lint-sql: setup
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros

## Open the Dagster UI on http://127.0.0.1:3000 with the demo's runs and the nightly schedule.
dev: setup
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -c 'from orchestration.demo import prepare_dagster_home; prepare_dagster_home()'
	$(BIN)/dagster dev -w workspace.yaml

## Per-stage wall time, peak memory and rows/s at several brand sizes; OneID vs union-find.
bench: setup
	$(BIN)/python -m bench.run --members $(BENCH_MEMBERS) --out $(QUANYU_HOME)/bench

clean:
	rm -rf var dbt_project/target dbt_project/logs
