"""OneID's probabilistic tier on a hand-made brand: receiver matches link a JD buyer to the Tmall
buyer who is the same person, and nobody else, with the exact one_ids expected.

People (all in Hangzhou's 西湖区 unless said):
- 王晓明 buys on Tmall (three orders, nick `xiaoming_wang`) and on JD (two orders, pin
  `jd_wxm`): same name, same address, same phone tail. The JD buyer joins the Tmall one.
- 王晓红, his sister, orders on JD to the same address under her own name and phone: a
  household, not a match.
- Another 王晓明, in the same district at another address with another phone: a namesake.
- 李建国 registered twice in the CRM (two member ids, two cards, no unionid, no phone shared), each
  registration bound to a Tmall account that ships to the same receiver: a probabilistic link
  never joins two holders of an enforced type (a CRM member id). He also orders on JD (pin
  `jd_li`, the same receiver): that buyer matches both registrations exactly as strongly, so it
  joins neither (which one is him, only the order of two equal links could say).
Real ingest, real dbt (built with var identity_graph 'deterministic', then 'probabilistic', on the
same installation, so the second build also exercises the survivor rule), real DuckDB.
"""
import csv
import json
import math
import shutil
from collections import Counter

import duckdb
import pytest
import yaml

from ingest.pii import keyed_hash
from ingest.settings import paths_from_env
from orchestration.dbt_assets import DBT_PROJECT_DIR
from tests.dbt_runner import TEST_KEY, dbt, ingest_all

MODELS = ["+bridge_record_member", "+identity_registry", "+identity_explanations", "+identity_graph_audit"]
HOME = "浙江省 杭州市 西湖区 文三路100号华润小区3栋201室 (310000)"
ELSEWHERE = "浙江省 杭州市 西湖区 天目山路58号翠苑一区12栋402室 (310000)"
LI_HOME = "浙江省 杭州市 拱墅区 莫干山路1号锦绣苑2栋301室 (310000)"

TMALL = [  # order id, nick, receiver, address, masked mobile
    ("1001", "xiaoming_wang", "王晓明", HOME, "138****1234"),
    ("1002", "xiaoming_wang", "王晓明", HOME, "138****1234"),
    ("1003", "xiaoming_wang", "王晓明", HOME, "138****1234"),
    ("1101", "li_jianguo_a", "李建国", LI_HOME, "137****7788"),
    ("1102", "li_jianguo_b", "李建国", LI_HOME, "137****7788"),
]
JD = [  # order id, pin, receiver, address, masked phone
    ("2001", "jd_wxm", "王晓明", "浙江杭州市西湖区文三路100号华润小区3栋201室", "138****1234"),
    ("2002", "jd_wxm", "王晓明", "浙江杭州市西湖区文三路100号华润小区3栋201室", "138****1234"),
    ("2101", "jd_sister", "王晓红", "浙江杭州市西湖区文三路100号华润小区3栋201室", "139****5678"),
    ("2201", "jd_namesake", "王晓明", "浙江杭州市西湖区天目山路58号翠苑一区12栋402室", "186****9012"),
    ("2301", "jd_li", "李建国", "浙江杭州市拱墅区莫干山路1号锦绣苑2栋301室", "137****7788"),
]


def write(path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


@pytest.fixture(scope="module")
def brand(tmp_path_factory):
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path_factory.mktemp("probabilistic"))}).ensure()
    land = paths.landing
    write(land / "tmall" / "orders" / "ExportOrderList_202603.csv", "\r\n".join(
        ["订单编号,买家会员名,订单状态,买家下单时间,收货人姓名,收货地址,联系手机"]
        + [f'="{o}",{nick},交易成功,2026-03-0{i + 1} 10:00:00,{name},{addr},\'{phone}'
           for i, (o, nick, name, addr, phone) in enumerate(TMALL)]) + "\r\n", "gbk")
    write(land / "jd" / "orders" / "jd_202603.csv", "\r\n".join(
        ["订单号,商品ID,下单时间,订单状态,下单帐号,客户姓名,客户地址,联系电话"]
        + [f"{o},100061820431,2026-03-1{i} 10:00:00,完成,{pin},{name},{addr},{phone}"
           for i, (o, pin, name, addr, phone) in enumerate(JD)]) + "\r\n", "gbk")
    write(land / "crm" / "members" / "members_202601.csv", "\n".join([
        "member_id,card_no,mobile,unionid,registered_at",
        "M-LI-1,C-LI-1,,,2026-01-01 10:00:00",
        "M-LI-2,C-LI-2,,,2026-01-02 10:00:00"]) + "\n")
    write(land / "tmall" / "bindings" / "member_bind_202603.csv", "\r\n".join([
        "omid,ouid,open_id,nick,union_id,mobile,card_no,bind_time,level,points",
        "AAH-LI-1,AAF-LI-1,AAE-LI-1,li_jianguo_a,,,C-LI-1,2026-01-05 10:00:00,普卡,0",
        "AAH-LI-2,AAF-LI-2,AAE-LI-2,li_jianguo_b,,,C-LI-2,2026-01-06 10:00:00,普卡,0"]) + "\r\n", "gb18030")
    ingest_all(paths)
    yield paths
    shutil.rmtree(paths.home, ignore_errors=True)


