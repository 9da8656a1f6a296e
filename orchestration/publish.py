"""Build into a separate file, publish it atomically after every blocking check passed.

BI tools read ``$QUANYU_WAREHOUSE`` (the served file) read-only while the nightly run works:

1. ``prepare_build``: start ``warehouse/build/<run id>/quanyu.duckdb`` and write a dbt profile
   pointing at it. A run that builds every dbt model (``build_all``, the nightly) starts from a
   copy of the served file (a copy-on-write clone where the file system can) keeping only what a
   build carries from the last (``carried_over_relations``): the tables staged by load and the
   identity tables incremental by node, record or source row, the merge/split log and the ``meta``
   stamps; the identity registry (which the build only reads before it replaces it, so ``one_id``
   stays stable) as a view over the served file attached read-only; every other relation is
   dropped, dbt rebuilds it. A run of a few assets (the UI's "Materialize selected") copies the
   whole served file, whose other tables it reads, and drops relations of models that no longer
   exist. Either copy is begun when the run starts (``start_prefetch``), beside the raw steps.
2. dbt builds and tests into the build file; it is the only process that writes it.
3. The mart gates read the copy and record their verdict in ``build.json`` beside it.
4. ``publish``: stamp ``meta.build`` / ``meta.tables`` into the copy, ``CHECKPOINT``, close,
   then ``os.replace`` it onto the served path. The rename is atomic: a reader opening the
   path gets the old file or the new one, never a mix, and never waits for a lock, because
   no process ever opens the served file for writing. Readers that keep a connection open go
   on reading the build they opened until they reconnect.

A failed build never reaches the served path; the latest failed one is kept to look at (its
warehouse file until the next build starts).
Each run has its own build folder, so two runs can never write one file; the publish lock
and the Dagster pool of every writer (``orchestration.resources.WRITER_POOL``: one run at a
time) serialise the rest.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from ingest.atomic import commit, write_json, writing
from ingest.locks import exclusive
from ingest.settings import Paths, business_now

META_SCHEMA = "meta"
KEEP_FAILED_BUILDS = 1  # the last failed build's folder stays for inspection (its warehouse file until the next build)
HASH_KEY_TABLE = "hash_key"  # written by orchestration.hash_key_guard
# The loads each model staged by load has staged (written by its dbt hooks, macro
# record_staged_loads): what the next build's incremental run does not stage again.
STAGED_LOADS_TABLE = "staged_loads"
# The builds whose rows each model incremental by change has read from each parent (written by its
# dbt hooks, macro record_consumed_builds): the change log it does not read again.
CONSUMED_BUILDS_TABLE = "consumed_builds"
# The builds in which a model staged by load deleted rows (macro note_vanished_loads): its children
# incremental by change read all of its rows once after such a build.
DELETIONS_TABLE = "deletions"
# The builds whose rows each test of a table with a change log passed on, under which fingerprint of
# the test (written by dbt's on-run-end, macro record_tests_passed), and the current fingerprints
# (uniqueness_test_fingerprints, written into each build): a test reads only rows of builds not recorded.
TESTS_PASSED_TABLE = "tests_passed"
# The observations int_identity__observation_nodes deleted, per build (macro note_vanished_observations),
# until every table by neighbourhood has read them (int_identity__hub_scores; prune_vanished_observations).
VANISHED_OBSERVATIONS_TABLE = "vanished_observations"
TEST_FINGERPRINTS_TABLE = "test_fingerprints"
CHANGE_LOG_COLUMN = "_build_id"  # on every row a model with a change log writes: the dbt invocation
UNTESTED_ROWS_TESTS = ("unique", "unique_combination_of_columns")  # the tests that read the night's keys
# Relations written outside dbt that a build carries from the served file to the next: the build
# stamps (``copied_from`` chains builds), the hash key the registry's hashes were made with, the
# staged loads, the consumed builds, the deletions, the tests passed and the vanished observations not
# read yet (a model built in full rewrites its own rows of them).
CARRIED_META = ((META_SCHEMA, "build"), (META_SCHEMA, HASH_KEY_TABLE), (META_SCHEMA, STAGED_LOADS_TABLE),
                (META_SCHEMA, CONSUMED_BUILDS_TABLE), (META_SCHEMA, DELETIONS_TABLE),
                (META_SCHEMA, TESTS_PASSED_TABLE), (META_SCHEMA, VANISHED_OBSERVATIONS_TABLE))
# The alias a whole-project build attaches the served file (or the re-key's seed) under, read-only.
PREVIOUS_DATABASE = "previous_build"
# The fingerprints of the models a build carries and updates (staged by load, macro
# incremental_by_load; identity tables by record or source row, macros/incremental_by_node.sql; tables
# incremental by change, macros/incremental_by_change.sql),
# written into every build file by prepare_build: the next build carries such a table only if its
# fingerprint is the same (same SQL, macros, seeds and upstream), else dbt builds it in full.
FINGERPRINTS_TABLE = "model_fingerprints"
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")  # a name written as a call (model_fingerprints)
INCREMENTAL_BY_LOAD_TAG = "incremental_by_load"
INCREMENTAL_BY_RECORD_TAG = "incremental_by_record"
INCREMENTAL_BY_SOURCE_ROW_TAG = "incremental_by_source_row"
INCREMENTAL_BY_CHANGE_TAG = "incremental_by_change"
CARRIED_BY_FINGERPRINT_TAGS = (INCREMENTAL_BY_LOAD_TAG, INCREMENTAL_BY_RECORD_TAG,
                               INCREMENTAL_BY_SOURCE_ROW_TAG, INCREMENTAL_BY_CHANGE_TAG)
# A run tag: with it (true), a whole-project build carries no table staged by load, so dbt stages
# every one of them in full (the full refresh of docs/incremental.md).
FULL_REFRESH_TAG = "quanyu/full_refresh"
PROFILE_NAME = "quanyu"
PARSE_STATE = "partial_parse.msgpack"  # dbt's parse state, in its target folder
RUN_RESULTS = "run_results.json"  # dbt's record of its last command: each node's status and seconds
PARSE_STAMP = "project.sha256"  # beside the kept parse state: the project it was parsed from
BUILD_TARGET = "duckdb"  # the output of dbt_project/profiles.yml that writes (the default, `served`, reads)


@dataclass(frozen=True)
class Build:
    """The private build of one pipeline run."""

    paths: Paths
    run_id: str

    @property
    def folder(self) -> Path:
        return build_root(self.paths) / self.run_id

    @property
    def file(self) -> Path:
        return self.folder / self.paths.warehouse.name

    @property
    def profiles_dir(self) -> Path:
        return self.folder / "profiles"

    @property
    def dbt_target(self) -> Path:
        """dbt's target folder (artifacts, compiled SQL, its parse state): kept with a failed build."""
        return self.folder / "dbt"

    @property
    def stamp_path(self) -> Path:
        return self.folder / "build.json"

    def stamp(self) -> dict[str, Any]:
        return json.loads(self.stamp_path.read_text(encoding="utf-8")) if self.stamp_path.exists() else {}

    def update_stamp(self, **values: Any) -> dict[str, Any]:
        stamp = {**self.stamp(), **values}
        write_json(self.stamp_path, stamp)
        return stamp


