"""The next night's exports of a generated demo brand: what each channel delivers for one more day.

    python -m demo.next_day --home H [--day N]

``H`` holds a brand ``demo.generate`` wrote (``landing/`` and ``truth/``). Day N is the business
day ``end_date + N``; without ``--day`` the next day not delivered yet. Each delivery lands in
``landing/<export folder>/next_day/dNNN/`` beside the monthly exports, in the format of that
channel's latest export (its headers, encoding, BOM, line terminator and quirks such as Taobao's
``="..."`` order numbers): the generator copies the shape of real rows of that export and changes
what a new day changes. What a night brings:

* new orders on every order channel (Tmall orders and items, JD, Douyin, mini-program orders and
  items, both POS systems), paid that day and not shipped yet; one order channel delivers nothing
  that night (an empty day: no file, as exporters with nothing to send do; a header-only file is
  a failed export that the volume gate refuses);
* refunds of old orders as later status exports of the same order: a full refund of an order of
  last month and a partial refund of one of three months ago on Tmall (order and item rows) and
  the mini-program (its ``update_time`` moves), a full refund on Douyin (售后状态) and on JD (every
  line of the order again as 已取消, its payment time kept);
* returns at the till: on each POS system delivering that night, a member brings back every item
  of a receipt of last month (a new return receipt, 单据类型 退货, negative lines, the member's card);
* new WeCom friends (``add_external_contact`` events and the contact list page) and new
  official-account followers, of persons who had none, with the unionid that joins them to their
  member; and the opposite: customers deleting their guide (``del_follow_user``) and followers
  unsubscribing (``subscribe: 0``, no subscribe time);
* identity merges: a WeCom contact carrying a unionid and the mobile of a CRM member whose CRM row
  has no unionid, so the member's CRM record and their unionid records meet in one record;
* from day 2: a correction of the day before (its Tmall order export delivered again at the same
  path with changed rows), and a duplicated re-delivery (the day before's Douyin file again,
  byte for byte, under this night's folder: the ledger knows its content);
* on day 2 a JD export whose header arrives garbled (UTF-8 header bytes read as GBK: no required
  column is found, ingest rejects the file) and on day 3 the same file delivered fixed at the
  same path.

Export times: the base demo's exports carry no date ingest reads as an export time (their names
hold a month), so their export time is their modification time, i.e. when they were generated.
A delivery dated with its business day (``..._20261101.csv``) would be older than them and a
refund re-export would lose to the original export. Deliveries are therefore named by day
number, not date, and their export time is their modification time too: written later, newer.

Truth stays consistent: every new record's key is added to ``truth/records.parquet`` with the
person of the record it was modelled on (or the person the contact belongs to), so
``demo.score_identity`` and ``demo.score_kpis`` judge the nightly warehouse as they judge the
full one; ``truth/next_day/dNNN.json`` lists the night's files and cases. Randomness comes from
a Generator of its own (world seed, day, ``SEED_CONSTANT``), never from the shared streams of
``demo.generate``: every existing export stays byte-identical.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from demo.truth import RECORDS_SCHEMA
from ingest.contract import Contract, load_contracts
from ingest.settings import BUSINESS_TZ

SEED_CONSTANT = 2020_1101  # issue 20's own stream: never one of demo.generate's
FOLDER = "next_day"
BROKEN_DAY = 2  # the night a JD export arrives with a garbled header; fixed on BROKEN_DAY + 1
EMPTY_CHANNEL = {1: "pos_franchise", 2: "douyin"}  # day -> the order export with nothing that night
DEFAULT_EMPTY = "pos_franchise"
_ID_CHARS = np.array(list(string.ascii_letters + string.digits + "_-"))


class NextDayError(RuntimeError):
    """The home cannot take a next day (no generated brand, an export missing); says what and where."""


# ----------------------------------------------------------------------------- CSV exports as written


@dataclass
class CsvExport:
    """One CSV export as its system wrote it: header, rows (cells as written), encoding, terminator."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    encoding: str
    bom: bool
    terminator: str

    def col(self, *names: str) -> int:
        for name in names:
            if name in self.header:
                return self.header.index(name)
        raise NextDayError(f"{self.path}: none of the columns {names} in its header {self.header}")


def read_csv_export(path: Path) -> CsvExport:
    """Read an export with the encoding it was written in (UTF-8 with or without BOM, else GB18030)."""
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text, encoding = raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = raw.decode("gb18030"), "gb18030"
    terminator = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return CsvExport(path, rows[0], [r for r in rows[1:] if r], encoding, bom, terminator)


def _cell(value: str) -> str:
    """A cell as the demo's writers write it: raw when it is Taobao's ``="..."``, quoted only when
    it holds a delimiter, a quote or a line break (demo.writers._csv_field)."""
    if value.startswith('="') and value.endswith('"'):
        return value
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def render_csv(export: CsvExport, rows: list[list[str]], header: list[str] | None = None) -> bytes:
    text = "".join(",".join(_cell(v) for v in row) + export.terminator for row in [header or export.header, *rows])
    return (b"\xef\xbb\xbf" if export.bom else b"") + text.encode(export.encoding)


