"""A throwaway dbt project on DuckDB that runs some of the project's identity macros on hand-made
tables: test_connected_components.py and test_seed_strength.py build their models through it
(``run_models``); the tests of the incremental identity tables (test_incremental_by_*.py) run one of the
project's own model files in it, night after night (``model_project``, ``run_project``)."""
from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

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


def model_project(folder: Path, macros: list[Path], model: Path | list[Path], inputs: dict[str, str],
                  variables: dict[str, Any] | None = None, on_run_start: list[str] | None = None) -> Path:
    """A project at ``folder`` (named quanyu, so the model's macros resolve as in the real one) linking
    the project's ``macros`` and ``model`` files (one or several); each of ``inputs`` (model name ->
    table of the main schema) is a model the real one reads, a table over the hand-made table.
    ``variables``: the project's vars; ``on_run_start``: its hooks (the real project's that the models
    need, e.g. the meta tables of the change logs). Database: ``database``."""
    folder.mkdir()
    (folder / "macros").mkdir()
    for macro in macros:
        (folder / "macros" / macro.name).symlink_to(macro)
    (folder / "models").mkdir()
    for path in model if isinstance(model, list) else [model]:
        (folder / "models" / path.name).symlink_to(path)
    for name, table in inputs.items():
        (folder / "models" / f"{name}.sql").write_text(
            f"{{{{ config(materialized='table') }}}} select * from main.{table}")
    (folder / "dbt_project.yml").write_text(yaml.safe_dump({
        "name": "quanyu", "version": "0.1.0", "config-version": 2, "profile": "model_project",
        "macro-paths": ["macros"], "model-paths": ["models"], "vars": variables or {},
        "on-run-start": on_run_start or []}))
    (folder / "profiles.yml").write_text(yaml.safe_dump({"model_project": {"target": "duckdb", "outputs": {
        "duckdb": {"type": "duckdb", "path": str(database(folder)), "threads": 1}}}}))
    return folder


def database(folder: Path) -> Path:
    return folder / "project.duckdb"


def run_project(folder: Path) -> None:
    """`dbt run` of a ``model_project``: every model must succeed (ephemeral ones do not run)."""
    result = subprocess.run([dbt_executable(), "run", "--project-dir", str(folder), "--profiles-dir", str(folder)],
                            cwd=folder, capture_output=True, text=True, timeout=300)
    statuses = [r["status"] for r in json.loads((folder / "target" / "run_results.json").read_text())["results"]
                if r["unique_id"].startswith("model.")]  # not the project's hooks
    models = sum("materialized='ephemeral'" not in path.read_text() for path in (folder / "models").glob("*.sql"))
    assert result.returncode == 0 and statuses == ["success"] * models, result.stdout[-4000:]


def two_nights(folder: Path, project: Callable[[Path], Path], load: Callable[[Path, Any], None], night1: Any,
               night2: Any, between: Callable[[Path], None]) -> tuple[Path, Path]:
    """The night the increment tests compare: a project built on ``night1`` (``load`` fills a
    project's input tables), ``between`` run on it (a mark written into carried rows), then built
    incrementally on ``night2``; and a second project built in full on ``night2``. Returns the two
    projects (nightly, full)."""
    nightly, full = project(folder / "nightly"), project(folder / "full")
    load(nightly, night1)
    run_project(nightly)
    between(nightly)
    load(nightly, night2)
    run_project(nightly)
    load(full, night2)
    run_project(full)
    return nightly, full


def execute(folder: Path, sql: str) -> None:
    """Run one statement on a ``model_project``'s database."""
    with duckdb.connect(str(database(folder))) as con:
        con.execute(sql)
