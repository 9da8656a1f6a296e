"""End-to-end benchmark: generate a brand, ingest it, build OneID and the marts; per stage
wall time, peak memory and rows per second; OneID's connected components against a
single-process union-find on the same edges (scipy's compiled connected_components,
and a plain Python union-find); ingest against its floor (bench/ingest_floor.py).

``python -m bench.run --members 100000 1000000 [--out DIR] [--repeat-uf 3] [--drop-exports]
[--drop-lake] [--compact] [--start generate|ingest|dbt|identity|marts]``

Every stage runs in its own process, so its peak resident memory (from wait4, which covers
the process and the children it waited for, e.g. dbt) is its own. The machine is noisy:
compare ratios, not absolute seconds, across machines.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from bench.ingest_floor import floor_files, run_floor
from ingest.contract import load_contracts
from ingest.settings import ingest_workers, paths_from_env

REPO = Path(__file__).resolve().parent.parent
DBT_DIR = REPO / "dbt_project"
DBT_LAYERS = {
    "dbt staging": ["resource_type:seed", "path:models/staging"],
    "dbt identity (OneID)": ["path:models/identity"],
    "dbt intermediate + marts": ["path:models/intermediate", "path:models/marts"],
}
# OneID's receiver-match tier (docs/identity.md): left out of the exact-keys-only build the identity
# stage is compared with in the same run.
RECEIVER_TIER = ["int_identity__receivers", "int_identity__receiver_profiles", "int_identity__receiver_values",
                 "int_identity__match_candidates", "int_identity__match_pairs",
                 "int_identity__accepted_matches", "int_identity__probabilistic_links"]


@dataclass
class Stage:
    members: int
    stage: str
    seconds: float
    peak_rss_mb: float
    rows: int
    warehouse_peak_mb: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _env(home: Path) -> dict[str, str]:
    """A stage's environment: the bench home's folders; dbt writes its warehouse directly through the
    profile's writing target (a bench home serves nobody; the default target only reads)."""
    paths = paths_from_env({"QUANYU_HOME": str(home)})
    return {**os.environ, **paths.as_env(),
            "QUANYU_DBT_TARGET": "duckdb", "QUANYU_DBT_BUILD_FILE": str(paths.warehouse)}


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (worker pools, dbt threads), in MB."""
    tree, total, todo = _children(), 0, [pid]
    while todo:
        current = todo.pop()
        todo += tree.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def folder_mb(path: Path) -> float:
    """Bytes on disk under a file or folder, in MB (0 if it does not exist).

    Sampled while a build writes and deletes its files: an entry that vanishes between the listing
    and its ``stat`` counts 0 (``Path.rglob`` raised, and the sampler thread died with it)."""
    if path.is_file():
        return path.stat().st_size / 2**20
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                total += os.stat(os.path.join(folder, name), follow_symlinks=False).st_size
            except OSError:
                continue
    return total / 2**20


def warehouse_disk_mb(home: Path) -> float:
    """The warehouse file, its WAL and DuckDB's spill folder next to it."""
    folder = home / "warehouse"
    return sum(folder_mb(p) for p in folder.glob("quanyu.duckdb*")) if folder.exists() else 0.0


def run_stage(command: list[str], home: Path, cwd: Path = REPO,
              env: dict[str, str] | None = None, disk=warehouse_disk_mb) -> tuple[float, float, float]:
    """Run one stage in its own process: (wall seconds, peak MB of its whole process tree, peak
    MB of the warehouse on disk, as ``disk(home)`` measures it).

    The memory peak is sampled every 0.2 s over the tree (a process pool's workers add up), and is
    at least wait4's ru_maxrss (the largest single process, exact). The warehouse (file + spill
    folder) is sampled every 2 s.
    """
    started = time.perf_counter()
    log = (home / "bench-logs").joinpath(f"{len(list((home / 'bench-logs').glob('*')))}-"
                                         f"{Path(command[2] if command[1] == '-m' else command[0]).name}.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env={**_env(home), **(env or {})}, stdout=out,
                                   stderr=subprocess.STDOUT)
        peak, disk_of, disk = [0.0], disk, [0.0]

        def sample() -> None:
            tick = 0
            while process.poll() is None:
                peak[0] = max(peak[0], tree_rss_mb(process.pid))
                if tick % 10 == 0:
                    disk[0] = max(disk[0], disk_of(home))
                tick += 1
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.join()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"stage failed: {' '.join(command)}\n{log.read_text(errors='replace')[-4000:]}")
    return seconds, max(peak[0], usage.ru_maxrss / 1024), max(disk[0], disk_of(home))


