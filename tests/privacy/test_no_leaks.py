"""Planted personal values never leave the landing folder: not by the CLI, not by Dagster.

Malformed exports of the adversarial suite's classes (bad values, damaged identifiers, formula text,
a column given twice, a file without its header line, workbook sheets that differ, JSON traps, an
API error answer, undecodable bytes, a link out of the landing folder, a file named by a phone, and
phones in non-personal columns) carry distinctive mobiles, names and addresses, in personal columns
and elsewhere. They are loaded by ``python -m orchestration.cli --gate`` (its stdout and stderr
captured) in one installation, and by Dagster's ``build_all`` (a persistent instance: run and event
storage and compute logs on disk) in another, on top of a copy of the session's published demo brand so
that the warehouse is built and published: once with every planted file (the raw assets with rejected
files fail, naming them), then with the planted files taken out of landing (dbt builds from the lake,
quarantine included, and publishes). ``ingest.pii_scan`` then searches the installations (lake,
rejected files, GX results, build and published warehouse, Dagster home) and the CLI's output: no
planted value may be found.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest

from ingest.lake import ledger_entries
from ingest.pii_scan import scan_text, scan_tree
from ingest.settings import REPO_ROOT, paths_from_env
from tests.adversarial.test_cell_values import COUPON, CRM, POS
from tests.adversarial.test_file_traps import ORDER, contact
from tests.gates.conftest import copy_home
from tests.orchestration.baseline import active_home


def mobile(n: int) -> str:
    return f"1391234{n:04d}"


# rare names and addresses the demo generator never writes
NAMES = ["亓官寰宇", "钟离鸢尾", "隗觅珂", "闾丘霁月", "赫连沐风", "公冶青禾", "拓跋星澜", "万俟溪云"]
ADDRESSES = ["柒号隐泉巷4幢302室", "鹭栖湾西街19号院", "霁虹桥北里7号楼", "栖霞岭下茶寮弄3号"]
ID_CARD = "11010519491231002X"

CRM_FOLDER, POS_FOLDER = "crm/members", "pos/sales"


def _csv(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def crm_rows() -> list[list[str]]:
    """20 members with a phone and a name each, and seven rows that go wrong in their own way."""
    header = list(CRM)
    rows = [header]
    for i in range(20):
        rows.append(list({**CRM, "member_id": f"PV{i:03d}", "card_no": f"88009{i:07d}", "mobile": mobile(i),
                          "name": NAMES[i % 3], "unionid": f"oPv{i}"}.values()))
    bad = [
        {"member_id": "", "mobile": mobile(21), "name": NAMES[3]},              # required value empty: quarantined
        {"member_id": "1.23457E+15", "mobile": mobile(22), "name": NAMES[4]},   # damaged key: quarantined
        {"member_id": "PV100", "points": mobile(23) + "x", "name": NAMES[5]},   # an unusable count: nulled, masked
        {"member_id": "PV101", "card_no": "8.80029E+11", "birthday": mobile(24), "mobile": ID_CARD},
        {"member_id": "PV102", "level": '=HYPERLINK("http://x","金卡")', "name": NAMES[5]},
    ]
    for change in bad:
        rows.append(list({**CRM, "unionid": "", **change}.values()))
    misaligned = list({**CRM, "member_id": "PV103", "mobile": mobile(25), "name": NAMES[6]}.values())
    rows.append(misaligned[:-1] + [ADDRESSES[0]] + misaligned[-1:])  # an address cut in two fields
    return rows


TMALL_HEADER = ["订单编号", "买家会员名", "买家实付金额", "订单状态", "联系手机", "买家下单时间", "收货人姓名",
                "收货地址", "宝贝标题", "买家留言"]


def tmall_rows() -> list[list[str]]:
    return [TMALL_HEADER,
            ['="3987100000000001"', NAMES[0], "10.00", "交易成功", mobile(30), "2026-01-02 10:11:12", NAMES[1],
             ADDRESSES[1], "拿铁", f"请联系{mobile(31)}"],
            ['="3987100000000002"', NAMES[2], "12.00", "交易成功", mobile(32), "not-a-date", NAMES[3],
             ADDRESSES[2], "美式", f"{NAMES[4]}收"],
            ['="3987100000000003"', "", "8.00", "交易成功", "", "2026-01-03 09:00:00", NAMES[5],
             f"{ADDRESSES[3]}\n(送到门口)", "摩卡", ""]]


def pos_rows() -> list[list[str]]:
    rows = [list(POS)]
    for i in range(3):  # a till that types the customer's phone into the guide column
        rows.append(list({**POS, "单号": f"PR{i}", "导购工号": mobile(40) if i else "G01",
                          "会员手机号": mobile(41), "货号": NAMES[7]}.values()))
    return rows


def mp_line(**fields) -> str:
    return json.dumps({**ORDER, **fields}, ensure_ascii=False)


def workbook(sheets: dict[str, list[list]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def plant(landing: Path, outside: Path) -> dict[str, str]:
    """Write the planted files; the expected fate of each (``loaded`` or a piece of its rejection)."""
    files: dict[str, tuple[bytes, str]] = {
        # rows quarantined, cells nulled or masked: the file loads
        f"{CRM_FOLDER}/privacy_members.csv": (_csv(crm_rows()), "loaded"),
        "tmall/orders/privacy_orders.csv": (_csv(tmall_rows(), "gbk"), "loaded"),
        "mini_program/orders/privacy_traps.jsonl": ("\n".join([
            mp_line(order_no="PO1", receiver_mobile=mobile(60), receiver_name=NAMES[0], receiver_address=ADDRESSES[0]),
            mp_line(order_no="PO2", receiver_name=NAMES[1])[:-1] + f', "order_no": "PO3", "receiver_mobile": '
                                                                  f'"{mobile(61)}"}}',
            mp_line(order_no="PO4", receiver_name=NAMES[2])[:-1] + ', "x": ' + "[" * 80 + "]" * 80 + "}",
            f'{{"order_no": "PO5", "receiver_address": "{ADDRESSES[1]}", "receiver_mobile": "{mobile(62)}"',
        ]).encode("utf-8") + b"\n", "loaded"),
        "wecom/contacts/privacy_contacts.json": (json.dumps({"errcode": 0, "external_contact_list": [
            {"external_contact": {"external_userid": "wmPV1", "name": NAMES[3]},
             "follow_user": [{"userid": "g1", "remark": f"{NAMES[3]} {mobile(63)}", "remark_mobiles": [mobile(64)],
                              "description": ADDRESSES[2]}]}]}, ensure_ascii=False).encode("utf-8")[:-2]
            + b', {"external_contact": {"external_userid": "wmPV2", "external_userid": "wmPV3", "name": "'
            + NAMES[4].encode() + b'"}, "follow_user": [{"userid": "g1"}]}]}', "loaded"),
        # a phone in a column that is not personal: the file is refused by name
        f"{POS_FOLDER}/privacy_pos_guides.csv": (_csv(pos_rows()), "column 'serving_guide_id' (header '导购工号') "
                                                                   "in 2 row(s): 3, 4"),
        "coupons/privacy_coupon_names.csv": (_csv([list(COUPON) + ["coupon_name"], list(COUPON.values())
                                                   + [f"送给{NAMES[5]}{mobile(42)}的券"]]),
                                             "column 'coupon_name' (header 'coupon_name') in 1 row(s): 2"),
        "mini_program/orders/privacy_phone_coupon.jsonl": (
            (mp_line(coupon_code=f"+86 139 1234 {43:04d}", receiver_name=NAMES[6]) + "\n").encode("utf-8"),
            "column 'coupon_code' (header 'coupon_code') in 1 row(s): 1"),
        f"{CRM_FOLDER}/privacy_points.csv": (_csv([list(CRM), list({**CRM, "points": mobile(44),
                                                                     "name": NAMES[7]}.values())]),
                                             "column 'points' (header 'points') in 1 row(s): 2"),
        # whole-file problems whose content is personal
        f"{CRM_FOLDER}/privacy_twice.csv": (_csv([["member_id", "手机号", "手机号", "name"],
                                                  ["PV1", mobile(50), mobile(51), NAMES[0]]]),
                                            "column 'mobile' of table 'crm_members' is given 2 times"),
        f"{CRM_FOLDER}/privacy_no_header.csv": (_csv([["PV2", "880012345678", mobile(52), NAMES[1], ADDRESSES[3]],
                                                      ["PV3", "880012345679", mobile(53), NAMES[2], ADDRESSES[0]]]),
                                                "5 fields, not shown"),
        "mini_program/members/privacy_sheets.xlsx": (workbook({
            "一月": [["openid", "会员卡号", "手机号", "姓名"], ["oPV1", "1", mobile(54), NAMES[3]]],
            "二月": [["openid", "卡号", "昵称"], ["oPV2", "2", NAMES[4]]]}), "under different headers"),
        "wecom/contacts/privacy_errcode.json": (json.dumps({"errcode": 40096, "errmsg": f"invalid mobile {mobile(55)}"})
                                                .encode(), "errcode 40096 (invalid mobile <mobile>)"),
        "wecom/contacts/privacy_envelope.json": (
            ('{"errcode": 0, "external_contact_list": [], "external_contact_list": [' + contact("wmPV9", extra=
             f', "name": "{NAMES[5]}"') + "]}").encode("utf-8"), "outside its records"),
        "mini_program/members/privacy_garbage.csv": ("openid,姓名\r\noPV5,".encode() + NAMES[6].encode("utf-16-le")
                                                     + b"\xff\xfe\xff" + mobile(56).encode() + b"\r\n",
                                                     "not valid UTF-8"),
        "wecom/contacts/privacy_deep.json": (("[" * 5000 + json.dumps(NAMES[7], ensure_ascii=False) + "]" * 5000)
                                             .encode("utf-8"), "nested deeper than its parser can follow"),
        f"{CRM_FOLDER}/{mobile(57)}.csv": (_csv([list(CRM), list({**CRM, "member_id": "PV7"}.values())]),
                                           "is named with a mobile number"),
    }
    fates = {}
    for label, (data, fate) in files.items():
        path = landing / label
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        fates[label.replace(mobile(57), "<mobile>")] = fate
    secret = outside / "secret_members.csv"  # another brand's file, reachable by a link in landing
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_bytes(_csv([list(CRM), list({**CRM, "member_id": "PV8", "mobile": mobile(58),
                                              "name": NAMES[0], "level": ADDRESSES[1]}.values())]))
    os.symlink(secret, landing / CRM_FOLDER / "privacy_link.csv")
    fates[f"{CRM_FOLDER}/privacy_link.csv"] = "is a symbolic link"
    return fates


PLANTED_MOBILES = (*range(20), *range(21, 26), *range(30, 33), *range(40, 45), *range(50, 59), *range(60, 65))
PLANTED = [mobile(n) for n in PLANTED_MOBILES] + NAMES + ADDRESSES + [ID_CARD]
LOADED = "loaded"
# what the planted crm_members file gives: 20 + 5 + 1 rows read, the empty and damaged keys and the
# misaligned row quarantined, the rest loaded (the ID card typed as a phone is an invalid phone)
CRM_COUNTS = (26, 23, 3)


def _scan_folders(*roots: Path, skip: list[Path]) -> tuple[list[str], dict[str, int]]:
    """Every planted value found under the roots (by number, never the value), and files read per kind."""
    found, scanned = [], {}
    for root in roots:
        report = scan_tree(root, PLANTED, skip=skip)
        found += report.found()
        scanned.update({k: scanned.get(k, 0) + v for k, v in report.scanned.items()})
    return found, scanned


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy-cli")
    fates = plant(root / "landing", root / "outside")
    env = {**os.environ, **paths_from_env({"QUANYU_HOME": str(root)}).as_env(),
           "QUANYU_LANDING_SETTLE_SECONDS": "0", "QUANYU_INGEST_WORKERS": "1"}
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "--gate"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    return root, fates, done


@pytest.fixture(scope="module")
def dagster_runs(published, tmp_path_factory):
    """The planted files arrive in a copy of the session's published demo installation (landing, lake,
    gate verdicts, served warehouse: tests/gates/conftest.py ``copy_home``), so the demo brand is not
    ingested again here; both runs are this module's own, in a persistent instance."""
    from dagster import DagsterInstance

    from orchestration.definitions import build_all_tags, defs

    root = tmp_path_factory.mktemp("privacy-dagster")
    paths = copy_home(published, root)  # keeps modification times (landing days)
    fates = plant(root / "landing", root / "outside")
    (root / "dagster_home").mkdir()
    instance = DagsterInstance.local_temp(str(root / "dagster_home"))
    job = defs.resolve_job_def("build_all")
    config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    with active_home(paths):
        planted = job.execute_in_process(instance=instance, raise_on_error=False, tags=build_all_tags(),
                                         run_config=config)
        held = root / "held"  # every planted file out of landing: what loaded stays in the lake
        for label in fates:
            source = root / "landing" / label.replace("<mobile>", mobile(57))
            target = held / label.replace("<mobile>", mobile(57))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)
        clean = job.execute_in_process(instance=instance, raise_on_error=False, tags=build_all_tags(),
                                       run_config=config)
    instance.dispose()
    return root, paths, fates, planted, clean


