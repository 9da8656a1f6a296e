"""The semantic layer's tests read the session's parse (target/semantic_manifest.json, written by
tests/conftest.py's ``dbt parse``) and the session's published demo warehouse (the build_all run
the orchestration and gate tests share, tests/orchestration/baseline.py): no build of their own."""
import json

import duckdb
import pytest

from orchestration.dbt_assets import dbt_project
from tests.semantic.semantic import Metrics, load_semantic_manifest


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