def bare(value: str) -> str:
    """The value ingest reads: ``="123"`` and a leading ``'`` unwrapped, trimmed."""
    value = value.strip()
    if value.startswith('="') and value.endswith('"'):
        value = value[2:-1]
    return value.lstrip("'")


# ----------------------------------------------------------------------------- the night


@dataclass
class Night:
    """What one night delivers: files (bytes by path under landing), truth rows and the case counts."""

    home: Path
    day: int
    date: dt.date
    rng: np.random.Generator
    files: dict[str, bytes] = field(default_factory=dict)
    truth: list[tuple[str, str, str | None]] = field(default_factory=list)
    cases: dict[str, int] = field(default_factory=dict)

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    def folder(self, export_folder: str) -> str:
        return f"{export_folder}/{FOLDER}/d{self.day:03d}"

    def count(self, case: str, k: int = 1) -> None:
        self.cases[case] = self.cases.get(case, 0) + int(k)

    def moment(self) -> dt.datetime:
        """A time of the business day, between 08:00 and 23:00."""
        seconds = int(self.rng.integers(8 * 3600, 23 * 3600))
        return dt.datetime.combine(self.date, dt.time()) + dt.timedelta(seconds=seconds)

    def digits(self, like: str, taken: set[str], keep: int = 0) -> str:
        """A new identifier shaped like ``like``: its first ``keep`` characters and its letters kept,
        its other digits drawn again; never one in ``taken`` (which it joins)."""
        while True:
            drawn = like[:keep] + "".join(str(d) if c.isdigit() else c
                                          for c, d in zip(like[keep:], self.rng.integers(0, 10, len(like) - keep)))
            if drawn[0] == "0" and like[0] != "0":
                continue
            if drawn not in taken:
                taken.add(drawn)
                return drawn

    def external_userid(self) -> str:
        return "wm" + "".join(self.rng.choice(_ID_CHARS, 30))


def _latest(landing: Path, pattern: str) -> Path:
    found = sorted(p for p in landing.glob(pattern) if FOLDER not in p.relative_to(landing).parts)
    if not found:
        raise NextDayError(f"{landing}: no export matches {pattern!r}; generate the brand with demo.generate first")
    return found[-1]


def _monthly(landing: Path, pattern: str) -> list[Path]:
    return sorted(p for p in landing.glob(pattern) if FOLDER not in p.relative_to(landing).parts)


def _format_time(template: str, moment: dt.datetime) -> str:
    """A time written the way the template column writes it (``2026/10/1 13:17`` or ISO-like)."""
    if "/" in template:
        return f"{moment.year}/{moment.month}/{moment.day} {moment:%H:%M}"
    return f"{moment:%Y-%m-%d %H:%M:%S}"


class KeyOf:
    """The record key ingest and truth give a row: the contract's key columns, found by alias."""

    def __init__(self, contract: Contract, export: CsvExport) -> None:
        by_name = {c.name: c for c in contract.columns}
        self.table = contract.table
        self.positions = [next(export.header.index(a) for a in by_name[k].aliases if a in export.header)
                          for k in contract.key]

    def __call__(self, row: list[str]) -> str:
        return "|".join(bare(row[i]) for i in self.positions)


def conform(row: list[str], source: CsvExport, target: CsvExport, contract: Contract) -> list[str]:
    """A row of an older export rewritten in a newer export's header (headers drift between years:
    the contract's aliases say which old column a new one is)."""
    values = dict(zip(source.header, row))
    out = []
    for name in target.header:
        column = next((c for c in contract.columns if name in c.aliases), None)
        aliases = column.aliases if column else (name,)
        out.append(next((values[a] for a in (name, *aliases) if a in values), ""))
    return out


ITEM_PAID = "<the item's paid amount>"


# ----------------------------------------------------------------------------- order channels


@dataclass(frozen=True)
class OrderExport:
    """A CSV order export: where its monthly files are, its order key, times and the status of a
    new (paid, not shipped) order; ``lines`` names an export whose rows hang off the same orders."""

    name: str
    table: str
    pattern: str
    order: tuple[str, ...]
    created: str
    times: tuple[str, ...]  # other times of the order: paid kept at created + its delay, the rest emptied
    paid: str | None
    status: str | None
    new_status: str | None
    line_key: str | None = None  # a per-line identifier drawn again (sub-order numbers)
    resets: tuple[tuple[str, str], ...] = ()  # (column, value) of a new order whatever its template had
    scope: tuple[str, ...] = ()  # columns within which the order number is unique (a store's receipts)


