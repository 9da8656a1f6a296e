"""Load one raw table: every landing file its contract matches -> raw + quarantine Parquet.

Guarantees, per file:
* idempotent: a file is identified by the SHA-256 of its bytes; a content already in the
  ledger is skipped, so loading the same export twice (or under two names) changes nothing;
* nothing lost: rows_read == rows_loaded + rows_quarantined, checked before the ledger entry
  (the commit marker) is written; blank lines are counted apart;
* no raw personal data: only contract columns land, PII types are hashed or dropped, and
  quarantined rows keep only non-personal fields;
* loud failure for whole-file problems (encoding, missing required column): the file is
  rejected with a message naming it, the column and the aliases tried; other files still load.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.contract import QUARANTINE_SCHEMA, Contract, normalise_header
from ingest.pii import HashKey, key_from_env, redact_text
from ingest.readers import Batch, BrokenRow, FileFormatError, open_source
from ingest.settings import Paths
from ingest.values import parse_column

log = logging.getLogger(__name__)

LEDGER_SCHEMA = pa.schema([
    ("load_id", pa.string()), ("table_name", pa.string()), ("source_file", pa.string()),
    ("file_sha256", pa.string()), ("file_bytes", pa.int64()), ("file_format", pa.string()),
    ("encoding", pa.string()), ("header_row", pa.int64()), ("mapped_columns", pa.string()),
    ("unmapped_columns", pa.string()), ("absent_columns", pa.string()),
    ("rows_read", pa.int64()), ("rows_loaded", pa.int64()), ("rows_quarantined", pa.int64()),
    ("blank_rows", pa.int64()), ("contract_sha256", pa.string()), ("hash_key_version", pa.string()),
    ("loaded_at", pa.timestamp("us")), ("seconds", pa.float64()),
])


class MissingColumnError(ValueError):
    """A required contract column matches no header of the file."""


@dataclass
class FileReport:
    """What happened to one landing file in one run."""

    source_file: str
    file_sha256: str
    status: str  # loaded | skipped | rejected
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    blank_rows: int = 0
    message: str = ""
    encoding: str | None = None
    unmapped_columns: list[str] = field(default_factory=list)


@dataclass
class TableReport:
    """The outcome of loading one table: per-file reports and totals."""

    table: str
    files: list[FileReport] = field(default_factory=list)

    def _total(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files if f.status == "loaded")

    @property
    def rows_read(self) -> int:
        return self._total("rows_read")

    @property
    def rows_loaded(self) -> int:
        return self._total("rows_loaded")

    @property
    def rows_quarantined(self) -> int:
        return self._total("rows_quarantined")

    def with_status(self, status: str) -> list[FileReport]:
        return [f for f in self.files if f.status == status]

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "files": [asdict(f) for f in self.files]}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def beijing_now() -> dt.datetime:
    """Wall-clock Beijing time without tzinfo: every timestamp in the warehouse is in this frame."""
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None, microsecond=0)


def landing_files(contract: Contract, landing: Path) -> list[Path]:
    """Files the contract reads, sorted; editor and OS droppings (``~$x.xlsx``, ``.DS_Store``) skipped."""
    return sorted(p for p in landing.glob(contract.glob)
                  if p.is_file() and not p.name.startswith(("~$", ".", "_")))


def map_headers(contract: Contract, headers: list[str], file_label: str) -> tuple[dict[str, str], list[str]]:
    """Canonical column -> the file's header; unmapped headers. Raises on a missing required column."""
    by_norm: dict[str, str] = {}
    for header in headers:
        by_norm.setdefault(normalise_header(header), header)
    mapping: dict[str, str] = {}
    for column in contract.columns:
        for alias in column.aliases:
            if normalise_header(alias) in by_norm:
                mapping[column.name] = by_norm[normalise_header(alias)]
                break
    for column in contract.required:
        if column.name not in mapping:
            shown = ", ".join(headers[:40]) + (" ..." if len(headers) > 40 else "")
            raise MissingColumnError(
                f"{file_label}: required column {column.name!r} of table {contract.table!r} is missing; "
                f"tried aliases {list(column.aliases)}; the file's headers are: {shown}")
    used = set(mapping.values())
    # ^fields are the API envelope (errcode, next_cursor ...), not record columns
    return mapping, [h for h in headers if h not in used and h and not h.startswith("^")]


def header_score(contract: Contract):
    aliases = {normalise_header(a) for c in contract.columns for a in c.aliases}
    return lambda headers: sum(normalise_header(h) in aliases for h in headers)


