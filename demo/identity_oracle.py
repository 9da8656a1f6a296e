"""The recall ceiling of the receiver-match tier's evidence: an oracle scorer over its comparison vectors.

``python -m demo.identity_oracle --train HOME_A --score HOME_B [--fine] [--greedy] [--build-scores]``

The build scores each candidate pair of deterministic members (int_identity__match_pairs) with a
Fellegi-Sunter model whose m is set by hand in a seed. Whether a better scoring could reach the
issue's recall target is a question about the evidence, not about those m values: this module
answers it with an oracle. Every candidate pair has a comparison vector (its name, phone and
address levels; with --fine also each part's weight in 2-bit bins, which carries the term
frequency of the agreed values). The oracle learns, from the ground truth of ANOTHER generated
brand (HOME_A, another world seed, the same size: the prior odds of a pair depend on the size),
how often each vector is a true pair among the candidates, and ranks HOME_B's pairs by that
share (the likelihood ratio up to the brand's prior, which is one constant per brand; the
build's own probability breaks ties inside a vector). It then takes links in that order through
the build's rules (a pair is accepted when it is the best of one side, groups by connected
components split around the members of an enforced type: the replay of
demo.score_identity.threshold_curve) and prints the precision-recall curve of HOME_B.

A vector HOME_A never saw falls back to its levels alone, then to the build's probability. With
``--train`` equal to ``--score`` the oracle is fitted on the brand it scores (in-sample): an
upper bound no scoring of these vectors can beat, since it knows every cell's true share.

It also prints the blocking ceiling: the recall if exactly the true candidate pairs were
accepted (a perfect scorer of the pairs blocking produces), with and without the split around
enforced members, and the true pairs blocking never makes candidates; and, at the best point of the
curve that keeps the issue's precision (0.995 overall, 0.99 for receiver matches alone), the
true pairs still apart, by class.

Variants, to see which rule binds: --fine (weights in the vector), --bits, --weigh-records (a
vector's share counted in record pairs), --all-above (no best-of-one-side rule), --greedy (links
join strongest first and only the one that would join two enforced members is skipped: the build's
split but with ties broken by the links' order) and --build-scores (the build's own probabilities through the same
replay). Figures and commands: docs/identity.md, "The ceiling of the scoring".
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NamedTuple

import duckdb
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from demo.score_identity import _load, phone_differs_below, record_members, split_link_groups
from ingest.settings import paths_from_env

LEVELS = ["name_level", "phone_level", "address_level"]
WEIGHTS = ["name_weight", "phone_weight", "address_weight"]


class Brand(NamedTuple):
    """One built brand: its scored records, compared pairs (labelled), enforced members, members with receiver data."""
    person: np.ndarray  # per scored record, its true person (codes)
    component: np.ndarray  # per scored record, its deterministic member (unresolved records get their own)
    pairs: pd.DataFrame  # a_num, b_num (member codes), levels, weights, match_probability, is_true
    enforced: np.ndarray  # member codes holding an enforced identifier type
    with_receivers: np.ndarray  # member codes with a receiver profile
    size: int  # one more than the largest member code (record_members: dense codes in component_num order)


class Point(NamedTuple):
    cut: float
    precision: float
    recall: float
    receiver_pairs: int
    receiver_precision: float


def load_brand(truth: Path, warehouse: Path) -> Brand:
    """Read a built brand (the generator's truth folder and the warehouse): the records, and the
    compared pairs labelled true when the two deterministic members' majority persons agree."""
    con = duckdb.connect()
    _load(con, truth, warehouse)
    pairs = con.execute("select * from wh.identity.int_identity__match_pairs").fetchdf()
    with_receivers = np.array([n for (n,) in con.execute(
        "select component_num from wh.identity.int_identity__receiver_profiles").fetchall()], dtype=np.int64)
    person, component, enforced_list, dense = record_members(con, pairs.a_num.to_numpy(), pairs.b_num.to_numpy(),
                                                             with_receivers)
    pairs = pairs.assign(a_num=dense(pairs.a_num), b_num=dense(pairs.b_num))
    with_receivers = dense(with_receivers)
    enforced = np.array(enforced_list, dtype=np.int64)
    size = int(component.max()) + 1
    # majority person of each component (ties: the smaller person code)
    counts = pd.DataFrame({"c": component, "p": person}).value_counts().reset_index(name="n")
    majority = counts.sort_values(["c", "n", "p"], ascending=[True, False, True]).drop_duplicates("c")
    owner = np.full(size, -1, dtype=np.int64)
    owner[majority.c.to_numpy()] = majority.p.to_numpy()
    pairs["is_true"] = (owner[pairs.a_num.to_numpy()] == owner[pairs.b_num.to_numpy()]) & (
        owner[pairs.a_num.to_numpy()] >= 0)
    records_of = np.bincount(component, minlength=size)
    pairs["record_pairs"] = records_of[pairs.a_num.to_numpy()] * records_of[pairs.b_num.to_numpy()]
    for column in LEVELS:
        pairs[column] = pairs[column].fillna("missing")
    return Brand(person, component, pairs, enforced, with_receivers, size)


def _cells(pairs: pd.DataFrame, fine: bool, bits: float = 2.0) -> pd.Series:
    """The comparison vector of each pair as one string: levels, and with `fine` each weight in `bits`-bit bins."""
    key = pairs[LEVELS[0]] + "|" + pairs[LEVELS[1]] + "|" + pairs[LEVELS[2]]
    if fine:
        for column in WEIGHTS:
            key = key + "|" + np.floor(pairs[column].to_numpy() / bits).astype(int).astype(str)
    return key


def oracle_scores(train: pd.DataFrame, score: pd.DataFrame, fine: bool, bits: float = 2.0,
                  weight: str | None = None) -> np.ndarray:
    """Per pair of `score`, the share of true pairs among `train`'s pairs of the same comparison
    vector (Jeffreys-smoothed, (true + 0.5) / (n + 1)); unseen fine vectors fall back to their
    levels, unseen levels to the build's probability. With `weight` (a column of `train`), the
    share counts each pair that many times (the record pairs it would join)."""
    train = train.assign(w=train[weight] if weight else 1.0)
    train = train.assign(tw=train.w * train.is_true)
    coarse_train = train.assign(cell=_cells(train, False)).groupby("cell")[["tw", "w"]].sum()
    coarse = ((coarse_train.tw + 0.5) / (coarse_train.w + 1)).to_dict()
    result = _cells(score, False).map(coarse)
    if fine:
        fine_train = train.assign(cell=_cells(train, True, bits)).groupby("cell")[["tw", "w"]].sum()
        fine_share = ((fine_train.tw + 0.5) / (fine_train.w + 1)).to_dict()
        result = _cells(score, True, bits).map(fine_share).fillna(result)
    return result.fillna(score.match_probability).to_numpy(dtype=float)


def _count_pairs(*keys: np.ndarray) -> int:
    """Pairs of records agreeing on every key array (non-negative integers)."""
    combined = keys[0].astype(np.int64)
    for key in keys[1:]:
        combined = pd.factorize(combined)[0].astype(np.int64) * (int(key.max()) + 1) + key
    n = np.bincount(pd.factorize(combined)[0])
    return int((n * (n - 1) // 2).sum())


def members_after(brand: Brand, a: np.ndarray, b: np.ndarray, weight: np.ndarray | None = None,
                  refuse: bool = True) -> np.ndarray:
    """Per record, its member once the links (a, b) join deterministic members: connected
    components split around the enforced members by the links' `weight` (split_link_groups, the
    build's rule; all links equally strong when None); with refuse=False not split."""
    if refuse:
        weight = np.ones(len(a)) if weight is None else weight
        return split_link_groups(a, b, weight, brand.enforced, brand.size)[brand.component]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(brand.size, brand.size))
    _, group = connected_components(graph, directed=False)
    return group[brand.component]


def members_greedy(brand: Brand, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per record, its member when the links (a, b), strongest first, join deterministic members
    one by one and a link that would put two enforced members into one group is skipped (the
    group keeps its other links). The build's rule (members_after) gives the same groups except
    where two enforced members reach a member equally strongly (it leaves that member alone, the
    order of the tied links decides here): the variant measures what that costs."""
    parent = np.arange(brand.size)
    holders = np.zeros(brand.size, dtype=np.int64)
    holders[brand.enforced] = 1

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(a.tolist(), b.tolist()):
        rx, ry = root(x), root(y)
        if rx != ry and holders[rx] + holders[ry] < 2:
            parent[max(rx, ry)] = min(rx, ry)
            holders[min(rx, ry)] += holders[max(rx, ry)]
    return np.array([root(x) for x in range(brand.size)])[brand.component]


def accept(pairs: pd.DataFrame, score: np.ndarray, cut: float, best_only: bool = True) -> pd.DataFrame:
    """The build's accepted rule at a cut of `score`: pairs at or above it (and not refused by the
    stricter threshold for disagreeing phones) that are the best of one side (by score, then the
    build's probability; ties kept, as rank() keeps them)."""
    above = pairs.assign(score=score)
    above = above[(above.score >= cut) & ~phone_differs_below(above)]
    if not best_only:
        return above
    sc, mp = above.score.to_numpy(), above.match_probability.to_numpy()
    order = np.lexsort((-mp, -sc))
    new = np.r_[True, (sc[order][1:] != sc[order][:-1]) | (mp[order][1:] != mp[order][:-1])]
    dense = np.empty(len(order), dtype=np.int64)
    dense[order] = np.cumsum(new)
    rank = pd.Series(dense, index=above.index)
    best_a = rank.groupby(above.a_num).transform("min")
    best_b = rank.groupby(above.b_num).transform("min")
    return above[(rank == best_a) | (rank == best_b)]


def strength(links: pd.DataFrame) -> np.ndarray:
    """One number per link ordering the links as the replay ranks them (its score, then the
    build's probability): the weight the build's split of a group compares."""
    sc, mp = links.score.to_numpy(), links.match_probability.to_numpy()
    order = np.lexsort((mp, sc))
    new = np.r_[True, (sc[order][1:] != sc[order][:-1]) | (mp[order][1:] != mp[order][:-1])]
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.cumsum(new)
    return rank


def replay(brand: Brand, score: np.ndarray, cuts: list[float], best_only: bool = True,
           greedy: bool = False) -> list[Point]:
    """The build's link rules at each cut of `score` (accept, group, split), then pairwise
    precision, recall and the receiver-match figures, as demo.score_identity.threshold_curve.
    With `greedy`, accepted links join strongest first and only the one that would join two
    enforced members is skipped (members_greedy)."""
    true_pairs = _count_pairs(brand.person)
    points = []
    for cut in cuts:
        accepted = accept(brand.pairs, score, cut, best_only)
        if greedy:
            accepted = accepted.sort_values(["score", "match_probability"], ascending=False, kind="stable")
            member = members_greedy(brand, accepted.a_num.to_numpy(), accepted.b_num.to_numpy())
        else:
            member = members_after(brand, accepted.a_num.to_numpy(), accepted.b_num.to_numpy(), strength(accepted))
        predicted, correct = _count_pairs(member), _count_pairs(brand.person, member)
        added = predicted - _count_pairs(member, brand.component)
        added_correct = correct - _count_pairs(brand.person, member, brand.component)
        points.append(Point(cut, correct / predicted if predicted else 1.0, correct / true_pairs, added,
                            added_correct / added if added else 1.0))
    return points


def best_point(points: list[Point], precision: float, receiver_precision: float) -> Point | None:
    """The point of highest recall that keeps both precisions."""
    kept = [p for p in points if p.precision >= precision and p.receiver_precision >= receiver_precision]
    return max(kept, key=lambda p: p.recall) if kept else None


def blocking_ceiling(brand: Brand) -> dict[str, float]:
    """Recall with exactly the true candidate pairs accepted (with and without the split around
    enforced members), the deterministic recall, and the share of true pairs between two members that both
    carry receiver data but are never compared (blocking) or both hold an enforced type (policy)."""
    true_pairs = _count_pairs(brand.person)
    good = brand.pairs[brand.pairs.is_true]
    result = {"deterministic": _count_pairs(brand.person, brand.component) / true_pairs}
    for refuse in (True, False):
        member = members_after(brand, good.a_num.to_numpy(), good.b_num.to_numpy(),
                               good.match_probability.to_numpy(), refuse)
        name = "perfect scorer" + ("" if refuse else ", no enforced limit")
        result[name] = _count_pairs(brand.person, member) / true_pairs
    # what a perfect scorer leaves apart, by what stands between the two members (a compared pair
    # it leaves apart joins members whose majority persons differ: a member holding two persons)
    for name, n in missed_by_class(brand, good.a_num.to_numpy(), good.b_num.to_numpy(),
                                   good.match_probability.to_numpy()).items():
        name = "compared, a member holds two persons" if name.startswith("compared") else name
        result[f"perfect scorer leaves apart: {name}"] = result.get(f"perfect scorer leaves apart: {name}", 0) + \
            n / true_pairs
    return result


def missed_by_class(brand: Brand, a: np.ndarray, b: np.ndarray, weight: np.ndarray,
                    greedy: bool = False) -> dict[str, int]:
    """True record pairs two deterministic members of one person hold that the links (a, b)
    leave apart, by class: a side without receiver data; both sides enforced; compared (a
    candidate pair) but not linked, by its levels; never compared (blocking). With `greedy` the
    links (strongest first) join as members_greedy joins them."""
    member = members_greedy(brand, a, b) if greedy else members_after(brand, a, b, weight)
    frame = pd.DataFrame({"p": brand.person, "c": brand.component, "m": member})
    per = frame.groupby(["p", "c", "m"]).size().reset_index(name="n")
    joined = per.merge(per, on="p", suffixes=("_a", "_b"))
    joined = joined[(joined.c_a < joined.c_b) & (joined.m_a != joined.m_b)]
    weight = (joined.n_a * joined.n_b).to_numpy()
    receivers = np.zeros(brand.size, dtype=bool)
    receivers[brand.with_receivers] = True
    enforced = np.zeros(brand.size, dtype=bool)
    enforced[brand.enforced] = True
    ca, cb = joined.c_a.to_numpy(), joined.c_b.to_numpy()
    compared = brand.pairs.set_index(["a_num", "b_num"])
    cells = (compared[LEVELS[0]] + " / " + compared[LEVELS[1]] + " / " + compared[LEVELS[2]])
    keys = pd.MultiIndex.from_arrays([np.minimum(ca, cb), np.maximum(ca, cb)])
    cell = cells.reindex(keys).to_numpy()
    classes = np.where(~receivers[ca] | ~receivers[cb], "a side without receiver data",
                       np.where(enforced[ca] & enforced[cb], "both sides enforced",
                                np.where(pd.isna(cell), "never compared (blocking)",
                                         "compared, not linked: " + cell.astype(str))))
    return pd.Series(weight).groupby(classes).sum().sort_values(ascending=False).astype(int).to_dict()


def _home_files(home: Path) -> tuple[Path, Path]:
    """The truth folder and warehouse file of a home demo.score_identity --generate built."""
    paths = paths_from_env({"QUANYU_HOME": str(home)})
    return paths.home / "truth", paths.warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True, help="home of the brand the oracle learns from")
    parser.add_argument("--score", type=Path, required=True, help="home of the brand it scores")
    parser.add_argument("--fine", action="store_true", help="vectors include each part's weight in 2-bit bins")
    parser.add_argument("--bits", type=float, default=2.0, help="bin width of the weights with --fine (bits)")
    parser.add_argument("--weigh-records", action="store_true",
                        help="a vector's true share counts record pairs (what recall counts), not member pairs")
    parser.add_argument("--all-above", action="store_true",
                        help="accept every pair above the cut, not only the best of one side (the build's rule)")
    parser.add_argument("--greedy", action="store_true",
                        help="join accepted links strongest first, skipping one that would join two enforced "
                             "members (the build's split, with ties decided by the links' order)")
    parser.add_argument("--build-scores", action="store_true",
                        help="rank by the build's own match probability instead of the oracle (its curve through "
                             "the same replay)")
    parser.add_argument("--min-precision", type=float, default=0.995)
    parser.add_argument("--min-receiver-precision", type=float, default=0.99)
    parser.add_argument("--classes", type=int, default=12, help="how many classes of missed pairs to print")
    args = parser.parse_args(argv)
    for home in (args.train, args.score):
        truth, warehouse = _home_files(home)
        if not (truth / "records.parquet").exists() or not warehouse.exists():
            parser.error(f"{home}: not a home demo.score_identity --generate built (truth/records.parquet and "
                         "warehouse/quanyu.duckdb expected)")
    scored = load_brand(*_home_files(args.score))
    train = scored if args.train.resolve() == args.score.resolve() else load_brand(*_home_files(args.train))
    score = oracle_scores(train.pairs, scored.pairs, args.fine, args.bits,
                          "record_pairs" if args.weigh_records else None)
    distinct = np.unique(np.round(score, 6))
    distinct = distinct[distinct >= 0.05]
    if len(distinct) > 60:  # fine vectors: the smallest distinct cut above each point of a grid dense near 1
        grid = 1 - np.geomspace(1e-4, 0.95, 60)
        distinct = np.unique(distinct[np.minimum(np.searchsorted(distinct, grid), len(distinct) - 1)])
    cuts = sorted(distinct.tolist(), reverse=True)
    if args.build_scores:
        score = scored.pairs.match_probability.to_numpy()
        cuts = [0.999, 0.995, 0.99, 0.98, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    points = replay(scored, score, cuts, not args.all_above, args.greedy)
    vectors = f"levels and {args.bits:g}-bit weights" if args.fine else "levels"
    print(f"oracle trained on {args.train} ({len(train.pairs):,} compared pairs, "
          f"{int(train.pairs.is_true.sum()):,} true), scoring {args.score} ({len(scored.pairs):,}, "
          f"{int(scored.pairs.is_true.sum()):,} true); vectors: {vectors}")
    print("cut (true share of the vector in training)  precision  recall  receiver-match pairs, precision")
    for p in points:
        print(f"  {p.cut:<8.4f}  {p.precision:.4f}  {p.recall:.4f}  {p.receiver_pairs:>10,}  "
              f"{p.receiver_precision:.4f}")
    best = best_point(points, args.min_precision, args.min_receiver_precision)
    if best is None:
        print("no cut keeps both precisions")
    else:
        print(f"best cut keeping precision >= {args.min_precision} and receiver precision >= "
              f"{args.min_receiver_precision}: {best.cut:.4f}, precision {best.precision:.4f}, "
              f"recall {best.recall:.4f}, "
              f"receiver matches {best.receiver_pairs:,} at {best.receiver_precision:.4f}")
        above = accept(scored.pairs, score, best.cut, not args.all_above)
        above = above.sort_values(["score", "match_probability"], ascending=False, kind="stable")
        true_pairs = _count_pairs(scored.person)
        print("true pairs still apart at that cut, by class (share of all true pairs)")
        missed = missed_by_class(scored, above.a_num.to_numpy(), above.b_num.to_numpy(), strength(above),
                                 args.greedy)
        for name, n in list(missed.items())[:args.classes]:
            print(f"  {n / true_pairs:.4f}  {n:>10,}  {name}")
    print("ceilings (recall)")
    for name, value in blocking_ceiling(scored).items():
        print(f"  {value:.4f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
