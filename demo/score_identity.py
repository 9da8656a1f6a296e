"""Score OneID against the demo ground truth: pairwise precision, recall and F1 over records.

``python -m demo.score_identity [--truth DIR] [--warehouse FILE]``
``python -m demo.score_identity --generate 100000 --home /tmp/oneid100k [--graph deterministic]``

A pair of records is a true pair when the generator says both belong to one person, and a
predicted pair when the warehouse gives both the same one_id. Records the warehouse leaves
unresolved count as singletons. Records with no true person (walk-in sales, staff, aggregate
tables) are not in the pair universe; how many of them were attached to a member anyway is
reported on its own line.

Two recalls are printed. Against all true pairs; and against the pairs the exports can link
at all: two records of one person are linkable when a chain of that person's records, each
sharing an identifier value with the next (as observed in the warehouse, before any blocking
or hub rule), joins them. A JD order carrying only a pin that no other record has is the same
person in truth, but no system could know it: the second recall measures the resolver, the
first the data.

A third ceiling counts what receiver data can add: two of a person's linkable groups that both
carry receiver data (a name, a phone tail, an address on an order or a registration) could be
joined by a receiver match, so the pairs between them count as reachable; a group with neither a
shared identifier nor receiver data (a WeCom contact with no unionid and no phone, an event of a
customer the contact list no longer shows, an official-account follower without unionid) cannot
be reached by any tier.

--generate N builds a brand of N persons into --home (generate, ingest, the identity layer with
var identity_graph) and scores it: the figures of docs/identity.md. --rebuild builds the identity
layer again on a home --generate made (its lake and truth kept): a model change measured at
100,000 members costs the dbt build (3 minutes), not the generation and ingest (8). --vars adds dbt
vars to either build, e.g. '{"identity_match_tf_leave_pair_out": true}'.
"""
from __future__ import annotations

import argparse
import functools
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

from ingest.settings import paths_from_env

# what --generate builds: the identity layer's outputs and everything upstream
IDENTITY_OUTPUTS = ["+bridge_record_member", "+identity_registry", "+identity_explanations", "+identity_graph_audit",
                    "+identity_limit_violations"]


@dataclass
class Score:
    records: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    persons: int
    members: int
    split_persons: int
    merged_members: int
    strays: int
    linkable_pairs: int = 0
    linkable_correct_pairs: int = 0
    identified_pairs: int = 0  # true pairs between records that carry at least one identifier
    deterministic_predicted_pairs: int = 0
    deterministic_correct_pairs: int = 0
    probabilistic_pairs: int = 0  # pairs joined only by a receiver match
    probabilistic_correct_pairs: int = 0
    evidence_pairs: int = 0  # true pairs joined by shared identifiers or reachable by receiver data

    @property
    def ceiling_recall(self) -> float:
        """Recall if every record with an identifier were linked right: records with none stay alone."""
        return self.identified_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def evidence_recall(self) -> float:
        """Recall if every pair the identifiers or the receiver data can join were joined."""
        return self.evidence_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def deterministic_precision(self) -> float:
        return (self.deterministic_correct_pairs / self.deterministic_predicted_pairs
                if self.deterministic_predicted_pairs else 1.0)

    @property
    def deterministic_recall(self) -> float:
        return self.deterministic_correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def probabilistic_precision(self) -> float:
        """Precision of the pairs that receiver matches alone added."""
        return self.probabilistic_correct_pairs / self.probabilistic_pairs if self.probabilistic_pairs else 1.0

    @property
    def linkable_recall(self) -> float:
        return self.linkable_correct_pairs / self.linkable_pairs if self.linkable_pairs else 1.0

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _load(con: duckdb.DuckDBPyConnection, truth: Path, warehouse: Path) -> None:
    con.execute(f"attach '{warehouse}' as wh (read_only)")
    con.execute(f"""
        create temp table truth as
        select distinct "table" as source_table, record_key, person_id
        from read_parquet('{truth / "records.parquet"}')
        where "table" in (select distinct source_table from wh.identity.bridge_record_member)""")
    con.execute("""
        create temp table scored as
        select t.source_table, t.record_key, t.person_id,
               coalesce(b.one_id, 'unresolved:' || t.source_table || ':' || t.record_key) as one_id
        from truth t
        left join wh.identity.bridge_record_member b
          on b.source_table = t.source_table and b.record_key = t.record_key
        where t.person_id is not null""")


