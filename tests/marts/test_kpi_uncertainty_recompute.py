"""Recompute the uncertainty columns of the KPI marts (Issue 18, section 3) in pandas and compare.

As in test_marts_recompute: orders are rolled up from the raw Parquet of the lake, and a record's
person is the one identity.bridge_record_member gives it (the one input shared with the SQL).
An order is unresolved when none of its records has a one_id there. Private-domain rules are
recomputed from the raw orders, the staff master and the WeCom relationship spells rebuilt from
the change events, never from fct_orders.private_domain_rule. Counts compare exactly, amounts to
0.01 CNY, shares to 1e-9.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from tests.marts.test_marts_recompute import CNY, fan_spells, live_at, orders_from_raw, query, raw

SHARE = 1e-9


def frame_of(paths, sql: str, keys: list[str]) -> pd.DataFrame:
    mart = query(paths, sql)
    mart["month"] = pd.to_datetime(mart.month)
    return mart.set_index(keys).sort_index()


def unresolved(group: pd.DataFrame) -> pd.Series:
    """Unresolved figures over a set of orders: valid orders and GMV, and the part with no person."""
    anonymous = group.one_id.isna()
    valid = int(group.is_valid.sum())
    gmv = float(group.net.sum())
    unresolved_orders = int((group.is_valid & anonymous).sum())
    unresolved_gmv = float(group.net[anonymous].sum())
    return pd.Series({
        "orders": valid, "gmv": gmv, "unresolved_orders": unresolved_orders, "unresolved_gmv": unresolved_gmv,
        "unresolved_order_share": unresolved_orders / valid if valid else np.nan,
        "unresolved_gmv_share": unresolved_gmv / gmv if gmv else np.nan,
    })


def assert_same(mart: pd.DataFrame, mine: pd.DataFrame, columns: dict[str, str], label: str) -> None:
    """mart[column] == mine[expected] for each pair, on mart's index (rows mine lacks are zero)."""
    mine = mine.reindex(mart.index)
    for column, expected in columns.items():
        got = mart[column].astype(float).to_numpy()
        want = mine[expected].astype(float).to_numpy()
        if column.endswith("_share"):
            assert np.allclose(got, want, atol=SHARE, equal_nan=True), (label, column)
        elif column.endswith("_orders"):
            assert np.array_equal(np.nan_to_num(got), np.nan_to_num(want)), (label, column)
        else:
            assert np.allclose(got, np.nan_to_num(want), atol=CNY), (label, column)


SHARES = {"unresolved_orders": "unresolved_orders", "unresolved_gmv": "unresolved_gmv",
          "unresolved_order_share": "unresolved_order_share", "unresolved_gmv_share": "unresolved_gmv_share"}


def by_month_and_channel(orders: pd.DataFrame) -> pd.DataFrame:
    """unresolved() per (month, scope, channel): the brand (channel '') and every channel."""
    brand = orders.groupby("month").apply(unresolved, include_groups=False)
    brand["scope"], brand["channel"] = "brand", ""
    channel = orders.groupby(["month", "channel"]).apply(unresolved, include_groups=False).reset_index("channel")
    channel["scope"] = "channel"
    both = pd.concat([brand.reset_index(), channel.reset_index()], ignore_index=True)
    return both.set_index(["month", "scope", "channel"]).sort_index()


def test_unresolved_orders_and_gmv_of_sales_repurchase_and_fan_contribution(warehouse):
    orders = orders_from_raw(warehouse)
    mine = by_month_and_channel(orders)
    assert mine.loc[(slice(None), "brand", ""), "unresolved_orders"].sum() > 0, "the demo has anonymous orders"
    for table, extra in (("mart_sales_monthly", {"orders": "orders", "gmv": "gmv"}),
                         ("mart_repurchase_monthly", {"all_orders": "orders"})):
        columns = ", ".join([*SHARES, *extra])
        mart = frame_of(warehouse, f"select month, scope, coalesce(channel, '') as channel, {columns} "
                                   f"from marts.{table}", ["month", "scope", "channel"])
        assert_same(mart, mine, {**SHARES, **extra}, table)
    contribution = frame_of(warehouse, "select month, 'brand' as scope, '' as channel, orders, "
                                       f"{', '.join(SHARES)} from marts.mart_fan_contribution_monthly",
                            ["month", "scope", "channel"])
    assert_same(contribution, mine, {**SHARES, "orders": "orders"}, "mart_fan_contribution_monthly")