def build_root(paths: Paths) -> Path:
    """Builds live beside the served file: same file system, so the final rename is atomic."""
    return paths.warehouse.parent / "build"


def rekey_seed(paths: Paths) -> Path:
    """Where ``python -m orchestration.rekey`` leaves the warehouse the next build starts from: the
    carried-over tables (identity registry, merge/split log) with their hashes under the new key.
    Builds copy it instead of the served file until one of them is published."""
    return paths.warehouse.parent / "rekey" / paths.warehouse.name


def prune_old_builds(paths: Paths, keep: int = KEEP_FAILED_BUILDS, spare_prefetch: str | None = None) -> list[Path]:
    """Before a build starts: delete build folders but the newest ``keep``, and the warehouse files of
    those kept (the file, its WAL, its spill folder). A failed build's file is as large as the served
    one; kept until the next build, the morning after a failed night can still open it, and no night
    needs disk for a third copy (the served file, the failed build, the new build). Its build.json and
    dbt's log and run_results stay beside it. Copies of the served file made ahead of a build
    (``start_prefetch``) are deleted too, but the one of run ``spare_prefetch``. Returns what was deleted."""
    root = build_root(paths)
    if not root.exists():
        return []
    folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(PREFETCH_PREFIX)),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    deleted = folders[keep:] + [f for folder in folders[:keep] for f in sorted(folder.glob(paths.warehouse.name + "*"))]
    deleted += sorted(p for p in root.glob(PREFETCH_PREFIX + "*") if p.name != f"{PREFETCH_PREFIX}{spare_prefetch}")
    for path in deleted:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    link = dbt_state(paths) / "build"
    if link.is_symlink() and not link.exists():  # left by a dbt killed in dbt_view, its build pruned now
        link.unlink()
    return deleted


def dbt_state(paths: Paths) -> Path:
    """What dbt sees of every build, the same path each night (``dbt_view``): ``build``, a link to the
    running build's folder, and dbt's parse state ``partial_parse.msgpack``."""
    return paths.warehouse.parent / "dbt-state"


def dbt_build_file(paths: Paths) -> Path:
    """The build file as the profile names it: through the ``build`` link of ``dbt_state``."""
    return dbt_state(paths) / "build" / paths.warehouse.name


# What dbt parses in a project folder, its installed packages included (manifest_is_current in
# orchestration/dbt_assets.py, and dbt_view, which hands a parse state on only while none of it changed).
PROJECT_SOURCES = ("dbt_project.yml", "profiles.yml", "packages.yml", "dependencies.yml", "models", "macros",
                   "seeds", "tests", "snapshots", "analyses", "dbt_packages")


def project_paths(project_dir: Path) -> list[Path]:
    """Every file and folder of ``PROJECT_SOURCES`` in ``project_dir``, sorted (a folder's own time
    changes when a file in it is deleted)."""
    found = []
    for name in PROJECT_SOURCES:
        source = project_dir / name
        found += [source] if source.is_file() else sorted(source.rglob("*")) if source.is_dir() else []
    return found


