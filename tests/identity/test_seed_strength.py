"""The split of a receiver-match group around its enforced members (macros/identity/seed_strength.sql,
read as int_identity__probabilistic_links reads it) against two references:
demo.score_identity.split_link_groups (the replay the scorer and the oracle use) and Kruskal's
order (links taken strongest first, one skipped only when it would join two enforced members),
which it must equal wherever no two links tie.

The macro runs through dbt on DuckDB in a throwaway project (as test_connected_components.py
runs the components): ``sp_distinct`` holds random groups with distinct link strengths,
``sp_tied`` groups whose strengths come from four values (ties everywhere), ``sp_at_limit`` and
``sp_over_limit`` a seed with a path of links that needs exactly identity_max_iterations rounds
and one more (round r reaches the r-th member of the path; the last round finds nothing new).
"""
from __future__ import annotations

from typing import NamedTuple

import duckdb
import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from demo.identity_oracle import Brand, members_greedy
from demo.score_identity import split_link_groups
from tests.identity.macro_project import MAX_ITERATIONS, Run, run_models, tables

STRIDE = 10_000
MODEL = """\
{{{{ config(post_hook=["{{{{ drop_identity_scratch() }}}}"]) }}}}
{{%- if execute -%}}
    {{%- set result = seed_strength('main.{graph}_edges', 'main.{graph}_seeds', this.identifier ~ '__sp',
                                   var('identity_max_iterations')) -%}}
select node_num, strength, {{{{ result.rounds }}}} as rounds from {{{{ result.relation }}}}
{{%- else -%}}
select 1 as node_num, 1.0 as strength, 0 as rounds
{{%- endif %}}
"""


class Graph(NamedTuple):
    size: int
    edges: np.ndarray  # (m, 2)
    weight: np.ndarray  # (m,) in (0, 1]
    seeds: np.ndarray


def random_graph(seed: int, tied: bool) -> Graph:
    """Groups of 2..60 members, sparse to dense, 1..6 of them enforced, duplicate links, self-loops."""
    rng = np.random.default_rng(seed)
    offset, edges, seeds = 0, [], []
    for _ in range(30):
        n = int(rng.integers(2, 60))
        m = max(1, int(n * rng.choice([0.6, 1.0, 1.5, 3.0])))
        pairs = rng.integers(0, n, size=(m, 2)) + offset
        edges.append(np.vstack([pairs, pairs[rng.random(m) < 0.1][:, ::-1]]))
        seeds.append(offset + rng.choice(n, size=min(n, int(rng.integers(1, 7))), replace=False))
        offset += n
    edges = np.vstack(edges)
    weight = (rng.choice([0.3, 0.5, 0.8, 0.99], size=len(edges)) if tied
              else rng.permutation(len(edges)) / len(edges) * 0.98 + 0.01)
    return Graph(offset, edges, weight, np.concatenate(seeds))


def path_graph(length: int) -> Graph:
    """Seed 0 and members 1..length in a line."""
    nodes = np.arange(length + 1)
    return Graph(length + 1, np.column_stack([nodes[:-1], nodes[1:]]), np.linspace(0.9, 0.5, length), np.array([0]))


GRAPHS = {"sp_distinct": random_graph(1, tied=False), "sp_tied": random_graph(2, tied=True),
          "sp_at_limit": path_graph(MAX_ITERATIONS - 1), "sp_over_limit": path_graph(MAX_ITERATIONS)}


def smallest_of(size: int, edges: np.ndarray) -> np.ndarray:
    """node -> smallest node of its component."""
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(size, size))
    _, component = connected_components(graph, directed=False)
    smallest = np.full(size, size)
    np.minimum.at(smallest, component, np.arange(size))
    return smallest[component]


def groups_from_strengths(graph: Graph, rows: list[tuple]) -> np.ndarray:
    """The model's reading of the macro's result, written again from its SQL: in a group holding
    two seeds a link is kept unless both its ends reach a seed more strongly than it; the parts
    are the components of the kept links; a part still holding two seeds is refused (alone)."""
    group = smallest_of(graph.size, graph.edges)
    seeds = np.zeros(graph.size, dtype=bool)
    seeds[graph.seeds] = True
    split = np.bincount(group, weights=seeds, minlength=graph.size)[group] >= 2
    reach = np.full(graph.size, np.nan)
    for node, strength, in rows:
        reach[node] = strength
    seeded = np.bincount(group, weights=seeds, minlength=graph.size)[group] >= 1
    assert np.isnan(reach[~seeded]).all() and not np.isnan(reach[seeded]).any()  # what reaches a seed, only that
    a, b = graph.edges[:, 0], graph.edges[:, 1]
    kept = split[a] & ((reach[a] <= graph.weight) | (reach[b] <= graph.weight))
    part = smallest_of(graph.size, graph.edges[kept])
    refused = np.bincount(part, weights=seeds, minlength=graph.size)[part] >= 2
    return np.where(split, np.where(refused, np.arange(graph.size), part), group)


