"""Order lines, their reconciliation with orders, and category cross-buy, recomputed in pandas.

Reads the raw Parquet tables of the session's published build (fixture ``published``: no build
of its own) and applies the definitions of the dbt docs from scratch: which export carries each
channel's lines, JD's allocation of the paid amount to lines (down to the fen, the remainder on
the last line), refunds in full spread over lines, freight on no line, merchant codes compared
upper case without spaces, JD listing ids through the channel map. Orders come from the
independent order recomputation of test_marts_recompute; member identity (the bridge) and the
code-list seeds are the shared inputs, as there.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from demo import products as demo_products
from tests.marts.test_marts_recompute import CNY, mapped, orders_from_raw, query, raw, status_map


def code_key(codes: pd.Series) -> pd.Series:
    """The merchant code matching key: trimmed, upper case, ASCII and full-width spaces removed."""
    return codes.str.strip().str.upper().str.replace(" ", "", regex=False).str.replace("\u3000", "", regex=False)


def spread_refund(lines: pd.DataFrame, order_refund: pd.Series) -> np.ndarray:
    """An order's refund over its lines in line order, each line at most its paid amount."""
    before = lines.groupby(["channel", "order_id"]).paid.cumsum() - lines.paid
    return np.clip(order_refund.values - before.values, 0, lines.paid.values)


def lines_from_raw(paths, orders: pd.DataFrame) -> pd.DataFrame:
    """One row per order line of every channel: channel, order_id, line_id, line_no, code (exported
    merchant code), listing id, paid, refund; paid 0 on lines of orders never paid."""
    paid_orders = set(zip(orders.channel[orders.is_paid], orders.order_id[orders.is_paid]))
    parts = []

    tmall = raw(paths, "tmall_order_items", ["sub_order_id"]).sort_values("sub_order_id")
    parts.append(pd.DataFrame({"channel": "tmall", "order_id": tmall.order_id, "line_id": tmall.sub_order_id,
                               "code": tmall.merchant_code, "listing_id": None,
                               "paid": tmall.line_paid_amount.fillna(0), "refund": tmall.refund_amount.fillna(0)}))

    jd = raw(paths, "jd_orders", ["order_id", "sku_id"]).sort_values(["order_id", "sku_id"]).reset_index(drop=True)
    first = jd.groupby("order_id").head(1).set_index("order_id")
    order_paid = orders[orders.channel == "jd"].set_index("order_id")
    paid = order_paid.paid.reindex(jd.order_id).fillna(0).values
    goods_fen = np.round((paid - np.where(paid > 0, first.freight.reindex(jd.order_id).fillna(0).values, 0)) * 100)
    line_fen = np.round(jd.unit_price.values * jd.qty.values * 100)
    total_fen = pd.Series(line_fen).groupby(jd.order_id).transform("sum").values
    share = np.floor(goods_fen * line_fen / np.where(total_fen > 0, total_fen, 1))
    is_last = ~jd.order_id.duplicated(keep="last").values
    rest = goods_fen - pd.Series(share).groupby(jd.order_id).transform("sum").values
    jd_lines = pd.DataFrame({"channel": "jd", "order_id": jd.order_id, "line_id": jd.order_id + "|" + jd.sku_id,
                             "code": None, "listing_id": jd.sku_id, "paid": (share + np.where(is_last, rest, 0)) / 100})
    jd_lines["refund"] = spread_refund(jd_lines, order_paid.refund.reindex(jd.order_id).fillna(0))
    parts.append(jd_lines)

    dy = raw(paths, "douyin_orders", ["sub_order_id"])
    dy_orders = orders[orders.channel == "douyin"]
    # Douyin refunds per sub-order: recomputed with the order roll-up (refund = paid when refunded)
    dy_refunded = dy.order_id.map(dict(zip(dy_orders.order_id, dy_orders.refund > 0)))
    parts.append(pd.DataFrame({"channel": "douyin", "order_id": dy.order_id, "line_id": dy.sub_order_id,
                               "code": dy.merchant_sku, "listing_id": dy.product_id,
                               "paid": dy.payable_amount.fillna(0), "refund": np.nan, "_refunded": dy_refunded}))

    mp = raw(paths, "mp_order_items", ["order_no", "item_no"])
    parts.append(pd.DataFrame({"channel": "mini_program", "order_id": mp.order_no,
                               "line_id": mp.order_no + "|" + mp.item_no.astype(str), "code": mp.goods_code,
                               "listing_id": None, "paid": mp.paid_amount.fillna(0),
                               "refund": mp.refund_amount.fillna(0)}))

    pos = raw(paths, "pos_sales", ["store_code", "receipt_no", "line_no"])
    receipt = pos.store_code + "-" + pos.receipt_no
    doc = mapped(pos.doc_type, status_map("pos")).map(lambda s: s[0] if s else None)
    is_return = (doc == "refunded") | (pos.amount < 0) | (pos.qty.fillna(0) < 0)
    parts.append(pd.DataFrame({"channel": "pos", "order_id": receipt,
                               "line_id": receipt + "|" + pos.line_no.astype(str), "code": pos.sku,
                               "listing_id": None, "paid": np.where(is_return, 0.0, pos.amount),
                               "refund": np.where(is_return, pos.amount.abs(), 0.0)}))

    lines = pd.concat(parts, ignore_index=True)
    unpaid = ~pd.Series(list(zip(lines.channel, lines.order_id))).isin(paid_orders).values & (lines.channel != "pos")
    lines.loc[unpaid, "paid"] = 0.0
    douyin = lines.channel == "douyin"
    lines.loc[douyin, "refund"] = np.where(lines.loc[douyin, "_refunded"].fillna(False).astype(bool),
                                           lines.loc[douyin, "paid"], 0.0)
    return lines.drop(columns="_refunded")


