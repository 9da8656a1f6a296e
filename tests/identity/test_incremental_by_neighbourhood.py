"""int_identity__hub_scores incremental by neighbourhood (macros/incremental_by_node.sql) equals a
full build.

The project's own observation models, the hub scores and their macros run through dbt on DuckDB
in a throwaway project, over the hand-made identity sources of test_incremental_by_source_row.py
plus a third source whose records are made of several rows (one visit, a row per identifier: a
record can lose a neighbour while the observation of its other node stays as it was, which only
the note of the deleted observations shows). Night 1 builds in full; night 2 changes the sources
the ways a night changes them; night 3 only deletes (a line and a visit's row leave). Each
incremental night must equal a full build of the same sources and a pandas recomputation, restage
exactly the nodes on a record one of whose source rows came, changed or left (a mark written
into every carried row between the nights stays on the others), and leave no note of deleted observations
behind once it has read them.
"""
from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest
import yaml

from orchestration.dbt_assets import DBT_PROJECT_DIR
from tests.identity import test_incremental_by_source_row as by_row
from tests.identity.macro_project import database, execute, model_project, run_project

IDENTITY = DBT_PROJECT_DIR / "models" / "identity"
MODELS = by_row.MODELS + [IDENTITY / "int_identity__hub_scores.sql"]
VISITS = {"model": "stg_visits", "table": "visits", "record_key": ["visit_id"], "observed_at": "visited_at",
          "identifiers": {"mobile": "phone", "card_no": "card"}}
SOURCES = by_row.SOURCES + [VISITS]
INPUTS = {**by_row.INPUTS, "stg_visits": "visits_input", "identity_identifier_types": "types_input"}
PERSON_SCOPED = {"pin": True, "card_no": True, "member_id": True, "unionid": True, "mobile": False}
MARK = 1000  # added to distinct_neighbours of every carried row between the nights
NODE = ["identifier_type", "identifier_value"]


