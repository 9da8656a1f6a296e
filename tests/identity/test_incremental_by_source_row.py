"""int_identity__observation_nodes incremental by source row (macros/incremental_by_node.sql,
macros/identity/source_rows.sql) equals a full build.

The project's own observation models and macros run through dbt on DuckDB in a throwaway
project, over two hand-made staging tables declared as identity sources the way
dbt_project.yml declares them: order lines with a two-column record key, a place and two
identifiers; members with a `where` filter and three identifiers, one of them the record key.
Night 1 builds in full; then the sources change the ways a night changes them: an identifier
changes value, one is emptied (the row keeps another), one is only spaces, every identifier of a
row is emptied, a line of an order leaves, a row is re-exported at another time or place, a
member stops passing the filter, a member leaves, new rows arrive. Night 2 runs incrementally: it
must equal a full build of the same sources and a pandas explosion of them, and leave the
observations of untouched rows as they were (a mark written into them between the nights stays).
"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.dbt_assets import DBT_PROJECT_DIR
from tests.identity.macro_project import database, execute, model_project, two_nights

IDENTITY = DBT_PROJECT_DIR / "models" / "identity"
MODELS = [IDENTITY / "int_identity__observations.sql", IDENTITY / "int_identity__observation_nodes.sql"]
MACROS = [DBT_PROJECT_DIR / "macros" / "incremental_by_node.sql",
          DBT_PROJECT_DIR / "macros" / "incremental_by_change.sql",  # build_id
          DBT_PROJECT_DIR / "macros" / "identity" / "source_rows.sql",
          DBT_PROJECT_DIR / "macros" / "identity" / "record_hash.sql",
          DBT_PROJECT_DIR / "macros" / "identity" / "node_number.sql",
          DBT_PROJECT_DIR / "macros" / "metrics" / "record_key.sql"]
SOURCES = [
    {"model": "stg_lines", "table": "lines", "record_key": ["order_id", "sku_id"], "observed_at": "ordered_at",
     "place": "store_code", "identifiers": {"pin": "buyer_pin", "card_no": "card_no"}},
    {"model": "stg_members", "table": "members", "record_key": ["member_id"], "observed_at": "registered_at",
     "where": "member_type = 2", "identifiers": {"member_id": "member_id", "mobile": "mobile", "unionid": "unionid"}},
]
INPUTS = {"stg_lines": "lines_input", "stg_members": "members_input"}
KEY = ["source_table", "record_key", "identifier_type"]
COLUMNS = KEY + ["identifier_value", "observed_at", "node_num", "record_hash"]
MARK = "marked"
ON_RUN_START = ["{{ create_consumed_builds() }}"]  # the meta tables of the change logs, as the real project's


def first_night(seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-01")
    lines = pd.DataFrame({
        "order_id": [f"o{i // 2}" for i in range(300)], "sku_id": [f"s{i % 2}" for i in range(300)],
        "buyer_pin": [f"pin{int(rng.integers(0, 90))}" if rng.random() > 0.1 else None for _ in range(300)],
        "card_no": [f"c{int(rng.integers(0, 60))}" if rng.random() > 0.5 else None for _ in range(300)],
        "ordered_at": [start + pd.Timedelta(minutes=int(rng.integers(0, 400_000))) for _ in range(300)],
        "store_code": [f"S{int(rng.integers(0, 5))}" if rng.random() > 0.3 else None for _ in range(300)]})
    members = pd.DataFrame({
        "member_id": [f"m{i}" for i in range(200)],
        "mobile": [f"h{int(rng.integers(0, 150))}" if rng.random() > 0.2 else None for _ in range(200)],
        "unionid": [f"u{i}" if rng.random() > 0.4 else None for i in range(200)],
        "member_type": [2 if rng.random() > 0.1 else 1 for _ in range(200)],
        "registered_at": [start + pd.Timedelta(minutes=int(rng.integers(0, 400_000))) for _ in range(200)]})
    # the rows the second night changes hold what the change needs
    lines.loc[[10, 12, 14, 16, 18, 20], "buyer_pin"] = ["pin1", "pin2", "pin3", "pin4", "pin5", "pin6"]
    lines.loc[[12, 14, 22], "card_no"] = ["c1", "c2", "c3"]
    members.loc[[3, 4, 6], "member_type"] = 2
    members.loc[6, "unionid"] = None
    return {"lines": lines, "members": members}


def next_night(night: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    lines, members = night["lines"].copy(), night["members"].copy()
    lines.loc[10, "buyer_pin"] = "pin-new"                            # an identifier changes value
    lines.loc[12, "card_no"] = None                                   # one emptied, the pin stays
    lines.loc[14, ["buyer_pin", "card_no"]] = [None, "  "]            # every identifier gone (spaces are none)
    lines.loc[16, "ordered_at"] += pd.Timedelta(days=1)               # re-exported at another time
    lines.loc[18, "store_code"] = "S-moved"                           # ... at another place
    lines.loc[22, "card_no"] = "c3 "                                  # the same value, padded
    lines = lines.drop(index=[20])                                    # a line of an order leaves
    lines = pd.concat([lines, pd.DataFrame({
        "order_id": ["o-new", "o-new"], "sku_id": ["s0", "s1"], "buyer_pin": ["pin1", "pin1"],
        "card_no": [None, "c9"], "ordered_at": [pd.Timestamp("2026-12-01")] * 2, "store_code": ["S1", None]})],
        ignore_index=True)
    members.loc[3, "mobile"] = "h-new"                                # a member's phone changes
    members.loc[4, "member_type"] = 1                                 # stops passing the filter
    members.loc[6, "unionid"] = "u-bound"                             # gains an identifier
    members = members.drop(index=[5])                                 # a member leaves
    members = pd.concat([members, pd.DataFrame({
        "member_id": ["m-new"], "mobile": ["h1"], "unionid": [None], "member_type": [2],
        "registered_at": [pd.Timestamp("2026-12-02")]})], ignore_index=True)
    return {"lines": lines.reset_index(drop=True), "members": members.reset_index(drop=True)}


def passing(night: dict[str, pd.DataFrame], src: dict) -> pd.DataFrame:
    """The rows of source `src` that pass its filter (the members' `where`)."""
    frame = night[src["table"]]
    return frame[frame.member_type == 2] if "where" in src else frame


def expected(night: dict[str, pd.DataFrame], sources: list[dict] = SOURCES) -> pd.DataFrame:
    """The observations in pandas: one row per non-empty (trimmed) identifier of every row passing its
    filter, with the record's time and place (none where the source declares no place)."""
    rows = []
    for src in sources:
        frame = passing(night, src)
        for identifier_type, column in src["identifiers"].items():
            value = frame[column].astype("string").str.strip()
            keep = frame[value.notna() & value.ne("")]
            rows.append(pd.DataFrame({
                "source_table": src["table"],
                "record_key": keep[src["record_key"]].astype(str).agg("|".join, axis=1),
                "identifier_type": identifier_type,
                "identifier_value": value[keep.index].astype(str),
                "observed_at": keep[src["observed_at"]],
                "place": keep[src["place"]] if "place" in src else None}))
    return pd.concat(rows, ignore_index=True).sort_values(KEY).reset_index(drop=True)


def project(folder):
    return model_project(folder, MACROS, MODELS, INPUTS, {"identity_sources": SOURCES}, ON_RUN_START)


def load(folder, night: dict[str, pd.DataFrame]) -> None:
    with duckdb.connect(str(database(folder))) as con:
        for table in ("lines", "members"):
            con.register("frame", night[table])
            con.execute(f"create or replace table main.{table}_input as select * from frame")
            con.unregister("frame")


def observations(folder) -> pd.DataFrame:
    with duckdb.connect(str(database(folder)), read_only=True) as con:
        frame = con.execute(f"select {', '.join(COLUMNS)} from main.int_identity__observation_nodes").fetchdf()
    return frame.sort_values(KEY).reset_index(drop=True)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_night_adds_and_deletes_the_observations_of_changed_source_rows_and_equals_a_full_build(tmp_path, seed):
    night1 = first_night(seed)
    night2 = next_night(night1)
    def mark(folder):  # every carried observation
        execute(folder, f"update main.int_identity__observation_nodes set identifier_value = '{MARK}'")

    nightly, full = two_nights(tmp_path, project, load, night1, night2, mark)
    got, whole = observations(nightly), observations(full)
    assert list(got[KEY].itertuples(index=False)) == list(whole[KEY].itertuples(index=False))
    kept = got.identifier_value.eq(MARK)
    changed = {("lines", "o5|s0"), ("lines", "o6|s0"), ("lines", "o8|s0"), ("lines", "o9|s0"),
               ("lines", "o11|s0"), ("lines", "o-new|s0"), ("lines", "o-new|s1"),
               ("members", "m3"), ("members", "m6"), ("members", "m-new")}
    restaged = set(zip(got.source_table[~kept], got.record_key[~kept]))
    assert restaged == changed, restaged ^ changed
    assert kept.sum() > 300  # every untouched row's observations were carried, not rebuilt
    got["identifier_value"] = got.identifier_value.where(~kept, whole.identifier_value)
    pd.testing.assert_frame_equal(got, whole, check_dtype=False)
    gone = {("lines", "o7|s0"), ("lines", "o10|s0"), ("members", "m4"), ("members", "m5")}
    assert not gone & set(zip(whole.source_table, whole.record_key))  # every identifier emptied, left, filtered out
    independent = expected(night2)
    columns = KEY + ["identifier_value", "observed_at"]
    pd.testing.assert_frame_equal(whole[columns], independent[columns], check_dtype=False)
