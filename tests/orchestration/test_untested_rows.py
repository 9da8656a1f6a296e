"""The uniqueness tests of a table with a change log read only the keys of rows they have not passed on
(dbt_project/macros/tests/untested_rows.sql; orchestration/publish.py uniqueness_test_fingerprints).

The project's macro and hooks run through dbt on DuckDB in a throwaway project: ``facts`` stands in
for an order chain model (delete+insert on ``k``, each row stamped with ``_build_id``); its yml
documents ``_build_id`` and holds a unique test on the key, one on another column (``code``, which a
new row may share with an old one), one with severity warn and a not_null. The fingerprints are
computed from the parsed manifest and written into the file as prepare_build does. The nights:

1. built in full: every test reads every row, the two uniqueness tests record the build;
2. a new row shares an old row's ``code``: the test of ``code`` reads the night's keys with every row
   holding them, so it fails (and records nothing); the key's test passes and records both builds;
3. a duplicate planted among rows the test passed on, outside dbt (which no build does): the
   restricted test does not read them and passes; once the test's fingerprint changes (its code,
   macros or model changed) it reads every row again and fails. A `dbt test` by hand reads every row.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration import publish
from orchestration.dbt_assets import DBT_PROJECT_DIR, dbt_executable
from tests.identity.macro_project import database, execute, model_project

MACROS = [DBT_PROJECT_DIR / "macros" / "tests" / "untested_rows.sql",
          DBT_PROJECT_DIR / "macros" / "tests" / "unique_combination_of_columns.sql"]

FACTS = """{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='k') }}
select k, code, part, '{{ invocation_id }}' as _build_id
from main.src
{% if is_incremental() %}where k in (select k from main.touched){% endif %}
"""

SCHEMA = {"version": 2, "models": [{
    "name": "facts",
    "data_tests": [{"unique_combination_of_columns": {"arguments": {"combination_of_columns": ["part", "code"]}}}],
    "columns": [
        {"name": "k", "data_tests": ["unique", "not_null"]},
        {"name": "code", "data_tests": ["unique"]},
        {"name": "part", "data_tests": [{"unique": {"config": {"severity": "warn"}}}]},
        {"name": "_build_id"}]}]}


def _project(folder: Path) -> Path:
    project = model_project(folder, MACROS, [], {})
    (project / "models" / "facts.sql").write_text(FACTS)
    (project / "models" / "facts.yml").write_text(yaml.safe_dump(SCHEMA))
    settings = yaml.safe_load((project / "dbt_project.yml").read_text())
    real = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    settings.update({"dispatch": real["dispatch"],
                     "on-run-end": [hook for hook in real["on-run-end"] if "record_tests_passed" in hook]})
    (project / "dbt_project.yml").write_text(yaml.safe_dump(settings))
    return project


def _dbt(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([dbt_executable(), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
                          cwd=project, capture_output=True, text=True, timeout=300)


def _load(project: Path, rows: list[tuple[int, str, int]], touched: set[int]) -> None:
    with duckdb.connect(str(database(project))) as con:
        con.execute("create or replace table main.src (k bigint, code varchar, part bigint)")
        con.executemany("insert into main.src values (?, ?, ?)", rows)
        con.execute("create or replace table main.touched (k bigint)")
        con.executemany("insert into main.touched values (?)", [(k,) for k in sorted(touched)])


def _build(project: Path) -> dict:
    """`dbt build`; returns the run's invocation id, each test's status, and its compiled SQL."""
    _dbt(project, "build")
    results = json.loads((project / "target" / "run_results.json").read_text(encoding="utf-8"))
    tests = {r["unique_id"].split(".")[2]: r for r in results["results"] if r["unique_id"].startswith("test.")}
    return {"invocation": results["metadata"]["invocation_id"],
            "status": {name: r["status"] for name, r in tests.items()},
            "sql": {name: r["compiled_code"] for name, r in tests.items()}}


def _recorded(project: Path) -> set[tuple[str, str]]:
    with duckdb.connect(str(database(project)), read_only=True) as con:
        rows = con.execute("select test_id, build_id from meta.tests_passed").fetchall()
    return {(test_id.split(".")[2], build) for test_id, build in rows}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    project = _project(tmp_path_factory.mktemp("untested_rows") / "project")
    assert _dbt(project, "parse").returncode == 0
    manifest = json.loads((project / "target" / "manifest.json").read_text(encoding="utf-8"))
    fingerprints = publish.uniqueness_test_fingerprints(manifest)
    publish.write_test_fingerprints(database(project), fingerprints)
    record = {"fingerprinted": {uid.split(".")[2] for uid in fingerprints}}

    rows = [(k, f"c{k}", k) for k in range(1, 21)]
    _load(project, rows, {k for k, *_ in rows})
    record["first"] = _build(project)
    record["recorded_first"] = _recorded(project)

    # night 2: a new key whose code an old row (k 5) already has
    _load(project, rows + [(21, "c5", 21)], {21})
    record["second"] = _build(project)
    record["recorded_second"] = _recorded(project)

    # night 3: the night's duplicate fixed; a duplicate planted in rows the tests passed on
    _load(project, rows + [(21, "c21", 21)], {21})
    execute(project, "update main.facts set code = 'c8' where k = 7")
    record["third"] = _build(project)
    assert _dbt(project, "test", "--select", "unique_facts_code").returncode == 1  # by hand: every row
    execute(project, "update meta.test_fingerprints set fingerprint = 'a changed test' "
                     "where test_id like 'test.quanyu.unique_facts_code.%'")
    record["changed"] = _build(project)
    return record


def test_only_the_error_uniqueness_tests_of_a_change_log_table_are_fingerprinted(nights):
    assert nights["fingerprinted"] == {"unique_facts_k", "unique_facts_code", "unique_facts_part",
                                       "unique_combination_of_columns_facts_part__code"}


def test_the_first_build_reads_every_row_and_records_its_build(nights):
    first = nights["first"]
    assert set(first["status"].values()) == {"pass"}
    assert "_build_id" in first["sql"]["unique_facts_k"]  # the filter, with nothing recorded yet
    assert nights["recorded_first"] == {(name, first["invocation"]) for name in (
        "unique_facts_k", "unique_facts_code", "unique_combination_of_columns_facts_part__code")}


def test_warnings_and_row_tests_read_every_row_as_before(nights):
    for name in ("unique_facts_part", "not_null_facts_k"):
        assert "_build_id" not in nights["second"]["sql"][name]


def test_a_new_row_duplicating_an_old_rows_value_fails_the_test(nights):
    """The night wrote k 21 only; its code is k 5's: read with every row of its key, found."""
    second = nights["second"]
    assert second["status"]["unique_facts_code"] == "fail"
    assert second["status"]["unique_facts_k"] == "pass"
    assert second["status"]["unique_combination_of_columns_facts_part__code"] == "pass"
    builds = {nights["first"]["invocation"], second["invocation"]}
    assert {b for name, b in nights["recorded_second"] if name == "unique_facts_k"} == builds
    assert {b for name, b in nights["recorded_second"] if name == "unique_facts_code"} == {
        nights["first"]["invocation"]}  # a failed test records nothing


def test_rows_already_passed_are_not_read_until_the_test_changes(nights):
    """k 7 and k 8 share a code under builds the test passed on (planted outside dbt): the restricted
    test does not read them; with another fingerprint (the test's code changed) it reads every row."""
    assert nights["third"]["status"]["unique_facts_code"] == "pass"
    assert nights["changed"]["status"]["unique_facts_code"] == "fail"
    assert nights["changed"]["status"]["unique_facts_k"] == "pass"
