"""Several versions of one record: the newest by the record's own time wins, whatever the load
order or the file names; at equal times the later export, then the later load.

The rule (docs/architecture.md, "Which version of a record wins"; macro newest_version_first):
version time = the latest of the contract's ``versioned_by`` times, or the file's export time
(``_exported_at``) when the version has none of them; then ``_exported_at``; then load order.

Every keyed raw table gets three generic cases from its contract (a new contract gets them
too): the record time decides (only tables with ``versioned_by``), the export date decides
(equal record times, or none), and a full tie (the later load wins). In each, the version that
must lose is loaded last and its file name sorts last, the two ways the old rule let it win.
Hand-written cases check exact business values: a Tmall order paid on day 1 and refunded on
day 9 (export times from title lines), a mini-program order with update times and a stale
export, CRM members changed with and without an update time (file name, modification time),
and WeCom daily statistics revised by a later pull. One home, two loads, one dbt build.
"""
from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import os

import duckdb
import pytest

from ingest import engine
from ingest.contract import Column, Contract, load_contracts
from ingest.dbt_sources import staging_models
from ingest.engine import landing_files, load_tables
from ingest.lake import LEDGER, table_glob
from ingest.settings import BUSINESS_TZ, paths_from_env
from tests.dbt_runner import TEST_KEY, dbt

CONTRACTS = load_contracts()
READERS = staging_models()
KEYED = sorted(t for t in CONTRACTS if t in READERS)
FIRST_LOAD, SECOND_LOAD = dt.datetime(2026, 7, 1, 9, 0), dt.datetime(2026, 7, 2, 9, 0)
EARLY, LATE = dt.datetime(2026, 6, 1, 10, 0), dt.datetime(2026, 6, 9, 10, 0)  # a version's record times
SAME = dt.datetime(2026, 6, 5, 10, 0)
GENERIC = ("record_time", "export_date", "tie")


# --------------------------------------------------------------------------- files from a contract


def landing_dir(contract: Contract) -> str:
    """The folder of the contract's glob before its first wildcard ("tmall/orders/**/*" -> tmall/orders)."""
    return "/".join(part for part in contract.glob.split("/") if "*" not in part)


def extension(contract: Contract) -> str:
    tail = contract.glob.rsplit("/", 1)[-1]
    return tail[1:] if tail.startswith("*.") else ".csv"


def epoch(moment: dt.datetime, unit: str | None) -> int:
    seconds = int(moment.replace(tzinfo=BUSINESS_TZ).timestamp())
    return seconds * 1000 if unit == "ms" else seconds


def time_value(column: Column, moment: dt.datetime, as_json: bool):
    if column.unit:
        return epoch(moment if column.type == "timestamp" else dt.datetime.combine(moment.date(), dt.time()),
                     column.unit)
    return moment.strftime("%Y-%m-%d" if column.type == "date" else "%Y-%m-%d %H:%M:%S")


def cell(contract: Contract, column: Column, version: int, case: str, record_time: dt.datetime, as_json: bool):
    """The value of one column in version 0 (older) or 1 (newer) of the case's record."""
    if column.name in contract.key:
        if column.type in ("timestamp", "date"):
            return time_value(column, dt.datetime(2026, 5, 31, 8, 0), as_json)
        return 1 if column.type == "int" else f"{case}-{column.name}"
    if column.name in contract.versioned_by:
        return time_value(column, record_time, as_json)
    moment = dt.datetime(2026, 5, 1 + version, 10, 0)
    return {
        "timestamp": lambda: time_value(column, moment, as_json),
        "date": lambda: time_value(column, moment, as_json),
        "int": lambda: 1 + version,
        "decimal": lambda: ("0.5", "0.9")[version],
        "amount": lambda: ("10.00", "90.00")[version],
        "amount_fen": lambda: (1000, 9000)[version],
        "bool": lambda: ("false", "true")[version],
        "json": lambda: [("older", "newer")[version]],
        "mobile": lambda: ("13912340001", "13912340002")[version],
        "year_month": lambda: ("1990-05-17", "1991-06-18")[version],
    }.get(column.type, lambda: ("older", "newer")[version])()


