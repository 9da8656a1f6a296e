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


def _mp_order(number, **changes):
    order = {"order_no": f"LJ2026010{number:05d}", "transaction_id": f"42000{number:08d}", "openid": f"oVx{number:06d}",
             "member_card_no": f"8800{number:08d}", "status": "COMPLETED", "delivery_type": "EXPRESS",
             "total_fee": 3200 + number, "discount_fee": 0, "pay_fee": 3200 + number, "refund_fee": 0,
             "create_time": "2026-01-05 06:19:57", "pay_time": "2026-01-05 06:22:19", "update_time": None,
             "store_code": "S0275", "guide_id": None, "coupon_code": "", "item_count": 1, "is_gift": False,
             "receiver_name": "赵涛伟", "receiver_mobile": "17692899278",
             "receiver_address": "江苏省苏州市工业园区建设路667号"}
    order.update(changes)
    return order


def _jsonl(path, lines):
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
                            for line in lines), encoding="utf-8")
    os.utime(path, (1_780_000_000, 1_780_000_000))  # one export time on every path (ingest.export_time)
    return path


def test_arrow_jsonl_reader_lands_what_the_exact_reader_lands_and_falls_back_on_what_it_cannot_number(
        tmp_path, monkeypatch):
    import pytest

    contract = load_contracts()["mp_orders"]
    # flat objects: texts, ints, a boolean, nulls; a bad time and a missing status are quarantined (their
    # evidence shows the ints as JSON numbers), a pay time of "yesterday" is a cell issue
    regular = [_mp_order(i) for i in range(1, 40)] + [
        _mp_order(40, create_time="2026-13-45 99:00:00"), _mp_order(41, status=None, total_fee=-5),
        _mp_order(42, pay_time="yesterday", guide_id="E100250"), _mp_order(43, update_time="2026-01-06 10:00:00")]
    irregular = {  # each makes Arrow's reader unusable for the file; the exact reader still loads it
        "blank line": regular[:3] + [""] + regular[3:6],
        "a float": regular[:3] + [_mp_order(50, total_fee=12.5)],
        "an integer over int64": regular[:3] + [_mp_order(51, total_fee=10**20)],
        "a key twice": regular[:3] + ['{"order_no": "A1", "status": "PAID", "status": "CLOSED", '
                                      '"create_time": "2026-01-05 06:19:57"}'],
        "a changed type": regular[:3] + [_mp_order(52, item_count="two")],
        "a list": regular[:3] + [[1, 2]],
        "a nested object": regular[:3] + [_mp_order(53, receiver_address={"city": "苏州"})],
        "a broken line": regular[:3] + ['{"order_no": "A2", "status'],
        "a carriage return": regular[:3] + ['{"order_no": "A3",\r "status": "PAID", "create_time": "2026-01-05"}'],
    }
    exact_only = readers._arrow_jsonl_source

    def refuse(path):
        raise readers.FastPathUnsuitable("exact reader asked for")

    cases = [(name, lines, False) for name, lines in {"regular": regular, **irregular}.items()]
    cases.append(("regular, streamed in small blocks and batches", regular, True))
    for name, lines, streamed in cases:
        if streamed:  # a file over JSONL_KEEP_BYTES: a first sample, blocks, batches cut across blocks
            for setting, value in (("JSONL_KEEP_BYTES", 0), ("JSONL_STREAM_BLOCK", 4096),
                                   ("JSONL_SAMPLE_BYTES", 2048), ("BATCH_ROWS", 7)):
                monkeypatch.setattr(readers, setting, value)
        outcome = {}
        for reader in ("arrow", "exact"):
            monkeypatch.setattr(readers, "_arrow_jsonl_source", exact_only if reader == "arrow" else refuse)
            paths = paths_from_env({"QUANYU_HOME": str(tmp_path / f"{name}-{reader}")}).ensure()
            path = _jsonl(paths.landing / "mini_program" / "orders" / "mp_orders_202601.jsonl", lines)
            if reader == "arrow":
                if name.startswith("regular"):
                    batches = list(readers.open_source(path, (), (), engine.header_score(contract)).batches)
                    assert all(hasattr(v, "type") for b in batches for v in b.values.values()), "Arrow read it"
                    assert [list(b.numbers) for b in batches] == [list(range(1, 44))[i:i + readers.BATCH_ROWS]
                                                                  for i in range(0, 43, readers.BATCH_ROWS)]
                else:
                    with pytest.raises(readers.FastPathUnsuitable):
                        list(readers.open_source(path, (), (), engine.header_score(contract)).batches)
            (report,) = engine.load_table(contract, paths, KEY).files
            outcome[reader] = ([report.status, report.rows_read, report.rows_loaded, report.rows_quarantined,
                                report.blank_rows, report.unmapped_columns]
                               + [_lake_rows(paths.lake, folder, contract.table) for folder in ("raw", "quarantine")])
        assert outcome["arrow"] == outcome["exact"], f"{name}: the two readers land different rows"
        if name.startswith("regular"):
            assert outcome["arrow"][:4] == ["loaded", 43, 41, 2]
            evidence = " ".join(repr(row) for row in outcome["arrow"][-1])
            assert '"total_fee": -5' in evidence and "COMPLETED" in evidence
