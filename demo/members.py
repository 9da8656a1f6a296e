"""Member snapshots and member-side logs: CRM, mini-program members, 会员通 bindings, coupons, referrals."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from demo import text as tx
from demo import vocab
from demo.context import Ctx, coupon_code, scramble, with_unicode_forms
from demo.orders import chunks, hour_seconds
from demo.receivers import true_name
from demo.wecom import unionid_visible
from demo.world import CRM, DOUYIN_BIND, DUP_KINDS, MOBILE_ISSUES, MP, REG_CHANNELS, TMALL_BIND, World, take
from demo.writers import CsvWriter, write_csv, write_xlsx

XLSX_PART_ROWS = 500_000  # back offices cap one export file; Excel itself stops at 1,048,576 rows


def level_of(world: World, person: np.ndarray) -> np.ndarray:
    """Member tier from spending propensity: 60% 普通, 25% 银卡, 12% 金卡, 3% 黑卡."""
    return np.searchsorted(np.array([0.6, 0.85, 0.97]), _activity_rank(world)[person], side="right")


def _activity_rank(world: World) -> np.ndarray:
    """Quantile of each person's activity (cached on the world)."""
    cached = getattr(world, "_activity_rank", None)
    if cached is None:
        a = world.persons.activity
        rank = np.empty(len(a))
        rank[np.argsort(a, kind="stable")] = np.arange(len(a)) / max(len(a), 1)
        world._activity_rank = rank  # type: ignore[attr-defined]
        cached = rank
    return cached


def points_of(world: World, person: np.ndarray) -> np.ndarray:
    return (world.persons.activity[person] * 900 * world.ids.coin(person, "points")).astype(np.int64)


