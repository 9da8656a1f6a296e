"""The dbt context sqlfluff's jinja templater lacks, for `make lint-sql` (not used by any build).

sqlfluff puts what this package defines into the Jinja context: dbt's cross-database macros
(module dbt), adapter.dispatch (module adapter), api.Column / api.Relation (module api), and
below var() with the project's real vars, the `quanyu` macro namespace, and parse-time values
(execute is False, as when dbt parses: no query runs, model SQL renders its parse branch).
"""
from __future__ import annotations

import datetime as _dt
import pathlib as _pathlib

import yaml as _yaml
from jinja2 import pass_context as _pass_context

from . import adapter, api, dbt  # noqa: F401 - context entries

_PROJECT = _pathlib.Path(__file__).resolve().parents[2] / "dbt_project.yml"
_VARS = (_yaml.safe_load(_PROJECT.read_text(encoding="utf-8")) or {}).get("vars") or {}

execute = False
invocation_id = "00000000-0000-0000-0000-000000000000"
run_started_at = _dt.datetime(2026, 1, 1)


def var(name: str, default: object = None) -> object:
    return _VARS.get(name, default)


def env_var(name: str, default: str = "") -> str:
    return default


def run_query(sql: str) -> None:
    return None


class _Target:
    name = type = "duckdb"
    schema = "main"
    database = "quanyu"


target = _Target()


class _Exceptions:
    @staticmethod
    def raise_compiler_error(message: str) -> None:
        raise RuntimeError(message)


exceptions = _Exceptions()


class _Namespace:
    """`quanyu.<macro>(...)`: the project's own macro of that name."""

    def __getattr__(self, name: str):
        @_pass_context
        def call(context, *args, **kwargs):
            return context.resolve(name)(*args, **kwargs)
        return call


quanyu = _Namespace()
