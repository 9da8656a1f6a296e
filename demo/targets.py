"""The brand's monthly plan (年度目标分解): targets per store and per guide, as the planning team exports them.

A plan is last year's actuals times a growth factor. The demo has no previous year, so the
window's own figures, shaken by a year-on-year noise per store (or guide) and month, stand in
for last year's: sales from the POS exports already written (in-store sales per store and per member's
own guide, 会员所属导购; a guide's scaled to all channels, see OMNI_CHANNEL), new members from the CRM
registrations of the world, new friends from its WeCom relationships. Growth is drawn per store
(5-25%) and, for a guide, per guide around her store's.

The cases real plans have, each a class with its cousins:
* a store without any target (the newest pop-up store, opened after the plan was made), and
  guide-months left out at random (~4%: a guide on leave when the plan was split);
* a guide who leaves mid-year keeps her targets for the months after she left (the plan is
  not revised for it), and her replacement has none until the mid-year revision;
* a mid-year revision (修订版, a later CSV with a later 更新时间): the second half's sales targets
  of a few stores cut, and the replacements hired so far given targets from the month after
  their hire; staging keeps the latest version of a (month, store) or (month, guide);
* a totals row (合计) at the bottom of the store plan, as planners add one: quarantined.

Draws come from the stream ``targets`` only, so every other export stays byte-identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from demo import text as tx
from demo.context import Ctx
from demo.truth import BadRow
from demo.world import SLOTS, take
from demo.writers import write_csv, write_xlsx

# A guide's sales are her own members' orders in every channel (mart_guide_attribution_monthly,
# owner_guide), while the POS exports show only the in-store part: the planner's report is
# stood in for by the POS figure times the all-channel / in-store ratio measured on the
# 600-member demo (143,326 CNY owner-guide credit / 64,354 CNY of POS lines naming the guide).
OMNI_CHANNEL = 2.2
REVISION_MONTH = 6  # the revision is made at the start of the window's 7th month
STORE_HEADER = ["月份", "门店编码", "销售目标", "新会员目标", "新好友目标", "更新时间"]
GUIDE_HEADER = ["月份", "导购工号", "导购姓名", "门店编码", "销售目标", "新会员目标", "新好友目标", "更新时间"]


def pos_sales_by_month(ctx: Ctx) -> tuple[pd.DataFrame, pd.DataFrame]:
    """In-store sales (fen) per (store, month index) and per (member's own guide, month index),
    read back from the POS exports written for each month (both systems, their own encodings)."""
    months = {m.label: i for i, m in enumerate(ctx.world.cal.months)}
    parts = []
    for path in sorted(ctx.path("pos", "sales").glob("pos_sales_*.csv")):
        label = path.stem.rsplit("_", 1)[-1]
        encoding = "gbk" if "_franchise_" in path.name else "utf-8"
        frame = pd.read_csv(path, encoding=encoding, dtype=str, keep_default_na=False, usecols=[0, 7, 11])
        frame.columns = ["store", "amount", "owner"]
        frame["fen"] = (pd.to_numeric(frame.amount, errors="coerce").fillna(0) * 100).round().astype(np.int64)
        frame["month"] = months[label]
        parts.append(frame)
    lines = pd.concat(parts, ignore_index=True)
    stores = lines.groupby(["store", "month"]).fen.sum()
    guides = lines[lines.owner != ""].groupby(["owner", "month"]).fen.sum()
    return stores, guides


def _month_of_day(ctx: Ctx, day: np.ndarray) -> np.ndarray:
    """Month index of each day index (-1 outside the window)."""
    firsts = np.array([m.first for m in ctx.world.cal.months])
    out = np.searchsorted(firsts, day, side="right") - 1
    return np.where((day >= 0) & (day < ctx.world.cal.days), out, -1)


def _counts(index: np.ndarray, month: np.ndarray, size: int, months: int) -> np.ndarray:
    """A (size, months) matrix counting (index, month) pairs, pairs with -1 left out."""
    keep = (index >= 0) & (month >= 0)
    out = np.zeros((size, months), dtype=np.int64)
    np.add.at(out, (index[keep], month[keep]), 1)
    return out


def write_targets(ctx: Ctx) -> None:
    """Store and guide plans (XLSX, 更新时间 at the window's start) and their mid-year revision (CSV)."""
    w = ctx.world
    cal, stores, staff, crm, rel = w.cal, w.stores, w.staff, w.crm, w.rel
    r = w.rng("targets")
    nm = len(cal.months)
    store_codes = stores.code.to_pylist()
    employee = staff.employee_no.to_pylist()

    # last year's actuals (stand-in): sales, new members, new friends per store / guide and month
    pos_store, pos_guide = pos_sales_by_month(ctx)
    store_fen = np.zeros((stores.n, nm), dtype=np.int64)
    for (code, mi), fen in pos_store.items():
        store_fen[store_codes.index(code), mi] = fen
    guide_fen = np.zeros((staff.n, nm), dtype=np.int64)
    index_of = {e: i for i, e in enumerate(employee)}
    for (code, mi), fen in pos_guide.items():
        if code in index_of:
            guide_fen[index_of[code], mi] = fen
    first = crm.dup_kind == 0
    reg_month = _month_of_day(ctx, crm.reg_day)
    store_members = _counts(np.where(first, crm.store, -1), reg_month, stores.n, nm)
    reg_guide = w.guides.on(crm.person, np.maximum(crm.reg_day, 0))
    guide_members = _counts(np.where(first & (crm.store >= 0), reg_guide, -1), reg_month, staff.n, nm)
    adds = ~rel.via_transfer
    add_month = _month_of_day(ctx, cal.day_of(rel.add_sec))
    guide_friends = _counts(np.where(adds, rel.guide, -1), add_month, staff.n, nm)
    store_friends = _counts(np.where(adds, staff.store[rel.guide], -1), add_month, stores.n, nm)

    growth = r.uniform(1.05, 1.25, stores.n)
    store_noise = r.lognormal(0, 0.12, (stores.n, nm))
    guide_growth = growth[staff.store] * r.uniform(0.95, 1.05, staff.n)
    guide_noise = r.lognormal(0, 0.15, (staff.n, nm))

    def plan(base: np.ndarray, factor: np.ndarray, round_to: int) -> np.ndarray:
        """base x factor rounded to a planner's round number (at least one unit)."""
        return np.maximum(np.round(base * factor / round_to), 1).astype(np.int64) * round_to

    store_sales = plan(store_fen, growth[:, None] * store_noise, 100_000)  # whole thousands of yuan
    store_new_members = plan(store_members, growth[:, None] * store_noise, 1)
    store_new_friends = plan(store_friends, growth[:, None] * store_noise, 1)
    guide_sales = plan(guide_fen * OMNI_CHANNEL, guide_growth[:, None] * guide_noise, 10_000)  # whole hundreds of yuan
    guide_new_members = plan(guide_members, guide_growth[:, None] * guide_noise, 1)
    guide_new_friends = plan(guide_friends, guide_growth[:, None] * guide_noise, 1)

    # who is planned: every store but the newest pop-up one, the guides on staff when the plan was made
    unplanned_store = int(np.argmax(np.where(stores.kind == 2, stores.opened_day, np.iinfo(np.int64).min))) \
        if (stores.kind == 2).any() else int(np.argmax(stores.opened_day))
    planned_store = np.ones(stores.n, dtype=bool)
    planned_store[unplanned_store] = False
    is_guide = staff.slot > 0
    on_staff_at_plan = is_guide & (staff.hired_day <= 0) & (staff.left_day > 0) & planned_store[staff.store]
    guide_month_kept = r.random((staff.n, nm)) >= 0.04

    month_text = [f"{m.label[:4]}-{m.label[4:]}-01" for m in cal.months]
    plan_stamp = tx.wall_time(np.array([cal.sec(np.array([0]), np.array([9 * 3600]))[0]]))[0].as_py()
    # a window shorter than a year is revised half way (the tests generate a few months)
    revision = min(REVISION_MONTH, nm // 2)
    rev_day = cal.months[revision].first - 3
    rev_stamp = tx.wall_time(np.array([cal.sec(np.array([rev_day]), np.array([17 * 3600]))[0]]))[0].as_py()

    # the store plan, with a totals row at the bottom
    s_idx, s_month = np.nonzero(np.broadcast_to(planned_store[:, None], (stores.n, nm)))
    order = np.lexsort((s_idx, s_month))
    s_idx, s_month = s_idx[order], s_month[order]
    n = len(s_idx)
    store_cols = [
        pa.array([month_text[i] for i in s_month] + ["合计"], pa.string()),
        pa.array([store_codes[i] for i in s_idx] + [None], pa.string()),
        tx.yuan(np.r_[store_sales[s_idx, s_month], store_sales[s_idx, s_month].sum()]),
        tx.ints(np.r_[store_new_members[s_idx, s_month], store_new_members[s_idx, s_month].sum()]),
        tx.ints(np.r_[store_new_friends[s_idx, s_month], store_new_friends[s_idx, s_month].sum()]),
        pa.array([plan_stamp] * n + [None], pa.string()),
    ]
    path = ctx.path("planning", "store_targets", f"store_targets_{cal.months[0].label}.xlsx")
    write_xlsx(ctx.out, path, STORE_HEADER, store_cols, cal.stamp, sheet="门店目标", numeric=(2, 3, 4))
    t = ctx.truth
    keys = tx.concat(store_cols[0].slice(0, n), "|", store_cols[1].slice(0, n))
    t.add("store_targets", keys, np.full(n, -1))
    t.bad(BadRow("store_targets", ctx.source_file(path), n + 1, "totals row 合计", "合计|"))
    t.rows_written("store_targets", n + 1)

    # the guide plan: the guides on staff at the start, every month (a leaver's months stay planned)
    g_idx, g_month = np.nonzero(on_staff_at_plan[:, None] & guide_month_kept)
    order = np.lexsort((g_idx, g_month))
    g_idx, g_month = g_idx[order], g_month[order]
    _write_guide_plan(ctx, ctx.path("planning", "guide_targets", f"guide_targets_{cal.months[0].label}.xlsx"),
                      g_idx, g_month, month_text, employee, store_codes, plan_stamp,
                      guide_sales, guide_new_members, guide_new_friends)
    t.count("targets_guide_months_left_out", int((on_staff_at_plan[:, None] & ~guide_month_kept).sum()))
    t.count("targets_leaver_months_still_planned",
            int(sum(((np.arange(nm) >= _month_of_day(ctx, np.array([d]))[0]) & guide_month_kept[i]).sum()
                    for i, d in zip(np.flatnonzero(on_staff_at_plan), staff.left_day[on_staff_at_plan])
                    if d < cal.days)))

    if nm < 2:  # a one-month window has no second half to revise
        t.count("targets_store_without_plan", 1)
        return
    # the mid-year revision: second-half sales of some stores cut; replacements hired so far planned
    later = np.arange(nm) >= revision
    cut = planned_store & (r.random(stores.n) < 0.25)
    c_idx, c_month = np.nonzero(cut[:, None] & later[None, :])
    order = np.lexsort((c_idx, c_month))
    c_idx, c_month = c_idx[order], c_month[order]
    revised = (store_sales[c_idx, c_month] * 0.9 // 100_000).astype(np.int64) * 100_000
    store_sales[c_idx, c_month] = revised
    k = len(c_idx)
    rev_cols = [
        pa.array([month_text[i] for i in c_month], pa.string()),
        pa.array([store_codes[i] for i in c_idx], pa.string()),
        tx.yuan(revised), tx.ints(store_new_members[c_idx, c_month]), tx.ints(store_new_friends[c_idx, c_month]),
        pa.array([rev_stamp] * k, pa.string()),
    ]
    path = ctx.path("planning", "store_targets", f"store_targets_revision_{cal.months[revision].label}.csv")
    write_csv(ctx.out, path, STORE_HEADER, rev_cols, bom=True)
    t.add("store_targets", tx.concat(rev_cols[0], "|", rev_cols[1]), np.full(k, -1))
    t.rows_written("store_targets", k)
    t.count("targets_store_months_revised", k)

    hired_month = _month_of_day(ctx, staff.hired_day)
    newcomer = is_guide & (staff.hired_day > 0) & (staff.hired_day < rev_day) & planned_store[staff.store]
    from_month = np.where(newcomer, hired_month + 1, nm)
    planned_from = np.maximum(from_month, revision)
    r_idx, r_month = np.nonzero(newcomer[:, None] & (np.arange(nm)[None, :] >= planned_from[:, None]))
    order = np.lexsort((r_idx, r_month))
    r_idx, r_month = r_idx[order], r_month[order]
    # a newcomer has no history of her own: she is planned at her store's average guide
    per_guide = (SLOTS - 1)
    store_share = store_sales[staff.store[r_idx], r_month] * OMNI_CHANNEL // per_guide
    guide_sales[r_idx, r_month] = (store_share // 10_000) * 10_000
    guide_new_members[r_idx, r_month] = np.maximum(store_new_members[staff.store[r_idx], r_month] // per_guide, 1)
    guide_new_friends[r_idx, r_month] = np.maximum(store_new_friends[staff.store[r_idx], r_month] // per_guide, 1)
    _write_guide_plan(ctx, ctx.path("planning", "guide_targets",
                                    f"guide_targets_revision_{cal.months[revision].label}.csv"),
                      r_idx, r_month, month_text, employee, store_codes, rev_stamp,
                      guide_sales, guide_new_members, guide_new_friends)
    t.count("targets_newcomer_months_planned", len(r_idx))
    t.count("targets_store_without_plan", 1)


def _write_guide_plan(ctx: Ctx, path, idx: np.ndarray, month: np.ndarray, month_text: list[str],
                      employee: list[str], store_codes: list[str], stamp: str, sales: np.ndarray,
                      new_members: np.ndarray, new_friends: np.ndarray) -> None:
    """One guide plan file (XLSX or CSV by the path's suffix) of the (guide, month) pairs given."""
    w = ctx.world
    k = len(idx)
    cols = [
        pa.array([month_text[i] for i in month], pa.string()),
        pa.array([employee[i] for i in idx], pa.string()),
        w.ids.name(idx, "staff"),
        take(w.stores.code, w.staff.store[idx]),
        tx.yuan(sales[idx, month]), tx.ints(new_members[idx, month]), tx.ints(new_friends[idx, month]),
        pa.array([stamp] * k, pa.string()),
    ]
    if path.suffix == ".xlsx":
        write_xlsx(ctx.out, path, GUIDE_HEADER, cols, ctx.world.cal.stamp, sheet="导购目标", numeric=(4, 5, 6))
    else:
        write_csv(ctx.out, path, GUIDE_HEADER, cols, bom=True)
    ctx.truth.add("guide_targets", tx.concat(cols[0], "|", cols[1]), np.full(k, -1))
    ctx.truth.rows_written("guide_targets", k)
