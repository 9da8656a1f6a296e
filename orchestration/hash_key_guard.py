"""Before dbt builds: the lake's rows carry one hash key, and the registry carried over matches it.

Two ways a build could mix keys without any load being refused (ingest/hash_keys.py stops those):

* rows of another key in the lake: a raw file restored from a backup or copied from another lake,
  a hand-made load; the lake's rows then carry two ``_hash_key_version`` values;
* a served warehouse whose ``identity_registry`` was built under another key than the lake: a lake
  re-keyed or restored without its warehouse. The registry's hashed identifiers would match
  nothing, every person would lose their one_id and get a new one, and identity_id_changes would
  not even say so.

Either way the build stops before dbt starts, naming the versions and counts and the re-key
command. A build that passes stamps the key into its copy (``meta.hash_key``): the published
warehouse says which key its registry was built under. A warehouse published before that stamp
existed is taken to match the lake (once: the build stamps it).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from ingest.hash_keys import (
    HOW_TO_ROTATE,
    REKEY_COMMAND,
    KeyFingerprint,
    MixedKeyVersionsError,
    describe_counts,
    recorded_key,
    row_key_versions,
)
from ingest.settings import Paths
from orchestration.publish import HASH_KEY_TABLE as META_TABLE
from orchestration.publish import META_SCHEMA

REGISTRY = ("identity", "identity_registry")


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, table]).fetchall()[0][0])


def warehouse_key(database: Path) -> KeyFingerprint | None:
    """The key a warehouse file's registry was built under (``meta.hash_key``), None if unstamped."""
    if not Path(database).exists():
        return None
    with duckdb.connect(str(database), read_only=True) as con:
        if not _has_table(con, META_SCHEMA, META_TABLE):
            return None
        version, print_ = con.execute(f"select version, fingerprint from {META_SCHEMA}.{META_TABLE}").fetchall()[0]
    return KeyFingerprint(version, print_)


def stamp_warehouse_key(database: Path, key: KeyFingerprint) -> None:
    """Record in a warehouse file which key its registry is (being) built under."""
    with duckdb.connect(str(database)) as con:
        con.execute(f"create schema if not exists {META_SCHEMA}")
        con.execute(f"create or replace table {META_SCHEMA}.{META_TABLE} (version varchar, fingerprint varchar)")
        con.execute(f"insert into {META_SCHEMA}.{META_TABLE} values (?, ?)", [key.version, key.fingerprint])


def has_registry(database: Path) -> bool:
    if not Path(database).exists():
        return False
    with duckdb.connect(str(database), read_only=True) as con:
        return _has_table(con, *REGISTRY)


def _mixed_rows(paths: Paths, versions: dict[str, int], recorded: KeyFingerprint | None) -> MixedKeyVersionsError:
    expected = f"the lake's key is {recorded}" if recorded else "the lake has no key record"
    return MixedKeyVersionsError(
        f"lake {paths.lake}: its raw rows carry {len(versions)} hash key version(s) "
        f"({describe_counts(versions, 'rows')}); "
        f"{expected}, and one build must hash every row with it (a person hashed under two keys is two "
        f"people in OneID). Not building; the served warehouse is unchanged. Re-load the lake under one "
        f"key: remove the files loaded under the other version and load them again, or {HOW_TO_ROTATE}")


def check_build_keys(paths: Paths, database: Path, log: Callable[[str], None] = print) -> KeyFingerprint | None:
    """Raise ``MixedKeyVersionsError`` when the lake mixes keys or ``database`` (the build's copy
    of the served warehouse) carries a registry built under another key; else stamp the lake's
    key into ``database`` and return it. Call it inside ``ingest.lake.reading`` (rows counted once)."""
    recorded = recorded_key(paths)
    versions = row_key_versions(paths)
    if len(versions) > 1 or (recorded is not None and versions and set(versions) != {recorded.version}):
        raise _mixed_rows(paths, versions, recorded)
    if recorded is None:
        return None  # nothing loaded since keys are recorded: no hash to compare
    built = warehouse_key(database)
    if built is None:
        if has_registry(database):
            log(f"the served warehouse carries no hash key stamp (published before keys were recorded): "
                f"taking its identity registry to be built under the lake's key {recorded}")
    elif built != recorded:
        raise MixedKeyVersionsError(
            f"the served warehouse's identity registry was built under hash key {built}, but the lake "
            f"{paths.lake} holds {describe_counts(versions, 'rows') or 'its rows'} under hash key {recorded}. "
            f"Building would match none of the registry's hashed identifiers and give people new one_ids. "
            f"Not building; the served warehouse is unchanged. Run `{REKEY_COMMAND}` (it rewrites the "
            f"registry for the lake's key), or restore the lake that goes with the warehouse")
    stamp_warehouse_key(database, recorded)
    return recorded