ORDER_EXPORTS = {
    "tmall": OrderExport("tmall", "tmall_orders", "tmall/orders/*.csv", ("订单编号",), "买家下单时间",
                         ("订单付款时间",), "买家付款时间", "订单状态", "买家已付款，等待卖家发货"),
    "jd": OrderExport("jd", "jd_orders", "jd/orders/*.csv", ("订单号",), "下单时间", ("订单完成时间",),
                      "付款确认时间", "订单状态", "等待出库"),
    "douyin": OrderExport("douyin", "douyin_orders", "douyin/orders/*.csv", ("主订单编号",), "订单提交时间",
                          ("订单完成时间",), "支付完成时间", "订单状态", "待发货", line_key="子订单编号",
                          resets=(("售后状态", "-"),)),
    "pos_hq": OrderExport("pos_hq", "pos_sales", "pos/sales/pos_sales_hq_*.csv", ("单号",), "销售时间", (),
                          None, None, None, scope=("店编",)),
    # a franchise till numbers its receipts per store: one receipt is (门店编码, 小票号)
    "pos_franchise": OrderExport("pos_franchise", "pos_sales", "pos/sales/pos_sales_franchise_*.csv", ("小票号",),
                                 "销售时间", (), None, None, None, scope=("门店编码",)),
}
ORDER_NAMES = {"tmall": "ExportOrderList", "jd": "jd_order_export", "douyin": "douyin_orders",
               "pos_hq": "pos_sales_hq", "pos_franchise": "pos_sales_franchise"}


def _group(export: CsvExport, key_cols: list[int]) -> dict[str, list[list[str]]]:
    groups: dict[str, list[list[str]]] = {}
    for row in export.rows:
        groups.setdefault("|".join(bare(row[i]) for i in key_cols), []).append(row)
    return groups


def _parse(value: str) -> dt.datetime | None:
    value = value.strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"):
        try:
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def _reshape(value: str, new_id: str) -> str:
    return f'="{new_id}"' if value.startswith('="') else new_id


def new_orders(night: Night, spec: OrderExport, contracts: dict[str, Contract], persons: dict,
               k: int) -> tuple[CsvExport, list[list[str]], dict[str, str]]:
    """``k`` new orders modelled on orders of the channel's latest export (the same buyers).

    Returns the export (shape), the new rows and new order id -> template order id."""
    export = read_csv_export(_latest(night.landing, spec.pattern))
    key_of = KeyOf(contracts[spec.table], export)
    order_cols = [export.col(c) for c in spec.order]
    groups = _group(export, [export.col(c) for c in spec.scope] + order_cols)
    taken = {bare(r[order_cols[0]]) for r in export.rows}
    line_taken = {bare(r[export.col(spec.line_key)]) for r in export.rows} if spec.line_key else set()
    templates = [groups[g] for g in sorted(groups)]
    picks = night.rng.choice(len(templates), size=min(k, len(templates)), replace=False)
    rows, mapping = [], {}
    created_col = export.col(spec.created)
    for pick in sorted(int(p) for p in picks):
        template = templates[pick]
        old_id = bare(template[0][order_cols[0]])
        new_id = night.digits(old_id, taken)
        mapping[new_id] = old_id
        at = night.moment()
        before = _parse(template[0][created_col])
        for row in template:
            out = list(row)
            out[order_cols[0]] = _reshape(row[order_cols[0]], new_id)
            out[created_col] = _format_time(row[created_col], at)
            if spec.paid:
                paid_col = export.col(spec.paid)
                paid = _parse(row[paid_col])
                delay = (paid - before) if paid and before else dt.timedelta(minutes=3)
                out[paid_col] = _format_time(row[paid_col] or row[created_col], at + delay)
            for name in spec.times:
                if name in export.header:
                    out[export.col(name)] = ""
            if spec.status:
                out[export.col(spec.status)] = spec.new_status
            for name, value in spec.resets:
                if name in export.header:
                    out[export.col(name)] = value
            if spec.line_key:
                lk = export.col(spec.line_key)
                out[lk] = _reshape(row[lk], night.digits(bare(row[lk]), line_taken))
            rows.append(out)
            night.truth.append((spec.table, key_of(out), persons.get((spec.table, key_of(row)))))
    night.count(f"new_orders:{spec.name}", len(mapping))
    return export, rows, mapping


def tmall_items(night: Night, contracts: dict[str, Contract], persons: dict, mapping: dict[str, str],
                changes: dict[str, dict[str, str]]) -> tuple[CsvExport, list[list[str]]]:
    """The item rows of new Tmall orders (copied from their template order's items) and of
    refunded ones (``changes``: order id -> item column -> value, applied to every item)."""
    exports = [read_csv_export(p) for p in _monthly(night.landing, "tmall/order_items/*.csv")]
    latest = exports[-1]
    key_of = KeyOf(contracts["tmall_order_items"], latest)
    versions: dict[str, dict[str, list[str]]] = {}  # one version per sub-order, the later file's (mini_program)
    taken = set()
    for export in exports:
        for row in export.rows:
            versions.setdefault(bare(row[export.col("主订单编号")]), {})[bare(row[export.col("子订单编号")])] = \
                conform(row, export, latest, contracts["tmall_order_items"])
            taken.add(bare(row[export.col("子订单编号")]))
    by_order = {order_id: list(rows.values()) for order_id, rows in versions.items()}
    rows = []
    sub, main, status = latest.col("子订单编号"), latest.col("主订单编号"), latest.col("订单状态")
    for new_id, old_id in mapping.items():
        for row in by_order.get(old_id, []):
            out = list(row)
            out[main] = _reshape(row[main], new_id)
            out[sub] = _reshape(row[sub], night.digits(bare(row[sub]), taken))
            out[status] = "买家已付款，等待卖家发货"
            out[latest.col("退款状态")], out[latest.col("退款金额")] = "没有申请退款", "0.00"
            rows.append(out)
            night.truth.append(("tmall_order_items", key_of(out), persons.get(("tmall_order_items", key_of(row)))))
    for order_id, change in changes.items():
        for row in by_order.get(order_id, []):
            out = list(row)
            for column, value in change.items():
                out[latest.col(column)] = out[latest.col("分摊后实付金额")] if value == ITEM_PAID else value
            rows.append(out)
    return latest, rows


