"""Rotating the hash key (issue 17): a changed key is refused, mixed keys never build, the re-key keeps one_ids.

One installation of the demo brand is built under key v1 through the real ``build_all`` job
(ingest, gates, dbt, publication); each test works on its own copy. Expected hashes are
recomputed here with ``hmac`` from phone numbers read out of the landing files, not with the
loader's code.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.contract import load_contracts
from ingest.hash_keys import fingerprint, recorded_key, row_key_versions
from ingest.pii import HashKey
from ingest.settings import Paths, paths_from_env
from orchestration.rekey import hashed_columns, hashed_identifier_types
from tests.orchestration.baseline import active_home

V1 = {"QUANYU_HASH_KEY": "first-secret-for-tests", "QUANYU_HASH_KEY_VERSION": "v1"}
V1_CHANGED = {"QUANYU_HASH_KEY": "another-secret-same-label", "QUANYU_HASH_KEY_VERSION": "v1"}
V2 = {"QUANYU_HASH_KEY": "second-secret-for-tests", "QUANYU_HASH_KEY_VERSION": "v2"}
PREVIOUS_V1 = {"QUANYU_HASH_KEY_PREVIOUS": V1["QUANYU_HASH_KEY"], "QUANYU_HASH_KEY_PREVIOUS_VERSION": "v1"}
KEY_VARIABLES = ("QUANYU_HASH_KEY", "QUANYU_HASH_KEY_VERSION", "QUANYU_HASH_KEY_PREVIOUS",
                 "QUANYU_HASH_KEY_PREVIOUS_VERSION")
FP1 = fingerprint(HashKey(V1["QUANYU_HASH_KEY"].encode(), "v1"))
FP1_CHANGED = fingerprint(HashKey(V1_CHANGED["QUANYU_HASH_KEY"].encode(), "v1"))
FP2 = fingerprint(HashKey(V2["QUANYU_HASH_KEY"].encode(), "v2"))
MOBILE = re.compile(rb"(?<!\d)1[3-9]\d{9}(?!\d)")


def _keys(monkeypatch, values: dict[str, str]) -> None:
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def build_all(paths: Paths):
    from dagster import DagsterInstance

    from orchestration.definitions import build_all_tags, defs

    with active_home(paths):
        return defs.resolve_job_def("build_all").execute_in_process(
            instance=DagsterInstance.ephemeral(), raise_on_error=False, tags=build_all_tags(paths=paths),
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})


def copy_home(paths: Paths, root: Path) -> Paths:
    shutil.copytree(paths.home, root, dirs_exist_ok=True)  # keeps modification times (landing days)
    return paths_from_env({"QUANYU_HOME": str(root)}).ensure()


def failures(result) -> dict[str, str]:
    return {e.step_key: e.event_specific_data.error.message for e in result.all_events if e.is_step_failure}


def started(result) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}


def lake_listing(paths: Paths) -> dict[str, tuple[int, int]]:
    return {p.relative_to(paths.lake).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in paths.lake.rglob("*") if p.is_file() and not p.name.endswith(".lock")}


def build_id(paths: Paths) -> str:
    from orchestration.publish import read_build_info

    return read_build_info(paths.warehouse)["build_id"]


def members(paths: Paths) -> dict[str, frozenset[tuple[str, str]]]:
    """one_id -> the source records (table, record key) it resolves, from the served warehouse."""
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        rows = con.execute("select one_id, source_table, record_key from identity.bridge_record_member "
                           "where one_id is not null").fetchall()
    found: dict[str, set[tuple[str, str]]] = {}
    for one_id, table, key in rows:
        found.setdefault(one_id, set()).add((table, key))
    return {one_id: frozenset(records) for one_id, records in found.items()}


def registry(paths: Paths) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute("select identifier_type, identifier_value, one_id "
                           "from identity.identity_registry").fetchall()


def raw_column(paths: Paths, table: str, column: str) -> set[str]:
    with duckdb.connect() as con:
        rows = con.execute(f"select distinct {column} from read_parquet('{paths.lake}/raw/{table}/*.parquet', "
                           f"union_by_name = true) where {column} is not null").fetchall()
    return {value for (value,) in rows}


def landing_mobiles(paths: Paths) -> set[str]:
    """11-digit mobile numbers written plainly in the CRM member exports (read here, not by the loader)."""
    numbers = set()
    for path in sorted((paths.landing / "crm" / "members").rglob("*.csv")):
        numbers |= {m.decode() for m in MOBILE.findall(path.read_bytes())}
    return numbers


def keyed(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def v1_home(demo_home, tmp_path_factory):
    """The demo brand built and published under key v1."""
    mp = pytest.MonkeyPatch()
    _keys(mp, V1)
    try:
        root = tmp_path_factory.mktemp("rotation-v1")
        shutil.copytree(demo_home.landing, root / "landing")
        paths = paths_from_env({"QUANYU_HOME": str(root)}).ensure()
        result = build_all(paths)
        assert result.success, failures(result)
    finally:
        mp.undo()
    return paths


def test_the_first_load_records_the_lake_key_and_the_warehouse_its_registry_key(v1_home):
    from orchestration.hash_key_guard import warehouse_key

    assert recorded_key(v1_home) == FP1
    assert warehouse_key(v1_home.warehouse) == FP1
    assert set(row_key_versions(v1_home)) == {"v1"}
    text = (v1_home.lake / "_hash_key.json").read_text(encoding="utf-8")
    assert V1["QUANYU_HASH_KEY"] not in text


def _assert_refused_before_writing(home: Paths, result, expected: list[str]) -> None:
    from orchestration.definitions import contracts

    failed = failures(result)
    assert not result.success
    assert set(failed) == {f"raw_{c.table}" for c in contracts}  # every load refused, before dbt
    assert "quanyu_dbt" not in started(result)
    for message in failed.values():
        for part in expected:
            assert part in message, message
        assert "python -m orchestration.rekey" in message and "QUANYU_HASH_KEY_PREVIOUS" in message
        assert all(value not in message for value in (V1["QUANYU_HASH_KEY"], V1_CHANGED["QUANYU_HASH_KEY"],
                                                      V2["QUANYU_HASH_KEY"]))


def _new_landing_file(home: Paths) -> Path:
    """A new export (an existing one plus a blank line: another SHA-256) that a load would write."""
    source = sorted((home.landing / "crm" / "members").rglob("*.csv"))[0]
    target = source.with_name(source.stem + "_again.csv")
    target.write_bytes(source.read_bytes() + b"\r\n")
    return target


@pytest.mark.parametrize("env, expected", [
    (V1_CHANGED, [f"its rows were hashed with hash key version 'v1' (fingerprint {FP1.fingerprint})",
                  f"a different secret under the same version label 'v1' (fingerprint {FP1_CHANGED.fingerprint})",
                  "Nothing was loaded"]),
    (V2, [f"its rows were hashed with hash key version 'v1' (fingerprint {FP1.fingerprint})",
          f"the key given is version 'v2' (fingerprint {FP2.fingerprint})", "Nothing was loaded"]),
], ids=["changed-secret-same-version", "new-version"])
def test_a_build_with_another_key_and_no_rekey_stops_before_anything_is_written(v1_home, tmp_path, monkeypatch,
                                                                                env, expected):
    home = copy_home(v1_home, tmp_path / "home")
    new_file = _new_landing_file(home)
    before, served = lake_listing(home), build_id(home)
    _keys(monkeypatch, env)
    result = build_all(home)
    _assert_refused_before_writing(home, result, expected)
    assert lake_listing(home) == before  # not one file written, not even the new export's
    assert build_id(home) == served
    assert recorded_key(home) == FP1
    with duckdb.connect() as con:
        labels = {r[0] for r in con.execute(f"select source_file from read_parquet('{home.lake}/loads/*/*.parquet', "
                                            f"union_by_name = true)").fetchall()}
    assert new_file.relative_to(home.landing).as_posix() not in labels


def test_rows_of_two_key_versions_in_the_lake_stop_the_build_before_dbt(v1_home, tmp_path, monkeypatch):
    home = copy_home(v1_home, tmp_path / "home")
    # a raw file restored from an older lake: its rows say another key version
    victim = sorted(p for p in (home.lake / "raw" / "crm_members").glob("*.parquet") if not p.name.startswith("_"))[0]
    data = pq.read_table(victim)
    column = data.schema.get_field_index("_hash_key_version")
    pq.write_table(data.set_column(column, "_hash_key_version", pa.array(["v0"] * data.num_rows, pa.string())), victim)
    with duckdb.connect() as con:
        counts = dict(con.execute(f"select _hash_key_version, count(*) from "
                                  f"read_parquet('{home.lake}/raw/*/*.parquet', union_by_name = true) "
                                  f"group by 1").fetchall())
    assert set(counts) == {"v0", "v1"} and counts["v0"] == data.num_rows
    served = build_id(home)
    _keys(monkeypatch, V1)
    result = build_all(home)
    failed = failures(result)
    assert not result.success and list(failed) == ["quanyu_dbt"]
    message = failed["quanyu_dbt"]
    assert (f"its raw rows carry 2 hash key version(s) ('v0': {counts['v0']:,} rows, 'v1': {counts['v1']:,} rows); "
            f"the lake's key is version 'v1' (fingerprint {FP1.fingerprint})") in message
    assert "python -m orchestration.rekey" in message and "the served warehouse is unchanged" in message
    assert build_id(home) == served


class Killed(BaseException):
    """The process dies between the swap's two renames of the lake."""


