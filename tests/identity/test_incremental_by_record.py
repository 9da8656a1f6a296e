"""bridge_record_member incremental by record (macros/incremental_by_node.sql) equals a full build.

The project's own model file and macros run through dbt on DuckDB in a throwaway project, over
hand-made tables standing in for the four it reads (observation epochs, nodes with their verdicts,
resolved components, assignments). Night 1 builds it in full; then the graph changes the ways a
night changes it: two members merge (one of the two ids survives), a value becomes a hub, a
value is blocked, a member's id is re-minted, a record loses an identifier, a record is re-exported
at another time, a record leaves, a new record arrives. Night 2 runs incrementally: it must equal
a full build of the same inputs and a pandas recomputation, and restage only the records whose
state changed: a carried row of an untouched record, marked between the nights, keeps its mark.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.dbt_assets import DBT_PROJECT_DIR
from tests.identity.macro_project import database, execute, model_project, two_nights

MODEL = DBT_PROJECT_DIR / "models" / "identity" / "bridge_record_member.sql"
MACROS = [DBT_PROJECT_DIR / "macros" / "incremental_by_node.sql", DBT_PROJECT_DIR / "macros" / "inline_cte.sql",
          DBT_PROJECT_DIR / "macros" / "incremental_by_change.sql"]
INPUTS = {"int_identity__observation_epochs": "epochs", "int_identity__nodes": "nodes",
          "int_identity__resolved_components": "components", "int_identity__assignments": "assignments"}
MARK = "marked"  # unresolved_reason written into a carried row between the nights
COLUMNS = ["source_table", "record_key", "one_id", "identity_link_type", "identity_confidence", "identifiers",
           "linkable_identifiers", "observed_at", "unresolved_reason", "record_hash", "state_checksum"]


class Graph:
    """Records with identifiers, nodes with verdicts, components and their members."""

    def __init__(self, seed: int):
        rng = np.random.default_rng(seed)
        self.nodes = pd.DataFrame({"node_num": np.arange(1, 301) * 7919, "is_linkable": True, "is_hub": False,
                                   "blocked_reason": None, "conflict_type": None})
        # components: blocks of 1-4 consecutive nodes
        sizes = rng.integers(1, 5, size=300)
        owner = np.repeat(np.arange(300), sizes)[:300]
        self.components = pd.DataFrame({"node_num": self.nodes.node_num,
                                        "component_num": self.nodes.node_num.to_numpy()[owner]})
        comps = sorted(set(self.components.component_num))
        self.assignments = pd.DataFrame({"component_num": comps, "one_id": [f"QY{c:016X}" for c in comps],
                                         "identity_confidence": 1.0, "identity_link_type": "deterministic"})
        rows = []
        for r in range(500):  # each record carries the nodes of one component (1-2 of them)
            comp = comps[int(rng.integers(0, len(comps)))]
            members = self.components.node_num[self.components.component_num == comp].tolist()
            chosen = rng.choice(members, size=min(len(members), int(rng.integers(1, 3))), replace=False)
            when = pd.Timestamp("2026-01-01") + pd.Timedelta(minutes=int(rng.integers(0, 400_000)))
            for node in chosen:
                rows.append((["crm_members", "tmall_orders"][r % 2], f"r{r}", 10_000 + r, int(node), when))
        self.epochs = pd.DataFrame(rows, columns=["source_table", "record_key", "record_hash", "node_num",
                                                  "observed_at"])

    def copy(self) -> Graph:
        other = object.__new__(Graph)
        for name in INPUTS.values():
            setattr(other, name, getattr(self, name).copy())
        return other


def next_night(g1: Graph) -> Graph:
    g = g1.copy()
    comps = g.assignments.component_num.tolist()
    # a merge: the second of two members joins the first, whose id survives
    a, b = comps[3], comps[4]
    g.components.loc[g.components.component_num == b, "component_num"] = a
    g.assignments = g.assignments[g.assignments.component_num != b]
    # a value becomes a hub, another is blocked: they leave the graph (each the only identifier of a record)
    alone = g.epochs[g.epochs.groupby("record_key").node_num.transform("size") == 1].node_num.unique()
    alone = [n for n in alone if n not in set(g.components.node_num[g.components.component_num.isin([a, b])])]
    for node, change in ((int(alone[0]), {"is_linkable": False, "is_hub": True}),
                         (int(alone[1]), {"is_linkable": False, "blocked_reason": "store phone"})):
        for column, value in change.items():
            g.nodes.loc[g.nodes.node_num == node, column] = value
        g.components = g.components[g.components.node_num != node]
    # a member's id re-minted (another name for the same component), another's confidence drops
    g.assignments.loc[g.assignments.component_num == comps[10], "one_id"] = "QYREMINTED000001"
    g.assignments.loc[g.assignments.component_num == comps[11], ["identity_confidence", "identity_link_type"]] = [
        0.8, "probabilistic"]
    # a record re-exported at another time, one leaving, one losing an identifier, a new one
    e = g.epochs
    e.loc[e.record_key == "r7", "observed_at"] += pd.Timedelta(days=2)
    e = e[e.record_key != "r8"]
    two = e.groupby("record_key").node_num.transform("size") == 2
    loser = e[two].record_key.iloc[0]
    e = e.drop(e[e.record_key == loser].index[0])
    new = pd.DataFrame([("tmall_orders", "n1", 99_999, int(g.nodes.node_num[100]), pd.Timestamp("2026-12-01"))],
                       columns=e.columns)
    g.epochs = pd.concat([e, new], ignore_index=True)
    return g


def expected(g: Graph) -> pd.DataFrame:
    """The bridge in pandas: a record's member is the component of its linkable identifiers."""
    state = g.nodes.merge(g.components, on="node_num", how="left")
    obs = g.epochs.merge(state, on="node_num")
    per = obs.groupby("record_hash").agg(
        source_table=("source_table", "min"), record_key=("record_key", "min"),
        component_num=("component_num", "max"), identifiers=("node_num", "size"),
        linkable_identifiers=("is_linkable", "sum"), has_hub=("is_hub", "max"),
        blocked_reason=("blocked_reason", lambda s: s.dropna().max() if s.notna().any() else None),
        conflict_type=("conflict_type", lambda s: s.dropna().max() if s.notna().any() else None),
        observed_at=("observed_at", "min")).reset_index()
    per = per.merge(g.assignments, on="component_num", how="left")
    per["unresolved_reason"] = np.where(
        per.one_id.notna(), None,
        np.where(per.blocked_reason.notna(), "blocked: " + per.blocked_reason.astype(str),
                 np.where(per.has_hub.astype(bool), "hub identifier", "no linkable identifier")))
    return per.sort_values("record_hash").reset_index(drop=True)


