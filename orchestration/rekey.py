"""Rotate the hash key: ``python -m orchestration.rekey [--no-build]``.

Rebuilds the lake from the landing files under a new key and rewrites the hashes the warehouse
carries from build to build (the identity registry), so that every one_id stays the same.

Keys: the new one as every load reads it (``QUANYU_HASH_KEY`` / ``QUANYU_HASH_KEY_VERSION``), the
old one as ``QUANYU_HASH_KEY_PREVIOUS`` / ``QUANYU_HASH_KEY_PREVIOUS_VERSION`` (a lake built with
the demo key: ``QUANYU_HASH_KEY_PREVIOUS_VERSION=demo`` alone). Stop the schedule and the landing
sensor first: no other run may load or build meanwhile.

The steps, one function each (a journal in the work folder ``<lake>.rekey/`` says how far it got):

1. keys: the previous key is the lake's (its fingerprint, ingest/hash_keys.py), the new one has
   another version label;
2. landing: every file the ledger lists is still in the landing folder with the same SHA-256,
   else refuse, naming them (the lake is rebuilt from landing, never from old hashes);
3. re-ingest every ledger file twice, each with the load time it first had (so the gate's
   verdicts and staging's last tie-break stay as they were): under the new key into a fresh lake,
   under the old key into a scratch lake. Same code, same files: the two hash the same raw values;
4. mapping: the two lakes' hashed columns paired row by row give old hash -> new hash for every
   hashed value (``mapping.parquet``); refused unless one to one and unless it covers every
   hashed value of the current lake (else the previous key or the code is not what made it);
   4b. erasures: the suppression list re-keyed with the mapping (new key version, same erasure ids)
   into the fresh lake, the erased persons' rows taken out of it again (ingest/erasure.py, counted as
   ``rows_erased``), the erasure ledger copied. The re-ingests ran without suppression, so the
   mapping covers the erased persons' values (their rows are in landing); an entry it does not cover
   refuses the re-key, naming counts and identifier types only. An unfinished erasure refuses it too;
5. seed: the tables the warehouse carries over (``CARRIED_OVER``) copied into a fresh DuckDB file
   with their hashes mapped: identity_registry's values, node ids and anchors (rows whose value
   is in no landing file any more are dropped: nothing can meet them again); identity_id_changes
   as it is (one_ids and counts only). Stamped with the new key;
6. swap: current lake -> the work folder, fresh lake -> the lake's path, seed ->
   ``warehouse/rekey/`` (orchestration/publish.py: builds start from it until one is published);
7. build: the ``build_all`` job (``--no-build``: leave it to the next scheduled run);
8. clean up: the old lake, the scratch lake and the mapping (every old hash) are deleted.

Crash safety: nothing outside the work folder changes before step 6, and a re-run starts steps
1-5 over. Step 6 is three renames recorded in the journal; a re-run finishes them. After it the
lake and the seed agree on the new key, and any build (this one, a re-run, the nightly) builds
from the seed; the served warehouse stays the old, consistent one until such a build publishes.
The old lake is kept until then.

``map_hashes`` turns a list of keyed hashes (the suppression list, step 4b) into the new key's hashes
and names what it cannot map.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from ingest import erasure, lake
from ingest.atomic import fsync_dir, write_json, writing
from ingest.contract import HASHED_TYPES, Contract, load_contracts
from ingest.engine import ensure_table_dirs, file_sha256, load_tables
from ingest.hash_keys import (
    HashKeyError,
    KeyFingerprint,
    fingerprint,
    lake_has_loads,
    previous_key_from_env,
    recorded_key,
)
from ingest.locks import exclusive
from ingest.pii import HashKey, key_from_env, keyed_hash
from ingest.settings import REPO_ROOT, Paths, paths_from_env
from ingest.suppression import (
    SUPPRESSION_SCHEMA,
    add_entries,
    clean,
    is_hashed,
    person_columns,
    read_entries,
    suppression_path,
)
from orchestration.hash_key_guard import stamp_warehouse_key, warehouse_key
from orchestration.publish import (
    CONSUMED_BUILDS_TABLE,
    DELETIONS_TABLE,
    HASH_KEY_TABLE,
    META_SCHEMA,
    STAGED_LOADS_TABLE,
    TESTS_PASSED_TABLE,
    VANISHED_OBSERVATIONS_TABLE,
    carried_over_relations,
    rekey_seed,
)

# What a build carries from the served warehouse to the next (orchestration.publish.carried_over_relations,
# dbt rebuilds everything else) -> how the re-key treats it. A new carried model must be added here.
CARRIED_OVER = {("identity", "identity_registry"): "map hashes",
                ("identity", "identity_id_changes"): "copy (one_ids and counts, no hash)",
                ("identity", "bridge_record_member"): "copy (only its records per one_id are read; one_ids stay)",
                (META_SCHEMA, "build"): "copy (build stamps)",
                (META_SCHEMA, HASH_KEY_TABLE): "written anew (the new key)",
                (META_SCHEMA, STAGED_LOADS_TABLE): "not carried (load ids and counts, no hash; the seed carries "
                                                   "no table staged by load, and each records its loads again "
                                                   "when the first build stages it in full)",
                (META_SCHEMA, CONSUMED_BUILDS_TABLE): "not carried (build ids; the seed carries no table "
                                                      "incremental by change, and each records what it read "
                                                      "again when the first build builds it in full)",
                (META_SCHEMA, DELETIONS_TABLE): "not carried (build ids; read only with the consumed builds)",
                (META_SCHEMA, TESTS_PASSED_TABLE): "not carried (build ids; the seed carries no table with a "
                                                   "change log, so every test reads all rows once)",
                (META_SCHEMA, VANISHED_OBSERVATIONS_TABLE): "not carried (hashes of the old key; the seed carries "
                                                            "no observation table, so the first build makes them "
                                                            "and the hub scores in full)"}
MAX_LISTED = 20
PREPARED, SWAPPED = "prepared", "swapped"


class RekeyError(HashKeyError):
    """The re-key refuses: the message names what is wrong and what to do; the lake is unchanged."""


@dataclass(frozen=True)
class Workspace:
    """The re-key's folder beside the lake (same file system: the swap is a rename)."""

    paths: Paths

    @property
    def folder(self) -> Path:
        return self.paths.lake.with_name(self.paths.lake.name + ".rekey")

    @property
    def journal(self) -> Path:
        return self.folder / "journal.json"

    @property
    def fresh(self) -> Paths:
        """The new lake, hashed under the new key."""
        return _with_lake(self.paths, self.folder / "lake")

    @property
    def scratch(self) -> Paths:
        """The same files hashed under the previous key, for the mapping only."""
        return _with_lake(self.paths, self.folder / "previous")

    @property
    def retired(self) -> Path:
        """Where the current lake goes at the swap, until a build publishes."""
        return self.folder / "lake.before"

    @property
    def mapping(self) -> Path:
        return self.folder / "mapping.parquet"

    @property
    def seed_temp(self) -> Path:
        seed = rekey_seed(self.paths)
        return seed.with_name(f".{seed.name}.building")

    def state(self) -> dict[str, Any]:
        return json.loads(self.journal.read_text(encoding="utf-8")) if self.journal.exists() else {}

    def note(self, **values: Any) -> None:
        write_json(self.journal, {**self.state(), **values})


