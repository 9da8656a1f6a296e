"""Staging incremental by load (issue 20; macros/incremental_by_load.sql) equals a full rebuild.

One small brand (the session demo's landing files) over three nights, loaded ten days apart:

1. every export up to August 2026 is loaded and staged (the first build is a full one);
2. September and October arrive (mini-program orders in flight at August's end come again in
   September's file, final: a newer export of a staged key in a later night), and the August
   Tmall report is delivered again corrected (one completed order closed and refunded in full).
   The POS, coupon and WeCom event files of that night are loaded by a machine whose clock ran
   three weeks behind: their load time is before night 1's, and they are staged all the same
   (the nights stage the loads they have not staged, whatever their time);
3. the raw gate takes two files back out of the lake: a month of POS lines (their receipts
   vanish) and September's mini-program orders (the in-flight orders go back to their August
   version, September's own orders vanish); and the first coupon log is loaded again
   (`--reload`: the same load id, the hash of its bytes, with a new load time).

Each later night's dbt run is incremental (its compiled SQL reads the loads staged before), and
after the third every model staged by load equals a `--full-refresh` build of the same lake (EXCEPT ALL
both ways), with the corrected refund in it.

The three nights are the `incremental` marker group (`make test-incremental`, about 2.5 minutes on
the shared machine, above the default suite's budget); the fingerprint tests run in `make test`.

Also the orchestration's rule for carrying them (orchestration/publish.py): a model's table is
carried to the next build only while its fingerprint (SQL, macros, seeds, upstream) is unchanged.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil

import duckdb
import pytest

from ingest.contract import load_contracts
from ingest.engine import file_sha256, load_tables
from ingest.lake import reject
from ingest.settings import paths_from_env
from orchestration import publish
from orchestration.dbt_assets import DBT_PROJECT_DIR, load_manifest
from tests.dbt_runner import TEST_KEY, dbt

NIGHTS = [dt.datetime(2026, 11, 1, 2, 30), dt.datetime(2026, 11, 11, 2, 30), dt.datetime(2026, 11, 21, 2, 30)]
# night 2's files of these tables are stamped by a loading machine whose clock ran behind
CLOCK_BEHIND = {"pos_sales", "coupons", "wecom_contact_events"}
BEHIND = dt.datetime(2026, 10, 11, 2, 30)
EVENT_FOLDERS = ("tmall/orders", "tmall/order_items", "jd/orders", "douyin/orders", "mini_program/orders",
                 "mini_program/order_items", "pos/sales", "coupons", "outbound", "wecom/events", "wecom/group_stats")
LATER_MONTHS = re.compile(r"_2026(09|10)\d*\.\w+$")
TMALL_AUGUST = "tmall/orders/ExportOrderList_202608.csv"


def staged_models() -> list[str]:
    return sorted(uid.rsplit(".", 1)[1] for uid in publish.staged_by_load(load_manifest()).values())


def is_later(label: str) -> bool:
    return label.startswith(EVENT_FOLDERS) and bool(LATER_MONTHS.search(label))


def correct_tmall_report(path) -> str:
    """Close and refund in full the first completed, unrefunded order of a Tmall report (GB18030
    CSV, as exported); returns its order id as the warehouse keeps it (without ="...")."""
    text = path.read_bytes().decode("gb18030")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    status, refund, paid = header.index("订单状态"), header.index("退款金额"), header.index("买家实付金额")
    for row in rows[1:]:
        if row[status] == "交易成功" and row[refund] in ("", "0", "0.00", "无退款申请"):
            row[status], row[refund] = "交易关闭", row[paid]
            out = io.StringIO()
            csv.writer(out, lineterminator="\r\n" if "\r\n" in text else "\n").writerows(rows)
            path.write_bytes(out.getvalue().encode("gb18030"))
            return row[0].strip('="')
    raise AssertionError(f"{path}: no completed order without a refund to correct")


def load(paths, night: int, tables=None, loaded_at=None) -> None:
    contracts = [c for name, c in load_contracts().items() if tables is None or name in tables]
    reports = load_tables(contracts, paths, TEST_KEY, workers=1, loaded_at=loaded_at or NIGHTS[night])
    rejected = [f.message for r in reports.values() for f in r.with_status("rejected")]
    assert not rejected, rejected


def build(paths, *args: str) -> dict:
    dbt(paths, "run", "--select", "tag:incremental_by_load", *args, "--target-path", str(paths.home / "target"))
    return json.loads((paths.home / "target" / "run_results.json").read_text())


def differences(first, second, models: list[str]) -> dict[str, int]:
    """Rows of each model in one file and not the other, every column compared but ``_build_id`` (the
    build that wrote the row: the change log of macros/incremental_by_change.sql)."""
    found = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{first}' as a (read_only)")
        con.execute(f"attach '{second}' as b (read_only)")
        for model in models:
            left, right = (f"(select * exclude (_build_id) from {x}.staging.{model})"
                           if _has_build_id(con, x, model) else f"{x}.staging.{model}" for x in ("a", "b"))
            found[model] = con.execute(
                f"select (select count(*) from (select * from {left} except all select * from {right})) "
                f"+ (select count(*) from (select * from {right} except all select * from {left}))").fetchall()[0][0]
    return found


def _has_build_id(con, catalog: str, model: str) -> bool:
    return bool(con.execute("select 1 from information_schema.columns where table_catalog = ? and table_schema = "
                            "'staging' and table_name = ? and column_name = '_build_id'", [catalog, model]).fetchall())


@pytest.fixture(scope="module")
def three_nights(demo_home, tmp_path_factory):
    """The home after the three nights, the full rebuild's file, and what the nights did."""
    home = tmp_path_factory.mktemp("incremental")
    paths = paths_from_env({"QUANYU_HOME": str(home)}).ensure()
    held_back = []
    for source in sorted(p for p in demo_home.landing.rglob("*") if p.is_file()):
        label = source.relative_to(demo_home.landing).as_posix()
        (held_back if is_later(label) else [None]).append(label)
        if not is_later(label):
            (paths.landing / label).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, paths.landing / label)
    assert any(label.startswith("mini_program/orders/") for label in held_back), held_back

    load(paths, 0)
    dbt(paths, "seed")
    nights = [build(paths)]

    for label in held_back:
        (paths.landing / label).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(demo_home.landing / label, paths.landing / label)
    corrected = correct_tmall_report(paths.landing / TMALL_AUGUST)
    load(paths, 1, tables=CLOCK_BEHIND, loaded_at=BEHIND)
    load(paths, 1)
    nights.append(build(paths))
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        after_correction = con.execute("select order_status, refund_amount, paid_amount from staging.stg_tmall__orders "
                                       "where order_id = ?", [corrected]).fetchall()

    gone = {"pos_sales": "pos/sales/pos_sales_hq_202605.csv", "mp_orders": "mini_program/orders/mp_orders_202609.jsonl"}
    for table, label in gone.items():
        reject(paths, table, file_sha256(paths.landing / label), {"why": "test: the raw gate took it out"})
    reloaded = sorted((paths.landing / "coupons").glob("*.csv"))[0]
    load_tables([load_contracts()["coupons"]], paths, TEST_KEY, reload=True, files={"coupons": [reloaded]},
                workers=1, loaded_at=NIGHTS[2])
    nights.append(build(paths))

    rebuilt = home / "full-refresh.duckdb"
    shutil.copyfile(paths.warehouse, rebuilt)
    dbt(paths, "run", "--select", "tag:incremental_by_load", "--full-refresh",
        "--target-path", str(home / "target-full"), env={"QUANYU_DBT_BUILD_FILE": str(rebuilt)})
    return {"paths": paths, "rebuilt": rebuilt, "nights": nights, "corrected": corrected,
            "after_correction": after_correction, "gone": gone,
            "reloaded": f"coupons/{file_sha256(reloaded)[:16]}"}


