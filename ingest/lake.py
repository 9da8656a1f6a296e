"""Lake compaction: many small per-file Parquet files of a table merged into segments.

Ingest writes one raw and one ledger Parquet per landing file (idempotent loads, per-file
gating, reloads by overwrite). Some exports come as tens of thousands of small files (WeCom
guide statistics: one file per guide per day, 105k files at 10M members), and every file is a
reader for dbt, which costs time and memory outside DuckDB's limit (~4.5 GB per 100k files
with ``union_by_name``). Compaction merges the small files of a table that have passed the raw
gate into segments:

* ``raw/<table>/seg-<id>.parquet``: the members' raw rows, file after file, row order kept;
  each row still names its landing file (``_source_file``, ``_file_sha256``), so lineage stays;
* ``loads/<table>/seg-<id>.parquet``: the members' ledger rows (every gated file's ledger row
  goes into the segment, also when its raw file is too large to merge);
* ``segments/<table>/seg-<id>.json``: the manifest, the commit marker: which files the segment
  holds and how many raw rows each.

A segment is written under a temporary name, then the manifest, then it is renamed into place
and the members are deleted; ``recover`` finishes or undoes an interrupted step, so the lake
never keeps a file's rows twice once recovered. Between the rename and the last deletion the
rows are in the segment and in its members, and a reader of ``raw/<table>/*.parquet`` would
count them twice; a process killed there leaves the lake so. Hence the rule for readers: whatever
reads the lake goes through ``heal`` (finish what a dead process left, delete its temporary
files) or reads inside ``reading`` (heal, then hold the tables' locks shared, so that no
compaction or loosening runs until the read is done). Only files of one schema share a segment (no
cast, no dropped column). A file that has to be handled on its own again (a reload after a
contract fix, a re-gate) is first taken out: ``loosen`` writes its segment's members back as
the per-file Parquet they were and deletes the segment.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.atomic import commit, fsync_file, remove_orphaned_temps, temp_path, write_json
from ingest.locks import held, lock
from ingest.settings import Paths

# The lake's folders, one per kind of file, each with a folder per table.
RAW = "raw"  # rows that loaded
QUARANTINE = "quarantine"  # rows that did not, with their reason
LEDGER = "loads"  # one row per loaded landing file: the load's commit marker
SEGMENTS = "segments"  # compaction manifests
REJECTED = "rejected"  # files the raw gate took back out of the lake, with their verdict
ERASURE = "erasure"  # erased persons: the erasure ledger, the suppression list (ingest/erasure.py)
KINDS = (RAW, QUARANTINE, LEDGER)
SCHEMA_FILE = "_schema.parquet"  # every table folder has one: readers never glob nothing
# Columns of raw and ledger rows that name the run, not the file: two loads of one landing differ in them
# (load time, seconds taken); what else lands must be equal (tests, bench/compare_lakes.py).
RUN_COLUMNS = frozenset({"_loaded_at", "loaded_at", "seconds"})
# a clean landing file writes no quarantine file, and Spark ignores files named _*: this one keeps
# the quarantine source readable there
EMPTY_QUARANTINE = "empty.parquet"
SEGMENT_PREFIX = "seg-"
# raw files at most this large are merged; larger ones are already a reasonable unit for a reader
SMALL_RAW_BYTES = 8 << 20
# a segment closes once its members' files add up to this
SEGMENT_BYTES = 128 << 20
# fewer loose gated files than this in a table: nothing to gain yet
MIN_FILES = 16


def table_dir(paths: Paths, kind: str, table: str) -> Path:
    """The folder of one table's files of one kind (RAW, QUARANTINE or LEDGER)."""
    return paths.lake / kind / table


def table_glob(paths: Paths, kind: str, table: str | None = None) -> str:
    """A glob of a table's Parquet files of one kind (all tables when ``table`` is None), for readers."""
    return f"{paths.lake / kind}/{table or '*'}/*.parquet"


def table_names(paths: Paths, kind: str = RAW) -> list[str]:
    """Tables with a folder of that kind in the lake."""
    root = paths.lake / kind
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.exists() else []


