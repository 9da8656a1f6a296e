"""The brand's product catalogue and the order-line exports that existing order files lack.

JD (one row per order x SKU), Douyin (one row per sub-order) and POS (one row per receipt line)
already carry their lines. This module adds what the others need, without touching any file
written before it existed (every draw here comes from streams named ``products:*``, never from
the channel streams, so OneID and KPI figures of the demo do not move):

* the product master (商品档案, ERP export) keyed by merchant code (商家编码 / 货号) with
  category, series, launch date, list price, status and consumption cycle;
* the channel product-id map (渠道商品对照): JD SKU ids and Douyin product ids -> merchant code;
* the Tmall item sheet (宝贝/子订单报表) of each month: one row per sub-order, with the order's
  discount allocated to its lines in proportion to their list amount, rounded down to the fen,
  the remainder on the last line (the order's postage is not on any line), and line refunds;
* the mini-program order lines (``order/items`` API, amounts in fen) with the same allocation.

Cousins of a clean mapping, each on purpose: a Tmall gift line (赠品) whose code is in no
master (channel-only SKU), a retired code (``LJ-GUAER-10``, the old drip-bag code) still on an
old Tmall listing, codes typed with other case or stray spaces (``lj-drip-10``, ``LJ- COLD-6``),
and one JD listing id the map does not list. Two launches fall in the window: a single-origin
bean sold first in the mini-program (小程序首发) and a seasonal store drink.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from demo import text as tx
from demo import vocab
from demo.calendar import Month
from demo.context import Ctx
from demo.writers import CsvWriter, write_csv

# merchant code -> (category, series, launch date or fraction of the window, consumption cycle days)
CATALOGUE: dict[str, tuple[str, str, str | float, int]] = {
    "D1001": ("门店饮品", "经典咖啡", "2019-05-01", 3), "D1002": ("门店饮品", "经典咖啡", "2019-05-01", 3),
    "D1003": ("门店饮品", "植物基", "2021-03-15", 3), "D1004": ("门店饮品", "植物基", "2021-04-20", 3),
    "D1005": ("门店饮品", "经典咖啡", "2020-06-01", 3), "D1006": ("门店饮品", "冷萃", "2020-05-10", 3),
    "D1007": ("门店饮品", "产地精品", "2022-09-01", 7), "D1008": ("门店饮品", "茶咖", "2023-03-01", 3),
    "F2001": ("烘焙轻食", "烘焙", "2019-05-01", 7), "F2002": ("烘焙轻食", "烘焙", "2020-01-10", 7),
    "F2003": ("烘焙轻食", "轻食", "2021-08-01", 7), "F2004": ("烘焙轻食", "烘焙", "2022-11-01", 14),
    "R3001": ("挂耳咖啡", "日常便捷", "2020-10-01", 10), "R3002": ("咖啡豆", "鹿角拼配", "2019-05-01", 21),
    "LJ-BEAN-HOUSE-454": ("咖啡豆", "鹿角拼配", "2019-11-11", 30),
    "LJ-BEAN-YN-227": ("咖啡豆", "产地精品", "2021-06-18", 21),
    "LJ-DRIP-10": ("挂耳咖啡", "日常便捷", "2023-04-01", 10), "LJ-DRIP-30": ("挂耳咖啡", "日常便捷", "2020-11-11", 30),
    "LJ-COLD-6": ("即饮咖啡", "冷萃", "2022-05-20", 6), "LJ-CAP-20": ("胶囊咖啡", "日常便捷", "2021-11-01", 20),
    "LJ-MUG-01": ("周边器具", "周边", "2020-12-01", 0), "LJ-TUMB-01": ("周边器具", "周边", "2022-10-01", 0),
    "LJ-GIFT-01": ("礼盒", "节日限定", "2024-12-20", 0), "LJ-INST-30": ("速溶咖啡", "日常便捷", "2022-03-01", 30),
    # launches inside the window (fraction of the window's days)
    "LJ-BEAN-HUILA-227": ("咖啡豆", "产地精品", 0.55, 21),
    "D1009": ("门店饮品", "季节限定", 0.8, 3),
}
# (merchant code, title, price fen) of the launches; each replaces a share of the lines of an
# existing product at the same price from its launch day on (the order amounts stay as they were)
LAUNCHES = {
    "LJ-BEAN-HUILA-227": ("鹿角咖啡 哥伦比亚慧兰 单一产地咖啡豆 中浅烘 227g", 8800, "LJ-BEAN-YN-227", 0.6),
    "D1009": ("桂花拿铁", 3000, "D1004", 0.5),
}
RETIRED_CODE = ("LJ-GUAER-10", "LJ-DRIP-10")  # the old drip-bag code, on Tmall listings of the first months
GIFT = ("TM-ZP-BAG", "【赠品】鹿角咖啡 帆布袋")  # a Tmall gift line: no master row
UNMAPPED_JD_CODE = "LJ-INST-30"  # its JD listing id is missing from the channel map
TMALL_REFUND = ("没有申请退款", "退款成功")
MP_ITEM_FIELDS = ("order_no", "item_no", "goods_code", "goods_name", "quantity", "price", "total_fee",
                  "discount_fee", "pay_fee", "refund_fee", "update_time")


def launch_day(ctx: Ctx, code: str) -> int:
    """Day index of a launch inside the window."""
    return int(ctx.world.cal.days * float(CATALOGUE[code][2]))


def launch_date(ctx: Ctx, code: str) -> str:
    """The launch date as the master prints it."""
    value = CATALOGUE[code][2]
    if isinstance(value, str):
        return value
    cal = ctx.world.cal
    return tx.wall_date(np.array([cal.sec(launch_day(ctx, code), 0)]))[0].as_py()


def allocate(order: np.ndarray, list_amount: np.ndarray, order_net: np.ndarray) -> np.ndarray:
    """Each line's share of its order's net goods amount (fen): proportional to the line's list
    amount, rounded down, the remainder on the order's last line, so lines sum to the order exactly.
    ``order`` gives each line's order (sorted), ``order_net`` is per order."""
    n_orders = len(order_net)
    total = np.bincount(order, weights=list_amount, minlength=n_orders).astype(np.int64)
    share = np.where(total[order] > 0, order_net[order] * list_amount // np.maximum(total[order], 1), 0)
    last = np.r_[order[1:] != order[:-1], True] if len(order) else np.zeros(0, bool)
    rest = order_net - np.bincount(order, weights=share, minlength=n_orders).astype(np.int64)
    share[last] += rest[order[last]]
    return share


def refund_lines(order: np.ndarray, line_paid: np.ndarray, order_refund: np.ndarray) -> np.ndarray:
    """An order's refund spread over its lines in line order, each line at most its paid amount
    (a refund beyond the lines, e.g. postage, stays on no line)."""
    start = np.r_[0, np.cumsum(np.bincount(order, minlength=len(order_refund)))][:-1]
    earlier = np.cumsum(line_paid) - line_paid
    before = earlier - earlier[start[order]]
    return np.clip(order_refund[order] - before, 0, line_paid)


# =========================================================================== master files


def write_master(ctx: Ctx) -> None:
    """Product master (ERP 商品档案, CSV saved from Excel: UTF-8 with BOM) and the channel
    product-id map (渠道商品对照), both as of the end of the window."""
    cal = ctx.world.cal
    titles = {s[0]: (s[1], s[2]) for s in vocab.STORE_SKUS} | {s[0]: (s[1], s[2]) for s in vocab.ONLINE_SKUS}
    titles |= {code: (t, p) for code, (t, p, _, _) in LAUNCHES.items()}
    codes = list(CATALOGUE)
    header = ["商家编码", "商品名称", "品类", "系列", "上市日期", "零售价", "商品状态", "消费周期(天)"]
    cols = [
        pa.array(codes), pa.array([titles[c][0] for c in codes]), pa.array([CATALOGUE[c][0] for c in codes]),
        pa.array([CATALOGUE[c][1] for c in codes]), pa.array([launch_date(ctx, c) for c in codes]),
        tx.yuan(np.array([titles[c][1] for c in codes])), tx.const("在售", len(codes)),
        pa.array([str(CATALOGUE[c][3]) if CATALOGUE[c][3] else "" for c in codes]),
    ]
    write_csv(ctx.out, ctx.path("master", "products", f"products_{cal.end_label}.csv"), header, cols, bom=True)
    ctx.truth.rows_written("products", len(codes))

    rows = [("京东", s[4], s[0], s[1]) for s in vocab.ONLINE_SKUS if s[0] != UNMAPPED_JD_CODE]
    rows += [("抖音", s[5], s[0], s[1]) for s in vocab.ONLINE_SKUS]
    header = ["渠道", "渠道商品ID", "商家编码", "渠道商品名称"]
    cols = [pa.array([r[i] for r in rows]) for i in range(4)]
    write_csv(ctx.out, ctx.path("master", "product_channel_ids", f"product_channel_ids_{cal.end_label}.csv"),
              header, cols, bom=True)
    ctx.truth.rows_written("product_channel_ids", len(rows))


# =========================================================================== Tmall item sheet


@dataclass
class TmallMonth:
    """What the Tmall order report of a month decided, per order (amounts in fen)."""

    order_id: np.ndarray
    sku1: np.ndarray
    sku2: np.ndarray
    two: np.ndarray
    q1: np.ndarray
    goods: np.ndarray
    postage: np.ndarray
    payable: np.ndarray
    refund: np.ndarray
    status: np.ndarray
    status_names: tuple[str, ...]


def tmall_items(ctx: Ctx, m: Month, mi: int, o: TmallMonth) -> None:
    """Tmall item sheet of month m (GBK, like the order report): 子订单编号, 主订单编号, 商品标题,
    商品价格, 购买数量, 商家编码, 分摊后实付金额, 退款状态, 退款金额, 订单状态.

    Lines: the order report's first product (its quantity), the second when the title names two,
    and for some orders a gift line at 0.00. 分摊后实付金额 is the order's payable amount minus
    postage, allocated to the lines (``allocate``); the refund goes to lines in order (``refund_lines``).
    """
    r = ctx.world.rng("products:tmall_items", m.label)
    n = len(o.order_id)
    gift = r.random(n) < 0.05
    k = 1 + o.two + gift
    order = np.repeat(np.arange(n), k)
    pos = np.arange(len(order)) - np.repeat(np.r_[0, np.cumsum(k)][:-1], k)
    is_gift = (pos == k[order] - 1) & gift[order]
    prices = np.array([s[2] for s in vocab.ONLINE_SKUS])
    sku = np.where(pos == 0, o.sku1[order], o.sku2[order])
    qty = np.where(pos == 0, o.q1[order], 1)
    price = np.where(is_gift, 0, prices[sku])
    list_amount = price * qty
    paid_lines = allocate(order, list_amount, o.payable - o.postage)
    refund = refund_lines(order, paid_lines, o.refund)
    codes = np.array([s[0] for s in vocab.ONLINE_SKUS], dtype=object)[sku]
    codes[is_gift] = GIFT[0]
    # the old drip-bag code on listings not yet relabelled (first third of the window)
    old = (codes == RETIRED_CODE[1]) & (mi < len(ctx.world.cal.months) // 3) & (r.random(len(order)) < 0.5)
    codes[old] = RETIRED_CODE[0]
    typed = r.random(len(order)) < 0.04
    style = r.integers(0, 3, len(order))
    for i in np.flatnonzero(typed & ~is_gift):
        c = codes[i]
        codes[i] = c.lower() if style[i] == 0 else (c.replace("-", "- ", 1) if style[i] == 1 else " " + c)
    titles = np.array([s[1] for s in vocab.ONLINE_SKUS], dtype=object)[sku]
    titles[is_gift] = GIFT[1]
    ctx.truth.count("tmall_item_lines_gift", int(is_gift.sum()))
    ctx.truth.count("tmall_item_lines_retired_code", int(old.sum()))
    ctx.truth.count("tmall_item_lines_code_typed", int((typed & ~is_gift).sum()))
    header = ["子订单编号", "主订单编号", "商品标题", "商品价格", "购买数量", "商家编码", "分摊后实付金额",
              "退款状态", "退款金额", "订单状态"]
    path = ctx.path("tmall", "order_items", f"ExportOrderDetailList_{m.label}.csv")
    main = tx.concat('="', tx.ints(o.order_id[order]), '"')
    sub = tx.concat('="', tx.ints(3 * 10**18 + o.order_id[order] % 10**17 * 10 + pos), '"')
    with CsvWriter(ctx.out, path, header, "gbk", "\r\n", unquoted=[0, 1]) as writer:
        writer.write([sub, main, pa.array(list(titles), pa.string()), tx.yuan(price), tx.ints(qty),
                      pa.array(list(codes), pa.string()), tx.yuan(paid_lines),
                      tx.pick(TMALL_REFUND, (refund > 0).astype(np.int64)), tx.yuan(refund),
                      tx.pick(o.status_names, o.status[order])])
    ctx.truth.rows_written("tmall_order_items", len(order))


# =========================================================================== mini-program lines


def mp_goods(ctx: Ctx, m: Month, express: np.ndarray, goods_pick: np.ndarray, drink_pick: np.ndarray,
             day: np.ndarray) -> np.ndarray:
    """Each mini-program order's merchant code: the goods or drink it was priced from, switched to
    a launch at the same price for a share of orders from the launch day on."""
    codes = np.where(express, np.array([s[0] for s in vocab.ONLINE_SKUS], dtype=object)[goods_pick],
                     np.array([s[0] for s in vocab.STORE_SKUS[:8]], dtype=object)[drink_pick])
    u = ctx.world.rng("products:mp_launch", m.label).random(len(codes))
    for code, (_, _, replaces, share) in LAUNCHES.items():
        codes = np.where((codes == replaces) & (day >= launch_day(ctx, code)) & (u < share), code, codes)
    return codes


def mp_item_lines(codes: np.ndarray, items: np.ndarray, total: np.ndarray, discount: np.ndarray,
                  pay: np.ndarray, refund: np.ndarray, order_no: pa.Array, update_time: pa.Array) -> pa.Array:
    """One JSON line per order line: the mini-program sells one goods per order (quantity
    ``items``), so the line carries the order's fees; pay_fee is at least 1 fen like the order's."""
    titles = {s[0]: s[1] for s in vocab.STORE_SKUS} | {s[0]: s[1] for s in vocab.ONLINE_SKUS}
    titles |= {c: t for c, (t, _, _, _) in LAUNCHES.items()}
    values = {
        "order_no": tx.json_str(order_no),
        "item_no": tx.const("1", len(codes)),
        "goods_code": tx.json_str(pa.array(list(codes), pa.string())),
        "goods_name": tx.json_str(pa.array([titles[c] for c in codes], pa.string())),
        "quantity": tx.ints(items),
        "price": tx.ints(total // np.maximum(items, 1)),
        "total_fee": tx.ints(total),
        "discount_fee": tx.ints(discount),
        "pay_fee": tx.ints(pay),
        "refund_fee": tx.ints(refund),
        "update_time": tx.json_str(update_time),
    }
    return tx.json_object([(k, values[k]) for k in MP_ITEM_FIELDS])
