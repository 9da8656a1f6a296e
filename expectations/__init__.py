"""Data-quality gates: Great Expectations (GX Core 1.x) suites for every raw table and every mart.

* ``checks.py``: the gate checks (each one Dagster asset check), blocking or warning;
* ``rules.yml`` / ``rules.py``: what contracts and dbt tests cannot say (code lists from the
  dbt seeds, signed amounts, freshness windows);
* ``raw.py``: raw suites generated from the channel contracts, per-file gating, rejection;
* ``marts.py``: mart suites generated from the warehouse schema and the dbt manifest;
* ``gx_runner.py``: running suites on pandas frames, results and Data Docs in ``$QUANYU_HOME/gx``.

``python -m expectations`` prints the generated suites; ``python -m expectations --docs``
rebuilds the Data Docs and prints where they are. Dagster wiring: orchestration/gates.py.
"""
