"""Malformed values in real export layouts: each loads the right value, or names file, row,
column and reason (a quarantined row, or a nulled cell with its ``_cell_issues``).

One row per case, each in its own landing file of a real contract, loaded by the real engine.
The rule under test (ingest/values.py, ingest/engine.parse_values): a bad value in a required
or key column quarantines the row; in an optional column it nulls the cell, records why, and
the row loads. A later bug gets a case here first.
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import io

import duckdb
import pytest

from ingest.contract import load_contracts
from ingest.engine import load_table
from ingest.lake import QUARANTINE, RAW, table_glob
from ingest.pii import HashKey
from ingest.settings import business_now

KEY = HashKey(b"adversarial", "test")
CONTRACTS = load_contracts()
SOON = (business_now() + dt.timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
LATER = (business_now() + dt.timedelta(days=400)).strftime("%Y-%m-%d %H:%M:%S")
# Test ids name these two by what they are, not by their value: pytest-xdist's workers collect the module at
# different seconds and refuse to run when their ids differ.
RELATIVE = {SOON: "now+3d", LATER: "now+400d"}

# A valid row per table; each case changes one cell.
POS = {"店编": "S001", "单号": "R1", "行号": "1", "销售时间": "2026-01-05 10:00:00", "货号": "SKU1", "数量": "2",
       "结算单价": "49.50", "金额": "99.00", "会员卡号": "880012345678", "会员手机号": "", "导购工号": "G01",
       "会员所属导购": "G01", "业绩归属方": "", "收银员": "C1", "单据类型": "销售"}
CRM = {"member_id": "M1", "card_no": "880012345678", "mobile": "", "unionid": "oUn1", "register_channel": "门店",
       "register_store": "S001", "exclusive_guide": "G01", "level": "金卡", "points": "120", "birthday": "1990-05-17",
       "gender": "女", "opt_out": "否", "registered_at": "2025-03-01 09:00:00", "name": "张三"}
COUPON = {"coupon_code": "C1", "template_id": "T1", "member_id": "M1", "status": "未使用", "issued_at":
          "2026-01-01 10:00:00", "valid_until": "2026-02-01 00:00:00"}

LOADED, QUARANTINED = "loaded", "quarantined"
CASES = [
    # ---- numbers a column cannot hold: optional cells null with the reason, required rows quarantined
    ("pos_sales", POS, "结算单价", "1e20", LOADED, {"unit_price": None}, "unit_price: '1e20' is larger than any"),
    ("pos_sales", POS, "结算单价", "99999999999999999999", LOADED, {"unit_price": None}, "is larger than any amount"),
    ("pos_sales", POS, "结算单价", "1e308", LOADED, {"unit_price": None}, "is larger than any amount"),
    ("pos_sales", POS, "结算单价", "NaN", LOADED, {"unit_price": None}, "unit_price: cannot parse 'NaN' as amount"),
    ("pos_sales", POS, "结算单价", "inf", LOADED, {"unit_price": None}, "unit_price: cannot parse 'inf' as amount"),
    ("pos_sales", POS, "结算单价", "-Infinity", LOADED, {"unit_price": None}, "cannot parse '-Infinity' as amount"),
    ("pos_sales", POS, "数量", "99999999999999999999", LOADED, {"qty": None}, "qty: '99999999999999999999' is larger"),
    ("pos_sales", POS, "数量", "1e308", LOADED, {"qty": None}, "qty: '1e308' is larger than any count"),
    ("pos_sales", POS, "数量", "NaN", LOADED, {"qty": None}, "qty: cannot parse 'NaN' as integer"),
    ("pos_sales", POS, "数量", "inf", LOADED, {"qty": None}, "qty: cannot parse 'inf' as integer"),
    ("pos_sales", POS, "数量", "2.5", LOADED, {"qty": None}, "qty: cannot parse '2.5' as integer"),
    ("pos_sales", POS, "金额", "1e20", QUARANTINED, None, "amount: '1e20' is larger than any amount can be"),
    ("pos_sales", POS, "金额", "NaN", QUARANTINED, None, "amount: cannot parse 'NaN' as amount"),
    ("pos_sales", POS, "金额", "inf", QUARANTINED, None, "amount: cannot parse 'inf' as amount"),
    ("pos_sales", POS, "行号", "99999999999999999999", QUARANTINED, None, "line_no: '99999999999999999999' is larger"),
    ("pos_sales", POS, "行号", "NaN", QUARANTINED, None, "line_no: cannot parse 'NaN' as integer"),
    ("pos_sales", POS, "金额", "-12.50", LOADED, {"amount": decimal.Decimal("-12.50")}, None),  # a return
    ("pos_sales", POS, "金额", "1,299.00元", LOADED, {"amount": decimal.Decimal("1299.00")}, None),
    ("crm_members", CRM, "points", "1e19", LOADED, {"points": None}, "points: '1e19' is larger than any count"),
    # ---- times: after the load + 1 day or before 1990 are errors (unless the column may lie ahead)
    ("pos_sales", POS, "销售时间", "2099-01-01 00:00:00", QUARANTINED, None,
     "sold_at: '2099-01-01 00:00:00' as timestamp is outside 1990-01-01 .. the load + 1 day"),
    ("pos_sales", POS, "销售时间", SOON, QUARANTINED, None, "as timestamp is outside"),
    ("pos_sales", POS, "销售时间", "1970-01-01 08:00:00", QUARANTINED, None, "as timestamp is outside"),
    ("pos_sales", POS, "销售时间", "2026-13-01 00:00:00", QUARANTINED, None, "sold_at: cannot parse '2026-13-01"),
    ("crm_members", CRM, "registered_at", "2099-12-31 00:00:00", LOADED, {"registered_at": None},
     "registered_at: '2099-12-31 00:00:00' as timestamp is outside"),
    ("crm_members", CRM, "registered_at", "1900-01-01 00:00:00", LOADED, {"registered_at": None}, "is outside"),
    ("coupons", COUPON, "valid_until", LATER, LOADED, {"valid_until": dt.datetime.fromisoformat(LATER)}, None),
    ("coupons", COUPON, "valid_until", "2200-01-01 00:00:00", LOADED, {"valid_until": None},
     "this column may lie ahead up to 2100"),
    ("coupons", COUPON, "issued_at", "2099-01-01 00:00:00", QUARANTINED, None, "issued_at: '2099-01-01"),
    ("coupons", COUPON, "redeemed_at", "2099-01-01 00:00:00", LOADED, {"redeemed_at": None}, "redeemed_at: '2099"),
    # ---- partial birthdays: the precision the export has, never the row lost
    ("crm_members", CRM, "birthday", "1990-05", LOADED,
     {"birthday_month": "1990-05", "birthday_month_of_year": 5, "birthday_precision": "month"}, None),
    ("crm_members", CRM, "birthday", "199005", LOADED,
     {"birthday_month": "1990-05", "birthday_month_of_year": 5, "birthday_precision": "month"}, None),
    ("crm_members", CRM, "birthday", "1990年5月", LOADED,
     {"birthday_month": "1990-05", "birthday_month_of_year": 5, "birthday_precision": "month"}, None),
    ("crm_members", CRM, "birthday", "1990", LOADED,
     {"birthday_month": None, "birthday_month_of_year": None, "birthday_precision": "year"}, None),
    ("crm_members", CRM, "birthday", "05-12", LOADED,
     {"birthday_month": None, "birthday_month_of_year": 5, "birthday_precision": "month_day"}, None),
    ("crm_members", CRM, "birthday", "5月12日", LOADED,
     {"birthday_month": None, "birthday_month_of_year": 5, "birthday_precision": "month_day"}, None),
    ("crm_members", CRM, "birthday", "1990/5/17", LOADED,
     {"birthday_month": "1990-05", "birthday_month_of_year": 5, "birthday_precision": "day"}, None),
    ("crm_members", CRM, "birthday", "保密", LOADED, {"birthday_month": None, "birthday_precision": None},
     "birthday: cannot parse the (personal, not shown) value as date"),
    ("crm_members", CRM, "birthday", "2100-01-01", LOADED, {"birthday_month": None}, "birthday: "),
    ("crm_members", CRM, "birthday", "13-40", LOADED, {"birthday_month_of_year": None}, "birthday: "),
    # ---- identifiers a spreadsheet turned into numbers never become identifiers
    ("crm_members", CRM, "card_no", "8.80029E+11", LOADED, {"card_no": None},
     "card_no: '8.80029E+11' is a number a spreadsheet reformatted"),
    ("crm_members", CRM, "card_no", "880012345678.0", LOADED, {"card_no": None}, "a spreadsheet reformatted"),
    ("crm_members", CRM, "card_no", "1E+11", LOADED, {"card_no": None}, "a spreadsheet reformatted"),
    ("crm_members", CRM, "member_id", "1.23457E+15", QUARANTINED, None, "member_id: '1.23457E+15' is a number"),
    ("pos_sales", POS, "会员卡号", "8.80012E+11", LOADED, {"card_no": None}, "card_no: '8.80012E+11'"),
    ("pos_sales", POS, "单号", "2.02601E+13", QUARANTINED, None, "receipt_no: '2.02601E+13' is a number"),
    ("crm_members", CRM, "unionid", "3e10", LOADED, {"unionid": "3e10"}, None),  # hex-like, not a spreadsheet's
    ("crm_members", CRM, "card_no", "0088001234", LOADED, {"card_no": "0088001234"}, None),  # zeros kept
    # ---- formula-like text never reaches a BI user's spreadsheet as a formula
    ("crm_members", CRM, "level", "=HYPERLINK(\"http://x\",\"金卡\")", LOADED,
     {"level": "'=HYPERLINK(\"http://x\",\"金卡\")"}, "level: '=HYPERLINK("),
    ("crm_members", CRM, "register_channel", "+cmd|' /C calc'!A0", LOADED,
     {"register_channel": "'+cmd|' /C calc'!A0"}, "starts like a spreadsheet formula"),
    ("crm_members", CRM, "register_channel", "-2+3", LOADED, {"register_channel": "'-2+3"}, "formula"),
    ("crm_members", CRM, "register_channel", "@SUM(A1:A2)", LOADED, {"register_channel": "'@SUM(A1:A2)"}, "formula"),
    ("crm_members", CRM, "register_channel", "小程序", LOADED, {"register_channel": "小程序"}, None),
    ("pos_sales", POS, "单据类型", "=1+1", LOADED, {"doc_type": "'=1+1"}, "doc_type: '=1+1' starts like"),
    # ---- other optional values
    ("crm_members", CRM, "opt_out", "也许", LOADED, {"opt_out": None}, "opt_out: cannot parse '也许' as yes/no"),
    ("crm_members", CRM, "points", "abc", LOADED, {"points": None}, "points: cannot parse 'abc' as integer"),
    ("crm_members", CRM, "points", "13512345678x", LOADED, {"points": None}, "points: cannot parse '<mobile>x'"),
    ("pos_sales", POS, "金额", "13512345678元x", QUARANTINED, None, "amount: cannot parse '<mobile>元x'"),
]


def _csv(row: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(row))
    writer.writerow(list(row.values()))
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Every case in its own file (row 2 of it), loaded by the engine once per table."""
    from ingest.settings import paths_from_env

    paths = paths_from_env({"QUANYU_HOME": str(tmp_path_factory.mktemp("adversarial"))}).ensure()
    folders = {"pos_sales": "pos/sales", "crm_members": "crm/members", "coupons": "coupons"}
    for number, (table, base, header, value, *_rest) in enumerate(CASES):
        path = paths.landing / folders[table] / f"case_{number:03d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_csv({**base, header: value}))
    reports = {table: load_table(CONTRACTS[table], paths, KEY) for table in folders}
    con = duckdb.connect()

    def rows(kind: str, table: str) -> dict[str, dict]:
        cursor = con.execute(f"select * from read_parquet('{table_glob(paths, kind, table)}', union_by_name = true) "
                             f"where _source_file is not null")
        names = [d[0] for d in cursor.description]
        return {r["_source_file"]: r for r in (dict(zip(names, row)) for row in cursor.fetchall())}

    return {"reports": reports, **{(kind, t): rows(kind, t) for kind in (RAW, QUARANTINE) for t in folders},
            "folders": folders}


