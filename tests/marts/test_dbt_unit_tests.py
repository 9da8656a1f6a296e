"""Every dbt unit test of the project passes.

Builds leave the unit tests out (orchestration/dbt_assets.py ``unit_test_arguments``: they check the
SQL on fixed fixtures, the same every night). The session's one shared build runs them
(``QUANYU_DBT_UNIT_TESTS=1``, tests/orchestration/baseline.py), where the relations whose columns
they read exist: a dbt build fails when a unit test fails, so a published session build is every
unit test passed.
"""
from orchestration.dbt_assets import load_manifest, unit_test_arguments
from tests.orchestration.baseline import session_build


def test_builds_leave_the_unit_tests_out_unless_asked():
    assert unit_test_arguments({}) == ["--exclude-resource-type", "unit_test"]
    assert unit_test_arguments({"QUANYU_DBT_UNIT_TESTS": "1"}) == []


def test_every_dbt_unit_test_ran_and_passed_in_the_session_build(demo_home, warehouse):
    built = session_build(demo_home)
    assert built.result.success
    assert len(built.dbt_commands) == 1, built.dbt_commands
    assert " build " in built.dbt_commands[0] and "unit_test" not in built.dbt_commands[0], built.dbt_commands
    assert len(load_manifest()["unit_tests"]) >= 30  # the metric models' fixtures (README, "Metrics")
