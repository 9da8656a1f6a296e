"""What the dbt step tells Dagster, read from the session's build_all run (tests/orchestration/baseline.py):
each table model's row count, counted again in the published warehouse; each model's column schema, compared
with the warehouse's own columns; and one asset check result per dbt test. Also how the manifest is prepared."""
from __future__ import annotations

import os

import duckdb
import pytest

from orchestration.dbt_assets import QuanyuTranslator, dbt_project, load_manifest, manifest_is_current
from tests.orchestration.baseline import session_build


@pytest.fixture(scope="module")
def baseline(demo_home):
    built = session_build(demo_home)
    assert built.result.success
    return built


@pytest.fixture(scope="module")
def models():
    """asset key -> manifest node of every model dbt builds (ephemeral ones have no relation)."""
    translator = QuanyuTranslator()
    return {translator.get_asset_key(node): node for node in load_manifest()["nodes"].values()
            if node["resource_type"] == "model" and node["config"]["materialized"] != "ephemeral"}


def test_every_table_model_carries_the_row_count_the_warehouse_holds(baseline, models):
    materialisations = {m.asset_key: m for m in baseline.result.asset_materializations_for_node("quanyu_dbt")}
    tables = {key: node for key, node in models.items() if node["config"]["materialized"] != "view"}
    assert tables and set(tables) <= set(materialisations)
    with duckdb.connect(str(baseline.paths.warehouse), read_only=True) as con:
        for key, node in tables.items():
            recorded = materialisations[key].metadata["dagster/row_count"].value
            counted = con.execute(f'select count(*) from "{node["schema"]}"."{node["alias"]}"').fetchone()[0]
            assert recorded == counted, key.to_user_string()


def test_every_model_carries_its_column_schema(baseline, models):
    materialisations = {m.asset_key: m for m in baseline.result.asset_materializations_for_node("quanyu_dbt")}
    with duckdb.connect(str(baseline.paths.warehouse), read_only=True) as con:
        for key, node in models.items():
            schema = materialisations[key].metadata["dagster/column_schema"].value
            columns = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [node["schema"], node["alias"]]).fetchall()]
            assert [c.name for c in schema.columns] == columns, key.to_user_string()


def test_every_dbt_test_of_a_model_is_an_asset_check_with_a_result(baseline, models):
    manifest = load_manifest()
    keys_by_id = {node["unique_id"]: key for key, node in models.items()}
    expected = {(keys_by_id[test["attached_node"]], test["name"]) for test in manifest["nodes"].values()
                if test["resource_type"] == "test" and test.get("attached_node") in keys_by_id}
    evaluated = {(e.asset_key, e.check_name) for e in baseline.result.get_asset_check_evaluations()}
    assert expected and expected <= evaluated


def test_the_manifest_is_current_until_a_project_file_changes(tmp_path):
    """A parse by the first process that loads the definitions serves every later one: the
    manifest is current until a file dbt reads is newer than it."""
    assert manifest_is_current(dbt_project)  # the session parsed it (tests/conftest.py)
    model = next((dbt_project.project_dir / "models").rglob("*.sql"))
    stamp = dbt_project.manifest_path.stat().st_mtime
    before = model.stat()
    try:
        os.utime(model, (before.st_atime, stamp + 10))
        assert not manifest_is_current(dbt_project)
    finally:
        os.utime(model, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert manifest_is_current(dbt_project)


def test_the_published_build_keeps_dbts_run_results_and_the_bench_reads_them_per_layer(baseline, models):
    """Where last night's dbt time went stays readable after publication deleted the build folder."""
    import json

    from bench.run import dbt_seconds
    from orchestration.publish import build_root, last_run_results

    kept = last_run_results(baseline.paths)
    assert kept.exists() and not (build_root(baseline.paths) / baseline.result.run_id).exists()
    results = json.loads(kept.read_text())
    ok = ("success", "pass", "warn", "no-op")
    assert all(r["status"] in ok for r in results["results"]), \
        [(r["unique_id"], r["status"]) for r in results["results"] if r["status"] not in ok]
    layers, seconds = dbt_seconds(results, load_manifest())
    assert set(seconds) == {node["name"] for node in models.values()}  # every model built, none unnamed
    assert {"staging", "identity", "intermediate", "marts", "tests", "unit tests"} <= set(layers)
    total = sum(r["execution_time"] for r in results["results"])
    assert abs(sum(layers.values()) - total) < 1e-6 and all(v >= 0 for v in seconds.values())


def test_the_bench_counts_the_rows_each_build_wrote_by_its_change_log(baseline):
    """The session's build is a full one: it wrote every row of every table with a _build_id (the
    order chain, the bridge, the staging models it reads); another invocation wrote none of them."""
    import json

    from bench.run import restaged_rows
    from orchestration.publish import last_run_results

    invocation = json.loads(last_run_results(baseline.paths).read_text())["metadata"]["invocation_id"]
    wrote = restaged_rows(baseline.paths.warehouse, invocation)
    assert {"intermediate.int_orders__unioned", "marts.fct_orders", "marts.fct_order_lines",
            "identity.bridge_record_member", "staging.stg_pos__sales"} <= set(wrote)
    assert all(rows == total > 0 for rows, total in wrote.values()), wrote
    assert all(rows == 0 for rows, _ in restaged_rows(baseline.paths.warehouse, "another build").values())
