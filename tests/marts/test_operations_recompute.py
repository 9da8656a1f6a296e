"""Recompute the member-operation marts in pandas, independently of their SQL, and compare.

Reads the session's published build (fixture ``published``): the facts the marts start from
(``marts.fct_orders``, ``marts.fct_order_lines``, ``marts.dim_product``,
``marts.fct_wecom_relationships``, ``marts.dim_member``), the tag and audience marts the member 360
summarises, and the rule seeds as CSV files, never the operation marts' own intermediate tables.
The cohorts, the intervals (own history, product cycle, brand median), the due dates, the list,
the back-test (RFM classes on past dates included) and the 360's tags, audiences and favourite
category are derived here from those rows with pandas (medians by ``Series.median``, months by
``Period`` arithmetic), following the definitions written in
``models/marts/operations/_operations__models.yml``. Counts compare exactly, rates to 1e-9.
"""
from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
RATE = 1e-9
DUE_WINDOW_DAYS = 7  # dbt_project.yml, var repurchase_due_window_days
HIT_DAYS = 14  # var repurchase_due_hit_days


def read(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()


@pytest.fixture(scope="module")
def facts(published) -> dict[str, pd.DataFrame]:
    """The facts and marts of the published build, read once for the module."""
    warehouse = published.warehouse
    orders = read(warehouse, "select order_key, one_id, channel, is_valid_order, booked_at, "
                             "cast(net_amount as double) as net_amount from marts.fct_orders")
    orders["booked_at"] = pd.to_datetime(orders.booked_at)
    spells = read(warehouse, "select spell_id, one_id, started_at, ended_at, acquisition_channel, store_code "
                             "from marts.fct_wecom_relationships")
    members = read(warehouse, "select one_id, home_store_code, is_opted_out, owner_guide_userid, "
                              "owner_guide_employee_no from marts.dim_member")
    lines = read(warehouse, "select one_id, is_valid_order, booked_at, merchant_code, category, "
                            "cast(qty as double) as qty, cast(paid_amount as double) as paid_amount "
                            "from marts.fct_order_lines")
    lines["booked_at"] = pd.to_datetime(lines.booked_at)
    products = read(warehouse, "select merchant_code, product_name, consumption_cycle_days from marts.dim_product")
    tags = read(warehouse, "select one_id, tag_group, tag_name, is_current from marts.mart_member_tags")
    audiences = read(warehouse, "select audience_id, one_id from marts.mart_audience_members")
    marts = {name: read(warehouse, f"select * from marts.{name}")
             for name in ("mart_cohort_retention", "mart_callback_list", "mart_member_repurchase_due",
                          "mart_repurchase_due_hit_rate", "mart_member_360")}
    data = {"orders": orders, "spells": spells, "members": members, "lines": lines, "products": products,
            "tags": tags, "audiences": audiences, **marts}
    data["cycles"] = product_cycles(data)
    return data


def valid_orders(facts) -> pd.DataFrame:
    orders = facts["orders"]
    valid = orders[orders.is_valid_order & orders.one_id.notna()].copy()
    valid["month"] = valid.booked_at.dt.to_period("M")
    valid["day"] = valid.booked_at.dt.normalize()
    return valid


def window(facts) -> list[pd.Period]:
    """The months of the data: from the first booked order's month to the last's (every order, valid or not)."""
    booked = facts["orders"].booked_at
    return list(pd.period_range(booked.min().to_period("M"), booked.max().to_period("M"), freq="M"))


# --------------------------------------------------------------------------- cohort retention


def buyer_cohorts(facts) -> tuple[pd.DataFrame, dict[str, set]]:
    """Each buyer's cohort (first valid order: month, channel; home store) and, per measure, the
    (one_id, month) pairs that count as retained."""
    valid = valid_orders(facts).sort_values(["booked_at", "order_key"])
    first = valid.groupby("one_id").head(1).set_index("one_id")
    stores = facts["members"].set_index("one_id").home_store_code
    cohorts = pd.DataFrame({"cohort_month": first.month, "acquisition_channel": first.channel,
                            "store": stores.reindex(first.index)})
    again = valid[~valid.order_key.isin(first.order_key)]
    repurchased = set(zip(again.one_id, again.month))
    active_days = pd.read_csv(SEEDS / "member_lifecycle_stages.csv").set_index("stage").max_days["active"]
    active = set()
    for month in window(facts):
        month_end = month.to_timestamp(how="end").normalize()
        last = valid[valid.day <= month_end].groupby("one_id").day.max()
        recent = last[(month_end - last).dt.days <= active_days].index
        active |= {(one_id, month) for one_id in recent}
    return cohorts, {"repurchased": repurchased, "active": active}


def fan_cohorts(facts) -> tuple[pd.DataFrame, dict[str, set]]:
    """Each fan's cohort (the first WeCom spell: month, acquisition channel, guide's store; members
    with a spell begun before the data left out) and the retained (one_id, month) pairs."""
    spells = facts["spells"][facts["spells"].one_id.notna()].copy()
    spells["started_at"] = pd.to_datetime(spells.started_at)
    spells["ended_at"] = pd.to_datetime(spells.ended_at)
    unknown_start = set(spells[spells.started_at.isna()].one_id)
    known = spells[~spells.one_id.isin(unknown_start)].sort_values(["started_at", "spell_id"])
    first = known.groupby("one_id").head(1).set_index("one_id")
    cohorts = pd.DataFrame({"cohort_month": first.started_at.dt.to_period("M"),
                            "acquisition_channel": first.acquisition_channel, "store": first.store_code})
    friend = set()
    for month in window(facts):
        at = (month + 1).to_timestamp()
        live = known[((known.started_at < at) | known.started_at.isna())
                     & ((known.ended_at >= at) | known.ended_at.isna())]
        friend |= {(one_id, month) for one_id in live.one_id if one_id in first.index}
    valid = valid_orders(facts)
    valid = valid[valid.one_id.isin(first.index)]
    after_add = valid[valid.booked_at >= first.started_at.reindex(valid.one_id).to_numpy()]
    return cohorts, {"friend": friend, "bought": set(zip(after_add.one_id, after_add.month))}


def expected_cohort_rows(facts) -> pd.DataFrame:
    months = window(facts)
    rows = []
    for kind, (cohorts, measures) in {"buyers": buyer_cohorts(facts), "fans": fan_cohorts(facts)}.items():
        cohorts = cohorts[cohorts.cohort_month.isin(months)]
        breakdowns = {"all": pd.Series("all", index=cohorts.index),
                      "acquisition_channel": cohorts.acquisition_channel.fillna("unknown"),
                      "store": cohorts.store.fillna("unknown")}
        for dimension, values in breakdowns.items():
            for (cohort_month, value), group in cohorts.groupby([cohorts.cohort_month, values]):
                for measure, retained_pairs in measures.items():
                    for month in months:
                        if month < cohort_month:
                            continue
                        retained = sum((one_id, month) in retained_pairs for one_id in group.index)
                        rows.append({"cohort_kind": kind, "measure": measure, "dimension": dimension,
                                     "dimension_value": value, "cohort_month": cohort_month.to_timestamp(),
                                     "months_since": (month - cohort_month).n, "cohort_size": len(group),
                                     "retained": retained})
    return pd.DataFrame(rows)


def test_cohort_retention_agrees_with_a_pandas_recomputation_from_the_facts(facts):
    expected = expected_cohort_rows(facts)
    mart = facts["mart_cohort_retention"].copy()
    mart["cohort_month"] = pd.to_datetime(mart.cohort_month)
    keys = ["cohort_kind", "measure", "dimension", "dimension_value", "cohort_month", "months_since"]
    both = expected.merge(mart, on=keys, how="outer", suffixes=("_expected", ""), indicator=True)
    assert (both._merge == "both").all(), both[both._merge != "both"][keys + ["_merge"]].head(10).to_string()
    assert len(expected) > 100 and expected.retained.sum() > 0  # the demo brand has real cohorts
    for column in ("cohort_size", "retained"):
        differs = both[both[f"{column}_expected"] != both[column]]
        assert differs.empty, differs[keys + [f"{column}_expected", column]].head(10).to_string()
    rate = both.retained_expected / both.cohort_size_expected
    assert ((both.rate - rate).abs() < RATE).all()
    # the whole cohort equals the sum of its breakdowns
    first_month = mart[mart.months_since == 0]
    sizes = first_month.groupby(["cohort_kind", "measure", "dimension", "cohort_month"]).cohort_size.sum()
    assert (sizes.unstack("dimension").nunique(axis=1) == 1).all()


# --------------------------------------------------------------------------- repurchase due


def product_cycles(facts) -> pd.DataFrame:
    """Per member and purchase day: the day's main product with a consumption cycle (the largest
    paid amount over the day's valid lines of products whose cycle is > 0; ties: the longer cycle,
    then the merchant code) and the days its units last (units x cycle)."""
    lines = facts["lines"]
    lines = lines[lines.is_valid_order & lines.one_id.notna() & (lines.qty > 0)].copy()
    cycles = facts["products"].set_index("merchant_code").consumption_cycle_days
    lines["cycle"] = cycles.reindex(lines.merchant_code).to_numpy()
    lines = lines[lines.cycle > 0]
    lines["day"] = lines.booked_at.dt.normalize()
    per_product = (lines.groupby(["one_id", "day", "merchant_code"])
                   .agg(units=("qty", "sum"), paid=("paid_amount", "sum"), cycle=("cycle", "max")).reset_index())
    per_product["paid"] = per_product.paid.round(2)  # amounts are in fen: float sums compare as decimals
    main = (per_product.sort_values(["one_id", "day", "paid", "cycle", "merchant_code"],
                                    ascending=[True, True, False, False, True])
            .groupby(["one_id", "day"]).head(1))
    main["product_cycle_days"] = main.units * main.cycle
    return main.set_index(["one_id", "day"])[["merchant_code", "units", "product_cycle_days"]]


def due_states(facts, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per member who had bought by ``as_of``: purchase days, the typical interval (own history,
    else the cycle of the product of the one purchase day, else the brand median) and the due date."""
    valid = valid_orders(facts)
    days = valid[valid.day <= as_of].drop_duplicates(["one_id", "day"]).sort_values(["one_id", "day"])
    days["gap"] = days.groupby("one_id").day.diff().dt.days
    brand_median = days.gap.median()
    per_member = days.groupby("one_id").agg(purchase_days=("day", "size"), last_order_date=("day", "max"),
                                            own_median=("gap", "median"))
    cycles = facts["cycles"].reindex(list(zip(per_member.index, per_member.last_order_date)))
    one_day = per_member.purchase_days == 1
    per_member["product_cycle_days"] = cycles.product_cycle_days.to_numpy()
    per_member["cycle_merchant_code"] = cycles.merchant_code.to_numpy()
    per_member.loc[~one_day, ["product_cycle_days", "cycle_merchant_code"]] = None
    per_member["interval_basis"] = "brand_median"
    per_member.loc[per_member.product_cycle_days.notna(), "interval_basis"] = "product_cycle"
    per_member.loc[per_member.own_median.notna(), "interval_basis"] = "own_history"
    interval = per_member.own_median.fillna(per_member.product_cycle_days).fillna(brand_median)
    per_member["typical_interval_days"] = interval.map(lambda x: math.floor(x + 0.5))
    per_member["due_date"] = per_member.last_order_date + pd.to_timedelta(per_member.typical_interval_days, unit="D")
    per_member["days_until_due"] = (per_member.due_date - as_of).dt.days
    per_member["is_due"] = per_member.days_until_due.between(1, DUE_WINDOW_DAYS)
    return per_member


def test_the_callback_list_agrees_with_a_pandas_recomputation_from_the_facts(facts):
    as_of = facts["orders"].booked_at.max().normalize()  # the latest business date
    states = due_states(facts, as_of)
    members = facts["members"].set_index("one_id")
    reachable = members.index[~members.is_opted_out.astype(bool)]
    listed = states[states.is_due & states.index.isin(reachable)]

    mart = facts["mart_callback_list"].set_index("one_id")
    assert (pd.to_datetime(mart.as_of_date) == as_of).all()
    assert sorted(mart.index) == sorted(listed.index)
    assert len(listed) > 0 and members.is_opted_out.any()  # the demo lists members and has opted-out ones
    assert not mart.index.isin(members.index[members.is_opted_out.astype(bool)]).any()
    mart = mart.loc[listed.index]
    assert (pd.to_datetime(mart.due_date) == listed.due_date).all()
    assert (mart.typical_interval_days == listed.typical_interval_days).all()
    assert (mart.interval_basis == listed.interval_basis).all()
    assert (mart.purchase_days == listed.purchase_days).all()
    assert (mart.guide_userid.fillna("") == members.owner_guide_userid.reindex(listed.index).fillna("")).all()
    # the last order: the latest valid one booked on or before the as-of date (ties: the greater key)
    valid = valid_orders(facts)
    last = (valid[valid.day <= as_of].sort_values(["booked_at", "order_key"])
            .groupby("one_id").tail(1).set_index("one_id").order_key)
    assert (mart.last_order_key == last.reindex(listed.index)).all()
    reason_of_basis = {"own_history": "own_interval_due", "product_cycle": "product_cycle_due",
                       "brand_median": "brand_interval_due"}
    assert (mart.reason_code == listed.interval_basis.map(reason_of_basis)).all()
    assert (mart.cycle_merchant_code.fillna("") == listed.cycle_merchant_code.fillna("")).all()
    # a product-cycle reason names the product the guide can offer again
    names = facts["products"].set_index("merchant_code").product_name
    by_cycle = mart[mart.reason_code == "product_cycle_due"]
    assert all(names[code] in reason for code, reason in zip(by_cycle.cycle_merchant_code, by_cycle.reason))

    due = facts["mart_member_repurchase_due"].set_index("one_id")
    assert sorted(due.index) == sorted(states.index)
    assert (due.is_due == states.is_due.reindex(due.index)).all()
    states = states.reindex(due.index)
    assert (due.interval_basis == states.interval_basis).all()
    assert (due.typical_interval_days.astype("Int64") == states.typical_interval_days.astype("Int64")).all()
    both = due.product_cycle_days.notna()
    assert (both == states.product_cycle_days.notna()).all()
    assert (due.product_cycle_days[both].astype(float) == states.product_cycle_days[both].astype(float)).all()
    # the demo has members of every basis, so each rule is exercised on real data
    assert set(due.interval_basis) == {"own_history", "product_cycle", "brand_median"}


def rfm_classes(facts, as_of: pd.Timestamp) -> pd.Series:
    """Each buyer's RFM class on ``as_of`` (mart_member_rfm_lifecycle's rule: R, F, M high against the
    average of the members who had bought by then, F and M over the last rfm_window_days days)."""
    window_days = pd.read_csv(SEEDS / "metric_parameters.csv").set_index("parameter").value["rfm_window_days"]
    valid = valid_orders(facts)
    valid = valid[valid.day <= as_of]
    recent = valid[valid.day > as_of - pd.Timedelta(days=int(window_days))]
    recency = (as_of - valid.groupby("one_id").day.max()).dt.days
    frequency = recent.groupby("one_id").size().reindex(recency.index, fill_value=0)
    monetary = recent.groupby("one_id").net_amount.sum().reindex(recency.index, fill_value=0.0)
    flags = pd.DataFrame({"r_high": recency <= recency.mean(), "f_high": frequency >= frequency.mean(),
                          "m_high": monetary >= monetary.mean()})
    classes = pd.read_csv(SEEDS / "rfm_classes.csv").set_index(["r_high", "f_high", "m_high"]).rfm_class
    return pd.Series([classes[tuple(row)] for row in flags.itertuples(index=False)], index=flags.index)


def test_the_hit_rate_back_test_agrees_with_a_pandas_recomputation_from_the_facts(facts):
    """Every month end: the listed members per RFM class and their purchases in the next 14 days,
    against the unlisted, not-due members of the same class; the 'all' row weighs the classes'
    control rates by their listed members."""
    valid = valid_orders(facts)
    members = facts["members"].set_index("one_id")
    opted_out = set(members.index[members.is_opted_out.astype(bool)])
    data_end = facts["orders"].booked_at.max().normalize()
    mart = facts["mart_repurchase_due_hit_rate"].copy()
    mart["as_of_date"] = pd.to_datetime(mart.as_of_date)
    mart = mart.set_index(["as_of_date", "rfm_class"])
    month_ends = [m.to_timestamp(how="end").normalize() for m in window(facts)]
    month_ends = [d for d in month_ends if d <= data_end]
    assert sorted(mart.index.get_level_values("as_of_date").unique()) == month_ends
    for as_of in month_ends:
        states = due_states(facts, as_of)
        states = states[~states.index.isin(opted_out)].copy()
        states["rfm_class"] = rfm_classes(facts, as_of).reindex(states.index)
        bought = set(valid[(valid.day > as_of) & (valid.day <= as_of + pd.Timedelta(days=HIT_DAYS))].one_id)
        states["hit"] = states.index.isin(bought)
        complete = as_of + pd.Timedelta(days=HIT_DAYS) <= data_end
        weighted, weights = 0.0, 0
        for rfm_class, group in states.groupby("rfm_class"):
            row = mart.loc[(as_of, rfm_class)]
            listed, control = group[group.is_due], group[~group.is_due]
            found = (row.listed_members, row.listed_buyers, row.control_members, row.control_buyers)
            assert found == (len(listed), listed.hit.sum(), len(control), control.hit.sum()), (as_of, rfm_class)
            assert row.is_complete == complete
            if len(control):
                weighted += len(listed) * control.hit.mean()
                weights += len(listed)
        assert len(mart.loc[as_of]) == states.rfm_class.nunique() + 1  # the classes and 'all'
        overall = mart.loc[(as_of, "all")]
        assert overall.listed_members == states.is_due.sum()
        assert overall.listed_buyers == (states.is_due & states.hit).sum()
        if complete and weights:
            assert abs(overall.control_hit_rate - weighted / weights) < RATE, as_of
            assert abs(overall.hit_rate - (states.is_due & states.hit).sum() / states.is_due.sum()) < RATE
        elif not complete:
            assert pd.isna(overall.hit_rate) and pd.isna(overall.control_hit_rate)


# --------------------------------------------------------------------------- member 360


def test_the_member_360_tags_audiences_and_favourite_category_agree_with_pandas(facts):
    """Current tags of every source as sorted 'group:name' entries, the audiences of this build,
    the favourite category by lifetime line paid amount (ties: the latest purchase, then the name)
    and its share of the member's line spend, recomputed from the tag, audience and line tables."""
    mart = facts["mart_member_360"].set_index("one_id")

    current = facts["tags"][facts["tags"].is_current.astype(bool)]
    entries = (current.tag_group + ":" + current.tag_name).groupby(current.one_id)
    tags = entries.agg(lambda values: "; ".join(sorted(set(values)))).reindex(mart.index)
    assert (mart.tags.fillna("") == tags.fillna("")).all()
    assert (mart.tag_count == entries.nunique().reindex(mart.index, fill_value=0)).all()
    assert mart.tags.str.contains("; ").any()  # members carry several tags in the demo

    audiences = facts["audiences"].groupby("one_id").audience_id
    ids = audiences.agg(lambda values: "; ".join(sorted(set(values)))).reindex(mart.index)
    assert (mart.audience_ids.fillna("") == ids.fillna("")).all()
    assert (mart.audience_count == audiences.nunique().reindex(mart.index, fill_value=0)).all()
    assert mart.audience_count.sum() == len(facts["audiences"]) > 0

    lines = facts["lines"]
    lines = lines[lines.is_valid_order & lines.one_id.notna()]
    total = lines.groupby("one_id").paid_amount.sum().round(2)
    spend = (lines[lines.category.notna()].groupby(["one_id", "category"])
             .agg(paid=("paid_amount", "sum"), last=("booked_at", "max")).reset_index())
    spend["paid"] = spend.paid.round(2)
    favourite = (spend.sort_values(["one_id", "paid", "last", "category"], ascending=[True, False, False, True])
                 .groupby("one_id").head(1).set_index("one_id").reindex(mart.index))
    assert (mart.favourite_category.fillna("") == favourite.category.fillna("")).all()
    paid = mart.favourite_category_paid_amount.astype(float)
    assert ((paid - favourite.paid).abs().fillna(0) < 0.005).all()
    assert ((mart.lifetime_line_paid_amount.astype(float) - total.reindex(mart.index, fill_value=0)).abs()
            < 0.005).all()
    share = favourite.paid / total.reindex(mart.index)
    share = share.where(total.reindex(mart.index) != 0)
    assert ((mart.favourite_category_share - share).abs().fillna(0) < RATE).all()
    assert (mart.favourite_category_share.isna() == share.isna()).all()
    assert mart.favourite_category.nunique() > 1  # buyers of the demo differ in what they buy most
