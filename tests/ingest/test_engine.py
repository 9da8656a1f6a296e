"""The ingest engine on hand-made files with the quirks of real exports."""
import json
import shutil

import duckdb
import openpyxl
import pyarrow.parquet as pq
import pytest

from ingest.contract import load_contracts
from ingest.engine import load_table
from ingest.pii import HashKey, keyed_hash

KEY = HashKey(b"k", "test")
CONTRACTS = load_contracts()

TMALL_HEADER = ("订单编号,买家会员名,买家实付金额,订单状态,联系手机,买家下单时间,退款金额,收货人姓名,收货地址,"
                "宝贝标题,买家留言")
TMALL_ROWS = [
    '="29871234567890123",小王,128.50元,交易成功,\'135****1234,2026-01-02 10:11:12,无退款申请,王小明,'
    '"浙江省杭州市西湖区,文三路 13572468135 号",T恤,"请尽快发货,谢谢"',
    '="29871234567890124",小李,88,"买家已付款，等待卖家发货",13572468135,2026/1/3 9:05,10.5,李四,北京,帽子,',
    '="29871234567890125",小李,abc,交易关闭,13572468135,2026-01-03 09:05:00,0,李四,北京,帽子,',
    '="29871234567890126",小张,1,交易成功,13800000000,2026-01-03 09:05:00,0,张三,上海',
    '="",小赵,5,交易成功,,2026-01-03 09:05:00,0,赵,上海,袜,',
    '="29871234567890127",小钱,9.9,交易成功,,not-a-date,0,钱,"上海\n浦东",袜,',
]


def write_tmall(home, name="ExportOrderList_202601.csv", rows=TMALL_ROWS, encoding="gbk", header=TMALL_HEADER):
    path = home.landing / "tmall" / "orders" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode(encoding))
    return path


def table_dicts(home, folder, table):
    cursor = duckdb.connect().execute(
        f"select * from read_parquet('{home.lake}/{folder}/{table}/*.parquet', union_by_name=true) "
        "order by _source_file, _source_row")
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def test_gbk_tmall_export_with_quirks_loads_and_reconciles(home):
    write_tmall(home)
    report = load_table(CONTRACTS["tmall_orders"], home, KEY)
    (file,) = report.files
    assert (file.status, file.encoding) == ("loaded", "gb18030")
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (6, 3, 3)
    good = table_dicts(home, "raw", "tmall_orders")
    assert [r["order_id"] for r in good] == ["29871234567890123", "29871234567890124", "29871234567890125"]
    first, second, unparsed_amount = good
    # an optional column's bad value nulls the cell and says why; the order still loads
    assert unparsed_amount["paid_amount"] is None
    assert unparsed_amount["_cell_issues"] == "paid_amount: cannot parse 'abc' as amount"
    assert first["_cell_issues"] is None and second["_cell_issues"] is None
    assert str(first["paid_amount"]) == "128.50" and str(first["refund_amount"]) == "0.00"
    assert first["receiver_mobile_status"] == "masked" and first["receiver_mobile_hash"] is None
    assert second["status"] == "买家已付款，等待卖家发货" and str(second["refund_amount"]) == "10.50"
    assert second["receiver_mobile_hash"] == keyed_hash(KEY, "13572468135")
    assert second["created_at"].isoformat() == "2026-01-03T09:05:00"
    assert first["_source_file"] == "tmall/orders/ExportOrderList_202601.csv" and first["_source_row"] == 2
    assert "receiver_name" not in first and "receiver_address" not in first and "buyer_message" not in first
    bad = {r["_source_row"]: r for r in table_dicts(home, "quarantine", "tmall_orders")}
    assert 4 not in bad
    assert bad[5]["reason"] == "expected 11 fields, found 9"
    assert bad[6]["reason"] == "order_id: required value is empty"
    assert bad[7]["reason"].startswith("created_at: cannot parse 'not-a-date'")  # quoted newline: one record
    assert all("13572468135" not in r["raw_record"] and "王小明" not in r["raw_record"] for r in bad.values())


