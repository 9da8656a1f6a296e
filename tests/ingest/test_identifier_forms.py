"""Unicode forms of identifiers land as the identifier: every identifier type x every form, through
the real engine on small export files.

A full-width IME, a copy from a web page or WeChat, an Excel cell: the same card number, openid or
phone arrives as ``８８００１２３４５６７８``, ``880012345678\u200b`` or ``\u3000880012345678``. Each case is
one row in its own landing file of a real contract; the landed value (or its keyed hash) must equal
the plain ASCII form's, with no ``_cell_issues`` (a normalised identifier is no error; see
ingest/contracts/README.md, "Identifier forms"). A spreadsheet's number in full-width is refused
as its ASCII twin is, and typed placeholder phones (a run of digits) are never hashed.
"""
from __future__ import annotations

import csv
import io
import json

import duckdb
import pandas as pd
import pytest

from ingest.contract import load_contracts
from ingest.engine import load_tables
from ingest.lake import QUARANTINE, RAW, table_glob
from ingest.pii import HashKey, keyed_hash, normalise_identifier_forms, normalise_mobiles, redact_text

KEY = HashKey(b"identifier-forms", "test")
CONTRACTS = load_contracts()

ZWSP, FEFF, NBSP, IDEO = "\u200b", "\ufeff", "\u00a0", "\u3000"


