"""The lake's mobile scan reads only the raw files it has not read (ingest.audit.scan_raw_mobiles).

The findings are kept per file; these tests check that a kept finding never hides a mobile: a new
file, a file rewritten in place, a changed rule and a lost findings file are all read again, a file
that left the lake leaves the totals, and the totals equal a scan of the whole table in one query.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest import audit
from ingest.lake import RAW, SCHEMA_FILE, table_dir
from ingest.settings import paths_from_env

TABLE = "crm_members"
MOBILE = "13512345678"


@pytest.fixture()
def paths(tmp_path: Path):
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path)}).ensure()
    folder = table_dir(paths, RAW, TABLE)
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"note": pa.array([], pa.string())}), folder / SCHEMA_FILE)
    return paths


def write(paths, name: str, **columns) -> Path:
    target = table_dir(paths, RAW, TABLE) / f"{name}.parquet"
    pq.write_table(pa.table(columns), target)
    return target


def whole_table(paths) -> dict[str, int]:
    """The scan before findings were kept: every raw file in one query."""
    with duckdb.connect() as con:
        return audit.raw_mobiles_in(con, f"read_parquet('{table_dir(paths, RAW, TABLE)}/*.parquet', "
                                         "union_by_name = true)")


def test_a_night_reads_only_the_files_it_has_not_read(paths):
    write(paths, "aaaa", note=["plain", f"tel:{MOBILE}"], member_hash=[MOBILE, "x"])
    write(paths, "bbbb", note=["none"], address=["上海" + MOBILE])
    first = audit.scan_raw_mobiles(paths, TABLE)
    assert (first.files, first.scanned) == (2, 2)
    assert first.found == {"address": 1, "note": 1} == whole_table(paths)  # *_hash columns are skipped

    again = audit.scan_raw_mobiles(paths, TABLE)
    assert (again.scanned, again.found) == (0, first.found)

    write(paths, "cccc", note=[MOBILE, MOBILE, "135 1234 5678"], city=["x", "y", "z"])
    night = audit.scan_raw_mobiles(paths, TABLE)
    assert (night.files, night.scanned) == (3, 1)
    assert night.found == {"address": 1, "note": 4} == whole_table(paths)


def test_a_file_rewritten_in_place_is_read_again(paths):
    target = write(paths, "aaaa", note=["plain"])
    assert audit.raw_table_mobiles(paths, TABLE) == {}
    stat = target.stat()
    write(paths, "aaaa", note=[MOBILE[:10] + "9"])  # a hand edit: same name and size
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    scan = audit.scan_raw_mobiles(paths, TABLE)
    assert scan.scanned == 1 and scan.found == {"note": 1}


def test_files_that_left_the_lake_leave_the_totals(paths):
    write(paths, "aaaa", note=[MOBILE])
    gone = write(paths, "bbbb", note=[MOBILE, MOBILE])
    assert audit.raw_table_mobiles(paths, TABLE) == {"note": 3}
    gone.unlink()  # erased, compacted into a segment, rejected by the gate
    scan = audit.scan_raw_mobiles(paths, TABLE)
    assert (scan.files, scan.scanned, scan.found) == (1, 0, {"note": 1})


def test_a_changed_rule_or_lost_findings_read_every_file(paths, monkeypatch):
    write(paths, "aaaa", note=["x-13512345678"])
    write(paths, "bbbb", note=["plain"])
    assert audit.raw_table_mobiles(paths, TABLE) == {"note": 1}
    monkeypatch.setattr(audit, "MOBILE_REGEX", "plain")
    scan = audit.scan_raw_mobiles(paths, TABLE)
    assert scan.scanned == 2 and scan.found == {"note": 1}  # now the other file
    monkeypatch.undo()
    audit.mobile_findings_path(paths, TABLE).write_text("{not json", encoding="utf-8")
    scan = audit.scan_raw_mobiles(paths, TABLE)
    assert scan.scanned == 2 and scan.found == {"note": 1}
    record = json.loads(audit.mobile_findings_path(paths, TABLE).read_text(encoding="utf-8"))
    record["files"]["aaaa.parquet"] = {"key": record["files"]["aaaa.parquet"]["key"], "found": {}}  # another layout
    audit.mobile_findings_path(paths, TABLE).write_text(json.dumps(record), encoding="utf-8")
    scan = audit.scan_raw_mobiles(paths, TABLE)
    assert scan.scanned == 1 and scan.found == {"note": 1}


def test_a_table_with_no_text_column(paths):
    write(paths, "aaaa", amount=[1, 2])
    scan = audit.scan_raw_mobiles(paths, TABLE)
    assert (scan.files, scan.scanned, scan.found) == (1, 1, {})
    assert audit.scan_raw_mobiles(paths, TABLE).scanned == 0
