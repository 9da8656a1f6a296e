"""JSON documents (WeCom / official-account API answers) read by Arrow's JSON reader land exactly what the
exact reader lands: the same raw, quarantine and ledger rows, byte for byte. Every document Arrow may not read
exactly (a trap of the file or a value whose text Arrow cannot give) takes the exact reader, which is tested
here by refusing Arrow (``ingest.readers._arrow_json_document``) and comparing the lakes.
"""
from __future__ import annotations

import json
import os
import random

import pyarrow as pa
import pytest

from ingest import engine, readers
from ingest.contract import load_contracts
from ingest.pii import HashKey
from ingest.settings import paths_from_env
from tests.ingest.test_parallel import _lake_rows

KEY = HashKey(b"documents", "test")
CONTRACTS = load_contracts()
GUIDES, FOLLOWERS, GROUPS, CONTACTS = (CONTRACTS[t] for t in (
    "wecom_guide_daily_stats", "oa_followers", "wecom_group_daily_stats", "wecom_contacts"))
FOLDERS = {"wecom_guide_daily_stats": "wecom/guide_stats", "oa_followers": "wechat_oa/followers",
           "wecom_group_daily_stats": "wecom/group_stats", "wecom_contacts": "wecom/contacts"}
ARROW_READER = readers._arrow_json_document


def _refuse(*args):
    raise readers.FastPathUnsuitable("exact reader asked for")


def stat(day: int, **changes) -> dict:
    """One guide's day of get_user_behavior_data."""
    record = {"stat_time": 1761926400 + 86400 * day, "chat_cnt": 1 + day % 3, "message_cnt": 3 + day,
              "reply_percentage": 96 if day % 2 else 83.6, "avg_reply_time": 50, "negative_feedback_cnt": 0,
              "new_apply_cnt": day % 2, "new_contact_cnt": 0}
    record.update(changes)
    return record


def guide_answer(records: list, userid: str = "liujiayan", **envelope) -> str:
    """The extractor's wrapping of an answer: compact JSON on one line, as the WeCom extractor writes it."""
    answer = {"userid": userid, "errcode": 0, "errmsg": "ok", **envelope, "behavior_data": records}
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":"))


REGULAR = [stat(day) for day in range(12)]


def _land(paths, contract, name: str, text: str | bytes):
    path = paths.landing / FOLDERS[contract.table] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    os.utime(path, (1_780_000_000, 1_780_000_000))  # one export time for both readers (ingest.export_time)
    return path


def arrow_takes(path, contract) -> bool:
    """Whether Arrow's reader reads the document (else it raises FastPathUnsuitable before any row)."""
    try:
        source = readers.open_source(path, contract.record_path, contract.explode, engine.header_score(contract))
        list(source.batches)
        return True
    except readers.FastPathUnsuitable:
        return False


def landed(tmp_path, monkeypatch, contract, files: dict[str, str | bytes], tag: str) -> dict:
    """Load ``files`` with Arrow's reader allowed, then with the exact reader only: what each landed."""
    outcome = {}
    for reader in ("arrow", "exact"):
        monkeypatch.setattr(readers, "_arrow_json_document", ARROW_READER if reader == "arrow" else _refuse)
        paths = paths_from_env({"QUANYU_HOME": str(tmp_path / f"{tag}-{reader}")}).ensure()
        for name, text in files.items():
            _land(paths, contract, name, text)
        report = engine.load_table(contract, paths, KEY)
        outcome[reader] = ([(f.source_file, f.status, f.message, f.rows_read, f.rows_loaded, f.rows_quarantined,
                             f.unmapped_columns) for f in report.files]
                           + [_lake_rows(paths.lake, folder, contract.table)
                              for folder in ("raw", "quarantine", "loads")])
    monkeypatch.setattr(readers, "_arrow_json_document", ARROW_READER)
    return outcome