def _linkable_groups(con: duckdb.DuckDBPyConnection) -> None:
    """Label each scored record with its linkable group (union-find over shared identifiers)."""
    rows = con.execute("""
        select s.person_id, n.node_id, s.source_table || ':' || s.record_key as rec
        from scored s
        join wh.identity.int_identity__observation_nodes o
          on o.source_table = s.source_table and o.record_key = s.record_key
        join wh.identity.int_identity__node_stats n on n.node_num = o.node_num
        order by 1, 2, 3""").fetchall()
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    previous: tuple[str, str, str] | None = None
    for person, node, rec in rows:
        parent.setdefault(rec, rec)
        if previous and previous[0] == person and previous[1] == node:
            a, b = find(previous[2]), find(rec)
            if a != b:
                parent[max(a, b)] = min(a, b)
        previous = (person, node, rec)
    con.execute("create temp table linkable (rec varchar, grp varchar)")
    con.executemany("insert into linkable values (?, ?)", [(r, find(r)) for r in parent])
    con.execute("""
        create temp table scored_groups as
        select s.*, coalesce(l.grp, s.source_table || ':' || s.record_key) as grp
        from scored s left join linkable l on l.rec = s.source_table || ':' || s.record_key""")


def _evidence_groups(con: duckdb.DuckDBPyConnection) -> None:
    """Label each linkable record with its evidence group (temp table `evidence`: rec, grp): a
    person's linkable groups that carry receiver data (a record in int_identity__receivers) are
    one group, since a receiver match could join them; the others stay as they are. Needs the
    tables of _linkable_groups."""
    con.execute("""
        create temp table evidence as
        with with_receiver as (
            select distinct g.grp
            from scored_groups g
            join wh.identity.int_identity__receivers r on r.record_name = g.source_table || ':' || g.record_key)
        select l.rec, case when w.grp is null then l.grp else 'receivers:' || s.person_id end as grp
        from linkable l
        join scored_groups s on s.source_table || ':' || s.record_key = l.rec
        left join with_receiver w on w.grp = l.grp""")


# each warehouse record's deterministic member (its int_identity__components component)
_RECORD_COMPONENTS = """(
            select o.source_table, o.record_key, max(c.component_num) as component_num
            from wh.identity.int_identity__observation_epochs o
            join wh.identity.int_identity__components c on c.node_num = o.node_num
            group by o.source_table, o.record_key)"""


def _deterministic(con: duckdb.DuckDBPyConnection, pairs: str) -> tuple[int, int, int, int]:
    """(predicted, correct) pairs of the exact-key graph alone, and (pairs, correct) that receiver
    matches added on top: a record's deterministic member is its int_identity__components component."""
    con.execute(f"""
        create temp table det as
        select s.*, coalesce('d' || cast(d.component_num as varchar), s.one_id) as det_id
        from scored s
        left join {_RECORD_COMPONENTS} d
          on d.source_table = s.source_table and d.record_key = s.record_key""")

    def count(group: str) -> int:
        sql = f"select {pairs} from (select count(*) n from det group by {group})"
        return int(con.execute(sql).fetchall()[0][0] or 0)
    det_predicted, det_correct = count("det_id"), count("person_id, det_id")
    prob_pairs = count("one_id") - count("one_id, det_id")
    prob_correct = count("person_id, one_id") - count("person_id, one_id, det_id")
    return det_predicted, det_correct, prob_pairs, prob_correct


