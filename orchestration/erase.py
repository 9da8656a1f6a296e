"""Erase one person everywhere (PIPL art. 47, GDPR art. 17):

``python -m orchestration.erase (--mobile 138... | --member-id M123 | --one-id QY...) [--dry-run]``
``python -m orchestration.erase --resume``   (finish an erasure a dead process left)

1. **Resolve**: a mobile is normalised and keyed-hashed exactly as ingest does
   (``ingest.pii``); a member id or a one_id is looked up in the served warehouse's identity
   registry (``identity.identity_registry``; a one_id absorbed by a merge is followed through
   ``identity.identity_id_changes``), which gives every identifier of that person in every
   channel (hashed mobiles, unionid, openids, card numbers, member ids, marketplace ids).
2. **Lake** (``ingest.erasure``): the identifiers go on the suppression list, and every raw
   file, segment, quarantine file and rejected file holding a row that names one of them is
   rewritten without it, with its ledger counts, under the table locks, crash-safe.
3. **Warehouse**: the served DuckDB file is copied, every row naming the person is deleted from
   every table of every schema (one_id columns, identifier values, identity graph nodes and
   records), the result is copied table by table into a fresh file (a deleted row leaves no
   bytes behind) and published through ``orchestration.publish`` (the same atomic replace as a
   build: BI readers are never blocked). The registry and the merge/split log lose the person
   too, so the next build cannot hand the old one_id back. Aggregate marts are recomputed
   without them by the next ``build_all``.
4. **Ledger**: ``lake/erasure/ledger/<id>.json`` records the erasure id, times, the identifier
   types given, how many identifiers of each type were erased and the rows removed per layer
   and table. No raw value, no hash, no one_id.

No personal value is printed: a mobile shows as ``138****5678``, an unknown person is named by
the kind of identifier only. Exit status: 0 done, 2 unknown person or unusable identifier, 1
another failure (the message names what and why; an interrupted erasure is finished by
``--resume`` and blocks the raw gates until then).

No Dagster job on purpose: a run's config is kept in Dagster's run storage, and the identifier
to erase would then be stored in one more place that nobody erases.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from ingest import erasure
from ingest.hash_keys import fingerprint, recorded_key
from ingest.lake import all_ledger_rows
from ingest.pii import HashKey, key_from_env, keyed_hash, normalise_mobiles, redact_text
from ingest.settings import Paths, business_now, paths_from_env
from ingest.suppression import SuppressionKeyError, clean, entry_hash
from orchestration.audience_export import export_audiences, exports_root
from orchestration.publish import (
    FINGERPRINTS_TABLE,
    META_SCHEMA,
    Build,
    _publish_lock,
    build_root,
    copy_file,
    publish,
    read_build_info,
)

SKIP_SCHEMAS = ("information_schema", "pg_catalog", "meta", "seeds")  # meta is stamped again; seeds hold no person
EVIDENCE_COLUMNS = ("redacted_record_json", "raw_record")  # JSON text quoting identifiers kept as exported


class ErasureError(Exception):
    """An erasure that cannot be done as asked; ``exit_code`` for the command line."""

    exit_code = 1


class UnknownPersonError(ErasureError):
    """Nothing in the warehouse or the lake names the person given."""

    exit_code = 2


class RecycledNumberError(ErasureError):
    """The mobile was held by two members one after the other (OneID split a recycled number):
    erasing by the number alone could erase the wrong person."""

    exit_code = 2


class InvalidIdentifierError(ErasureError):
    """The identifier given is not one ingest could have stored."""

    exit_code = 2


def mask_mobile(number: str) -> str:
    """``138****5678``: enough to tell two requests apart in a log, not enough to call anyone."""
    return number[:3] + "****" + number[-4:] if len(number) == 11 else "<mobile>"


@dataclass
class Person:
    """Who is erased: the identifiers (type, value as the warehouse holds it) and one_ids."""

    given: str  # mobile | crm_member_id | one_id
    shown: str  # how the command may print what was given
    identifiers: set[tuple[str, str]] = field(default_factory=set)
    one_ids: set[str] = field(default_factory=set)


def _normalised_mobile(text: str) -> str:
    number, status = normalise_mobiles(pd.Series([text], dtype="str"))
    if status.iat[0] != "valid":
        raise InvalidIdentifierError(
            f"--mobile: the number given is not a usable mainland mobile (status {status.iat[0]!r}); expected 11 "
            f"digits starting 13-19, with or without +86 and separators. Ingest never hashes such a value, so "
            f"nothing can be erased by it")
    return str(number.iat[0])


def resolve(paths: Paths, key: HashKey, *, mobile: str | None = None, member_id: str | None = None,
            one_id: str | None = None) -> Person:
    """The person behind one identifier, with every identifier the identity graph gives them."""
    if sum(v is not None for v in (mobile, member_id, one_id)) != 1:
        raise InvalidIdentifierError("give exactly one of --mobile, --member-id, --one-id")
    if mobile is not None:
        number = _normalised_mobile(mobile)
        person = Person("mobile", f"mobile {mask_mobile(number)}", {("mobile", keyed_hash(key, number))})
    elif member_id is not None:
        if not clean(member_id):
            raise InvalidIdentifierError("--member-id: empty; expected a CRM member id")
        person = Person("crm_member_id", "a CRM member id", {("crm_member_id", clean(member_id))})
    else:
        person = Person("one_id", f"one_id {one_id.strip()}", set(), {one_id.strip()})
    if not paths.warehouse.exists():
        if person.given == "one_id":
            raise UnknownPersonError(f"one_id {one_id.strip()}: there is no published warehouse at "
                                     f"{paths.warehouse} to look it up in; expected one built by build_all")
        return person
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        tables = {t for (t,) in con.execute("select table_name from information_schema.tables "
                                            "where table_schema = 'identity'").fetchall()}
        if "identity_registry" not in tables:
            raise ErasureError(f"{paths.warehouse}: has no identity.identity_registry; expected a warehouse "
                               f"published by build_all")
        if person.given == "one_id":
            person.one_ids = _current_one_ids(con, person.one_ids, "identity_id_changes" in tables)
        else:
            found = con.execute("select distinct one_id from identity.identity_registry where "
                                "(identifier_type, identifier_value) in (select unnest(?), unnest(?))",
                                [[t for t, _ in person.identifiers], [v for _, v in person.identifiers]]).fetchall()
            person.one_ids = {i for (i,) in found}
            if person.given == "mobile":
                # a recycled number is two nodes, '<hash>' and '<hash>@<day it changed hands>'
                # (int_identity__recycled_values), each its own member's
                (value,) = [v for _, v in person.identifiers]
                later = con.execute("select count(distinct one_id) from identity.identity_registry where "
                                    "identifier_type = 'mobile' and starts_with(identifier_value, ?)",
                                    [value + "@"]).fetchall()[0][0]
                if later:
                    raise RecycledNumberError(
                        f"{person.shown}: the carrier re-issued this number, and the identity graph holds it "
                        f"for two members, one after the other; erasing by the number could erase the wrong "
                        f"person. Erase by --member-id or --one-id (identity.identity_registry shows both)")
        rows = con.execute("select identifier_type, identifier_value from identity.identity_registry "
                           "where one_id in (select unnest(?))", [sorted(person.one_ids)]).fetchall()
    if person.given == "one_id" and not rows:
        raise UnknownPersonError(f"{person.shown}: not in the identity registry of {paths.warehouse} (nor "
                                 f"absorbed into another one_id); expected a one_id of the published warehouse")
    person.identifiers |= set(rows)
    return person


def _current_one_ids(con: duckdb.DuckDBPyConnection, one_ids: set[str], has_changes: bool) -> set[str]:
    """A one_id absorbed by a merge lives on as the surviving one: follow the merge log."""
    current = set(one_ids)
    if not has_changes:
        return current
    for _ in range(20):
        found = {i for (i,) in con.execute(
            "select distinct one_id from identity.identity_id_changes where change_type = 'merge' and "
            "other_one_id in (select unnest(?))", [sorted(current)]).fetchall()} - current
        if not found:
            break
        current |= found
    return current


# ---------------------------------------------------------------- the warehouse step


def _relations(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], dict[str, str]]:
    rows = con.execute("select c.table_schema, c.table_name, c.column_name, c.data_type "
                       "from information_schema.columns c join information_schema.tables t "
                       "on t.table_schema = c.table_schema and t.table_name = c.table_name "
                       "and t.table_catalog = c.table_catalog "
                       "where t.table_type = 'BASE TABLE' and t.table_catalog = current_database() "
                       "and c.table_schema not in (select unnest(?))", [list(SKIP_SCHEMAS)]).fetchall()
    out: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column, dtype in rows:
        out.setdefault((schema, table), {})[column] = dtype
    return out


def _person_tables(con: duckdb.DuckDBPyConnection, journal: erasure.Journal,
                   relations: dict[tuple[str, str], dict[str, str]]) -> None:
    """Temporary tables of what names the person: values, graph nodes, records."""
    pairs = pd.DataFrame(journal.identifiers or [], columns=["identifier_type", "identifier_value"])
    node_ids = [f"{t}:{v}" for t, v in journal.identifiers]
    values = sorted({v for _, v in journal.identifiers} | set(journal.one_ids) | set(node_ids))
    plain = sorted({v for t, v in journal.identifiers if len(v) < 64})  # identifiers kept as exported
    con.execute("create or replace temp table erase_values as select unnest(?::varchar[]) as v", [values])
    con.execute("create or replace temp table erase_plain as select unnest(?::varchar[]) as v", [plain])
    con.execute("create or replace temp table erase_one_ids as select unnest(?::varchar[]) as v",
                [sorted(journal.one_ids)])
    con.register("erase_pairs_frame", pairs)
    con.execute("create or replace temp table erase_pairs as select * from erase_pairs_frame")
    con.unregister("erase_pairs_frame")
    con.execute("create or replace temp table erase_nodes (node_num bigint)")
    con.execute("create or replace temp table erase_records (k varchar)")
    con.execute("create or replace temp table erase_record_hashes (h ubigint)")  # macros/identity/record_hash.sql
    if ("identity", "int_identity__nodes") in relations:
        con.execute("insert into erase_nodes select node_num from identity.int_identity__nodes where node_id in "
                    "(select v from erase_values) or (identifier_type, identifier_value) in "
                    "(select identifier_type, identifier_value from erase_pairs)")
    if ("identity", "bridge_record_member") in relations:
        con.execute("insert into erase_records select source_table || chr(31) || record_key from "
                    "identity.bridge_record_member where one_id in (select v from erase_one_ids)")
    if ("identity", "int_identity__observation_nodes") in relations:
        con.execute("insert into erase_records select source_table || chr(31) || record_key from "
                    "identity.int_identity__observation_nodes where node_num in (select node_num from erase_nodes)")
        con.execute("insert into erase_record_hashes select distinct record_hash from "
                    "identity.int_identity__observation_nodes where node_num in (select node_num from erase_nodes)")


def _conditions(schema: str, columns: dict[str, str]) -> list[str]:
    """SQL conditions true for a row of a table with ``columns`` that names the person."""
    conditions = [f'"{c}" in (select v from erase_values)' for c, t in columns.items() if t == "VARCHAR"]
    if {"source_table", "record_key"} <= set(columns):
        conditions.append("source_table || chr(31) || record_key in (select k from erase_records)")
    if "record_hash" in columns:
        conditions.append("record_hash in (select h from erase_record_hashes)")
    if schema == "identity":  # the graph by node number: nodes, components, edges, hub scores
        conditions += [f'"{c}" in (select node_num from erase_nodes)' for c in ("node_num", "src", "dst")
                       if c in columns and columns[c] in ("BIGINT", "INTEGER", "HUGEINT")]
    conditions += [f"""exists (select 1 from erase_plain where contains("{c}", '"' || erase_plain.v || '"'))"""
                   for c in EVIDENCE_COLUMNS if columns.get(c) == "VARCHAR"]
    return conditions


def delete_person(con: duckdb.DuckDBPyConnection, journal: erasure.Journal) -> dict[str, int]:
    """Delete every row naming the person from every table; rows deleted per ``schema.table``."""
    relations = _relations(con)
    _person_tables(con, journal, relations)
    counts = {}
    for (schema, table), columns in sorted(relations.items()):
        conditions = _conditions(schema, columns)
        if not conditions:
            continue
        deleted = con.execute(f'delete from "{schema}"."{table}" where ' + " or ".join(conditions)).fetchall()
        if deleted and deleted[0][0]:
            counts[f"{schema}.{table}"] = int(deleted[0][0])
    return counts


def erase_warehouse(paths: Paths, journal: erasure.Journal) -> dict[str, int]:
    """Publish a copy of the served warehouse without the person (``publish``'s atomic replace)."""
    if not paths.warehouse.exists():
        return {}
    build = Build(paths, f"erase-{journal.erasure_id}")
    with _publish_lock(paths):  # no build publishes between the copy and the replace
        if build.folder.exists():
            shutil.rmtree(build.folder)
        build.folder.mkdir(parents=True)
        erasing = build.folder / "erasing.duckdb"
        copy_file(paths.warehouse, erasing)
        source = read_build_info(erasing) or {}
        with duckdb.connect(str(erasing)) as con:
            counts = delete_person(con, journal)
            # a staged key whose winning version named the person may have other versions left in the
            # lake, which a full rebuild would stage: without fingerprints the next whole-project build
            # stages every model staged by load in full (orchestration/publish.py)
            con.execute(f"drop table if exists {META_SCHEMA}.{FINGERPRINTS_TABLE}")
            con.execute("checkpoint")
        # deleted rows may keep their bytes in the blocks of the copy: copy table by table into a new file
        with duckdb.connect(str(build.file)) as con:
            con.execute(f"attach '{erasing}' as erasing (read_only)")
            con.execute(f'copy from database erasing to "{build.file.stem}"')
            con.execute("detach erasing")
        erasing.unlink()
        build.update_stamp(run_id=build.run_id, started_at=business_now().isoformat(sep=" "),
                           copied_from=source.get("build_id"))
        publish(build, {"gate_warnings": 0})
        journal.builds_deleted = delete_other_builds(paths)
    redo_audience_exports(paths)
    return counts


def redo_audience_exports(paths: Paths) -> None:
    """Write the audience exports again from the warehouse just published without the person: the
    files of the last build name them (one_id, external_userid, mobile hash, unionid) and would
    otherwise wait for the next build. export_audiences removes every earlier export folder; if
    it cannot run (a warehouse older than the audiences), every export is removed instead."""
    try:
        export_audiences(paths)
    except (duckdb.Error, OSError):
        shutil.rmtree(exports_root(paths), ignore_errors=True)


def delete_other_builds(paths: Paths) -> int:
    """Delete every other build folder: a failed build kept for inspection is a copy of the
    warehouse with the person in it, and a build started before the erasure (the command's rule
    is to run when none does) would publish them again; without its folder it fails instead."""
    root = build_root(paths)
    folders = [p for p in root.iterdir() if p.is_dir()] if root.exists() else []
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return len(folders)


# ---------------------------------------------------------------- the whole erasure


def start(paths: Paths, key: HashKey, person: Person) -> erasure.Journal:
    """The journal of a new erasure of ``person`` (not written yet)."""
    entries = [{"identifier_type": t, "value_hash": entry_hash(key, t, v), "key_version": key.version,
                "erasure_id": ""} for t, v in sorted(person.identifiers)]
    erasure_id = business_now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    for entry in entries:
        entry["erasure_id"] = erasure_id
    return erasure.Journal(erasure_id, business_now().isoformat(sep=" "), [person.given], key.version,
                           [list(i) for i in sorted(person.identifiers)], sorted(person.one_ids), entries)


def run(paths: Paths, key: HashKey, journal: erasure.Journal) -> dict[str, Any]:
    """Steps 2-4 for a new or an unfinished erasure; returns its ledger entry."""
    if journal.state == "lake":
        erasure.resume_lake(paths, key, journal)
    if journal.state == "warehouse":
        journal.warehouse_counts = erase_warehouse(paths, journal)
        journal.state = "done"
        journal.write(paths)
    return erasure.finish(paths, journal)


def check_key(paths: Paths, key: HashKey) -> None:
    """The lake's rows must all be hashed with ``key``: a hash made with another key matches nothing,
    so an erasure with it would miss every hashed identifier (a mobile, a nick) and say it was done."""
    versions = sorted(v or "?" for (v,) in all_ledger_rows(paths, "distinct hash_key_version"))
    if versions and versions != [key.version]:
        raise ErasureError(f"the lake holds rows hashed with key version(s) {versions}, the key given is version "
                           f"{key.version!r}; erasing needs the key the lake was hashed with (finish a key rotation "
                           f"first). Nothing was changed")
    # the same version label over another secret: only the lake's key record (ingest.hash_keys) tells
    recorded, given = recorded_key(paths), fingerprint(key)
    if versions and recorded is not None and recorded != given:
        raise ErasureError(f"the lake was hashed with hash key {recorded}, the key given is {given} (the same "
                           f"version label, another secret); erasing needs the key the lake was hashed with. "
                           f"Nothing was changed")


def erase(paths: Paths, key: HashKey, person: Person, *, dry_run: bool = False) -> dict[str, Any]:
    """Erase ``person``; ``dry_run``: the rows the lake holds of them, nothing changed."""
    check_key(paths, key)
    journal = start(paths, key, person)
    if not person.one_ids or dry_run:
        found = erasure.erase_lake(paths, key, journal, dry_run=True)
        if not person.one_ids and not any(sum(c.values()) for c in found.values()):
            raise UnknownPersonError(f"{person.shown}: no row of the lake and no identity of the warehouse "
                                     f"names it; nothing to erase (expected an identifier that was loaded)")
        if dry_run:
            return {"erasure_id": None, "identifier_types_given": [person.given], "one_ids_erased": len(person.one_ids),
                    "identifiers_erased": _types(person), "rows_removed": {"lake": found, "warehouse": {}}}
    journal.write(paths)
    return run(paths, key, journal)


def _types(person: Person) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t, _ in person.identifiers:
        counts[t] = counts.get(t, 0) + 1
    return dict(sorted(counts.items()))


def report(paths: Paths, entry: dict[str, Any], shown: str, dry_run: bool) -> str:
    """What the command prints: counts, and the person only as ``shown`` (a masked mobile)."""
    lake = entry["rows_removed"]["lake"]
    lines = [("dry run: would erase " if dry_run else f"erasure {entry['erasure_id']}: erased ") + shown,
             f"  identifiers: {entry['identifiers_erased']}, one_ids: {entry['one_ids_erased']}"]
    for table, counts in lake.items():
        lines.append(f"  lake {table:28} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for table, n in entry["rows_removed"]["warehouse"].items():
        lines.append(f"  warehouse {table:45} {n}")
    if not dry_run:
        lines.append(f"  ledger: {erasure.ledger_dir(paths) / (entry['erasure_id'] + '.json')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.erase", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--mobile", help="a mobile number (normalised and keyed-hashed as ingest does)")
    who.add_argument("--member-id", help="a CRM member id")
    who.add_argument("--one-id", help="a one_id of the published warehouse")
    who.add_argument("--resume", action="store_true", help="finish erasures a dead process left, and stop")
    parser.add_argument("--dry-run", action="store_true", help="count what would go; change nothing")
    args = parser.parse_args(argv)
    paths = paths_from_env().ensure()
    try:
        key = key_from_env()
        for journal in erasure.pending(paths):
            entry = run(paths, key, journal)
            print(f"finished the interrupted erasure {entry['erasure_id']}")
        if args.resume:
            return 0
        person = resolve(paths, key, mobile=args.mobile, member_id=args.member_id, one_id=args.one_id)
        entry = erase(paths, key, person, dry_run=args.dry_run)
        print(report(paths, entry, person.shown, args.dry_run))
        return 0
    except (ErasureError, SuppressionKeyError, erasure.ErasureStateError, ValueError) as exc:
        print(f"erase: {redact_text(str(exc))}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except Exception as exc:  # noqa: BLE001 - the command line shows a message, never a traceback
        unfinished = [j.erasure_id for j in erasure.pending(paths)]
        print(f"erase: failed ({type(exc).__name__}: {redact_text(str(exc))})"
              + (f"; erasure {', '.join(unfinished)} is unfinished and blocks the raw gates: fix the cause, then run "
                 f"python -m orchestration.erase --resume" if unfinished else "; nothing was changed"), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
