"""Orders and sales lines of every selling channel, written month by month.

Each channel first draws all its orders as (person, day) pairs for the whole window (two small
integer arrays), then renders one month at a time, so memory follows the month, not the year.
Every person flagged as a buyer of a channel orders there at least once in the window, which is
what keeps the online-only / offline-only / both split of buyers close to the 9 / 15 / 76 target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from demo import products, receivers, vocab
from demo import text as tx
from demo.calendar import Calendar, Month
from demo.context import Ctx, coupon_code, scramble, with_unicode_forms
from demo.credit import credit_to
from demo.identity import typo
from demo.truth import BadRow
from demo.world import CRM, DOUYIN, JD, MP_BUY, PHONE_TRAP_KINDS, POS, SLOTS, TMALL, World, take
from demo.writers import CsvWriter, JsonlWriter

# orders per year for a person of activity 1 (on top of the one guaranteed order)
RATES = {"pos": 4.0, "mini_program_orders": 3.0, "tmall": 1.0, "jd": 0.7, "douyin": 0.9}
HOURS = {
    "pos": [0, 0, 0, 0, 0, 0, 1, 6, 12, 10, 7, 6, 7, 8, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    "mini_program_orders": [0, 0, 0, 0, 0, 0, 1, 4, 9, 8, 6, 7, 8, 7, 7, 6, 5, 5, 5, 6, 6, 5, 3, 1],
    "online": [2, 1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 7, 8, 8, 5],
}
WALK_IN_RATIO = 0.55  # anonymous receipts per member receipt
CHUNK = 200_000  # rows (orders, receipts) rendered at a time


def hour_seconds(r: np.random.Generator, n: int, kind: str) -> np.ndarray:
    """Seconds of day drawn from the channel's hour profile."""
    w = np.array(HOURS[kind], dtype=float)
    return r.choice(24, size=n, p=w / w.sum()) * 3600 + r.integers(0, 3600, n)


def day_weights(cal: Calendar, channel: str) -> np.ndarray:
    """Relative order volume per day: weekends, Spring Festival, 618 and Double 11."""
    days = np.datetime64(cal.start) + np.arange(cal.days)
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    weekend = cal.weekday() >= 5
    w = np.ones(cal.days)
    spring = (month == 2) & (dom >= 14) & (dom <= 22)
    d1111 = (month == 11) & (dom == 11)
    pre1111 = (month == 11) & (dom <= 10) | (month == 10) & (dom >= 24)
    d618 = (month == 6) & (dom == 18)
    pre618 = (month == 6) & (dom < 18) | (month == 5) & (dom >= 28)
    if channel == "pos":
        w *= np.where(weekend, 1.25, 1.0)
        w *= np.where(spring, 0.5, 1.0) * np.where(np.isin(month, [7, 8]), 1.1, 1.0)
    elif channel == "mini_program_orders":
        w *= np.where(weekend, 1.1, 1.0) * np.where(d1111, 2.5, 1.0) * np.where(d618, 1.8, 1.0)
        w *= np.where(spring, 0.7, 1.0)
    else:
        big, pre = {"tmall": (10, 2.5), "jd": (6, 1.8), "douyin": (5, 2.0)}[channel]
        w *= np.where(d1111, big, 1.0) * np.where(pre1111, pre, 1.0)
        w *= np.where(d618, big * 0.6, 1.0) * np.where(pre618, pre * 0.8, 1.0)
        w *= np.where(spring, 0.6, 1.0) * np.where((month == 12) & (dom == 12), 3.0, 1.0)
    return w


@dataclass
class Draws:
    """All orders of one channel as (person, day), sorted by day."""

    person: np.ndarray
    day: np.ndarray

    def month(self, m: Month) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = np.searchsorted(self.day, [m.first, m.stop])
        return self.person[lo:hi], self.day[lo:hi]


def draw_orders(world: World, channel: str, bit: int) -> Draws:
    """1 + Poisson(activity x rate x exposure) orders per channel buyer, placed by the day weights."""
    r = world.rng("draws", channel)
    p = world.persons
    cal = world.cal
    who = np.flatnonzero(p.has(bit))
    lo = np.maximum(p.join[channel][who].astype(np.int64), 0)
    w = day_weights(cal, channel)
    cdf = np.concatenate([[0.0], np.cumsum(w)])
    total = cdf[-1]
    mass = (total - cdf[lo]) / total
    lam = p.activity[who] * RATES[channel] * (cal.days / 365) * mass
    k = 1 + r.poisson(lam)
    person = np.repeat(who, k)
    lo_r = np.repeat(lo, k)
    u = cdf[lo_r] + r.random(len(person)) * (total - cdf[lo_r])
    day = np.clip(np.searchsorted(cdf, u, side="right") - 1, lo_r, cal.days - 1)
    order = np.argsort(day, kind="stable")
    return Draws(person=person[order], day=day[order])


def draw_in_month(r: np.random.Generator, cal: Calendar, channel: str, m: Month, n: int) -> np.ndarray:
    """Days inside month m for n events, following the channel's day weights."""
    w = day_weights(cal, channel)[m.first : m.stop]
    return m.first + r.choice(len(w), size=n, p=w / w.sum())


def group_seq(keys: list[np.ndarray]) -> np.ndarray:
    """1-based running number within groups of equal keys (the input must be sorted by the keys)."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for k in keys:
        new[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(new)
    run = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n) - run + 1


def _bad_count(rows: int, rate: float, force: bool) -> int:
    """How many rows to break: rate x rows, at least one in the month chosen to carry the defect."""
    return max(int(rows * rate), 1 if force and rows > 0 else 0)


def chunks(n: int, size: int = CHUNK) -> list[tuple[int, int]]:
    """[lo, hi) spans of at most `size` rows: big months are rendered a chunk at a time."""
    return [(lo, min(n, lo + size)) for lo in range(0, n, size)] or [(0, 0)]


def address(world: World, person: np.ndarray) -> dict[str, pa.Array]:
    """The person's own home address in their store's city (stable per person; ``receivers.place``).
    Orders ship to ``receivers.render``: the household's home, an office, the parents', a gift's."""
    return receivers.place(world, person, world.stores.city[world.persons.home_store[person]])


