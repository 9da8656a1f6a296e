"""The demo generator's exact-key failure classes (issue 18): present at their rates, in the files'
real encodings, and with a truth that stays consistent.

A small brand is generated once; the landing files are read back with pandas and the standard
library (not with the loader), the truth tables with pyarrow, and the two are checked against each
other: walk-in receipts carrying a trap phone belong to no person, a recycled number is held by two
different persons at different times, a Unicode-form identifier is the plain one of its person.
"""
from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from ingest.pii import normalise_mobiles

MEMBERS = 3000
ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]")
NOT_IN_GBK = re.compile("[\u200b\u00a0\ufeff]")


def plain(value: str) -> str:
    """The ASCII form of an identifier, by the standard library (independent of ingest)."""
    return ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", value)).strip()


@pytest.fixture(scope="module")
def brand(tmp_path_factory) -> dict:
    from demo.generate import generate

    out = tmp_path_factory.mktemp("traps")
    summary = generate(out, members=MEMBERS)
    truth = out / "truth"
    records = pq.read_table(truth / "records.parquet").to_pandas()
    return {"out": out, "landing": out / "landing", "truth": truth, "anomalies": summary["anomalies"],
            "records": records, "persons": pq.read_table(truth / "persons.parquet").to_pandas(),
            "traps": pd.read_csv(truth / "phone_traps.csv", dtype=str, keep_default_na=False),
            "recycled": pd.read_csv(truth / "recycled_numbers.csv", dtype=str, keep_default_na=False)}


def pos_lines(landing: Path) -> pd.DataFrame:
    """Every POS line of both systems with the columns renamed to one set, and its true person."""
    frames = []
    for path in sorted((landing / "pos" / "sales").glob("*.csv")):
        gbk = "franchise" in path.name
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="gbk" if gbk else "utf-8")
        frame = frame.rename(columns={"门店编码": "店编", "小票号": "单号"})
        frame["gbk"] = gbk
        frames.append(frame)
    lines = pd.concat(frames, ignore_index=True)
    lines["record_key"] = lines["店编"] + "|" + lines["单号"] + "|" + lines["行号"]
    return lines


@pytest.fixture(scope="module")
def pos(brand) -> pd.DataFrame:
    truth = brand["records"]
    people = truth[truth["table"] == "pos_sales"].set_index("record_key")["person_id"]
    lines = pos_lines(brand["landing"])
    lines["person_id"] = lines["record_key"].map(people)
    lines["mobile"] = lines["会员手机号"].map(plain)  # a few are written in another Unicode form
    assert lines["record_key"].isin(people.index).mean() > 0.999  # bad rows only are missing
    return lines


# ---------------------------------------------------------------- phones typed on walk-in receipts


def test_every_kind_of_trap_phone_is_typed_on_many_walk_in_receipts_over_many_days(brand, pos):
    traps = brand["traps"]
    for kind in ("cashier_habit", "pattern", "new_guide_unlisted", "member_lends_phone"):
        rows = traps[traps["kind"] == kind]
        receipts = pos[pos["mobile"].isin(rows["number"]) & pos["person_id"].isna()].drop_duplicates(
            ["店编", "单号"])
        assert len(receipts) == rows["walk_in_receipts"].astype(int).sum() == \
            brand["anomalies"][f"pos_receipts_walk_in_trap_phone:{kind}"], kind
        assert len(receipts) >= 10, (kind, len(receipts))
        assert receipts["销售时间"].str[:10].str.replace("/", "-").nunique() >= 5, kind
        assert (receipts["会员卡号"] == "").all(), kind  # walk-ins show no card


def test_trap_phones_identify_no_walk_in_shopper_and_the_lender_only_on_her_own_receipts(brand, pos):
    traps = brand["traps"]
    for _, trap in traps.iterrows():
        carrying = pos[pos["mobile"] == trap["number"]]
        if trap["kind"] == "member_lends_phone":
            assert set(carrying["person_id"].dropna()) <= {trap["lending_person_id"]}
        else:
            assert carrying["person_id"].isna().all(), trap.to_dict()


def test_habit_numbers_are_plausible_mobiles_on_no_list_and_nobody_holds_them(brand):
    traps, persons = brand["traps"], brand["persons"]
    held = set(persons["mobile_1"]) | set(persons["mobile_2"].dropna())
    staff = pd.read_excel(next((brand["landing"] / "master" / "staff").glob("*.xlsx")), dtype=str)
    listed = set(staff["手机号"])
    for kind in ("cashier_habit", "new_guide_unlisted"):
        numbers = traps.loc[traps["kind"] == kind, "number"]
        _, status = normalise_mobiles(numbers.astype("str"))
        assert (status == "valid").all(), kind  # no rule refuses them: only their spread gives them away
        assert not numbers.isin(held).any() and not numbers.isin(listed).any(), kind
    patterns = traps.loc[traps["kind"] == "pattern"]
    _, status = normalise_mobiles(patterns["number"].astype("str"))
    assert (status == "placeholder").all()
    assert patterns.groupby("number")["store"].nunique().max() >= 2  # shared by several stores
    lenders = traps.loc[traps["kind"] == "member_lends_phone"]
    mine = persons.set_index("person_id").loc[lenders["lending_person_id"]]
    assert (mine["mobile_1"].to_numpy() == lenders["number"].to_numpy()).all()


