"""Receiver fields for OneID's probabilistic tier (issue 18): each export's name, masked phone and
address forms land as keyed hashes and normalised regions, and no name or address text lands."""
import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from ingest.contract import load_contracts
from ingest.engine import load_table
from ingest.pii import (
    HashKey,
    keyed_hash,
    normalise_regions,
    receiver_names,
    split_addresses,
    visible_phone_digits,
)
from ingest.pii_scan import scan_tree
from ingest.values import clean_text

KEY = HashKey(b"k", "test")
CONTRACTS = load_contracts()


def h(value: str) -> str:
    return keyed_hash(KEY, value)


def series(values: list) -> pd.Series:
    return clean_text(pd.Series(values, dtype="str"))


# ---------------------------------------------------------------- names


def names(values: list) -> list[tuple]:
    found = receiver_names(KEY, series(values))
    return list(zip(plain(found.values["name"]), plain(found.values["surname"])))


def plain(values: pd.Series) -> list:
    """Values as a list, NA as None."""
    return [None if pd.isna(v) else v for v in values.tolist()]


def test_the_same_name_typed_with_spaces_full_width_or_zero_width_characters_hashes_equal():
    forms = ["王芳", "王 芳", "王\u3000芳", " 王芳 ", "王\u200b芳", "王·芳"]
    assert set(names(forms)) == {(h("王芳"), h("王"))}


def test_an_honorific_a_familiar_form_or_a_masked_name_gives_the_surname_only():
    assert names(["王女士", "王先生", "小王", "老王", "王**", "王*明"]) == [(None, h("王"))] * 6
    assert names(["欧阳先生", "欧阳"]) == [(None, h("欧阳"))] * 2


def test_a_full_name_after_an_honorific_keeps_its_full_name():
    assert names(["王小明先生"]) == [(h("王小明"), h("王"))]


@pytest.mark.parametrize("name, surname", [("欧阳娜娜", "欧阳"), ("司马相如", "司马"), ("诸葛亮", "诸葛"),
                                           ("上官婉儿", "上官"), ("慕容复", "慕容"), ("令狐冲", "令狐"),
                                           ("万俟溪云", "万俟"), ("东方明", "东方"), ("王东方", "王")])
def test_a_compound_surname_is_the_first_two_characters(name, surname):
    assert names([name]) == [(h(name), h(surname))]


def test_a_latin_name_is_lower_cased_and_hashed_whole_without_a_surname():
    assert names(["Tom Li", "tom li", "ＴＯＭ　ＬＩ"]) == [(h("tomli"), None)] * 3


def test_a_homophone_typo_and_a_name_typed_in_pinyin_sound_like_the_name():
    found = receiver_names(KEY, series(["王芳", "王方", "Wang Fang", "WANGFANG", "汪芳", "王芬", "王女士", "欧阳娜娜"]))
    names_, sounds = plain(found.values["name"]), plain(found.values["phonetic"])
    assert len(set(names_[:4])) == 3  # three written names (the two latin forms fold) ...
    assert set(sounds[:5]) == {h("wangfang")}  # ... one sound, with 汪芳 (wāng, not wáng: tones are dropped)
    assert sounds[5] == h("wangfen") and sounds[6] is None  # another sound; no full name, no sound
    assert sounds[7] == h("ouyangnana")


def test_an_empty_name_is_null_and_a_name_without_letters_is_unusable():
    found = receiver_names(KEY, series(["", None, "-", "123", "李四"]))
    assert found.values["name"].isna().tolist() == [True, True, True, True, False]
    assert found.unusable.tolist() == [False, False, False, True, False]


# ---------------------------------------------------------------- masked phones


def phones(values: list) -> pd.DataFrame:
    found = visible_phone_digits(KEY, series(values))
    return pd.DataFrame({k: plain(v) for k, v in found.values.items()}, dtype=object)


