"""Search everything Quanyu writes for given personal values: the proof that nothing leaked.

The privacy tests plant distinctive values (mobiles, names, addresses) in landing files, run the
CLI and Dagster, then call ``scan_tree`` on the installation (lake, warehouse, published file,
GX verdicts and docs, the Dagster home with its run and event storage and compute logs) and
``scan_text`` on what the CLI printed. A brand can run it too, on its own values:
``python -m ingest.pii_scan FOLDER VALUE...`` (exit status 1 when a value is found).

A value can hide from a plain byte search, so each kind of store is read the way it stores text:

* Parquet (``PAR1``): decoded through DuckDB, every column cast to text (pages are compressed);
* DuckDB database files (``DUCK`` at byte 8): every base table, every column cast to text;
* SQLite files (``SQLite format 3``; Dagster's run, event and schedule storage): every table, every
  cell, text and blobs (zlib-compressed blobs are inflated);
* anything else (logs, compute logs, JSON, HTML): the bytes, gzip inflated;

and every file's bytes are searched too (Parquet statistics and DuckDB's dictionary pages keep
short strings uncompressed). A value is looked for as written, in UTF-8, GB18030 and UTF-16, as
JSON writes it with ASCII escapes (``\\u5f20\\u4e09``: Dagster's serialised events, GX results),
and a mobile number also as its 11 digits without separators or country code.
"""
from __future__ import annotations

import gzip
import json
import re
import sqlite3
import sys
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

PARQUET, DUCKDB, SQLITE, TEXT = "parquet", "duckdb", "sqlite", "text"
MAX_BYTES = 512 << 20  # a file larger than this is read in its first MAX_BYTES only (and listed as such)
_MOBILE = re.compile(r"(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})")


@dataclass(frozen=True)
class Hit:
    """Planted value number ``value`` (its index in the list given) found ``where``."""

    value: int
    kind: str
    where: str


@dataclass
class ScanReport:
    """What a scan found, how many stores of each kind it read, and what it could not read whole."""

    hits: list[Hit] = field(default_factory=list)
    scanned: Counter = field(default_factory=Counter)
    unreadable: list[str] = field(default_factory=list)

    def found(self) -> list[str]:
        return [f"value #{h.value} in {h.kind} {h.where}" for h in self.hits]


def text_forms(value: str) -> list[str]:
    """The texts a value may be written as: itself, JSON-escaped, a mobile as its bare 11 digits."""
    forms = [value]
    escaped = json.dumps(value)[1:-1]
    forms += [escaped, re.sub(r"\\u[0-9a-f]{4}", lambda m: m.group().upper().replace("\\U", "\\u"), escaped)]
    mobile = _MOBILE.fullmatch(value.strip())
    if mobile:
        forms.append("".join(mobile.groups()))
    return list(dict.fromkeys(f for f in forms if f))


def byte_forms(value: str) -> list[bytes]:
    """The bytes a value may be stored as: each text form in UTF-8, the value in GB18030 and UTF-16."""
    forms = [f.encode("utf-8") for f in text_forms(value)]
    for encoding in ("gb18030", "utf-16-le"):
        try:
            forms.append(value.encode(encoding))
        except UnicodeEncodeError:
            continue
    return list(dict.fromkeys(forms))


def _digit_bounded(form: str) -> bool:
    """A form that starts or ends with a digit must not touch another digit: 13912345601 inside the
    order id 2139123456019 is no leak of the mobile."""
    return bool(form) and (form[0].isdigit() or form[-1].isdigit())


def _pattern(form: str | bytes) -> re.Pattern:
    if isinstance(form, str):
        return re.compile(r"(?<![0-9])" + re.escape(form) + r"(?![0-9])")
    return re.compile(rb"(?<![0-9])" + re.escape(form) + rb"(?![0-9])")


def _contains(haystack: str | bytes, form: str | bytes) -> bool:
    if form not in haystack:
        return False
    text = form.decode("utf-8", "replace") if isinstance(form, bytes) else form
    return not _digit_bounded(text) or bool(_pattern(form).search(haystack))


class _Needles:
    """The forms of each value, worked out once per scan (a scan reads thousands of files)."""

    def __init__(self, values: list[str]):
        self.values = values
        self.texts = [text_forms(v) for v in values]
        self.bytes = [byte_forms(v) for v in values]
        # one pass for "any form at all?" first: a search per form is 10x slower on a 23 MB warehouse
        self.any_text = re.compile("|".join(re.escape(f) for forms in self.texts for f in forms))
        self.any_bytes = re.compile(b"|".join(re.escape(f) for forms in self.bytes for f in forms))


def scan_text(text: str, values: list[str], where: str = "text") -> list[Hit]:
    """Hits of the values in a text (the CLI's stdout and stderr, a log message)."""
    return [Hit(i, TEXT, where) for i, value in enumerate(values)
            if any(_contains(text, f) for f in text_forms(value))]


def _scan_bytes(data: bytes, needles: _Needles, kind: str, where: str) -> list[Hit]:
    if not needles.any_bytes.search(data):
        return []
    return [Hit(i, kind, where) for i, forms in enumerate(needles.bytes) if any(_contains(data, f) for f in forms)]


def _kind(head: bytes) -> str:
    if head.startswith(b"PAR1"):
        return PARQUET
    if head.startswith(b"SQLite format 3\x00"):
        return SQLITE
    if head[8:12] == b"DUCK":
        return DUCKDB
    return TEXT


