"""Whole-file traps: a file that could load a wrong value without a word. Each case ends with every
right value loaded (read back from the raw Parquet) or with a reject / quarantine message naming the
file (and row and column where there is one), never a traceback or a last-wins, and the lake's own
reconciliation (``ingest.audit.reconcile``) balances: what is counted is what is in the file.
"""
from __future__ import annotations

import json

import duckdb
import openpyxl
import pytest

from ingest.audit import reconcile
from ingest.contract import ContractError, load_contracts, parse_contract
from ingest.engine import load_table
from ingest.lake import LEDGER, QUARANTINE, RAW, table_glob
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


def ledger(home, table: str) -> dict:
    """The one ledger entry of the table."""
    with duckdb.connect() as con:
        glob = table_glob(home, LEDGER, table)
        cursor = con.execute(f"select * from read_parquet('{glob}') where load_id is not null")
        names = [d[0] for d in cursor.description]
        (entry,) = [dict(zip(names, row)) for row in cursor.fetchall()]
        return entry


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


# ---------------------------------------------------------------- 2. a JSON key given twice

ORDER = {"order_no": "O1", "status": "PAID", "create_time": "2026-01-05 10:00:00", "member_card_no": "880012345678"}
TWICE = "key 'order_no' twice in one object (JSON keeps only the last value, so which one is right is unknown)"


def answer(*records: str) -> str:
    """A WeCom batch answer holding the records' JSON texts (written by hand: some repeat a key)."""
    return '{"errcode": 0, "errmsg": "ok", "external_contact_list": [' + ", ".join(records) + "]}"


def contact(external_userid: str, follow_user: str = '{"userid": "g1"}', extra: str = "") -> str:
    return (f'{{"external_contact": {{"external_userid": "{external_userid}"{extra}}}, '
            f'"follow_user": [{follow_user}]}}')


def line(**fields) -> str:
    return json.dumps({**ORDER, **fields}, ensure_ascii=False)


@pytest.mark.parametrize("stream", [False, True], ids=["kept whole", "read in batches"])
def test_a_json_line_with_a_key_twice_is_quarantined_and_the_others_load(home, monkeypatch, stream):
    if stream:  # the two-pass reader of large JSON-lines files
        monkeypatch.setattr("ingest.readers.JSONL_KEEP_BYTES", 0)
    twice = line(order_no="O2")[:-1] + ', "order_no": "O3", "receiver_mobile": "13512345678"}'
    nested = line(order_no="O4")[:-1] + ', "extra": {"a": 1, "a": 2}}'
    label = land(home, MP_ORDERS, "orders.jsonl", "\n".join([line(), twice, line(order_no="O5"), nested]) + "\n")
    report = load(home, MP_ORDERS)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (4, 2, 2)
    assert [(r["order_no"], r["_source_row"]) for r in rows(home, RAW, "mp_orders")] == [("O1", 1), ("O5", 3)]
    bad = rows(home, QUARANTINE, "mp_orders")
    assert [(r["_source_file"], r["_source_row"], r["reason"]) for r in bad] == [
        (label, 2, f"JSON line: {TWICE}"),
        (label, 4, "JSON line: key 'a' twice in one object (JSON keeps only the last value, "
                   "so which one is right is unknown)")]
    assert "13512345678" not in json.dumps([r["raw_record"] for r in bad])


def test_a_key_twice_inside_an_exploded_list_quarantines_its_record(home):
    text = answer(contact("wm1", '{"userid": "g1"}, {"userid": "g2"}'),
                  contact("wm2", '{"userid": "g1"}, {"userid": "g2", "userid": "g3"}'))
    label = land(home, CONTACTS, "batch_0001.json", text)
    report = load(home, CONTACTS)
    # record 1 explodes to two rows; record 2 is one quarantined row
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 2, 1)
    assert [(r["external_userid"], r["guide_userid"], r["_source_row"]) for r in rows(home, RAW, "wecom_contacts")] \
        == [("wm1", "g1", 1), ("wm1", "g2", 1)]
    (bad,) = rows(home, QUARANTINE, "wecom_contacts")
    assert (bad["_source_file"], bad["_source_row"]) == (label, 2)
    assert bad["reason"] == "JSON record: key 'userid' twice in one object (JSON keeps only the last value, " \
                            "so which one is right is unknown)"


def test_a_json_document_whose_only_record_has_a_key_twice_quarantines_it(home):
    land(home, CONTACTS, "get_wm1.json", '{"errcode": 0, "external_contact": {"external_userid": "wm1", '
                                         '"external_userid": "wm2"}, "follow_user": [{"userid": "g1"}]}')
    report = load(home, CONTACTS)
    assert (report.status, report.rows_read, report.rows_loaded, report.rows_quarantined) == ("loaded", 1, 0, 1)
    (bad,) = rows(home, QUARANTINE, "wecom_contacts")
    assert "key 'external_userid' twice in one object" in bad["reason"]


