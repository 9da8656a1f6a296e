"""A throwaway dbt project on DuckDB that runs some of the project's identity macros on hand-made
tables: test_connected_components.py and test_seed_strength.py build their models through it."""
from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import duckdb
import yaml

from orchestration.dbt_assets import DBT_PROJECT_DIR, dbt_executable

MACROS = DBT_PROJECT_DIR / "macros" / "identity"
MAX_ITERATIONS = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))[
    "vars"]["identity_max_iterations"]


class Run(NamedTuple):
    status: dict[str, str]  # model -> success / error
    message: dict[str, str]
    database: Path


def run_models(project: Path, macros: list[str], models: dict[str, str],
               load: Callable[[duckdb.DuckDBPyConnection], None]) -> Run:
    """`dbt run` of `models` (name -> SQL) in a project at `project` whose macros folder links
    `macros` (file names in macros/identity), after `load` filled the database's tables."""
    database = project / "macros.duckdb"
    (project / "macros").mkdir()
    for macro in macros:
        (project / "macros" / macro).symlink_to(MACROS / macro)
    (project / "models").mkdir()
    (project / "dbt_project.yml").write_text(yaml.safe_dump({
        "name": "macro_reference", "version": "0.1.0", "config-version": 2, "profile": "macro_reference",
        "macro-paths": ["macros"], "model-paths": ["models"],
        "vars": {"identity_max_iterations": MAX_ITERATIONS},
        "models": {"macro_reference": {"+materialized": "table"}}}))
    (project / "profiles.yml").write_text(yaml.safe_dump({"macro_reference": {"target": "duckdb", "outputs": {
        "duckdb": {"type": "duckdb", "path": str(database), "threads": 1}}}}))
    for name, sql in models.items():
        (project / "models" / f"{name}.sql").write_text(sql)
    with duckdb.connect(str(database)) as con:
        load(con)
    result = subprocess.run([dbt_executable(), "run", "--project-dir", str(project), "--profiles-dir", str(project)],
                            cwd=project, capture_output=True, text=True, timeout=300)
    results = json.loads((project / "target" / "run_results.json").read_text(encoding="utf-8"))["results"]
    by_model = {r["unique_id"].split(".")[-1]: r for r in results}
    assert set(by_model) == set(models), result.stdout[-4000:]
    return Run({m: r["status"] for m, r in by_model.items()}, {m: r["message"] or "" for m, r in by_model.items()},
               database)


def tables(run: Run) -> list[str]:
    with duckdb.connect(str(run.database), read_only=True) as con:
        return [t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()]