def _relation_hits(con: duckdb.DuckDBPyConnection, relation: str, needles: _Needles, kind: str,
                   where: str) -> list[Hit]:
    """Values found in any column of a relation, every column cast to text (nested ones too): the rows
    are joined into one text per batch of 100k rows and searched in Python (one DuckDB pattern per form
    and file cost ten times more on a lake of a few hundred small files)."""
    columns = [row[0] for row in con.execute(f"describe select * from {relation}").fetchall()]
    if not columns:
        return []
    row_text = "concat_ws(chr(31), " + ", ".join(f'cast("{c}" as varchar)' for c in columns) + ")"
    reader = con.sql(f"select coalesce({row_text}, '') as t from {relation}").to_arrow_reader(100_000)
    found: set[int] = set()
    for batch in reader:
        texts = batch.column(0)
        joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(texts)], pa.int32()), texts), "\x1e")
        text = joined[0].as_py() or ""
        if not needles.any_text.search(text):
            continue
        found.update(i for i, forms in enumerate(needles.texts)
                     if i not in found and any(_contains(text, f) for f in forms))
    return [Hit(i, kind, where) for i in sorted(found)]


def _scan_parquet(con: duckdb.DuckDBPyConnection, path: Path, needles: _Needles) -> list[Hit]:
    relation = "read_parquet('" + str(path).replace("'", "''") + "')"
    return _relation_hits(con, relation, needles, PARQUET, str(path))


def _scan_duckdb(path: Path, needles: _Needles) -> list[Hit]:
    hits = []
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables "
                             "where table_type = 'BASE TABLE'").fetchall()
        for schema, table in tables:
            relation = f'"{schema}"."{table}"'
            hits += _relation_hits(con, relation, needles, DUCKDB, f"{path} {schema}.{table}")
    return hits


def _cell_bytes(cell: object) -> bytes:
    if isinstance(cell, bytes):
        try:
            return cell + b"\x1f" + zlib.decompress(cell)
        except zlib.error:
            return cell
    return str(cell).encode("utf-8")


def _scan_sqlite(path: Path, needles: _Needles) -> list[Hit]:
    hits: list[Hit] = []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [t for (t,) in con.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            rows = con.execute(f"select * from {quoted}")
            while chunk := rows.fetchmany(10_000):  # searched a chunk of rows at a time, not row by row
                data = b"\x1e".join(b"\x1f".join(_cell_bytes(c) for c in row if c is not None) for row in chunk)
                seen = {h.value for h in hits if h.where.endswith(f" table {table}")}
                hits += [Hit(h.value, SQLITE, f"{path} table {table}")
                         for h in _scan_bytes(data, needles, SQLITE, table) if h.value not in seen]
    finally:
        con.close()
    return hits


def scan_file(path: Path, values: list[str] | _Needles, report: ScanReport,
              con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Scan one file as its kind stores text, and its bytes; add to ``report`` (``con``: a DuckDB
    connection to reuse for Parquet files)."""
    needles = values if isinstance(values, _Needles) else _Needles(values)
    with path.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        report.unreadable.append(f"{path}: only its first {MAX_BYTES >> 20} MB were searched")
        data = data[:MAX_BYTES]
    kind = _kind(data[:16])
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            report.unreadable.append(f"{path}: a damaged gzip file, searched as bytes")
    hits: list[Hit] = []
    try:
        if kind == PARQUET:
            if con is None:
                with duckdb.connect() as own:
                    hits = _scan_parquet(own, path, needles)
            else:
                hits = _scan_parquet(con, path, needles)
        elif kind == DUCKDB:
            hits = _scan_duckdb(path, needles)
        elif kind == SQLITE:
            hits = _scan_sqlite(path, needles)
    except (duckdb.Error, sqlite3.Error) as exc:
        report.unreadable.append(f"{path}: not readable as {kind} ({type(exc).__name__}), searched as bytes")
    found = {h.value for h in hits}
    # the bytes too: what the structured read missed (statistics, a torn page, a table it cannot open)
    hits += [h for h in _scan_bytes(data, needles, kind, f"{path} (bytes)") if h.value not in found]
    report.scanned[kind] += 1
    report.hits += hits


def scan_tree(root: Path, values: list[str], skip: Iterable[Path] = ()) -> ScanReport:
    """Scan every file under ``root`` (links not followed), except those under a ``skip`` folder."""
    report = ScanReport()
    needles = _Needles(values)
    skipped = [Path(s).absolute() for s in skip]
    with duckdb.connect() as con:
        for path in sorted(Path(root).absolute().rglob("*")):
            if path.is_symlink() or not path.is_file() or any(path.is_relative_to(s) for s in skipped):
                continue
            scan_file(path, needles, report, con)
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m ingest.pii_scan FOLDER VALUE...``: where each value stands (by its number, never shown)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2:
        print(__doc__.split("\n\n")[0] + "\nusage: python -m ingest.pii_scan FOLDER VALUE...", file=sys.stderr)
        return 2
    report = scan_tree(Path(args[0]), args[1:])
    print(f"searched {sum(report.scanned.values())} files: {dict(report.scanned)}")
    for line in report.found() + report.unreadable:
        print(line)
    return 1 if report.hits else 0


if __name__ == "__main__":
    sys.exit(main())
