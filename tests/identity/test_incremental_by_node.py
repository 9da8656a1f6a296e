"""int_identity__node_stats incremental by node (macros/incremental_by_node.sql) equals a full build.

The project's own model file and macros run through dbt on DuckDB in a throwaway project, over a
hand-made observation table standing in for int_identity__observation_nodes. Night 1 builds it
in full; the observations then change the ways a night changes them (a new record with a new
identifier, a record gone so that one node has no observation left, a record re-exported with
another time, both lines of one receipt re-exported at another time, a record moving to another
source table, an identifier added to an old record); night 2 runs incrementally. It must equal a
full refresh of the same observations and a pandas recomputation, and it must have restaged only
the nodes whose observations changed: a carried row of an untouched node, marked between the
nights, keeps its mark.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.dbt_assets import DBT_PROJECT_DIR
from tests.identity.macro_project import database, execute, model_project, run_project, two_nights

MODEL = DBT_PROJECT_DIR / "models" / "identity" / "int_identity__node_stats.sql"
MACROS = [DBT_PROJECT_DIR / "macros" / "incremental_by_node.sql",
          DBT_PROJECT_DIR / "macros" / "incremental_by_change.sql",  # build_id
          DBT_PROJECT_DIR / "macros" / "identity" / "node_number.sql"]
MARK = "1999-01-01 00:00:00"  # first_observed_at written into a carried row between the nights
COLUMNS = ["node_num", "node_id", "identifier_type", "identifier_value", "records", "source_tables",
           "first_observed_at", "last_observed_at", "observations_checksum"]


def node_number(node_id: str) -> int:
    """macros/identity/node_number.sql, independently: the first 15 hex digits of the MD5."""
    return int(hashlib.md5(node_id.encode("utf-8")).hexdigest()[:15], 16)


def observations(seed: int) -> pd.DataFrame:
    """Records of three sources, each with one to three identifiers drawn from a small pool (so
    nodes are shared by several records, across sources)."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(400):
        source = ["crm_members", "tmall_orders", "wecom_customers"][r % 3]
        when = pd.Timestamp("2026-01-01") + pd.Timedelta(minutes=int(rng.integers(0, 500_000)))
        for kind in rng.choice(["mobile", "unionid", "member_card"], size=int(rng.integers(1, 4)), replace=False):
            rows.append((source, f"r{r}", str(kind), f"{kind[0]}{int(rng.integers(0, 150))}", when))
    # two lines of one receipt: one phone, one time (a re-export moves both; an xor of hashes that
    # combine linearly would not see it: macro rows_checksum)
    twin_time = pd.Timestamp("2026-03-03 10:00")
    rows += [("pos_sales", "twin_a", "mobile", "m-twin", twin_time), ("pos_sales", "twin_b", "mobile", "m-twin",
                                                                        twin_time)]
    return with_numbers(pd.DataFrame(rows, columns=["source_table", "record_key", "identifier_type",
                                                    "identifier_value", "observed_at"]))


def with_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop_duplicates(["source_table", "record_key", "identifier_type", "identifier_value"])
    frame = frame.assign(
        record_hash=[int(hashlib.md5(f"{s}|{k}".encode()).hexdigest()[:15], 16)
                     for s, k in zip(frame.source_table, frame.record_key)],
        node_num=[node_number(f"{t}:{v}") for t, v in zip(frame.identifier_type, frame.identifier_value)])
    return frame.reset_index(drop=True)


def next_night(night1: pd.DataFrame) -> tuple[pd.DataFrame, set[int]]:
    """Night 2's observations and the nodes whose observations changed."""
    obs = night1.copy()
    changed: set[int] = set()
    # a node all of whose records leave (a file taken out): every observation of it goes
    gone_node = obs.node_num.value_counts().index[-1]
    gone_records = set(obs.loc[obs.node_num == gone_node, "record_key"])
    changed |= set(obs.loc[obs.record_key.isin(gone_records), "node_num"])
    obs = obs[~obs.record_key.isin(gone_records)]
    # a record re-exported with another time: each of its nodes changes
    again = obs.record_key.iloc[10]
    changed |= set(obs.loc[obs.record_key == again, "node_num"])
    obs.loc[obs.record_key == again, "observed_at"] += pd.Timedelta(days=3)
    # both lines of a receipt re-exported at another time
    twins = obs.record_key.isin(["twin_a", "twin_b"])
    changed |= set(obs.loc[twins, "node_num"])
    obs.loc[twins, "observed_at"] += pd.Timedelta(hours=1)
    # a record moving to another source table (same key)
    moved = obs.record_key.iloc[40]
    changed |= set(obs.loc[obs.record_key == moved, "node_num"])
    obs.loc[obs.record_key == moved, "source_table"] = "jd_orders"
    # an identifier added to an old record (an existing node gains an observation)
    old = obs.iloc[80]
    extra = obs[obs.identifier_type == "unionid"].iloc[0]
    added = pd.DataFrame([(old.source_table, old.record_key, "unionid", extra.identifier_value, old.observed_at)],
                         columns=["source_table", "record_key", "identifier_type", "identifier_value", "observed_at"])
    # new records, one with a value never seen
    new = pd.DataFrame([("tmall_orders", "n1", "mobile", "m-new", pd.Timestamp("2026-12-01 08:00")),
                        ("tmall_orders", "n1", "member_card", "c-new", pd.Timestamp("2026-12-01 08:00")),
                        ("crm_members", "n2", "mobile", obs.identifier_value[obs.identifier_type == "mobile"].iloc[0],
                         pd.Timestamp("2026-12-02 09:30"))],
                       columns=["source_table", "record_key", "identifier_type", "identifier_value", "observed_at"])
    base = obs[["source_table", "record_key", "identifier_type", "identifier_value", "observed_at"]]
    night2 = with_numbers(pd.concat([base, added, new], ignore_index=True))
    before = night1.set_index(["source_table", "record_key", "node_num"])
    after = night2.set_index(["source_table", "record_key", "node_num"])
    changed |= set(after.index.difference(before.index).get_level_values("node_num"))
    return night2, changed