def dbt_build(selection: list[str], home: Path, graph: str = "probabilistic",
              exclude: list[str] | None = None) -> list[str]:
    """The command that builds ``selection`` into ``home``'s warehouse (run it in DBT_DIR), on OneID's
    ``graph`` (var identity_graph), leaving out ``exclude``."""
    return [str(Path(sys.executable).parent / "dbt"), "build", "--select", *selection,
            *(["--exclude", *exclude] if exclude else []), "--vars", json.dumps({"identity_graph": graph}),
            "--indirect-selection", "cautious", "--profiles-dir", str(DBT_DIR), "--target-path",
            str(home / "dbt-target"), "--log-path", str(home / "dbt-logs"), "--quiet"]


def _count(home: Path, sql: str) -> int:
    return int(duckdb.connect().execute(sql.format(home=home)).fetchall()[0][0] or 0)


def _warehouse_rows(home: Path, schemas: tuple[str, ...]) -> int:
    with duckdb.connect(str(home / "warehouse" / "quanyu.duckdb"), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables where table_schema in "
                             f"({', '.join(repr(s) for s in schemas)})").fetchall()
        return sum(con.execute(f'select count(*) from "{s}"."{t}"').fetchall()[0][0] for s, t in tables)


def _dense_edges(con: duckdb.DuckDBPyConnection) -> tuple[dict, int]:
    """OneID's edges with each node numbered 0..n-1 in node_num order (node_num is a 60-bit hash,
    macro node_number: the union-find baselines index arrays by node), and n."""
    con.execute("create or replace temp table dense_nodes as select node_num, "
                "cast(row_number() over (order by node_num) - 1 as bigint) as n from identity.int_identity__nodes")
    edges = con.execute("select a.n as src, b.n as dst from identity.int_identity__edges e "
                        "join dense_nodes a on a.node_num = e.src "
                        "join dense_nodes b on b.node_num = e.dst").fetchnumpy()
    return edges, con.execute("select count(*) from dense_nodes").fetchall()[0][0]


def union_find_seconds(home: Path, repeat: int) -> tuple[float, int, int, int]:
    """Median seconds of scipy's connected_components (C union-find/BFS) on OneID's own edges.

    Returns (median seconds, nodes, edges, components); loading the edges is not timed.
    """
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    with duckdb.connect(str(home / "warehouse" / "quanyu.duckdb"), read_only=True) as con:
        edges, nodes = _dense_edges(con)
        expected = con.execute(
            "select count(distinct component_num) from identity.int_identity__components").fetchall()[0][0]
        linkable = con.execute(
            "select count(*) from identity.int_identity__nodes where not is_linkable").fetchall()[0][0]
    src, dst = edges["src"].astype(np.int64), edges["dst"].astype(np.int64)
    timings, components = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(nodes, nodes)).tocsr()
        components, _labels = connected_components(graph, directed=False)
        timings.append(time.perf_counter() - started)
    components -= linkable  # unlinkable nodes are isolated in the matrix but not part of OneID's graph
    if components != expected:
        raise AssertionError(f"union-find found {components} components, OneID {expected}")
    return statistics.median(timings), nodes, len(src), components


def dbt_seconds(run_results: dict, manifest: dict) -> tuple[dict[str, float], dict[str, float]]:
    """dbt's execution seconds of one command per layer (models by folder under models/, seeds, tests,
    unit tests) and per model."""
    layers: dict[str, float] = {}
    models: dict[str, float] = {}
    for result in run_results["results"]:
        unique_id, seconds = result["unique_id"], result["execution_time"]
        node = manifest["nodes"].get(unique_id) or manifest.get("unit_tests", {}).get(unique_id)
        kind = unique_id.split(".", 1)[0]
        if kind == "model" and node is not None:
            layer = node["original_file_path"].split("/")[1]
            models[unique_id.rsplit(".", 1)[1]] = seconds
        else:
            layer = {"seed": "seeds", "test": "tests", "unit_test": "unit tests"}.get(kind, kind)
        layers[layer] = layers.get(layer, 0.0) + seconds
    return dict(sorted(layers.items(), key=lambda kv: -kv[1])), models