def _with_lake(paths: Paths, folder: Path) -> Paths:
    return Paths(home=paths.home, landing=paths.landing, lake=folder, warehouse=paths.warehouse)


def _listed(items: list[str]) -> str:
    shown = items[:MAX_LISTED] + ([f"... and {len(items) - MAX_LISTED} more"] if len(items) > MAX_LISTED else [])
    return "; ".join(shown)


# ---------------------------------------------------------------- 1. keys


class Keys(NamedTuple):
    previous: HashKey
    new: HashKey


def new_key(env: dict[str, str] | None = None) -> HashKey:
    try:
        return key_from_env(env)
    except ValueError as exc:
        raise RekeyError(f"the new hash key: {exc}") from None


def check_keys(paths: Paths, env: dict[str, str] | None = None) -> Keys:
    """The previous key must be the lake's; the new one must have another version label."""
    new = new_key(env)
    previous = previous_key_from_env(env)
    recorded = recorded_key(paths)
    if recorded is None:
        raise RekeyError(f"lake {paths.lake} has no hash key record ({paths.lake / '_hash_key.json'}): it was "
                         f"never loaded, or not since keys are recorded; run a load (build_all) with the lake's "
                         f"key first, then re-key")
    if previous is None:
        raise RekeyError(f"QUANYU_HASH_KEY_PREVIOUS and QUANYU_HASH_KEY_PREVIOUS_VERSION are not set: give the "
                         f"key the lake was hashed with ({recorded}); a lake built with the demo key: "
                         f"QUANYU_HASH_KEY_PREVIOUS_VERSION=demo")
    if fingerprint(previous) != recorded:
        raise RekeyError(f"the previous key given is {fingerprint(previous)}, but lake {paths.lake} was hashed "
                         f"with {recorded}: give that key as QUANYU_HASH_KEY_PREVIOUS / "
                         f"QUANYU_HASH_KEY_PREVIOUS_VERSION")
    if new.version == previous.version:
        raise RekeyError(f"the new key has the version label of the lake's key ({new.version!r}): give the new "
                         f"key its own label in QUANYU_HASH_KEY_VERSION, so that rows say which key hashed them")
    return Keys(previous, new)


