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
import multiprocessing
import os
import re
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.atomic import commit, temp_path
from ingest.contract import QUARANTINE_SCHEMA, Contract, normalise_header
from ingest.export_time import ExportTime, export_time
from ingest.hash_keys import check_load_key
from ingest.lake import (
    LEDGER,
    QUARANTINE,
    RAW,
    LoadedFile,
    commit_loaded,
    ensure_table,
    loaded_stems,
    loosen,
    per_file,
    segment_of,
    stem,
)
from ingest.pii import (
    MOBILE_IN_TEXT_RE2,
    HashKey,
    forget_values,
    key_from_env,
    mobiles_as_numbers,
    mobiles_in_text,
    personal_placeholder,
    redact_text,
)
from ingest.readers import Batch, FastPathUnsuitable, FileFormatError, Sheet, open_source
from ingest.settings import Paths, business_now, ingest_workers, landing_settle_seconds
from ingest.suppression import Suppressor, suppress
from ingest.values import parse_column

log = logging.getLogger(__name__)

# Files below this size are parsed together with others of their table (WeCom and OA answers
# come as thousands of small files: parsing each alone costs more in per-call overhead than
# in rows). Each file still gets its own ledger entry, quarantine file and row count, but a group's raw
# and ledger rows are committed as one lake segment (ingest.lake.commit_loaded): one Parquet write and
# fsync per group instead of two per file.
SMALL_FILE_BYTES = 4 << 20
GROUP_BYTES = 24 << 20
PARALLEL_MIN_BYTES = 32 << 20