def test_the_cli_names_every_refused_file_and_loads_the_rest(cli_run):
    root, fates, done = cli_run
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    refused = {line.split(": ", 1)[0].removeprefix("  REJECTED "): line for line in done.stderr.splitlines()
               if line.startswith("  REJECTED ")}
    assert set(refused) == {label for label, fate in fates.items() if fate != LOADED}
    for label, line in refused.items():
        assert fates[label] in line, line
    entries = {e.source_file: e for e in ledger_entries(paths_from_env({"QUANYU_HOME": str(root)}), "crm_members")
               .itertuples()}
    members = entries[f"{CRM_FOLDER}/privacy_members.csv"]
    assert (members.rows_read, members.rows_loaded, members.rows_quarantined) == CRM_COUNTS
    assert set(entries) == {f"{CRM_FOLDER}/privacy_members.csv"}


def test_nothing_planted_is_in_the_cli_output_or_its_installation(cli_run):
    root, _, done = cli_run
    printed = scan_text(done.stdout, PLANTED, "stdout") + scan_text(done.stderr, PLANTED, "stderr")
    assert [f"value #{h.value} in {h.where}" for h in printed] == []
    found, scanned = _scan_folders(root, skip=[root / "landing", root / "outside"])
    assert found == []
    assert scanned.get("parquet", 0) > 10


