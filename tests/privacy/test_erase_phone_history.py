"""Erasing a CRM member who changed her number erases her earlier number too: her phone history
(stg_crm__member_phones) makes it one of her identifiers, so the receipts she gave it on go with
her, in the lake and in the warehouse, and the rebuilt history holds none of her phones.
Real ingest, real dbt, the erase steps as the command runs them."""
import shutil

import duckdb
import pyarrow.parquet as pq
import pytest

from ingest import lake
from ingest.pii import keyed_hash
from ingest.settings import paths_from_env
from orchestration.erase import erase, resolve
from tests.dbt_runner import TEST_KEY, dbt, ingest_all

OLD, NEW, OTHER = "13671924508", "15221390846", "13507319264"
MODELS = ["+identity_registry", "+bridge_record_member"]


def _write(path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def brand(tmp_path_factory):
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path_factory.mktemp("erase-history"))}).ensure()
    crm = paths.landing / "crm" / "members"
    header = "member_id,card_no,mobile,unionid,registered_at,name"
    _write(crm / "members_20260115.csv", [header, f"M-MOVED,C-MOVED,{OLD},,2026-01-10 10:00:00,吴芳",
                                          f"M-STAYS,C-STAYS,{OTHER},,2026-01-11 10:00:00,李娜"])
    _write(crm / "members_20260601.csv", [header, f"M-MOVED,C-MOVED,{NEW},,2026-01-10 10:00:00,吴芳",
                                          f"M-STAYS,C-STAYS,{OTHER},,2026-01-11 10:00:00,李娜"])
    _write(paths.landing / "pos" / "sales" / "sales_20260630.csv", [
        "店编,单号,行号,销售时间,货号,数量,结算单价,金额,会员卡号,会员手机号",
        f"S1,R1,1,2026-03-17 12:00:00,SKU1,1,10,10,,{OLD}",  # her old number, phone only
        f"S1,R2,1,2026-06-20 12:00:00,SKU1,1,10,10,,{NEW}",
        f"S1,R3,1,2026-06-21 12:00:00,SKU1,1,10,10,,{OTHER}",
    ])
    ingest_all(paths)
    dbt(paths, "build", "--indirect-selection", "cautious", "--select", *MODELS)
    person = resolve(paths, TEST_KEY, member_id="M-MOVED")
    before = _warehouse(paths, "select member_id, phone_seq from staging.stg_crm__member_phones order by 1, 2")
    entry = erase(paths, TEST_KEY, person)
    yield paths, person, before, entry
    shutil.rmtree(paths.home, ignore_errors=True)


def _warehouse(paths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _raw(paths, table: str, column: str) -> list:
    with lake.reading(paths, [table]):
        files = [p for p in lake.table_dir(paths, lake.RAW, table).glob("*.parquet") if lake.is_data_file(p)]
        return sorted(v for p in files for v in pq.read_table(p).column(column).to_pylist())


def test_her_earlier_number_is_one_of_the_identifiers_erased(brand):
    _, person, before, _ = brand
    assert ("mobile", keyed_hash(TEST_KEY, OLD)) in person.identifiers
    assert ("mobile", keyed_hash(TEST_KEY, NEW)) in person.identifiers
    assert ("mobile", keyed_hash(TEST_KEY, OTHER)) not in person.identifiers
    assert before == [("M-MOVED", 1), ("M-MOVED", 2), ("M-STAYS", 1)]


def test_the_lake_keeps_no_version_of_her_and_no_receipt_on_either_number(brand):
    paths, _, _, entry = brand
    assert _raw(paths, "crm_members", "member_id") == ["M-STAYS", "M-STAYS"]
    assert _raw(paths, "pos_sales", "receipt_no") == ["R3"]
    assert entry["rows_removed"]["lake"]["crm_members"]["raw"] == 2
    assert entry["rows_removed"]["lake"]["pos_sales"]["raw"] == 2


def test_the_warehouse_and_the_rebuilt_history_hold_none_of_her_phones(brand):
    paths, _, _, _ = brand
    old = keyed_hash(TEST_KEY, OLD)
    assert _warehouse(paths, "select member_id from staging.stg_crm__member_phones") == [("M-STAYS",)]
    assert _warehouse(paths, f"select count(*) from identity.int_identity__nodes "
                             f"where identifier_value like '{old}%'") == [(0,)]
    dbt(paths, "build", "--indirect-selection", "cautious", "--select", *MODELS)
    assert _warehouse(paths, "select member_id, phone_seq from staging.stg_crm__member_phones") == [("M-STAYS", 1)]
    assert _warehouse(paths, "select record_key from identity.bridge_record_member "
                             "where source_table = 'crm_member_phones'") == [("M-STAYS|1",)]