def score(truth: Path, warehouse: Path) -> tuple[Score, list[tuple]]:
    """Compute the score and the largest predicted clusters (one_id, records, true persons)."""
    con = duckdb.connect()
    _load(con, truth, warehouse)
    pairs = "sum(n * (n - 1) / 2)"
    true_pairs = con.execute(f"select {pairs} from (select count(*) n from scored group by person_id)").fetchall()[0][0]
    predicted = con.execute(f"select {pairs} from (select count(*) n from scored group by one_id)").fetchall()[0][0]
    correct = con.execute(
        f"select {pairs} from (select count(*) n from scored group by person_id, one_id)").fetchall()[0][0]
    records, persons, members = con.execute(
        "select count(*), count(distinct person_id), count(distinct one_id) from scored").fetchall()[0]
    split = con.execute("select count(*) from (select person_id from scored group by 1 "
                        "having count(distinct one_id) > 1)").fetchall()[0][0]
    merged = con.execute("select count(*) from (select one_id from scored group by 1 "
                         "having count(distinct person_id) > 1)").fetchall()[0][0]
    strays = con.execute("""
        select count(*) from truth t join wh.identity.bridge_record_member b
          on b.source_table = t.source_table and b.record_key = t.record_key
        where t.person_id is null and b.one_id is not null""").fetchall()[0][0]
    largest = con.execute("""
        select one_id, count(*) as records, count(distinct person_id) as persons
        from scored where one_id not like 'unresolved:%'
        group by one_id order by records desc, one_id limit 10""").fetchall()
    identified = con.execute(f"""
        select {pairs} from (select count(*) n from scored s join wh.identity.bridge_record_member b
          on b.source_table = s.source_table and b.record_key = s.record_key group by s.person_id)""").fetchall()[0][0]
    det_predicted, det_correct, prob_pairs, prob_correct = _deterministic(con, pairs)
    _linkable_groups(con)
    linkable = con.execute(
        f"select {pairs} from (select count(*) n from scored_groups group by person_id, grp)").fetchall()[0][0]
    linkable_correct = con.execute(
        f"select {pairs} from (select count(*) n from scored_groups group by person_id, grp, one_id)").fetchall()[0][0]
    _evidence_groups(con)
    evidence = con.execute(f"""
        select {pairs} from (
            select count(*) n
            from scored_groups s
            left join evidence e on e.rec = s.source_table || ':' || s.record_key
            group by s.person_id, coalesce(e.grp, s.grp))""").fetchall()[0][0]
    result = Score(int(records), int(true_pairs or 0), int(predicted or 0), int(correct or 0), int(persons),
                   int(members), int(split), int(merged), int(strays), int(linkable or 0), int(linkable_correct or 0),
                   int(identified or 0), det_predicted, det_correct, prob_pairs, prob_correct, int(evidence or 0))
    return result, largest


def split_link_groups(a: Any, b: Any, weight: Any, enforced: Any, size: int) -> Any:
    """Per node 0..size-1, its group (named by its smallest node) once the links (a[i], b[i],
    weight[i]) join nodes, as int_identity__probabilistic_links groups the accepted receiver
    matches: connected components; a component holding two or more `enforced` nodes is split as
    links taken strongest first would split it (a link is skipped when each of its ends reaches
    an enforced node by a path of stronger links); a part still holding two enforced nodes (equal
    links, whose order would decide) is refused: its nodes stay alone."""
    import heapq

    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    def smallest_of(links_a: Any, links_b: Any) -> Any:
        graph = coo_matrix((np.ones(len(links_a)), (links_a, links_b)), shape=(size, size))
        _, component = connected_components(graph, directed=False)
        smallest = np.full(component.max() + 1, size, dtype=np.int64)
        np.minimum.at(smallest, component, np.arange(size))
        return smallest[component]

    a, b, weight = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64), np.asarray(weight, dtype=float)
    group = smallest_of(a, b)
    seeds = np.zeros(size, dtype=bool)
    seeds[np.asarray(enforced, dtype=np.int64)] = True
    split = np.bincount(group, weights=seeds, minlength=size)[group] >= 2  # per node
    inside = split[a]
    # how strongly each node of a split group reaches a seed (the widest path from all seeds)
    adjacent: dict[int, list[tuple[int, float]]] = {}
    for x, y, w in zip(a[inside].tolist(), b[inside].tolist(), weight[inside].tolist()):
        adjacent.setdefault(x, []).append((y, w))
        adjacent.setdefault(y, []).append((x, w))
    reach = np.full(size, -np.inf)
    reach[seeds & split] = np.inf
    heap = [(-np.inf, int(node)) for node in np.flatnonzero(seeds & split)]
    while heap:
        negative, node = heapq.heappop(heap)
        if -negative < reach[node]:
            continue
        for other, w in adjacent.get(node, []):
            strength = min(-negative, w)
            if strength > reach[other]:
                reach[other] = strength
                heapq.heappush(heap, (-strength, other))
    kept = inside & ((reach[a] <= weight) | (reach[b] <= weight))
    part = smallest_of(a[kept], b[kept])
    refused = np.bincount(part, weights=seeds, minlength=size)[part] >= 2
    nodes = np.arange(size)
    return np.where(split, np.where(refused, nodes, part), group)