def full_width(text: str, which=str.isalnum) -> str:
    """The full-width twin (U+FF01..U+FF5E) of the ASCII characters ``which`` selects."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and which(c) else c for c in text)


FORMS = {
    "full-width digits": lambda v: full_width(v, str.isdigit),
    "full-width letters": lambda v: full_width(v, str.isalpha),
    "zwsp inside": lambda v: v[: len(v) // 2] + ZWSP + v[len(v) // 2:],
    "zwsp around": lambda v: ZWSP + v + ZWSP,
    "feff": lambda v: FEFF + v,
    "nbsp": lambda v: NBSP + v + NBSP,
    "ideographic space": lambda v: IDEO + v + IDEO,
    "mixed": lambda v: NBSP + full_width(v[:3]) + ZWSP + v[3:] + FEFF + IDEO,
}

# Valid rows per table; each case changes one identifier cell.
CRM = {"member_id": "M1001", "card_no": "880012345678", "mobile": "", "unionid": "oUn1AbCd", "registered_at":
       "2025-03-01 09:00:00"}
POS = {"店编": "S001", "单号": "R1", "行号": "1", "销售时间": "2026-01-05 10:00:00", "金额": "99.00", "会员卡号": "",
       "会员手机号": "", "导购工号": "G01"}
MP = {"openid": "oVx2t4AbCd", "unionid": "", "会员卡号": "", "手机号": "", "注册时间": "2025-03-01 09:00:00"}
TMALL = {"订单编号": "2987000000000001", "买家会员名": "tb123456789", "订单状态": "交易成功",
         "订单创建时间": "2026-01-05 10:00:00", "联系手机": ""}
JD = {"订单号": "200000000001", "商品ID": "100061820431", "下单时间": "2026-01-05 10:00:00", "订单状态": "完成",
      "下单帐号": "jd_4a5b6c7d8e9f0", "联系电话": ""}
WECOM = {"external_userid": "wmAbCd0123456789", "unionid": "oK7cr1XyZ0", "userid": "zhangwei",
         "remark_mobile": ""}
BASES = {"crm_members": CRM, "pos_sales": POS, "mp_members": MP, "tmall_orders": TMALL, "jd_orders": JD,
         "wecom_contacts": WECOM}
FOLDERS = {"crm_members": "crm/members", "pos_sales": "pos/sales", "mp_members": "mini_program/members",
           "tmall_orders": "tmall/orders", "jd_orders": "jd/orders", "wecom_contacts": "wecom/contacts"}

# (table, field in the export, landed column, how it lands, the plain ASCII value)
IDENTIFIERS = [
    ("crm_members", "member_id", "member_id", "string", "M1001"),
    ("crm_members", "card_no", "card_no", "string", "880012345678"),
    ("crm_members", "unionid", "unionid", "string", "oUn1AbCd"),
    ("crm_members", "mobile", "mobile_hash", "mobile", "13812345671"),
    ("pos_sales", "会员卡号", "card_no", "string", "880012345678"),
    ("pos_sales", "会员手机号", "mobile_hash", "mobile", "138 1234 5671"),
    ("mp_members", "openid", "openid", "string", "oVx2t4AbCd"),
    ("mp_members", "unionid", "unionid", "string", "oK7cr1XyZ0"),
    ("mp_members", "会员卡号", "card_no", "string", "880012345678"),
    ("mp_members", "手机号", "mobile_hash", "mobile", "13812345671"),
    ("tmall_orders", "买家会员名", "buyer_nick_hash", "hash", "tb123456789"),
    ("tmall_orders", "联系手机", "receiver_mobile_hash", "mobile", "+86-138-1234-5671"),
    ("jd_orders", "下单帐号", "buyer_pin_hash", "hash", "jd_4a5b6c7d8e9f0"),
    ("wecom_contacts", "external_userid", "external_userid", "string", "wmAbCd0123456789"),
    ("wecom_contacts", "unionid", "unionid", "string", "oK7cr1XyZ0"),
    ("wecom_contacts", "remark_mobile", "remark_mobile_hash", "mobile", "13812345671"),
]


def expected(kind: str, plain: str) -> str:
    """What the plain ASCII form lands as: itself, or its keyed hash (mobiles as 11 digits)."""
    if kind == "string":
        return plain
    if kind == "hash":
        return keyed_hash(KEY, plain.lower())
    return keyed_hash(KEY, "".join(c for c in plain if c.isdigit())[-11:])


CASES = [(table, field, column, kind, plain, form, make(plain))
         for table, field, column, kind, plain in IDENTIFIERS for form, make in FORMS.items()
         if make(plain) != plain]
# (table, field, value, landed column, quarantined?, reason)
DAMAGED = [
    ("crm_members", "card_no", "８.８００１２Ｅ＋１１", "card_no", False,
     "card_no: '8.80012E+11' is a number a spreadsheet reformatted"),
    ("crm_members", "card_no", "８８００１２３４５６７８．０" + ZWSP, "card_no", False, "a spreadsheet reformatted"),
    ("crm_members", "member_id", IDEO + "１.２３４５７Ｅ＋１５", None, True, "member_id: '1.23457E+15' is a number"),
    ("pos_sales", "会员卡号", NBSP + "8.80012E+11" + ZWSP, "card_no", False, "card_no: '8.80012E+11'"),
    ("mp_members", "会员卡号", "８.８Ｅ＋１１", "card_no", False, "card_no: '8.8E+11' is a number"),
    ("tmall_orders", "买家会员名", "１.２３Ｅ＋１０", "buyer_nick_hash", False,
     "buyer_nick: the (personal, not shown) value is a number a spreadsheet reformatted"),
]
PLACEHOLDER_PHONES = ["13912345678", "13987654321", "15001234567", "18976543210", "13500000000", "18699999999",
                      "１３９１２３４５６７８", "139 8765 4321" + ZWSP, "13800138000", "13888888888"]


def _csv(row: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(row))
    writer.writerow(list(row.values()))
    return out.getvalue().encode("utf-8")


def _wecom(row: dict[str, str]) -> bytes:
    contact = {"external_userid": row["external_userid"], "type": 1, "unionid": row["unionid"]}
    follow = {"userid": row["userid"], "createtime": 1767294245, "tag_id": [],
              "remark_mobiles": [row["remark_mobile"]] if row["remark_mobile"] else []}
    doc = {"errcode": 0, "case": row["case"],
           "external_contact_list": [{"external_contact": contact, "follow_info": follow}]}
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def _write(paths, table: str, name: str, row: dict[str, str]) -> str:
    label = f"{FOLDERS[table]}/{name}.{'json' if table == 'wecom_contacts' else 'csv'}"
    path = paths.landing / label
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {**row, "case": name}  # an unmapped field: no two files have the same content (a copy is skipped)
    path.write_bytes(_wecom(row) if table == "wecom_contacts" else _csv(row))
    return label


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Every case in its own file, plain forms too; all tables loaded by the engine once."""
    from ingest.settings import paths_from_env

    paths = paths_from_env({"QUANYU_HOME": str(tmp_path_factory.mktemp("forms"))}).ensure()
    labels: dict[tuple, str] = {}
    for number, (table, field, *_rest, value) in enumerate(CASES):
        labels[("form", number)] = _write(paths, table, f"form_{number:03d}", {**BASES[table], field: value})
    for number, (table, field, *_rest) in enumerate(IDENTIFIERS):
        labels[("plain", number)] = _write(paths, table, f"plain_{number:03d}",
                                           {**BASES[table], field: IDENTIFIERS[number][4]})
    for number, (table, field, value, *_rest) in enumerate(DAMAGED):
        labels[("damaged", number)] = _write(paths, table, f"damaged_{number:03d}", {**BASES[table], field: value})
    for number, phone in enumerate(PLACEHOLDER_PHONES):
        labels[("placeholder", number)] = _write(paths, "crm_members", f"placeholder_{number:03d}",
                                                 {**CRM, "mobile": phone})
    reports = load_tables([CONTRACTS[t] for t in FOLDERS], paths, KEY, workers=1)
    con = duckdb.connect()

    def rows(kind: str, table: str) -> dict[str, dict]:
        glob = table_glob(paths, kind, table)
        try:
            cursor = con.execute(f"select * from read_parquet('{glob}', union_by_name = true)")
        except duckdb.IOException:
            return {}
        names = [d[0] for d in cursor.description]
        return {r["_source_file"]: r for r in (dict(zip(names, row)) for row in cursor.fetchall())}

    return {"labels": labels, "reports": reports,
            **{(kind, t): rows(kind, t) for kind in (RAW, QUARANTINE) for t in FOLDERS}}


def test_every_file_loaded(loaded):
    for table, report in loaded["reports"].items():
        assert all(f.status == "loaded" for f in report.files), (table, report.files)


