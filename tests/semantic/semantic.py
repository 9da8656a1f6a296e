"""Read the dbt semantic manifest and compute its metrics with plain SQL, as MetricFlow would at
the semantic models' own grain (a month for the metric marts), so that tests can check every
metric against the mart column it claims to publish without MetricFlow itself (which lives in its
own virtual environment: requirements-metrics.txt, docs/metrics.md).

What is evaluated: a simple metric is its measure's aggregation over the model's rows matching the
metric's filters, one value per agg-time-dimension value; a ratio divides its numerator by its
denominator (null when either is null or the denominator is 0, MetricFlow's semantics); a derived
metric evaluates its expression in SQL on its inputs, an input with ``offset_window: 1 month``
reading the previous period. At the models' own grain a non-additive dimension changes nothing
(each period is its own window), so it is not applied. Filters are the manifest's Jinja
(``{{ Dimension('entity__dimension') }}``) rendered to the dimension's column expression.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from orchestration.dbt_assets import dbt_project

DIMENSION = re.compile(r"\{\{\s*Dimension\('([a-z0-9_]+)__([a-z0-9_]+)'\)\s*\}\}")
AGGREGATIONS = {"sum": "sum", "average": "avg", "max": "max", "min": "min", "count": "count",
                "count_distinct": "count(distinct", "sum_boolean": "sum"}


class SemanticManifestError(Exception):
    """The semantic manifest names something it does not define."""


def load_semantic_manifest() -> dict[str, Any]:
    """target/semantic_manifest.json of the session's ``dbt parse`` (tests/conftest.py)."""
    path = Path(dbt_project.manifest_path).parent / "semantic_manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"no semantic manifest at {path}: dbt parse writes it when the project defines metrics")
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Measure:
    name: str
    agg: str
    expr: str
    model: dict[str, Any]

    @property
    def relation(self) -> str:
        node = self.model["node_relation"]
        return f'"{node["schema_name"]}"."{node["alias"]}"'

    @property
    def time_column(self) -> str:
        return dimension_expr(self.model, self.model["defaults"]["agg_time_dimension"])


def dimension_expr(model: dict[str, Any], name: str) -> str:
    for dim in model["dimensions"]:
        if dim["name"] == name:
            return dim.get("expr") or dim["name"]
    raise SemanticManifestError(f"semantic model {model['name']} has no dimension {name!r}; it has "
                                f"{[d['name'] for d in model['dimensions']]}")


def primary_entity(model: dict[str, Any]) -> str:
    primary = [e["name"] for e in model.get("entities", []) if e["type"] == "primary"]
    return primary[0] if primary else model["primary_entity"]


class Metrics:
    """The manifest's metrics, computed on a DuckDB warehouse (opened read-only)."""

    def __init__(self, manifest: dict[str, Any], con: duckdb.DuckDBPyConnection):
        self.con = con
        self.metrics = {m["name"]: m for m in manifest["metrics"]}
        self.measures = {me["name"]: Measure(me["name"], me["agg"], me.get("expr") or me["name"], model)
                         for model in manifest["semantic_models"] for me in model["measures"]}
        self.models_by_entity = {primary_entity(m): m for m in manifest["semantic_models"]}

    def render_filter(self, where: str) -> str:
        """``{{ Dimension('sales_row__scope') }} = 'brand'`` -> ``scope = 'brand'``."""
        def column(match: re.Match) -> str:
            entity, dim = match.groups()
            if entity not in self.models_by_entity:
                raise SemanticManifestError(f"filter {where!r}: no semantic model has the primary entity {entity!r}")
            return dimension_expr(self.models_by_entity[entity], dim)
        return DIMENSION.sub(column, where)

    def filters_of(self, spec: dict[str, Any] | None) -> list[str]:
        where = (spec or {}).get("filter") or {}
        return [self.render_filter(f["where_sql_template"]) for f in where.get("where_filters", [])]

    def by_period(self, name: str, extra: tuple[str, ...] = ()) -> dict[Any, Any]:
        """{period (the agg time dimension's value): value} of metric ``name`` with ``extra`` filters."""
        metric = self.metrics[name]
        where = tuple(self.filters_of(metric)) + extra
        params = metric["type_params"]
        if metric["type"] == "simple":
            measure = self.measures[params["measure"]["name"]]
            where += tuple(self.filters_of(params["measure"]))
            agg = AGGREGATIONS[measure.agg]
            value = f"{agg}({measure.expr}))" if agg.endswith("distinct") else f"{agg}({measure.expr})"
            sql = (f"select {measure.time_column}, {value} from {measure.relation} "
                   f"where {' and '.join(where) or 'true'} group by 1")
            return dict(self.con.execute(sql).fetchall())
        if metric["type"] == "ratio":
            num = self.by_period(params["numerator"]["name"], where + tuple(self.filters_of(params["numerator"])))
            den = self.by_period(params["denominator"]["name"], where + tuple(self.filters_of(params["denominator"])))
            return {p: (None if num.get(p) is None or not den[p] else float(num[p]) / float(den[p]))
                    for p in den if p in num}
        if metric["type"] == "derived":
            inputs = []
            for item in params["metrics"]:
                values = self.by_period(item["name"], where + tuple(self.filters_of(item)))
                if item.get("offset_window"):
                    values = shift(values, item["offset_window"])
                inputs.append((item.get("alias") or item["name"], values))
            periods = sorted(set.intersection(*(set(v) for _, v in inputs)))
            out = {}
            for period in periods:
                names = ", ".join(f"cast(? as double) as {alias}" for alias, _ in inputs)
                args = [None if v[period] is None else float(v[period]) for _, v in inputs]
                out[period] = self.con.execute(f"select {params['expr']} from (select {names})", args).fetchall()[0][0]
            return out
        raise SemanticManifestError(f"metric {name}: type {metric['type']!r} is not evaluated here")


def shift(values: dict[Any, Any], window: dict[str, Any]) -> dict[Any, Any]:
    """The previous period's value at each period (MetricFlow's ``offset_window``; one month here)."""
    if (window["count"], window["granularity"]) != (1, "month"):
        raise SemanticManifestError(f"offset_window {window}: only 1 month is evaluated here")

    def previous(p: dt.date) -> dt.date:
        return dt.date(p.year - (p.month == 1), 12 if p.month == 1 else p.month - 1, 1)

    return {p: values[previous(p)] for p in values if previous(p) in values}
