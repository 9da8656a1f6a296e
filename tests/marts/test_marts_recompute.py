"""Recompute a sample of the metric marts in pandas, independently of the SQL, and compare.

The recomputation reads the raw Parquet tables of the lake (never staging or marts), applies the
metric definitions of the dbt docs from scratch (roll-up of each channel's export grain, refunds,
cancellations, returns, WeCom relationship spells from the change events) and compares with the
marts built by dbt on the same demo data: counts exactly, amounts to 0.01 CNY. Two inputs are
shared on purpose: member identity (identity.bridge_record_member / identity_registry, tested by
tests/identity) and the code-list seeds (status texts are data, not logic).
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ingest.contract import load_contracts

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
CNY = 0.01


def query(paths, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).df()


def raw(paths, table: str, key: list[str]) -> pd.DataFrame:
    """The raw table, newest version per business key (as exports overlap): the latest of the
    contract's versioned_by times, else the export time; then the export time; then load order."""
    files = sorted((paths.lake / "raw" / table).glob("*.parquet"))
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    for column in frame.columns:  # DECIMAL amounts arrive as Python Decimals
        if frame[column].dtype == object and frame[column].map(lambda v: hasattr(v, "as_tuple")).any():
            frame[column] = frame[column].astype(float)
    times = [pd.to_datetime(frame[c]) for c in load_contracts()[table].versioned_by]
    frame["_version_at"] = pd.concat(times, axis=1).max(axis=1) if times else pd.NaT
    frame["_version_at"] = frame["_version_at"].fillna(frame["_exported_at"])
    frame = frame.sort_values(["_version_at", "_exported_at", "_loaded_at", "_source_file", "_source_row"],
                              ascending=False, na_position="last")
    return frame.drop_duplicates(key).reset_index(drop=True)


def status_map(channel: str) -> dict[str, tuple[str, bool]]:
    seed = pd.read_csv(SEEDS / "order_status_map.csv")
    seed = seed[seed.channel == channel]
    return {s.lower(): (o, str(p).lower() == "true") for s, o, p in zip(seed.source_status, seed.order_status,
                                                                        seed.is_paid_order)}


def code_map(code_list: str) -> dict[str, str]:
    seed = pd.read_csv(SEEDS / "code_map.csv", dtype=str)
    seed = seed[seed.code_list == code_list]
    return {s.lower(): c for s, c in zip(seed.source_value, seed.code)}


def mapped(values: pd.Series, mapping: dict) -> pd.Series:
    return values.map(lambda v: mapping.get(str(v).strip().lower()) if pd.notna(v) else None)


# --------------------------------------------------------------------------- orders


def with_status(frame: pd.DataFrame, channel: str) -> pd.DataFrame:
    statuses = mapped(frame.status, status_map(channel))
    frame["order_status"] = statuses.map(lambda s: s[0] if s else None)
    frame["is_paid"] = statuses.map(lambda s: bool(s and s[1])) | frame.paid_at.notna()
    return frame