def raw_table(uid: str) -> str:
    """The raw table a model staged by load deduplicates (its one source)."""
    sources = [parent for parent in load_manifest()["nodes"][uid]["depends_on"]["nodes"]
               if parent.startswith("source.")]
    assert len(sources) == 1, (uid, sources)
    return sources[0].rsplit(".", 1)[1]


@pytest.mark.incremental
def test_every_model_staged_by_load_equals_a_full_rebuild_after_three_nights(three_nights):
    models = staged_models()
    assert len(models) >= 10, models
    assert differences(three_nights["paths"].warehouse, three_nights["rebuilt"], models) == dict.fromkeys(models, 0)


@pytest.mark.incremental
def test_the_later_nights_stage_only_what_the_watermark_picks(three_nights):
    """The first night is a full build; the next two compile the incremental branch of every model.
    After the third, each model's record of the loads it staged is the lake's loads, row counts and
    load times included (the taken-out files forgotten, the reloaded one at its new time): a night
    without new files stages no key again."""
    for number, night in enumerate(three_nights["nights"]):
        results = {r["unique_id"].rsplit(".", 1)[1]: r for r in night["results"]
                   if r["unique_id"].startswith("model.")}
        assert set(results) == set(staged_models())
        for model, result in results.items():
            assert result["status"] == "success", (number, model, result["message"])
            incremental = "meta.staged_loads" in result["compiled_code"]
            assert incremental == (number > 0), (number, model)
    paths = three_nights["paths"]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        for relation, uid in publish.staged_by_load(load_manifest()).items():
            glob = paths.lake / "raw" / raw_table(uid) / "*.parquet"
            lake = con.execute(f"select _load_id, count(*), max(_loaded_at) from read_parquet('{glob}', "
                               f"union_by_name = true) group by _load_id order by 1").fetchall()
            recorded = con.execute("select load_id, row_count, loaded_at from meta.staged_loads where model = ? "
                                   "order by 1", [".".join(relation)]).fetchall()
            assert recorded == lake and lake, relation
        assert con.execute("select loaded_at from meta.staged_loads where load_id = ?",
                           [three_nights["reloaded"]]).fetchall() == [(NIGHTS[2],)]


