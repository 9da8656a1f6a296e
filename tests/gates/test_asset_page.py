"""What a raw asset's page in the Dagster UI shows after a run, read back through the instance
the way the UI reads it: check evaluations, materialised and failed partitions (landing days),
and Data Docs that open offline from the check metadata.

The landing folder has Tmall exports in four date folders: two good, one with duplicated
orders (the gx_keys gate rejects it) and one re-saved as UTF-16 (the contract cannot read it).
"""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

from ingest.lake import LEDGER, table_glob
from ingest.settings import business_today
from orchestration.partitions import daily_partitions, range_tags
from tests.gates import corrupt
from tests.gates.conftest import step_failures

TMALL = AssetKey(["raw", "tmall_orders"])
BEIJING = ZoneInfo("Asia/Shanghai")


def _export(demo_home, month: str) -> Path:
    return demo_home.landing / "tmall" / "orders" / f"ExportOrderList_{month}.csv"


def _place(paths, day: dt.date, name: str) -> Path:
    target = paths.landing / "tmall" / "orders" / day.isoformat() / name
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def partition_status(instance, key: AssetKey) -> tuple[set[str], set[str]]:
    """(materialised, failed) partition keys, from the asset status cache the UI reads."""
    value = get_and_update_asset_status_cache_value(instance, key, daily_partitions)
    if value is None:
        return set(), set()
    return (set(value.deserialize_materialized_partition_subsets(daily_partitions).get_partition_keys()),
            set(value.deserialize_failed_partition_subsets(daily_partitions).get_partition_keys()))


@pytest.fixture(scope="module")
def rejected_run(demo_home, tmp_path_factory):
    """One ``ingest`` run over four landing days, two of them holding a bad file."""
    from ingest.settings import paths_from_env
    from orchestration.definitions import defs
    from orchestration.resources import environment

    paths = paths_from_env({"QUANYU_HOME": str(tmp_path_factory.mktemp("asset_page") / "home")}).ensure()
    today = business_today()
    days = [today - dt.timedelta(days=n) for n in (4, 3, 2, 1)]
    shutil.copyfile(_export(demo_home, "202608"), _place(paths, days[0], "ExportOrderList_202608.csv"))
    corrupt.duplicate_orders(_export(demo_home, "202609"), _place(paths, days[1], "ExportOrderList_202609.csv"))
    shutil.copyfile(_export(demo_home, "202610"), _place(paths, days[2], "ExportOrderList_202610.csv"))
    corrupt.utf16_without_bom(_export(demo_home, "202607"), _place(paths, days[3], "ExportOrderList_202607.csv"))
    instance = DagsterInstance.ephemeral()
    with environment(paths.as_env()):
        result = defs.resolve_job_def("ingest").execute_in_process(
            instance=instance, asset_selection=[TMALL], tags=range_tags(days[0], days[3]), raise_on_error=False)
    return paths, instance, result, days


def test_a_rejected_file_shows_as_failed_checks_naming_it(rejected_run):
    paths, instance, result, days = rejected_run
    assert not result.success
    assert "ExportOrderList_202609.csv: check gx_keys failed" in step_failures(result)["raw_tmall_orders"]
    evaluations = {name: instance.get_latest_asset_check_evaluation_record(AssetCheckKey(TMALL, name))
                   for name in ("gx_keys", "contract", "gx_schema", "gx_volume", "reconciles_with_landing_files")}
    status = {name: record.event.dagster_event.event_specific_data.passed for name, record in evaluations.items()}
    assert status == {"gx_keys": False, "contract": False, "gx_schema": True, "gx_volume": True,
                      "reconciles_with_landing_files": True}
    keys = evaluations["gx_keys"].event.dagster_event.event_specific_data
    assert keys.blocking and f"tmall/orders/{days[1]}/ExportOrderList_202609.csv" in keys.description
    contract = evaluations["contract"].event.dagster_event.event_specific_data
    assert f"tmall/orders/{days[3]}/ExportOrderList_202607.csv" in contract.description


def test_the_rejected_files_days_fail_and_the_good_days_are_materialised(rejected_run):
    paths, instance, result, days = rejected_run
    materialised, failed = partition_status(instance, TMALL)
    assert materialised == {days[0].isoformat(), days[2].isoformat()}
    assert failed == {days[1].isoformat(), days[3].isoformat()}
    # no materialisation of the run covers a refused day (the run yields no output over its range)
    recorded = [m.partition for m in result.asset_materializations_for_node("raw_tmall_orders")]
    assert sorted(recorded) == [days[0].isoformat(), days[2].isoformat()]


