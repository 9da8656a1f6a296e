"""Runs launched the way the Dagster UI, the schedule and backfills launch them.

A ``Deployment`` is a Dagster instance of its own (``DAGSTER_HOME`` with the deployment's
``dagster.yaml``: a queued run coordinator), a ``dagster-daemon`` process serving it (run
queue, backfills) and the workspace of ``workspace.yaml``. Runs are submitted through the
same GraphQL mutations the UI sends (``launchPipelineExecution``, ``launchPartitionBackfill``);
the daemon dequeues them and the run launcher starts each in its own process, which runs the
job with its own executor. Nothing here executes a job in this process.

Used by ``python -m bench.ui_ratio`` and by the writer-serialisation test
(tests/orchestration/test_launched_runs.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ingest.settings import REPO_ROOT, Paths

WORKSPACE = REPO_ROOT / "workspace.yaml"
REPOSITORY = "__repository__"

LAUNCH_RUN = """
mutation($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchPipelineRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on PipelineConfigValidationInvalid { errors { message } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
  }
}
"""

LAUNCH_BACKFILL = """
mutation($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId launchedRunIds }
    ... on PythonError { message stack }
    ... on PartitionKeysNotFoundError { message }
    ... on PartitionSetNotFoundError { message }
  }
}
"""


class LaunchError(RuntimeError):
    """The UI's mutation did not launch what was asked (the GraphQL answer is in the message)."""


@dataclass(frozen=True)
class RunTimes:
    """One finished run as the instance recorded it."""

    run_id: str
    job_name: str
    status: str
    submitted: float  # epoch seconds
    started: float
    ended: float
    tags: Mapping[str, str]


class StepWindow(NamedTuple):
    """One step of a run: when it started and ended (epoch seconds) and the process that ran it."""

    step_key: str
    started: float
    ended: float
    pid: int | None