def lake_tables(paths: Paths) -> list[str]:
    """Every table with a raw, ledger or segments folder."""
    return sorted({t for kind in (RAW, LEDGER, SEGMENTS) for t in table_names(paths, kind)})


def segments_dir(paths: Paths, table: str) -> Path:
    return paths.lake / SEGMENTS / table


def rejected_dir(paths: Paths, table: str, sha: str) -> Path:
    return paths.lake / REJECTED / table / stem(sha)


def erasure_dir(paths: Paths) -> Path:
    """The erasure ledger, unfinished erasures and the suppression list (``ingest.erasure``)."""
    return paths.lake / ERASURE


def is_segment(path: Path) -> bool:
    return path.name.startswith(SEGMENT_PREFIX)


def is_data_file(path: Path) -> bool:
    """A Parquet file holding rows of landing files (not the schema-bearing placeholders)."""
    return not path.name.startswith("_") and path.name != EMPTY_QUARANTINE


def stem(sha: str) -> str:
    """The per-file name of a landing file's raw, quarantine and ledger Parquet."""
    return sha[:20]


def per_file(paths: Paths, kind: str, table: str, sha: str) -> Path:
    """A landing file's own Parquet of one kind (RAW, QUARANTINE or LEDGER) when not compacted."""
    return table_dir(paths, kind, table) / per_file_name(sha)


def per_file_name(sha: str) -> str:
    """The name of a landing file's own Parquet (``per_file``) in its table's folder."""
    return f"{stem(sha)}.parquet"



def ensure_table(paths: Paths, table: str, schemas: dict[str, pa.Schema]) -> None:
    """Give the table's folders their empty, schema-bearing Parquet file (``schemas``: kind -> schema).

    The file also carries the full current schema, so ``union_by_name`` shows columns that older
    loads did not have yet.
    """
    placeholders = [(kind, SCHEMA_FILE) for kind in schemas] + [(QUARANTINE, EMPTY_QUARANTINE)]
    for kind, name in placeholders:
        target = table_dir(paths, kind, table) / name
        schema = schemas[kind]
        if target.exists() and pq.read_schema(target).equals(schema):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _put(schema.empty_table(), target)


def _segments_holding(paths: Paths, table: str, shas: set[str]) -> list[Path]:
    """The raw segment files holding rows of any of ``shas`` (committed segments only)."""
    return [m.raw_path(paths) for m in manifests(paths, table)
            if m.state == "committed" and any(r["sha"] in shas for r in m.raw_members)]


def raw_relation(paths: Paths, table: str, shas: Iterable[str] | None = None) -> str:
    """SQL text reading a table's raw rows: of the files ``shas`` (loose, or in a segment: its rows of
    those files only), or of the whole table. Loads commit groups of small files as segments
    (``commit_loaded``), so the files a gate judges are often in one."""
    if shas is None:
        return f"read_parquet('{table_glob(paths, RAW, table)}', union_by_name = true)"
    wanted = set(shas)
    files = [f for f in (per_file(paths, RAW, table, sha) for sha in sorted(wanted)) if f.exists()]
    segments = _segments_holding(paths, table, wanted)
    files += segments + [table_dir(paths, RAW, table) / SCHEMA_FILE]
    relation = "read_parquet([" + ", ".join(f"'{f}'" for f in files) + "], union_by_name = true)"
    if not segments:
        return relation
    listing = ", ".join(f"'{sha}'" for sha in sorted(wanted))  # hex digests: nothing to escape
    return f"(select * from {relation} where _file_sha256 in ({listing}))"


def has_raw(paths: Paths, table: str, shas: Iterable[str]) -> bool:
    """Whether any of the files ``shas`` has a raw Parquet, loose or in a segment."""
    wanted = set(shas)
    return (any(per_file(paths, RAW, table, sha).exists() for sha in wanted)
            or bool(_segments_holding(paths, table, wanted)))


LEDGER_COLUMNS = ["source_file", "file_sha256", "file_format", "rows_read", "rows_loaded", "rows_quarantined",
                  "mapped_columns", "unmapped_columns", "absent_columns", "loaded_at"]


