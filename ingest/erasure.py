"""Erasing a person from the lake: raw files, compacted segments, quarantine, rejected files.

``python -m orchestration.erase`` resolves a person to identifiers (through the warehouse's
identity graph) and hands them here as suppression entries (``ingest.suppression``): keyed
hashes per identifier type. Every file of the lake holding a row that names one of them is
rewritten without it, atomically, under the table's exclusive lock (no compaction, loosening,
or reading ``ingest.lake.reading`` meanwhile):

1. the suppression entries are added to the list first: from then on no load lets them in;
2. plan, per table: the files holding matching rows, counted. A compacted file is written back
   on its own first (``lake.loosen``, crash-safe) and compacts again with the next load;
3. the plan (counts and each touched file's ledger counts before, no personal data) is written
   to the erasure's journal ``erasure/pending/<id>.json``: the commit point;
4. each file is rewritten without the rows (temporary file, fsync, rename), and its ledger entry
   with ``rows_loaded`` / ``rows_quarantined`` lowered and ``rows_erased`` raised by as many, so
   ``rows_read == rows_loaded + rows_quarantined + rows_suppressed + rows_erased`` holds again;
5. the journal moves on (the warehouse step, ``orchestration.erase``), and when all is done the
   erasure's ledger entry ``erasure/ledger/<id>.json`` (counts only) is written and the journal
   deleted.

A process killed anywhere is finished by ``resume_lake``: before the journal exists nothing was
rewritten (the plan is made again); after it, each rewrite filters again (a file already
rewritten loses nothing more) and the ledger counts come from the journal's "before" figures,
so a rewrite done twice counts once. Until then ``ingest.audit.reconcile`` reports the erasure as
unfinished, which blocks the raw gates and so every build.

The journal holds the person's identifiers (the warehouse step needs them) until the erasure
is done; the ledger entry and the suppression list never hold a raw value.
"""
from __future__ import annotations

import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest import lake
from ingest.atomic import write_json
from ingest.engine import LEDGER_SCHEMA
from ingest.pii import HashKey
from ingest.settings import Paths, business_now
from ingest.suppression import SUPPRESSION_SCHEMA, Suppressor, add_entries, person_columns


class ErasureStateError(RuntimeError):
    """The erasure journal or ledger is not what an erasure leaves behind."""


def ledger_dir(paths: Paths) -> Path:
    return lake.erasure_dir(paths) / "ledger"


def pending_dir(paths: Paths) -> Path:
    return lake.erasure_dir(paths) / "pending"


# ---------------------------------------------------------------- journal and ledger


@dataclass
class Journal:
    """An unfinished erasure: what it was asked, what it found, how far it got."""

    erasure_id: str
    started_at: str
    given: list[str]  # identifier types given on the command line (mobile, crm_member_id, one_id)
    key_version: str
    identifiers: list[list[str]] = field(default_factory=list)  # [type, value as the warehouse holds it]
    one_ids: list[str] = field(default_factory=list)
    entries: list[dict[str, str]] = field(default_factory=list)  # suppression entries (keyed hashes)
    state: str = "lake"  # lake (plan absent or unfinished) -> warehouse -> done
    plan: list[dict[str, Any]] | None = None  # per touched file: table, sha, place, rows to remove, ledger before
    lake_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    warehouse_counts: dict[str, int] = field(default_factory=dict)
    builds_deleted: int = 0  # other build folders (a failed build kept for inspection) deleted with the person

    def path(self, paths: Paths) -> Path:
        return pending_dir(paths) / f"{self.erasure_id}.json"

    def write(self, paths: Paths) -> None:
        write_json(self.path(paths), self.__dict__)

    @classmethod
    def read(cls, path: Path) -> Journal:
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise ErasureStateError(f"{path}: not an erasure journal ({exc}); expected the JSON an "
                                    f"unfinished erasure writes") from None


def pending(paths: Paths) -> list[Journal]:
    """Erasures started and not finished (oldest first)."""
    folder = pending_dir(paths)
    return sorted((Journal.read(p) for p in folder.glob("*.json")), key=lambda j: j.started_at) \
        if folder.exists() else []


def finish(paths: Paths, journal: Journal) -> dict[str, Any]:
    """Write the erasure's ledger entry (no personal data) and drop the journal (which has some)."""
    entry = {
        "erasure_id": journal.erasure_id,
        "requested_at": journal.started_at,
        "finished_at": business_now().isoformat(sep=" "),
        "identifier_types_given": journal.given,
        "identifiers_erased": dict(sorted(Counter(t for t, _ in journal.identifiers).items())),
        "one_ids_erased": len(journal.one_ids),
        "suppression_entries": len(journal.entries),
        "hash_key_version": journal.key_version,
        "rows_removed": {"lake": journal.lake_counts, "warehouse": journal.warehouse_counts},
        "builds_deleted": journal.builds_deleted,
    }
    write_json(ledger_dir(paths) / f"{journal.erasure_id}.json", entry)
    journal.path(paths).unlink(missing_ok=True)
    return entry