class Deployment:
    """An instance, its daemon and the workspace (see the module docstring)."""

    def __init__(self, instance, request_context_factory, dagster_home: Path):
        self.instance = instance
        self._request_context = request_context_factory
        self.dagster_home = dagster_home

    @property
    def location(self) -> str:
        """The workspace's one code location (workspace.yaml names it after the module and attribute)."""
        (name,) = self._request_context().get_code_location_entries()
        return name

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        from dagster_graphql.test.utils import execute_dagster_graphql

        result = execute_dagster_graphql(self._request_context(), query, variables)
        if result.errors:
            raise LaunchError(f"GraphQL errors: {result.errors}")
        return result.data

    def launch_job(self, job: str, tags: Mapping[str, str] | None = None) -> str:
        """Launch ``job`` as the UI's Launchpad does; returns the run id."""
        data = self._graphql(LAUNCH_RUN, {"executionParams": {
            "selector": {"repositoryLocationName": self.location, "repositoryName": REPOSITORY, "pipelineName": job},
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}}})
        answer = data["launchPipelineExecution"]
        if answer["__typename"] != "LaunchRunSuccess" and "run" not in answer:
            raise LaunchError(f"launching {job}: {answer}")
        return answer["run"]["runId"]

    def launch_backfill(self, asset_keys: Sequence[Sequence[str]], partitions: Sequence[str]) -> str:
        """Backfill ``partitions`` of the assets, as the UI's "Materialize selected" over a range does."""
        data = self._graphql(LAUNCH_BACKFILL, {"backfillParams": {
            "assetSelection": [{"path": list(k)} for k in asset_keys], "partitionNames": list(partitions)}})
        answer = data["launchPartitionBackfill"]
        if answer["__typename"] != "LaunchBackfillSuccess":
            raise LaunchError(f"launching a backfill of {len(asset_keys)} assets: {answer}")
        return answer["backfillId"]

    def backfill_run_ids(self, backfill_id: str) -> list[str]:
        from dagster._core.storage.dagster_run import RunsFilter
        from dagster._core.storage.tags import BACKFILL_ID_TAG

        return [r.run_id for r in self.instance.get_runs(RunsFilter(tags={BACKFILL_ID_TAG: backfill_id}))]

    def backfill_status(self, backfill_id: str) -> str:
        return self.instance.get_backfill(backfill_id).status.value

    def run_status(self, run_id: str) -> str:
        return self.instance.get_run_by_id(run_id).status.value

    def wait_until_started(self, run_id: str, timeout: float) -> None:
        """Wait until the daemon has dequeued and launched the run (or it already ended)."""
        deadline = time.monotonic() + timeout
        while self.run_status(run_id) in ("QUEUED", "NOT_STARTED", "STARTING"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {self.run_status(run_id)} after {timeout:.0f}s; daemon log: "
                                   f"{self.dagster_home / 'daemon.log'}")
            time.sleep(0.5)

    def wait(self, run_ids: Sequence[str], timeout: float) -> list[RunTimes]:
        """Wait until every run has finished; their recorded times."""
        from dagster import DagsterRunStatus

        done = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
        deadline = time.monotonic() + timeout
        while True:
            records = [self.instance.get_run_record_by_id(r) for r in run_ids]
            if all(r is not None and r.dagster_run.status in done for r in records):
                return [RunTimes(r.dagster_run.run_id, r.dagster_run.job_name, r.dagster_run.status.value,
                                 r.create_timestamp.timestamp(), r.start_time or 0.0, r.end_time or 0.0,
                                 dict(r.dagster_run.tags)) for r in records]
            if time.monotonic() > deadline:
                states = {r.dagster_run.run_id: r.dagster_run.status.value for r in records if r}
                raise TimeoutError(f"runs not finished after {timeout:.0f}s: {states}; daemon log: "
                                   f"{self.dagster_home / 'daemon.log'}")
            time.sleep(1.0)

    def wait_for_backfill_runs(self, backfill_id: str, count: int, timeout: float) -> list[str]:
        """The runs a backfill submitted, once the backfill daemon has submitted ``count`` of them."""
        deadline = time.monotonic() + timeout
        while len(runs := self.backfill_run_ids(backfill_id)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"backfill {backfill_id} ({self.backfill_status(backfill_id)}) submitted "
                                   f"{len(runs)} of {count} runs in {timeout:.0f}s")
            time.sleep(1.0)
        return runs

    def step_windows(self, run_id: str) -> list[StepWindow]:
        """Every step of a run, from its event log."""
        from dagster import DagsterEventType

        starts: dict[str, tuple[float, int | None]] = {}
        windows = []
        for record in self.instance.all_logs(run_id):
            event = record.dagster_event
            if event is None or not event.step_key:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                starts[event.step_key] = (record.timestamp, event.pid)
            elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
                started, pid = starts.get(event.step_key, (record.timestamp, event.pid))
                windows.append(StepWindow(event.step_key, started, record.timestamp, pid))
        return windows


def deployment_env(paths: Paths, dagster_home: Path, dev: bool = False) -> dict[str, str]:
    """The environment of the daemon (and so of every run it launches): the installation's folders;
    with ``dev``, the variable ``dagster dev`` sets for its webserver and daemon."""
    env = {**os.environ, **paths.as_env(), "DAGSTER_HOME": str(dagster_home)}
    env.pop("DAGSTER_IS_DEV_CLI", None)
    if dev:
        env["DAGSTER_IS_DEV_CLI"] = "1"
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


@contextmanager
def deployment(paths: Paths, dagster_home: Path, dagster_yaml: str, dev: bool = False) -> Iterator[Deployment]:
    """A running deployment (instance, daemon, workspace) over the installation ``paths``."""
    from dagster import DagsterInstance
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    from orchestration.resources import environment

    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(dagster_yaml, encoding="utf-8")
    env = deployment_env(paths, dagster_home, dev)
    log = (dagster_home / "daemon.log").open("w", encoding="utf-8")
    daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(WORKSPACE)],
                              cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # the workspace's code server (a subprocess of this one) sees the installation too
        with environment({k: env[k] for k in (*paths.as_env(), "DAGSTER_HOME")}):
            instance = DagsterInstance.from_config(str(dagster_home))
            with WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(WORKSPACE)])) as workspace:
                yield Deployment(instance, workspace.create_request_context, dagster_home)
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
        log.close()
