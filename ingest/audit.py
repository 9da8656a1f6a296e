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

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from ingest.atomic import write_json
from ingest.lake import (
    LEDGER,
    QUARANTINE,
    RAW,
    is_data_file,
    per_file,
    reading,
    segment_raw_counts,
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


AUDITS = "audits"  # lake/audits/<table>.mobiles.json: the mobile scan's findings per raw file
FILE_COLUMN = "_audited_file"


def mobile_rule() -> str:
    """What a kept finding depends on besides the file: the pattern and the columns skipped."""
    return hashlib.sha256(json.dumps([MOBILE_REGEX, SKIP_SUFFIXES]).encode("utf-8")).hexdigest()


def mobile_findings_path(paths: Paths, table: str) -> Path:
    return paths.lake / AUDITS / f"{table}.mobiles.json"


@dataclass
class MobileScan:
    """The mobile scan of one lake table: ``found`` is column -> rows over every raw file."""

    table: str
    found: dict[str, int]
    files: int  # raw files of the table now
    scanned: int  # of which read tonight (new, rewritten, or the rule changed); the rest were kept


def _file_key(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


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
        target = mobile_findings_path(paths, table)
        rule = mobile_rule()
        try:
            kept = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
        except (OSError, ValueError):
            kept = {}
        known = kept.get("files", {}) if kept.get("rule") == rule else {}
        keys = {f.name: _file_key(f) for f in files}
        stale = [f for f in files if (known.get(f.name) or {}).get("key") != keys[f.name]]
        scanned = _scan_files(stale)
        entries = {f.name: ({"key": keys[f.name], "found": scanned[f.name]} if f.name in scanned
                            else known[f.name]) for f in files}
        if stale or len(entries) != len(known):
            write_json(target, {"rule": rule, "table": table, "files": entries})
    totals: dict[str, int] = {}
    for entry in entries.values():
        for column, rows in entry["found"].items():
            totals[column] = totals.get(column, 0) + rows
    return MobileScan(table, dict(sorted(totals.items())), len(files), len(stale))


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
        in_segments = segment_raw_counts(paths, table)
        for entry_path in sorted(table_dir(paths, LEDGER, table).glob("*.parquet")):
            if not is_data_file(entry_path):
                continue
            for entry in pq.read_table(entry_path).to_pylist():
                result.files += 1
                result.problems += _entry_problems(paths, table, entry, in_segments)
    return result


def _unfinished_erasures(paths: Paths, table: str) -> list[str]:
    """An erasure killed half-way leaves files rewritten and others not (ingest/erasure.py)."""
    from ingest.erasure import pending

    return [f"{table}: erasure {journal.erasure_id} (started {journal.started_at}) is unfinished; finish it "
            f"with python -m orchestration.erase --resume" for journal in pending(paths)
            if journal.state == "lake"
            and (journal.plan is None or any(item["table"] == table for item in journal.plan))]


def _entry_problems(paths: Paths, table: str, entry: dict, in_segments: dict[str, int]) -> list[str]:
    problems = []
    raw_file = per_file(paths, RAW, table, entry["file_sha256"])
    bad_file = per_file(paths, QUARANTINE, table, entry["file_sha256"])
    loose = pq.ParquetFile(raw_file).metadata.num_rows if raw_file.exists() else None
    compacted = in_segments.get(entry["file_sha256"])
    loaded = -1 if loose is None and compacted is None else (loose or 0) + (compacted or 0)
    quarantined = pq.ParquetFile(bad_file).metadata.num_rows if bad_file.exists() else 0
    suppressed, erased = entry.get("rows_suppressed") or 0, entry.get("rows_erased") or 0
    if entry["rows_read"] != entry["rows_loaded"] + entry["rows_quarantined"] + suppressed + erased:
        problems.append(f"{entry['source_file']}: read {entry['rows_read']} != loaded "
                        f"{entry['rows_loaded']} + quarantined {entry['rows_quarantined']} + suppressed "
                        f"{suppressed} + erased {erased}")
    if loaded != entry["rows_loaded"] or quarantined != entry["rows_quarantined"]:
        problems.append(f"{entry['source_file']}: ledger says {entry['rows_loaded']} loaded / "
                        f"{entry['rows_quarantined']} quarantined, files hold {loaded} / {quarantined}")
    if loose is not None and compacted is not None:
        problems.append(f"{entry['source_file']}: rows both in {raw_file.name} and in a segment")
    return problems
