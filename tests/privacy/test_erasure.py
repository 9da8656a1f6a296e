"""Erasing a person end to end: the real build_all, the erase command, a reload of every export, a rebuild.

Two people of the demo brand are picked from the generator's truth (``truth/persons.parquet``,
``truth/records.parquet``), not from the warehouse under test: people seen in at least five
channels whose every record the exports can link (no JD order, whose pin nothing else carries;
no marketplace order without the marketplace's member binding; one mobile and one membership).
One is erased by mobile, the other by one_id. Then every layer is searched for their
identifiers, the original exports are loaded again (``reload``) and the brand is rebuilt: they
must not come back, every count must reconcile, and the KPIs must equal the KPIs before minus
their orders (found through the truth's record keys, not through the warehouse's one_ids).
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.audit import MOBILE_REGEX
from ingest.pii import key_from_env, keyed_hash
from tests.orchestration.baseline import active_home

CHANNEL_GROUPS = {"crm": "crm", "mini_program": "mini_program", "mini_program_orders": "mini_program",
                  "wecom": "wecom", "wecom_group": "wecom", "wechat_oa": "wechat_oa", "tmall": "tmall", "jd": "jd",
                  "douyin": "douyin", "pos": "pos"}
PLAIN_IDS = ["crm_member_id", "card_no", "unionid", "mp_openid", "oa_openid", "external_userid", "tmall_omid",
             "douyin_open_id"]
ORDER_TABLES = {"mp_orders", "pos_sales", "tmall_orders", "douyin_orders"}


@dataclass
class Person:
    person_id: str
    mobile: str
    channels: set[str]
    values: set[str]  # every identifier as the lake and the warehouse would hold it
    records: dict[str, set[str]]  # truth: table -> record keys


def linkable_people(truth: Path) -> list[Person]:
    """People of the truth in >= 5 channels whose every record an identifier links to the others."""
    from ingest.pii import hash_identifiers

    key = key_from_env()
    persons = pq.read_table(truth / "persons.parquet").to_pandas()
    records = pq.read_table(truth / "records.parquet").to_pandas()
    found = []
    for row in persons.sort_values("person_id").itertuples():
        channels = set((row.channels or "").split(","))
        groups = {CHANNEL_GROUPS[c] for c in channels if c in CHANNEL_GROUPS}
        if (len(groups) < 5 or "jd" in channels or ("tmall" in channels and "tmall_binding" not in channels)
                or ("douyin" in channels and "douyin_binding" not in channels)
                or not pd.isna(row.mobile_2) or not pd.isna(row.crm_member_id_2)):
            continue
        values = {getattr(row, c) for c in PLAIN_IDS if not pd.isna(getattr(row, c))}
        values.add(keyed_hash(key, row.mobile_1))
        if not pd.isna(row.taobao_nick):
            values.add(hash_identifiers(key, pd.Series([row.taobao_nick], dtype="str")).iat[0])
        mine = records[records.person_id == row.person_id]
        found.append(Person(row.person_id, row.mobile_1, groups, values,
                            {t: set(g.record_key) for t, g in mine.groupby("table")}))
    return found


def run_build(paths):
    from dagster import DagsterInstance

    from orchestration.definitions import build_all_tags, defs

    result = defs.resolve_job_def("build_all").execute_in_process(
        instance=DagsterInstance.ephemeral(), raise_on_error=False, tags=build_all_tags(paths=paths),
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    assert result.success, [e.step_key for e in result.all_events if e.is_failure]
    return result


def erase_command(*argv: str) -> tuple[int, str, str]:
    from orchestration.erase import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def query(database: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql, params or []).df()


def person_orders(database: Path, person: Person) -> pd.DataFrame:
    """fct_orders rows of the person's order records (truth keys -> the fact's order_key)."""
    keys = set()
    douyin = query(database, "select sub_order_id, order_id from staging.stg_douyin__orders")
    parent = dict(zip(douyin.sub_order_id, douyin.order_id))
    for table, records in person.records.items():
        for record in records:
            if table == "mp_orders":
                keys.add(f"mini_program:{record}")
            elif table == "tmall_orders":
                keys.add(f"tmall:{record}")
            elif table == "douyin_orders":
                keys.add(f"douyin:{parent[record]}")
            elif table == "pos_sales":
                store, receipt, _ = record.split("|")
                keys.add(f"pos:{store}-{receipt}")
    return query(database, "select order_key, order_month, net_amount from marts.fct_orders "
                           "where order_key in (select unnest(?))", [sorted(keys)]).assign(wanted=len(keys),
                                                                                           person=person.person_id)


@dataclass
class Flow:
    paths: object
    a: Person  # erased by mobile
    b: Person  # erased by one_id
    one_ids: dict[str, str]  # person_id -> one_id before the erasure
    before: dict  # KPIs of the first build
    outputs: dict[str, tuple[int, str, str]]
    lake_after_erasure: Path
    served_after_erasure: Path
    exports_after_erasure: Path
    reload: dict
    ledgers: list[dict]


@pytest.fixture(scope="module")
def flow(demo_home, published, tmp_path_factory) -> Flow:
    """The first build is the session's (a copy of its installation: landing, lake, published warehouse)."""
    from ingest.contract import load_contracts
    from ingest.engine import load_tables
    from ingest.erasure import ledger
    from ingest.settings import paths_from_env

    root = tmp_path_factory.mktemp("erasure")
    shutil.copytree(published.home, root, dirs_exist_ok=True)  # keeps modification times (landing days)
    paths = paths_from_env({"QUANYU_HOME": str(root)}).ensure()
    a, b = linkable_people(demo_home.home / "truth")[:2]
    with active_home(paths):
        registry = query(paths.warehouse, "select identifier_type, identifier_value, one_id "
                                          "from identity.identity_registry")
        one_ids = {p.person_id: registry[registry.identifier_value.isin(p.values)].one_id.unique().tolist()
                   for p in (a, b)}
        before = {
            "members": int(query(paths.warehouse, "select count(*) as n from marts.dim_member").n[0]),
            "gmv": query(paths.warehouse, "select month, gmv from marts.mart_sales_monthly where scope = 'brand'"),
            "orders": pd.concat([person_orders(paths.warehouse, a), person_orders(paths.warehouse, b)]),
        }
        kept = paths.warehouse.parent / "build" / "a-failed-run"  # a failed build kept for inspection
        kept.mkdir(parents=True)
        shutil.copyfile(paths.warehouse, kept / paths.warehouse.name)
        outputs = {"mobile": erase_command("--mobile", a.mobile),
                   "one_id": erase_command("--one-id", one_ids[b.person_id][0])}
        lake_copy = root / "lake_after_erasure"
        shutil.copytree(paths.lake, lake_copy)
        served_copy = root / "served_after_erasure.duckdb"
        shutil.copyfile(paths.warehouse, served_copy)
        exports_copy = root / "exports_after_erasure"
        shutil.copytree(paths.home / "exports", exports_copy)
        reports = load_tables(list(load_contracts().values()), paths, reload=True)
        reload = {t: r.rows_suppressed for t, r in reports.items() if r.rows_suppressed}
        run_build(paths)
        ledgers = ledger(paths)
    return Flow(paths, a, b, {k: v[0] for k, v in one_ids.items() if len(v) == 1}, before, outputs, lake_copy,
                served_copy, exports_copy, reload, ledgers)