@pytest.fixture(scope="module")
def rekeyed(v1_home, tmp_path_factory):
    """A copy of the v1 installation re-keyed to v2 the hard way, each step's state recorded:
    ``rekey --no-build`` killed between the swap's two renames of the lake; run again, it finishes the
    swap; the nightly ``build_all`` under the new key only starts from the re-keyed registry and
    publishes; a third run cleans up. (The command's default path, re-key and build in one go, is
    ``rekeyed_after_erasure`` below: one rebuild per fixture, each a full build of the brand.)"""
    from orchestration import rekey as rekeying
    from orchestration.hash_key_guard import warehouse_key
    from orchestration.publish import rekey_seed

    home = copy_home(v1_home, tmp_path_factory.mktemp("rotation-rekey"))
    before = {"members": members(home), "registry": registry(home), "rows": row_key_versions(home),
              "mobiles": raw_column(home, "crm_members", "mobile_hash"), "warehouse_key": warehouse_key(home.warehouse),
              "served": home.warehouse.read_bytes(), "build_id": build_id(home)}
    work = rekeying.Workspace(home)
    steps: dict[str, dict] = {}
    rename = os.rename

    def dies_before_the_fresh_lake_moves_in(source, target):
        if Path(source) == work.fresh.lake:
            raise Killed()
        rename(source, target)

    mp = pytest.MonkeyPatch()
    _keys(mp, {**V2, **PREVIOUS_V1})
    try:
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(os, "rename", dies_before_the_fresh_lake_moves_in)
            with active_home(home), pytest.raises(Killed):
                rekeying.rekey(home, build=False, log=lambda _: None)
        steps["killed"] = {"lake": home.lake.exists(), "retired": work.retired.exists(),
                           "fresh": work.fresh.lake.exists(), "state": work.state()["state"],
                           "build_id": build_id(home)}
        with active_home(home):
            code = rekeying.rekey(home, build=False, log=lambda _: None)
        steps["finished"] = {"code": code, "lake_key": recorded_key(home), "rows": set(row_key_versions(home)),
                             "seed": rekey_seed(home).exists(), "warehouse_key": warehouse_key(home.warehouse),
                             "build_id": build_id(home)}
        mp.delenv("QUANYU_HASH_KEY_PREVIOUS")
        mp.delenv("QUANYU_HASH_KEY_PREVIOUS_VERSION")
        result = build_all(home)  # the nightly run, with the new key only
        steps["built"] = {"success": result.success, "failures": failures(result),
                          "warehouse_key": warehouse_key(home.warehouse), "seed": rekey_seed(home).exists(),
                          "workspace": work.folder.exists()}
        with active_home(home):
            code = rekeying.rekey(home, build=False, log=lambda _: None)
        steps["cleaned"] = {"code": code, "workspace": work.folder.exists()}
    finally:
        mp.undo()
    return home, before, steps


