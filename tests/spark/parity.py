"""Read the tables of a dbt build from DuckDB and from Spark as comparable Python rows.

Both readers return {"<schema>.<table>": Table}. Values are normalised so that equal data
compares equal across engines: decimals rounded to 1e-9, timestamps as naive Beijing wall-clock
datetimes (Spark's are cast to TIMESTAMP_NTZ in SQL, so no Python time zone is involved), and
numbers compared with a small relative tolerance (float sums depend on the order of addition).
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import jinja2
import yaml

PROFILES = Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml"
BEIJING = ZoneInfo("Asia/Shanghai")
REL_TOL = 1e-9


class Table:
    """A table's column names and its rows as a sorted multiset of normalised tuples."""

    def __init__(self, columns: list[str], rows: Iterable[tuple]):
        self.columns = [c.lower() for c in columns]
        self.rows = sorted((tuple(normalise(v) for v in row) for row in rows), key=sort_key)


def normalise(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.quantize(Decimal("1e-9"))
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(BEIJING).replace(tzinfo=None)
    return value


def sort_key(row: tuple) -> tuple:
    """A total order over rows holding nulls and mixed numeric types (floats rounded, so that
    values equal within the tolerance sort alike)."""
    key = []
    for value in row:
        if value is None:
            key.append((0, ""))
        elif isinstance(value, bool):
            key.append((1, int(value)))
        elif isinstance(value, (int, float, Decimal)):
            key.append((2, round(float(value), 6)))
        else:
            key.append((3, str(value)))
    return tuple(key)


def values_equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, (int, float, Decimal)) and isinstance(right, (int, float, Decimal)):
        return math.isclose(float(left), float(right), rel_tol=REL_TOL, abs_tol=1e-9)
    return type(left) is type(right) and left == right


def differences(duck: Table, spark: Table, limit: int = 3) -> list[str]:
    """What differs between the two engines' versions of a table (empty when equal)."""
    if duck.columns != spark.columns:
        return [f"columns differ: duckdb {duck.columns} spark {spark.columns}"]
    if len(duck.rows) != len(spark.rows):
        return [f"row count differs: duckdb {len(duck.rows)} spark {len(spark.rows)}"]
    found = []
    for left, right in zip(duck.rows, spark.rows):
        columns = [c for c, a, b in zip(duck.columns, left, right) if not values_equal(a, b)]
        if columns:
            found.append(f"row differs in {columns}:\n  duckdb {left}\n  spark  {right}")
            if len(found) == limit:
                break
    return found


def duckdb_tables(warehouse: Path, schemas: list[str], ignore: set[str]) -> dict[str, Table]:
    """Every table of `schemas` in the DuckDB warehouse, without the `ignore` columns."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, list(column_name order by ordinal_position) "
            "from information_schema.columns join information_schema.tables "
            "using (table_catalog, table_schema, table_name) "
            "where table_type = 'BASE TABLE' and list_contains($1, table_schema) group by all", [schemas]).fetchall()
        tables = {}
        for schema, name, names in columns:
            kept = [c for c in names if c not in ignore]
            rows = con.execute(f'select {", ".join(kept)} from "{schema}"."{name}"').fetchall()
            tables[f"{schema}.{name}"] = Table(kept, rows)
        return tables


def spark_conf(env: dict[str, str]) -> dict[str, str]:
    """The Spark settings of the `spark` output in dbt_project/profiles.yml, rendered for `env`,
    so this reader opens the metastore and warehouse the dbt build wrote."""
    outputs = yaml.safe_load(PROFILES.read_text())["quanyu"]["outputs"]
    jinja = jinja2.Environment()

    def env_var(name: str, default: str | None = None) -> str | None:
        return env.get(name, default)

    return {key: jinja.from_string(str(value)).render(env_var=env_var)
            for key, value in outputs["spark"]["server_side_parameters"].items()}


def spark_tables(env: dict[str, str], schemas: list[str], ignore: set[str]) -> dict[str, Table]:
    """Every table of `schemas` in the Spark metastore, without the `ignore` columns. Opens its
    own SparkSession (the dbt process has exited, so the Derby metastore is free) and stops it."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf(env).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        tables = {}
        for schema in schemas:
            for listed in spark.sql(f"show tables in {schema}").collect():
                if listed.isTemporary:
                    continue
                name = f"{schema}.{listed.tableName}"
                fields = [f for f in spark.table(name).schema.fields if f.name not in ignore]
                selected = [f"cast(`{f.name}` as timestamp_ntz) as `{f.name}`" if f.dataType.typeName() == "timestamp"
                            else f"`{f.name}`" for f in fields]
                rows = spark.sql(f"select {', '.join(selected)} from {name}").collect()
                tables[name] = Table([f.name for f in fields], [tuple(r) for r in rows])
        return tables
    finally:
        spark.stop()