def test_a_regular_answer_is_read_by_arrow_and_lands_what_the_exact_reader_lands(tmp_path, monkeypatch):
    missing_day = {k: v for k, v in stat(12).items() if k != "stat_time"}
    text = guide_answer(REGULAR + [missing_day, stat(13, reply_percentage=-1e-7)])
    path = _land(paths_from_env({"QUANYU_HOME": str(tmp_path / "probe")}).ensure(), GUIDES, "g.json", text)
    (batch,) = readers.open_source(path, GUIDES.record_path, (), engine.header_score(GUIDES)).batches
    assert all(isinstance(v, pa.Array) for v in batch.values.values()), "Arrow read it"
    assert list(batch.numbers) == list(range(1, 15))
    # 96 and 83.6 in one field: Arrow reads doubles; the text is the exact reader's, 96 and 83.6
    assert batch.values["reply_percentage"].to_pylist()[:2] == ["83.6", "96"]
    outcome = landed(tmp_path, monkeypatch, GUIDES, {"g.json": text}, "regular")
    assert outcome["arrow"] == outcome["exact"]
    assert outcome["arrow"][0][3:6] == (14, 13, 1)  # a missing date quarantined
    evidence = repr(outcome["arrow"][2])
    assert '"reply_percentage": 96' in evidence or '"reply_percentage": 83.6' in evidence


FLOATS = ["83.60", "96.0", "1e-7", "1.5e3", "0.00001", "0.0001", "123456789012.345678", "-0.0", "-0",
          "2.5E+2", "0.30000000000000004", "1234567890123456.7", "5e-324", "99.99999999999999999"]


@pytest.mark.parametrize("written", FLOATS)
def test_a_number_keeps_the_text_python_gives_it_whatever_its_spelling(tmp_path, monkeypatch, written):
    text = guide_answer(REGULAR[:3]).replace('"reply_percentage":83.6', f'"reply_percentage":{written}', 1)
    assert written in text
    outcome = landed(tmp_path, monkeypatch, GUIDES, {"g.json": text}, "float")
    assert outcome["arrow"] == outcome["exact"]