@pytest.mark.rekey
def test_a_rekey_killed_in_the_swap_is_finished_by_a_rerun_and_the_next_build_publishes_it(rekeyed):
    home, before, steps = rekeyed
    assert before["warehouse_key"] == FP1
    killed = steps["killed"]  # the old lake moved aside, the fresh one not yet in; nothing served changed
    assert not killed["lake"] and killed["retired"] and killed["fresh"]
    assert killed["state"] == "prepared" and killed["build_id"] == before["build_id"]
    finished = steps["finished"]  # the rerun finished the swap; the warehouse waits for the next build
    assert finished["code"] == 0 and finished["lake_key"] == FP2 and finished["rows"] == {"v2"}
    assert finished["seed"] and finished["warehouse_key"] == FP1 and finished["build_id"] == before["build_id"]
    built = steps["built"]  # the nightly build started from the re-keyed registry and published
    assert built["success"], built["failures"]
    assert built["warehouse_key"] == FP2 and not built["seed"]
    assert built["workspace"]  # the previous lake waits until the command is run again
    assert steps["cleaned"] == {"code": 0, "workspace": False}


@pytest.mark.rekey
def test_after_the_rekey_every_one_id_resolves_the_same_records(rekeyed):
    home, before, *_ = rekeyed
    after = members(home)
    assert len(before["members"]) > 100
    assert after == before["members"]  # person by person: same one_id, same source records
    assert {r[2] for r in registry(home)} == {r[2] for r in before["registry"]}