def with_products(paths, lines: pd.DataFrame) -> pd.DataFrame:
    """The master's merchant code and category of each line (exported code, else JD listing id)."""
    master = raw(paths, "products", ["merchant_code"])
    master_keys = code_key(master.merchant_code)
    code_of, category_of = dict(zip(master_keys, master.merchant_code)), dict(zip(master_keys, master.category))
    listing = raw(paths, "product_channel_ids", ["sales_channel", "channel_product_id"])
    listing = listing[listing.sales_channel == "京东"]
    jd_map = dict(zip(listing.channel_product_id, code_key(listing.merchant_code)))
    keys = code_key(lines.code.astype("string"))
    keys = keys.where(lines.code.notna(), lines.listing_id.map(jd_map).where(lines.channel == "jd"))
    return lines.assign(merchant_code=keys.map(code_of), category=keys.map(category_of))


@pytest.fixture(scope="module")
def recomputed(published):
    orders = orders_from_raw(published)
    return published, orders, with_products(published, lines_from_raw(published, orders))


def test_lines_sum_to_their_orders_per_channel_and_month_up_to_the_freight(recomputed):
    paths, orders, lines = recomputed
    tmall = raw(paths, "tmall_orders", ["order_id"])
    jd = raw(paths, "jd_orders", ["order_id", "sku_id"]).drop_duplicates("order_id")
    freight = pd.concat([pd.DataFrame({"channel": "tmall", "order_id": tmall.order_id, "freight": tmall.postage}),
                         pd.DataFrame({"channel": "jd", "order_id": jd.order_id, "freight": jd.freight})])
    per_order = lines.groupby(["channel", "order_id"], as_index=False).agg(
        line_paid=("paid", "sum"), line_refund=("refund", "sum"), order_lines=("line_id", "size"))
    both = orders.merge(per_order, on=["channel", "order_id"]).merge(freight, on=["channel", "order_id"], how="left")
    both["freight_paid"] = np.where(both.paid > 0, both.freight.fillna(0), 0.0)
    both["freight_refunded"] = np.where((both.paid > 0) & (both.refund >= both.paid), both.freight.fillna(0), 0.0)
    expected = both.groupby(["channel", "month"]).agg(
        order_paid_amount=("paid", "sum"), line_paid_amount=("line_paid", "sum"),
        freight_paid_amount=("freight_paid", "sum"), order_refund_amount=("refund", "sum"),
        line_refund_amount=("line_refund", "sum"), freight_refunded_amount=("freight_refunded", "sum"))
    # the definition itself, on the raw data: lines + freight = orders, every channel and month
    gap = expected.order_paid_amount - expected.line_paid_amount - expected.freight_paid_amount
    assert gap.abs().max() < CNY / 2, gap[gap.abs() >= CNY / 2]
    refund_gap = expected.order_refund_amount - expected.line_refund_amount - expected.freight_refunded_amount
    assert refund_gap.abs().max() < CNY / 2, refund_gap[refund_gap.abs() >= CNY / 2]
    assert (expected.freight_paid_amount > 0).any()  # the freight case is exercised, not vacuous

    built = query(paths, "select * from marts.quality_order_line_reconciliation where order_month is not null")
    built["month"] = pd.to_datetime(built.order_month)
    built = built.set_index(["channel", "month"]).sort_index()
    assert set(built.index) == set(expected.index)
    for column in expected.columns:
        diff = (built[column].astype(float) - expected[column].reindex(built.index)).abs()
        assert diff.max() < CNY / 2, (column, diff[diff >= CNY / 2])
    assert built.unexplained_paid_difference.astype(float).abs().max() < CNY / 2
    assert built.unexplained_refund_difference.astype(float).abs().max() < CNY / 2

    # differences listed, not hidden: lines whose order row is not in the lake (quarantined)
    keys = set(zip(orders.channel, orders.order_id))
    orphans = lines[[k not in keys for k in zip(lines.channel, lines.order_id)]]
    listed = query(paths, "select channel, sum(lines_without_order) as n from marts.quality_order_line_reconciliation "
                          "group by channel having sum(lines_without_order) > 0")
    assert dict(zip(listed.channel, listed.n.astype(int))) == orphans.groupby("channel").size().to_dict()