def test_same_file_twice_or_renamed_changes_nothing(home):
    original = write_tmall(home)
    load_table(CONTRACTS["tmall_orders"], home, KEY)
    snapshot = {p.name: p.read_bytes() for p in (home.lake / "raw" / "tmall_orders").iterdir()}
    shutil.copy(original, original.with_name("ExportOrderList_202601 (1).csv"))
    again = load_table(CONTRACTS["tmall_orders"], home, KEY)
    assert [f.status for f in again.files] == ["skipped", "skipped"]
    assert "already loaded" in again.files[0].message or "already loaded" in again.files[1].message
    assert {p.name: p.read_bytes() for p in (home.lake / "raw" / "tmall_orders").iterdir()} == snapshot
    assert len(list((home.lake / "loads" / "tmall_orders").glob("*.parquet"))) == 2  # _schema + one load


def test_missing_required_column_rejects_file_naming_column_and_aliases(home):
    header = TMALL_HEADER.replace("买家下单时间", "下单日期")
    write_tmall(home, header=header, rows=TMALL_ROWS[:2])
    good = write_tmall(home, name="ExportOrderList_202602.csv", rows=TMALL_ROWS[1:2])
    report = load_table(CONTRACTS["tmall_orders"], home, KEY)
    rejected = report.with_status("rejected")
    assert len(rejected) == 1 and [f.source_file for f in report.with_status("loaded")] == [
        good.relative_to(home.landing).as_posix()]
    message = rejected[0].message
    for expected in ("tmall/orders/ExportOrderList_202601.csv", "'created_at'", "订单创建时间", "买家下单时间",
                     "下单日期"):
        assert expected in message
    assert not list((home.lake / "loads" / "tmall_orders").glob("[!_]*.parquet"))[1:]  # only the good file


def test_gb18030_only_characters_and_utf8_bom(home):
    rows = [TMALL_ROWS[1].replace("北京", "𠮷野家 䶮")]
    write_tmall(home, rows=rows, encoding="gb18030")
    path = write_tmall(home, name="bom.csv", rows=[TMALL_ROWS[1].replace("0124", "0999")], encoding="utf-8-sig")
    report = load_table(CONTRACTS["tmall_orders"], home, KEY)
    assert sorted(f.encoding for f in report.files) == ["gb18030", "utf-8-sig"]
    assert report.rows_loaded == 2 and path.exists()


def test_undecodable_and_empty_files_are_rejected_with_the_reason(home):
    folder = home.landing / "tmall" / "orders"
    folder.mkdir(parents=True)
    (folder / "empty.csv").write_bytes(b"")
    (folder / "binary.csv").write_bytes(bytes(range(128, 256)) * 4)
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    messages = {f.source_file.split("/")[-1]: f.message for f in load_table(CONTRACTS["tmall_orders"], home, KEY).files}
    assert "empty (0 bytes)" in messages["empty.csv"]
    assert "not valid UTF-8" in messages["binary.csv"]
    assert "unsupported file type '.pdf'" in messages["notes.pdf"]


def test_xlsx_with_title_row_numeric_phone_and_dates(home):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["会员导出 2026-11-01"])
    sheet.append(["openid", "unionid", "会员卡号", "手机号", "注册时间", "生日", "姓名", "昵称"])
    import datetime as dt
    sheet.append(["oA1", "uU1", 880001, 13572468135, dt.datetime(2026, 1, 2, 3, 4, 5), "1990-05-17", "王五", "w"])
    sheet.append([None, None, None, None, None, None, None, None])
    sheet.append(["oA2", None, "880002", "'135****0000", "2026-01-03 08:00:00", None, "赵六", "z"])
    path = home.landing / "mini_program" / "members" / "members.xlsx"
    path.parent.mkdir(parents=True)
    book.save(path)
    report = load_table(CONTRACTS["mp_members"], home, KEY)
    (file,) = report.files
    assert (file.rows_read, file.rows_loaded, file.blank_rows) == (2, 2, 1), file.message
    first, second = table_dicts(home, "raw", "mp_members")
    assert first["card_no"] == "880001" and first["mobile_hash"] == keyed_hash(KEY, "13572468135")
    assert first["birthday_month"] == "1990-05" and first["_source_row"] == 3
    assert first["registered_at"].isoformat() == "2026-01-02T03:04:05"
    assert second["mobile_status"] == "masked" and "real_name" not in first


