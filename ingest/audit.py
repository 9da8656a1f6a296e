"""Audits of the lake: the counts reconcile, and no stored value is a raw mobile number.

``reconcile`` compares the load ledger with the Parquet files themselves; ``raw_mobiles_in``
proves the privacy rule. Both back blocking Dagster asset checks on every raw table; the
tests run the mobile scan over the whole warehouse too.

The mobile scan: A value counts as a raw mobile when an 11-digit CN mobile stands in it with no
letter or digit on either side: 19-digit order ids do not match, nor do the digit runs that
hex hashes and base64 ids contain by chance; ``135 1234 5678``, ``tel:13512345678`` and
``张三13512345678`` do. Columns named ``*_hash`` / ``_file_sha256`` are skipped outright.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.atomic import write_json
from ingest.lake import (
    LEDGER,
    QUARANTINE,
    RAW,
    is_data_file,
    manifests,
    per_file,
    per_file_name,
    reading,
    table_dir,
)
from ingest.pii import MOBILE_IN_TEXT_RE2
from ingest.settings import Paths

MOBILE_REGEX = MOBILE_IN_TEXT_RE2  # one rule for the loader's scan and this backstop (ingest/pii.py)
SKIP_SUFFIXES = ("_hash", "_sha256", "_load_id")


def _text_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    described = con.sql(f"describe select * from {relation}").fetchall()
    return [name for name, dtype, *_ in described
            if dtype == "VARCHAR" and not name.endswith(SKIP_SUFFIXES)]


def raw_mobiles_in(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, int]:
    """Columns of ``relation`` (any SQL relation text) holding raw mobiles, with row counts."""
    columns = _text_columns(con, relation)
    if not columns:
        return {}
    counts = ", ".join(
        f"count(*) filter (where regexp_matches(\"{c}\", '{MOBILE_REGEX}')) as \"{c}\"" for c in columns)
    row = con.execute(f"select {counts} from {relation}").fetchall()[0]
    return {c: n for c, n in zip(columns, row) if n}


def parquet_relation(glob: str) -> str:
    return f"read_parquet('{glob}', union_by_name = true)"


AUDITS = "audits"  # lake/audits/<table>.<audit>.json: what an audit read from each lake file, kept
FILE_COLUMN = "_audited_file"


def mobile_rule() -> str:
    """What a kept finding depends on besides the file: the pattern and the columns skipped."""
    return hashlib.sha256(json.dumps([MOBILE_REGEX, SKIP_SUFFIXES]).encode("utf-8")).hexdigest()


def kept_path(paths: Paths, table: str, audit: str) -> Path:
    """Where ``KeptPerFile`` keeps what ``audit`` read from the files of ``table``."""
    return paths.lake / AUDITS / f"{table}.{audit}.json"


def mobile_findings_path(paths: Paths, table: str) -> Path:
    return kept_path(paths, table, "mobiles")


class KeptPerFile:
    """What an audit read from each lake file, kept between runs under the file's name with its
    size, modification time and inode, and the audit's ``rule`` (its version: a change reads every
    file again).

    Lake files are written once: a load, a compaction's segment, an erasure's or a re-key's rewrite
    writes a new file or replaces one (new inode, time, size), so a kept value stays true until the
    file changes; a file edited by hand changes its time. Values of files no longer listed are
    dropped; an unreadable record reads everything again. Callers hold the table's lock (``reading``).
    """

    def __init__(self, target: Path, rule: str):
        self.target, self.rule = target, rule
        try:
            kept = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
        except (OSError, ValueError):
            kept = {}
        self.known: dict[str, dict] = (kept.get("files") or {}) if kept.get("rule") == rule else {}

    @staticmethod
    def key(path: Path) -> list[int]:
        stat = path.stat()
        return [stat.st_size, stat.st_mtime_ns, stat.st_ino]

    def _holds(self, name: str, key: list[int]) -> bool:
        entry = self.known.get(name)
        return isinstance(entry, dict) and entry.get("key") == key and "value" in entry

    def values(self, files: list[Path], read: Callable[[list[Path]], dict[str, Any]]) -> tuple[dict[str, Any], int]:
        """File name -> value for ``files``: kept ones as kept, the others from ``read(stale files)``
        (name -> value). Returns them and how many files were read."""
        keys = {f.name: self.key(f) for f in files}
        stale = [f for f in files if not self._holds(f.name, keys[f.name])]
        fresh = read(stale) if stale else {}
        entries = {f.name: ({"key": keys[f.name], "value": fresh[f.name]} if f.name in fresh
                            else self.known[f.name]) for f in files}
        if stale or entries.keys() != self.known.keys():
            write_json(self.target, {"rule": self.rule, "files": entries})
        self.known = entries
        return {name: entry["value"] for name, entry in entries.items()}, len(stale)


@dataclass
class MobileScan:
    """The mobile scan of one lake table: ``found`` is column -> rows over every raw file."""

    table: str
    found: dict[str, int]
    files: int  # raw files of the table now
    scanned: int  # of which read tonight (new, rewritten, or the rule changed); the rest were kept


def _scan_files(files: list[Path]) -> dict[str, dict[str, int]]:
    """File name -> {column: rows with a raw mobile} for ``files``, read in one query."""
    if not files:
        return {}
    listing = ", ".join(f"'{f}'" for f in files)  # lake paths: hex names under the home
    relation = f"read_parquet([{listing}], union_by_name = true, filename = '{FILE_COLUMN}')"
    found: dict[str, dict[str, int]] = {f.name: {} for f in files}
    with duckdb.connect() as con:
        columns = [c for c in _text_columns(con, relation) if c != FILE_COLUMN]
        if not columns:
            return found
        counts = ", ".join(
            f"count(*) filter (where regexp_matches(\"{c}\", '{MOBILE_REGEX}')) as \"{c}\"" for c in columns)
        for name, *row in con.execute(f"select {FILE_COLUMN}, {counts} from {relation} "
                                      f"group by {FILE_COLUMN}").fetchall():
            found[Path(name).name] = {c: n for c, n in zip(columns, row) if n}
    return found


def scan_raw_mobiles(paths: Paths, table: str) -> MobileScan:
    """``raw_mobiles_in`` over every raw file of a lake table (loose and compacted), healed first,
    reading only the files it has not read before.

    A raw file is written once (a load, a compaction's segment, an erasure's or a re-key's rewrite
    writes a new file or replaces one), so its findings are kept per file name with the file's size,
    modification time and inode (``lake/audits/<table>.mobiles.json``): a night reads the files the
    night wrote, not the table's whole history (12.7 s for every table at 1M members, growing with
    every day kept). A file whose size, time or inode changed (replaced, edited by hand) is read
    again, as is every file when the rule (pattern, skipped columns) changed or the findings file is
    unreadable; findings of files no longer in the lake are dropped.
    """
    with reading(paths, [table]):
        files = sorted(f for f in table_dir(paths, RAW, table).glob("*.parquet") if is_data_file(f))
        kept = KeptPerFile(mobile_findings_path(paths, table), mobile_rule())
        found, scanned = kept.values(files, _scan_files)
    totals: dict[str, int] = {}
    for columns in found.values():
        for column, rows in columns.items():
            totals[column] = totals.get(column, 0) + rows
    return MobileScan(table, dict(sorted(totals.items())), len(files), scanned)


def raw_table_mobiles(paths: Paths, table: str) -> dict[str, int]:
    """Columns of the lake table's raw files holding raw mobiles, with row counts (``scan_raw_mobiles``)."""
    return scan_raw_mobiles(paths, table).found


