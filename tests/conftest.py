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


def xdist_worker() -> str | None:
    """The pytest-xdist worker this process is (``gw0``...), None in a plain pytest run."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def pytest_configure(config):
    """Parse the dbt project once (dagster-dbt's preparer), before any test imports the definitions.
    Under pytest-xdist the controlling process parses before it starts the workers; they only read."""
    from ingest.settings import paths_from_env
    from orchestration.dbt_assets import prepare_manifest

    if not hasattr(config, "workerinput"):
        prepare_manifest(paths_from_env())


NIGHTLY_GROUP = "tests/orchestration/test_nightly.py"
_nightly_selected = False

# ``make test`` runs two pytest-xdist workers, each taking whole files (``--dist loadfile``) in collection
# order as it runs out of work (``--no-loadscope-reorder``). The files below cost minutes each (their own
# builds; the nightly group waits for its chain of builds): handed out first, they do not end up alone at
# the end of the run while the other worker idles. The nightly group goes first: its chain (a process of
# its own) runs while the other worker works through the suite. Files not named keep pytest's order.
FIRST = (
    NIGHTLY_GROUP,
    "tests/privacy/test_no_leaks.py",
    "tests/gates/test_serving.py",
    "tests/privacy/test_erasure.py",
    "tests/adversarial/test_unseen_brand.py",
    "tests/privacy/test_key_rotation.py",
    "tests/identity/test_probabilistic_tier.py",
    "tests/identity/test_oneid.py",
    "tests/ingest/test_parallel.py",
    "tests/orchestration/test_chain_deletions.py",
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: place for place, name in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(FIRST)))  # stable: the rest keep order


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
    own (tests/orchestration/nightly_chain.py): it runs beside the rest of the suite, which uses one core.
    Under pytest-xdist each worker builds its own session installation, and the chain starts in the worker
    that runs the nightly group, from that group's fixture (the group is handed out first: ``FIRST``)."""
    from tests.orchestration import nightly_chain
    from tests.orchestration.baseline import session_build

    built = session_build(demo_home)
    assert built.result.success, [e.step_key for e in built.result.all_events if e.is_failure]
    if _nightly_selected and xdist_worker() is None:
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
