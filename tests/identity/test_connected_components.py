"""OneID's connected components (macros/identity/connected_components.sql) against scipy.

The macro itself runs, through dbt on DuckDB, in a throwaway dbt project whose macros folder
links the project's two identity macros (the components and the scratch-table post-hook that
int_identity__components uses). One `dbt run` builds three test models at once:

* ``cc_random``: many random graphs (sparse and dense, isolated nodes, self-loops, duplicate
  edges in both directions), each graph's nodes offset by ``graph id * STRIDE`` so that the
  graphs share one edge table and one macro call; compared with
  ``scipy.sparse.csgraph.connected_components`` as partitions, and every label must be the
  smallest node of its component (the contract int_identity__components relies on);
* ``cc_at_limit`` and ``cc_over_limit``: paths that need exactly ``identity_max_iterations``
  rounds (read from dbt_project.yml) and one more. In the path ``0 - k - (k-1) - ... - 1``
  pointer jumping never helps (every label points at a node whose own label is only one
  better), so a path of k nodes takes k rounds: k-1 that lower a label and the empty one that
  proves convergence. At the limit the build converges; one node more must fail with the
  macro's message.
"""
from __future__ import annotations

from typing import NamedTuple

import duckdb
import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from tests.identity.macro_project import MAX_ITERATIONS, Run, run_models, tables

STRIDE = 1_000_000  # graph g's nodes are g * STRIDE + 0 .. n-1
MODEL = """\
{{{{ config(post_hook=["{{{{ drop_identity_scratch() }}}}"]) }}}}
{{%- if execute -%}}
    {{%- set result = connected_components('main.{graph}_edges', 'main.{graph}_nodes', this.identifier ~ '__cc',
                                          var('identity_max_iterations')) -%}}
select node_num, label, {{{{ result.rounds }}}} as rounds from {{{{ result.relation }}}}
{{%- else -%}}
select 1 as node_num, 1 as label, 0 as rounds
{{%- endif %}}
"""


class Graph(NamedTuple):
    nodes: np.ndarray  # every node, isolated ones included
    edges: np.ndarray  # (m, 2) src, dst; self-loops and duplicates allowed


def random_graph(seed: int, gid: int) -> Graph:
    """A graph with the quirks of real identifier graphs: duplicates, both directions, self-loops."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    density = [0.3, 1.0, 3.0, 20.0][seed % 4]  # mean degree: mostly isolated .. one giant component
    m = max(1, int(n * density / 2))
    edges = rng.integers(0, n, size=(m, 2))
    duplicates = edges[rng.random(m) < 0.2]
    edges = np.vstack([edges, duplicates, duplicates[:, ::-1], np.repeat(rng.integers(0, n, 3)[:, None], 2, axis=1)])
    # a random numbering, so that the smallest node of a component is anywhere in it
    perm = rng.permutation(n)
    return Graph(gid * STRIDE + np.arange(n), gid * STRIDE + perm[edges])


def slow_path(k: int, offset: int = 0) -> Graph:
    """``0 - k-1 - k-2 - ... - 1``: a path of k nodes that needs k rounds (see the module docstring)."""
    order = np.array([0, *range(k - 1, 0, -1)]) + offset
    return Graph(np.arange(k) + offset, np.column_stack([order[:-1], order[1:]]))


def union(graphs: list[Graph]) -> Graph:
    return Graph(np.concatenate([g.nodes for g in graphs]), np.vstack([g.edges for g in graphs]))


def expected_components(graph: Graph) -> dict[int, int]:
    """node -> smallest node of its component, by scipy."""
    index = {int(v): i for i, v in enumerate(graph.nodes)}
    src = np.array([index[int(v)] for v in graph.edges[:, 0]])
    dst = np.array([index[int(v)] for v in graph.edges[:, 1]])
    n = len(graph.nodes)
    _, labels = scipy_components(coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)), directed=False)
    smallest: dict[int, int] = {}
    for node, component in zip(graph.nodes, labels):
        smallest[component] = min(smallest.get(component, int(node)), int(node))
    return {int(node): smallest[component] for node, component in zip(graph.nodes, labels)}


def partition(labels: dict[int, int]) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for node, label in labels.items():
        groups.setdefault(label, set()).add(node)
    return {frozenset(g) for g in groups.values()}


GRAPHS = {
    "cc_random": union([random_graph(seed, gid) for gid, seed in enumerate(range(24))]
                       # lone nodes only, and a graph whose only edges are self-loops
                       + [Graph(24 * STRIDE + np.arange(5), np.empty((0, 2), dtype=int)),
                          Graph(25 * STRIDE + np.arange(3), 25 * STRIDE + np.array([[0, 0], [2, 2]]))]),
    # the longest path sits next to shorter ones: rounds are those of the slowest component
    "cc_at_limit": union([slow_path(MAX_ITERATIONS), slow_path(MAX_ITERATIONS - 1, STRIDE), slow_path(3, 2 * STRIDE)]),
    "cc_over_limit": slow_path(MAX_ITERATIONS + 1),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    def load(con):
        for name, graph in GRAPHS.items():
            con.execute(f"create table {name}_nodes as select unnest($1::bigint[]) as node_num", [graph.nodes.tolist()])
            con.execute(f"create table {name}_edges as select unnest($1::bigint[]) as src, unnest($2::bigint[]) as dst",
                        [graph.edges[:, 0].tolist(), graph.edges[:, 1].tolist()])
    return run_models(tmp_path_factory.mktemp("cc_project"), ["connected_components.sql", "drop_identity_scratch.sql"],
                      {name: MODEL.format(graph=name) for name in GRAPHS}, load)


def labels_of(run: Run, model: str) -> tuple[dict[int, int], set[int]]:
    with duckdb.connect(str(run.database), read_only=True) as con:
        rows = con.execute(f"select node_num, label, rounds from {model}").fetchall()
    return {node: label for node, label, _ in rows}, {rounds for _, _, rounds in rows}


def test_random_graphs_have_scipys_components_labelled_by_their_smallest_node(run):
    assert run.status["cc_random"] == "success", run.message["cc_random"]
    labels, _ = labels_of(run, "cc_random")
    expected = expected_components(GRAPHS["cc_random"])
    assert set(labels) == set(expected)  # every node once, isolated and self-looped ones included
    assert partition(labels) == partition(expected)
    assert labels == expected
    sizes = sorted((len(c) for c in partition(expected)), reverse=True)
    assert sizes[0] > 300 and sizes.count(1) > 100  # giant components and many lone nodes were both tested


def test_a_path_needing_exactly_max_iterations_rounds_converges(run):
    assert run.status["cc_at_limit"] == "success", run.message["cc_at_limit"]
    labels, rounds = labels_of(run, "cc_at_limit")
    assert rounds == {MAX_ITERATIONS}
    assert labels == expected_components(GRAPHS["cc_at_limit"])


def test_a_path_one_round_longer_fails_the_build_with_the_macros_message(run):
    assert run.status["cc_over_limit"] == "error"
    assert (f"connected_components did not converge in {MAX_ITERATIONS} rounds for" in run.message["cc_over_limit"]
            and "raise identity_max_iterations or look for a hub" in run.message["cc_over_limit"])


def scratch_tables(run: Run) -> list[str]:
    return sorted(t for t in tables(run) if "__cc" in t)


def test_a_converged_run_leaves_no_scratch_table(run):
    assert not [t for t in scratch_tables(run) if not t.startswith("cc_over_limit")]


def test_a_failed_run_leaves_no_scratch_table(run):
    assert scratch_tables(run) == []