@dataclass
class Reconciliation:
    """The ledger against the lake's files for one table: ``problems`` is empty when they agree."""

    table: str
    files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def reconcile(paths: Paths, table: str) -> Reconciliation:
    """Compare the ledger with the Parquet files themselves, per loaded landing file.

    Counts are read back from the files, not from the loader's memory, so a crash between
    writes or a hand-edited lake shows up here. Rows of erased persons are accounted for: not
    loaded (``rows_suppressed``, the suppression list at ingest) or taken out of an already loaded
    file (``rows_erased``; the erasure lowered ``rows_loaded`` / ``rows_quarantined`` by as many), so
    ``rows_read == rows_loaded + rows_quarantined + rows_suppressed + rows_erased``. An erasure
    that was interrupted is a problem of every table it concerns until it is finished
    (``python -m orchestration.erase --resume``). A compacted file's raw rows are counted in its
    segment; a file whose rows are both loose and in a segment is counted twice, and reported.
    The table is healed first and read under its shared lock (``ingest.lake.reading``): an
    interrupted or running compaction is finished before, not reported.
    """
    result = Reconciliation(table)
    result.problems += _unfinished_erasures(paths, table)
    with reading(paths, [table]):
        in_segments = _segment_raw_counts(paths, table)
        names = {kind: _names(table_dir(paths, kind, table)) for kind in (RAW, QUARANTINE)}
        for entry_path in sorted(table_dir(paths, LEDGER, table).glob("*.parquet")):
            if not is_data_file(entry_path):
                continue
            ledger = pq.ParquetFile(entry_path)
            wanted = [c for c in ENTRY_COLUMNS if c in ledger.schema_arrow.names]
            for entry in ledger.read(columns=wanted).to_pylist():
                result.files += 1
                result.problems += _entry_problems(paths, table, entry, in_segments, names)
    return result


