"""Truth outputs besides the record map: persons.parquet, summary.json and README.md."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from demo import text as tx
from demo.calendar import NEVER
from demo.truth import Truth
from demo.wecom import MAX_PAGES
from demo.world import (
    CHANNEL_BITS,
    CRM,
    DOUYIN,
    DOUYIN_BIND,
    GROUP,
    JD,
    MP,
    MP_BUY,
    OA,
    PHONE_TRAP_KINDS,
    POS,
    TMALL,
    TMALL_BIND,
    WECOM,
    World,
)

CHUNK = 250_000


def segment(world: World, idx: np.ndarray) -> pa.Array:
    """Buyer segment of the omni-channel overlap metric (each flagged buyer orders in the window)."""
    f = world.persons.flags[idx]
    online = (f & (MP_BUY | TMALL | JD | DOUYIN)) != 0
    offline = (f & POS) != 0
    seg = np.select([online & offline, online, offline], [0, 1, 2], 3)
    return tx.pick(["both", "online_only", "offline_only", "non_buyer"], seg)


def write_persons(world: World, path: Path) -> dict[str, int]:
    """One row per true person with the raw identifiers assigned to them (truth may hold raw PII)."""
    p, ids, crm, cal = world.persons, world.ids, world.crm, world.cal
    writer: pq.ParquetWriter | None = None
    seg_counts: dict[str, int] = {}
    for lo in range(0, p.n, CHUNK):
        idx = np.arange(lo, min(p.n, lo + CHUNK))
        f = p.flags[idx]

        def when(bit: int, arr: pa.Array, f: np.ndarray = f) -> pa.Array:
            return tx.where((f & bit) != 0, arr, None)

        rows = [crm.primary_row[idx], crm.second_row[idx]]
        member_ids = [tx.where(r >= 0, tx.ints(crm.member_no[np.maximum(r, 0)]), None) for r in rows]
        cards = [tx.where(r >= 0, tx.digits(crm.card_no[np.maximum(r, 0)], 12), None) for r in rows]
        changed = p.change_day[idx] < NEVER
        channels = pc.utf8_rtrim(tx.concat_skip_null(*[tx.where((f & bit) != 0, f"{name},", None)
                                                       for name, bit in CHANNEL_BITS.items()]), ",")
        seg = segment(world, idx)
        table = pa.table({
            "person_id": ids.person_id(idx),
            "segment": seg,
            "channels": channels,
            "home_store": world.stores.code.take(pa.array(p.home_store[idx])),
            "first_seen": tx.wall_date(cal.sec(p.first_seen[idx], 0)),
            "gender": pa.array(p.gender[idx]),
            "birthday": pa.array(p.birthday[idx]),
            "mobile_1": tx.mobile(p.mobile1[idx]),
            "mobile_2": tx.where(changed, tx.mobile(p.mobile2[idx]), None),
            "mobile_changed_on": tx.where(changed, tx.wall_date(cal.sec(np.where(changed, p.change_day[idx], 0), 0)),
                                          None),
            "unionid": ids.unionid(idx),
            "crm_member_id": member_ids[0],
            "crm_member_id_2": member_ids[1],
            "card_no": cards[0],
            "card_no_2": cards[1],
            "mp_openid": when(MP, ids.mp_openid(idx)),
            "oa_openid": when(OA, ids.oa_openid(idx)),
            "external_userid": when(WECOM | GROUP, ids.external_userid(idx)),
            "taobao_nick": when(TMALL | TMALL_BIND, ids.taobao_nick(idx)),
            "tmall_omid": when(TMALL_BIND, ids.tmall_ids(idx)["omid"]),
            "jd_pin": when(JD, ids.jd_pin(idx)),
            "douyin_open_id": when(DOUYIN | DOUYIN_BIND, ids.douyin_open_id(idx)),
            "is_crm_member": pa.array((f & CRM) != 0),
            # the household's head (a person living alone heads a household of one): demo/receivers.py
            "household_id": tx.concat("H", tx.digits(world.households.household[idx] + 1, 8)),
        })
        for k, v in zip(*np.unique(seg.to_numpy(zero_copy_only=False), return_counts=True)):
            seg_counts[str(k)] = seg_counts.get(str(k), 0) + int(v)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table)
    if writer is not None:
        writer.close()
    return dict(sorted(seg_counts.items()))


def write_identity_traps(world: World, truth: Truth, root: Path) -> None:
    """``recycled_numbers.csv`` and ``phone_traps.csv`` (see README), and their counts in the truth.

    Call after the POS months are written: the traps' receipt counts are filled while writing.
    """
    p, crm, cal, stores, staff = world.persons, world.crm, world.cal, world.stores, world.staff
    rec = world.recycled
    if rec is not None:
        held = crm.person.astype(np.int64) * 10**11 + crm.mobile
        customer = rec.old_person >= 0
        on_old = customer & np.isin(np.maximum(rec.old_person, 0) * 10**11 + rec.number, held)
        on_new = np.isin(rec.new_person * 10**11 + rec.number, held)
        _csv(root / "recycled_numbers.csv", {
            "number": tx.mobile(rec.number),
            "old_person_id": tx.where(customer, world.ids.person_id(np.maximum(rec.old_person, 0)), ""),
            "old_staff": tx.where(customer, "", staff.employee_no.take(pa.array(np.maximum(rec.old_staff, 0)))),
            "old_owner_changed_on": tx.wall_date(cal.sec(rec.change_day, 0)),
            "recycled_on": tx.wall_date(cal.sec(rec.recycle_day, 0)),
            "new_person_id": world.ids.person_id(rec.new_person),
            "new_owner_first_seen": tx.wall_date(cal.sec(p.first_seen[rec.new_person], 0)),
            "old_owner_crm_holds_it": tx.where(on_old, "1", "0"),
            "new_owner_crm_holds_it": tx.where(on_new, "1", "0"),
        })
        truth.count("recycled_numbers:customer", int(customer.sum()))
        truth.count("recycled_numbers:staff_leaver", int((~customer).sum()))
        truth.count("recycled_numbers_on_two_crm_members", int((on_old & on_new).sum()))
    traps = world.phone_traps
    if traps is not None:
        used = traps.receipts > 0
        _csv(root / "phone_traps.csv", {
            "kind": tx.pick(PHONE_TRAP_KINDS, traps.kind),
            "number": tx.mobile(traps.number),
            "store": tx.where(traps.store >= 0, stores.code.take(pa.array(np.maximum(traps.store, 0))), ""),
            "staff": tx.where(traps.staff >= 0, staff.employee_no.take(pa.array(np.maximum(traps.staff, 0))), ""),
            "lending_person_id": tx.where(traps.person >= 0, world.ids.person_id(np.maximum(traps.person, 0)), ""),
            "walk_in_receipts": tx.ints(traps.receipts),
            "first_day": tx.where(used, tx.wall_date(cal.sec(np.where(used, traps.first_day, 0), 0)), ""),
            "last_day": tx.where(used, tx.wall_date(cal.sec(np.where(used, traps.last_day, 0), 0)), ""),
        })
        for k, kind in enumerate(PHONE_TRAP_KINDS):
            truth.count(f"phone_trap_numbers:{kind}", len(np.unique(traps.number[used & (traps.kind == k)])))


def _csv(path: Path, columns: dict[str, pa.Array]) -> None:
    """A small truth table as UTF-8 CSV (values hold no comma or quote)."""
    lines = [",".join(columns)] + [",".join(row) for row in zip(*(c.to_pylist() for c in columns.values()))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary(world: World, truth: Truth, files: dict[str, int], segments: dict[str, int], args: dict) -> dict:
    """The run's summary: arguments, files with row counts, rows per table, anomalies."""
    return {
        "arguments": args,
        "window": {"start": world.cal.start.isoformat(), "end": world.cal.end.isoformat()},
        "world": {"persons": world.persons.n, "stores": world.stores.n, "staff": world.staff.n,
                  "crm_member_rows": world.crm.n, "wecom_relationships": world.rel.n},
        "buyer_segments": segments,
        "rows_per_table": dict(sorted(truth.written.items())),
        "truth_records_per_table": dict(sorted(truth.rows.items())),
        "anomalies": dict(sorted(truth.anomalies.items())),
        "files": len(files),
        "files_per_folder": _per_folder(files),
    }


