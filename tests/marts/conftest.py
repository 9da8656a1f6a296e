"""The warehouse the mart recomputations compare with, built once for the package."""
import shutil

import pytest

from ingest.settings import paths_from_env
from tests.dbt_runner import dbt, ingest_all


@pytest.fixture(scope="package")
def warehouse(demo_home, tmp_path_factory):
    """A private copy of the demo exports, ingested and built (every model and test) once."""
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path_factory.mktemp("marts"))}).ensure()
    shutil.copytree(demo_home.landing, paths.landing, dirs_exist_ok=True)
    ingest_all(paths)
    dbt(paths, "build")
    return paths