# ---------------------------------------------------------------- recycled numbers


def test_a_recycled_number_passes_from_a_phone_changer_to_another_person(brand):
    recycled, persons = brand["recycled"], brand["persons"].set_index("person_id")
    customers = recycled[recycled["old_person_id"] != ""]
    changers = persons["mobile_2"].notna().sum()
    assert 0.1 <= len(customers) / changers <= 0.6
    assert len(customers) == brand["anomalies"]["recycled_numbers:customer"]
    old = persons.loc[customers["old_person_id"]]
    assert (customers["old_person_id"] != customers["new_person_id"]).all()
    assert (old["mobile_1"].to_numpy() == customers["number"].to_numpy()).all()
    assert (old["mobile_changed_on"].to_numpy() == customers["old_owner_changed_on"].to_numpy()).all()
    _new_owner_holds_it(recycled, persons)


def test_a_leaving_guides_number_is_recycled_to_a_customer_while_the_staff_master_still_lists_it(brand):
    recycled, persons = brand["recycled"], brand["persons"].set_index("person_id")
    guides = recycled[recycled["old_staff"] != ""]
    assert len(guides) == brand["anomalies"]["recycled_numbers:staff_leaver"] >= 1
    staff = pd.read_excel(next((brand["landing"] / "master" / "staff").glob("*.xlsx")), dtype=str).set_index("工号")
    gone = staff.loc[guides["old_staff"]]
    assert (gone["手机号"].to_numpy() == guides["number"].to_numpy()).all() and (gone["在职状态"] == "离职").all()
    assert (gone["离职日期"].str[:10].to_numpy() == guides["old_owner_changed_on"].to_numpy()).all()
    _new_owner_holds_it(recycled, persons)


def _new_owner_holds_it(recycled: pd.DataFrame, persons: pd.DataFrame) -> None:
    new = persons.loc[recycled["new_person_id"]]
    assert (new["mobile_1"].to_numpy() == recycled["number"].to_numpy()).all() and new["mobile_2"].isna().all()
    assert (recycled["recycled_on"] > recycled["old_owner_changed_on"]).all()
    assert (recycled["new_owner_first_seen"] > recycled["recycled_on"]).all()
    assert recycled["new_person_id"].is_unique and recycled["number"].is_unique


def test_the_crm_holds_a_recycled_number_on_both_owners_records(brand):
    recycled = brand["recycled"]
    crm = pd.read_csv(next((brand["landing"] / "crm" / "members").glob("*.csv")), dtype=str,
                      keep_default_na=False)
    truth = brand["records"]
    owner = truth[truth["table"] == "crm_members"].set_index("record_key")["person_id"]
    crm["person_id"] = crm["member_id"].map(owner)
    crm["plain_mobile"] = crm["mobile"].map(plain)
    both = recycled[(recycled["old_owner_crm_holds_it"] == "1") & (recycled["new_owner_crm_holds_it"] == "1")]
    assert len(both) == brand["anomalies"]["recycled_numbers_on_two_crm_members"] >= 1
    for _, row in both.iterrows():
        holders = set(crm.loc[crm["plain_mobile"] == row["number"], "person_id"])
        assert {row["old_person_id"], row["new_person_id"]} <= holders, row.to_dict()


# ---------------------------------------------------------------- Unicode forms


def test_unicode_form_identifiers_in_the_crm_are_the_plain_ones_at_their_rate(brand):
    crm = pd.read_csv(next((brand["landing"] / "crm" / "members").glob("*.csv")), dtype=str,
                      keep_default_na=False, encoding="utf-8")
    persons = brand["persons"]
    cards = set(persons["card_no"].dropna()) | set(persons["card_no_2"].dropna())
    for column, shape in (("card_no", r"^[0-9]{12}$"), ("mobile", r"^[0-9]{11}$")):
        values = crm.loc[crm[column] != "", column]
        odd = values[~values.str.match(shape)]
        assert len(odd) == brand["anomalies"][f"unicode_form_identifiers:crm_members.{column}"]
        assert 0.003 <= len(odd) / len(values) <= 0.015, (column, len(odd), len(values))
        assert odd.map(plain).str.match(shape).all(), column
    odd_cards = crm.loc[(crm["card_no"] != "") & ~crm["card_no"].str.match(r"^[0-9]{12}$"), "card_no"]
    assert odd_cards.map(plain).isin(cards).all()