def _put(node: dict, dotted: str, value) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def export_bytes(contract: Contract, version: int, case: str, record_time: dt.datetime) -> bytes:
    """One record of the contract, as the channel's file would hold it (first alias of every column)."""
    ext = extension(contract)
    if ext == ".csv":
        headers = [c.aliases[0] for c in contract.columns]
        values = [cell(contract, c, version, case, record_time, False) for c in contract.columns]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([headers, values])
        return out.getvalue().encode("utf-8")
    record, root, item = {}, {}, {}
    exploded = contract.explode[0] if contract.explode else None
    for column in contract.columns:
        alias, value = column.aliases[0], cell(contract, column, version, case, record_time, True)
        if alias.startswith("^"):
            root[alias[1:]] = value
        elif exploded and alias.startswith(exploded + "."):
            _put(item, alias[len(exploded) + 1:], value)
        else:
            _put(record, alias, value)
    if exploded:
        record[exploded] = [item]
    document = {contract.record_path[0]: [record], **root} if contract.record_path else {**record, **root}
    text = json.dumps(document, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


# --------------------------------------------------------------------------- the world


class Planted:
    """Files laid out for both loads, and which file of each case must win."""

    def __init__(self, paths):
        self.paths = paths
        self.loads: tuple[list, list] = ([], [])
        self.winner: dict[tuple[str, str], str] = {}  # (table, case) -> landing label

    def file(self, label: str, data: bytes, load: int, mtime: dt.datetime | None = None) -> str:
        path = self.paths.landing / label
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if mtime is not None:
            stamp = mtime.replace(tzinfo=BUSINESS_TZ).timestamp()
            os.utime(path, (stamp, stamp))
        self.loads[load].append(path)
        return label


def plant_generic(world: Planted, contract: Contract) -> None:
    """The three cases of one table: the losing version loads last and its name sorts last."""
    folder, ext, table = landing_dir(contract), extension(contract), contract.table
    cases = {  # case -> (older's record time, newer's, older's export date, newer's, newer loads first?)
        "record_time": (EARLY, LATE, "20260620", "20260610", True),
        "export_date": (SAME, SAME, "20260601", "20260609", True),
        "tie": (SAME, SAME, "20260605", "20260605", False),
    }
    for case, (old_time, new_time, old_date, new_date, newer_first) in cases.items():
        if case == "record_time" and not contract.versioned_by:
            continue
        older_load, newer_load = (1, 0) if newer_first else (0, 1)
        world.file(f"{folder}/z_{case}_{old_date}{ext}", export_bytes(contract, 0, case, old_time), older_load)
        world.winner[(table, case)] = world.file(f"{folder}/a_{case}_{new_date}{ext}",
                                                 export_bytes(contract, 1, case, new_time), newer_load)


def tmall_csv(title: str, status: str, refund: str) -> bytes:
    rows = [[title],
            ["订单编号", "买家会员名", "买家实际支付金额", "订单状态", "订单创建时间", "订单付款时间", "退款金额",
             "联系手机"],
            ['="3000000000000001"', "buyer-a", "99.00元", status, "2026-06-01 09:00:00", "2026-06-01 09:05:00",
             refund, "'135****1234"]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("gbk")


def mp_line(status: str, refund_fee: int, update_time: str) -> bytes:
    return (json.dumps({"order_no": "LJ-VERSIONS-1", "openid": "o-versions", "status": status, "total_fee": 12900,
                        "pay_fee": 12900, "refund_fee": refund_fee, "create_time": "2026-06-01 11:00:00",
                        "pay_time": "2026-06-01 11:01:00", "update_time": update_time}) + "\n").encode()


def crm_csv(member_id: str, level: str, points: int, updated_at: str | None) -> bytes:
    headers = ["member_id", "level", "points", "registered_at"] + (["updated_at"] if updated_at else [])
    values = [member_id, level, str(points), "2025-03-01 09:00:00"] + ([updated_at] if updated_at else [])
    return (",".join(headers) + "\n" + ",".join(values) + "\n").encode()


def guide_stats(new_contact_cnt: int) -> bytes:
    return json.dumps({"userid": "G-VERSIONS", "behavior_data": [
        {"stat_time": epoch(dt.datetime(2026, 5, 31), "s"), "new_apply_cnt": 9,
         "new_contact_cnt": new_contact_cnt}]}).encode()


def plant_cases(world: Planted) -> None:
    """The hand-written cases (exact values asserted in the tests below)."""
    f = world.file
    # paid on day 1, refunded by day 9: the record times are the same, the title lines tell the exports apart
    f("tmall/orders/ExportOrderList_refund_a.csv", tmall_csv("导出时间：2026-06-09 20:00:00", "交易关闭", "99.00"), 0)
    f("tmall/orders/ExportOrderList_refund_z.csv",
      tmall_csv("导出时间：2026-06-01 20:00:00", "买家已付款，等待卖家发货", "无退款申请"), 1)
    # update times decide, although the older version's export says it was made later
    f("mini_program/orders/mp_orders_20260610.jsonl", mp_line("refunded", 12900, "2026-06-09 15:00:00"), 0)
    f("mini_program/orders/mp_orders_20260620_resent.jsonl", mp_line("paid", 0, "2026-06-01 11:01:00"), 1)
    # a CRM member changed, with an update time; the stale copy landed last and looks newest on disk
    f("crm/members/members_a.csv", crm_csv("M-UPDATED", "金卡", 500, "2026-06-08 10:00:00"), 0,
      mtime=dt.datetime(2026, 6, 9))
    f("crm/members/members_z.csv", crm_csv("M-UPDATED", "银卡", 100, "2026-06-02 10:00:00"), 1,
      mtime=dt.datetime(2026, 6, 30))
    # no update time in the dump, no date in the name: the files' modification times decide
    f("crm/members/dump_a.csv", crm_csv("M-MTIME", "金卡", 500, None), 0, mtime=dt.datetime(2026, 6, 9, 12))
    f("crm/members/dump_z.csv", crm_csv("M-MTIME", "银卡", 100, None), 1, mtime=dt.datetime(2026, 6, 1, 12))
    # the newer export has no update time: its export date (9 June) is after the older's update (5 June)
    f("crm/members/crm_no_time_20260609.csv", crm_csv("M-LOST-TIME", "金卡", 500, None), 0)
    f("crm/members/crm_with_time_20260606.csv", crm_csv("M-LOST-TIME", "银卡", 100, "2026-06-05 10:00:00"), 1)
    # daily statistics revised by a later pull: no record time, the pull's date decides
    f("wecom/guide_stats/2026-06-03/G-VERSIONS.json", guide_stats(5), 0)
    f("wecom/guide_stats/retry/2026-06-01/G-VERSIONS.json", guide_stats(3), 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path_factory.mktemp("versions"))}).ensure()
    planted = Planted(paths)
    for table in KEYED:
        plant_generic(planted, CONTRACTS[table])
    plant_cases(planted)
    contracts = list(CONTRACTS.values())
    with pytest.MonkeyPatch.context() as patch:
        for at, files in zip((FIRST_LOAD, SECOND_LOAD), planted.loads):
            patch.setattr(engine, "business_now", lambda at=at: at)
            by_table = {c.table: sorted(set(landing_files(c, paths.landing)) & set(files)) for c in contracts}
            reports = load_tables(contracts, paths, TEST_KEY, files=by_table, workers=1)
            for report in reports.values():
                assert not report.with_status("rejected"), [f.message for f in report.with_status("rejected")]
                assert report.rows_quarantined == 0, report.as_dict()
    models = sorted({READERS[table].deduplicating for table in KEYED})
    dbt(paths, "build", "--indirect-selection", "cautious", "--select", *(f"+{m}" for m in models))
    return planted


