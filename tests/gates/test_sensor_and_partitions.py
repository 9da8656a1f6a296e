"""Ingest runs by landing day: the landing sensor materialises a channel when its files land,
and a range of days can be (re)loaded as a backfill."""
from __future__ import annotations

import datetime as dt
import os
import shutil

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, SensorResult, SkipReason, build_sensor_context

from ingest.lake import LEDGER, RAW, table_dir, table_glob
from ingest.settings import business_today
from orchestration.partitions import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    RELOAD_TAG,
    START_DATE,
    landing_day,
    range_tags,
)
from tests.gates import corrupt
from tests.gates.conftest import sha256, use_home

TMALL = AssetKey(["raw", "tmall_orders"])


def _ledger(paths, table: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(f"select source_file, loaded_at from read_parquet('{table_glob(paths, LEDGER, table)}') "
                           f"where source_file is not null order by 1").fetchall()


def test_landing_day_is_the_date_folder_else_the_modification_day(tmp_path):
    today = dt.date(2026, 11, 23)
    for folder, expected in [("2026-11-02", dt.date(2026, 11, 2)), ("20261103", dt.date(2026, 11, 3)),
                             ("dt=2026-11-04", dt.date(2026, 11, 4)), ("2019-01-01", START_DATE),
                             ("2099-01-01", today)]:
        path = tmp_path / "tmall" / "orders" / folder / "x.csv"
        path.parent.mkdir(parents=True)
        path.write_text("x")
        assert landing_day(path, tmp_path, today) == expected
    plain = tmp_path / "jd" / "orders" / "jd_order_export_20250101.csv"  # a date in the name is the data period
    plain.parent.mkdir(parents=True)
    plain.write_text("x")
    stamp = dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.UTC).timestamp()  # 07:30 on the 21st in Beijing
    os.utime(plain, (stamp, stamp))
    assert landing_day(plain, tmp_path, today) == dt.date(2026, 11, 21)


def test_the_sensor_requests_one_run_per_channel_with_new_files(copied_home, definitions, monkeypatch):
    from orchestration.definitions import landing_files, resources

    paths = copied_home
    monkeypatch.setenv("QUANYU_LANDING_SETTLE_SECONDS", "0")
    instance = DagsterInstance.ephemeral()
    idle = landing_files(build_sensor_context(instance=instance, definitions=definitions, resources=resources))
    assert isinstance(idle, SkipReason)

    corrupt.trimmed_copy(paths.landing / "tmall/orders/ExportOrderList_202610.csv",
                         paths.landing / "tmall/orders/ExportOrderList_202611.csv")
    jd_new = paths.landing / "jd/orders/jd_order_export_202611.csv"
    shutil.copyfile(paths.landing / "jd/orders/jd_order_export_202610.csv", jd_new)
    with jd_new.open("ab") as handle:
        handle.write(b"\r\n")  # same rows, different bytes

    result = landing_files(build_sensor_context(instance=instance, definitions=definitions, resources=resources))
    assert isinstance(result, SensorResult)
    requests = {r.tags["quanyu/channel"]: r for r in result.run_requests}
    assert sorted(requests) == ["jd", "tmall"]
    tmall = requests["tmall"]
    assert tmall.asset_selection == [TMALL]
    assert tmall.tags[RANGE_START_TAG] == tmall.tags[RANGE_END_TAG] == business_today().isoformat()
    again = landing_files(build_sensor_context(instance=instance, definitions=definitions, resources=resources))
    assert {r.run_key for r in again.run_requests} == {r.run_key for r in result.run_requests}  # deduplicated

    before = sha256(paths.warehouse)
    run = definitions.resolve_job_def("ingest").execute_in_process(
        instance=instance, asset_selection=tmall.asset_selection, tags=tmall.tags, raise_on_error=False)
    assert run.success
    assert "tmall/orders/ExportOrderList_202611.csv" in {s for s, _ in _ledger(paths, "tmall_orders")}
    assert sha256(paths.warehouse) == before  # ingest alone never touches the served warehouse
    after = landing_files(build_sensor_context(instance=instance, definitions=definitions, resources=resources))
    assert [r.tags["quanyu/channel"] for r in after.run_requests] == ["jd"]


def _files(result) -> dict[str, int]:
    assert result.success
    [materialization] = result.asset_materializations_for_node("raw_tmall_orders")
    return {k: materialization.metadata[k].value for k in ("files_loaded", "files_skipped")}


@pytest.fixture
def dated_landing(baseline, tmp_path, monkeypatch):
    """An empty installation whose Tmall exports landed in three date folders."""
    from ingest.settings import paths_from_env

    paths = paths_from_env({"QUANYU_HOME": str(tmp_path / "home")}).ensure()
    use_home(monkeypatch, paths)
    today = business_today()
    days = [today - dt.timedelta(days=n) for n in (3, 2, 1)]
    for day, month in zip(days, ("202608", "202609", "202610")):
        target = paths.landing / "tmall" / "orders" / day.isoformat() / f"ExportOrderList_{month}.csv"
        target.parent.mkdir(parents=True)
        shutil.copyfile(baseline.landing / "tmall" / "orders" / f"ExportOrderList_{month}.csv", target)
    return paths, days


def test_a_run_for_a_range_of_days_loads_only_those_days_files_and_a_backfill_reloads(dated_landing, definitions):
    paths, (first, second, third) = dated_landing
    instance = DagsterInstance.ephemeral()
    job = definitions.resolve_job_def("ingest")
    run = job.execute_in_process(instance=instance, asset_selection=[TMALL], tags=range_tags(first, second),
                                 raise_on_error=False)
    assert run.success
    loaded = dict(_ledger(paths, "tmall_orders"))
    assert sorted(loaded) == [f"tmall/orders/{first}/ExportOrderList_202608.csv",
                              f"tmall/orders/{second}/ExportOrderList_202609.csv"]
    assert instance.get_materialized_partitions(TMALL) == {first.isoformat(), second.isoformat()}

    again = job.execute_in_process(instance=instance, asset_selection=[TMALL], tags=range_tags(first, first),
                                   raise_on_error=False)
    assert _files(again) == {"files_loaded": 0, "files_skipped": 1}  # same content: nothing to do
    backfill = job.execute_in_process(instance=instance, asset_selection=[TMALL],
                                      tags={**range_tags(first, first), RELOAD_TAG: "true"}, raise_on_error=False)
    assert _files(backfill) == {"files_loaded": 1, "files_skipped": 0}  # parsed again (after a contract fix)
    assert sorted(dict(_ledger(paths, "tmall_orders"))) == sorted(loaded)  # still one load per file
    assert {p.name for p in table_dir(paths, RAW, "tmall_orders").glob("*.parquet")} - {"_schema.parquet"} == {
        p.name for p in table_dir(paths, LEDGER, "tmall_orders").glob("*.parquet")} - {"_schema.parquet"}

    rest = job.execute_in_process(instance=instance, asset_selection=[TMALL], tags=range_tags(third, third),
                                  raise_on_error=False)
    assert rest.success and len(_ledger(paths, "tmall_orders")) == 3


def test_raw_assets_retry_transient_errors(definitions):
    """Rejections are final (Failure(allow_retries=False), see the corrupted-export tests); other errors retry."""
    assets = definitions.resolve_assets_def(TMALL)
    assert assets.op.retry_policy is not None and assets.op.retry_policy.max_retries >= 1
