"""A brand we have never seen publishes: unknown codes, partial birthdays, two channels it lacks.

The demo exports are turned into another brand's: its CRM spells some statuses its own way
(order statuses on Tmall, a receipt type at the till, a coupon status, a gender), some birthdays
have only a year and month, a year, or a month and day, and it sells neither on Douyin nor buys
marketing. ``build_all`` must publish, the unmapped values and the absent exports must be listed
in the Dagster check metadata, and orders with an unmapped status must count in no money KPI
while their amount is shown beside the KPI. Expected figures are recomputed here from the
landing files (pandas), not read back from the warehouse that is being checked.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.orchestration.baseline import active_home

UNKNOWN_TMALL = "卖家已发货，待买家确认（预售尾款）"  # a pre-sale status the order-status map does not list
UNKNOWN_POS = "团购核销"                            # a receipt type (group-buying voucher) it does not list
UNKNOWN_COUPON = "已冻结"                            # a coupon status the code map does not list
UNKNOWN_GENDER = "其他"
PARTIAL_BIRTHDAYS = ["1990-05", "1988", "05-12"]
ABSENT = ["douyin", "marketing"]                     # landing folders of the channels this brand lacks
CHANGED_ROWS = 6


def _decode(path: Path) -> tuple[str, str]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError(f"{path}: neither UTF-8 nor GB18030")


def rewrite_csv(path: Path, change) -> list[dict]:
    """Apply ``change(row) -> bool`` to every data row of a CSV export, keeping its encoding,
    line ends and modification time (the landing day); returns the changed rows as read."""
    text, encoding = _decode(path)
    rows = list(csv.reader(io.StringIO(text)))
    header, changed = rows[0], []
    for row in rows[1:]:
        record = dict(zip(header, row))
        before = dict(record)
        if change(record):
            row[:] = [record[h] for h in header]
            changed.append(before)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    stat = path.stat()
    path.write_bytes(out.getvalue().encode(encoding))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return changed


def _first(landing: Path, folder: str, pattern: str) -> list[Path]:
    return sorted((landing / folder).glob(pattern))


def make_unseen_brand(landing: Path) -> dict:
    """Mutate the copied demo landing folder into the unseen brand; return what was changed."""
    for folder in ABSENT:
        shutil.rmtree(landing / folder)
    tmall_files = _first(landing, "tmall/orders", "*.csv")
    picked: set[str] = set()

    def pick_tmall(record: dict) -> bool:
        if record["订单状态"] == "交易成功" and len(picked) < CHANGED_ROWS:
            picked.add(record["订单编号"])
        if record["订单编号"] in picked:
            record["订单状态"] = UNKNOWN_TMALL
            return True
        return False

    tmall = [r for f in tmall_files for r in rewrite_csv(f, pick_tmall)]
    receipts: set[tuple[str, str]] = set()

    def pick_pos(record: dict) -> bool:
        key = (record["店编"], record["单号"])
        if record["单据类型"] == "销售" and len(receipts) < CHANGED_ROWS and float(record["金额"]) > 0:
            receipts.add(key)
        if key in receipts:
            record["单据类型"] = UNKNOWN_POS
            return True
        return False

    pos = [r for f in _first(landing, "pos/sales", "pos_sales_hq_*.csv") for r in rewrite_csv(f, pick_pos)]
    coupons: set[str] = set()

    def pick_coupon(record: dict) -> bool:
        if record["状态"] == "已核销" and len(coupons) < CHANGED_ROWS:
            coupons.add(record["券码"])
        if record["券码"] in coupons:
            record["状态"] = UNKNOWN_COUPON
            return True
        return False

    for f in _first(landing, "coupons", "*.csv"):
        rewrite_csv(f, pick_coupon)
    members = {"gender": 0, "birthday": 0}

    def member(record: dict) -> bool:
        if record["birthday"] and members["birthday"] < 3 * len(PARTIAL_BIRTHDAYS):
            record["birthday"] = PARTIAL_BIRTHDAYS[members["birthday"] % len(PARTIAL_BIRTHDAYS)]
            members["birthday"] += 1
            return True
        if members["gender"] < CHANGED_ROWS:
            record["gender"] = UNKNOWN_GENDER
            members["gender"] += 1
            return True
        return False

    member_rows = [r for f in _first(landing, "crm/members", "*.csv") for r in rewrite_csv(f, member)]
    return {"tmall_orders": picked, "tmall_rows": tmall, "pos_receipts": receipts, "pos_rows": pos,
            "coupons": coupons, "members": members, "member_rows": member_rows}


def _amount(text: str) -> float:
    return float(str(text).replace(",", "").strip() or 0)


@pytest.fixture(scope="module")
def unseen(demo_home, tmp_path_factory):
    from dagster import DagsterInstance

    from ingest.settings import paths_from_env
    from orchestration.definitions import build_all_tags, defs

    root = tmp_path_factory.mktemp("unseen-brand")
    shutil.copytree(demo_home.landing, root / "landing")
    changed = make_unseen_brand(root / "landing")
    paths = paths_from_env({"QUANYU_HOME": str(root)}).ensure()
    with active_home(paths):
        result = defs.resolve_job_def("build_all").execute_in_process(
            instance=DagsterInstance.ephemeral(), raise_on_error=False, tags=build_all_tags(),
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    return paths, result, changed


def _checks(result) -> dict[tuple[str, str], object]:
    out = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            out[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation
    return out


def _metadata_text(evaluation, key: str) -> str:
    value = evaluation.metadata.get(key)
    return getattr(value, "value", value) or ""


def _query(paths, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).df()


def test_the_unseen_brand_publishes(unseen):
    paths, result, _ = unseen
    failures = {e.step_key: e.event_specific_data.error.message[:500] for e in result.all_events if e.is_step_failure}
    assert result.success, failures
    assert paths.warehouse.exists()
    blocking = [(k, e.description) for k, e in _checks(result).items() if not e.passed and e.severity.value == "ERROR"]
    assert blocking == []


def test_unmapped_codes_are_listed_with_their_counts(unseen):
    paths, result, changed = unseen
    listed = _query(paths, "select source_table, source_column, seed, source_value, records, unmapped_amount "
                           "from marts.quality_unmapped_codes order by 1, 2")
    by_value = {(r.source_table, r.source_value): r for r in listed.itertuples()}
    tmall = by_value[("tmall_orders", UNKNOWN_TMALL)]
    assert (tmall.source_column, tmall.seed, tmall.records) == ("status", "order_status_map",
                                                               len(changed["tmall_orders"]))
    latest = {r["订单编号"]: r for r in changed["tmall_rows"]}  # monthly files: one version per order
    assert float(tmall.unmapped_amount) == pytest.approx(sum(_amount(r["买家实际支付金额"]) for r in latest.values()))
    pos = by_value[("pos_sales", UNKNOWN_POS)]
    assert pos.records == len(changed["pos_rows"])
    assert float(pos.unmapped_amount) == pytest.approx(sum(abs(_amount(r["金额"])) for r in changed["pos_rows"]))
    assert by_value[("coupons", UNKNOWN_COUPON)].records == len(changed["coupons"])
    assert pd.isna(by_value[("coupons", UNKNOWN_COUPON)].unmapped_amount)
    assert by_value[("crm_members", UNKNOWN_GENDER)].records == changed["members"]["gender"]
    assert len(listed) == 4, listed  # nothing else is unmapped in the demo's exports


def test_unmapped_codes_are_in_the_dagster_check_metadata(unseen):
    _, result, _ = unseen
    checks = _checks(result)
    quality = next(e for (key, name), e in checks.items() if key.endswith("quality_unmapped_codes")
                   and name == "gx_drift")
    assert not quality.passed and quality.severity.value == "WARN"
    rows = _metadata_text(quality, "rows_to_fix")
    for value in (UNKNOWN_TMALL, UNKNOWN_POS, UNKNOWN_COUPON, UNKNOWN_GENDER):
        assert value in rows
    raw = checks[("raw/tmall_orders", "gx_drift")]
    assert not raw.passed and UNKNOWN_TMALL in _metadata_text(raw, "unmapped_codes")


def test_absent_channels_are_listed_and_their_marts_may_be_empty(unseen):
    paths, result, _ = unseen
    checks = _checks(result)
    quality = next(e for (key, name), e in checks.items() if key.endswith("fct_marketing_spend") and name == "gx_drift")
    absent = _metadata_text(quality, "absent_exports")
    for table in ("douyin_orders", "douyin_member_bindings", "marketing_spend"):
        assert table in absent
    assert "tmall_orders" not in absent
    assert not quality.passed  # the warning says the mart is empty because its export is absent
    assert _query(paths, "select count(*) as n from marts.fct_marketing_spend").n[0] == 0
    volume = next(e for (key, name), e in checks.items() if key.endswith("fct_marketing_spend") and name == "gx_volume")
    assert volume.passed
    # an absent export is not stale: no freshness warning for it
    assert checks[("raw/marketing_spend", "gx_freshness")].passed


def test_orders_with_an_unmapped_status_count_in_no_money_kpi(unseen):
    paths, _, changed = unseen
    facts = _query(paths, "select channel, order_id, order_status, is_paid, is_cancelled, is_valid_order, net_amount, "
                          "has_unmapped_status, unmapped_status_amount from marts.fct_orders")
    tmall_ids = {i.strip('="') for i in changed["tmall_orders"]}
    unmapped = facts[facts.has_unmapped_status]
    assert set(unmapped[unmapped.channel == "tmall"].order_id) == tmall_ids
    assert len(unmapped[unmapped.channel == "pos"]) == len(changed["pos_receipts"])
    assert set(unmapped.channel) == {"tmall", "pos"}
    assert (unmapped.order_status == "unknown").all()
    assert not unmapped.is_paid.any() and not unmapped.is_cancelled.any() and not unmapped.is_valid_order.any()
    assert (unmapped.net_amount == 0).all()
    sales = _query(paths, "select scope, channel, sum(gmv) as gmv, sum(orders) as orders, "
                          "sum(unmapped_status_orders) as unmapped_orders, sum(unmapped_status_amount) as unmapped "
                          "from marts.mart_sales_monthly group by 1, 2")
    brand = sales[sales.scope == "brand"].iloc[0]
    mapped = facts[~facts.has_unmapped_status]
    assert float(brand.gmv) == pytest.approx(float(mapped.net_amount.sum()))
    assert int(brand.orders) == int(facts.is_valid_order.sum())
    assert int(brand.unmapped_orders) == len(unmapped)
    assert float(brand.unmapped) == pytest.approx(float(unmapped.unmapped_status_amount.sum()))
    for channel in ("douyin",):
        row = sales[(sales.scope == "channel") & (sales.channel == channel)]
        assert row.empty or float(row.gmv.iloc[0]) == 0


def test_partial_birthdays_keep_their_member_rows(unseen):
    paths, _, changed = unseen
    from ingest import lake

    entries = lake.ledger_entries(paths, "crm_members")
    assert int(entries.rows_quarantined.sum()) == 0
    months = _query(paths, "select birth_month from staging.stg_crm__members where birth_month is not null")
    assert "1990-05" in set(months.birth_month)
    assert changed["members"]["birthday"] == 3 * len(PARTIAL_BIRTHDAYS)