def test_xlsx_data_on_a_later_sheet_and_an_all_empty_workbook(home):
    book = openpyxl.Workbook()
    book.active.title = "说明"  # an empty first sheet, as some back offices leave it
    sheet = book.create_sheet("会员")
    sheet.append(["openid", "会员卡号", "手机号"])
    for i in range(3):
        sheet.append([f"oA{i}", f"88000{i}", None])
    folder = home.landing / "mini_program" / "members"
    folder.mkdir(parents=True)
    book.save(folder / "members.xlsx")
    empty = openpyxl.Workbook()
    empty.create_sheet("second")
    empty.save(folder / "members_empty.xlsx")
    by_name = {f.source_file.rsplit("/", 1)[1]: f for f in load_table(CONTRACTS["mp_members"], home, KEY).files}
    assert (by_name["members.xlsx"].status, by_name["members.xlsx"].rows_loaded) == ("loaded", 3)
    assert [r["_source_row"] for r in table_dicts(home, "raw", "mp_members")] == [2, 3, 4]
    assert by_name["members_empty.xlsx"].status == "rejected"
    assert "every sheet is empty" in by_name["members_empty.xlsx"].message


def test_wecom_json_both_api_shapes_explode_follow_users(home):
    folder = home.landing / "wecom" / "contacts"
    folder.mkdir(parents=True)
    batch = {"errcode": 0, "errmsg": "ok", "next_cursor": "", "external_contact_list": [
        {"external_contact": {"external_userid": "wm1", "name": "张三", "type": 1, "unionid": "u1"},
         "follow_info": {"userid": "g1", "createtime": 1767294245, "tag_id": ["t1"], "remark_mobiles": ["13572468135"],
                         "add_way": 1, "state": "store_S001", "remark": "张三 13572468135"}}]}
    single = {"errcode": 0, "errmsg": "ok", "external_contact": {"external_userid": "wm2", "type": 1},
              "follow_user": [{"userid": "g1", "createtime": 1767294245, "tags": [{"tag_name": "VIP"}]},
                              {"userid": "g2", "createtime": "1767294246", "add_way": 202}]}
    (folder / "batch_0001.json").write_text(json.dumps(batch, ensure_ascii=False), encoding="utf-8")
    (folder / "get_wm2.json").write_text(json.dumps(single, ensure_ascii=False), encoding="utf-8")
    (folder / "error.json").write_text(json.dumps({"errcode": 40001, "errmsg": "invalid credential"}))
    report = load_table(CONTRACTS["wecom_contacts"], home, KEY)
    assert [f.status for f in report.files] == ["loaded", "rejected", "loaded"]
    assert "errcode 40001" in report.files[1].message
    rows = table_dicts(home, "raw", "wecom_contacts")
    assert [(r["external_userid"], r["guide_userid"]) for r in rows] == [("wm1", "g1"), ("wm2", "g1"), ("wm2", "g2")]
    assert rows[0]["remark_mobile_hash"] == keyed_hash(KEY, "13572468135") and rows[0]["tags"] == '["t1"]'
    assert rows[0]["added_at"].isoformat() == "2026-01-02T03:04:05" and rows[2]["add_way"] == 202
    assert "remark" not in rows[0] and "contact_name" not in rows[0]