@pytest.mark.rekey
def test_after_the_rekey_no_row_carries_the_old_version_and_every_hash_is_new(rekeyed):
    home, before, *_ = rekeyed
    assert before["rows"] == {"v1": sum(before["rows"].values())}
    assert row_key_versions(home) == {"v2": before["rows"]["v1"]}
    with duckdb.connect() as con:
        ledger = con.execute(f"select hash_key_version, count(*) from read_parquet('{home.lake}/loads/*/*.parquet', "
                             f"union_by_name = true) group by 1").fetchall()
    assert [version for version, _ in ledger] == ["v2"]
    mobiles = raw_column(home, "crm_members", "mobile_hash")
    assert len(mobiles) == len(before["mobiles"]) > 100 and not mobiles & before["mobiles"]
    # recomputed from the landing files: the lake holds HMAC(new key, number), no longer HMAC(old key, number)
    numbers = landing_mobiles(home)
    assert numbers
    new = {keyed(V2["QUANYU_HASH_KEY"], n) for n in numbers}
    old = {keyed(V1["QUANYU_HASH_KEY"], n) for n in numbers}
    assert len(new & mobiles) > 100 and not old & mobiles
    assert len(old & before["mobiles"]) == len(new & mobiles)
    # the registry: as many hashed identifiers, none of them an old hash, each one in the new lake
    hashed = hashed_identifier_types()
    assert hashed == ["jd_pin", "mobile", "tmall_nick"]
    hashed_before = {(t, v) for t, v, _ in before["registry"] if t in hashed}
    hashed_after = {(t, v) for t, v, _ in registry(home) if t in hashed}
    assert len(hashed_after) == len(hashed_before) and not hashed_after & hashed_before
    contracts = load_contracts()
    in_lake = {v for table in contracts for column in hashed_columns(contracts[table])
               for v in raw_column(home, table, column)}
    assert {v for _, v in hashed_after} <= in_lake


@pytest.mark.rekey
def test_a_registry_built_under_another_key_than_the_lake_stops_the_build(rekeyed, tmp_path, monkeypatch):
    rekeyed_home, before, *_ = rekeyed
    home = copy_home(rekeyed_home, tmp_path / "home")
    home.warehouse.write_bytes(before["served"])  # the pre-rotation warehouse restored over the re-keyed lake
    _keys(monkeypatch, V2)
    result = build_all(home)
    failed = failures(result)
    assert not result.success and list(failed) == ["quanyu_dbt"]
    rows = row_key_versions(home)["v2"]
    assert (f"the served warehouse's identity registry was built under hash key version 'v1' (fingerprint "
            f"{FP1.fingerprint}), but the lake {home.lake} holds 'v2': {rows:,} rows under hash key version 'v2' "
            f"(fingerprint {FP2.fingerprint})") in failed["quanyu_dbt"]
    assert "python -m orchestration.rekey" in failed["quanyu_dbt"]