def query(world: Planted, sql: str) -> list[tuple]:
    with duckdb.connect(str(world.paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


# --------------------------------------------------------------------------- generic cases


@pytest.mark.parametrize("table", KEYED)
@pytest.mark.parametrize("case", GENERIC)
def test_every_keyed_table_keeps_the_newest_version_whatever_the_load_order_and_file_names(world, table, case):
    if (table, case) not in world.winner:
        pytest.skip(f"{table} declares no record time (versioned_by: []): the export date decides")
    folder = landing_dir(CONTRACTS[table])
    model = READERS[table].deduplicating  # its other staging readers keep every version
    rows = query(world, f"select _source_file from staging.{model} "
                        f"where _source_file like '{folder}/%\\_{case}\\_%' escape '\\'")
    assert rows == [(world.winner[(table, case)],)], (model, rows)


def test_every_raw_row_carries_its_files_export_time_and_the_ledger_says_where_it_came_from(world):
    rows = dict(query(world, f"select source_file, exported_at_from from read_parquet("
                             f"'{table_glob(world.paths, LEDGER)}', union_by_name = true)"))
    assert rows["tmall/orders/ExportOrderList_refund_a.csv"] == "title line"
    assert rows["mini_program/orders/mp_orders_20260610.jsonl"] == "file name"
    assert rows["crm/members/dump_a.csv"] == "file modified"
    exported = dict(query(world, "select _source_file, _exported_at from read_parquet("
                                 f"'{world.paths.lake}/raw/crm_members/*.parquet', union_by_name = true)"))
    assert exported["crm/members/dump_a.csv"] == dt.datetime(2026, 6, 9, 12)
    assert exported["crm/members/crm_no_time_20260609.csv"] == dt.datetime(2026, 6, 9)


# --------------------------------------------------------------------------- exact values


def test_an_order_paid_on_day_1_and_refunded_on_day_9_is_refunded_although_the_paid_export_loaded_last(world):
    rows = query(world, "select source_status, order_status, is_paid_order, paid_amount, refund_amount, refund_status,"
                        " _source_file from staging.stg_tmall__orders where order_id = '3000000000000001'")
    assert rows == [("交易关闭", "closed", True, decimal.Decimal("99.00"), decimal.Decimal("99.00"), "full",
                     "tmall/orders/ExportOrderList_refund_a.csv")]


def test_an_update_time_beats_an_export_that_says_it_is_later(world):
    rows = query(world, "select source_status, refund_amount, _source_file from staging.stg_mini_program__orders "
                        "where order_id = 'LJ-VERSIONS-1'")
    assert rows == [("refunded", decimal.Decimal("129.00"), "mini_program/orders/mp_orders_20260610.jsonl")]


def test_a_changed_crm_member_keeps_the_change(world):
    rows = query(world, "select member_id, member_level, points from staging.stg_crm__members "
                        "where member_id in ('M-UPDATED', 'M-MTIME', 'M-LOST-TIME') order by member_id")
    assert rows == [("M-LOST-TIME", "金卡", 500), ("M-MTIME", "金卡", 500), ("M-UPDATED", "金卡", 500)]


def test_revised_daily_statistics_keep_the_later_pull(world):
    rows = query(world, "select new_contact_count, _source_file from staging.stg_wecom__guide_daily_stats "
                        "where guide_userid = 'G-VERSIONS'")
    assert rows == [(5, "wecom/guide_stats/2026-06-03/G-VERSIONS.json")]


def test_at_equal_record_and_export_times_the_later_load_wins(world):
    rows = query(world, "select store_name, _source_file from staging.stg_master__stores "
                        "where store_code = 'tie-store_code'")
    assert rows == [("newer", "master/stores/a_tie_20260605.csv")]
