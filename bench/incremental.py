"""A nightly of one day of new files against a full rebuild of the same lake (issue 20).

``python -m bench.incremental --home DIR [--fraction 0.033] [--exclude SELECTOR ...] [--reuse-full]
[--day-loaded]``

``DIR`` is a Quanyu home whose landing files are ingested (``bench.run`` or ``python -m
orchestration.cli --compact-ungated``). The steps, each dbt build in its own process through the
orchestration's build files (``orchestration.publish``: what ``build_all`` does, minus Dagster and
the gates):

1. full: ``prepare_build`` from scratch, ``dbt build``, ``publish`` (skipped with ``--reuse-full``
   when the home already serves a build of the current code);
2. a day of new files: for every event export (orders, order lines, POS lines, coupons, calls,
   contact events) the last ``--fraction`` of the data lines of its latest file,
   written again under a dated folder (a re-export of the latest day: same keys, a later load),
   then ingested;
3. nightly: ``prepare_build`` with ``whole_project`` (the incremental models copied from the served
   file, ``carry_over``, timed on its own), ``dbt build``: the staging models incremental by load
   stage only the day's keys;
4. full rebuild of the same lake: ``prepare_build`` from scratch into another file, ``dbt build
   --full-refresh``; its staging tables are compared with the nightly's (EXCEPT ALL both ways).

Prints wall seconds per step and dbt's model seconds per layer (run_results), and the ratio nightly
/ full. The machine is shared: compare ratios within one run, not seconds across runs.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
import uuid
from pathlib import Path

import duckdb

from bench.run import DBT_DIR, REPO, dbt_seconds, run_stage
from ingest.settings import paths_from_env
from orchestration import publish
from orchestration.dbt_assets import dbt_executable, prepare_manifest

# (landing folder, file name glob of its export): the event exports a day of new files holds
EVENT_EXPORTS = (("tmall/orders", "*.csv"), ("tmall/order_items", "*.csv"), ("jd/orders", "*.csv"),
                 ("douyin/orders", "*.csv"), ("mini_program/orders", "*.jsonl"),
                 ("mini_program/order_items", "*.jsonl"), ("pos/sales", "pos_sales_hq_*.csv"),
                 ("pos/sales", "pos_sales_franchise_*.csv"), ("coupons", "*.csv"), ("outbound", "*.csv"),
                 ("wecom/events", "*.jsonl"))
DAY_FOLDER = "next_day"


def write_next_day(landing: Path, fraction: float, day: str) -> list[Path]:
    """Per event export, its latest file's header and last ``fraction`` of lines as a new file under
    ``<folder>/<day>/`` (a dated folder: the file's landing day). Bytes are copied as exported
    (GBK stays GBK)."""
    written = []
    for folder, pattern in EVENT_EXPORTS:
        files = sorted(p for p in (landing / folder).glob(pattern) if p.is_file())
        if not files:
            continue
        latest = files[-1]
        lines = latest.read_bytes().splitlines(keepends=True)
        header = [] if latest.suffix == ".jsonl" else lines[:1]
        body = lines[len(header):]
        keep = body[-max(1, int(len(body) * fraction)):]
        target = landing / folder / day / f"{latest.stem}_{DAY_FOLDER}{latest.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        data = b"".join(header + keep)
        # a line file whose last line has no end looks like a copy in progress to ingest
        target.write_bytes(data if data.endswith(b"\n") else data + b"\n")
        written.append(target)
    return written


def layer_seconds(target: Path) -> dict[str, float]:
    """dbt's execution seconds per layer (models by folder, seeds, tests, unit tests) of one run."""
    layers, _ = dbt_seconds(json.loads((target / "run_results.json").read_text()),
                            json.loads((target / "manifest.json").read_text()))
    return dict(sorted(layers.items()))


def model_seconds(target: Path, tag_models: set[str]) -> dict[str, float]:
    results = json.loads((target / "run_results.json").read_text())
    return {r["unique_id"].rsplit(".", 1)[1]: r["execution_time"] for r in results["results"]
            if r["unique_id"].rsplit(".", 1)[1] in tag_models and r["unique_id"].startswith("model.")}


def dbt_build(home: Path, build: publish.Build, tag: str, exclude: list[str], full_refresh: bool) -> tuple[float, Path]:
    """``dbt build`` of ``build`` (a nightly stages the loads its models have not staged yet)."""
    target = home / f"dbt-target-{tag}"
    command = [dbt_executable(), "build", "--profiles-dir", str(build.profiles_dir), "--project-dir", str(DBT_DIR),
               "--target-path", str(target), "--log-path", str(home / "dbt-logs"), "--quiet",
               *(["--exclude", *exclude] if exclude else []),
               *(["--full-refresh"] if full_refresh else [])]
    with publish.dbt_view(build, DBT_DIR, log=lambda _message: None):  # the profile names the build file through it
        seconds, _rss, _disk = run_stage(command, home, cwd=DBT_DIR)
    return seconds, target


def prepared(home: Path, manifest: dict, whole_project: bool) -> tuple[publish.Build, float]:
    paths = paths_from_env({"QUANYU_HOME": str(home)})
    started = time.perf_counter()
    build = publish.prepare_build(paths, uuid.uuid4().hex, manifest, DBT_DIR / "profiles.yml",
                                  whole_project=whole_project)
    return build, time.perf_counter() - started


def differences(first: Path, second: Path, relations: list[tuple[str, str]]) -> dict[str, int]:
    """Rows of each relation in one file and not the other (EXCEPT ALL, both ways)."""
    found = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{first}' as a (read_only)")
        con.execute(f"attach '{second}' as b (read_only)")
        for schema, table in relations:
            left, right = f'a."{schema}"."{table}"', f'b."{schema}"."{table}"'
            found[f"{schema}.{table}"] = con.execute(
                f"select (select count(*) from (select * from {left} except all select * from {right})) "
                f"+ (select count(*) from (select * from {right} except all select * from {left}))").fetchall()[0][0]
    return found


def staging_only(home: Path, manifest: dict, repeat: int) -> dict[str, object]:
    """The models staged by load alone, ``repeat`` times alternating: full (``dbt seed`` untimed, then
    ``dbt run --full-refresh`` of them into a new file) against nightly (their tables copied from the
    served file, ``carry_over``, timed; ``dbt seed`` untimed; ``dbt run`` of them, incremental). The
    served file must predate the day's loads (step 1 of the full benchmark); the day's files must be
    in the lake. Both files are compared table by table at the end."""
    paths = paths_from_env({"QUANYU_HOME": str(home)})
    staged = publish.staged_by_load(manifest)
    folder = home / "staging-only"
    runs: dict[str, list[float]] = {"full (dbt run --full-refresh)": [], "nightly copy": [], "nightly dbt run": []}
    files = {}
    for _ in range(repeat):
        for kind in ("full", "nightly"):
            shutil.rmtree(folder / kind, ignore_errors=True)
            (folder / kind).mkdir(parents=True)
            file = files[kind] = folder / kind / "quanyu.duckdb"
            env = {"QUANYU_DBT_BUILD_FILE": str(file)}
            if kind == "nightly":
                started = time.perf_counter()
                record = (publish.META_SCHEMA, publish.STAGED_LOADS_TABLE)
                carried = {relation: "copy" for relation in [*staged, record]}
                publish.carry_over(paths.warehouse, file, carried)
                runs["nightly copy"].append(time.perf_counter() - started)
            base = [dbt_executable(), "--quiet"]
            tail = ["--profiles-dir", str(DBT_DIR), "--project-dir", str(DBT_DIR), "--target-path",
                    str(folder / kind / "target"), "--log-path", str(folder / "logs")]
            run_stage([*base, "seed", *tail], home, cwd=DBT_DIR, env=env)
            selected = ["run", "--select", f"tag:{publish.INCREMENTAL_BY_LOAD_TAG}", *tail]
            if kind == "full":
                seconds, _, _ = run_stage([*base, *selected, "--full-refresh"], home, cwd=DBT_DIR, env=env)
                runs["full (dbt run --full-refresh)"].append(seconds)
            else:
                seconds, _, _ = run_stage([*base, *selected], home, cwd=DBT_DIR, env=env)
                runs["nightly dbt run"].append(seconds)
    return {"seconds": runs, "differences": differences(files["nightly"], files["full"], sorted(staged))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--fraction", type=float, default=1 / 30, help="share of the latest file a day brings")
    parser.add_argument("--day", default="2026-11-01", help="the new day's folder (its landing day)")
    parser.add_argument("--exclude", nargs="*", default=[], help="dbt selectors left out of every build")
    parser.add_argument("--reuse-full", action="store_true", help="the served file is already a full build")
    parser.add_argument("--day-loaded", action="store_true", help="the day's files are already ingested")
    parser.add_argument("--staging-only", type=int, metavar="REPEAT",
                        help="after --reuse-full --day-loaded: only the models staged by load, REPEAT times")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    paths = paths_from_env({"QUANYU_HOME": str(home)})
    manifest = json.loads(prepare_manifest(paths).read_text())
    staged = publish.staged_by_load(manifest)
    names = {uid.rsplit(".", 1)[1] for uid in staged.values()}
    report: dict[str, object] = {}
    if args.staging_only:
        report = staging_only(home, manifest, args.staging_only)
        print(json.dumps(report, indent=2))
        (home / "incremental-staging-bench.json").write_text(json.dumps(report, indent=2))
        return 0
    if not args.reuse_full:
        build, _ = prepared(home, manifest, whole_project=False)
        seconds, target = dbt_build(home, build, "full", args.exclude, full_refresh=True)
        publish.publish(build)
        report["full build (day 0)"] = {"seconds": seconds, "layers": layer_seconds(target)}
    if not args.day_loaded:
        written = write_next_day(paths.landing, args.fraction, args.day)
        tables = ["tmall_orders", "tmall_order_items", "jd_orders", "douyin_orders", "mp_orders", "mp_order_items",
                  "pos_sales", "coupons", "outbound_calls", "wecom_contact_events"]
        seconds, _, _ = run_stage([str(REPO / ".venv/bin/python"), "-m", "orchestration.cli",
                                   *[f"--table={t}" for t in tables]], home)
        report["ingest one day"] = {"seconds": seconds, "files": len(written)}
    nightly, copy_seconds = prepared(home, manifest, whole_project=True)
    seconds, target = dbt_build(home, nightly, "nightly", args.exclude, full_refresh=False)
    report["nightly"] = {"copy_seconds": copy_seconds, "dbt_seconds": seconds, "layers": layer_seconds(target),
                         "staged_by_load_models": model_seconds(target, names)}
    # the full rebuild of the same lake, in a file of its own (no served file to start from)
    rebuild_home = home / "full-rebuild"
    rebuild_paths = paths_from_env({"QUANYU_HOME": str(rebuild_home), "QUANYU_LAKE": str(paths.lake),
                                    "QUANYU_LANDING": str(paths.landing)})
    shutil.rmtree(rebuild_paths.warehouse.parent, ignore_errors=True)
    rebuild_paths.ensure()
    rebuild = publish.prepare_build(rebuild_paths, uuid.uuid4().hex, manifest, DBT_DIR / "profiles.yml")
    seconds, target = dbt_build(home, rebuild, "rebuild", args.exclude, full_refresh=True)
    report["full rebuild (day 1)"] = {"seconds": seconds, "layers": layer_seconds(target),
                                      "staged_by_load_models": model_seconds(target, names)}
    report["differences (nightly vs full rebuild, EXCEPT ALL both ways)"] = differences(
        nightly.file, rebuild.file, sorted(staged))
    nightly_total = copy_seconds + report["nightly"]["dbt_seconds"]
    report["ratio nightly (copy + dbt) / full rebuild"] = nightly_total / seconds
    print(json.dumps(report, indent=2))
    (home / "incremental-bench.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