def test_jsonl_with_cut_line_and_blank_lines_reconciles(home):
    folder = home.landing / "wecom" / "events"
    folder.mkdir(parents=True)
    event = {"ToUserName": "corp", "CreateTime": 1767294245, "MsgType": "event", "Event": "change_external_contact",
             "ChangeType": "del_follow_user", "UserID": "g1", "ExternalUserID": "wm1"}
    lines = [json.dumps(event), "", json.dumps({**event, "ChangeType": None}), json.dumps(event)[:30]]
    (folder / "events_202601.jsonl").write_text("\n".join(lines) + "\n")
    (file,) = load_table(CONTRACTS["wecom_contact_events"], home, KEY).files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined, file.blank_rows) == (3, 1, 2, 1)
    bad = table_dicts(home, "quarantine", "wecom_contact_events")
    assert [b["_source_row"] for b in bad] == [3, 4]
    assert bad[0]["reason"] == "change_type: required value is empty"
    assert bad[1]["reason"].startswith("invalid JSON line") and "not shown" in bad[1]["raw_record"]


@pytest.fixture
def streamed_jsonl(monkeypatch):
    """Read every JSON-lines file the large-file way (two passes, tiny batches)."""
    from ingest import readers

    monkeypatch.setattr(readers, "JSONL_KEEP_BYTES", 0)
    monkeypatch.setattr(readers, "BATCH_ROWS", 2)


@pytest.mark.parametrize("mode", ["kept", "streamed"])
def test_jsonl_large_file_streams_to_the_same_rows(home, request, mode):
    if mode == "streamed":
        request.getfixturevalue("streamed_jsonl")
    folder = home.landing / "wecom" / "events"
    folder.mkdir(parents=True)
    event = {"ToUserName": "corp", "CreateTime": 1767294245, "MsgType": "event", "Event": "change_external_contact",
             "ChangeType": "add_external_contact", "UserID": "g1", "ExternalUserID": "wm1"}
    lines = [json.dumps({**event, "ExternalUserID": f"wm{i}"}) for i in range(5)]
    lines[2] = json.dumps({**event, "ExternalUserID": "wm2", "ChangeType": {"nested": "no"}})  # nested: a dotted column
    lines += ["", "[1, 2]", json.dumps(event)[:30],
              json.dumps({**event, "ExternalUserID": "wm9", "State": "store_A01"})]  # a column only the last line has
    (folder / "events_202601.jsonl").write_text("\n".join(lines) + "\n")
    (file,) = load_table(CONTRACTS["wecom_contact_events"], home, KEY).files
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined, file.blank_rows) == (8, 5, 3, 1)
    raw = table_dicts(home, "raw", "wecom_contact_events")
    assert [(r["_source_row"], r["external_userid"], r["state"]) for r in raw] == [
        (1, "wm0", None), (2, "wm1", None), (4, "wm3", None), (5, "wm4", None), (9, "wm9", "store_A01")]
    bad = table_dicts(home, "quarantine", "wecom_contact_events")
    assert [(b["_source_row"], b["reason"].split(" (")[0]) for b in bad] == [
        (3, "change_type: required value is empty"), (7, "record is a list, not an object"), (8, "invalid JSON line")]


def test_schema_file_keeps_every_table_queryable_before_any_load(home):
    load_table(CONTRACTS["coupons"], home, KEY)
    schema = pq.read_schema(home.lake / "raw" / "coupons" / "_schema.parquet")
    assert schema.names[:2] == ["coupon_code", "template_id"] and "_source_row" in schema.names
    assert duckdb.connect().execute(
        f"select count(*) from read_parquet('{home.lake}/raw/coupons/*.parquet')").fetchall() == [(0,)]