# ---------------------------------------------------------------- 2. landing


class LedgerFile(NamedTuple):
    table: str
    source_file: str
    sha: str
    loaded_at: dt.datetime


def ledger_files(paths: Paths, contracts: dict[str, Contract]) -> list[LedgerFile]:
    """Every landing file of the lake's ledger, with the time it was loaded."""
    files = []
    for table in lake.table_names(paths, lake.LEDGER):
        entries = lake.ledger_entries(paths, table)
        if len(entries) and table not in contracts:
            raise RekeyError(f"lake {paths.lake}: the ledger lists {len(entries)} file(s) of table {table!r}, which "
                             f"no contract declares any more (ingest/contracts/): restore the contract, or remove the "
                             f"table from the lake, then re-key")
        files += [LedgerFile(table, e.source_file, e.file_sha256, pd.Timestamp(e.loaded_at).to_pydatetime())
                  for e in entries.itertuples(index=False)]
    return files


def check_landing(paths: Paths, files: list[LedgerFile]) -> None:
    """Every ledger file must be in landing, unchanged: the new lake is rebuilt from them."""
    gone, changed = [], []
    for entry in files:
        path = paths.landing / entry.source_file
        if not path.is_file():
            gone.append(f"{entry.table}: {entry.source_file}")
        elif file_sha256(path) != entry.sha:
            changed.append(f"{entry.table}: {entry.source_file}")
    if gone or changed:
        parts = ([f"missing: {len(gone)} ({_listed(gone)})"] if gone else []) + (
            [f"changed since they were loaded: {len(changed)} ({_listed(changed)})"] if changed else [])
        raise RekeyError(
            f"landing folder {paths.landing}: of the {len(files)} files the lake's ledger lists, "
            f"{'; '.join(parts)}. The re-key rebuilds the lake from the landing files and would lose their rows; "
            f"nothing was changed. Put the files back (from the channel or a backup) and re-key")


# ---------------------------------------------------------------- 3. re-ingest


def reingest(target: Paths, key: HashKey, files: list[LedgerFile], contracts: dict[str, Contract],
             log: Callable[[str], None]) -> None:
    """Load exactly ``files`` into the empty lake ``target`` under ``key``, each with its first load time.

    Without suppression: ``target`` has no suppression list (the erasures are carried over after the
    mapping, step 4b), so the erased persons' rows load from landing and the mapping covers their values."""
    if suppression_path(target).exists():
        raise RekeyError(f"{suppression_path(target)} exists before the re-ingest into {target.lake}: the re-key's "
                         f"lakes start empty; delete {target.lake} and re-key")
    by_time: dict[dt.datetime, dict[str, list[Path]]] = {}
    for entry in files:
        by_time.setdefault(entry.loaded_at, {}).setdefault(entry.table, []).append(target.landing / entry.source_file)
    refused = []
    for loaded_at, chosen in sorted(by_time.items()):
        reports = load_tables([contracts[t] for t in sorted(chosen)], target, key=key, files=chosen,
                              loaded_at=loaded_at)
        refused += [f"{table}: {f.source_file} ({f.status}: {f.message})" for table, report in reports.items()
                    for f in report.files if f.status != "loaded"]
    if refused:
        raise RekeyError(f"{len(refused)} landing file(s) the ledger lists did not load again: {_listed(refused)}. "
                         f"The lake is unchanged; fix the cause (a contract changed since?) and re-key")
    for contract in contracts.values():  # every table readable, also one with no file (dbt reads each by glob)
        ensure_table_dirs(contract, target)
    log(f"re-ingested {len(files)} landing file(s) under key {key.version!r} into {target.lake}")


# ---------------------------------------------------------------- 4. mapping


def hashed_columns(contract: Contract) -> list[str]:
    """The raw columns of ``contract`` holding keyed hashes (``HASHED_TYPES``: mobile and hash land as
    ``<name>_hash``, the receiver types as ``<name>_hash``, ``<name>_surname_hash``, ``<name>_tail4_hash`` ...)."""
    return [name for column in contract.loaded_columns if column.type in HASHED_TYPES
            for name, _ in column.outputs if name.endswith("_hash")]