def _amount(value: str) -> float:
    return float(value.replace("元", "").replace(",", "") or 0)


def tmall_refunds(night: Night, latest: CsvExport, contract: Contract) -> tuple[list[list[str]], dict[str, dict]]:
    """Later status exports of two old Tmall orders: a full refund of one of last month, a partial
    refund of one of three months ago. Returns order rows and item changes by order id."""
    files = _monthly(night.landing, "tmall/orders/*.csv")
    rows, items = [], {}
    for months_back, full in ((1, True), (3, False)):
        export = read_csv_export(files[-months_back])
        status, refund = export.col("订单状态"), export.col("退款金额")
        paid, reason = export.col("买家实付金额", "买家实际支付金额"), export.col("订单关闭原因")
        settled = [r for r in export.rows if r[status] == "交易成功" and bare(r[refund]) in ("无退款申请", "0.00", "")]
        row = list(settled[int(night.rng.integers(len(settled)))])
        amount = _amount(row[paid])
        order_id = bare(row[export.col("订单编号")])
        if full:
            row[status], row[reason], row[refund] = "交易关闭", "退款", f"{amount:.2f}"
            items[order_id] = {"退款状态": "退款成功", "订单状态": "交易关闭", "退款金额": ITEM_PAID}
            night.count("refund_full:tmall_last_month")
        else:
            part = round(amount * 0.3, 2)
            row[refund] = f"{part:.2f}"
            items[order_id] = {"退款状态": "退款成功", "退款金额": f"{part:.2f}"}
            night.count("refund_partial:tmall_3_months_ago")
        rows.append(conform(row, export, latest, contract))
    return rows, items


def douyin_refund(night: Night, export: CsvExport, contract: Contract) -> list[list[str]]:
    """A full refund (售后状态 退款成功) of a Douyin order of last month, all its sub-orders."""
    last = read_csv_export(_monthly(night.landing, "douyin/orders/*.csv")[-1])
    after, status, main = last.col("售后状态"), last.col("订单状态"), last.col("主订单编号")
    done = sorted({bare(r[main]) for r in last.rows if r[status] == "已完成" and r[after] in ("-", "")})
    order_id = done[int(night.rng.integers(len(done)))]
    rows = []
    for row in last.rows:
        if bare(row[main]) == order_id:
            out = list(row)
            out[after], out[status] = "退款成功", "已关闭"
            rows.append(conform(out, last, export, contract))
    night.count("refund_full:douyin_last_month")
    return rows


def jd_refund(night: Night, export: CsvExport, contract: Contract) -> list[list[str]]:
    """A full refund of a JD order of last month: every line of the order exported again as 已取消
    with its payment time kept (JD's cancelled-after-payment; the export has no refund column)."""
    last = read_csv_export(_monthly(night.landing, "jd/orders/*.csv")[-1])
    status, order, paid = last.col("订单状态"), last.col("订单号"), last.col("付款确认时间")
    done = sorted({bare(r[order]) for r in last.rows if r[status] in ("完成", "已完成") and r[paid].strip()})
    order_id = done[int(night.rng.integers(len(done)))]
    rows = []
    for row in last.rows:
        if bare(row[order]) == order_id:
            out = list(row)
            out[status] = "已取消"
            rows.append(conform(out, last, export, contract))
    night.count("refund_full:jd_last_month")
    return rows


def pos_return(night: Night, spec: OrderExport, export: CsvExport, contract: Contract, persons: dict,
               new_rows: list[list[str]]) -> list[list[str]]:
    """A member brings back every item of a receipt of last month: a return receipt of tonight at
    the same store (a new receipt number, 单据类型 退货, quantities and amounts negative) with the
    member's card and phone, as store tills issue it. ``new_rows``: tonight's new sales of the same
    export, whose receipt numbers the return must not take."""
    key_of = KeyOf(contract, export)
    receipt, doc = export.col(*spec.order), export.col("单据类型")
    qty, amount = export.col("数量"), export.col("金额", "实收金额")
    card, mobile, sold = export.col("会员卡号"), export.col("会员手机号"), export.col(spec.created)
    groups = _group(export, [export.col(c) for c in spec.scope] + [receipt])
    sales = [rows for _, rows in sorted(groups.items())
             if all(r[doc] == "销售" and _amount(r[qty]) > 0 for r in rows)
             and (rows[0][card] or rows[0][mobile]).strip()]
    template = sales[int(night.rng.integers(len(sales)))]
    taken = {bare(r[receipt]) for r in export.rows} | {bare(r[receipt]) for r in new_rows}
    new_id, at = night.digits(bare(template[0][receipt]), taken), night.moment()
    rows = []
    for row in template:
        out = list(row)
        out[receipt] = _reshape(row[receipt], new_id)
        out[sold] = _format_time(row[sold], at)
        out[doc] = "退货"
        out[qty] = f"-{bare(row[qty])}"
        out[amount] = f"-{bare(row[amount])}"
        rows.append(out)
        night.truth.append((spec.table, key_of(out), persons.get((spec.table, key_of(row)))))
    night.count(f"return:{spec.name}_last_month")
    return rows


