"""The dashboard bundle in bi/assets, checked without Superset (default suite, no build): it holds the
six fixed slugs, every chart's dataset and every dashboard's chart is in the bundle, every dataset
is a view of the ``bi`` schema, and provisioning points its one database at the served file,
read-only, refusing a bundle that names a machine's own path."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bi import dbt_views, provision
from tests.bi.conftest import SLUGS


@pytest.fixture(scope="module")
def bundle() -> dict[str, dict]:
    contents = provision.bundle_contents(provision.ASSETS, Path("/srv/quanyu/warehouse/quanyu.duckdb"))
    return {name: yaml.safe_load(text) for name, text in contents.items()}


def of_kind(bundle, folder: str) -> dict[str, dict]:
    return {name: doc for name, doc in bundle.items() if name.startswith(f"{folder}/")}


def test_the_database_is_the_served_file_opened_read_only(bundle):
    (database,) = of_kind(bundle, "databases").values()
    assert database["sqlalchemy_uri"] == "duckdb:////srv/quanyu/warehouse/quanyu.duckdb?access_mode=read_only"
    assert not database["allow_dml"] and not database["allow_file_upload"]


def test_the_six_dashboards_reference_only_charts_and_datasets_of_the_bundle(bundle):
    dashboards = of_kind(bundle, "dashboards").values()
    assert sorted(d["slug"] for d in dashboards) == sorted(SLUGS)
    charts = {c["uuid"]: c for c in of_kind(bundle, "charts").values()}
    datasets = {d["uuid"]: d for d in of_kind(bundle, "datasets").values()}
    (database,) = of_kind(bundle, "databases").values()
    placed = [item["meta"]["uuid"] for d in dashboards for item in d["position"].values()
              if isinstance(item, dict) and item.get("type") == "CHART"]
    assert sorted(placed) == sorted(charts), "every chart on exactly one dashboard"
    assert {c["dataset_uuid"] for c in charts.values()} <= set(datasets)
    assert {d["database_uuid"] for d in datasets.values()} == {database["uuid"]}


def test_every_dataset_is_a_view_of_the_bi_schema_and_every_chart_column_exists(bundle):
    views = {s.alias: {c["name"] for c in s.columns} for s in dbt_views.served_models()}
    datasets = {d["uuid"]: d for d in of_kind(bundle, "datasets").values()}
    assert {d["schema"] for d in datasets.values()} == {"bi"}
    missing = []
    for name, chart in of_kind(bundle, "charts").items():
        table = datasets[chart["dataset_uuid"]]["table_name"]
        params = chart["params"]
        used = set(params.get("groupby") or []) | {f["subject"] for f in params.get("adhoc_filters") or []}
        used |= {m["column"]["column_name"] for m in (params.get("metrics") or []) + [params.get("metric") or {}]
                 if m.get("expressionType") == "SIMPLE"}
        if params.get("x_axis"):
            used.add(params["x_axis"])
        missing += [f"{name}: {table}.{column}" for column in sorted(used - views[table])]
    assert missing == []


def test_a_bundle_naming_its_own_database_path_is_refused_by_file(tmp_path):
    for source in provision.ASSETS.rglob("*.yaml"):
        target = tmp_path / source.relative_to(provision.ASSETS)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (database,) = (tmp_path / "databases").glob("*.yaml")
    database.write_text(database.read_text(encoding="utf-8").replace(provision.URI_PLACEHOLDER,
                                                                     "duckdb:////home/me/quanyu.duckdb"))
    with pytest.raises(provision.ProvisionError, match=rf"{database}: sqlalchemy_uri is .*/home/me/quanyu.duckdb"):
        provision.bundle_contents(tmp_path, Path("/srv/quanyu.duckdb"))