def _raw(paths: Paths, table: str, columns: list[str]) -> str:
    listed = ", ".join(f'"{c}"' for c in ["_file_sha256", "_source_row", *columns])
    return (f"(select {listed}, file_row_number from read_parquet('{lake.table_glob(paths, lake.RAW, table)}', "
            f"union_by_name = true, file_row_number = true))")


@dataclass
class MappingReport:
    values: int = 0
    problems: list[str] = field(default_factory=list)


def build_mapping(work: Workspace, contracts: dict[str, Contract], tables: Iterable[str],
                  log: Callable[[str], None]) -> int:
    """Old hash -> new hash from the two re-ingested lakes, paired by file and row; written to
    ``work.mapping``. Raises unless the rows pair up and the mapping is one to one."""
    report = MappingReport()
    with duckdb.connect() as con:
        con.execute("create table pairs (old_hash varchar, new_hash varchar)")
        for table in sorted(tables):
            columns = hashed_columns(contracts[table])
            if not columns:
                continue
            old, new = _raw(work.scratch, table, columns), _raw(work.fresh, table, columns)
            joined = (f"from {old} as o full join {new} as n on o._file_sha256 = n._file_sha256 "
                      f"and o.file_row_number = n.file_row_number")
            unpaired = con.execute(f"select count(*) {joined} where o._file_sha256 is null or n._file_sha256 is null "
                                   f"or o._source_row <> n._source_row").fetchall()[0][0]
            if unpaired:
                report.problems.append(f"{table}: {unpaired} row(s) do not pair up between the two loads")
                continue
            for column in columns:
                half = con.execute(f'select count(*) {joined} where (o."{column}" is null) <> (n."{column}" is null)'
                                   ).fetchall()[0][0]
                if half:
                    report.problems.append(f"{table}.{column}: {half} row(s) hashed under one key only")
                con.execute(f'insert into pairs select distinct o."{column}", n."{column}" {joined} '
                            f'where o."{column}" is not null and n."{column}" is not null')
        con.execute("create table mapping as select distinct old_hash, new_hash from pairs")
        for side, other in (("old_hash", "new_hash"), ("new_hash", "old_hash")):
            many = con.execute(f"select count(*) from (select {side} from mapping group by 1 "
                               f"having count(distinct {other}) > 1)").fetchall()[0][0]
            if many:
                report.problems.append(f"{many} {side.replace('_', ' ')}(es) pair with more than one "
                                       f"{other.replace('_', ' ')}")
        if report.problems:
            raise RekeyError(f"the old -> new hash mapping is not one to one: {_listed(report.problems)}. The lake "
                             f"is unchanged (re-key work left in {work.folder} to look at)")
        report.values = con.execute("select count(*) from mapping").fetchall()[0][0]
        con.execute(f"copy (select * from mapping order by old_hash) to '{work.mapping}' (format parquet)")
    log(f"mapped {report.values:,} hashed value(s) from the previous key to the new one")
    return report.values


def check_coverage(paths: Paths, work: Workspace, contracts: dict[str, Contract], tables: Iterable[str]) -> None:
    """Every hashed value in the current lake must be in the mapping: else the previous key (or the
    normalisation that made them) is not what these rows were hashed with, and the registry's
    hashes could not all be carried over."""
    missing = []
    with lake.reading(paths), duckdb.connect() as con:
        con.execute(f"create table mapping as select old_hash from read_parquet('{work.mapping}')")
        for table in sorted(tables):
            for column in hashed_columns(contracts[table]):
                relation = lake.raw_relation(paths, table)
                found = con.execute(f'select count(distinct "{column}") from {relation} '
                                    f'where "{column}" is not null and "{column}" not in (select old_hash from mapping)'
                                    ).fetchall()[0][0]
                if found:
                    missing.append(f"{table}.{column}: {found}")
    if missing:
        raise RekeyError(f"hashed values of the current lake {paths.lake} that hashing its landing files with the "
                         f"previous key does not give ({_listed(missing)}): they were hashed with another key or an "
                         f"older normalisation. Not re-keyed; the lake is unchanged")


class MappedHashes(NamedTuple):
    mapped: dict[str, str]  # old hash -> new hash
    unmapped: list[str]  # old hashes no landing file gives a raw value for


