"""``adapter.dispatch`` for sqlfluff's jinja templater: the project's DuckDB implementation.

Resolves ``duckdb__<name>``, then ``default__<name>``, among the macros sqlfluff loaded from
dbt_project/macros, as dbt does on the duckdb target (so lint sees the SQL the demo builds).
"""
from __future__ import annotations

from jinja2 import pass_context
from jinja2.runtime import Context
from jinja2.utils import missing


@pass_context
def dispatch(context: Context, macro_name: str, macro_namespace: str | None = None):
    for prefix in ("duckdb__", "default__"):
        macro = context.resolve_or_missing(prefix + macro_name)
        if macro is not missing:
            return macro
    raise LookupError(f"no duckdb__ or default__ implementation of macro {macro_name!r} in dbt_project/macros")


def quote(identifier: str) -> str:
    return f'"{identifier}"'


def get_relation(database=None, schema=None, identifier=None):
    """Lint renders parse time (execute is False): no relation exists."""
    return None