# each document is a trap for Arrow's reader; (does Arrow read it, the exact outcome's status)
TRAPS = {
    "an integer over int64": (guide_answer([stat(0, avg_reply_time=10**20)] + REGULAR[1:3]), False),
    "an integer past 2**53 among doubles": (guide_answer(REGULAR[:3] + [stat(3, reply_percentage=2**53 + 1)]), False),
    "a large integer in an integer column": (guide_answer(REGULAR[:3] + [stat(3, chat_cnt=2**62 + 1)]), True),
    "a key twice in a record": (guide_answer(REGULAR[:2])[:-3] + ',"chat_cnt":7}]}', False),
    "a key twice in the envelope": ('{"userid":"a","userid":"b","errcode":0,"behavior_data":'
                                    + json.dumps(REGULAR[:2]) + "}", False),
    "nested 10,000 levels": ('{"userid":"a","errcode":0,"behavior_data":[{"x":' + "[" * 10_000 + "]" * 10_000
                             + "}]}", False),
    "a record nested 100 levels": (guide_answer(REGULAR[:2] + [stat(2, x=json.loads('{"x": ' * 100 + "1"
                                                                                     + "}" * 100))]), False),
    "a bracket inside a text": (guide_answer([stat(0, note="[[[{{{" * 30)] + REGULAR[1:3]), True),
    "an escaped quote and brackets inside a text": (guide_answer([stat(0, note='\\"[[[' * 30 + "\\")]
                                                                 + REGULAR[1:3]), True),
    "non-UTF-8 (GBK)": (guide_answer(REGULAR[:3], userid="刘佳妍").encode("gbk"), False),
    "a BOM": (b"\xef\xbb\xbf" + guide_answer(REGULAR[:3]).encode(), False),
    "an error answer": (guide_answer(REGULAR[:3], errcode=40001), False),
    "an errcode of 0 as text": (guide_answer(REGULAR[:3]).replace('"errcode":0', '"errcode":"0"'), False),
    "NaN": (guide_answer(REGULAR[:3]).replace("83.6", "NaN", 1), False),
    "an empty object": (guide_answer([stat(0, extra={})] + REGULAR[1:3]), False),
    "a null record": (guide_answer([None] + REGULAR[1:3]), False),
    "a text as a record": (guide_answer(["not a record"] + REGULAR[1:3]), False),
    "no records": (guide_answer([]), False),
    "pretty-printed on many lines": (json.dumps(json.loads(guide_answer(REGULAR[:3])), indent=2), False),
    "two answers in one file": (guide_answer(REGULAR[:2]) + guide_answer(REGULAR[2:4]), False),
    "a raw tab inside a text": (guide_answer([stat(0, note="a_b")] + REGULAR[1:3]).replace("a_b", "a\tb"), False),
    "a lone surrogate": (guide_answer([stat(0, note="x")]).replace('"x"', '"\\ud800"'), False),
    "escapes": (guide_answer([stat(0, note="引号\" 反斜杠\\ 换行\n \u4e2d \u2028")] + REGULAR[1:3]), True),
    "texts that look like times": (guide_answer([stat(d, stat_time=f"2026-01-0{d + 1} 10:00:00") for d in range(3)]),
                                   True),
    "nulls and missing keys": (guide_answer([stat(0, chat_cnt=None), {"stat_time": 1761926400},
                                             stat(2, avg_reply_time=None)]), True),
    "the required key in no record": (guide_answer([{"chat_cnt": 1}, {"chat_cnt": 2}]), True),
    "a record key named like the envelope's": (guide_answer([stat(0, **{"^userid": "x"})]), False),
    "a dotted key beside a nested one": (guide_answer([stat(0, **{"a.b": 1, "a": {"b": 2}})]), False),
    "keys in a different order in each record": (guide_answer([dict(reversed(list(stat(0).items()))), stat(1),
                                                               {"zz": 1, **stat(2)}]), True),
    "the envelope after the records": ('{"behavior_data":' + json.dumps(REGULAR[:3]) + ',"userid":"a","errcode":0}',
                                       True),
    "a list in the envelope": (guide_answer(REGULAR[:3], tags=["a"]), False),
}


@pytest.mark.parametrize("trap", list(TRAPS))
def test_a_trap_of_a_document_lands_what_the_exact_reader_lands(tmp_path, monkeypatch, trap):
    text, arrow = TRAPS[trap]
    probe = paths_from_env({"QUANYU_HOME": str(tmp_path / "probe")}).ensure()
    assert arrow_takes(_land(probe, GUIDES, "g.json", text), GUIDES) == arrow
    # with a regular answer beside it: the group of small files, each file read its own way
    outcome = landed(tmp_path, monkeypatch, GUIDES, {"g.json": text, "h.json": guide_answer(REGULAR)}, "trap")
    assert outcome["arrow"] == outcome["exact"]


def test_a_large_answer_read_alone_in_batches_keeps_its_evidence(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "SMALL_FILE_BYTES", 0)  # the file alone (_FileLoader.run), batch by batch
    monkeypatch.setattr(readers, "BATCH_ROWS", 5)
    records = [stat(d) for d in range(23)]
    del records[7]["stat_time"]
    records[16]["reply_percentage"] = 96.0  # its evidence says 96.0, not 96 (the exact reader's value)
    records[16]["chat_cnt"] = None
    del records[16]["stat_time"]
    outcome = landed(tmp_path, monkeypatch, GUIDES, {"g.json": guide_answer(records)}, "alone")
    assert outcome["arrow"] == outcome["exact"]
    quarantine = outcome["arrow"][2]
    assert len(quarantine) == 2 and '"reply_percentage": 96.0' in repr(quarantine)