def map_hashes(mapping: Path, hashes: Iterable[str]) -> MappedHashes:
    """Re-key a list of old-key hashes (e.g. a suppression list) with the re-key's mapping."""
    wanted = sorted(set(hashes))
    with duckdb.connect() as con:
        con.execute("create table wanted (old_hash varchar)")
        con.executemany("insert into wanted values (?)", [(h,) for h in wanted])
        rows = con.execute(f"select w.old_hash, m.new_hash from wanted as w left join read_parquet('{mapping}') as m "
                           f"on m.old_hash = w.old_hash").fetchall()
    return MappedHashes({o: n for o, n in rows if n is not None}, sorted(o for o, n in rows if n is None))


# ---------------------------------------------------------------- 4b. erasures


class CarriedErasures(NamedTuple):
    entries: int  # suppression entries re-keyed
    erasures: int  # erasure ledger entries copied
    rows_removed: dict[str, dict[str, int]]  # table -> place -> rows taken out of the fresh lake


def check_erasures(paths: Paths, keys: Keys) -> None:
    """Before any work: no erasure unfinished (its journal holds old-key hashes and a plan for the
    current lake's files), and every suppression entry under the lake's key (the mapping re-keys no other)."""
    unfinished = erasure.pending(paths)
    if unfinished:
        raise RekeyError(f"lake {paths.lake}: {len(unfinished)} erasure(s) are unfinished "
                         f"({', '.join(j.erasure_id for j in unfinished)}): finish them first with "
                         f"python -m orchestration.erase --resume (the lake's key), then re-key; nothing was changed")
    versions = read_entries(paths).column("key_version").to_pylist()
    other = sorted(set(versions) - {keys.previous.version})
    if other:
        raise RekeyError(f"the suppression list {suppression_path(paths)} holds "
                         f"{sum(v != keys.previous.version for v in versions)} entries of hash key version(s) {other}, "
                         f"not of the lake's key {keys.previous.version!r}: this lake's mapping cannot re-key them; "
                         f"nothing was changed (docs/privacy.md, 'Rotating the hash key')")


def _plain_pairs(fresh: Paths, keys: Keys, wanted: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Old hash -> new hash of identifiers the lake keeps as exported (member ids, openids ...), for the
    old hashes in ``wanted`` (identifier type -> hashes): their keyed hash is the suppression list's
    alone, so the mapping of the hashed columns does not hold it. Computed from the fresh lake's raw
    values the way the suppression check computes it (``clean`` then HMAC)."""
    pairs = set()
    for table, columns in person_columns().items():
        plain = [c for c, kind in columns.items() if not is_hashed(c) and wanted.get(kind)]
        folder = lake.table_dir(fresh, lake.RAW, table)
        files = [f for f in sorted(folder.glob("*.parquet")) if lake.is_data_file(f)] if folder.exists() else []
        for column in plain:
            hashes = wanted[columns[column]]
            values: set[str] = set()
            for path in files:
                if column in pq.read_schema(path).names:
                    values |= {str(v) for v in pq.read_table(path, columns=[column]).column(column).to_pylist()
                               if v is not None}
            for value in values:
                old = keyed_hash(keys.previous, clean(value))
                if old in hashes:
                    pairs.add((old, keyed_hash(keys.new, clean(value))))
    return pairs


def _extend_mapping(work: Workspace, pairs: set[tuple[str, str]]) -> None:
    if not pairs:
        return
    with duckdb.connect() as con, writing(work.mapping) as temp:
        con.execute("create table extra (old_hash varchar, new_hash varchar)")
        con.executemany("insert into extra values (?, ?)", sorted(pairs))
        con.execute(f"copy (select * from (select * from read_parquet('{work.mapping}') union select * from extra) "
                    f"order by old_hash) to '{temp}' (format parquet)")


def carry_erasures(paths: Paths, work: Workspace, keys: Keys, log: Callable[[str], None]) -> CarriedErasures:
    """The erasures into the fresh lake: the suppression list re-keyed with the mapping (new key version,
    same erasure ids), the erased persons' rows removed again (``ingest.erasure.erase_rows``: same
    rewrite, ``rows_erased`` in the ledger), the erasure ledger copied (counts, types and the version
    the erasure ran under: no hash, nothing a key changes). Refused, naming only counts and identifier
    types, when an entry's value is in no landing file the ledger lists: no raw value, no new hash."""
    entries = read_entries(paths)
    ledger = sorted(erasure.ledger_dir(paths).glob("*.json")) if erasure.ledger_dir(paths).exists() else []
    if entries.num_rows == 0 and not ledger:
        return CarriedErasures(0, 0, {})
    rows = entries.to_pylist()
    wanted: dict[str, set[str]] = {}
    for e in rows:
        wanted.setdefault(e["identifier_type"], set()).add(e["value_hash"])
    _extend_mapping(work, _plain_pairs(work.fresh, keys, wanted))
    found = map_hashes(work.mapping, (e["value_hash"] for e in rows))
    missing = [e["identifier_type"] for e in rows if e["value_hash"] not in found.mapped]
    if missing:
        types = ", ".join(f"{kind} {n}" for kind, n in sorted(Counter(missing).items()))
        shutil.rmtree(work.folder, ignore_errors=True)  # its fresh lake holds the erased persons' rows
        raise RekeyError(f"{len(missing)} entr{'y' if len(missing) == 1 else 'ies'} of the suppression list "
                         f"{suppression_path(paths)} ({types}) name an identifier that no landing file of the "
                         f"ledger holds: a keyed hash cannot be re-keyed without the raw value, and the re-keyed lake "
                         f"could not keep those erased persons out. Nothing was changed. Put the export that held "
                         f"them back into landing (from the channel or a backup) and load it (its rows are "
                         f"suppressed; the file enters the ledger), then re-key; or keep the current key "
                         f"(docs/privacy.md, 'Rotating the hash key')")
    rekeyed = [{**e, "value_hash": found.mapped[e["value_hash"]], "key_version": keys.new.version} for e in rows]
    add_entries(work.fresh, rekeyed)
    removed = erasure.erase_rows(work.fresh, keys.new, pa.Table.from_pylist(rekeyed, schema=SUPPRESSION_SCHEMA))
    target = erasure.ledger_dir(work.fresh)
    target.mkdir(parents=True, exist_ok=True)
    for entry in ledger:
        shutil.copy2(entry, target / entry.name)
    fsync_dir(target)
    total = sum(n for places in removed.values() for n in places.values())
    log(f"carried {len(ledger)} erasure(s) over: {len(rekeyed)} suppression entr{'y' if len(rekeyed) == 1 else 'ies'} "
        f"re-keyed, {total:,} row(s) of erased persons taken out of the re-ingested lake")
    return CarriedErasures(len(rekeyed), len(ledger), removed)


