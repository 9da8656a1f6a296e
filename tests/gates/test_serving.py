"""Safe serving: the nightly schedule's job runs in process while a BI tool keeps reading the
published warehouse through SQLAlchemy (duckdb-engine); the reader never errors, never waits
and never sees a partial build, and switches to the new build once it is published."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, RunRequest, build_schedule_context

from tests.gates.conftest import copy_home, sha256, started_steps, use_home

READER = Path(__file__).with_name("bi_reader.py")


def _observations(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def _wait_for(predicate, log: Path, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate(_observations(log)):
            return
        time.sleep(0.1)
    raise AssertionError(f"the reader did not get there in {timeout}s: {_observations(log)[-3:]}")


@pytest.fixture(scope="module")
def nightly(baseline, definitions, tmp_path_factory):
    from orchestration.definitions import nightly as schedule
    from orchestration.publish import read_build_info
    from orchestration.resources import QuanyuPaths

    root = tmp_path_factory.mktemp("nightly")
    paths = copy_home(baseline, root / "home")
    log, stop = root / "reads.jsonl", root / "stop"
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_home(monkeypatch, paths)
        before = read_build_info(paths.warehouse)
        reader = subprocess.Popen([sys.executable, str(READER), str(paths.warehouse), str(log), str(stop)])
        try:
            _wait_for(lambda rows: len(rows) >= 3, log)
            instance = DagsterInstance.ephemeral()
            context = build_schedule_context(instance=instance, resources={"quanyu": QuanyuPaths.of(paths)},
                                             scheduled_execution_time=dt.datetime.now(dt.UTC))
            request = schedule(context)
            result = definitions.resolve_job_def(schedule.job_name).execute_in_process(
                instance=instance, raise_on_error=False, tags=request.tags,
                run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
            after = read_build_info(paths.warehouse)
            if result.success:
                _wait_for(lambda rows: any(r.get("build_id") == after["build_id"] for r in rows), log)
        finally:
            stop.touch()
            reader.wait(timeout=60)
    return {"paths": paths, "request": request, "result": result, "before": before, "after": after,
            "reads": _observations(log)}


def test_the_nightly_schedule_requests_build_all_for_the_pending_landing_days(nightly):
    from ingest.settings import business_today
    from orchestration.definitions import nightly as schedule
    from orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG

    assert schedule.job_name == "build_all" and schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.cron_schedule == "30 2 * * *"
    request = nightly["request"]
    assert isinstance(request, RunRequest)
    assert request.tags[RANGE_END_TAG] == business_today().isoformat()
    assert request.tags[RANGE_START_TAG] <= request.tags[RANGE_END_TAG]


def test_the_schedules_job_runs_in_process_and_publishes_a_new_build(nightly):
    result, before, after = nightly["result"], nightly["before"], nightly["after"]
    assert result.success, [e.step_key for e in result.all_events if e.is_failure]
    assert {"quanyu_dbt", "mart_gates", "warehouse__published"} <= started_steps(result)
    assert after["build_id"] != before["build_id"] and after["run_id"] == result.run_id
    assert after["copied_from"] == before["build_id"]  # carried the last good build's identity state forward
    # build_all builds every model: it started from the carried-over tables, not a copy of the served file
    assert after["started_from"] == "carried_over"
    from orchestration.publish import build_root

    assert not (build_root(nightly["paths"]) / result.run_id).exists()


def test_one_ids_stay_stable_across_the_copy_forward_build(nightly, baseline):
    import duckdb

    def registry(path):
        with duckdb.connect(str(path), read_only=True) as con:
            return dict(con.execute("select node_id, one_id from identity.identity_registry").fetchall())

    before, after = registry(baseline.warehouse), registry(nightly["paths"].warehouse)
    assert before and {k: after.get(k) for k in before} == before


def test_a_sqlalchemy_reader_never_errors_or_sees_a_partial_build(nightly):
    reads = nightly["reads"]
    errors = [r["error"] for r in reads if "error" in r]
    assert errors == []
    assert len(reads) >= 20
    assert all(r["expected"] == r["actual"] for r in reads)  # each read sees one whole build
    seen = [r["build_id"] for r in reads]
    old, new = nightly["before"]["build_id"], nightly["after"]["build_id"]
    assert set(seen) == {old, new}
    switch = seen.index(new)
    assert all(b == old for b in seen[:switch]) and all(b == new for b in seen[switch:])


def test_the_published_file_is_never_opened_for_writing(nightly, baseline):
    """The build happened elsewhere: the served path was replaced, not modified in place."""
    paths = nightly["paths"]
    assert not paths.warehouse.with_name(paths.warehouse.name + ".wal").exists()
    assert sha256(paths.warehouse) != sha256(baseline.warehouse)
