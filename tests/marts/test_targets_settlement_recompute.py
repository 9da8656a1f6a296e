"""Recompute target attainment (and guide settlement) in pandas, independently of the SQL, and compare.

Reads the session's published build (fixture ``published``, no build of its own) and, as
tests/marts/test_marts_recompute.py does, the raw Parquet of the lake: the plans' newest version
per month and store or guide, orders of every channel, CRM registrations and WeCom relationship
spells. Shared inputs, on purpose: member identity (identity.bridge_record_member) and the
member's own guide (marts.dim_member, whose survivorship rules are tested with OneID): a guide's
sales are her own members' orders. Counts compare exactly, ratios to 1e-9, amounts to 0.01 CNY.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest

from tests.marts.test_guide_ops_recompute import acquisitions, guides_of, member_scopes
from tests.marts.test_marts_recompute import CNY, SEEDS, code_map, mapped, months_of, orders_from_raw, query, raw

RATE = 1e-9


def plan(paths, table: str, key: str) -> pd.DataFrame:
    """The plan's newest version per (month, store or guide), months of the window only."""
    targets = raw(paths, table, ["target_month", key])
    targets["month"] = pd.to_datetime(targets.target_month).dt.to_period("M").dt.to_timestamp()
    targets = targets.sort_values("updated_at", ascending=False).drop_duplicates(["month", key])
    return targets[targets.month.isin(months_of(paths))].set_index(["month", key])


def in_month(times: pd.Series) -> pd.Series:
    return pd.to_datetime(times).dt.to_period("M").dt.to_timestamp()


def store_actuals(paths) -> pd.DataFrame:
    """sales (POS + mini-program served by the store), cards opened, friend adds per (month, store)."""
    orders = orders_from_raw(paths)
    served = orders[orders.channel.isin(["pos", "mini_program"]) & orders.store.notna()]
    sales = served.groupby(["month", "store"]).net.sum().rename("sales")
    scopes = member_scopes(paths)
    stores = scopes[(scopes.scope == "store") & scopes.registered_at.notna()]
    members = stores.groupby([in_month(stores.registered_at), stores.key_store]).size().rename("new_members")
    adds = acquisitions(paths)
    adds = adds.assign(store=adds.guide_userid.map(guides_of(paths).store_code), month=in_month(adds.start))
    friends = adds[adds.store.notna()].groupby(["month", "store"]).size().rename("new_friends")
    frame = pd.concat([sales, members, friends], axis=1).fillna(0)
    frame.index = frame.index.set_names(["month", "store_code"])
    return frame


def guide_actuals(paths) -> pd.DataFrame:
    """sales (own members' orders), new members (primary registrations naming her), adds per (month, guide)."""
    orders = orders_from_raw(paths)
    owner = query(paths, "select one_id, owner_guide_employee_no from marts.dim_member "
                         "where owner_guide_employee_no is not null")
    credited = orders.merge(owner, on="one_id")
    sales = credited.groupby(["month", "owner_guide_employee_no"]).net.sum().rename("sales")
    scopes = member_scopes(paths)
    guides = scopes[(scopes.scope == "guide") & scopes.registered_at.notna()]
    members = guides.groupby([in_month(guides.registered_at), guides.key_guide]).size().rename("new_members")
    adds = acquisitions(paths)
    employee = guides_of(paths).employee_no
    adds = adds.assign(guide=adds.guide_userid.map(employee), month=in_month(adds.start))
    friends = adds[adds.guide.notna()].groupby(["month", "guide"]).size().rename("new_friends")
    frame = pd.concat([sales, members, friends], axis=1).fillna(0)
    frame.index = frame.index.set_names(["month", "guide_employee_no"])
    return frame


def assert_close(mart: pd.Series, mine: pd.Series, tolerance: float, what: str) -> None:
    both = pd.DataFrame({"mart": mart.astype(float), "mine": mine.astype(float)})
    assert (both.mart.isna() == both.mine.isna()).all(), (what, both[both.mart.isna() != both.mine.isna()].head())
    known = both.dropna()
    bad = known[~np.isclose(known.mart, known.mine, rtol=0, atol=tolerance)]
    assert bad.empty, (what, bad.head())


