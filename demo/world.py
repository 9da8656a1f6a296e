"""The fictional brand's world: stores, staff, persons, CRM memberships and WeCom relationships.

One person table drives every channel; channel files are views of it with each system's own
identifiers and defects. Everything here is numpy arrays over entities (no per-person Python)
and every draw comes from a named random stream, so the world is a pure function of the seed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from demo import text as tx
from demo import vocab
from demo.calendar import NEVER, Calendar
from demo.identity import Ids, mobile_pool, typo
from demo.receivers import Households, make_households, share_household_phones

# channel membership bits
CRM, MP, WECOM, OA, GROUP, TMALL, JD, DOUYIN, POS, TMALL_BIND, DOUYIN_BIND, MP_BUY = (1 << i for i in range(12))
CHANNEL_BITS = {
    "crm": CRM, "mini_program": MP, "wecom": WECOM, "wechat_oa": OA, "wecom_group": GROUP, "tmall": TMALL,
    "jd": JD, "douyin": DOUYIN, "pos": POS, "tmall_binding": TMALL_BIND, "douyin_binding": DOUYIN_BIND,
    "mini_program_orders": MP_BUY,
}
ONLINE = MP_BUY | TMALL | JD | DOUYIN
SLOTS = 3  # staff per store: slot 0 is the store manager (never leaves), 1-2 are guides


class Streams:
    """Named, independent random streams: adding a draw in one place does not shift another."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, *names: object) -> np.random.Generator:
        words = [zlib.crc32(str(n).encode()) for n in names]
        return np.random.default_rng(np.random.SeedSequence([self.seed & 0xFFFFFFFF, *words]))


def take(arr: pa.Array, idx: np.ndarray) -> pa.Array:
    """Arrow take with a numpy index."""
    return arr.take(pa.array(np.asarray(idx, dtype=np.int64)))


# =========================================================================== stores


@dataclass
class Stores:
    """Store master. system 0 = HQ POS (UTF-8), 1 = franchise POS (GBK, other headers)."""

    code: pa.Array
    name: pa.Array
    city: np.ndarray
    kind: np.ndarray  # 0 直营, 1 加盟, 2 快闪
    system: np.ndarray
    opened_day: np.ndarray
    status: np.ndarray  # 0 营业中, 1 停业装修
    phone_mobile: np.ndarray  # 0 when the store phone is a landline
    phone_text: pa.Array
    weight: np.ndarray
    city_first: np.ndarray  # stores are sorted by city: first store index per city
    city_count: np.ndarray

    @property
    def n(self) -> int:
        return len(self.city)


