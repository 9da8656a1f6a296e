"""A model incremental by change (macros/incremental_by_change.sql) reads its parents' change log.

The project's own macros run through dbt on DuckDB in a throwaway project: ``parent`` stands in for
a staging model incremental by load (delete+insert of the keys a night touched, each row stamped
with ``_build_id``, keys deleted when they leave the source), ``child`` for int_orders__unioned (one
row per group of parent rows, incremental by change on the group). The nights:

1. both built in full;
2. a run of a few assets builds the parent alone (a value changed, a key added): the child does not run;
3. the parent changes again and the whole project runs: the child must consume both parent builds;
4. rows leave the parent (all of one group, one row of another): the child reads every row once;
5. nothing changes and the whole project runs: the child restages nothing.

After each, the child equals a pandas recomputation from the source, and only the groups whose
parent rows changed carry the last build's id.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.dbt_assets import DBT_PROJECT_DIR, dbt_executable
from tests.identity.macro_project import database, execute, model_project

MACROS = [DBT_PROJECT_DIR / "macros" / "incremental_by_change.sql",
          DBT_PROJECT_DIR / "macros" / "incremental_by_node.sql"]  # carried_incremental

# as a staging model by load: a build that deletes rows notes itself in meta.deletions first
# (macro note_vanished_loads)
PARENT = """{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='k',
                  post_hook=["insert into meta.deletions select '{{ this.schema }}.{{ this.identifier }}', "
                             "'{{ invocation_id }}' where exists (select 1 from {{ this }} "
                             "where k not in (select k from main.src))",
                             "delete from {{ this }} where k not in (select k from main.src)"]) }}
select k, v, {{ build_id() }} as _build_id
from main.src
{% if is_incremental() %}where k in (select k from main.touched){% endif %}
"""

CHILD = """{{ config(**incremental_by_change('g', parents=['parent'], deleted_unless=[('parent', 'k // 10')])) }}
select k // 10 as g, sum(v) as total, count(*) as n, {{ build_id() }} as _build_id
from {{ ref('parent') }}
{%- if is_incremental() %}
where k // 10 in (select changed.k // 10 from {{ ref('parent') }} as changed
                  where {{ unconsumed(ref('parent'), 'changed') }})
{%- endif %}
group by k // 10
"""


def _project(folder: Path) -> Path:
    project = model_project(folder, MACROS, [], {})
    (project / "models" / "parent.sql").write_text(PARENT)
    (project / "models" / "child.sql").write_text(CHILD)
    execute(project, "create schema if not exists meta")
    execute(project, "create table meta.consumed_builds (model varchar, parent varchar, build_id varchar)")
    execute(project, "create table meta.deletions (model varchar, build_id varchar)")
    return project


def _load(project: Path, src: pd.DataFrame, touched: set[int]) -> None:
    with duckdb.connect(str(database(project))) as con:
        con.register("frame", src)
        con.execute("create or replace table main.src as select k::bigint as k, v::bigint as v from frame")
        con.execute("create or replace table main.touched (k bigint)")
        if touched:
            con.execute(f"insert into main.touched values {', '.join(f'({k})' for k in sorted(touched))}")


def _run(project: Path, *select: str) -> str:
    """`dbt run` (of ``select`` only when given); returns the run's invocation id."""
    command = [dbt_executable(), "run", "--project-dir", str(project), "--profiles-dir", str(project)]
    result = subprocess.run(command + (["--select", *select] if select else []), cwd=project,
                            capture_output=True, text=True, timeout=300)
    results = json.loads((project / "target" / "run_results.json").read_text(encoding="utf-8"))
    assert result.returncode == 0, result.stdout[-4000:]
    return results["metadata"]["invocation_id"]


def _child(project: Path) -> pd.DataFrame:
    with duckdb.connect(str(database(project)), read_only=True) as con:
        return con.execute("select g, total, n, _build_id from main.child order by g").df()