LEDGER_SCHEMA = pa.schema([
    ("load_id", pa.string()), ("table_name", pa.string()), ("source_file", pa.string()),
    ("file_sha256", pa.string()), ("file_bytes", pa.int64()), ("file_format", pa.string()),
    ("encoding", pa.string()), ("header_row", pa.int64()), ("mapped_columns", pa.string()),
    ("unmapped_columns", pa.string()), ("absent_columns", pa.string()),
    ("rows_read", pa.int64()), ("rows_loaded", pa.int64()), ("rows_quarantined", pa.int64()),
    ("blank_rows", pa.int64()), ("contract_sha256", pa.string()), ("hash_key_version", pa.string()),
    ("loaded_at", pa.timestamp("us")), ("seconds", pa.float64()),
    # when the file was exported and what said so (title line, file name, file modified): ingest.export_time
    ("exported_at", pa.timestamp("us")), ("exported_at_from", pa.string()),
    # rows of erased persons: not loaded (the suppression list), or taken out later (python -m orchestration.erase)
    ("rows_suppressed", pa.int64()), ("rows_erased", pa.int64()),
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
    rows_suppressed: int = 0  # rows of erased persons, not loaded (ingest.suppression)


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

    @property
    def rows_suppressed(self) -> int:
        return self._total("rows_suppressed")

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


# Names of files that are not an export yet: editor locks and OS droppings (~$x.xlsx, .DS_Store),
# and the names copy tools and browsers give a file until it is complete.
IGNORED_PREFIXES = ("~$", ".", "_")
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".filepart", ".uploading",
                        ".lock", ".swp", ".done")  # (.done: a marker, see _marked_complete)
LINE_FORMATS = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson")
# The mobile scan's column types: text by pattern, numbers by range (an amount or count column holding
# 13512345678 lands it as a number). Dates, times and booleans cannot hold one.
TEXT_TYPES = ("string", "json", "region")
NUMBER_TYPES = ("int", "amount", "amount_fen", "decimal")
_MOBILE_NAME = re.compile(MOBILE_IN_TEXT_RE2)


def landing_files(contract: Contract, landing: Path) -> list[Path]:
    """Files the contract reads, sorted; droppings and files still being copied (by name) skipped.

    Symbolic links are listed, not followed (``is_symlink`` before ``is_file``, which would follow
    one): the loader refuses each by name (``landing_refusal``), the sensor lists them unread.
    """
    return sorted(p for p in landing.glob(contract.glob)
                  if (p.is_symlink() or p.is_file()) and not p.name.startswith(IGNORED_PREFIXES)
                  and not p.name.lower().endswith(IN_PROGRESS_SUFFIXES))


def landing_label(path: Path, landing: Path) -> str:
    """The path under the landing folder (lineage's ``_source_file``); a path outside it as given."""
    absolute = Path(os.path.abspath(path))
    return absolute.relative_to(landing).as_posix() if absolute.is_relative_to(landing) else str(path)


def landing_refusal(path: Path, landing: Path) -> str | None:
    """Why a landing path is refused without being opened, or None.

    A symbolic link (or a path through a linked folder) is refused wherever it points: a link
    can make a brand's landing folder read any file the loader's account can read (another
    brand's export, a key file) and land it as this channel's data, under this path's name. A
    path outside the landing folder (an explicit file list) is refused too. ``landing`` is resolved
    (``ingest.settings.Paths``), so a landing folder that is itself a link is fine.
    """
    absolute = Path(os.path.abspath(path))
    if not absolute.is_relative_to(landing):
        return f"is outside the landing folder {landing}; only files under it are loaded"
    resolved = Path(os.path.realpath(absolute))
    if resolved != absolute:
        where = "inside" if resolved.is_relative_to(landing) else "outside"
        return (f"is a symbolic link, or lies in a linked folder, that resolves {where} the landing folder; links "
                f"are not followed, so it is not read (copy the export itself into the landing folder)")
    return None


def _marked_complete(path: Path, stat: os.stat_result) -> bool:
    """A done marker newer than the file: ``<file>.done`` or the folder's ``_SUCCESS``."""
    for marker in (path.with_name(path.name + ".done"), path.parent / "_SUCCESS"):
        if marker.exists() and marker.stat().st_mtime_ns >= stat.st_mtime_ns:
            return True
    return False


def still_being_written(path: Path, before: os.stat_result, settle_seconds: float) -> str | None:
    """Why a file looks unfinished, or None: it changed while it was read (a copy in progress), or
    it is a line file modified in the last ``settle_seconds`` whose last line has no end yet."""
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        return "still being written (it changed while it was read); it loads once it is complete"
    if (path.suffix.lower() in LINE_FORMATS and time.time() - after.st_mtime < settle_seconds and after.st_size
            and not _marked_complete(path, after)):
        ends = {b"\n"[0], b"\r"[0]}
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
            handle.seek(-min(4, after.st_size), os.SEEK_END)
            # cut: lines before, none at the end (the last 4 bytes: UTF-16 and -32 too); a file with no
            # line end at all is no line file mid-copy, and its reader says what it is
            if ends & set(head) and not ends & set(handle.read()):
                return (f"still being written (its last line has no end and it changed in the last "
                        f"{settle_seconds:.0f} s); it loads once it is complete")
    return None


class DuplicateColumnError(ValueError):
    """Two headers of a tabular file give the same contract column: which one holds it is unknown."""


def _duplicated_columns(contract: Contract, headers: list[str], file_label: str) -> None:
    """Raise when two header positions map to one contract column (``手机号`` twice, ``手机号 `` and
    ``手机号``, ``card_no`` and ``会员卡号``, full-width variants).

    Before, a CSV's last such column won and two aliases resolved to the first alias: one of two
    differing values was loaded without a word. Comparing the columns' values would save a file whose
    copies agree, but a file in which a column appears twice was built by hand; refusing it is safe.
    """
    for column in contract.columns:
        aliases = {normalise_header(a) for a in column.aliases}
        found = [(i + 1, h) for i, h in enumerate(headers) if normalise_header(h) in aliases]
        if len(found) > 1:
            shown = " and ".join(f"{h!r} (column {i})" for i, h in found)
            raise DuplicateColumnError(
                f"{file_label}: column {column.name!r} of table {contract.table!r} is given {len(found)} times, "
                f"by headers {shown}; which one holds it is unknown, so the file is not loaded "
                f"(remove or rename all but one)")


def map_headers(contract: Contract, headers: list[str], file_label: str,
                tabular: bool = True) -> tuple[dict[str, str], list[str]]:
    """Canonical column -> the file's header; unmapped headers. Raises on a missing required column,
    and, for a tabular file (CSV, a sheet), on a contract column given by two headers.

    JSON headers are the union of the records' paths: two records may name a column by different
    aliases, and the first alias present keeps its old precedence there.
    """
    if tabular:
        _duplicated_columns(contract, headers, file_label)
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
            raise MissingColumnError(
                f"{file_label}: required column {column.name!r} of table {contract.table!r} is missing; "
                f"tried aliases {list(column.aliases)}; the file's headers are: {_shown_headers(contract, headers)}")
    used = set(mapping.values())
    # ^fields are the API envelope (errcode, next_cursor ...), not record columns; an unmapped header is
    # listed in the ledger and the report, masked (an export without a header line has data there)
    return mapping, [redact_text(h) for h in headers if h not in used and h and not h.startswith("^")]


def _shown_headers(contract: Contract, headers: list[str]) -> str:
    """The headers for a message, masked; none when no header names a contract column: the line
    taken as the header is then likely a data row (an export without a header line), whose names
    and addresses a message must not repeat."""
    if not header_score(contract)(headers):
        return (f"{len(headers)} fields, not shown: none of them names a column of the table, so the line read as "
                f"the header may be data (an export without its header line?)")
    return redact_text(", ".join(headers[:40]) + (" ..." if len(headers) > 40 else ""))


class SheetsDifferError(ValueError):
    """The data sheets of one workbook give the contract's columns under different headers."""


def _same_mapping(contract: Contract, sheets: list[Sheet], file_label: str) -> None:
    """Each sheet maps on its own (a missing or doubled column names the sheet), and all alike.

    One file is one mapping in the ledger and one set of columns in its batches; a workbook whose
    sheets differ is two exports in one file, refused with what differs rather than half-mapped.
    """
    first, first_mapping = sheets[0], None
    for sheet in sheets:
        mapping, _ = map_headers(contract, sheet.headers, f"{file_label} sheet {sheet.name!r}")
        if first_mapping is None:
            first_mapping = mapping
            continue
        if mapping != first_mapping:
            differ = sorted(set(mapping.items()) ^ set(first_mapping.items()))
            shown = "; ".join(
                f"{name}: {first_mapping.get(name, '(absent)')!r} in {first.name!r}, "
                f"{mapping.get(name, '(absent)')!r} in {sheet.name!r}"
                for name in dict.fromkeys(n for n, _ in differ))
            raise SheetsDifferError(
                f"{file_label}: sheets {first.name!r} and {sheet.name!r} give the columns of table "
                f"{contract.table!r} under different headers ({shown}); the file is not loaded "
                f"(give every sheet the same header, or export each as its own file)")


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
        self.temp = temp_path(target)
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def _open(self) -> None:
        if self.writer is None:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self.writer = pq.ParquetWriter(self.temp, self.schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        """Append rows; only rows start the file, so a clean landing file leaves no empty
        quarantine file behind (at 10M: 105k of them, each a reader for dbt)."""
        if table.num_rows:
            self._open()
            self.writer.write_table(table)
            self.rows += table.num_rows

    def commit(self, always: bool) -> None:
        """Move the file into place; ``always``: even with no rows (a schema-only file)."""
        if always:
            self._open()
        if self.writer is not None:
            self.writer.close()
            commit(self.temp, self.target)

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
        self.pii_headers: dict[str, str] = {}  # header -> contract type
        self.keep_headers: dict[str, str] = {}
        self.source: Any = None
        self.exported: ExportTime | None = None
        self.started = time.perf_counter()
        self.mobile_rows: dict[str, list[int]] = {}  # column -> row numbers holding a phone (see mobile_hits)
        self.suppressor = Suppressor.for_table(paths, contract.table, key)  # erased persons never land
        self.rows_suppressed = 0

    def lineage(self, numbers: list[int]) -> dict[str, pa.Array]:
        """The lineage columns of rows ``numbers`` (one value repeated in Arrow, not a Python list a row)."""
        n = len(numbers)

        def repeat(value: Any, kind: pa.DataType) -> pa.Array:
            return pa.repeat(pa.scalar(value, kind), n)

        return {
            "_source_file": repeat(self.label, pa.string()),
            "_source_row": pa.array(numbers, pa.int64()),
            "_file_sha256": repeat(self.sha, pa.string()),
            "_load_id": repeat(self.load_id, pa.string()),
            "_loaded_at": repeat(self.loaded_at, pa.timestamp("us")),
            "_hash_key_version": repeat(self.key.version, pa.string()),
            "_exported_at": repeat(self.exported.at, pa.timestamp("us")),
        }

    def redacted(self, cells: dict[str, Any]) -> str:
        """The row as evidence for a human, minus anything personal: a personal column's value is
        never shown (``<mobile>``, ``<personal>``; an empty one shows as null), headers the contract
        does not map are left out (they may hold anything), and what is shown is masked."""
        shown = {}
        for header, value in cells.items():
            if header in self.pii_headers:
                shown[header] = None if value in (None, "") else personal_placeholder(self.pii_headers[header])
            elif header in self.keep_headers:
                shown[header] = value
        return redact_text(json.dumps(shown, ensure_ascii=False, default=str))

    def open(self, fast: bool = True, fast_min_bytes: int | None = None) -> None:
        """Open the file and map its headers (raises for whole-file problems)."""
        contract = self.contract
        self.source = open_source(self.path, contract.record_path, contract.explode, header_score(contract), fast,
                                  fast_min_bytes)
        self.exported = export_time(self.source.title_lines, self.label, self.path.stat().st_mtime,
                                    self.loaded_at + dt.timedelta(days=1))
        if not self.source.headers and self.source.broken_records:
            self.mapping, self.unmapped = {}, []  # every record is unusable: each is quarantined with its reason
        else:
            if len(self.source.sheets) > 1:
                _same_mapping(contract, self.source.sheets, self.label)
            self.mapping, self.unmapped = map_headers(contract, self.source.headers, self.label,
                                                      tabular=self.source.file_format in ("csv", "excel"))
        for sheet in self.source.ignored_sheets:
            log.warning("%s: sheet %s is not loaded", self.label, sheet)
        by_name = {c.name: c for c in contract.columns}
        self.pii_headers = {h: by_name[name].type for name, h in self.mapping.items() if by_name[name].is_pii}
        self.keep_headers = {h: name for name, h in self.mapping.items() if not by_name[name].is_pii}

    def column_values(self, batch: Batch) -> dict[str, list[Any]]:
        """The batch's raw values keyed by contract column (JSON leaves as text)."""
        json_source = self.source.file_format in ("json", "jsonl")
        # an absent column of a batch Arrow read is Arrow too, so a group of such files concatenates in Arrow
        arrow = any(isinstance(v, pa.Array) for v in batch.values.values())
        out: dict[str, list[Any]] = {}
        for column in self.contract.loaded_columns:
            header = self.mapping.get(column.name)
            values = batch.values.get(header) if header else None
            if values is None:
                values = pa.nulls(len(batch), pa.string()) if arrow else [None] * len(batch)
            elif isinstance(values, pa.Array) and pa.types.is_list(values.type):  # Arrow's JSON documents
                values = pa.array([_as_text(v, column.type) for v in values.to_pylist()], pa.string())
            elif isinstance(values, pa.Array):  # Arrow's readers: text already, or JSON ints, booleans, nulls
                values = values if values.type == pa.string() else pc.cast(values, pa.string())
            elif json_source:  # strings and ints inline: this runs once per JSON cell
                kind = column.type
                values = [v if v is None or v.__class__ is str else
                          str(v) if v.__class__ is int else _as_text(v, kind) for v in values]
            out[column.name] = values
        return out

    def quarantine_rows(self, batch: Batch, bad: Any, errors: pd.Series, failed: pd.Series) -> pa.Table:
        rows: list[tuple[int, str, str | None, str]] = []
        for i in bad.nonzero()[0]:
            cells = (batch.evidence(batch.offset + i) if batch.evidence is not None else
                     {h: _cell(batch.values[h], i) for h in batch.values})
            rows.append((batch.numbers[i], errors.iat[i], failed.iat[i], self.redacted(cells)))
        for broken in batch.broken:
            evidence = self.redacted(broken.cells) if broken.cells is not None else (broken.note or "")
            rows.append((broken.row, broken.reason, None, evidence))
        rows.sort(key=lambda r: r[0])
        numbers = [r[0] for r in rows]
        if len(self.source.sheets) > 1:  # row numbers run on across sheets: say which sheet and its own row
            rows = [(n, redact_text("sheet {!r} row {}: ".format(*self.source.sheet_of(n)) + reason), failed, record)
                    for n, reason, failed, record in rows]
        return pa.table({
            **{k: v for k, v in self.lineage(numbers).items() if k in QUARANTINE_SCHEMA.names},
            "reason": pa.array([r[1] for r in rows], pa.string()),
            "failed_columns": pa.array([r[2] for r in rows], pa.string()),
            "raw_record": pa.array([r[3] for r in rows], pa.string()),
        }, schema=QUARANTINE_SCHEMA)

    def note_mobiles(self, parsed: _Parsed, start: int, numbers: Any) -> None:
        """Note this file's rows (``start ..`` of ``parsed``) in which ``mobile_hits`` found a phone;
        ``commit`` refuses the file if there is any."""
        for name, hits in parsed.mobiles.items():
            mine = hits[(hits >= start) & (hits < start + len(numbers))] - start
            if len(mine):
                self.mobile_rows.setdefault(name, []).extend(int(numbers[i]) for i in mine)

    def mobile_refusal(self) -> str:
        """The message of a file refused for mobile numbers in non-personal columns (never the numbers)."""
        parts = []
        for name, rows in self.mobile_rows.items():
            shown = ", ".join(str(r) for r in sorted(rows)[:5]) + (" ..." if len(rows) > 5 else "")
            parts.append(f"column {name!r} (header {redact_text(self.mapping[name])!r}) in {len(rows)} row(s): {shown}")
        return (f"{self.label}: a mobile number stands in {'; '.join(parts)}, which the contract of table "
                f"{self.contract.table!r} does not declare personal; the file is not loaded, so no number reaches "
                f"the lake (type the column `mobile` in ingest/contracts/{self.contract.table}.yml if it holds "
                f"phones, `drop` if it is free text people type into, or export the file without the numbers)")

    def split(self, batch: Batch, parsed: _Parsed, start: int) -> tuple[pa.Table, pa.Table]:
        """Raw and quarantine rows of this file's ``batch``, rows ``start ..`` of ``parsed``."""
        n = len(batch)
        good = parsed.good[start:start + n]
        arrays = {name: array.slice(start, n) for name, array in parsed.arrays.items()}
        self.note_mobiles(parsed, start, batch.numbers)
        raw = pa.table({**arrays, **self.lineage(batch.numbers)}, schema=self.contract.schema)
        if good.all() and not batch.broken:  # most files: no row to quarantine (and a filter copies every column)
            bad = _NO_QUARANTINE  # what quarantine_rows gives for none (2,688 WeCom answers: 0.4 s less)
        else:
            raw = raw.filter(pa.array(good)) if not good.all() else raw
            errors = parsed.errors.iloc[start:start + n].reset_index(drop=True)
            failed = parsed.failed.iloc[start:start + n].reset_index(drop=True)
            bad = self.quarantine_rows(batch, ~good, errors, failed)
        raw, bad, suppressed = suppress(self.suppressor, raw, bad, self.mapping)
        self.rows_suppressed += suppressed
        return raw, bad

    def writers(self) -> tuple[_TableWriter, _TableWriter]:
        table = self.contract.table
        return (_TableWriter(per_file(self.paths, RAW, table, self.sha), self.contract.schema),
                _TableWriter(per_file(self.paths, QUARANTINE, table, self.sha), QUARANTINE_SCHEMA))

    def run(self) -> FileReport:
        """Open, parse batch by batch and commit a file on its own (large files)."""
        try:
            return self._run(fast=True)
        except FastPathUnsuitable as exc:
            log.info("%s: exact reader (%s)", self.label, exc)
            return self._run(fast=False)

    def _run(self, fast: bool) -> FileReport:
        self.mobile_rows = {}  # a fast attempt that gave up may have noted rows already
        self.open(fast)
        raw_out, bad_out = self.writers()
        read = self.rows_suppressed = 0  # (again when the fast reader gave up half-way)
        try:
            for batch in self.source.batches:
                parsed = parse_values(self.contract, self.key, self.column_values(batch), len(batch))
                raw, bad = self.split(batch, parsed, 0)
                read += len(batch) + len(batch.broken)
                raw_out.write(raw)
                bad_out.write(bad)
        except BaseException:
            raw_out.abort(), bad_out.abort()
            raise
        return self.commit(raw_out, bad_out, read, time.perf_counter() - self.started)

    def commit(self, raw_out: _TableWriter, bad_out: _TableWriter, read: int, seconds: float) -> FileReport:
        """Refuse a file with mobile numbers in non-personal columns; reconcile, move the Parquet files
        into place, then write the ledger entry (the commit marker)."""
        try:
            self.check(raw_out.rows, bad_out.rows, read)
        except (MobileInTextError, ReconciliationError):
            raw_out.abort(), bad_out.abort()
            raise
        raw_out.commit(always=True)
        bad_out.commit(always=False)
        report = self.report(read, raw_out.rows, bad_out.rows)
        self.write_ledger(self.ledger_row(report, seconds))
        return report

    def check(self, loaded: int, quarantined: int, read: int) -> None:
        """Raise for mobile numbers in non-personal columns, or rows read that do not reconcile."""
        if self.mobile_rows:
            raise MobileInTextError(self.mobile_refusal())
        if loaded + quarantined + self.rows_suppressed != read:
            raise ReconciliationError(f"{self.label}: reconciliation failed: read {read}, loaded {loaded} + "
                                      f"quarantined {quarantined} + suppressed {self.rows_suppressed}")

    def report(self, read: int, loaded: int, quarantined: int) -> FileReport:
        return FileReport(self.label, self.sha, "loaded", read, loaded, quarantined,
                          len(self.source.blank_rows), encoding=self.source.encoding, unmapped_columns=self.unmapped,
                          message="; ".join(f"sheet {s} not loaded" for s in self.source.ignored_sheets),
                          rows_suppressed=self.rows_suppressed)

    def ledger_row(self, report: FileReport, seconds: float) -> dict[str, Any]:
        """The file's load ledger entry (``LEDGER_SCHEMA``)."""
        source = self.source
        absent = [c.name for c in self.contract.columns if c.name not in self.mapping]
        return {
            "load_id": self.load_id, "table_name": self.contract.table, "source_file": self.label,
            "file_sha256": self.sha, "file_bytes": self.path.stat().st_size, "file_format": source.file_format,
            "encoding": source.encoding, "header_row": source.header_row,
            "mapped_columns": json.dumps(self.mapping, ensure_ascii=False),
            "unmapped_columns": json.dumps(report.unmapped_columns, ensure_ascii=False),
            "absent_columns": json.dumps(absent), "rows_read": report.rows_read,
            "rows_loaded": report.rows_loaded, "rows_quarantined": report.rows_quarantined,
            "blank_rows": report.blank_rows, "contract_sha256": self.contract.sha256,
            "hash_key_version": self.key.version, "loaded_at": self.loaded_at, "seconds": round(seconds, 3),
            "exported_at": self.exported.at, "exported_at_from": self.exported.source,
            "rows_suppressed": report.rows_suppressed, "rows_erased": 0,
        }

    def write_raw(self, raw: pa.Table) -> None:
        """The file's raw rows as its own Parquet (written even when empty: the schema-bearing file)."""
        writer = _TableWriter(per_file(self.paths, RAW, self.contract.table, self.sha), self.contract.schema)
        writer.write(raw)
        writer.commit(always=True)

    def write_ledger(self, row: dict[str, Any]) -> None:
        writer = _TableWriter(per_file(self.paths, LEDGER, self.contract.table, self.sha), LEDGER_SCHEMA)
        writer.write(pa.Table.from_pylist([row], schema=LEDGER_SCHEMA))
        writer.commit(always=True)


def ensure_table_dirs(contract: Contract, paths: Paths) -> None:
    """The table's lake folders with their schema-bearing placeholders (see ingest.lake.ensure_table)."""
    ensure_table(paths, contract.table, {RAW: contract.schema, QUARANTINE: QUARANTINE_SCHEMA, LEDGER: LEDGER_SCHEMA})


_NO_QUARANTINE = QUARANTINE_SCHEMA.empty_table()


@dataclass
class _Parsed:
    """Typed arrays of a run of rows, which rows are good, and why the others are not."""

    arrays: dict[str, pa.Array]
    good: Any  # numpy bool array
    errors: pd.Series
    failed: pd.Series
    mobiles: dict[str, np.ndarray] = field(default_factory=dict)  # column -> row positions holding a phone


def mobile_hits(contract: Contract, arrays: dict[str, pa.Array]) -> dict[str, np.ndarray]:
    """Positions of the rows whose landed non-personal values hold a mobile number, per column: text
    columns by the RE2 pattern (``ingest.pii.MOBILE_IN_TEXT_RE2``), number columns by range. Every row,
    good or to be quarantined (a quarantined row's evidence shows its non-personal values).

    One pass per column over everything parsed together (a batch of a large file, or a group of small
    files: per file, thousands of WeCom answers would pay the per-call overhead thousands of times).
    Cost measured on the demo brand in docs/privacy.md.
    """
    hits = {}
    for column in contract.loaded_columns:
        if column.is_pii or column.type not in TEXT_TYPES + NUMBER_TYPES:
            continue
        array = arrays[column.name]
        found = mobiles_in_text(array) if column.type in TEXT_TYPES else mobiles_as_numbers(array)
        if pc.any(found).as_py():
            hits[column.name] = np.flatnonzero(found.to_numpy(zero_copy_only=False))
    return hits


def _cell(values: Any, i: int) -> Any:
    value = values[i]
    return value.as_py() if isinstance(value, pa.Scalar) else value


def _raw_series(values: Any) -> pd.Series:
    """A column's raw values for ``parse_column``: Arrow-backed text when they are texts (as the fast CSV
    reader gives them: the parsers then convert no Python string per cell), else Python objects."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return pd.Series(values.to_pandas())  # stays Arrow-backed: no Python string per cell
    try:
        return pd.Series(pa.array(values, type=pa.string()).to_pandas())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # spreadsheet cells: numbers, dates
        return pd.Series(values, dtype="object")


def _joined(into: pd.Series, more: pd.Series, separator: str) -> pd.Series:
    """Append ``more`` to ``into`` row by row where ``more`` has a value."""
    has = more.notna()
    if not has.any():
        return into
    return into.mask(has & into.notna(), into + separator + more).mask(has & into.isna(), more)


def parse_values(contract: Contract, key: HashKey, values: dict[str, list[Any]], n: int,
                 segments: list[int] | None = None) -> _Parsed:
    """Parse raw values keyed by contract column; ``segments``: the row counts of the files they hold,
    when several files are parsed together (what is judged per file, such as an identifier's zero
    padding, is judged on each file's rows alone).

    The rule: an error in a required or key column makes the row not good (quarantined with the
    reason); an error in an optional column leaves its cell null and the row good, with the
    reason in ``cell_issues`` (landed as ``_cell_issues``), so an identity-bearing row is never
    lost over a birthday or a remark. Notes (a formula-like text neutralised) go there too.
    """
    index = range(n)
    errors = pd.Series(pd.NA, index=index, dtype="str")
    failed = pd.Series(pd.NA, index=index, dtype="str")
    cell_issues = pd.Series(pd.NA, index=index, dtype="str")
    arrays: dict[str, pa.Array] = {}
    for column in contract.loaded_columns:
        parsed = parse_column(column, _raw_series(values[column.name]), key, segments)
        col_errors = parsed.errors
        critical = column.required or column.name in contract.key
        if column.required:
            first = next(iter(parsed.arrays.values()))
            empty = pd.Series(first.is_null().to_numpy(zero_copy_only=False)) & col_errors.isna()
            col_errors = col_errors.mask(empty, column.name + ": required value is empty")
        if critical:
            errors = _joined(errors, col_errors, "; ")
            failed = _joined(failed, col_errors.where(col_errors.isna(), column.name), ",")
        else:
            cell_issues = _joined(cell_issues, col_errors, "; ")
        if parsed.notes is not None:
            cell_issues = _joined(cell_issues, parsed.notes, "; ")
        arrays.update(parsed.arrays)
    # reasons quote non-personal values; a mobile number typed into such a column is masked all the same
    cell_issues = cell_issues.map(redact_text, na_action="ignore")
    arrays["_cell_issues"] = pa.array(cell_issues, type=pa.string(), from_pandas=True)
    return _Parsed(arrays, errors.isna().to_numpy(), errors.map(redact_text, na_action="ignore"), failed,
                   mobile_hits(contract, arrays))


def _whole_file(source: Any) -> Batch:
    """All batches of a small file as one (numbers, values and broken rows concatenated)."""
    batches = list(source.batches)
    if len(batches) == 1:
        return batches[0]
    return Batch({h: _concatenated([b.values.get(h, [None] * len(b)) for b in batches]) for h in source.headers},
                 [x for b in batches for x in b.numbers], [r for b in batches for r in b.broken],
                 evidence=batches[0].evidence if batches else None)


def _concatenated(parts: list[Any]) -> Any:
    """Value runs (Python lists, or Arrow string arrays from the fast CSV reader) as one: Arrow when
    every run is, a list otherwise (the values the exact reader gives: the fast reader's are text too)."""
    if parts and all(isinstance(p, pa.Array) for p in parts):
        return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
    return [v for p in parts for v in (p.to_pylist() if isinstance(p, pa.Array) else p)]


# CSVs of a group from this size on are read by Arrow's reader (ingest.readers, FAST_CSV_BYTES for a file
# alone): the exact Python reader cost 8 s of a 175 s load of a 100k brand, in 3.4 MB POS exports; below
# this size the extra pass that numbers Arrow's rows costs about what it saves.
GROUP_FAST_CSV_BYTES = 256 << 10


def _open_whole(loader: _FileLoader) -> Batch:
    """Open a small file and read it whole: by Arrow's CSV reader when it can number the rows, else exactly."""
    try:
        loader.open(fast=True, fast_min_bytes=GROUP_FAST_CSV_BYTES)
        return _whole_file(loader.source)
    except FastPathUnsuitable as exc:
        log.info("%s: exact reader (%s)", loader.label, exc)
        loader.open(fast=False)
        return _whole_file(loader.source)


class MobileInTextError(ValueError):
    """A landed non-personal column of the file holds mobile numbers (see ``mobile_hits``)."""


class ReconciliationError(RuntimeError):
    """A file's rows read differ from its rows loaded + quarantined + suppressed: a bug, never a bad file."""


class IngestInternalError(RuntimeError):
    """An unexpected error while loading: raised instead of the original, whose message may quote a
    value of the file (pandas and Arrow repeat the cell they could not convert)."""


def _reject(loader: _FileLoader, exc: Exception) -> FileReport:
    """The file's rejection, masked (readers and parsers may quote what they read)."""
    message = redact_text(str(exc))
    log.error("rejected %s: %s", loader.label, message)
    return FileReport(loader.label, loader.sha, "rejected", message=message)


REJECTABLE = (FileFormatError, MissingColumnError, DuplicateColumnError, SheetsDifferError, UnicodeDecodeError,
              MobileInTextError)


def _run_group(loaders: list[_FileLoader], group_segments: bool = True) -> list[FileReport]:
    """Parse many small files of one table in one pass (per-call overhead paid once), then commit
    them together as one lake segment (``ingest.lake.commit_loaded``), or each apart when
    ``group_segments`` is off, fewer than two files are left to commit, or the table's lock is taken."""
    reports: list[FileReport] = []
    opened: list[tuple[_FileLoader, Batch]] = []
    own_seconds: dict[int, float] = {}
    for loader in loaders:
        started = time.perf_counter()
        try:
            opened.append((loader, _open_whole(loader)))
        except REJECTABLE as exc:
            reports.append(_reject(loader, exc))
        own_seconds[id(loader)] = time.perf_counter() - started
    if not opened:
        return reports
    started = time.perf_counter()
    contract = opened[0][0].contract
    parts: dict[str, list[Any]] = {c.name: [] for c in contract.loaded_columns}
    for loader, batch in opened:
        for name, column in loader.column_values(batch).items():
            parts[name].append(column)
    values = {name: _concatenated(runs) for name, runs in parts.items()}
    total = sum(len(batch) for _, batch in opened)
    parsed = parse_values(contract, opened[0][0].key, values, total, [len(batch) for _, batch in opened])
    share = (time.perf_counter() - started) / max(total, 1)
    if not group_segments or len(opened) < 2:
        return reports + _commit_each(opened, parsed, own_seconds, share)
    start = 0
    checked: list[tuple[_FileLoader, pa.Table, FileReport, float]] = []
    for loader, batch in opened:
        started = time.perf_counter()
        raw, bad = loader.split(batch, parsed, start)
        start += len(batch)
        read = len(batch) + len(batch.broken)
        try:
            loader.check(raw.num_rows, bad.num_rows, read)
        except MobileInTextError as exc:
            reports.append(_reject(loader, exc))
            continue
        quarantine = _TableWriter(per_file(loader.paths, QUARANTINE, contract.table, loader.sha), QUARANTINE_SCHEMA)
        quarantine.write(bad)
        quarantine.commit(always=False)
        seconds = own_seconds[id(loader)] + share * len(batch) + time.perf_counter() - started
        checked.append((loader, raw, loader.report(read, raw.num_rows, bad.num_rows), seconds))
    # the ledger rows are the commit marker: quarantine rows first (as for a file committed alone), then
    # the raw and ledger rows of every file at once
    files = [LoadedFile(loader.sha, raw, loader.ledger_row(report, seconds))
             for loader, raw, report, seconds in checked]
    if len(files) < 2 or commit_loaded(opened[0][0].paths, contract.table, files, LEDGER_SCHEMA) is None:
        for (loader, raw, _, _), file in zip(checked, files, strict=True):
            loader.write_raw(raw)
            loader.write_ledger(file.ledger)
    return reports + [report for _, _, report, _ in checked]


def _commit_each(opened: list[tuple[_FileLoader, Batch]], parsed: _Parsed, own_seconds: dict[int, float],
                 share: float) -> list[FileReport]:
    """Commit each file of a parsed group on its own: its raw, quarantine and ledger Parquet."""
    reports = []
    start = 0
    for loader, batch in opened:
        started = time.perf_counter()
        raw_out, bad_out = loader.writers()
        raw, bad = loader.split(batch, parsed, start)
        start += len(batch)
        raw_out.write(raw)
        bad_out.write(bad)
        # the ledger's seconds: this file's reading and writing plus its share of the common parse
        seconds = own_seconds[id(loader)] + share * len(batch) + time.perf_counter() - started
        try:
            reports.append(loader.commit(raw_out, bad_out, len(batch) + len(batch.broken), seconds))
        except MobileInTextError as exc:
            reports.append(_reject(loader, exc))
    return reports


# A unit of work: (path, sha256, bytes) of a large file alone, or of a group of small files.
Unit = list[tuple[Path, str, int]]


def _run_unit(contract: Contract, paths: Paths, key: HashKey, loaded_at: dt.datetime, unit: Unit,
              group_segments: bool = True) -> list[FileReport]:
    """Run one unit (see _plan for how units are cut). Runs in a worker process too."""
    loaders = [_FileLoader(contract, paths, key, path, sha, loaded_at) for path, sha, _ in unit]
    try:
        if len(unit) > 1 or unit[0][2] < SMALL_FILE_BYTES:
            return _run_group(loaders, group_segments)
        try:
            return [loaders[0].run()]
        except REJECTABLE as exc:
            return [_reject(loaders[0], exc)]
    except (OSError, MemoryError, ReconciliationError, IngestInternalError):
        raise  # a file system hiccup (retried), memory, a failed reconciliation: no file values in them
    except Exception as exc:  # noqa: BLE001 - re-raised as our own type, without the original's message
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        files = ", ".join(loader.label for loader in loaders)
        raise IngestInternalError(
            f"{contract.table}: unexpected {type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno} "
            f"while loading {files}; its message is not shown because it may quote the file's values (run "
            f"python -m orchestration.cli --table {contract.table} under a debugger to see it)") from None


def _plan(contract: Contract, paths: Paths, reload: bool, files: list[Path] | None,
          report: TableReport) -> list[Unit]:
    """Skip known contents; cut the rest into units: each large file alone, small files in groups.

    A file to reload whose rows sit in a compacted segment is first written back on its own
    (``ingest.lake.loosen``), so the reload overwrites it rather than adding its rows twice.
    """
    seen: dict[str, str] = {}
    loaded = loaded_stems(paths, contract.table)
    settle_seconds = landing_settle_seconds()
    units: list[Unit] = []
    group: Unit = []
    group_bytes = 0
    for path in files if files is not None else landing_files(contract, paths.landing):
        label = landing_label(path, paths.landing)
        refusal = landing_refusal(path, paths.landing)
        if refusal is None and _MOBILE_NAME.search(label):
            refusal = ("is named with a mobile number, which would land in every row's _source_file; rename "
                       "the file")
        if refusal:
            label = redact_text(label)
            log.error("rejected %s: %s", label, refusal)
            report.files.append(FileReport(label, "", "rejected", message=f"{label}: {refusal}"))
            continue
        before = path.stat()
        sha = file_sha256(path)
        unfinished = still_being_written(path, before, settle_seconds)
        if unfinished:
            report.files.append(FileReport(label, sha, "skipped", message=unfinished))
            continue
        if sha in seen:
            report.files.append(FileReport(label, sha, "skipped", message=f"same content as {seen[sha]}"))
            continue
        seen[sha] = label
        if not reload and stem(sha) in loaded:
            report.files.append(FileReport(label, sha, "skipped", message="already loaded (same SHA-256)"))
            continue
        size = path.stat().st_size
        if size >= SMALL_FILE_BYTES:
            units.append([(path, sha, size)])
            continue
        group.append((path, sha, size))
        group_bytes += size
        if group_bytes >= GROUP_BYTES:
            units.append(group)
            group, group_bytes = [], 0
    if group:
        units.append(group)
    if reload:
        compacted = segment_of(paths, contract.table)
        loosen(paths, contract.table, [sha for unit in units for _, sha, _ in unit if sha in compacted])
    return units


def _unit_bytes(unit: Unit) -> int:
    return sum(size for _, _, size in unit)


def load_tables(contracts: list[Contract], paths: Paths, key: HashKey | None = None, reload: bool = False,
                files: dict[str, list[Path]] | None = None, workers: int | None = None,
                parallel_min_bytes: int | None = None, loaded_at: dt.datetime | None = None,
                group_segments: bool = True) -> dict[str, TableReport]:
    """Load several tables; units of work (large files, groups of small ones) share a process pool.

    The pool is used when there is more than one unit and at least ``parallel_min_bytes`` to
    read (starting workers costs about a second); otherwise everything runs in this process.
    Results do not depend on the number of workers: each file's output is its own.
    ``loaded_at``: default now; the re-key (orchestration/rekey.py) keeps each file's first load time.
    ``group_segments``: commit each group of small files as one lake segment (``ingest.lake.commit_loaded``);
    False: every file its own Parquet, as compaction's tests need them.
    """
    key = key or key_from_env()
    check_load_key(paths, key)  # before anything is written: the lake's key, or HashKeyMismatchError
    workers = ingest_workers() if workers is None else workers
    floor = PARALLEL_MIN_BYTES if parallel_min_bytes is None else parallel_min_bytes
    loaded_at = loaded_at or business_now()
    reports: dict[str, TableReport] = {}
    work: list[tuple[Contract, Unit]] = []
    for contract in contracts:
        ensure_table_dirs(contract, paths)
        reports[contract.table] = TableReport(contract.table)
        for unit in _plan(contract, paths, reload, None if files is None else files.get(contract.table),
                          reports[contract.table]):
            work.append((contract, unit))
    try:
        if workers > 1 and len(work) > 1 and sum(_unit_bytes(u) for _, u in work) >= floor:
            # largest first, so one big file does not start last and run alone
            work.sort(key=lambda item: -_unit_bytes(item[1]))
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(workers, len(work)), mp_context=context) as pool:
                futures = [(c.table, pool.submit(_run_unit, c, paths, key, loaded_at, u, group_segments))
                           for c, u in work]
                for table, future in futures:
                    reports[table].files.extend(future.result())
        else:
            for contract, unit in work:
                reports[contract.table].files.extend(
                    _run_unit(contract, paths, key, loaded_at, unit, group_segments))
    finally:
        forget_values()  # the digests and sounds kept during the load (ingest.pii.VALUES_KEPT)
    for report in reports.values():
        report.files.sort(key=lambda f: f.source_file)
    return reports


def load_table(contract: Contract, paths: Paths, key: HashKey | None = None, reload: bool = False,
               files: list[Path] | None = None, workers: int | None = None,
               parallel_min_bytes: int | None = None, group_segments: bool = True) -> TableReport:
    """Load every new landing file of ``contract``; see the module docstring for the guarantees."""
    return load_tables([contract], paths, key, reload, None if files is None else {contract.table: files},
                       workers, parallel_min_bytes, group_segments=group_segments)[contract.table]