def test_identified_buyer_share_is_one_minus_the_unresolved_share_and_loyalty_share_counts_card_holders(warehouse):
    orders = orders_from_raw(warehouse)
    # a loyalty member holds a card: the person has a CRM member record, or a mini-program member
    # record carrying a card number (bridge records of those tables, their raw rows)
    bridge = query(warehouse, "select source_table, record_key, one_id from identity.bridge_record_member "
                              "where one_id is not null and source_table in ('crm_members', 'mp_members')")
    mp = raw(warehouse, "mp_members", ["openid"])
    carded = set(mp.openid[mp.card_no.fillna("").str.strip() != ""])
    loyal = set(bridge.one_id[(bridge.source_table == "crm_members")
                              | ((bridge.source_table == "mp_members") & bridge.record_key.isin(carded))])
    orders["loyal"] = orders.one_id.isin(loyal)
    mine = orders.groupby("month").apply(lambda m: pd.Series({
        "identified": m.net[m.one_id.notna()].sum() / m.net.sum(),
        "loyalty": m.net[m.loyal].sum() / m.net.sum(),
    }), include_groups=False)
    mart = frame_of(warehouse, "select month, identified_buyer_sales_share, loyalty_member_sales_share, "
                               "unresolved_gmv_share from marts.mart_sales_monthly where scope = 'brand'", ["month"])
    mine = mine.reindex(mart.index)
    assert np.allclose(mart.identified_buyer_sales_share, mine.identified, atol=SHARE)
    assert np.allclose(mart.loyalty_member_sales_share, mine.loyalty, atol=SHARE)
    assert np.allclose(mart.identified_buyer_sales_share + mart.unresolved_gmv_share, 1.0, atol=SHARE)
    # card holders are identified buyers: never more; and the demo has identified buyers without a
    # card (a JD pin alone), so the shares differ (in a month where receiver matches joined every
    # cardless buyer to a member they may meet)
    assert (mart.loyalty_member_sales_share <= mart.identified_buyer_sales_share + SHARE).all()
    assert (mart.loyalty_member_sales_share < mart.identified_buyer_sales_share).sum() >= len(mart) - 2, \
        "the demo has identified buyers without a card: the two shares must differ"
    columns = query(warehouse, "select column_name from information_schema.columns "
                               "where table_name = 'mart_sales_monthly'").column_name.tolist()
    assert "member_sales_share" not in columns and "identified_member_gmv" not in columns


def test_unresolved_shares_of_fan_buyers_and_channel_overlap(warehouse):
    orders = orders_from_raw(warehouse)
    valid = orders[orders.is_valid]
    per_month = valid.groupby("month").apply(unresolved, include_groups=False)
    fan_buyers = frame_of(warehouse, f"select month, segment, all_orders, all_gmv, {', '.join(SHARES)} "
                                     "from marts.mart_fan_buyers_monthly", ["month"])
    for _, rows in fan_buyers.groupby("segment"):
        assert_same(rows.drop(columns="segment"), per_month,
                    {**SHARES, "all_orders": "orders", "all_gmv": "gmv"}, "mart_fan_buyers_monthly")
    unidentified = fan_buyers[fan_buyers.segment == "unidentified"]
    assert np.array_equal(unidentified.unresolved_orders.to_numpy(),
                          query(warehouse, "select orders from marts.mart_fan_buyers_monthly "
                                           "where segment = 'unidentified' order by month").orders.to_numpy())

    overlap = frame_of(warehouse, f"select month, overlap_class, all_orders, all_gmv, {', '.join(SHARES)} "
                                  "from marts.mart_channel_overlap_monthly", ["month"])
    windows = {}
    for month in overlap.index.unique():
        window = valid[(valid.month > month - pd.DateOffset(months=12)) & (valid.month <= month)]
        windows[month] = unresolved(window)
    windows = pd.DataFrame(windows).T
    for _, rows in overlap.groupby("overlap_class"):
        assert_same(rows.drop(columns="overlap_class"), windows,
                    {**SHARES, "all_orders": "orders", "all_gmv": "gmv"}, "mart_channel_overlap_monthly")


def test_unresolved_shares_of_store_kpis_and_serving_store_credit(warehouse):
    orders = orders_from_raw(warehouse)
    orders["store"] = orders.store.where(orders.store.fillna("").str.strip() != "")
    at_store = orders[orders.store.notna() & orders.channel.isin(["pos", "mini_program"])]
    mine = at_store.groupby(["month", "store"]).apply(unresolved, include_groups=False)
    mine.index = mine.index.set_names(["month", "store_code"])
    stores = frame_of(warehouse, f"select month, store_code, store_gmv, {', '.join(SHARES)} "
                                 "from marts.mart_store_kpis_monthly", ["month", "store_code"])
    assert_same(stores, mine, {**SHARES, "store_gmv": "gmv"}, "mart_store_kpis_monthly")
    assert stores.unresolved_orders.sum() > 0

    credits = frame_of(warehouse, f"select month, store_code, credit_type, {', '.join(SHARES)} "
                                  "from marts.mart_guide_attribution_monthly", ["month", "store_code"])
    serving = credits[credits.credit_type == "serving_store"].drop(columns="credit_type")
    assert_same(serving, mine, SHARES, "mart_guide_attribution_monthly serving_store")
    owner = credits[credits.credit_type == "owner_guide"]
    assert (owner.unresolved_orders == 0).all() and (owner.unresolved_gmv.astype(float) == 0).all()