def test_dagster_fails_the_raw_assets_naming_the_refused_files(dagster_runs):
    _, _, fates, planted, _ = dagster_runs
    assert not planted.success
    failures = {e.step_key: e.event_specific_data.error.message for e in planted.all_events if e.is_step_failure}
    refused_tables = {"crm_members", "pos_sales", "coupons", "mp_orders", "mp_members", "wecom_contacts"}
    assert set(failures) == {f"raw_{t}" for t in refused_tables}
    text = "\n".join(failures.values())
    for label, fate in fates.items():
        if fate != LOADED:
            assert f"file {label}: check contract failed: " in text and fate in text, label
    assert "Traceback" not in text


def test_the_clean_run_publishes_with_the_planted_quarantine(dagster_runs):
    _, paths, _, _, clean = dagster_runs
    failures = {e.step_key: e.event_specific_data.error.message[:300] for e in clean.all_events if e.is_step_failure}
    assert clean.success, failures
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        quarantined = con.execute("select _source_file, count(*) from staging.stg_lake__quarantine "
                                  "where _source_file like '%privacy_%' group by 1 order by 1").fetchall()
    assert quarantined == [(f"{CRM_FOLDER}/privacy_members.csv", 3), ("mini_program/orders/privacy_traps.jsonl", 3),
                           ("tmall/orders/privacy_orders.csv", 1), ("wecom/contacts/privacy_contacts.json", 1)]


def test_nothing_planted_is_in_the_lake_warehouse_or_dagster_home(dagster_runs):
    root, paths, _, _, _ = dagster_runs
    found, scanned = _scan_folders(root, REPO_ROOT / "dbt_project" / "target",
                                   skip=[root / "landing", root / "held", root / "outside"])
    assert found == []
    assert paths.warehouse.exists() and scanned.get("duckdb", 0) >= 1
    assert scanned.get("sqlite", 0) >= 1 and scanned.get("parquet", 0) > 50
    compute_logs = [p for p in (root / "dagster_home").rglob("*") if p.suffix in (".err", ".out") and p.stat().st_size]
    assert compute_logs, "no compute log was written: the scan would prove nothing about them"