def _per_folder(files: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for path in files:
        parts = path.split("/")
        key = "/".join(parts[: min(len(parts) - 1, 3)])
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def write_summary(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8")


README = """# Ground truth of the demo brand 鹿角咖啡

Generated by `python -m demo.generate` (seed {seed}, {persons} persons, window {start} .. {end}).
Nothing in this folder is under `landing/`: ingest never reads it.

## Files
- `records.parquet`: one row per landed record that ingest should load:
  `table` (contract table name), `record_key` (the contract `key` values after cleaning, joined
  with `|`; a null key part is written as an empty string; timestamps as `YYYY-MM-DD HH:MM:SS`
  Asia/Shanghai wall clock, dates as `YYYY-MM-DD`), `person_id` (the true person; null for walk-in
  sales, anonymous leads, invites that never converted, staff and aggregate tables).
  A record written twice (mini-program orders re-exported in the next month with their final
  status) appears twice.
- `persons.parquet`: one row per true person: segment (both / online_only / offline_only /
  non_buyer), channels, raw identifiers (mobiles, unionid, member ids, cards, openids, Taobao
  nick, omid, JD pin, Douyin open_id), `household_id` (`H` + the head's number: persons with one
  id live at one home address; a person living alone heads a household of one). Raw PII is allowed
  here: truth never enters the warehouse.
- `bad_rows.csv`: rows injected to be quarantined (not in `records.parquet`): table, file
  (relative to `landing/`, as ingest's `_source_file`), record number within the file (CSV
  header not counted; JSONL: the line), reason, record key.
- `summary.json`: arguments, rows per table, anomaly counts, file counts.
- `recycled_numbers.csv`: mobile numbers the carrier re-issued: the number, the old owner (a person
  who changed phone on `old_owner_changed_on`, or a staff member who left that day), the day it was
  live again, the new owner (a different person, first seen after that day, who uses it everywhere),
  and whether each one's CRM record holds it.
- `phone_traps.csv`: phones typed on walk-in receipts (no card) that identify none of those shoppers:
  kind, number, the store (pattern number, lending member) or staff member (habit, new guide) it is
  typed for, the lending member's person_id, walk-in receipts carrying it, first and last day.

## Identity defects and anomalies (counts for this run)
{anomalies}

What they mean:
- `crm_members_mobile:*`: CRM records whose phone is a one-digit typo, the registering guide's
  own phone, the store phone (shared by several customers), empty, or missing on a legacy card.
- `crm_duplicate_members:*`: the same person registered twice (new phone after a phone change,
  legacy card plus mini-program card, franchise POS synced twice with the same phone).
- `pos_receipts_*`: member receipts typed with a one-digit typo (no card), cashier placeholders
  (13800000000, 00000000000, 13888888888) on member and walk-in receipts, the store phone, the
  guide's own phone on walk-in receipts (one receipt = 1-4 lines).
- `pos_receipts_walk_in_trap_phone:*`: walk-in receipts (no card, no true person) with a phone
  typed by habit, none of them the placeholders above (phone_traps.csv): `cashier_habit` a cashier's own
  made-up number (a plausible mobile, no pattern; ~10% of staff, half of the walk-ins they ring up
  without a phone), `pattern` a typed run such as 13912345678 or 13987654321 shared by 2-4 stores,
  `new_guide_unlisted` a newly hired guide's private phone that the staff master does not hold,
  `member_lends_phone` a member's own phone given to other shoppers for points (蹭积分) at her store.
  Every one of them is a hub: it joins strangers (and, for the lending member, strangers to her).
  `phone_trap_numbers:*`: distinct such numbers used.
- `recycled_numbers:*`: old numbers re-issued to another person 90-240 days after their owner gave
  them up (recycled_numbers.csv): `customer` a phone changer's old number, `staff_leaver` the number of
  a guide who left (the staff master still lists it, with her leaving date);
  `recycled_numbers_on_two_crm_members`: both owners' CRM records hold it. Exact-key matching on the
  phone merges two different people; a staff-phone blocklist without dates refuses the new owner.
- `unicode_form_identifiers:<table.column>` (cells written; a mini-program order written again next
  month counts twice) and `unicode_form_identifiers_by_form:*`: ~0.8% of identifier cells written
  in another Unicode form: full-width letters and digits, full-width digits, a trailing U+3000, a
  U+200B inside, a trailing NBSP, a leading U+FEFF, mixed (U+200B + full-width digits + U+3000).
  Columns: CRM card_no and mobile, POS 会员卡号/会员手机号, mini-program member openid, unionid, card
  and phone, mini-program order openid, WeCom contact and group-member unionid, Tmall 会员通 nick,
  mobile and card (GB18030 holds every form), Douyin binding mobile and card. The franchise POS
  file is GBK: it carries only the full-width forms and U+3000 (U+200B, NBSP and U+FEFF are not in
  GBK). They are the same identifiers: ingest folds them back, records.parquet keys are the plain form.
- `wecom_contacts_listed_after_customer_deleted`: follow_info still listed though the customer
  deleted the guide (the events say so); `wecom_*_without_unionid`: no open-platform binding.
- `wecom_events:*`: callbacks per ChangeType; transfers are del_external_contact with
  Source=DELETE_BY_TRANSFER followed by add_external_contact (add_way 202) for the new guide.
- `tmall_rows_gb18030_only_address`: Tmall rows whose address holds 𠮷 or 䶮; their monthly file
  is GB18030 (GBK cannot encode them), the other months are GBK.
- `bad_row:*`: rows meant for quarantine (see bad_rows.csv).
- Masked phones (Tmall 联系手机 135****1234, JD 联系电话, Douyin 1********35) are on every
  marketplace row and are never an identity; 5-8% of marketplace and mini-program express
  orders ship to someone else (a gift), whose phone belongs to no person.
- Receivers (demo/receivers.py; what OneID's probabilistic tier scores): `households_of_2_or_more`
  and `persons_in_households` (~20% of persons live with 1-3 others in one city: one home address,
  children usually with the head's surname); family members order to that home under their own
  names, and `receiver_family_gift:*` orders are gifts to a family member (the member's name, phone
  and the shared home). Other gifts go to someone outside the world (a name, phone and address of
  no person). Each person has 1-3 addresses; `receiver_address:*:office` / `:parents` count the
  orders not shipped home. `receiver_name:<table>:<variant>` counts the names typed otherwise than
  true: `typo` (a homophone given-name character, 王芳 -> 王方), `given_only`, `xiao_surname` (小王),
  `honorific` (王女士 / 王先生), `space` / `full_width_space` inside, `pinyin` (Wang Fang). ~5% of
  persons carry one of China's most frequent full names (张伟, 王芳, 李娜 ...), so different people
  with one name in one district exist. `crm_members_mobile:household_shared`: a child's CRM
  membership registered with the household head's (a parent's) own mobile; the child uses their own
  phone elsewhere: one phone, two persons (a deterministic-match trap).
- JD orders carry only a JD pin and a masked phone: they cannot be linked to anyone, although
  `records.parquet` knows who placed them.

## Shape notes
- Buyer split (persons.parquet `segment`): {segments}.
- API pages: batch/get_by_user and user/info/batchget pages hold 100 records (the API limit)
  unless that would exceed {max_pages} files; then pages grow so the file count stays at {max_pages}.
  get_user_behavior_data: one file per guide and month, or one per guide for the whole window
  when guides x months > 6000.
- Mini-program member exports are split into parts of at most 500,000 rows.
"""


def write_readme(path: Path, world: World, data: dict) -> None:
    anomalies = "\n".join(f"- `{k}`: {v:,}" for k, v in data["anomalies"].items())
    segs = ", ".join(f"{k} {v:,}" for k, v in data["buyer_segments"].items())
    path.write_text(README.format(seed=world.seed, persons=world.persons.n, start=world.cal.start.isoformat(),
                                  end=world.cal.end.isoformat(), anomalies=anomalies, segments=segs,
                                  max_pages=MAX_PAGES), encoding="utf-8")