def orders_from_raw(paths) -> pd.DataFrame:
    """One row per order of every channel: channel, order_id, paid, refund, flags, booked_at, one_id,
    serving guide and store."""
    bridge = query(paths, "select source_table, record_key, one_id from identity.bridge_record_member "
                          "where one_id is not null")
    member = dict(zip(zip(bridge.source_table, bridge.record_key), bridge.one_id))

    def resolve(table: str, keys: pd.Series) -> pd.Series:
        return keys.map(lambda k: member.get((table, k)))

    parts = []
    tmall = with_status(raw(paths, "tmall_orders", ["order_id"]), "tmall")
    parts.append(pd.DataFrame({
        "channel": "tmall", "order_id": tmall.order_id, "is_paid": tmall.is_paid, "is_return": False,
        "paid": np.where(tmall.is_paid, tmall.paid_amount.fillna(0), 0.0), "refund": tmall.refund_amount.fillna(0),
        "ordered_at": tmall.created_at, "booked_at": tmall.paid_at.fillna(tmall.created_at),
        "one_id": resolve("tmall_orders", tmall.order_id), "serving_guide": None, "store": None}))

    mp = with_status(raw(paths, "mp_orders", ["order_no"]), "mini_program")
    parts.append(pd.DataFrame({
        "channel": "mini_program", "order_id": mp.order_no, "is_paid": mp.is_paid, "is_return": False,
        "paid": np.where(mp.is_paid, mp.paid_amount.fillna(0), 0.0), "refund": mp.refund_amount.fillna(0),
        "ordered_at": mp.created_at, "booked_at": mp.paid_at.fillna(mp.created_at),
        "one_id": resolve("mp_orders", mp.order_no), "serving_guide": mp.guide_id, "store": mp.store_code}))

    # JD: one row per SKU, the order's amounts printed on every row -> take them once
    jd = with_status(raw(paths, "jd_orders", ["order_id", "sku_id"]), "jd").sort_values(["order_id", "sku_id"])
    jd["one_id"] = resolve("jd_orders", jd.order_id + "|" + jd.sku_id)
    first = jd.drop_duplicates("order_id").set_index("order_id")
    jd_paid = np.where(first.is_paid, first.payable_amount.fillna(0), 0.0)
    parts.append(pd.DataFrame({
        "channel": "jd", "order_id": first.index, "is_paid": first.is_paid.values, "is_return": False,
        "paid": jd_paid,
        "refund": np.where(first.is_paid & first.order_status.isin(["closed", "refunded"]), jd_paid, 0.0),
        "ordered_at": jd.groupby("order_id").created_at.min().loc[first.index].values,
        "booked_at": jd.groupby("order_id").paid_at.min().loc[first.index].fillna(
            jd.groupby("order_id").created_at.min().loc[first.index]).values,
        "one_id": jd.groupby("order_id").one_id.max().loc[first.index].values, "serving_guide": None,
        "store": None}))

    # Douyin: one row per sub-order with its own amounts -> sum per main order
    dy = with_status(raw(paths, "douyin_orders", ["sub_order_id"]), "douyin")
    refunded_after_sale = mapped(dy.after_sale_status, code_map("douyin_after_sale")) == "refunded"
    dy["is_paid"] = dy.is_paid | refunded_after_sale
    dy["paid"] = np.where(dy.is_paid, dy.payable_amount.fillna(0), 0.0)
    dy["refund"] = np.where(refunded_after_sale | (dy.is_paid & dy.order_status.isin(["closed", "refunded"])),
                            dy.paid, 0.0)
    dy["one_id"] = resolve("douyin_orders", dy.sub_order_id)
    by = dy.groupby("order_id")
    parts.append(pd.DataFrame({
        "channel": "douyin", "order_id": by.size().index, "is_paid": by.is_paid.any().values, "is_return": False,
        "paid": by.paid.sum().values, "refund": by.refund.sum().values, "ordered_at": by.created_at.min().values,
        "booked_at": by.paid_at.min().fillna(by.created_at.min()).values, "one_id": by.one_id.max().values,
        "serving_guide": None, "store": None}))

    # POS: one row per receipt line -> one row per receipt; a return receipt stays its own row
    pos = raw(paths, "pos_sales", ["store_code", "receipt_no", "line_no"])
    doc = mapped(pos.doc_type, status_map("pos")).map(lambda s: s[0] if s else None)
    pos["is_return"] = (doc == "refunded") | (pos.amount < 0) | (pos.qty.fillna(0) < 0)
    pos["paid"] = np.where(pos.is_return, 0.0, pos.amount)
    pos["refund"] = np.where(pos.is_return, pos.amount.abs(), 0.0)
    pos["one_id"] = resolve("pos_sales", pos.store_code + "|" + pos.receipt_no + "|" + pos.line_no.astype(str))
    pos["receipt"] = pos.store_code + "-" + pos.receipt_no
    by = pos.groupby("receipt")
    parts.append(pd.DataFrame({
        "channel": "pos", "order_id": by.size().index, "is_paid": (~by.is_return.all()).values,
        "is_return": by.is_return.all().values, "paid": by.paid.sum().values, "refund": by.refund.sum().values,
        "ordered_at": by.sold_at.min().values, "booked_at": by.sold_at.min().values, "one_id": by.one_id.max().values,
        "serving_guide": by.serving_guide_id.max().values, "store": by.store_code.max().values}))

    orders = pd.concat(parts, ignore_index=True)
    orders["net"] = orders.paid - orders.refund
    orders["is_valid"] = orders.is_paid & ~orders.is_return & (orders.refund < orders.paid)
    orders["month"] = orders.booked_at.dt.to_period("M").dt.to_timestamp()
    return orders


# --------------------------------------------------------------------------- fans


