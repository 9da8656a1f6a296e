"""Everything Dagster loads, assembled in one place (``dagster dev -w workspace.yaml``).

Paths come from ``QUANYU_*`` variables (ingest/settings.py) through the ``quanyu`` resource
(orchestration/resources.py); the dbt step hands them to its subprocess (``Paths.as_env``).

Jobs:
* ``build_all``: ingest (the run's landing days) -> raw gates -> dbt build into a private copy
  of the warehouse -> mart gates -> atomic publication. The nightly schedule runs it.
* ``ingest``: the raw assets alone, partitioned by landing day: what the landing sensor runs
  per channel, and what a backfill of a range of days runs.

Every run, whoever launches it (the UI, a backfill, the schedule, the sensor), executes its
steps one after the other in its run worker (``in_process_executor``, the default executor of
these definitions, so the UI's ad-hoc asset jobs and backfills use it too). Each asset stays a
step of its own, with its materialisation and check results. The multiprocess executor
started a process per step, each importing Dagster, the definitions and Great Expectations,
opening the GX context again and, under ``dagster dev``, parsing the dbt project again:
``build_all`` launched from the UI took 3.3x the CLI's time (613 s against 187 s, 24 steps,
3,000 members; the issue measured 7.2x). In process it takes 1.18x and 1.27x in two runs (181 s
and 195 s against 154 s; ``python -m bench.ui_ratio``, docs/serving.md, "The Dagster UI and the
executor").

Writers of the lake and the warehouse are in one pool, ``WRITER_POOL``, which the instance
holds to one run at a time (orchestration/resources.py, docs/serving.md, "Serialising writers").
"""
from __future__ import annotations

import datetime as dt
import importlib.machinery
import sys

from dagster import (
    AssetSelection,
    Definitions,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    in_process_executor,
    schedule,
)

from ingest.contract import load_contracts
from ingest.settings import BUSINESS_TIMEZONE, Paths, business_today, paths_from_env
from orchestration.audience_export import build_audience_exports
from orchestration.dbt_assets import build_dbt_assets, dbt_resource, load_manifest, prepare_if_dev
from orchestration.ingest_assets import build_raw_asset
from orchestration.kpi_alerts import build_alert_notice, build_kpi_alert_checks
from orchestration.partitions import pending_range, range_tags
from orchestration.resources import QuanyuPaths
from orchestration.sensors import build_landing_sensor
from orchestration.warehouse_assets import PUBLISHED, build_mart_gates, build_published_asset, mart_keys

prepare_if_dev()  # under `dagster dev`, once per change of the project; elsewhere `make manifest` did


def _give_spawned_main_a_spec() -> None:
    """Let ``import great_expectations`` live in a process that multiprocessing spawned.

    Dagster starts each launched run (and, with a multiprocess executor, each step) in a process
    spawned from ``python -m dagster``, whose ``__main__`` has neither ``__spec__`` nor ``__file__``.
    When pyspark is installed without its ``connect`` extra (``make setup-spark``: no
    ``google.rpc``), ``import great_expectations`` imports ``pyspark.sql.connect``, which takes such
    a process for a doctest run and exits it: every raw step of a launched ``build_all`` failed with
    ``SystemExit: 0``. A spec named ``__main__`` is what multiprocessing itself skips when it
    prepares children, so nothing else changes.
    """
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)


_give_spawned_main_a_spec()

contracts = list(load_contracts().values())
raw_assets = [build_raw_asset(c) for c in contracts]
quanyu_dbt = build_dbt_assets()
mart_gates = build_mart_gates()
published = build_published_asset(quanyu_dbt)
kpi_alerts = build_kpi_alert_checks(mart_keys(load_manifest())["marts.mart_kpi_alerts"])
kpi_alert_notice = build_alert_notice(PUBLISHED)
audience_exports = build_audience_exports(PUBLISHED)

build_all = define_asset_job(
    "build_all",
    selection=AssetSelection.all(),
    description="Load and gate new landing files, build and test the dbt project into a new warehouse file "
                "(the identity state carried over), gate the marts, and publish it if every blocking check passed.",
)

ingest = define_asset_job(
    "ingest",
    selection=AssetSelection.groups("raw"),
    description="Load and gate the landing files of a range of days (sensor runs, backfills).",
)


def build_all_tags(today: dt.date | None = None, paths: Paths | None = None) -> dict[str, str]:
    """Tags of a build_all run covering every landing day with an unloaded file, up to today."""
    today = today or business_today()
    first, last = pending_range(contracts, paths or paths_from_env(), today)
    return {**range_tags(first, last), "quanyu/trigger": "nightly_build"}


@schedule(name="nightly_build", job=build_all, cron_schedule="30 2 * * *", execution_timezone=BUSINESS_TIMEZONE,
          description="Every night at 02:30 Beijing time, after the channels' nightly exports land: load "
                      "what is new, build, gate and publish.")
def nightly(context: ScheduleEvaluationContext, quanyu: QuanyuPaths) -> RunRequest:
    today = business_today(context.scheduled_execution_time)
    return RunRequest(tags=build_all_tags(today, quanyu.paths))


landing_files = build_landing_sensor(contracts, ingest, build_all.name)
resources = {"dbt": dbt_resource(), "quanyu": QuanyuPaths()}

defs = Definitions(
    assets=[*raw_assets, quanyu_dbt, published, kpi_alert_notice, audience_exports],
    asset_checks=[mart_gates, kpi_alerts],
    jobs=[build_all, ingest],
    schedules=[nightly],
    sensors=[landing_files],
    resources=resources,
    executor=in_process_executor,
)