def employee(world: World, staff_idx: np.ndarray) -> pa.Array:
    """Employee numbers, null where the index is -1."""
    return tx.where(staff_idx >= 0, take(world.staff.employee_no, np.maximum(staff_idx, 0)), None)


# =========================================================================== POS


def pos_month(ctx: Ctx, draws: Draws, m: Month, mi: int) -> None:
    """Offline sales lines of month m, one file per POS system (HQ UTF-8, franchise GBK).

    Receipts (who, where, when, numbering, identification) are decided for the whole month as
    integer arrays; lines are rendered and appended a chunk of receipts at a time.
    """
    w = ctx.world
    cal, stores, staff, persons, crm = w.cal, w.stores, w.staff, w.persons, w.crm
    r = w.rng("pos", m.label)
    mp_, mday = draws.month(m)
    n_mem = len(mp_)
    mstore = np.where(r.random(n_mem) < 0.85, persons.home_store[mp_], persons.alt_store[mp_])
    n_walk = int(r.poisson(WALK_IN_RATIO * n_mem + 3 * (m.stop - m.first)))
    wstore = r.choice(stores.n, size=n_walk, p=stores.weight / stores.weight.sum())
    wday = draw_in_month(r, cal, "pos", m, n_walk)
    person = np.concatenate([mp_, np.full(n_walk, -1)])
    store = np.concatenate([mstore, wstore])
    sec = cal.sec(np.concatenate([mday, wday]), hour_seconds(r, n_mem + n_walk, "pos"))
    n_sale = len(person)
    k = r.choice([1, 2, 3, 4], size=n_sale, p=[0.55, 0.30, 0.10, 0.05])

    # returns: a later receipt in the same store reversing the first line of a sale
    ret = np.flatnonzero(r.random(n_sale) < 0.012)
    month_end = cal.sec(m.stop, 0) - 60
    ret_sec = np.maximum(np.minimum(sec[ret] + r.integers(600, 3 * 86400, len(ret)), month_end), sec[ret] + 60)
    rec_person = np.concatenate([person, person[ret]])
    rec_store = np.concatenate([store, store[ret]])
    rec_sec = np.concatenate([sec, ret_sec])
    rec_k = np.concatenate([k, np.ones(len(ret), dtype=np.int64)])
    rec_ret = np.concatenate([np.zeros(n_sale, bool), np.ones(len(ret), bool)])
    rec_src = np.concatenate([np.arange(n_sale), ret])
    n_rec = len(rec_person)
    order = np.lexsort((np.arange(n_rec), rec_sec, rec_store))
    rec_person, rec_store, rec_sec = rec_person[order], rec_store[order], rec_sec[order]
    rec_k, rec_ret, rec_src = rec_k[order], rec_ret[order], rec_src[order]
    rec_day = cal.day_of(rec_sec)
    sorted_pos = np.empty(n_rec, dtype=np.int64)
    sorted_pos[order] = np.arange(n_rec)
    system = stores.system[rec_store]
    # receipt numbers: per store and day on the HQ system, per store and month on the franchise one
    seq_day = group_seq([rec_store, rec_day])
    seq_month = group_seq([rec_store])
    yymm = m.label[2:]

    def receipt_no(idx: np.ndarray) -> pa.Array:
        code = take(stores.code, rec_store[idx])
        return tx.where(system[idx] == 0, tx.concat(code, tx.compact_date(rec_sec[idx]), tx.digits(seq_day[idx], 4)),
                        tx.concat(yymm, tx.digits(seq_month[idx], 6)))

    # who is on the receipt
    is_mem = rec_person >= 0
    pidx = np.maximum(rec_person, 0)
    u = r.random(n_rec)
    card_row = np.where(is_mem & persons.has(CRM)[pidx], crm.card_row(pidx, rec_day), -1)
    has_card = card_row >= 0
    card_mobile = is_mem & has_card & (u < 0.78)
    card_only = is_mem & has_card & (u >= 0.78) & (u < 0.86)
    typed = is_mem & (((u >= 0.86) & (u < 0.97)) | ~has_card)
    placeholder_m = is_mem & has_card & (u >= 0.97) & (u < 0.99)
    store_m = is_mem & has_card & (u >= 0.99)
    walk = ~is_mem
    placeholder_w = walk & (u < 0.09)
    store_w = walk & (u >= 0.09) & (u < 0.105)
    guide_w = walk & (u >= 0.105) & (u < 0.115)
    typo_typed = typed & (r.random(n_rec) < 0.08)
    show_card = card_mobile | card_only
    placeholder = np.array(vocab.PLACEHOLDER_PHONES, dtype=np.int64)[r.choice(3, size=n_rec, p=[0.6, 0.15, 0.25])]
    real_now = persons.mobile_on(pidx, rec_day)
    on_card = crm.mobile[np.maximum(card_row, 0)]
    store_phone = stores.phone_mobile[rec_store]
    serving_all = staff.at(rec_store, r.integers(0, SLOTS, n_rec), rec_day)
    cashier = staff.at(rec_store, r.integers(0, SLOTS, n_rec), rec_day)
    mobile = np.select(
        [card_mobile, typed & typo_typed, typed, placeholder_m | placeholder_w,
         (store_m | store_w) & (store_phone > 0), store_m | store_w, guide_w],
        [np.where(on_card > 0, on_card, -1), typo(real_now, r), real_now, placeholder,
         store_phone, placeholder, staff.mobile[serving_all]],
        -1,
    )
    mobile = walk_in_phone_traps(ctx, m, walk, rec_store, rec_day, cashier, serving_all, mobile)
    owner = np.where(is_mem, w.guides.on(pidx, rec_day), -1)
    serving = np.where(r.random(n_rec) < 0.85, serving_all, -1)
    credit = np.where(walk, 0, np.where((owner >= 0) & (staff.store[np.maximum(owner, 0)] == rec_store), 2, 1))
    t = ctx.truth
    t.count("pos_receipts_typo_mobile", int(typo_typed.sum()))
    t.count("pos_receipts_placeholder_mobile_member", int(placeholder_m.sum()))
    t.count("pos_receipts_placeholder_mobile_walk_in", int(placeholder_w.sum()))
    t.count("pos_receipts_store_phone", int(((store_m | store_w) & (store_phone > 0)).sum()))
    t.count("pos_receipts_guide_own_phone", int(guide_w.sum()))

    coupon = np.flatnonzero(show_card & ~rec_ret & (r.random(n_rec) < 0.05))
    _collect_coupons(ctx, r, card_row[coupon], rec_sec[coupon], receipt_no(coupon), rec_store[coupon],
                     templates=[0, 1, 2, 4])

    # lines, decided for the month; a return copies the first line of its sale, negated
    line_start = np.r_[0, np.cumsum(rec_k)]
    line_rec = np.repeat(np.arange(n_rec), rec_k)
    line_no = group_seq([line_rec])
    n_lines = len(line_rec)
    sku_w = np.array([s[3] for s in vocab.STORE_SKUS])
    sku = r.choice(len(sku_w), size=n_lines, p=sku_w / sku_w.sum())
    qty = r.choice([1, 2, 3], size=n_lines, p=[0.88, 0.10, 0.02])
    price = (np.array([s[2] for s in vocab.STORE_SKUS])[sku]
             * r.choice([100, 90, 80], size=n_lines, p=[0.7, 0.2, 0.1]) // 100)
    lr = np.flatnonzero(rec_ret[line_rec])
    src_line = line_start[sorted_pos[rec_src[line_rec[lr]]]]
    sku[lr], price[lr], qty[lr] = sku[src_line], price[src_line], -qty[src_line]
    amount = qty * price
    # '#VALUE!' in 金额: a spreadsheet formula that broke before the file was exported
    bad = np.zeros(n_lines, dtype=bool)
    nb = _bad_count(n_lines, 0.00005, force=mi == 3)
    bad[r.choice(n_lines, size=nb, replace=False) if nb else []] = True

    headers = {
        0: ["店编", "单号", "行号", "销售时间", "货号", "数量", "结算单价", "金额", "会员卡号", "会员手机号",
            "导购工号", "会员所属导购", "业绩归属方", "收银员", "单据类型"],
        1: ["门店编码", "小票号", "行号", "销售时间", "货号", "数量", "结算单价", "实收金额", "会员卡号", "会员手机号",
            "门店服务导购", "会员所属导购", "业绩归属方", "收银员", "单据类型"],
    }
    files = {0: (f"pos_sales_hq_{m.label}.csv", "utf-8", "\n"),
             1: (f"pos_sales_franchise_{m.label}.csv", "gbk", "\r\n")}
    writers: dict[int, CsvWriter] = {}
    form_draw = w.rng("pos_forms", m.label).random((2, n_rec))
    credit_text = credit_to(ctx, m.label, credit, walk, rec_store, rec_day, serving)
    for lo, hi in chunks(n_rec):
        l0, l1 = line_start[lo], line_start[hi]
        if l1 <= l0:
            continue
        rec = np.arange(lo, hi)
        lrec = line_rec[l0:l1] - lo
        code = take(stores.code, rec_store[rec])
        card = tx.where(show_card[rec], tx.digits(crm.card_no[np.maximum(card_row[rec], 0)], 12), None)
        mob = tx.where(mobile[rec] >= 0, tx.mobile(np.maximum(mobile[rec], 0)), None)
        # the franchise system writes GBK: only full-width forms and U+3000 fit
        card = with_unicode_forms(ctx, "pos_sales.card_no", card, form_draw[0, rec], system[rec] == 1)
        mob = with_unicode_forms(ctx, "pos_sales.mobile", mob, form_draw[1, rec], system[rec] == 1)
        per_receipt = [code, receipt_no(rec), card, mob, employee(w, serving[rec]), employee(w, owner[rec]),
                       take(credit_text, rec), take(staff.employee_no, cashier[rec]),
                       tx.where(rec_ret[rec], "退货", "销售")]
        code_l, receipt_l, card_l, mob_l, serving_l, owner_l, credit_l, cashier_l, doc_l = (
            take(a, lrec) for a in per_receipt)
        ls = slice(l0, l1)
        amount_txt = tx.where(bad[ls], "#VALUE!", tx.yuan(amount[ls]))
        line_txt = tx.ints(line_no[ls])
        keys = tx.concat(code_l, "|", receipt_l, "|", line_txt)
        lsys = system[line_rec[ls]]
        lsec = rec_sec[line_rec[ls]]
        for sysid in (0, 1):
            sel = np.flatnonzero(lsys == sysid)
            if not len(sel):
                continue
            when = tx.wall_time(lsec[sel]) if sysid == 0 else tx.slash_time(lsec[sel])
            cols = [take(code_l, sel), take(receipt_l, sel), take(line_txt, sel), when,
                    tx.pick([s[0] for s in vocab.STORE_SKUS], sku[ls][sel]), tx.ints(qty[ls][sel]),
                    tx.yuan(price[ls][sel]), take(amount_txt, sel), take(card_l, sel), take(mob_l, sel),
                    take(serving_l, sel), take(owner_l, sel), take(credit_l, sel), take(cashier_l, sel),
                    take(doc_l, sel)]
            if sysid not in writers:
                name, enc, term = files[sysid]
                writers[sysid] = CsvWriter(ctx.out, ctx.path("pos", "sales", name), headers[sysid], enc, term)
            first = writers[sysid].write(cols)
            good = ~bad[ls][sel]
            t.add("pos_sales", take(keys, sel[good]), rec_person[line_rec[ls]][sel[good]])
            for j in np.flatnonzero(~good):
                t.bad(BadRow("pos_sales", ctx.source_file(writers[sysid].path), first + int(j), "amount '#VALUE!'",
                             keys[int(sel[j])].as_py()))
    for wr in writers.values():
        wr.close()
    t.rows_written("pos_sales", n_lines)


def walk_in_phone_traps(ctx: Ctx, m: Month, walk: np.ndarray, store: np.ndarray, day: np.ndarray,
                        cashier: np.ndarray, serving: np.ndarray, mobile: np.ndarray) -> np.ndarray:
    """Phones typed on walk-in receipts that had none (world.PhoneTraps), on a stream of their own.

    In order, a receipt taking the first that applies: the cashier's habit number, the store's
    pattern number, the serving new guide's private phone (from her hire), the phone a member of the
    store lends (from her registration). None identifies the shopper: the truth keeps no person for
    a walk-in receipt. Counted as ``pos_receipts_walk_in_trap_phone:<kind>``; per number in the traps.
    """
    w = ctx.world
    traps = w.phone_traps
    if traps is None or traps.n == 0:
        return mobile
    u = w.rng("pos_traps", m.label).random((len(PHONE_TRAP_KINDS), len(mobile)))
    owners = {"cashier_habit": (w.staff.n, cashier), "pattern": (w.stores.n, store),
              "new_guide_unlisted": (w.staff.n, serving), "member_lends_phone": (w.stores.n, store)}
    free = walk & (mobile < 0)
    out = mobile.copy()
    for k, kind in enumerate(PHONE_TRAP_KINDS):
        row = traps.row_of(kind, *owners[kind])
        at = np.maximum(row, 0)
        hit = free & (row >= 0) & (u[k] < traps.share[at]) & (day >= traps.from_day[at])
        rows = row[hit]
        out[hit] = traps.number[rows]
        free &= ~hit
        np.add.at(traps.receipts, rows, 1)
        np.minimum.at(traps.first_day, rows, day[hit])
        np.maximum.at(traps.last_day, rows, day[hit])
        ctx.truth.count(f"pos_receipts_walk_in_trap_phone:{kind}", int(hit.sum()))
    return out


def _collect_coupons(ctx: Ctx, r: np.random.Generator, member_row: np.ndarray, redeemed_sec: np.ndarray,
                     order_id: pa.Array, store: np.ndarray, templates: list[int]) -> np.ndarray:
    """Register coupons redeemed by orders; returns the coupon counters."""
    n = len(member_row)
    c = ctx.coupons
    codes = ctx.next_ids("coupon", n)
    c.code.append(codes)
    c.template.append(np.array(templates)[r.integers(0, len(templates), n)])
    c.member_row.append(member_row)
    c.issued.append(redeemed_sec - r.integers(3600, 30 * 86400, n))
    c.redeemed.append(redeemed_sec)
    c.order_id.append(order_id)
    c.store.append(store)
    return codes


# =========================================================================== mini-program


MP_STATUS = ("WAIT_PAY", "PAID", "SHIPPED", "COMPLETED", "CLOSED", "REFUNDED")
MP_FIELDS = ("order_no", "transaction_id", "openid", "member_card_no", "status", "delivery_type", "total_fee",
             "discount_fee", "pay_fee", "refund_fee", "create_time", "pay_time", "update_time", "store_code",
             "guide_id", "coupon_code", "item_count", "receiver_name", "receiver_mobile", "receiver_address")


@dataclass
class Carry:
    """Mini-program orders to write again, in their final state, at the top of the next month's file."""

    lines: pa.Array | None = None
    items: pa.Array | None = None
    keys: pa.Array | None = None
    person: np.ndarray | None = None


def mp_month(ctx: Ctx, draws: Draws, m: Month, carry: Carry) -> None:
    """Mini-program orders of month m as JSONL (amounts in fen).

    The extractor pulls by update time, so an express order created in the last two days of a
    month is written first as PAID/SHIPPED and again, in its final state, at the top of the next
    month's file (staging keeps the latest row per key).
    """
    w = ctx.world
    cal, stores, staff, persons, crm, ids = w.cal, w.stores, w.staff, w.persons, w.crm, w.ids
    r = w.rng("mp_orders", m.label)
    person, day = draws.month(m)
    n = len(person)
    sec = np.sort(cal.sec(day, hour_seconds(r, n, "mini_program_orders")))
    counter = ctx.next_ids("mp_order", n)

    def order_no(idx: np.ndarray) -> pa.Array:
        return tx.concat("LJ", tx.compact_date(sec[idx]), tx.digits(scramble(counter[idx], 10**8), 8))

    first = np.flatnonzero(ctx.first_mp_order[person] < 0)
    uniq, pos = np.unique(person[first], return_index=True)
    ctx.first_mp_order[uniq] = counter[first[pos]]
    ctx.first_mp_sec[uniq] = sec[first[pos]]

    express = r.random(n) < 0.3
    card_row = np.where(persons.has(CRM)[person], crm.card_row(person, day), -1)
    drinks = np.array([s[2] for s in vocab.STORE_SKUS[:8]])
    goods = np.array([s[2] for s in vocab.ONLINE_SKUS])
    gw = np.array([s[3] for s in vocab.ONLINE_SKUS])
    items = np.where(express, r.choice([1, 2, 3], size=n, p=[0.7, 0.22, 0.08]),
                     r.choice([1, 2, 3, 4], size=n, p=[0.5, 0.3, 0.12, 0.08]))
    goods_pick = r.choice(len(goods), size=n, p=gw / gw.sum())
    drink_pick = r.integers(0, 8, n)
    unit = np.where(express, goods[goods_pick], drinks[drink_pick])
    total = unit * items
    use_coupon = (card_row >= 0) & (r.random(n) < 0.15)
    member_disc = total * r.choice([0, 0, 5, 10], size=n) // 100
    u = r.random(n)
    closed, refunded, partial = u < 0.04, (u >= 0.04) & (u < 0.065), (u >= 0.065) & (u < 0.085)
    paid_sec = sec + r.integers(5, 180, n)
    cidx = np.flatnonzero(use_coupon & ~closed)
    codes = np.full(n, -1, dtype=np.int64)
    codes[cidx] = _collect_coupons(ctx, r, card_row[cidx], paid_sec[cidx], order_no(cidx), np.full(len(cidx), -1),
                                   templates=[0, 1, 3, 4, 5])
    face = np.array([t[2] for t in vocab.COUPON_TEMPLATES])[ctx.coupons.template[-1]]
    coupon_fen = np.zeros(n, dtype=np.int64)
    coupon_fen[cidx] = np.minimum(face, total[cidx] // 2)
    discount = member_disc + coupon_fen
    pay = np.maximum(total - discount, 1)
    refund = np.where(refunded, pay, np.where(partial, pay * r.integers(10, 50, n) // 100, 0))
    # orders near the end of the window are still in flight
    age = cal.sec(cal.days, 0) - sec
    final = np.where(closed, 4, np.where(refunded, 5, 3))
    final = np.where(closed & (age < 1800), 0, final)
    live = express & ~closed & ~refunded
    final = np.where(live & (age < 86400), 1, np.where(live & (age < 4 * 86400), 2, final))
    refund = np.where(np.isin(final, [1, 2]), 0, refund)
    pick_store = np.where(r.random(n) < 0.8, persons.home_store[person], persons.alt_store[person])
    guide = w.guides.on(person, day)
    by_guide = (guide >= 0) & (r.random(n) < 0.45)
    store = np.where(express, np.where(by_guide, staff.store[np.maximum(guide, 0)], -1), pick_store)
    gift = express & (r.random(n) < 0.06)
    gift_key = r.integers(0, 10**9, n)
    recv_mobile = np.where(gift, w.extra_phones[r.integers(0, len(w.extra_phones), n)], persons.mobile_on(person, day))
    rc = receivers.draw(w, "mp_orders", m.label, person, day, gift, gift_key, recv_mobile)
    recv_mobile = rc.mobile
    receivers.count(ctx.truth, "mp_orders", rc, express)
    last_month = m.stop >= cal.days
    in_flight = live & (sec >= cal.sec(m.stop - 2, 0)) & ~np.isin(final, [1, 2]) & (not last_month)
    interim = np.where(in_flight, np.where(r.random(n) < 0.5, 1, 2), final)
    # when each status was reached: what update_time shows (staging keeps the latest per order)
    end = cal.sec(cal.days, 0) - 1
    shipped_sec = np.minimum(paid_sec + r.integers(3 * 3600, 30 * 3600, n), end)
    done_sec = np.where(express, np.minimum(sec + r.integers(2 * 86400, 4 * 86400, n), end),
                        paid_sec + r.integers(300, 1800, n))
    status_sec = np.stack([sec, paid_sec, shipped_sec, done_sec, sec + 1800,
                           np.minimum(paid_sec + r.integers(3600, 3 * 86400, n), end)])
    pay_id = r.integers(0, 10**16, n)

    def render(idx: np.ndarray, status: np.ndarray) -> pa.Array:
        p, ex = person[idx], express[idx]
        addr = receivers.render(w, rc, idx, p)
        name = addr["name"]
        paid_row = ~np.isin(status[idx], [0, 4])
        values = {
            "order_no": tx.json_str(order_no(idx)),
            "transaction_id": tx.json_value(tx.where(paid_row, tx.concat("4200", tx.digits(pay_id[idx] // 10**10, 6),
                                                                         tx.compact_date(paid_sec[idx]),
                                                                         tx.digits(pay_id[idx] % 10**10, 10)), None)),
            "delivery_type": tx.json_str(tx.where(ex, "EXPRESS", "SELF_PICKUP")),
            "update_time": tx.json_str(tx.wall_time(status_sec[status[idx], idx])),
            "openid": tx.json_str(with_unicode_forms(ctx, "mp_orders.openid", ids.mp_openid(p),
                                                     ids.coin(counter[idx], "uform:mp_orders.openid"))),
            "member_card_no": tx.json_value(tx.where(card_row[idx] >= 0,
                                                     tx.digits(crm.card_no[np.maximum(card_row[idx], 0)], 12), None)),
            "status": tx.json_str(tx.pick(MP_STATUS, status[idx])),
            "total_fee": tx.ints(total[idx]),
            "discount_fee": tx.ints(discount[idx]),
            "pay_fee": tx.ints(pay[idx]),
            "refund_fee": tx.ints(np.where(np.isin(status[idx], [1, 2]), 0, refund[idx])),
            "create_time": tx.json_str(tx.wall_time(sec[idx])),
            "pay_time": tx.json_value(tx.where(np.isin(status[idx], [0, 4]), None, tx.wall_time(paid_sec[idx]))),
            "store_code": tx.json_value(tx.where(store[idx] >= 0, take(stores.code, np.maximum(store[idx], 0)), None)),
            "guide_id": tx.json_value(tx.where(by_guide[idx], employee(w, guide[idx]), None)),
            "coupon_code": tx.json_str(tx.where(codes[idx] >= 0, coupon_code(np.maximum(codes[idx], 0)), "")),
            "item_count": tx.ints(items[idx]),
            "receiver_name": tx.json_value(tx.where(ex, name, None)),
            "receiver_mobile": tx.json_value(tx.where(ex, tx.mobile(recv_mobile[idx]), None)),
            "receiver_address": tx.json_value(tx.where(ex, tx.concat(addr["province"], addr["city"], addr["district"],
                                                                     addr["detail"]), None)),
        }
        return tx.json_object([(k2, values[k2]) for k2 in MP_FIELDS])

    goods_code = products.mp_goods(ctx, m, express, goods_pick, drink_pick, day)

    def render_items(idx: np.ndarray, status: np.ndarray) -> pa.Array:
        return products.mp_item_lines(goods_code[idx], items[idx], total[idx], discount[idx], pay[idx],
                                      np.where(np.isin(status[idx], [1, 2]), 0, refund[idx]), order_no(idx),
                                      tx.wall_time(status_sec[status[idx], idx]))

    writer = JsonlWriter(ctx.out, ctx.path("mini_program", "orders", f"mp_orders_{m.label}.jsonl"))
    item_writer = JsonlWriter(ctx.out, ctx.path("mini_program", "order_items", f"mp_order_items_{m.label}.jsonl"))
    if carry.lines is not None:
        writer.write(carry.lines)
        item_writer.write(carry.items)
        ctx.truth.add("mp_orders", carry.keys, carry.person)
        ctx.truth.rows_written("mp_orders", len(carry.lines))
        ctx.truth.rows_written("mp_order_items", len(carry.items))
    for lo, hi in chunks(n):
        idx = np.arange(lo, hi)
        writer.write(render(idx, interim))
        item_writer.write(render_items(idx, interim))
        ctx.truth.add("mp_orders", order_no(idx), person[idx])
    writer.close()
    item_writer.close()
    ctx.truth.rows_written("mp_orders", n)
    ctx.truth.rows_written("mp_order_items", n)
    sel = np.flatnonzero(in_flight)
    carry.lines = render(sel, final) if len(sel) else None
    carry.items = render_items(sel, final) if len(sel) else None
    carry.keys, carry.person = order_no(sel), person[sel]
    ctx.truth.count("mp_orders_written_again_next_month", len(sel))


def _online_month(ctx: Ctx, draws: Draws, m: Month, channel: str) -> tuple:
    """What every online shop's month starts from: the world, its calendar, persons and ids, the
    channel's random stream for the month, the buyers and days drawn for it, their order times."""
    w = ctx.world
    r = w.rng(channel, m.label)
    person, day = draws.month(m)
    n = len(person)
    sec = np.sort(w.cal.sec(day, hour_seconds(r, n, "online")))
    return w, w.cal, w.persons, w.ids, r, person, day, n, sec


def _order_chunks(w: World, person: np.ndarray, o: np.ndarray, n_lines: np.ndarray, rc: receivers.Receivers):
    """Orders in chunks, for exports with a row per order line (``o``: each line's order, ``n_lines``
    per order): the chunk's orders, its line rows, each line's order within the chunk, the buyers
    and their receivers (name as typed and address: ``receivers.render``)."""
    row_start = np.r_[0, np.cumsum(n_lines)]
    for lo, hi in chunks(len(person)):
        idx = np.arange(lo, hi)
        rows = np.arange(row_start[lo], row_start[hi])
        yield idx, rows, o[rows] - lo, person[idx], receivers.render(w, rc, idx, person[idx])


# =========================================================================== Tmall


TMALL_STATUS = ("交易成功", "交易关闭", "等待买家付款", "买家已付款，等待卖家发货", "卖家已发货，等待买家确认")


def tmall_month(ctx: Ctx, draws: Draws, m: Month, mi: int) -> None:
    """Tmall order report of month m: GBK (GB18030 when an address needs it), one row per order.

    Older months use the old headers (订单创建时间, 订单付款时间, 买家实际支付金额), later ones the
    renamed ones; two months print amounts with a 元 suffix.
    """
    w, cal, persons, ids, r, person, day, n, sec = _online_month(ctx, draws, m, "tmall")
    order_id = 2 * 10**18 + scramble(ctx.next_ids("tmall_order", n), 10**18)
    gw = np.array([s[3] for s in vocab.ONLINE_SKUS])
    two = r.random(n) < 0.2
    sku1 = r.choice(len(gw), size=n, p=gw / gw.sum())
    sku2 = (sku1 + r.integers(1, len(gw), n)) % len(gw)
    q1 = r.choice([1, 2, 3], size=n, p=[0.75, 0.2, 0.05])
    price = np.array([s[2] for s in vocab.ONLINE_SKUS])
    goods = price[sku1] * q1 + np.where(two, price[sku2], 0)
    postage = np.where(goods < 6900, 1000, 0)
    total = goods + postage
    promo = (np.where(goods >= 29900, 3000, np.where(goods >= 19900, 2000, 0))
             + goods * r.choice([0, 0, 5, 10], size=n) // 100)
    payable = total - promo
    age = cal.sec(cal.days, 0) - sec
    u = r.random(n)
    unpaid_closed, refund_closed, partial = u < 0.06, (u >= 0.06) & (u < 0.09), (u >= 0.09) & (u < 0.11)
    status = np.where(unpaid_closed | refund_closed, 1, 0)
    status = np.where(unpaid_closed & (age < 86400), 2, status)
    pending = (status == 0) & ~partial
    status = np.where(pending & (age < 2 * 86400), 3, np.where(pending & (age < 6 * 86400), 4, status))
    paid = ~unpaid_closed
    refund = np.where(refund_closed, payable, np.where(partial, payable * r.integers(10, 60, n) // 100, 0))
    close_reason = np.where(unpaid_closed, r.choice([0, 1, 4, 3], size=n, p=[0.35, 0.45, 0.15, 0.05]),
                            np.where(refund_closed, 2, 5))
    gift = r.random(n) < 0.08
    gift_key = r.integers(0, 10**9, n)
    recv_mobile = np.where(gift, w.extra_phones[r.integers(0, len(w.extra_phones), n)], persons.mobile_on(person, day))
    rc = receivers.draw(w, "tmall", m.label, person, day, gift, gift_key, recv_mobile)
    recv_mobile = rc.mobile
    receivers.count(ctx.truth, "tmall_orders", rc)
    rare = r.random(n) < 0.0005
    if mi % 4 == 2 and n:
        rare[0] = True
    rare_char = r.integers(0, len(vocab.RARE_CHARS), n)
    message = np.where(r.random(n) < 0.06, r.integers(0, len(vocab.BUYER_MESSAGES), n), -1)
    landline = np.where(r.random(n) < 0.03, r.integers(10, 999, n) * 10**8 + r.integers(20000000, 89999999, n), -1)
    pay_sec = sec + r.integers(10, 900, n)
    bad = np.zeros(n, dtype=bool)
    nb = _bad_count(n, 0.0002, force=mi == 1)
    bad[r.choice(n, size=nb, replace=False) if nb else []] = True
    ctx.truth.count("tmall_rows_gb18030_only_address", int(rare.sum()))
    yuan_suffix = "元" if mi in (1, 2) else ""
    new_headers = mi >= min(5, len(cal.months) - 1)
    h_created, h_paid, h_pay = (("买家下单时间", "买家付款时间", "买家实付金额") if new_headers
                                else ("订单创建时间", "订单付款时间", "买家实际支付金额"))
    header = ["订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "总金额", h_pay, "订单状态",
              "买家留言", "收货人姓名", "收货地址", "联系电话", "联系手机", h_created, h_paid, "宝贝标题", "宝贝总数量",
              "店铺名称", "订单关闭原因", "退款金额"]
    titles = [s[1] for s in vocab.ONLINE_SKUS]

    def render(idx: np.ndarray) -> list[pa.Array]:
        p, k = person[idx], len(idx)
        addr = receivers.render(w, rc, idx, p)
        zip_code = tx.digits(100000 + (ids.coin(p, "zip") * 800000).astype(np.int64), 6)
        detail = tx.where(rare[idx], tx.concat(tx.pick(vocab.RARE_CHARS, rare_char[idx]), "祥", addr["detail"]),
                          addr["detail"])
        email = tx.concat(tx.tokens(ids.key(p, "alipay"), 2, "abcdefghijklmnopqrstuvwxyz"), "***@",
                          tx.pick(vocab.TAOBAO_ALIPAY_DOMAINS, (ids.coin(p, "dom") * 5).astype(np.int64)))
        title = tx.where(two[idx], tx.concat(tx.pick(titles, sku1[idx]), "，", tx.pick(titles, sku2[idx])),
                         tx.pick(titles, sku1[idx]))
        phone = landline[idx]
        return [
            tx.concat('="', tx.ints(order_id[idx]), '"'),
            ids.taobao_nick(p),
            tx.where(ids.coin(p, "alipay_email") < 0.35, email, tx.masked_mobile(persons.mobile1[p])),
            tx.yuan(goods[idx], yuan_suffix), tx.yuan(postage[idx], yuan_suffix), tx.yuan(total[idx], yuan_suffix),
            tx.yuan(np.where(paid[idx], payable[idx], 0), yuan_suffix),
            tx.pick(TMALL_STATUS, status[idx]),
            tx.where(message[idx] >= 0, tx.pick(vocab.BUYER_MESSAGES, np.maximum(message[idx], 0)), ""),
            addr["name"],
            tx.concat(addr["province"], " ", addr["city"], " ", addr["district"], " ", detail, " (", zip_code, ")"),
            tx.where(phone >= 0, tx.concat("0", tx.ints(phone // 10**8), "-", tx.digits(phone % 10**8, 8)), ""),
            tx.concat("'", tx.masked_mobile(recv_mobile[idx])),
            tx.where(bad[idx], "########", tx.wall_time(sec[idx])),
            tx.where(paid[idx], tx.wall_time(pay_sec[idx]), ""),
            title,
            tx.ints(q1[idx] + two[idx]),
            tx.const(vocab.TMALL_SHOP, k),
            tx.pick(vocab.TMALL_CLOSE_REASONS + ("订单未关闭",), close_reason[idx]),
            tx.where(refund[idx] > 0, tx.yuan(refund[idx], yuan_suffix), "无退款申请"),
        ]

    path = ctx.path("tmall", "orders", f"ExportOrderList_{m.label}.csv")
    encoding = "gb18030" if rare.any() else "gbk"
    with CsvWriter(ctx.out, path, header, encoding, "\r\n", unquoted=[0]) as writer:
        for lo, hi in chunks(n):
            idx = np.arange(lo, hi)
            first = writer.write(render(idx))
            ok = idx[~bad[idx]]
            ctx.truth.add("tmall_orders", tx.ints(order_id[ok]), person[ok])
            for j in idx[bad[idx]]:
                ctx.truth.bad(BadRow("tmall_orders", ctx.source_file(path), first + int(j - lo),
                                     f"{h_created} '########'", str(order_id[j])))
    ctx.truth.rows_written("tmall_orders", n)
    products.tmall_items(ctx, m, mi, products.TmallMonth(order_id, sku1, sku2, two, q1, goods, postage, payable,
                                                          np.where(paid, refund, 0), status, TMALL_STATUS))


# =========================================================================== JD


JD_STATUS = ("完成", "已取消", "等待出库", "等待确认收货")


def jd_month(ctx: Ctx, draws: Draws, m: Month) -> None:
    """JD POP order export of month m: GBK, one row per order x SKU, masked phone, JD pin."""
    w, cal, persons, ids, r, person, day, n, sec = _online_month(ctx, draws, m, "jd")
    order_id = 2 * 10**11 + scramble(ctx.next_ids("jd_order", n), 10**11)
    n_sku = r.choice([1, 2, 3], size=n, p=[0.72, 0.22, 0.06])
    o = np.repeat(np.arange(n), n_sku)
    gw = np.array([s[3] for s in vocab.ONLINE_SKUS])
    sku = (r.choice(len(gw), size=n, p=gw / gw.sum())[o] + group_seq([o]) - 1) % len(gw)
    qty = r.choice([1, 2], size=len(o), p=[0.85, 0.15])
    price = np.array([s[2] for s in vocab.ONLINE_SKUS])[sku]
    order_amt = np.bincount(o, weights=price * qty, minlength=n).astype(np.int64)
    freight = np.where(order_amt < 9900, 600, 0)
    payable = order_amt + freight - np.where(order_amt >= 19900, 2000, 0)
    age = cal.sec(cal.days, 0) - sec
    status = np.where(r.random(n) < 0.07, 1, 0)
    status = np.where((status == 0) & (age < 86400), 2, np.where((status == 0) & (age < 5 * 86400), 3, status))
    paid = status != 1
    pay_sec = sec + r.integers(10, 600, n)
    done_sec = sec + r.integers(2 * 86400, 6 * 86400, n)
    source = r.choice(3, size=n, p=[0.78, 0.12, 0.10])
    gift = r.random(n) < 0.05
    gift_key = r.integers(0, 10**9, n)
    phone = np.where(gift, w.extra_phones[r.integers(0, len(w.extra_phones), n)], persons.mobile_on(person, day))
    rc = receivers.draw(w, "jd", m.label, person, day, gift, gift_key, phone)
    phone = rc.mobile
    receivers.count(ctx.truth, "jd_orders", rc)
    header = ["订单号", "商品ID", "商品名称", "订购数量", "下单时间", "京东价", "订单金额", "结算金额", "应付金额",
              "订单状态", "下单帐号", "客户姓名", "客户地址", "联系电话", "运费金额", "付款确认时间", "订单完成时间",
              "订单来源"]
    path = ctx.path("jd", "orders", f"jd_order_export_{m.label}.csv")
    with CsvWriter(ctx.out, path, header, "gbk", "\r\n") as writer:
        for idx, rows, lo_, p, addr in _order_chunks(w, person, o, n_sku, rc):
            per_order = [tx.ints(order_id[idx]), tx.wall_time(sec[idx]), tx.yuan(order_amt[idx]),
                         tx.yuan(np.where(paid[idx], payable[idx], 0)), tx.yuan(payable[idx]),
                         tx.pick(JD_STATUS, status[idx]), ids.jd_pin(p), addr["name"],
                         tx.concat(addr["province"], addr["city"], addr["district"], addr["detail"]),
                         tx.masked_mobile(phone[idx]), tx.yuan(freight[idx]),
                         tx.where(paid[idx], tx.wall_time(pay_sec[idx]), ""),
                         tx.where(status[idx] == 0, tx.wall_time(done_sec[idx]), ""),
                         tx.pick(["移动端订单", "PC订单", "微信订单"], source[idx])]
            oid, created, amt, settle, pay_, st, pin, name, addr_, ph, fr, paid_t, done_t, src = (
                take(a, lo_) for a in per_order)
            sku_id = tx.pick([s[4] for s in vocab.ONLINE_SKUS], sku[rows])
            writer.write([oid, sku_id, tx.pick([s[1] for s in vocab.ONLINE_SKUS], sku[rows]), tx.ints(qty[rows]),
                          created, tx.yuan(price[rows]), amt, settle, pay_, st, pin, name, addr_, ph, fr, paid_t,
                          done_t, src])
            ctx.truth.add("jd_orders", tx.concat(oid, "|", sku_id), person[o[rows]])
    ctx.truth.rows_written("jd_orders", len(o))


# =========================================================================== Douyin


DOUYIN_STATUS = ("已完成", "已关闭", "待发货", "已发货")


def douyin_month(ctx: Ctx, draws: Draws, m: Month, mi: int) -> None:
    """抖店 order export of month m: UTF-8 with BOM, one row per sub-order; doudian_open_id in newer files."""
    w, cal, persons, ids, r, person, day, n, sec = _online_month(ctx, draws, m, "douyin")
    main = 6_900_000_000_000_000_000 + 16 * scramble(ctx.next_ids("douyin_order", n), 10**16)
    n_sub = r.choice([1, 2], size=n, p=[0.85, 0.15])
    o = np.repeat(np.arange(n), n_sub)
    k = group_seq([o])
    gw = np.array([s[3] for s in vocab.ONLINE_SKUS])
    sku = (r.choice(len(gw), size=n, p=gw / gw.sum())[o] + k - 1) % len(gw)
    qty = r.choice([1, 2], size=len(o), p=[0.85, 0.15])
    amt = np.array([s[2] for s in vocab.ONLINE_SKUS])[sku] * qty
    disc = amt * r.choice([0, 5, 10, 15], size=len(o)) // 100
    age = cal.sec(cal.days, 0) - sec
    u = r.random(n)
    status = np.where(u < 0.08, 1, 0)
    status = np.where((status == 0) & (age < 86400), 2, np.where((status == 0) & (age < 5 * 86400), 3, status))
    after_sale = np.where((status == 0) & (r.random(n) < 0.04), 1, np.where((status == 1) & (u < 0.03), 1, 0))
    traffic = r.choice(4, size=n, p=[0.45, 0.2, 0.25, 0.1])  # live, short video, product card, search
    author = np.where(traffic <= 1, r.choice([71234567890, 98765432101, 55501234567], size=n), 0)
    room = np.where(traffic == 0, 7_300_000_000_000_000_000 + r.integers(0, 10**15, n), 0)
    gift = r.random(n) < 0.06
    gift_key = r.integers(0, 10**9, n)
    phone = np.where(gift, w.extra_phones[r.integers(0, len(w.extra_phones), n)], persons.mobile_on(person, day))
    rc = receivers.draw(w, "douyin", m.label, person, day, gift, gift_key, phone)
    phone = rc.mobile
    receivers.count(ctx.truth, "douyin_orders", rc)
    paid = status != 1
    pay_sec = sec + r.integers(5, 300, n)
    done_sec = sec + r.integers(3 * 86400, 9 * 86400, n)
    header = ["主订单编号", "子订单编号", "选购商品", "商品ID", "商家编码", "商品数量", "商品金额", "订单提交时间",
              "支付完成时间", "订单完成时间", "订单状态", "订单应付金额", "运费", "优惠总金额", "收件人",
              "收件人手机号", "省", "市", "区", "详细地址", "售后状态", "流量来源", "达人ID", "直播间ID"]
    with_open_id = mi >= len(cal.months) // 2
    if with_open_id:
        header.append("doudian_open_id")
    path = ctx.path("douyin", "orders", f"douyin_orders_{m.label}.csv")
    with CsvWriter(ctx.out, path, header, bom=True) as writer:
        for idx, rows, lo_, p, addr in _order_chunks(w, person, o, n_sub, rc):
            per_order = [tx.ints(main[idx]), tx.wall_time(sec[idx]),
                         tx.where(paid[idx], tx.wall_time(pay_sec[idx]), ""),
                         tx.where(status[idx] == 0, tx.wall_time(done_sec[idx]), ""),
                         tx.pick(DOUYIN_STATUS, status[idx]), addr["name"],
                         tx.masked_mobile(phone[idx], 1, 2), addr["province"], addr["city"], addr["district"],
                         addr["detail"], tx.pick(["-", "退款成功"], after_sale[idx]),
                         tx.pick(["直播", "短视频", "商品卡", "搜索"], traffic[idx]),
                         tx.where(author[idx] > 0, tx.ints(author[idx]), "-"),
                         tx.where(room[idx] > 0, tx.ints(room[idx]), "-"), ids.douyin_open_id(p)]
            (main_t, created, paid_t, done_t, st, name, ph, prov, city, dist, detail, after, traffic_t, auth, rm,
             open_id) = (take(a, lo_) for a in per_order)
            sub = tx.ints(main[o[rows]] + k[rows])
            cols = [main_t, sub, tx.pick([s[1] for s in vocab.ONLINE_SKUS], sku[rows]),
                    tx.pick([s[5] for s in vocab.ONLINE_SKUS], sku[rows]),
                    tx.pick([s[0] for s in vocab.ONLINE_SKUS], sku[rows]), tx.ints(qty[rows]), tx.yuan(amt[rows]),
                    created, paid_t, done_t, st, tx.yuan(amt[rows] - disc[rows]), tx.const("0.00", len(rows)),
                    tx.yuan(disc[rows]), name, ph, prov, city, dist, detail, after, traffic_t, auth, rm]
            if with_open_id:
                cols.append(open_id)
            writer.write(cols)
            ctx.truth.add("douyin_orders", sub, person[o[rows]])
    ctx.truth.rows_written("douyin_orders", len(o))


def all_draws(world: World) -> dict[str, Draws]:
    """Draw every selling channel's orders for the window."""
    return {
        "pos": draw_orders(world, "pos", POS),
        "mini_program_orders": draw_orders(world, "mini_program_orders", MP_BUY),
        "tmall": draw_orders(world, "tmall", TMALL),
        "jd": draw_orders(world, "jd", JD),
        "douyin": draw_orders(world, "douyin", DOUYIN),
    }