def build(paths, graph: str) -> None:
    dbt(paths, "build", "--indirect-selection", "cautious", "--vars", json.dumps({"identity_graph": graph}),
        "--select", *MODELS)


def query(paths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def members(paths, table: str) -> dict[str, tuple]:
    return {key: tuple(rest) for key, *rest in query(
        paths, f"select record_key, one_id, identity_link_type, identity_confidence "
               f"from identity.bridge_record_member where source_table = '{table}'")}


def node(identifier_type: str, value: str) -> str:
    return f"{identifier_type}:{keyed_hash(TEST_KEY, value)}"


def mint(node_ids: list[str]) -> str:
    import hashlib
    return "QY" + hashlib.md5(min(node_ids).encode()).hexdigest()[:16].upper()


@pytest.fixture(scope="module")
def both(brand):
    build(brand, "deterministic")
    deterministic = {t: members(brand, t) for t in ("tmall_orders", "jd_orders", "crm_members")}
    pairs = {(a, b): (levels, p) for a, b, *levels, p in query(brand, """
        select a.node_id, b.node_id, m.name_level, m.phone_level, m.address_level, m.match_probability
        from identity.int_identity__match_pairs m
        join identity.int_identity__components a on a.component_num = m.a_num
        join identity.int_identity__components b on b.component_num = m.b_num""")}
    build(brand, "probabilistic")
    probabilistic = {t: members(brand, t) for t in ("tmall_orders", "jd_orders", "crm_members")}
    return deterministic, probabilistic, pairs


def test_exact_keys_alone_keep_the_jd_buyer_apart(both):
    deterministic, _, _ = both
    wang = mint([node("tmall_nick", "xiaoming_wang")])
    assert {deterministic["tmall_orders"][o][0] for o in ("1001", "1002", "1003")} == {wang}
    assert {deterministic["jd_orders"][f"{o}|100061820431"][0] for o in ("2001", "2002")} == {
        mint([node("jd_pin", "jd_wxm")])}
    assert all(link == "deterministic" and confidence == 1 for t in deterministic.values()
               for _, link, confidence in t.values())


def test_the_same_person_on_jd_joins_the_tmall_buyer_and_keeps_the_id_with_more_records(both):
    _, probabilistic, _ = both
    wang = mint([node("tmall_nick", "xiaoming_wang")])  # three records against the JD buyer's two
    rows = [probabilistic["tmall_orders"][o] for o in ("1001", "1002", "1003")]
    rows += [probabilistic["jd_orders"][f"{o}|100061820431"] for o in ("2001", "2002")]
    assert {one_id for one_id, _, _ in rows} == {wang}
    assert {link for _, link, _ in rows} == {"probabilistic"}
    assert min(confidence for _, _, confidence in rows) >= 0.99


def test_a_sister_at_the_same_address_and_a_namesake_nearby_stay_apart(both):
    _, probabilistic, pairs = both
    assert probabilistic["jd_orders"]["2101|100061820431"][:2] == (mint([node("jd_pin", "jd_sister")]), "deterministic")
    assert probabilistic["jd_orders"]["2201|100061820431"][:2] == (mint([node("jd_pin", "jd_namesake")]),
                                                                    "deterministic")
    wang_tmall = node("tmall_nick", "xiaoming_wang")
    sister = [v for (a, b), v in pairs.items() if node("jd_pin", "jd_sister") in (a, b) and wang_tmall in (a, b)]
    # compared (same address) and refused: at one address, the same surname with another given name
    # is a family member, and the phone tails differ
    assert sister and sister[0][0] == ["surname_at_address", "different", "address"] and sister[0][1] < 0.5


def wang_name_weight(paths) -> tuple[float, float]:
    """(name weight of the Tmall/JD 王晓明 pair as built, the weight recomputed here from the profiles
    and the seed without and with the pair left out of the term frequency)."""
    smoothing = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["identity_match_tf_smoothing"]
    with open(DBT_PROJECT_DIR / "seeds" / "identity_match_parameters.csv", encoding="utf-8") as f:
        seed = {(r["comparison"], r["level"]): r for r in csv.DictReader(f)}
    m, u0 = float(seed["name", "exact"]["m_probability"]), float(seed["name", "exact"]["u_probability"])
    names = [h for (h,) in query(paths, "select name_hash from identity.int_identity__receiver_profiles")
             if h is not None]
    tmall, jd = node("tmall_nick", "xiaoming_wang"), node("jd_pin", "jd_wxm")
    [(wang,)] = query(paths, f"""
        select p.name_hash from identity.int_identity__receiver_profiles p
        join identity.int_identity__components c on c.component_num = p.component_num
        where c.node_id = '{tmall}'""")
    assert Counter(names)[wang] == 3  # the Tmall buyer, the JD buyer, the namesake
    rows = query(paths, f"""
        select m.name_level, m.name_weight
        from identity.int_identity__match_pairs m
        join identity.int_identity__components a on a.component_num = m.a_num
        join identity.int_identity__components b on b.component_num = m.b_num
        where (a.node_id = '{tmall}' and b.node_id = '{jd}') or (a.node_id = '{jd}' and b.node_id = '{tmall}')""")
    assert len(rows) == 1 and rows[0][0] == "exact"
    counted = math.log2(m / ((3 + smoothing * u0) / (len(names) + smoothing)))
    left_out = math.log2(m / ((3 - 2 + smoothing * u0) / (len(names) - 2 + smoothing)))
    return rows[0][1], counted, left_out


def test_an_agreed_name_weighs_by_its_share_among_the_profiles_smoothed_towards_the_seed(both, brand):
    built, counted, _ = wang_name_weight(brand)
    assert built == pytest.approx(counted, abs=1e-9)


def test_a_probabilistic_link_never_joins_two_crm_registrations(both):
    _, probabilistic, _ = both
    first, second = (probabilistic["crm_members"][m][0] for m in ("M-LI-1", "M-LI-2"))
    assert first != second
    assert probabilistic["tmall_orders"]["1101"][0] == first
    assert probabilistic["tmall_orders"]["1102"][0] == second


def test_a_buyer_matching_two_crm_registrations_equally_joins_neither(both, brand):
    deterministic, probabilistic, _ = both
    li = {probabilistic["crm_members"][m][0] for m in ("M-LI-1", "M-LI-2")}
    jd_li = probabilistic["jd_orders"]["2301|100061820431"]
    assert jd_li == deterministic["jd_orders"]["2301|100061820431"] and jd_li[0] not in li
    links = query(brand, """
        select count(*), count(*) filter (where is_linked), min(match_probability), max(match_probability)
        from identity.int_identity__probabilistic_links links
        join identity.int_identity__components c on c.component_num in (links.a_num, links.b_num)
        where c.node_id = '""" + node("jd_pin", "jd_li") + "'")
    assert links[0][:2] == (2, 0) and links[0][2] == links[0][3]  # two equal links, neither used


def test_the_explanation_names_the_receiver_match(both, brand):
    wang = mint([node("tmall_nick", "xiaoming_wang")])
    rows = query(brand, f"select link_kind, match_probability from identity.identity_explanations "
                        f"where one_id = '{wang}' and link_type = 'probabilistic'")
    assert len(rows) == 1 and rows[0][0] == "receiver match" and rows[0][1] >= 0.99


def test_an_unknown_graph_fails_the_build_by_name(brand):
    message = "var\\('identity_graph'\\) is 'fuzzy'; expected one of deterministic, probabilistic"
    with pytest.raises(AssertionError, match=message):
        build(brand, "fuzzy")


def test_with_the_pair_left_out_an_agreed_name_weighs_by_the_other_profiles_only(both, brand):
    """var identity_match_tf_leave_pair_out: both sides hold an agreed name whatever the truth, so
    its u is the share of the *other* profiles holding it (here one: the namesake). Rebuilds the
    pair model alone, last in this module: the tests above read the default build."""
    variables = {"identity_graph": "probabilistic", "identity_match_tf_leave_pair_out": True}
    dbt(brand, "build", "--vars", json.dumps(variables), "--select", "int_identity__match_pairs")
    built, counted, left_out = wang_name_weight(brand)
    assert built == pytest.approx(left_out, abs=1e-9) and left_out > counted
