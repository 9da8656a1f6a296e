"""Every dbt unit test of the project passes (``dbt test --select test_type:unit``).

Builds leave the unit tests out (orchestration/dbt_assets.py ``unit_test_arguments``: they check the
SQL on fixed fixtures, the same every night), so this is where they run: against a copy of the
session's published warehouse, whose relations give dbt the columns of each unit test's inputs.
"""
import re
import shutil

from ingest.settings import Paths
from orchestration.dbt_assets import load_manifest, unit_test_arguments
from tests.dbt_runner import dbt


def test_builds_leave_the_unit_tests_out_unless_asked():
    assert unit_test_arguments({}) == ["--exclude-resource-type", "unit_test"]
    assert unit_test_arguments({"QUANYU_DBT_UNIT_TESTS": "1"}) == []


def test_every_dbt_unit_test_passes(warehouse, tmp_path):
    copy = tmp_path / warehouse.warehouse.name
    shutil.copyfile(warehouse.warehouse, copy)
    paths = Paths(home=warehouse.home, landing=warehouse.landing, lake=warehouse.lake, warehouse=copy)
    output = dbt(paths, "test", "--select", "test_type:unit")
    expected = len(load_manifest()["unit_tests"])
    assert expected >= 30  # the metric models' fixtures (README, "Metrics")
    passed = set(re.findall(r"PASS (\S+::\S+)", output))  # model::unit test
    assert len(passed) == expected, output[-3000:]
    assert re.search(r"WARN=0 ERROR=0 SKIP=0", output), output[-3000:]
