"""Recompute the guide and store operation marts in pandas, independently of the SQL, and compare.

As tests/marts/test_marts_recompute.py (whose readers this reuses): from the raw Parquet of the
lake, never staging or marts, with member identity (identity.bridge_record_member /
identity_registry) and the code-list seeds as the only shared inputs. Guide activity comes from
the WeCom statistics and the change events, 加V from the CRM and the relationship spells, the
sales decomposition from the orders of every channel. Counts compare exactly, rates to 1e-9,
amounts to 0.01 CNY.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.marts.test_marts_recompute import (
    CNY,
    code_map,
    fan_spells,
    live_at,
    mapped,
    months_of,
    orders_from_raw,
    query,
    raw,
    wecom_spells,
)

RATE = 1e-9


# --------------------------------------------------------------------------- inputs


def window_days(paths) -> pd.DatetimeIndex:
    months = months_of(paths)
    return pd.date_range(months[0], months[-1] + pd.offsets.MonthEnd(0), freq="D")


def guides_of(paths) -> pd.DataFrame:
    """One row per WeCom userid of the staff master: the active employee, else the latest hired."""
    staff = raw(paths, "staff", ["employee_no"])
    staff = staff[staff.wecom_userid.notna()].copy()
    status = mapped(staff.employment_status, code_map("employment_status"))
    staff["is_active"] = np.where(status.notna(), status == "active", staff.left_on.isna())
    staff["hired_on"] = pd.to_datetime(staff.hired_on)
    staff["left_on"] = pd.to_datetime(staff.left_on)
    staff = staff.sort_values(["wecom_userid", "is_active", "hired_on", "employee_no"],
                              ascending=[True, False, False, False], na_position="last")
    return staff.drop_duplicates("wecom_userid").set_index("wecom_userid")


def acquisitions(paths) -> pd.DataFrame:
    """Relationship spells started with a known start that are not the receiving side of a transfer."""
    spells = wecom_spells(paths).reset_index(drop=True)
    contacts = raw(paths, "wecom_contacts", ["external_userid", "guide_userid"])
    add_way = dict(zip(zip(contacts.external_userid, contacts.guide_userid), contacts.add_way))
    # the contact list describes the pair's last spell
    last = spells.groupby(["external_userid", "guide_userid"]).tail(1).index
    ways = pd.Series([add_way.get(k) for k in zip(spells.external_userid, spells.guide_userid)], index=spells.index)
    by_listing = spells.index.isin(last) & ways.isin([201, 202])
    events = raw(paths, "wecom_contact_events", ["external_userid", "guide_userid", "change_type", "event_at"])
    moved = events[(events.change_type == "del_external_contact") & (events.source == "DELETE_BY_TRANSFER")
                   & events.guide_userid.notna()]
    near = spells.reset_index().merge(moved[["external_userid", "guide_userid", "event_at"]],
                                      on="external_userid", suffixes=("", "_from"))
    near = near[(near.guide_userid_from != near.guide_userid)
                & ((near.event_at - near.start).abs() <= pd.Timedelta(hours=24))]
    transfer_in = by_listing | spells.index.isin(near["index"])
    return spells[spells.start.notna() & ~transfer_in]


def guide_days(paths) -> pd.DataFrame:
    """One row per guide and window day on staff, with statistics or with an add (int_guides__days)."""
    days = window_days(paths)
    guides = guides_of(paths)
    staff_days = [(uid, d) for uid, g in guides.iterrows() for d in days
                  if (pd.isna(g.hired_on) or g.hired_on <= d)
                  and ((pd.notna(g.left_on) and d < g.left_on) or (pd.isna(g.left_on) and g.is_active))]
    on_staff = pd.DataFrame(staff_days, columns=["guide_userid", "day"]).assign(is_on_staff=True)
    stats = raw(paths, "wecom_guide_daily_stats", ["guide_userid", "stat_date"])
    stats["day"] = pd.to_datetime(stats.stat_date)
    stats = stats[stats.day.isin(days)].assign(has_stats=True)
    adds = acquisitions(paths)
    adds = adds.assign(day=adds.start.dt.normalize())
    adds = adds[adds.day.isin(days)].groupby(["guide_userid", "day"]).size().rename("friend_adds").reset_index()
    frame = on_staff.merge(stats, on=["guide_userid", "day"], how="outer").merge(
        adds, on=["guide_userid", "day"], how="outer")
    frame["is_on_staff"] = frame.is_on_staff.eq(True)
    frame["has_stats"] = frame.has_stats.eq(True)
    frame["friend_adds"] = frame.friend_adds.fillna(0).astype(int)
    frame["is_active"] = (frame.chat_cnt.fillna(0).gt(0) | frame.new_contact_cnt.fillna(0).gt(0)
                          | frame.friend_adds.gt(0))
    frame["store_code"] = frame.guide_userid.map(guides.store_code)
    frame["month"] = frame.day.dt.to_period("M").dt.to_timestamp()
    frame["reply_percentage"] = frame.reply_percentage.astype(float)
    return frame


def scoped(frame: pd.DataFrame, scopes: list[str]) -> pd.DataFrame:
    """One copy of every row per scope: brand (no key), store (store_code), guide (store_code, guide_userid)."""
    parts = []
    for scope in scopes:
        part = frame.copy()
        part["scope"] = scope
        part["key_store"] = None if scope == "brand" else part.store_code
        part["key_guide"] = part.guide_userid if scope == "guide" else None
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out["key_store"] = out.key_store.fillna("-")
    out["key_guide"] = out.key_guide.fillna("-")
    return out


def assert_rate(mart: pd.Series, mine: pd.Series, what: str) -> None:
    both = pd.DataFrame({"mart": mart.astype(float).values, "mine": mine.astype(float).values})
    assert (both.mart.isna() == both.mine.isna()).all(), what
    known = both.dropna()
    assert np.allclose(known.mart, known.mine, rtol=0, atol=RATE), what


# --------------------------------------------------------------------------- the demo has the hard cases


def test_the_demo_statistics_have_the_cases_real_pulls_have(warehouse):
    days = guide_days(warehouse)
    on_staff = days[days.is_on_staff]
    silent = set(on_staff.guide_userid) - set(days.guide_userid[days.has_stats])
    assert silent, "a guide on staff without any statistics row"
    assert days.is_active[days.guide_userid.isin(silent)].any(), "whose adds still show in the events"
    assert (on_staff.has_stats.eq(False) & ~on_staff.guide_userid.isin(silent)).any(), "a missing day"
    guides = guides_of(warehouse)
    assert guides.left_on.notna().any(), "a guide who left"
    stats = days[days.has_stats]
    assert (stats.new_apply_cnt.eq(0)).any(), "a day without applications"
    assert (stats.new_apply_cnt.gt(0) & stats.new_contact_cnt.eq(0)).any(), "applications, no acceptance"
    assert (stats.chat_cnt.eq(0) & stats.new_contact_cnt.eq(0)).any(), "an inactive day with a row"
    assert stats.reply_percentage.isna().any(), "a day without a reply rate"


# --------------------------------------------------------------------------- guide activity


def test_monthly_guide_activity_by_brand_store_and_guide(warehouse):
    days = guide_days(warehouse)
    days["weight"] = days.chat_cnt.where(days.reply_percentage.notna())
    days["weighted"] = days.reply_percentage * days.chat_cnt
    days["time_weight"] = days.chat_cnt.where(days.avg_reply_time.notna())
    days["time_weighted"] = days.avg_reply_time * days.chat_cnt
    rows = scoped(days, ["brand", "store", "guide"])
    keys = ["month", "scope", "key_store", "key_guide"]
    by = rows.groupby(keys)
    mine = pd.DataFrame({
        "guides_on_staff": by.apply(lambda g: g.guide_userid[g.is_on_staff].nunique(), include_groups=False),
        "reporting_guides": by.apply(lambda g: g.guide_userid[g.has_stats].nunique(), include_groups=False),
        "active_guides": by.apply(lambda g: g.guide_userid[g.is_active].nunique(), include_groups=False),
        "active_guides_on_staff": by.apply(lambda g: g.guide_userid[g.is_active & g.is_on_staff].nunique(),
                                           include_groups=False),
        "guide_days_on_staff": by.is_on_staff.sum(),
        "active_guide_days": by.is_active.sum(),
        "friend_applications": by.new_apply_cnt.sum(),
        "friend_acceptances": by.new_contact_cnt.sum(),
        "friend_adds": by.friend_adds.sum(),
        "chats": by.chat_cnt.sum(),
        "messages": by.message_cnt.sum(),
        "negative_feedback": by.negative_feedback_cnt.sum(),
        "weight": by.weight.sum(), "weighted": by.weighted.sum(),
        "time_weight": by.time_weight.sum(), "time_weighted": by.time_weighted.sum(),
    })
    mart = query(warehouse, "select * from marts.mart_guide_activity_monthly")
    mart["month"] = pd.to_datetime(mart.month)
    mart["key_store"] = mart.store_code.fillna("-")
    mart["key_guide"] = mart.guide_userid.fillna("-")
    mart = mart.set_index(keys).sort_index()
    # the grid: every month for every scope with a guide-day in the window
    scope_keys = mine.reset_index()[["scope", "key_store", "key_guide"]].drop_duplicates()
    assert len(mart) == len(scope_keys) * len(months_of(warehouse))
    mine = mine.reindex(mart.index, fill_value=0)
    for column in ["guides_on_staff", "reporting_guides", "active_guides", "active_guides_on_staff",
                   "guide_days_on_staff", "active_guide_days", "friend_applications", "friend_acceptances",
                   "friend_adds", "chats", "messages", "negative_feedback"]:
        assert (mart[column].astype(int) == mine[column].astype(int)).all(), column
    days_in_month = pd.Series(mart.index.get_level_values("month"), index=mart.index).map(
        lambda m: (m + pd.offsets.MonthEnd(0)).day)
    assert (mart.days_in_month == days_in_month).all()
    assert_rate(mart.average_daily_active_guides, mine.active_guide_days / days_in_month, "average daily active")
    assert_rate(mart.monthly_active_rate,
                (mine.active_guides_on_staff / mine.guides_on_staff.replace(0, np.nan)), "monthly active rate")
    assert_rate(mart.friend_acceptance_rate,
                mine.friend_acceptances / mine.friend_applications.replace(0, np.nan), "acceptance rate")
    assert_rate(mart.reply_rate, mine.weighted / mine.weight.replace(0, np.nan) / 100, "reply rate")
    assert_rate(mart.avg_reply_minutes, mine.time_weighted / mine.time_weight.replace(0, np.nan), "reply minutes")
    guides = guides_of(warehouse)
    on_guide = mart.index.get_level_values("scope") == "guide"
    assert (mart.guide_employee_no[on_guide]
            == mart.index.get_level_values("key_guide")[on_guide].map(guides.employee_no)).all()
    # the silent guide: on staff every month, never reporting, active through the events' adds only
    silent = mart.xs(("guide",), level=["scope"]).query("reporting_guides == 0 and guides_on_staff == 1")
    assert len(silent) and (silent.friend_applications == 0).all() and silent.active_guides.sum() > 0


def test_guide_acceptance_agrees_with_the_fans_mart(warehouse):
    activity = query(warehouse, "select month, scope, store_code, guide_userid, friend_applications, "
                                "friend_acceptances from marts.mart_guide_activity_monthly")
    fans = query(warehouse, "select month, scope, store_code, guide_userid, friend_applications, "
                            "friend_acceptances from marts.mart_fans_monthly")
    both = activity.merge(fans, on=["month", "scope", "store_code", "guide_userid"], how="inner")
    assert len(both) > 0
    assert (both.friend_applications_x == both.friend_applications_y).all()
    assert (both.friend_acceptances_x == both.friend_acceptances_y).all()
    brand = activity[activity.scope == "brand"]
    assert brand.friend_applications.sum() == fans[fans.scope == "brand"].friend_applications.sum()


def test_daily_active_guides_by_brand_and_store(warehouse):
    days = guide_days(warehouse)
    rows = scoped(days, ["brand", "store"])
    keys = ["day", "scope", "key_store"]
    by = rows.groupby(keys)
    mine = pd.DataFrame({
        "guides_on_staff": by.is_on_staff.sum(), "reporting_guides": by.has_stats.sum(),
        "active_guides": by.is_active.sum(),
        "active_guides_on_staff": by.apply(lambda g: int((g.is_active & g.is_on_staff).sum()), include_groups=False),
        "chats": by.chat_cnt.sum(), "friend_adds": by.friend_adds.sum(),
    })
    mart = query(warehouse, "select * from marts.mart_guide_activity_daily")
    mart["day"] = pd.to_datetime(mart.day)
    mart["key_store"] = mart.store_code.fillna("-")
    mart = mart.set_index(keys).sort_index()
    stores = set(raw(warehouse, "stores", ["store_code"]).store_code) | set(days.store_code.fillna("-"))
    assert len(mart) == len(window_days(warehouse)) * (1 + len(stores))
    mine = mine.reindex(mart.index, fill_value=0)
    for column in mine.columns:
        assert (mart[column].astype(int) == mine[column].astype(int)).all(), column
    assert_rate(mart.daily_active_rate, mine.active_guides_on_staff / mine.guides_on_staff.replace(0, np.nan),
                "daily active rate")
    brand = mart.xs("brand", level="scope")
    assert 0 < brand.active_guides.min() < brand.guides_on_staff.max(), "days with inactive guides"


# --------------------------------------------------------------------------- 加V and the sales decomposition


def member_scopes(paths) -> pd.DataFrame:
    """(one_id, scope, key_store, key_guide, registered_at) from each member's primary CRM record."""
    crm = raw(paths, "crm_members", ["member_id"])
    bridge = query(paths, "select record_key, one_id from identity.bridge_record_member "
                          "where source_table = 'crm_members' and one_id is not null")
    crm = crm.merge(bridge, left_on="member_id", right_on="record_key")
    crm["registered_at"] = pd.to_datetime(crm.registered_at)
    primary = crm.sort_values(["one_id", "registered_at", "member_id"], na_position="last").drop_duplicates("one_id")
    staff = raw(paths, "staff", ["employee_no"]).set_index("employee_no")
    brand = primary.assign(scope="brand", key_store="-", key_guide="-")
    store = primary[primary.register_store_code.notna()].assign(
        scope="store", key_store=lambda f: f.register_store_code, key_guide="-")
    guide = primary[primary.exclusive_guide_id.notna()].assign(
        scope="guide", key_store=lambda f: f.exclusive_guide_id.map(staff.store_code).fillna("-"),
        key_guide=lambda f: f.exclusive_guide_id)
    return pd.concat([brand, store, guide], ignore_index=True)[
        ["one_id", "scope", "key_store", "key_guide", "registered_at"]]


