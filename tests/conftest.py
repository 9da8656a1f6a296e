"""Shared fixtures. Tests run the real engine, dbt, Dagster and DuckDB on generated files.

The session's Quanyu home is a temporary folder set through the environment before any
orchestration module is imported, exactly as a deployment would configure it.
"""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

SESSION_HOME = Path(tempfile.mkdtemp(prefix="quanyu-test-"))
os.environ["QUANYU_HOME"] = str(SESSION_HOME)
os.environ["DAGSTER_HOME"] = str(SESSION_HOME / "dagster_home")
for name in ("QUANYU_LANDING", "QUANYU_LAKE", "QUANYU_WAREHOUSE", "QUANYU_HASH_KEY", "QUANYU_HASH_KEY_VERSION"):
    os.environ.pop(name, None)
(SESSION_HOME / "dagster_home").mkdir(parents=True, exist_ok=True)

DEMO_MEMBERS = 600


def pytest_configure(config):
    """Parse the dbt project once (dagster-dbt's preparer), before any test imports the definitions."""
    from ingest.settings import paths_from_env
    from orchestration.dbt_assets import prepare_manifest

    prepare_manifest(paths_from_env())


def pytest_sessionfinish(session, exitstatus):
    """Remove the session home (~20 MB of lake and warehouse per run); QUANYU_KEEP_TEST_HOME=1 keeps it."""
    if os.environ.get("QUANYU_KEEP_TEST_HOME") == "1":
        print(f"\nquanyu test home kept: {SESSION_HOME}")
    else:
        shutil.rmtree(SESSION_HOME, ignore_errors=True)


@pytest.fixture
def home(tmp_path):
    """A private, empty installation: landing, lake and warehouse under tmp_path."""
    from ingest.settings import paths_from_env

    return paths_from_env({"QUANYU_HOME": str(tmp_path)}).ensure()


@pytest.fixture(scope="session")
def definitions(demo_home):
    """The Dagster definitions, imported once the session's environment is set."""
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="session")
def published(demo_home):
    """Paths of the session installation after the one successful build_all that every test reading a
    published warehouse shares (tests/orchestration/baseline.py); read it, never write it."""
    from tests.orchestration.baseline import session_build

    built = session_build(demo_home)
    assert built.result.success, [e.step_key for e in built.result.all_events if e.is_failure]
    return built.paths


@pytest.fixture(scope="session")
def demo_home():
    """The session installation with demo exports generated once (small brand)."""
    from demo.generate import generate
    from ingest.settings import paths_from_env

    paths = paths_from_env().ensure()
    generate(paths.home, members=DEMO_MEMBERS)
    return paths
