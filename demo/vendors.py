"""Vendor and master-data exports: AI outbound calls, marketing spend, staff and store masters."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from demo import text as tx
from demo import vocab
from demo.calendar import Calendar
from demo.context import Ctx
from demo.world import CRM, FIXED_STATES, WECOM, World, take
from demo.writers import write_csv, write_xlsx

CALL_CPC_FEN = 35  # what the vendor charges per dialled call
INTENTS = ("A", "B", "C", "D")


def call_table(world: World) -> dict[str, np.ndarray]:
    """AI outbound calls: those that produced a WeCom friend (state ai_call), others to members, and leads.

    Every fan whose state is ai_call got a call shortly before the add; the other calls are
    answered ~45% of the time and add nobody, so friends added / calls answered stays realistic.
    """
    rel, cal, p, crm = world.rel, world.cal, world.persons, world.crm
    r = world.rng("calls")
    ai_state = rel.states.index("ai_call")
    won = np.flatnonzero((rel.state == ai_state) & (rel.add_sec >= cal.base) & ~rel.via_transfer)
    w_sec = np.maximum(rel.add_sec[won] - r.integers(600, 2 * 86400, len(won)), cal.base)
    pool = np.flatnonzero(p.has(CRM) & ~p.has(WECOM))
    n_other = max(50, 4 * len(won)) if len(pool) else 0
    o_person = pool[r.integers(0, len(pool), n_other)] if len(pool) else np.zeros(0, dtype=np.int64)
    lo = np.maximum(crm.reg_day[crm.primary_row[o_person]], 0)
    o_day = lo + (r.random(n_other) * (cal.days - lo)).astype(np.int64)
    o_sec = cal.sec(o_day, r.integers(10 * 3600, 20 * 3600, n_other))
    n_lead = n_other // 5
    l_sec = cal.base + r.integers(0, cal.days * 86400, n_lead)
    l_sec = l_sec - l_sec % 86400 + r.integers(10 * 3600, 20 * 3600, n_lead)

    person = np.concatenate([rel.person[won], o_person, np.full(n_lead, -1)])
    sec = np.concatenate([w_sec, o_sec, l_sec])
    kind = np.concatenate([np.zeros(len(won), int), np.ones(n_other, int), np.full(n_lead, 2)])
    n = len(person)
    answered = (kind == 0) | (r.random(n) < 0.45)
    intent = np.where(kind == 0, r.choice([0, 1], size=n, p=[0.6, 0.4]), r.choice(4, size=n, p=[0.1, 0.2, 0.3, 0.4]))
    sent = answered & ((kind == 0) | ((intent <= 1) & (r.random(n) < 0.7)))
    added = kind == 0
    guide = np.full(n, -1)
    guide[: len(won)] = rel.guide[won]
    oth = np.flatnonzero(kind == 1)
    guide[oth] = world.guides.on(person[oth], cal.day_of(sec[oth]))
    missing = oth[guide[oth] < 0]
    guide[missing] = world.staff.at(p.home_store[person[missing]], r.integers(0, 3, len(missing)),
                                    cal.day_of(sec[missing]))
    guide = np.where(sent, guide, -1)
    pidx = np.maximum(person, 0)
    crm_mobile = crm.mobile[np.maximum(crm.primary_row[pidx], 0)]
    real = p.mobile_on(pidx, cal.day_of(sec))
    mobile = np.where(kind == 0, real, np.where(kind == 1, np.where(crm_mobile > 0, crm_mobile, real),
                                                  world.extra_phones[r.integers(0, len(world.extra_phones), n)]))
    order = np.argsort(sec, kind="stable")
    out = {"person": person, "sec": sec, "kind": kind, "answered": answered, "intent": intent, "sent": sent,
           "added": added, "guide": guide, "mobile": mobile,
           "duration": np.where(answered, r.integers(25, 240, n), 0),
           "hangup": np.where(answered, r.choice([0, 1, 6], size=n), r.choice([2, 4, 5, 3], size=n,
                                                                             p=[0.6, 0.2, 0.15, 0.05])),
           "task": np.where(kind == 0, 2, r.choice([0, 1, 3], size=n))}
    return {k: v[order] for k, v in out.items()}


def write_calls(ctx: Ctx, calls: dict[str, np.ndarray]) -> None:
    """The vendor's call records, one UTF-8 CSV per month, Chinese headers."""
    w = ctx.world
    cal, staff = w.cal, w.staff
    day = cal.day_of(calls["sec"])
    n = len(day)
    hexid = tx.tokens(w.ids.key(np.arange(n), "call_id"), 32, tx.HEX)
    call_id = tx.concat(_slice(hexid, 0, 8), "-", _slice(hexid, 8, 12), "-", _slice(hexid, 12, 16), "-",
                        _slice(hexid, 16, 20), "-", _slice(hexid, 20, 32))
    transcript = tx.where(calls["answered"],
                          "AI：您好，这里是鹿角咖啡会员中心，送您一张新人券，"
                          "方便加一下您的专属咖啡顾问吗？客户：好的。",
                          "")
    for m in cal.months:
        lo, hi = np.searchsorted(day, [m.first, m.stop])
        if hi <= lo:
            continue
        s = slice(lo, hi)
        k = hi - lo
        c = {key: v[s] for key, v in calls.items()}
        task = tx.concat(tx.pick(vocab.CALL_TASKS, c["task"]), "-", m.label)
        cols = [
            call_id.slice(lo, k),
            task,
            tx.mobile(c["mobile"]),
            tx.wall_time(c["sec"]),
            tx.ints(c["duration"]),
            tx.where(c["answered"], "是", "否"),
            tx.where(c["answered"], tx.pick(INTENTS, c["intent"]), ""),
            tx.where(c["sent"], "是", "否"),
            tx.where(c["added"], "是", "否"),
            tx.where(c["guide"] >= 0, take(staff.userid, np.maximum(c["guide"], 0)), ""),
            tx.pick(vocab.HANGUP_REASONS, c["hangup"]),
            transcript.slice(lo, k),
        ]
        header = ["通话ID", "任务名称", "被叫号码", "呼叫时间", "通话时长(秒)", "是否接通", "意向等级",
                  "是否发送好友申请", "是否添加好友", "分配导购", "挂断原因", "通话文本"]
        path = ctx.path("outbound", f"ai_call_records_{m.label}.csv")
        write_csv(ctx.out, path, header, cols)
        ctx.truth.add("outbound_calls", cols[0], c["person"])
        ctx.truth.rows_written("outbound_calls", k)