def _pattern(values: set[str]) -> re.Pattern:
    return re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))


def lake_hits(lake: Path, values: set[str]) -> dict[str, int]:
    """Files of the lake (every folder and kind, Parquet and JSON) whose text holds any of ``values``."""
    pattern = _pattern(values)
    hits = {}
    for path in sorted(p for p in lake.rglob("*") if p.is_file()):
        if path.name == "suppression.parquet":
            continue  # keyed hashes kept on purpose: checked on its own
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            texts = [v for c in table.columns if pa.types.is_string(c.type) for v in c.to_pylist() if v]
        elif path.suffix == ".json":
            texts = [path.read_text(encoding="utf-8")]
        else:
            continue
        found = sum(1 for t in texts if pattern.search(t))
        if found:
            hits[str(path.relative_to(lake))] = found
    return hits


def warehouse_hits(database: Path, values: set[str]) -> dict[str, int]:
    """Tables of every schema with a text value holding any of ``values``."""
    hits = {}
    with duckdb.connect(str(database), read_only=True) as con:
        con.execute("create temp table wanted as select unnest(?::varchar[]) as v", [sorted(values)])
        columns = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                              "where data_type = 'VARCHAR' and table_catalog = current_database() "
                              "and table_schema not in ('information_schema', 'pg_catalog')").fetchall()
        for schema, table, column in columns:
            n = con.execute(f'select count(*) from "{schema}"."{table}" where exists '
                            f'(select 1 from wanted where contains("{column}", wanted.v))').fetchall()[0][0]
            if n:
                hits[f"{schema}.{table}.{column}"] = n
    return hits


