"""Everything Dagster loads, assembled in one place (``dagster dev -w workspace.yaml``).

Paths come from ``QUANYU_*`` variables (see ingest/settings.py); they are exported here so
that the dbt subprocess reads and writes the same lake and warehouse.

Jobs:
* ``build_all``: ingest (the run's landing days) -> raw gates -> dbt build into a private copy
  of the warehouse -> mart gates -> atomic publication. The nightly schedule runs it.
* ``ingest``: the raw assets alone, partitioned by landing day: what the landing sensor runs
  per channel, and what a backfill of a range of days runs.
"""
from __future__ import annotations

import datetime as dt
import os

from dagster import (
    AssetSelection,
    Definitions,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from ingest.contract import load_contracts
from ingest.settings import paths_from_env
from orchestration.dbt_assets import build_dbt_assets, dbt_resource
from orchestration.ingest_assets import build_raw_asset
from orchestration.partitions import beijing_today, pending_range, range_tags
from orchestration.sensors import build_landing_sensor
from orchestration.warehouse_assets import build_mart_gates, build_published_asset

LAKE_WRITER_TAG = {"quanyu/lake": "writer"}  # limit runs with this tag to 1 (see docs/serving.md)


def export_paths() -> None:
    """Make the resolved folders visible to subprocesses (dbt) as absolute paths."""
    paths = paths_from_env().ensure()
    os.environ["QUANYU_HOME"] = str(paths.home)
    os.environ["QUANYU_LANDING"] = str(paths.landing)
    os.environ["QUANYU_LAKE"] = str(paths.lake)
    os.environ["QUANYU_WAREHOUSE"] = str(paths.warehouse)


export_paths()

contracts = list(load_contracts().values())
raw_assets = [build_raw_asset(c) for c in contracts]
quanyu_dbt = build_dbt_assets()
mart_gates = build_mart_gates()
published = build_published_asset(quanyu_dbt)

build_all = define_asset_job(
    "build_all",
    selection=AssetSelection.all(),
    tags=LAKE_WRITER_TAG,
    description="Load and gate new landing files, build and test the dbt project into a copy of the "
                "warehouse, gate the marts, and publish the copy if every blocking check passed.",
)

ingest = define_asset_job(
    "ingest",
    selection=AssetSelection.groups("raw"),
    tags=LAKE_WRITER_TAG,
    description="Load and gate the landing files of a range of days (sensor runs, backfills).",
)


def build_all_tags(today: dt.date | None = None) -> dict[str, str]:
    """Tags of a build_all run covering every landing day with an unloaded file, up to today."""
    today = today or beijing_today()
    first, last = pending_range(contracts, paths_from_env(), today)
    return {**range_tags(first, last), "quanyu/trigger": "nightly_build"}


@schedule(name="nightly_build", job=build_all, cron_schedule="30 2 * * *", execution_timezone="Asia/Shanghai",
          description="Every night at 02:30 Beijing time, after the channels' nightly exports land: load "
                      "what is new, build, gate and publish.")
def nightly(context: ScheduleEvaluationContext) -> RunRequest:
    today = beijing_today(context.scheduled_execution_time)
    return RunRequest(tags=build_all_tags(today))


landing_files = build_landing_sensor(contracts, ingest, build_all.name)

defs = Definitions(
    assets=[*raw_assets, quanyu_dbt, published],
    asset_checks=[mart_gates],
    jobs=[build_all, ingest],
    schedules=[nightly],
    sensors=[landing_files],
    resources={"dbt": dbt_resource()},
)