def record_members(con: duckdb.DuckDBPyConnection, *numbered: Any) -> tuple[Any, Any, list[int], Any]:
    """Of a brand `_load` attached to `con`: each scored record's true person (as int64 codes) and
    deterministic member, the members holding an identifier of an enforced type (limit_policy
    'enforce'), and `dense`, the function that turns component numbers into the member codes.

    Members are dense codes 0..n-1 in component_num order (a component is numbered by its
    smallest node number, a 60-bit hash: macro node_number), so they index arrays. The codes cover
    every component of a scored record, of `enforced` and of the arrays `numbered` (pass the
    component numbers you will `dense` later); a record with no component (unresolved) is a member
    of its own, coded above all of them."""
    import numpy as np

    records = con.execute(f"""
        select s.person_id, coalesce(d.component_num, -1) as component_num
        from scored s
        left join {_RECORD_COMPONENTS} d
          on d.source_table = s.source_table and d.record_key = s.record_key""").fetchdf()
    enforced = np.array(sorted(num for (num,) in con.execute("""
        select distinct c.component_num
        from wh.identity.int_identity__components c
        join wh.identity.int_identity__nodes n on n.node_num = c.node_num
        join wh.seeds.identity_identifier_types t on t.identifier_type = n.identifier_type
        where t.limit_policy = 'enforce'""").fetchall()), dtype=np.int64)
    person = records.person_id.astype("category").cat.codes.to_numpy().astype(np.int64)
    numbers = records.component_num.to_numpy(dtype=np.int64)
    loose = numbers < 0
    known = np.unique(np.concatenate([numbers[~loose], enforced,
                                      *(np.asarray(n, dtype=np.int64) for n in numbered)]))

    def dense(nums: Any) -> Any:
        nums = np.asarray(nums, dtype=np.int64)
        codes = np.searchsorted(known, nums)
        inside = codes < len(known)
        if not inside.all() or not (known[codes] == nums).all():
            raise ValueError("a component number record_members was not given (pass it in `numbered`)")
        return codes

    component = np.empty(len(numbers), dtype=np.int64)
    component[~loose] = dense(numbers[~loose])
    component[loose] = len(known) + np.arange(loose.sum())
    return person, component, dense(enforced).tolist(), dense


class CurvePoint(NamedTuple):
    threshold: float
    precision: float
    recall: float
    receiver_pairs: int  # pairs receiver matches alone add
    receiver_precision: float


def phone_differs_below(pairs: Any) -> Any:
    """Per compared pair (columns phone_level, match_probability), whether the build's stricter
    threshold for pairs whose phones disagree (var identity_match_threshold_phone_differs, as
    dbt_project.yml sets it) refuses it whatever identity_match_threshold is."""
    return (pairs.phone_level == "different") & (pairs.match_probability < _phone_differs_threshold())


@functools.cache
def _phone_differs_threshold() -> float:
    import yaml

    project = Path(__file__).resolve().parents[1] / "dbt_project" / "dbt_project.yml"
    return yaml.safe_load(project.read_text(encoding="utf-8"))["vars"]["identity_match_threshold_phone_differs"]


