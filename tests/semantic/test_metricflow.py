"""MetricFlow itself on the published demo warehouse: `mf query` of the saved queries and of a
coarser grain, against the marts' own columns.

MetricFlow (dbt-metricflow 0.15 / metricflow 0.213) installs beside dbt-core 1.11 but not into
the project's .venv: it lives in its own virtual environment (requirements-metrics.txt,
docs/metrics.md). These tests find `mf` in $QUANYU_METRICFLOW, else in .venv-metrics/bin/, and
are skipped without it. `mf` parses the project itself (writing dbt_project/target, the same
files as the session's parse) and reads the warehouse through the profile's default target,
`served`, which opens it read-only.
"""
from __future__ import annotations

import csv
import datetime as dt
import math
import os
import subprocess
from pathlib import Path

import pytest

from ingest.settings import REPO_ROOT
from orchestration.dbt_assets import DBT_PROJECT_DIR


def metricflow() -> str | None:
    found = os.environ.get("QUANYU_METRICFLOW") or str(REPO_ROOT / ".venv-metrics" / "bin" / "mf")
    return found if Path(found).exists() else None


pytestmark = pytest.mark.skipif(metricflow() is None, reason="MetricFlow is not installed (requirements-metrics.txt)")


@pytest.fixture(scope="module")
def mf(published, tmp_path_factory):
    """Runs `mf query ...` on the published warehouse and returns the rows of its CSV."""
    env = {k: v for k, v in os.environ.items() if k not in ("QUANYU_DBT_TARGET", "QUANYU_DBT_BUILD_FILE")}
    env.update(published.as_env())
    folder = tmp_path_factory.mktemp("mf")

    def query(*args: str) -> list[dict[str, str]]:
        out = folder / f"q{len(list(folder.iterdir()))}.csv"
        result = subprocess.run([metricflow(), "query", *args, "--csv", str(out)], cwd=DBT_PROJECT_DIR, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0 and out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
        with out.open(encoding="utf-8") as f:
            return list(csv.DictReader(f))

    return query


def number(text: str) -> float | None:
    return None if text in ("", "None", "nan") else float(text)


def period(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-4)


def test_the_monthly_pack_equals_the_marts(mf, warehouse):
    rows = mf("--saved-query", "monthly_private_domain_pack")
    brand = "where scope = 'brand'"
    sources = {
        "marts.mart_sales_monthly " + brand: ["gmv", "private_domain_share", "loyalty_member_sales_share",
                                              "unresolved_gmv_share"],
        "marts.mart_fan_contribution_monthly": ["per_fan_monthly_contribution", "per_fan_yearly_contribution"],
        "marts.mart_fans_monthly " + brand: ["fans_at_end", "net_new_fans", "churn_rate"],
        "marts.mart_repurchase_monthly " + brand: ["repurchase_rate"],
    }
    marts = {metric: f"select month, {metric} from {source}" for source, names in sources.items() for metric in names}
    assert len(rows) >= 12
    for metric, sql in marts.items():
        expected = dict(warehouse.execute(sql).fetchall())
        got = {period(r["metric_time__month"]): number(r[metric]) for r in rows}
        assert got.keys() == expected.keys(), metric
        wrong = [(m, got[m], v) for m, v in expected.items() if not close(got[m], v)]
        assert wrong == [], metric


def test_channel_figures_equal_the_channel_rows(mf, warehouse):
    rows = mf("--saved-query", "monthly_private_domain_by_channel")
    channel_rows = warehouse.execute("select month, channel, gmv, private_domain_share from marts.mart_sales_monthly "
                                     "where scope = 'channel'").fetchall()
    expected = {(m, c): (g, s) for m, c, g, s in channel_rows}
    got = {(period(r["metric_time__month"]), r["sales_row__channel"]):
           (number(r["channel_gmv"]), number(r["channel_private_domain_share"])) for r in rows}
    assert got.keys() == expected.keys() and len(got) >= 5 * 12
    assert [k for k, (g, s) in expected.items() if not (close(got[k][0], g) and close(got[k][1], s))] == []


def test_a_year_takes_the_last_month_of_trailing_figures_and_adds_up_flows(mf, warehouse):
    """At year grain: the TTM per-fan contribution is its last month's (non-additive dimension),
    churn divides the year's deletions by the WeCom fans at the year's first month."""
    rows = mf("--metrics", "per_fan_yearly_contribution,churn_rate,private_domain_gmv",
              "--group-by", "metric_time__year")
    by_year = {period(r["metric_time__year"]).year: r for r in rows}
    for year, row in by_year.items():
        last, yearly = warehouse.execute(
            "select month, per_fan_yearly_contribution from marts.mart_fan_contribution_monthly "
            "where year(month) = ? order by month desc limit 1", [year]).fetchone()
        assert close(number(row["per_fan_yearly_contribution"]), yearly), (year, last)
        deletions, first_fans = warehouse.execute(
            "select sum(customer_deletions), arg_min(wecom_fans_at_start, month) from marts.mart_fans_monthly "
            "where scope = 'brand' and year(month) = ?", [year]).fetchone()
        (private,) = warehouse.execute("select sum(private_domain_gmv) from marts.mart_sales_monthly "
                                       "where scope = 'brand' and year(month) = ?", [year]).fetchone()
        assert close(number(row["churn_rate"]), deletions / first_fans), year
        assert close(number(row["private_domain_gmv"]), private), year
    assert len(by_year) >= 1