def test_the_people_picked_from_the_truth_are_in_at_least_five_channels(flow):
    for person in (flow.a, flow.b):
        assert len(person.channels) >= 5, person.channels
        assert len(person.records) >= 5
    assert set(flow.one_ids) == {flow.a.person_id, flow.b.person_id}  # each was one identity in the graph


def test_the_command_prints_a_masked_mobile_and_no_identifier(flow):
    code, out, err = flow.outputs["mobile"]
    assert (code, err) == (0, "")
    assert f"erased mobile {flow.a.mobile[:3]}****{flow.a.mobile[-4:]}" in out
    assert flow.a.mobile not in out
    assert not _pattern(flow.a.values).search(out)
    code, out, err = flow.outputs["one_id"]
    assert (code, err) == (0, "")
    assert not _pattern(flow.b.values | {flow.b.mobile}).search(out)


def test_the_erasure_removed_exactly_their_records_from_the_lake(flow):
    by_type = {tuple(e["identifier_types_given"]): e for e in flow.ledgers}
    for given, person in ((("mobile",), flow.a), (("one_id",), flow.b)):
        lake = by_type[given]["rows_removed"]["lake"]
        assert {t: c["raw"] for t, c in lake.items()} == {t: len(k) for t, k in person.records.items()}
        assert {t: c["quarantine"] for t, c in lake.items()} == {t: 0 for t in person.records}


def test_no_file_of_the_lake_holds_their_identifiers_after_the_erasure(flow):
    values = flow.a.values | flow.b.values | {flow.a.mobile, flow.b.mobile}
    assert lake_hits(flow.lake_after_erasure, values) == {}
    raw_keys = _raw_record_keys(flow.lake_after_erasure)
    for person in (flow.a, flow.b):
        assert {t: keys & raw_keys.get(t, set()) for t, keys in person.records.items()} == \
               {t: set() for t in person.records}


def _raw_record_keys(lake: Path) -> dict[str, set[str]]:
    from ingest.contract import load_contracts

    keys = {}
    with duckdb.connect() as con:
        for table, contract in load_contracts().items():
            expr = " || '|' || ".join(f'cast("{k}" as varchar)' for k in contract.key)
            keys[table] = {k for (k,) in con.execute(
                f"select {expr} from read_parquet('{lake}/raw/{table}/*.parquet', union_by_name = true)").fetchall()}
    return keys


