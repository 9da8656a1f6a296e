"""Every channel's parser on the generator's real-format exports (one brand, all channels).

Counts are checked against an independent reading of each file (pandas, openpyxl, plain
JSON), not against the loader's own bookkeeping.
"""
import csv
import json

import duckdb
import openpyxl
import pandas as pd
import pytest

from ingest.audit import parquet_relation, raw_mobiles_in
from ingest.contract import load_contracts
from ingest.engine import landing_files, load_table
from ingest.lake import RAW, table_glob
from ingest.readers import detect_encoding

CONTRACTS = load_contracts()


@pytest.fixture(scope="session")
def loaded_demo(demo_home):
    return {table: load_table(contract, demo_home) for table, contract in CONTRACTS.items()}


def independent_count(path, contract) -> int:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        bad: list = []
        frame = pd.read_csv(path, encoding=detect_encoding(path), dtype=str, keep_default_na=False,
                            engine="python", on_bad_lines=lambda line: bad.append(line), quoting=csv.QUOTE_MINIMAL)
        return len(frame) + len(bad)
    if suffix == ".xlsx":
        rows = list(openpyxl.load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True))
        filled = [r for r in rows if any(v not in (None, "") for v in r)]
        return len(filled) - 1 - sum(1 for r in filled[:10] if sum(v is not None for v in r) == 1)
    if suffix == ".jsonl":
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    document = json.loads(path.read_text(encoding="utf-8"))
    records = next((document[p] for p in contract.record_path if isinstance(document, dict) and p in document),
                   document)
    records = records if isinstance(records, list) else [records]
    total = 0
    for record in records:
        inner = next((record[k] for k in contract.explode if isinstance(record, dict) and k in record), None)
        total += len(inner) if isinstance(inner, list) and inner else 1
    return total


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_channel_exports_load_completely_and_reconcile(loaded_demo, demo_home, table):
    report = loaded_demo[table]
    loaded = report.with_status("loaded")
    assert loaded, f"the demo generator wrote no file for {table}"
    assert not report.with_status("rejected"), [f.message for f in report.with_status("rejected")]
    for file in loaded:
        assert file.rows_read == file.rows_loaded + file.rows_quarantined
        assert file.rows_read == independent_count(demo_home.landing / file.source_file, CONTRACTS[table]), file
        assert not file.unmapped_columns, (f"{file.source_file}: headers the contract does not know: "
                                           f"{file.unmapped_columns}")
    assert report.rows_loaded > 0
    assert report.rows_quarantined <= max(3, report.rows_read * 0.005), "demo data should be mostly clean"


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_business_keys_are_present_in_raw(loaded_demo, demo_home, table):
    key = CONTRACTS[table].key
    nulls = " or ".join(f"{k} is null" for k in key)
    relation = parquet_relation(table_glob(demo_home, RAW, table))
    assert duckdb.connect().execute(f"select count(*) from {relation} where {nulls}").fetchall() == [(0,)]


def test_loading_the_demo_again_changes_nothing(loaded_demo, demo_home):
    before = sorted((p.relative_to(demo_home.lake), p.stat().st_mtime_ns) for p in demo_home.lake.rglob("*.parquet"))
    for _table, contract in CONTRACTS.items():
        assert {f.status for f in load_table(contract, demo_home).files} == {"skipped"}
    after = sorted((p.relative_to(demo_home.lake), p.stat().st_mtime_ns) for p in demo_home.lake.rglob("*.parquet"))
    assert before == after


def test_no_raw_mobile_number_anywhere_in_the_lake(loaded_demo, demo_home):
    con = duckdb.connect()
    for folder in ("raw", "quarantine"):
        for table in CONTRACTS:
            assert raw_mobiles_in(
                con, parquet_relation(f"{demo_home.lake}/{folder}/{table}/*.parquet")) == {}, (folder, table)


def test_every_landing_file_is_covered_by_a_contract(demo_home):
    covered = {p for c in CONTRACTS.values() for p in landing_files(c, demo_home.landing)}
    every = {p for p in demo_home.landing.rglob("*") if p.is_file() and p.name != "_SUCCESS"}  # done markers
    assert every - covered == set()