def wecom_spells(paths) -> pd.DataFrame:
    """Relationship spells (external_userid, guide_userid, start, end, end_kind) from events + contact list."""
    kinds = {"add_external_contact": "add", "add_half_external_contact": "add",
             "del_follow_user": "customer", "del_external_contact": "guide"}
    events = raw(paths, "wecom_contact_events", ["external_userid", "guide_userid", "change_type", "event_at"])
    events = events[events.change_type.isin(kinds) & events.guide_userid.notna()].copy()
    events["kind"] = events.change_type.map(kinds)
    events.loc[(events.kind == "guide") & (events.source == "DELETE_BY_TRANSFER"), "kind"] = "transfer"
    events["order"] = events.kind.map({"add": 0, "customer": 1, "guide": 2, "transfer": 2})
    events = events.sort_values(["external_userid", "guide_userid", "event_at", "order"])
    contacts = raw(paths, "wecom_contacts", ["external_userid", "guide_userid"])
    listed = dict(zip(zip(contacts.external_userid, contacts.guide_userid), contacts.added_at))

    rows = []
    for (ext, guide), pair in events.groupby(["external_userid", "guide_userid"], sort=False):
        spells: list[dict] = []
        for event in pair.itertuples():
            current = spells[-1] if spells else None
            if event.kind == "add":
                if current is None or current["end"] is not None:
                    spells.append({"start": event.event_at, "end": None, "end_kind": None})
            elif current is None:
                spells.append({"start": None, "end": event.event_at, "end_kind": event.kind})
            elif current["end"] is None:
                current["end"], current["end_kind"] = event.event_at, event.kind
        created = listed.pop((ext, guide), None)
        if created is not None and pd.notna(created):
            first_seen = spells[0]["start"] if spells[0]["start"] is not None else spells[0]["end"]
            if created < first_seen:
                spells[0]["start"] = created
            if spells[-1]["end"] is not None and created > spells[-1]["end"]:
                spells.append({"start": created, "end": None, "end_kind": None})
        rows += [{"external_userid": ext, "guide_userid": guide, **s} for s in spells]
    rows += [{"external_userid": ext, "guide_userid": guide, "start": created, "end": None, "end_kind": None}
             for (ext, guide), created in listed.items()]
    spells = pd.DataFrame(rows)
    spells["start"] = pd.to_datetime(spells.start)
    spells["end"] = pd.to_datetime(spells.end)
    return spells


def live_at(spells: pd.DataFrame, at: pd.Timestamp) -> pd.Series:
    return (spells.start.isna() | (spells.start < at)) & (spells.end.isna() | (spells.end >= at))


def fan_spells(paths) -> pd.DataFrame:
    """WeCom spells and customer-group memberships, keyed by member (or the refused external id)."""
    registry = query(paths, "select identifier_value, one_id from identity.identity_registry "
                            "where identifier_type = 'wecom_external_userid'")
    member = dict(zip(registry.identifier_value, registry.one_id))
    wecom = wecom_spells(paths).assign(source="wecom")
    groups = raw(paths, "wecom_group_members", ["chat_id", "member_userid"])
    groups = groups[groups.member_type == 2]
    groups = pd.DataFrame({"external_userid": groups.member_userid, "guide_userid": groups.owner_userid,
                           "start": groups.joined_at, "end": pd.NaT, "end_kind": None, "source": "group"})
    spells = pd.concat([wecom, groups], ignore_index=True)
    spells["one_id"] = spells.external_userid.map(member)
    spells["fan"] = spells.one_id.fillna("wecom:" + spells.external_userid)
    return spells


# --------------------------------------------------------------------------- tests


def months_of(paths) -> list[pd.Timestamp]:
    return [pd.Timestamp(m)
            for m in query(paths, "select month from intermediate.int_calendar__months order by 1").month]


def test_the_calendar_spans_the_months_with_orders(warehouse):
    orders = orders_from_raw(warehouse)
    expected = pd.period_range(orders.month.min(), orders.month.max(), freq="M").to_timestamp()
    assert months_of(warehouse) == list(expected)


def test_monthly_gmv_orders_and_refunds_by_channel(warehouse):
    orders = orders_from_raw(warehouse)
    mine = orders.groupby(["month", "channel"]).agg(gmv=("net", "sum"), refund=("refund", "sum"),
                                                    orders=("is_valid", "sum")).reset_index()
    mart = query(warehouse, "select month, channel, gmv, refund_amount, orders from marts.mart_sales_monthly "
                            "where scope = 'channel'")
    mart["month"] = pd.to_datetime(mart.month)
    both = mart.merge(mine, on=["month", "channel"], how="left").fillna({"gmv": 0, "refund": 0, "orders": 0})
    assert len(both) == len(mart) and len(mine) <= len(mart)
    assert (both.orders_x == both.orders_y).all()
    assert np.allclose(both.gmv_x.astype(float), both.gmv_y, atol=CNY)
    assert np.allclose(both.refund_amount.astype(float), both.refund, atol=CNY)
    assert both.gmv_x.astype(float).sum() > 0