def _slice(arr: pa.Array, start: int, stop: int) -> pa.Array:
    return tx._flat(pc.utf8_slice_codeunits(arr, start, stop))


def write_marketing(ctx: Ctx, calls: dict[str, np.ndarray]) -> None:
    """Daily spend per channel and WeCom state code (XLSX per month), so cost per fan can be computed.

    Spend follows the fans each state code brought (cost per fan x noise); the AI call vendor bills
    per call. Marketplace ads carry no WeCom state code, and the contract keys spend by state code,
    so they are not part of this export.
    """
    w = ctx.world
    cal, rel = w.cal, w.rel
    r = w.rng("marketing")
    D = cal.days
    day = cal.day_of(rel.add_sec)
    n_st = len(rel.states) - len(FIXED_STATES)
    rows_day, rows_channel, rows_state, rows_campaign, rows_fen = [], [], [], [], []
    quarter = _quarter_labels(cal)
    for state, _way, channel, stem, cpa in vocab.PAID_STATES:
        si = n_st + FIXED_STATES.index(state)
        mask = (rel.state == si) & (day >= 0) & (day < D) & ~rel.via_transfer
        fans = np.bincount(day[mask], minlength=D)[:D]
        if state == "ai_call":
            cday = cal.day_of(calls["sec"])
            dialled = np.bincount(cday[(cday >= 0) & (cday < D)], minlength=D)[:D]
            fen = dialled * CALL_CPC_FEN
        else:
            fen = (fans * cpa * r.lognormal(0, 0.25, D) + cpa * r.uniform(0.1, 0.6, D)).astype(np.int64)
        active = fen > 0
        rows_day.append(np.flatnonzero(active))
        rows_channel += [channel] * int(active.sum())
        rows_state += [state] * int(active.sum())
        rows_campaign += [f"{stem}-{quarter[d]}" for d in np.flatnonzero(active)]
        rows_fen.append(fen[active])
    dd = np.concatenate(rows_day)
    fen = np.concatenate(rows_fen)
    order = np.lexsort((np.arange(len(dd)), dd))
    dd, fen = dd[order], fen[order]
    channel = pa.array(rows_channel, pa.string()).take(pa.array(order))
    state = pa.array(rows_state, pa.string()).take(pa.array(order))
    campaign = pa.array(rows_campaign, pa.string()).take(pa.array(order))
    yuan = fen / 100
    impressions = (yuan * r.uniform(25, 60, len(dd))).astype(np.int64)
    clicks = (impressions * r.uniform(0.008, 0.025, len(dd))).astype(np.int64)
    date = tx.wall_date(cal.sec(dd, 0))
    keys = tx.concat(date, "|", channel, "|", tx.fill(state, ""), "|", campaign)
    for m in cal.months:
        lo, hi = np.searchsorted(dd, [m.first, m.stop])
        k = hi - lo
        if k <= 0:
            continue
        cols = [date.slice(lo, k), channel.slice(lo, k), state.slice(lo, k), campaign.slice(lo, k),
                tx.yuan(fen[lo:hi]), tx.ints(impressions[lo:hi]), tx.ints(clicks[lo:hi])]
        header = ["日期", "渠道", "渠道码", "活动名称", "消耗金额", "曝光量", "点击量"]
        path = ctx.path("marketing", f"marketing_spend_{m.label}.xlsx")
        write_xlsx(ctx.out, path, header, cols, cal.stamp, sheet="投放消耗", numeric=(4, 5, 6))
        ctx.truth.add("marketing_spend", keys.slice(lo, k), np.full(k, -1))
        ctx.truth.rows_written("marketing_spend", k)


