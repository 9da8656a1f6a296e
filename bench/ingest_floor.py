"""Ingest against its floor: the same landing files read into Arrow by stock readers, no more.

``python -m bench.ingest_floor --home DIR [--members N] [--repeat 3] [--workers W]``

The floor is what any loader of these exports must pay: every file a contract matches read into
an Arrow table by the stock reader of its format (pyarrow's CSV reader with the file's encoding,
python-calamine for XLSX sheets, ``json`` plus ``pa.Table.from_pylist`` for API answers, pyarrow's
JSON-lines reader), in a pool of the same number of processes, the largest files first. Ingest is
the real ``ingest.engine.load_tables`` of every contract into a fresh lake (hashing, validation,
quarantine, lineage, the ledger, Parquet). The two alternate ``--repeat`` times in one process so
that the machine's noise falls on both; the ratio of the medians is the figure (issue 20: <= 1.3x).

``--members N`` generates a brand in DIR first when DIR has no landing folder.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ingest.contract import Contract, load_contracts
from ingest.engine import landing_files, load_tables
from ingest.settings import Paths, ingest_workers

# How many lines may sit above a CSV header (report titles and export notes of the back offices).
HEADER_SCAN_LINES = 20


def _header_skip(path: Path, encoding: str) -> tuple[int, str]:
    """Lines above the header and the delimiter: the header is the first line with the most fields."""
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        lines = [line for _, line in zip(range(HEADER_SCAN_LINES), handle, strict=False)]
    delimiter = max(",\t;|", key=lambda d: sum(line.count(d) for line in lines))
    widest = max(line.count(delimiter) for line in lines) if lines else 0
    skip = next((i for i, line in enumerate(lines) if line.count(delimiter) == widest), 0)
    return skip, delimiter


def read_floor(path: str, fmt: str, record_path: tuple[str, ...]) -> int:
    """Rows of one file read into Arrow by the stock reader of its format (a worker's task)."""
    import pyarrow as pa

    file = Path(path)
    if fmt == "excel":
        from python_calamine import CalamineWorkbook

        rows = 0
        book = CalamineWorkbook.from_path(path)
        for name in book.sheet_names:
            values = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            if len(values) > 1:
                header = [str(h) for h in values[0]]
                columns = list(zip(*values[1:], strict=False))
                table = pa.table({f"{i}:{h}": pa.array([None if v == "" else str(v) for v in col])
                                  for i, (h, col) in enumerate(zip(header, columns, strict=False))})
                rows += table.num_rows
        return rows
    if fmt == "jsonl":
        import pyarrow.json as pajson

        try:
            return pajson.read_json(path).num_rows
        except pa.ArrowInvalid:  # a broken line fails Arrow's reader: parse line by line, skip it
            records = []
            for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
            return pa.Table.from_pylist([r for r in records if isinstance(r, dict)]).num_rows
    if fmt == "json":
        document = json.loads(file.read_bytes())
        node = document
        for key in record_path:
            if isinstance(node, dict) and key in node:
                node = node[key]
                break
        records = node if isinstance(node, list) else [node]
        return pa.Table.from_pylist([r if isinstance(r, dict) else {"value": r} for r in records]).num_rows
    import pyarrow.csv as pacsv

    from ingest.readers import detect_encoding

    encoding = detect_encoding(file)
    skip, delimiter = _header_skip(file, encoding)
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=encoding, skip_rows=skip, block_size=16 << 20),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                         invalid_row_handler=lambda row: "skip"),
        convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
    )
    return table.num_rows


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return "excel"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    return "csv"


def floor_files(contracts: list[Contract], landing: Path) -> list[tuple[str, str, tuple[str, ...], int]]:
    """Every file a contract matches, largest first (as the loader orders its units)."""
    files = []
    for contract in contracts:
        for path in landing_files(contract, landing):
            files.append((str(path), file_format(path), contract.record_path, path.stat().st_size))
    return sorted(files, key=lambda f: -f[3])


def run_floor(files: list[tuple[str, str, tuple[str, ...], int]], workers: int) -> tuple[float, int]:
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        rows = sum(pool.map(read_floor, [f[0] for f in files], [f[1] for f in files], [f[2] for f in files],
                            chunksize=max(1, len(files) // (workers * 8))))
    return time.perf_counter() - start, rows


def run_ingest(home: Path, contracts: list[Contract], workers: int) -> tuple[float, int]:
    scratch = Path(tempfile.mkdtemp(prefix="ingest-floor-", dir=home))
    paths = Paths(home=home, landing=home / "landing", lake=scratch / "lake", warehouse=scratch / "quanyu.duckdb")
    paths.ensure()
    try:
        start = time.perf_counter()
        reports = load_tables(contracts, paths, workers=workers)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return seconds, sum(r.rows_read for r in reports.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--members", type=int, help="generate a brand of this size first if DIR has none")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="processes for both (default: the cores)")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    if not (home / "landing").exists():
        if not args.members:
            parser.error(f"{home / 'landing'} does not exist: pass --members to generate a brand")
        subprocess.run([sys.executable, "-m", "demo.generate", "--out", str(home), "--members", str(args.members)],
                       check=True)
    workers = args.workers or ingest_workers()
    contracts = sorted(load_contracts().values(), key=lambda c: c.table)
    files = floor_files(contracts, home / "landing")
    size_mb = sum(f[3] for f in files) / 2**20
    print(f"{len(files):,} landing files, {size_mb:,.0f} MB, {workers} processes, {args.repeat} alternating runs",
          flush=True)
    floor_s, ingest_s = [], []
    for i in range(args.repeat):
        seconds, floor_rows = run_floor(files, workers)
        floor_s.append(seconds)
        print(f"  run {i + 1}: floor  {seconds:8.1f} s  {floor_rows:>12,} rows", flush=True)
        seconds, ingest_rows = run_ingest(home, contracts, workers)
        ingest_s.append(seconds)
        print(f"  run {i + 1}: ingest {seconds:8.1f} s  {ingest_rows:>12,} rows read", flush=True)
    floor_m, ingest_m = statistics.median(floor_s), statistics.median(ingest_s)
    print(f"median: floor {floor_m:.1f} s, ingest {ingest_m:.1f} s, ingest/floor {ingest_m / floor_m:.2f}x "
          f"(target <= 1.3x)")
    (home / "ingest_floor.json").write_text(json.dumps(
        {"files": len(files), "megabytes": round(size_mb, 1), "workers": workers, "floor_seconds": floor_s,
         "ingest_seconds": ingest_s, "ratio": ingest_m / floor_m}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
