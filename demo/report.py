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