def birthday_text(world: World, person: np.ndarray, share: float, channel: str) -> pa.Array:
    b = world.persons.birthday[person]
    text = tx.concat(tx.digits(b // 10000, 4), "-", tx.digits(b // 100 % 100, 2), "-", tx.digits(b % 100, 2))
    return tx.where(world.ids.coin(person, f"birthday:{channel}") < share, text, "")


def guide_employee_no(world: World, person: np.ndarray, stale_share: float = 0.0) -> pa.Array:
    """The exclusive guide's employee number at the export date ('' if none).

    With stale_share, that share of members whose guide left still shows the old number: the CRM
    was not updated after the transfer.
    """
    g = world.guides
    moved = g.switch_day[person] < world.cal.days
    stale = moved & (world.ids.coin(person, "stale_guide") < stale_share)
    who = np.where(moved & ~stale, g.after[person], g.before[person])
    return tx.where(who >= 0, take(world.staff.employee_no, np.maximum(who, 0)), "")


def write_crm_members(ctx: Ctx) -> None:
    """CRM member master snapshot (UTF-8 CSV, English headers from the CRM's API export)."""
    w = ctx.world
    crm, ids, stores, cal = w.crm, w.ids, w.stores, w.cal
    order = np.argsort(crm.member_no, kind="stable")
    header = ["member_id", "card_no", "mobile", "unionid", "register_channel", "register_store", "exclusive_guide",
              "level", "points", "birthday", "gender", "opt_out", "registered_at", "name"]
    path = ctx.path("crm", "members", f"crm_members_{cal.end_label}.csv")
    with CsvWriter(ctx.out, path, header) as writer:
        for lo, hi in chunks(len(order)):
            rows = order[lo:hi]
            person = crm.person[rows]
            channel = crm.channel[rows]
            vis = np.isin(channel, [1, 4, 5]) & unionid_visible(w, person, "crm")
            mobile, store = crm.mobile[rows], crm.store[rows]
            cols = [
                tx.ints(crm.member_no[rows]),
                tx.digits(crm.card_no[rows], 12),
                tx.where(mobile > 0, tx.mobile(mobile), ""),
                tx.where(vis, ids.unionid(person), ""),
                tx.pick(REG_CHANNELS, channel),
                tx.where(store >= 0, take(stores.code, np.maximum(store, 0)), ""),
                guide_employee_no(w, person, stale_share=0.3),
                tx.pick(vocab.LEVELS, level_of(w, person)),
                tx.ints(points_of(w, person)),
                birthday_text(w, person, 0.7, "crm"),
                tx.pick(vocab.GENDER_TEXT, w.persons.gender[person]),
                tx.where(ids.coin(person, "opt_out") < 0.03, "1", "0"),
                tx.wall_time(cal.sec(crm.reg_day[rows], crm.reg_sod[rows])),
                true_name(w, person),
            ]
            cols[1] = with_unicode_forms(ctx, "crm_members.card_no", cols[1], ids.coin(rows, "uform:crm.card_no"))
            cols[2] = with_unicode_forms(ctx, "crm_members.mobile", cols[2], ids.coin(rows, "uform:crm.mobile"))
            writer.write(cols)
            ctx.truth.add("crm_members", cols[0], person)
    ctx.truth.rows_written("crm_members", crm.n)
    for i, name in enumerate(MOBILE_ISSUES):
        if i:
            ctx.truth.count(f"crm_members_mobile:{name}", int((crm.mobile_issue == i).sum()))
    for i, name in enumerate(DUP_KINDS):
        if i:
            ctx.truth.count(f"crm_duplicate_members:{name}", int((crm.dup_kind == i).sum()))
    person = crm.person
    ctx.truth.count("crm_members_stale_exclusive_guide",
                    int(((w.guides.switch_day[person] < cal.days) & (ids.coin(person, "stale_guide") < 0.3)).sum()))


def write_mp_members(ctx: Ctx) -> None:
    """Mini-program member export (XLSX, Chinese headers; names and nicknames included)."""
    w = ctx.world
    p, ids, crm, stores, cal = w.persons, w.ids, w.crm, w.stores, w.cal
    who = np.flatnonzero(p.has(MP))
    who = who[np.argsort(p.join["mini_program"][who], kind="stable")]
    n = len(who)
    reg_sec = cal.sec(p.join["mini_program"][who], hour_seconds(w.rng("mp_members"), n, "mini_program_orders"))
    phone_ok = ids.coin(who, "mp_phone_auth") < 0.94
    vis = unionid_visible(w, who, "mini_program")
    header = ["openid", "unionid", "会员卡号", "手机号", "国家区号", "注册时间", "注册门店", "专属导购", "会员等级",
              "性别", "生日", "昵称", "姓名"]
    parts = chunks(n, XLSX_PART_ROWS)
    for k, (lo, hi) in enumerate(parts):
        sel = np.arange(lo, hi)
        pw = who[sel]
        card_row = np.where(p.has(CRM)[pw], crm.card_row(pw, np.full(len(sel), cal.days - 1)), -1)
        mobile = p.mobile_on(pw, np.maximum(p.join["mini_program"][pw], 0))
        cols = [
            ids.mp_openid(pw),
            tx.where(vis[sel], ids.unionid(pw), ""),
            tx.where(card_row >= 0, tx.digits(crm.card_no[np.maximum(card_row, 0)], 12), ""),
            tx.where(phone_ok[sel], tx.mobile(mobile), ""),
            tx.where(phone_ok[sel], "86", ""),
            tx.wall_time(reg_sec[sel]),
            tx.where(ids.coin(pw, "mp_in_store") < 0.7, take(stores.code, p.home_store[pw]), ""),
            guide_employee_no(w, pw),
            tx.pick(vocab.LEVELS, level_of(w, pw)),
            tx.pick(vocab.GENDER_TEXT, p.gender[pw]),
            birthday_text(w, pw, 0.6, "mp"),
            ids.nickname(pw),
            tx.where(ids.coin(pw, "mp_real_name") < 0.7, true_name(w, pw), ""),
        ]
        name = f"mp_members_{cal.end_label}_{k + 1:02d}.xlsx"
        shown = mp_member_forms(ctx, pw, cols)
        write_xlsx(ctx.out, ctx.path("mini_program", "members", name), header, shown, cal.stamp, sheet="会员列表")
        ctx.truth.add("mp_members", cols[0], pw)
    ctx.truth.rows_written("mp_members", n)
    ctx.truth.count("mp_members_without_phone", int((~phone_ok).sum()))
    ctx.truth.count("mp_members_without_unionid", int((~vis).sum()))


def mp_member_forms(ctx: Ctx, person: np.ndarray, cols: list[pa.Array]) -> list[pa.Array]:
    """The member export's openid, unionid, card and phone with a few cells in other Unicode forms
    (XLSX holds any character); the truth keeps the plain openid, the key ingest lands."""
    ids = ctx.world.ids
    shown = list(cols)
    for i, name in enumerate(("openid", "unionid", "card_no", "mobile")):
        shown[i] = with_unicode_forms(ctx, f"mp_members.{name}", cols[i], ids.coin(person, f"uform:mp.{name}"))
    return shown


def _bound(ctx: Ctx, flag: int, join: str, stream: str) -> tuple:
    """Persons bound to a shop's membership (``flag``), by binding day: who, how many, the day, the
    binding time (random stream ``stream``) and the CRM card row valid then."""
    w = ctx.world
    p = w.persons
    who = np.flatnonzero(p.has(flag))
    who = who[np.argsort(p.join[join][who], kind="stable")]
    n = len(who)
    day = p.join[join][who].astype(np.int64)
    sec = w.cal.sec(day, hour_seconds(w.rng(stream), n, "online"))
    return who, n, day, sec, w.crm.card_row(who, day)


def write_tmall_bindings(ctx: Ctx) -> None:
    """Tmall 会员通 binding export: GB18030 CSV, full mobile (bindings carry the real number)."""
    w, p, ids, crm, cal = ctx.world, ctx.world.persons, ctx.world.ids, ctx.world.crm, ctx.world.cal
    who, n, day, sec, card_row = _bound(ctx, TMALL_BIND, "tmall_binding", "tmall_bind")
    t = ids.tmall_ids(who)
    header = ["omid", "ouid", "open_id", "nick", "union_id", "mobile", "card_no", "bind_time", "level", "points"]
    cols = [t["omid"], t["ouid"], t["open_uid"], ids.taobao_nick(who), t["union_id"],
            tx.mobile(p.mobile_on(who, day)), tx.digits(crm.card_no[card_row], 12), tx.wall_time(sec),
            tx.pick(vocab.LEVELS, level_of(w, who)), tx.ints(points_of(w, who))]
    # GB18030 encodes every character: all forms fit
    for i, name in ((3, "buyer_nick"), (5, "mobile"), (6, "card_no")):
        cols[i] = with_unicode_forms(ctx, f"tmall_member_bindings.{name}", cols[i], ids.coin(who, f"uform:tb.{name}"))
    path = ctx.path("tmall", "bindings", f"member_bind_{cal.end_label}.csv")
    write_csv(ctx.out, path, header, cols, encoding="gb18030", terminator="\r\n")
    ctx.truth.add("tmall_member_bindings", t["omid"], who)
    ctx.truth.rows_written("tmall_member_bindings", n)


def write_douyin_bindings(ctx: Ctx) -> None:
    """Douyin 会员通 binding export (UTF-8 CSV): the shop open_id bound to the member by mobile."""
    w, p, ids, crm, cal = ctx.world, ctx.world.persons, ctx.world.ids, ctx.world.crm, ctx.world.cal
    who, n, day, sec, card_row = _bound(ctx, DOUYIN_BIND, "douyin_binding", "douyin_bind")
    open_id = ids.douyin_open_id(who)
    cols = [open_id, tx.mobile(p.mobile_on(who, day)), tx.digits(crm.card_no[card_row], 12), tx.wall_time(sec),
            tx.pick(vocab.LEVELS, level_of(w, who))]
    for i, name in ((1, "mobile"), (2, "card_no")):
        cols[i] = with_unicode_forms(ctx, f"douyin_member_bindings.{name}", cols[i], ids.coin(who, f"uform:dy.{name}"))
    path = ctx.path("douyin", "bindings", f"douyin_member_bind_{cal.end_label}.csv")
    write_csv(ctx.out, path, ["open_id", "手机号", "会员卡号", "绑定时间", "会员等级"], cols)
    ctx.truth.add("douyin_member_bindings", open_id, who)
    ctx.truth.rows_written("douyin_member_bindings", n)


COUPON_STATUS = ("已核销", "未使用", "已过期", "已作废")


def write_coupons_month(ctx: Ctx, mi: int) -> None:
    """Coupon log of one month: coupons redeemed by this month's orders plus coupons issued and unused."""
    w = ctx.world
    crm, cal, stores = w.crm, w.cal, w.stores
    m = cal.months[mi]
    r = w.rng("coupons", m.label)
    # unused coupons issued this month to registered members
    eligible = np.flatnonzero(crm.reg_day < m.stop)
    k = int(r.poisson(0.05 * len(eligible)))
    rows = eligible[r.integers(0, len(eligible), k)] if len(eligible) else np.zeros(0, dtype=np.int64)
    day = r.integers(m.first, m.stop, k)
    day = np.maximum(day, crm.reg_day[rows])
    issued = cal.sec(day, r.integers(9 * 3600, 21 * 3600, k))
    c = ctx.coupons
    code = np.concatenate(c.code + [ctx.next_ids("coupon", k)])
    tmpl = np.concatenate(c.template + [r.integers(0, len(vocab.COUPON_TEMPLATES), k)])
    row = np.concatenate(c.member_row + [rows])
    iss = np.concatenate(c.issued + [issued])
    red = np.concatenate(c.redeemed + [np.full(k, -1)])
    store = np.concatenate(c.store + [np.full(k, -1)])
    order_ids = [o for o in c.order_id] + [tx.const("", k)]
    order_id = pa.concat_arrays([tx.fill(o) for o in order_ids]) if order_ids else tx.const("", 0)
    c.clear()
    n = len(code)
    valid = iss - iss % 86400 + 30 * 86400 + 86399
    redeemed = red >= 0
    end = cal.sec(cal.days, 0)
    status = np.where(redeemed, 0, np.where(r.random(n) < 0.01, 3, np.where(valid < end, 2, 1)))
    order = np.lexsort((code, iss))
    T = vocab.COUPON_TEMPLATES
    codes = coupon_code(code)
    cols = [
        codes,
        tx.pick([t[0] for t in T], tmpl),
        tx.pick([t[1] for t in T], tmpl),
        tx.yuan(np.array([t[2] for t in T])[tmpl]),
        tx.yuan(np.array([t[3] for t in T])[tmpl]),
        tx.ints(crm.member_no[row]),
        tx.pick([t[4] for t in T], tmpl),
        tx.wall_time(iss),
        tx.wall_time(valid),
        tx.where(redeemed, tx.wall_time(np.maximum(red, 0)), ""),
        tx.fill(order_id),
        tx.where(store >= 0, take(stores.code, np.maximum(store, 0)), ""),
        tx.pick(COUPON_STATUS, status),
    ]
    cols = [take(col, order) for col in cols]
    header = ["券码", "券模板ID", "券名称", "面额", "使用门槛", "会员ID", "发放渠道", "发放时间", "有效期至",
              "核销时间", "核销订单号", "核销门店", "状态"]
    path = ctx.path("coupons", f"coupon_log_{m.label}.csv")
    write_csv(ctx.out, path, header, cols)
    ctx.truth.add("coupons", cols[0], crm.person[row][order])
    ctx.truth.rows_written("coupons", n)


def write_referrals(ctx: Ctx) -> None:
    """Referral (转介绍) records: successful invites of new members plus invites that never converted."""
    w = ctx.world
    p, crm, ids, cal = w.persons, w.crm, w.ids, w.cal
    r = w.rng("referrals")
    new = np.flatnonzero(p.has(CRM) & (p.first_seen >= 0) & (ids.coin(np.arange(p.n), "referred") < 0.05))
    prow = crm.primary_row[new]
    reg_sec = w.cal.sec(crm.reg_day[prow], crm.reg_sod[prow])
    invited = np.maximum(reg_sec - r.integers(3600, 3 * 86400, len(new)), cal.base)
    # inviters: members registered before the invite
    by_reg = np.argsort(crm.reg_day * 86400 + crm.reg_sod, kind="stable")
    reg_sorted = (crm.reg_day * 86400 + crm.reg_sod)[by_reg]
    before = np.searchsorted(reg_sorted, invited - cal.base, side="left")
    inviter = by_reg[(r.random(len(new)) * np.maximum(before, 1)).astype(np.int64)]
    ok = (before > 0) & (crm.person[inviter] != new)
    new, prow, reg_sec, invited, inviter = new[ok], prow[ok], reg_sec[ok], invited[ok], inviter[ok]
    first = ctx.first_mp_order[new]
    ordered = (first >= 0) & (ctx.first_mp_sec[new] >= invited)
    first_no = tx.concat("LJ", tx.compact_date(ctx.first_mp_sec[new]),
                         tx.digits(scramble(np.maximum(first, 0), 10**8), 8))
    k_fail = int(len(new) * 1.5)
    f_inviter = r.integers(0, crm.n, k_fail) if crm.n else np.zeros(0, dtype=np.int64)
    f_sec = np.maximum(cal.sec(crm.reg_day[f_inviter], crm.reg_sod[f_inviter]) + r.integers(86400, 200 * 86400, k_fail),
                       cal.base + r.integers(0, cal.days * 86400, k_fail))
    keep = f_sec < cal.sec(cal.days, 0)
    f_inviter, f_sec = f_inviter[keep], f_sec[keep]
    k_fail = len(f_inviter)
    f_phone = w.extra_phones[r.integers(0, len(w.extra_phones), k_fail)]
    n_ok = len(new)
    inv_sec = np.concatenate([invited, f_sec])
    order = np.argsort(inv_sec, kind="stable")
    n = len(order)
    person = np.concatenate([new, np.full(k_fail, -1)])
    mp_user = np.concatenate([p.has(MP)[new], r.random(k_fail) < 0.5])
    openid = tx.where(np.concatenate([np.zeros(n_ok, bool), np.ones(k_fail, bool)]),
                      tx.tokens(r.integers(0, 2**63, n_ok + k_fail).astype(np.uint64), 22, prefix="oVx2t4"),
                      ids.mp_openid(np.maximum(person, 0)))
    cols = [
        tx.concat("RF", tx.digits(np.arange(1, n + 1), 8)),
        take(tx.ints(crm.member_no[np.concatenate([inviter, f_inviter])]), order),
        take(tx.mobile(np.concatenate([p.mobile_on(new, cal.day_of(invited)), f_phone])), order),
        take(tx.where(mp_user, openid, ""), order),
        take(pa.concat_arrays([tx.ints(crm.member_no[prow]), tx.const("", k_fail)]), order),
        take(tx.wall_time(inv_sec), order),
        take(pa.concat_arrays([tx.wall_time(reg_sec), tx.const("", k_fail)]), order),
        take(pa.concat_arrays([tx.where(ordered, first_no, ""), tx.const("", k_fail)]), order),
        take(pa.concat_arrays([tx.where(ordered, "ordered", "registered"), tx.const("invited", k_fail)]), order),
        take(pa.concat_arrays([tx.ints(np.where(ordered, 200, 50)), tx.const("0", k_fail)]), order),
    ]
    header = ["referral_id", "inviter_member_id", "invitee_mobile", "invitee_openid", "invitee_member_id", "invited_at",
              "registered_at", "first_order_id", "status", "reward_points"]
    path = ctx.path("referrals", f"referral_records_{cal.end_label}.csv")
    write_csv(ctx.out, path, header, cols)
    ctx.truth.add("referrals", cols[0], person[order])
    ctx.truth.rows_written("referrals", n)
    ctx.truth.count("referrals_never_registered", k_fail)
