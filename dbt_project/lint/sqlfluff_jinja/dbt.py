"""dbt's cross-database macros (``dbt.cast``, ``dbt.concat`` ...) for sqlfluff's jinja templater.

sqlfluff lints the SQL that Jinja renders; dbt itself is not loaded (the dbt templater needs a
database connection and ``dbt deps``). These render what dbt-duckdb renders, which is enough
for the parser and the layout rules; they are not used to build anything.
"""
from __future__ import annotations


def cast(field: str, type: str) -> str:
    return f"cast({field} as {type})"


def concat(fields: list[str]) -> str:
    return " || ".join(str(f) for f in fields)


def _type(name: str):
    def type_macro() -> str:
        return name
    return type_macro


# dbt.type_string() ... as dbt-duckdb names the types
type_string = _type("varchar")
type_bigint = _type("bigint")
type_int = _type("integer")
type_float = _type("float")
type_numeric = _type("numeric(28, 6)")
type_timestamp = _type("timestamp")
type_boolean = _type("boolean")


def dateadd(datepart: str, interval: object, from_date_or_timestamp: str) -> str:
    return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def split_part(string_text: str, delimiter_text: str, part_number: object) -> str:
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def hash(field: str) -> str:  # noqa: A001 - dbt's name
    return f"md5(cast({field} as varchar))"


def length(expression: str) -> str:
    return f"length({expression})"
