"""The demo's receivers (demo/receivers.py), checked through what ingest lands: names typed in variants,
households sharing a home, strangers sharing a common name in one district, parents' phones on
children's memberships. Counted with DuckDB on the landed Parquet and the truth, not by the generator."""
import json

import duckdb
import pytest

from demo.generate import generate
from ingest.contract import load_contracts
from ingest.engine import load_table
from ingest.pii import HashKey
from ingest.settings import paths_from_env

KEY = HashKey(b"k", "test")
MEMBERS = 3000
ORDERS = {"tmall_orders": "order_id", "douyin_orders": "sub_order_id", "mp_orders": "order_no"}


@pytest.fixture(scope="module")
def brand(tmp_path_factory):
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path_factory.mktemp("receivers"))}).ensure()
    summary = generate(paths.home, members=MEMBERS)
    contracts = load_contracts()
    for table in (*ORDERS, "jd_orders"):
        for file in load_table(contracts[table], paths, KEY).files:
            assert file.status == "loaded", (table, file.source_file, file.message)
    con = duckdb.connect()
    truth = paths.home / "truth"
    con.execute(f"create view records as select * from read_parquet('{truth}/records.parquet')")
    con.execute(f"create view persons as select * from read_parquet('{truth}/persons.parquet')")
    selects = []
    for table, key in ORDERS.items():
        prefix = "receiver_address" if table != "douyin_orders" else None
        district = f"{prefix}_district" if prefix else "district"
        address = f"{prefix}_hash" if prefix else "address_detail_hash"
        selects.append(f"select '{table}' as tbl, cast({key} as varchar) as record_key, "
                       f"receiver_name_hash as name_hash, {district} as district, {address} as address_hash "
                       f"from read_parquet('{paths.lake}/raw/{table}/*.parquet', union_by_name = true)")
    con.execute("create table landed as " + " union all ".join(selects))
    con.execute("""create table orders as
        select landed.*, records.person_id, persons.household_id
        from landed
        join records on records."table" = landed.tbl and records.record_key = landed.record_key
        join persons using (person_id)
        where landed.address_hash is not null""")
    return con, summary, paths.landing


def test_most_names_are_typed_true_and_a_realistic_share_in_a_variant(brand):
    con, summary, _ = brand
    anomalies = summary["anomalies"]
    variants = sum(v for k, v in anomalies.items() if k.startswith("receiver_name:tmall_orders:"))
    share = variants / summary["rows_per_table"]["tmall_orders"]
    assert 0.10 <= share <= 0.20, share
    # independently, on the landed hashes: orders whose name differs from the buyer's usual one
    # (variants, gifts to family and to strangers)
    (differs,) = con.execute("""
        with usual as (
            select person_id, mode(name_hash) as usual_hash from orders where name_hash is not null group by 1
        )
        select avg(case when orders.name_hash is distinct from usual.usual_hash then 1.0 else 0 end)
        from orders join usual using (person_id)""").fetchone()
    # (a buyer with one or two orders has their variant as the usual name: the share is below the rates')
    assert 0.06 <= differs <= 0.35, differs


def test_households_exist_and_their_members_ship_to_one_home(brand):
    con, summary, _ = brand
    assert summary["anomalies"]["households_of_2_or_more"] >= MEMBERS * 0.05
    assert 0.15 <= summary["anomalies"]["persons_in_households"] / MEMBERS <= 0.25
    # households with two or more members who ordered: do two of them ship to one address (the home)?
    shared, households = con.execute("""
        with per_address as (
            select household_id, address_hash, count(distinct person_id) as persons from orders group by 1, 2
        ),
        per_household as (
            select household_id, count(distinct person_id) as members from orders group by 1
        )
        select count(*) filter (where exists (select 1 from per_address a where a.household_id = h.household_id
                                                                             and a.persons >= 2)),
               count(*)
        from per_household h where members >= 2""").fetchone()
    assert households >= 20, households
    assert shared / households >= 0.9, (shared, households)
    # and strangers almost never do: persons of different households sharing a detail address
    (strangers,) = con.execute("""
        select count(*) from (select address_hash from orders group by 1 having count(distinct household_id) >= 2)
    """).fetchone()
    assert strangers <= households * 0.2, (strangers, households)


def test_different_people_with_one_common_name_live_in_one_district(brand):
    con, _, _ = brand
    (groups,) = con.execute("""
        with usual as (
            select person_id, mode(name_hash) as name_hash, mode(district) as district
            from orders where name_hash is not null group by 1
        )
        select count(*) from (
            select name_hash, district from usual group by 1, 2 having count(distinct person_id) >= 2
        )""").fetchone()
    assert groups >= 3, groups


def test_a_realistic_share_of_crm_registrations_carry_a_parents_phone(brand):
    _, summary, _ = brand
    shared = summary["anomalies"]["crm_members_mobile:household_shared"]
    members = summary["rows_per_table"]["crm_members"]
    assert 0.01 <= shared / members <= 0.02, (shared, members)


def test_generation_is_deterministic_per_seed_for_the_receivers(brand, tmp_path):
    _, summary, landing = brand
    again = generate(tmp_path, members=MEMBERS)
    assert json.dumps(again["anomalies"]) == json.dumps(summary["anomalies"])
    first = paths_from_env({"QUANYU_HOME": str(tmp_path)}).landing
    for folder in ("tmall/orders", "jd/orders", "douyin/orders", "mini_program/orders", "crm/members"):
        files = sorted(p for p in (first / folder).iterdir() if p.name != "_SUCCESS")
        assert files
        for path in files:
            assert path.read_bytes() == (landing / folder / path.name).read_bytes(), path.name
