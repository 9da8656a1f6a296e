"""OneID's exact-key failure classes on a hand-made brand, with the exact one_ids expected.

Each class gets its own identifiers so the cases cannot touch each other: placeholders no list
names (found by their spread over days and stores), a loyal customer who must not look like one,
a household sharing a phone, a duplicate registration sharing a card, and the explanation of a
member held together by one value. Real ingest, real dbt, real DuckDB; one build for the module.
"""
import hashlib
import shutil

import duckdb
import pytest

from ingest.pii import keyed_hash
from ingest.settings import paths_from_env
from tests.dbt_runner import TEST_KEY, dbt, ingest_all

MODELS = ["+bridge_record_member", "+identity_registry", "+identity_explanations", "+identity_graph_audit",
          "+identity_limit_violations"]

# phones: plausible numbers, on no list and of no pattern
CASHIER = "13652718834"   # typed for every walk-in at S1, 4-5 receipts a day
ROAMING = "15820417736"   # typed at three stores on the same day
QUIET_TILL = "13528640917"  # a cashier's habit at a quiet till: one walk-in every few days, no registration
LOYAL = "18611093372"     # a real member who buys three times a day, sometimes in two stores
ALONE = "13307715521"     # a non-member who gives her phone at the till on four days
HOUSEHOLD = "13924461057"  # mother and daughter, each with her own WeChat
DUPLICATE = "15001839942"  # one person registered twice on one card
NO_WECHAT = "17765520318"  # two registrations, two cards, no unionid: only the phone joins them
SAME_NAME = "15967302281"  # registered twice under one name, two cards: the same person
TWO_NAMES = "13758806143"  # two registrations under two names: a couple
RECYCLED = "18857713390"  # a member's old number, re-issued by the carrier to a newcomer months later
MOVED_OLD, MOVED_NEW = "13671924508", "15221390846"  # a member who changed her number
RE_ISSUED, GONE_NEW = "13916285047", "18217364095"  # she changed hers; the carrier re-issued the old one

CRM = [
    # member_id, card_no, mobile, unionid, name (keyed-hashed at ingest)
    ("M-CASHIER", "C-CASHIER", CASHIER, ""),
    ("M-LOYAL", "C-LOYAL", LOYAL, "oU-loyal"),
    ("M-MOTHER", "C-MOTHER", HOUSEHOLD, "oU-mother"),
    ("M-DAUGHTER", "C-DAUGHTER", HOUSEHOLD, "oU-daughter"),
    ("M-DUP-1", "C-DUP", DUPLICATE, "oU-dup"),
    ("M-DUP-2", "C-DUP", DUPLICATE, ""),
    ("M-NOWX-1", "C-NOWX-1", NO_WECHAT, ""),
    ("M-NOWX-2", "C-NOWX-2", NO_WECHAT, ""),
    ("M-SAME-1", "C-SAME-1", SAME_NAME, "", "陈静"),
    ("M-SAME-2", "C-SAME-2", SAME_NAME, "", "陈 静"),
    ("M-TWO-1", "C-TWO-1", TWO_NAMES, "", "刘洋"),
    ("M-TWO-2", "C-TWO-2", TWO_NAMES, "", "赵敏"),
    ("M-OLD-OWNER", "C-OLD-OWNER", RECYCLED, "", "孙丽"),
    ("M-NEW-OWNER", "C-NEW-OWNER", RECYCLED, "", "周杰"),
    # Unicode forms: a full-width card, a unionid with a zero-width space inside
    ("M-WIDE", "ＣＷ１２３", "", "oU-wi\u200bde", ""),
    ("M-SHEET", "880029000001", "", "", ""),  # a card a spreadsheet will damage on a receipt
    ("M-MOVED", "C-MOVED", MOVED_NEW, "", "吴芳"),  # the current export: her new number only
    ("M-GONE", "C-GONE", GONE_NEW, "", "郑雪"),
    ("M-NEWCOMER", "C-NEWCOMER", RE_ISSUED, "", "王磊"),  # the number M-GONE gave up, from September
]
REGISTERED = {"M-NEW-OWNER": "2026-06-20 10:00:00", "M-NEWCOMER": "2026-09-01 10:00:00",
              "M-MOVED": "2026-01-10 10:00:00", "M-GONE": "2026-01-10 10:00:00"}  # the others: in January
# An older export (its date in its name): the two who have since changed their number, with the old one
OLDER_CRM = [("M-MOVED", "C-MOVED", MOVED_OLD, "", "吴芳"), ("M-GONE", "C-GONE", RE_ISSUED, "", "郑雪")]


