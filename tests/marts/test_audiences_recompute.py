"""Tags and audiences recomputed in pandas, independently of their SQL, and the export read back.

Reads the session's published build (fixture ``published``): the raw WeCom contact rows of the
lake, ``marts.fct_orders``, ``marts.fct_wecom_relationships``, ``marts.dim_member``,
``marts.mart_member_rfm_lifecycle`` and the identity registry, never the tag models' own
intermediate tables. Tags are parsed from the exported JSON with ``json.loads``, the channel
preference and the lapsed-Tmall-only audience derived from the orders with pandas, following
``models/marts/audiences/_audiences__models.yml`` and the seeds. The export files the session
build wrote after publication (``<home>/exports/audiences/<build id>/``) are read back with the
csv module and compared with the table.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest.lake import RAW, table_glob
from tests.marts.test_member_tags_recompute import corp_tag_dictionary
from tests.marts.test_member_tags_recompute import raw as raw_table

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"


def read(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()


@pytest.fixture(scope="module")
def tables(published) -> dict[str, pd.DataFrame]:
    warehouse = published.warehouse
    return {
        "orders": read(warehouse, "select one_id, channel, is_valid_order, booked_at from marts.fct_orders"),
        "members": read(warehouse, "select one_id, is_opted_out, owner_guide_userid from marts.dim_member"),
        "rfm": read(warehouse, "select one_id, lifecycle_stage from marts.mart_member_rfm_lifecycle"),
        "spells": read(warehouse, "select one_id, guide_userid, external_userid, is_live "
                                  "from marts.fct_wecom_relationships"),
        "tags": read(warehouse, "select * from marts.mart_member_tags"),
        "audience": read(warehouse, "select * from marts.mart_audience_members"),
        "registry": read(warehouse, "select one_id, identifier_value as external_userid "
                                    "from identity.identity_registry where identifier_type = 'wecom_external_userid'"),
    }


def channel_preference(orders: pd.DataFrame) -> pd.DataFrame:
    """Per buyer: <channel>_only or <channel>_mostly (most valid orders, then latest, then name)."""
    valid = orders[orders.is_valid_order & orders.one_id.notna()]
    per = valid.groupby(["one_id", "channel"]).agg(n=("booked_at", "size"), last=("booked_at", "max")).reset_index()
    per["channels"] = per.groupby("one_id").channel.transform("size")
    per = per.sort_values(["one_id", "n", "last", "channel"], ascending=[True, False, False, True])
    top = per.drop_duplicates("one_id").copy()
    top["tag_name"] = top.channel + top.channels.map(lambda c: "_only" if c == 1 else "_mostly")
    return top[["one_id", "tag_name"]]


def test_the_channel_preference_tag_is_the_members_top_channel(tables):
    expected = channel_preference(tables["orders"])
    expected = expected[expected.one_id.isin(tables["members"].one_id)]
    tags = tables["tags"]
    got = tags[tags.tag_group == "channel_preference"][["one_id", "tag_name"]]
    assert len(expected) > 100
    assert (got.merge(expected, how="outer", indicator=True)._merge == "both").all()
    assert (tags[tags.tag_group == "channel_preference"].rule_version == 1).all()


def test_the_wecom_tags_are_the_tag_ids_of_the_newest_contact_export(published, tables):
    """Current WeCom enterprise tags per member = tag ids of each friendship's newest exported row
    (json.loads) that the newest corp tag list snapshot lists live."""
    with duckdb.connect() as con:
        raw = con.execute(f"select external_userid, guide_userid, tags, _load_id "
                          f"from read_parquet('{table_glob(published, RAW, 'wecom_contacts')}', union_by_name = true)"
                          ).df()
    loads = read(published.warehouse, "select load_id, coalesce(exported_at, loaded_at) as seen_at "
                                      "from staging.stg_lake__loads")
    raw = raw.merge(loads, left_on="_load_id", right_on="load_id")
    newest = raw[raw.seen_at == raw.groupby(["external_userid", "guide_userid"]).seen_at.transform("max")]
    dictionary = corp_tag_dictionary(raw_table(published, "wecom_corp_tags"))
    known = set(dictionary[~dictionary.is_deleted].tag_id)  # live in the newest corp tag list snapshot

    def ids(text: str | None) -> list[str]:
        items = json.loads(text) if text else []
        return [i["tag_id"] if isinstance(i, dict) else i for i in items]

    rows = [(e, t) for e, text in zip(newest.external_userid, newest.tags) for t in ids(text) if t in known]
    expected = (pd.DataFrame(rows, columns=["external_userid", "tag_id"])
                .merge(tables["registry"], on="external_userid")[["one_id", "tag_id"]].drop_duplicates())
    expected = expected[expected.one_id.isin(tables["members"].one_id)]
    tags = tables["tags"]
    got = tags[(tags.tag_source == "wecom_enterprise") & tags.is_current][["one_id", "tag_id"]]
    assert len(expected) > 100
    assert (got.merge(expected, how="outer", indicator=True)._merge == "both").all()


def test_the_lapsed_tmall_only_audience_is_recomputed_without_opted_out_members(tables):
    prefs = channel_preference(tables["orders"])
    rfm = tables["rfm"]
    members = tables["members"]
    lapsed = rfm[rfm.lifecycle_stage.isin(["sleeping", "at_risk"])].one_id
    expected = members[members.one_id.isin(prefs[prefs.tag_name == "tmall_only"].one_id)
                       & members.one_id.isin(lapsed) & ~members.is_opted_out]
    audience = tables["audience"]
    got = audience[audience.audience_id == "lapsed_tmall_only"]
    assert len(expected) > 0
    assert set(got.one_id) == set(expected.one_id)
    assert not got.one_id.isin(members[members.is_opted_out].one_id).any()
    # the WeCom identifier is a live friendship with the owner guide
    spells = tables["spells"]
    live = spells[spells.is_live].merge(members[["one_id", "owner_guide_userid"]], on="one_id")
    live = live[live.guide_userid == live.owner_guide_userid].groupby("one_id").external_userid.min()
    want = got.one_id.map(live)
    assert (got.wecom_external_userid.fillna("") == want.fillna("").values).all()


def test_the_audience_export_files_hold_the_table_without_opted_out_members(published, tables):
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        build_id = con.execute("select build_id from meta.build").fetchall()[0][0]
    folder = published.home / "exports" / "audiences" / build_id
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    audience, members = tables["audience"], tables["members"]
    defined = pd.read_csv(SEEDS / "audiences.csv")
    assert set(manifest["audiences"]) == set(defined.audience_id)
    opted_out = set(members[members.is_opted_out].one_id)
    flags = {"wecom": "is_wecom_reachable", "sms": "is_sms_reachable", "oa": "is_oa_reachable"}
    for audience_id, entry in manifest["audiences"].items():
        rows = audience[audience.audience_id == audience_id]
        assert entry["members"] == len(rows)
        assert entry["version"] == int(defined.set_index("audience_id").audience_version[audience_id])
        for channel, flag in flags.items():
            files = [f for f in entry["files"] if f.split("/")[1] == channel or f.split("/")[1] == f"{channel}.csv"]
            read_back = []
            for relative in files:
                with (folder / relative).open(encoding="utf-8", newline="") as handle:
                    lines = list(csv.DictReader(handle))
                assert len(lines) == entry["files"][relative]
                read_back += lines
            assert len(read_back) == entry["reachable"][channel] == int(rows[flag].sum())
            assert {r["one_id"] for r in read_back} == set(rows[rows[flag]].one_id)
            assert not {r["one_id"] for r in read_back} & opted_out
        for relative in entry["files"]:
            if "/wecom/" in relative:
                with (folder / relative).open(encoding="utf-8", newline="") as handle:
                    guides = {r["owner_guide_userid"] for r in csv.DictReader(handle)}
                assert len(guides) == 1
    assert sum(e["members"] for e in manifest["audiences"].values()) > 0


def test_the_export_follows_publication(definitions):
    from dagster import AssetKey

    from orchestration.definitions import audience_exports

    assert AssetKey(["warehouse", "published"]) in audience_exports.asset_deps[audience_exports.key]


@pytest.mark.parametrize(("userid", "name"), [("wangbomin", "wangbomin"), ("../etc", "_etc"), ("李/导购", "____"),
                                              ("", "_")])
def test_a_guide_userid_never_leaves_the_export_folder(userid, name):
    from orchestration.audience_export import safe_name

    assert safe_name(userid) == name