def follower(i: int, **changes) -> dict:
    record = {"subscribe": 1, "openid": f"oJ8Sq5{i:022d}", "language": "zh_CN", "subscribe_time": 1783478783 + i,
              "unionid": f"oK7cr1{i:022d}", "remark": "", "groupid": 0, "tagid_list": [2, i % 5][: i % 3],
              "subscribe_scene": "ADD_SCENE_QR_CODE", "qr_scene": 10065, "qr_scene_str": "S0066"}
    record.update(changes)
    return record


def test_follower_lists_and_unsubscribed_records_land_what_the_exact_reader_lands(tmp_path, monkeypatch):
    records = [follower(i) for i in range(9)] + [{"subscribe": 0, "openid": "oJ8Sq5x", "unionid": "oK7x",
                                                  "tagid_list": []}, follower(10, openid=None)]
    text = json.dumps({"user_info_list": records, "total": 11, "count": 11, "next_openid": "oJ8Sq5x"})
    probe = paths_from_env({"QUANYU_HOME": str(tmp_path / "probe")}).ensure()
    assert arrow_takes(_land(probe, FOLLOWERS, "f.json", text), FOLLOWERS)
    outcome = landed(tmp_path, monkeypatch, FOLLOWERS, {"f.json": text}, "followers")
    assert outcome["arrow"] == outcome["exact"]


def group_stat(owner: str, **data) -> dict:
    return {"owner": owner, "data": {"new_chat_cnt": 0, "chat_total": 1, "chat_has_msg": 1, "member_total": 43,
                                     **data}}


@pytest.mark.parametrize("case, records, arrow", [
    ("nested objects", [group_stat("a"), group_stat("b")], True),
    # a path first appears after a later key did: the exact reader's header order, not Arrow's
    ("a new path in a nested object", [group_stat("a"), group_stat("b", msg_total=3)], False),
    ("a new key before a new nested object", [group_stat("a"), {"x": 1, "owner": "b", "more": {"p": 1}}], True),
    # a path first appears after a later key did: Arrow would put data.msg_total before x
    ("a nested path after a later key", [group_stat("a"), {"x": 1, **group_stat("b", msg_total=3)}], False),
    ("a nested path after a later key, and a null", [group_stat("a"), {"x": None, **group_stat("b", msg_total=3)}],
     False),
    ("a nested object given as null", [group_stat("a"), {"owner": "b", "data": None}], False),
])
def test_nested_objects_flatten_in_the_exact_readers_order(tmp_path, monkeypatch, case, records, arrow):
    text = json.dumps({"errcode": 0, "errmsg": "ok", "total": 2, "next_offset": 2, "day_begin_time": 1787932800,
                       "items": records}, ensure_ascii=False)
    probe = paths_from_env({"QUANYU_HOME": str(tmp_path / "probe")}).ensure()
    assert arrow_takes(_land(probe, GROUPS, "s.json", text), GROUPS) == arrow
    outcome = landed(tmp_path, monkeypatch, GROUPS, {"s.json": text}, "nested")
    assert outcome["arrow"] == outcome["exact"]


def contact(i: int, follow_info) -> dict:
    return {"external_contact": {"external_userid": f"wm{i:030d}", "name": "小王", "type": 1, "gender": 1,
                                 "unionid": f"oK7cr1{i:022d}"}, "follow_info": follow_info}


@pytest.mark.parametrize("case, follow, arrow", [
    ("an object to explode: one row a record", lambda i: {"userid": f"g{i}", "tag_id": ["etLJ0003"],
                                                          "remark_mobiles": ["", "18774023857"][i % 2:],
                                                          "createtime": 1747884112 + i, "add_way": 1}, True),
    ("a list to explode", lambda i: [{"userid": f"g{i}"}, {"userid": "g0"}], False),
])
def test_contacts_explode_exactly(tmp_path, monkeypatch, case, follow, arrow):
    text = json.dumps({"errcode": 0, "errmsg": "ok", "external_contact_list": [contact(i, follow(i))
                                                                              for i in range(4)]}, ensure_ascii=False)
    probe = paths_from_env({"QUANYU_HOME": str(tmp_path / "probe")}).ensure()
    assert arrow_takes(_land(probe, CONTACTS, "c.json", text), CONTACTS) == arrow
    outcome = landed(tmp_path, monkeypatch, CONTACTS, {"c.json": text}, "contacts")
    assert outcome["arrow"] == outcome["exact"]