def test_private_domain_gmv_and_share(warehouse):
    orders = orders_from_raw(warehouse)
    staff = raw(warehouse, "staff", ["employee_no"])
    guide_userid = dict(zip(staff.employee_no, staff.wecom_userid))
    spells = fan_spells(warehouse)
    wecom = spells[(spells.source == "wecom") & spells.one_id.notna()]
    friends = {key: frame for key, frame in wecom.groupby(["one_id", "guide_userid"])}

    def attributed(order) -> bool:
        guide = guide_userid.get(order.serving_guide)
        if order.one_id is None or pd.isna(order.one_id) or guide is None:
            return False
        pair = friends.get((order.one_id, guide))
        return pair is not None and bool(live_at(pair, order.ordered_at).any())

    served = orders.serving_guide.notna()
    orders["private"] = orders.channel.eq("mini_program")
    orders.loc[served, "private"] |= np.array([attributed(o) for o in orders[served].itertuples()], dtype=bool)
    mine = orders.groupby("month").apply(
        lambda m: pd.Series({"gmv": m.net.sum(), "private": m.net[m.private].sum()}), include_groups=False)
    mart = query(warehouse, "select month, gmv, private_domain_gmv, private_domain_share from marts.mart_sales_monthly "
                            "where scope = 'brand' order by month").set_index("month")
    mart.index = pd.to_datetime(mart.index)
    mine = mine.reindex(mart.index, fill_value=0)
    assert np.allclose(mart.private_domain_gmv.astype(float), mine.private, atol=CNY)
    assert np.allclose(mart.private_domain_share, mine.private / mine.gmv, atol=1e-9)
    wecom_part = orders.net[orders.private & orders.channel.eq("pos")].sum()
    assert wecom_part > 0, "the demo has WeCom-attributed store sales"


def test_repurchase_rate_monthly_and_trailing_year(warehouse):
    orders = orders_from_raw(warehouse)
    valid = orders[orders.is_valid & orders.one_id.notna()]
    per_month = valid.groupby(["month", "one_id"]).size().rename("n").reset_index()
    mine = per_month.groupby("month").agg(buyers=("n", "size"), repeat=("n", lambda n: int((n >= 2).sum())))
    mart = query(warehouse, "select month, buyers, repeat_buyers, repurchase_rate, ttm_buyers, ttm_repeat_buyers "
                            "from marts.mart_repurchase_monthly where scope = 'brand' "
                            "order by month").set_index("month")
    mart.index = pd.to_datetime(mart.index)
    mine = mine.reindex(mart.index, fill_value=0)
    assert (mart.buyers == mine.buyers).all() and (mart.repeat_buyers == mine.repeat).all()
    assert np.allclose(mart.repurchase_rate, mine.repeat / mine.buyers)
    last = mart.index.max()
    window = valid[(valid.month > last - pd.DateOffset(months=12)) & (valid.month <= last)]
    counts = window.groupby("one_id").size()
    assert mart.loc[last, "ttm_buyers"] == len(counts)
    assert mart.loc[last, "ttm_repeat_buyers"] == int((counts >= 2).sum())


def test_coupon_redemption_rate_per_issue_month(warehouse):
    coupons = raw(warehouse, "coupons", ["coupon_code"])
    coupons["coupon_status"] = mapped(coupons.status, code_map("coupon_status"))
    coupons = coupons[coupons.coupon_status != "voided"]
    coupons["month"] = coupons.issued_at.dt.to_period("M").dt.to_timestamp()
    mine = coupons.groupby("month").agg(issued=("coupon_code", "size"), redeemed=("redeemed_at", "count"))
    mart = query(warehouse, "select month, issued_coupons, redeemed_coupons, redemption_rate "
                            "from marts.mart_coupons_monthly where scope = 'brand' order by month").set_index("month")
    mart.index = pd.to_datetime(mart.index)
    mine = mine.reindex(mart.index, fill_value=0)
    assert (mart.issued_coupons == mine.issued).all()
    assert (mart.redeemed_coupons == mine.redeemed).all()
    assert np.allclose(mart.redemption_rate, mine.redeemed / mine.issued)


def test_fans_at_month_end_and_churn(warehouse):
    spells = fan_spells(warehouse)
    wecom = spells[spells.source == "wecom"]
    mart = query(warehouse, "select month, fans_at_end, wecom_fans_at_start, wecom_fans_at_end, customer_deletions, "
                            "churn_rate from marts.mart_fans_monthly where scope = 'brand' order by month")
    for row in mart.itertuples():
        start = pd.Timestamp(row.month)
        end = start + pd.DateOffset(months=1)
        assert row.fans_at_end == spells.fan[live_at(spells, end)].nunique(), row.month
        assert row.wecom_fans_at_end == wecom.fan[live_at(wecom, end)].nunique(), row.month
        wecom_at_start = wecom.fan[live_at(wecom, start)].nunique()
        deletions = int(((wecom.end_kind == "customer") & (wecom.end >= start) & (wecom.end < end)).sum())
        assert (row.wecom_fans_at_start, row.customer_deletions) == (wecom_at_start, deletions), row.month
        assert row.churn_rate == pytest.approx(deletions / wecom_at_start)
    assert mart.customer_deletions.sum() > 0 and mart.fans_at_end.iloc[-1] > 0