def ledger(paths: Paths) -> list[dict[str, Any]]:
    """Every finished erasure's ledger entry, oldest first."""
    folder = ledger_dir(paths)
    entries = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")] if folder.exists() else []
    return sorted(entries, key=lambda e: e["requested_at"])


# ---------------------------------------------------------------- the lake step


def _entries_table(journal: Journal) -> pa.Table:
    return pa.Table.from_pylist(journal.entries, schema=SUPPRESSION_SCHEMA)


def _ledger_mapping(entry: dict[str, Any] | None) -> dict[str, str]:
    """Contract column -> the file's header, as the ledger recorded it."""
    try:
        return json.loads(entry["mapped_columns"]) if entry and entry.get("mapped_columns") else {}
    except ValueError:
        return {}


def _read_ledger_file(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist() if path.exists() else []


def _data_files(paths: Paths, kind: str, table: str) -> list[Path]:
    folder = lake.table_dir(paths, kind, table)
    return [p for p in sorted(folder.glob("*.parquet")) if lake.is_data_file(p)] if folder.exists() else []


def _raw_matches(paths: Paths, table: str, suppressor: Suppressor) -> Counter:
    """Full SHA-256 of each landing file -> its raw rows naming the person (loose files and segments)."""
    found: Counter = Counter()
    for path in _data_files(paths, lake.RAW, table):
        present = [c for c in suppressor.columns if c in pq.read_schema(path).names]
        data = pq.read_table(path, columns=[*present, "_file_sha256"])
        mask = suppressor.raw_mask(data)
        if mask.any():
            for item in pc.value_counts(data.column("_file_sha256").filter(pa.array(mask))).to_pylist():
                found[item["values"]] += item["counts"]
    return found


def _plan_table(paths: Paths, table: str, suppressor: Suppressor) -> list[dict[str, Any]]:
    """The files of ``table`` to rewrite (loosening compacted ones first), with the ledger counts before."""
    raw = _raw_matches(paths, table, suppressor)
    entries = {e["file_sha256"]: e for e in lake.ledger_entries(paths, table).to_dict("records")}
    quarantined: Counter = Counter()
    for path in _data_files(paths, lake.QUARANTINE, table):
        data = pq.read_table(path)
        if not data.num_rows:
            continue
        sha = data.column("_file_sha256")[0].as_py()
        mask = suppressor.quarantine_mask(data, _ledger_mapping(entries.get(sha)))
        if mask.any():
            quarantined[sha] += int(mask.sum())
    touched = sorted(set(raw) | set(quarantined))
    lake.loosen(paths, table, touched)  # a compacted file is rewritten on its own (and compacts again later)
    plan = []
    for sha in touched:
        ledger_rows = _read_ledger_file(lake.per_file(paths, lake.LEDGER, table, sha))
        if len(ledger_rows) != 1:
            raise ErasureStateError(f"{table}: landing file {sha[:20]} has rows in the lake but "
                                    f"{len(ledger_rows)} ledger entries; expected one (run "
                                    f"python -m orchestration.cli --heal, then reconcile)")
        before = {k: int(ledger_rows[0].get(k) or 0) for k in ("rows_loaded", "rows_quarantined", "rows_erased")}
        plan.append({"table": table, "sha": sha, "place": "lake", "raw": raw.get(sha, 0),
                     "quarantine": quarantined.get(sha, 0), "before": before})
    plan += _plan_rejected(paths, table, suppressor)
    return plan


def _plan_rejected(paths: Paths, table: str, suppressor: Suppressor) -> list[dict[str, Any]]:
    """Files the raw gate took out of the lake (``rejected/<table>/<sha>/``) keep rows too."""
    root = paths.lake / lake.REJECTED / table
    plan = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []:
        ledger_rows = _read_ledger_file(folder / "ledger.parquet")
        raw_file, bad_file = folder / "raw.parquet", folder / "quarantine.parquet"
        raw = int(suppressor.raw_mask(pq.read_table(raw_file)).sum()) if raw_file.exists() else 0
        bad = (int(suppressor.quarantine_mask(pq.read_table(bad_file),
                                              _ledger_mapping(ledger_rows[0] if ledger_rows else None)).sum())
               if bad_file.exists() else 0)
        if raw or bad:
            plan.append({"table": table, "sha": folder.name, "place": "rejected", "raw": raw, "quarantine": bad})
    return plan


def _rewrite(path: Path, keep: pa.Array, *, drop_if_empty: bool) -> None:
    data = pq.read_table(path)
    kept = data.filter(keep)
    if kept.num_rows == data.num_rows:
        return
    if drop_if_empty and kept.num_rows == 0:
        path.unlink()
    else:
        lake.write_parquet_atomically(kept, path)


def _apply(paths: Paths, item: dict[str, Any], suppressor: Suppressor) -> None:
    """Rewrite one landing file's rows without the person's (idempotent), then its ledger entry."""
    table, sha = item["table"], item["sha"]
    if item["place"] == "rejected":
        folder = paths.lake / lake.REJECTED / table / sha
        ledger_rows = _read_ledger_file(folder / "ledger.parquet")
        raw_file, bad_file = folder / "raw.parquet", folder / "quarantine.parquet"
        if raw_file.exists():
            _rewrite(raw_file, pa.array(~suppressor.raw_mask(pq.read_table(raw_file))), drop_if_empty=False)
        if bad_file.exists():
            mapping = _ledger_mapping(ledger_rows[0] if ledger_rows else None)
            _rewrite(bad_file, pa.array(~suppressor.quarantine_mask(pq.read_table(bad_file), mapping)),
                     drop_if_empty=True)
        return
    ledger_file = lake.per_file(paths, lake.LEDGER, table, sha)
    entry = _read_ledger_file(ledger_file)[0]
    raw_file = lake.per_file(paths, lake.RAW, table, sha)
    if item["raw"] and raw_file.exists():
        _rewrite(raw_file, pa.array(~suppressor.raw_mask(pq.read_table(raw_file))), drop_if_empty=False)
    bad_file = lake.per_file(paths, lake.QUARANTINE, table, sha)
    if item["quarantine"] and bad_file.exists():
        mask = suppressor.quarantine_mask(pq.read_table(bad_file), _ledger_mapping(entry))
        _rewrite(bad_file, pa.array(~mask), drop_if_empty=True)
    before = item["before"]
    entry.update(rows_loaded=before["rows_loaded"] - item["raw"],
                 rows_quarantined=before["rows_quarantined"] - item["quarantine"],
                 rows_erased=before["rows_erased"] + item["raw"] + item["quarantine"],
                 rows_suppressed=int(entry.get("rows_suppressed") or 0))
    lake.write_parquet_atomically(pa.Table.from_pylist([entry], schema=LEDGER_SCHEMA), ledger_file)


def _tables(paths: Paths) -> list[str]:
    present = set(lake.lake_tables(paths)) | set(lake.table_names(paths, lake.REJECTED))
    return sorted(t for t in person_columns() if t in present)


def erase_lake(paths: Paths, key: HashKey, journal: Journal, *, dry_run: bool = False) -> dict[str, dict[str, int]]:
    """Steps 1-4 of the module docstring for ``journal``'s entries; returns rows removed per table
    and place (``raw``, ``quarantine``, ``rejected``). ``dry_run``: count only, change nothing (a
    compacted file is still written back on its own, which changes no row)."""
    entries = _entries_table(journal)
    tables = _tables(paths)
    with contextlib.ExitStack() as locks:
        for table in tables:
            locks.enter_context(lake.table_lock(paths, table))
            lake.recover(paths, table)
        if not dry_run and journal.plan is None:
            add_entries(paths, journal.entries)
        if journal.plan is None:
            plan = _plan(paths, tables, entries, key)
            if dry_run:
                return _counts(plan)
            journal.plan = plan
            journal.write(paths)  # the commit point: from here on, resume_lake rolls forward
        for item in journal.plan:
            suppressor = Suppressor.from_entries(item["table"], entries, key)
            _apply(paths, item, suppressor)
    journal.lake_counts = _counts(journal.plan)
    journal.state = "warehouse"
    journal.write(paths)
    return journal.lake_counts


def _plan(paths: Paths, tables: list[str], entries: pa.Table, key: HashKey) -> list[dict[str, Any]]:
    """Step 2 for every table: the files to rewrite, with their ledger counts before."""
    plan = []
    for table in tables:
        suppressor = Suppressor.from_entries(table, entries, key)
        if suppressor is not None:
            plan += _plan_table(paths, table, suppressor)
    return plan


def erase_rows(paths: Paths, key: HashKey, entries: pa.Table) -> dict[str, dict[str, int]]:
    """Steps 2 and 4 without a journal: remove every row naming one of ``entries`` (suppression
    entries under ``key``) from a lake no other run sees yet, and account for them in its ledger
    (``rows_erased``). For the re-key's fresh lake (orchestration/rekey.py), whose crash safety is
    its work folder: a killed re-key starts this lake over, so no journal is needed to count once.
    Returns the rows removed per table and place, as ``erase_lake`` does."""
    tables = _tables(paths)
    with contextlib.ExitStack() as locks:
        for table in tables:
            locks.enter_context(lake.table_lock(paths, table))
            lake.recover(paths, table)
        plan = _plan(paths, tables, entries, key)
        for item in plan:
            _apply(paths, item, Suppressor.from_entries(item["table"], entries, key))
    return _counts(plan)


def _counts(plan: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter] = {}
    for item in plan:
        found = counts.setdefault(item["table"], Counter())
        if item["place"] == "rejected":
            found["rejected"] += item["raw"] + item["quarantine"]
        else:
            found["raw"] += item["raw"]
            found["quarantine"] += item["quarantine"]
    return {t: dict(c) for t, c in sorted(counts.items())}


def resume_lake(paths: Paths, key: HashKey, journal: Journal) -> dict[str, dict[str, int]]:
    """Finish the lake step of an erasure a dead process left (see the module docstring)."""
    if journal.state != "lake":
        return journal.lake_counts
    if journal.key_version != key.version:
        raise ErasureStateError(f"erasure {journal.erasure_id} was started with hash key version "
                                f"{journal.key_version!r}; the key now is {key.version!r}: finish it with that key")
    return erase_lake(paths, key, journal)
