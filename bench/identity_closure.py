"""How much of the member graph one night touches: the work an incremental OneID would redo (issue 20).

``python -m bench.identity_closure --home H [--since TIMESTAMP]``

Run on a home whose served warehouse was just built by a nightly (``bench.nightly`` leaves one in
``OUT/nightly-m<members>``). The night's loads are the lake loads at or after ``--since`` (default:
the last ``build_all``'s ingest: the newest loads no two of which are 2 minutes apart; the count of
loads is printed so that a wrong cut shows). After a refused night, the files that night accepted are new to
the next build too: pass ``--since`` the refused night's first load. From the served identity
tables it prints:

* the records the night's loads staged that carry an identifier (rows of the bridge, every identity
  source whose staging rows carry ``_load_id``; sources without lineage are named);
* the identifiers (graph nodes) of those records, and the deterministic components holding them:
  the components a rule-by-rule incremental graph would recompute, with every record observing
  one of their nodes (the closure);
* the members (one_ids) of those records, and all records of those members.

It reads the graph as built *after* the night (components that the night merged are one); the
components before the night that a merge joined hold the same records, so the closure is the same.
What this does not count, and an incremental OneID must add: nodes whose verdict changed without a
record of the night (a value becoming a hub as its places per day grow is decided on the night's
records, so it is counted; a threshold over a brand-wide count is not) and pairs of members whose
match probability moved because a brand-wide frequency or the member count moved
(docs/incremental.md, "Incremental identity").
"""
from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import duckdb

from demo.score_kpis import identity_sources, record_key_sql
from ingest.settings import paths_from_env

NIGHT_GAP = datetime.timedelta(minutes=2)


def last_ingest_started(con: duckdb.DuckDBPyConnection) -> datetime.datetime:
    """The first load of the newest run of loads no two of which are NIGHT_GAP apart: the last
    build_all's ingest (a night's files load one after the other; nights are a day apart, and the
    benchmark's full build ends minutes before its nightly starts, with dbt, gates and publication)."""
    times = [t for (t,) in con.execute("select distinct loaded_at from staging.stg_lake__loads "
                                       "order by loaded_at desc").fetchall()]
    start = times[0]
    for later, earlier in zip(times, times[1:]):
        if later - earlier > NIGHT_GAP:
            break
        start = earlier
    return start


def closure(con: duckdb.DuckDBPyConnection, since=None) -> dict[str, int | str]:
    """The night's records and what they touch in the member graph (see the module docstring)."""
    if since is None:
        since = last_ingest_started(con)
    con.execute("create or replace temp table night_loads as "
                "select load_id from staging.stg_lake__loads where loaded_at >= ?", [since])
    parts, without = [], []
    for src in identity_sources().values():
        columns = {c for (c,) in con.execute("select column_name from duckdb_columns() where schema_name = "
                                             "'staging' and table_name = ?", [src["model"]]).fetchall()}
        if "_load_id" not in columns:
            without.append(src["model"])
            continue
        key = record_key_sql(src["record_key"])
        parts.append(f"select '{src['table']}' as source_table, {key} as record_key from staging.{src['model']} "
                     "where _load_id in (select load_id from night_loads)")
    # records with an identifier only (the bridge's records; a source's ``where`` and empty identifiers apply)
    con.execute("create or replace temp table night_records as select b.source_table, b.record_key "
                "from identity.bridge_record_member b join (" + " union ".join(parts) + ") using (source_table, "
                "record_key)")
    con.execute("create or replace temp table night_nodes as select distinct o.node_num "
                "from identity.int_identity__observation_nodes o join night_records using (source_table, record_key)")
    con.execute("create or replace temp table night_components as select distinct c.component_num "
                "from identity.int_identity__components c join night_nodes using (node_num)")
    con.execute("create or replace temp table night_members as select distinct b.one_id "
                "from identity.bridge_record_member b join night_records using (source_table, record_key) "
                "where b.one_id is not null")

    def one(sql: str) -> int:
        return con.execute(sql).fetchone()[0]

    return {
        "since": str(since),
        "loads": one("select count(*) from night_loads"),
        "sources_without_lineage": ", ".join(without) or "none",
        "records": one("select count(*) from identity.bridge_record_member"),
        "night_records": one("select count(*) from night_records"),
        "nodes": one("select count(*) from identity.int_identity__nodes"),
        "night_nodes": one("select count(*) from night_nodes"),
        "components": one("select count(distinct component_num) from identity.int_identity__components"),
        "night_components": one("select count(*) from night_components"),
        "closure_records": one(
            "select count(*) from (select distinct o.source_table, o.record_key "
            "from identity.int_identity__observation_nodes o join identity.int_identity__components c using "
            "(node_num) where c.component_num in (select component_num from night_components))"),
        "members": one("select count(distinct one_id) from identity.bridge_record_member"),
        "night_members": one("select count(*) from night_members"),
        "records_of_night_members": one("select count(*) from identity.bridge_record_member "
                                        "where one_id in (select one_id from night_members)"),
    }


def lines(c: dict) -> list[str]:
    def share(part: str, whole: str) -> str:
        return f"{c[part]:>12,} of {c[whole]:>12,} ({c[part] / c[whole]:.2%})" if c[whole] else f"{c[part]:>12,}"

    rows = [("records the night staged", "night_records", "records"),
            ("their identifiers (nodes)", "night_nodes", "nodes"),
            ("deterministic components of them", "night_components", "components"),
            ("records observing those components", "closure_records", "records"),
            ("members (one_ids) of the records", "night_members", "members"),
            ("records of those members", "records_of_night_members", "records")]
    return [
        f"night: {c['loads']} load(s) since {c['since']}; identity sources without load lineage: "
        f"{c['sources_without_lineage']}",
        *(f"{label:<36}{share(part, whole)}" for label, part, whole in rows),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.identity_closure", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--since", help="the night's first load time (default: the newest load's minute)")
    a = parser.parse_args(argv)
    served = paths_from_env({"QUANYU_HOME": str(a.home)}).warehouse
    if not served.exists():
        print(f"no served warehouse at {served}", file=sys.stderr)
        return 2
    with duckdb.connect(str(served), read_only=True) as con:
        print("\n".join(lines(closure(con, a.since))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