def test_the_rekey_refuses_when_a_landing_file_of_the_ledger_is_gone(v1_home, tmp_path, monkeypatch, capsys):
    from orchestration.rekey import Workspace, main

    home = copy_home(v1_home, tmp_path / "home")
    gone = sorted((home.landing / "jd").rglob("*.csv"))[0]
    gone.unlink()
    before, served = lake_listing(home), build_id(home)
    _keys(monkeypatch, {**V2, **PREVIOUS_V1})
    with active_home(home):
        assert main(["--no-build"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("NOT RE-KEYED: landing folder ")
    assert f"missing: 1 (jd_orders: {gone.relative_to(home.landing).as_posix()})" in err
    assert "nothing was changed" in err and "Traceback" not in err
    assert lake_listing(home) == before and build_id(home) == served and not Workspace(home).folder.exists()


@pytest.mark.parametrize("env, expected", [
    ({**V2, "QUANYU_HASH_KEY_PREVIOUS": "not-the-old-secret", "QUANYU_HASH_KEY_PREVIOUS_VERSION": "v1"},
     f"the previous key given is version 'v1' (fingerprint "
     f"{fingerprint(HashKey(b'not-the-old-secret', 'v1')).fingerprint}), but lake"),
    ({**V1_CHANGED, **PREVIOUS_V1}, "the new key has the version label of the lake's key ('v1')"),
    (V2, "QUANYU_HASH_KEY_PREVIOUS and QUANYU_HASH_KEY_PREVIOUS_VERSION are not set"),
], ids=["wrong-previous-key", "same-version-label", "no-previous-key"])
def test_the_rekey_refuses_keys_that_do_not_fit_the_lake(v1_home, monkeypatch, env, expected):
    from orchestration.rekey import RekeyError, Workspace, rekey

    before = lake_listing(v1_home)
    _keys(monkeypatch, env)
    with pytest.raises(RekeyError) as refused:
        rekey(v1_home, build=False, log=lambda _: None)
    assert expected in str(refused.value)
    secrets = ("not-the-old-secret", V1["QUANYU_HASH_KEY"], V2["QUANYU_HASH_KEY"])
    assert all(secret not in str(refused.value) for secret in secrets)
    assert lake_listing(v1_home) == before and not Workspace(v1_home).folder.exists()


def test_map_hashes_rekeys_a_list_and_names_what_it_cannot(tmp_path):
    from orchestration.rekey import map_hashes

    mapping = tmp_path / "mapping.parquet"
    pq.write_table(pa.table({"old_hash": ["a1", "b2"], "new_hash": ["x9", "y8"]}), mapping)
    found = map_hashes(mapping, ["b2", "c3", "a1", "b2"])
    assert found.mapped == {"a1": "x9", "b2": "y8"} and found.unmapped == ["c3"]


STORES = "门店编码,门店名称,门店电话\r\nS001,旗舰店,13912345678\r\n"


def _load_stores(home: Paths, key: HashKey, name: str):
    from ingest.engine import load_table

    path = home.landing / "master" / "stores" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(STORES.replace("S001", name[:4]).encode("utf-8"))
    return load_table(load_contracts()["stores"], home, key)


def test_a_lake_loaded_before_keys_were_recorded_is_adopted_only_under_its_own_version(home):
    from ingest.hash_keys import HashKeyMismatchError, check_load_key, key_file

    v1 = HashKey(b"first", "v1")
    assert _load_stores(home, v1, "a001.csv").rows_loaded == 1
    key_file(home).unlink()  # as before the record existed
    with pytest.raises(HashKeyMismatchError) as refused:
        check_load_key(home, HashKey(b"second", "v2"))
    assert "its ledger lists files hashed under key versions 'v1': 1 files, but the key given is version 'v2'" in str(
        refused.value)
    assert not key_file(home).exists()
    assert check_load_key(home, v1) == fingerprint(v1) and recorded_key(home) == fingerprint(v1)


def test_a_lake_without_any_load_takes_the_key_of_its_first_load(home):
    from ingest.hash_keys import HashKeyMismatchError, check_load_key

    check_load_key(home, HashKey(b"first", "v1"))  # recorded, but nothing loaded yet
    v2 = HashKey(b"second", "v2")
    assert _load_stores(home, v2, "b001.csv").rows_loaded == 1
    assert recorded_key(home) == fingerprint(v2)
    with pytest.raises(HashKeyMismatchError, match="its rows were hashed with hash key version 'v2'"):
        _load_stores(home, HashKey(b"first", "v1"), "c001.csv")
    assert row_key_versions(home) == {"v2": 1}  # c001.csv was not loaded


# ---------------------------------------------------------------- a rotation after an erasure


@pytest.fixture(scope="module")
def rekeyed_after_erasure(v1_home, demo_home, tmp_path_factory):
    """A copy of the v1 installation: one person erased by mobile under v1, then re-keyed to v2 and rebuilt.
    The person comes from the generator's truth (tests/privacy/test_erasure.py), not from the warehouse."""
    from ingest.erasure import ledger
    from ingest.suppression import read_entries
    from orchestration.rekey import main
    from tests.privacy.test_erasure import erase_command, linkable_people

    home = copy_home(v1_home, tmp_path_factory.mktemp("rotation-erased"))
    mp = pytest.MonkeyPatch()
    try:
        _keys(mp, V1)
        person = linkable_people(demo_home.home / "truth")[0]
        with active_home(home):
            erased = erase_command("--mobile", person.mobile)
        before = {"ledger": ledger(home), "entries": read_entries(home).to_pylist(),
                  "erasure_files": {p.name: p.read_bytes() for p in (home.lake / "erasure" / "ledger").glob("*.json")}}
        _keys(mp, {**V2, **PREVIOUS_V1})
        with active_home(home):
            code = main([])
    finally:
        mp.undo()
    return home, person, erased, before, code


def _plain_values(person) -> set[str]:
    """The person's identifiers kept as exported (member id, openids ...): the same under every key."""
    return {v for v in person.values if not re.fullmatch(r"[0-9a-f]{64}", v)}


@pytest.mark.rekey
def test_a_rekey_after_an_erasure_succeeds_and_the_person_stays_out_of_the_lake_and_the_warehouse(
        rekeyed_after_erasure):
    from orchestration.hash_key_guard import warehouse_key
    from orchestration.publish import rekey_seed
    from orchestration.rekey import Workspace
    from tests.privacy.test_erasure import _raw_record_keys, lake_hits, warehouse_hits

    home, person, erased, before, code = rekeyed_after_erasure
    assert erased[0] == 0 and code == 0  # the command's default path: re-key, rebuild, publish, clean up
    assert recorded_key(home) == FP2 and warehouse_key(home.warehouse) == FP2
    assert not Workspace(home).folder.exists() and not rekey_seed(home).exists()  # old lake deleted, seed retired
    new_mobile = keyed(V2["QUANYU_HASH_KEY"], person.mobile)  # computed here, not by the loader
    values = _plain_values(person) | {new_mobile, keyed(V1["QUANYU_HASH_KEY"], person.mobile), person.mobile}
    assert len(values) > 3
    assert lake_hits(home.lake, values) == {}
    assert warehouse_hits(home.warehouse, values) == {}
    raw_keys = _raw_record_keys(home.lake)
    assert {t: keys & raw_keys.get(t, set()) for t, keys in person.records.items()} == \
           {t: set() for t in person.records}
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        served = {(t, k) for t, k in con.execute("select source_table, record_key "
                                                 "from identity.bridge_record_member").fetchall()}
    assert not {k for _, k in served} & {k for keys in person.records.values() for k in keys}
    # the other people are all there: the lake lost only the rows the erasure had taken out
    assert raw_column(home, "crm_members", "mobile_hash") and new_mobile not in raw_column(home, "crm_members",
                                                                                            "mobile_hash")


@pytest.mark.rekey
def test_after_the_rekey_the_suppression_list_holds_the_same_identifiers_under_the_new_key(rekeyed_after_erasure):
    from ingest.suppression import read_entries

    home, person, _, before, _ = rekeyed_after_erasure
    after = read_entries(home).to_pylist()
    assert len(after) == len(before["entries"]) > 1
    assert {e["key_version"] for e in before["entries"]} == {"v1"} and {e["key_version"] for e in after} == {"v2"}
    assert sorted((e["identifier_type"], e["erasure_id"]) for e in after) == \
           sorted((e["identifier_type"], e["erasure_id"]) for e in before["entries"])
    assert not {e["value_hash"] for e in after} & {e["value_hash"] for e in before["entries"]}
    assert {"identifier_type": "mobile", "value_hash": keyed(V2["QUANYU_HASH_KEY"], person.mobile),
            "key_version": "v2", "erasure_id": before["ledger"][0]["erasure_id"]} in after
    # the erasure ledger is carried over byte for byte (counts, types, the version it ran under; no hash)
    assert {p.name: p.read_bytes() for p in (home.lake / "erasure" / "ledger").glob("*.json")} == \
           before["erasure_files"]


@pytest.mark.rekey
def test_after_the_rekey_every_ledger_entry_reconciles_and_counts_the_erased_rows(rekeyed_after_erasure):
    from ingest import lake
    from ingest.audit import reconcile

    home, _, _, before, _ = rekeyed_after_erasure
    erased = {t: c["raw"] + c["quarantine"] for t, c in before["ledger"][0]["rows_removed"]["lake"].items()}
    assert sum(erased.values()) > 0
    found = {}
    for table in load_contracts():
        assert reconcile(home, table).problems == []
        entries = lake.ledger_entries(home, table)
        if len(entries):
            assert (entries.rows_read == entries.rows_loaded + entries.rows_quarantined
                    + entries.rows_suppressed + entries.rows_erased).all()
            if entries.rows_erased.sum():
                found[table] = int(entries.rows_erased.sum())
    assert found == {t: n for t, n in erased.items() if n}


@pytest.mark.rekey
def test_a_reload_after_the_rekey_suppresses_the_erased_persons_rows(rekeyed_after_erasure, tmp_path, monkeypatch):
    from ingest.engine import load_tables

    rekeyed_home, _, _, before, _ = rekeyed_after_erasure
    home = copy_home(rekeyed_home, tmp_path / "home")
    _keys(monkeypatch, V2)
    reports = load_tables(list(load_contracts().values()), home, reload=True)
    suppressed = {t: r.rows_suppressed for t, r in reports.items() if r.rows_suppressed}
    erased = {t: c["raw"] + c["quarantine"] for t, c in before["ledger"][0]["rows_removed"]["lake"].items()}
    assert sum(suppressed.values()) > 0
    assert suppressed == {t: n for t, n in erased.items() if n}


def test_the_rekey_refuses_a_suppression_entry_no_landing_file_can_rekey_and_changes_nothing(v1_home, tmp_path,
                                                                                            monkeypatch):
    from ingest.suppression import add_entries
    from orchestration.rekey import RekeyError, Workspace, rekey

    home = copy_home(v1_home, tmp_path / "home")
    landing = b"".join(p.read_bytes() for p in home.landing.rglob("*") if p.is_file())
    number = next(n for n in (f"1990000{i:04d}" for i in range(10_000)) if n.encode() not in landing)
    gone = keyed(V1["QUANYU_HASH_KEY"], number)  # an erased person whose exports left landing
    add_entries(home, [{"identifier_type": "mobile", "value_hash": gone, "key_version": "v1",
                        "erasure_id": "erasure-of-a-gone-export"}])
    before, served = lake_listing(home), build_id(home)
    _keys(monkeypatch, {**V2, **PREVIOUS_V1})
    with active_home(home), pytest.raises(RekeyError) as refused:
        rekey(home, build=False, log=lambda _: None)
    message = str(refused.value)
    assert "1 entry of the suppression list" in message and "(mobile 1)" in message
    assert "no landing file of the ledger holds" in message and "Nothing was changed" in message
    assert "load it" in message and "docs/privacy.md" in message
    assert gone not in message and keyed(V2["QUANYU_HASH_KEY"], number) not in message and number not in message
    assert lake_listing(home) == before and build_id(home) == served and recorded_key(home) == FP1
    assert not Workspace(home).folder.exists()


def test_the_rekey_refuses_an_unfinished_erasure_and_a_suppression_list_of_another_key(home):
    from ingest.erasure import Journal
    from ingest.suppression import add_entries
    from orchestration.rekey import Keys, RekeyError, check_erasures

    keys = Keys(HashKey(b"first", "v1"), HashKey(b"second", "v2"))
    check_erasures(home, keys)  # no erasure: nothing to carry
    add_entries(home, [{"identifier_type": "mobile", "value_hash": "ab" * 32, "key_version": "v0",
                        "erasure_id": "e-old"}])
    with pytest.raises(RekeyError, match=r"holds 1 entries of hash key version\(s\) \['v0'\], not of the lake's key"):
        check_erasures(home, keys)
    Journal("e-open", "2026-12-04 10:00:00", ["mobile"], "v1").write(home)
    with pytest.raises(RekeyError, match=r"1 erasure\(s\) are unfinished \(e-open\).*orchestration.erase --resume"):
        check_erasures(home, keys)