@pytest.mark.parametrize("number", range(len(IDENTIFIERS)), ids=[f"{i[0]}.{i[2]}" for i in IDENTIFIERS])
def test_the_plain_form_lands_as_expected(loaded, number):
    table, _, column, kind, plain = IDENTIFIERS[number]
    row = loaded[(RAW, table)][loaded["labels"][("plain", number)]]
    assert row[column] == expected(kind, plain) and row["_cell_issues"] is None, row


@pytest.mark.parametrize("number", range(len(CASES)), ids=[f"{c[0]}.{c[2]}:{c[5]}" for c in CASES])
def test_a_unicode_form_lands_equal_to_the_ascii_form(loaded, number):
    table, _, column, kind, plain, _, value = CASES[number]
    label = loaded["labels"][("form", number)]
    assert label not in loaded[(QUARANTINE, table)], loaded[(QUARANTINE, table)].get(label)
    row = loaded[(RAW, table)][label]
    assert row[column] == expected(kind, plain), (value, row[column])
    assert row["_cell_issues"] is None, row["_cell_issues"]  # a normalised identifier is no error
    if kind == "mobile":
        assert row[column.replace("_hash", "_status")] == "valid"


@pytest.mark.parametrize("number", range(len(DAMAGED)), ids=[f"{d[0]}.{d[1]}={d[2]!r}" for d in DAMAGED])
def test_a_full_width_spreadsheet_number_is_refused_like_its_ascii_twin(loaded, number):
    table, _, _, column, quarantined, reason = DAMAGED[number]
    label = loaded["labels"][("damaged", number)]
    if quarantined:
        assert label not in loaded[(RAW, table)]
        assert reason in loaded[(QUARANTINE, table)][label]["reason"]
        return
    row = loaded[(RAW, table)][label]
    assert row[column] is None and reason in row["_cell_issues"], row["_cell_issues"]


@pytest.mark.parametrize("number", range(len(PLACEHOLDER_PHONES)), ids=PLACEHOLDER_PHONES)
def test_a_typed_placeholder_phone_is_never_hashed(loaded, number):
    row = loaded[(RAW, "crm_members")][loaded["labels"][("placeholder", number)]]
    assert row["mobile_status"] == "placeholder" and row["mobile_hash"] is None, row


def test_real_numbers_near_the_placeholder_shapes_stay_valid():
    """Only the listed tails: a run that wraps, a broken run or seven equal digits is a number."""
    _, status = normalise_mobiles(pd.Series(["13990123456", "13912345679", "13910000000", "13812341234",
                                             "13512345678"[:-1] + "0"], dtype="str"))
    assert status.tolist() == ["valid"] * 5


def test_ascii_values_are_left_untouched_and_forms_are_folded_once():
    ascii_only = pd.Series(["oUn1", " 12 ", None], dtype="object")
    assert normalise_identifier_forms(ascii_only) is ascii_only  # the fast path: nothing copied
    mixed = pd.Series(["ｏＵｎ１", "oUn1", None, "ｏＵｎ１", "\u3000A\u00a01\u200b\u3000"], dtype="object")
    out = normalise_identifier_forms(mixed)
    assert out.iloc[0] == out.iloc[1] == out.iloc[3] == "oUn1" and pd.isna(out.iloc[2])
    assert out.iloc[4] == "A 1"  # an inner space stays (a plain one); the ends are trimmed


def test_a_series_indexed_otherwise_keeps_its_values():
    """The Arrow round trip places values by position: a filtered series (index 7, 9) is no NA."""
    values = pd.Series(["13572468135", "１３５７２４６８１３５"], index=[7, 9], dtype="str")
    number, status = normalise_mobiles(values)
    assert number.tolist() == ["13572468135"] * 2 and status.tolist() == ["valid"] * 2
    assert normalise_identifier_forms(values).tolist() == ["13572468135"] * 2


@pytest.mark.parametrize("phone", ["１３８１２３４５６７１", "138\u200b1234 5671", "１３８ １２３４ ５６７１"])
def test_a_phone_in_another_form_in_a_non_personal_column_refuses_the_file(tmp_path, phone):
    """The scan for phones in columns that are not personal folds the forms too: a full-width phone
    typed into the registration channel is a phone, and the file is refused by name, not landed."""
    from ingest.settings import paths_from_env

    paths = paths_from_env({"QUANYU_HOME": str(tmp_path)}).ensure()
    _write(paths, "crm_members", "channel_phone", {**CRM, "register_channel": phone})
    (report,) = load_tables([CONTRACTS["crm_members"]], paths, KEY, workers=1)["crm_members"].files
    assert report.status == "rejected" and "register_channel" in report.message, report
    assert "1234" not in report.message and "１２３４" not in report.message


def test_a_phone_in_another_form_is_masked_in_messages():
    assert redact_text("张三１３８１２３４５６７１") == "张三<mobile>"
    assert redact_text("tel 138\u200b1234 5671") == "tel <mobile>"
    assert redact_text("卡 ８８００１２３４５６７８") == "卡 880012345678"  # a card number stays readable
    header = "header 'ｃａｒｄ＿ｎｏ１' (column 2)"
    assert redact_text(header) == header  # no number in it: shown as it was
