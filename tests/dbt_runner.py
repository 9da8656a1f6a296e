"""Run the real dbt CLI against a given Quanyu home (used by layer tests that need dbt alone)."""
import os
import subprocess

from ingest.contract import load_contracts
from ingest.engine import load_table
from ingest.pii import HashKey
from orchestration.dbt_assets import DBT_PROJECT_DIR, dbt_executable

TEST_KEY = HashKey(b"quanyu-test-key", "test")


def env_for(paths) -> dict[str, str]:
    """dbt's environment for a test home: its folders, and the profile's writing target pointed at
    its warehouse (a test home serves nobody; the profile's default target only reads)."""
    env = os.environ.copy()
    env.update(paths.as_env())
    env.update(QUANYU_DBT_TARGET="duckdb", QUANYU_DBT_BUILD_FILE=str(paths.warehouse))
    # dbt's artifacts and log in the home, not the project's target/ and logs/ that other test processes
    # (pytest-xdist workers) and the definitions' manifest share
    env.setdefault("DBT_TARGET_PATH", str(paths.home / "target"))
    env.setdefault("DBT_LOG_PATH", str(paths.home / "logs"))
    return env


def ingest_all(paths) -> None:
    for contract in load_contracts().values():
        report = load_table(contract, paths, TEST_KEY)
        assert not report.with_status("rejected"), [f.message for f in report.with_status("rejected")]


def dbt(paths, *args: str, env: dict[str, str] | None = None) -> str:
    """Run dbt on ``paths``; ``env`` adds variables (e.g. QUANYU_DBT_TARGET=spark)."""
    result = subprocess.run([dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR),
                             "--profiles-dir", str(DBT_PROJECT_DIR)],
                            cwd=DBT_PROJECT_DIR, env={**env_for(paths), **(env or {})}, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return result.stdout