# ---------------------------------------------------------------- 5. seed


def hashed_identifier_types(project: Path = REPO_ROOT / "dbt_project" / "dbt_project.yml") -> list[str]:
    """OneID identifier types whose values are keyed hashes: those read from a ``*_hash`` staging
    column in ``var('identity_sources')`` (staging keeps the raw column's name)."""
    sources = yaml.safe_load(project.read_text(encoding="utf-8"))["vars"]["identity_sources"]
    return sorted({kind for source in sources for kind, column in source["identifiers"].items()
                   if column.endswith("_hash")})


class SeedReport(NamedTuple):
    registry_rows: int
    hashed_rows: int
    dropped_rows: int
    one_ids: int


def _registry_sql(columns: list[str], hashed: list[str]) -> str:
    types = ", ".join(f"'{t}'" for t in hashed)
    anchor = ""
    if "one_id_anchor_node" in columns:
        anchor = (", case when a.new_hash is not null"
                  " then split_part(r.one_id_anchor_node, ':', 1) || ':' || a.new_hash"
                  f" when split_part(r.one_id_anchor_node, ':', 1) in ({types}) then null"
                  " else r.one_id_anchor_node end as one_id_anchor_node")
    return (
        f"select r.* replace (case when r.identifier_type in ({types}) then r.identifier_type || ':' || m.new_hash "
        f"else r.node_id end as node_id, case when r.identifier_type in ({types}) then m.new_hash "
        f"else r.identifier_value end as identifier_value{anchor}) "
        f"from served.identity.identity_registry as r "
        f"left join mapping as m on r.identifier_type in ({types}) and m.old_hash = r.identifier_value "
        + (f"left join mapping as a on split_part(r.one_id_anchor_node, ':', 1) in ({types}) "
           f"and a.old_hash = substr(r.one_id_anchor_node, strpos(r.one_id_anchor_node, ':') + 1) "
           if anchor else "")
        + f"where r.identifier_type not in ({types}) or m.new_hash is not null")


