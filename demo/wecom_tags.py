"""The brand's WeCom corp tag list over time, and the tags guides set that only some APIs show.

Three things real WeCom tag data does that a hand-kept tag dictionary cannot follow:

* the corp tag list (externalcontact/get_corp_tag_list) changes: a tag is renamed (same id),
  deleted (``"deleted": true`` in one answer, then gone), a group is added later, two groups hold
  a tag of the same name. It is exported as dated snapshots, ``wecom/corp_tags/get_corp_tag_list_
  YYYYMMDD.json``, on the first day of months 0, 3, 6, 9 and on the window's last day;
* contacts still carry a tag the brand has deleted (older contact versions, and the newest
  export when WeCom lags), and a tag id that no snapshot lists at all (a tag created and deleted
  between two snapshots);
* personal tags (type 2, typed by a guide, no tag_id) come only in externalcontact/get answers
  (follow_user.tags), never in batch/get_by_user. Brands fetch them in sweeps of get answers:
  written here as ``wecom/contacts/external_contact_get/sweep_YYYYMMDD/<external_userid>.json`` on
  the first day of month 4 and on the last day (the date gives the export time; a bare date folder
  would be read as the landing day, orchestration/partitions.py). Guides type the same tag differently: spaces around
  it, an ideographic space, full-width letters, emoji.

Every draw comes from generators seeded from the world seed and ``TAGS_SEED`` (``World.rng``), never
from the shared streams: the other exports, and OneID and KPI figures, do not move. The one
change to existing files is the enterprise tag list of some contact rows (batch ``follow_info.tag_id``
and get ``follow_user.tags``), which gains tags of the group added later, the tag deleted by
disappearance and the unlisted id (``extra_codes``).
"""

from __future__ import annotations

import json
import unicodedata
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from demo import text as tx
from demo import vocab
from demo.calendar import Calendar
from demo.context import Ctx
from demo.world import World, take
from demo.writers import write_json

TAGS_SEED = 0x7A6521  # this module's own generators: World.rng("wecom_tags", TAGS_SEED, ...)

SNAPSHOT_MONTHS = (0, 3, 6, 9)  # first day of these months, plus the window's last day
SWEEP_MONTHS = (4,)  # get sweeps on the first day of these months, plus the window's last day
MAX_SWEEP_CUSTOMERS = 1000  # customers per sweep (one file each): ~250 at 3,000 members, capped for the benchmark

# (tag_id, group_id, group_name, name, first snapshot, last snapshot live, flagged-deleted snapshots)
# Snapshot indexes 0..4 (4 = the last day). Names change by snapshot: RENAMES.
GROUPS = {"客户等级": "etGRP001", "口味偏好": "etGRP002", "购买渠道": "etGRP003", "活动偏好": "etGRP004",
          "测试分组": "etGRP005"}
RENAMES = {"etLJ0002": ((0, "老客"), (2, "复购客"))}  # renamed from snapshot 2 on: same tag, new name
DELETED_BY_FLAG = "etLJ0010"  # 团购客: listed 0-1, "deleted": true in 2, gone from 3
DELETED_BY_ABSENCE = "etLJ0013"  # 咖啡豆订阅: listed 0-3, gone from the last snapshot; contacts still show it
GROUP_DELETED = "etLJ0014"  # 测试: its group is flagged deleted in snapshot 1, gone from 2
NEW_GROUP_TAGS = ("etLJ0011", "etLJ0012")  # group 活动偏好 from snapshot 2; etLJ0011 门店 = 购买渠道/门店
UNLISTED = "etLJ0099"  # on contacts, in no snapshot: quality_unmapped_tags lists it

EXTRA_TAGS: list[tuple[str, str, str, int, int]] = [  # id, group, name, first listed, last listed
    (DELETED_BY_FLAG, "客户等级", "团购客", 0, 2),
    ("etLJ0011", "活动偏好", "门店", 2, 4),
    ("etLJ0012", "活动偏好", "咖啡课堂", 2, 4),
    (DELETED_BY_ABSENCE, "口味偏好", "咖啡豆订阅", 0, 3),
    (GROUP_DELETED, "测试分组", "测试", 0, 1),
]