@pytest.mark.incremental
def test_loads_stamped_by_a_clock_that_ran_behind_are_staged(three_nights):
    """Night 2's files of CLOCK_BEHIND carry a load time before night 1's (the equality test above
    shows they were staged)."""
    paths = three_nights["paths"]
    with duckdb.connect() as con:
        for table in sorted(CLOCK_BEHIND):
            glob = paths.lake / "raw" / table / "*.parquet"
            first, behind = con.execute(
                f"select count(*) filter (where _loaded_at = ?), count(*) filter (where _loaded_at = ?) "
                f"from read_parquet('{glob}', union_by_name = true)", [NIGHTS[0], BEHIND]).fetchall()[0]
            assert first > 0 and behind > 0, (table, first, behind)


@pytest.mark.incremental
def test_a_corrected_report_delivered_a_night_later_wins_and_its_removal_restores_the_first(three_nights):
    paths = three_nights["paths"]
    status, refund, paid = three_nights["after_correction"][0]
    assert (status, refund) == ("closed", paid) and paid > 0
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        # the corrected file is still in the lake after night 3: it stays the winner
        assert con.execute("select order_status from staging.stg_tmall__orders where order_id = ?",
                           [three_nights["corrected"]]).fetchall() == [("closed",)]
        # the files taken out: no staged row comes from them any more
        for table, label in three_nights["gone"].items():
            model = {"pos_sales": "stg_pos__sales", "mp_orders": "stg_mini_program__orders"}[table]
            assert con.execute(f"select count(*) from staging.{model} where _source_file = ?",
                               [label]).fetchall()[0][0] == 0, label


def test_only_models_whose_fingerprint_is_unchanged_are_carried(tmp_path):
    """Carried when the recorded fingerprint is the code's; a changed seed, macro or SQL (another
    fingerprint) or a warehouse without fingerprints carries none of them: dbt stages those in full.
    One that the next build also reads as it was (bridge_record_member, for the survivor rule of
    merges) is then read in place instead of copied: dbt builds it in full over the view."""
    manifest = load_manifest()
    fingerprints = publish.model_fingerprints(manifest)
    first, *rest = sorted(fingerprints)
    database = tmp_path / "warehouse.duckdb"
    assert publish.unchanged_staged_by_load(fingerprints, publish.recorded_fingerprints(database)) == frozenset()
    publish.write_fingerprints(database, {**fingerprints, first: "another"})
    unchanged = publish.unchanged_staged_by_load(fingerprints, publish.recorded_fingerprints(database))
    assert unchanged == frozenset(rest)
    carried = publish.carried_over_relations(manifest, unchanged)
    assert first == ("identity", "bridge_record_member") and carried[first] == "read"
    assert all(carried[r] == "copy" for r in rest)
    second = rest[0]  # a model no build reads in place: neither copied nor read
    publish.write_fingerprints(database, {**fingerprints, second: "another"})
    unchanged = publish.unchanged_staged_by_load(fingerprints, publish.recorded_fingerprints(database))
    assert second not in publish.carried_over_relations(manifest, unchanged)
    assert ("identity", "identity_id_changes") in carried  # the merge/split log is carried whatever changed