def _texts(batch: readers.Batch) -> dict:
    """Every header's values as the engine's text (``column_values`` for Arrow, ``_as_text`` for Python)."""
    out = {}
    for header, values in batch.values.items():
        if isinstance(values, pa.Array):
            listed = values.to_pylist()
            out[header] = ([engine._as_text(v, "json") for v in listed] if pa.types.is_list(values.type) else
                           values.to_pylist() if values.type == pa.string() else
                           __import__("pyarrow.compute").compute.cast(values, pa.string()).to_pylist())
        else:
            out[header] = [engine._as_text(v, "json") for v in values]
    return out


def _random_value(rng: random.Random):
    kind = rng.randrange(10)
    if kind == 9:
        return {"p": rng.randrange(9), "q": {"r": rng.choice(["x", "y"])}}
    if kind == 0:
        return rng.randrange(-10**6, 10**6)
    if kind == 1:
        return round(rng.uniform(-1000, 1000), rng.randrange(0, 6))
    if kind == 2:
        return rng.uniform(-1, 1) * 10 ** rng.randrange(-8, 20)
    if kind == 3:
        return rng.choice(["", "ok", "刘佳妍", "a\"b", "x\\y", "2026-01-05 10:00:00", "2026-01-05", "[{"])
    if kind == 4:
        return rng.choice([True, False])
    if kind == 5:
        return None
    if kind == 6:
        return rng.choice([[], ["a", "b"], [1, 2, 3], [True], ["", "1877"]])
    if kind == 7:
        return {rng.choice("pqr"): rng.randrange(9) for _ in range(rng.randrange(1, 3))}
    return rng.randrange(10**17, 10**19)


def test_random_answers_read_by_arrow_give_the_exact_readers_headers_rows_and_texts(tmp_path):
    """Random shapes (keys missing, reordered, nested, null; numbers of every spelling): whenever Arrow takes
    an answer, its headers (in order), row numbers and every value's text equal the exact reader's."""
    rng = random.Random(20)
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path / "random")}).ensure()
    taken = nested = 0
    for n in range(400):
        keys = rng.sample(["a", "b", "c", "d", "e", "f"], rng.randrange(1, 6))
        kinds = {k: rng.randrange(10) for k in keys}  # one kind a key mostly: Arrow refuses a changed type
        records = []
        for _ in range(rng.randrange(1, 8)):
            record = {}
            for k in rng.sample(keys, rng.randrange(1, len(keys) + 1)):
                value = _random_value(rng)
                while rng.random() < 0.9 and kinds[k] != 5 and value is not None and \
                        type(_random_value(random.Random(kinds[k]))) is not type(value):
                    value = _random_value(rng)
                record[k] = value
            records.append(record)
        envelope = {"errcode": 0, "errmsg": "ok", "userid": "u"} if rng.random() < 0.7 else {"next_cursor": "c"}
        text = json.dumps({**envelope, "behavior_data": records}, ensure_ascii=False, separators=(",", ":"))
        path = _land(paths, GUIDES, f"r{n}.json", text)
        try:
            fast = readers.open_json(path, ("behavior_data",), ())
            fast_batches = list(fast.batches)
        except readers.FastPathUnsuitable:
            continue
        taken += 1
        nested += any("." in h for h in fast.headers)
        exact = readers.open_json(path, ("behavior_data",), (), fast=False)
        exact_batches = list(exact.batches)
        assert fast.headers == exact.headers, text
        assert [list(b.numbers) for b in fast_batches] == [list(b.numbers) for b in exact_batches], text
        assert [_texts(b) for b in fast_batches] == [_texts(b) for b in exact_batches], text
    assert taken > 100 and nested > 8, f"Arrow took only {taken} of 400 random answers, {nested} with nested objects"