# Personal tags: the names guides mean, and how each is typed (cousins NFKC + trim fold together).
PERSONAL_TAGS = ("爱喝冰的", "周末常客", "VIP朋友", "宝妈", "☕重度用户", "🎂十月生日", "不加糖")


def _wide(text: str) -> str:
    """Full-width forms of ASCII letters and digits, as a Chinese input method in full-width mode types them."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def personal_variants(name: str) -> list[str]:
    """The ways guides type one personal tag; all fold to `name` under NFKC and trimming."""
    out = [name, f" {name}", f"{name} ", f"{name}\u3000", f"\u3000{name}"]
    if _wide(name) != name:
        out.append(_wide(name))
    assert all(unicodedata.normalize("NFKC", v).strip() == name for v in out)
    return out


class ContactTags(NamedTuple):
    """The listed relations of the contact export and the enterprise tag ids each row shows."""

    relation: np.ndarray  # index into world.rel of each listed relation (contact row)
    combo: np.ndarray  # per row: index into combos (demo/wecom.py's tag combinations)
    combos: list[list[str]]  # tag id lists of the combinations
    extra: np.ndarray  # per row: index into EXTRA_COMBOS (extra_codes)

    def tag_ids(self, row: int) -> list[str]:
        """The enterprise tag ids contact row `row` shows in the newest export."""
        return self.combos[int(self.combo[row])] + EXTRA_COMBOS[int(self.extra[row])]


# extra tag ids a contact row gains, by code: (new-group tag: none, etLJ0011, etLJ0012) x absent tag x unlisted id
EXTRA_COMBOS: list[list[str]] = [
    ([NEW_GROUP_TAGS[g - 1]] if g else []) + ([DELETED_BY_ABSENCE] if a else []) + ([UNLISTED] if u else [])
    for g in range(3) for a in range(2) for u in range(2)]


def snapshot_days(cal: Calendar) -> list[int]:
    """Day indexes of the corp tag list snapshots."""
    return [cal.months[m].first for m in SNAPSHOT_MONTHS if m < len(cal.months)] + [cal.days - 1]


def sweep_days(cal: Calendar) -> list[int]:
    """Day indexes of the externalcontact/get sweeps."""
    return [cal.months[m].first for m in SWEEP_MONTHS if m < len(cal.months)] + [cal.days - 1]


def extra_codes(world: World, n: int) -> np.ndarray:
    """Per listed contact row, the code (EXTRA_COMBOS) of the enterprise tag ids it gains; most: 0 (none).

    8% carry a tag of the group added later (活动偏好), 4% the tag deleted by disappearance
    (WeCom has not yet cleared it from contacts), 0.5% (and rows 0 and n/2) the id no snapshot lists.
    """
    r = world.rng("wecom_tags", TAGS_SEED, "extra")
    u = r.random((n, 3))
    group = np.where(u[:, 0] < 0.08, 1 + r.integers(0, len(NEW_GROUP_TAGS), n), 0)
    unlisted = u[:, 2] < 0.005
    unlisted[[0, n // 2] if n > 2 else []] = True
    return group * 4 + (u[:, 1] < 0.04) * 2 + unlisted


def with_extra_ids(base: pa.Array, codes: np.ndarray, shape: str) -> pa.Array:
    """`base` JSON tag lists (ids for the batch shape, objects for get) with the ids of `codes` appended."""
    names = {t: (g, n) for t, g, n, *_ in EXTRA_TAGS} | {UNLISTED: ("活动偏好", "新品试饮")}
    if shape == "batch":
        items = [",".join(f'"{t}"' for t in ids) for ids in EXTRA_COMBOS]
    else:
        items = [",".join(f'{{"group_name":"{names[t][0]}","tag_name":"{names[t][1]}","type":1,"tag_id":"{t}"}}'
                          for t in ids) for ids in EXTRA_COMBOS]
    add = tx.pick(items, codes)
    has = codes > 0
    empty = pc.equal(base, "[]").to_numpy(zero_copy_only=False)
    opened = pc.utf8_slice_codeunits(base, 0, -1)
    joined = tx.concat(opened, tx.where(empty, "", ","), add, "]")
    return tx.where(has, joined, base)


def _corp_tag_document(cal: Calendar, snapshot: int, day: int) -> tuple[str, int]:
    """One get_corp_tag_list answer as the brand's extractor saved it; (document, tag rows)."""
    base = [(t, g, n, 0, 4) for t, g, n in vocab.WECOM_TAGS] + EXTRA_TAGS
    groups: dict[str, list[dict]] = {}
    group_deleted = {"测试分组": snapshot == 1}
    created = Calendar.epoch(cal.sec(np.array([0]), np.array([10 * 3600])))[0] - 86400 * 200
    for order, (tag_id, group, name, first, last) in enumerate(base):
        if not first <= snapshot <= last:
            continue
        for since, renamed in RENAMES.get(tag_id, ()):
            if snapshot >= since:
                name = renamed
        tag = {"id": tag_id, "name": name, "create_time": int(created + 86400 * (30 * first + order)),
               "order": 100 - order}
        if (tag_id == DELETED_BY_FLAG and snapshot == 2) or group_deleted.get(group):
            tag["deleted"] = True
        groups.setdefault(group, []).append(tag)
    answer = []
    for order, (group, tags) in enumerate(groups.items()):
        entry = {"group_id": GROUPS[group], "group_name": group, "create_time": min(t["create_time"] for t in tags),
                 "order": 10 - order, "tag": tags}
        if group_deleted.get(group):
            entry["deleted"] = True
        answer.append(entry)
    doc = {"errcode": 0, "errmsg": "ok", "tag_group": answer}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")), sum(len(t) for t in groups.values())