def test_a_key_twice_in_the_answer_envelope_rejects_the_file(home):
    land(home, CONTACTS, "batch_0001.json", '{"errcode": 0, "external_contact_list": [], "external_contact_list": '
                                            '[{"external_contact": {"external_userid": "wm1"}, '
                                            '"follow_user": [{"userid": "g1"}]}]}')
    message = rejected(home, CONTACTS)
    assert message == ("batch_0001.json: outside its records, the JSON document has key 'external_contact_list' "
                       "twice in one object (JSON keeps only the last value, so which one is right is unknown); "
                       "the answer is ambiguous, so the file is not loaded")


# ---------------------------------------------------------------- 4. JSON nested too deep, JSON too large

def test_a_json_document_nested_ten_thousand_levels_is_rejected(home):
    land(home, CONTACTS, "deep.json", "[" * 10_000 + "]" * 10_000)
    assert rejected(home, CONTACTS) == ("deep.json: the JSON document is nested deeper than its parser can follow "
                                        "(limit 64 levels)")


def test_a_json_record_nested_past_the_limit_is_quarantined(home):
    deep = '{"x": ' * 100 + "1" + "}" * 100  # parses, but deeper than MAX_JSON_DEPTH
    land(home, CONTACTS, "batch_0001.json", answer(contact("wm1"), contact("wm2", extra=', "x": ' + deep)))
    report = load(home, CONTACTS)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (2, 1, 1)
    (bad,) = rows(home, QUARANTINE, "wecom_contacts")
    assert (bad["_source_row"], bad["reason"]) == (2, "JSON record: nested deeper than 64 levels")


@pytest.mark.parametrize("stream", [False, True], ids=["kept whole", "read in batches"])
@pytest.mark.parametrize("levels", [100, 10_000])
def test_a_json_line_nested_too_deep_is_quarantined_and_the_rest_loads(home, monkeypatch, stream, levels):
    if stream:
        monkeypatch.setattr("ingest.readers.JSONL_KEEP_BYTES", 0)
    deep = line(order_no="O2")[:-1] + ', "x": ' + "[" * levels + "]" * levels + "}"
    land(home, MP_ORDERS, "orders.jsonl", "\n".join([line(), deep, line(order_no="O3")]) + "\n")
    report = load(home, MP_ORDERS)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 2, 1)
    assert [r["order_no"] for r in rows(home, RAW, "mp_orders")] == ["O1", "O3"]
    (bad,) = rows(home, QUARANTINE, "mp_orders")
    assert (bad["_source_row"], bad["reason"]) == (2, "JSON line: nested deeper than 64 levels")


def test_a_json_document_over_the_size_limit_is_rejected_unread(home, monkeypatch):
    monkeypatch.setattr("ingest.readers.MAX_JSON_DOCUMENT_BYTES", 1 << 20)
    land(home, CONTACTS, "batch_0001.json", answer(*(contact(f"wm{i}") for i in range(20_000))))

    def unread(*args, **kwargs):
        raise AssertionError("a document over the limit is read")

    monkeypatch.setattr("ingest.readers.detect_encoding", unread)
    message = rejected(home, CONTACTS)
    assert message.startswith("batch_0001.json: a single JSON document of 2 MB is over the 1 MB a document may have")
    assert "export it as JSON lines" in message


def test_a_record_nested_too_deep_with_a_key_twice_inside_is_one_quarantined_record(home):
    deep = '{"x": ' * 70 + '{"a": 1, "a": 2, "b": 1, "b": 2}' + "}" * 70
    land(home, CONTACTS, "batch_0001.json", answer(contact("wm1", "", extra=', "y": ' + deep)))
    report = load(home, CONTACTS)
    assert (report.status, report.rows_quarantined) == ("loaded", 1), report.message
    (bad,) = rows(home, QUARANTINE, "wecom_contacts")
    assert bad["reason"] == "JSON record: nested deeper than 64 levels"


# ---------------------------------------------------------------- 3. a workbook of several sheets

MEMBER_HEADER = ["openid", "会员卡号", "手机号"]


def workbook(home, sheets: dict[str, list[list]], name: str = "members.xlsx") -> str:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, sheet_rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in sheet_rows:
            sheet.append(row)
    path = home.landing / FOLDERS["mp_members"] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path.relative_to(home.landing).as_posix()


def rows_in_workbook(home, label: str) -> int:
    """Data rows in the file, counted with openpyxl: every non-empty row below a sheet's member header."""
    book = openpyxl.load_workbook(home.landing / label, read_only=True)
    sheets = [list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets]
    return sum(1 for found in sheets if found and list(found[0]) == MEMBER_HEADER for row in found[1:] if any(row))