def assert_attainment(mart: pd.DataFrame, targets: pd.DataFrame, actuals: pd.DataFrame, what: str) -> None:
    """Targets, actuals, attainment and gap of every measure, row by row."""
    for name, tolerance in (("sales", CNY), ("new_members", 0), ("new_friends", 0)):
        target = targets[f"{name}_target"].reindex(mart.index)
        actual = actuals[name].reindex(mart.index).fillna(0)
        assert_close(mart[f"{name}_target"], target, CNY, f"{what} {name}_target")
        assert_close(mart[f"{name}_actual"], actual, tolerance + 1e-9, f"{what} {name}_actual")
        ratio = (actual / target.astype(float)).where(target.astype(float) > 0)
        assert_close(mart[f"{name}_attainment"], ratio, RATE, f"{what} {name}_attainment")
        assert_close(mart[f"{name}_gap"], actual - target.astype(float), CNY, f"{what} {name}_gap")


# --------------------------------------------------------------------------- the demo plan has the cases


def test_the_demo_plan_has_the_cases_real_plans_have(published):
    stores = raw(published, "store_targets", ["target_month", "store_code"])
    guides = raw(published, "guide_targets", ["target_month", "guide_employee_no"])
    files = (published.lake / "quarantine" / "store_targets").glob("*.parquet")
    quarantined = pd.concat(pd.read_parquet(f) for f in files)
    assert quarantined.reason.str.contains("target_month: cannot parse").any(), "the totals row 合计 is quarantined"
    versions = pd.concat([raw(published, "store_targets", ["target_month", "store_code", "_source_file"]),
                          raw(published, "guide_targets", ["target_month", "guide_employee_no", "_source_file"])])
    assert versions.duplicated(["target_month", "store_code", "guide_employee_no"], keep=False).any(), "a revision"
    master = raw(published, "stores", ["store_code"])
    assert set(master.store_code) - set(stores.store_code), "a store without any target"
    staff = raw(published, "staff", ["employee_no"]).set_index("employee_no")
    left = pd.to_datetime(staff.left_on.reindex(guides.guide_employee_no).values)
    assert (pd.to_datetime(guides.target_month).values >= left).any(), "a leaver keeps targets after her last day"
    months = len(months_of(published))
    planned = guides.groupby("guide_employee_no").size()
    assert (planned < months).any(), "guide-months without a target"


# --------------------------------------------------------------------------- attainment


def test_store_target_attainment_is_recomputed_from_the_plan_and_the_raw_exports(published):
    mart = query(published, "select * from marts.mart_store_target_attainment_monthly")
    mart["month"] = pd.to_datetime(mart.month)
    mart = mart.set_index(["month", "store_code"]).sort_index()
    targets = plan(published, "store_targets", "store_code")
    actuals = store_actuals(published)
    months = months_of(published)
    stores = set(raw(published, "stores", ["store_code"]).store_code) | set(
        actuals.index.get_level_values(1)) | set(targets.index.get_level_values(1))
    assert set(mart.index) == {(m, s) for m in months for s in stores}
    assert (mart.has_target == mart.index.isin(targets.index)).all()
    assert_attainment(mart, targets, actuals, "store")
    # year to date: like with like, the months with a sales target
    with_target = mart.sales_target.notna()
    by_store = mart.index.get_level_values("store_code")
    so_far = with_target.groupby(by_store).cumsum() > 0
    for column, values in (("sales_target_ytd", mart.sales_target), ("sales_actual_ytd", mart.sales_actual)):
        expected = values.where(with_target, 0).astype(float).groupby(by_store).cumsum().where(so_far)
        assert_close(mart[column], expected, CNY, column)
    assert_close(mart.sales_attainment_ytd, (mart.sales_actual_ytd / mart.sales_target_ytd).astype(float),
                 RATE, "sales_attainment_ytd")
    assert mart.has_target.any() and (~mart.has_target).any()