def test_gbk_exports_carry_only_gbk_forms_and_utf8_exports_all_of_them(pos):
    identifiers = pd.DataFrame({"value": pd.concat([pos["会员卡号"], pos["会员手机号"]], ignore_index=True),
                                "gbk": pd.concat([pos["gbk"], pos["gbk"]], ignore_index=True)})
    odd = identifiers[(identifiers["value"] != "") & ~identifiers["value"].str.match(r"^[0-9]+$")]
    in_gbk, in_utf8 = odd.loc[odd["gbk"], "value"], odd.loc[~odd["gbk"], "value"]
    assert len(in_gbk) and not in_gbk.str.contains(NOT_IN_GBK).any()
    assert in_gbk.str.contains("[\u3000\uff10-\uff19]").all()  # GBK holds full-width digits and U+3000
    assert in_utf8.str.contains(NOT_IN_GBK).any()
    assert odd["value"].map(plain).str.match(r"^[0-9]+$").all()
    assert 0.003 <= len(odd) / (identifiers["value"] != "").sum() <= 0.015


def test_mini_program_and_wecom_identifiers_fold_back_to_the_persons_ones(brand):
    persons = brand["persons"]
    members = pd.concat([pd.read_excel(p, dtype=str).fillna("") for p in
                         sorted((brand["landing"] / "mini_program" / "members").glob("*.xlsx"))])
    odd = members.loc[~members["openid"].str.match(r"^[A-Za-z0-9_-]+$"), "openid"]
    assert len(odd) == brand["anomalies"]["unicode_form_identifiers:mp_members.openid"] >= 1
    assert odd.map(plain).isin(set(persons["mp_openid"].dropna())).all()
    truth = brand["records"]
    keys = truth.loc[truth["table"] == "mp_members", "record_key"]
    assert keys.str.match(r"^[A-Za-z0-9_-]+$").all() and set(odd.map(plain)) <= set(keys)  # truth: the plain key
    unionids = []
    for path in sorted((brand["landing"] / "wecom" / "contacts").rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        contacts = [c["external_contact"] for c in doc.get("external_contact_list", [])] or [doc["external_contact"]]
        unionids += [c["unionid"] for c in contacts if "unionid" in c]
    odd = [u for u in unionids if not re.match(r"^[A-Za-z0-9_-]+$", u)]
    assert odd and {plain(u) for u in odd} <= set(persons["unionid"])


def test_the_traps_are_deterministic_per_seed(brand, tmp_path):
    from demo.generate import generate

    generate(tmp_path, members=MEMBERS)
    for name in ("phone_traps.csv", "recycled_numbers.csv", "records.parquet"):
        assert (tmp_path / "truth" / name).read_bytes() == (brand["truth"] / name).read_bytes(), name
    for path in sorted((brand["landing"] / "pos" / "sales").glob("*.csv")):
        assert (tmp_path / "landing" / "pos" / "sales" / path.name).read_bytes() == path.read_bytes()


def test_ingest_lands_every_generated_form_as_the_plain_identifier(brand, tmp_path):
    """The generated forms through the real engine: no landed identifier keeps a non-ASCII character,
    no row is quarantined or noted for one, and the forms' phones hash like the plain ones."""
    import duckdb

    from ingest.contract import load_contracts
    from ingest.engine import load_tables
    from ingest.lake import RAW, table_glob
    from ingest.pii import HashKey
    from ingest.settings import paths_from_env

    tables = {"crm_members": ["card_no", "mobile_status"], "pos_sales": ["card_no", "mobile_status"],
              "mp_members": ["openid", "unionid", "card_no", "mobile_status"],
              "tmall_member_bindings": ["card_no", "mobile_status"], "douyin_member_bindings": ["card_no"],
              "wecom_contacts": ["unionid"]}
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path)}).ensure()
    for folder in ("crm", "pos", "mini_program", "tmall", "douyin", "wecom"):
        shutil.copytree(brand["landing"] / folder, paths.landing / folder)
    contracts = load_contracts()
    reports = load_tables([contracts[t] for t in tables], paths, HashKey(b"forms", "t"), workers=1)
    con = duckdb.connect()
    for table, columns in tables.items():
        files = reports[table].files
        # an answer unchanged between two sweeps (same bytes) is skipped as a duplicate, never refused
        refused = [(f.source_file, f.status, f.message) for f in files
                   if f.status != "loaded" and not (f.status == "skipped" and f.message.startswith("same content as"))]
        assert refused == []
        glob = table_glob(paths, RAW, table)
        for column in columns:
            odd = con.execute(f"select count(*) from read_parquet('{glob}') where {column} is not null "
                              f"and regexp_matches({column}, '[^ -~]')").fetchone()[0]
            assert odd == 0, (table, column)
        noted = con.execute(f"select count(*) from read_parquet('{glob}') where _cell_issues is not null and "
                            f"regexp_matches(_cell_issues, '(card_no|mobile|openid|unionid)')").fetchone()[0]
        assert noted == 0, table
    statuses = dict(con.execute(f"select mobile_status, count(*) from read_parquet("
                                f"'{table_glob(paths, RAW, 'crm_members')}') group by 1").fetchall())
    assert statuses.get("invalid", 0) == 0, statuses  # every full-width or zero-width phone is a phone
