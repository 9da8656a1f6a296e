"""The builds of the nightly group (tests/orchestration/test_nightly.py), as a process of its own.

A pytest process runs on one core: the session's build_all took 96 s of wall time at 98 % of one core
(04:44 UTC, 2026-12-06, load 2). The group's builds (three nights, a killed build, a full refresh, a
rebuild from nothing beside the last night) are a chain of their own that needs only the session's
published build, so ``start`` runs them in a subprocess: in a plain pytest run as soon as that build
is published (tests/conftest.py ``published``), on the core the rest of the suite leaves idle; under
``make test``'s two pytest-xdist workers from the group's fixture, in the worker handed the group
first, while the other worker goes on with the suite. The group's fixture waits for the record (``result``). The
builds are the same Dagster runs as before, in that process: the nightly schedule's request and
``build_all`` executed in process, each night after the previous one published.

``python -m tests.orchestration.nightly_chain --published H --truth T --root R`` is the chain
itself; it writes ``R/record.json`` (what the tests read) and prints progress to ``R/chain.log``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest

from demo.next_day import BROKEN_DAY

REPO = Path(__file__).resolve().parents[2]
KILLED_NIGHT = BROKEN_DAY + 1  # the fixed file's night: its first build_all is killed, the next publishes
NIGHTS = max(KILLED_NIGHT, int(os.environ.get("QUANYU_TEST_NIGHTS", KILLED_NIGHT)))
REBUILD_TIMEOUT = 1800  # seconds the rebuild from nothing may take (2 min 49 s beside the nights, load 5)
CHAIN_TIMEOUT = 3600  # seconds the group's fixture waits for the whole chain (6-9 min alone, load 1.4-6.4)
LOG_CONFIG = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


class Run(NamedTuple):
    """What the tests read of a build_all run: whether it succeeded and each failed step's message."""
    success: bool
    failures: dict[str, str]


def _run(result) -> Run:
    from tests.gates.conftest import step_failures

    return Run(result.success, step_failures(result))


def _build_all(paths, tags: dict[str, str] | None = None) -> tuple[Run, list[str]]:
    """The nightly schedule's request evaluated now, and its build_all run in process (``tags`` added);
    returns the run and its log lines saying what the build started from."""
    from dagster import DagsterInstance, build_schedule_context

    from orchestration.definitions import defs
    from orchestration.definitions import nightly as schedule
    from orchestration.resources import QuanyuPaths
    from tests.gates.conftest import use_home

    with pytest.MonkeyPatch.context() as monkeypatch:
        use_home(monkeypatch, paths)
        instance = DagsterInstance.ephemeral()
        context = build_schedule_context(instance=instance, resources={"quanyu": QuanyuPaths.of(paths)},
                                         scheduled_execution_time=dt.datetime.now(dt.UTC))
        request = schedule(context)
        result = defs.resolve_job_def(schedule.job_name).execute_in_process(
            instance=instance, raise_on_error=False, tags={**request.tags, **(tags or {})}, run_config=LOG_CONFIG)
        return _run(result), _started(instance, result)


def _descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process below ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], list(children.get(pid, []))
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            found.append((current, Path(f"/proc/{current}/cmdline").read_bytes().replace(b"\0", b" ").decode()))
        except OSError:
            continue
    return found


def _environment(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **extra, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}


def _build_all_process(paths, log: Path) -> subprocess.Popen:
    """``build_all`` over ``paths`` as the schedule runs it, in a process group of its own."""
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "bench.nightly", "--build-all", "--home", str(paths.home)],
                                cwd=REPO, env=_environment(paths.as_env()), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _killed_mid_dbt(paths, log: Path, seconds_into_dbt: float = 5.0, timeout: float = 900) -> str:
    """Run build_all in a process group of its own and SIGKILL the group once ``dbt build`` has
    run ``seconds_into_dbt`` seconds; returns the dbt command line it killed."""
    process = _build_all_process(paths, log)
    deadline, seen = time.time() + timeout, None
    while time.time() < deadline and process.poll() is None:
        dbt = [cmd for _, cmd in _descendants(process.pid) if "dbt" in cmd and " build" in cmd]
        if dbt and seen is None:
            seen = time.time()
        if seen is not None and time.time() - seen >= seconds_into_dbt:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
            return dbt[0]
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    raise AssertionError(f"build_all ended (exit {process.returncode}) before dbt ran {seconds_into_dbt}s: "
                         f"{log.read_text(errors='replace')[-2000:]}")


