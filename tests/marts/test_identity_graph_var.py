"""The dbt var identity_graph (Issue 18): deterministic or probabilistic, anything else fails the build
with a message naming the var, the value and the values allowed; the marts state the value."""
from __future__ import annotations

import re
import subprocess

from orchestration.dbt_assets import DBT_PROJECT_DIR, dbt_executable
from tests.dbt_runner import env_for


def run_dbt(home, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR),
                           "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(home.home / "target"),
                           "--log-path", str(home.home / "logs")],
                          cwd=DBT_PROJECT_DIR, env=env_for(home), capture_output=True, text=True)


def test_an_unknown_identity_graph_fails_the_build_naming_the_var_and_the_allowed_values(home):
    result = run_dbt(home, "parse", "--vars", "{identity_graph: fuzzy}")
    assert result.returncode != 0
    assert "var('identity_graph') is 'fuzzy'; expected one of deterministic, probabilistic" in result.stdout


def test_the_probabilistic_graph_is_stated_in_the_marts(home):
    result = run_dbt(home, "compile", "--select", "mart_sales_monthly", "mart_repurchase_monthly",
                     "--vars", "{identity_graph: probabilistic}")
    assert result.returncode == 0, result.stdout[-3000:]
    compiled = list((home.home / "target" / "compiled").rglob("mart_*_monthly.sql"))
    assert len(compiled) == 2
    for path in compiled:
        assert re.search(r"'probabilistic'[^,]*?\s+as identity_graph", path.read_text(encoding="utf-8")), path.name