@pytest.mark.parametrize("grouped", [True, False], ids=["one segment for the group", "file by file"])
def test_clean_file_leaves_no_quarantine_file(home, grouped):
    from ingest.lake import manifests

    folder = home.landing / "wecom" / "events"
    folder.mkdir(parents=True)
    event = {"CreateTime": 1767294245, "ChangeType": "add_external_contact", "UserID": "g1", "ExternalUserID": "wm1"}
    (folder / "clean.jsonl").write_text(json.dumps(event) + "\n")
    (folder / "dirty.jsonl").write_text(json.dumps({**event, "ExternalUserID": "wm2"}) + "\n"
                                        + json.dumps(event)[:20] + "\n")
    by_name = {f.source_file.rsplit("/", 1)[1]: f
               for f in load_table(CONTRACTS["wecom_contact_events"], home, KEY, group_segments=grouped).files}
    assert [(f.rows_loaded, f.rows_quarantined) for f in by_name.values()] == [(1, 0), (1, 1)]
    stem = {name: f.file_sha256[:20] + ".parquet" for name, f in by_name.items()}
    # one file per load with rows, plus the two schema files (empty.parquet is the one Spark can see)
    assert sorted(p.name for p in (home.lake / "quarantine" / "wecom_contact_events").iterdir()) == sorted(
        ["_schema.parquet", "empty.parquet", stem["dirty.jsonl"]])
    raw = {p.name for p in (home.lake / "raw" / "wecom_contact_events").iterdir()}
    if not grouped:
        assert raw == {"_schema.parquet", stem["clean.jsonl"], stem["dirty.jsonl"]}  # one per load, even when empty
        return
    (manifest,) = manifests(home, "wecom_contact_events")  # both small files' raw rows in one segment
    assert raw == {"_schema.parquet", f"{manifest.segment}.parquet"}
    assert {m["sha"]: m["raw_rows"] for m in manifest.members} == {f.file_sha256: 1 for f in by_name.values()}


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_every_contract_lands_no_personal_columns(table):
    contract = CONTRACTS[table]
    landed = set(contract.schema.names)
    for column in contract.columns:
        if column.is_pii:  # mobile, hash, year_month, the receiver types (person_name, address ...), drop
            assert column.name not in landed, f"{table}.{column.name} would land raw"


def test_a_load_keeps_no_digest_or_name_sound_once_it_ends(home):
    """Digests and receiver sounds are kept across a load's tables (ingest.pii.VALUES_KEPT), never after it."""
    from ingest import pii

    write_tmall(home)
    pii.forget_values()
    seen: list[int] = []
    kept_digests = pii._kept_digests

    def watched(secret):
        kept = kept_digests(secret)
        seen.append(len(kept))
        return kept

    pii._kept_digests = watched
    try:
        report = load_table(CONTRACTS["tmall_orders"], home, KEY)
    finally:
        pii._kept_digests = kept_digests
    assert report.files[0].status == "loaded" and max(seen) > 0  # later columns found the store filled
    assert not pii._KEPT_DIGESTS and not pii._KEPT_SOUNDS


def test_a_file_with_every_row_good_splits_into_the_quarantine_rows_builds_for_none(home):
    """``_FileLoader.split`` skips ``quarantine_rows`` when no row is bad or broken: the table it takes instead is
    the one ``quarantine_rows`` builds for no row; with a bad row it still builds it (the tmall file's three)."""
    import datetime as dt

    import numpy as np
    import pandas as pd

    from ingest import engine

    clean = write_tmall(home, "clean.csv", rows=TMALL_ROWS[:2])
    mixed = write_tmall(home, "mixed.csv")
    contract = CONTRACTS["tmall_orders"]
    for path, quarantined in ((clean, 0), (mixed, 3)):
        loader = engine._FileLoader(contract, home, KEY, path, engine.file_sha256(path), dt.datetime(2026, 1, 5))
        loader.open(fast=False)
        batch = engine._whole_file(loader.source)
        parsed = engine.parse_values(contract, KEY, loader.column_values(batch), len(batch))
        raw, bad = loader.split(batch, parsed, 0)
        assert bad.num_rows == quarantined and raw.num_rows + bad.num_rows == len(batch) + len(batch.broken)
        if not quarantined:
            none = pd.Series([pd.NA] * len(batch), dtype="str")
            built = loader.quarantine_rows(batch, np.zeros(len(batch), bool), none, none)
            assert bad.equals(built, check_metadata=True) and bad.schema == built.schema