def test_guide_target_attainment_is_recomputed_from_the_plan_and_the_raw_exports(published):
    mart = query(published, "select * from marts.mart_guide_target_attainment_monthly")
    mart["month"] = pd.to_datetime(mart.month)
    mart = mart.set_index(["month", "guide_employee_no"]).sort_index()
    targets = plan(published, "guide_targets", "guide_employee_no")
    actuals = guide_actuals(published)
    active = actuals[(actuals.sales != 0) | (actuals.new_members > 0) | (actuals.new_friends > 0)]
    guides = set(targets.index.get_level_values(1)) | set(active.index.get_level_values(1))
    assert set(mart.index) == {(m, g) for m in months_of(published) for g in guides}
    assert_attainment(mart, targets, actuals, "guide")
    staff = raw(published, "staff", ["employee_no"]).set_index("employee_no")
    left = pd.to_datetime(staff.left_on.reindex(mart.index.get_level_values(1)).values)
    gone = pd.notna(left) & (left <= mart.index.get_level_values(0))
    assert not mart.is_on_staff[gone].any()
    assert (mart.has_target & ~mart.is_on_staff).any(), "a leaver's targets after her last day"


@pytest.mark.parametrize("level", ["store", "guide"])
def test_attainment_actuals_are_the_existing_marts_figures(published, level):
    """The actuals reconcile with the marts that define them (a change to one shows in the other)."""
    if level == "store":
        sql = """select count(*) from marts.mart_store_target_attainment_monthly a
                 join marts.mart_store_kpis_monthly k using (month, store_code)
                 where a.sales_actual <> k.store_gmv or a.new_members_actual <> k.cards_opened
                    or a.new_friends_actual <> k.new_wecom_friends"""
    else:
        sql = """select count(*) from marts.mart_guide_target_attainment_monthly a
                 join (select month, guide_employee_no, sum(gmv) as gmv from marts.mart_guide_attribution_monthly
                       where credit_type = 'owner_guide' group by all) g using (month, guide_employee_no)
                 where a.sales_actual <> g.gmv"""
        friends = """select count(*) from marts.mart_guide_target_attainment_monthly a
                     join (select month, guide_employee_no, sum(friend_adds) as adds
                           from marts.mart_guide_activity_monthly where scope = 'guide' group by all) f
                       using (month, guide_employee_no)
                     where a.new_friends_actual <> f.adds"""
        # after the first month, a guide's new members are the growth of her member stock
        members = """select count(*) from marts.mart_guide_target_attainment_monthly a
                     join (select month, guide_employee_no, members_at_end - lag(members_at_end) over (
                               partition by guide_employee_no order by month) as growth
                           from marts.mart_member_wecom_friends_monthly where scope = 'guide') m
                       using (month, guide_employee_no)
                     where m.growth is not null and a.new_members_actual <> m.growth"""
        assert query(published, friends).iloc[0, 0] == 0
        assert query(published, members).iloc[0, 0] == 0
    assert query(published, sql).iloc[0, 0] == 0


# --------------------------------------------------------------------------- settlement


def pos_credit(paths) -> pd.DataFrame:
    """Per POS receipt: the guide 业绩归属方 credits (role, typed employee, else serving then own guide)."""
    lines = raw(paths, "pos_sales", ["store_code", "receipt_no", "line_no"])
    lines["order_id"] = lines.store_code + "-" + lines.receipt_no
    receipts = lines.groupby("order_id").agg(store=("store_code", "max"), credit_to=("credit_to", "max"),
                                             serving=("serving_guide_id", "max"), owner=("owner_guide_id", "max"))
    roles = code_map("pos_credit_to")
    staff = raw(paths, "staff", ["employee_no"]).set_index("employee_no").store_code
    role = mapped(receipts.credit_to, roles)
    typed = receipts.credit_to.str.strip().map(lambda v: v if v in staff.index else None)
    default = receipts.serving.fillna(receipts.owner)
    guide = np.select(
        [role == "store", role == "serving_guide", role == "owner_guide", typed.notna()],
        [None, receipts.serving, receipts.owner, typed], default)
    status = np.select(
        [receipts.credit_to.isna(), role.notna(), typed.notna() & (typed.map(staff) == receipts.store), typed.notna()],
        ["blank", "role", "employee", "employee_other_store"], "unknown_code")
    return receipts.assign(guide=guide, status=status)


