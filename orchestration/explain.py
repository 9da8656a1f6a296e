"""``python -m orchestration.explain ONE_ID [--warehouse FILE]``: how a member was assembled.

Prints what ``dbt run-operation explain_one_id`` prints (the member's identifiers, the links
that joined them with their evidence, its merge/split history) plus its records, from the
published warehouse opened READ-ONLY. dbt opens its target for writing, so the macro run
against the served file would take DuckDB's write lock: every BI reader connecting meanwhile
gets a lock error, and the served file could change outside the gated build. A read-only
connection takes no write lock; any number of readers (BI tools, this CLI) share the file.

``--record SOURCE_TABLE:RECORD_KEY`` starts from a source record instead (bridge_record_member):
its one_id, or why it has none.

Exit 0 with the explanation; 1 for a one_id (or record) the warehouse does not know, naming
it; 2 when the warehouse cannot be read (missing file, no identity tables). Identifier values
are the keyed hashes the warehouse holds; nothing here can reveal more.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NamedTuple

import duckdb

from ingest.settings import paths_from_env

IDENTITY = "identity"


class WarehouseUnreadable(Exception):
    """The warehouse file is missing, locked by a writer, or holds no identity tables (exit 2)."""


class NotFound(Exception):
    """The one_id or record is not in the warehouse (exit 1)."""


class Explanation(NamedTuple):
    one_id: str
    identifiers: list[tuple]  # identifier_type, identifier_value, identity_confidence
    links: list[tuple]  # link_type, link_kind, match_probability, from type/value, to type/value, evidence, example
    records: list[tuple]  # source_table, record_key, identity_link_type, identity_confidence
    history: list[tuple]  # run_at, change_type, one_id, other_one_id, identifiers_moved


def open_published(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``warehouse``: shares the file with every other reader."""
    if not warehouse.is_file():
        raise WarehouseUnreadable(f"{warehouse}: no warehouse file (nothing published yet? run `make demo`, "
                                  f"or pass --warehouse / set QUANYU_WAREHOUSE)")
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        raise WarehouseUnreadable(f"{warehouse}: cannot open read-only: {exc}") from None
    missing = [t for t in ("identity_registry", "identity_explanations", "identity_id_changes", "bridge_record_member")
               if not con.execute("select count(*) from information_schema.tables where table_schema = ? "
                                  "and table_name = ?", [IDENTITY, t]).fetchall()[0][0]]
    if missing:
        con.close()
        raise WarehouseUnreadable(f"{warehouse}: no {', '.join(f'{IDENTITY}.{t}' for t in missing)} "
                                  f"(a warehouse built without the identity models)")
    return con


def history_of(con: duckdb.DuckDBPyConnection, one_id: str) -> list[tuple]:
    return con.execute(f"select run_at, change_type, one_id, other_one_id, identifiers_moved "
                       f"from {IDENTITY}.identity_id_changes where ? in (one_id, other_one_id) "
                       f"order by run_at, change_type, one_id, other_one_id", [one_id]).fetchall()


def explain(con: duckdb.DuckDBPyConnection, one_id: str) -> Explanation:
    """The member ``one_id`` as the warehouse holds it; NotFound when it is no current member."""
    identifiers = con.execute(f"select identifier_type, identifier_value, identity_confidence "
                              f"from {IDENTITY}.identity_registry where one_id = ? order by 1, 2", [one_id]).fetchall()
    records = con.execute(f"select source_table, record_key, identity_link_type, identity_confidence "
                          f"from {IDENTITY}.bridge_record_member where one_id = ? order by 1, 2", [one_id]).fetchall()
    history = history_of(con, one_id)
    if not identifiers and not records:
        retired = [f"{r[0]} {r[1]}: {r[3]} -> {r[2]}" for r in history if r[1] == "merge" and r[3] == one_id]
        raise NotFound(f"one_id {one_id} is not a member of this warehouse"
                       + (f"; it was merged into another ({'; '.join(retired)})" if retired else ""))
    links = con.execute(f"select link_type, link_kind, match_probability, from_identifier_type, from_identifier_value, "
                        f"to_identifier_type, to_identifier_value, evidence_records, example_source_table, "
                        f"example_record_key from {IDENTITY}.identity_explanations where one_id = ? "
                        f"order by 1, 2, 4, 5, 6, 7", [one_id]).fetchall()
    return Explanation(one_id, identifiers, links, records, history)


def one_id_of_record(con: duckdb.DuckDBPyConnection, source_table: str,
                     record_key: str) -> tuple[str | None, str | None]:
    """(one_id, unresolved_reason) of a source record; NotFound when the bridge has no such record."""
    found = con.execute(f"select one_id, unresolved_reason from {IDENTITY}.bridge_record_member "
                        f"where source_table = ? and record_key = ?", [source_table, record_key]).fetchall()
    if not found:
        raise NotFound(f"record {source_table}:{record_key} is not in {IDENTITY}.bridge_record_member")
    return found[0]


def render(explanation: Explanation) -> list[str]:
    """The macro's layout (identifiers, links, history), with confidences and the records added."""
    e = explanation
    confidence = min((r[2] for r in e.identifiers if r[2] is not None), default=None)
    lines = [f"one_id {e.one_id}: {len(e.identifiers)} identifiers, {len(e.records)} records"
             + (f", identity_confidence {confidence:g}" if confidence is not None else "")]
    lines += [f"  {kind} = {value}" for kind, value, _ in e.identifiers]
    lines.append("links (type: from -> to, evidence records, example record):")
    for link_type, kind, probability, f_type, f_value, t_type, t_value, evidence, ex_table, ex_key in e.links:
        detail = f" p={probability:.4f}" if probability is not None and probability < 1 else ""
        lines.append(f"  {link_type} {kind}{detail}: {f_type}:{f_value} -> {t_type}:{t_value}"
                     f"  x{evidence}  e.g. {ex_table} {ex_key}")
    lines.append("records (source table, record key, link type, confidence):")
    lines += [f"  {table} {key} {link_type} {conf:g}" if conf is not None else f"  {table} {key} {link_type}"
              for table, key, link_type, conf in e.records]
    lines.append("history:")
    lines += [f"  {run_at} {change} {one_id} <- {other} ({moved} identifiers)"
              for run_at, change, one_id, other, moved in e.history]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.explain", description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("one_id", nargs="?", help="a one_id (QY...)")
    parser.add_argument("--record", metavar="SOURCE_TABLE:RECORD_KEY",
                        help="explain the member of this source record instead (bridge_record_member)")
    parser.add_argument("--warehouse", type=Path, default=None,
                        help="warehouse file (default: the published one, $QUANYU_WAREHOUSE)")
    args = parser.parse_args(argv)
    if (args.one_id is None) == (args.record is None):
        parser.error("give a one_id or --record SOURCE_TABLE:RECORD_KEY (one of them)")
    warehouse = (args.warehouse or paths_from_env().warehouse).resolve()
    try:
        with open_published(warehouse) as con:
            one_id = args.one_id
            if args.record is not None:
                source_table, sep, record_key = args.record.partition(":")
                if not sep:
                    parser.error(f"--record {args.record!r}: expected SOURCE_TABLE:RECORD_KEY")
                one_id, reason = one_id_of_record(con, source_table, record_key)
                print(f"record {source_table}:{record_key} -> {one_id or 'no one_id: ' + str(reason)}")
                if one_id is None:
                    return 0
            print("\n".join(render(explain(con, one_id))))
    except WarehouseUnreadable as exc:
        print(f"explain: {exc}", file=sys.stderr)
        return 2
    except NotFound as exc:
        print(f"explain: {exc} ({warehouse})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