def _expected(src: pd.DataFrame) -> pd.DataFrame:
    grouped = src.assign(g=src.k // 10).groupby("g").agg(total=("v", "sum"), n=("v", "size")).reset_index()
    return grouped.sort_values("g").reset_index(drop=True)


def _check(project: Path, src: pd.DataFrame) -> pd.DataFrame:
    child = _child(project)
    pd.testing.assert_frame_equal(child[["g", "total", "n"]].astype("int64"), _expected(src).astype("int64"))
    return child


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    project = _project(tmp_path_factory.mktemp("by_change") / "project")
    src = pd.DataFrame({"k": range(100), "v": range(100)})
    _load(project, src, set())
    record = {"first": _run(project)}
    record["child1"] = _check(project, src)

    # night 2: a run of the parent alone (the UI's "Materialize selected"): group 1 changed, group 10 new
    src2 = pd.concat([src, pd.DataFrame({"k": [105], "v": [7]})], ignore_index=True)
    src2.loc[src2.k == 12, "v"] = 1000
    _load(project, src2, {12, 105})
    record["parent_only"] = _run(project, "parent")
    record["child_after_parent_only"] = _child(project)

    # night 3: the parent changes again (group 7), the whole project runs
    src3 = src2.copy()
    src3.loc[src3.k == 71, "v"] = -5
    _load(project, src3, {71})
    record["third"] = _run(project)
    record["child3"] = _check(project, src3)

    # night 4: rows leave the parent: all of group 3, one key of group 5 (its other rows unchanged)
    src4 = src3[~src3.k.between(30, 39) & (src3.k != 55)]
    _load(project, src4, set())
    record["fourth"] = _run(project)
    record["child4"] = _check(project, src4)

    # night 5: nothing new
    record["fifth"] = _run(project)
    record["child5"] = _check(project, src4)
    with duckdb.connect(str(database(project)), read_only=True) as con:
        record["consumed"] = con.execute("select model, parent, build_id from meta.consumed_builds").fetchall()
        record["deletions"] = con.execute("select model, build_id from meta.deletions").fetchall()
    return record


def _restaged(child: pd.DataFrame, build: str) -> set[int]:
    return set(child.g[child._build_id == build])


def test_the_first_build_reads_every_parent_row(nights):
    assert set(nights["child1"]._build_id) == {nights["first"]}


def test_a_run_of_the_parent_alone_leaves_the_child_untouched(nights):
    assert nights["child_after_parent_only"].equals(nights["child1"])


def test_the_next_build_consumes_every_build_the_child_missed(nights):
    """Groups 1 and 10 changed in the parent-only run, group 7 in the third: the child equals the
    recomputation (checked in the fixture) and restaged exactly those three."""
    child = nights["child3"]
    assert _restaged(child, nights["third"]) == {1, 7, 10}
    assert set(child._build_id[~child.g.isin({1, 7, 10})]) == {nights["first"]}


def test_a_build_after_deleted_parent_rows_restages_every_key_once(nights):
    """Group 5 lost one row and kept the others: no changed row names it, so the child reads every
    parent row after a build that deleted some (meta.deletions); group 3 has no row left: deleted, and
    the child notes its own deletion for its children."""
    child = nights["child4"]
    assert sorted((m.split(".")[-1], b) for m, b in nights["deletions"]) == [("child", nights["fourth"]),
                                                                             ("parent", nights["fourth"])]
    assert 3 not in set(child.g)
    assert _restaged(child, nights["fourth"]) == set(child.g)
    assert child.loc[child.g == 5, "n"].item() == 9


def test_a_build_with_nothing_new_restages_nothing(nights):
    child = nights["child5"]
    assert nights["fifth"] not in set(child._build_id)
    assert child.equals(nights["child4"])


def test_the_record_names_the_builds_the_parent_holds_and_its_deletions(nights):
    """After the fifth build the parent's rows were written by the first, the parent-only, the third
    builds (the fourth wrote none, it deleted): the child's record is those and the fourth, no more."""
    assert {(m.split(".")[-1], p.split(".")[-1]) for m, p, _ in nights["consumed"]} == {("child", "parent")}
    assert {b for *_, b in nights["consumed"]} == {nights["first"], nights["parent_only"], nights["third"],
                                                   nights["fourth"]}