def commission(net: pd.Series, valid: pd.Series, kind: pd.Series, value: pd.Series) -> pd.Series:
    """percent: net x rate in decimals, rounded to the fen half away from zero; fixed: the amount per valid order."""
    def percent(n: float, rate: float) -> float:
        if pd.isna(rate):
            return 0.0
        exact = Decimal(f"{n:.2f}") * Decimal(str(rate))
        return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))

    percents = pd.Series([percent(n, r) for n, r in zip(net, value)], index=net.index)
    fixed = value.astype(float).fillna(0.0)
    return pd.Series(np.select([kind == "percent", (kind == "fixed") & valid], [percents, fixed], 0.0), index=net.index)


def settlement_credits(paths) -> pd.DataFrame:
    """One row per credited order x role with its rule and commission, from the lake and the rules seed."""
    orders = orders_from_raw(paths)
    credit = pos_credit(paths)
    orders["credited"] = np.where(orders.channel == "pos", orders.order_id.map(credit.guide),
                                  np.where(orders.channel == "mini_program", orders.serving_guide, None))
    owner = query(paths, "select one_id, owner_guide_employee_no as owner from marts.dim_member")
    orders = orders.merge(owner, on="one_id", how="left")
    rules = pd.read_csv(SEEDS / "guide_commission_rules.csv", parse_dates=["valid_from", "valid_to"])
    orders["day"] = orders.booked_at.dt.normalize()
    fits = orders.reset_index()[["index", "channel", "day"]].merge(rules, how="cross", suffixes=("", "_rule"))
    fits = fits[((fits.channel_rule == fits.channel) | (fits.channel_rule == "*")) & (fits.valid_from <= fits.day)
                & (fits.valid_to.isna() | (fits.day <= fits.valid_to))]
    first_fit = fits.sort_values(["index", "priority", "rule_id"]).drop_duplicates("index").set_index("index")
    orders["rule_id"] = first_fit.rule_id.reindex(orders.index)
    orders = orders.merge(rules, on="rule_id", how="left", suffixes=("", "_rule"))
    first = orders[orders.credited.notna()].assign(role="credited_guide", guide=lambda f: f.credited)
    first["commission"] = commission(first.net, first.is_valid, first.commission_type, first.commission_value)
    double = orders[orders.double_credit.eq(True) & orders.owner.notna() & (orders.owner != orders.credited)]
    double = double.assign(role="store_guide", guide=double.owner)
    double["commission"] = commission(double.net, double.is_valid, double.double_credit_commission_type,
                                      double.double_credit_commission_value)
    return pd.concat([first, double], ignore_index=True)


def test_the_demo_receipts_credit_guides_the_ways_real_receipts_do(published):
    status = pos_credit(published).status.value_counts()
    for case in ("role", "employee", "employee_other_store", "unknown_code", "blank"):
        assert status.get(case, 0) > 0, case
    settled = query(published, "select credit_to_status, count(*) as n from marts.fct_guide_settlement_orders "
                               "where channel = 'pos' group by 1").set_index("credit_to_status").n
    assert settled.get("unknown_code", 0) > 0 and settled.get("employee_other_store", 0) > 0


def test_monthly_settlement_is_recomputed_from_the_lake_and_the_rules(published):
    credits = settlement_credits(published)
    assert {"pos_618", "pos_base_2025", "pos_base_2026", "mini_program_base", "online_own_guide"} <= set(
        credits.rule_id.dropna()), "every rule applies to some order of the demo"
    mine = credits.pivot_table(index=["month", "guide"], columns="role", values=["net", "commission"],
                               aggfunc="sum", fill_value=0)
    mart = query(published, "select * from marts.mart_guide_settlement_monthly")
    mart["month"] = pd.to_datetime(mart.month)
    mart = mart.groupby(["month", "guide_employee_no"])[
        ["credited_sales", "credited_commission", "store_guide_sales", "store_guide_commission"]].sum()
    assert set(mine.index) <= set(mart.index)
    mine = mine.reindex(mart.index, fill_value=0)
    for column, (value, role) in {"credited_sales": ("net", "credited_guide"),
                                  "credited_commission": ("commission", "credited_guide"),
                                  "store_guide_sales": ("net", "store_guide"),
                                  "store_guide_commission": ("commission", "store_guide")}.items():
        assert_close(mart[column], mine[(value, role)], CNY, column)
    # the whole: credited sales add up to the orders that credit a guide
    assert abs(mart.credited_sales.sum() - credits[credits.role == "credited_guide"].net.sum()) < CNY