@pytest.mark.parametrize("alone", [False, True], ids=["with other small files", "read in batches"])
def test_every_data_sheet_loads_and_a_notes_sheet_is_named(home, monkeypatch, alone):
    if alone:  # the path of files of 4 MB and more: batches as the sheets are read
        monkeypatch.setattr("ingest.engine.SMALL_FILE_BYTES", 0)
    label = workbook(home, {
        "会员1": [MEMBER_HEADER, ["oA1", "00012345", None], ["oA2", "00012346", None]],
        "会员2": [MEMBER_HEADER, ["oA3", "00012347", None], [None, "00012348", "13512345678"], ["oA4", None, None]],
        "说明": [["导出说明"], ["本表由系统导出，手机号已脱敏"]],
        "空": [],
    })
    report = load(home, MP_MEMBERS)
    assert report.rows_read == rows_in_workbook(home, label) == 5
    assert (report.rows_loaded, report.rows_quarantined) == (4, 1)
    assert report.message == "sheet '说明' (2 rows, no header naming a column of the table) not loaded"
    loaded = [(r["openid"], r["card_no"], r["_source_row"]) for r in rows(home, RAW, "mp_members")]
    assert loaded == [("oA1", "00012345", 2), ("oA2", "00012346", 3), ("oA3", "00012347", 5), ("oA4", None, 7)]
    (bad,) = rows(home, QUARANTINE, "mp_members")
    assert (bad["_source_file"], bad["_source_row"]) == (label, 6)
    assert bad["reason"] == "sheet '会员2' row 3: openid: required value is empty"
    assert "13512345678" not in bad["raw_record"]
    assert ledger(home, "mp_members")["encoding"] == ("sheets:会员1 rows 1-3, 会员2 rows 4-7; "
                                  "not loaded: '说明' (2 rows, no header naming a column of the table)")


def test_one_data_sheet_keeps_its_own_row_numbers_and_ledger_entry(home):
    workbook(home, {"说明": [["导出说明"]], "会员": [["会员导出 2026-01"], MEMBER_HEADER, ["oA1", "1", None]]})
    report = load(home, MP_MEMBERS)
    assert (report.rows_loaded, report.message) == (1, "sheet '说明' (1 rows, no header naming a column of the table) "
                                                       "not loaded")
    assert [r["_source_row"] for r in rows(home, RAW, "mp_members")] == [3]
    assert ledger(home, "mp_members")["encoding"].startswith("sheet:会员; not loaded: '说明'")


def test_sheets_with_different_headers_reject_the_file_naming_them(home):
    workbook(home, {"一月": [MEMBER_HEADER, ["oA1", "1", None]],
                    "二月": [["openid", "卡号"], ["oA2", "2"]]})
    message = rejected(home, MP_MEMBERS)
    assert message == ("mini_program/members/members.xlsx: sheets '一月' and '二月' give the columns of table "
                       "'mp_members' under different headers (card_no: '会员卡号' in '一月', '卡号' in '二月'; "
                       "mobile: '手机号' in '一月', '(absent)' in '二月'); the file is not loaded "
                       "(give every sheet the same header, or export each as its own file)")


def test_a_second_sheet_missing_a_required_column_rejects_the_file_naming_the_sheet(home):
    workbook(home, {"会员": [MEMBER_HEADER, ["oA1", "1", None]], "卡": [["会员卡号", "手机号"], ["2", None]]})
    message = rejected(home, MP_MEMBERS)
    assert message.startswith("mini_program/members/members.xlsx sheet '卡': required column 'openid' of table "
                              "'mp_members' is missing")


def test_a_sheet_giving_a_column_twice_names_the_sheet(home):
    workbook(home, {"会员": [MEMBER_HEADER, ["oA1", "1", None]],
                    "会员2": [MEMBER_HEADER + ["会员卡号"], ["oA2", "2", None, "3"]]})
    assert rejected(home, MP_MEMBERS).startswith(
        "mini_program/members/members.xlsx sheet '会员2': column 'card_no' of table 'mp_members' is given 2 times")


# ---------------------------------------------------------------- B. identifiers that lost their leading zeros

def members_csv(home, member_ids: list[str], card_nos: list[str], name: str = "members.csv") -> str:
    lines = ["member_id,card_no,level"] + [f"{m},{c},金卡" for m, c in zip(member_ids, card_nos)]
    return land(home, CRM, name, "\r\n".join(lines) + "\r\n")


PADDED = [f"{10_000 + i:08d}" for i in range(30)]  # 00010000 ... 00010029, as the CRM exports them