def test_a_seed_change_changes_the_fingerprint_of_the_models_that_read_it():
    manifest = json.loads(json.dumps(load_manifest()))
    before = publish.model_fingerprints(manifest)
    manifest["nodes"]["seed.quanyu.order_status_map"]["checksum"]["checksum"] = "changed"
    after = publish.model_fingerprints(manifest)
    changed = {relation[1] for relation, value in after.items() if before[relation] != value}
    assert {"stg_tmall__orders", "stg_jd__orders", "stg_pos__sales"} <= changed
    assert "stg_wecom__guide_daily_stats" not in changed


def test_the_fingerprint_reads_the_macros_a_model_calls_from_its_code_not_from_the_last_run():
    """A manifest written after an incremental run lists the macros that run's branch called
    (records_to_restage) and a parse does not: the same code must give the same fingerprint (a
    full refresh once read another build's manifest and recorded another fingerprint for the
    bridge). A macro called only in the incremental branch still counts when its SQL changes."""
    manifest = json.loads(json.dumps(load_manifest()))
    bridge = ("identity", "bridge_record_member")
    before = publish.model_fingerprints(manifest)
    node = manifest["nodes"]["model.quanyu.bridge_record_member"]
    called = node["depends_on"]["macros"]
    node["depends_on"]["macros"] = sorted(set(called) ^ {"macro.quanyu.records_to_restage"})
    assert publish.model_fingerprints(manifest)[bridge] == before[bridge]
    manifest["macros"]["macro.quanyu.records_to_restage"]["macro_sql"] += " "
    assert publish.model_fingerprints(manifest)[bridge] != before[bridge]


def test_a_nightly_carries_the_unchanged_tables_and_a_full_refresh_none(home):
    """prepare_build on a served file holding every model staged by load: the nightly copies those
    whose recorded fingerprint is the code's and records the code's; with the full-refresh run
    tag's flag it copies none."""
    manifest = load_manifest()
    fingerprints = publish.model_fingerprints(manifest)
    changed = sorted(fingerprints)[0]
    with duckdb.connect(str(home.warehouse)) as con:
        for schema, table in fingerprints:
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create table {schema}.{table} as select 'staged' as _load_id")
    publish.write_fingerprints(home.warehouse, {**fingerprints, changed: "the code of an earlier build"})
    logged: list[str] = []

    def staged_tables(build) -> set[tuple[str, str]]:  # the carried models (staging by load, identity by
        # node, record or source row, the order chain by change)
        with duckdb.connect(str(build.file), read_only=True) as con:
            return set(con.execute("select table_schema, table_name from information_schema.tables "
                                   "where table_schema in ('staging', 'identity', 'intermediate', 'marts') "
                                   "and table_type = 'BASE TABLE'").fetchall())

    nightly = publish.prepare_build(home, "nightly", manifest, DBT_PROJECT_DIR / "profiles.yml", log=logged.append,
                                    whole_project=True)
    assert staged_tables(nightly) == set(fingerprints) - {changed}
    assert publish.recorded_fingerprints(nightly.file) == fingerprints
    assert any(f"building in full (code, macros or seeds changed since the last build): {changed[0]}.{changed[1]}"
               in line for line in logged), logged
    refresh = publish.prepare_build(home, "refresh", manifest, DBT_PROJECT_DIR / "profiles.yml", log=logged.append,
                                    whole_project=True, full_refresh=True)
    assert staged_tables(refresh) == set()