ENTRY_COLUMNS = ("source_file", "file_sha256", "rows_read", "rows_loaded", "rows_quarantined", "rows_suppressed",
                 "rows_erased")
SEGMENT_ROWS_RULE = "raw rows per _file_sha256, v1"


def _names(folder: Path) -> set[str]:
    with os.scandir(folder) if folder.exists() else contextlib.nullcontext([]) as entries:
        return {entry.name for entry in entries}


def _segment_raw_counts(paths: Paths, table: str) -> dict[str, int]:
    """Raw rows per landing file (full SHA-256) as the segments hold them, read back from the segment
    files, each segment read once: its counts are kept per segment file
    (``lake/audits/<table>.segments.json``, ``KeptPerFile``). Reading every segment's file column
    each night cost 1.3 s of the 3.8 s the check took at 1M members, growing with the lake."""
    counts: dict[str, int] = {}
    segments: list[Path] = []
    for manifest in manifests(paths, table):
        for member in manifest.raw_members:
            counts[member["sha"]] = 0
        if manifest.raw_members and manifest.raw_path(paths).exists():
            segments.append(manifest.raw_path(paths))
    kept = KeptPerFile(kept_path(paths, table, "segments"), SEGMENT_ROWS_RULE)
    per_segment, _ = kept.values(segments, _count_by_file)
    for held in per_segment.values():
        for sha, rows in held.items():
            counts[sha] = counts.get(sha, 0) + rows
    return counts


def _count_by_file(segments: list[Path]) -> dict[str, dict[str, int]]:
    found = {}
    for segment in segments:
        column = pq.read_table(segment, columns=["_file_sha256"]).column(0)
        found[segment.name] = {item["values"]: item["counts"] for item in pc.value_counts(column).to_pylist()}
    return found


def _unfinished_erasures(paths: Paths, table: str) -> list[str]:
    """An erasure killed half-way leaves files rewritten and others not (ingest/erasure.py)."""
    from ingest.erasure import pending

    return [f"{table}: erasure {journal.erasure_id} (started {journal.started_at}) is unfinished; finish it "
            f"with python -m orchestration.erase --resume" for journal in pending(paths)
            if journal.state == "lake"
            and (journal.plan is None or any(item["table"] == table for item in journal.plan))]


def _entry_problems(paths: Paths, table: str, entry: dict, in_segments: dict[str, int],
                    names: dict[str, set[str]]) -> list[str]:
    problems = []
    file_name = per_file_name(entry["file_sha256"])
    loose = (pq.ParquetFile(per_file(paths, RAW, table, entry["file_sha256"])).metadata.num_rows
             if file_name in names[RAW] else None)
    compacted = in_segments.get(entry["file_sha256"])
    loaded = -1 if loose is None and compacted is None else (loose or 0) + (compacted or 0)
    quarantined = (pq.ParquetFile(per_file(paths, QUARANTINE, table, entry["file_sha256"])).metadata.num_rows
                   if file_name in names[QUARANTINE] else 0)
    suppressed, erased = entry.get("rows_suppressed") or 0, entry.get("rows_erased") or 0
    if entry["rows_read"] != entry["rows_loaded"] + entry["rows_quarantined"] + suppressed + erased:
        problems.append(f"{entry['source_file']}: read {entry['rows_read']} != loaded "
                        f"{entry['rows_loaded']} + quarantined {entry['rows_quarantined']} + suppressed "
                        f"{suppressed} + erased {erased}")
    if loaded != entry["rows_loaded"] or quarantined != entry["rows_quarantined"]:
        problems.append(f"{entry['source_file']}: ledger says {entry['rows_loaded']} loaded / "
                        f"{entry['rows_quarantined']} quarantined, files hold {loaded} / {quarantined}")
    if loose is not None and compacted is not None:
        problems.append(f"{entry['source_file']}: rows both in {file_name} and in a segment")
    return problems
