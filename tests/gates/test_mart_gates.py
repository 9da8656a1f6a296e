"""A blocking mart check stops publication: the mart gates validate the run's build, and the
publish step refuses a build whose gates failed (or did not run)."""
from __future__ import annotations

import shutil
import uuid

import duckdb
from dagster import AssetSelection, DagsterInstance, Definitions, define_asset_job

from tests.gates.conftest import sha256, step_failures


def _run(step: str, run_id: str):
    """Run only the mart gates, or only the publish step, for the build of ``run_id``.

    In build_all both follow dbt; here they run alone (two runs with the build's run id) so
    that each one's decision is seen on its own.
    """
    from orchestration import definitions as d

    selection = AssetSelection.checks(d.mart_gates) if step == "gates" else AssetSelection.assets(d.published)
    job = Definitions(assets=[*d.raw_assets, d.quanyu_dbt, d.published], asset_checks=[d.mart_gates],
                      jobs=[define_asset_job(step, selection=selection)],
                      resources=d.resources).resolve_job_def(step)
    return job.execute_in_process(instance=DagsterInstance.ephemeral(), run_id=run_id, raise_on_error=False)


def _prepared_build(paths, run_id: str, corrupt_sql: str | None):
    from orchestration.publish import Build

    build = Build(paths, run_id)
    build.folder.mkdir(parents=True)
    shutil.copyfile(paths.warehouse, build.file)
    if corrupt_sql:
        with duckdb.connect(str(build.file)) as con:
            con.execute(corrupt_sql)
    build.update_stamp(run_id=run_id, dbt_ok=True)
    return build


def test_a_duplicated_member_in_a_mart_blocks_publication(copied_home):
    paths = copied_home
    before = sha256(paths.warehouse)
    run_id = str(uuid.uuid4())
    build = _prepared_build(paths, run_id, "insert into marts.dim_member select * from marts.dim_member limit 3")

    result = _run("gates", run_id)
    assert not result.success
    failures = step_failures(result)
    assert "mart_gates" in failures
    message = failures["mart_gates"]
    assert "marts.dim_member: check gx_keys failed: one_id_unique: 3 duplicated one_id" in message, message
    evaluations = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    failed = {(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed and
              e.severity.value == "ERROR"}
    assert failed == {("marts/dim_member", "gx_keys")}
    assert build.stamp()["gate_blocking"]

    publishing = _run("publish", run_id)
    assert not publishing.success
    assert "blocking mart checks failed" in step_failures(publishing)["warehouse__published"]
    assert not any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in publishing.all_events)
    assert sha256(paths.warehouse) == before  # nothing published; the build is kept to look at
    assert build.file.exists()


def test_publication_refuses_a_build_the_gates_never_saw(copied_home):
    paths = copied_home
    before = sha256(paths.warehouse)
    run_id = str(uuid.uuid4())
    _prepared_build(paths, run_id, None)
    publishing = _run("publish", run_id)
    assert "the mart gates did not run on this build" in step_failures(publishing)["warehouse__published"]
    assert sha256(paths.warehouse) == before


def test_a_clean_build_passes_the_mart_gates_and_is_published(copied_home):
    from orchestration.publish import read_build_info

    paths = copied_home
    before = read_build_info(paths.warehouse)
    run_id = str(uuid.uuid4())
    _prepared_build(paths, run_id, None)
    gated = _run("gates", run_id)
    assert gated.success, step_failures(gated)
    published = _run("publish", run_id)
    assert published.success, step_failures(published)
    after = read_build_info(paths.warehouse)
    assert after["run_id"] == run_id and after["build_id"] != before["build_id"]