def test_a_zero_stripped_key_is_quarantined_naming_column_and_row(home):
    label = members_csv(home, PADDED[:10] + ["10010"] + PADDED[11:], PADDED)
    report = load(home, CRM)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (30, 29, 1)
    (bad,) = rows(home, QUARANTINE, "crm_members")
    assert (bad["_source_file"], bad["_source_row"], bad["failed_columns"]) == (label, 12, "member_id")
    assert bad["reason"] == ("member_id: '10010' is shorter than the 8 digits of this column's other values in "
                             "the file, which are zero-padded: its leading zeros were probably lost (a spreadsheet "
                             "drops them), and a shortened identifier joins nothing or someone else")


def test_a_zero_stripped_optional_identifier_is_nulled_with_the_reason(home):
    members_csv(home, [f"M{i}" for i in range(30)], PADDED[:29] + ["10029"])
    report = load(home, CRM)
    assert (report.rows_loaded, report.rows_quarantined) == (30, 0)
    last = rows(home, RAW, "crm_members")[-1]
    assert (last["member_id"], last["card_no"]) == ("M29", None)
    assert last["_cell_issues"].startswith("card_no: '10029' is shorter than the 8 digits")
    assert all(r["_cell_issues"] is None for r in rows(home, RAW, "crm_members")[:-1])


@pytest.mark.parametrize("ids", [
    # order ids of every length, none with a leading zero (7**12 = 13841287201 is left out: it is shaped
    # like a mobile number, and the loader refuses a file with one in a non-personal column)
    [str(7 ** k) for k in range(5, 36) if k != 12],
    [str(20_000_000 + i) for i in range(29)] + ["12345"],  # one length, but nothing says it is zero-padded
    PADDED[:5] + ["10005"],  # too few values to tell
], ids=["variable length", "fixed length without zeros", "five values"])
def test_identifiers_of_other_lengths_are_not_flagged_without_evidence(home, ids):
    members_csv(home, ids, ids)
    report = load(home, CRM)
    assert (report.rows_loaded, report.rows_quarantined) == (len(ids), 0)
    assert [(r["member_id"], r["card_no"], r["_cell_issues"]) for r in rows(home, RAW, "crm_members")] == \
        [(i, i, None) for i in ids]


def test_each_file_has_its_own_profile_when_small_files_are_parsed_together(home):
    # the second file went through Excel whole: no padded value left in it to compare with
    members_csv(home, PADDED, PADDED, name="a.csv")
    members_csv(home, [f"M{i}" for i in range(30)], [str(int(v)) for v in PADDED], name="b.csv")
    reports = load_table(CRM, home, KEY).files
    assert [(f.rows_loaded, f.rows_quarantined) for f in reports] == [(30, 0), (30, 0)]
    assert reconcile(home, "crm_members").ok
    assert all(r["_cell_issues"] is None for r in rows(home, RAW, "crm_members"))


def padded_crm(**columns: str):
    """crm_members with ``zero_padded_to`` declared on the given columns ({column: "8"})."""
    text = CRM.path.read_text(encoding="utf-8")
    for name, width in columns.items():
        line = next(x for x in text.splitlines() if x.startswith(f"  - {{name: {name},"))
        text = text.replace(line, line[:-1] + f", zero_padded_to: {width}}}")
    return parse_contract(text, where="crm_members (zero-padded)")


def test_a_declared_zero_padding_pads_back_a_file_that_went_through_excel_whole(home):
    contract = padded_crm(member_id="8", card_no="8")
    stripped = [str(int(v)) for v in PADDED]  # no padded value left in the file to compare with
    members_csv(home, stripped[:29] + ["M29"], stripped[:28] + ["123456789", "00010029"])
    report = load(home, contract)
    assert (report.rows_loaded, report.rows_quarantined) == (30, 0)
    loaded = rows(home, RAW, "crm_members")
    assert [r["member_id"] for r in loaded] == PADDED[:29] + ["M29"]
    assert [r["card_no"] for r in loaded] == PADDED[:28] + [None, "00010029"]
    assert loaded[0]["_cell_issues"] == (
        "member_id: '10000' had lost its leading zeros (a spreadsheet drops them); padded back to the 8 digits "
        "the contract declares; card_no: '10000' had lost its leading zeros (a spreadsheet drops them); padded "
        "back to the 8 digits the contract declares")
    assert loaded[28]["_cell_issues"].endswith(
        "card_no: '123456789' is longer than the 8 digits the contract declares (zero_padded_to)")
    assert loaded[29]["_cell_issues"] is None


@pytest.mark.parametrize("column, width", [("card_no", "'8'"), ("card_no", "1"), ("points", "8"), ("card_no", "true")])
def test_zero_padded_to_is_validated(column, width):
    with pytest.raises(ContractError, match=f"column '{column}' zero_padded_to must be a number of digits"):
        padded_crm(**{column: width})
