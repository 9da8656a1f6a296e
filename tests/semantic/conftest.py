"""The semantic layer's tests read the session's parse (target/semantic_manifest.json, written by
tests/conftest.py's ``dbt parse``) and the session's published demo warehouse (the build_all run
the orchestration and gate tests share, tests/orchestration/baseline.py): no build of their own."""
import json

import duckdb
import pytest

from orchestration.dbt_assets import dbt_project
from tests.semantic.semantic import Metrics, load_semantic_manifest


@pytest.fixture(scope="session")
def definitions(demo_home):
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="session")
def published(definitions, demo_home):
    """Paths of the session's installation after one successful build_all (shared, read only)."""
    from tests.orchestration.baseline import session_build

    built = session_build(demo_home)
    assert built.result.success, [e.step_key for e in built.result.all_events if e.is_failure]
    return built.paths


@pytest.fixture(scope="session")
def semantic_manifest():
    return load_semantic_manifest()


@pytest.fixture(scope="session")
def manifest():
    return json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def warehouse(published):
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        yield con


@pytest.fixture(scope="module")
def metrics(semantic_manifest, warehouse):
    return Metrics(semantic_manifest, warehouse)