def test_tmall_jd_and_douyin_masks_compare_on_their_common_visible_digits():
    got = phones(["138****1234", "'135****1234", "1********34", "13812341234"])
    assert got["prefix"].tolist() == ["138", "135", "1", "138"]
    assert got["tail4"].tolist() == [h("1234"), h("1234"), None, h("1234")]
    assert got["tail2"].tolist() == [h("34")] * 4
    assert got["status"].tolist() == ["masked", "masked", "masked", "valid"]
    assert got["hash"].tolist() == [None, None, None, h("13812341234")]


def test_empty_landline_placeholder_and_unreadable_masks_show_no_digits():
    got = phones(["", None, "0571-88886666", "13800000000", "138****12a4"])
    assert got[["prefix", "tail4", "tail2"]].isna().all().all()
    assert got["status"].tolist() == [None, None, "landline", "placeholder", "masked"]
    assert visible_phone_digits(KEY, series(["138****12a4", "138****1234"])).unusable.tolist() == [True, False]


# ---------------------------------------------------------------- regions and addresses


def test_region_suffixes_are_normalised_so_exports_compare():
    got = normalise_regions(series(["上海市", "上海", "浙江省", " 浙江 ", "杭州市", "广西壮族自治区", "内蒙古自治区",
                                    "香港特别行政区", "西湖区", "桐庐县", "沙市"]))
    assert got.tolist() == ["上海", "上海", "浙江", "浙江", "杭州", "广西", "内蒙古", "香港", "西湖区", "桐庐县",
                            "沙市"]


def addresses(values: list, with_region: bool = True) -> pd.DataFrame:
    found = split_addresses(KEY, series(values), with_region=with_region)
    return pd.DataFrame({k: plain(v) for k, v in found.values.items()}, dtype=object)


def test_tmall_and_jd_whole_addresses_split_into_region_detail_and_street():
    got = addresses(["浙江省 杭州市 西湖区 文三路100号华润小区3栋201室 (310000)",
                     "浙江省杭州市西湖区文三路１００号 华润小区3栋201室",
                     "浙江 杭州市 西湖区 文三路100号华润小区5栋101室（310000）"])
    assert got["province"].tolist() == ["浙江"] * 3
    assert got["city"].tolist() == ["杭州"] * 3
    assert got["district"].tolist() == ["西湖区"] * 3
    assert got["hash"].tolist() == [h("文三路100号华润小区3栋201室")] * 2 + [h("文三路100号华润小区5栋101室")]
    assert got["street"].tolist() == [h("文三路100号")] * 3


def test_a_municipality_without_its_city_gets_the_municipality_as_city():
    got = addresses(["上海市浦东新区张江路8弄1号", "上海 上海市 浦东新区 张江路8弄1号"])
    assert got[["province", "city", "district"]].values.tolist() == [["上海", "上海", "浦东新区"]] * 2
    assert got["street"].tolist() == [h("张江路8弄")] * 2


def test_douyin_detail_compares_with_the_tmall_detail_even_when_it_repeats_the_region():
    tmall = addresses(["浙江省 杭州市 西湖区 文三路100号华润小区3栋201室 (310000)"])
    douyin = addresses(["文三路100号华润小区3栋201室", "浙江省杭州市西湖区文三路100号华润小区3栋201室"],
                       with_region=False)
    assert set(douyin.columns) == {"hash", "street"}
    assert douyin["hash"].tolist() == tmall["hash"].tolist() * 2


def test_an_address_without_region_is_hashed_whole_and_noted():
    found = split_addresses(KEY, series(["柒号隐泉巷4幢302室", "北京"]))
    assert plain(found.values["province"]) == [None, "北京"]
    assert plain(found.values["hash"]) == [h("柒号隐泉巷4幢302室"), None]
    assert found.partial.tolist() == [True, False]
    assert found.unusable.tolist() == [False, False]


# ---------------------------------------------------------------- landed, and nothing raw


NAMES = ["欧阳霁月", "王 霁月", "司马鸢尾", "钟离女士"]
DETAILS = ["栖霞岭下茶寮弄3号7栋", "鹭栖湾西街19号院2单元", "霁虹桥北里7号楼301室"]