def write_corp_tag_lists(ctx: Ctx) -> None:
    """The dated get_corp_tag_list snapshots."""
    cal = ctx.world.cal
    for snapshot, day in enumerate(snapshot_days(cal)):
        doc, rows = _corp_tag_document(cal, snapshot, day)
        label = tx.compact_date(cal.sec(np.array([day]), np.array([0]))).to_pylist()[0]
        write_json(ctx.out, ctx.path("wecom", "corp_tags", f"get_corp_tag_list_{label}.json"), doc, rows)
        ctx.truth.rows_written("wecom_corp_tags", rows)


def write_get_sweeps(ctx: Ctx, listed: ContactTags) -> None:
    """externalcontact/get answers of a sample of customers on each sweep day, with personal tags.

    A sweep shows the relations listed at the export that were added before the sweep day, with
    their enterprise tags of that day (tags of the group added later only once it exists; the
    older sweep adds 团购客 (deleted later) to 30%, 测试 to 3%) and personal tags typed by the guide
    (older sweep 30% of rows, last sweep 50%; 1-2 names each, each in one of its typed forms; 80%
    of a customer's second guides type the first guide's tag, often in another form).
    Rows are older versions of contact rows already in the export: the truth records them as
    written rows only (their keys and persons are those of the newest version).
    """
    w = ctx.world
    rel, staff, ids, persons, cal = w.rel, w.staff, w.ids, w.persons, w.cal
    variants = [personal_variants(name) for name in PERSONAL_TAGS]
    for k, day in enumerate(sweep_days(cal)):
        last = k == len(sweep_days(cal)) - 1
        r = w.rng("wecom_tags", TAGS_SEED, "sweep", k)
        rows = np.flatnonzero(rel.add_sec[listed.relation] < cal.sec(day, 0))
        person = rel.person[listed.relation[rows]]
        chosen, friendships = np.unique(person, return_counts=True)
        # customers of two guides are swept more often (0.6): where two guides' tags can meet
        chosen = chosen[r.random(len(chosen)) < np.where(friendships > 1, 0.6, 0.25 if last else 0.2)]
        if len(chosen) > MAX_SWEEP_CUSTOMERS:  # one file per customer: a sweep stays a sample
            chosen = np.sort(r.choice(chosen, MAX_SWEEP_CUSTOMERS, replace=False))
        rows = rows[np.isin(person, chosen)]
        rows = rows[np.lexsort((rel.add_sec[listed.relation[rows]], rel.person[listed.relation[rows]]))]
        n = len(rows)
        if n == 0:
            continue
        u = r.random((n, 4))
        first_name, second_name = r.integers(0, len(PERSONAL_TAGS), n), r.integers(0, len(PERSONAL_TAGS), n)
        form1, form2 = r.integers(0, 6, n), r.integers(0, 6, n)
        label = tx.compact_date(cal.sec(np.array([day]), np.array([0]))).to_pylist()[0]
        tag_lists = []
        for i, row in enumerate(rows):
            tags = [t for t in listed.tag_ids(row) if last or t not in NEW_GROUP_TAGS and t != UNLISTED]
            if not last and u[i, 0] < 0.3:
                tags.append(DELETED_BY_FLAG)
            if not last and u[i, 1] < 0.03:
                tags.append(GROUP_DELETED)
            objects = [_enterprise_object(t, last) for t in tags]
            same_person = i > 0 and rel.person[listed.relation[row]] == rel.person[listed.relation[rows[i - 1]]]
            if same_person and u[i, 3] < 0.8:  # a second guide of the customer types the first one's tag
                first_name[i] = first_name[i - 1]
                u[i, 2] = 0.0
            if u[i, 2] < (0.5 if last else 0.3):
                names = {first_name[i]} | ({second_name[i]} if u[i, 3] > 0.7 else set())
                for j, pick in enumerate(sorted(names)):
                    forms = variants[pick]
                    typed = forms[(form1 if j == 0 else form2)[i] % len(forms)]
                    objects.append({"group_name": "", "tag_name": typed, "type": 2})
            tag_lists.append(json.dumps(objects, ensure_ascii=False, separators=(",", ":")))
        ri = listed.relation[rows]
        p = rel.person[ri]
        external = ids.external_userid(p).to_pylist()
        userid = take(staff.userid, rel.guide[ri]).to_pylist()
        created = Calendar.epoch(rel.add_sec[ri]).tolist()
        gender = persons.gender[p].tolist()
        starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
        for a, b in zip(starts, np.r_[starts[1:], n]):
            follow = ",".join(
                json.dumps({"userid": userid[i], "remark": "", "description": "", "createtime": created[i],
                            "tags": json.loads(tag_lists[i]), "remark_mobiles": [],
                            "add_way": int(rel.add_way[ri[i]])}, ensure_ascii=False, separators=(",", ":"))
                for i in range(a, b))
            contact = json.dumps({"external_userid": external[a], "type": 1, "gender": gender[a]},
                                 separators=(",", ":"))
            doc = f'{{"errcode":0,"errmsg":"ok","external_contact":{contact},"follow_user":[{follow}]}}'
            write_json(ctx.out, ctx.path("wecom", "contacts", "external_contact_get", f"sweep_{label}",
                                         f"{external[a]}.json"), doc, int(b - a))
        ctx.truth.rows_written("wecom_contacts", n)
        ctx.truth.count(f"wecom_personal_tag_rows:{label}", sum('"type":2' in t for t in tag_lists))


def _enterprise_object(tag_id: str, last: bool) -> dict:
    """A type-1 tag object as externalcontact/get shows it (group and name of that day)."""
    names = {t: (g, n) for t, g, n in vocab.WECOM_TAGS} | {t: (g, n) for t, g, n, *_ in EXTRA_TAGS}
    names[UNLISTED] = ("活动偏好", "新品试饮")
    group, name = names[tag_id]
    if tag_id in RENAMES:
        name = RENAMES[tag_id][-1][1] if last else RENAMES[tag_id][0][1]
    return {"group_name": group, "tag_name": name, "type": 1, "tag_id": tag_id}
