"""The real Dagster job (ingest and gates, dbt build, mart gates, publication) on the demo brand, in process."""
import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from ingest.audit import raw_mobiles_in
from ingest.contract import load_contracts
from ingest.dbt_sources import staging_models
from ingest.settings import paths_from_env
from tests.orchestration.baseline import session_build

CONTRACTS = load_contracts()


@pytest.fixture(scope="session")
def baseline(definitions, demo_home):
    return session_build(demo_home)


@pytest.fixture(scope="session")
def built(baseline):
    return baseline.result


def test_build_all_succeeds_with_every_check_passing_but_the_warnings_the_demo_plants(built):
    failures = [e.step_key for e in built.all_events if e.is_failure]
    assert built.success, failures
    evaluations = [e.event_specific_data for e in built.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(evaluations) >= 2 * len(CONTRACTS)
    failed = [(ev.asset_key.to_user_string(), ev.check_name) for ev in evaluations
              if not ev.passed and ev.severity.value == "ERROR"]
    assert failed == []
    # warnings never block; the demo's orders end a few weeks before today, so freshness may warn
    warned = {(ev.asset_key.to_user_string(), ev.check_name): ev for ev in evaluations
              if not ev.passed and ev.check_name != "gx_freshness"}
    # the demo sells under product codes its master lacks, on purpose (demo/products.py: a retired
    # code, a channel listing left out of the id map), and its guides set a WeCom tag id no corp
    # tag list snapshot lists (demo/wecom_tags.py): the quality marts list them, warnings
    assert set(warned) == {("marts/quality_unmapped_products", "gx_drift"), ("marts/quality_unmapped_tags", "gx_drift")}
    listed = str(warned["marts/quality_unmapped_products", "gx_drift"].metadata["rows_to_fix"].value)
    assert "merchant code not in product master" in listed and "listing id not in channel product-id map" in listed
    listed = str(warned["marts/quality_unmapped_tags", "gx_drift"].metadata["rows_to_fix"].value)
    assert "etLJ0099" in listed and "in no get_corp_tag_list snapshot" in listed


def test_the_build_is_published_and_the_build_folder_is_gone(built, baseline):
    from orchestration.publish import build_root, read_build_info

    info = read_build_info(baseline.paths.warehouse)
    assert info["run_id"] == built.run_id
    assert not (build_root(baseline.paths) / built.run_id).exists()


def test_one_lineage_graph_from_files_to_staging(definitions):
    """A raw table feeds staging only: the model that deduplicates it (the one _sources.yml
    names) and any that read every version of it (a member's phone history)."""
    graph = definitions.resolve_asset_graph()
    readers = staging_models()
    for table in CONTRACTS:
        children = graph.get(AssetKey(["raw", table])).child_keys
        assert children, f"raw/{table} feeds no dbt model"
        assert all(k.path[0] == "staging" for k in children)
        assert sorted(k.path[-1] for k in children) == sorted(readers[table].models), table


def test_staging_tables_hold_the_loaded_rows(built, baseline):
    with duckdb.connect(str(baseline.paths.warehouse), read_only=True) as con:
        tables = {t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'staging'").fetchall()}
        assert len(tables) >= len(CONTRACTS)
        empty = [t for t in tables if con.execute(f'select count(*) from staging."{t}"').fetchall()[0][0] == 0]
        assert empty == []


def test_no_raw_mobile_number_in_any_warehouse_table(built, baseline):
    with duckdb.connect(str(baseline.paths.warehouse), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_schema not in ('information_schema', 'pg_catalog')").fetchall()
        assert tables
        found = {f"{s}.{t}": raw_mobiles_in(con, f'"{s}"."{t}"') for s, t in tables}
    assert {k: v for k, v in found.items() if v} == {}


def test_a_rejected_export_stops_the_build_before_dbt(definitions, tmp_path, monkeypatch):
    landing = tmp_path / "landing" / "tmall" / "orders"
    landing.mkdir(parents=True)
    (landing / "broken.csv").write_bytes("订单编号,订单状态\r\n=\"1\",交易成功\r\n".encode("gbk"))
    for name, value in paths_from_env({"QUANYU_HOME": str(tmp_path)}).as_env().items():
        monkeypatch.setenv(name, value)
    result = definitions.resolve_job_def("build_all").execute_in_process(instance=DagsterInstance.ephemeral(),
                                                                      raise_on_error=False)
    assert not result.success
    failed = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failed] == ["raw_tmall_orders"]
    message = failed[0].event_specific_data.error.message
    assert "broken.csv" in message and "created_at" in message and "订单创建时间" in message
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert "raw_coupons" in started and "quanyu_dbt" not in started  # other channels load; dbt never starts
    assert not (tmp_path / "warehouse" / "quanyu.duckdb").exists()


def test_small_files_land_in_segments_and_still_reconcile(built, baseline):
    """A group of small files commits as one segment when it loads (lake.commit_loaded); what a
    load left loose and the gate passed is compacted after it. Either way none stays loose."""
    from ingest.audit import reconcile
    from ingest.lake import ledger_entries, manifests, segment_of

    table = "wecom_guide_daily_stats"  # one export per guide per day
    loaded = set(ledger_entries(baseline.paths, table)["file_sha256"])
    assert len(loaded) >= 16 and set(segment_of(baseline.paths, table)) == loaded
    assert len(manifests(baseline.paths, table)) < len(loaded) / 8
    assert all(reconcile(baseline.paths, c.table).problems == [] for c in CONTRACTS.values())
