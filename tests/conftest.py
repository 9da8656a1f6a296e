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


NIGHTLY_GROUP = "tests/orchestration/test_nightly.py"
_nightly_selected = False


def pytest_collection_finish(session):
    """Whether the nightly group runs in this session: its chain then starts once the session build is
    published (``published``)."""
    global _nightly_selected
    _nightly_selected = any(item.nodeid.startswith(NIGHTLY_GROUP) for item in session.items)


def pytest_sessionfinish(session, exitstatus):
    """Remove the session home (~20 MB of lake and warehouse per run); QUANYU_KEEP_TEST_HOME=1 keeps it.
    A nightly chain still running (the session stopped before its group) is killed first."""
    from tests.orchestration import nightly_chain

    nightly_chain.stop()
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
def published(demo_home, tmp_path_factory):
    """Paths of the session installation after the one successful build_all that every test reading a
    published warehouse shares (tests/orchestration/baseline.py); read it, never write it.

    When the nightly group is selected, its chain of builds starts here, on a copy, in a process of its
    own (tests/orchestration/nightly_chain.py): it runs beside the rest of the suite, which uses one core."""
    from tests.orchestration import nightly_chain
    from tests.orchestration.baseline import session_build

    built = session_build(demo_home)
    assert built.result.success, [e.step_key for e in built.result.all_events if e.is_failure]
    if _nightly_selected:
        nightly_chain.start(built.paths, demo_home, tmp_path_factory)
    return built.paths


@pytest.fixture(scope="session")
def demo_home():
    """The session installation with demo exports generated once (small brand)."""
    from demo.generate import generate
    from ingest.settings import paths_from_env

    paths = paths_from_env().ensure()
    generate(paths.home, members=DEMO_MEMBERS)
    return paths