def write_seed(paths: Paths, work: Workspace, new: KeyFingerprint, manifest: dict[str, Any],
               log: Callable[[str], None]) -> SeedReport:
    """The warehouse the next build starts from: the carried-over tables, hashes mapped (step 5)."""
    # models staged by load (and identity tables by node) hold hashes of the old key and are not carried:
    # the seed has no fingerprints (orchestration/publish.py), so the first build after the re-key builds
    # them in full from the new lake
    carried = carried_over_relations(manifest, unchanged=frozenset())
    unknown = [f"{s}.{t}" for s, t in carried if (s, t) not in CARRIED_OVER]
    if unknown:
        raise RekeyError(f"dbt models that carry rows from build to build are not known to the re-key: "
                         f"{', '.join(unknown)}. Say in orchestration/rekey.py CARRIED_OVER how their hashes are "
                         f"mapped (or that they hold none); nothing was changed")
    target = work.seed_temp
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    hashed = hashed_identifier_types()
    report = SeedReport(0, 0, 0, 0)
    with duckdb.connect(str(target)) as con:
        if paths.warehouse.exists():
            con.execute(f"attach '{paths.warehouse}' as served (read_only)")
            present = set(con.execute("select table_schema, table_name from information_schema.tables "
                                      "where table_catalog = 'served'").fetchall())
            con.execute(f"create temp table mapping as select * from read_parquet('{work.mapping}')")
            for schema, table in sorted(CARRIED_OVER):
                if (schema, table) not in present or CARRIED_OVER[schema, table].startswith(("written anew",
                                                                                             "not carried")):
                    continue
                con.execute(f'create schema if not exists "{schema}"')
                if (schema, table) == ("identity", "identity_registry"):
                    columns = [r[0] for r in con.execute("select column_name from information_schema.columns where "
                                                         "table_catalog = 'served' and table_schema = 'identity' "
                                                         "and table_name = 'identity_registry'").fetchall()]
                    con.execute(f"create table identity.identity_registry as {_registry_sql(columns, hashed)}")
                    total, kept_hashed, one_ids = con.execute(
                        f"select count(*), count(*) filter (where identifier_type in "
                        f"({', '.join(repr(t) for t in hashed)})), count(distinct one_id) "
                        f"from served.identity.identity_registry").fetchall()[0]
                    now = con.execute("select count(*) from identity.identity_registry").fetchall()[0][0]
                    report = SeedReport(now, kept_hashed - (total - now), total - now, one_ids)
                else:
                    con.execute(f'create table "{schema}"."{table}" as select * from served."{schema}"."{table}"')
            con.execute("detach served")
    stamp_warehouse_key(target, new)
    with duckdb.connect(str(target)) as con:
        con.execute("checkpoint")
    if paths.warehouse.exists():
        log(f"re-keyed identity registry: {report.registry_rows:,} row(s) of {report.one_ids:,} one_id(s), "
            f"{report.hashed_rows:,} hashed identifier(s) mapped, {report.dropped_rows:,} dropped (in no landing file)")
    else:
        log("no served warehouse yet: no registry to re-key (the first build mints the one_ids)")
    return report


# ---------------------------------------------------------------- 6. swap


def swap(paths: Paths, work: Workspace) -> None:
    """Current lake out, fresh lake in, seed into place; each rename is done once (re-runnable)."""
    fresh = work.fresh.lake
    if fresh.exists():
        if paths.lake.exists() and not work.retired.exists():
            os.rename(paths.lake, work.retired)
        elif paths.lake.exists():
            if any(paths.lake.iterdir()):
                raise RekeyError(f"the swap was interrupted and {paths.lake} was created again meanwhile (a run "
                                 f"loaded into it?): the previous lake is in {work.retired}, the re-keyed one in "
                                 f"{fresh}. Stop every run, move {paths.lake} away and run the re-key again")
            paths.lake.rmdir()
        os.rename(fresh, paths.lake)
        fsync_dir(paths.lake.parent)
    if work.seed_temp.exists():
        os.replace(work.seed_temp, rekey_seed(paths))
        fsync_dir(rekey_seed(paths).parent)
    work.note(state=SWAPPED, swapped_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))


# ---------------------------------------------------------------- 7. build


