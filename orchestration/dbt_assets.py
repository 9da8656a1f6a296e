"""The dbt project as Dagster assets (dagster-dbt), so one graph runs from files to marts.

dbt sources ``raw.<table>`` get the asset keys ``raw/<table>`` of the ingest assets, so the
lineage is continuous. ``dbt build`` runs tests with their models: an error-severity test
fails its asset check and blocks everything downstream.

dbt never writes the served warehouse: each run builds into its own copy of it
(orchestration/publish.py), which is published only after every blocking check passed.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from ingest.settings import REPO_ROOT, paths_from_env
from expectations.gx_runner import build_data_docs
from orchestration.publish import WAREHOUSE_POOL, prepare_build

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def dbt_executable() -> str:
    """The dbt next to this interpreter (the venv's), else whatever is on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def _project_files_newer_than(target: Path) -> bool:
    if not target.exists():
        return True
    built = target.stat().st_mtime
    watched = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests", "snapshots", "analyses"):
        watched += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return any(p.stat().st_mtime > built for p in watched if p.exists())


def ensure_manifest() -> Path:
    """Run ``dbt parse`` when the manifest is missing or older than the project's files."""
    if _project_files_newer_than(MANIFEST):
        result = subprocess.run(
            [dbt_executable(), "parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
             str(DBT_PROJECT_DIR), "--quiet"],
            cwd=DBT_PROJECT_DIR, capture_output=True, text=True, env=os.environ.copy())
        if result.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{result.stdout}\n{result.stderr}")
    return MANIFEST


class QuanyuTranslator(DagsterDbtTranslator):
    """Sources map onto the ingest assets; models are grouped by layer folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                          dbt_executable=dbt_executable())


def load_manifest() -> dict[str, Any]:
    return json.loads(ensure_manifest().read_text(encoding="utf-8"))


def build_dbt_assets():
    @dbt_assets(
        manifest=ensure_manifest(),
        dagster_dbt_translator=QuanyuTranslator(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
        name="quanyu_dbt",
        pool=WAREHOUSE_POOL,
    )
    def quanyu_dbt(context: AssetExecutionContext, dbt: DbtCliResource):
        """``dbt build`` into this run's copy of the served warehouse (never the served file)."""
        build = prepare_build(paths_from_env().ensure(), context.run_id, load_manifest(),
                              DBT_PROJECT_DIR / "profiles.yml", log=context.log.info)
        builder = DbtCliResource(project_dir=dbt.project_dir, profiles_dir=str(build.profiles_dir),
                                 dbt_executable=dbt.dbt_executable)
        try:
            yield from builder.cli(["build"], context=context).stream()
        except Exception:
            # the run stops here: render the raw gates' results of this run before failing
            context.log.error(f"dbt build failed; the served warehouse is unchanged. Data Docs: "
                              f"{build_data_docs(build.paths.home, context.run_id)}")
            raise
        build.update_stamp(dbt_ok=True)

    return quanyu_dbt
