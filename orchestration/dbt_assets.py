"""The dbt project as Dagster assets (dagster-dbt), so one graph runs from files to marts.

dbt sources ``raw.<table>`` get dagster-dbt's default asset keys ``raw/<table>``, which are
the keys of the ingest assets, so the lineage is continuous. ``dbt build`` runs tests with
their models: an error-severity test fails its asset check and blocks everything downstream.

The manifest is dagster-dbt's ``DbtProject`` and its preparer (``dbt parse``). ``dagster dev``
parses on load (``prepare_if_dev``, skipped when the manifest is newer than every file of the
project, so the run workers it launches do not parse again); the demo, the tests and
``python -m orchestration.rekey`` call ``prepare_manifest()``; a deployment runs ``make
manifest`` (``dagster-dbt project prepare-and-package``) when it is built.

Each model's materialisation carries its row count and column schema (``dagster/row_count``,
``dagster/column_schema``, the keys dagster-dbt's ``fetch_row_counts`` / ``fetch_column_metadata``
write), read from the run's build copy once the dbt process has closed it, in one DuckDB
connection and three catalog queries (``with_table_metadata``). dagster-dbt's own fetchers open a dbt
adapter connection per model and per query: 21.7 s of a 56.7 s dbt step on the 600-member test
brand, the same metadata in well under a second here.

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
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, Failure, Output
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from expectations.gx_runner import build_data_docs
from ingest import lake
from ingest.hash_keys import HashKeyError
from ingest.settings import REPO_ROOT, Paths, paths_from_env
from orchestration.hash_key_guard import check_build_keys
from orchestration.publish import FULL_REFRESH_TAG, dbt_view, prepare_build, project_paths
from orchestration.resources import DBT_STEP, WRITER_POOL, QuanyuPaths, environment

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


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
    return not any(path.stat().st_mtime > parsed for path in project_paths(Path(project.project_dir)))


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


def with_table_metadata(events: Iterable[Any], database: Path, manifest: Mapping[str, Any]) -> Iterator[Any]:
    """The dbt events, each model's Output with its row count and column schema from ``database``.

    DuckDB lets no other process open the file while dbt writes it, so the events are held until
    the dbt process has exited; if dbt fails, the events it produced are yielded and its error
    raised, as dagster-dbt does. Views get their columns but no row count (counting runs their
    query), like dagster-dbt's ``fetch_row_counts``. Column descriptions come from the manifest.
    """
    held: list[Any] = []
    try:
        for event in events:
            held.append(event)
    except BaseException:
        yield from held
        raise
    built = [_unique_id(event) for event in held]
    nodes = [manifest["nodes"][unique_id] for unique_id in built if unique_id in manifest["nodes"]]
    facts = _catalog(database, nodes) if nodes else {}
    for event, unique_id in zip(held, built, strict=True):
        if unique_id in facts:
            event = event.with_metadata({**event.metadata, **facts[unique_id]})
        yield event


def _unique_id(event: Any) -> str | None:
    """The dbt node of a model's Output (dagster-dbt puts its unique_id in the metadata)."""
    if not isinstance(event, Output) or "unique_id" not in event.metadata:
        return None
    value = event.metadata["unique_id"]
    return getattr(value, "value", value)


