"""End-to-end benchmark: generate a brand, ingest it, build OneID and the marts; per stage
wall time, peak memory and rows per second; OneID's connected components against a
single-process union-find on the same edges (scipy's compiled connected_components,
and a plain Python union-find).

``python -m bench.run --members 100000 1000000 [--out DIR] [--repeat-uf 3]``

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
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
DBT_DIR = REPO / "dbt_project"
DBT_LAYERS = {
    "dbt staging": ["resource_type:seed", "path:models/staging"],
    "dbt identity (OneID)": ["path:models/identity"],
    "dbt intermediate + marts": ["path:models/intermediate", "path:models/marts"],
}


@dataclass
class Stage:
    members: int
    stage: str
    seconds: float
    peak_rss_mb: float
    rows: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _env(home: Path) -> dict[str, str]:
    env = os.environ.copy()
    env.update({"QUANYU_HOME": str(home), "QUANYU_LANDING": str(home / "landing"),
                "QUANYU_LAKE": str(home / "lake"), "QUANYU_WAREHOUSE": str(home / "warehouse" / "quanyu.duckdb")})
    return env


def run_stage(command: list[str], home: Path, cwd: Path = REPO) -> tuple[float, float]:
    """Run one stage in its own process: (wall seconds, peak RSS in MB of it and its children)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"stage failed: {' '.join(command)}\n{output.decode(errors='replace')[-4000:]}")
    return seconds, usage.ru_maxrss / 1024


def _count(home: Path, sql: str) -> int:
    return int(duckdb.connect().execute(sql.format(home=home)).fetchall()[0][0] or 0)


def _warehouse_rows(home: Path, schemas: tuple[str, ...]) -> int:
    with duckdb.connect(str(home / "warehouse" / "quanyu.duckdb"), read_only=True) as con:
        tables = con.execute("select table_schema, table_name from information_schema.tables where table_schema in "
                             f"({', '.join(repr(s) for s in schemas)})").fetchall()
        return sum(con.execute(f'select count(*) from "{s}"."{t}"').fetchall()[0][0] for s, t in tables)


def union_find_seconds(home: Path, repeat: int) -> tuple[float, int, int, int]:
    """Median seconds of scipy's connected_components (C union-find/BFS) on OneID's own edges.

    Returns (median seconds, nodes, edges, components); loading the edges is not timed.
    """
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    with duckdb.connect(str(home / "warehouse" / "quanyu.duckdb"), read_only=True) as con:
        edges = con.execute("select src, dst from identity.int_identity__edges").fetchnumpy()
        nodes = con.execute("select max(node_num) from identity.int_identity__nodes").fetchall()[0][0]
        expected = con.execute("select count(distinct component_num) from identity.int_identity__components").fetchall()[0][0]
        linkable = con.execute("select count(*) from identity.int_identity__nodes where not is_linkable").fetchall()[0][0]
    src, dst = edges["src"].astype(np.int64) - 1, edges["dst"].astype(np.int64) - 1
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


def dbt_model_seconds(model: str) -> float:
    results = json.loads((DBT_DIR / "target" / "run_results.json").read_text())
    return sum(r["execution_time"] for r in results["results"] if r["unique_id"].endswith("." + model))


def python_union_find_seconds(home: Path) -> float:
    """Seconds of a plain single-process Python union-find (path halving, union by size)."""
    with duckdb.connect(str(home / "warehouse" / "quanyu.duckdb"), read_only=True) as con:
        edges = con.execute("select src, dst from identity.int_identity__edges").fetchall()
        nodes = con.execute("select max(node_num) from identity.int_identity__nodes").fetchall()[0][0]
    started = time.perf_counter()
    parent = list(range(nodes + 1))
    size = [1] * (nodes + 1)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            if size[ra] < size[rb]:
                ra, rb = rb, ra
            parent[rb] = ra
            size[ra] += size[rb]
    for x in range(nodes + 1):
        find(x)
    return time.perf_counter() - started


def bench(members: int, out: Path, repeat_uf: int) -> tuple[list[Stage], dict]:
    home = out / f"m{members}"
    shutil.rmtree(home, ignore_errors=True)
    python = sys.executable
    dbt = str(Path(python).parent / "dbt")
    stages: list[Stage] = []

    seconds, rss = run_stage([python, "-m", "demo.generate", "--out", str(home), "--members", str(members)], home)
    summary = json.loads((home / "truth" / "summary.json").read_text())
    rows = sum(v for v in summary.get("rows_per_table", summary.get("rows", {})).values() if isinstance(v, int))
    stages.append(Stage(members, "generate exports", seconds, rss, rows))

    seconds, rss = run_stage([python, "-m", "ingest.cli"], home)
    rows = _count(home, "select sum(rows_read) from read_parquet('{home}/lake/loads/*/*.parquet', union_by_name=true)")
    stages.append(Stage(members, "ingest (all channels)", seconds, rss, rows))

    identity_extra: dict = {}
    for name, selection in DBT_LAYERS.items():
        seconds, rss = run_stage([dbt, "build", "--select", *selection, "--indirect-selection", "cautious",
                                  "--profiles-dir", str(DBT_DIR), "--quiet"], home, cwd=DBT_DIR)
        schemas = {"dbt staging": ("staging", "seeds"), "dbt identity (OneID)": ("identity",),
                   "dbt intermediate + marts": ("intermediate", "marts")}[name]
        stages.append(Stage(members, name, seconds, rss, _warehouse_rows(home, schemas)))
        if name.startswith("dbt identity"):
            identity_extra["components_model_seconds"] = dbt_model_seconds("int_identity__components")
    uf_seconds, nodes, edges, components = union_find_seconds(home, repeat_uf)
    identity_extra.update({"union_find_seconds": uf_seconds, "nodes": nodes, "edges": edges, "components": components,
                           "python_union_find_seconds": python_union_find_seconds(home)})
    return stages, identity_extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[100_000])
    parser.add_argument("--out", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--repeat-uf", type=int, default=3)
    args = parser.parse_args(argv)
    all_stages, extras = [], {}
    for members in args.members:
        stages, extra = bench(members, args.out, args.repeat_uf)
        all_stages += stages
        extras[members] = extra
    print(f"\n{'members':>10}  {'stage':28} {'wall s':>8} {'peak MB':>8} {'rows':>12} {'rows/s':>10}")
    for s in all_stages:
        print(f"{s.members:>10,}  {s.stage:28} {s.seconds:>8.1f} {s.peak_rss_mb:>8.0f} {s.rows:>12,} {s.rows_per_second:>10,.0f}")
    print(f"\n{'members':>10}  {'nodes':>10} {'edges':>10} {'components':>10} {'SQL CC s':>9} "
          f"{'scipy UF s':>10} {'ratio':>6} {'python UF s':>11} {'ratio':>6}")
    for members, e in extras.items():
        sql = e["components_model_seconds"]
        print(f"{members:>10,}  {e['nodes']:>10,} {e['edges']:>10,} {e['components']:>10,} {sql:>9.2f} "
              f"{e['union_find_seconds']:>10.3f} {sql / e['union_find_seconds']:>6.1f} "
              f"{e['python_union_find_seconds']:>11.2f} {sql / e['python_union_find_seconds']:>6.1f}")
    results = {"stages": [asdict(s) | {"rows_per_second": s.rows_per_second} for s in all_stages], "identity": extras}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