def _as_text(value: Any, kind: str) -> str | None:
    """JSON leaves to the text the parsers expect (spreadsheet and CSV values already are)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list) and kind == "mobile":
        return next((_as_text(v, kind) for v in value if v not in (None, "")), None)
    return json.dumps(value, ensure_ascii=False)


class _TableWriter:
    """Streams batches to a temporary Parquet file and moves it into place on commit."""

    def __init__(self, target: Path, schema: pa.Schema):
        self.target, self.schema = target, schema
        self.temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self.writer is None:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.temp, self.schema, compression="zstd")
        if table.num_rows:
            self.writer.write_table(table)
            self.rows += table.num_rows

    def commit(self, always: bool) -> None:
        if self.writer is None and always:
            self.write(self.schema.empty_table())
        if self.writer is not None:
            self.writer.close()
            os.replace(self.temp, self.target)

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.temp.unlink(missing_ok=True)


class _FileLoader:
    """Loads one file for one contract (state of a single load)."""

    def __init__(self, contract: Contract, paths: Paths, key: HashKey, path: Path, sha: str,
                 loaded_at: dt.datetime):
        self.contract, self.paths, self.key, self.path, self.sha = contract, paths, key, path, sha
        self.label = path.relative_to(paths.landing).as_posix()
        self.loaded_at = loaded_at
        self.load_id = f"{contract.table}/{sha[:16]}"
        self.mapping: dict[str, str] = {}
        self.pii_headers: set[str] = set()
        self.keep_headers: dict[str, str] = {}

    def lineage(self, numbers: list[int]) -> dict[str, pa.Array]:
        n = len(numbers)
        return {
            "_source_file": pa.array([self.label] * n, pa.string()),
            "_source_row": pa.array(numbers, pa.int64()),
            "_file_sha256": pa.array([self.sha] * n, pa.string()),
            "_load_id": pa.array([self.load_id] * n, pa.string()),
            "_loaded_at": pa.array([self.loaded_at] * n, pa.timestamp("us")),
            "_hash_key_version": pa.array([self.key.version] * n, pa.string()),
        }

    def redacted(self, cells: dict[str, Any]) -> str:
        """The row as evidence for a human, minus anything personal."""
        shown = {}
        for header, value in cells.items():
            if header in self.pii_headers:
                shown[header] = "<redacted>"
            elif header in self.keep_headers:
                shown[header] = value
        return redact_text(json.dumps(shown, ensure_ascii=False, default=str))

    def parse(self, batch: Batch, json_source: bool) -> tuple[pa.Table, pa.Table]:
        n = len(batch)
        arrays: dict[str, pa.Array] = {}
        errors = pd.Series(pd.NA, index=range(n), dtype="str")
        failed = pd.Series(pd.NA, index=range(n), dtype="str")
        for column in self.contract.loaded_columns:
            header = self.mapping.get(column.name)
            values = batch.values.get(header) if header else None
            if values is None:
                values = [None] * n
            elif json_source:
                values = [_as_text(v, column.type) for v in values]
            parsed = parse_column(column, pd.Series(values, dtype="object"), self.key)
            col_errors = parsed.errors
            if column.required:
                first = next(iter(parsed.arrays.values()))
                empty = pd.Series(first.is_null().to_numpy(zero_copy_only=False)) & col_errors.isna()
                col_errors = col_errors.mask(empty, column.name + ": required value is empty")
            has = col_errors.notna()
            errors = errors.mask(has & errors.notna(), errors + "; " + col_errors).mask(has & errors.isna(), col_errors)
            failed = failed.mask(has & failed.notna(), failed + "," + column.name).mask(has & failed.isna(), column.name)
            arrays.update(parsed.arrays)
        good = errors.isna().to_numpy()
        raw = pa.table({**arrays, **self.lineage(batch.numbers)}, schema=self.contract.schema).filter(pa.array(good))
        return raw, self.quarantine_rows(batch, ~good, errors, failed)

    def quarantine_rows(self, batch: Batch, bad: Any, errors: pd.Series, failed: pd.Series) -> pa.Table:
        rows: list[tuple[int, str, str | None, str]] = []
        for i in bad.nonzero()[0]:
            cells = {h: batch.values[h][i] for h in batch.values}
            rows.append((batch.numbers[i], errors.iat[i], failed.iat[i], self.redacted(cells)))
        for broken in batch.broken:
            evidence = self.redacted(broken.cells) if broken.cells is not None else (broken.note or "")
            rows.append((broken.row, broken.reason, None, evidence))
        rows.sort(key=lambda r: r[0])
        numbers = [r[0] for r in rows]
        return pa.table({
            **{k: v for k, v in self.lineage(numbers).items() if k != "_hash_key_version"},
            "reason": pa.array([r[1] for r in rows], pa.string()),
            "failed_columns": pa.array([r[2] for r in rows], pa.string()),
            "raw_record": pa.array([r[3] for r in rows], pa.string()),
        }, schema=QUARANTINE_SCHEMA)

    def run(self) -> FileReport:
        started = time.perf_counter()
        contract = self.contract
        source = open_source(self.path, contract.record_path, contract.explode, header_score(contract))
        self.mapping, unmapped = map_headers(contract, source.headers, self.label)
        by_name = {c.name: c for c in contract.columns}
        self.pii_headers = {h for name, h in self.mapping.items() if by_name[name].is_pii}
        self.keep_headers = {h: name for name, h in self.mapping.items() if not by_name[name].is_pii}
        stem = self.sha[:20]
        raw_out = _TableWriter(self.paths.raw / contract.table / f"{stem}.parquet", contract.schema)
        bad_out = _TableWriter(self.paths.quarantine / contract.table / f"{stem}.parquet", QUARANTINE_SCHEMA)
        read = 0
        try:
            for batch in source.batches:
                raw, bad = self.parse(batch, source.file_format in ("json", "jsonl"))
                read += len(batch) + len(batch.broken)
                raw_out.write(raw)
                bad_out.write(bad)
        except BaseException:
            raw_out.abort(), bad_out.abort()
            raise
        if raw_out.rows + bad_out.rows != read:
            raw_out.abort(), bad_out.abort()
            raise AssertionError(f"{self.label}: reconciliation failed: read {read}, "
                                 f"loaded {raw_out.rows} + quarantined {bad_out.rows}")
        raw_out.commit(always=True)
        bad_out.commit(always=False)
        report = FileReport(self.label, self.sha, "loaded", read, raw_out.rows, bad_out.rows,
                            len(source.blank_rows), encoding=source.encoding, unmapped_columns=unmapped)
        self.write_ledger(source, report, absent=[c.name for c in contract.columns if c.name not in self.mapping],
                          seconds=time.perf_counter() - started)
        return report

    def write_ledger(self, source: Any, report: FileReport, absent: list[str], seconds: float) -> None:
        row = {
            "load_id": self.load_id, "table_name": self.contract.table, "source_file": self.label,
            "file_sha256": self.sha, "file_bytes": self.path.stat().st_size, "file_format": source.file_format,
            "encoding": source.encoding, "header_row": source.header_row,
            "mapped_columns": json.dumps(self.mapping, ensure_ascii=False),
            "unmapped_columns": json.dumps(report.unmapped_columns, ensure_ascii=False),
            "absent_columns": json.dumps(absent), "rows_read": report.rows_read,
            "rows_loaded": report.rows_loaded, "rows_quarantined": report.rows_quarantined,
            "blank_rows": report.blank_rows, "contract_sha256": self.contract.sha256,
            "hash_key_version": self.key.version, "loaded_at": self.loaded_at, "seconds": round(seconds, 3),
        }
        writer = _TableWriter(ledger_path(self.paths, self.contract, self.sha), LEDGER_SCHEMA)
        writer.write(pa.Table.from_pylist([row], schema=LEDGER_SCHEMA))
        writer.commit(always=True)


def ledger_path(paths: Paths, contract: Contract, sha: str) -> Path:
    return paths.ledger / contract.table / f"{sha[:20]}.parquet"


def ensure_table_dirs(contract: Contract, paths: Paths) -> None:
    """Give each table an empty, schema-bearing Parquet file so readers never glob nothing.

    The file also carries the full current schema, so ``union_by_name`` shows columns that
    older loads did not have yet.
    """
    for folder, schema in ((paths.raw, contract.schema), (paths.quarantine, QUARANTINE_SCHEMA),
                           (paths.ledger, LEDGER_SCHEMA)):
        target = folder / contract.table / "_schema.parquet"
        if target.exists() and pq.read_schema(target).equals(schema):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        pq.write_table(schema.empty_table(), temp)
        os.replace(temp, target)


def load_table(contract: Contract, paths: Paths, key: HashKey | None = None, reload: bool = False,
               files: list[Path] | None = None) -> TableReport:
    """Load every new landing file of ``contract``; see the module docstring for the guarantees."""
    key = key or key_from_env()
    ensure_table_dirs(contract, paths)
    report = TableReport(contract.table)
    seen: dict[str, str] = {}
    loaded_at = beijing_now()
    for path in files if files is not None else landing_files(contract, paths.landing):
        label = path.relative_to(paths.landing).as_posix()
        sha = file_sha256(path)
        if sha in seen:
            report.files.append(FileReport(label, sha, "skipped", message=f"same content as {seen[sha]}"))
            continue
        seen[sha] = label
        if not reload and ledger_path(paths, contract, sha).exists():
            report.files.append(FileReport(label, sha, "skipped", message="already loaded (same SHA-256)"))
            continue
        try:
            report.files.append(_FileLoader(contract, paths, key, path, sha, loaded_at).run())
        except (FileFormatError, MissingColumnError, UnicodeDecodeError) as exc:
            log.error("rejected %s: %s", label, exc)
            report.files.append(FileReport(label, sha, "rejected", message=str(exc)))
    return report