def restaged_rows(warehouse: Path, invocation_id: str) -> dict[str, tuple[int, int]]:
    """Per relation with a ``_build_id`` column (the change log of macros/incremental_by_change.sql:
    staging by load, the bridge, the order chain): the rows the dbt run ``invocation_id`` wrote and
    all rows. A full build wrote every row; a nightly only what it restaged."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        relations = con.execute("select table_schema, table_name from information_schema.columns "
                                "where column_name = '_build_id' and table_schema not in ('bi') "
                                "order by 1, 2").fetchall()
        return {f"{schema}.{table}": con.execute(
                    f'select count(*) filter (where _build_id = ?), count(*) from "{schema}"."{table}"',
                    [invocation_id]).fetchone()
                for schema, table in relations}


def dbt_model_seconds(target: Path, model: str) -> float:
    results = json.loads((target / "run_results.json").read_text())
    return sum(r["execution_time"] for r in results["results"] if r["unique_id"].endswith("." + model))


def python_union_find_seconds(home: Path) -> float:
    """Seconds of a plain single-process Python union-find (path halving, union by size)."""
    with duckdb.connect(str(home / "warehouse" / "quanyu.duckdb"), read_only=True) as con:
        edges, nodes = _dense_edges(con)
    # two lists of ints, not a list of tuples: a 10M-member brand has ~67M edges
    sources, targets = edges["src"].tolist(), edges["dst"].tolist()
    del edges
    started = time.perf_counter()
    parent = list(range(nodes + 1))
    size = [1] * (nodes + 1)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(sources, targets):
        ra, rb = find(a), find(b)
        if ra != rb:
            if size[ra] < size[rb]:
                ra, rb = rb, ra
            parent[rb] = ra
            size[ra] += size[rb]
    for x in range(nodes + 1):
        find(x)
    return time.perf_counter() - started


HEADER = (f"{'members':>10}  {'stage':28} {'wall s':>8} {'peak MB':>8} {'rows':>12} {'rows/s':>10} "
          f"{'disk MB':>8}")


def _line(s: Stage) -> str:
    return (f"{s.members:>10,}  {s.stage:28} {s.seconds:>8.1f} {s.peak_rss_mb:>8.0f} {s.rows:>12,} "
            f"{s.rows_per_second:>10,.0f} {s.warehouse_peak_mb:>8,.0f}")


class Results:
    """Figures so far, printed as they come and saved after every stage (a long run that dies keeps them)."""

    def __init__(self, out: Path, name: str = "results.json"):
        self.path = out / name
        self.stages: list[Stage] = []
        self.identity: dict[int, dict] = {}
        self.footprint: dict[int, dict[str, float]] = {}
        out.mkdir(parents=True, exist_ok=True)

    def add(self, stage: Stage) -> None:
        if not self.stages:
            print(HEADER, flush=True)
        self.stages.append(stage)
        print(_line(stage), flush=True)
        self.save()

    def save(self) -> None:
        data = {"stages": [asdict(s) | {"rows_per_second": s.rows_per_second} for s in self.stages],
                "identity": self.identity, "footprint_mb": self.footprint, "cores": os.cpu_count()}
        self.path.write_text(json.dumps(data, indent=2, default=str))


STARTS = ("generate", "ingest", "dbt", "identity", "marts")


def bench(members: int, out: Path, repeat_uf: int, results: Results, start: str, workers: int | None,
          drop_exports: bool = False, drop_lake: bool = False, compact: bool = False) -> None:
    """One brand size through every stage from `start` on (earlier stages' outputs are reused)."""
    home = out / f"m{members}"
    python = sys.executable
    summary_file = home / "truth" / "summary.json"
    footprint = results.footprint.setdefault(members, {})
    dbt_layer = STARTS.index(start) - STARTS.index("dbt")  # the first dbt layer to build; < 0: ingest first
    kept = home / ("lake" if start == "dbt" else "warehouse/quanyu.duckdb")  # what a later layer builds on
    if dbt_layer >= 0 and kept.exists():
        print(f"{members:>10,}  reusing {'the lake' if start == 'dbt' else 'the warehouse'} in {home}", flush=True)
    elif dbt_layer >= 0:
        raise SystemExit(f"--start {start}: nothing to resume from, {kept} does not exist (run an earlier layer first)")
    elif (start == "ingest" and summary_file.exists()
          and json.loads(summary_file.read_text())["arguments"]["members"] == members):
        print(f"{members:>10,}  reusing the exports in {home / 'landing'}", flush=True)
        for folder in ("lake", "warehouse", "dbt-target"):
            shutil.rmtree(home / folder, ignore_errors=True)
    else:
        dbt_layer = -1
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        seconds, rss, _ = run_stage([python, "-m", "demo.generate", "--out", str(home), "--members", str(members)],
                                    home)
        summary = json.loads(summary_file.read_text())
        results.add(Stage(members, "generate exports", seconds, rss, sum(summary["rows_per_table"].values())))

    if dbt_layer < 0:
        env = {"QUANYU_INGEST_WORKERS": str(workers)} if workers else {}
        seconds, rss, _ = run_stage([python, "-m", "orchestration.cli"], home, env=env)
        rows = _count(home, "select sum(rows_read) from read_parquet('{home}/lake/loads/*/*.parquet', "
                            "union_by_name=true)")
        footprint.update(landing=folder_mb(home / "landing"), lake=folder_mb(home / "lake"))
        results.add(Stage(members, "ingest (all channels)", seconds, rss, rows))
        # the floor right after, same files and process count (bench.ingest_floor alternates several)
        floor_seconds, floor_rows = run_floor(floor_files(sorted(load_contracts().values(), key=lambda c: c.table),
                                                          home / "landing"), workers or ingest_workers())
        results.add(Stage(members, "ingest floor (stock readers)", floor_seconds, 0, floor_rows))
        footprint["ingest_over_floor"] = seconds / floor_seconds
        if drop_exports:  # the lake has every row now; only the disk needs the room
            shutil.rmtree(home / "landing")
    if compact and dbt_layer <= 0:
        compact_lake(home, members, results)

    target = home / "dbt-target"
    identity: dict = results.identity.get(members, {})
    for name, selection in list(DBT_LAYERS.items())[max(dbt_layer, 0):]:
        seconds, rss, disk = run_stage(dbt_build(selection, home), home, cwd=DBT_DIR)
        schemas = {"dbt staging": ("staging", "seeds"), "dbt identity (OneID)": ("identity",),
                   "dbt intermediate + marts": ("intermediate", "marts")}[name]
        results.add(Stage(members, name, seconds, rss, _warehouse_rows(home, schemas), disk))
        if name == "dbt staging" and drop_lake:  # staging tables hold every lake row; only the disk needs the room
            if "lake" not in footprint:
                footprint["lake"] = folder_mb(home / "lake")
            shutil.rmtree(home / "lake")
        if name.startswith("dbt identity"):
            identity["identity_stage_seconds"] = seconds
            identity["identity_stage_peak_rss_mb"] = rss
            identity["components_model_seconds"] = dbt_model_seconds(target, "int_identity__components")
            # the baseline of the same run: the identity stage again with exact keys alone, the receiver
            # tier left out (its tables, left by the build above, are read and filtered out by the var);
            # then the models the graph var decides are rebuilt with the default graph for the marts
            seconds, rss, disk = run_stage(dbt_build(selection, home, "deterministic", RECEIVER_TIER), home,
                                           cwd=DBT_DIR)
            results.add(Stage(members, "dbt identity, exact keys only", seconds, rss,
                              _warehouse_rows(home, ("identity",)), disk))
            identity.update(exact_keys_seconds=seconds, exact_keys_peak_rss_mb=rss)
            run_stage(dbt_build(["int_identity__resolved_components+,path:models/identity"], home), home, cwd=DBT_DIR)
    if "lake" not in footprint and (home / "lake").exists():  # measured after ingest already; a 10M walk is slow
        footprint["lake"] = folder_mb(home / "lake")
    footprint["warehouse"] = warehouse_disk_mb(home)
    if "identity_stage_seconds" not in identity:  # identity was built by an earlier run: no stage figures
        results.save()
        return
    uf_seconds, nodes, edges, components = union_find_seconds(home, repeat_uf)
    identity.update({"union_find_seconds": uf_seconds, "nodes": nodes, "edges": edges, "components": components,
                     "python_union_find_seconds": python_union_find_seconds(home)})
    results.identity[members] = identity
    results.save()


def print_identity(results: Results) -> None:
    print(f"\n{'members':>10}  {'nodes':>10} {'edges':>10} {'components':>10} {'SQL CC s':>9} {'py UF s':>8} "
          f"{'ratio':>6} {'scipy s':>8} {'ratio':>6} {'OneID s':>8} {'ratio':>6}")
    for members, e in results.identity.items():
        sql, py, sp, stage = (e["components_model_seconds"], e["python_union_find_seconds"],
                              e["union_find_seconds"], e["identity_stage_seconds"])
        print(f"{members:>10,}  {e['nodes']:>10,} {e['edges']:>10,} {e['components']:>10,} {sql:>9.2f} {py:>8.2f} "
              f"{sql / py:>6.1f} {sp:>8.3f} {sql / sp:>6.0f} {stage:>8.1f} {stage / py:>6.1f}")
    print("SQL CC = OneID's connected-components model; py UF = single-process Python union-find on the same edges; "
          "scipy = compiled C; OneID = the whole identity stage (observations, graph, hubs, components, registry, "
          "record bridge, explanations) as run by dbt.")
    print(f"\n{'members':>10}  {'exact keys s':>12} {'peak MB':>8} {'+ receiver s':>12} {'peak MB':>8} {'ratio':>6}")
    for members, e in results.identity.items():
        if "exact_keys_seconds" in e:
            exact, full = e["exact_keys_seconds"], e["identity_stage_seconds"]
            print(f"{members:>10,}  {exact:>12.1f} {e['exact_keys_peak_rss_mb']:>8.0f} {full:>12.1f} "
                  f"{e.get('identity_stage_peak_rss_mb', 0):>8.0f} {full / exact:>6.2f}")
    print("exact keys = the identity stage without the receiver-match tier on the deterministic graph; + receiver = "
          "the whole stage on the probabilistic graph (issue 18: under 2x at 1M).")


def lake_files(home: Path) -> int:
    return sum(1 for folder in ("raw", "loads") for _ in (home / "lake" / folder).glob("*/*.parquet"))


def compact_lake(home: Path, members: int, results: Results) -> None:
    """Merge the lake's small files into segments (ungated: the benchmark runs no raw gate)."""
    before = lake_files(home)
    seconds, rss, _ = run_stage([sys.executable, "-m", "orchestration.cli", "--compact-only", "--compact-ungated"],
                                home)
    merged = any((home / "lake" / "raw").glob("*/seg-*.parquet"))
    rows = _count(home, "select count(*) from read_parquet('{home}/lake/raw/*/seg-*.parquet', union_by_name=true)") \
        if merged else 0
    results.footprint.setdefault(members, {}).update(lake_files_before=before, lake_files_after=lake_files(home))
    results.add(Stage(members, "compact lake", seconds, rss, rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[100_000])
    parser.add_argument("--out", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--repeat-uf", type=int, default=3)
    parser.add_argument("--start", choices=STARTS, default="generate",
                        help="ingest: keep the exports of an earlier run of the same size; dbt: keep its lake too; "
                             "identity / marts: keep its warehouse too and build from that dbt layer on")
    parser.add_argument("--workers", type=int, help="ingest worker processes (default: the cores)")
    parser.add_argument("--drop-exports", action="store_true",
                        help="delete the generated exports once ingested (a 10M-member brand's are ~36 GB)")
    parser.add_argument("--drop-lake", action="store_true",
                        help="delete the lake once staging is built (a 10M-member brand's is ~9 GB); "
                             "--start dbt cannot resume from that run")
    parser.add_argument("--no-nightly", action="store_true",
                        help="leave out the stage 'nightly (one day)' (bench/nightly.py: build_all, a generated "
                             "next day, build_all again, in a home of its own)")
    parser.add_argument("--compact", action="store_true",
                        help="merge the lake's small files into segments after ingest (with --start dbt: "
                             "compact the kept lake first), as the Dagster raw assets do after their gate")
    args = parser.parse_args(argv)
    results = Results(args.out, "results.json" if args.start == "generate" else f"results-from-{args.start}.json")
    nightly = {}
    for members in args.members:
        bench(members, args.out, args.repeat_uf, results, args.start, args.workers, args.drop_exports, args.drop_lake,
              args.compact)
        if not args.no_nightly:
            from bench.nightly import nightly_stage

            nightly[members] = nightly_stage(members, args.out, results, source=args.out / f"m{members}")
    print("\n" + HEADER)
    for stage in results.stages:
        print(_line(stage))
    print_identity(results)
    print(f"\n{'members':>10}  {'landing MB':>10} {'lake MB':>9} {'warehouse MB':>12}")
    for members, f in results.footprint.items():
        landing = f"{f['landing']:>10,.0f}" if "landing" in f else f"{'-':>10}"
        lake = f"{f['lake']:>9,.0f}" if "lake" in f else f"{'-':>9}"
        files = (f"   lake files {f['lake_files_before']:,} -> {f['lake_files_after']:,} (compacted)"
                 if "lake_files_before" in f else "")
        print(f"{members:>10,}  {landing} {lake} {f['warehouse']:>12,.0f}{files}")
    print("disk MB = the warehouse's peak on disk during the stage (file + DuckDB's spill folder)")
    for members, f in results.footprint.items():
        if "ingest_over_floor" in f:
            print(f"{members:>10,}  ingest / floor {f['ingest_over_floor']:.2f}x (floor: every landing file into Arrow "
                  f"by stock readers, same processes; issue 20: <= 1.3x)")
    for figures in nightly.values():
        print("\n".join(figures.lines()))
    print(f"\nresults: {results.path}; stage logs: {args.out}/m<members>/bench-logs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
