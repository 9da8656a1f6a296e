"""Grouping small files and loading in worker processes change speed, never results."""
import duckdb

from demo.generate import generate
from ingest import engine, readers
from ingest.contract import load_contracts
from ingest.pii import HashKey
from ingest.settings import paths_from_env

KEY = HashKey(b"k", "test")
VOLATILE = {"_loaded_at", "loaded_at", "seconds"}


def _lake_rows(lake, folder, table):
    con = duckdb.connect()
    columns = [r[0] for r in con.execute(
        f"describe select * from read_parquet('{lake}/{folder}/{table}/*.parquet', union_by_name=true)").fetchall()]
    kept = ", ".join(f'"{c}"' for c in columns if c not in VOLATILE)
    return sorted(con.execute(f"select {kept} from read_parquet('{lake}/{folder}/{table}/*.parquet', "
                              "union_by_name=true)").fetchall(), key=repr)


def test_grouped_parallel_load_equals_file_by_file(tmp_path, monkeypatch):
    contracts = list(load_contracts().values())
    alone, pooled = (paths_from_env({"QUANYU_HOME": str(tmp_path / name)}).ensure() for name in ("alone", "pooled"))
    for paths in (alone, pooled):
        generate(paths.home, members=400)

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


def test_fast_csv_reader_is_used_for_regular_files_and_falls_back_on_irregular_ones(tmp_path, monkeypatch):
    from tests.ingest.test_engine import TMALL_ROWS, write_tmall

    monkeypatch.setattr(readers, "FAST_CSV_BYTES", 0)
    monkeypatch.setattr(engine, "SMALL_FILE_BYTES", 0)  # each file alone: the path that tries Arrow first
    contract = load_contracts()["tmall_orders"]
    score = engine.header_score(contract)
    homes = {name: paths_from_env({"QUANYU_HOME": str(tmp_path / name)}).ensure() for name in ("regular", "irregular")}
    regular = write_tmall(homes["regular"], rows=[r for r in TMALL_ROWS if "\n" not in r and r.count(",") >= 10])
    batch = next(readers.open_source(regular, (), (), score).batches)
    assert all(hasattr(v, "type") for v in batch.values.values()), "a regular GBK file goes through Arrow"

    irregular = write_tmall(homes["irregular"])  # a quoted newline and a short row
    with __import__("pytest").raises(readers.FastPathUnsuitable):
        list(readers.open_source(irregular, (), (), score).batches)
    fast = engine.load_table(contract, homes["irregular"], KEY)
    monkeypatch.setattr(readers, "FAST_CSV_BYTES", 1 << 40)
    exact = engine.load_table(contract, homes["irregular"], KEY, reload=True)
    assert [(f.rows_read, f.rows_loaded, f.rows_quarantined) for f in fast.files] == \
           [(f.rows_read, f.rows_loaded, f.rows_quarantined) for f in exact.files] == [(6, 2, 4)]
