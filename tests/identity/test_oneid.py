"""OneID on generated data: accuracy against ground truth, the over-merge guards, stable ids
across runs (new file, merge, split) and explanations. Real ingest, real dbt, real DuckDB."""
import shutil
from collections import defaultdict

import duckdb
import pytest
import yaml

from demo.identity_oracle import accept, blocking_ceiling, load_brand, missed_by_class, replay, strength
from demo.score_identity import score, threshold_curve
from ingest.engine import file_sha256
from ingest.pii import keyed_hash
from ingest.settings import paths_from_env
from orchestration.dbt_assets import DBT_PROJECT_DIR
from tests.dbt_runner import TEST_KEY, dbt, ingest_all

IDENTITY_MODELS = ["+bridge_record_member", "+identity_registry", "+identity_id_changes", "+identity_explanations",
                   "+identity_graph_audit"]


def build(paths):
    dbt(paths, "build", "--indirect-selection", "cautious", "--select", *IDENTITY_MODELS)


def query(paths, sql):
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def registry(paths) -> dict[str, str]:
    return dict(query(paths, "select node_id, one_id from identity.identity_registry"))


@pytest.fixture(scope="module")
def world(demo_home, tmp_path_factory):
    """A private copy of the demo exports, ingested and built once; the tests then add files."""
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path_factory.mktemp("oneid"))}).ensure()
    shutil.copytree(demo_home.landing, paths.landing, dirs_exist_ok=True)
    shutil.copytree(demo_home.home / "truth", paths.home / "truth")
    ingest_all(paths)
    build(paths)
    return paths


def test_accuracy_against_ground_truth(world):
    result, largest = score(world.home / "truth", world.warehouse)
    print(f"precision={result.precision:.4f} recall={result.recall:.4f} linkable_recall={result.linkable_recall:.4f}")
    assert result.precision >= 0.995
    assert result.linkable_recall >= 0.98
    assert result.merged_members <= result.members * 0.005
    assert all(persons == 1 for _, _, persons in largest)


def test_the_threshold_curve_at_the_built_threshold_gives_the_scorer_figures(world):
    """threshold_curve replays acceptance, grouping and refusal from the compared pairs: at the
    build's own threshold it must give the one_ids' figures to the pair (before the tests below
    add files)."""
    result, _ = score(world.home / "truth", world.warehouse)
    threshold = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["identity_match_threshold"]
    loose, built = threshold_curve(world.home / "truth", world.warehouse, [0.5, threshold])
    assert built.threshold == threshold
    assert (built.precision, built.recall) == (result.precision, result.recall)
    assert (built.receiver_pairs, built.receiver_precision) == (result.probabilistic_pairs,
                                                                result.probabilistic_precision)
    assert loose.receiver_pairs > 0 and 0 < loose.recall <= 1


def test_the_oracle_replays_the_build_and_accounts_for_every_missed_pair(world):
    """demo.identity_oracle re-implements the build's link rules on the compared pairs (vectorised,
    for 100,000-member brands): fed the build's own probabilities at its threshold it must give
    the scorer's figures, which come from the one_ids; the true pairs it reports apart, by class,
    must be exactly the true pairs the one_ids miss; and a perfect scorer of the compared pairs
    (the blocking ceiling) cannot score below exact keys."""
    result, _ = score(world.home / "truth", world.warehouse)
    threshold = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["identity_match_threshold"]
    brand = load_brand(world.home / "truth", world.warehouse)
    probability = brand.pairs.match_probability.to_numpy()
    [built] = replay(brand, probability, [threshold])
    assert (built.precision, built.recall) == (result.precision, result.recall)
    assert (built.receiver_pairs, built.receiver_precision) == (result.probabilistic_pairs,
                                                                result.probabilistic_precision)
    accepted = accept(brand.pairs, probability, threshold)
    missed = missed_by_class(brand, accepted.a_num.to_numpy(), accepted.b_num.to_numpy(), strength(accepted))
    assert sum(missed.values()) == result.true_pairs - result.correct_pairs
    assert all(n > 0 for n in missed.values())
    ceilings = blocking_ceiling(brand)
    assert ceilings["deterministic"] == result.deterministic_recall
    assert ceilings["perfect scorer, no enforced limit"] >= ceilings["perfect scorer"] >= ceilings["deterministic"]