def ledger_entries(paths: Paths, table: str) -> pd.DataFrame:
    """Every load of the table (one row per landing file, loose or compacted), oldest first (read
    inside ``reading``: an entry is never listed twice, loose and in its segment)."""
    with reading(paths, [table]):
        files = [p for p in sorted(table_dir(paths, LEDGER, table).glob("*.parquet")) if is_data_file(p)]
        if not files:
            return pd.DataFrame(columns=LEDGER_COLUMNS)
        listing = ", ".join(f"'{p}'" for p in files)
        with duckdb.connect() as con:
            frame = con.execute(f"select * from read_parquet([{listing}], union_by_name = true) "
                                f"order by loaded_at, source_file").df()
    return frame.reset_index(drop=True)


def all_ledger_rows(paths: Paths, columns: str, tail: str = "") -> list[tuple]:
    """``select <columns> from <every table's ledger> <tail>`` (empty before the first load).

    Read without locks (the sensor calls it every minute and must not wait for a compaction):
    while one runs, an entry may be counted loose and in its segment. Its callers ask which
    files are loaded (a set) or print totals after a finished run."""
    if not any((paths.lake / LEDGER).glob("*/*.parquet")):
        return []
    with duckdb.connect() as con:
        return con.execute(f"select {columns} from read_parquet('{table_glob(paths, LEDGER)}', "
                           f"union_by_name = true) {tail}").fetchall()


def verdict_path(paths: Paths, table: str, sha: str) -> Path:
    """Where the raw gate's passing verdict on a landing file's current load is kept.

    Beside the GX project (``$QUANYU_HOME/gx/verdicts``), where installations already keep them:
    moving them would re-gate, and first loosen, every compacted file once. The gate reads them
    (``expectations.raw``); only the acting step writes them, through ``record_verdict``.
    """
    return paths.home / "gx" / "verdicts" / table / f"{stem(sha)}.json"


def read_verdict(paths: Paths, table: str, sha: str) -> dict[str, Any] | None:
    """The kept verdict on a file, or None when it has none (never gated, or rejected since)."""
    path = verdict_path(paths, table, sha)
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def record_verdict(paths: Paths, table: str, sha: str, verdict: dict[str, Any]) -> None:
    """Keep a passing verdict: the file stays in the lake, and compaction may merge it."""
    write_json(verdict_path(paths, table, sha), verdict)


def reject_with_verdict(paths: Paths, table: str, sha: str, verdict: dict[str, Any]) -> Path:
    """A file the gate failed: out of the lake (``reject``, keeping ``verdict`` beside it), and any
    passing verdict of an earlier load forgotten, so that compaction never takes it."""
    target = reject(paths, table, sha, verdict)
    verdict_path(paths, table, sha).unlink(missing_ok=True)
    return target


def reject(paths: Paths, table: str, sha: str, verdict: dict[str, Any]) -> Path:
    """Take a loaded file back out of the lake, keeping it (and ``verdict``, why) under ``rejected/``.

    Raw rows go first and the ledger entry (the load's commit marker) last, so an interruption
    leaves a ledger entry without rows, which the blocking reconciliation check reports, never
    rows without a ledger entry that dbt would read. A compacted file is loosened first.
    """
    loosen(paths, table, [sha])
    target = rejected_dir(paths, table, sha)
    target.mkdir(parents=True, exist_ok=True)
    for kind, name in ((RAW, "raw.parquet"), (QUARANTINE, "quarantine.parquet"), (LEDGER, "ledger.parquet")):
        source = per_file(paths, kind, table, sha)
        if source.exists():
            source.replace(target / name)
    write_json(target / "verdict.json", verdict)
    return target


