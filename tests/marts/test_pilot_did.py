"""The pilot mart against the generator's truth and a pandas recomputation from the raw lake.

The demo's pilot (demo/pilot.py) lowers the friend applications of two stores' guides from
July on; truth/pilot_effects.json holds the true effect per KPI. mart_pilot_did must say what
an independent difference in differences says (from the WeCom statistics and the staff master
in the lake, via tests/marts/test_guide_ops_recompute.guide_days; scipy's t quantile) and its
interval must hold the true effect.
"""
from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
from scipy import stats

from demo.pilot import PILOT
from orchestration.dbt_assets import DBT_PROJECT_DIR
from tests.marts.test_guide_ops_recompute import guide_days
from tests.marts.test_marts_recompute import query

COUNTS = {"friend_applications": "new_apply_cnt", "chats": "chat_cnt"}


def seed(name: str) -> list[dict[str, str]]:
    with open(DBT_PROJECT_DIR / "seeds" / f"{name}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_pilot_seeds_define_the_generators_pilot():
    pilot = [p for p in seed("pilots") if p["pilot"] == PILOT.name]
    assert len(pilot) == 1 and pilot[0]["unit"] == "guide"
    assert (pilot[0]["pre_start_date"], pilot[0]["start_date"], pilot[0]["end_date"]) == (
        PILOT.pre_start.isoformat(), PILOT.start.isoformat(), PILOT.end.isoformat())
    units = [u for u in seed("pilot_units") if u["pilot"] == PILOT.name]
    assert {u["store_code"] for u in units if u["arm"] == "test"} == set(PILOT.test_stores)
    assert {u["store_code"] for u in units if u["arm"] == "control"} == set(PILOT.control_stores)
    assert {k["kpi"] for k in seed("pilot_kpis") if k["pilot"] == PILOT.name} == set(PILOT.kpis)


def recomputed_did(paths) -> pd.DataFrame:
    """DiD per KPI from the raw statistics: per guide, months on staff of each period, counts per
    month and the acceptance rate over the period; Welch's t interval at 95%."""
    days = guide_days(paths)
    arm = {s: "test" for s in PILOT.test_stores} | {s: "control" for s in PILOT.control_stores}
    days = days[days.store_code.isin(arm)].copy()
    days["arm"] = days.store_code.map(arm)
    start, pre, end = (pd.Timestamp(d) for d in (PILOT.start, PILOT.pre_start, PILOT.end))
    days = days[(days.day >= pre) & (days.day <= end)]
    days["period"] = np.where(days.day < start, "before", "during")
    sums = days.groupby(["guide_userid", "arm", "period"]).agg(
        new_apply_cnt=("new_apply_cnt", "sum"), new_contact_cnt=("new_contact_cnt", "sum"),
        chat_cnt=("chat_cnt", "sum"))
    on_staff = days[days.is_on_staff].groupby(["guide_userid", "arm", "period"]).month.nunique().rename("months")
    units = sums.join(on_staff, how="inner")
    values = pd.DataFrame({kpi: units[column] / units.months for kpi, column in COUNTS.items()})
    values["friend_acceptance_rate"] = units.new_contact_cnt / units.new_apply_cnt.replace(0, np.nan)
    rows = []
    for kpi in PILOT.kpis:
        wide = values[kpi].unstack("period").dropna()
        change = (wide.during - wide.before).groupby(level="arm")
        n, mean, var = change.size(), change.mean(), change.var(ddof=1)
        terms = var / n
        se = np.sqrt(terms.sum())
        df = terms.sum() ** 2 / (terms ** 2 / (n - 1)).sum()
        table = [int(r["degrees_of_freedom"]) for r in seed("student_t_quantiles")]
        t = stats.t.ppf(0.975, max(d for d in table if d <= df))
        did = mean["test"] - mean["control"]
        rows.append({"kpi": kpi, "test_units": n["test"], "control_units": n["control"], "did_estimate": did,
                     "standard_error": se, "degrees_of_freedom": df, "ci_lower": did - t * se,
                     "ci_upper": did + t * se})
    return pd.DataFrame(rows).set_index("kpi")


def test_the_did_mart_equals_an_independent_recomputation(warehouse):
    mart = query(warehouse, f"select * from marts.mart_pilot_did where pilot = '{PILOT.name}'").set_index("kpi")
    mine = recomputed_did(warehouse)
    assert set(mart.index) == set(PILOT.kpis)
    mart = mart.loc[mine.index]
    assert (mart.test_units == mine.test_units).all() and (mart.control_units == mine.control_units).all()
    for column in ["did_estimate", "standard_error", "degrees_of_freedom"]:
        assert np.allclose(mart[column].astype(float), mine[column], rtol=0, atol=1e-9), column
    for column in ["ci_lower", "ci_upper"]:  # the seed's t quantile has six decimals
        assert np.allclose(mart[column].astype(float), mine[column], rtol=0, atol=1e-5), column


def test_the_interval_holds_the_generators_true_effect(warehouse, demo_home):
    truth = json.loads((demo_home.home / "truth" / "pilot_effects.json").read_text(encoding="utf-8"))
    mart = query(warehouse, f"select * from marts.mart_pilot_did where pilot = '{PILOT.name}'").set_index("kpi")
    for kpi, effect in truth["true_effect"].items():
        row = mart.loc[kpi]
        assert row.ci_lower <= effect <= row.ci_upper, (kpi, effect, row.ci_lower, row.ci_upper)
    assert len(truth["test_guides"]) == mart.loc["friend_applications"].test_units
    # the demo pilot worked, and the brand can tell: fewer applications, more accepted; chats untouched
    assert mart.loc["friend_acceptance_rate"].verdict == "increased"
    assert mart.loc["friend_applications"].verdict == "decreased"
    assert mart.loc["chats"].verdict == "inconclusive"
