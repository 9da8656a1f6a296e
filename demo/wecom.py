"""WeCom (contacts, change events, customer groups, daily statistics) and official-account exports.

The files reproduce the API answers an extractor saves: batch/get_by_user pages, a few
externalcontact/get answers, decrypted change_external_contact callbacks (JSONL per month),
groupchat/get answers, get_user_behavior_data wrapped with the guide's userid, and
groupchat/statistic per day with the requested day added. JSON is built vectorised as text.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from demo import text as tx
from demo import vocab, wecom_tags
from demo.calendar import Calendar
from demo.context import Ctx, with_unicode_forms
from demo.pilot import PilotRecorder
from demo.truth import BadRow
from demo.wecom_tags import ContactTags
from demo.world import (
    END_CHURN,
    END_GUIDE_DELETED,
    END_LIVE,
    END_TRANSFER,
    END_TRANSFER_FAIL,
    GROUP,
    MP,
    OA,
    SLOTS,
    World,
    take,
)
from demo.writers import JsonlWriter, join_json, write_json

API_PAGE = 100  # batch/get_by_user and user/info/batchget return at most 100 per call
MAX_PAGES = 2000  # above this, pages grow instead of the file count (documented in truth/README)
MAX_GET_FILES = 500


def page_bounds(n: int, page: int = API_PAGE, max_files: int = MAX_PAGES) -> np.ndarray:
    """Row offsets of pages: API-sized pages unless that would exceed `max_files` files."""
    size = max(page, -(-n // max_files))
    return np.unique(np.r_[np.arange(0, n, size), n]) if n else np.array([0])


def unionid_visible(world: World, idx: np.ndarray, channel: str) -> np.ndarray:
    """Whether a channel's record carries the unionid: it needs the open platform binding.

    WeCom returns it only for customers who also use the brand's mini-program or official account
    (same open platform); the mini-program and OA return it for most users.
    """
    p = world.persons
    coin = world.ids.coin(idx, f"unionid:{channel}")
    if channel == "wecom":
        linked = (p.flags[idx] & (MP | OA)) != 0
        return np.where(linked, coin < 0.95, coin < 0.45)
    return coin < {"mini_program": 0.88, "wechat_oa": 0.92, "crm": 0.8}[channel]


def _tag_combos() -> tuple[list[str], list[str]]:
    """All 0-2 tag combinations as JSON: tag_id lists (batch API) and tags objects (get API)."""
    ids_json, objs_json = ["[]"], ["[]"]
    tags = vocab.WECOM_TAGS
    singles = [[t] for t in tags]
    pairs = [[a, b] for i, a in enumerate(tags) for b in tags[i + 1 :] if a[1] != b[1]]
    for combo in singles + pairs:
        ids_json.append("[" + ",".join(f'"{t[0]}"' for t in combo) + "]")
        objs_json.append("[" + ",".join(
            f'{{"group_name":"{t[1]}","tag_name":"{t[2]}","type":1,"tag_id":"{t[0]}"}}' for t in combo) + "]")
    return ids_json, objs_json


# =========================================================================== contacts


def listed_relations(world: World) -> np.ndarray:
    """Relations the contact API still lists at the export date.

    Live ones, plus ~30% of those the customer deleted in the last 45 days: follow_user lags
    behind, which is why churn must come from events. One entry per customer x guide, as WeCom
    lists them: a customer who deleted a guide and was added again by the same guide is listed
    once, with the newer relation (two entries would be an export bug the raw gate refuses).
    """
    rel, cal = world.rel, world.cal
    end = cal.sec(cal.days, 0)
    recent_churn = (rel.end_kind == END_CHURN) & (rel.end_sec >= end - 45 * 86400)
    linger = recent_churn & (world.ids.coin(np.arange(rel.n), "linger") < 0.3)
    listed = np.flatnonzero((rel.end_kind == END_LIVE) | linger)
    newest_first = listed[np.lexsort((-rel.add_sec[listed], rel.guide[listed], rel.person[listed]))]
    person, guide = rel.person[newest_first], rel.guide[newest_first]
    first = np.ones(len(newest_first), dtype=bool)
    first[1:] = (person[1:] != person[:-1]) | (guide[1:] != guide[:-1])
    return np.sort(newest_first[first])


def write_contacts(ctx: Ctx) -> ContactTags:
    """batch/get_by_user pages, plus externalcontact/get answers for customers added in the last days.

    Returns the listed relations with the enterprise tag ids each row shows, for the get sweeps
    of demo/wecom_tags.py (the extra ids come from that module's own generator).
    """
    w = ctx.world
    rel, staff, ids, persons, cal = w.rel, w.staff, w.ids, w.persons, w.cal
    r = w.rng("contacts")
    idx = listed_relations(w)
    ctx.truth.count("wecom_contacts_listed_after_customer_deleted", int((rel.end_kind[idx] == END_CHURN).sum()))
    person = rel.person[idx]
    n = len(idx)
    ctype = np.where(ids.coin(person, "wecom_type") < 0.03, 2, 1)
    vis = unionid_visible(w, person, "wecom") & (ctype == 1)
    ctx.truth.count("wecom_contacts_without_unionid", int((~vis).sum()))
    has_mobile = r.random(n) < 0.35
    ids_json, objs_json = _tag_combos()
    combo = np.where(r.random(n) < 0.4, 0, r.integers(1, len(ids_json), n))
    extra = wecom_tags.extra_codes(w, n)
    with_remark = r.random(n) < 0.7
    with_description = r.random(n) < 0.1

    def render(sel: np.ndarray, shape: str) -> tuple[pa.Array, pa.Array, pa.Array]:
        """(external_contact, follow_info or follow_user, key) of listed relations `sel`."""
        ri, p = idx[sel], person[sel]
        external = ids.external_userid(p)
        contact = tx.json_object([
            ("external_userid", tx.json_str(external)),
            ("name", tx.json_str(ids.nickname(p))),
            ("type", tx.ints(ctype[sel])),
            ("avatar", tx.json_str(ids.avatar(p))),
            ("gender", tx.ints(persons.gender[p])),
            ("unionid", tx.where(vis[sel], tx.json_str(contact_unionid(ctx, p, ri, vis[sel])), None)),
        ], omit_null=True)
        guide = rel.guide[ri]
        userid = take(staff.userid, guide)
        real = persons.mobile_on(p, np.maximum(cal.day_of(rel.add_sec[ri]), 0))
        oper = np.select([rel.oper[ri] == 0, rel.oper[ri] == 1],
                         [external, userid], take(staff.userid, staff.store[guide] * SLOTS))
        state = rel.state[ri]
        follow = tx.json_object([
            ("userid", tx.json_str(userid)),
            ("remark", tx.json_str(tx.where(with_remark[sel], _remark(w, p), ""))),
            ("description", tx.json_str(tx.where(with_description[sel], "喜欢燕麦拿铁，周末常来", ""))),
            ("createtime", tx.ints(Calendar.epoch(rel.add_sec[ri]))),
            ("tag_id" if shape == "batch" else "tags",
             wecom_tags.with_extra_ids(tx.pick(ids_json if shape == "batch" else objs_json, combo[sel]),
                                       extra[sel], shape)),
            ("remark_mobiles", tx.where(has_mobile[sel], tx.concat('["', tx.mobile(real), '"]'), "[]")),
            ("oper_userid", tx.json_str(oper)),
            ("add_way", tx.ints(rel.add_way[ri])),
            ("state", tx.where(state >= 0, tx.json_str(tx.pick(rel.states, np.maximum(state, 0))), None)),
        ], omit_null=True)
        return contact, follow, tx.concat(external, "|", userid)

    # customers added in the last two days were fetched one by one after the add callback
    recent = rel.add_sec[idx] >= cal.sec(cal.days - 2, 0)
    in_get = np.isin(person, np.unique(person[recent])[-MAX_GET_FILES:])
    batch = np.flatnonzero(~in_get)
    batch = batch[np.lexsort((rel.add_sec[idx][batch], rel.guide[idx][batch]))]
    bounds = page_bounds(len(batch))
    cursor = tx.tokens(np.arange(len(bounds), dtype=np.uint64) + np.uint64(w.seed), 24, tx.ALNUM).to_pylist()
    for a, b in page_spans(bounds):
        sel = batch[bounds[a] : bounds[b]]
        contact, follow, keys = render(sel, "batch")
        records = tx.concat('{"external_contact":', contact, ',"follow_info":', follow, "}")
        pages = join_json(records, bounds[a : b + 1] - bounds[a])
        for p_, body in enumerate(pages, start=a):
            nxt = cursor[p_] if p_ + 1 < len(bounds) - 1 else ""
            doc = f'{{"errcode":0,"errmsg":"ok","external_contact_list":[{body}],"next_cursor":"{nxt}"}}'
            write_json(ctx.out, ctx.path("wecom", "contacts", f"batch_get_by_user_p{p_ + 1:05d}.json"), doc,
                       int(bounds[p_ + 1] - bounds[p_]))
        ctx.truth.add("wecom_contacts", keys, person[sel])

    single = np.flatnonzero(in_get)
    single = single[np.lexsort((rel.add_sec[idx][single], person[single]))]
    if len(single):
        ps = person[single]
        starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
        ends = np.r_[starts[1:], len(single)]
        contact, follow, keys = render(single, "get")
        follows = join_json(follow, np.r_[starts, len(single)])
        heads = take(contact, starts).to_pylist()
        names = ids.external_userid(ps[starts]).to_pylist()
        for head, fu, name, a, b in zip(heads, follows, names, starts, ends):
            doc = f'{{"errcode":0,"errmsg":"ok","external_contact":{head},"follow_user":[{fu}]}}'
            write_json(ctx.out, ctx.path("wecom", "contacts", "external_contact_get", f"{name}.json"), doc, int(b - a))
        ctx.truth.add("wecom_contacts", keys, ps)
    ctx.truth.rows_written("wecom_contacts", n)
    combos = [json.loads(text) for text in ids_json]
    return ContactTags(idx, combo, combos, extra)


def contact_unionid(ctx: Ctx, person: np.ndarray, relation: np.ndarray, shown: np.ndarray) -> pa.Array:
    """The unionid an external contact shows, a few in another Unicode form (JSON holds any character);
    only the ``shown`` ones are drawn and counted."""
    ids = ctx.world.ids
    return with_unicode_forms(ctx, "wecom_contacts.unionid", ids.unionid(person),
                              np.where(shown, ids.coin(relation, "uform:wecom_contacts.unionid"), 1.0))


def page_spans(bounds: np.ndarray, rows: int = 200_000) -> list[tuple[int, int]]:
    """Groups of whole pages [a, b) (page indexes) holding about `rows` rows: rendered together."""
    spans, a = [], 0
    pages = len(bounds) - 1
    while a < pages:
        b = max(a + 1, int(np.searchsorted(bounds, bounds[a] + rows, side="right")) - 1)
        b = min(b, pages)
        spans.append((a, b))
        a = b
    return spans


def _remark(world: World, person: np.ndarray) -> pa.Array:
    """How guides remark customers: '王女士', '李先生 燕麦拿铁'."""
    sur, _, _ = world.ids.name_parts(person)
    title = np.where(world.persons.gender[person] == 1, 1, 0)
    base = tx.concat(tx.pick([s[0] for s in vocab.SURNAMES], sur), tx.pick(["女士", "先生"], title))
    extra = tx.pick(["", "", " 燕麦拿铁", " 常客", " 办公室团购", " 美式不加糖"],
                    (world.ids.coin(person, "remark") * 6).astype(np.int64))
    return tx.concat(base, extra)


# =========================================================================== events


CHANGE_TYPES = ("add_external_contact", "edit_external_contact", "add_half_external_contact",
                "del_external_contact", "del_follow_user", "transfer_fail")


def event_table(world: World) -> dict[str, np.ndarray]:
    """All change_external_contact callbacks of the window as arrays, sorted by time."""
    rel, cal, staff = world.rel, world.cal, world.staff
    r = world.rng("events")
    start, stop = cal.base, cal.sec(cal.days, 0)
    ridx, kind, sec, guide, source = [], [], [], [], []

    def add(rows: np.ndarray, k: int, t: np.ndarray, g: np.ndarray, src: int = 0) -> None:
        ridx.append(rows)
        kind.append(np.full(len(rows), k))
        sec.append(t)
        guide.append(g)
        source.append(np.full(len(rows), src))

    adds = np.flatnonzero((rel.add_sec >= start) & (rel.add_sec < stop))
    add(adds, 0, rel.add_sec[adds], rel.guide[adds])
    half = adds[(rel.oper[adds] == 0) & (r.random(len(adds)) < 0.05)]
    add(half, 2, np.maximum(rel.add_sec[half] - r.integers(60, 6 * 3600, len(half)), start), rel.guide[half])
    ended = (rel.end_sec >= start) & (rel.end_sec < stop)
    churn = np.flatnonzero(ended & (rel.end_kind == END_CHURN))
    add(churn, 4, rel.end_sec[churn], rel.guide[churn])
    gdel = np.flatnonzero(ended & (rel.end_kind == END_GUIDE_DELETED))
    add(gdel, 3, rel.end_sec[gdel], rel.guide[gdel])
    trans = np.flatnonzero(ended & (rel.end_kind == END_TRANSFER))
    add(trans, 3, rel.end_sec[trans], rel.guide[trans], src=1)
    fail = np.flatnonzero(ended & (rel.end_kind == END_TRANSFER_FAIL))
    taker = staff.at(staff.store[rel.guide[fail]], staff.slot[rel.guide[fail]], cal.day_of(rel.end_sec[fail]))
    add(fail, 5, rel.end_sec[fail], taker, src=2)
    # edits (remark, tags) while the relationship is live inside the window
    lo = np.maximum(rel.add_sec, start)
    hi = np.minimum(rel.end_sec, stop)
    span = np.maximum(hi - lo, 0)
    k = r.poisson(0.4 * span / (365 * 86400))
    e = np.repeat(np.arange(rel.n), k)
    add(e, 1, lo[e] + (r.random(len(e)) * span[e]).astype(np.int64), rel.guide[e])

    out = {"rel": np.concatenate(ridx), "kind": np.concatenate(kind), "sec": np.concatenate(sec),
           "guide": np.concatenate(guide), "source": np.concatenate(source)}
    order = np.lexsort((out["kind"], out["rel"], out["sec"]))
    return {k2: v[order] for k2, v in out.items()}


def write_events(ctx: Ctx, ev: dict[str, np.ndarray]) -> None:
    """JSONL per month; the last line of the last file is cut short (a download that died)."""
    w = ctx.world
    rel, ids, staff, cal = w.rel, w.ids, w.staff, w.cal
    r = w.rng("events", "render")
    n = len(ev["rel"])
    kind = ev["kind"]
    welcome = r.integers(0, 2**63, n).astype(np.uint64)
    fail_reason = (r.random(n) < 0.2).astype(np.int64)
    for i, name in enumerate(CHANGE_TYPES):
        ctx.truth.count(f"wecom_events:{name}", int((kind == i).sum()))
    ctx.truth.count("wecom_events:del_external_contact_by_transfer", int((ev["source"] == 1).sum()))

    def render(sel: np.ndarray) -> tuple[pa.Array, pa.Array]:
        ri, k = ev["rel"][sel], kind[sel]
        external = ids.external_userid(rel.person[ri])
        userid = take(staff.userid, ev["guide"][sel])
        state = rel.state[ri]
        source = ev["source"][sel]
        lines = tx.json_object([
            ("ToUserName", tx.json_str(tx.const(vocab.CORP_ID, len(sel)))),
            ("FromUserName", '"sys"'),
            ("CreateTime", tx.ints(Calendar.epoch(ev["sec"][sel]))),
            ("MsgType", '"event"'),
            ("Event", '"change_external_contact"'),
            ("ChangeType", tx.json_str(tx.pick(CHANGE_TYPES, k))),
            ("UserID", tx.json_str(userid)),
            ("ExternalUserID", tx.json_str(external)),
            ("State", tx.where(np.isin(k, [0, 2]) & (state >= 0),
                               tx.json_str(tx.pick(rel.states, np.maximum(state, 0))), None)),
            ("WelcomeCode", tx.where(np.isin(k, [0, 2]) & ~rel.via_transfer[ri],
                                     tx.json_str(tx.tokens(welcome[sel], 43)), None)),
            ("Source", tx.where(source == 1, '"DELETE_BY_TRANSFER"', None)),
            ("FailReason", tx.where(source == 2, tx.pick(['"customer_refused"', '"customer_limit_exceed"'],
                                                         fail_reason[sel]), None)),
        ], omit_null=True)
        keys = tx.concat(external, "|", userid, "|", tx.pick(CHANGE_TYPES, k), "|", tx.wall_time(ev["sec"][sel]))
        return lines, keys

    day = cal.day_of(ev["sec"])
    for mi, m in enumerate(cal.months):
        lo, hi = (int(x) for x in np.searchsorted(day, [m.first, m.stop]))
        if hi <= lo:
            continue
        last = mi == len(cal.months) - 1
        path = ctx.path("wecom", "events", f"change_external_contact_{m.label}.jsonl")
        writer = JsonlWriter(ctx.out, path)
        cut = None
        for a, b in [(x, min(hi, x + 200_000)) for x in range(lo, hi, 200_000)]:
            lines, keys = render(np.arange(a, b))
            writer.write(lines)
            if last and b == hi:
                cut = len(lines[-1].as_py()) // 2
                ctx.truth.bad(BadRow("wecom_contact_events", ctx.source_file(path), hi - lo, "JSONL line cut in half",
                                     keys[-1].as_py()))
                keys, b = keys.slice(0, len(keys) - 1), b - 1
            ctx.truth.add("wecom_contact_events", keys, rel.person[ev["rel"][a:b]])
        writer.close(cut)
        ctx.truth.rows_written("wecom_contact_events", hi - lo)


# =========================================================================== groups


def group_table(world: World) -> dict[str, np.ndarray]:
    """Customer groups per store and their members (customers and two staff)."""
    p, stores, staff, cal = world.persons, world.stores, world.staff, world.cal
    r = world.rng("groups")
    who = np.flatnonzero(p.has(GROUP))
    store = p.home_store[who]
    per_store = np.bincount(store, minlength=stores.n)
    n_groups = np.where(per_store > 0, -(-per_store // 150), 0)
    offset = np.r_[0, np.cumsum(n_groups)]
    local = np.minimum((world.ids.coin(who, "group") * n_groups[store]).astype(np.int64), n_groups[store] - 1)
    gid = offset[store] + local
    G = int(offset[-1])
    g_store = np.repeat(np.arange(stores.n), n_groups)
    g_local = np.arange(G) - offset[g_store]
    g_owner = staff.at(g_store, g_local % SLOTS, np.full(G, cal.days - 1))
    g_admin = staff.at(g_store, (g_local + 1) % SLOTS, np.full(G, cal.days - 1))
    join_day = p.join["wecom_group"][who].astype(np.int64)
    first_join = np.full(G, cal.days, dtype=np.int64)
    np.minimum.at(first_join, gid, join_day)
    g_create = first_join - r.integers(1, 20, G)
    join_sec = cal.sec(join_day, r.integers(9 * 3600, 22 * 3600, len(who)))
    left = r.random(len(who)) < 0.12
    return {"who": who[~left], "gid": gid[~left], "join_sec": join_sec[~left],
            "scene": r.choice([1, 2, 3], size=len(who), p=[0.4, 0.2, 0.4])[~left],
            "g_store": g_store, "g_local": g_local, "g_owner": g_owner, "g_admin": g_admin,
            "g_create_sec": cal.sec(g_create, r.integers(9 * 3600, 18 * 3600, G)),
            "left_count": np.array([int(left.sum())])}


def write_groups(ctx: Ctx, gt: dict[str, np.ndarray]) -> None:
    """groupchat/get answers: 50 groups per file as group_chat_list, the first three one per file."""
    w = ctx.world
    ids, staff, stores = w.ids, w.staff, w.stores
    G = len(gt["g_store"])
    if G == 0:
        return
    chat_id = tx.tokens(ids.key(np.arange(G), "chat_id"), 28, tx.ALNUM, prefix="wr")
    who, gid = gt["who"], gt["gid"]
    # members: customers, then owner and admin (staff) joined at creation
    m_gid = np.concatenate([gid, np.arange(G), np.arange(G)])
    m_person = np.concatenate([who, np.full(2 * G, -1)])
    m_staff = np.concatenate([np.full(len(who), -1), gt["g_owner"], gt["g_admin"]])
    m_sec = np.concatenate([gt["join_sec"], gt["g_create_sec"], gt["g_create_sec"] + 60])
    m_scene = np.concatenate([gt["scene"], np.ones(2 * G, dtype=np.int64)])
    m_owner = np.concatenate([np.zeros(len(who), bool), np.ones(G, bool), np.zeros(G, bool)])
    # the admin may be the owner (a store without its second guide): keep one entry per member
    dup_admin = np.concatenate([np.zeros(len(who) + G, bool), gt["g_admin"] == gt["g_owner"]])
    keep = ~dup_admin
    order = np.flatnonzero(keep)[np.lexsort((m_sec[keep], m_gid[keep]))]
    m_gid, m_person, m_staff, m_sec, m_scene, m_owner = (a[order] for a in (m_gid, m_person, m_staff, m_sec, m_scene,
                                                                            m_owner))
    is_cust = m_person >= 0
    pidx = np.maximum(m_person, 0)
    member_id = tx.where(is_cust, ids.external_userid(pidx), take(staff.userid, np.maximum(m_staff, 0)))
    vis = is_cust & unionid_visible(w, pidx, "wecom")
    owner_uid = take(staff.userid, gt["g_owner"][m_gid])
    nick = ids.nickname(pidx)
    r = w.rng("groups", "render")
    members = tx.json_object([
        ("userid", tx.json_str(member_id)),
        ("type", tx.where(is_cust, "2", "1")),
        ("unionid", tx.where(vis, tx.json_str(with_unicode_forms(
            ctx, "wecom_group_members.unionid", ids.unionid(pidx),
            np.where(vis, ids.coin(pidx, "uform:wecom_group.unionid"), 1.0))), None)),
        ("join_time", tx.ints(Calendar.epoch(m_sec))),
        ("join_scene", tx.ints(m_scene)),
        ("invitor", tx.where((m_scene == 1) & ~m_owner, tx.concat('{"userid":', tx.json_str(owner_uid), "}"), None)),
        ("group_nickname", tx.json_str(tx.where(is_cust & (r.random(len(m_gid)) < 0.2), nick, ""))),
        ("name", tx.json_str(tx.where(is_cust, nick, take(ids.name(np.arange(staff.n), "staff"),
                                                          np.maximum(m_staff, 0))))),
    ], omit_null=True)
    bounds = np.searchsorted(m_gid, np.arange(G + 1))
    member_lists = join_json(members, bounds)
    names = tx.concat(take(stores.name, gt["g_store"]), " 福利", tx.ints(gt["g_local"] + 1), "群").to_pylist()
    chats = chat_id.to_pylist()
    owners = take(staff.userid, gt["g_owner"]).to_pylist()
    admins = take(staff.userid, gt["g_admin"]).to_pylist()
    created = Calendar.epoch(gt["g_create_sec"]).tolist()
    docs = []
    for g in range(G):
        admin = f'[{{"userid":"{admins[g]}"}}]' if admins[g] != owners[g] else "[]"
        docs.append(f'{{"chat_id":"{chats[g]}","name":"{names[g]}","owner":"{owners[g]}","create_time":{created[g]},'
                    f'"notice":"欢迎加入{vocab.BRAND}福利群，每周三会员日有专属券","member_list":[{member_lists[g]}],'
                    f'"admin_list":{admin}}}')
    rows = np.diff(bounds)
    singles = min(3, G)
    for g in range(singles):
        write_json(ctx.out, ctx.path("wecom", "groups", f"groupchat_get_{chats[g]}.json"),
                   f'{{"errcode":0,"errmsg":"ok","group_chat":{docs[g]}}}', int(rows[g]))
    for b, lo in enumerate(range(singles, G, 50)):
        hi = min(G, lo + 50)
        write_json(ctx.out, ctx.path("wecom", "groups", f"groupchat_list_p{b + 1:04d}.json"),
                   '{"errcode":0,"errmsg":"ok","group_chat_list":[' + ",".join(docs[lo:hi]) + "]}",
                   int(rows[lo:hi].sum()))
    keys = tx.concat(take(chat_id, m_gid), "|", member_id)
    ctx.truth.add("wecom_group_members", keys, m_person)
    ctx.truth.rows_written("wecom_group_members", len(m_gid))
    ctx.truth.count("wecom_group_members_without_unionid", int((is_cust & ~vis).sum()))
    ctx.truth.count("wecom_group_customers_left_before_export", int(gt["left_count"][0]))


def write_group_stats(ctx: Ctx, gt: dict[str, np.ndarray]) -> None:
    """groupchat/statistic per day (owner filter), one file per day with day_begin_time added."""
    w = ctx.world
    cal, staff = w.cal, w.staff
    D = cal.days
    G = len(gt["g_store"])
    if G == 0:
        return
    owners, owner_of_group = np.unique(gt["g_owner"], return_inverse=True)
    n_owners = len(owners)
    cday = np.clip(cal.day_of(gt["g_create_sec"]), -1, D)
    inside = (cday >= 0) & (cday < D)
    new_chat = np.zeros((n_owners, D + 1), dtype=np.int32)
    np.add.at(new_chat, (owner_of_group[inside], cday[inside]), 1)
    pre = np.bincount(owner_of_group[cday < 0], minlength=n_owners)
    chat_total = np.cumsum(new_chat[:, :D], axis=1, dtype=np.int32) + pre[:, None]
    jday = np.clip(cal.day_of(gt["join_sec"]), -1, D)
    m_owner = owner_of_group[gt["gid"]]
    ins = (jday >= 0) & (jday < D)
    new_mem = np.zeros((n_owners, D + 1), dtype=np.int32)
    np.add.at(new_mem, (m_owner[ins], jday[ins]), 1)
    np.add.at(new_mem, (owner_of_group[inside], cday[inside]), 2)  # the owner and the admin join at creation
    pre_m = np.bincount(m_owner[jday < 0], minlength=n_owners) + 2 * pre
    member_total = np.cumsum(new_mem[:, :D], axis=1, dtype=np.int32) + pre_m[:, None]
    talk = w.rng("group_stats").uniform(0.05, 0.25, n_owners)
    uid = take(staff.userid, owners)
    midnight = Calendar.epoch(cal.sec(np.arange(D), 0))
    for m in cal.months:
        r = w.rng("group_stats", m.label)
        d_idx, o_idx = np.nonzero(chat_total[:, m.first : m.stop].T > 0)
        d_idx = d_idx + m.first
        n = len(o_idx)
        mt, ct = member_total[o_idx, d_idx], chat_total[o_idx, d_idx]
        has_msg = r.binomial(mt, talk[o_idx])
        data = tx.json_object([
            ("new_chat_cnt", tx.ints(new_chat[o_idx, d_idx])),
            ("chat_total", tx.ints(ct)),
            ("chat_has_msg", tx.ints(r.binomial(ct, 0.6))),
            ("new_member_cnt", tx.ints(new_mem[o_idx, d_idx])),
            ("member_total", tx.ints(mt)),
            ("member_has_msg", tx.ints(has_msg)),
            ("msg_total", tx.ints(has_msg + r.poisson(1.5 * has_msg))),
            ("migrate_trainee_chat_cnt", tx.const("0", n)),
        ])
        owner_uid = take(uid, o_idx)
        items = tx.concat('{"owner":', tx.json_str(owner_uid), ',"data":', data, "}")
        bounds = np.searchsorted(d_idx, np.arange(m.first, m.stop + 1))
        for d, body in zip(range(m.first, m.stop), join_json(items, bounds)):
            k = int(bounds[d - m.first + 1] - bounds[d - m.first])
            if k == 0:
                continue
            label = str(np.datetime64(cal.start) + d).replace("-", "")
            doc = (f'{{"errcode":0,"errmsg":"ok","total":{k},"next_offset":{k},"day_begin_time":{midnight[d]},'
                   f'"items":[{body}]}}')
            write_json(ctx.out, ctx.path("wecom", "group_stats", f"groupchat_statistic_{label}.json"), doc, k)
        ctx.truth.add("wecom_group_daily_stats", tx.concat(owner_uid, "|", tx.wall_date(cal.sec(d_idx, 0))),
                      np.full(n, -1))
        ctx.truth.rows_written("wecom_group_daily_stats", n)


# =========================================================================== guide statistics


def write_guide_stats(ctx: Ctx, ev: dict[str, np.ndarray], pilot: PilotRecorder | None = None) -> None:
    """get_user_behavior_data per guide: one file per guide and month (per guide when that is too many).

    Guides are processed in blocks; new_contact_cnt and negative_feedback_cnt (customers who
    deleted the guide) are counted from the same events the callbacks file holds. As real
    exports do, the statistics have holes: ~2% of the guides (at least one; employed all along,
    with friends and callbacks) never get a statistics row (the exporter skips accounts outside
    the app's visible range), and ~1% of the other guide-days are missing (a failed daily pull).
    A missing day is no activity in the statistics, though the callbacks may still show adds.
    ``pilot`` (demo/pilot.py) lowers the applications of its test stores' guides during the
    pilot, from its own stream, and records what was written with and without it.
    """
    w = ctx.world
    cal, staff, rel = w.cal, w.staff, w.rel
    D, S = cal.days, staff.n
    r0 = w.rng("guide_stats")
    acc_rate = r0.uniform(0.6, 0.92, S)
    r_missing = w.rng("guide_stats_missing")
    steady = np.flatnonzero((staff.slot > 0) & (staff.left_day >= D) & (staff.hired_day <= 0))
    silent = np.zeros(S, dtype=bool)
    if len(steady):
        silent[r_missing.choice(steady, size=max(1, round(0.02 * len(steady))), replace=False)] = True
    day = cal.day_of(ev["sec"])
    inside = (day >= 0) & (day < D)
    adds = np.flatnonzero(inside & (ev["kind"] == 0) & ~rel.via_transfer[ev["rel"]])
    dels = np.flatnonzero(inside & (ev["kind"] == 4))
    add_g, del_g = ev["guide"][adds], ev["guide"][dels]
    a_day = np.clip(cal.day_of(rel.add_sec), 0, D)
    e_day = np.clip(cal.day_of(np.minimum(rel.end_sec, cal.sec(D, 0))), 0, D)
    month_of_day = np.zeros(D, dtype=np.int64)
    for mi, m in enumerate(cal.months):
        month_of_day[m.first : m.stop] = mi
    per_month = S * len(cal.months) <= 6000
    uid = staff.userid.to_pylist()
    block = max(1, 300_000 // D)
    for b, g0 in enumerate(range(0, S, block)):
        g1 = min(S, g0 + block)
        B = g1 - g0
        r = w.rng("guide_stats", b)

        def counts(guide: np.ndarray, days: np.ndarray, weight: int = 1, *,
                   g0: int = g0, g1: int = g1, B: int = B) -> np.ndarray:
            sel = (guide >= g0) & (guide < g1)
            out = np.zeros((B, D + 1), dtype=np.int64)
            np.add.at(out, (guide[sel] - g0, days[sel]), weight)
            return out

        new_contact = counts(add_g, day[adds])
        negative = counts(del_g, day[dels])
        fans = np.cumsum((counts(rel.guide, a_day) - counts(rel.guide, e_day))[:, :D], axis=1)
        employed = (np.arange(D)[None, :] >= np.maximum(staff.hired_day[g0:g1], 0)[:, None]) & \
                   (np.arange(D)[None, :] < np.minimum(staff.left_day[g0:g1], D)[:, None])
        gl, d_idx = np.nonzero(employed)  # guide-major, then day: the file order
        n = len(gl)
        if n == 0:
            continue
        g_idx = gl + g0
        nc = new_contact[gl, d_idx]
        apply = np.ceil(nc / acc_rate[g_idx]).astype(np.int64) + r.poisson(0.2, n)
        without_pilot = apply
        if pilot is not None:
            apply = pilot.treat(b, g_idx, d_idx, nc, apply)
            employed_months = pilot.employed_months(g_idx, d_idx, month_of_day)
        chat = r.poisson(fans[gl, d_idx] * 0.03 + 0.5)
        talked = chat > 0
        tenths = np.round(r.uniform(55, 100, n) * 10).astype(np.int64)
        reply = tx.where(tenths % 10 == 0, tx.ints(tenths // 10),
                         tx.concat(tx.ints(tenths // 10), ".", tx.ints(tenths % 10)))
        items = tx.json_object([
            ("stat_time", tx.ints(Calendar.epoch(cal.sec(d_idx, 0)))),
            ("chat_cnt", tx.ints(chat)),
            ("message_cnt", tx.ints(chat + r.poisson(3.0 * chat))),
            ("reply_percentage", tx.where(talked, reply, None)),
            ("avg_reply_time", tx.where(talked, tx.ints(r.integers(1, 60, n)), None)),
            ("negative_feedback_cnt", tx.ints(negative[gl, d_idx])),
            ("new_apply_cnt", tx.ints(apply)),
            ("new_contact_cnt", tx.ints(nc)),
        ], omit_null=True)
        keep = ~silent[g_idx] & (w.rng("guide_stats_missing", b).random(n) >= 0.01)
        items = items.filter(pa.array(keep))
        if pilot is not None:
            pilot.record(g_idx[keep], d_idx[keep], employed_months, apply[keep], without_pilot[keep], nc[keep],
                         chat[keep])
        g_idx, d_idx, n = g_idx[keep], d_idx[keep], int(keep.sum())
        if n == 0:
            continue
        file_key = g_idx * len(cal.months) + month_of_day[d_idx] if per_month else g_idx
        starts = np.flatnonzero(np.r_[True, file_key[1:] != file_key[:-1]])
        bounds = np.r_[starts, n]
        for k, body in enumerate(join_json(items, bounds)):
            g = int(g_idx[starts[k]])
            if per_month:
                label = cal.months[int(month_of_day[d_idx[starts[k]]])].label
                path = ctx.path("wecom", "guide_stats", label, f"{uid[g]}.json")
            else:
                path = ctx.path("wecom", "guide_stats", f"{uid[g]}.json")
            doc = f'{{"userid":"{uid[g]}","errcode":0,"errmsg":"ok","behavior_data":[{body}]}}'
            write_json(ctx.out, path, doc, int(bounds[k + 1] - bounds[k]))
        keys = tx.concat(take(staff.userid, g_idx), "|", tx.wall_date(cal.sec(d_idx, 0)))
        ctx.truth.add("wecom_guide_daily_stats", keys, np.full(n, -1))
        ctx.truth.rows_written("wecom_guide_daily_stats", n)


# =========================================================================== official account


def write_oa_followers(ctx: Ctx) -> None:
    """user/info/batchget answers (user_info_list), 100 followers per file."""
    w = ctx.world
    p, ids, cal, stores = w.persons, w.ids, w.cal, w.stores
    r = w.rng("oa")
    who = np.flatnonzero(p.has(OA))
    who = who[np.argsort(p.join["wechat_oa"][who], kind="stable")]
    n = len(who)
    sub_sec = cal.sec(p.join["wechat_oa"][who], r.integers(7 * 3600, 23 * 3600, n))
    subscribed = r.random(n) >= 0.08
    vis = unionid_visible(w, who, "wechat_oa")
    scene = r.choice(len(vocab.OA_SCENES), size=n, p=[0.42, 0.2, 0.1, 0.1, 0.03, 0.05, 0.05, 0.05])
    tag = r.choice(4, size=n, p=[0.5, 0.25, 0.1, 0.15])
    bounds = page_bounds(n)
    for a, b in page_spans(bounds):
        sel = np.arange(bounds[a], bounds[b])
        pw = who[sel]
        openid = ids.oa_openid(pw)
        unionid = tx.where(vis[sel], tx.json_str(ids.unionid(pw)), None)
        qr = scene[sel] == 0
        full = tx.json_object([
            ("subscribe", "1"),
            ("openid", tx.json_str(openid)),
            ("language", '"zh_CN"'),
            ("subscribe_time", tx.ints(Calendar.epoch(sub_sec[sel]))),
            ("unionid", unionid),
            ("remark", '""'),
            ("groupid", "0"),
            ("tagid_list", tx.pick(["[]", "[2]", "[2,101]", "[101]"], tag[sel])),
            ("subscribe_scene", tx.json_str(tx.pick(vocab.OA_SCENES, scene[sel]))),
            ("qr_scene", tx.where(qr, tx.ints(10000 + p.home_store[pw]), "0")),
            ("qr_scene_str", tx.json_str(tx.where(qr, take(stores.code, p.home_store[pw]), ""))),
        ], omit_null=True)
        gone = tx.json_object([("subscribe", "0"), ("openid", tx.json_str(openid)), ("unionid", unionid),
                               ("tagid_list", "[]")], omit_null=True)
        items = tx.where(subscribed[sel], full, gone)
        for k, body in enumerate(join_json(items, bounds[a : b + 1] - bounds[a]), start=a):
            write_json(ctx.out, ctx.path("wechat_oa", "followers", f"user_info_batchget_p{k + 1:05d}.json"),
                       f'{{"user_info_list":[{body}]}}', int(bounds[k + 1] - bounds[k]))
        ctx.truth.add("oa_followers", openid, pw)
    ctx.truth.rows_written("oa_followers", n)
    ctx.truth.count("oa_followers_unsubscribed", int((~subscribed).sum()))
    ctx.truth.count("oa_followers_without_unionid", int((~vis).sum()))
