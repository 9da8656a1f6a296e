"""The semantic layer (dbt_project/models/semantic/): every KPI the metric marts publish is a
metric, every metric computes the mart's figure from the mart's own measures, the headline figures
agree with an independent pandas recomputation from the facts, the saved queries resolve and the
exposures name the six Superset dashboards.

Reads the session's parse (target/semantic_manifest.json, manifest.json) and the session's
published demo warehouse; metrics are computed with tests/semantic/semantic.py (plain SQL on the
measures, MetricFlow's semantics at the marts' monthly grain). MetricFlow itself runs in its own
virtual environment: test_metricflow.py.
"""
from __future__ import annotations

import datetime as dt
import math
import re

import pandas as pd
import pytest
import yaml

from ingest.settings import REPO_ROOT
from orchestration.dbt_assets import DBT_PROJECT_DIR
from tests.semantic.semantic import primary_entity

METRIC_MARTS_YML = DBT_PROJECT_DIR / "models" / "marts" / "metrics" / "_metrics__models.yml"

# Columns of the metric marts that are no KPI, and why. Every other column is a KPI: a metric must
# name it in config.meta.mart_columns. (Columns that are dimensions of the mart's semantic model -
# month, scope, channel, store, guide, segment, class, rule, identity_graph, the is_*_complete
# flags - are excluded by the test itself.)
NOT_A_KPI = {
    "ttm_months": "how many months of the trailing-twelve-month window the data covers: a completeness "
                  "flag beside the TTM figures",
    "share_of_brand_gmv": "a channel row over the brand row of the same mart; MetricFlow divides a ratio's "
                          "inputs on the same group-by keys, so it is channel_gmv by channel over gmv, read "
                          "side by side (docs/metrics.md)",
    "reply_rate": "chat-weighted over the days that report it: the mart keeps no numerator column to aggregate",
    "avg_reply_minutes": "chat-weighted over the days that report it: the mart keeps no numerator column to aggregate",
}
SIX_DASHBOARDS = {"overview", "fans_churn", "guides_stores", "repurchase_cohorts", "oneid_health", "data_quality"}
# What a brand's monthly private-domain report shows (issue 19): the pack must hold a metric for each.
MONTHLY_PACK = {"gmv", "private_domain_share", "per_fan_monthly_contribution", "fans_at_end", "churn_rate",
                "repurchase_rate", "loyalty_member_sales_share", "identified_buyer_sales_share"}
# Columns that repeat one value on every row of a month's partition (the docs say "the same on the
# month's three rows"): compared once per month although the mart has several rows.
REPEATED_ON_PARTITION = {f"{mart}.{column}" for mart in ("mart_fan_buyers_monthly", "mart_channel_overlap_monthly")
                         for column in ("all_orders", "all_gmv", "unresolved_orders", "unresolved_gmv",
                                        "unresolved_gmv_share", "unresolved_order_share")}
CJK = re.compile(r"[\u4e00-\u9fff]")


def metric_mart_columns() -> dict[str, list[str]]:
    """mart -> its columns, as _metrics__models.yml documents them."""
    doc = yaml.safe_load(METRIC_MARTS_YML.read_text(encoding="utf-8"))
    return {m["name"]: [c["name"] for c in m["columns"]] for m in doc["models"]}


def claimed(semantic_manifest) -> dict[str, list[str]]:
    """'mart.column' -> metrics that say they publish it."""
    found: dict[str, list[str]] = {}
    for metric in semantic_manifest["metrics"]:
        for column in metric["config"]["meta"].get("mart_columns", []):
            found.setdefault(column, []).append(metric["name"])
    return found


def dimension_columns(semantic_manifest) -> dict[str, set[str]]:
    """mart -> the columns its semantic models use as dimensions."""
    found: dict[str, set[str]] = {}
    for model in semantic_manifest["semantic_models"]:
        mart = model["node_relation"]["alias"]
        found.setdefault(mart, set()).update(d.get("expr") or d["name"] for d in model["dimensions"])
    return found


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def test_every_kpi_column_of_the_metric_marts_is_published_by_a_metric(semantic_manifest):
    marts = metric_mart_columns()
    assert len(marts) >= 18
    covered, dims = claimed(semantic_manifest), dimension_columns(semantic_manifest)
    missing = [f"{mart}.{c}" for mart, columns in marts.items() for c in columns
               if c not in NOT_A_KPI and c not in dims.get(mart, set()) and f"{mart}.{c}" not in covered]
    assert missing == [], "KPI columns no metric publishes (add a metric, or a justified NOT_A_KPI entry)"
    stale = sorted(c for c in NOT_A_KPI if not any(c in columns for columns in marts.values()))
    assert stale == [], "NOT_A_KPI names columns no metric mart has"