@dataclass
class Manifest:
    """What one segment holds; written before the segment is renamed into place."""

    table: str
    segment: str
    members: list[dict]  # {"sha": full SHA-256, "raw_rows": int or None when the raw file stays loose}
    state: str = "committed"  # committed | loosening
    created_at: str = ""

    @property
    def shas(self) -> list[str]:
        return [m["sha"] for m in self.members]

    @property
    def raw_members(self) -> list[dict]:
        return [m for m in self.members if m["raw_rows"] is not None]

    def raw_path(self, paths: Paths) -> Path:
        return table_dir(paths, RAW, self.table) / f"{self.segment}.parquet"

    def ledger_path(self, paths: Paths) -> Path:
        return table_dir(paths, LEDGER, self.table) / f"{self.segment}.parquet"

    def path(self, paths: Paths) -> Path:
        return segments_dir(paths, self.table) / f"{self.segment}.json"

    def write(self, paths: Paths) -> None:
        write_json(self.path(paths), self.__dict__)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def manifests(paths: Paths, table: str) -> list[Manifest]:
    folder = segments_dir(paths, table)
    return [Manifest.read(p) for p in sorted(folder.glob(f"{SEGMENT_PREFIX}*.json"))] if folder.exists() else []


def segment_of(paths: Paths, table: str) -> dict[str, Manifest]:
    """Full SHA-256 of every compacted file -> its segment's manifest."""
    return {sha: m for m in manifests(paths, table) for sha in m.shas}


def loaded_stems(paths: Paths, table: str) -> set[str]:
    """Stems of every file in the load ledger, loose or compacted (what ingest skips)."""
    folder = table_dir(paths, LEDGER, table)
    loose = {p.stem for p in folder.glob("*.parquet") if is_data_file(p) and not is_segment(p)}
    return loose | {stem(sha) for sha in segment_of(paths, table)}


# ---------------------------------------------------------------- locking and atomic writes


def _lock_path(paths: Paths, table: str) -> Path:
    return segments_dir(paths, table) / ".lock"


def table_lock(paths: Paths, table: str, *, shared: bool = False,
               wait: bool = True) -> contextlib.AbstractContextManager[bool]:
    """Exclusive: one compaction, loosening or recovery of a table at a time (Dagster may run two
    runs of an asset). Shared: readers (``reading``), during which none of those runs. Yields
    whether it was acquired (always, unless ``wait=False`` and another process holds it)."""
    return lock(_lock_path(paths, table), shared=shared, wait=wait)


# Every step _reached names, in order (tests/adversarial/test_compaction_faults.py kills a process at each).
COMPACTION_STEPS = ("raw_temp_written", "ledger_temp_written", "manifest_written", "raw_segment_renamed",
                    "ledger_segment_renamed", "member_deleted", "segment_done")
LOOSENING_STEPS = ("loosening_marked", "raw_member_written_back", "ledger_member_written_back",
                   "raw_segment_deleted", "ledger_segment_deleted")


def _reached(step: str) -> None:
    """A named step of compaction or loosening (``COMPACTION_STEPS``, ``LOOSENING_STEPS``). Does nothing;
    the fault tests (tests/adversarial/test_compaction_faults.py) replace it in a child process to kill it."""


def _temp(target: Path) -> Path:
    """A segment's fixed temporary name: recover() finds it by this name after a crash."""
    return target.with_name(f".{target.name}.tmp")


