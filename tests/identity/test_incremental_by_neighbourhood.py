"""The tables of nodes incremental by the observations' change log (macros/incremental_by_change.sql,
incremental_by_observations) equal a full build: int_identity__node_stats by the nodes of changed
observations; int_identity__hub_scores, int_identity__node_spread and int_identity__node_verdicts by
neighbourhood.

The project's own observation models, node statistics, hub scores, spread, verdicts and their
macros run through dbt on DuckDB in a throwaway project, over the hand-made identity sources of
test_incremental_by_source_row.py (order lines with a place) plus a third source whose records are
made of several rows (one visit, a row per identifier: a record can lose a neighbour while the
observation of its other node stays as it was, which only the note of the deleted observations
shows), and a list of blocked values that changes too. Night 1 builds in full; night 2 changes the
sources the ways a night changes them; night 3 only deletes (lines and a visit's row leave). Each
incremental night must equal a full build of the same sources and a pandas recomputation, restage
exactly the nodes of the source rows that came, changed or left (node_stats) or the nodes on a
record one of whose source rows did (the others; the verdicts also every node listed now or blocked
before; a mark written into every carried row between the nights
stays on the others), and leave no note of deleted observations behind once all have read them.
"""
from __future__ import annotations

import json
from typing import NamedTuple

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.dbt_assets import DBT_PROJECT_DIR
from tests.identity import test_incremental_by_source_row as by_row
from tests.identity.macro_project import database, execute, model_project, run_project

IDENTITY = DBT_PROJECT_DIR / "models" / "identity"
MODELS = by_row.MODELS + [IDENTITY / f"int_identity__{name}.sql" for name in ("node_stats", "hub_scores",
                                                                                "node_spread", "node_verdicts")]
VISITS = {"model": "stg_visits", "table": "visits", "record_key": ["visit_id"], "observed_at": "visited_at",
          "identifiers": {"mobile": "phone", "card_no": "card"}}
SOURCES = by_row.SOURCES + [VISITS]
INPUTS = {**by_row.INPUTS, "stg_visits": "visits_input", "identity_identifier_types": "types_input",
          "int_identity__blocked_values": "blocked_input"}
# identifier type -> person-scoped, the spread rule (events, places a day, days, alone days), hub threshold
TYPES = {"pin": (True, (1, 1, 1, 2), 2), "card_no": (True, (2, 1, 2, 1), 3), "member_id": (True, None, 1),
         "unionid": (True, None, 1), "mobile": (False, (1, 2, 1, None), 2)}
MARK = "carried"  # written into _build_id of every row between the nights (no model reads it)
NODE = ["identifier_type", "identifier_value"]


class Table(NamedTuple):
    name: str
    columns: list[str]


NODE_STATS = Table("int_identity__node_stats", ["records", "source_tables", "first_observed_at", "last_observed_at"])
HUB_SCORES = Table("int_identity__hub_scores", ["neighbour_type", "distinct_neighbours"])
NODE_SPREAD = Table("int_identity__node_spread", ["active_days", "max_events_per_day", "max_places_per_day",
                                                  "busy_days", "crowded_days", "is_alone", "is_placeholder"])
NODE_VERDICTS = Table("int_identity__node_verdicts", ["records", "widest_neighbour_count", "widest_neighbour_type",
                                                      "blocked_reason", "is_hub", "is_linkable"])
TABLES = (NODE_STATS, HUB_SCORES, NODE_SPREAD, NODE_VERDICTS)