def test_no_metric_claims_a_column_the_marts_do_not_have(semantic_manifest):
    columns = {f"{mart}.{c}" for mart, cs in metric_mart_columns().items() for c in cs}
    assert sorted(set(claimed(semantic_manifest)) - columns) == []


def test_every_metric_has_an_english_and_a_chinese_label_and_a_definition(semantic_manifest):
    bad = [m["name"] for m in semantic_manifest["metrics"]
           if not (CJK.search(m["label"]) and re.search(r"[A-Za-z]{2}", m["label"])
                   and CJK.search(m["config"]["meta"]["label_zh"]) and len(m["description"]) > 20)]
    assert bad == []
    labels = [m["label"] for m in semantic_manifest["metrics"]]
    assert len(labels) == len(set(labels)) > 150


def test_every_measure_and_dimension_runs_on_its_model(semantic_manifest, warehouse):
    """Each measure's aggregation and each dimension's expression as SQL on the published table."""
    failures = []
    for model in semantic_manifest["semantic_models"]:
        node = model["node_relation"]
        relation = f'"{node["schema_name"]}"."{node["alias"]}"'
        rows = warehouse.execute(f"select count(*) from {relation}").fetchone()[0]
        if model["node_relation"]["schema_name"] == "marts" and model["node_relation"]["alias"].startswith("mart_"):
            assert rows > 0, f"{relation} is empty in the demo build"
        exprs = [f"sum(cast(({m.get('expr') or m['name']}) as double))" if m["agg"] in ("sum", "average")
                 else f"max({m.get('expr') or m['name']})" for m in model["measures"]]
        exprs += [f"count({d.get('expr') or d['name']})" for d in model["dimensions"]]
        exprs += [f"count({e.get('expr') or e['name']})" for e in model.get("entities", [])]
        try:
            warehouse.execute(f"select {', '.join(exprs)} from {relation}").fetchall()
        except Exception as exc:  # report every model, not the first
            failures.append(f"{model['name']} on {relation}: {exc}")
    assert failures == []


def test_every_metric_equals_the_mart_column_it_publishes(semantic_manifest, metrics, warehouse):
    """Every metric, computed from its measures, against each mart column it claims, wherever that
    column has one row per month on the metric's scope (the brand row), or one value repeated on the
    month's rows (REPEATED_ON_PARTITION). Columns split by a partition (segment, store, credit
    type...) are left to test_metricflow.py and the per-segment check below."""
    compared, failures = [], []
    marts = metric_mart_columns()
    for metric in semantic_manifest["metrics"]:
        meta = metric["config"]["meta"]
        for target in meta.get("mart_columns", []):
            mart, column = target.split(".")
            time_column = "day" if "day" in marts[mart] else "month"
            scope = f"scope = '{meta['scope']}'" if meta.get("scope") and "scope" in marts[mart] else "true"
            rows = warehouse.execute(
                f"select {time_column}, count(*), count(distinct coalesce(cast({column} as double), -1e300)), "
                f"any_value({column}) from marts.{mart} where {scope} group by 1").fetchall()
            repeated = target in REPEATED_ON_PARTITION
            if any(n > 1 for _, n, _, _ in rows) and not repeated:
                continue  # a partition of the month (segments, stores, credit types ...)
            assert all(distinct == 1 for _, _, distinct, _ in rows), f"{target} is not one value per month"
            expected = {period: value for period, _, _, value in rows}
            got = metrics.by_period(metric["name"])
            wrong = [(str(p), got.get(p), v) for p, v in sorted(expected.items()) if not close(got.get(p), v)]
            compared.append(target)
            if wrong:
                failures.append(f"{metric['name']} vs marts.{target}: (period, metric, mart) {wrong[:3]}")
    print(f"{len(compared)} metric / mart column pairs equal month by month")
    assert failures == []
    assert len(compared) >= 140, f"only {len(compared)} metric columns compared"