def visits(rows: list[tuple[str, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame({"visit_id": [r[0] for r in rows], "phone": [r[1] for r in rows],
                         "card": [r[2] for r in rows], "visited_at": pd.Timestamp("2026-06-01 10:00")})


def nights(seed: int) -> list[dict[str, pd.DataFrame]]:
    first = by_row.first_night(seed)
    # v1 and v2: one visit, two rows, each with one identifier; v3 a plain one
    first["visits"] = visits([("v1", "hv1", None), ("v1", None, "cv5"), ("v2", "hv2", None), ("v2", None, "cv6"),
                              ("v3", "hv3", "cv7")])
    second = by_row.next_night(first)
    second["visits"] = visits([("v1", "hv1", None), ("v1", None, "cv5"), ("v2", "hv2", None), ("v2", None, "cv6"),
                               ("v3", "hv3", "cv8")])                       # v3's card changes
    third = {name: frame.copy() for name, frame in second.items()}
    third["lines"] = third["lines"].drop(index=[30]).reset_index(drop=True)  # a line leaves
    third["visits"] = third["visits"].drop(index=[1]).reset_index(drop=True)  # v1 loses its card's row
    return [first, second, third]


def observed(night: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The night's observations in pandas (source_table, record_key, identifier_type, identifier_value)."""
    rows = [by_row.expected(night)]
    for column, identifier_type in (("phone", "mobile"), ("card", "card_no")):
        keep = night["visits"][night["visits"][column].notna()]
        rows.append(pd.DataFrame({"source_table": "visits", "record_key": keep.visit_id,
                                  "identifier_type": identifier_type, "identifier_value": keep[column]}))
    return pd.concat(rows, ignore_index=True)[["source_table", "record_key", *NODE]].drop_duplicates()


def expected(night: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each node's widest person-scoped neighbour type and its count of distinct values (ties: the
    first type by name); nodes without a person-scoped neighbour have no row."""
    obs = observed(night)
    scoped = obs[obs.identifier_type.map(PERSON_SCOPED)]
    pairs = obs.merge(scoped, on=["source_table", "record_key"], suffixes=("", "_b"))
    itself = (pairs.identifier_type == pairs.identifier_type_b) & (pairs.identifier_value == pairs.identifier_value_b)
    pairs = pairs[~itself]
    pairs = pairs.drop_duplicates([*NODE, "identifier_type_b", "identifier_value_b"])
    counts = pairs.groupby([*NODE, "identifier_type_b"]).size().rename("distinct_neighbours").reset_index()
    counts = counts.sort_values([*NODE, "distinct_neighbours", "identifier_type_b"],
                                ascending=[True, True, False, True])
    widest = counts.drop_duplicates(NODE).rename(columns={"identifier_type_b": "neighbour_type"})
    return widest.sort_values(NODE).reset_index(drop=True)


def source_rows(night: dict[str, pd.DataFrame]) -> set[tuple]:
    """(table, record key, the row as its observations see it) of every source row yielding an
    observation: what a row check hashes (identifier columns as exported, time, place)."""
    rows = set()
    for src in SOURCES:
        frame = night[src["table"]]
        if "where" in src:
            frame = frame[frame.member_type == 2]
        columns = list(src["identifiers"].values()) + [src["observed_at"]] + ([src["place"]] if "place" in src else [])
        present = frame[list(src["identifiers"].values())].apply(
            lambda column: column.astype("string").str.strip().fillna("").ne("")).any(axis=1)
        for _, row in frame[present].iterrows():
            rows.add((src["table"], "|".join(str(row[k]) for k in src["record_key"]),
                      tuple(None if pd.isna(row[c]) else str(row[c]) for c in columns)))
    return rows


def changed_nodes(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> set[tuple[str, str]]:
    """The nodes on a record one of whose source rows came, changed or left, before or after."""
    records = {(table, key) for table, key, _ in source_rows(before) ^ source_rows(after)}
    nodes = set()
    for obs in (observed(before), observed(after)):
        on = obs[[r in records for r in zip(obs.source_table, obs.record_key)]]
        nodes |= set(zip(on.identifier_type, on.identifier_value))
    return nodes


def project(folder):
    folder = model_project(folder, by_row.MACROS, MODELS, INPUTS, {"identity_sources": SOURCES})
    settings = yaml.safe_load((folder / "dbt_project.yml").read_text())
    settings["on-run-start"] = ["{{ create_consumed_builds() }}"]  # meta tables, as the real project's
    (folder / "dbt_project.yml").write_text(yaml.safe_dump(settings))
    return folder


def load(folder, night: dict[str, pd.DataFrame]) -> None:
    by_row.load(folder, night)
    types = pd.DataFrame({"identifier_type": list(PERSON_SCOPED), "is_person_scoped": list(PERSON_SCOPED.values())})
    with duckdb.connect(str(database(folder))) as con:
        for table, frame in (("visits_input", night["visits"]), ("types_input", types)):
            con.register("frame", frame)
            con.execute(f"create or replace table main.{table} as select * from frame")
            con.unregister("frame")


def scores(folder) -> pd.DataFrame:
    with duckdb.connect(str(database(folder)), read_only=True) as con:
        frame = con.execute(
            "select distinct n.identifier_type, n.identifier_value, h.neighbour_type, h.distinct_neighbours, "
            "h._build_id from main.int_identity__hub_scores as h "
            "join main.int_identity__observation_nodes as n on n.node_num = h.node_num").fetchdf()
        assert con.execute("select count(*) from main.int_identity__hub_scores").fetchone()[0] == len(frame)
    return frame.sort_values(NODE).reset_index(drop=True)


def meta(folder, sql: str) -> list[tuple]:
    with duckdb.connect(str(database(folder)), read_only=True) as con:
        return con.execute(sql).fetchall()


def invocation(folder) -> str:
    return json.loads((folder / "target" / "run_results.json").read_text())["metadata"]["invocation_id"]


@pytest.mark.parametrize("seed", [1, 2])
def test_each_night_restages_the_nodes_of_changed_records_and_equals_a_full_build(tmp_path, seed):
    sources = nights(seed)
    nightly = project(tmp_path / "nightly")
    load(nightly, sources[0])
    run_project(nightly)
    for number in (1, 2):
        execute(nightly, f"update main.int_identity__hub_scores set distinct_neighbours = distinct_neighbours + {MARK} "
                         f"where distinct_neighbours < {MARK}")
        load(nightly, sources[number])
        run_project(nightly)
        full = project(tmp_path / f"full{number}")
        load(full, sources[number])
        run_project(full)
        got, whole = scores(nightly), scores(full)
        restaged = got.distinct_neighbours < MARK
        got["distinct_neighbours"] = got.distinct_neighbours.where(restaged, got.distinct_neighbours - MARK)
        columns = [*NODE, "neighbour_type", "distinct_neighbours"]
        pd.testing.assert_frame_equal(got[columns], whole[columns], check_dtype=False)
        independent = expected(sources[number])
        pd.testing.assert_frame_equal(whole[columns], independent[columns], check_dtype=False)
        # exactly the nodes on changed records were restaged (those that still have a row)
        should = changed_nodes(sources[number - 1], sources[number])
        assert set(zip(got[restaged].identifier_type, got[restaged].identifier_value)) == should & set(
            zip(whole.identifier_type, whole.identifier_value))
        assert (got[restaged]._build_id == invocation(nightly)).all()
        assert len(should) >= 3 and (~restaged).sum() > 100
        if number == 2:  # the visit that lost its card's row: its phone's only neighbour is gone
            assert ("mobile", "hv1") in should and ("mobile", "hv1") not in set(zip(got.identifier_type,
                                                                                   got.identifier_value))
        # the notes of the deleted observations were read and pruned; their build counts as consumed
        assert meta(nightly, "select count(*) from meta.vanished_observations") == [(0,)]
        consumed = {b for (b,) in meta(nightly, "select build_id from meta.consumed_builds "
                                                "where model = 'main.int_identity__hub_scores'")}
        assert invocation(nightly) in consumed


def test_a_night_with_nothing_new_restages_no_node(tmp_path):
    sources = nights(3)
    folder = project(tmp_path / "p")
    load(folder, sources[0])
    run_project(folder)
    execute(folder, f"update main.int_identity__hub_scores set distinct_neighbours = distinct_neighbours + {MARK}")
    run_project(folder)
    assert (scores(folder).distinct_neighbours > MARK).all()
