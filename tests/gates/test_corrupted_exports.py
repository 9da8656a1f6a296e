"""A corrupted export never reaches the warehouse: the gate stops publication, names the file
and the check, and the published warehouse stays byte-identical and readable.

Each case drops one broken Tmall order export next to the good ones and runs build_all for the
Tmall asset and everything downstream of it (dbt, mart gates, publication) in process.
"""
from __future__ import annotations

import duckdb
import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance

from ingest.lake import LEDGER, RAW, table_glob
from tests.gates import corrupt
from tests.gates.conftest import sha256, started_steps, step_failures

GOOD_EXPORT = "tmall/orders/ExportOrderList_202610.csv"
NEW_EXPORT = "tmall/orders/ExportOrderList_202611.csv"

CASES = {
    # wrong encoding: the engine cannot read the file (its check is the contract itself)
    "utf16_without_bom": (corrupt.utf16_without_bom, ["check contract failed", "not valid UTF-8"]),
    "mojibake_headers": (corrupt.mojibake, ["check contract failed", "required column 'order_id'", "订单编号"]),
    # wrong encoding of the values only: readable, but the text is garbage
    "mojibake_values": (corrupt.mojibake_values, ["check gx_values failed: text_decodes_cleanly",
                                                  "garbled_text_share"]),
    # a dropped column: a required one is refused by the contract, an optional one by the gate
    "dropped_required_column": (lambda s, t: corrupt.drop_column(s, t, "订单状态"),
                                ["check contract failed", "required column 'status'"]),
    "dropped_column": (lambda s, t: corrupt.drop_column(s, t, "买家实付金额"),
                       ["check gx_schema failed: no_column_dropped", "dropped_columns = paid_amount"]),
    "duplicated_orders": (corrupt.duplicate_orders,
                          ["check gx_keys failed: key_unique_within_file: 12 duplicated order_id"]),
    # a header-only file where the same export's last files had rows: a failed export
    "day_of_zero_rows": (corrupt.header_only, ["check gx_volume failed: not_empty_where_rows_are_expected",
                                               "0 rows loaded; the last"]),
}


def published_state(path):
    with duckdb.connect(str(path), read_only=True) as con:
        build_id = con.execute("select build_id from meta.build").fetchall()[0][0]
        members = con.execute("select count(*) from marts.dim_member").fetchall()[0][0]
        orders = con.execute("select count(*) from staging.stg_tmall__orders").fetchall()[0][0]
    return build_id, members, orders


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_corrupted_export_stops_publication(case, copied_home, definitions):
    from orchestration.definitions import build_all_tags

    make, expected = CASES[case]
    paths = copied_home
    before_sha, before_state = sha256(paths.warehouse), published_state(paths.warehouse)
    make(paths.landing / GOOD_EXPORT, paths.landing / NEW_EXPORT)

    selection = AssetSelection.keys(AssetKey(["raw", "tmall_orders"])).downstream()
    keys = list(selection.resolve(definitions.resolve_asset_graph()))
    result = definitions.resolve_job_def("build_all").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False, asset_selection=keys, tags=build_all_tags())

    assert not result.success
    failures = step_failures(result)
    assert list(failures) == ["raw_tmall_orders"]
    message = failures["raw_tmall_orders"]
    assert f"tmall_orders: file {NEW_EXPORT}: check" in message, message
    for fragment in expected:
        assert fragment in message, message
    started = started_steps(result)
    assert "quanyu_dbt" not in started and "warehouse__published" not in started
    assert not any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events)  # rejections are final

    # the served warehouse is the same file, byte for byte, and still answers queries
    assert sha256(paths.warehouse) == before_sha
    assert published_state(paths.warehouse) == before_state
    # and the lake holds no trace of the refused export
    with duckdb.connect() as con:
        sources = {r[0] for r in con.execute(
            f"select distinct source_file from read_parquet('{table_glob(paths, LEDGER, 'tmall_orders')}')").fetchall()}
        raw_sources = {r[0] for r in con.execute(
            f"select distinct _source_file from read_parquet('{table_glob(paths, RAW, 'tmall_orders')}')").fetchall()}
    assert NEW_EXPORT not in sources and NEW_EXPORT not in raw_sources


def test_the_gate_reports_every_failed_check_of_a_file_and_keeps_evidence(copied_home, definitions):
    """Checks are evaluated file by file; the rejected file's verdict is kept beside its rows."""
    import json

    from ingest.contract import load_contracts
    from ingest.engine import file_sha256, load_table
    from ingest.lake import rejected_dir
    from orchestration.ingest_steps import gate_table

    paths = copied_home
    target = corrupt.duplicate_orders(paths.landing / GOOD_EXPORT, paths.landing / NEW_EXPORT)
    contract = load_contracts()["tmall_orders"]
    load_table(contract, paths)
    result = gate_table(contract, paths, run_name="test")
    assert result.gated_files == [NEW_EXPORT] and result.rejected_files == [NEW_EXPORT]
    assert [f.rule for f in result.blocking] == ["key_unique_within_file"]
    evidence = rejected_dir(paths, "tmall_orders", file_sha256(target))
    assert {"raw.parquet", "ledger.parquet", "verdict.json"} <= {p.name for p in evidence.iterdir()}
    verdict = json.loads((evidence / "verdict.json").read_text(encoding="utf-8"))
    assert "12 duplicated order_id" in verdict["failures"][0]


def test_a_header_only_file_without_a_history_of_rows_loads_with_a_warning(copied_home, definitions):
    """A new export series (a shop's first export, a month without sales on a small channel) whose
    file has only its header: nothing says it failed, so it loads; the warning names it."""
    from ingest.contract import load_contracts
    from ingest.engine import load_table
    from ingest.lake import ledger_entries
    from orchestration.ingest_steps import gate_table

    paths = copied_home
    new_series = "tmall/orders/second_shop/订单报表_202611.csv"
    (paths.landing / new_series).parent.mkdir(parents=True)
    corrupt.header_only(paths.landing / GOOD_EXPORT, paths.landing / new_series)
    contract = load_contracts()["tmall_orders"]
    load_table(contract, paths)
    result = gate_table(contract, paths, run_name="test")
    assert result.gated_files == [new_series] and result.rejected_files == []
    assert [(f.check, f.rule, f.blocking) for f in result.findings if f.subject == new_series] == [
        ("gx_volume_change", "file_has_rows", False)]
    entry = ledger_entries(paths, "tmall_orders").set_index("source_file").loc[new_series]
    assert (int(entry.rows_read), int(entry.rows_loaded)) == (0, 0)