def threshold_curve(truth: Path, warehouse: Path, thresholds: list[float]) -> list[CurvePoint]:
    """Precision and recall at other values of var identity_match_threshold, from one build's
    compared pairs (int_identity__match_pairs) instead of one build per value: the accepted rule
    (a pair at or above the threshold, and at or above the stricter one if its phones disagree,
    that is the best match of one side, ties kept), groups by
    connected components split around the members of an enforced type (split_link_groups), then
    the pairwise figures of `score`. At the build's own threshold it gives `score`'s precision,
    recall and receiver-match figures (tests/identity/test_oneid.py), so a brand reads the
    trade-off of the threshold without rebuilding (a 100,000-member build takes minutes, this a
    few seconds)."""
    import numpy as np

    con = duckdb.connect()
    _load(con, truth, warehouse)
    pairs = con.execute(
        "select a_num, b_num, match_probability, phone_level from wh.identity.int_identity__match_pairs").fetchdf()
    pairs = pairs[~phone_differs_below(pairs)]
    person, component, enforced, dense = record_members(con, pairs.a_num.to_numpy(), pairs.b_num.to_numpy())
    pairs = pairs.assign(a_num=dense(pairs.a_num), b_num=dense(pairs.b_num))
    size = int(component.max()) + 1

    def count_pairs(*keys: np.ndarray) -> int:
        _, n = np.unique(np.stack(keys), axis=1, return_counts=True)
        return int((n * (n - 1) // 2).sum())

    true_pairs = count_pairs(person)
    points = []
    for threshold in thresholds:
        above = pairs[pairs.match_probability >= threshold]
        best_a = above.groupby("a_num").match_probability.transform("max")
        best_b = above.groupby("b_num").match_probability.transform("max")
        accepted = above[(above.match_probability == best_a) | (above.match_probability == best_b)]
        group = split_link_groups(accepted.a_num, accepted.b_num, accepted.match_probability, enforced, size)
        member = group[component]
        predicted, correct = count_pairs(member), count_pairs(person, member)
        added = predicted - count_pairs(member, component)
        added_correct = correct - count_pairs(person, member, component)
        points.append(CurvePoint(threshold, correct / predicted if predicted else 1.0,
                                 correct / true_pairs if true_pairs else 1.0, added,
                                 added_correct / added if added else 1.0))
    return points


def build_identity(home: Path, members: int | None, graph: str,
                   extra_vars: dict | None = None, seed: int | None = None) -> tuple[Path, Path]:
    """Generate a brand of `members` persons into `home`, ingest it and build the identity layer
    with var identity_graph `graph` and `extra_vars`: (truth folder, warehouse file). With
    `members` None, only build the identity layer again on the home's lake (a home --generate made).
    `seed` is the generator's world seed (its default when None): a brand of another seed is the
    held-out data that parameters estimated on this one are checked against."""
    import json

    from tests.dbt_runner import dbt, ingest_all

    if members is None and not (home / "truth" / "records.parquet").exists():
        raise SystemExit(f"--rebuild: {home} holds no generated brand (no truth/records.parquet); "
                         "make one with --generate first")
    paths = paths_from_env({"QUANYU_HOME": str(home)}).ensure()
    if members is not None:
        from demo.generate import DEFAULT_SEED, generate

        for folder in (paths.landing, paths.lake, paths.home / "truth"):
            shutil.rmtree(folder, ignore_errors=True)
        paths.warehouse.unlink(missing_ok=True)
        paths.ensure()
        generate(paths.home, members=members, seed=DEFAULT_SEED if seed is None else seed)
        ingest_all(paths)
    env = {"DBT_TARGET_PATH": str(paths.home / "dbt_target"), "DBT_LOG_PATH": str(paths.home / "dbt_logs")}
    variables = {**(extra_vars or {}), "identity_graph": graph}
    dbt(paths, "build", "--indirect-selection", "cautious", "--vars", json.dumps(variables),
        "--select", *IDENTITY_OUTPUTS, env=env)
    return paths.home / "truth", paths.warehouse


def main(argv: list[str] | None = None) -> int:
    paths = paths_from_env()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", type=Path, default=paths.home / "truth")
    parser.add_argument("--warehouse", type=Path, default=paths.warehouse)
    parser.add_argument("--generate", type=int, metavar="MEMBERS",
                        help="generate a brand of MEMBERS persons into --home, build its identity layer, score it")
    parser.add_argument("--home", type=Path,
                        help="scratch home for --generate (its landing, lake, truth and warehouse are replaced)")
    parser.add_argument("--seed", type=int,
                        help="world seed of the --generate brand (default: the generator's, 20261123)")
    parser.add_argument("--rebuild", action="store_true",
                        help="build the identity layer again on the brand --generate made in --home, then score")
    parser.add_argument("--graph", default="probabilistic", choices=["deterministic", "probabilistic"],
                        help="var identity_graph of the --generate or --rebuild build")
    parser.add_argument("--vars", default="{}", metavar="JSON",
                        help="more dbt vars for the --generate or --rebuild build (a JSON object)")
    parser.add_argument("--curve", metavar="T1,T2,...",
                        help="also print precision and recall at these values of identity_match_threshold, "
                             "simulated from the build's compared pairs")
    args = parser.parse_args(argv)
    import json

    try:
        curve = [float(t) for t in args.curve.split(",")] if args.curve else []
    except ValueError:
        parser.error(f"--curve {args.curve!r}: expected thresholds separated by commas, e.g. 0.5,0.9,0.99")

    try:
        extra_vars = json.loads(args.vars)
    except json.JSONDecodeError as error:
        parser.error(f"--vars {args.vars!r} is not JSON: {error}")
    if not isinstance(extra_vars, dict):
        parser.error(f"--vars {args.vars!r}: expected a JSON object of dbt vars")
    if args.generate and args.rebuild:
        parser.error("--generate and --rebuild exclude each other: --generate builds a new brand, --rebuild "
                     "the identity layer of the one in --home")
    if args.seed is not None and not args.generate:
        parser.error("--seed is the world seed of a brand --generate makes; --rebuild keeps the home's brand")
    if args.generate or args.rebuild:
        if not args.home:
            parser.error("--generate and --rebuild need --home (a scratch folder: --generate replaces its landing, "
                         "lake, truth and warehouse)")
        args.truth, args.warehouse = build_identity(args.home, args.generate or None, args.graph, extra_vars,
                                                    args.seed)
    result, largest = score(args.truth, args.warehouse)
    print(f"records scored        {result.records:>10,}   (with a true person, in tables OneID reads)")
    print(f"true persons          {result.persons:>10,}")
    print(f"predicted members     {result.members:>10,}   (unresolved records count as their own member)")
    print(f"pairwise precision    {result.precision:>10.4f}   "
          f"({result.correct_pairs:,} of {result.predicted_pairs:,} predicted pairs)")
    print(f"pairwise recall       {result.recall:>10.4f}   "
          f"({result.correct_pairs:,} of {result.true_pairs:,} true pairs)")
    print(f"pairwise F1           {result.f1:>10.4f}")
    print(f"recall ceiling        {result.ceiling_recall:>10.4f}   ({result.identified_pairs:,} true pairs between "
          f"records that carry an identifier; the others carry none)")
    print(f"evidence ceiling      {result.evidence_recall:>10.4f}   ({result.evidence_pairs:,} true pairs joined by "
          f"shared identifiers or between groups that both carry receiver data)")
    print(f"exact keys only       precision {result.deterministic_precision:.4f}  recall "
          f"{result.deterministic_recall:.4f}")
    print(f"receiver matches      {result.probabilistic_pairs:>10,}   pairs added, precision "
          f"{result.probabilistic_precision:.4f} (zero when var identity_graph is 'deterministic')")
    print(f"linkable recall       {result.linkable_recall:>10.4f}   ({result.linkable_correct_pairs:,} of "
          f"{result.linkable_pairs:,} true pairs the exports can link)")
    print(f"persons split         {result.split_persons:>10,}   (records of one person under several one_ids)")
    print(f"members over-merged   {result.merged_members:>10,}   (one one_id holding several true persons)")
    print(f"personless records    {result.strays:>10,}   (walk-in/staff records attached to a member)")
    print("largest members: one_id, records, true persons")
    for one_id, records, persons in largest:
        print(f"  {one_id}  {records:>6}  {persons}")
    if curve:
        print("threshold  precision  recall  receiver-match pairs, precision (simulated from the compared pairs)")
        for point in threshold_curve(args.truth, args.warehouse, curve):
            print(f"{point.threshold:<9}  {point.precision:.4f}     {point.recall:.4f}  "
                  f"{point.receiver_pairs:>10,}  {point.receiver_precision:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