# ----------------------------------------------------------------------------- mini-program (JSON lines)


def _jsonl(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # the base demo cuts a last line on purpose
            continue
    return out


def _dumps(objects: list[dict]) -> bytes:
    return "".join(json.dumps(o, ensure_ascii=False, separators=(",", ":")) + "\n" for o in objects).encode("utf-8")


def mini_program(night: Night, persons: dict, k: int) -> None:
    """New mini-program orders and items, a full refund of an order of last month and a partial one
    of three months ago (status and ``update_time`` move, as the shop's API exports them)."""
    order_files = _monthly(night.landing, "mini_program/orders/*.jsonl")
    item_files = _monthly(night.landing, "mini_program/order_items/*.jsonl")
    latest = _jsonl(order_files[-1])
    # one version per item: an order's items are in two monthly files when the order changed
    # after its month (the later export is the newer version); copying both would put one item
    # twice in one file, an export bug the raw gate refuses (it did, at 100,000 members)
    versions: dict[str, dict[str, dict]] = {}
    for path in item_files:
        for item in _jsonl(path):
            versions.setdefault(item["order_no"], {})[str(item["item_no"])] = item
    items_by_order = {order_no: list(by_item.values()) for order_no, by_item in versions.items()}
    taken = {o["order_no"] for p in order_files for o in _jsonl(p)}
    tx_taken: set[str] = set()
    completed = [o for o in latest if o.get("status") == "COMPLETED"]
    orders, items = [], []
    for pick in sorted(int(p) for p in night.rng.choice(len(completed), size=min(k, len(completed)), replace=False)):
        template = completed[pick]
        at = night.moment()
        new = dict(template)
        new["order_no"] = night.digits("LJ" + f"{night.date:%Y%m%d}" + "0" * 8, taken, keep=10)
        if new.get("transaction_id"):
            new["transaction_id"] = night.digits(template["transaction_id"], tx_taken)
        new.update(status="PAID", refund_fee=0, create_time=f"{at:%Y-%m-%d %H:%M:%S}",
                   pay_time=f"{at + dt.timedelta(minutes=2):%Y-%m-%d %H:%M:%S}",
                   update_time=f"{at + dt.timedelta(minutes=2):%Y-%m-%d %H:%M:%S}")
        orders.append(new)
        night.truth.append(("mp_orders", new["order_no"], persons.get(("mp_orders", template["order_no"]))))
        for item in items_by_order.get(template["order_no"], []):
            copy = dict(item, order_no=new["order_no"], refund_fee=0, update_time=new["update_time"])
            items.append(copy)
            night.truth.append(("mp_order_items", f"{copy['order_no']}|{copy['item_no']}",
                                persons.get(("mp_order_items", f"{item['order_no']}|{item['item_no']}"))))
    night.count("new_orders:mini_program", len(orders))
    for months_back, full in ((1, True), (3, False)):
        old = [o for o in _jsonl(order_files[-months_back]) if o.get("status") == "COMPLETED"
               and not o.get("refund_fee") and o["order_no"] in items_by_order]
        order = dict(old[int(night.rng.integers(len(old)))])
        stamp = f"{night.moment():%Y-%m-%d %H:%M:%S}"
        refund = order["pay_fee"] if full else int(order["pay_fee"] * 0.3)
        order.update(refund_fee=refund, update_time=stamp, status="REFUNDED" if full else "COMPLETED")
        orders.append(order)
        left = refund
        for item in items_by_order[order["order_no"]]:
            share = min(left, item.get("pay_fee") or 0)
            left -= share
            items.append(dict(item, refund_fee=share, update_time=stamp))
        night.count("refund_full:mini_program_last_month" if full else "refund_partial:mini_program_3_months_ago")
    folder = night.folder("mini_program/orders")
    night.files[f"{folder}/mp_orders_d{night.day:03d}.jsonl"] = _dumps(orders)
    night.files[f"{night.folder('mini_program/order_items')}/mp_order_items_d{night.day:03d}.jsonl"] = _dumps(items)


# ----------------------------------------------------------------------------- WeCom friends and merges


def wecom(night: Night, persons_table: pa.Table, persons: dict, k_fans: int, k_merges: int) -> None:
    """New WeCom friends (persons with a unionid and no WeCom contact yet), identity merges (the
    same kind of contact also carrying the mobile of the person's CRM row, a row without unionid)
    and customers deleting their guide (``friend_deletions``)."""
    landing = night.landing
    crm = read_csv_export(_latest(landing, "crm/members/*.csv"))
    member, mobile, unionid = crm.col("member_id"), crm.col("mobile"), crm.col("unionid")
    crm_mobile = {r[member]: r[mobile] for r in crm.rows if not r[unionid].strip() and r[mobile].strip()}
    p = persons_table.to_pandas()
    free = p[p["unionid"].notna() & p["external_userid"].isna()].sort_values("person_id")
    mergeable = free[free["crm_member_id"].isin(list(crm_mobile))]
    merges = mergeable.iloc[sorted(night.rng.choice(len(mergeable), size=min(k_merges, len(mergeable)),
                                                    replace=False))] if len(mergeable) else mergeable
    rest = free[~free["person_id"].isin(merges["person_id"])]
    fans = rest.iloc[sorted(night.rng.choice(len(rest), size=min(k_fans, len(rest)), replace=False))]
    page = json.loads(_latest(landing, "wecom/contacts/batch_get_by_user_p*.json").read_text(encoding="utf-8"))
    template = page["external_contact_list"][0]
    event_lines = _jsonl(_latest(landing, "wecom/events/*.jsonl"))
    event_template = next(e for e in event_lines if e.get("ChangeType") == "add_external_contact")
    guides = sorted({e["UserID"] for e in event_lines if e.get("UserID")})
    contacts, events = [], []
    for kind, chosen in (("fan", fans), ("merge", merges)):
        for _, person in chosen.iterrows():
            ext, guide, at = night.external_userid(), guides[int(night.rng.integers(len(guides)))], night.moment()
            epoch = int(at.replace(tzinfo=BUSINESS_TZ).timestamp())
            contact = json.loads(json.dumps(template))
            contact["external_contact"].update(external_userid=ext, unionid=person["unionid"], name="微信用户")
            info = contact["follow_info"]
            info.update(userid=guide, remark="", description="", createtime=epoch, tag_id=[], oper_userid=ext,
                        remark_mobiles=[crm_mobile[person["crm_member_id"]]] if kind == "merge" else [],
                        add_way=1, state=info.get("state") or "")
            contacts.append(contact)
            event = dict(event_template, CreateTime=epoch, UserID=guide, ExternalUserID=ext,
                         WelcomeCode="".join(night.rng.choice(_ID_CHARS, 43)))
            events.append(event)
            night.truth.append(("wecom_contacts", f"{ext}|{guide}", person["person_id"]))
            night.truth.append(("wecom_contact_events", f"{ext}|{guide}|add_external_contact|{at:%Y-%m-%d %H:%M:%S}",
                                person["person_id"]))
        night.count("new_wecom_friends" if kind == "fan" else "identity_merges:unionid_and_crm_mobile", len(chosen))
    events += friend_deletions(night, event_lines, persons, k=k_merges)
    document = {"errcode": 0, "errmsg": "ok", "external_contact_list": contacts, "next_cursor": ""}
    night.files[f"{night.folder('wecom/contacts')}/batch_get_by_user_p00001.json"] = json.dumps(
        document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    night.files[f"{night.folder('wecom/events')}/change_external_contact_d{night.day:03d}.jsonl"] = _dumps(events)


def friend_deletions(night: Night, event_lines: list[dict], persons: dict, k: int) -> list[dict]:
    """``k`` customers added in the latest event export delete their guide tonight (del_follow_user):
    a relationship the warehouse holds open ends (not one an earlier night or export ended)."""
    earlier_nights = [e for path in sorted(night.landing.glob(f"wecom/events/{FOLDER}/*/*.jsonl"))
                      for e in _jsonl(path)]
    ended = {(e["UserID"], e["ExternalUserID"]) for e in [*event_lines, *earlier_nights]
             if e.get("ChangeType") in ("del_follow_user", "del_external_contact")}
    open_pairs = sorted({(e["UserID"], e["ExternalUserID"]) for e in event_lines
                         if e.get("ChangeType") == "add_external_contact" and e.get("UserID")} - ended)
    template = next(e for e in event_lines if e.get("ChangeType") == "add_external_contact")
    events = []
    for pick in sorted(int(i) for i in night.rng.choice(len(open_pairs), size=min(k, len(open_pairs)),
                                                         replace=False)):
        guide, ext = open_pairs[pick]
        at = night.moment()
        events.append({key: template[key] for key in ("ToUserName", "FromUserName", "MsgType", "Event")
                       if key in template}
                      | {"CreateTime": int(at.replace(tzinfo=BUSINESS_TZ).timestamp()),
                         "ChangeType": "del_follow_user", "UserID": guide, "ExternalUserID": ext})
        person = persons.get(("wecom_contacts", f"{ext}|{guide}"))
        night.truth.append(("wecom_contact_events", f"{ext}|{guide}|del_follow_user|{at:%Y-%m-%d %H:%M:%S}", person))
    night.count("friend_deleted:wecom_customer_deleted_guide", len(events))
    return events


def official_account(night: Night, persons_table: pa.Table, k: int) -> None:
    """New official-account followers: persons with a unionid who did not follow yet subscribe today
    (``user/info`` answers batched as the base export writes them; their unionid joins them)."""
    page = json.loads(_latest(night.landing, "wechat_oa/followers/*.json").read_text(encoding="utf-8"))
    template = next(u for u in page["user_info_list"] if u.get("subscribe") == 1)
    p = persons_table.to_pandas()
    free = p[p["unionid"].notna() & p["oa_openid"].isna()].sort_values("person_id")
    chosen = free.iloc[sorted(night.rng.choice(len(free), size=min(k, len(free)), replace=False))]
    users = []
    for _, person in chosen.iterrows():
        openid = template["openid"][:6] + "".join(night.rng.choice(_ID_CHARS, len(template["openid"]) - 6))
        at = night.moment()
        users.append(dict(template, openid=openid, unionid=person["unionid"], tagid_list=[],
                          subscribe_time=int(at.replace(tzinfo=BUSINESS_TZ).timestamp()),
                          subscribe_scene="ADD_SCENE_QR_CODE", qr_scene=0, qr_scene_str=""))
        night.truth.append(("oa_followers", openid, person["person_id"]))
    night.count("new_official_account_followers", len(users))
    users += unsubscribes(night, k=max(1, k // 2))
    night.files[f"{night.folder('wechat_oa/followers')}/user_info_batchget_p00001.json"] = json.dumps(
        {"user_info_list": users}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def unsubscribes(night: Night, k: int) -> list[dict]:
    """``k`` followers of the base export unsubscribe tonight: ``user/info`` then answers only
    subscribe 0, the openid and the unionid (as the base export writes the ones who left), and no
    subscribe_time, so the record's version is the file's export time."""
    pages = [*_monthly(night.landing, "wechat_oa/followers/*.json"),
             *sorted(night.landing.glob(f"wechat_oa/followers/{FOLDER}/*/*.json"))]  # earlier nights last
    following = {u["openid"]: u for path in pages
                 for u in json.loads(path.read_text(encoding="utf-8"))["user_info_list"]}
    subscribed = sorted(openid for openid, u in following.items() if u.get("subscribe") == 1)
    users = []
    for pick in sorted(int(i) for i in night.rng.choice(len(subscribed), size=min(k, len(subscribed)),
                                                         replace=False)):
        user = following[subscribed[pick]]
        users.append({"subscribe": 0, "openid": user["openid"]}
                     | ({"unionid": user["unionid"]} if user.get("unionid") else {}) | {"tagid_list": []})
    night.count("unsubscribed:official_account", len(users))
    return users


# ----------------------------------------------------------------------------- the night assembled


def _garble_header(data: bytes, export: CsvExport) -> bytes:
    """The header line's UTF-8 bytes as a GBK system shows them (mojibake): every required column is
    gone, so ingest refuses the file and names the columns it looked for."""
    body = data[len(render_csv(export, [])):]
    header = ",".join(export.header).encode("utf-8").decode("gbk", errors="replace")
    return (header + export.terminator).encode(export.encoding, errors="replace") + body


def _persons_of_records(truth: Path) -> dict[tuple[str, str], str | None]:
    table = pq.read_table(truth / "records.parquet")
    return dict(zip(zip(table["table"].to_pylist(), table["record_key"].to_pylist()), table["person_id"].to_pylist()))


def delivered_days(home: Path) -> list[int]:
    folder = Path(home) / "truth" / FOLDER
    return sorted(int(p.stem[1:]) for p in folder.glob("d*.json")) if folder.exists() else []


def next_day(home: Path, day: int | None = None) -> dict:
    """Write day ``day``'s deliveries (default: the first day not delivered) into ``home/landing``
    and extend ``home/truth``; returns the night's summary (also truth/next_day/dNNN.json)."""
    home = Path(home)
    summary_path = home / "truth" / "summary.json"
    if not summary_path.exists():
        raise NextDayError(f"{home}: no truth/summary.json; generate the brand first (python -m demo.generate)")
    args = json.loads(summary_path.read_text(encoding="utf-8"))["arguments"]
    done = delivered_days(home)
    day = day if day is not None else (max(done) + 1 if done else 1)
    if day < 1:
        raise NextDayError(f"--day {day}: days count from 1 (the day after the brand's end date)")
    date = dt.date.fromisoformat(args["end_date"]) + dt.timedelta(days=day)
    night = Night(home, day, date, np.random.default_rng([int(args["seed"]), day, SEED_CONSTANT]))
    contracts = load_contracts()
    persons = _persons_of_records(home / "truth")
    scale = max(1, int(args["members"]) // 600)
    empty = EMPTY_CHANNEL.get(day, DEFAULT_EMPTY)

    tmall_rows, tmall_export, mapping = [], None, {}
    for name, spec in ORDER_EXPORTS.items():
        if name == empty:
            night.count(f"empty_day:{name}")
            continue
        export, rows, new_ids = new_orders(night, spec, contracts, persons, k=2 * scale)
        if name == "tmall":
            tmall_export, tmall_rows, mapping = export, rows, new_ids
            continue
        if name == "douyin":
            rows += douyin_refund(night, export, contracts["douyin_orders"])
        if name == "jd":
            rows += jd_refund(night, export, contracts["jd_orders"])
        if spec.table == "pos_sales":
            rows += pos_return(night, spec, export, contracts["pos_sales"], persons, rows)
        data = render_csv(export, rows)
        path = f"{night.folder(Path(spec.pattern).parent.as_posix())}/{ORDER_NAMES[name]}_d{day:03d}.csv"
        if name == "jd" and day == BROKEN_DAY:
            data = _garble_header(data, export)
            night.count("rejected_file:jd_garbled_header")
        if name == "jd" and day == BROKEN_DAY + 1:  # last night's garbled file, delivered again fixed
            broken = f"{night.folder('jd/orders').replace(f'd{day:03d}', f'd{BROKEN_DAY:03d}')}/" \
                     f"{ORDER_NAMES['jd']}_d{BROKEN_DAY:03d}.csv"
            if (night.landing / broken).exists():
                night.files[broken] = _fixed(night.landing / broken, export)
                night.count("fixed_redelivery:jd")
        night.files[path] = data
    if tmall_export is not None:
        refund_rows, item_changes = tmall_refunds(night, tmall_export, contracts["tmall_orders"])
        night.files[f"{night.folder('tmall/orders')}/ExportOrderList_d{day:03d}.csv"] = render_csv(
            tmall_export, tmall_rows + refund_rows)
        items_export, item_rows = tmall_items(night, contracts, persons, mapping, item_changes)
        night.files[f"{night.folder('tmall/order_items')}/ExportOrderDetailList_d{day:03d}.csv"] = render_csv(
            items_export, item_rows)
    mini_program(night, persons, k=2 * scale)
    persons_table = pq.read_table(home / "truth" / "persons.parquet")
    wecom(night, persons_table, persons, k_fans=2 * scale, k_merges=scale)
    official_account(night, persons_table, k=2 * scale)

    if day >= 2:
        _correct_yesterday(night)
        _redeliver_yesterday(night)
    return _write(night)


def _fixed(path: Path, export: CsvExport) -> bytes:
    """A garbled-header file as the exporter sends it again: the right header over the same rows."""
    raw = path.read_bytes()
    body = raw.split(export.terminator.encode(), 1)[1]
    return render_csv(export, []) + body


def _correct_yesterday(night: Night) -> None:
    """Yesterday's Tmall order export delivered again at its path with two orders changed: shipped
    since (status), and one paid amount corrected by the back office (one fen less)."""
    prev = night.day - 1
    path = night.landing / night.folder("tmall/orders").replace(f"d{night.day:03d}", f"d{prev:03d}") \
        / f"ExportOrderList_d{prev:03d}.csv"
    if not path.exists():
        return
    export = read_csv_export(path)
    status, paid = export.col("订单状态"), export.col("买家实付金额", "买家实际支付金额")
    rows = [list(r) for r in export.rows]
    fresh = [r for r in rows if r[status] == "买家已付款，等待卖家发货"]
    if not fresh:
        return
    fresh[0][status] = "卖家已发货，等待买家确认"
    fresh[-1][paid] = f"{max(_amount(fresh[-1][paid]) - 0.01, 0):.2f}"
    night.files[path.relative_to(night.landing).as_posix()] = render_csv(export, rows)
    night.count("correction:tmall_previous_day_reexported")


def _redeliver_yesterday(night: Night) -> None:
    """Yesterday's Douyin export sent again, byte for byte, in tonight's folder."""
    prev = night.day - 1
    source = night.landing / night.folder("douyin/orders").replace(f"d{night.day:03d}", f"d{prev:03d}") \
        / f"douyin_orders_d{prev:03d}.csv"
    if source.exists():
        night.files[f"{night.folder('douyin/orders')}/douyin_orders_d{prev:03d}_resent.csv"] = source.read_bytes()
        night.count("duplicate_redelivery:douyin_previous_day")


def _write(night: Night) -> dict:
    """Write the files (each folder's ``_SUCCESS`` after its files), extend truth, write the summary."""
    rows_of = {}
    for rel, data in sorted(night.files.items()):
        target = night.landing / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(target)
        rows_of[rel] = data.count(b"\n") - (0 if rel.endswith(".jsonl") or rel.endswith(".json") else 1)
    for folder in sorted({(night.landing / rel).parent for rel in night.files}):
        (folder / "_SUCCESS").touch()
    truth = night.home / "truth"
    if night.truth:
        old = pq.read_table(truth / "records.parquet")
        seen = set(zip(old["table"].to_pylist(), old["record_key"].to_pylist()))
        new = [(t, k, p) for t, k, p in night.truth if (t, k) not in seen]
        if new:
            added = pa.table([pa.array([t for t, _, _ in new]), pa.array([k for _, k, _ in new]),
                              pa.array([p for _, _, p in new], pa.string())], schema=RECORDS_SCHEMA)
            tmp = truth / "records.parquet.part"
            pq.write_table(pa.concat_tables([old, added]), tmp, compression="zstd",
                           use_dictionary=["table", "person_id"])
            tmp.replace(truth / "records.parquet")
    summary = {"day": night.day, "date": night.date.isoformat(), "cases": dict(sorted(night.cases.items())),
               "files": dict(sorted(rows_of.items())), "truth_records": len(night.truth)}
    (truth / FOLDER).mkdir(parents=True, exist_ok=True)
    (truth / FOLDER / f"d{night.day:03d}.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2),
                                                            encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.next_day", description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a folder demo.generate wrote (landing/, truth/)")
    parser.add_argument("--day", type=int, help="the day after the end date to deliver (default: the next one)")
    a = parser.parse_args(argv)
    try:
        summary = next_day(a.home, a.day)
    except NextDayError as exc:
        print(f"next_day: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