def _receipts() -> list[tuple[str, str, str, str, str]]:
    """(store, receipt, sold_at, card, mobile); one line per receipt."""
    rows = []

    def add(store, day, hour, card="", mobile=""):
        rows.append((store, f"R{len(rows):04d}", f"2026-03-{day:02d} {hour:02d}:{len(rows) % 60:02d}:00", card, mobile))

    for day, count in ((2, 5), (3, 5), (5, 4), (9, 2)):  # walk-ins on the cashier's number
        for i in range(count):
            add("S1", day, 10 + i, mobile=CASHIER)
    for day in (4, 11):  # one number at three stores on one day, twice
        for store in ("S1", "S2", "S3"):
            add(store, day, 12, mobile=ROAMING)
    for day in (6, 7):  # the loyal member: three visits a day, two stores a day
        add("S1", day, 8, card="C-LOYAL", mobile=LOYAL)
        add("S2", day, 13, mobile=LOYAL)
        add("S1", day, 18, mobile=LOYAL)
    for day in (8, 15, 22, 29):
        add("S2", day, 15, mobile=ALONE)
    for day in range(1, 27, 2):  # 13 days, one receipt each
        rows.append(("S4", f"Q{day:04d}", f"2026-04-{day:02d} 16:00:00", "", QUIET_TILL))
    add("S3", 10, 11, mobile=HOUSEHOLD)  # only the shared phone: whose?
    add("S3", 12, 11, card="C-MOTHER", mobile=HOUSEHOLD)  # the mother's card decides
    add("S3", 13, 11, mobile=DUPLICATE)
    rows.append(("S1", "R-WIDE", "2026-03-20 12:00:00", "CW123", ""))  # the ASCII card
    rows.append(("S1", "R-SHEET", "2026-03-21 12:00:00", "8.80029E+11", ""))  # Excel's number
    add("S2", 14, 9, card="C-OLD-OWNER", mobile=RECYCLED)  # the old owner in March, with her card
    add("S2", 16, 9, mobile=RECYCLED)  # and without it
    rows.append(("S2", "R-NEW-1", "2026-07-02 18:00:00", "", RECYCLED))  # the newcomer in July, phone only
    rows.append(("S2", "R-NEW-2", "2026-07-09 18:00:00", "C-NEW-OWNER", RECYCLED))
    add("S1", 17, 12, mobile=MOVED_OLD)  # March: her old number, phone only
    rows.append(("S1", "R-MOVED-NEW", "2026-06-03 12:00:00", "", MOVED_NEW))  # June: the new one
    add("S3", 18, 12, mobile=RE_ISSUED)  # March: M-GONE's old number, phone only
    rows.append(("S3", "R-GONE-NEW", "2026-06-05 12:00:00", "", GONE_NEW))  # June: her new one
    rows.append(("S3", "R-NEWCOMER", "2026-09-15 12:00:00", "", RE_ISSUED))  # September: the newcomer's
    return rows


def mint(node_ids: list[str]) -> str:
    """A new one_id: 'QY' + 16 hex digits of md5 of the component's smallest node id."""
    return "QY" + hashlib.md5(min(node_ids).encode()).hexdigest()[:16].upper()


def mobile_node(number: str) -> str:
    return "mobile:" + keyed_hash(TEST_KEY, number)


def crm_nodes(member_id: str, with_mobile: bool = True) -> list[str]:
    """The nodes of a member's current CRM record (the January export)."""
    member, card, mobile, unionid = next(row for row in CRM if row[0] == member_id)[:4]
    nodes = [f"crm_member_id:{member}", f"card_no:{card}"]
    nodes += [mobile_node(mobile)] if with_mobile else []
    return nodes + ([f"unionid:{unionid}"] if unionid else [])


