"""``build_all`` from the CLI against ``build_all`` launched as the UI and the schedule launch it.

``python -m bench.ui_ratio [--members 3000] [--root DIR] [--repeat 1] [--no-dev]``

On one generated brand, each measurement starts from an empty installation holding a copy of
the brand's landing files (same files, same landing days, nothing loaded, no warehouse):

* **cli**: what ``make demo`` does (orchestration/demo.py): a fresh process parses the dbt
  project with dagster-dbt's preparer and runs ``build_all`` in process;
* **launched**: ``build_all`` submitted to a Dagster instance through the UI's GraphQL mutation,
  dequeued by ``dagster-daemon`` and started by the run launcher in a run worker process, which
  executes it with the job's own executor (bench/launch.py). By default the daemon has
  ``DAGSTER_IS_DEV_CLI`` set, as under ``dagster dev`` (``make dev``); ``--no-dev`` measures
  a deployment.

Prints both wall times (launched: from submission to the run's end, queueing included) and
their ratio, and saves them to ``ROOT/ui_ratio.json``. The machine is noisy: compare the
ratio, measured in the same run, not the seconds.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingest.settings import REPO_ROOT, Paths, paths_from_env


def _cli_child() -> int:
    """The child process of ``cli_build`` (a module, not ``python -c``: pyspark, which Great
    Expectations imports, exits a ``-c`` process at import)."""
    from dagster import DagsterInstance

    from orchestration.dbt_assets import prepare_manifest

    prepare_manifest(paths_from_env().ensure())
    from orchestration.definitions import build_all_tags, defs

    result = defs.resolve_job_def("build_all").execute_in_process(
        instance=DagsterInstance.get(), raise_on_error=False, tags=build_all_tags(),
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
    return 0 if result.success else 1


def fresh_installation(brand: Path, home: Path) -> Paths:
    """An empty installation at ``home`` with a copy of the brand's landing files (times kept)."""
    if home.exists():
        shutil.rmtree(home)
    shutil.copytree(brand / "landing", home / "landing")
    return paths_from_env({"QUANYU_HOME": str(home)}).ensure()


def cli_build(paths: Paths) -> float:
    """Seconds of ``build_all`` run as ``make demo`` runs it, in a fresh process."""
    from bench.launch import deployment_env

    dagster_home = paths.home / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    log = paths.home / "cli.log"
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run([sys.executable, "-m", "bench.ui_ratio", "--cli-child"], cwd=REPO_ROOT, stdout=out,
                              stderr=subprocess.STDOUT, env=deployment_env(paths, dagster_home))
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"the CLI build failed (exit {done.returncode}); see {log}")
    return seconds


def launched_build(paths: Paths, dev: bool, timeout: float) -> tuple[float, dict]:
    """Seconds from submitting ``build_all`` through the UI's mutation to the run's end."""
    from bench.launch import deployment
    from orchestration.definitions import build_all_tags
    from orchestration.demo import DAGSTER_CONFIG

    dagster_home = paths.home / "dagster_home"
    with deployment(paths, dagster_home, DAGSTER_CONFIG, dev=dev) as deployed:
        started = time.perf_counter()
        run_id = deployed.launch_job("build_all", build_all_tags(paths=paths))
        (run,) = deployed.wait([run_id], timeout)
        seconds = time.perf_counter() - started
        steps = deployed.step_windows(run_id)
    if run.status != "SUCCESS":
        raise SystemExit(f"the launched build_all run {run_id} ended {run.status}; instance at {dagster_home}")
    return seconds, {"run_id": run_id, "steps": len(steps), "queued_s": round(run.started - run.submitted, 1),
                     "run_s": round(run.ended - run.started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--root", type=Path, default=None, help="where the brand and both installations go "
                        "(default: a temporary folder, removed after)")
    parser.add_argument("--repeat", type=int, default=1, help="measure both this many times, alternating")
    parser.add_argument("--no-dev", action="store_true", help="launch as a deployment, not under `dagster dev`")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--cli-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cli_child:
        return _cli_child()

    root = args.root or Path(tempfile.mkdtemp(prefix="quanyu-ui-ratio-"))
    brand = root / "brand"
    if not (brand / "landing").exists():
        from demo.generate import generate

        generate(brand, members=args.members)
    from orchestration.dbt_assets import prepare_manifest

    prepare_manifest(paths_from_env({"QUANYU_HOME": str(brand)}))  # the manifest both builds start from

    results = []
    for attempt in range(1, args.repeat + 1):
        cli = cli_build(fresh_installation(brand, root / "cli"))
        print(f"[{attempt}] cli build_all: {cli:.1f}s", flush=True)
        launched, details = launched_build(fresh_installation(brand, root / "launched"), not args.no_dev,
                                           args.timeout)
        print(f"[{attempt}] launched build_all: {launched:.1f}s ({details['steps']} steps, queued "
              f"{details['queued_s']}s, run {details['run_s']}s)", flush=True)
        results.append({"cli_s": round(cli, 1), "launched_s": round(launched, 1),
                        "ratio": round(launched / cli, 2), **details})
        print(f"[{attempt}] ratio launched / cli: {launched / cli:.2f}", flush=True)
    summary = {"members": args.members, "dev": not args.no_dev, "runs": results}
    (root / "ui_ratio.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(json.dumps(summary))
    if args.root is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