def test_the_suppression_list_keeps_only_type_keyed_hash_key_version_and_erasure(flow):
    entries = pq.read_table(flow.paths.lake / "erasure" / "suppression.parquet")
    assert entries.column_names == ["identifier_type", "value_hash", "key_version", "erasure_id"]
    assert set(entries.column("key_version").to_pylist()) == {"demo"}
    assert {e["erasure_id"] for e in flow.ledgers} == set(entries.column("erasure_id").to_pylist())
    assert entries.num_rows == sum(sum(e["identifiers_erased"].values()) for e in flow.ledgers)
    hashes = entries.column("value_hash").to_pylist()
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    assert flow.a.mobile not in hashes and keyed_hash(key_from_env(), flow.a.mobile) in hashes


def test_the_served_warehouse_holds_none_of_their_identifiers_or_one_ids(flow):
    values = flow.a.values | flow.b.values | set(flow.one_ids.values())
    assert warehouse_hits(flow.served_after_erasure, values) == {}
    assert query(flow.served_after_erasure, "select count(*) as n from identity.identity_registry where one_id in "
                                            "(select unnest(?))", [list(flow.one_ids.values())]).n[0] == 0
    info = query(flow.served_after_erasure, "select run_id from meta.build")
    assert info.run_id[0].startswith("erase-")


def test_the_audience_exports_are_rewritten_without_them(flow):
    """The session build's exports were copied with its home; the erasure writes them again from the
    warehouse it publishes, so no export file names the person before the next build."""
    values = flow.a.values | flow.b.values | set(flow.one_ids.values())
    files = [p for p in flow.exports_after_erasure.rglob("*") if p.is_file()]
    assert any(p.name == "manifest.json" for p in files)
    pattern = _pattern(values)
    assert [str(p) for p in files if pattern.search(p.read_text(encoding="utf-8"))] == []
    folders = [p for p in (flow.exports_after_erasure / "audiences").iterdir() if p.is_dir()]
    assert len(folders) == 1
    info = query(flow.served_after_erasure, "select build_id from meta.build")
    assert folders[0].name == info.build_id[0]


def test_the_erasure_ledger_holds_no_personal_data(flow):
    assert [e["identifier_types_given"] for e in flow.ledgers] == [["mobile"], ["one_id"]]
    text = json.dumps(flow.ledgers, ensure_ascii=False)
    assert not re.search(MOBILE_REGEX, text)
    assert not re.search(r"[0-9a-f]{64}", text)  # no keyed hash
    assert not re.search(r"QY[0-9A-F]{16}", text)  # no one_id
    assert not _pattern(flow.a.values | flow.b.values).search(text)
    assert set(flow.ledgers[0]) == {"erasure_id", "requested_at", "finished_at", "identifier_types_given",
                                    "identifiers_erased", "one_ids_erased", "suppression_entries",
                                    "hash_key_version", "rows_removed", "builds_deleted"}
    assert [e["builds_deleted"] for e in flow.ledgers] == [1, 0]  # the failed build kept before the first
    assert not (flow.paths.lake / "erasure" / "pending").exists() or \
           not any((flow.paths.lake / "erasure" / "pending").iterdir())  # the journals (with identifiers) are gone


def test_reloading_the_original_exports_suppresses_them_and_reconciles(flow):
    from ingest import lake
    from ingest.audit import reconcile
    from ingest.contract import load_contracts

    erased: dict[str, int] = {}
    for entry in flow.ledgers:
        for table, counts in entry["rows_removed"]["lake"].items():
            erased[table] = erased.get(table, 0) + counts["raw"] + counts["quarantine"]
    assert flow.reload == erased
    for table in load_contracts():
        assert reconcile(flow.paths, table).problems == []
        entries = lake.ledger_entries(flow.paths, table)
        if len(entries):
            assert (entries.rows_read == entries.rows_loaded + entries.rows_quarantined
                    + entries.rows_suppressed + entries.rows_erased).all()
    assert lake_hits(flow.paths.lake, flow.a.values | flow.b.values | {flow.a.mobile, flow.b.mobile}) == {}