def friend_months(paths) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(members at month end per scope row, friends at month end per scope row)."""
    scopes = member_scopes(paths)
    spells = fan_spells(paths)
    spells = spells[(spells.source == "wecom") & spells.one_id.notna()].copy()
    staff = raw(paths, "staff", ["employee_no"])
    staff = staff[staff.wecom_userid.notna()]
    spells = spells.merge(staff[["wecom_userid", "employee_no", "store_code"]], left_on="guide_userid",
                          right_on="wecom_userid", how="left")
    members, friends = [], []
    for month in months_of(paths):
        end = month + pd.DateOffset(months=1)
        now = scopes[scopes.registered_at.isna() | (scopes.registered_at < end)].assign(month=month)
        live = spells[live_at(spells, end)]
        by_brand = set(live.one_id)
        by_store = set(zip(live.one_id, live.store_code))
        by_guide = set(zip(live.one_id, live.employee_no))
        is_friend = [(scope == "brand" and one_id in by_brand)
                     or (scope == "store" and (one_id, store) in by_store)
                     or (scope == "guide" and (one_id, guide) in by_guide)
                     for one_id, scope, store, guide in zip(now.one_id, now.scope, now.key_store, now.key_guide)]
        members.append(now)
        friends.append(now[np.array(is_friend, dtype=bool)])
    return pd.concat(members, ignore_index=True), pd.concat(friends, ignore_index=True)


KEYS = ["month", "scope", "key_store", "key_guide"]


def keyed(mart: pd.DataFrame) -> pd.DataFrame:
    mart["month"] = pd.to_datetime(mart.month)
    mart["key_store"] = mart.store_code.fillna("-")
    mart["key_guide"] = mart.guide_employee_no.fillna("-")
    return mart.set_index(KEYS).sort_index()


def test_member_wecom_friend_rate_by_store_and_guide(warehouse):
    members, friends = friend_months(warehouse)
    mine = pd.DataFrame({"members": members.groupby(KEYS).size(), "friends": friends.groupby(KEYS).size()})
    mart = keyed(query(warehouse, "select * from marts.mart_member_wecom_friends_monthly"))
    mine = mine.reindex(mart.index, fill_value=0).fillna(0)
    assert (mart.members_at_end == mine.members).all()
    assert (mart.friend_members_at_end == mine.friends).all()
    assert_rate(mart.friend_rate, mine.friends / mine.members.replace(0, np.nan), "加V rate")
    stores = mart.xs("store", level="scope")
    assert stores.friend_members_at_end.sum() > 0 and (stores.friend_rate < 1).any()
    assert len(mart.xs("guide", level="scope")) > 0


def test_sales_decomposition_reconciles_and_is_recomputed(warehouse):
    _, friends = friend_months(warehouse)
    orders = orders_from_raw(warehouse)
    valid = orders[orders.is_valid & orders.one_id.notna()][["one_id", "month", "net"]]
    bought = friends.merge(valid, on=["one_id", "month"])
    by = bought.groupby(KEYS)
    mine = pd.DataFrame({"buyers": by.one_id.nunique(), "orders": by.size(), "sales": by.net.sum()})
    mart = keyed(query(warehouse, "select * from marts.mart_sales_decomposition_monthly"))
    reach = keyed(query(warehouse, "select * from marts.mart_member_wecom_friends_monthly"))
    assert mart.index.equals(reach.index)
    assert (mart.reachable_members == reach.members_at_end).all()
    assert (mart.friend_members == reach.friend_members_at_end).all()
    mine = mine.reindex(mart.index, fill_value=0).fillna(0)
    assert (mart.buyers == mine.buyers).all() and (mart.orders == mine.orders).all()
    assert np.allclose(mart.sales.astype(float), mine.sales, atol=CNY)
    assert_rate(mart.conversion_rate, mine.buyers / mart.friend_members.replace(0, np.nan), "conversion")
    # the product reconciles to sales; where a factor is undefined there is no sale
    product = mart.reachable_members * mart.friend_rate * mart.conversion_rate * mart.aov
    defined = product.notna()
    assert defined.sum() > 0
    assert np.allclose(product[defined], mart.sales[defined].astype(float), atol=CNY)
    assert (mart.sales[~defined].astype(float) == 0).all()
    # month over month: previous month's sales, and the growths multiply to the sales growth
    previous = mart.groupby(level=["scope", "key_store", "key_guide"]).sales.shift(1)
    assert ((mart.previous_sales.astype(float) == previous.astype(float)) | (mart.previous_sales.isna()
                                                                             & previous.isna())).all()
    growth = (mart.reachable_members_growth * mart.friend_rate_growth * mart.conversion_rate_growth
              * mart.aov_growth)
    both = pd.DataFrame({"growth": growth, "sales_growth": mart.sales_growth}).dropna()
    assert len(both) > 0
    assert np.allclose(both.growth, both.sales_growth, rtol=1e-9, atol=0)
    assert mart.xs("store", level="scope").sales.astype(float).sum() > 0


@pytest.mark.parametrize("scope", ["store", "guide"])
def test_the_decomposition_covers_every_month_of_every_scope(warehouse, scope):
    mart = query(warehouse, f"select month, store_code, guide_employee_no from marts.mart_sales_decomposition_monthly "
                            f"where scope = '{scope}'")
    per_scope = mart.groupby([mart.store_code.fillna("-"), mart.guide_employee_no.fillna("-")]).month.nunique()
    assert len(per_scope) > 0 and (per_scope == len(months_of(warehouse))).all()
