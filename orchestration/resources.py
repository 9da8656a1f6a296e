"""The installation's folders as a Dagster resource, handed to every asset, check and sensor.

Unset fields come from the ``QUANYU_*`` variables when a run (or sensor tick) starts, through
``ingest.settings.paths_from_env``, the one place the environment enters; set them in the
resource config (or ``QuanyuPaths.of(paths)``) to point a job at another installation.

Every writer of the lake or the warehouse (raw assets, dbt, mart gates, publication) is in the
Dagster pool ``WRITER_POOL``, and the instance must run at most one run of that pool at a time
(``INSTANCE_SETTINGS``: pool granularity ``run``, limit 1, the queued run coordinator). A
dagster.yaml is the deployment's, not the code's, so the resource checks it when a launched run
starts (``serialisation_problems``) and fails the run, naming the missing setting, instead of
letting two writers overlap (docs/serving.md, "Serialising writers").
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

from dagster import ConfigurableResource, DagsterInstance, DagsterRun, Failure, InitResourceContext

from ingest.settings import ENV_NAMES, Paths, paths_from_env
from orchestration.publish import start_prefetch

WRITER_POOL = "quanyu_writer"

# What the instance's dagster.yaml must say for WRITER_POOL to hold whole runs one at a time.
# Granularity `run`: the run queue counts a run in the pool from its launch to its end, so a
# backfill's run and build_all wait for each other in the queue (with `op`, the default, only
# steps wait, and two runs' steps interleave: a build_all copying the served file while another
# one's build is not published yet would later publish without that build's identity registry).
INSTANCE_SETTINGS = """concurrency:
  pools:
    granularity: run
    default_limit: 1
"""


def serialisation_problems(instance: DagsterInstance) -> list[str]:
    """What keeps ``instance`` from running one writer run at a time (empty when nothing does)."""
    from dagster._core.run_coordinator import QueuedRunCoordinator

    problems = []
    if not isinstance(instance.run_coordinator, QueuedRunCoordinator):
        problems.append(f"the run coordinator is {type(instance.run_coordinator).__name__}, which launches runs "
                        f"at once; pools are enforced by the QueuedRunCoordinator (dagster.yaml: leave "
                        f"`run_coordinator` out, or set it to QueuedRunCoordinator)")
    config = instance.get_concurrency_config().pool_config
    granularity = config.pool_granularity.value if config.pool_granularity else "op (the default)"
    if granularity != "run":
        problems.append(f"pool granularity is {granularity}; expected `concurrency: pools: granularity: run`")
    limits = {pool.name: pool.limit for pool in instance.event_log_storage.get_pool_limits()}
    limit = limits.get(WRITER_POOL, config.default_pool_limit)
    if limit != 1:
        problems.append(f"pool {WRITER_POOL} has limit {limit if limit is not None else 'none (unlimited)'}; "
                        f"expected 1 (`concurrency: pools: default_limit: 1`, or `dagster instance concurrency "
                        f"set {WRITER_POOL} 1`)")
    return problems


class QuanyuPaths(ConfigurableResource):
    """Landing folder, lake and served warehouse of one installation."""

    home: str | None = None
    landing: str | None = None
    lake: str | None = None
    warehouse: str | None = None

    @classmethod
    def of(cls, paths: Paths) -> QuanyuPaths:
        return cls(home=str(paths.home), landing=str(paths.landing), lake=str(paths.lake),
                   warehouse=str(paths.warehouse))

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Refuse a run launched through the instance's queue when the queue would not keep it
        apart from other writers. Runs executed in process (``make demo``, the tests) were not
        queued and are not checked. A run that will build the warehouse starts copying the served
        file now, beside its raw steps (``publish.start_prefetch``; its dbt step takes the copy)."""
        run = context.dagster_run
        if run is None:
            return
        problems = serialisation_problems(context.instance) if context.instance and run.remote_job_origin else []
        if problems:
            raise Failure(description=f"run {run.run_id} writes the lake or the warehouse, and this Dagster "
                                      f"instance would let another writer run beside it: " + "; ".join(problems)
                                      + f". Add to $DAGSTER_HOME/dagster.yaml:\n{INSTANCE_SETTINGS}",
                          allow_retries=False)
        if builds_warehouse(run):
            start_prefetch(self.paths, run.run_id)

    @property
    def paths(self) -> Paths:
        """The folders (absolute, created if missing)."""
        chosen = {ENV_NAMES[name]: value for name in ENV_NAMES if (value := getattr(self, name))}
        return paths_from_env({**os.environ, **chosen}).ensure()


DBT_STEP = "quanyu_dbt"  # the name (and step) of the dbt assets (orchestration/dbt_assets.py)


def builds_warehouse(run: DagsterRun) -> bool:
    """Whether a run executes the dbt step: ``build_all``, or a selection that includes dbt models."""
    steps = run.step_keys_to_execute
    if steps is not None:
        return DBT_STEP in steps
    if run.job_name == "build_all":
        return True
    selection = run.asset_selection or set()
    return any(key.path[0] not in ("raw", "warehouse") for key in selection)  # dbt's keys: [schema, model]


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in this process's environment for a ``with`` block, restored after.

    For what starts a subprocess that reads its configuration from the environment (dbt, as
    dagster-dbt runs it), never at import time.
    """
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
