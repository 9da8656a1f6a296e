"""BI fixtures: the session's published demo warehouse (tests/orchestration/baseline.py) and, for the
``bi`` group only, a private Superset over it (its own home, a free port), provisioned exactly as
``make bi`` does it and stopped at the end of the session."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from ingest.settings import REPO_ROOT

BI_PYTHON = REPO_ROOT / ".venv-bi" / "bin" / "python"
SLUGS = ("overview", "fans_churn", "guides_stores", "repurchase_cohorts", "oneid_health", "data_quality")
USER, PASSWORD = "admin", "quanyu-test-password"


@dataclass
class Superset:
    url: str
    env: dict[str, str]
    log: Path

    def provision(self) -> subprocess.CompletedProcess:
        return run_bi(["-m", "bi.provision"], self.env)

    def client(self) -> requests.Session:
        """An API session logged in with a JWT (no CSRF token needed for GETs and the chart data endpoint)."""
        session = requests.Session()
        answer = session.post(f"{self.url}/api/v1/security/login", timeout=60,
                              json={"username": USER, "password": PASSWORD, "provider": "db", "refresh": False})
        answer.raise_for_status()
        session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return session


def run_bi(args: list[str], env: dict[str, str], executable: Path = BI_PYTHON) -> subprocess.CompletedProcess:
    result = subprocess.run([str(executable), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def superset(published, tmp_path_factory):
    if not BI_PYTHON.exists():
        pytest.fail(f"{BI_PYTHON} is missing: the bi group runs in Superset's environment, run `make setup-bi`")
    home = tmp_path_factory.mktemp("superset-home")
    env = {**os.environ, "QUANYU_HOME": str(home), "QUANYU_WAREHOUSE": str(published.warehouse),
           "SUPERSET_CONFIG_PATH": str(REPO_ROOT / "bi" / "superset_config.py"), "FLASK_APP": "superset",
           "QUANYU_SUPERSET_USER": USER, "QUANYU_SUPERSET_PASSWORD": PASSWORD}
    superset_cli = BI_PYTHON.parent / "superset"
    for step in (["db", "upgrade"], ["init"]):
        result = subprocess.run([str(superset_cli), *step], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, f"superset {' '.join(step)}:\n{result.stderr[-3000:]}"
    port = free_port()
    instance = Superset(f"http://127.0.0.1:{port}", env, home / "gunicorn.log")
    instance.provision()
    with open(instance.log, "w", encoding="utf-8") as log:
        server = subprocess.Popen([str(BI_PYTHON.parent / "gunicorn"), "--workers", "1", "--threads", "4",
                                   "--timeout", "120", "--bind", f"127.0.0.1:{port}", "superset.app:create_app()"],
                                  cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"{instance.url}/health", timeout=30).ok:
                    break
            except requests.RequestException:  # not listening yet, or busy starting: ask again
                pass
            assert server.poll() is None, f"Superset exited with {server.returncode}: see {instance.log}"
            assert time.monotonic() < deadline, f"Superset did not answer on {instance.url} in 180 s: {instance.log}"
            time.sleep(1)
        yield instance
    finally:
        server.terminate()
        server.wait(timeout=60)