def make_stores(n_persons: int, cal: Calendar, rng: Streams, phones: np.ndarray) -> Stores:
    """~1 store per 300 members (min 5), grouped by city so 'another store in my city' is a slice."""
    n = max(5, n_persons // 300)
    r = rng("stores")
    cw = np.array([c[3] for c in vocab.CITIES], dtype=float)
    city = np.sort(r.choice(len(cw), size=n, p=cw / cw.sum()))
    city_count = np.bincount(city, minlength=len(cw))
    city_first = np.concatenate([[0], np.cumsum(city_count)[:-1]])
    landmark = r.integers(0, len(vocab.LANDMARKS), n)
    dup = pd.DataFrame({"c": city, "l": landmark}).groupby(["c", "l"]).cumcount().to_numpy()
    suffix = tx.pick(["", "二店", "三店", "四店", "五店"] + [f"{i}店" for i in range(6, 100)], np.minimum(dup, 98))
    city_names = tx.pick([c[0] for c in vocab.CITIES], city)
    name = tx.concat(vocab.BRAND, "(", city_names, tx.pick(vocab.LANDMARKS, landmark), suffix, "店)")
    kind = r.choice(3, size=n, p=[0.7, 0.25, 0.05])
    width = max(4, len(str(n)))
    code = tx.concat("S", tx.digits(np.arange(1, n + 1), width))
    is_mobile = r.random(n) < 0.65
    area = tx.pick([c[4] for c in vocab.CITIES], city)
    landline = tx.concat(area, "-", tx.digits(r.integers(60000000, 89999999, n), 8))
    phone_mobile = np.where(is_mobile, phones[:n], 0)
    phone_text = tx.where(is_mobile, tx.mobile(phones[:n]), landline)
    return Stores(
        code=code, name=name, city=city, kind=kind, system=(kind == 1).astype(np.int8),
        opened_day=-r.integers(60, 2500, n), status=(r.random(n) < 0.015).astype(np.int8),
        phone_mobile=phone_mobile, phone_text=phone_text, weight=r.lognormal(0, 0.5, n),
        city_first=city_first, city_count=city_count,
    )


# =========================================================================== staff


@dataclass
class Staff:
    """Store staff. Original holders are rows store*3+slot; replacements of leavers follow."""

    store: np.ndarray
    slot: np.ndarray
    hired_day: np.ndarray
    left_day: np.ndarray  # NEVER if still employed
    mobile: np.ndarray
    employee_no: pa.Array
    userid: pa.Array
    replacement: np.ndarray  # per original row: index of the replacement or -1

    @property
    def n(self) -> int:
        return len(self.store)

    def at(self, store: np.ndarray, slot: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Who holds (store, slot) on `day`: original, its replacement, or the manager in between."""
        orig = np.asarray(store, dtype=np.int64) * SLOTS + np.asarray(slot, dtype=np.int64)
        day = np.asarray(day)
        gone = day >= self.left_day[orig]
        repl = self.replacement[orig]
        has_repl = gone & (repl >= 0)
        repl_ready = has_repl & (day >= self.hired_day[np.where(repl >= 0, repl, 0)])
        manager = np.asarray(store, dtype=np.int64) * SLOTS
        return np.where(~gone, orig, np.where(repl_ready, repl, manager))


def make_staff(stores: Stores, cal: Calendar, rng: Streams, ids: Ids, phones: np.ndarray) -> Staff:
    """Three staff per store; ~8% of guides leave mid-window and are replaced 3-20 days later."""
    r = rng("staff")
    n0 = stores.n * SLOTS
    store = np.repeat(np.arange(stores.n), SLOTS)
    slot = np.tile(np.arange(SLOTS), stores.n)
    margin = min(30, cal.days // 4)
    leaves = (slot > 0) & (r.random(n0) < 0.08)
    left = np.where(leaves, r.integers(margin, max(margin + 1, cal.days - margin), n0), NEVER)
    hired = -r.integers(30, 1500, n0)
    k = int(leaves.sum())
    repl_hire = left[leaves] + r.integers(3, 21, k)
    replacement = np.full(n0 + k, -1, dtype=np.int64)
    replacement[np.flatnonzero(leaves)] = n0 + np.arange(k)
    all_store = np.concatenate([store, store[leaves]])
    all_slot = np.concatenate([slot, slot[leaves]])
    all_hired = np.concatenate([hired, repl_hire])
    all_left = np.concatenate([left, np.full(k, NEVER)])
    n = n0 + k
    # HR numbers follow hiring order, as an HR system assigns them
    order = np.argsort(all_hired, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    employee_no = tx.concat("E", tx.digits(100001 + rank, 6))
    base = ids.pinyin(np.arange(n), "staff")
    dup = pd.Series(base.to_numpy(zero_copy_only=False)).groupby(
        base.to_numpy(zero_copy_only=False)).cumcount().to_numpy()
    userid = tx.concat(base, tx.where(dup > 0, tx.ints(dup + 1), ""))
    return Staff(store=all_store, slot=all_slot, hired_day=all_hired, left_day=all_left,
                 mobile=phones[:n], employee_no=employee_no, userid=userid, replacement=replacement)


# =========================================================================== persons


@dataclass
class Persons:
    """True people. Per-channel join days are NEVER when the person is not in that channel."""

    n: int
    home_store: np.ndarray
    gender: np.ndarray  # 0 unknown, 1 male, 2 female
    birthday: np.ndarray  # yyyymmdd
    first_seen: np.ndarray
    activity: np.ndarray
    flags: np.ndarray
    join: dict[str, np.ndarray]
    mobile1: np.ndarray
    mobile2: np.ndarray  # 0 when the phone never changed
    change_day: np.ndarray  # NEVER when the phone never changed
    alt_store: np.ndarray  # another store in the same city (for the occasional visit)

    def has(self, bit: int) -> np.ndarray:
        return (self.flags & bit) != 0

    def mobile_on(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The number the person used on `day` (after a change, the new one)."""
        return np.where(np.asarray(day) >= self.change_day[idx], self.mobile2[idx], self.mobile1[idx])


def _join_after(r: np.random.Generator, base: np.ndarray, mean_lag: float, p_now: float) -> np.ndarray:
    """A join day at or after `base`: immediately with p_now, else after an exponential lag."""
    lag = np.where(r.random(len(base)) < p_now, 0, r.exponential(mean_lag, len(base)))
    return (base + lag).astype(np.int64)


def make_persons(n: int, cal: Calendar, stores: Stores, rng: Streams, phones: np.ndarray) -> Persons:
    """Draw people, their channel memberships and the day they joined each channel.

    Buyers split online-only / offline-only / both at 9 / 15 / 76 (the industry figure); flags for
    channels joined after the window end are cleared, so the realised split drifts a little.
    """
    r = rng("persons")
    D = cal.days
    p_store = stores.weight / stores.weight.sum()
    home = r.choice(stores.n, size=n, p=p_store)
    city = stores.city[home]
    alt = stores.city_first[city] + (r.random(n) * stores.city_count[city]).astype(np.int64)
    gender = r.choice(3, size=n, p=[0.04, 0.36, 0.60]).astype(np.int8)
    year = np.clip(np.round(r.normal(1993, 8, n)), 1955, 2008).astype(np.int64)
    birthday = year * 10000 + r.integers(1, 13, n) * 100 + r.integers(1, 29, n)
    before = r.random(n) < 0.5
    first_seen = np.where(before, -r.integers(1, 730, n), (D * r.random(n) ** 0.8).astype(np.int64))
    activity = r.gamma(1.2, 1 / 1.2, n)

    buyer = r.random(n) < 0.85
    # 0 online only, 1 offline only, 2 both; set a little towards 'both' because channels joined
    # after the window are cleared below, which turns some 'both' into single-channel buyers
    seg = r.choice(3, size=n, p=[0.075, 0.125, 0.80])
    online = buyer & (seg != 1)
    offline = buyer & (seg != 0)
    mp_buy = online & (r.random(n) < 0.75)
    tmall = online & (r.random(n) < 0.35)
    jd = online & (r.random(n) < 0.10)
    douyin = online & (r.random(n) < 0.22)
    mp_buy |= online & ~(mp_buy | tmall | jd | douyin)
    mp = mp_buy | (r.random(n) < 0.30)
    tmall_bind = tmall & (r.random(n) < 0.45)
    douyin_bind = douyin & (r.random(n) < 0.35)
    wecom = r.random(n) < np.where(offline, 0.62, np.where(online, 0.45, 0.35))
    oa = r.random(n) < np.where(mp, 0.45, 0.25)
    group = (wecom & (r.random(n) < 0.30)) | (~wecom & (r.random(n) < 0.03))
    crm = offline | mp | tmall_bind | douyin_bind | (~buyer & (r.random(n) < 0.30))

    join: dict[str, np.ndarray] = {}
    join["pos"] = _join_after(r, first_seen, 60, 0.6)
    join["mini_program"] = _join_after(r, first_seen, 60, 0.5)
    join["mini_program_orders"] = _join_after(r, join["mini_program"], 20, 0.7)
    join["tmall"] = _join_after(r, first_seen, 90, 0.5)
    join["jd"] = _join_after(r, first_seen, 90, 0.5)
    join["douyin"] = _join_after(r, first_seen, 90, 0.5)
    join["tmall_binding"] = _join_after(r, join["tmall"], 30, 0.3)
    join["douyin_binding"] = _join_after(r, join["douyin"], 30, 0.3)
    join["wecom"] = _join_after(r, first_seen, 45, 0.4)
    join["wechat_oa"] = _join_after(r, first_seen, 90, 0.3)
    join["wecom_group"] = _join_after(r, np.maximum(first_seen, join["wecom"]), 60, 0.2)
    flags_by = {"pos": offline, "mini_program": mp, "mini_program_orders": mp_buy, "tmall": tmall, "jd": jd,
                "douyin": douyin, "tmall_binding": tmall_bind, "douyin_binding": douyin_bind, "wecom": wecom,
                "wechat_oa": oa, "wecom_group": group}
    # CRM registration is the first membership moment (card at the till, mini-program, 会员通)
    reg_sources = [np.where(flags_by[c], join[c], NEVER) for c in ("pos", "mini_program", "tmall_binding",
                                                                   "douyin_binding")]
    reg = np.minimum.reduce(reg_sources)
    join["crm"] = np.where(reg < NEVER, reg, first_seen + 3)
    flags_by["crm"] = crm
    flags = np.zeros(n, dtype=np.int64)
    for name, mask in flags_by.items():
        live = mask & (join[name] < D)
        join[name] = np.where(live, join[name], NEVER).astype(np.int32)
        flags |= np.where(live, CHANNEL_BITS[name], 0)

    changed = r.random(n) < 0.04
    change_day = np.where(changed, r.integers(0, D, n), NEVER).astype(np.int32)
    mobile1 = phones[:n]
    mobile2 = np.where(changed, phones[n : 2 * n], 0)
    return Persons(n=n, home_store=home.astype(np.int32), gender=gender, birthday=birthday.astype(np.int32),
                   first_seen=first_seen.astype(np.int32), activity=activity.astype(np.float32),
                   flags=flags.astype(np.int32), join=join, mobile1=mobile1, mobile2=mobile2,
                   change_day=change_day, alt_store=alt.astype(np.int32))


# =========================================================================== CRM members


@dataclass
class Crm:
    """CRM member rows (a person may have two: the duplicates OneID has to merge)."""

    person: np.ndarray
    reg_day: np.ndarray
    reg_sod: np.ndarray
    channel: np.ndarray  # index into REG_CHANNELS
    store: np.ndarray  # -1 when registered online
    mobile: np.ndarray  # as stored, anomalies included; 0 = empty
    mobile_issue: np.ndarray  # index into MOBILE_ISSUES
    dup_kind: np.ndarray  # index into DUP_KINDS (0 = the person's first record)
    member_no: np.ndarray
    card_no: np.ndarray
    primary_row: np.ndarray  # per person: first row or -1
    second_row: np.ndarray  # per person: duplicate row or -1
    switch_day: np.ndarray  # per person: day the duplicate became the card in use

    @property
    def n(self) -> int:
        return len(self.person)

    def card_row(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The member row whose card the person shows on `day`."""
        use_second = (self.second_row[idx] >= 0) & (np.asarray(day) >= self.switch_day[idx])
        return np.where(use_second, self.second_row[idx], self.primary_row[idx])


REG_CHANNELS = ("门店", "小程序", "天猫", "抖音", "企微", "公众号")
MOBILE_ISSUES = ("ok", "typo", "guide_phone", "store_phone", "empty", "legacy_no_mobile")
DUP_KINDS = ("first", "phone_change", "legacy_card", "franchise_sync")


def make_crm(persons: Persons, stores: Stores, staff: Staff, cal: Calendar, rng: Streams) -> Crm:
    """CRM rows with the defects a real member base has.

    Per record: ~1% one-digit typo, ~0.4% the registering guide's own phone, ~0.4% the store
    phone, ~1% no phone. Per person: ~40% of phone changers register again with the new number,
    ~0.6% of pre-window members hold a legacy card without phone plus a mini-program one, ~0.5% of
    franchise customers are synced twice with the same phone.
    """
    r = rng("crm")
    D = cal.days
    who = np.flatnonzero(persons.has(CRM))
    reg = persons.join["crm"][who].astype(np.int64)
    n1 = len(who)
    by = persons.has(POS)[who] & (reg == persons.join["pos"][who])
    channel = np.where(by, 0, np.where(persons.join["mini_program"][who] == reg, 1,
                       np.where(persons.join["tmall_binding"][who] == reg, 2,
                                np.where(persons.join["douyin_binding"][who] == reg, 3,
                                         r.choice([1, 4, 5], size=n1, p=[0.6, 0.25, 0.15])))))
    store = np.where(np.isin(channel, [0, 1, 4]), persons.home_store[who], -1)
    mobile = persons.mobile_on(who, reg)
    issue = np.zeros(n1, dtype=np.int8)

    # duplicates
    chg = (persons.change_day[who] < D) & (persons.change_day[who] > reg) & (r.random(n1) < 0.4)
    chg_day = persons.change_day[who] + r.exponential(20, n1).astype(np.int64)
    chg &= chg_day < D
    legacy = (reg < -60) & (r.random(n1) < 0.006) & ~chg
    legacy_day = r.integers(0, D, n1)
    fr = (stores.system[persons.home_store[who]] == 1) & (r.random(n1) < 0.005) & ~chg & ~legacy
    fr_day = np.maximum(reg, 0) + r.integers(1, 120, n1)
    fr &= fr_day < D
    issue[legacy] = 5
    mobile = np.where(legacy, 0, mobile)

    dup_mask = chg | legacy | fr
    dup_of = np.flatnonzero(dup_mask)
    dup_day = np.where(chg, chg_day, np.where(legacy, legacy_day, fr_day))[dup_of]
    dup_kind = np.where(chg, 1, np.where(legacy, 2, 3))[dup_of]
    dup_channel = np.where(dup_kind == 3, 0, 1)
    dup_store = persons.home_store[who[dup_of]]
    dup_mobile = persons.mobile_on(who[dup_of], dup_day)

    person = np.concatenate([who, who[dup_of]])
    reg_day = np.concatenate([reg, dup_day])
    channel_all = np.concatenate([channel, dup_channel])
    store_all = np.concatenate([store, dup_store])
    mobile_all = np.concatenate([mobile, dup_mobile]).astype(np.int64)
    issue_all = np.concatenate([issue, np.zeros(len(dup_of), dtype=np.int8)])
    n = len(person)

    # record-level phone defects (only on records that have a phone)
    u = r.random(n)
    has_phone = mobile_all > 0
    offline_reg = channel_all == 0
    t = has_phone & (u < 0.01)
    g = has_phone & offline_reg & (u >= 0.01) & (u < 0.018)
    s = has_phone & offline_reg & (u >= 0.018) & (u < 0.026) & (stores.phone_mobile[np.maximum(store_all, 0)] > 0)
    e = has_phone & (u >= 0.03) & (u < 0.04)
    mobile_all = np.where(t, typo(mobile_all, r), mobile_all)
    guide = staff.at(np.maximum(store_all, 0), r.integers(0, SLOTS, n), np.maximum(reg_day, 0))
    mobile_all = np.where(g, staff.mobile[guide], mobile_all)
    mobile_all = np.where(s, stores.phone_mobile[np.maximum(store_all, 0)], mobile_all)
    mobile_all = np.where(e, 0, mobile_all)
    issue_all = np.select([t, g, s, e], [1, 2, 3, 4], issue_all).astype(np.int8)

    # member numbers follow registration order, as CRMs hand them out
    reg_sod = r.integers(9 * 3600, 22 * 3600, n)
    order = np.lexsort((np.arange(n), reg_sod, reg_day))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    member_no = 1_000_000_001 + rank
    card_no = 880_000_000_000 + r.choice(10**9, size=n, replace=False)

    primary_row = np.full(persons.n, -1, dtype=np.int64)
    primary_row[who] = np.arange(n1)
    second_row = np.full(persons.n, -1, dtype=np.int64)
    second_row[who[dup_of]] = n1 + np.arange(len(dup_of))
    switch = np.full(persons.n, NEVER, dtype=np.int64)
    switch[who[dup_of]] = dup_day
    return Crm(person=person, reg_day=reg_day, reg_sod=reg_sod, channel=channel_all, store=store_all,
               mobile=mobile_all, mobile_issue=issue_all,
               dup_kind=np.concatenate([np.zeros(n1, dtype=np.int64), dup_kind]), member_no=member_no,
               card_no=card_no, primary_row=primary_row, second_row=second_row, switch_day=switch)


# =========================================================================== WeCom relationships

END_LIVE, END_CHURN, END_GUIDE_DELETED, END_TRANSFER, END_TRANSFER_FAIL = range(5)


@dataclass
class Relations:
    """Customer x guide relationships over the window (and before it)."""

    person: np.ndarray
    guide: np.ndarray
    add_sec: np.ndarray
    add_way: np.ndarray
    state: np.ndarray  # index into `states`, -1 = no state
    oper: np.ndarray  # 0 the customer, 1 the guide, 2 the store manager (transfer)
    end_sec: np.ndarray  # NEVER-ish large when live
    end_kind: np.ndarray
    via_transfer: np.ndarray
    states: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.person)


LEAD_STATES = [s[0] for s in vocab.PAID_STATES]
FIXED_STATES = LEAD_STATES + list(vocab.FREE_STATES)


def _state_choice(r: np.random.Generator, in_window: np.ndarray, online: np.ndarray, mp: np.ndarray) -> np.ndarray:
    """Acquisition source per new fan: -2 store QR, -1 none, else index into FIXED_STATES."""
    n = len(in_window)
    names = ["store", "none"] + FIXED_STATES
    p_in = {"store": 0.36, "none": 0.20, "dy_lead": 0.07, "tx_lead": 0.05, "xhs_lead": 0.03, "pkg_card": 0.08,
            "ai_call": 0.04, "mp_pay": 0.11, "oa_menu": 0.03, "fission": 0.03}
    p_pre = {"store": 0.50, "none": 0.30, "mp_pay": 0.15, "oa_menu": 0.05}
    pin = np.array([p_in.get(k, 0) for k in names])
    ppre = np.array([p_pre.get(k, 0) for k in names])
    pick = np.where(in_window, r.choice(len(names), size=n, p=pin / pin.sum()),
                    r.choice(len(names), size=n, p=ppre / ppre.sum()))
    pick = np.where((pick == names.index("pkg_card")) & ~online, 0, pick)
    pick = np.where((pick == names.index("mp_pay")) & ~mp, 0, pick)
    return pick - 2


def make_relations(persons: Persons, stores: Stores, staff: Staff, cal: Calendar, rng: Streams) -> Relations:
    """Primary guide per fan, a second guide for ~8%, churn ~2%/month, transfers when guides leave."""
    r = rng("relations")
    D = cal.days
    w = np.flatnonzero(persons.has(WECOM))
    add_day = persons.join["wecom"][w].astype(np.int64)
    store = persons.home_store[w]
    slot = r.choice(SLOTS, size=len(w), p=[0.4, 0.3, 0.3])
    guide = staff.at(store, slot, np.maximum(add_day, 0))
    src = _state_choice(r, add_day >= 0, (persons.flags[w] & ONLINE) != 0, persons.has(MP_BUY)[w])
    n_stores = stores.n
    # states: one store QR per store, then the fixed ones
    state = np.where(src == -2, store, np.where(src >= 0, n_stores + src, -1))
    add_way = np.where(src == -1, r.choice(vocab.UNSTATED_ADD_WAYS, size=len(w)),
                       np.where(np.isin(src, [FIXED_STATES.index(s) for s in LEAD_STATES if s != "pkg_card"]),
                                16, 1))

    # second guide
    sec = r.random(len(w)) < 0.08
    s_idx = np.flatnonzero(sec)
    s_day = np.maximum(add_day[s_idx], 0) + r.integers(1, 200, len(s_idx))
    keep = s_day < D
    s_idx, s_day = s_idx[keep], s_day[keep]
    s_slot = (slot[s_idx] + r.integers(1, SLOTS, len(s_idx))) % SLOTS
    s_guide = staff.at(store[s_idx], s_slot, s_day)
    s_way = r.choice([3, 4, 1], size=len(s_idx), p=[0.3, 0.4, 0.3])
    s_state = np.where(s_way == 1, store[s_idx], -1)

    person = np.concatenate([w, w[s_idx]])
    g = np.concatenate([guide, s_guide])
    day = np.concatenate([add_day, s_day])
    way = np.concatenate([add_way, s_way])
    st = np.concatenate([state, s_state])
    sod = r.integers(8 * 3600, 22 * 3600, len(person))
    # one relationship per (customer, guide)
    _, first = np.unique(person * staff.n + g, return_index=True)
    first = np.sort(first)
    person, g, day, way, st, sod = person[first], g[first], day[first], way[first], st[first], sod[first]
    add_sec = cal.sec(day, sod)
    oper = np.where(np.isin(way, [2, 4]), 1, 0)

    end_sec, end_kind = _churn(r, cal, add_sec, len(person))
    # transfers when the guide leaves
    left = staff.left_day[g]
    live_at_left = (left < D) & (add_sec < cal.sec(left, 0)) & (end_sec > cal.sec(left, 0))
    t_idx = np.flatnonzero(live_at_left)
    t_day = np.minimum(left[t_idx] + r.integers(0, 3, len(t_idx)), D - 1)
    t_sec = cal.sec(t_day, r.integers(10 * 3600, 18 * 3600, len(t_idx)))
    ok = r.random(len(t_idx)) < 0.95
    end_sec[t_idx] = t_sec
    end_kind[t_idx] = np.where(ok, END_TRANSFER, END_TRANSFER_FAIL)
    new_guide = staff.at(staff.store[g[t_idx]], staff.slot[g[t_idx]], t_day)
    # a transfer to a guide the customer already has is merged away
    existing = person * staff.n + g
    new_key = person[t_idx] * staff.n + new_guide
    ok &= ~np.isin(new_key, existing)
    n_idx = t_idx[ok]
    n_end, n_kind = _churn(r, cal, t_sec[ok], len(n_idx))
    rel = Relations(
        person=np.concatenate([person, person[n_idx]]),
        guide=np.concatenate([g, new_guide[ok]]),
        add_sec=np.concatenate([add_sec, t_sec[ok]]),
        add_way=np.concatenate([way, np.full(len(n_idx), 202)]),
        state=np.concatenate([st, np.full(len(n_idx), -1)]),
        oper=np.concatenate([oper, np.full(len(n_idx), 2)]),
        end_sec=np.concatenate([end_sec, n_end]),
        end_kind=np.concatenate([end_kind, n_kind]),
        via_transfer=np.concatenate([np.zeros(len(person), bool), np.ones(len(n_idx), bool)]),
        states=[],
    )
    code = stores.code.to_pylist()
    rel.states = [f"md_{c}" for c in code] + FIXED_STATES
    return rel


def _churn(r: np.random.Generator, cal: Calendar, start_sec: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """End of a relationship: ~2% a month; 88% the customer deletes the guide, 12% the reverse."""
    start = np.maximum(start_sec, cal.base)
    end = start + (r.exponential(30.4 / 0.02, n) * 86400).astype(np.int64)
    end_of_window = cal.sec(cal.days, 0)
    live = end >= end_of_window
    kind = np.where(live, END_LIVE, np.where(r.random(n) < 0.88, END_CHURN, END_GUIDE_DELETED))
    return np.where(live, np.int64(1) << 62, end), kind.astype(np.int8)


# =========================================================================== guides of members


@dataclass
class Guides:
    """Each member's exclusive guide (staff index) before and after a transfer."""

    before: np.ndarray  # -1 none
    after: np.ndarray
    switch_day: np.ndarray

    def on(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.where(np.asarray(day) >= self.switch_day[idx], self.after[idx], self.before[idx])


def make_guides(persons: Persons, staff: Staff, rel: Relations, cal: Calendar, rng: Streams) -> Guides:
    """The exclusive guide: the first WeCom guide, else (half the offline members) a store guide."""
    r = rng("guides")
    n = persons.n
    before = np.full(n, -1, dtype=np.int64)
    first_rel = ~rel.via_transfer
    # the earliest relationship of each person
    order = np.lexsort((rel.add_sec, rel.person))
    p_sorted = rel.person[order]
    head = np.r_[True, p_sorted[1:] != p_sorted[:-1]]
    firsts = order[head & first_rel[order]]
    before[rel.person[firsts]] = rel.guide[firsts]
    offline_only = (before < 0) & persons.has(CRM) & persons.has(POS) & (r.random(n) < 0.5)
    oo = np.flatnonzero(offline_only)
    before[oo] = staff.at(persons.home_store[oo], r.integers(0, SLOTS, len(oo)),
                          np.maximum(persons.join["crm"][oo], 0))
    left = np.where(before >= 0, staff.left_day[np.maximum(before, 0)], NEVER)
    switch = np.where(left < cal.days, left + 1, NEVER)
    after = before.copy()
    moved = np.flatnonzero(switch < NEVER)
    after[moved] = staff.at(staff.store[before[moved]], staff.slot[before[moved]], switch[moved])
    return Guides(before=before, after=after, switch_day=switch)


# =========================================================================== identity traps: phones


@dataclass
class Recycled:
    """Mobile numbers the carrier re-issued: the old owner (a customer who changed phone, or a guide
    who left: her number is in the staff master) gave it up; months later a different person got the
    number and uses it everywhere (CRM, mini-program, POS). Sorted by recycle day."""

    number: np.ndarray
    old_person: np.ndarray  # -1 when the old owner is a staff member
    old_staff: np.ndarray  # -1 when the old owner is a customer
    new_person: np.ndarray
    change_day: np.ndarray  # the old owner's change to a new number, or the guide's last day
    recycle_day: np.ndarray  # the number is live again (the new owner appears on or after it)

    @property
    def n(self) -> int:
        return len(self.number)


RECYCLE_SHARE = 0.5  # of phone changers (and of leaving staff) whose old number comes back in the window
RECYCLE_LAG = (90, 240)  # days: carriers freeze a cancelled number ~90 days, then re-issue it


def recycle_numbers(persons: Persons, staff: Staff, cal: Calendar, rng: Streams) -> Recycled:
    """Give the old numbers of some phone changers and leaving guides to new persons; mutates
    ``persons.mobile1``.

    An old number is re-issued 90-240 days after the change or the guide's departure (when that is
    at least 30 days before the window ends) with probability ``RECYCLE_SHARE`` (at least one guide's
    when a guide leaves early enough: a staff blocklist without dates refuses the new owner's real
    number). Its new owner is a different person who never changes phone, is first seen after the
    re-issue and is a CRM, mini-program or POS customer: all their records carry the number.
    Matching is vectorised: numbers sorted by recycle day take candidates sorted by first day, each
    the first free one after its day (``j_i = i + cummax(s_i - i)``), so no new owner gets two
    numbers. Must run before the CRM is drawn (members register with the number they hold). The old
    owner's records from before the change keep it.
    """
    r = rng("recycled_numbers")
    D = cal.days
    changers = np.flatnonzero(persons.change_day < NEVER)
    day = persons.change_day[changers].astype(np.int64) + r.integers(*RECYCLE_LAG, len(changers))
    pick = (day < D - 30) & (r.random(len(changers)) < RECYCLE_SHARE)
    leavers = np.flatnonzero(staff.left_day < D)
    s_day = staff.left_day[leavers].astype(np.int64) + r.integers(*RECYCLE_LAG, len(leavers))
    s_ok = s_day < D - 30
    s_pick = s_ok & (r.random(len(leavers)) < RECYCLE_SHARE)
    if s_ok.any() and not s_pick.any():
        s_pick[np.flatnonzero(s_ok)[0]] = True
    old = np.concatenate([changers[pick], np.full(int(s_pick.sum()), -1)])
    old_staff = np.concatenate([np.full(int(pick.sum()), -1), leavers[s_pick]])
    number = np.concatenate([persons.mobile1[changers[pick]], staff.mobile[leavers[s_pick]]])
    gone = np.concatenate([persons.change_day[changers[pick]], staff.left_day[leavers[s_pick]]]).astype(np.int64)
    day = np.concatenate([day[pick], s_day[s_pick]])
    order = np.argsort(day, kind="stable")
    old, old_staff, number, gone, day = old[order], old_staff[order], number[order], gone[order], day[order]
    wanted = (persons.flags & (CRM | MP | POS)) != 0
    eligible = np.flatnonzero(wanted & (persons.change_day == NEVER) & (persons.first_seen > 0))
    if len(old) == 0 or len(eligible) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Recycled(empty, empty, empty, empty, empty, empty)
    cand = r.choice(eligible, size=min(len(eligible), 3 * len(old)), replace=False)
    cand = cand[np.argsort(persons.first_seen[cand], kind="stable")]
    s = np.searchsorted(persons.first_seen[cand], day, side="right")
    i = np.arange(len(old))
    j = i + np.maximum.accumulate(s - i)
    ok = j < len(cand)
    new = cand[j[ok]]
    persons.mobile1[new] = number[ok]
    return Recycled(number=number[ok], old_person=old[ok], old_staff=old_staff[ok], new_person=new,
                    change_day=gone[ok], recycle_day=day[ok])


PHONE_TRAP_KINDS = ("cashier_habit", "pattern", "new_guide_unlisted", "member_lends_phone")


@dataclass
class PhoneTraps:
    """Phones typed on walk-in receipts (no card) that identify none of those shoppers.

    One row per (number, store or staff member) it is typed for: a cashier's habit number (a
    plausible mobile on no list, no pattern), a pattern number (13912345678-like) shared by several
    stores, a new guide's private phone that the staff master does not hold, a member's own phone
    lent to other shoppers for points (蹭积分). ``share``: of the walk-in receipts without a phone
    that the row applies to, how many carry it. ``receipts``, ``first_day`` and ``last_day`` are
    filled as POS months are written (orders.walk_in_phone_traps).
    """

    kind: np.ndarray  # index into PHONE_TRAP_KINDS
    number: np.ndarray
    store: np.ndarray  # the store (pattern, lending member); -1 when tied to a staff member
    staff: np.ndarray  # the cashier (habit) or the new guide (unlisted); -1
    person: np.ndarray  # the member who lends her phone; -1
    share: np.ndarray
    from_day: np.ndarray  # typed from this day on (the guide's hire, the member's registration)
    receipts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    first_day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    last_day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        k = len(self.kind)
        self.receipts = np.zeros(k, dtype=np.int64)
        self.first_day = np.full(k, NEVER, dtype=np.int64)
        self.last_day = np.full(k, -1, dtype=np.int64)

    @property
    def n(self) -> int:
        return len(self.kind)

    def row_of(self, kind: str, owners: int, owner: np.ndarray) -> np.ndarray:
        """Per owner index (staff or store, ``owners`` of them): its trap row of ``kind``, or -1."""
        rows = np.flatnonzero(self.kind == PHONE_TRAP_KINDS.index(kind))
        of = np.full(owners, -1, dtype=np.int64)
        keys = self.store[rows] if kind in ("pattern", "member_lends_phone") else self.staff[rows]
        of[keys] = rows
        return of[owner]


HABIT_SHARE = 0.10  # of staff who type their own made-up number for walk-ins
PATTERN_STORE_SHARE = 0.3  # of stores where a pattern number is typed
LENDING_STORE_SHARE = 0.3  # of stores with a member who lends her phone


def fresh_mobiles(r: np.random.Generator, k: int, taken: np.ndarray) -> np.ndarray:
    """``k`` distinct plausible mobiles that nobody in the world holds (and no placeholder shape)."""
    pool = mobile_pool(r, 2 * k + 16)
    return pool[~np.isin(pool, taken)][:k]


def make_phone_traps(persons: Persons, stores: Stores, staff: Staff, crm: Crm, cal: Calendar, rng: Streams,
                     extra: np.ndarray) -> PhoneTraps:
    """Draw the phone traps of walk-in receipts (see ``PhoneTraps``); at least one of each kind.

    Rates: ~10% of staff have a habit number (half of their phone-less walk-in receipts get it); a
    pattern number per ~12 stores, each typed at 2-4 stores (~30% of stores, 15% of their phone-less
    walk-ins); the recent hires (in the window, or the latest one) have a private phone typed on 30% of
    the walk-ins they serve; ~30% of stores have a member lending her phone (12% of walk-ins).
    """
    r = rng("phone_traps")
    taken = np.concatenate([persons.mobile1, persons.mobile2, staff.mobile, stores.phone_mobile, extra])
    kinds, numbers, store, who, person, share, from_day = [], [], [], [], [], [], []

    def add(kind: str, num: np.ndarray, st: np.ndarray, sf: np.ndarray, pe: np.ndarray, sh: float,
            day: np.ndarray) -> None:
        k = len(num)
        kinds.append(np.full(k, PHONE_TRAP_KINDS.index(kind)))
        numbers.append(num)
        store.append(st)
        who.append(sf)
        person.append(pe)
        share.append(np.full(k, sh))
        from_day.append(day)

    none = np.full(0, -1, dtype=np.int64)
    habit = np.flatnonzero(r.random(staff.n) < HABIT_SHARE)
    if len(habit) == 0:
        habit = r.choice(staff.n, size=1)
    add("cashier_habit", fresh_mobiles(r, len(habit), taken), np.full(len(habit), -1), habit,
        np.full(len(habit), -1), 0.5, np.full(len(habit), -(1 << 20)))

    n_pattern = max(1, round(stores.n / 12))
    prefixes = np.array([139, 138, 135, 136, 186, 188, 150, 137])
    tails = np.array([int(t) for t in vocab.PATTERN_PHONE_TAILS])
    pattern = prefixes[r.integers(0, len(prefixes), n_pattern)] * 10**8 + tails[r.integers(0, len(tails), n_pattern)]
    at = np.flatnonzero(r.random(stores.n) < PATTERN_STORE_SHARE)
    if len(at) < 2:
        at = r.choice(stores.n, size=min(2, stores.n), replace=False)
    # each pattern number at 2-4 of the chosen stores: store i of the shuffled list takes number i // size
    at = r.permutation(at)
    per = np.repeat(np.arange(n_pattern), r.integers(2, 5, n_pattern))[: len(at)]
    at = at[: len(per)]
    add("pattern", pattern[per], at, np.full(len(at), -1), np.full(len(at), -1), 0.15,
        np.full(len(at), -(1 << 20)))

    recent = np.flatnonzero((staff.hired_day >= 0) & (staff.hired_day < cal.days) & (staff.slot > 0))
    if len(recent) == 0:
        guides = np.flatnonzero(staff.slot > 0)
        recent = guides[np.argsort(staff.hired_day[guides], kind="stable")[-1:]]
    add("new_guide_unlisted", fresh_mobiles(rng("phone_traps", "guides"), len(recent), taken), np.full(len(recent), -1),
        recent, np.full(len(recent), -1), 0.3, np.maximum(staff.hired_day[recent], 0).astype(np.int64))

    # a member of the store (a POS customer with her phone on her card) lends it to other shoppers
    lenders = np.flatnonzero(persons.has(CRM) & persons.has(POS))
    row = crm.primary_row[lenders]
    lenders = lenders[(crm.mobile[row] > 0) & (crm.mobile_issue[row] == 0)]
    lenders = lenders[r.permutation(len(lenders))]
    home = persons.home_store[lenders]
    stores_with, first = np.unique(home, return_index=True)
    chosen = r.random(len(stores_with)) < LENDING_STORE_SHARE
    if not chosen.any() and len(chosen):
        chosen[0] = True
    lender = lenders[first[chosen]]
    add("member_lends_phone", crm.mobile[crm.primary_row[lender]], stores_with[chosen], np.full(len(lender), -1),
        lender, 0.12, np.maximum(crm.reg_day[crm.primary_row[lender]], 0).astype(np.int64))
    cat = [np.concatenate(x).astype(np.int64) if x else none for x in (kinds, numbers, store, who, person, from_day)]
    return PhoneTraps(kind=cat[0], number=cat[1], store=cat[2], staff=cat[3], person=cat[4],
                      share=np.concatenate(share), from_day=cat[5])


# =========================================================================== the world


@dataclass
class World:
    """Everything the channel writers need."""

    seed: int
    cal: Calendar
    rng: Streams
    ids: Ids
    stores: Stores
    staff: Staff
    persons: Persons
    crm: Crm
    rel: Relations
    guides: Guides
    extra_phones: np.ndarray  # numbers of people outside the person table (gift receivers, leads)
    recycled: Recycled | None = None  # numbers the carrier re-issued to another person
    phone_traps: PhoneTraps | None = None  # phones typed on walk-in receipts that identify no shopper
    households: Households | None = None  # who lives with whom (demo/receivers.py)


def build_world(n: int, cal: Calendar, seed: int) -> World:
    """Draw the whole world for `n` persons."""
    rng = Streams(seed)
    ids = Ids(seed)
    n_stores = max(5, n // 300)
    n_staff_max = n_stores * SLOTS * 2
    n_extra = n // 5 + 1000
    phones = mobile_pool(rng("phones"), 2 * n + n_stores + n_staff_max + n_extra)
    stores = make_stores(n, cal, rng, phones[2 * n :])
    staff = make_staff(stores, cal, rng, ids, phones[2 * n + n_stores :])
    persons = make_persons(n, cal, stores, rng, phones[: 2 * n])
    recycled = recycle_numbers(persons, staff, cal, rng)  # before the CRM: members register with the number they hold
    crm = make_crm(persons, stores, staff, cal, rng)
    households = make_households(persons, stores, rng)
    share_household_phones(households, persons, crm, rng)
    rel = make_relations(persons, stores, staff, cal, rng)
    guides = make_guides(persons, staff, rel, cal, rng)
    extra = phones[2 * n + n_stores + n_staff_max :]
    traps = make_phone_traps(persons, stores, staff, crm, cal, rng, extra)
    return World(seed, cal, rng, ids, stores, staff, persons, crm, rel, guides, extra, recycled, traps,
                 households=households)