def write(home, folder: str, name: str, text: str, encoding: str = "utf-8") -> None:
    path = home.landing / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def raw(home, table: str) -> list[dict]:
    cursor = duckdb.connect().execute(
        f"select * from read_parquet('{home.lake}/raw/{table}/*.parquet', union_by_name=true) order by _source_row")
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def test_each_export_lands_receiver_hashes_and_regions_and_never_the_text(home):
    write(home, "tmall/orders", "ExportOrderList_202601.csv", "\r\n".join([
        "订单编号,订单状态,买家下单时间,收货人姓名,收货地址,联系手机",
        f'="1001",交易成功,2026-01-02 10:00:00,{NAMES[0]},浙江省 杭州市 西湖区 {DETAILS[0]} (310000),\'138****1234',
        f'="1002",交易成功,2026-01-02 11:00:00,{NAMES[3]},{DETAILS[1]},',
    ]) + "\r\n", "gbk")
    write(home, "jd/orders", "jd_202601.csv", "\r\n".join([
        "订单号,商品ID,下单时间,订单状态,客户姓名,客户地址,联系电话",
        f"2001,100061820431,2026-01-02 10:00:00,完成,{NAMES[1]},浙江省杭州市西湖区{DETAILS[0]},135****1234",
    ]) + "\r\n", "gbk")
    write(home, "douyin/orders", "douyin_202601.csv", "\ufeff" + "\r\n".join([
        "主订单编号,子订单编号,订单提交时间,订单状态,收件人,收件人手机号,省,市,区,详细地址",
        f"3001,30011,2026-01-02 10:00:00,已完成,{NAMES[2]},1********34,浙江省,杭州市,西湖区,{DETAILS[0]}",
        f"3002,30021,2026-01-02 10:00:00,已完成,{NAMES[0]},1********34,上海市,上海市,浦东新区,{DETAILS[2]}",
    ]) + "\r\n")
    write(home, "mini_program/orders", "mp_202601.jsonl",
          f'{{"order_no": "M1", "status": "PAID", "create_time": "2026-01-02 10:00:00", "receiver_name": "{NAMES[0]}", '
          f'"receiver_mobile": "13812341234", "receiver_address": "上海市浦东新区{DETAILS[2]}"}}\n')
    for table in ("tmall_orders", "jd_orders", "douyin_orders", "mp_orders"):
        (file,) = load_table(CONTRACTS[table], home, KEY).files
        assert file.status == "loaded", (table, file.message)

    tmall, jd, douyin, mp = (raw(home, t) for t in ("tmall_orders", "jd_orders", "douyin_orders", "mp_orders"))
    assert tmall[0]["receiver_name_hash"] == h("欧阳霁月") and tmall[0]["receiver_name_surname_hash"] == h("欧阳")
    assert (tmall[0]["receiver_address_province"], tmall[0]["receiver_address_city"],
            tmall[0]["receiver_address_district"]) == ("浙江", "杭州", "西湖区")
    assert tmall[0]["receiver_address_street_hash"] == h("栖霞岭下茶寮弄")
    assert tmall[0]["receiver_mobile_prefix"] == "138" and tmall[0]["receiver_mobile_tail4_hash"] == h("1234")
    # the honorific gives the surname; the address without a region is hashed whole and noted, never shown
    assert tmall[1]["receiver_name_hash"] is None and tmall[1]["receiver_name_surname_hash"] == h("钟离")
    assert tmall[1]["receiver_address_hash"] == h("鹭栖湾西街19号院2单元")
    assert tmall[1]["_cell_issues"] == ("receiver_address: the (personal, not shown) value starts with no province "
                                        "or city: region left empty, the whole address hashed as the detail")
    # JD, no spaces: the same detail as Tmall's; the name with a space is the same name
    assert jd[0]["customer_address_hash"] == tmall[0]["receiver_address_hash"]
    assert jd[0]["customer_name_hash"] == h("王霁月") and jd[0]["phone_tail2_hash"] == h("34")
    # Douyin: region columns normalised, the detail comparable with Tmall's, the tail on two digits
    assert (douyin[0]["province"], douyin[0]["city"], douyin[0]["district"]) == ("浙江", "杭州", "西湖区")
    assert douyin[0]["address_detail_hash"] == tmall[0]["receiver_address_hash"]
    assert douyin[0]["receiver_mobile_tail2_hash"] == tmall[0]["receiver_mobile_tail2_hash"]
    assert douyin[0]["receiver_mobile_tail4_hash"] is None and douyin[0]["receiver_mobile_prefix"] == "1"
    assert douyin[1]["address_detail_hash"] == mp[0]["receiver_address_hash"]
    assert mp[0]["receiver_name_hash"] == tmall[0]["receiver_name_hash"]
    assert (mp[0]["receiver_address_city"], mp[0]["receiver_mobile_tail4_hash"]) == ("上海", h("1234"))
    for table, rows in (("tmall_orders", tmall), ("jd_orders", jd), ("douyin_orders", douyin), ("mp_orders", mp)):
        assert not {"receiver_name", "receiver_address", "customer_name", "customer_address",
                    "address_detail"} & set(rows[0]), table

    report = scan_tree(home.home, NAMES + DETAILS + ["霁月", "鸢尾"], skip=[home.landing])
    assert report.found() == []


