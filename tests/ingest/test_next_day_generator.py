"""The next-day generator (demo/next_day.py): three nights of deliveries on a generated brand.

Checked independently of the generator: existing exports keep their bytes, the same home gives
the same bytes twice, every new record is in truth with the person of the buyer it was modelled
on, the classes of case arrive with their cousins, and ingest's engine (the real one, on the
files of the nights) refuses the garbled JD export and reads its fixed re-delivery.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil

import pyarrow.parquet as pq
import pytest

from demo.generate import generate
from demo.next_day import FOLDER, next_day
from ingest.contract import load_contracts
from ingest.engine import load_table, load_tables
from ingest.pii import HashKey
from ingest.settings import paths_from_env

MEMBERS = 600
KEY = HashKey(b"next-day-test", "test")
GARBLED = f"jd/orders/{FOLDER}/d002/jd_order_export_d002.csv"  # night 2's JD export, fixed on night 3


def _digests(landing):
    return {p.relative_to(landing).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(landing.rglob("*")) if p.is_file() and p.name != "_SUCCESS"}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """A brand, its files' digests before, the summaries of nights 1-3 written into it, and night 2's
    garbled JD export as it landed before night 3 delivered it again."""
    home = tmp_path_factory.mktemp("next_day") / "home"
    generate(home, members=MEMBERS)
    before = _digests(home / "landing")
    pristine = home.parent / "pristine"
    shutil.copytree(home, pristine)
    summaries = [next_day(home), next_day(home)]
    garbled = (home / "landing" / GARBLED).read_bytes()
    summaries.append(next_day(home))
    return {"home": home, "before": before, "pristine": pristine, "summaries": summaries, "garbled": garbled}


def test_existing_exports_keep_their_bytes_and_new_ones_are_in_day_folders(nights):
    after = _digests(nights["home"] / "landing")
    assert {k: after[k] for k in nights["before"]} == nights["before"]
    new = set(after) - set(nights["before"])
    assert new and all(f"/{FOLDER}/d00" in f"/{name}" for name in new)


def test_the_same_home_gives_the_same_deliveries(nights, tmp_path):
    again = tmp_path / "again"
    shutil.copytree(nights["pristine"], again)
    for _ in range(3):
        next_day(again)
    assert _digests(again / "landing") == _digests(nights["home"] / "landing")
    records = ("truth", "records.parquet")
    assert again.joinpath(*records).read_bytes() == nights["home"].joinpath(*records).read_bytes()


def test_each_night_brings_the_classes_of_case_with_their_cousins(nights):
    one, two, three = (s["cases"] for s in nights["summaries"])
    for cases in (one, two, three):
        assert cases["refund_full:tmall_last_month"] == cases["refund_partial:tmall_3_months_ago"] == 1
        assert cases["refund_full:mini_program_last_month"] == cases["refund_partial:mini_program_3_months_ago"] == 1
        assert cases["new_wecom_friends"] >= 1 and cases["identity_merges:unionid_and_crm_mobile"] >= 1
        assert cases["new_official_account_followers"] >= 1
        assert cases["friend_deleted:wecom_customer_deleted_guide"] >= 1 and cases["unsubscribed:official_account"] >= 1
        assert cases["refund_full:jd_last_month"] == 1
        assert sum(v for k, v in cases.items() if k.startswith("empty_day:")) == 1
        orders = {k.split(":")[1] for k in cases if k.startswith("new_orders:")}
        empty = {k.split(":")[1] for k in cases if k.startswith("empty_day:")}
        assert orders | empty == {"tmall", "jd", "douyin", "pos_hq", "pos_franchise", "mini_program"}
        assert {k.split(":")[1] for k in cases if k.startswith("return:")} == \
            {f"{till}_last_month" for till in {"pos_hq", "pos_franchise"} - empty}
    assert two["rejected_file:jd_garbled_header"] == 1 and three["fixed_redelivery:jd"] == 1
    assert two["correction:tmall_previous_day_reexported"] == three["correction:tmall_previous_day_reexported"] == 1
    assert two["duplicate_redelivery:douyin_previous_day"] == 1
    assert [s["date"] for s in nights["summaries"]] == ["2026-11-01", "2026-11-02", "2026-11-03"]


def test_every_new_order_row_is_in_truth_with_its_buyer(nights):
    """Tmall rows of night 1 (as night 2 corrected them), read back with csv, against truth."""
    home = nights["home"]
    truth = pq.read_table(home / "truth" / "records.parquet").to_pandas()
    persons = dict(zip(truth["table"] + ":" + truth["record_key"], truth["person_id"]))
    path = home / "landing" / "tmall" / "orders" / FOLDER / "d001" / "ExportOrderList_d001.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("gb18030"), newline="")))
    new = [r for r in rows if r["买家下单时间"].startswith("2026-11-01")]
    refunds = [r for r in rows if r["退款金额"] not in ("无退款申请", "0.00")]
    assert len(new) == 2 and len(refunds) == 2
    # night 2's correction: one of them shipped since
    assert sorted(r["订单状态"] for r in new) == ["买家已付款，等待卖家发货", "卖家已发货，等待买家确认"]
    for row in new + refunds:
        order_id = row["订单编号"].removeprefix('="').removesuffix('"')
        assert f"tmall_orders:{order_id}" in persons
    closed = [r for r in refunds if r["订单状态"] == "交易关闭"]
    assert len(closed) == 1 and closed[0]["退款金额"] == closed[0]["买家实付金额"]
    partial = [r for r in refunds if r["订单状态"] == "交易成功"]
    assert len(partial) == 1 and 0 < float(partial[0]["退款金额"]) < float(partial[0]["买家实付金额"])
    contacts = json.loads((home / "landing" / "wecom" / "contacts" / FOLDER / "d001" /
                           "batch_get_by_user_p00001.json").read_text(encoding="utf-8"))["external_contact_list"]
    merges = [c for c in contacts if c["follow_info"]["remark_mobiles"]]
    assert merges and all(c["external_contact"]["unionid"] for c in contacts)
    for c in contacts:
        assert persons[f"wecom_contacts:{c['external_contact']['external_userid']}|{c['follow_info']['userid']}"]


def _csv_rows(path, encoding: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def test_the_opposite_cases_undo_what_the_brand_had(nights):
    """Night 1's JD refund, till return, friend deletion and unsubscription each reverse a record of
    the base exports, and every new record is in truth with the person of the record it reverses."""
    home, landing = nights["home"], nights["home"] / "landing"
    truth = pq.read_table(home / "truth" / "records.parquet").to_pandas()
    persons = dict(zip(truth["table"] + ":" + truth["record_key"], truth["person_id"]))
    night = lambda folder: landing / folder / FOLDER / "d001"  # noqa: E731

    # JD: every line of one order of the last monthly export, completed there, again as 已取消
    jd = _csv_rows(next(night("jd/orders").glob("*.csv")), "gb18030")
    base = _csv_rows(sorted((landing / "jd" / "orders").glob("*.csv"))[-1], "gb18030")
    (cancelled,) = {r["订单号"] for r in jd if r["订单状态"] == "已取消"}
    before = [r for r in base if r["订单号"] == cancelled]
    after = [r for r in jd if r["订单号"] == cancelled]
    assert before and len(after) == len(before) and {r["订单状态"] for r in before} <= {"完成", "已完成"}
    assert [r["付款确认时间"] for r in after] == [r["付款确认时间"] for r in before]

    # POS: a return receipt of tonight, every line negative, lines of one member's receipt of last month
    till = _csv_rows(next(night("pos/sales").glob("pos_sales_hq_*.csv")), "utf-8-sig")
    returns = [r for r in till if r["单据类型"] == "退货"]
    assert returns and len({r["单号"] for r in returns}) == 1
    assert all(float(r["数量"]) < 0 and float(r["金额"]) < 0 and r["销售时间"].startswith("2026-11-01")
               for r in returns)
    assert {persons[f"pos_sales:{r['店编']}|{r['单号']}|{r['行号']}"] for r in returns} != {None}

    # WeCom: the customer deletes a guide they were added to in the base export
    base_events = [json.loads(line) for path in (landing / "wecom" / "events").glob("*.jsonl")
                   for line in path.read_text(encoding="utf-8").splitlines() if line.endswith("}")]
    added = {(e["UserID"], e["ExternalUserID"]) for e in base_events if e.get("ChangeType") == "add_external_contact"}
    deleted = [json.loads(line) for line in next(night("wecom/events").glob("*.jsonl")).read_text(
        encoding="utf-8").splitlines() if '"del_follow_user"' in line]
    assert deleted and all((e["UserID"], e["ExternalUserID"]) in added for e in deleted)

    # official account: followers of the base export answer subscribe 0, without a subscribe time
    base_users = {u["openid"]: u for path in (landing / "wechat_oa" / "followers").glob("*.json")
                  for u in json.loads(path.read_text(encoding="utf-8"))["user_info_list"]}
    users = json.loads(next(night("wechat_oa/followers").glob("*.json")).read_text(encoding="utf-8"))["user_info_list"]
    left = [u for u in users if u["subscribe"] == 0]
    assert left and all(base_users[u["openid"]]["subscribe"] == 1 and "subscribe_time" not in u for u in left)


def _per_store_receipts(path, store: str, receipt: str, encoding: str) -> None:
    """Number the receipts of ``path`` per store, as a franchise's tills do (each store counts from 1
    within the month): the same receipt number is then a receipt of several stores."""
    text = path.read_bytes().decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    s, r = header.index(store), header.index(receipt)
    numbers: dict[tuple[str, str], str] = {}
    counts: dict[str, int] = {}
    for row in body:
        if (row[s], row[r]) not in numbers:
            counts[row[s]] = counts.get(row[s], 0) + 1
            numbers[row[s], row[r]] = f"{row[r][:4]}{counts[row[s]]:06d}"
        row[r] = numbers[row[s], row[r]]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n" if "\r\n" in text else "\n").writerows([header, *body])
    path.write_bytes(out.getvalue().encode(encoding))


def test_a_new_till_receipt_is_one_receipt_of_one_store(nights, tmp_path):
    """Tills number receipts per store: a new receipt copies one store's receipt, so each new receipt
    number is in one store and a night's file holds as many receipts as it says it brought, not the
    lines of every store sharing the number. On the nights' brand and on a copy whose franchise
    receipts were numbered per store (so that numbers repeat across stores), for both tills."""
    files = {"pos_hq": ("pos_sales_hq", "店编", "单号", "utf-8-sig"),
             "pos_franchise": ("pos_sales_franchise", "门店编码", "小票号", "gb18030")}
    home = tmp_path / "home"
    shutil.copytree(nights["pristine"], home)
    for stem, store, receipt, encoding in files.values():
        latest = sorted((home / "landing" / "pos" / "sales").glob(f"{stem}_*.csv"))[-1]
        _per_store_receipts(latest, store, receipt, encoding)
    repeated = 0
    for brand, summaries in ((nights["home"], nights["summaries"]), (home, [next_day(home), next_day(home)])):
        for night, summary in enumerate(summaries, start=1):
            for name, (stem, store, receipt, encoding) in files.items():
                path = brand / "landing" / "pos" / "sales" / FOLDER / f"d{night:03d}" / f"{stem}_d{night:03d}.csv"
                brought = summary["cases"].get(f"new_orders:{name}", 0) + \
                    summary["cases"].get(f"return:{name}_last_month", 0)
                if not path.exists():
                    assert brought == 0, (night, name)
                    continue
                rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding), newline="")))
                stores: dict[str, set[str]] = {}
                for row in rows:
                    stores.setdefault(row[receipt].removeprefix('="').removesuffix('"'), set()).add(row[store])
                assert brought > 0 and len(stores) == brought, (brand, night, name, len(stores), brought)
                assert all(len(s) == 1 for s in stores.values()), (brand, night, name)
                repeated += brand == home and name == "pos_franchise"
    assert repeated == 1  # night 2 brought franchise receipts modelled on receipts numbered per store


def test_ingest_reads_every_delivered_file_without_quarantining_a_row(nights):
    """The engine over the night files alone (the garbled one was fixed on night 3), every table."""
    home = nights["home"]
    paths = paths_from_env({"QUANYU_HOME": str(home)})
    contracts = list(load_contracts().values())
    files = {c.table: [p for p in sorted(paths.landing.glob(c.glob)) if p.is_file() and p.name != "_SUCCESS"
                       and f"/{FOLDER}/" in p.as_posix()] for c in contracts}
    files = {table: found for table, found in files.items() if found}
    reports = load_tables([c for c in contracts if c.table in files], paths, KEY, files=files, workers=1)
    delivered = {t: len(found) for t, found in files.items()}
    assert sorted(delivered) == ["douyin_orders", "jd_orders", "mp_order_items", "mp_orders", "oa_followers",
                                 "pos_sales", "tmall_order_items", "tmall_orders", "wecom_contact_events",
                                 "wecom_contacts"]
    for table, report in reports.items():
        assert {f.status for f in report.files} <= {"loaded", "skipped"}, (table, [f.message for f in report.files])
        assert sum(f.rows_quarantined for f in report.files) == 0, table
        assert sum(f.rows_loaded for f in report.files) > 0, table


def test_ingest_refuses_the_garbled_jd_export_and_reads_its_fixed_redelivery(nights, tmp_path):
    contract = load_contracts()["jd_orders"]
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path)}).ensure()
    target = paths.landing / GARBLED
    target.parent.mkdir(parents=True)
    target.write_bytes(nights["garbled"])
    report = load_table(contract, paths, KEY, workers=1)
    (refused,) = report.with_status("rejected")
    assert refused.source_file == GARBLED and "required column 'order_id'" in refused.message
    shutil.copy(nights["home"] / "landing" / GARBLED, target)  # night 3: the same path, fixed
    report = load_table(contract, paths, KEY, workers=1)
    assert [f.status for f in report.files] == ["loaded"] and report.files[0].rows_loaded > 0