def kruskal(graph: Graph) -> np.ndarray:
    """Links strongest first; a link that would join two enforced members is skipped (the oracle's
    members_greedy, each node a member of its own), named by the smallest node of each group."""
    order = np.argsort(-graph.weight, kind="stable")
    brand = Brand(person=np.zeros(graph.size, dtype=np.int64), component=np.arange(graph.size), pairs=None,
                  enforced=graph.seeds, with_receivers=np.arange(graph.size), size=graph.size)
    roots = members_greedy(brand, graph.edges[order, 0], graph.edges[order, 1])
    smallest = np.full(graph.size, graph.size)
    np.minimum.at(smallest, roots, np.arange(graph.size))
    return smallest[roots]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    def load(con):
        for name, graph in GRAPHS.items():
            con.execute(f"create table {name}_seeds as select unnest($1::bigint[]) as node_num", [graph.seeds.tolist()])
            con.execute(f"create table {name}_edges as select unnest($1::bigint[]) as src, "
                        f"unnest($2::bigint[]) as dst, unnest($3::double[]) as weight",
                        [graph.edges[:, 0].tolist(), graph.edges[:, 1].tolist(), graph.weight.tolist()])
    macros = ["seed_strength.sql", "connected_components.sql", "drop_identity_scratch.sql"]  # the scratch helper
    models = {name: MODEL.format(graph=name) for name in GRAPHS}
    return run_models(tmp_path_factory.mktemp("sp_project"), macros, models, load)


def rows_of(run: Run, model: str) -> tuple[list[tuple], set[int]]:
    with duckdb.connect(str(run.database), read_only=True) as con:
        rows = con.execute(f"select node_num, strength, rounds from {model}").fetchall()
    return [(n, w) for n, w, _ in rows], {r for *_, r in rows}


def split(graph: Graph) -> np.ndarray:
    return split_link_groups(graph.edges[:, 0], graph.edges[:, 1], graph.weight, graph.seeds, graph.size)


def seed_counts(graph: Graph, groups: np.ndarray) -> np.ndarray:
    seeds = np.zeros(graph.size, dtype=bool)
    seeds[graph.seeds] = True
    return np.bincount(groups, weights=seeds, minlength=graph.size)


def test_with_distinct_strengths_the_split_is_kruskals_order(run):
    assert run.status["sp_distinct"] == "success", run.message["sp_distinct"]
    graph = GRAPHS["sp_distinct"]
    rows, _ = rows_of(run, "sp_distinct")
    built = groups_from_strengths(graph, rows)
    assert built.tolist() == split(graph).tolist() == kruskal(graph).tolist()
    # the case mattered: groups with several seeds were split into parts of several members each
    assert seed_counts(graph, smallest_of(graph.size, graph.edges)).max() >= 4
    assert seed_counts(graph, built).max() == 1
    assert sum(1 for g in set(built.tolist()) if (built == g).sum() > 3) > 30


def test_with_tied_strengths_no_group_holds_two_seeds_and_untied_parts_are_kept(run):
    assert run.status["sp_tied"] == "success", run.message["sp_tied"]
    graph = GRAPHS["sp_tied"]
    rows, _ = rows_of(run, "sp_tied")
    built = groups_from_strengths(graph, rows)
    assert built.tolist() == split(graph).tolist()
    assert seed_counts(graph, built).max() == 1
    # a part Kruskal's order would build whatever the order of equal links is kept: the parts
    # built here are unions of groups of one order (links of equal strength in input order)
    greedy = kruskal(graph)
    for g in set(built.tolist()):
        assert len(set(greedy[built == g].tolist())) == 1
    assert (built != greedy).any() and sum(1 for g in set(built.tolist()) if (built == g).sum() > 3) > 10


def test_strengths_are_the_weakest_link_of_the_strongest_path(run):
    rows, rounds = rows_of(run, "sp_at_limit")
    assert run.status["sp_at_limit"] == "success", run.message["sp_at_limit"]
    graph = GRAPHS["sp_at_limit"]
    assert rounds == {MAX_ITERATIONS}
    strengths = dict(rows)
    assert strengths[0] == 2.0
    assert [strengths[n] for n in range(1, graph.size)] == pytest.approx(np.minimum.accumulate(graph.weight).tolist())


def test_a_path_one_round_longer_fails_the_build_with_the_macros_message(run):
    assert run.status["sp_over_limit"] == "error"
    assert f"seed_strength did not converge in {MAX_ITERATIONS} rounds for" in run.message["sp_over_limit"]


def test_no_scratch_table_is_left(run):
    assert [t for t in tables(run) if "__sp" in t] == []