def project_stamp(project_dir: Path) -> str:
    """SHA-256 over the names and contents of every file dbt parses in ``project_dir``."""
    digest = hashlib.sha256()
    for file in (path for path in project_paths(project_dir) if path.is_file()):
        digest.update(file.relative_to(project_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


@contextlib.contextmanager
def dbt_view(build: Build, project_dir: Path, log: Callable[[str], None] = print) -> Iterator[None]:
    """While dbt runs on ``build``: the profile's path (``dbt_build_file``) leads to its file, and dbt
    starts from the parse state the last dbt run left, if the project is the same.

    dbt parses the whole project again when the profile changes (the output's path and attachments
    are part of its check): with a path per run, every build paid a full parse (11-15 s of the 2
    cores against ~4 s with the process start for a partial one). So the profile names one path for
    every build, a link in ``dbt_state`` pointed at this build's folder (DuckDB's WAL and spill
    folder, named after the path, land in the folder too), and dbt's ``partial_parse.msgpack`` is
    handed from one build's target folder to the next, but only while no file of the project
    changed (``project_stamp``, kept beside it): a night on unchanged code reuses the last parse
    whole, and a changed project (a deployment) is parsed in full, so no night depends on dbt
    re-parsing a change correctly. dbt itself still parses in full when its version, the profile,
    a variable or an environment variable the project reads changed. The link is held under an
    exclusive lock for the block: two builds of one installation never use it at once (the writers'
    pool already runs one at a time). A missing or broken parse state costs a full parse, nothing else.
    """
    state = dbt_state(build.paths)
    with exclusive(state / ".lock"):
        link = state / "build"
        pointing = state / f".build-{uuid.uuid4().hex}"
        pointing.symlink_to(build.folder, target_is_directory=True)
        os.replace(pointing, link)  # atomic: the link names this build or the last, never nothing
        kept, kept_stamp = state / PARSE_STATE, state / PARSE_STAMP
        stamp = project_stamp(project_dir)
        if kept.exists() and kept_stamp.exists() and kept_stamp.read_text(encoding="utf-8") == stamp:
            build.dbt_target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(kept, build.dbt_target / PARSE_STATE)
        elif kept.exists():
            log("the dbt project changed since the last build: dbt parses it in full")
        try:
            yield
        finally:
            link.unlink(missing_ok=True)  # no link outlives dbt (a dangling one breaks copies of the home)
            parsed = build.dbt_target / PARSE_STATE
            if parsed.exists() and project_stamp(project_dir) == stamp:
                kept_stamp.unlink(missing_ok=True)  # a state without its stamp is never handed on
                with writing(kept) as temp:
                    shutil.copyfile(parsed, temp)
                with writing(kept_stamp) as temp:
                    temp.write_text(stamp, encoding="utf-8")
            else:
                log(f"no parse state kept from {build.dbt_target} (none written, or the project changed "
                    f"during the build): the next build parses in full")


def write_profiles(build: Build, project_profiles: Path, previous: Path | None = None) -> Path:
    """The project's dbt profile writing the build file: its target is the writing DuckDB output
    (``BUILD_TARGET``), pointed at the build file, with ``previous`` (the warehouse the build
    carries over from) attached read-only as ``PREVIOUS_DATABASE``. The project's default target
    (``served``) opens the served file read-only, so a run on it could not build; QUANYU_DBT_TARGET
    is not consulted either (only a DuckDB build can be published). The other outputs are left out.
    The path is the same for every build (``dbt_build_file``): run dbt inside ``dbt_view``."""
    document = yaml.safe_load(project_profiles.read_text(encoding="utf-8"))
    output = document[PROFILE_NAME]["outputs"][BUILD_TARGET]
    if output.get("type") != "duckdb":
        raise ValueError(f"{project_profiles}: output {BUILD_TARGET!r} of profile {PROFILE_NAME!r} is of type "
                         f"{output.get('type')!r}; the build copy is a DuckDB file, expected type 'duckdb'")
    output["path"] = str(dbt_build_file(build.paths))  # the build's file while dbt_view holds it
    if previous is not None:
        output["attach"] = [{"path": str(previous), "alias": PREVIOUS_DATABASE, "read_only": True}]
    document[PROFILE_NAME] = {"target": BUILD_TARGET, "outputs": {BUILD_TARGET: output}}
    build.profiles_dir.mkdir(parents=True, exist_ok=True)
    target = build.profiles_dir / "profiles.yml"
    target.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return build.profiles_dir


def managed_relations(manifest: dict[str, Any]) -> dict[str, set[str]]:
    """schema -> relation names that dbt owns (models, seeds, snapshots)."""
    relations: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed", "snapshot"):
            continue
        if (node.get("config") or {}).get("materialized") == "ephemeral":
            continue
        relations.setdefault(node["schema"], set()).add(node.get("alias") or node["name"])
    return relations


def prune_orphans(database: Path, manifest: dict[str, Any]) -> list[str]:
    """Drop relations in dbt's schemas that no model produces any more (renamed or deleted).

    Building on a copy of the last build would otherwise keep them forever.
    """
    owned = managed_relations(manifest)
    dropped = []
    with duckdb.connect(str(database)) as con:
        found = con.execute("select table_schema, table_name, table_type from information_schema.tables "
                            "where table_catalog = current_database()").fetchall()
        for schema, name, kind in found:
            if schema in owned and name not in owned[schema]:
                con.execute(f'drop {"view" if kind == "VIEW" else "table"} if exists "{schema}"."{name}"')
                dropped.append(f"{schema}.{name}")
    return dropped


def carried_over_relations(manifest: dict[str, Any],
                           unchanged: frozenset[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(schema, relation) -> how a build keeps it from the last: ``copy`` for what the build writes
    into (incremental models, snapshots, ``CARRIED_META``), ``read`` for models marked
    ``meta: {carried_over: true}``, whose previous version the build only reads (macro
    ``previous_relation``) before it replaces them.

    A model staged by load or incremental by node or record (``CARRIED_BY_FINGERPRINT_TAGS``) is
    copied only when it is in ``unchanged`` (its fingerprint is the one the previous build recorded,
    ``unchanged_staged_by_load``; empty for a full refresh and for the re-key's seed); one that is
    also marked ``carried_over`` is read in place otherwise (dbt builds it in full over the view,
    and the models that read its previous version still find it)."""
    found = dict.fromkeys(CARRIED_META, "copy")
    by_fingerprint = set(carried_by_fingerprint(manifest))
    for node in manifest["nodes"].values():
        config = node.get("config") or {}
        relation = (node["schema"], node.get("alias") or node["name"])
        incremental = config.get("materialized") == "incremental"
        if relation in by_fingerprint:
            copied = incremental and relation in unchanged
        else:
            copied = incremental or node["resource_type"] == "snapshot"
        if copied:
            found[relation] = "copy"
        elif (config.get("meta") or {}).get("carried_over"):
            found[relation] = "read"
    return dict(sorted(found.items()))


def _models_tagged(manifest: dict[str, Any], tags: tuple[str, ...]) -> dict[tuple[str, str], str]:
    """(schema, relation) -> unique id of every model with one of ``tags``."""
    return {(node["schema"], node.get("alias") or node["name"]): uid for uid, node in manifest["nodes"].items()
            if node["resource_type"] == "model" and set(tags) & set(node.get("tags") or [])}


def staged_by_load(manifest: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(schema, relation) -> unique id of every model staged by load (macro incremental_by_load)."""
    return _models_tagged(manifest, (INCREMENTAL_BY_LOAD_TAG,))


def carried_by_fingerprint(manifest: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(schema, relation) -> unique id of every model a build carries while its fingerprint is
    unchanged: staged by load (``staged_by_load``) and identity tables incremental by node or record."""
    return _models_tagged(manifest, CARRIED_BY_FINGERPRINT_TAGS)


def model_fingerprints(manifest: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(schema, relation) -> a fingerprint of what decides every row of each model a build carries
    (``carried_by_fingerprint``: staged by load, incremental by node):
    its SQL, the SQL of every macro it calls (transitively, dbt's own included, so a dbt upgrade
    counts), and the fingerprints of its parents (a seed by its file's checksum, a source by its
    configuration). Rows an incremental run keeps were made by the code of an earlier build: if
    a code list seed gained a status or a staging rule changed, they must be made again, and a
    changed fingerprint makes the next whole-project build stage the model in full."""
    fingerprint = _fingerprinter(manifest)
    return {relation: fingerprint(uid) for relation, uid in carried_by_fingerprint(manifest).items()}


def uniqueness_test_fingerprints(manifest: dict[str, Any]) -> dict[str, str]:
    """test unique id -> a fingerprint of what decides the test's verdict, for every uniqueness test
    (``UNTESTED_ROWS_TESTS``) of a model with a change log (a documented ``_build_id`` column): its
    arguments and config, the SQL of its macros and of ``get_where_subquery`` (which picks the rows
    it reads), and its model's fingerprint. A build's on-run-end records the builds whose rows each
    passing test read under this fingerprint (``TESTS_PASSED_TABLE``); the next run of the same test
    reads only the keys of the other rows (dbt_project/macros/tests/untested_rows.sql), and a changed
    fingerprint makes it read every row again."""
    nodes = manifest["nodes"]
    with_change_log = {uid for uid, node in nodes.items() if CHANGE_LOG_COLUMN in (node.get("columns") or {})}
    fingerprint = _fingerprinter(manifest)
    return {uid: fingerprint(uid) for uid, node in sorted(nodes.items())
            if node["resource_type"] == "test" and node.get("attached_node") in with_change_log
            and (node.get("test_metadata") or {}).get("name") in UNTESTED_ROWS_TESTS}


def _fingerprinter(manifest: dict[str, Any]) -> Callable[[str], str]:
    """The fingerprint of a node of ``manifest`` by unique id (``model_fingerprints``; a test's also
    holds its arguments, ``test_metadata``, and the macros that pick the rows it reads)."""
    nodes, macros, sources = manifest["nodes"], manifest.get("macros", {}), manifest.get("sources", {})
    memo: dict[str, str] = {}

    by_name: dict[str, list[str]] = {}
    for uid, macro in macros.items():
        by_name.setdefault(macro["name"].split("__", 1)[-1], []).append(uid)

    def called_in(text: str) -> set[str]:
        """The macros a text calls, read from the text itself: every macro whose name (or whose
        <adapter>__<name> implementations' name) is written as a call. Not dbt's depends_on: a
        manifest written after a run also lists the macros that run's branches called (an
        incremental run's), so two manifests of the same code gave two fingerprints."""
        return {uid for name in set(_CALL.findall(text)) for uid in by_name.get(name, [])}

    def macro_text(uid: str, seen: set[str]) -> str:
        if uid in seen or uid not in macros:
            return ""
        seen.add(uid)
        macro = macros[uid]
        # adapter.dispatch calls: every <adapter>__<name> implementation too
        called = called_in(macro.get("macro_sql", "")) | set(by_name.get(macro["name"], []))
        return uid + macro.get("macro_sql", "") + "".join(macro_text(m, seen) for m in sorted(called))

    def fingerprint(uid: str) -> str:
        if uid in memo:
            return memo[uid]
        if uid in sources:  # its meta (versioned_by decides which version wins), not where the lake is
            source = sources[uid]
            text = uid + json.dumps([source.get("meta"), (source.get("config") or {}).get("meta")],
                                    sort_keys=True, default=str)
        else:
            node = nodes[uid]
            depends = node.get("depends_on") or {}
            config = json.dumps(node.get("config") or {}, sort_keys=True, default=str)  # hooks call macros too
            # a generic test: its arguments, and the macro dbt wraps its model in (models have neither)
            test = (json.dumps(node["test_metadata"], sort_keys=True, default=str) + " get_where_subquery()"
                    if node.get("test_metadata") else "")
            text = "".join([
                uid, (node.get("checksum") or {}).get("checksum", ""), node.get("raw_code", ""), config,
                "".join(macro_text(m, set()) for m in sorted(called_in(node.get("raw_code", "") + config + test))),
                "".join(fingerprint(parent) for parent in sorted(depends.get("nodes", []))), test])
        memo[uid] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return memo[uid]

    return fingerprint


def recorded_fingerprints(database: Path) -> dict[tuple[str, str], str]:
    """The fingerprints a build file recorded (``FINGERPRINTS_TABLE``; empty before there was one)."""
    if not Path(database).exists():
        return {}
    with duckdb.connect(str(database), read_only=True) as con:
        found = con.execute("select count(*) from information_schema.tables where table_schema = ? "
                            "and table_name = ?", [META_SCHEMA, FINGERPRINTS_TABLE]).fetchall()[0][0]
        if not found:
            return {}
        rows = con.execute(f"select table_schema, table_name, fingerprint from {META_SCHEMA}.{FINGERPRINTS_TABLE}")
        return {(schema, table): value for schema, table, value in rows.fetchall()}


def unchanged_staged_by_load(fingerprints: dict[tuple[str, str], str],
                             previous: dict[tuple[str, str], str]) -> frozenset[tuple[str, str]]:
    """The models staged by load whose ``previous`` fingerprint (``recorded_fingerprints`` of the
    file a build starts from) is the current code's (``model_fingerprints``)."""
    return frozenset(r for r, value in fingerprints.items() if previous.get(r) == value)


def write_fingerprints(database: Path, fingerprints: dict[tuple[str, str], str]) -> None:
    """Record which code staged the models staged by load in ``database`` (``FINGERPRINTS_TABLE``)."""
    with duckdb.connect(str(database)) as con:
        con.execute(f"create schema if not exists {META_SCHEMA}")
        con.execute(f"create or replace table {META_SCHEMA}.{FINGERPRINTS_TABLE} "
                    f"(table_schema varchar, table_name varchar, fingerprint varchar)")
        con.executemany(f"insert into {META_SCHEMA}.{FINGERPRINTS_TABLE} values (?, ?, ?)",
                        [(schema, table, value) for (schema, table), value in sorted(fingerprints.items())])
        con.execute("checkpoint")


def write_test_fingerprints(database: Path, fingerprints: dict[str, str]) -> None:
    """Record the current code's ``uniqueness_test_fingerprints`` in ``database`` (``TEST_FINGERPRINTS_TABLE``),
    which the tests read to find the rows they passed on, and start ``TESTS_PASSED_TABLE`` where the
    file has none (dbt's on-run-end fills it); written into every build."""
    with duckdb.connect(str(database)) as con:
        con.execute(f"create schema if not exists {META_SCHEMA}")
        con.execute(f"create table if not exists {META_SCHEMA}.{TESTS_PASSED_TABLE} "
                    f"(test_id varchar not null, fingerprint varchar not null, build_id varchar not null)")
        con.execute(f"create or replace table {META_SCHEMA}.{TEST_FINGERPRINTS_TABLE} "
                    f"(test_id varchar not null, fingerprint varchar not null)")
        con.executemany(f"insert into {META_SCHEMA}.{TEST_FINGERPRINTS_TABLE} values (?, ?)",
                        sorted(fingerprints.items()))
        con.execute("checkpoint")


def carry_over(origin: Path, target: Path, relations: dict[tuple[str, str], str],
               copy: Callable[[], str] | None = None) -> list[str]:
    """Start ``target`` with what a build keeps from ``origin``: ``copy`` relations copied, ``read``
    relations as views over ``origin`` attached read-only as ``PREVIOUS_DATABASE`` (the build's dbt
    profile attaches it too, and dbt replaces each view with its new table), nothing else. Returns
    what it did.

    The copy is of the file, then every other relation is dropped (its blocks are free for the
    build's own writes): a file copy runs at the disk's speed, where copying the tables row by row
    (`create table as select` from the attached file) decoded and compressed every row again, at
    about a tenth of that (at 100,000 members 1.8 s against 14.3 s for the same 21 tables; at 1M
    members 25.5-33.8 s for a 12-14 GB file against 111 s of row copies). The build file is then
    about the served file's size from the start, as it is at the end (the build's tables fill the
    dropped ones' blocks). ``copy`` makes the copy instead (a prefetched one: ``start_prefetch``) and
    says how."""
    how_copied = copy() if copy is not None else _timed_copy(origin, target)
    done, dropped = [], 0
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach ? as {PREVIOUS_DATABASE} (read_only)", [str(origin)])
        found = con.execute("select table_schema, table_name, table_type from information_schema.tables "
                            "where table_catalog = current_database() order by 1, 2").fetchall()
        for schema, table, kind in found:
            how = relations.get((schema, table)) if kind == "BASE TABLE" else None
            if how == "copy":
                rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
                done.append(f"{schema}.{table} (copied: {rows:,} rows)")
                continue
            con.execute(f'drop {"view" if kind == "VIEW" else "table"} "{schema}"."{table}"')
            if how == "read":
                con.execute(f'create view "{schema}"."{table}" as '
                            f'select * from {PREVIOUS_DATABASE}."{schema}"."{table}"')
                done.append(f"{schema}.{table} (read in place)")
            else:
                dropped += 1
        con.execute(f"detach {PREVIOUS_DATABASE}")
        con.execute("checkpoint")
    done.append(f"the file {how_copied} ({Path(origin).stat().st_size / 2**20:,.0f} MiB), "
                f"{dropped} relations dbt rebuilds dropped")
    return done


FICLONE = 0x40049409  # Linux ioctl: share a file's blocks copy-on-write (XFS with reflink, btrfs)


def copy_file(origin: Path, target: Path) -> str:
    """Copy ``origin`` to ``target`` (a whole-project build's start, a run of a few assets, an
    erasure): as a copy-on-write clone where the filesystem can (then the copy takes no time and
    no disk until the copy is written to), else byte for byte. Returns which."""
    with open(origin, "rb") as source, open(target, "wb") as copy:
        return _copy_open(source.fileno(), copy.fileno())


def _timed_copy(origin: Path, target: Path) -> str:
    started = time.perf_counter()
    how = copy_file(origin, target)
    return f"{how} in {time.perf_counter() - started:.1f} s"


def _copy_open(source: int, copy: int, cancelled: threading.Event | None = None) -> str:
    """``copy_file`` between open files: a clone, else the kernel's copy (``sendfile``, no Python
    buffer) in chunks of ``PREFETCH_CHUNK``, stopping early once ``cancelled`` is set."""
    try:
        fcntl.ioctl(copy, FICLONE, source)
        return "cloned (copy-on-write)"
    except OSError:  # ext4, tmpfs, another filesystem, macOS: a plain copy
        pass
    offset, size = 0, os.fstat(source).st_size
    while offset < size and not (cancelled is not None and cancelled.is_set()):
        sent = os.sendfile(copy, source, offset, min(PREFETCH_CHUNK, size - offset))
        if sent == 0:  # the file shrank under the copy: not a copy anyone can use
            raise OSError(f"the file ended at byte {offset} of {size}")
        offset += sent
    return "copied"


PREFETCH_PREFIX = ".prefetch-"  # build/.prefetch-<run id>/: the served file copied ahead of the run's build
PREFETCH_CHUNK = 64 << 20  # bytes a byte copy sends between two looks at whether it was cancelled


def _file_identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    """What tells two versions of the served file apart: publication replaces it (new inode)."""
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


@dataclass
class Prefetch:
    """A copy of the served warehouse begun before the run's build needs it (``start_prefetch``)."""

    origin: Path
    target: Path
    cancelled: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    identity: tuple[int, int, int, int] | None = None  # of the file the copy read, set when it opened it
    how: str = ""
    seconds: float = 0.0
    error: str = ""


_PREFETCHES: dict[tuple[Path, str], Prefetch] = {}
_PREFETCHES_LOCK = threading.Lock()


def prefetch_folder(paths: Paths, run_id: str) -> Path:
    return build_root(paths) / f"{PREFETCH_PREFIX}{run_id}"


def start_prefetch(paths: Paths, run_id: str) -> Prefetch | None:
    """Begin copying the served file for the build of run ``run_id``, in a thread of this process.

    A whole-project build starts from a copy of the served file (``carry_over``), a run of a few
    assets from one too; on a file system without copy-on-write the copy takes the disk's time
    (25.6 s for 12.7 GB at 1M members) while it waits for nothing the run does before: the served
    file changes only when a run publishes, and runs that write are one at a time. So the run starts
    the copy when it starts (``QuanyuPaths.setup_for_execution``), beside the raw steps, which use
    one core and little disk; ``prepare_build`` takes the copy when it is done, if the served file is
    still the one copied (same inode, size and time), and copies itself otherwise. Earlier builds
    are pruned first, as ``prepare_build`` would, so a night never holds a third copy. Nothing is
    started when there is no served file or a re-key's seed waits (the build starts from the seed).
    """
    origin = paths.warehouse
    key = (build_root(paths).resolve(), run_id)
    with _PREFETCHES_LOCK:
        if key in _PREFETCHES or not origin.exists() or rekey_seed(paths).exists():
            return None
        prune_old_builds(paths, spare_prefetch=run_id)
        folder = prefetch_folder(paths, run_id)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        prefetch = Prefetch(origin, folder / paths.warehouse.name)
        prefetch.thread = threading.Thread(target=_run_prefetch, args=(prefetch,), daemon=True,
                                           name=f"quanyu-prefetch-{run_id}")
        _PREFETCHES[key] = prefetch
        prefetch.thread.start()
        return prefetch


def _run_prefetch(prefetch: Prefetch) -> None:
    started = time.perf_counter()
    try:
        with open(prefetch.origin, "rb") as source, open(prefetch.target, "wb") as copy:
            prefetch.identity = _file_identity(os.fstat(source.fileno()))
            prefetch.how = _copy_open(source.fileno(), copy.fileno(), prefetch.cancelled)
    except OSError as exc:
        prefetch.error = f"{type(exc).__name__}: {exc}"
    prefetch.seconds = time.perf_counter() - started


def _pop_prefetch(paths: Paths, run_id: str) -> Prefetch | None:
    with _PREFETCHES_LOCK:
        return _PREFETCHES.pop((build_root(paths).resolve(), run_id), None)


def take_prefetch(paths: Paths, run_id: str, origin: Path) -> Prefetch | None:
    """The finished copy of ``origin`` begun for ``run_id`` (waiting for it to finish), or None:
    none was begun in this process, it failed, or ``origin`` is not the file it copied any more."""
    prefetch = _pop_prefetch(paths, run_id)
    if prefetch is None:
        return None
    prefetch.thread.join()
    usable = (not prefetch.error and not prefetch.cancelled.is_set() and prefetch.origin == origin
              and origin.exists() and prefetch.identity == _file_identity(origin.stat()))
    if not usable:
        shutil.rmtree(prefetch.target.parent, ignore_errors=True)
        return None
    return prefetch


def cancel_prefetch(paths: Paths, run_id: str) -> None:
    """Stop and delete the copy begun for ``run_id``: a raw step stopped the run, its dbt step will
    not run. A copy left otherwise (a killed run, a step's unexpected error) goes with the next
    build's pruning."""
    prefetch = _pop_prefetch(paths, run_id)
    if prefetch is not None:
        prefetch.cancelled.set()
        prefetch.thread.join()
        shutil.rmtree(prefetch.target.parent, ignore_errors=True)


def _copy_for_build(paths: Paths, run_id: str, origin: Path, target: Path) -> str:
    """``copy_file(origin, target)``, or the prefetched copy moved into place. Returns how and when."""
    prefetch = take_prefetch(paths, run_id, origin)
    if prefetch is None:
        return _timed_copy(origin, target)
    os.replace(prefetch.target, target)
    shutil.rmtree(prefetch.target.parent, ignore_errors=True)
    return f"{prefetch.how} ahead of the build, beside the raw steps, in {prefetch.seconds:.1f} s"


def prepare_build(paths: Paths, run_id: str, manifest: dict[str, Any], project_profiles: Path,
                  log: Callable[[str], None] = print, whole_project: bool = False,
                  full_refresh: bool = False) -> Build:
    """A fresh build folder for ``run_id``: with ``whole_project`` (the run builds every dbt model)
    a new file holding what builds carry over (with ``full_refresh``, no table staged by load);
    else a copy of the served warehouse."""
    for path in prune_old_builds(paths, spare_prefetch=run_id):
        log(f"deleted {path.relative_to(build_root(paths))} of an earlier build (disk for this build)")
    build = Build(paths, run_id)
    if build.folder.exists():
        shutil.rmtree(build.folder)
    build.folder.mkdir(parents=True)
    source = None
    seed = rekey_seed(paths)
    origin = seed if seed.exists() else paths.warehouse
    what = (f"the re-keyed registry {seed} (python -m orchestration.rekey)" if origin == seed
            else "the published warehouse")
    attach = None
    fingerprints = model_fingerprints(manifest)
    if origin.exists() and whole_project:
        previous = recorded_fingerprints(origin)
        unchanged = frozenset() if full_refresh else unchanged_staged_by_load(fingerprints, previous)
        done = carry_over(origin, build.file, carried_over_relations(manifest, unchanged),
                          copy=lambda: _copy_for_build(paths, run_id, origin, build.file))
        restaged = sorted(f"{schema}.{table}" for schema, table in set(fingerprints) - unchanged)
        if restaged and origin != seed and previous:
            log(f"building in full (code, macros or seeds changed since the last build): {', '.join(restaged)}")
        attach = origin
        source = read_build_info(build.file)
        log(f"building every model into a new file; from {what} (build "
            f"{(source or {}).get('build_id', '?')}): {', '.join(done) or 'nothing'}")
    elif origin.exists():
        log(f"the published warehouse {_copy_for_build(paths, run_id, origin, build.file)}")
        source = read_build_info(build.file)
        dropped = prune_orphans(build.file, manifest)
        if dropped:
            log(f"dropped relations no model produces any more: {', '.join(dropped)}")
        log(f"building on a copy of {what} (build {(source or {}).get('build_id', '?')})")
        # a run of a few assets keeps the copied tables it does not rebuild: the recorded fingerprint
        # of a changed one stays the old, so the next whole-project build stages it in full
        previous = recorded_fingerprints(build.file)
        fingerprints = {relation: previous.get(relation, "") for relation in fingerprints}
    else:
        log("no published warehouse yet: building from scratch")
    write_fingerprints(build.file, fingerprints)
    write_test_fingerprints(build.file, uniqueness_test_fingerprints(manifest))
    write_profiles(build, project_profiles, attach)
    build.update_stamp(run_id=run_id, started_at=business_now().isoformat(sep=" "),
                       copied_from=(source or {}).get("build_id"), from_rekey_seed=origin == seed,
                       whole_project=whole_project)
    return build


def read_build_info(database: Path) -> dict[str, Any] | None:
    """The ``meta.build`` row of a warehouse file (None before the first publication)."""
    if not Path(database).exists():
        return None
    with duckdb.connect(str(database), read_only=True) as con:
        found = con.execute("select count(*) from information_schema.tables where table_schema = ? "
                            "and table_name = 'build'", [META_SCHEMA]).fetchall()[0][0]
        if not found:
            return None
        cursor = con.execute(f"select * from {META_SCHEMA}.build")
        names = [d[0] for d in cursor.description]
        row = cursor.fetchall()[0]
    return dict(zip(names, row))


def _stamp_meta(con: duckdb.DuckDBPyConnection, build: Build, details: dict[str, Any]) -> dict[str, Any]:
    tables = con.execute("select table_schema, table_name from information_schema.tables "
                         "where table_type = 'BASE TABLE' and table_schema not in (?, 'information_schema', "
                         "'pg_catalog') order by 1, 2", [META_SCHEMA]).fetchall()
    counts = [(s, t, con.execute(f'select count(*) from "{s}"."{t}"').fetchall()[0][0]) for s, t in tables]
    info = {
        "build_id": uuid.uuid4().hex,
        "run_id": build.run_id,
        "built_at": build.stamp().get("started_at"),
        "published_at": business_now().isoformat(sep=" "),
        "copied_from": build.stamp().get("copied_from"),
        # what the build started from: only the carried-over tables (a whole-project build) or a copy
        "started_from": "carried_over" if build.stamp().get("whole_project") else "copy",
        "tables": len(counts),
        "rows": sum(c for *_, c in counts),
        "gate_warnings": int(details.get("gate_warnings", 0)),
        "data_docs": str(details.get("data_docs") or ""),
    }
    con.execute(f"create schema if not exists {META_SCHEMA}")
    con.execute(f"create or replace table {META_SCHEMA}.tables (table_schema varchar, table_name varchar, "
                f"row_count bigint)")
    con.executemany(f"insert into {META_SCHEMA}.tables values (?, ?, ?)", counts)
    columns = ", ".join(f"{k} {'bigint' if isinstance(v, int) else 'varchar'}" for k, v in info.items())
    con.execute(f"create or replace table {META_SCHEMA}.build ({columns})")
    con.execute(f"insert into {META_SCHEMA}.build values ({', '.join('?' for _ in info)})", list(info.values()))
    return info


def _publish_lock(paths: Paths) -> AbstractContextManager[None]:
    return exclusive(paths.warehouse.parent / ".publish.lock")


def publish(build: Build, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stamp, checkpoint and atomically move the build onto the served path; returns meta.build."""
    paths = build.paths
    with _publish_lock(paths):
        with duckdb.connect(str(build.file)) as con:
            info = _stamp_meta(con, build, details or {})
            con.execute("checkpoint")
        wal = build.file.with_name(build.file.name + ".wal")
        if wal.exists():
            raise RuntimeError(f"{build.file}: a write-ahead log is left after CHECKPOINT and close; not publishing")
        with duckdb.connect(str(build.file), read_only=True) as con:  # the file opens cleanly on its own
            con.execute(f"select count(*) from {META_SCHEMA}.tables").fetchall()
        stale_wal = paths.warehouse.with_name(paths.warehouse.name + ".wal")
        if stale_wal.exists():  # left by a writer that should not exist; it would be replayed onto the new file
            stale_wal.unlink()
        commit(build.file, paths.warehouse, sync_dir=True)
        if build.stamp().get("from_rekey_seed"):  # served now: later builds start from the served file again
            rekey_seed(paths).unlink(missing_ok=True)
    keep_run_results(build)
    shutil.rmtree(build.folder, ignore_errors=True)
    return info


def last_run_results(paths: Paths) -> Path:
    """dbt's run_results.json of the build published last (each model's and test's status and seconds):
    what an operator reads to see where last night's dbt time went (``python -m bench.nightly`` prints it)."""
    return dbt_state(paths) / RUN_RESULTS


def keep_run_results(build: Build) -> None:
    """Keep the build's run_results.json beside dbt's parse state before its folder is deleted."""
    produced = build.dbt_target / RUN_RESULTS
    if produced.exists():
        with writing(last_run_results(build.paths)) as temporary:
            shutil.copyfile(produced, temporary)


