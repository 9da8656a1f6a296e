# Quanyu: two commands for a newcomer, `make demo` and `make test`; the rest is for daily work.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export QUANYU_HOME ?= $(CURDIR)/var
export DAGSTER_HOME ?= $(QUANYU_HOME)/dagster_home

.PHONY: setup setup-spark manifest demo test test-spark lint lint-sql dev bench clean
BENCH_MEMBERS ?= 100000 1000000

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

## Parse the dbt project into dbt_project/target/manifest.json with dagster-dbt's preparer
## (what a deployment runs when it is built; `make demo`, `make test` and `make dev` do it themselves).
manifest: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dagster-dbt project prepare-and-package --file orchestration/dbt_assets.py

## Generate the demo brand, run ingest + dbt through Dagster, print row counts per layer.
demo: setup
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m orchestration.demo

## The whole test suite (real dbt, Dagster and DuckDB on small generated data).
test: setup
	$(BIN)/python -m pytest -q

## The Spark group only: builds the project on DuckDB and on Spark and compares every table.
test-spark: setup-spark
	$(BIN)/python -m pytest -q -m spark tests/spark

## Style is configuration: ruff (pyproject.toml) over the Python, sqlfluff (.sqlfluff) over the dbt SQL.
lint: setup lint-sql
	$(BIN)/ruff check .

lint-sql: setup
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros

## Open the Dagster UI on http://127.0.0.1:3000 with the demo's runs and the nightly schedule.
dev: setup
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -w workspace.yaml

## Per-stage wall time, peak memory and rows/s at several brand sizes; OneID vs union-find.
bench: setup
	$(BIN)/python -m bench.run --members $(BENCH_MEMBERS) --out $(QUANYU_HOME)/bench

clean:
	rm -rf var dbt_project/target dbt_project/logs