def _write_parquet(table: pa.Table, target: Path) -> None:
    """Write to ``target`` directly and fsync (callers pass a temporary name and rename themselves)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target, compression="zstd")
    fsync_file(target)


def write_parquet_atomically(table: pa.Table, target: Path) -> None:
    """Write ``table`` to ``target`` atomically (erasure rewrites lake files through this)."""
    _put(table, target)


def _put(table: pa.Table, target: Path) -> None:
    """Write ``table`` to ``target`` atomically."""
    temp = temp_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, temp, compression="zstd")
    commit(temp, target)


# ---------------------------------------------------------------- recovery


def recover(paths: Paths, table: str) -> None:
    """Finish or undo whatever an interrupted compaction or loosening left behind.

    * temporary segment files without a manifest: the compaction had not committed; deleted;
    * a committed manifest: its segment files are renamed into place (if still temporary) and
      any member files still there are deleted, since their rows are in the segment;
    * a manifest being loosened: the members are written back (again, if the segment is still
      there), then the segment files and the manifest are deleted.
    """
    known = {m.segment for m in manifests(paths, table)}
    for folder in (table_dir(paths, RAW, table), table_dir(paths, LEDGER, table)):
        for temp in folder.glob(f".{SEGMENT_PREFIX}*.parquet.tmp"):
            if temp.name[1:].split(".parquet")[0] not in known:
                temp.unlink()
    for manifest in manifests(paths, table):
        if manifest.state == "loosening":
            _finish_loosening(paths, manifest)
            continue
        finals = [manifest.ledger_path(paths)] + ([manifest.raw_path(paths)] if manifest.raw_members else [])
        for final in finals:
            if _temp(final).exists():
                os.replace(_temp(final), final)
        if not all(final.exists() for final in finals):  # only if a file was deleted by hand
            raise RuntimeError(f"{table}: segment {manifest.segment} has a manifest but its Parquet is gone; "
                               f"restore it or delete {manifest.path(paths)} and reload the files it lists")
        _delete_members(paths, manifest)


def _delete_members(paths: Paths, manifest: Manifest) -> None:
    for member in manifest.members:
        if member["raw_rows"] is not None:
            per_file(paths, RAW, manifest.table, member["sha"]).unlink(missing_ok=True)
        per_file(paths, LEDGER, manifest.table, member["sha"]).unlink(missing_ok=True)
        _reached("member_deleted")


def _names(folder: Path) -> set[str]:
    try:
        with os.scandir(folder) as entries:
            return {e.name for e in entries}
    except FileNotFoundError:
        return set()


def unfinished(paths: Paths, table: str) -> bool:
    """Whether ``recover`` has work in ``table``: a segment's temporary file, a segment being
    loosened, or a committed segment whose members are still there. One listing of the raw and
    ledger folders and the (few, small) manifests: the sensor asks every minute."""
    raw, ledger = _names(table_dir(paths, RAW, table)), _names(table_dir(paths, LEDGER, table))
    if any(n.startswith("." + SEGMENT_PREFIX) and n.endswith(".parquet.tmp") for n in raw | ledger):
        return True
    for manifest in manifests(paths, table):
        if manifest.state != "committed":
            return True
        for member in manifest.members:
            name = per_file_name(member["sha"])
            if name in ledger or (member["raw_rows"] is not None and name in raw):
                return True
    return False


def _temp_folders(paths: Paths, table: str) -> list[Path]:
    """Where atomic writes of the table leave temporary files (``ingest.atomic.temp_path``)."""
    folders = [table_dir(paths, kind, table) for kind in (*KINDS, SEGMENTS)]
    rejected = paths.lake / REJECTED / table
    return folders + ([rejected, *(p for p in rejected.iterdir() if p.is_dir())] if rejected.exists() else [])


@dataclass
class HealReport:
    """What ``heal`` did."""

    recovered: list[str] = field(default_factory=list)  # tables with an interrupted step finished or undone
    temps_removed: list[Path] = field(default_factory=list)  # orphaned temporary files deleted
    busy: list[str] = field(default_factory=list)  # locked by another process (wait=False): left for later

    def __str__(self) -> str:
        return (f"lake healed: {len(self.recovered)} table(s) recovered {self.recovered}, "
                f"{len(self.temps_removed)} orphaned temporary file(s) removed"
                + (f", busy (left for the next look): {self.busy}" if self.busy else ""))


def heal(paths: Paths, tables: Iterable[str] | None = None, *, wait: bool = True) -> HealReport:
    """Before reading the lake: finish or undo what a dead compaction or loosening left, and
    delete orphaned temporary files (writer dead, ``ingest.atomic.is_orphaned_temp``).

    ``recover`` runs under the table's lock, so a compaction still running in another process is
    waited for (``wait=False``: skipped and reported busy), never "recovered" half-way. With
    nothing to do it takes no lock: a listing per table. A table this thread already holds
    locked is skipped (its holder is in the middle of its own step). ``tables``: default every
    table in the lake.
    """
    report = HealReport()
    for table in lake_tables(paths) if tables is None else tables:
        for folder in _temp_folders(paths, table):
            report.temps_removed += remove_orphaned_temps(folder)
        if held(_lock_path(paths, table)) or not unfinished(paths, table):
            continue
        with table_lock(paths, table, wait=wait) as acquired:
            if not acquired:
                report.busy.append(table)
                continue
            recover(paths, table)  # under the lock: what is left was left by a dead process
            report.recovered.append(table)
    return report


@contextlib.contextmanager
def reading(paths: Paths, tables: Iterable[str] | None = None) -> Iterator[None]:
    """``with reading(paths, tables):`` read the tables' files. Heals them, then holds their locks
    shared until the block ends: no compaction or loosening (exclusive) starts meanwhile, so no
    row is seen twice or not at all. Compaction waits for the readers (``compact_table(...,
    wait=False)`` does not). A table this thread already holds locked is read as it is."""
    with contextlib.ExitStack() as stack:
        for table in sorted(lake_tables(paths) if tables is None else set(tables)):
            if held(_lock_path(paths, table)):
                continue
            for _ in range(5):
                heal(paths, [table])
                attempt = contextlib.ExitStack()
                attempt.enter_context(table_lock(paths, table, shared=True))
                if not unfinished(paths, table):  # no process died between the heal and the lock
                    stack.enter_context(attempt)
                    break
                attempt.close()
            else:
                raise RuntimeError(f"{table}: still unfinished after healing it five times; see recover()")
        yield


# ---------------------------------------------------------------- compaction


@dataclass
class CompactionReport:
    """What one compaction of one table did."""

    table: str
    segments: list[str] = field(default_factory=list)
    files: int = 0
    raw_files: int = 0
    raw_rows: int = 0
    busy: bool = False  # the table was locked by another process and wait=False: nothing done

    def __str__(self) -> str:
        if self.busy:
            return f"{self.table}: not compacted now, another process is compacting or reading it"
        if not self.segments:
            return f"{self.table}: nothing to compact"
        return (f"{self.table}: {self.files} ledger file(s) and {self.raw_files} raw file(s) "
                f"({self.raw_rows:,} rows) -> {len(self.segments)} segment(s)")


def _ledger_rows(paths: Paths, table: str) -> dict[str, tuple[dict, pa.Schema]]:
    """Loose ledger entries: full SHA-256 -> (the entry, its file's schema)."""
    entries = {}
    for path in sorted(table_dir(paths, LEDGER, table).glob("*.parquet")):
        if not is_data_file(path) or is_segment(path):
            continue
        data = pq.read_table(path)
        for row in data.to_pylist():
            entries[row["file_sha256"]] = (row, data.schema)
    return entries


@dataclass
class _Candidate:
    sha: str
    ledger_schema: pa.Schema
    raw: Path | None = None  # None: the raw file stays loose (too large, or no rows file)
    raw_schema: pa.Schema | None = None
    raw_bytes: int = 0


def _batches(candidates: list[_Candidate], segment_bytes: int) -> Iterator[list[_Candidate]]:
    """Cut the candidates into segments of about segment_bytes; a segment has one ledger schema and
    one raw schema (files written under another contract version go to segments of their own)."""
    groups: dict[tuple[str, str], list[_Candidate]] = {}
    for candidate in candidates:
        key = (candidate.ledger_schema.to_string(), candidate.raw_schema.to_string() if candidate.raw else "")
        groups.setdefault(key, []).append(candidate)
    for group in groups.values():
        batch: list[_Candidate] = []
        size = 0
        for candidate in group:
            if batch and size + candidate.raw_bytes > segment_bytes:
                yield batch
                batch, size = [], 0
            batch.append(candidate)
            size += candidate.raw_bytes
        yield batch


def compact_table(paths: Paths, table: str, eligible: Iterable[str], *, small_raw_bytes: int = SMALL_RAW_BYTES,
                  segment_bytes: int = SEGMENT_BYTES, min_files: int = MIN_FILES,
                  wait: bool = True) -> CompactionReport:
    """Merge the loose files of ``table`` whose SHA-256 is in ``eligible`` (the gated ones) into segments.

    Ledger entries of every eligible file go into a segment; raw files only when at most
    ``small_raw_bytes``. Nothing happens below ``min_files`` eligible loose files.
    ``wait=False``: if another process holds the table (compacting, loosening, or reading it,
    such as a dbt build), do nothing now and say so (``report.busy``); compaction only saves
    readers time, and the next load compacts.
    """
    report = CompactionReport(table)
    with table_lock(paths, table, wait=wait) as acquired:
        if not acquired:
            report.busy = True
            return report
        recover(paths, table)
        entries = _ledger_rows(paths, table)
        wanted = sorted((sha for sha in set(eligible) if sha in entries),
                        key=lambda s: (str(entries[s][0]["loaded_at"]), entries[s][0]["source_file"], s))
        if len(wanted) < min_files:
            return report
        candidates = []
        for sha in wanted:
            candidate = _Candidate(sha, entries[sha][1])
            raw = per_file(paths, RAW, table, sha)
            if raw.exists() and raw.stat().st_size <= small_raw_bytes:
                candidate.raw, candidate.raw_schema, candidate.raw_bytes = raw, pq.read_schema(raw), raw.stat().st_size
            candidates.append(candidate)  # a large raw file stays loose; its ledger row is compacted all the same
        for batch in _batches(candidates, segment_bytes):
            _write_segment(paths, table, batch, entries, report)
    return report


def _write_segment(paths: Paths, table: str, batch: list[_Candidate], entries: dict[str, tuple[dict, pa.Schema]],
                   report: CompactionReport) -> None:
    shas = [c.sha for c in batch]
    members, raw_tables = [], []
    for candidate in batch:
        rows = None
        if candidate.raw is not None:
            data = pq.read_table(candidate.raw)
            if set(pc.unique(data.column("_file_sha256")).to_pylist()) - {candidate.sha}:
                raise RuntimeError(f"{candidate.raw}: holds rows of another landing file; not compacting {table}")
            raw_tables.append(data)
            rows = data.num_rows
        members.append({"sha": candidate.sha, "raw_rows": rows})
    ledger = pa.Table.from_pylist([entries[sha][0] for sha in shas], schema=batch[0].ledger_schema)
    segment = _commit_segment(paths, table, members, pa.concat_tables(raw_tables) if raw_tables else None, ledger)
    report.segments.append(segment)
    report.files += len(members)
    report.raw_files += len(raw_tables)
    report.raw_rows += sum(t.num_rows for t in raw_tables)


def _commit_segment(paths: Paths, table: str, members: list[dict], raw: pa.Table | None, ledger: pa.Table) -> str:
    """Write one segment (raw rows, ledger rows, manifest) and delete its members' per-file Parquet;
    the caller holds the table's lock. Every step is named (``COMPACTION_STEPS``): ``recover`` undoes
    everything before the manifest and finishes everything after it. Returns the segment's name."""
    segment = SEGMENT_PREFIX + hashlib.sha256("\n".join(m["sha"] for m in members).encode()).hexdigest()[:20]
    manifest = Manifest(table, segment, members, created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    if raw is not None:
        _write_parquet(raw, _temp(manifest.raw_path(paths)))
        _reached("raw_temp_written")
    _write_parquet(ledger, _temp(manifest.ledger_path(paths)))
    _reached("ledger_temp_written")
    manifest.write(paths)  # the commit point: from here on, recover() rolls forward
    _reached("manifest_written")
    if raw is not None:
        os.replace(_temp(manifest.raw_path(paths)), manifest.raw_path(paths))
        _reached("raw_segment_renamed")  # readers of raw/<table>/*.parquet would see members twice from here
    os.replace(_temp(manifest.ledger_path(paths)), manifest.ledger_path(paths))
    _reached("ledger_segment_renamed")
    _delete_members(paths, manifest)  # ... to the last member's deletion
    _reached("segment_done")
    return segment


class LoadedFile(NamedTuple):
    """One landing file's load, ready to commit: its full SHA-256, raw rows and ledger row."""

    sha: str
    raw: pa.Table
    ledger: dict


# Seconds a load waits for the table's lock before it commits its files one by one instead (a dbt
# build reading the lake holds every table shared for its whole run; a load must not wait for it).
LOAD_LOCK_SECONDS = 2.0


def commit_loaded(paths: Paths, table: str, files: list[LoadedFile], ledger_schema: pa.Schema) -> str | None:
    """Commit freshly loaded files of ``table`` as one segment: one raw Parquet, one ledger Parquet and a
    manifest naming every file with its raw rows, instead of two Parquet files (and two fsyncs) each.

    Why: WeCom and OA answers come as thousands of small files; at 1M members the per-file writes cost
    more than parsing them (wecom_contacts, 1,500 files: os.fsync 25.5 s and write_table 15.7 s of 162 s).
    The segment is the same as compaction writes (``_commit_segment``, the same crash recovery), so
    verdicts, ``loosen``, ``reject`` and erasure treat it as a compacted segment; a reload's stale
    per-file Parquet are the members it deletes. Returns the segment's name, or None when the table's
    lock stays taken for ``LOAD_LOCK_SECONDS`` (the caller then commits the files one by one).
    """
    deadline = time.monotonic() + LOAD_LOCK_SECONDS
    while True:
        with table_lock(paths, table, wait=False) as acquired:
            if acquired:
                recover(paths, table)
                members = [{"sha": f.sha, "raw_rows": f.raw.num_rows} for f in files]
                raw = pa.concat_tables([f.raw for f in files])
                ledger = pa.Table.from_pylist([f.ledger for f in files], schema=ledger_schema)
                return _commit_segment(paths, table, members, raw, ledger)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


# ---------------------------------------------------------------- loosening


def loosen(paths: Paths, table: str, shas: Iterable[str]) -> list[str]:
    """Write the segments holding any of ``shas`` back as per-file Parquet; returns the segments loosened.

    Needed before a file is handled on its own again: reloaded (its raw and ledger files are
    overwritten) or gated again (and perhaps taken out of the lake).
    """
    wanted = set(shas)
    done = []
    if not wanted or not segments_dir(paths, table).exists():
        return done
    if not any(wanted & set(m.shas) for m in manifests(paths, table)) and not unfinished(paths, table):
        return done  # nothing to write back: no lock, so a reload never waits for a dbt build reading the lake
    with table_lock(paths, table):
        recover(paths, table)
        for manifest in manifests(paths, table):
            if wanted & set(manifest.shas):
                manifest.state = "loosening"
                manifest.write(paths)
                _reached("loosening_marked")
                _finish_loosening(paths, manifest)
                done.append(manifest.segment)
    return done


def _finish_loosening(paths: Paths, manifest: Manifest) -> None:
    """Members back first, segment files next, the manifest last: any interruption is resumable."""
    # (no temporary segment files here: recover() renamed them into place before loosening started)
    raw_segment, ledger_segment = manifest.raw_path(paths), manifest.ledger_path(paths)
    if raw_segment.exists():
        data = pq.read_table(raw_segment)
        for member in manifest.raw_members:
            rows = data.filter(pc.equal(data.column("_file_sha256"), member["sha"]))
            if rows.num_rows != member["raw_rows"]:
                raise RuntimeError(f"{raw_segment}: {rows.num_rows} rows of {member['sha'][:20]}, "
                                   f"the manifest says {member['raw_rows']}")
            _put(rows, per_file(paths, RAW, manifest.table, member["sha"]))
            _reached("raw_member_written_back")
    if ledger_segment.exists():
        ledger = pq.read_table(ledger_segment)
        for member in manifest.members:
            _put(ledger.filter(pc.equal(ledger.column("file_sha256"), member["sha"])),
                 per_file(paths, LEDGER, manifest.table, member["sha"]))
            _reached("ledger_member_written_back")
    raw_segment.unlink(missing_ok=True)
    _reached("raw_segment_deleted")
    ledger_segment.unlink(missing_ok=True)
    _reached("ledger_segment_deleted")
    manifest.path(paths).unlink(missing_ok=True)

