"""The same dbt project on Spark (local mode) and on DuckDB gives the same warehouse.

One small demo brand is generated, ingested and compacted once; `dbt build` (every model, seed,
data test and unit test) then runs on the duckdb target and on the spark target over the same
lake (segments and loose files, as a gated lake holds them). Every
table of the compared schemas is read from both engines and must have the same columns, the
same row count and the same multiset of rows (tests/spark/parity.py: decimals rounded to 1e-9,
floats within a 1e-9 relative tolerance, timestamps as naive wall-clock datetimes, nulls equal).

How Spark's tables are read: after the dbt process has exited, the test opens its own
SparkSession with the `spark` output's settings from profiles.yml (same Hive metastore and
warehouse under $QUANYU_HOME/spark) and collects each table, timestamps cast to TIMESTAMP_NTZ in
Spark SQL. Reading Spark's Parquet files with DuckDB instead would mix in Spark's INT96 timestamp
encoding and its file layout.

Not compared: the build's own clock (one_id_created_at, assigned_at, run_at, invocation_id),
which is the start of each dbt run and necessarily differs between two runs, record_hash,
a join key within one build whose hash function is each engine's own (macro record_hash), and
state_checksum, row_check and _member_inputs_check, checksums made with each engine's hash()
(macros incremental_by_record, source_row_check, fct_orders), and
_build_id, the dbt invocation that wrote a row (macros/incremental_by_change.sql).

Marked `spark`: `make test` skips it; `make test-spark` runs it (needs Java 17 and
requirements-spark.txt).
"""
from __future__ import annotations

import pytest

from demo.generate import generate
from ingest.contract import load_contracts
from ingest.lake import compact_table, ledger_entries
from ingest.settings import paths_from_env
from tests.dbt_runner import dbt, env_for, ingest_all
from tests.spark.parity import Table, differences, duckdb_tables, spark_tables

pytestmark = pytest.mark.spark

MEMBERS = 300
SCHEMAS = ["seeds", "staging", "intermediate", "identity", "marts", "semantic"]
RUN_CLOCK = {"one_id_created_at", "assigned_at", "run_at", "invocation_id"}
NOT_COMPARED = RUN_CLOCK | {"record_hash", "state_checksum", "row_check", "_build_id",
                            "_member_inputs_check"}
# Every table of the marts schema (README "Metrics"): the comparison must see each of them.
MARTS = {
    "dim_member", "fct_orders", "fct_wecom_relationships", "fct_group_membership", "fct_coupons",
    "fct_referrals", "fct_outbound_calls", "fct_marketing_spend", "mart_member_rfm_lifecycle",
    "mart_member_channel_overlap", "mart_acquisition_qqc_monthly", "mart_channel_overlap_monthly",
    "mart_coupons_monthly", "mart_fan_buyers_monthly", "mart_fan_contribution_monthly", "mart_fans_monthly",
    "mart_groups_monthly", "mart_guide_activity_daily", "mart_guide_activity_monthly",
    "mart_guide_attribution_monthly", "mart_member_wecom_friends_monthly", "mart_outbound_calls_monthly",
    "mart_referrals_monthly", "mart_repurchase_monthly", "mart_sales_decomposition_monthly", "mart_sales_monthly",
    "mart_store_kpis_monthly", "mart_private_domain_gmv_by_rule_monthly", "quality_unmapped_codes",
    "mart_cohort_retention", "mart_member_kpis_monthly", "mart_member_repurchase_due", "mart_callback_list",
    "mart_repurchase_due_hit_rate", "mart_member_360",
    "fct_order_lines", "dim_product", "dim_product_channel_ids", "quality_unmapped_products",
    "quality_order_line_reconciliation", "mart_product_mix_monthly", "mart_private_buyer_aov_monthly",
    "mart_product_launches", "mart_category_cross_buy",
    "mart_kpi_alerts", "mart_pilot_did",
    "mart_store_target_attainment_monthly", "mart_guide_target_attainment_monthly", "fct_guide_settlement_orders",
    "mart_guide_settlement_monthly", "mart_private_domain_attribution_rules_monthly",
    "mart_member_tags", "mart_tag_coverage", "mart_audience_members", "quality_unmapped_tags", "dim_tag",
    "mart_tag_name_history",
}


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> tuple[dict[str, Table], dict[str, Table]]:
    """(duckdb tables, spark tables) of one demo lake built on both targets."""
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path_factory.mktemp("spark-parity"))}).ensure()
    generate(paths.home, members=MEMBERS)
    ingest_all(paths)
    for table in load_contracts():  # Spark reads compacted segments beside loose files, as a gated lake has
        compact_table(paths, table, ledger_entries(paths, table)["file_sha256"].tolist())
    for target in ("duckdb", "spark"):
        dbt(paths, "build", env={"QUANYU_DBT_TARGET": target,
                                 "DBT_TARGET_PATH": str(paths.home / "dbt" / target / "target"),
                                 "DBT_LOG_PATH": str(paths.home / "dbt" / target / "logs")})
    return (duckdb_tables(paths.warehouse, SCHEMAS, NOT_COMPARED),
            spark_tables(env_for(paths), SCHEMAS, NOT_COMPARED))


def compare(engines, schema: str) -> tuple[int, int]:
    """Assert every table of `schema` is equal on both engines; returns (tables, rows) compared."""
    duck, spark = ({name: t for name, t in side.items() if name.startswith(schema + ".")} for side in engines)
    assert duck, f"no table in {schema}"
    assert sorted(duck) == sorted(spark), "tables built by one engine only: " + str(sorted(set(duck) ^ set(spark)))
    failures = {name: found for name in sorted(duck) if (found := differences(duck[name], spark[name]))}
    assert not failures, "\n".join(f"{name}: " + "\n".join(found) for name, found in failures.items())
    rows = sum(len(t.rows) for t in duck.values())
    print(f"{schema}: {len(duck)} tables, {rows} rows equal on DuckDB and Spark")
    return len(duck), rows


def test_every_mart_table_is_equal(engines):
    duck, _ = engines
    assert {name.split(".", 1)[1] for name in duck if name.startswith("marts.")} == MARTS
    tables, _ = compare(engines, "marts")
    assert tables == len(MARTS)
    assert len(duck["marts.fct_orders"].rows) > 1000 and len(duck["marts.dim_member"].rows) > 100


def test_identity_is_equal_and_one_ids_are_the_same(engines):
    compare(engines, "identity")
    duck, spark = engines
    bridge = duck["identity.bridge_record_member"]
    one_id = bridge.columns.index("one_id")
    resolved = {row[one_id] for row in bridge.rows if row[one_id] is not None}
    spark_bridge = spark["identity.bridge_record_member"]
    assert resolved == {row[one_id] for row in spark_bridge.rows if row[one_id] is not None}
    dim = duck["marts.dim_member"]
    assert resolved == {row[dim.columns.index("one_id")] for row in dim.rows}
    assert len(resolved) > 100


@pytest.mark.parametrize("schema", ["seeds", "staging", "intermediate"])
def test_upstream_layers_are_equal(engines, schema):
    compare(engines, schema)
