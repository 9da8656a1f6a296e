"""Whole-file traps: a file that could load a wrong value without a word. Each case ends with every
right value loaded (read back from the raw Parquet) or with a reject / quarantine message naming the
file (and row and column where there is one), never a traceback or a last-wins, and the lake's own
reconciliation (``ingest.audit.reconcile``) balances: what is counted is what is in the file.
"""
from __future__ import annotations

import duckdb
import openpyxl
import pytest

from ingest.audit import reconcile
from ingest.contract import load_contracts
from ingest.engine import load_table
from ingest.lake import QUARANTINE, RAW, table_glob
from ingest.pii import HashKey

KEY = HashKey(b"adversarial", "test")
CONTRACTS = load_contracts()
CRM, MP_ORDERS, MP_MEMBERS, CONTACTS = (CONTRACTS[t] for t in ("crm_members", "mp_orders", "mp_members",
                                                                "wecom_contacts"))
FOLDERS = {"crm_members": "crm/members", "mp_orders": "mini_program/orders", "mp_members": "mini_program/members",
           "wecom_contacts": "wecom/contacts"}


def land(home, contract, name: str, data: bytes | str) -> str:
    """Write a landing file of ``contract``; its label (path under landing)."""
    path = home.landing / FOLDERS[contract.table] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path.relative_to(home.landing).as_posix()


def rows(home, kind: str, table: str) -> list[dict]:
    """Every row of a lake folder, in file row order (read with DuckDB, not with the loader)."""
    glob = table_glob(home, kind, table)
    with duckdb.connect() as con:
        cursor = con.execute(f"select * from read_parquet('{glob}', union_by_name = true) "
                             f"where _source_file is not null order by _source_file, _source_row")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def load(home, contract):
    """Load the table; assert the lake reconciles; the one file's report."""
    (report,) = load_table(contract, home, KEY).files
    check = reconcile(home, contract.table)
    assert check.ok, check.problems
    return report


def rejected(home, contract) -> str:
    report = load(home, contract)
    assert report.status == "rejected", report
    assert not rows(home, RAW, contract.table) and not rows(home, QUARANTINE, contract.table)
    assert "Traceback" not in report.message
    return report.message


# ---------------------------------------------------------------- 1. a column given twice

@pytest.mark.parametrize("header, encoding, column, shown", [
    ("member_id,card_no,card_no", "utf-8", "card_no", "'card_no' (column 2) and 'card_no' (column 3)"),
    ("member_id,card_no,会员卡号", "gbk", "card_no", "'card_no' (column 2) and '会员卡号' (column 3)"),
    ("member_id,手机号,手机号 ", "gb18030", "mobile", "'手机号' (column 2) and '手机号' (column 3)"),
    ("member_id,ｃａｒｄ＿ｎｏ,card_no", "utf-8-sig", "card_no",
     "'ｃａｒｄ＿ｎｏ' (column 2) and 'card_no' (column 3)"),
    ("会员ID,member_id,card_no", "utf-8", "member_id", "'会员ID' (column 1) and 'member_id' (column 2)"),
], ids=["same header", "two aliases gbk", "trailing space", "full-width", "required key twice"])
def test_a_csv_giving_a_column_twice_is_rejected_naming_the_headers(home, header, encoding, column, shown):
    body = f"{header}\r\nM1,111,13512345678\r\nM2,222,13612345678\r\n"
    label = land(home, CRM, "members.csv", body.encode(encoding))
    message = rejected(home, CRM)
    assert message.startswith(f"{label}: column {column!r} of table 'crm_members' is given 2 times, by headers {shown}")
    assert "13512345678" not in message


def test_an_unmapped_header_twice_is_harmless(home):
    land(home, CRM, "members.csv", "member_id,备注,备注,card_no\r\nM1,a,b,111\r\n")
    report = load(home, CRM)
    assert (report.status, report.rows_loaded) == ("loaded", 1)
    assert [(r["member_id"], r["card_no"]) for r in rows(home, RAW, "crm_members")] == [("M1", "111")]


def test_a_sheet_giving_a_column_twice_is_rejected(home):
    book = openpyxl.Workbook()
    book.active.append(["openid", "会员卡号", "卡号"])
    book.active.append(["oA1", "00012345", "12345"])
    path = home.landing / FOLDERS["mp_members"] / "members.xlsx"
    path.parent.mkdir(parents=True)
    book.save(path)
    message = rejected(home, MP_MEMBERS)
    assert "mini_program/members/members.xlsx" in message
    assert ("column 'card_no' of table 'mp_members' is given 2 times, "
            "by headers '会员卡号' (column 2) and '卡号' (column 3)") in message