def _quarter_labels(cal: Calendar) -> list[str]:
    days = np.datetime64(cal.start) + np.arange(cal.days)
    y = days.astype("datetime64[Y]").astype(int) + 1970
    q = (days.astype("datetime64[M]").astype(int) % 12) // 3 + 1
    return [f"{a}Q{b}" for a, b in zip(y.tolist(), q.tolist())]


def write_staff(ctx: Ctx) -> None:
    """HR staff export (XLSX): employee number, WeCom account, store, role, own mobile, dates."""
    w = ctx.world
    staff, stores, cal = w.staff, w.stores, w.cal
    order = np.argsort(staff.employee_no.to_numpy(zero_copy_only=False), kind="stable")
    n = staff.n
    left = staff.left_day < cal.days
    cols = [
        staff.employee_no,
        w.ids.name(np.arange(n), "staff"),
        staff.userid,
        take(stores.code, staff.store),
        tx.pick(["店长", "导购", "导购"], staff.slot),
        tx.mobile(staff.mobile),
        tx.wall_date(cal.sec(staff.hired_day, 0)),
        tx.where(left, tx.wall_date(cal.sec(np.where(left, staff.left_day, 0), 0)), ""),
        tx.where(left, "离职", "在职"),
    ]
    cols = [take(c, order) for c in cols]
    header = ["工号", "姓名", "企微账号", "所属门店", "岗位", "手机号", "入职日期", "离职日期", "在职状态"]
    path = ctx.path("master", "staff", f"staff_{cal.end_label}.xlsx")
    write_xlsx(ctx.out, path, header, cols, cal.stamp, sheet="员工花名册")
    ctx.truth.add("staff", cols[0], np.full(n, -1))
    ctx.truth.rows_written("staff", n)
    ctx.truth.count("staff_left_during_window", int(left.sum()))


def write_stores(ctx: Ctx) -> None:
    """Store master (CSV saved from Excel: UTF-8 with BOM)."""
    w = ctx.world
    s, cal = w.stores, w.cal
    city = s.city
    cols = [
        s.code, s.name, tx.pick([c[0] for c in vocab.CITIES], city), tx.pick([c[2] for c in vocab.CITIES], city),
        tx.pick(["直营", "加盟", "快闪"], s.kind), tx.wall_date(cal.sec(s.opened_day, 0)),
        tx.pick(["营业中", "停业装修"], s.status), s.phone_text,
    ]
    header = ["门店编码", "门店名称", "城市", "大区", "门店类型", "开业日期", "营业状态", "门店电话"]
    path = ctx.path("master", "stores", f"stores_{cal.end_label}.csv")
    write_csv(ctx.out, path, header, cols, bom=True)
    ctx.truth.add("stores", s.code, np.full(s.n, -1))
    ctx.truth.rows_written("stores", s.n)