@pytest.fixture(scope="module")
def facts(warehouse):
    """fct_orders and the fan spells, read into pandas (the recomputation's only inputs)."""
    orders = warehouse.execute("select order_month, net_amount, is_valid_order, is_private_domain, one_id "
                               "from marts.fct_orders").df()
    spells = warehouse.execute("select fan_key, live_from, live_until from intermediate.int_fans__spells").df()
    calendar = warehouse.execute("select month from intermediate.int_calendar__months order by 1").fetchall()
    months = [month for (month,) in calendar]
    return orders, spells, months


def fans_at(spells: pd.DataFrame, instant: dt.datetime) -> int:
    """Distinct fans with a spell live at ``instant``: started before it (or unknown), not ended before it."""
    t = pd.Timestamp(instant)
    live = (spells.live_from.isna() | (spells.live_from < t)) & (spells.live_until.isna() | (spells.live_until >= t))
    return spells.loc[live, "fan_key"].nunique()


def test_headline_metrics_match_a_pandas_recomputation_from_the_facts(metrics, facts):
    """GMV, private-domain share, per-fan monthly contribution and repurchase rate, recomputed from
    fct_orders and int_fans__spells with pandas as DOMAIN.md defines them, month by month."""
    orders, spells, months = facts
    orders = orders.assign(net=orders.net_amount.astype(float), month=pd.to_datetime(orders.order_month).dt.date)
    gmv = orders.groupby("month").net.sum()
    private = orders[orders.is_private_domain.fillna(False)].groupby("month").net.sum()
    valid = orders[orders.is_valid_order & orders.one_id.notna()]
    per_buyer = valid.groupby(["month", "one_id"]).size()
    buyers = per_buyer.groupby(level="month").size()
    repeat = (per_buyer >= 2).groupby(level="month").sum()
    got = {name: metrics.by_period(name) for name in
           ("gmv", "private_domain_share", "per_fan_monthly_contribution", "repurchase_rate")}
    assert len(months) >= 12
    for month in months:
        start = dt.datetime.combine(month, dt.time())
        end = dt.datetime.combine(dt.date(month.year + month.month // 12, month.month % 12 + 1, 1), dt.time())
        average_fans = (fans_at(spells, start) + fans_at(spells, end)) / 2
        expected = {
            "gmv": gmv.get(month, 0.0),
            "private_domain_share": private.get(month, 0.0) / gmv[month] if gmv.get(month) else None,
            "per_fan_monthly_contribution": private.get(month, 0.0) / average_fans if average_fans else None,
            "repurchase_rate": repeat[month] / buyers[month] if buyers.get(month) else None,
        }
        for name, value in expected.items():
            assert close(got[name].get(month), value), (name, month, got[name].get(month), value)
    assert sum(float(v) for v in got["gmv"].values()) == pytest.approx(orders.net.sum(), abs=0.01)


def test_per_segment_metrics_equal_the_fan_buyers_mart(metrics, warehouse):
    """A partitioned mart: AOV and frequency of fans vs non-fans, computed per segment with the
    metric's own filter, against mart_fan_buyers_monthly's rows."""
    rows = warehouse.execute("select month, segment, aov, frequency from marts.mart_fan_buyers_monthly").fetchall()
    for month, segment, aov, frequency in rows:
        where = (f"segment = '{segment}'",)
        assert close(metrics.by_period("segment_aov", where).get(month), aov), (month, segment)
        if segment != "unidentified":
            assert close(metrics.by_period("segment_frequency", where).get(month), frequency), (month, segment)


def test_saved_queries_resolve_to_metrics_and_dimensions(semantic_manifest):
    metric_names = {m["name"] for m in semantic_manifest["metrics"]}
    dims = {(primary_entity(m), d["name"]) for m in semantic_manifest["semantic_models"] for d in m["dimensions"]}
    pattern = re.compile(r"^(?:TimeDimension\('metric_time', '(day|week|month|quarter|year)'\)"
                         r"|Dimension\('([a-z0-9_]+)__([a-z0-9_]+)'\))$")
    queries = {q["name"]: q for q in semantic_manifest["saved_queries"]}
    assert "monthly_private_domain_pack" in queries
    for name, query in queries.items():
        params = query["query_params"]
        assert params["metrics"] and set(params["metrics"]) <= metric_names, name
        for item in params["group_by"]:
            match = pattern.match(item)
            assert match, f"{name}: group_by {item!r}"
            if match.group(2):
                assert (match.group(2), match.group(3)) in dims, f"{name}: {item} names no dimension"
    assert MONTHLY_PACK <= set(queries["monthly_private_domain_pack"]["query_params"]["metrics"])


def test_exposures_are_the_six_superset_dashboards(manifest):
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) == SIX_DASHBOARDS
    for name, exposure in exposures.items():
        assert exposure["type"] == "dashboard" and exposure["maturity"] and exposure["owner"]["name"]
        assert exposure["url"] == f"http://localhost:8088/superset/dashboard/{name}/"
        nodes = exposure["depends_on"]["nodes"]
        assert any(n.startswith("model.quanyu.") for n in nodes) and any(n.startswith("metric.") for n in nodes)
        assert all(n in manifest["nodes"] or n in manifest["metrics"] for n in nodes), name


def dashboard_datasets() -> dict[str, set[str]]:
    """slug -> the tables (bi view names) its charts read, from the Superset bundle in bi/assets/."""
    assets = REPO_ROOT / "bi" / "assets"
    load = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in sorted(assets.glob("*/**/*.yaml"))]
    datasets = {d["uuid"]: d["table_name"] for d in load if "table_name" in d and "uuid" in d}
    charts = {c["uuid"]: datasets[c["dataset_uuid"]] for c in load if "dataset_uuid" in c}

    def chart_uuids(node) -> set[str]:
        if isinstance(node, dict):
            found = {node["meta"]["uuid"]} if node.get("type") == "CHART" and "meta" in node else set()
            return found.union(*(chart_uuids(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(chart_uuids(v) for v in node))
        return set()

    return {d["slug"]: {charts[u] for u in chart_uuids(d.get("position", {}))} for d in load if "slug" in d}


def test_exposures_depend_on_what_each_dashboard_reads(manifest):
    """Each dashboard's datasets are bi views; its exposure names those views (meta.bi_views) and
    depends on the models the views serve (refs to the views would fail the Spark parse, where
    the bi models are disabled)."""
    if not (REPO_ROOT / "bi" / "assets").exists():
        pytest.skip("no Superset bundle in bi/assets")
    views = {n["alias"]: n for n in manifest["nodes"].values()
             if n["resource_type"] == "model" and n["schema"] == "bi"}
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    read = dashboard_datasets()
    assert set(read) == SIX_DASHBOARDS
    for slug, tables in read.items():
        exposure = exposures[slug]
        assert set(exposure["config"]["meta"]["bi_views"]) == {f"bi.{t}" for t in tables}, slug
        served = {parent for t in tables for parent in views[t]["depends_on"]["nodes"]}
        assert served and served <= set(exposure["depends_on"]["nodes"]), (slug, sorted(served))


def test_the_time_spine_is_every_day_of_its_range(semantic_manifest, warehouse):
    (spine,) = semantic_manifest["project_configuration"]["time_spines"]
    relation = f'"{spine["node_relation"]["schema_name"]}"."{spine["node_relation"]["alias"]}"'
    column = spine["primary_column"]["name"]
    first, last, days, distinct = warehouse.execute(
        f"select min({column}), max({column}), count(*), count(distinct {column}) from {relation}").fetchone()
    assert (first, last) == (dt.date(2015, 1, 1), dt.date(2039, 12, 31))
    assert days == distinct == (last - first).days + 1
    data = warehouse.execute("select min(month), max(month) from intermediate.int_calendar__months").fetchone()
    assert first <= data[0] and data[1] <= last


def test_measure_filters_name_dimensions_of_their_model(semantic_manifest, metrics):
    """Every Dimension() a metric filter names renders to a column of a semantic model."""
    for metric in semantic_manifest["metrics"]:
        for spec in [metric, *(metric["type_params"].get(k) or {} for k in ("numerator", "denominator")),
                     *metric["type_params"].get("metrics", [])]:
            for rendered in metrics.filters_of(spec):
                assert "{{" not in rendered, (metric["name"], rendered)
