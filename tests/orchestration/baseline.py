"""One build of the demo brand, shared by every test module that needs a published warehouse.

Building is the slow part of the suite (ingest, gates, dbt, publication), so it runs once per
test session, the way the nightly schedule would run it, in its own installation holding a
copy of the session's demo exports (the session home itself stays unloaded for the ingest
tests). Tests that change anything work on a copy of this installation.
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Baseline:
    result: Any  # dagster ExecuteInProcessResult of build_all
    paths: Any  # ingest.settings.Paths of the installation
    dbt_commands: list[str]  # the dbt commands the build ran, as dagster-dbt logged them


_baseline: Baseline | None = None


def active_home(paths):
    """Point this process (Dagster steps, dbt subprocesses) at ``paths`` for a while."""
    from orchestration.resources import environment

    return environment(paths.as_env())


def session_build(demo_home) -> Baseline:
    """``build_all`` on a copy of the session's demo exports (run on first use)."""
    global _baseline
    if _baseline is None:
        from dagster import DagsterInstance

        from ingest.settings import paths_from_env
        from orchestration.dbt_assets import UNIT_TESTS_ENV
        from orchestration.definitions import build_all_tags, defs
        from orchestration.resources import environment

        root = Path(tempfile.mkdtemp(prefix="quanyu-baseline-"))
        atexit.register(shutil.rmtree, root, True)
        shutil.copytree(demo_home.landing, root / "landing")  # keeps modification times (landing days)
        paths = paths_from_env({"QUANYU_HOME": str(root)}).ensure()
        instance = DagsterInstance.ephemeral()
        # the one build that also runs dbt's unit tests (builds leave them out; make test runs them
        # here, where the models they read exist: tests/marts/test_dbt_unit_tests.py)
        with active_home(paths), environment({UNIT_TESTS_ENV: "1"}):
            result = defs.resolve_job_def("build_all").execute_in_process(
                instance=instance, raise_on_error=False, tags=build_all_tags(),
                run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
        commands = [e.user_message for e in instance.all_logs(result.run_id)
                    if e.user_message.startswith("Finished dbt command")]
        _baseline = Baseline(result, paths, commands)
    return _baseline
