"""One pool for every writer, and an instance that holds it to one run at a time.

The fast tests read the definitions and Dagster instances configured in temporary homes; the
``launched`` test (``pytest -m launched tests/orchestration``: 484 s on the shared 2-core
machine) launches a backfill and ``build_all`` through a real daemon and proves that they ran
one after the other.
"""
from __future__ import annotations

import shutil

import pytest
from dagster import DagsterInstance

from orchestration.demo import DAGSTER_CONFIG
from orchestration.resources import WRITER_POOL, serialisation_problems


def instance_with(tmp_path, dagster_yaml: str) -> DagsterInstance:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(dagster_yaml, encoding="utf-8")
    return DagsterInstance.from_config(str(home))


def test_every_asset_and_check_that_writes_is_in_the_writer_pool(definitions):
    graph = definitions.resolve_asset_graph()
    nodes = {graph.get(key).assets_def.node_def.name: graph.get(key).assets_def.node_def.pools
             for key in graph.get_all_asset_keys() if graph.get(key).is_materializable}
    nodes.update({check.node_def.name: check.node_def.pools for check in definitions.asset_checks or []})
    assert len(nodes) > 3
    assert {name: pools for name, pools in nodes.items() if pools != {WRITER_POOL}} == {}


def test_every_job_runs_its_steps_in_the_run_worker(definitions):
    """The UI's ad-hoc asset runs and backfills use the implicit asset job: it has the same executor."""
    jobs = [definitions.resolve_job_def(name) for name in ("build_all", "ingest")]
    jobs.append(definitions.resolve_implicit_global_asset_job_def())
    assert {job.name: job.executor_def.name for job in jobs} == {job.name: "in_process" for job in jobs}


def test_the_demo_instance_runs_one_writer_at_a_time(tmp_path):
    assert serialisation_problems(instance_with(tmp_path, DAGSTER_CONFIG)) == []


def test_an_instance_that_would_overlap_writers_is_named_with_each_missing_setting(tmp_path):
    instance = instance_with(tmp_path, "run_coordinator:\n  module: dagster.core.run_coordinator\n"
                                       "  class: DefaultRunCoordinator\n")
    problems = serialisation_problems(instance)
    assert len(problems) == 3
    assert problems[0].startswith("the run coordinator is SyncInMemoryRunCoordinator, which launches runs at once")
    assert "granularity is op" in problems[1]
    assert f"pool {WRITER_POOL} has limit none" in problems[2]


def test_a_pool_limit_set_on_the_instance_above_1_is_refused(tmp_path):
    instance = instance_with(tmp_path, DAGSTER_CONFIG)
    instance.event_log_storage.set_concurrency_slots(WRITER_POOL, 2)
    assert serialisation_problems(instance) == [
        f"pool {WRITER_POOL} has limit 2; expected 1 (`concurrency: pools: default_limit: 1`, or "
        f"`dagster instance concurrency set {WRITER_POOL} 1`)"]


@pytest.mark.launched
def test_a_backfill_launched_during_build_all_waits_for_it_and_both_succeed(demo_home, tmp_path):
    """As from the UI: build_all, then while it runs a backfill of every raw asset over the same
    landing days. The backfill's run is queued until build_all has ended; both succeed; and the
    build's steps all ran in one process (the in-process executor)."""
    from bench.launch import deployment
    from ingest.contract import load_contracts
    from ingest.settings import paths_from_env
    from orchestration.definitions import build_all_tags
    from orchestration.ingest_assets import raw_key
    from orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG, daily_partitions

    shutil.copytree(demo_home.landing, tmp_path / "home" / "landing")  # keeps modification times (landing days)
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path / "home")}).ensure()
    tags = build_all_tags(paths=paths)
    days = [key for key in daily_partitions.get_partition_keys()
            if tags[RANGE_START_TAG] <= key <= tags[RANGE_END_TAG]]
    raw = [raw_key(c).path for c in load_contracts().values()]
    with deployment(paths, tmp_path / "dagster_home", DAGSTER_CONFIG) as deployed:
        build = deployed.launch_job("build_all", tags)
        deployed.wait_until_started(build, timeout=300)
        backfill = deployed.launch_backfill(raw, days)
        assert deployed.run_status(build) == "STARTED"  # the backfill is launched while build_all runs
        (backfill_run,) = deployed.wait_for_backfill_runs(backfill, 1, timeout=1500)
        runs = {r.run_id: r for r in deployed.wait([build, backfill_run], timeout=1500)}
        build_pids = {step.pid for step in deployed.step_windows(build)}
        backfill_steps = deployed.step_windows(backfill_run)
    assert {r.status for r in runs.values()} == {"SUCCESS"}, {r.run_id: r.status for r in runs.values()}
    first, second = runs[build], runs[backfill_run]
    assert first.ended <= second.started, (first, second)  # one after the other, never side by side
    assert len(backfill_steps) == len(raw)  # the backfill loaded (and gated) every raw table
    assert len(build_pids) == 1