def crm_csv(world, name: str, rows: list[dict]) -> None:
    header = ["member_id", "card_no", "mobile", "unionid", "registered_at", "register_store"]
    lines = [",".join(header)] + [",".join(str(r.get(h, "")) for h in header) for r in rows]
    path = world.landing / "crm" / "members" / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def pos_csv(world, name: str, rows: list[tuple[str, str]]) -> None:
    lines = ["店编,单号,行号,销售时间,货号,数量,结算单价,金额,会员卡号,会员手机号"]
    lines += [f"S0001,T{name[:3]}{i:06d},1,2026-10-30 12:00:00,SKU1,1,10,10,{card},{phone}"
              for i, (card, phone) in enumerate(rows)]
    (world.landing / "pos" / "sales" / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_new_file_keeps_every_unaffected_one_id_and_hubs_merge_nothing(world):
    before = registry(world)
    members_before = query(world, "select count(distinct one_id) from identity.identity_registry")[0][0]
    cards = [c for (c,) in query(world,
                                 "select distinct card_no from staging.stg_crm__members where card_no is not null")]
    assert len(cards) > 100
    # a cashier's habit: one made-up phone (not on any placeholder list) typed for every member
    pos_csv(world, "hub_202610.csv", [(card, "13975318642") for card in cards])
    # and the classic placeholder on the same members
    pos_csv(world, "placeholder_202610.csv", [(card, "13800000000") for card in cards])
    crm_csv(world, "new_members_202611.csv", [
        {"member_id": f"T90000{i}", "card_no": f"T8800{i}", "mobile": f"1700000000{i}",
         "registered_at": "2026-11-01 10:00:00"} for i in range(3)])
    ingest_all(world)
    build(world)
    after = registry(world)
    changed = {node: (one_id, after.get(node)) for node, one_id in before.items() if after.get(node) != one_id}
    assert changed == {}
    assert query(world, "select count(distinct one_id) from identity.identity_registry")[0][0] == members_before + 3
    hub = "mobile:" + keyed_hash(TEST_KEY, "13975318642")
    assert query(world, f"select refusal, widest_neighbour_count from identity.identity_graph_audit "
                        f"where node_id = '{hub}'") == [("hub", len(cards))]
    assert hub not in after  # a hub belongs to no member
    placeholder = "mobile:" + keyed_hash(TEST_KEY, "13800000000")
    assert placeholder not in after  # never hashed, never a node
    assert query(world, "select count(*) from identity.identity_id_changes") == [(0,)]


def two_members(world):
    """Two CRM members of different true persons, each with a unionid."""
    return query(world, """
        select c.member_id, c.card_no, c.unionid, b.one_id
        from staging.stg_crm__members c
        join identity.bridge_record_member b on b.source_table = 'crm_members' and b.record_key = c.member_id
        where c.unionid is not null and c.card_no is not null
        order by c.member_id limit 2""")


def test_merge_keeps_the_older_id_and_split_is_deterministic(world):
    (a_member, a_card, _, a_id), (b_member, _, b_unionid, b_id) = two_members(world)
    assert a_id != b_id
    before = registry(world)
    # both ids were minted by the same build: the survivor is the one holding more records, then
    # the one whose identifiers were seen first, then the smaller
    records = dict(query(world, f"select one_id, count(*) from identity.bridge_record_member "
                                f"where one_id in ('{a_id}', '{b_id}') group by one_id"))
    first_seen = dict(query(world, f"select one_id, min(observed_at) from identity.bridge_record_member "
                                   f"where one_id in ('{a_id}', '{b_id}') group by one_id"))
    expected, absorbed = sorted((a_id, b_id), key=lambda i: (-records[i], first_seen[i], i))
    # a bad record claims A's card and B's unionid: the two members merge
    crm_csv(world, "bad_link_202611.csv", [{"member_id": "T-LINK", "card_no": a_card, "unionid": b_unionid,
                                              "registered_at": "2026-11-02 10:00:00"}])
    ingest_all(world)
    build(world)
    merged = registry(world)
    survivor = merged[f"crm_member_id:{a_member}"]
    assert survivor == merged[f"crm_member_id:{b_member}"] == expected
    assert query(world, "select change_type, one_id, other_one_id from identity.identity_id_changes") == [
        ("merge", expected, absorbed)]
    untouched = {n for n, i in before.items() if i not in (a_id, b_id)}
    assert all(merged[n] == before[n] for n in untouched)

    # the bad record is erased (PIPL deletion): the member splits back, deterministically
    bad_file = world.landing / "crm" / "members" / "bad_link_202611.csv"
    sha = file_sha256(bad_file)
    bad_file.unlink()
    for folder in ("raw", "quarantine", "loads"):
        for path in (world.lake / folder / "crm_members").glob(f"{sha[:20]}.parquet"):
            path.unlink()
    build(world)
    split = registry(world)
    assert split[f"crm_member_id:{a_member}"] != split[f"crm_member_id:{b_member}"]
    assert {split[f"crm_member_id:{a_member}"], split[f"crm_member_id:{b_member}"]} == {a_id, b_id}
    changes = query(world, "select change_type, one_id, other_one_id from identity.identity_id_changes "
                           "where change_type = 'split'")
    assert changes == [("split", expected, absorbed)]
    assert all(split[n] == before[n] for n in untouched)


def test_a_known_merge_is_explained_edge_by_edge(world):
    """A person seen in the CRM and in WeCom: the explanation joins the two records' identifiers."""
    one_id, crm_key, wecom_key = query(world, """
        select c.one_id, c.record_key, w.record_key
        from identity.bridge_record_member c
        join identity.bridge_record_member w on w.one_id = c.one_id
        where c.source_table = 'crm_members' and w.source_table = 'wecom_contacts'
        order by c.one_id limit 1""")[0]
    edges = query(world, f"""
        select from_identifier_type || ':' || from_identifier_value, to_identifier_type || ':' || to_identifier_value,
               example_source_table, example_record_key
        from identity.identity_explanations where one_id = '{one_id}' and link_type = 'deterministic'""")
    graph = defaultdict(set)
    for a, b, _, _ in edges:
        graph[a].add(b), graph[b].add(a)
    nodes_of = lambda table, key: {n for (n,) in query(  # noqa: E731
        world, f"select n.node_id from identity.int_identity__observation_nodes o "
               f"join identity.int_identity__node_stats n on n.node_num = o.node_num "
               f"where o.source_table = '{table}' and o.record_key = '{key}'")}
    start, goal = nodes_of("crm_members", crm_key), nodes_of("wecom_contacts", wecom_key)
    seen, frontier = set(start), list(start)
    while frontier:
        for neighbour in graph[frontier.pop()] - seen:
            seen.add(neighbour), frontier.append(neighbour)
    assert seen & goal, "the explanation edges must connect the CRM record to the WeCom record"
    for _, _, table, key in edges:  # every example record really belongs to the member
        assert query(world, f"select one_id from identity.bridge_record_member where source_table = '{table}' "
                            f"and record_key = '{key}'") == [(one_id,)]
