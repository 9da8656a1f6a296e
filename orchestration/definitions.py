"""Everything Dagster loads, assembled in one place (``dagster dev -w workspace.yaml``).

Paths come from ``QUANYU_*`` variables (see ingest/settings.py); they are exported here so
that the dbt subprocess reads and writes the same lake and warehouse.
"""
from __future__ import annotations

import os

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job

from ingest.contract import load_contracts
from ingest.settings import paths_from_env
from orchestration.dbt_assets import build_dbt_assets, dbt_resource
from orchestration.ingest_assets import build_raw_asset


def export_paths() -> None:
    """Make the resolved folders visible to subprocesses (dbt) as absolute paths."""
    paths = paths_from_env().ensure()
    os.environ["QUANYU_HOME"] = str(paths.home)
    os.environ["QUANYU_LANDING"] = str(paths.landing)
    os.environ["QUANYU_LAKE"] = str(paths.lake)
    os.environ["QUANYU_WAREHOUSE"] = str(paths.warehouse)


export_paths()

raw_assets = [build_raw_asset(c) for c in load_contracts().values()]
quanyu_dbt = build_dbt_assets()

build_all = define_asset_job(
    "build_all",
    selection=AssetSelection.all(),
    description="Load every channel's new landing files, then build and test the dbt project.",
)

nightly = ScheduleDefinition(
    name="nightly_build",
    job=build_all,
    cron_schedule="30 2 * * *",
    execution_timezone="Asia/Shanghai",
    description="Every night at 02:30 Beijing time, after the channels' nightly exports land.",
)

defs = Definitions(
    assets=[*raw_assets, quanyu_dbt],
    jobs=[build_all],
    schedules=[nightly],
    resources={"dbt": dbt_resource()},
)
