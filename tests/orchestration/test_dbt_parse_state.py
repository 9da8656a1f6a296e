"""Every build's dbt sees one profile path, so the next build re-parses only what changed
(orchestration.publish.dbt_view): a path per run made dbt parse the whole project every night.
Real dbt parses of the project, no database opened."""
from __future__ import annotations

import os
import subprocess

from ingest.settings import paths_from_env
from orchestration.dbt_assets import DBT_PROJECT_DIR, dbt_executable
from orchestration.publish import PARSE_STATE, Build, dbt_build_file, dbt_state, dbt_view, write_profiles


def _parse(build: Build, profiles, root) -> str:
    """``dbt parse`` as the dbt step runs it: inside dbt_view, target in the build folder."""
    env = {**os.environ, "QUANYU_HOME": str(build.paths.home), "QUANYU_LAKE": str(build.paths.lake)}
    with dbt_view(build):
        result = subprocess.run([dbt_executable(), "--debug", "parse", "--project-dir", str(DBT_PROJECT_DIR),
                                 "--profiles-dir", str(profiles), "--target-path", str(build.dbt_target),
                                 "--log-path", str(root / "logs")],
                                cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True)
        assert (dbt_state(build.paths) / "build").resolve() == build.folder.resolve()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout


def test_the_second_build_parses_only_what_changed(tmp_path):
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


def test_the_link_follows_the_build_and_a_missing_state_is_a_full_parse_only(tmp_path):
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path)}).ensure()
    for run_id in ("a", "b"):
        build = Build(paths, run_id)
        build.folder.mkdir(parents=True)
        messages = []
        with dbt_view(build, log=messages.append):
            assert dbt_build_file(paths).parent.resolve() == build.folder.resolve()
            assert not (build.dbt_target / PARSE_STATE).exists()  # nothing kept yet: dbt parses in full
        assert messages and "parses in full" in messages[0]
    assert sorted(p.name for p in dbt_state(paths).iterdir()) == [".lock", "build"]