def run_build(paths: Paths) -> tuple[bool, list[str]]:
    """The build_all job in this process (as orchestration.demo runs it); (success, failures)."""
    from dagster import DagsterInstance

    from orchestration.definitions import build_all_tags, defs

    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
    build_log = paths.home / "logs" / "rekey_build.log"
    build_log.parent.mkdir(parents=True, exist_ok=True)
    with build_log.open("w", encoding="utf-8") as out, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        result = defs.resolve_job_def("build_all").execute_in_process(
            instance=instance, raise_on_error=False, tags=build_all_tags(paths=paths),
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    failures = [f"{e.step_key}: {_failure_text(e)}" for e in result.all_events if e.is_step_failure]
    return result.success, failures + [f"(dbt's and Dagster's output: {build_log})"]


def _failure_text(event: Any) -> str:
    """A failed step's own message (a Failure's description), without the exception's class."""
    error = getattr(event.event_specific_data, "error", None)
    text = error.message.strip() if error else "failed"
    return text.split(": ", 1)[1] if text.startswith("dagster.") and ": " in text else text


# ---------------------------------------------------------------- the command


def prepare(paths: Paths, work: Workspace, keys: Keys, log: Callable[[str], None]) -> None:
    """Steps 2-5 into the work folder; the lake and the served warehouse are not touched."""
    from orchestration.dbt_assets import load_manifest, prepare_manifest

    contracts = load_contracts()
    lake.heal(paths)
    files = ledger_files(paths, contracts)
    check_landing(paths, files)  # 2
    check_erasures(paths, keys)
    prepare_manifest(paths)  # the models as they are now: which carry rows over (step 5), what the build runs
    manifest = load_manifest()
    shutil.rmtree(work.folder, ignore_errors=True)
    work.seed_temp.unlink(missing_ok=True)
    work.note(state="preparing", previous=list(fingerprint(keys.previous)), new=list(fingerprint(keys.new)),
              files=len(files), started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    reingest(work.fresh, keys.new, files, contracts, log)  # 3
    reingest(work.scratch, keys.previous, files, contracts, log)
    tables = sorted({f.table for f in files})
    build_mapping(work, contracts, tables, log)  # 4
    check_coverage(paths, work, contracts, tables)
    carry_erasures(paths, work, keys, log)  # 4b
    write_seed(paths, work, fingerprint(keys.new), manifest, log)  # 5
    work.note(state=PREPARED)


def rekey(paths: Paths, build: bool = True, log: Callable[[str], None] = print) -> int:
    """Run (or finish) the re-key; returns the exit code. Raises ``RekeyError`` when it refuses."""
    work = Workspace(paths)
    with exclusive(paths.lake.parent / f".{paths.lake.name}.rekey.lock"):
        state = work.state().get("state")
        new = fingerprint(new_key())
        if state in (PREPARED, SWAPPED):
            planned = KeyFingerprint(*work.state()["new"])
            if planned != new:
                raise RekeyError(f"an interrupted re-key to key {planned} is in {work.folder}, but the key given "
                                 f"now is {new}: give that key again to finish it"
                                 + (f", or delete {work.folder} to abandon it" if state == PREPARED else ""))
            log(f"finishing the re-key to {new} recorded in {work.journal} (state {state})")
        else:
            started = time.perf_counter()
            keys = check_keys(paths)  # 1
            if not lake_has_loads(paths):
                raise RekeyError(f"lake {paths.lake} holds no loaded file: nothing to re-key")
            log(f"re-keying lake {paths.lake} from {fingerprint(keys.previous)} to {new}")
            prepare(paths, work, keys, log)
            log(f"prepared in {time.perf_counter() - started:.1f}s")
        if work.state()["state"] == PREPARED:
            swap(paths, work)  # 6
            log(f"lake swapped: {paths.lake} is hashed under {new}; the previous lake waits in {work.retired}")
        if rekey_seed(paths).exists():
            if not build:
                log(f"not building (--no-build): the next build_all starts from {rekey_seed(paths)}; run this "
                    f"command again afterwards to delete the previous lake")
                return 0
            ok, failures = run_build(paths)  # 7
            if not ok:
                log("build_all FAILED; the lake is re-keyed, the served warehouse is unchanged and the next "
                    f"build starts from {rekey_seed(paths)}. Fix the cause, run build_all, then this command again "
                    f"to delete the previous lake:\n  " + "\n  ".join(failures))
                return 1
            log(f"build_all published the warehouse under {new}")
        served = warehouse_key(paths.warehouse)
        if served is not None and served != new:  # the seed was deleted by hand: the old lake is the way back
            raise RekeyError(f"the re-keyed registry {rekey_seed(paths)} is gone, but the served warehouse is still "
                             f"under {served}: not deleting the previous lake ({work.retired}). Restore the "
                             f"registry seed, or move the previous lake back and delete {work.folder}")
        shutil.rmtree(work.folder)  # 8: every old hash goes
        with contextlib.suppress(OSError):
            rekey_seed(paths).parent.rmdir()  # the seed's folder, if empty
        log(f"re-key to {new} done; deleted {work.folder} (the previous lake and the mapping)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-build", action="store_true",
                        help="stop after the swap; the next build_all (the nightly run) builds from the re-keyed "
                             "registry; run the command again afterwards to delete the previous lake")
    args = parser.parse_args(argv)
    paths = paths_from_env().ensure()
    try:
        return rekey(paths, build=not args.no_build)
    except HashKeyError as exc:
        print(f"NOT RE-KEYED: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
