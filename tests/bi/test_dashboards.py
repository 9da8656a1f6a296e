"""The dashboards work (``make test-bi``): Superset, provisioned from bi/assets over the published demo
warehouse, holds the six dashboards under their fixed slugs, every chart's saved query runs through
Superset's API and returns rows, provisioning again changes nothing, and the datasets show the dbt
descriptions the build wrote into the file."""
from __future__ import annotations

import json

import duckdb
import pytest
import yaml

from bi import dbt_views
from tests.bi.conftest import SLUGS

pytestmark = pytest.mark.bi


@pytest.fixture(scope="module")
def api(superset):
    return superset.client()


def listing(api, superset, kind: str) -> list[dict]:
    answer = api.get(f"{superset.url}/api/v1/{kind}/", params={"q": "(page_size:100)"}, timeout=60)
    answer.raise_for_status()
    return answer.json()["result"]


def dashboard_charts(api, superset) -> dict[str, list[dict]]:
    found = {}
    for slug in SLUGS:
        answer = api.get(f"{superset.url}/api/v1/dashboard/{slug}/charts", timeout=60)
        assert answer.ok, f"dashboard {slug}: HTTP {answer.status_code} {answer.text[:300]}"
        found[slug] = answer.json()["result"]
    return found


def test_the_six_dashboards_are_provisioned_under_their_slugs_with_charts(api, superset):
    assert sorted(d["slug"] for d in listing(api, superset, "dashboard")) == sorted(SLUGS)
    charts = dashboard_charts(api, superset)
    counts = {slug: len(c) for slug, c in charts.items()}
    print(f"charts per dashboard: {counts}")
    assert all(n >= 4 for n in counts.values()), counts
    assert sum(counts.values()) == len(listing(api, superset, "chart"))


def test_every_charts_query_returns_rows_through_the_api(api, superset):
    empty, failed = [], []
    for chart in listing(api, superset, "chart"):
        answer = api.get(f"{superset.url}/api/v1/chart/{chart['id']}/data/", timeout=120)
        if not answer.ok:
            failed.append(f"{chart['slice_name']}: HTTP {answer.status_code} {answer.text[:300]}")
            continue
        results = answer.json()["result"]
        if any(r.get("error") for r in results):
            failed.append(f"{chart['slice_name']}: {[r['error'] for r in results]}")
        elif not all(r["rowcount"] > 0 for r in results):
            empty.append(chart["slice_name"])
    assert failed == [] and empty == []


def test_a_headline_figure_equals_the_warehouse_read_directly(api, superset, published):
    """The overview's GMV, through Superset, against the mart read with DuckDB (not through bi or Superset)."""
    chart = next(c for c in dashboard_charts(api, superset)["overview"] if c["slice_name"].startswith("全渠道流水"))
    answer = api.get(f"{superset.url}/api/v1/chart/{chart['id']}/data/", timeout=120)
    answer.raise_for_status()
    (value,) = answer.json()["result"][0]["data"][0].values()
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        (expected,) = con.execute("select sum(gmv) from marts.mart_sales_monthly where scope = 'brand'").fetchone()
    assert value == pytest.approx(float(expected))


def test_superset_opens_the_warehouse_read_only(api, superset):
    """The session's own access mode, asked of DuckDB through Superset's chart data endpoint."""
    dataset = next(d for d in listing(api, superset, "dataset") if d["table_name"] == "dim_member")
    metric = {"expressionType": "SQL", "sqlExpression": "max(current_setting('access_mode'))", "label": "mode"}
    body = {"datasource": {"id": dataset["id"], "type": "table"}, "force": True, "result_format": "json",
            "result_type": "full", "queries": [{"columns": [], "metrics": [metric], "row_limit": 1}]}
    answer = api.post(f"{superset.url}/api/v1/chart/data", json=body, timeout=120)
    assert answer.ok, answer.text[:500]
    assert answer.json()["result"][0]["data"] == [{"mode": "read_only"}]


def snapshot(api, superset) -> dict:
    charts = {c["id"]: (c["slice_name"], c["viz_type"]) for c in listing(api, superset, "chart")}
    params = {}
    for chart_id in charts:
        answer = api.get(f"{superset.url}/api/v1/chart/{chart_id}", timeout=60)
        answer.raise_for_status()
        params[chart_id] = json.loads(answer.json()["result"]["params"])
    return {"charts": charts, "params": params,
            "dashboards": {d["id"]: d["slug"] for d in listing(api, superset, "dashboard")},
            "datasets": {d["id"]: d["table_name"] for d in listing(api, superset, "dataset")},
            "layout": {slug: sorted(c["id"] for c in charts_)
                       for slug, charts_ in dashboard_charts(api, superset).items()}}


def test_provisioning_again_changes_nothing(api, superset):
    before = snapshot(api, superset)
    result = superset.provision()
    assert "6 dashboards, 32 charts, 16 datasets" in result.stdout, result.stdout
    assert snapshot(api, superset) == before


def test_dataset_columns_show_the_dbt_descriptions_written_into_the_warehouse(api, superset):
    documented = {m["name"]: {c["name"]: c["description"] for c in m["columns"]} for m in yaml.safe_load(
        (dbt_views.BI_DIR / dbt_views.YML_NAME).read_text(encoding="utf-8"))["models"]}
    checked = 0
    for dataset in listing(api, superset, "dataset"):
        answer = api.get(f"{superset.url}/api/v1/dataset/{dataset['id']}", timeout=60)
        answer.raise_for_status()
        columns = {c["column_name"]: c["description"] for c in answer.json()["result"]["columns"]}
        wanted = documented[dbt_views.MODEL_PREFIX + dataset["table_name"]]
        assert set(columns) == set(wanted), dataset["table_name"]
        plain = {k: v for k, v in wanted.items() if "{{" not in v}
        assert {k: columns[k] for k in plain} == plain, dataset["table_name"]
        checked += len(columns)
    assert checked > 200