def test_a_jd_address_without_spaces_or_province_suffix_splits_like_tmalls():
    """JD writes 浙江杭州市西湖区... : the province by name, no 省, no space."""
    jd = addresses(["浙江杭州市西湖区文三路100号华润小区3栋201室", "湖北武汉市洪山区珞喻路1号"])
    tmall = addresses(["浙江省 杭州市 西湖区 文三路100号华润小区3栋201室 (310000)",
                       "湖北省 武汉市 洪山区 珞喻路1号 (430000)"])
    assert jd.to_dict("records") == tmall.to_dict("records")
    assert list(jd["province"]) == ["浙江", "湖北"] and list(jd["city"]) == ["杭州", "武汉"]


def test_the_sound_of_a_name_is_what_lazy_pinyin_gives_with_word_sounds_kept_or_not(monkeypatch):
    import random

    from pypinyin import lazy_pinyin

    from ingest import pii

    # characters whose reading depends on the word they stand in (重阳 chong, 重要 zhong; 单于 chan; 长孙 zhang),
    # compound surnames, letters and digits typed into a name
    pool = "王李张重阳要单于曾国藩乐解放朴区查长孙行银欧阳司马尉迟恭芳明华伟娜小老阿女士先生"
    rng = random.Random(20)
    names = ["王重阳", "重要", "单雄信", "单于", "曾国藩", "长孙无忌", "欧阳娜娜", "wangfang", "王芳abc", "李1娜",
             "乐乐"]
    names += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 5))) for _ in range(3000)]
    expected = ["".join(lazy_pinyin(name)) for name in names]
    for kept in (pii.WORD_SOUNDS_KEPT, 0):  # the words' sounds kept, then forgotten at every new word
        monkeypatch.setattr(pii, "WORD_SOUNDS_KEPT", kept)
        pii._WORD_SOUNDS.clear()
        pii.forget_values()  # (names' sounds kept by an earlier pass would skip the cut)
        assert pii._phonetic(pa.array(names + [None])).to_pylist() == expected + [None]
    # the names' sounds kept during a load (ingest.pii.VALUES_KEPT): a second call takes them, not the cut;
    # a store of 7 names is cleared again and again and gives the same sounds
    assert len(pii._KEPT_SOUNDS) == len(set(names))
    assert pii._phonetic(pa.array(names)).to_pylist() == expected
    monkeypatch.setattr(pii, "VALUES_KEPT", 7)
    pii.forget_values()
    assert pii._phonetic(pa.array(names + names[::-1])).to_pylist() == expected + expected[::-1]
    assert len(pii._KEPT_SOUNDS) <= 7
