"""Grouping small files and loading in worker processes change speed, never results."""
import os

import duckdb

from demo.generate import generate
from ingest import engine, readers
from ingest.contract import load_contracts
from ingest.lake import RUN_COLUMNS
from ingest.pii import HashKey
from ingest.settings import paths_from_env

KEY = HashKey(b"k", "test")


def _lake_rows(lake, folder, table):
    con = duckdb.connect()
    columns = [r[0] for r in con.execute(
        f"describe select * from read_parquet('{lake}/{folder}/{table}/*.parquet', union_by_name=true)").fetchall()]
    kept = ", ".join(f'"{c}"' for c in columns if c not in RUN_COLUMNS)
    return sorted(con.execute(f"select {kept} from read_parquet('{lake}/{folder}/{table}/*.parquet', "
                              "union_by_name=true)").fetchall(), key=repr)


def test_grouped_parallel_load_equals_file_by_file(tmp_path, monkeypatch):
    contracts = list(load_contracts().values())
    alone, pooled = (paths_from_env({"QUANYU_HOME": str(tmp_path / name)}).ensure() for name in ("alone", "pooled"))
    for paths in (alone, pooled):
        generate(paths.home, members=400)
    for path in alone.landing.rglob("*"):  # the same export times (a file's modification time, ingest.export_time)
        twin = pooled.landing / path.relative_to(alone.landing)
        stat = path.stat()
        os.utime(twin, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    monkeypatch.setattr(engine, "SMALL_FILE_BYTES", 0)  # every file parsed on its own, in this process
    monkeypatch.setattr(readers, "FAST_CSV_BYTES", 0)  # and every regular CSV read by Arrow
    one_by_one = engine.load_tables(contracts, alone, KEY, workers=1)
    monkeypatch.undo()
    # two spawned workers with the default grouping: hundreds of small WeCom/OA files per group
    together = engine.load_tables(contracts, pooled, KEY, workers=2, parallel_min_bytes=0)

    groups = [unit for c in contracts for unit in engine._plan(c, pooled, True, None, engine.TableReport(c.table))]
    assert max(len(unit) for unit in groups) > 100, "the demo should exercise groups of small files"
    for contract in contracts:
        a, b = one_by_one[contract.table], together[contract.table]
        assert [(f.source_file, f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) for f in a.files] == \
               [(f.source_file, f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) for f in b.files]
        assert a.rows_read > 0 and a.rows_read == a.rows_loaded + a.rows_quarantined
        for folder in ("raw", "quarantine", "loads"):
            assert _lake_rows(alone.lake, folder, contract.table) == _lake_rows(pooled.lake, folder, contract.table), \
                f"{contract.table}: {folder} differs between file-by-file and grouped parallel loading"
    quarantined = sum(r.rows_quarantined for r in together.values())
    assert quarantined > 0, "the demo's injected bad rows must reach quarantine on both paths"


def test_fast_csv_reader_numbers_rows_like_the_exact_reader_and_falls_back_on_irregular_lines(tmp_path, monkeypatch):
    from tests.ingest.test_engine import TMALL_ROWS, write_tmall

    monkeypatch.setattr(readers, "FAST_CSV_BYTES", 0)
    monkeypatch.setattr(engine, "SMALL_FILE_BYTES", 0)  # each file alone: the path that tries Arrow first
    contract = load_contracts()["tmall_orders"]
    score = engine.header_score(contract)
    # a quoted newline inside an address is regular: the row after it starts two lines later
    regular_rows = [r for r in TMALL_ROWS if r.count(",") >= 10] + [TMALL_ROWS[1].replace("24", "99", 1)]
    outcome = {}
    for reader_bytes in (0, 1 << 40):  # Arrow, then the exact Python reader
        monkeypatch.setattr(readers, "FAST_CSV_BYTES", reader_bytes)
        paths = paths_from_env({"QUANYU_HOME": str(tmp_path / f"regular{reader_bytes}")}).ensure()
        path = write_tmall(paths, rows=regular_rows)
        os.utime(path, (1_780_000_000, 1_780_000_000))  # one export time for both (ingest.export_time)
        batch = next(readers.open_source(path, (), (), score).batches)
        assert all(hasattr(v, "type") for v in batch.values.values()) == (reader_bytes == 0)
        engine.load_table(contract, paths, KEY)
        outcome[reader_bytes] = [_lake_rows(paths.lake, folder, contract.table) for folder in ("raw", "quarantine")]
    assert outcome[0] == outcome[1 << 40]
    assert [row for row in outcome[0][0] if "29871234567890199" in repr(row)], "the row after the quoted newline loads"

    monkeypatch.setattr(readers, "FAST_CSV_BYTES", 0)
    irregular = paths_from_env({"QUANYU_HOME": str(tmp_path / "irregular")}).ensure()
    path = write_tmall(irregular)  # a short row: Arrow cannot number it, the exact reader quarantines it
    with __import__("pytest").raises(readers.FastPathUnsuitable):
        list(readers.open_source(path, (), (), score).batches)
    (fast,) = engine.load_table(contract, irregular, KEY).files
    assert (fast.rows_read, fast.rows_loaded, fast.rows_quarantined) == (6, 3, 3)
