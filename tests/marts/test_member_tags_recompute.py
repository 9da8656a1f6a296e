"""WeCom tags recomputed in pandas from the raw lake files, independently of their SQL.

Reads the session's published build (fixture ``published``): the raw ``wecom_corp_tags`` snapshots
and every raw ``wecom_contacts`` version in the lake, the load ledger's export times
(``staging.stg_lake__loads``), the identity registry (external_userid -> one_id) and
``marts.dim_member``; never the tag models' own intermediate tables. Tag lists are parsed with
``json.loads``, personal tags folded with ``unicodedata.normalize('NFKC', ...).strip()``, and the
rules of ``models/marts/audiences/_audiences__models.yml`` applied in pandas: a tag id keeps the
name of the newest snapshot listing it; a tag not listed live by the newest snapshot is deleted,
on the first snapshot day that no longer listed it live; an enterprise tag is shown when the
friendship's newest version shows it, a personal tag when its newest externalcontact/get version
(``tag_objects`` set) does; current = shown and not deleted.
"""
from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest.lake import RAW, table_glob

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"


def read(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()


def raw(paths, table: str) -> pd.DataFrame:
    with duckdb.connect() as con:
        return con.execute(f"select * from read_parquet('{table_glob(paths, RAW, table)}', union_by_name = true)").df()


def corp_tag_dictionary(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Per tag id: newest name and group, deleted or not, and the day the deletion was seen."""
    snaps = snapshots.copy()
    snaps["day"] = pd.to_datetime(snaps._exported_at).dt.normalize()
    snaps["flagged"] = snaps.tag_deleted.fillna(False).astype(bool) | snaps.group_deleted.fillna(False).astype(bool)
    days = sorted(snaps.day.unique())
    newest = days[-1]
    rows = []
    for tag_id, rows_of in snaps.sort_values("day").groupby("tag_id"):
        last = rows_of.iloc[-1]
        live = rows_of[~rows_of.flagged].day
        last_live = live.max() if len(live) else None
        deleted = last_live is None or last_live < newest
        if not deleted:
            deleted_on = None
        elif last_live is None:
            deleted_on = rows_of.day.min()
        else:
            deleted_on = min(d for d in days if d > last_live)
        rows.append({"tag_id": tag_id, "tag_group": last.group_name, "tag_name": last.tag_name,
                     "is_deleted": deleted, "deleted_on": deleted_on, "names": rows_of.tag_name.nunique()})
    return pd.DataFrame(rows)


def parse(text: str | None) -> list[tuple[str, str]]:
    """(tag_source, tag_id) pairs of one contact version's tag list (batch ids or get objects)."""
    out = []
    for item in json.loads(text) if text else []:
        if isinstance(item, str):
            out.append(("wecom_enterprise", item))
        elif item.get("type") == 2:
            name = unicodedata.normalize("NFKC", item["tag_name"]).strip()
            if name:
                out.append(("wecom_personal", name))
        elif item.get("tag_id"):
            out.append(("wecom_enterprise", item["tag_id"]))
    return out


@pytest.fixture(scope="module")
def lake(published) -> dict[str, pd.DataFrame]:
    warehouse = published.warehouse
    loads = read(warehouse, "select load_id, coalesce(exported_at, loaded_at) as seen_at from staging.stg_lake__loads")
    contacts = raw(published, "wecom_contacts")[["external_userid", "guide_userid", "tags", "tag_objects", "_load_id"]]
    contacts = contacts.merge(loads, left_on="_load_id", right_on="load_id")
    return {
        "snapshots": raw(published, "wecom_corp_tags"),
        "contacts": contacts,
        "registry": read(warehouse, "select identifier_value as external_userid, one_id "
                                    "from identity.identity_registry where identifier_type = 'wecom_external_userid'"),
        "members": read(warehouse, "select one_id, is_opted_out from marts.dim_member"),
        "tags": read(warehouse, "select * from marts.mart_member_tags"),
        "coverage": read(warehouse, "select * from marts.mart_tag_coverage"),
        "dim_tag": read(warehouse, "select * from marts.dim_tag"),
        "history": read(warehouse, "select * from marts.mart_tag_name_history"),
        "unmapped": read(warehouse, "select * from marts.quality_unmapped_tags"),
        "audience": read(warehouse, "select audience_id, one_id from marts.mart_audience_members"),
    }


@pytest.fixture(scope="module")
def expected_tags(lake) -> pd.DataFrame:
    """Member x WeCom tag recomputed from the raw contact versions and the raw snapshots."""
    contacts = lake["contacts"]
    key = ["external_userid", "guide_userid"]
    contacts = contacts.assign(
        newest=contacts.groupby(key).seen_at.transform("max"),
        newest_get=contacts.seen_at.where(contacts.tag_objects.notna()).groupby(
            [contacts.external_userid, contacts.guide_userid]).transform("max"))
    rows = [(e, g, source, tag, seen, newest if source == "wecom_enterprise" else newest_get)
            for e, g, text, seen, newest, newest_get in zip(contacts.external_userid, contacts.guide_userid,
                                                            contacts.tags, contacts.seen_at, contacts.newest,
                                                            contacts.newest_get)
            for source, tag in dict.fromkeys(parse(text))]
    shown = pd.DataFrame(rows, columns=[*key, "tag_source", "tag_id", "seen_at", "able_at"])
    per_friendship = shown.groupby([*key, "tag_source", "tag_id"]).agg(
        first_seen=("seen_at", "min"), last_seen=("seen_at", "max"), able=("able_at", "max")).reset_index()
    per_friendship["shown"] = per_friendship.last_seen == per_friendship.able
    per_friendship = per_friendship.merge(lake["registry"], on="external_userid")
    per_friendship = per_friendship.sort_values(["first_seen", "guide_userid"])
    member = per_friendship.groupby(["one_id", "tag_source", "tag_id"]).agg(
        set_by=("guide_userid", "first"), setter_guides=("guide_userid", "nunique"),
        shown=("shown", "any")).reset_index()
    dictionary = corp_tag_dictionary(lake["snapshots"])
    enterprise = member[member.tag_source == "wecom_enterprise"].merge(dictionary, on="tag_id")
    personal = member[member.tag_source == "wecom_personal"].assign(
        tag_group="个人标签", tag_name=lambda d: d.tag_id, is_deleted=False, deleted_on=None)
    out = pd.concat([enterprise, personal], ignore_index=True)
    out["is_current"] = out.shown & ~out.is_deleted.astype(bool)
    return out[out.one_id.isin(lake["members"].one_id)]


def test_wecom_member_tags_are_recomputed_from_the_raw_contact_versions(lake, expected_tags):
    tags = lake["tags"]
    got = tags[tags.tag_source.isin(["wecom_enterprise", "wecom_personal"])]
    columns = ["one_id", "tag_source", "tag_id", "tag_group", "tag_name", "is_current", "is_tag_deleted",
               "setter_guides", "set_by_guide_userid"]
    want = expected_tags.rename(columns={"is_deleted": "is_tag_deleted", "set_by": "set_by_guide_userid"})
    merged = got[columns].merge(want[columns], on=["one_id", "tag_source", "tag_id"], how="outer",
                                suffixes=("", "_want"), indicator=True)
    assert (merged._merge == "both").all(), merged[merged._merge != "both"].head()
    for column in columns[3:]:
        assert (merged[column].astype(str) == merged[f"{column}_want"].astype(str)).all(), column
    assert len(got) > 300
    assert set(got.tag_source) == {"wecom_enterprise", "wecom_personal"}


def test_a_renamed_tag_is_one_tag_under_its_newest_name_with_its_names_on_record(lake):
    dictionary = corp_tag_dictionary(lake["snapshots"])
    renamed = dictionary[dictionary.names > 1]
    assert len(renamed) >= 1
    tags, history = lake["tags"], lake["history"]
    for row in renamed.itertuples():
        names = set(tags[tags.tag_id == row.tag_id].tag_name)
        assert names == {row.tag_name}, (row.tag_id, names)
        listed = history[history.tag_id == row.tag_id]
        snapshots = lake["snapshots"]
        assert set(listed.tag_name) == set(snapshots[snapshots.tag_id == row.tag_id].tag_name)
        assert set(listed[listed.is_current_name].tag_name) == {row.tag_name}
    dim = lake["dim_tag"].merge(dictionary, on="tag_id", suffixes=("", "_want"))
    assert len(dim) == len(dictionary)
    assert (dim.tag_name == dim.tag_name_want).all() and (dim.tag_group == dim.tag_group_want).all()


def test_deleted_tags_are_marked_with_the_day_and_never_current(lake):
    dictionary = corp_tag_dictionary(lake["snapshots"])
    deleted = dictionary[dictionary.is_deleted]
    dim = lake["dim_tag"][lake["dim_tag"].tag_source == "wecom_enterprise"].set_index("tag_id")
    assert set(dim[dim.is_deleted].index) == set(deleted.tag_id)
    for row in deleted.itertuples():
        assert pd.Timestamp(dim.deleted_on[row.tag_id]) == pd.Timestamp(row.deleted_on)
    tags = lake["tags"]
    on_members = tags[tags.tag_id.isin(deleted.tag_id)]
    assert len(on_members) > 0
    assert not on_members.is_current.any() and on_members.is_tag_deleted.all()
    days = on_members.tag_id.map(deleted.set_index("tag_id").deleted_on)
    assert (pd.to_datetime(on_members.tag_deleted_on) == pd.to_datetime(days)).all()
    # a deleted tag the newest contact export still shows is kept, marked, not live
    contacts = lake["contacts"]
    newest_at = contacts.groupby(["external_userid", "guide_userid"]).seen_at.transform("max")
    newest = contacts[contacts.seen_at == newest_at]
    still_shown = {t for text in newest.tags for _, t in parse(text)} & set(deleted.tag_id)
    assert still_shown, "the demo plants a deleted tag that contacts still show"


def test_personal_tags_fold_their_typed_forms_and_count_once_per_member(lake, expected_tags):
    contacts = lake["contacts"]
    typed = {item["tag_name"] for text in contacts.tag_objects.dropna() for item in json.loads(text)
             if item.get("type") == 2}
    folded = {unicodedata.normalize("NFKC", t).strip() for t in typed}
    assert len(typed) > len(folded)  # spaces, ideographic spaces, full-width letters
    tags = lake["tags"]
    personal = tags[tags.tag_source == "wecom_personal"]
    assert set(personal.tag_name) <= folded
    assert (personal.tag_group == "个人标签").all() and personal.set_by_guide_userid.notna().all()
    assert (personal.setter_guides >= 2).any(), "the demo plants a tag two guides typed for one member"
    assert any(ord(c) > 0xFFFF for name in personal.tag_name for c in name)  # emoji kept as typed


def test_tag_coverage_is_recomputed_from_the_raw_lake_files(lake, expected_tags):
    current = expected_tags[expected_tags.is_current]
    members = len(lake["members"])
    by_tag = current.groupby(["tag_source", "tag_group", "tag_id", "tag_name"]).one_id.nunique().rename("want")
    by_group = current.groupby(["tag_source", "tag_group"]).one_id.nunique().rename("want")
    coverage = lake["coverage"]
    wecom = coverage[coverage.tag_source.isin(["wecom_enterprise", "wecom_personal"])]
    tag_rows = wecom[wecom.coverage_level == "tag"].set_index(["tag_source", "tag_group", "tag_id", "tag_name"])
    group_rows = wecom[wecom.coverage_level == "group"].set_index(["tag_source", "tag_group"])
    assert tag_rows.tagged_members.sort_index().to_dict() == by_tag.sort_index().to_dict()
    assert group_rows.tagged_members.sort_index().to_dict() == by_group.sort_index().to_dict()
    assert (wecom.members == members).all()
    # personal tags never add to an enterprise group, and deleted tags have no coverage row
    assert set(wecom[wecom.tag_source == "wecom_personal"].tag_group) == {"个人标签"}
    deleted = set(lake["dim_tag"][lake["dim_tag"].is_deleted].tag_id)
    assert not set(tag_rows.reset_index().tag_id) & deleted


def test_unmapped_tag_ids_are_the_newest_exports_ids_no_snapshot_lists(lake):
    contacts = lake["contacts"]
    newest = contacts.sort_values("seen_at").drop_duplicates(["external_userid", "guide_userid"], keep="last")
    listed = set(lake["snapshots"].tag_id)
    ids = {t for text in newest.tags for source, t in parse(text) if source == "wecom_enterprise"}
    unmapped = lake["unmapped"]
    wecom = unmapped[unmapped.tag_source == "wecom_enterprise"]
    assert set(wecom.tag_id) == ids - listed
    assert len(wecom) >= 1
    assert (wecom.reason == "in no get_corp_tag_list snapshot").all()


def test_audiences_select_through_deleted_tags_only_when_a_condition_asks(lake):
    """Every audience recomputed from the member tags and the seeds (membership, not identifiers)."""
    audiences = pd.read_csv(SEEDS / "audiences.csv")
    conditions = pd.read_csv(SEEDS / "audience_conditions.csv")
    tags, members = lake["tags"], lake["members"]
    eligible = set(members[~members.is_opted_out].one_id)

    def meeting(condition) -> set[str]:
        names = set(str(condition.tag_names).split("|"))
        usable = tags.is_current | (bool(condition.include_deleted) & tags.is_tag_deleted)
        return set(tags[usable & (tags.tag_group == condition.tag_group) & tags.tag_name.isin(names)].one_id)

    got = lake["audience"]
    for audience_id in audiences.audience_id:
        own = conditions[conditions.audience_id == audience_id]
        selected = set(eligible)
        for condition in own.itertuples():
            hit = meeting(condition)
            selected = selected & hit if condition.must_have else selected - hit
        assert set(got[got.audience_id == audience_id].one_id) == selected, audience_id
    # the deleted-tag audience is not empty, and the same condition without include_deleted selects nobody
    former = conditions[conditions.include_deleted.astype(bool)]
    assert len(former) >= 1
    for condition in former.itertuples():
        assert meeting(condition)
        assert not meeting(condition._replace(include_deleted=False))