def test_the_rebuild_publishes_without_them(flow):
    values = flow.a.values | flow.b.values | set(flow.one_ids.values())
    assert warehouse_hits(flow.paths.warehouse, values) == {}
    assert query(flow.paths.warehouse, "select count(*) as n from marts.fct_orders where order_key in "
                                       "(select unnest(?))", [flow.before["orders"].order_key.tolist()]).n[0] == 0


def test_kpis_after_the_rebuild_equal_the_kpis_before_without_them(flow):
    orders = flow.before["orders"]
    found = orders.groupby("person").agg(rows=("order_key", "size"), wanted=("wanted", "first"))
    assert (found.rows == found.wanted).all() and len(found) == 2  # every order of theirs was in the first build
    assert query(flow.paths.warehouse, "select count(*) as n from marts.dim_member").n[0] == \
           flow.before["members"] - 2
    theirs = orders.groupby("order_month").net_amount.sum()
    expected = flow.before["gmv"].set_index("month").gmv.astype(float)
    expected = expected.sub(theirs.astype(float).reindex(expected.index, fill_value=0))
    after = query(flow.paths.warehouse, "select month, gmv from marts.mart_sales_monthly where scope = 'brand'")
    after = after.set_index("month").gmv.astype(float)
    pd.testing.assert_series_equal(after.sort_index(), expected.sort_index().round(2), check_names=False)
    assert float(theirs.sum()) > 0


def test_an_unknown_one_id_or_mobile_exits_2_naming_no_personal_data(flow):
    with active_home(flow.paths):
        code, out, err = erase_command("--one-id", "QY0000000000000000")
        assert (code, out) == (2, "")
        assert "QY0000000000000000: not in the identity registry" in err and "Traceback" not in err
        code, out, err = erase_command("--mobile", flow.a.mobile)  # erased: nothing names it any more
        assert (code, out) == (2, "")
        assert f"{flow.a.mobile[:3]}****{flow.a.mobile[-4:]}" in err and flow.a.mobile not in err
        code, out, err = erase_command("--mobile", "12345")
        assert code == 2 and "not a usable mainland mobile" in err and "12345" not in err


def test_a_member_id_a_mobile_and_a_one_id_resolve_to_the_same_person_in_a_dry_run(flow, demo_home):
    from ingest.erasure import ledger

    third = linkable_people(demo_home.home / "truth")[2]
    member_id = next(v for v in third.values if v.isdigit() and len(v) == 10)
    one_id = query(flow.paths.warehouse, "select one_id from identity.identity_registry where identifier_type = "
                                         "'crm_member_id' and identifier_value = ?", [member_id]).one_id[0]
    with active_home(flow.paths):
        runs = {given: erase_command(f"--{given}", value, "--dry-run")
                for given, value in (("member-id", member_id), ("mobile", third.mobile), ("one-id", one_id))}
    assert {given: (code, err) for given, (code, _, err) in runs.items()} == {g: (0, "") for g in runs}
    heads = {given: out.split("\n", 1)[0] for given, (_, out, _) in runs.items()}
    assert heads == {"member-id": "dry run: would erase a CRM member id",
                     "mobile": f"dry run: would erase mobile {third.mobile[:3]}****{third.mobile[-4:]}",
                     "one-id": f"dry run: would erase one_id {one_id}"}
    bodies = {out.split("\n", 1)[1] for _, out, _ in runs.values()}
    assert len(bodies) == 1  # the same identifiers and the same rows, whichever identifier was given
    listed = set(re.findall(r"lake (\w+) ", bodies.pop()))
    # what the graph links, at most the truth's tables: this person's one WeCom event (a deleted relationship)
    # carries only an external_userid that no other record has, so no identifier of theirs reaches it
    assert listed <= set(third.records) and len(listed) >= 5
    assert len(ledger(flow.paths)) == 2  # a dry run writes nothing