@pytest.fixture(scope="module")
def brand(tmp_path_factory):
    paths = paths_from_env({"QUANYU_HOME": str(tmp_path_factory.mktemp("exact"))}).ensure()
    crm = paths.landing / "crm" / "members"
    crm.mkdir(parents=True)
    lines = ["member_id,card_no,mobile,unionid,registered_at,name"]
    lines += [f"{row[0]},{row[1]},{row[2]},{row[3]},{REGISTERED.get(row[0], f'2026-01-{i + 1:02d} 10:00:00')},"
              f"{row[4] if len(row) > 4 else ''}" for i, row in enumerate(CRM)]
    # the current export (no date in its name, no updated_at: dated by the file, today)
    (crm / "members_202601.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ["member_id,card_no,mobile,unionid,registered_at,name"]
    lines += [f"{m},{c},{p},{u},{REGISTERED[m]},{n}" for m, c, p, u, n in OLDER_CRM]
    (crm / "members_20260115.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pos = paths.landing / "pos" / "sales"
    pos.mkdir(parents=True)
    lines = ["店编,单号,行号,销售时间,货号,数量,结算单价,金额,会员卡号,会员手机号"]
    lines += [f"{s},{r},1,{t},SKU1,1,10,10,{c},{m}" for s, r, t, c, m in _receipts()]
    (pos / "sales_202603.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest_all(paths)
    dbt(paths, "build", "--indirect-selection", "cautious", "--select", *MODELS)
    yield paths
    shutil.rmtree(paths.home, ignore_errors=True)


def query(paths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def one_ids(paths, where: str) -> dict[str, str | None]:
    return dict(query(paths, f"select record_key, one_id from identity.bridge_record_member where {where}"))


def receipts_of(paths, mobile: str) -> dict[str, tuple[str | None, str | None]]:
    keys = [f"{s}|{r}|1" for s, r, _, _, m in _receipts() if m == mobile]
    rows = query(paths, "select record_key, one_id, unresolved_reason from identity.bridge_record_member "
                        "where source_table = 'pos_sales' and record_key in (" + ",".join(f"'{k}'" for k in keys) + ")")
    assert len(rows) == len(keys)
    return {key: (one_id, reason) for key, one_id, reason in rows}


def refusal(paths, node_id: str) -> str | None:
    rows = query(paths, f"select refusal from identity.identity_graph_audit where node_id = '{node_id}'")
    return rows[0][0] if rows else None


def test_a_cashiers_number_is_a_placeholder_by_its_daily_volume(brand):
    """Busy on three days (4-5 receipts): refused; the member who owns the number keeps the rest."""
    assert refusal(brand, mobile_node(CASHIER)) == "blocked: placeholder by spread"
    assert query(brand, f"select busy_days, max_events_per_day from identity.identity_graph_audit "
                        f"where node_id = '{mobile_node(CASHIER)}'") == [(3, 5)]
    assert set(receipts_of(brand, CASHIER).values()) == {(None, "blocked: placeholder by spread")}
    assert one_ids(brand, "source_table = 'crm_members' and record_key = 'M-CASHIER'") == {
        "M-CASHIER": mint(crm_nodes("M-CASHIER", with_mobile=False))}
    # her phone history carries the number too, under the same node rules: it links nothing
    assert one_ids(brand, "source_table = 'crm_member_phones' and record_key like 'M-CASHIER|%'") == {
        "M-CASHIER|1": mint(crm_nodes("M-CASHIER", with_mobile=False))}


def test_a_number_in_three_stores_on_one_day_is_a_placeholder(brand):
    assert refusal(brand, mobile_node(ROAMING)) == "blocked: placeholder by spread"
    assert query(brand, f"select crowded_days, max_places_per_day from identity.identity_graph_audit "
                        f"where node_id = '{mobile_node(ROAMING)}'") == [(2, 3)]
    assert set(receipts_of(brand, ROAMING).values()) == {(None, "blocked: placeholder by spread")}


def test_a_number_no_registration_holds_seen_alone_on_many_days_is_a_placeholder(brand):
    """Never beside a card or member id, on 13 days (the limit is 12): refused, though no day is busy.
    The phone alone on four days (test below) stays a member."""
    assert refusal(brand, mobile_node(QUIET_TILL)) == "blocked: placeholder by spread"
    assert set(receipts_of(brand, QUIET_TILL).values()) == {(None, "blocked: placeholder by spread")}


def test_a_loyal_member_within_the_daily_limits_keeps_every_receipt(brand):
    assert refusal(brand, mobile_node(LOYAL)) is None
    member = mint(crm_nodes("M-LOYAL"))
    assert set(receipts_of(brand, LOYAL).values()) == {(member, None)}
    assert one_ids(brand, "record_key = 'M-LOYAL'") == {"M-LOYAL": member}


def test_a_member_held_together_by_one_value_is_explained(brand):
    member = mint([mobile_node(ALONE)])
    assert set(receipts_of(brand, ALONE).values()) == {(member, None)}
    explanation = query(brand, f"select link_type, link_kind, from_identifier_type, evidence_records "
                               f"from identity.identity_explanations where one_id = '{member}'")
    assert explanation == [("deterministic", "shared value", "mobile", 4)]


def test_a_household_phone_joins_neither_person(brand):
    """Mother and daughter: two unionids, two registrations, one phone. The phone is refused."""
    mother, daughter = mint(crm_nodes("M-MOTHER", False)), mint(crm_nodes("M-DAUGHTER", False))
    assert one_ids(brand, "record_key in ('M-MOTHER', 'M-DAUGHTER')") == {"M-MOTHER": mother, "M-DAUGHTER": daughter}
    assert refusal(brand, mobile_node(HOUSEHOLD)).startswith("limit conflict: ")
    receipts = receipts_of(brand, HOUSEHOLD)
    assert sorted(receipts.values(), key=str) == sorted(
        [(None, refusal(brand, mobile_node(HOUSEHOLD))), (mother, None)], key=str)


def test_a_duplicate_registration_on_one_card_merges(brand):
    member = mint(crm_nodes("M-DUP-1") + crm_nodes("M-DUP-2"))
    assert one_ids(brand, "record_key in ('M-DUP-1', 'M-DUP-2')") == {"M-DUP-1": member, "M-DUP-2": member}
    assert refusal(brand, mobile_node(DUPLICATE)) is None
    assert set(receipts_of(brand, DUPLICATE).values()) == {(member, None)}


def test_two_registrations_joined_only_by_a_phone_stay_apart(brand):
    """Two member ids with different cards and no unionid: the phone alone does not make them one."""
    first, second = mint(crm_nodes("M-NOWX-1", False)), mint(crm_nodes("M-NOWX-2", False))
    assert one_ids(brand, "record_key in ('M-NOWX-1', 'M-NOWX-2')") == {"M-NOWX-1": first, "M-NOWX-2": second}
    assert refusal(brand, mobile_node(NO_WECHAT)) == "limit conflict: crm_member_id"


def test_two_registrations_under_one_name_sharing_a_phone_are_one_person(brand):
    """A member id may be held twice (max_per_person 2): the same name (spaces aside) makes the
    phone a duplicate registration's link, not a household's."""
    member = mint(crm_nodes("M-SAME-1") + crm_nodes("M-SAME-2"))
    assert one_ids(brand, "record_key in ('M-SAME-1', 'M-SAME-2')") == {"M-SAME-1": member, "M-SAME-2": member}
    assert refusal(brand, mobile_node(SAME_NAME)) is None


def test_two_registrations_under_two_names_sharing_a_phone_stay_apart(brand):
    first, second = mint(crm_nodes("M-TWO-1", False)), mint(crm_nodes("M-TWO-2", False))
    assert one_ids(brand, "record_key in ('M-TWO-1', 'M-TWO-2')") == {"M-TWO-1": first, "M-TWO-2": second}
    assert refusal(brand, mobile_node(TWO_NAMES)) == "limit conflict: crm_member_id"


def test_a_recycled_number_links_each_owner_to_the_records_of_their_time(brand):
    """Idle for more than 90 days between its two owners: split on the day the newcomer registered,
    not refused. The old owner keeps her March receipts, the newcomer gets July's."""
    old = mint(crm_nodes("M-OLD-OWNER"))
    epoch = f"{mobile_node(RECYCLED)}@2026-06-20"
    new = mint(["crm_member_id:M-NEW-OWNER", "card_no:C-NEW-OWNER", epoch])
    assert one_ids(brand, "record_key in ('M-OLD-OWNER', 'M-NEW-OWNER')") == {"M-OLD-OWNER": old, "M-NEW-OWNER": new}
    owner = {f"{s}|{r}|1": (old if t < "2026-06-20" else new, None)
             for s, r, t, _, m in _receipts() if m == RECYCLED}
    assert sorted(v[0] for v in owner.values()) == sorted([old, old, new, new])
    assert receipts_of(brand, RECYCLED) == owner
    assert refusal(brand, mobile_node(RECYCLED)) is None
    assert query(brand, f"select cast(recycled_at as date) from identity.int_identity__nodes "
                        f"where node_id = '{mobile_node(RECYCLED)}'")[0][0].isoformat() == "2026-06-20"


def phone_history(paths, member_id: str) -> list[tuple[int, str, str]]:
    """(phone_seq, mobile_hash, held_since as text) of a member's phones."""
    return [(seq, phone, str(since)) for seq, phone, since in query(
        paths, f"select phone_seq, mobile_hash, held_since from staging.stg_crm__member_phones "
               f"where member_id = '{member_id}' order by phone_seq")]


def test_an_earlier_number_stays_the_members_and_links_her_old_receipts(brand):
    """The current export carries her new number, an older one her old number (history): her March
    receipt on the old number and her June receipt on the new one are both hers."""
    member = mint(crm_nodes("M-MOVED") + [mobile_node(MOVED_OLD)])
    assert one_ids(brand, "source_table = 'crm_members' and record_key = 'M-MOVED'") == {"M-MOVED": member}
    assert set(receipts_of(brand, MOVED_OLD).values()) == {(member, None)}
    assert set(receipts_of(brand, MOVED_NEW).values()) == {(member, None)}
    assert query(brand, "select record_key from identity.bridge_record_member where source_table = "
                        f"'crm_member_phones' and one_id = '{member}' order by 1") == [("M-MOVED|1",), ("M-MOVED|2",)]
    # the old number from her registration (the older export is her first), the new one from today's export
    (first, old, since), (second, new, _) = phone_history(brand, "M-MOVED")
    assert (first, old, since) == (1, keyed_hash(TEST_KEY, MOVED_OLD), "2026-01-10 10:00:00")
    assert (second, new) == (2, keyed_hash(TEST_KEY, MOVED_NEW))


def test_an_earlier_number_re_issued_to_a_newer_registration_stops_linking_her_from_the_hand_over(brand):
    """M-GONE gave up a number (the older export has it, the current one her new number); the carrier
    re-issued it to M-NEWCOMER, who registered on 1 September. Her March receipt on it stays hers
    through her phone history; the September one is the newcomer's: the number is split on the day
    it changed hands, as when both registrations still hold it."""
    gone = mint(crm_nodes("M-GONE") + [mobile_node(RE_ISSUED)])
    epoch = f"{mobile_node(RE_ISSUED)}@2026-09-01"
    newcomer = mint(["crm_member_id:M-NEWCOMER", "card_no:C-NEWCOMER", epoch])
    assert one_ids(brand, "source_table = 'crm_members' and record_key in ('M-GONE', 'M-NEWCOMER')") == {
        "M-GONE": gone, "M-NEWCOMER": newcomer}
    assert one_ids(brand, "source_table = 'crm_member_phones' and record_key in "
                          "('M-GONE|1', 'M-GONE|2', 'M-NEWCOMER|1')") == {
        "M-GONE|1": gone, "M-GONE|2": gone, "M-NEWCOMER|1": newcomer}
    owner = {f"{s}|{r}|1": (gone if t < "2026-09-01" else newcomer, None)
             for s, r, t, _, m in _receipts() if m == RE_ISSUED}
    assert sorted(v[0] for v in owner.values()) == sorted([gone, newcomer])
    assert receipts_of(brand, RE_ISSUED) == owner
    assert set(receipts_of(brand, GONE_NEW).values()) == {(gone, None)}
    assert refusal(brand, mobile_node(RE_ISSUED)) is None
    assert query(brand, f"select cast(recycled_at as date) from identity.int_identity__nodes "
                        f"where node_id = '{mobile_node(RE_ISSUED)}'")[0][0].isoformat() == "2026-09-01"


def test_unicode_forms_of_an_identifier_are_one_node(brand):
    member = mint(["crm_member_id:M-WIDE", "card_no:CW123", "unionid:oU-wide"])
    assert one_ids(brand, "record_key in ('M-WIDE', 'S1|R-WIDE|1')") == {"M-WIDE": member, "S1|R-WIDE|1": member}


def test_a_spreadsheet_damaged_card_never_becomes_a_node(brand):
    nodes = "select count(*) from identity.int_identity__nodes where identifier_value like '%E+%'"
    assert query(brand, nodes) == [(0,)]
    assert one_ids(brand, "record_key = 'S1|R-SHEET|1'") == {}  # no identifier left: not in the bridge
    assert one_ids(brand, "record_key = 'M-SHEET'") == {"M-SHEET": mint(["crm_member_id:M-SHEET",
                                                                         "card_no:880029000001"])}


def test_no_limit_is_broken_and_every_member_is_explained(brand):
    assert query(brand, "select count(*) from identity.identity_limit_violations") == [(0,)]
    unexplained = query(brand, """
        select b.one_id from identity.bridge_record_member b
        where b.one_id is not null
        group by b.one_id having count(*) > 1
           and b.one_id not in (select one_id from identity.identity_explanations)""")
    assert unexplained == []