def visits(rows: list[tuple[str, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame({"visit_id": [r[0] for r in rows], "phone": [r[1] for r in rows],
                         "card": [r[2] for r in rows], "visited_at": pd.Timestamp("2026-06-01 10:00")})


def nights(seed: int) -> list[dict[str, pd.DataFrame]]:
    first = by_row.first_night(seed)
    # a few buyers shop often, some in several stores a day: values the spread looks at closely
    rng = np.random.default_rng(seed)
    busy = first["lines"].index[200:260]
    first["lines"].loc[busy, "buyer_pin"] = [f"pin-busy{int(i)}" for i in rng.integers(0, 4, len(busy))]
    first["lines"].loc[busy, "ordered_at"] = [pd.Timestamp("2026-05-01") + pd.Timedelta(hours=int(h))
                                              for h in rng.integers(0, 24 * 6, len(busy))]
    # v1 and v2: one visit, two rows, each with one identifier; v3 a plain one
    first["visits"] = visits([("v1", "hv1", None), ("v1", None, "cv5"), ("v2", "hv2", None), ("v2", None, "cv6"),
                              ("v3", "hv3", "cv7")])
    second = by_row.next_night(first)
    second["visits"] = visits([("v1", "hv1", None), ("v1", None, "cv5"), ("v2", "hv2", None), ("v2", None, "cv6"),
                               ("v3", "hv3", "cv8")])                       # v3's card changes
    second["lines"].loc[busy[:3], "store_code"] = "S-far"                     # a busy buyer in another store
    third = {name: frame.copy() for name, frame in second.items()}
    third["lines"] = third["lines"].drop(index=[30, int(busy[5])]).reset_index(drop=True)  # lines leave
    third["visits"] = third["visits"].drop(index=[1]).reset_index(drop=True)  # v1 loses its card's row
    # the blocked values: a value listed from night 2 on, one listed only on night 1, one every night
    pins = first["lines"].buyer_pin.dropna().unique()
    first["blocked"] = blocked([(pins[0], "listed"), (pins[1], "listed"), ("hv2", "staff phone")])
    second["blocked"] = third["blocked"] = blocked([(pins[0], "listed"), (pins[2], "listed"), ("hv2", "staff phone")])
    return [first, second, third]


def blocked(values: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"identifier_type": ["mobile" if v.startswith("h") else "pin" for v, _ in values],
                         "identifier_value": [v for v, _ in values], "reason": [r for _, r in values]})


def observations(night: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The night's observations in pandas, with the record's time and place."""
    return by_row.expected(night, SOURCES)


def expected_node_stats(obs: pd.DataFrame) -> pd.DataFrame:
    """Per node: its observations, source tables, first and last time."""
    grouped = obs.groupby(NODE)
    frame = grouped.agg(records=("record_key", "size"), source_tables=("source_table", "nunique"),
                        first_observed_at=("observed_at", "min"), last_observed_at=("observed_at", "max"))
    return frame.reset_index().sort_values(NODE).reset_index(drop=True)


def expected_hub_scores(obs: pd.DataFrame) -> pd.DataFrame:
    """Each node's widest person-scoped neighbour type and its count of distinct values (ties: the
    first type by name); nodes without a person-scoped neighbour have no row."""
    obs = obs[["source_table", "record_key", *NODE]].drop_duplicates()
    scoped = obs[obs.identifier_type.map(lambda t: TYPES[t][0])]  # person-scoped
    pairs = obs.merge(scoped, on=["source_table", "record_key"], suffixes=("", "_b"))
    itself = (pairs.identifier_type == pairs.identifier_type_b) & (pairs.identifier_value == pairs.identifier_value_b)
    pairs = pairs[~itself].drop_duplicates([*NODE, "identifier_type_b", "identifier_value_b"])
    counts = pairs.groupby([*NODE, "identifier_type_b"]).size().rename("distinct_neighbours").reset_index()
    counts = counts.sort_values([*NODE, "distinct_neighbours", "identifier_type_b"],
                                ascending=[True, True, False, True])
    widest = counts.drop_duplicates(NODE).rename(columns={"identifier_type_b": "neighbour_type"})
    return widest.sort_values(NODE).reset_index(drop=True)


def expected_node_spread(obs: pd.DataFrame) -> pd.DataFrame:
    """Per value with enough records to break its type's rule: its days, most events (distinct
    times) and places a day, the days over each limit, whether it is alone (no hub row) and a
    placeholder."""
    hubs = set(map(tuple, expected_hub_scores(obs)[NODE].to_numpy()))
    rows = []
    for (identifier_type, value), own in obs.groupby(NODE):
        rule = TYPES[identifier_type][1]
        if rule is None:
            continue
        events, places, days, alone_days = rule
        if len(own) < min((min(events, places) + 1) * days, alone_days + 1 if alone_days is not None else 10**9):
            continue
        dated = own[own.observed_at.notna()]
        if dated.empty:
            continue
        daily = dated.groupby(dated.observed_at.dt.date).agg(events=("observed_at", "nunique"),
                                                             places=("place", "nunique"))
        busy, crowded = int((daily.events > events).sum()), int((daily.places > places).sum())
        alone = (identifier_type, value) not in hubs
        rows.append((identifier_type, value, len(daily), int(daily.events.max()), int(daily.places.max()), busy,
                     crowded, alone, busy >= days or crowded >= days
                     or (alone and alone_days is not None and len(daily) > alone_days)))
    return pd.DataFrame(rows, columns=[*NODE, *NODE_SPREAD.columns]).sort_values(NODE).reset_index(drop=True)


def expected_node_verdicts(obs: pd.DataFrame, listed: pd.DataFrame) -> pd.DataFrame:
    """Per node: its records, widest neighbour count and type, why it is blocked (the list's reason
    first, then a placeholder by spread), whether it is a hub (widest count above its type's
    threshold) and linkable (neither)."""
    nodes = obs.groupby(NODE).size().rename("records").reset_index()
    nodes = nodes.merge(expected_hub_scores(obs), on=NODE, how="left").rename(
        columns={"distinct_neighbours": "widest_neighbour_count", "neighbour_type": "widest_neighbour_type"})
    nodes["widest_neighbour_count"] = nodes.widest_neighbour_count.fillna(0).astype("int64")
    spread = expected_node_spread(obs)
    nodes = nodes.merge(spread[[*NODE, "is_placeholder"]], on=NODE, how="left")
    reasons = listed.groupby(NODE).reason.min().reset_index()
    nodes = nodes.merge(reasons, on=NODE, how="left")
    placeholder = nodes.is_placeholder.astype("boolean").fillna(False).astype(bool)
    nodes["blocked_reason"] = nodes.reason.where(nodes.reason.notna(),
                                                 np.where(placeholder, "placeholder by spread", None))
    nodes["is_hub"] = nodes.widest_neighbour_count > nodes.identifier_type.map(lambda t: TYPES[t][2])
    nodes["is_linkable"] = nodes.blocked_reason.isna() & ~nodes.is_hub
    return nodes[[*NODE, *NODE_VERDICTS.columns]].sort_values(NODE).reset_index(drop=True)


def source_rows(night: dict[str, pd.DataFrame]) -> set[tuple]:
    """(table, record key, the row as its observations see it) of every source row yielding an
    observation: what a row check hashes (identifier columns as exported, time, place)."""
    rows = set()
    for src in SOURCES:
        frame = by_row.passing(night, src)
        columns = list(src["identifiers"].values()) + [src["observed_at"]] + ([src["place"]] if "place" in src else [])
        present = frame[list(src["identifiers"].values())].apply(
            lambda column: column.astype("string").str.strip().fillna("").ne("")).any(axis=1)
        for _, row in frame[present].iterrows():
            rows.add((src["table"], "|".join(str(row[k]) for k in src["record_key"]),
                      tuple(None if pd.isna(row[c]) else str(row[c]) for c in columns)))
    return rows


def nodes_of_changed_rows(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> set[tuple[str, str]]:
    """The nodes of the source rows that came, changed or left (either version of a changed row)."""
    identifiers = {src["table"]: list(src["identifiers"].items()) for src in SOURCES}
    nodes = set()
    for table, _, row in source_rows(before) ^ source_rows(after):
        for (identifier_type, _), value in zip(identifiers[table], row):
            if value is not None and value.strip():
                nodes.add((identifier_type, value.strip()))
    return nodes


def changed_nodes(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> set[tuple[str, str]]:
    """The nodes on a record one of whose source rows came, changed or left, before or after."""
    records = {(table, key) for table, key, _ in source_rows(before) ^ source_rows(after)}
    nodes = set()
    for obs in (observations(before), observations(after)):
        on = obs[[r in records for r in zip(obs.source_table, obs.record_key)]]
        nodes |= set(zip(on.identifier_type, on.identifier_value))
    return nodes


def project(folder):
    return model_project(folder, by_row.MACROS, MODELS, INPUTS, {"identity_sources": SOURCES}, by_row.ON_RUN_START)


def load(folder, night: dict[str, pd.DataFrame]) -> None:
    by_row.load(folder, night)
    rules = [rule or (None, None, None, None) for _, rule, _ in TYPES.values()]
    types = pd.DataFrame({
        "identifier_type": list(TYPES), "is_person_scoped": [scoped for scoped, _, _ in TYPES.values()],
        "priority": range(1, len(TYPES) + 1), "hub_threshold": [threshold for _, _, threshold in TYPES.values()],
        **{column: pd.array([rule[i] for rule in rules], dtype="Int64") for i, column in enumerate((
            "spread_max_events_per_day", "spread_max_places_per_day", "spread_min_days", "spread_max_alone_days"))}})
    with duckdb.connect(str(database(folder))) as con:
        for table, frame in (("visits_input", night["visits"]), ("types_input", types),
                             ("blocked_input", night["blocked"])):
            con.register("frame", frame)
            con.execute(f"create or replace table main.{table} as select * from frame")
            con.unregister("frame")


def rows(folder, table: Table) -> pd.DataFrame:
    """The table with each node named by its identifier."""
    with duckdb.connect(str(database(folder)), read_only=True) as con:
        frame = con.execute(
            f"select distinct n.identifier_type, n.identifier_value, {', '.join('t.' + c for c in table.columns)}, "
            f"t._build_id from main.{table.name} as t "
            "join main.int_identity__observation_nodes as n on n.node_num = t.node_num").fetchdf()
        assert con.execute(f"select count(*) from main.{table.name}").fetchone()[0] == len(frame)
    return frame.sort_values(NODE).reset_index(drop=True)


def full_of(tmp_path, sources: list[dict[str, pd.DataFrame]], number: int):
    """The full build of night ``number`` (made once per test)."""
    folder = tmp_path / f"full{number}"
    if not folder.exists():
        project(folder)
        load(folder, sources[number])
        run_project(folder)
    return folder


def meta(folder, sql: str) -> list[tuple]:
    with duckdb.connect(str(database(folder)), read_only=True) as con:
        return con.execute(sql).fetchall()


def invocation(folder) -> str:
    return json.loads((folder / "target" / "run_results.json").read_text())["metadata"]["invocation_id"]


def mark(folder) -> None:
    for table in TABLES:
        execute(folder, f"update main.{table.name} set _build_id = '{MARK}'")


@pytest.mark.parametrize("seed", [1, 2])
def test_each_night_restages_the_nodes_of_changed_records_and_equals_a_full_build(tmp_path, seed):
    sources = nights(seed)
    nightly = project(tmp_path / "nightly")
    load(nightly, sources[0])
    run_project(nightly)
    for number in (1, 2):
        mark(nightly)
        load(nightly, sources[number])
        run_project(nightly)
        full = full_of(tmp_path, sources, number)
        should = changed_nodes(sources[number - 1], sources[number])
        obs = observations(sources[number])
        # the verdicts also restage every node listed now and every node blocked before
        before = rows(full_of(tmp_path, sources, number - 1), NODE_VERDICTS)
        listed = sources[number]["blocked"]
        blocked_too = set(zip(listed.identifier_type, listed.identifier_value)) | set(
            zip(before.identifier_type[before.blocked_reason.notna()],
                before.identifier_value[before.blocked_reason.notna()]))
        for table, independent, touched in (
                (NODE_STATS, expected_node_stats(obs), nodes_of_changed_rows(sources[number - 1], sources[number])),
                (HUB_SCORES, expected_hub_scores(obs), should), (NODE_SPREAD, expected_node_spread(obs), should),
                (NODE_VERDICTS, expected_node_verdicts(obs, listed), should | blocked_too)):
            got, whole = rows(nightly, table), rows(full, table)
            restaged = got._build_id.ne(MARK)
            columns = [*NODE, *table.columns]
            pd.testing.assert_frame_equal(got[columns], whole[columns], check_dtype=False)
            pd.testing.assert_frame_equal(whole[columns], independent[columns], check_dtype=False)
            # exactly the nodes on changed records were restaged (those that still have a row)
            assert set(zip(got[restaged].identifier_type, got[restaged].identifier_value)) == touched & set(
                zip(whole.identifier_type, whole.identifier_value)), table.name
            assert (got[restaged]._build_id == invocation(nightly)).all()
            assert (~restaged).sum() > 5, table.name
        assert len(should) >= 3
        spread, verdicts = rows(full, NODE_SPREAD), rows(full, NODE_VERDICTS)
        assert spread.is_placeholder.any() and (~spread.is_placeholder).any() and spread.is_alone.any()
        assert {"listed", "staff phone", "placeholder by spread"} <= set(verdicts.blocked_reason.dropna())
        assert verdicts.is_hub.any() and verdicts.is_linkable.any()
        if number == 2:  # the visit that lost its card's row: its phone's only neighbour is gone
            hubs = rows(nightly, HUB_SCORES)
            assert ("mobile", "hv1") in should and ("mobile", "hv1") not in set(zip(hubs.identifier_type,
                                                                                     hubs.identifier_value))
        # the notes of the deleted observations were read by both tables and pruned
        assert meta(nightly, "select count(*) from meta.vanished_observations") == [(0,)]
        for table in TABLES:
            consumed = {b for (b,) in meta(nightly, "select build_id from meta.consumed_builds "
                                                    f"where model = 'main.{table.name}'")}
            assert invocation(nightly) in consumed


def test_a_night_with_nothing_new_restages_no_node(tmp_path):
    sources = nights(3)
    folder = project(tmp_path / "p")
    load(folder, sources[0])
    run_project(folder)
    mark(folder)
    run_project(folder)
    for table in (NODE_STATS, HUB_SCORES, NODE_SPREAD):
        assert rows(folder, table)._build_id.eq(MARK).all(), table.name
    verdicts = rows(folder, NODE_VERDICTS)  # only the blocked nodes, which are read again every night
    assert verdicts[verdicts._build_id.ne(MARK)].blocked_reason.notna().all()
    assert verdicts._build_id.ne(MARK).sum() == verdicts.blocked_reason.notna().sum() > 0