def expected(obs: pd.DataFrame) -> pd.DataFrame:
    """Node statistics in pandas (no checksum: it is each engine's hash; compared full vs incremental)."""
    grouped = obs.groupby(["node_num", "identifier_type", "identifier_value"])
    frame = grouped.agg(records=("record_key", "size"), source_tables=("source_table", "nunique"),
                        first_observed_at=("observed_at", "min"), last_observed_at=("observed_at", "max"))
    return frame.reset_index().sort_values("node_num").reset_index(drop=True)


def project(folder: Path) -> Path:
    return model_project(folder, MACROS, MODEL, {"int_identity__observation_nodes": "observations_input"})


def load(folder: Path, obs: pd.DataFrame) -> None:
    with duckdb.connect(str(database(folder))) as con:
        con.register("frame", obs[["source_table", "record_key", "record_hash", "identifier_type",
                                   "identifier_value", "node_num", "observed_at"]])
        con.execute("create or replace table main.observations_input as select source_table, record_key, "
                    "cast(record_hash as ubigint) as record_hash, identifier_type, identifier_value, "
                    "cast(node_num as bigint) as node_num, observed_at from frame")


def table(folder: Path) -> pd.DataFrame:
    with duckdb.connect(str(database(folder)), read_only=True) as con:
        frame = con.execute(f"select {', '.join(COLUMNS)} from main.int_identity__node_stats").fetchdf()
    return frame.sort_values("node_num").reset_index(drop=True)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_night_restages_the_changed_nodes_and_equals_a_full_build(tmp_path, seed):
    night1 = observations(seed)
    night2, changed = next_night(night1)
    untouched = sorted(set(night1.node_num) & set(night2.node_num) - changed)
    assert len(untouched) > 50 and len(changed) > 5
    def mark(folder):  # one carried row of an untouched node
        execute(folder, f"update main.int_identity__node_stats set first_observed_at = '{MARK}' "
                        f"where node_num = {untouched[0]}")

    nightly, full = two_nights(tmp_path, project, load, night1, night2, mark)
    got, whole = table(nightly), table(full)
    # only the changed nodes were restaged: the marked untouched row is carried as it was
    assert got.loc[got.node_num == untouched[0], "first_observed_at"].tolist() == [pd.Timestamp(MARK)]
    got.loc[got.node_num == untouched[0], "first_observed_at"] = whole.loc[
        whole.node_num == untouched[0], "first_observed_at"].to_numpy()
    pd.testing.assert_frame_equal(got, whole)
    assert set(whole.node_num) == set(night2.node_num)  # the node with no observation left is gone
    independent = expected(night2)
    pd.testing.assert_frame_equal(whole[independent.columns.tolist()].astype({"records": "int64"}),
                                  independent.astype({"records": "int64"}), check_dtype=False)
    assert (whole.node_id == whole.identifier_type + ":" + whole.identifier_value).all()


def test_a_carried_node_table_holding_a_stale_count_is_restaged(tmp_path):
    """The checksum, not a diff against the previous file, decides: a carried row whose count no
    longer matches (a table left by a run of a few assets, say) is made again."""
    obs = observations(3)
    folder = project(tmp_path / "p")
    load(folder, obs)
    run_project(folder)
    node = int(obs.node_num.iloc[0])
    execute(folder, f"update main.int_identity__node_stats set records = records + 5 where node_num = {node}")
    run_project(folder)
    got = table(folder)
    assert got.loc[got.node_num == node, "records"].tolist() == [int((obs.node_num == node).sum())]