def project(folder: Path) -> Path:
    return model_project(folder, MACROS, MODEL, {model: f"{table}_input" for model, table in INPUTS.items()})


def load(folder: Path, g: Graph) -> None:
    with duckdb.connect(str(database(folder))) as con:
        for table in INPUTS.values():
            con.register("frame", getattr(g, table))
            con.execute(f"create or replace table main.{table}_input as select * from frame")
            con.unregister("frame")
        con.execute("create or replace table main.epochs_input as select source_table, record_key, "
                    "cast(record_hash as ubigint) as record_hash, cast(node_num as bigint) as node_num, "
                    "observed_at from main.epochs_input")
        con.execute("create or replace table main.nodes_input as select cast(node_num as bigint) as node_num, "
                    "is_linkable, is_hub, cast(blocked_reason as varchar) as blocked_reason, "
                    "cast(conflict_type as varchar) as conflict_type from main.nodes_input")
        con.execute("create or replace table main.components_input as select cast(node_num as bigint) as node_num, "
                    "cast(component_num as bigint) as component_num from main.components_input")
        con.execute("create or replace table main.assignments_input as select "
                    "cast(component_num as bigint) as component_num, one_id, "
                    "cast(identity_confidence as double) as identity_confidence, identity_link_type "
                    "from main.assignments_input")


def table(folder: Path) -> pd.DataFrame:
    with duckdb.connect(str(database(folder)), read_only=True) as con:
        frame = con.execute(f"select {', '.join(COLUMNS)} from main.bridge_record_member").fetchdf()
    reason = frame.unresolved_reason.astype(object)
    frame["unresolved_reason"] = reason.where(reason.notna(), None)
    return frame.sort_values("record_hash").reset_index(drop=True)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_night_restages_the_records_whose_state_changed_and_equals_a_full_build(tmp_path, seed):
    g1 = Graph(seed)
    g2 = next_night(g1)
    firsts = []

    def read_and_mark(folder):  # night 1's bridge, then a mark in every carried row
        firsts.append(table(folder))
        execute(folder, f"update main.bridge_record_member set unresolved_reason = '{MARK}'")

    nightly, full = two_nights(tmp_path, project, load, g1, g2, read_and_mark)
    first = firsts[0]
    got, whole = table(nightly), table(full)
    kept = got.unresolved_reason.eq(MARK)
    # the rows still marked are the records whose row a full build makes exactly as night 1 did
    unchanged = whole.merge(first, on=COLUMNS[:-2] + ["record_hash"], how="inner").record_hash
    assert set(got.record_hash[kept]) <= set(unchanged) and kept.sum() > 100
    restaged = set(got.record_hash[~kept])
    for key in ("r7", "n1"):  # re-exported, new
        assert set(whole.record_hash[whole.record_key == key]) <= restaged, key
    got["unresolved_reason"] = got.unresolved_reason.where(~kept, whole.unresolved_reason)
    pd.testing.assert_frame_equal(got, whole, check_dtype=False)
    assert "r8" not in set(whole.record_key)  # the record that left is gone from the nightly too
    independent = expected(g2)
    columns = ["record_hash", "source_table", "record_key", "one_id", "identity_link_type", "identity_confidence",
               "identifiers", "linkable_identifiers", "observed_at", "unresolved_reason"]
    kinds = {"identifiers": "int64", "linkable_identifiers": "int64", "record_hash": "int64",
             "unresolved_reason": object}
    pd.testing.assert_frame_equal(whole[columns].astype(kinds).fillna({"unresolved_reason": "-"}),
                                  independent[columns].astype(kinds).fillna({"unresolved_reason": "-"}),
                                  check_dtype=False)
    # the merge, the hub, the block and the re-minted id reached records of every age
    assert (whole.one_id == "QYREMINTED000001").any() and whole.unresolved_reason.eq("hub identifier").any()
    assert whole.unresolved_reason.eq("blocked: store phone").any()