def _catalog(database: Path, nodes: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """unique_id -> ``dagster/row_count`` (tables) and ``dagster/column_schema`` of each node's relation."""
    import duckdb
    from dagster import MetadataValue, TableColumn, TableSchema

    with duckdb.connect(str(database), read_only=True) as con:
        columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for schema, table, column, data_type in con.execute(
                "select schema_name, table_name, column_name, data_type from duckdb_columns() "
                "where database_name = current_database() order by schema_name, table_name, column_index"
        ).fetchall():
            columns.setdefault((schema, table), []).append((column, data_type))
        tables = {(s, t) for s, t in con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = current_database()").fetchall()}
        wanted = [(n["schema"], n["alias"]) for n in nodes if (n["schema"], n["alias"]) in tables]
        counts: dict[tuple[str, str], int] = {}
        if wanted:  # one statement: DuckDB answers count(*) of a table from its storage
            sql = " union all ".join(
                f"select {i} as i, count(*) as n from {_quoted(s)}.{_quoted(t)}" for i, (s, t) in enumerate(wanted))
            counts = {wanted[i]: n for i, n in con.execute(sql).fetchall()}
    facts: dict[str, dict[str, Any]] = {}
    for node in nodes:
        relation = (node["schema"], node["alias"])
        if relation not in columns:
            continue
        documented = node.get("columns", {})
        schema = TableSchema(columns=[
            TableColumn(name=name, type=data_type, description=(documented.get(name) or {}).get("description") or None)
            for name, data_type in columns[relation]])
        facts[node["unique_id"]] = {"dagster/column_schema": MetadataValue.table_schema(schema)}
        if relation in counts:
            facts[node["unique_id"]]["dagster/row_count"] = MetadataValue.int(counts[relation])
    return facts


UNIT_TESTS_ENV = "QUANYU_DBT_UNIT_TESTS"


def unit_test_arguments(env: Mapping[str, str] | None = None) -> list[str]:
    """dbt's unit tests check the SQL on fixed fixtures, not the night's data: the same code passes
    or fails them every night, so a build leaves them out (dbt's own advice: run them in development
    and CI; ``make test``'s shared session build runs them all, tests/marts/test_dbt_unit_tests.py). They cost a nightly
    23 thread-seconds (34 tests) at every size, about 12 s of a night's wall time on two threads.
    ``QUANYU_DBT_UNIT_TESTS=1`` runs them in the build too."""
    value = (os.environ if env is None else env).get(UNIT_TESTS_ENV, "").strip().lower()
    return [] if value in ("1", "true", "yes") else ["--exclude-resource-type", "unit_test"]


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def build_dbt_assets():
    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=QuanyuTranslator(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
        name=DBT_STEP,
        pool=WRITER_POOL,
    )
    def quanyu_dbt(context: AssetExecutionContext, dbt: DbtCliResource, quanyu: QuanyuPaths):
        """``dbt build`` into this run's build file (never the served file; ``prepare_build``)."""
        paths = quanyu.paths
        # every model selected (build_all, the nightly): dbt rewrites every table, so the build starts
        # from what builds carry over instead of a copy of the served file
        whole_project = set(context.selected_asset_keys) == set(context.assets_def.keys)
        full_refresh = context.run.tags.get(FULL_REFRESH_TAG, "").lower() in ("1", "true", "yes")
        build = prepare_build(paths, context.run_id, load_manifest(), DBT_PROJECT_DIR / "profiles.yml",
                              log=context.log.info, whole_project=whole_project, full_refresh=full_refresh)
        builder = DbtCliResource(project_dir=dbt.project_dir, profiles_dir=str(build.profiles_dir),
                                 dbt_executable=dbt.dbt_executable)
        try:
            with lake.reading(paths):  # healed, and no compaction until dbt has read it
                check_build_keys(paths, build.file, log=context.log.warning)  # one hash key, lake and registry
                # one profile path for every build, and the last parse state while the project is unchanged
                with dbt_view(build, DBT_PROJECT_DIR, log=context.log.info):
                    with dbt_environment(paths):
                        # dbt's artifacts and log in the build folder: kept with a failed build, removed
                        # with a published one (dagster-dbt's default, a new folder under the project's
                        # target/ per run, left 39 MB behind every run, forever)
                        invocation = builder.cli(["build", *unit_test_arguments()], context=context,
                                                 target_path=build.dbt_target)
                    yield from with_table_metadata(invocation.stream(), build.file, invocation.manifest)
        except HashKeyError as exc:
            raise Failure(description=str(exc), allow_retries=False) from None
        except Exception:
            # the run stops here: render the raw gates' results of this run before failing
            context.log.error(f"dbt build failed; the served warehouse is unchanged. Data Docs: "
                              f"{build_data_docs(paths.home, context.run_id)}")
            raise
        build.update_stamp(dbt_ok=True)

    return quanyu_dbt
