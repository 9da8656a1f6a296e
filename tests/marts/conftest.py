"""The warehouse the mart recomputations compare with: the session's published demo build."""
import pytest


@pytest.fixture(scope="package")
def warehouse(published):
    """The session's one build_all of the demo exports (tests/orchestration/baseline.py: every model and
    test built, published): the recomputations read its lake and warehouse, never write them. Until
    this session the package ingested and built its own copy of the same exports with the dbt CLI
    (48-56 s of make test's setup), the same models from the same landing files."""
    return published
