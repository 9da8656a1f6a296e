"""Every build's dbt sees one profile path, so a build on the same project starts from the last
build's parse (orchestration.publish.dbt_view): a path per run made dbt parse the whole project every
night. The first test runs real dbt parses of the project (no database opened)."""
from __future__ import annotations

import os
import subprocess

from ingest.settings import paths_from_env
from orchestration.dbt_assets import DBT_PROJECT_DIR, dbt_executable
from orchestration.publish import (
    PARSE_STAMP,
    PARSE_STATE,
    Build,
    dbt_build_file,
    dbt_state,
    dbt_view,
    write_profiles,
)


def _parse(build: Build, profiles, root) -> str:
    """``dbt parse`` as the dbt step runs it: inside dbt_view, target in the build folder."""
    env = {**os.environ, "QUANYU_HOME": str(build.paths.home), "QUANYU_LAKE": str(build.paths.lake)}
    with dbt_view(build, DBT_PROJECT_DIR):
        result = subprocess.run([dbt_executable(), "--debug", "parse", "--project-dir", str(DBT_PROJECT_DIR),
                                 "--profiles-dir", str(profiles), "--target-path", str(build.dbt_target),
                                 "--log-path", str(root / "logs")],
                                cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
        assert (dbt_state(build.paths) / "build").resolve() == build.folder.resolve()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout


def test_the_second_build_of_the_same_project_reuses_the_parse(tmp_path):
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path)}).ensure()
    first, second = Build(paths, "run-first"), Build(paths, "run-second")
    outputs = []
    for build in (first, second):
        build.folder.mkdir(parents=True)
        profiles = write_profiles(build, DBT_PROJECT_DIR / "profiles.yml", previous=paths.warehouse)
        assert str(dbt_build_file(paths)) in (profiles / "profiles.yml").read_text(encoding="utf-8")
        outputs.append(_parse(build, profiles, tmp_path))

    profile = [(b.profiles_dir / "profiles.yml").read_text(encoding="utf-8") for b in (first, second)]
    assert profile[0] == profile[1]
    assert "Starting full parse" in outputs[0]
    assert "Unable to do partial parsing" not in outputs[1], outputs[1][-3000:]
    assert "Partial parsing enabled" in outputs[1]
    # the state dbt left is kept for the next build (the published build's folder is deleted)
    assert (dbt_state(paths) / PARSE_STATE).read_bytes() == (second.dbt_target / PARSE_STATE).read_bytes()


def _dbt_writes_a_parse_state(build: Build, content: bytes) -> None:
    build.dbt_target.mkdir(parents=True, exist_ok=True)
    (build.dbt_target / PARSE_STATE).write_bytes(content)


def test_a_parse_state_is_handed_on_only_while_the_project_is_unchanged(tmp_path):
    """A night on the same code starts from the last parse; a changed project (a deployment, a
    package installed) is parsed in full; the link always names the running build's folder."""
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path / "home")}).ensure()
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.sql").write_text("select 1 as a", encoding="utf-8")
    (project / "target").mkdir()  # dbt's own output is not the project
    handed, messages = [], []
    for run_id, change in (("one", None), ("two", None), ("three", "select 2 as a"), ("four", None)):
        if change:
            (project / "models" / "a.sql").write_text(change, encoding="utf-8")
        (project / "target" / "run_results.json").write_text(run_id, encoding="utf-8")
        build = Build(paths, run_id)
        build.folder.mkdir(parents=True)
        with dbt_view(build, project, log=messages.append):
            assert dbt_build_file(paths).parent.resolve() == build.folder.resolve()
            given = build.dbt_target / PARSE_STATE
            handed.append(given.read_bytes() if given.exists() else None)
            _dbt_writes_a_parse_state(build, f"parsed by {run_id}".encode())
    assert handed == [None, b"parsed by one", None, b"parsed by three"]
    assert messages == ["the dbt project changed since the last build: dbt parses it in full"]
    assert sorted(p.name for p in dbt_state(paths).iterdir()) == sorted([".lock", PARSE_STAMP, PARSE_STATE])


def test_no_parse_state_written_keeps_none(tmp_path):
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path)}).ensure()
    build = Build(paths, "a")
    build.folder.mkdir(parents=True)
    messages = []
    with dbt_view(build, DBT_PROJECT_DIR, log=messages.append):
        pass
    assert messages and "the next build parses in full" in messages[0]
    assert sorted(p.name for p in dbt_state(paths).iterdir()) == [".lock"]  # the link lives only while dbt runs
