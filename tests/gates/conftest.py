"""Gate tests work on copies of the session's baseline build (tests/orchestration/baseline.py)."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def baseline(published):
    """The session home after one successful build_all: a published warehouse and a gated lake."""
    return published


def copy_home(source, target: Path):
    """A private installation holding the baseline's landing files, lake, gate verdicts and warehouse."""
    from ingest.settings import paths_from_env

    for sub in ("landing", "lake", "gx/verdicts"):
        shutil.copytree(source.home / sub, target / sub, symlinks=True)
    paths = paths_from_env({"QUANYU_HOME": str(target)}).ensure()
    shutil.copy2(source.warehouse, paths.warehouse)
    return paths


def use_home(monkeypatch, paths) -> None:
    """Point the running process (Dagster steps, dbt subprocesses) at ``paths``."""
    for name, value in paths.as_env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def copied_home(baseline, tmp_path, monkeypatch):
    """A copy of the baseline installation, active for this test."""
    paths = copy_home(baseline, tmp_path / "home")
    use_home(monkeypatch, paths)
    return paths


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def step_failures(result) -> dict[str, str]:
    return {e.step_key: e.event_specific_data.error.message for e in result.all_events if e.is_step_failure}


def started_steps(result) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
