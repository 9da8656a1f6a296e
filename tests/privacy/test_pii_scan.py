"""The leak scan finds a planted value in every kind of store Quanyu writes, and nothing in clean ones.

Without this, a privacy test that scans and finds nothing proves nothing: each store below hides
text from a plain byte search in its own way (compressed Parquet pages and DuckDB blocks, JSON with
ASCII escapes in Dagster's SQLite event log, zlib blobs, GB18030 or gzip logs).
"""
from __future__ import annotations

import gzip
import json
import sqlite3
import zlib

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.pii import keyed_hash
from ingest.pii_scan import DUCKDB, PARQUET, SQLITE, TEXT, main, scan_text, scan_tree

MOBILE, NAME, ADDRESS = "13912345601", "欧阳娜娜", "上海市徐汇区漕溪北路88号"
PLANTED = [MOBILE, NAME, ADDRESS]


def _filler(n: int) -> list[str]:
    return [f"row {i} 普通文本" for i in range(n)]


def plant(tmp_path, kind: str, value: str):
    """One store of ``kind`` holding ``value`` among filler rows; its path."""
    if kind == PARQUET:
        path = tmp_path / "raw.parquet"
        rows = _filler(5000)
        rows[2500] = f"备注 {value} 谢谢"
        pq.write_table(pa.table({"id": list(range(5000)), "note": rows}), path, compression="zstd")
    elif kind == DUCKDB:
        path = tmp_path / "quanyu.duckdb"
        with duckdb.connect(str(path)) as con:
            con.execute("create schema marts")
            con.execute("create table marts.t as select range as id, 'x' || range as note from range(20000)")
            con.execute("insert into marts.t values (20000, ?)", [f"[{value}]"])
    elif kind == SQLITE:  # as Dagster's event log keeps an event: JSON with ASCII escapes
        path = tmp_path / "index.db"
        con = sqlite3.connect(path)
        con.execute("create table event_logs (id integer, event text, blob_event blob)")
        con.execute("insert into event_logs values (1, ?, ?)",
                    (json.dumps({"message": f"rejected: {value}"}), zlib.compress(b"nothing here")))
        con.commit()
        con.close()
    else:
        path = tmp_path / "compute_logs" / "step.err"
        path.parent.mkdir()
        path.write_bytes(f"ERROR rejected {value}\n".encode("gb18030"))
    return path


@pytest.mark.parametrize("kind", [PARQUET, DUCKDB, SQLITE, TEXT])
@pytest.mark.parametrize("value", PLANTED, ids=["mobile", "name", "address"])
def test_the_scan_finds_a_planted_value_in_each_kind_of_store(tmp_path, kind, value):
    path = plant(tmp_path, kind, value)
    report = scan_tree(tmp_path, PLANTED)
    assert report.scanned[kind] == 1 and report.unreadable == []
    assert [(h.value, h.kind, h.where.split(" ")[0]) for h in report.hits] == [(PLANTED.index(value), kind, str(path))]


def test_a_value_only_in_a_zlib_blob_or_a_gzip_log_is_found(tmp_path):
    con = sqlite3.connect(tmp_path / "runs.db")
    con.execute("create table snapshots (id integer, snapshot_body blob)")
    con.execute("insert into snapshots values (1, ?)", (zlib.compress(json.dumps({"tag": NAME}).encode()),))
    con.commit()
    con.close()
    (tmp_path / "dbt.log.gz").write_bytes(gzip.compress(f"address {ADDRESS}".encode()))
    found = {(h.value, h.kind) for h in scan_tree(tmp_path, PLANTED).hits}
    assert found == {(1, SQLITE), (2, TEXT)}


def test_clean_stores_and_hashed_mobiles_give_no_hit(tmp_path):
    path = tmp_path / "raw.parquet"
    digest = keyed_hash(__import__("ingest.pii", fromlist=["HashKey"]).HashKey(b"k", "v1"), MOBILE)
    pq.write_table(pa.table({"mobile_hash": [digest], "note": ["欧阳"], "order_id": ["2139123456019"]}), path)
    report = scan_tree(tmp_path, PLANTED)
    assert report.hits == [] and report.scanned[PARQUET] == 1


def test_a_mobile_is_found_in_text_as_written_or_as_its_bare_digits():
    assert [h.value for h in scan_text("stderr: 欧阳娜娜 called", PLANTED)] == [1]
    assert [h.value for h in scan_text("phone 13912345601.", ["+86 139-1234-5601"])] == [0]
    assert scan_text("phone 1391234560", PLANTED) == [] and scan_text("<mobile>", PLANTED) == []


def test_the_command_line_names_the_value_by_number_and_fails(tmp_path, capsys):
    plant(tmp_path, TEXT, NAME)
    assert main([str(tmp_path), MOBILE, NAME]) == 1
    out = capsys.readouterr().out
    assert "value #1 in text" in out and NAME not in out
    assert main([str(tmp_path), MOBILE]) == 0