def build_id(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select build_id from meta.build").fetchone()[0]


def _served(paths) -> tuple[str, str]:
    from tests.gates.conftest import sha256

    return sha256(paths.warehouse), build_id(paths.warehouse)


def landing_files(landing: Path) -> dict[str, tuple[int, int]]:
    """relative path -> (size, modification time in ns) of every landing file."""
    return {p.relative_to(landing).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(landing.rglob("*")) if p.is_file()}


def _started(instance, result) -> list[str]:
    """The run's log lines saying what its build started from (orchestration.publish.prepare_build)."""
    return [e.user_message for e in instance.all_logs(result.run_id)
            if e.user_message.startswith("building every model into a new file")]


def copy_home_landing(paths, target: Path):
    """A new installation holding only ``paths``' landing folder (modification times kept)."""
    from ingest.settings import paths_from_env

    shutil.copytree(paths.landing, target / "landing", symlinks=True)
    return paths_from_env({"QUANYU_HOME": str(target)}).ensure()


def run_chain(published: Path, truth: Path, root: Path) -> dict:
    """The nights on a copy of the published installation ``published`` (with the demo's ``truth``),
    then the full refresh and the rebuild from nothing; returns the record the tests read (JSON)."""
    from demo.next_day import next_day
    from ingest.settings import paths_from_env
    from orchestration.publish import FULL_REFRESH_TAG, last_run_results
    from tests.gates.conftest import copy_home

    def say(text: str) -> None:
        print(f"{dt.datetime.now():%H:%M:%S} {text}", flush=True)

    paths = copy_home(paths_from_env({"QUANYU_HOME": str(published)}), root / "home")
    shutil.copytree(truth, paths.home / "truth")
    record = {"home": str(paths.home), "served": [_served(paths)]}

    rebuild = None
    try:
        for day in range(1, NIGHTS + 1):
            record[f"day{day}"] = next_day(paths.home, day)
            if day == NIGHTS:  # the landing is final: build it from nothing beside the last night
                rebuilt = copy_home_landing(paths, root / "rebuilt")
                record["rebuilt_home"] = str(rebuilt.home)
                record["landing"] = landing_files(paths.landing)
                rebuild = _build_all_process(rebuilt, root / "rebuilt.log")
                say("rebuild from nothing started")
            if day == KILLED_NIGHT:
                record["killed"] = _killed_mid_dbt(paths, root / "killed.log")
                record["after_kill"] = _served(paths)
                say(f"night {day}: build killed in dbt")
            record[f"run{day}"], record[f"log{day}"] = _build_all(paths)
            record["served"].append(_served(paths))
            if record[f"run{day}"].success:  # the dbt invocation that wrote the night's rows (_build_id)
                record[f"invocation{day}"] = json.loads(last_run_results(paths).read_text(encoding="utf-8"))[
                    "metadata"]["invocation_id"]
            say(f"night {day}: success {record[f'run{day}'].success}")

        nightly = root / "nightly.duckdb"  # what the nights published, kept for the comparisons
        shutil.copy2(paths.warehouse, nightly)
        record["nightly"] = str(nightly)
        record["refresh_run"], record["refresh_log"] = _build_all(paths, {FULL_REFRESH_TAG: "true"})
        record["refreshed"] = _served(paths)
        say(f"full refresh: success {record['refresh_run'].success}")

        record["rebuild_exit"] = rebuild.wait(timeout=REBUILD_TIMEOUT)
        record["rebuild_log"] = (root / "rebuilt.log").read_text(errors="replace")
        say(f"rebuild from nothing: exit {record['rebuild_exit']}")
    finally:
        if rebuild is not None and rebuild.poll() is None:
            os.killpg(rebuild.pid, signal.SIGKILL)
            rebuild.wait(timeout=60)
    return record


def _load(text: str) -> dict:
    """The record as run_chain returned it: runs as ``Run``, served states and file stats as tuples,
    installations as ``Paths``."""
    from ingest.settings import paths_from_env

    record = json.loads(text)
    for key, value in record.items():
        if key.startswith("run") or key == "refresh_run":
            record[key] = Run(*value)
        elif key in ("after_kill", "refreshed"):
            record[key] = tuple(value)
    record["served"] = [tuple(s) for s in record["served"]]
    record["landing"] = {name: tuple(stat) for name, stat in record["landing"].items()}
    record["paths"] = paths_from_env({"QUANYU_HOME": record.pop("home")})
    record["rebuilt"] = paths_from_env({"QUANYU_HOME": record.pop("rebuilt_home")})
    record["nightly"] = Path(record["nightly"])
    return record


class Chain(NamedTuple):
    process: subprocess.Popen
    root: Path


_chain: Chain | None = None


def start(published, demo_home, tmp_path_factory) -> Chain:
    """Start the chain on ``published`` (once per session, in a folder of ``tmp_path_factory``) in a
    process of its own; see ``result``."""
    global _chain
    if _chain is None:
        root = tmp_path_factory.mktemp("nightly")
        with (root / "chain.log").open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.orchestration.nightly_chain", "--published", str(published.home),
                 "--truth", str(demo_home.home / "truth"), "--root", str(root)],
                cwd=REPO, env=_environment({}), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _chain = Chain(process, root)
    return _chain


def result(chain: Chain) -> dict:
    """Wait for the chain and read its record; a chain that failed fails here with its log's end."""
    try:
        exit_code = chain.process.wait(timeout=CHAIN_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop()
        raise
    log = (chain.root / "chain.log").read_text(errors="replace")
    assert exit_code == 0, f"the nightly chain exited {exit_code}: {log[-4000:]}"
    return _load((chain.root / "record.json").read_text())


def stop() -> None:
    """Kill a chain still running and every process below it (the builds it started run in process
    groups of their own), e.g. when the session ends before the group ran."""
    if _chain is not None and _chain.process.poll() is None:
        below = _descendants(_chain.process.pid)
        os.killpg(_chain.process.pid, signal.SIGKILL)
        for pid, _ in below:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _chain.process.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--published", type=Path, required=True, help="the published installation to copy")
    parser.add_argument("--truth", type=Path, required=True, help="the demo brand's truth folder")
    parser.add_argument("--root", type=Path, required=True, help="where the installations and record go")
    args = parser.parse_args(argv)
    record = run_chain(args.published, args.truth, args.root)
    temporary = args.root / "record.json.tmp"
    temporary.write_text(json.dumps(record, ensure_ascii=False))
    os.replace(temporary, args.root / "record.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