CASE_IDS = [f"{c[0]}.{c[2]}={RELATIVE.get(c[3], repr(c[3]))}" for c in CASES]


@pytest.mark.parametrize("number", range(len(CASES)), ids=CASE_IDS)
def test_a_malformed_value_is_loaded_right_or_named(loaded, number):
    table, _, header, value, outcome, expected, reason = CASES[number]
    label = f"{loaded['folders'][table]}/case_{number:03d}.csv"
    report = {f.source_file: f for f in loaded["reports"][table].files}[label]
    assert report.status == "loaded" and report.rows_read == 1, report
    raw, bad = loaded[(RAW, table)].get(label), loaded[(QUARANTINE, table)].get(label)
    if outcome == QUARANTINED:
        assert raw is None and bad is not None, (raw, bad)
        assert bad["_source_row"] == 2 and reason in bad["reason"], bad["reason"]
        assert report.rows_quarantined == 1
        return
    assert bad is None and raw is not None, bad
    assert raw["_source_row"] == 2 and report.rows_loaded == 1
    for column, want in expected.items():
        assert raw[column] == want, (column, raw[column])
    if reason is None:
        assert raw["_cell_issues"] is None, raw["_cell_issues"]
    else:
        assert raw["_cell_issues"] is not None and reason in raw["_cell_issues"], raw["_cell_issues"]


def test_no_reason_carries_the_personal_value_it_refuses(loaded):
    issues = " ".join(str(r["_cell_issues"]) for r in loaded[(RAW, "crm_members")].values())
    assert "保密" not in issues and "2100-01-01" not in issues and "张三" not in issues
