"""What the loader says about a file never repeats a personal value, and a phone in a column that is
not personal refuses the file by name: exact messages, on both load paths (small files parsed in a
group, a large file batch by batch)."""
from __future__ import annotations

import json

import pytest

from ingest.contract import load_contracts
from ingest.engine import load_table
from ingest.lake import LEDGER, QUARANTINE, RAW, is_data_file, table_dir
from ingest.pii import HashKey, redact_text

KEY = HashKey(b"privacy", "test")
CONTRACTS = load_contracts()
CRM, POS, WECOM = CONTRACTS["crm_members"], CONTRACTS["pos_sales"], CONTRACTS["wecom_contacts"]


@pytest.mark.parametrize("text, shown", [
    ("张三13512345678", "张三<mobile>"),
    ("tel: 135 1234 5678 / +86-135-1234-5678", "tel: <mobile> / <mobile>"),
    ("身份证 11010519491231002X 或 110105194912310021", "身份证 <id card> 或 <id card>"),
    ("卡 6222021234567890123", "卡 <19 digits>"),
    ("one_id QY0000000000000042 is not known", "one_id QY0000000000000042 is not known"),
    ("'99999999999999999999' is larger", "'99999999999999999999' is larger"),  # no personal number is 20 long
    ("order 2987123456789 row 12, card 880012345678", "order 2987123456789 row 12, card 880012345678"),
    ("<mobile>x", "<mobile>x"),
], ids=["mobile in text", "separators", "id card", "bank card", "prefixed id kept", "20 digits", "ids kept",
        "idempotent"])
def test_the_one_masking_function(text, shown):
    assert redact_text(text) == shown
    assert redact_text(shown) == shown


def _files(home, kind: str, table: str) -> list:
    return [p for p in table_dir(home, kind, table).glob("*.parquet") if is_data_file(p)]


def _land(home, folder: str, name: str, text: str, encoding: str = "utf-8"):
    path = home.landing / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


POS_HEADER = "店编,单号,行号,销售时间,金额,会员手机号,导购工号\r\n"


@pytest.mark.parametrize("path", ["grouped", "batches", "fast"],
                         ids=["small files grouped", "a large file in batches", "the fast reader gives up"])
def test_a_phone_in_a_column_that_is_not_personal_refuses_the_file_by_name(home, monkeypatch, path):
    if path != "grouped":
        monkeypatch.setattr("ingest.engine.SMALL_FILE_BYTES", 0)
        monkeypatch.setattr("ingest.readers.BATCH_ROWS", 2)  # the hits of several batches add up
    if path == "fast":  # Arrow reads every row, then finds a blank line it skipped: the exact reader reads again
        monkeypatch.setattr("ingest.readers.FAST_CSV_BYTES", 0)
    rows = [f"S1,R{i},1,2026-01-05 10:00:00,9.9,13600000{i:03d},{'G01' if i % 2 else '136 0000 0999'}"
            for i in range(6)]
    blank = "\r\n" if path == "fast" else ""
    _land(home, "pos/sales", "a_guides.csv", POS_HEADER + "\r\n".join(rows) + "\r\n" + blank)
    _land(home, "pos/sales", "b_clean.csv", POS_HEADER + "S1,R9,1,2026-01-05 10:00:00,9.9,13600000999,G01\r\n")
    refused, clean = load_table(POS, home, KEY).files
    assert (refused.status, clean.status, clean.rows_loaded) == ("rejected", "loaded", 1)
    assert refused.message == (
        "pos/sales/a_guides.csv: a mobile number stands in column 'serving_guide_id' (header '导购工号') in 3 row(s): "
        "2, 4, 6, which the contract of table 'pos_sales' does not declare personal; the file is not loaded, so no "
        "number reaches the lake (type the column `mobile` in ingest/contracts/pos_sales.yml if it holds phones, "
        "`drop` if it is free text people type into, or export the file without the numbers)")
    assert len(_files(home, RAW, "pos_sales")) == len(_files(home, LEDGER, "pos_sales")) == 1
    assert _files(home, QUARANTINE, "pos_sales") == []


def test_a_phone_in_a_quarantined_row_or_a_number_column_refuses_the_file_too(home):
    # row 2 is quarantined (no member id), its level holds a phone; row 3 has one as its points
    _land(home, "crm/members", "m.csv", "member_id,level,points\r\n,VIP 18612345678,1\r\nM2,金卡,18612345679\r\n"
                                        "M3,金卡,18612345679x\r\n")
    (report,) = load_table(CRM, home, KEY).files
    assert report.status == "rejected"
    assert "column 'level' (header 'level') in 1 row(s): 2; column 'points' (header 'points') in 1 row(s): 3," \
        in report.message
    assert "1861234567" not in report.message and not _files(home, QUARANTINE, "crm_members")


def test_a_phone_in_a_json_string_column_refuses_the_file(home):
    follow = [{"userid": "g1", "state": "tel:13712345678"}]
    answer = {"errcode": 0, "external_contact_list": [{"external_contact": {"external_userid": "wm1"},
                                                       "follow_user": follow}]}
    _land(home, "wecom/contacts", "p1.json", json.dumps(answer))
    (report,) = load_table(WECOM, home, KEY).files
    assert report.status == "rejected" and "column 'state' (header 'follow_user.state') in 1 row(s): 1," \
        in report.message


def test_ids_and_personal_columns_with_digits_are_not_phones(home):
    _land(home, "crm/members", "m.csv", "member_id,card_no,unionid,mobile,name\r\n"
                                        "2987123456789012345,8801361234567,oK7cr13512345678x,13512345678,张三\r\n")
    (report,) = load_table(CRM, home, KEY).files
    assert (report.status, report.rows_loaded) == ("loaded", 1)


def test_quarantine_evidence_shows_no_personal_value_and_no_misaligned_field(home):
    import duckdb

    _land(home, "crm/members", "m.csv", "member_id,mobile,name,level,birthday\r\n"
                                        ",13512345678,张三,金卡,1990-05-17\r\n"
                                        "M2,13512345679,李四,上海市,徐汇区,银卡,1991-01-01\r\n")
    (report,) = load_table(CRM, home, KEY).files
    assert (report.rows_read, report.rows_quarantined) == (2, 2)
    with duckdb.connect() as con:
        rows = con.execute(f"select _source_row, reason, raw_record from read_parquet("
                           f"{[str(p) for p in _files(home, QUARANTINE, 'crm_members')]}) order by 1").fetchall()
    assert rows == [
        (2, "member_id: required value is empty", json.dumps(
            {"member_id": "", "mobile": "<mobile>", "name": "<name>", "level": "金卡", "birthday": "<birthday>"},
            ensure_ascii=False)),
        (3, "expected 5 fields, found 7", "<7 fields, not shown: they do not line up with the 5 columns of the "
                                          "header>")]


def test_a_file_without_its_header_line_is_refused_without_repeating_its_first_row(home):
    _land(home, "crm/members", "m.csv", "M1,880012345678,13512345678,张三,上海市徐汇区漕溪北路88号\r\n")
    (report,) = load_table(CRM, home, KEY).files
    assert report.status == "rejected"
    assert report.message.endswith("the file's headers are: 5 fields, not shown: none of them names a column of the "
                                   "table, so the line read as the header may be data (an export without its header "
                                   "line?)")
    assert "张三" not in report.message and "漕溪" not in report.message