def test_check_metadata_links_the_validation_page_and_data_docs_open_offline(rejected_run):
    from expectations.data_docs import offline_problems
    from expectations.gx_runner import data_docs_index

    paths, instance, result, days = rejected_run
    record = instance.get_latest_asset_check_evaluation_record(AssetCheckKey(TMALL, "gx_keys"))
    page = Path(record.event.dagster_event.event_specific_data.metadata["data_docs"].value)
    assert page.exists() and page.suffix == ".html"
    assert "validations/raw/tmall_orders/rows" in page.as_posix()  # the rows suite judged the keys
    site = data_docs_index(paths.home).parent
    pages = list(site.rglob("*.html"))
    assert data_docs_index(paths.home) in pages and len(pages) >= 4  # index, rows, files, table
    text = page.read_text(encoding="utf-8")
    assert "key_unique_within_file" in text or "order_id" in text
    assert offline_problems(site) == []


def test_the_offline_check_finds_remote_and_missing_assets(tmp_path):
    """The checker itself: a CDN script, a CSS font from the web and a missing local file are found."""
    from expectations.data_docs import make_offline, offline_problems

    site = tmp_path / "site"
    (site / "static" / "images").mkdir(parents=True)
    (site / "static" / "images" / "logo-long.png").write_bytes(b"png")
    page = site / "validations" / "a" / "page.html"
    page.parent.mkdir(parents=True)
    page.write_text('<html><head><script src="https://cdn.example/x.js"></script>\n'
                    '<style>@font-face { src: url("https://fonts.example/f.woff2"); }</style>'
                    '<link rel="icon" href="./static/images/favicon.ico"></head>'
                    '<body><img src="https://s3.example/logo.png?id=1"><a href="https://docs.example">docs</a>'
                    '</body></html>')
    assert offline_problems(site) == [
        "validations/a/page.html: remote asset https://cdn.example/x.js",
        "validations/a/page.html: remote asset https://fonts.example/f.woff2",
        "validations/a/page.html: missing local asset ./static/images/favicon.ico",
        "validations/a/page.html: remote asset https://s3.example/logo.png?id=1"]
    make_offline(site)
    assert offline_problems(site) == ["validations/a/page.html: missing local asset ../../static/images/favicon.ico"]
    assert 'href="https://docs.example"' in page.read_text(encoding="utf-8")  # links stay, assets go


def _ledger_days(paths, table: str) -> set[str]:
    """Landing days of the files in the load ledger, from the date folder or the modification time."""
    import duckdb

    with duckdb.connect() as con:
        labels = [r[0] for r in con.execute(
            f"select source_file from read_parquet('{table_glob(paths, LEDGER, table)}') "
            f"where source_file is not null").fetchall()]
    days = set()
    for label in labels:
        folder = Path(label).parent.name
        try:
            days.add(dt.date.fromisoformat(folder).isoformat())
        except ValueError:
            stamp = (paths.landing / label).stat().st_mtime
            days.add(dt.datetime.fromtimestamp(stamp, BEIJING).date().isoformat())
    return days


def test_a_run_without_partitions_materialises_each_loaded_landing_day(demo_home, tmp_path, monkeypatch):
    """Loading every new file (no partition range) records each landing day it loaded, and only those."""
    from ingest.settings import paths_from_env
    from orchestration.definitions import defs
    from tests.gates.conftest import use_home

    paths = paths_from_env({"QUANYU_HOME": str(tmp_path / "home")}).ensure()
    use_home(monkeypatch, paths)
    today = business_today()
    for n, month in ((9, "202608"), (5, "202609")):
        shutil.copyfile(_export(demo_home, month), _place(paths, today - dt.timedelta(days=n),
                                                          f"ExportOrderList_{month}.csv"))
    instance = DagsterInstance.ephemeral()
    run = defs.resolve_job_def("ingest").execute_in_process(instance=instance, asset_selection=[TMALL],
                                                            raise_on_error=False)
    assert run.success
    materialised, failed = partition_status(instance, TMALL)
    assert materialised == _ledger_days(paths, "tmall_orders") == {
        (today - dt.timedelta(days=9)).isoformat(), (today - dt.timedelta(days=5)).isoformat()}
    assert failed == set()


def test_after_the_demo_build_each_raw_asset_has_its_landing_days_materialised(baseline, demo_home):
    """The session's build_all: per raw asset, the partitions its run materialised are the landing
    days of the files in its ledger (all demo exports land on the day they are generated)."""
    from ingest.contract import load_contracts
    from tests.orchestration.baseline import session_build

    result = session_build(demo_home).result
    found = {}
    for table in load_contracts():
        materialised = {m.partition for m in result.asset_materializations_for_node(f"raw_{table}")}
        found[table] = (materialised, _ledger_days(baseline, table))
    assert {t: m for t, (m, _) in found.items()} == {t: d for t, (_, d) in found.items()}
