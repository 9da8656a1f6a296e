"""The dbt project as Dagster assets (dagster-dbt), so one graph runs from files to marts.

dbt sources ``raw.<table>`` get dagster-dbt's default asset keys ``raw/<table>``, which are
the keys of the ingest assets, so the lineage is continuous. ``dbt build`` runs tests with
their models: an error-severity test fails its asset check and blocks everything downstream.

The manifest is dagster-dbt's ``DbtProject`` and its preparer (``dbt parse``). ``dagster dev``
parses on load (``prepare_if_dev``, skipped when the manifest is newer than every file of the
project, so the run workers it launches do not parse again); the demo, the tests and
``python -m orchestration.rekey`` call ``prepare_manifest()``; a deployment runs ``make
manifest`` (``dagster-dbt project prepare-and-package``) when it is built.

Each model's materialisation carries its row count and column schema (dagster-dbt's
``fetch_row_counts`` / ``fetch_column_metadata``), read through the dbt adapter from the run's
build copy once the dbt process has closed it (dagster-dbt waits for it with DuckDB).

dbt never writes the served warehouse: each run builds into its own copy of it
(orchestration/publish.py), which is published only after every blocking check passed.

dbt reads the lake by globs (``raw/<table>/*.parquet``), which would count a file's rows twice
in a compaction killed between its segment's rename and its members' deletion, or in one
running meanwhile. So the build runs inside ``ingest.lake.reading``: the lake is healed first
and every table's lock is held shared until dbt is done (compactions wait or are skipped).
"""

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, Failure
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from expectations.gx_runner import build_data_docs
from ingest import lake
from ingest.hash_keys import HashKeyError
from ingest.settings import REPO_ROOT, Paths, paths_from_env
from orchestration.hash_key_guard import check_build_keys
from orchestration.publish import prepare_build
from orchestration.resources import WRITER_POOL, QuanyuPaths, environment

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
PROJECT_SOURCES = ("dbt_project.yml", "profiles.yml", "packages.yml", "dependencies.yml", "models", "macros",
                   "seeds", "tests", "snapshots", "analyses")


def dbt_executable() -> str:
    """The dbt next to this interpreter (the venv's), else whatever is on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


@contextlib.contextmanager
def dbt_environment(paths: Paths) -> Iterator[None]:
    """While a dbt process starts: the installation's folders as ``QUANYU_*`` variables and this
    interpreter's dbt first on PATH (dagster-dbt passes its own process's environment to dbt)."""
    path = os.pathsep.join([str(Path(dbt_executable()).parent), os.environ.get("PATH", "")])
    with environment({**paths.as_env(), "PATH": path}):
        yield


def manifest_is_current(project: DbtProject) -> bool:
    """True when the manifest was written after the last change to any file dbt parses."""
    if not project.manifest_path.exists():
        return False
    parsed = project.manifest_path.stat().st_mtime
    for name in PROJECT_SOURCES:
        source = Path(project.project_dir) / name
        files = [source] if source.is_file() else source.rglob("*") if source.is_dir() else []
        if any(f.stat().st_mtime > parsed for f in files):
            return False
    return True


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def prepare_manifest(paths: Paths) -> Path:
    """Parse the project now (dagster-dbt's preparer: ``dbt parse``) with ``paths`` in dbt's environment."""
    with dbt_environment(paths):
        dbt_project.preparer.prepare(dbt_project)
    return dbt_project.manifest_path


def prepare_if_dev() -> None:
    """dagster-dbt's ``prepare_if_dev`` (a parse under ``dagster dev`` only), with dbt's environment,
    unless the manifest is current.

    Under ``dagster dev`` every process that loads the definitions gets here: the code server,
    and each run worker (with a multiprocess executor, each step process) it launches. A parse
    is a dbt process (15.3 s measured on this project's shared 2-core machine), so only the first
    one parses; the others find the manifest newer than the project's files.
    """
    if not manifest_is_current(dbt_project):
        with dbt_environment(paths_from_env()):
            dbt_project.prepare_if_dev()


def load_manifest() -> dict[str, Any]:
    if not dbt_project.manifest_path.exists():
        raise FileNotFoundError(f"no dbt manifest at {dbt_project.manifest_path}: run `make manifest` "
                                f"(dbt parse), or start the UI with `make dev`, which parses the project")
    return json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))


class QuanyuTranslator(DagsterDbtTranslator):
    """Models are grouped by their layer folder (staging, identity, intermediate, marts)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


def close_adapter(adapter: Any) -> None:
    """Close the DuckDB database dagster-dbt's adapter opened in this process.

    ``fetch_row_counts`` and ``fetch_column_metadata`` read the build copy through dbt-duckdb once
    the dbt process has exited. dbt-duckdb keeps that database open (read-only, with the
    profile's settings) after releasing its connections, and the mart gates and publication,
    which run next in the same process, then fail to open the file: "Can't open a connection to
    same database file with a different configuration than existing connections" (every
    build_all failed so; releasing the adapter's connections alone did not help).
    """
    if adapter is None:
        return
    adapter.cleanup_connections()
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with contextlib.suppress(Exception):  # no environment: nothing was opened
        DuckDBConnectionManager.env().close()
    DuckDBConnectionManager.close_all_connections()


def build_dbt_assets():
    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=QuanyuTranslator(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
        name="quanyu_dbt",
        pool=WRITER_POOL,
    )
    def quanyu_dbt(context: AssetExecutionContext, dbt: DbtCliResource, quanyu: QuanyuPaths):
        """``dbt build`` into this run's copy of the served warehouse (never the served file)."""
        paths = quanyu.paths
        build = prepare_build(paths, context.run_id, load_manifest(), DBT_PROJECT_DIR / "profiles.yml",
                              log=context.log.info)
        builder = DbtCliResource(project_dir=dbt.project_dir, profiles_dir=str(build.profiles_dir),
                                 dbt_executable=dbt.dbt_executable)
        try:
            with lake.reading(paths):  # healed, and no compaction until dbt has read it
                check_build_keys(paths, build.file, log=context.log.warning)  # one hash key, lake and registry
                with dbt_environment(paths):
                    invocation = builder.cli(["build"], context=context)
                try:  # column lineage (sqlglot over every model's SQL, its parents' columns queried again) left off
                    yield from invocation.stream().fetch_row_counts().fetch_column_metadata(with_column_lineage=False)
                finally:
                    close_adapter(invocation.adapter)
        except HashKeyError as exc:
            raise Failure(description=str(exc), allow_retries=False) from None
        except Exception:
            # the run stops here: render the raw gates' results of this run before failing
            context.log.error(f"dbt build failed; the served warehouse is unchanged. Data Docs: "
                              f"{build_data_docs(paths.home, context.run_id)}")
            raise
        build.update_stamp(dbt_ok=True)

    return quanyu_dbt
