"""``api.Column`` and ``api.Relation`` for sqlfluff's jinja templater (DuckDB's names)."""
from __future__ import annotations


class Column:
    @staticmethod
    def translate_type(dtype: str) -> str:
        return {"string": "varchar"}.get(dtype.lower(), dtype)


class _Relation:
    def __init__(self, database=None, schema=None, identifier=None, type=None):  # noqa: A002 - dbt's name
        self.database, self.schema, self.identifier, self.type = database, schema, identifier, type

    def __str__(self) -> str:
        return ".".join(str(p) for p in (self.schema, self.identifier) if p)

    def render(self) -> str:
        return str(self)


class Relation:
    @staticmethod
    def create(database=None, schema=None, identifier=None, type=None, **_: object) -> _Relation:  # noqa: A002
        return _Relation(database, schema, identifier, type)