def test_every_line_carries_the_recomputed_amounts_and_product(recomputed):
    paths, _, lines = recomputed
    built = query(paths, "select channel, line_id, paid_amount, refund_amount, merchant_code "
                         "from marts.fct_order_lines")
    both = lines.merge(built, on=["channel", "line_id"], how="outer", indicator=True)
    assert (both._merge == "both").all(), both[both._merge != "both"][["channel", "line_id", "_merge"]].head()
    for ours, theirs in (("paid", "paid_amount"), ("refund", "refund_amount")):
        diff = (both[ours] - both[theirs].astype(float)).abs()
        assert diff.max() < CNY / 2, both.loc[diff >= CNY / 2, ["channel", "line_id", ours, theirs]].head()
    assert (both.merchant_code_x.fillna("-") == both.merchant_code_y.fillna("-")).all()
    # JD allocation: lines of multi-SKU JD orders are not all at their list share (discounts moved)
    assert both[both.channel == "jd"].paid.sum() > 0


def test_unmapped_products_are_the_demo_cousins_and_typed_codes_map(recomputed):
    paths, _, lines = recomputed
    unmapped = lines[lines.merchant_code.isna() & (lines.code.notna() | lines.listing_id.notna())]
    expected = set(zip(unmapped.channel, unmapped.code.fillna(unmapped.listing_id)))
    listed = query(paths, "select channel, source_product_code from marts.quality_unmapped_products")
    assert set(zip(listed.channel, listed.source_product_code)) == expected
    codes = {code_key(pd.Series([c])).iloc[0] for _, c in expected}
    assert demo_products.GIFT[0] in codes and demo_products.RETIRED_CODE[0] in codes
    assert ("jd", next(s[4] for s in demo_products.vocab.ONLINE_SKUS if s[0] == demo_products.UNMAPPED_JD_CODE)) \
        in expected
    typed = lines[lines.code.notna() & (lines.code != code_key(lines.code.astype("string")))]
    assert len(typed) and typed.merchant_code.notna().sum() > 0  # hand-typed codes found their product


def test_category_cross_buy_matches_a_recomputation(recomputed):
    paths, orders, lines = recomputed
    valid = orders[orders.is_valid & orders.one_id.notna()][["channel", "order_id", "one_id"]]
    bought = lines[lines.category.notna() & (lines.paid - lines.refund > 0)].merge(valid, on=["channel", "order_id"])
    pairs = bought[["one_id", "category"]].drop_duplicates()
    buyers = pairs.groupby("category").size()
    everyone = pairs.one_id.nunique()
    cross = pairs.merge(pairs, on="one_id", suffixes=("_a", "_b")).groupby(["category_a", "category_b"]).size()
    expected = pd.DataFrame({"both_buyers": cross})
    expected["category_a_buyers"] = buyers.reindex(expected.index.get_level_values(0)).values
    expected["share_of_a_buyers"] = expected.both_buyers / expected.category_a_buyers
    expected["lift"] = expected.share_of_a_buyers / (buyers.reindex(expected.index.get_level_values(1)).values
                                                     / everyone)

    built = query(paths, "select * from marts.mart_category_cross_buy").set_index(["category_a", "category_b"])
    assert set(built.index) == set(expected.index) and len(built) > 4
    for column in expected.columns:
        diff = (built[column].astype(float) - expected[column].reindex(built.index)).abs()
        assert diff.max() < 1e-9, (column, diff[diff >= 1e-9])


def test_money_summed_from_lines_stays_decimal_in_every_mart(published):
    """Amounts are exact to the fen: a money column (``*amount``, ``gmv``) of a mart or intermediate
    table is a DECIMAL, never a float whose sums drift in the last digits from one build to the next
    (fct_order_lines' JD allocation once made every line amount a DOUBLE). Ratios and rates
    (``share_of_*``, ``*_share``, ``*_per_*``, ``*_vs_*``) are floats by design."""
    columns = query(published, "select schema_name, table_name, column_name, data_type from duckdb_columns() "
                               "where schema_name in ('marts', 'intermediate')")
    money = columns[(columns.column_name.str.endswith("amount") | columns.column_name.eq("gmv"))
                    & ~columns.column_name.str.contains("share|_per_|_vs_")]
    assert len(money) > 20 and {"paid_amount", "refund_amount", "net_amount"} <= set(
        money[money.table_name == "fct_order_lines"].column_name)
    floats = money[money.data_type.isin(["DOUBLE", "FLOAT", "REAL"])]
    assert floats.empty, floats.to_string()