def private_domain_rule(paths, orders: pd.DataFrame) -> pd.Series:
    """Each order's crediting rule from raw data: mini_program_order for the mini-program channel,
    else wecom_guide_friend when the serving guide (staff master -> WeCom userid) was a live WeCom
    friend of the buyer when the order was placed; None otherwise."""
    staff = raw(paths, "staff", ["employee_no"])
    guide_userid = dict(zip(staff.employee_no, staff.wecom_userid))
    spells = fan_spells(paths)
    wecom = spells[(spells.source == "wecom") & spells.one_id.notna()]
    friends = {key: frame for key, frame in wecom.groupby(["one_id", "guide_userid"])}

    def rule(order) -> str | None:
        if order.channel == "mini_program":
            return "mini_program_order"
        guide = guide_userid.get(order.serving_guide) if pd.notna(order.serving_guide) else None
        if pd.isna(order.one_id) or guide is None:
            return None
        pair = friends.get((order.one_id, guide))
        return "wecom_guide_friend" if pair is not None and bool(live_at(pair, order.ordered_at).any()) else None

    return pd.Series([rule(o) for o in orders.itertuples()], index=orders.index, dtype=object)


def test_private_domain_gmv_by_rule_recomputed_from_raw_orders_and_wecom_spells(warehouse):
    orders = orders_from_raw(warehouse)
    orders["rule"] = private_domain_rule(warehouse, orders)
    credited = orders[orders.rule.notna()]
    brand = credited.groupby(["month", "rule"]).agg(orders=("is_valid", "sum"), gmv=("net", "sum"))
    brand["scope"], brand["channel"] = "brand", ""
    channel = credited.groupby(["month", "channel", "rule"]).agg(orders=("is_valid", "sum"), gmv=("net", "sum"))
    channel["scope"] = "channel"
    mine = pd.concat([brand.reset_index(), channel.reset_index()], ignore_index=True)
    mine = mine.set_index(["month", "scope", "channel", "rule"]).sort_index()

    mart = frame_of(warehouse, "select month, scope, coalesce(channel, '') as channel, private_domain_rule as rule, "
                               "orders, gmv, share_of_private_domain_gmv "
                               "from marts.mart_private_domain_gmv_by_rule_monthly",
                    ["month", "scope", "channel", "rule"])
    assert set(mine.index) <= set(mart.index)
    assert_same(mart, mine, {"orders": "orders", "gmv": "gmv"}, "mart_private_domain_gmv_by_rule_monthly")
    for rule in ("mini_program_order", "wecom_guide_friend"):
        assert mine.xs(rule, level="rule").gmv.sum() > 0, f"the demo credits GMV by {rule}"

    totals = mine.groupby(level=["month", "scope", "channel"]).gmv.sum()
    share = mine.gmv / totals.reindex(mine.droplevel("rule").index).to_numpy()
    assert np.allclose(mart.share_of_private_domain_gmv.reindex(mine.index).astype(float), share, atol=SHARE)

    sales = frame_of(warehouse, "select month, scope, coalesce(channel, '') as channel, private_domain_gmv "
                                "from marts.mart_sales_monthly", ["month", "scope", "channel"])
    by_rule = mart.groupby(level=["month", "scope", "channel"]).gmv.sum()
    cents = (by_rule.reindex(sales.index) * 100).round().astype("int64")  # DECIMAL(38,2) read as float
    assert (cents == (sales.private_domain_gmv * 100).round().astype("int64")).all(), "rules add up to the cent"


PER_PERSON_MARTS = {
    "mart_sales_monthly", "mart_repurchase_monthly", "mart_channel_overlap_monthly", "mart_fan_buyers_monthly",
    "mart_fan_contribution_monthly", "mart_member_rfm_lifecycle", "mart_member_channel_overlap",
    "mart_fans_monthly", "mart_groups_monthly", "mart_referrals_monthly", "mart_acquisition_qqc_monthly",
    "mart_guide_attribution_monthly", "mart_store_kpis_monthly", "mart_member_wecom_friends_monthly",
    "mart_sales_decomposition_monthly", "mart_outbound_calls_monthly", "mart_private_domain_gmv_by_rule_monthly",
    "mart_cohort_retention", "mart_member_kpis_monthly", "mart_member_repurchase_due", "mart_callback_list",
    "mart_repurchase_due_hit_rate", "mart_member_360", "mart_private_domain_attribution_rules_monthly",
    "mart_member_tags", "mart_tag_coverage", "mart_audience_members",
}


def test_every_per_person_mart_states_the_default_probabilistic_graph(warehouse):
    tables = query(warehouse, "select table_name from information_schema.columns "
                              "where table_schema = 'marts' and column_name = 'identity_graph'").table_name
    assert set(tables) == PER_PERSON_MARTS
    for table in PER_PERSON_MARTS:
        graphs = query(warehouse, f"select distinct identity_graph from marts.{table}").identity_graph
        assert graphs.tolist() == ["probabilistic"], table
